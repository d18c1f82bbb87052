// The chat gateway end to end: the real openai SDK inside the Deno function talks to the local
// OpenAI-compatible server; money goes through the real ledger. Scenarios are scripted per provider.
import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signJwt } from "../src/local/jwt.ts";
import { config } from "../supabase/functions/_shared/config.ts";
import { completionTokensOf, promptTokensOf, type Recorded, type Step } from "./support/openai-server.ts";
import { asUser, awayFromMidnight, callFunction, connectDb, createUser, setBalance, stack } from "./support/stack.ts";
import { parseSse, readSse, type SseEvent } from "./support/sse.ts";

const sql = connectDb();
afterAll(() => sql.end());

async function script(provider: "openai" | "gemini", steps: Step[]) {
  await fetch(`${stack().aiUrl}/_test/script`, { method: "POST", body: JSON.stringify({ provider, steps }) });
}
/** Lets answers scripted with `holdAfter` go on. */
async function releaseHeld() {
  await fetch(`${stack().aiUrl}/_test/release`, { method: "POST" });
}
async function upstreamRequests(): Promise<Recorded[]> {
  return (await (await fetch(`${stack().aiUrl}/_test/state`)).json()).requests;
}
const SYSTEM = { role: "system", content: "You are a helpful, concise assistant." }; // the general persona's

const post = (token: string, body: unknown, signal?: AbortSignal) =>
  callFunction("chat", { method: "POST", token, headers: { "content-type": "application/json" }, body: JSON.stringify(body), signal });

async function chat(token: string, body: unknown) {
  const res = await post(token, body);
  return { res, events: await readSse(res) };
}

async function ledger(userId: string) {
  return (await sql`select kind, amount::int from public.credit_ledger where account_id = ${userId} and feature_id = 'chat' order by id`)
    .map((r) => [r.kind, r.amount]);
}
/** Polls `probe` until `ok`; fails the test past `ms`. */
async function until<T>(probe: () => Promise<T>, ok: (v: T) => boolean, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms;
  let value = await probe();
  while (!ok(value)) {
    if (Date.now() > deadline) throw new Error(`still ${JSON.stringify(value)} after ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
    value = await probe();
  }
  return value;
}

/** A user on a plan where chat has no free allowance (every message is paid), with `credits` in the wallet. */
async function paidUser(name: string, credits: number) {
  const user = await createUser(sql, `${name}-${crypto.randomUUID()}@test.local`);
  await sql`update public.accounts set plan_id = 't_chat_paid' where id = ${user.id}`;
  await setBalance(sql, user.id, credits);
  return user;
}

let payer: { id: string; token: string };
beforeAll(async () => {
  // A plan on which chat has no free allowance, so every message is paid.
  await sql`insert into public.plans (id, name, price_monthly_cents) values ('t_chat_paid', 'Paid chat', 100) on conflict do nothing`;
  payer = await paidUser("chat", 100);
});

describe("POST /chat", () => {
  let conversation: string;

  it("streams the answer as SSE, persists both messages, reserves the worst case and settles the real cost", async () => {
    const { res, events } = await chat(payer.token, { message: "Hi there" });
    expect(res.status).toBe(200);
    expect(events.map((e) => e.event)).toEqual(["meta", "token", "token", "token", "token", "done"]);
    expect(events.filter((e) => e.event === "token").map((e) => e.data.content).join("")).toBe("Hello, world!");
    const meta = events[0].data;
    expect(meta).toMatchObject({ provider: "openai", model: "gpt-4o-mini" });
    conversation = meta.conversation_id;
    const done = events.at(-1)!.data;
    // As OpenAI reports it: the prompt's tokens (with each message's framing) and the answer's.
    const usage = { prompt_tokens: promptTokensOf([SYSTEM, { role: "user", content: "Hi there" }]), completion_tokens: 4 };
    expect((await upstreamRequests()).at(-1)!.usage).toEqual(usage);
    // general persona: 1 credit a message + gpt-4o-mini 1 credit per 1k tokens = 2
    expect(done).toMatchObject({ usage, credits_charged: 2, balance: 98 });
    expect(await ledger(payer.id)).toEqual([["reserve", -meta.reserved], ["settle", meta.reserved - 2]]);
    const messages = await sql`select role, content, status, prompt_tokens, completion_tokens, credits_consumed::int
      from public.messages where conversation_id = ${conversation} order by id`;
    expect(messages.map((m) => ({ ...m }))).toEqual([
      { role: "user", content: "Hi there", status: "complete", prompt_tokens: null, completion_tokens: null, credits_consumed: 0 },
      { role: "assistant", content: "Hello, world!", status: "complete", ...usage, credits_consumed: 2 },
    ]);
  });

  it("continues a conversation with its history and the persona's system prompt", async () => {
    const { res } = await chat(payer.token, { conversation_id: conversation, message: "And again?" });
    expect(res.status).toBe(200);
    const last = (await upstreamRequests()).at(-1)!;
    expect(last.messages.map((m) => [m.role, m.content])).toEqual([
      ["system", "You are a helpful, concise assistant."],
      ["user", "Hi there"],
      ["assistant", "Hello, world!"],
      ["user", "And again?"],
    ]);
  });

  it("retries a 429 before the first token", async () => {
    const before = (await upstreamRequests()).length;
    await script("openai", [{ kind: "status", status: 429 }]);
    const { res, events } = await chat(payer.token, { message: "retry me" });
    expect(res.status).toBe(200);
    expect(events[0].data.provider).toBe("openai");
    expect((await upstreamRequests()).slice(before).map((r) => r.provider)).toEqual(["openai", "openai"]);
  });

  it("falls back to the next provider when one keeps failing", async () => {
    await script("openai", [{ kind: "status", status: 500 }, { kind: "status", status: 500 }, { kind: "status", status: 500 }]);
    const { res, events } = await chat(payer.token, { message: "fall back" });
    expect(res.status).toBe(200);
    expect(events[0].data).toMatchObject({ provider: "gemini", model: "gemini-2.5-flash" });
    expect(events.at(-1)!.event).toBe("done");
  });

  it("answers 502 when every provider fails, and charges nothing", async () => {
    const user = await paidUser("down", 50);
    await script("openai", Array(3).fill({ kind: "status", status: 503 }));
    await script("gemini", Array(3).fill({ kind: "status", status: 500 }));
    const { res } = await chat(user.token, { message: "anyone?" });
    expect(res.status).toBe(502);
    expect((await res.json()).error.code).toBe("ai_unavailable");
    const rows = await ledger(user.id);
    expect(rows.map((r) => r[0])).toEqual(["reserve", "release"]);
    expect(rows.reduce((n, r) => n + (r[1] as number), 0)).toBe(0);
    expect((await sql`select balance::int from public.wallets where account_id = ${user.id}`)[0].balance).toBe(50);
    expect(await sql`select 1 from public.conversations where user_id = ${user.id}`).toHaveLength(0);
  });

  it("a stream dying midway ends with an error event, refunds the reservation and keeps the partial answer as failed", async () => {
    const user = await paidUser("die", 50);
    await script("openai", [{ kind: "die", after: 2 }]);
    const { res, events } = await chat(user.token, { message: "tell me everything" });
    expect(res.status).toBe(200);
    expect(events.at(-1)).toMatchObject({ event: "error", data: { code: "ai_stream_failed" } });
    expect((await ledger(user.id)).map((r) => r[0])).toEqual(["reserve", "release"]);
    expect((await sql`select balance::int from public.wallets where account_id = ${user.id}`)[0].balance).toBe(50);
    const [answer] = await sql`select status, content, credits_consumed::int from public.messages m
      join public.conversations c on c.id = m.conversation_id where c.user_id = ${user.id} and m.role = 'assistant'`;
    expect(answer).toEqual({ status: "failed", content: "partial answer ", credits_consumed: 0 });
  });

  it("a client that stops the answer midway pays for the part it received, never the worst case", async () => {
    const user = await paidUser("stop", 50);
    // Held after the first token until the client hangs up: the stop always lands after "a", before "b".
    await script("openai", [{ kind: "ok", chunks: ["a", "b", "c", "d", "e", "f"], holdAfter: 1 }]);
    const abort = new AbortController();
    const res = await post(user.token, { message: "slow one" }, abort.signal);
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    let received = "";
    // Two complete events, however the hops cut the bytes.
    while (received.split("\n\n").length < 3) received += new TextDecoder().decode((await reader.read()).value);
    const opening = parseSse(received); // meta and the first token (the answer is held after it)
    expect(opening.map((e) => e.event)).toEqual(["meta", "token"]);
    abort.abort();
    const rows = await until(() => ledger(user.id), (r) => r.length === 2);
    expect(rows.map((r) => r[0])).toEqual(["reserve", "settle"]);
    const charged = -(rows[0][1] as number) - (rows[1][1] as number);
    // general persona: 1 credit a message + 1 per 1k tokens of prompt and the part sent
    expect(charged).toBe(2);
    expect(charged).toBeLessThan(opening[0].data.reserved);
    expect((await sql`select balance::int from public.wallets where account_id = ${user.id}`)[0].balance).toBe(50 - charged);
    const [answer] = await sql`select status, content, credits_consumed::int from public.messages m
      join public.conversations c on c.id = m.conversation_id where c.user_id = ${user.id} and m.role = 'assistant'`;
    expect(answer).toEqual({ status: "stopped", content: "a", credits_consumed: 2 });
  });

  it("a client gone before any content pays nothing", async () => {
    const user = await paidUser("early", 50);
    await script("openai", [{ kind: "ok", chunks: ["late"], holdAfter: 0 }]); // no content until the client is gone
    const abort = new AbortController();
    const pending = post(user.token, { message: "never mind" }, abort.signal).catch((e) => e);
    await until(() => ledger(user.id), (r) => r.length === 1); // reserved, waiting for the first token
    abort.abort();
    expect(await pending).toBeInstanceOf(Error);
    const rows = await until(() => ledger(user.id), (r) => r.length === 2);
    expect(rows.map((r) => r[0])).toEqual(["reserve", "release"]);
    expect((await sql`select balance::int from public.wallets where account_id = ${user.id}`)[0].balance).toBe(50);
    expect(await sql`select 1 from public.conversations where user_id = ${user.id}`).toHaveLength(0);
  });

  it("the chat's reservation is the server's: the user cannot release it mid-answer to chat free", async () => {
    const user = await paidUser("cheat", 50);
    await script("openai", [{ kind: "ok", chunks: ["a", "b", "c"], holdAfter: 1 }]);
    const res = await post(user.token, { message: "for free?" });
    const reader = res.body!.getReader();
    await reader.read(); // the answer has started, and is held there
    // What a client could send through PostgREST meanwhile: its open reservation, released or settled at 0.
    const [held] = await asUser(sql, user.id, (tx) => tx`select id from public.credit_reservations where status = 'open'`);
    for (const call of [
      (tx: any) => tx`select public.release_reservation(${held.id})`,
      (tx: any) => tx`select public.settle_reservation(${held.id}, 0)`,
    ]) {
      await expect(asUser(sql, user.id, call)).rejects.toMatchObject({ code: "PT403", detail: "reservation_server_held" });
    }
    await releaseHeld();
    let text = "";
    for (let r = await reader.read(); !r.done; r = await reader.read()) text += new TextDecoder().decode(r.value);
    const done = parseSse(text).find((e) => e.event === "done")!.data;
    expect(done.credits_charged).toBe(2); // general persona: 1 a message + 1 per 1k tokens (well under 1,000)
    expect((await ledger(user.id)).map((r) => r[0])).toEqual(["reserve", "settle"]);
    expect((await sql`select balance::int from public.wallets where account_id = ${user.id}`)[0].balance).toBe(50 - done.credits_charged);
  });

  it("an answer received is paid for even if the conversation was deleted while it streamed", async () => {
    const user = await paidUser("del", 50);
    const first = await chat(user.token, { message: "start" });
    const conversationId = first.events[0].data.conversation_id;
    const paidFirst = first.events.at(-1)!.data.credits_charged;
    await script("openai", [{ kind: "ok", chunks: ["x", "y", "z"], holdAfter: 1 }]);
    const res = await post(user.token, { conversation_id: conversationId, message: "and delete" });
    const reader = res.body!.getReader();
    await reader.read(); // held after the first token
    await asUser(sql, user.id, (tx) => tx`delete from public.conversations where id = ${conversationId}`);
    await releaseHeld();
    let text = "";
    for (let r = await reader.read(); !r.done; r = await reader.read()) text += new TextDecoder().decode(r.value);
    const done = parseSse(text).find((e) => e.event === "done")!.data;
    expect(done).toMatchObject({ message_id: null });
    expect(done.credits_charged).toBe(2); // general persona: 1 a message + 1 per 1k tokens (well under 1,000)
    expect((await ledger(user.id)).map((r) => r[0])).toEqual(["reserve", "settle", "reserve", "settle"]);
    expect((await sql`select balance::int from public.wallets where account_id = ${user.id}`)[0].balance)
      .toBe(50 - paidFirst - done.credits_charged);
    expect(await sql`select 1 from public.messages where conversation_id = ${conversationId}`).toHaveLength(0);
  });

  it("an answer with text Postgres cannot store (a NUL) is stored readable and paid, not lost and free", async () => {
    const user = await paidUser("nul", 50);
    await script("openai", [{ kind: "ok", chunks: ["a\u0000b", " \ud800c"] }]);
    const { events } = await chat(user.token, { message: "print U+0000" });
    const done = events.at(-1)!;
    expect(done.event).toBe("done");
    expect(done.data.credits_charged).toBe(2);
    expect((await ledger(user.id)).map((r) => r[0])).toEqual(["reserve", "settle"]);
    const [answer] = await sql`select content from public.messages where id = ${done.data.message_id}`;
    expect(answer.content).toBe("a\ufffdb \ufffdc");
  });

  it("an Idempotency-Key makes a resent message a 409, answered and paid once", async () => {
    const user = await paidUser("idem", 50);
    const headers = { "content-type": "application/json", "idempotency-key": `msg-${crypto.randomUUID()}` };
    const send = () => callFunction("chat", { method: "POST", token: user.token, headers, body: JSON.stringify({ message: "once" }) });
    const first = await send();
    expect(first.status).toBe(200);
    await first.text();
    const again = await send();
    expect([again.status, (await again.json()).error.code]).toEqual([409, "idempotency_conflict"]);
    expect((await ledger(user.id)).map((r) => r[0])).toEqual(["reserve", "settle"]);
  });

  it("a message that got no answer may be sent again under its Idempotency-Key (any 200 characters)", async () => {
    const user = await paidUser("idem-retry", 50);
    const headers = { "content-type": "application/json", "idempotency-key": "k".repeat(199) + "1" };
    const send = () => callFunction("chat", { method: "POST", token: user.token, headers, body: JSON.stringify({ message: "again" }) });
    await script("openai", Array(3).fill({ kind: "status", status: 503 }));
    await script("gemini", Array(3).fill({ kind: "status", status: 500 }));
    const failed = await send();
    expect([failed.status, (await failed.json()).error.code]).toEqual([502, "ai_unavailable"]);
    for (const expected of [200, 409]) { // answered on the retry; then it was answered
      const res = await send();
      expect(res.status).toBe(expected);
      await res.text();
    }
    expect((await ledger(user.id)).map((r) => r[0])).toEqual(["reserve", "release", "reserve", "settle"]);
  });

  it("reads only the latest turns of a long conversation for the context", async () => {
    const user = await paidUser("long", 50);
    const first = await chat(user.token, { message: "turn 0" });
    const id = first.events[0].data.conversation_id;
    await sql`insert into public.messages (conversation_id, role, content, status)
      select ${id}, case when i % 2 = 1 then 'user' else 'assistant' end, 'old turn ' || i, 'complete'
      from generate_series(1, 500) i`;
    await chat(user.token, { conversation_id: id, message: "and now?" });
    const sent = (await upstreamRequests()).at(-1)!.messages;
    expect(sent.at(-1)).toEqual({ role: "user", content: "and now?" });
    expect(sent.at(-2)).toEqual({ role: "assistant", content: "old turn 500" });
    // The latest 200 turns (old turns 301 to 500), then the new message.
    const turns = sent.filter((m) => m.role !== "system");
    expect([turns.length, turns[0].content]).toEqual([201, "old turn 301"]);
  });

  it("empty conversations made through the API up to their hourly limit do not stop chat's own", async () => {
    const user = await paidUser("convlimit", 50);
    const [{ limit }] = await sql`select conversations_per_hour as limit from saasbase.settings`;
    await sql`update saasbase.settings set conversations_per_hour = 2`;
    try {
      for (const title of ["one", "two"]) {
        await asUser(sql, user.id, (tx) => tx`insert into public.conversations (user_id, title) values (${user.id}, ${title})`);
      }
      await expect(asUser(sql, user.id, (tx) => tx`insert into public.conversations (user_id, title) values (${user.id}, 'three')`))
        .rejects.toMatchObject({ code: "PT429" });
      const { events } = await chat(user.token, { message: "a new conversation of the chat's own" });
      expect(events.at(-1)!.event).toBe("done");
      expect(events.at(-1)!.data.credits_charged).toBe(2);
    } finally {
      await sql`update saasbase.settings set conversations_per_hour = ${limit}`;
    }
  });

  it("a conversation whose persona left the config goes on with the default persona", async () => {
    const user = await paidUser("persona", 50);
    const first = await chat(user.token, { message: "hello" });
    const id = first.events[0].data.conversation_id;
    await sql`update public.conversations set persona = 'retired_persona' where id = ${id}`;
    const next = await chat(user.token, { conversation_id: id, message: "still there?" });
    expect(next.res.status).toBe(200);
    expect((await upstreamRequests()).at(-1)!.messages[0]).toEqual({ role: "system", content: "You are a helpful, concise assistant." });
    // Asking for an unknown persona is still an error.
    const asked = await chat(user.token, { conversation_id: id, message: "and you?", persona: "nobody" });
    expect(asked.res.status).toBe(422);
  });

  it("answers 402 at an empty wallet, before calling any model", async () => {
    const broke = await paidUser("broke", 0);
    const before = (await upstreamRequests()).length;
    const { res } = await chat(broke.token, { message: "free lunch?" });
    expect(res.status).toBe(402);
    expect((await res.json()).error.code).toBe("insufficient_credits");
    expect((await upstreamRequests()).length).toBe(before);
    expect(await sql`select 1 from public.conversations where user_id = ${broke.id}`).toHaveLength(0);
  });

  it("the free plan's daily allowance is free, then rate-limited", async () => {
    await awayFromMidnight();
    const free = await createUser(sql, `free-${crypto.randomUUID()}@test.local`);
    for (let i = 0; i < 5; i++) {
      const { events } = await chat(free.token, { message: `free ${i}` });
      expect(events.at(-1)!.data.credits_charged).toBe(0);
    }
    const { res } = await chat(free.token, { message: "one more" });
    expect(res.status).toBe(429);
  });

  it("rejects bad input with 4xx JSON", async () => {
    const cases: [unknown, number][] = [
      [{ message: "" }, 422],
      [{ message: "x", persona: "pirate" }, 422],
      [{ message: "x", model: "gpt-99" }, 422],
      [{ message: "x", conversation_id: crypto.randomUUID() }, 404],
    ];
    for (const [body, status] of cases) {
      const res = await post(payer.token, body);
      expect(res.status, JSON.stringify(body)).toBe(status);
      expect((await res.json()).error.code).toBeTruthy();
    }
    expect((await post(stack().serviceRoleKey, { message: "x" })).status).toBe(401);
  });
});

/** Reads an SSE response to its end. */
async function events(res: Response): Promise<SseEvent[]> {
  return parseSse(await res.text());
}
const personaPrompt = (id: string) => ({ role: "system", content: config.personas.find((p) => p.id === id)!.systemPrompt });
/** A user on the Plus plan whose chat allowance for the day is used up, with `credits`. */
async function plusUserPastAllowance(name: string, credits: number) {
  const user = await createUser(sql, `${name}-${crypto.randomUUID()}@test.local`);
  await sql`update public.accounts set plan_id = 'plus' where id = ${user.id}`;
  await sql`insert into public.usage_counters (account_id, feature_id, period_key, used)
    select ${user.id}, 'chat', saasbase.period_key('day', now()), q.free_limit
    from public.plan_quotas q where q.plan_id = 'plus' and q.feature_id = 'chat'`;
  await setBalance(sql, user.id, credits);
  return user;
}
/** A message whose prompt and the default answer ("Hello, world!") make exactly `total` tokens as the provider
 * counts them (" x" is one token). */
function messageOfTotal(total: number, system = SYSTEM) {
  const answer = completionTokensOf("Hello, world!");
  const base = promptTokensOf([system, { role: "user", content: "x" }]) + answer;
  const text = "x" + " x".repeat(total - base);
  expect(promptTokensOf([system, { role: "user", content: text }]) + answer).toBe(total);
  return text;
}

describe("chat pricing", () => {
  it("each provider is asked for its own model, the answer budget it takes, and the usage (fallbacks included)", async () => {
    const user = await paidUser("wire", 200);
    const before = (await upstreamRequests()).length;
    await chat(user.token, { message: "wire check" });
    await chat(user.token, { message: "a god's answer", persona: "god-mode" });
    await script("openai", Array(3).fill({ kind: "status", status: 500 }));
    const fell = await chat(user.token, { message: "fall back" });
    await script("gemini", Array(3).fill({ kind: "status", status: 500 }));
    const back = await chat(user.token, { message: "and back", model: "gemini-2.5-flash" });
    const sent = (await upstreamRequests()).slice(before);
    expect(sent.map((r) => [r.provider, r.model, r.max_tokens, r.stream, r.stream_options?.include_usage])).toEqual([
      ["openai", "gpt-4o-mini", 4096, true, true],
      ["openai", "gpt-4o", 4096, true, true],
      ...Array(3).fill(["openai", "gpt-4o-mini", 4096, true, true]),
      ["gemini", "gemini-2.5-flash", 4096, true, true], // gpt-4o-mini's budget: gemini takes more, not asked
      ...Array(3).fill(["gemini", "gemini-2.5-flash", 8192, true, true]),
      ["openai", "gpt-4o-mini", 4096, true, true], // within what gpt-4o-mini takes
    ]);
    // Each answer is paid at the rate of the model that gave it, for the usage that provider reported.
    for (const [answer, request] of [[fell, sent[5]], [back, sent[9]]] as const) {
      const done = answer.events.at(-1)!.data;
      expect(answer.events[0].data.model).toBe(request.model);
      expect(done.usage).toEqual(request.usage);
      expect(done.credits_charged).toBe(1 + Math.ceil((request.usage!.prompt_tokens + request.usage!.completion_tokens) / 1000));
    }
  });

  it("charges exactly across the 1,000-token steps, at each persona's price and each model's rate", async () => {
    const user = await paidUser("steps", 500);
    const cases: [string, number, number][] = [
      // persona, tokens (prompt + answer), credits: the persona's price + rate x ceil(tokens / 1,000)
      ["general", 999, 1 + 1], ["general", 1000, 1 + 1], ["general", 1001, 1 + 2], ["general", 2000, 1 + 2],
      ["general", 2001, 1 + 3], ["god-mode", 1000, 5 + 5], ["god-mode", 1001, 5 + 6],
    ];
    for (const [persona, total, credits] of cases) {
      const before = Number((await sql`select balance from public.wallets where account_id = ${user.id}`)[0].balance);
      const { events } = await chat(user.token, { message: messageOfTotal(total, personaPrompt(persona)), persona });
      const done = events.at(-1)!.data;
      expect([persona, total, done.usage.prompt_tokens + done.usage.completion_tokens, done.credits_charged])
        .toEqual([persona, total, total, credits]);
      expect(events[0].data.reserved).toBeGreaterThanOrEqual(credits);
      expect(done.balance).toBe(before - credits);
    }
  });

  it("dense text is held and charged at its real token count (defect: 漢 x 30,000 was charged 15 for 32)", async () => {
    const user = await plusUserPastAllowance("dense", 500);
    // What OpenAI reports for it: 30,030 prompt tokens, 10 completion.
    await script("openai", [{ kind: "ok", usage: { prompt_tokens: 30_030, completion_tokens: 10 } }]);
    const plain = await chat(user.token, { message: "漢".repeat(30_000) });
    expect(plain.events.at(-1)!.data.credits_charged).toBe(32); // 1 + ceil(30,040 / 1,000)
    expect(plain.events[0].data.reserved).toBeGreaterThanOrEqual(32);
    const godly = await plusUserPastAllowance("dense-god", 500);
    await script("openai", [{ kind: "ok", usage: { prompt_tokens: 30_030, completion_tokens: 10 } }]);
    const god = await chat(godly.token, { message: "漢".repeat(30_000), persona: "god-mode" });
    expect(god.events.at(-1)!.data.credits_charged).toBe(156); // 5 + ceil(5 x 30,040 / 1,000)
    expect(god.events[0].data.reserved).toBeGreaterThanOrEqual(156);
    // Held and settled within the hold: nothing past it.
    expect((await sql`select count(*)::int as n from public.credit_reservations
      where account_id in (${user.id}, ${godly.id}) and cost > amount`)[0].n).toBe(0);
    // Dense text the provider counts itself (CJK clauses): charged exactly what it reports, within the hold.
    const clauses = "漢字文化圏。".repeat(3_000);
    const counted = await chat(user.token, { message: clauses });
    const usage = { prompt_tokens: promptTokensOf([SYSTEM, { role: "user", content: clauses }]), completion_tokens: 4 };
    expect(counted.events.at(-1)!.data).toMatchObject({
      usage,
      credits_charged: 1 + Math.ceil((usage.prompt_tokens + 4) / 1000),
    });
    expect(counted.events[0].data.reserved).toBeGreaterThanOrEqual(counted.events.at(-1)!.data.credits_charged);
  });

  it("holds the worst case of every provider that may answer; a wallet that holds only the first's skips the dearer fallbacks", async () => {
    // 10,000 words: gpt-4o-mini counts ~10,000 tokens (worst 1 + 15 = 16 credits), Gemini's bound is its 20,000
    // bytes (worst 1 + 25 = 26).
    const message = "x" + " x".repeat(9_999);
    const rich = await paidUser("hold-all", 100);
    const all = await chat(rich.token, { message });
    expect(all.events[0].data.reserved).toBe(26);
    const modest = await paidUser("hold-first", 20);
    await script("openai", Array(3).fill({ kind: "status", status: 500 }));
    const before = (await upstreamRequests()).length;
    const { res } = await chat(modest.token, { message });
    expect([res.status, (await res.json()).error.code]).toEqual([502, "ai_unavailable"]);
    // Held 16, so Gemini (which could cost 26) was never asked; nothing charged.
    expect((await upstreamRequests()).slice(before).map((r) => r.provider)).toEqual(["openai", "openai", "openai"]);
    expect(await ledger(modest.id)).toEqual([["reserve", -16], ["release", 16]]);
  });

  it("a stopped answer is charged for the text delivered, counted with the model's tokenizer", async () => {
    const user = await paidUser("stop-dense", 100);
    const first = "漢字文化圏。".repeat(300); // 600+ tokens at once
    await script("openai", [{ kind: "ok", chunks: [first, "rest"], holdAfter: 1 }]);
    const abort = new AbortController();
    const res = await post(user.token, { message: "long one" }, abort.signal);
    const reader = res.body!.getReader();
    let received = "";
    while (received.split("\n\n").length < 3) received += new TextDecoder().decode((await reader.read()).value);
    abort.abort();
    const [answer] = await until(
      () => sql`select m.status, m.prompt_tokens, m.completion_tokens, m.credits_consumed::int from public.messages m
        join public.conversations c on c.id = m.conversation_id where c.user_id = ${user.id} and m.role = 'assistant'`,
      (r) => r.length === 1,
    );
    const prompt = promptTokensOf([SYSTEM, { role: "user", content: "long one" }]);
    expect(answer).toEqual({
      status: "stopped",
      prompt_tokens: prompt,
      completion_tokens: completionTokensOf(first),
      credits_consumed: 1 + Math.ceil((prompt + completionTokensOf(first)) / 1000),
    });
  });

  it("a provider reporting more than was held: the rest is charged as far as the balance goes, and recorded", async () => {
    const admin = await createUser(sql, `admin-${crypto.randomUUID()}@test.local`, { role: "admin" });
    const user = await paidUser("overrun", 30);
    // 10,000 tokens where the hold counted a few dozen and the answer budget: 11 credits, past the hold.
    await script("openai", [{ kind: "ok", usage: { prompt_tokens: 9_990, completion_tokens: 10 } }]);
    const paid = await chat(user.token, { message: "short" });
    const reserved = paid.events[0].data.reserved;
    expect(reserved).toBeLessThan(11);
    expect(paid.events.at(-1)!.data).toMatchObject({ credits_charged: 11, balance: 19 });
    // Far past the balance: all 19 left are charged, the other 482 recorded as unpaid.
    await script("openai", [{ kind: "ok", usage: { prompt_tokens: 500_000, completion_tokens: 0 } }]);
    const broke = await chat(user.token, { message: "again" });
    expect(broke.events.at(-1)!.data).toMatchObject({ credits_charged: 19, balance: 0 });
    const [wallet] = await sql`select balance::int, reserved::int from public.wallets where account_id = ${user.id}`;
    expect(wallet).toEqual({ balance: 0, reserved: 0 });
    expect((await sql`select sum(amount)::int as s from public.credit_ledger where account_id = ${user.id}`)[0].s).toBe(0);
    // Admins see the answers that exceeded their hold, with what they cost and what was paid.
    const seen = await asUser(sql, admin.id, (tx) => tx`select amount::int, settled_amount::int, cost::int
      from public.credit_reservations where account_id = ${user.id} and cost > amount order by created_at`);
    expect(seen.map((r) => [r.amount, r.settled_amount, r.cost])).toEqual([
      [reserved, 11, 11],
      [seen[1].amount, 19, 501],
    ]);
  });

  it("answers racing past their holds on one wallet never overdraw it: together they take what is there, the rest recorded", async () => {
    const user = await paidUser("overrun-race", 40);
    // Six answers at once, each reported at 100,000 tokens (101 credits) on a hold of a few.
    await script("openai", Array(6).fill({ kind: "ok", usage: { prompt_tokens: 100_000, completion_tokens: 0 } }));
    const answers = await Promise.all(Array.from({ length: 6 }, (_, i) => chat(user.token, { message: `race ${i}` })));
    await script("openai", []); // what refused messages left scripted is no later test's
    const paid = answers.filter((a) => a.res.status === 200).map((a) => a.events.at(-1)!);
    // Each either got its hold and an answer, or was refused 402 before any model was called.
    expect(answers.every((a) => a.res.status === 200 || a.res.status === 402)).toBe(true);
    expect(paid.length).toBeGreaterThan(0);
    expect(paid.every((e) => e.event === "done")).toBe(true);
    expect(paid.reduce((n, e) => n + e.data.credits_charged, 0)).toBe(40);
    const [wallet] = await sql`select balance::int, reserved::int from public.wallets where account_id = ${user.id}`;
    expect(wallet).toEqual({ balance: 0, reserved: 0 });
    expect((await sql`select sum(amount)::int as s from public.credit_ledger where account_id = ${user.id}`)[0].s).toBe(0);
    const [{ unpaid }] = await sql`select sum(cost - settled_amount)::int as unpaid from public.credit_reservations
      where account_id = ${user.id} and status = 'settled'`;
    expect(unpaid).toBe(paid.length * 101 - 40);
  });

  it("a stream longer than the reservation's lifetime keeps it, through GET /credits meanwhile, and is paid", async () => {
    const user = await paidUser("lease", 50);
    const [{ ttl }] = await sql`select reservation_ttl_minutes as ttl from saasbase.settings`;
    await sql`update saasbase.settings set reservation_ttl_minutes = 0.05`; // 3 seconds
    try {
      await script("openai", [{ kind: "ok", chunks: ["a", "b", "c"], holdAfter: 1 }]);
      const res = await post(user.token, { message: "a slow model" });
      const reader = res.body!.getReader();
      await reader.read(); // the answer has started, and is held there
      // Three lifetimes pass, the user's wallet working all along (each GET /credits does its due work).
      for (const end = Date.now() + 9_000; Date.now() < end;) {
        const wallet = await callFunction("credits", { token: user.token });
        expect(wallet.status).toBe(200);
        await wallet.text();
        await new Promise((r) => setTimeout(r, 500));
      }
      expect((await sql`select status from public.credit_reservations where account_id = ${user.id}`).map((r) => r.status))
        .toEqual(["open"]);
      await releaseHeld();
      let text = "";
      for (let r = await reader.read(); !r.done; r = await reader.read()) text += new TextDecoder().decode(r.value);
      const done = parseSse(text).at(-1)!;
      expect(done.event).toBe("done");
      expect(done.data.credits_charged).toBe(2);
      expect((await ledger(user.id)).map((r) => r[0])).toEqual(["reserve", "settle"]);
    } finally {
      await sql`update saasbase.settings set reservation_ttl_minutes = ${ttl}`;
    }
  });

  it("an answer whose hold lapsed anyway is still paid (never 'nothing was charged' for a delivered answer)", async () => {
    const user = await paidUser("lapsed", 50);
    await script("openai", [{ kind: "ok", chunks: ["a", "b", "c"], holdAfter: 1 }]);
    const res = await post(user.token, { message: "lapse" });
    const reader = res.body!.getReader();
    await reader.read();
    // As if the function's renewals had stopped reaching the database for a lifetime: overdue, and released by
    // the user's next wallet operation.
    await sql`update public.credit_reservations set expires_at = now() - interval '1 second'
      where account_id = ${user.id} and status = 'open'`;
    await sql`update public.wallets set next_due_at = now() - interval '1 second' where account_id = ${user.id}`;
    await (await callFunction("credits", { token: user.token })).text();
    expect((await ledger(user.id)).map((r) => r[0])).toEqual(["reserve", "release"]);
    await releaseHeld();
    let text = "";
    for (let r = await reader.read(); !r.done; r = await reader.read()) text += new TextDecoder().decode(r.value);
    const done = parseSse(text).at(-1)!;
    expect(done).toMatchObject({ event: "done", data: { credits_charged: 2, balance: 48 } });
    expect((await ledger(user.id)).map((r) => r[0])).toEqual(["reserve", "release", "settle"]);
    const [answer] = await sql`select status, credits_consumed::int from public.messages where id = ${done.data.message_id}`;
    expect(answer).toEqual({ status: "complete", credits_consumed: 2 });
  });
});

describe("history API", () => {
  it("pages conversations newest first by older_than, in any UTC offset", async () => {
    const user = await createUser(sql, `pages-${crypto.randomUUID()}@test.local`);
    for (const m of ["first", "second"]) await chat(user.token, { message: m });
    const get = async (query: string) => {
      const res = await callFunction(`chat/conversations?${query}`, { token: user.token });
      expect(res.status).toBe(200);
      return (await res.json()).conversations as { title: string; last_message_at: string }[];
    };
    const [newest] = await get("limit=1");
    expect(newest.title).toBe("second");
    expect((await get(`older_than=${encodeURIComponent(newest.last_message_at)}`)).map((c) => c.title)).toEqual(["first"]);
    // An offset Postgres itself would refuse (over 15:59) is read as the instant it names.
    expect((await get(`older_than=${encodeURIComponent("2999-01-01T00:00:00+23:59")}`)).map((c) => c.title))
      .toEqual(["second", "first"]);
  });
});

describe("anonymous chat", () => {
  const session = `anon-${crypto.randomUUID()}`;

  it("an anonymous sign-in counts against the anonymous allowances too (minting users buys no chat)", async () => {
    await awayFromMidnight();
    const [{ id }] = await sql`insert into auth.users (instance_id, id, aud, role, email, raw_app_meta_data,
        raw_user_meta_data, is_anonymous, created_at, updated_at)
      values ('00000000-0000-0000-0000-000000000000', gen_random_uuid(), 'authenticated', 'authenticated', null,
        '{"provider": "anonymous", "providers": ["anonymous"]}', '{}', true, now(), now()) returning id`;
    const now = Math.floor(Date.now() / 1000);
    // As GoTrue signs an anonymous user's session.
    const token = await signJwt({ aud: "authenticated", sub: id, role: "authenticated", is_anonymous: true, iat: now, exp: now + 600 },
      stack().jwtSecret);
    const visitor = createHash("sha256").update(`user:${id}`).digest("hex");
    const usage = async (hash: string) => (await sql`select coalesce((select used from saasbase.anon_chat_usage
      where session_hash = ${hash} and day = (now() at time zone 'UTC')::date), 0) as used`)[0].used as number;
    const total = await usage("*");
    const first = await chat(token, { message: "hi, anonymously" });
    expect(first.events.at(-1)!.event).toBe("done");
    expect([await usage(visitor), await usage("*")]).toEqual([1, total + 1]);
    // Its visitor allowance used up: refused, though the plan's own quota has room, and nothing is held.
    await sql`update saasbase.anon_chat_usage set used = 5 where session_hash = ${visitor}`;
    const { res } = await chat(token, { message: "more" });
    expect([res.status, (await res.json()).error.code]).toEqual([429, "rate_limited"]);
    expect(await sql`select 1 from public.credit_reservations where account_id = ${id} and status = 'open'`).toHaveLength(0);
  });

  it("works with the anon key and a session id, within the daily allowance", async () => {
    await awayFromMidnight();
    for (let i = 0; i < 5; i++) {
      const { res, events } = await chat(stack().anonKey, { message: `anon ${i}`, session_id: session });
      expect(res.status).toBe(200);
      expect(events.at(-1)!.event).toBe("done");
    }
    const { res } = await chat(stack().anonKey, { message: "sixth", session_id: session });
    expect(res.status).toBe(429);
    expect((await chat(stack().anonKey, { message: "no session" })).res.status).toBe(422);
  });

  it("history is readable with that session id only", async () => {
    const list = await callFunction(`chat/conversations?session_id=${session}`, { token: stack().anonKey });
    const { conversations } = await list.json();
    expect(conversations).toHaveLength(5);
    expect(conversations[0]).toMatchObject({ last_message_role: "assistant", last_message: "Hello, world!" });
    const id = conversations[0].id;
    const mine = await callFunction(`chat/messages?conversation_id=${id}&session_id=${session}`, { token: stack().anonKey });
    expect((await mine.json()).messages.map((m: { role: string }) => m.role)).toEqual(["assistant", "user"]);
    const theirs = await callFunction(`chat/messages?conversation_id=${id}&session_id=other-${crypto.randomUUID()}`, { token: stack().anonKey });
    expect(theirs.status).toBe(404);
  });

  it("continues its own conversation with the history; other sessions and users cannot", async () => {
    const own = `anon-${crypto.randomUUID()}`;
    const first = await chat(stack().anonKey, { message: "Remember me", session_id: own });
    const id = first.events[0].data.conversation_id;
    const next = await chat(stack().anonKey, { conversation_id: id, message: "Still there?", session_id: own });
    expect(next.res.status).toBe(200);
    expect((await upstreamRequests()).at(-1)!.messages.map((m) => [m.role, m.content]).slice(1)).toEqual([
      ["user", "Remember me"],
      ["assistant", "Hello, world!"],
      ["user", "Still there?"],
    ]);
    const other = await chat(stack().anonKey, { conversation_id: id, message: "hi", session_id: `anon-${crypto.randomUUID()}` });
    expect(other.res.status).toBe(404);
    expect((await chat(payer.token, { conversation_id: id, message: "hi" })).res.status).toBe(404);
  });
});

describe("conversations through supabase-js (RLS)", () => {
  it("owners list, rename and delete; another user can neither read nor delete", async () => {
    const a = await createUser(sql, `conv-a-${crypto.randomUUID()}@test.local`);
    const b = await createUser(sql, `conv-b-${crypto.randomUUID()}@test.local`);
    const { events } = await chat(a.token, { message: "mine" });
    const id = events[0].data.conversation_id;

    const listed = await asUser(sql, a.id, (tx) => tx`select * from public.list_conversations(10)`);
    expect(listed.map((c) => [c.id, c.last_message])).toEqual([[id, "Hello, world!"]]);
    expect(await asUser(sql, b.id, (tx) => tx`select * from public.conversations where id = ${id}`)).toHaveLength(0);
    expect(await asUser(sql, b.id, (tx) => tx`select * from public.messages where conversation_id = ${id}`)).toHaveLength(0);
    expect((await asUser(sql, b.id, (tx) => tx`delete from public.conversations where id = ${id}`)).count).toBe(0);
    await expect(asUser(sql, a.id, (tx) => tx`insert into public.messages (conversation_id, role, content) values (${id}, 'assistant', 'forged')`))
      .rejects.toMatchObject({ code: "42501" });

    expect((await asUser(sql, a.id, (tx) => tx`update public.conversations set title = 'Renamed' where id = ${id}`)).count).toBe(1);
    expect((await asUser(sql, a.id, (tx) => tx`delete from public.conversations where id = ${id}`)).count).toBe(1);
    expect(await sql`select 1 from public.messages where conversation_id = ${id}`).toHaveLength(0);
  });
});
