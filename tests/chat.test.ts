// The chat gateway end to end: the real openai SDK inside the Deno function talks to the local
// OpenAI-compatible server; money goes through the real ledger. Scenarios are scripted per provider.
import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signJwt } from "../src/local/jwt.ts";
import type { Step } from "./support/openai-server.ts";
import { asUser, awayFromMidnight, callFunction, connectDb, createUser, setBalance, stack } from "./support/stack.ts";

const sql = connectDb();
afterAll(() => sql.end());

async function script(provider: "openai" | "gemini", steps: Step[]) {
  await fetch(`${stack().aiUrl}/_test/script`, { method: "POST", body: JSON.stringify({ provider, steps }) });
}
/** Lets answers scripted with `holdAfter` go on. */
async function releaseHeld() {
  await fetch(`${stack().aiUrl}/_test/release`, { method: "POST" });
}
async function upstreamRequests(): Promise<{ provider: string; model: string; messages: { role: string; content: string }[] }[]> {
  return (await (await fetch(`${stack().aiUrl}/_test/state`)).json()).requests;
}

interface SseEvent {
  event: string;
  data: any;
}
function parseSse(text: string): SseEvent[] {
  return text.split("\n\n").filter((b) => b.trim()).map((block) => {
    const event = /^event: (.*)$/m.exec(block)?.[1] ?? "message";
    const data = JSON.parse(/^data: (.*)$/m.exec(block)?.[1] ?? "null");
    return { event, data };
  });
}

const post = (token: string, body: unknown, signal?: AbortSignal) =>
  callFunction("chat", { method: "POST", token, headers: { "content-type": "application/json" }, body: JSON.stringify(body), signal });

async function chat(token: string, body: unknown) {
  const res = await post(token, body);
  return { res, events: res.headers.get("content-type")?.includes("text/event-stream") ? parseSse(await res.text()) : [] };
}

async function ledger(userId: string) {
  return (await sql`select kind, amount::int from public.credit_ledger where user_id = ${userId} and feature_id = 'chat' order by id`)
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
  await sql`update public.profiles set plan_id = 't_chat_paid' where id = ${user.id}`;
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
    // general persona: 1 credit a message + gpt-4o-mini 1 credit per 1k tokens (44 tokens reported) = 2
    expect(done).toMatchObject({ usage: { prompt_tokens: 40, completion_tokens: 4 }, credits_charged: 2, balance: 98 });
    expect(await ledger(payer.id)).toEqual([["reserve", -meta.reserved], ["settle", meta.reserved - 2]]);
    const messages = await sql`select role, content, status, prompt_tokens, completion_tokens, credits_consumed::int
      from public.messages where conversation_id = ${conversation} order by id`;
    expect(messages.map((m) => ({ ...m }))).toEqual([
      { role: "user", content: "Hi there", status: "complete", prompt_tokens: null, completion_tokens: null, credits_consumed: 0 },
      { role: "assistant", content: "Hello, world!", status: "complete", prompt_tokens: 40, completion_tokens: 4, credits_consumed: 2 },
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
    expect((await sql`select balance::int from public.wallets where user_id = ${user.id}`)[0].balance).toBe(50);
    expect(await sql`select 1 from public.conversations where user_id = ${user.id}`).toHaveLength(0);
  });

  it("a stream dying midway ends with an error event, refunds the reservation and keeps the partial answer as failed", async () => {
    const user = await paidUser("die", 50);
    await script("openai", [{ kind: "die", after: 2 }]);
    const { res, events } = await chat(user.token, { message: "tell me everything" });
    expect(res.status).toBe(200);
    expect(events.at(-1)).toMatchObject({ event: "error", data: { code: "ai_stream_failed" } });
    expect((await ledger(user.id)).map((r) => r[0])).toEqual(["reserve", "release"]);
    expect((await sql`select balance::int from public.wallets where user_id = ${user.id}`)[0].balance).toBe(50);
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
    expect((await sql`select balance::int from public.wallets where user_id = ${user.id}`)[0].balance).toBe(50 - charged);
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
    expect((await sql`select balance::int from public.wallets where user_id = ${user.id}`)[0].balance).toBe(50);
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
    expect(done.credits_charged).toBe(2); // general persona: 1 a message + 1 per 1k tokens (40 + 4 reported)
    expect((await ledger(user.id)).map((r) => r[0])).toEqual(["reserve", "settle"]);
    expect((await sql`select balance::int from public.wallets where user_id = ${user.id}`)[0].balance).toBe(50 - done.credits_charged);
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
    expect(done.credits_charged).toBe(2); // general persona: 1 a message + 1 per 1k tokens (40 + 4 reported)
    expect((await ledger(user.id)).map((r) => r[0])).toEqual(["reserve", "settle", "reserve", "settle"]);
    expect((await sql`select balance::int from public.wallets where user_id = ${user.id}`)[0].balance)
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
    expect(await sql`select 1 from public.credit_reservations where user_id = ${id} and status = 'open'`).toHaveLength(0);
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
