// src/client: the typed frontend helpers, driving the real supabase-js against the local stack's function
// endpoints (the /rest/v1 half of supabase-js needs PostgREST, which only `supabase start` provides).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSaasbaseClient, type ChatEvent, readChatStream, SaasbaseError, toSaasbaseError } from "../src/client/index.ts";
import { connectDb, createFeature, createUser, setBalance, stack } from "./support/stack.ts";

const sql = connectDb();
afterAll(() => sql.end());

/** A client signed in as `token` (as supabase-js is after sign-in), or anonymous with the anon key. */
const clientFor = (token?: string) =>
  createSaasbaseClient(stack().apiUrl, stack().anonKey, {
    auth: { persistSession: false, autoRefreshToken: false },
    global: token ? { headers: { Authorization: `Bearer ${token}` } } : undefined,
  });

async function collect(events: AsyncGenerator<ChatEvent> | null) {
  const all: ChatEvent[] = [];
  for await (const e of events ?? []) all.push(e);
  return all;
}

describe("readChatStream", () => {
  it("parses events split anywhere, even inside a character, and skips comments and unknown events", async () => {
    const text = `: keep-alive\n\nevent: meta\ndata: {"conversation_id":"c","provider":"p","model":"m","reserved":3}\n\n` +
      `event: token\ndata: {"content":"Grüße "}\r\n\r\nevent: ping\ndata: {}\n\nevent: token\ndata: {"content":"🙂"}\n\n` +
      `event: done\ndata: {"message_id":1,"usage":{"prompt_tokens":2,"completion_tokens":3},"credits_charged":1,"balance":9}`;
    const bytes = new TextEncoder().encode(text);
    // Every split point, so chunk boundaries fall inside multi-byte characters and inside "\r\n".
    for (let cut = 1; cut < bytes.length; cut += 7) {
      const body = new ReadableStream<Uint8Array>({
        start(c) {
          c.enqueue(bytes.slice(0, cut));
          c.enqueue(bytes.slice(cut));
          c.close();
        },
      });
      const events = await collect(readChatStream(body));
      expect(events.map((e) => e.event)).toEqual(["meta", "token", "token", "done"]);
      expect(events.filter((e) => e.event === "token").map((e) => (e.data as { content: string }).content).join(""))
        .toBe("Grüße 🙂");
    }
  });
});

describe("readChatStream, stopping", () => {
  it("leaving the loop early closes the stream (the server stops and charges what came), a broken one throws", async () => {
    let cancelled = false;
    const enc = new TextEncoder();
    const endless = new ReadableStream<Uint8Array>({
      pull(c) {
        c.enqueue(enc.encode(`event: token\ndata: {"content":"x"}\n\n`));
      },
      cancel() {
        cancelled = true;
      },
    });
    for await (const e of readChatStream(endless)) if (e.event === "token") break;
    expect(cancelled).toBe(true);

    const broken = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(enc.encode(`event: token\ndata: {"content":"x"}\n\n`));
        c.error(new TypeError("connection reset"));
      },
    });
    await expect(collect(readChatStream(broken))).rejects.toMatchObject({ status: 0, code: "network_error" });
  });
});

describe("toSaasbaseError", () => {
  it("reads the SQL API's PT<status> errors as PostgREST hands them to supabase-js", async () => {
    const err = await toSaasbaseError({ code: "PT402", details: "insufficient_credits", message: "Not enough credits", hint: null });
    expect(err).toMatchObject({ status: 402, code: "insufficient_credits", message: "Not enough credits" });
    expect(await toSaasbaseError({ code: "42501", details: null, message: "permission denied" }))
      .toMatchObject({ status: 403, code: "forbidden", details: { postgres_code: "42501" } });
    expect(await toSaasbaseError({ code: "23505", details: "Key (id)=(1) already exists.", message: "duplicate key" }))
      .toMatchObject({ status: 409, code: "conflict" });
    expect(await toSaasbaseError({ code: "23514", details: null, message: "violates check constraint" }))
      .toMatchObject({ status: 422, code: "validation_failed" });
    expect(await toSaasbaseError({ code: "XX000", details: null, message: "?" })).toMatchObject({ status: 400, code: "bad_request" });
    // postgrest-js's own: a failed fetch (no code), an expired JWT, no such function.
    expect(await toSaasbaseError({ code: "", details: "", message: "TypeError: fetch failed" }))
      .toMatchObject({ status: 0, code: "network_error" });
    expect(await toSaasbaseError({ code: "PGRST303", details: null, message: "JWT expired" }))
      .toMatchObject({ status: 401, code: "invalid_token" });
    expect(await toSaasbaseError({ code: "PGRST202", details: null, message: "Could not find the function" }))
      .toMatchObject({ status: 404, code: "not_found" });
  });
});

describe("credits", () => {
  let user: { id: string; token: string };
  let feature: string;
  beforeAll(async () => {
    user = await createUser(sql, `client-${crypto.randomUUID()}@test.local`);
    feature = await createFeature(sql, 3);
    await setBalance(sql, user.id, 7);
  });

  it("charges once per key and reports the wallet", async () => {
    const saas = clientFor(user.token);
    const first = await saas.credits.charge({ feature, quantity: 2, idempotency_key: "client-1" });
    expect(first.error).toBeNull();
    expect(first.data).toMatchObject({ credits_charged: 6, balance: 1, replayed: false });
    const again = await saas.credits.charge({ feature, quantity: 2, idempotency_key: "client-1" });
    expect(again.data).toMatchObject({ usage_id: first.data!.usage_id, balance: 1, replayed: true });

    const wallet = await saas.credits.retrieve({ ledger_limit: 5 });
    expect(wallet.data).toMatchObject({ balance: 1, reserved: 0 });
    expect(wallet.data!.ledger[0]).toMatchObject({ kind: "charge", amount: -6, feature });
  });

  it("turns error answers into SaasbaseErrors with the stable code", async () => {
    const saas = clientFor(user.token);
    const broke = await saas.credits.charge({ feature, idempotency_key: "client-2" });
    expect(broke.error).toBeInstanceOf(SaasbaseError);
    expect(broke.error).toMatchObject({ status: 402, code: "insufficient_credits" });
    const anon = await clientFor().credits.retrieve();
    expect(anon.error).toMatchObject({ status: 401, code: "user_required" });
    expect((await clientFor("not-a-jwt").credits.retrieve()).error).toMatchObject({ status: 401 });
  });
});

describe("secrets", () => {
  it("stores a key, lists its last 4 only, deletes it; a bad value is a SaasbaseError", async () => {
    const user = await createUser(sql, `client-secrets-${crypto.randomUUID()}@test.local`);
    const saas = clientFor(user.token);
    const set = await saas.secrets.set("v0", "v1:client-key-abcd9876");
    expect(set.error).toBeNull();
    expect(set.data).toMatchObject({ provider: "v0", last4: "9876", created_by: user.id });
    const listed = await saas.secrets.list();
    expect(listed.data!.secrets.map((s) => [s.provider, s.last4])).toEqual([["v0", "9876"]]);
    expect(JSON.stringify(listed.data)).not.toContain("client-key");
    expect((await saas.secrets.set("v0", "short")).error).toMatchObject({ status: 422, code: "validation_failed" });
    expect((await saas.secrets.del("v0")).data).toEqual({ deleted: true, provider: "v0" });
    expect((await saas.secrets.del("v0")).error).toMatchObject({ status: 404, code: "secret_not_found" });
    expect((await saas.secrets.list()).data!.secrets).toEqual([]);
  });
});

describe("installations", () => {
  it("tracks, then validates an editor's config: the outcome and why it failed; bad input a SaasbaseError", async () => {
    const user = await createUser(sql, `client-inst-${crypto.randomUUID()}@test.local`);
    const saas = clientFor(user.token);
    const tracked = await saas.installations.track({ client: "cursor", version: "0.50" });
    expect(tracked.error).toBeNull();
    expect(tracked.data).toMatchObject({ status: "attempted", client: "cursor", client_version: "0.50", user_id: user.id });
    const checked = await saas.installations.validate({
      installation_id: tracked.data!.id,
      client: "cursor",
      mcp_config: { mcpServers: { p: { url: "https://elsewhere.test/mcp" } } },
    });
    expect(checked.data).toMatchObject({ id: tracked.data!.id, status: "failed" });
    expect(checked.data!.error_message).toMatch(/^No server in the config points at /);
    const bad = await saas.installations.track({ client: "emacs" as "cursor" });
    expect(bad.error).toMatchObject({ status: 422, code: "validation_failed" });
  });
});

describe("chat", () => {
  it("streams an answer as typed events, then lists it", async () => {
    const user = await createUser(sql, `client-chat-${crypto.randomUUID()}@test.local`);
    const saas = clientFor(user.token);
    const { data, error } = await saas.chat.create({ message: "Hi from the client" });
    expect(error).toBeNull();
    const events = await collect(data);
    expect(events[0].event).toBe("meta");
    expect(events.at(-1)!.event).toBe("done");
    const answer = events.flatMap((e) => (e.event === "token" ? [e.data.content] : [])).join("");
    expect(answer).toBe("Hello, world!");
    const conversationId = (events[0].data as { conversation_id: string }).conversation_id;

    const list = await saas.chat.conversations.list({ limit: 5 });
    expect(list.data!.conversations.map((c) => c.id)).toEqual([conversationId]);
    const page = await saas.chat.messages.list({ conversation_id: conversationId });
    expect(page.data!.messages.map((m) => [m.role, m.content])).toEqual([
      ["assistant", "Hello, world!"],
      ["user", "Hi from the client"],
    ]);
    // Ids and costs are numbers, as typed: the answer's id is the done event's message_id.
    const done = events.at(-1)!.data as { message_id: number };
    expect(page.data!.messages[0].id).toBe(done.message_id);
    expect(typeof page.data!.messages[0].credits_consumed).toBe("number");
    const missing = await saas.chat.messages.list({ conversation_id: crypto.randomUUID() });
    expect(missing.error).toMatchObject({ status: 404, code: "conversation_not_found" });
  });

  it("works anonymously with a session id", async () => {
    const saas = clientFor();
    const session_id = `client-anon-${crypto.randomUUID()}`;
    const events = await collect((await saas.chat.create({ message: "Hello?", session_id })).data);
    expect(events.at(-1)).toMatchObject({ event: "done", data: { credits_charged: 0, balance: null } });
    expect((await saas.chat.conversations.list({ session_id })).data!.conversations).toHaveLength(1);
    expect((await saas.chat.create({ message: "no session" })).error).toMatchObject({ status: 422 });
  });
});

describe("billing", () => {
  it("creates a checkout session for a credit pack, and the portal needs a first checkout", async () => {
    const user = await createUser(sql, `client-pay-${crypto.randomUUID()}@test.local`);
    const saas = clientFor(user.token);
    expect((await saas.billing.portal.create()).error).toMatchObject({ status: 404, code: "no_customer" });
    const { data, error } = await saas.billing.checkout.create({ pack: "credits_500" }, { idempotency_key: "client-pack" });
    expect(error).toBeNull();
    expect(data!.url).toMatch(/^https?:\/\//);
    const again = await saas.billing.checkout.create({ pack: "credits_500" }, { idempotency_key: "client-pack" });
    expect(again.data!.id).toBe(data!.id);
    expect((await saas.billing.portal.create()).data!.url).toMatch(/^https?:\/\//);
    const unknown = await saas.billing.checkout.create({ pack: "no_such_pack" });
    expect(unknown.error).toMatchObject({ status: 404, code: "unknown_pack" });
  });
});
