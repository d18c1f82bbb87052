// Bad input never gets a 500 and never changes anything. Every function's routes are called with malformed
// bodies, fields of the wrong type or size, text Postgres cannot store, numbers out of range, wrong methods,
// unknown routes, and validly signed tokens of callers who should not get through (a deleted user, a `sub`
// that is no user id, no `sub`, the anon key, the service role). Each must answer 4xx with
// `{ error: { code, message } }` (a code from ERROR_CODES), and afterwards the callers' rows in every table
// are exactly as they were. And each route's valid request, sent the same way, succeeds: a route that refused
// everything would pass the rest.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signJwt, userToken } from "../src/local/jwt.ts";
import { ERROR_CODES } from "../supabase/functions/_shared/error-codes.ts";
import { asUser, callFunction, connectDb, createFeature, createUser, setBalance, stack } from "./support/stack.ts";
import { signPayload } from "./support/stripe-webhook.ts";

const sql = connectDb();

interface Case {
  name: string;
  path: string;
  method: string;
  token?: string;
  body?: string;
  headers?: Record<string, string>;
  /** The MCP server's protocol errors: a JSON-RPC error object (numeric code) rather than ours. */
  jsonRpc?: true;
}

let user: { id: string; token: string };
let feature: string;
let mcpUser: { id: string; token: string };
let mcpKey: string;
const ghostId = crypto.randomUUID();
const exp = () => Math.floor(Date.now() / 1000) + 3600;

/** Validly signed tokens of callers that must not get through where a signed-in user is needed. */
async function strangers(): Promise<Record<string, string>> {
  const secret = stack().jwtSecret;
  return {
    "a deleted user": await userToken({ id: ghostId, email: "ghost@test.local" }, secret),
    "a sub that is no user id": await signJwt({ role: "authenticated", aud: "authenticated", sub: "not-a-uuid", exp: exp() }, secret),
    "no sub": await signJwt({ role: "authenticated", aud: "authenticated", exp: exp() }, secret),
    "the anon key": stack().anonKey,
    "the service role": stack().serviceRoleKey,
  };
}

/** Values that no field of any route accepts as they are, or that Postgres cannot store. */
const BAD_VALUES: Record<string, unknown> = {
  null: null,
  "an empty string": "",
  "a NUL character": "a\u0000b",
  "a lone surrogate": "a\ud800b",
  "100,000 characters": "x".repeat(100_000),
  "a negative number": -1,
  "a fraction": 1.5,
  "a huge number": 1e20,
  "an array": ["x"],
  "an object": { x: 1 },
  "a boolean": true,
};

interface PostRoute {
  path: string;
  /** A request that would be valid, from the route's caller. */
  valid: Record<string, unknown>;
  /** The fields it reads; each gets every one of BAD_VALUES but those named in `accepts`. */
  fields: string[];
  /** Every field optional: no body (functions.invoke sends none) is a valid request. */
  optional?: true;
  /** Values of BAD_VALUES a field takes as valid (stripe-reconcile's `since: null` is a backfill). */
  accepts?: Record<string, string[]>;
  /** Who calls it: a signed-in user, or the service role for the admins' tools (which refuse users before
   * reading the body, so their bad bodies are sent as the service role). */
  caller?: "service role";
}

/** Each POST route with a request that would be valid, and the fields it reads. */
function postRoutes(): PostRoute[] {
  // A reconciliation of the last minute: what the other test files did at the local Stripe server is older.
  const since = new Date(Date.now() - 60_000).toISOString();
  return [
    { path: "credits/charge", valid: { feature, quantity: 1, idempotency_key: "bad-input" }, fields: ["feature", "quantity", "idempotency_key"] },
    { path: "checkout", valid: { amount_cents: 1000 }, fields: ["price", "pack", "amount_cents", "seats", "success_url", "cancel_url"] },
    { path: "portal", valid: {}, fields: ["return_url"], optional: true },
    { path: "chat", valid: { message: "Hi" }, fields: ["message", "conversation_id", "persona", "model", "session_id"] },
    { path: "connect-onboarding", valid: {}, fields: ["return_url", "refresh_url"], optional: true },
    // Any JSON object is a config to store (track) or to find wanting (validate: 200, failed, saying why).
    { path: "installations/track", valid: { client: "cursor" }, fields: ["client", "version", "mcp_config"],
      accepts: { mcp_config: ["an object"] } },
    { path: "installations/validate", valid: { client: "vscode", mcp_config: { servers: {} } },
      fields: ["installation_id", "client", "version", "mcp_config"], accepts: { mcp_config: ["an object"] } },
    { path: "referral-payout", valid: {}, fields: ["cashout_id"], optional: true, caller: "service role" },
    // The service role's sweep of every account due (a member's sync of their account is in tests/seats.test.ts).
    { path: "seats/sync", valid: {}, fields: [], optional: true, caller: "service role" },
    { path: "stripe-reconcile", valid: { since, margin_seconds: 0 }, fields: ["since", "margin_seconds"], optional: true,
      accepts: { since: ["null"] }, caller: "service role" },
    // The mail outbox worker (a run drains what is due: tests/email.test.ts).
    { path: "send-email", valid: { max_batches: 1 }, fields: ["max_batches"], optional: true, caller: "service role" },
  ];
}

const MALFORMED_BODIES: Record<string, string> = {
  "no body": "",
  "text that is not JSON": "credits please",
  "truncated JSON": '{"feature": "x"',
  "JSON null": "null",
  "a JSON array": "[]",
  "a JSON string": '"x"',
  "a JSON number": "42",
  "10,000 nested arrays": "[".repeat(10_000) + "]".repeat(10_000),
  "a __proto__ key": '{"__proto__": {"admin": true}}',
};

function cases(strangers: Record<string, string>): Case[] {
  const out: Case[] = [];
  const json = { "content-type": "application/json" };
  for (const route of postRoutes()) {
    const caller = route.caller === "service role" ? stack().serviceRoleKey : user.token;
    for (const [name, body] of Object.entries(MALFORMED_BODIES)) {
      // Routes whose fields are all optional take no body; those that read nothing take a __proto__ key (no
      // field of theirs; a strict schema refuses it).
      if (name === "no body" && route.optional) continue;
      if (name === "a __proto__ key" && Object.keys(route.valid).length === 0) continue;
      out.push({ name: `${route.path}: ${name}`, path: route.path, method: "POST", token: caller, body, headers: json });
    }
    for (const field of route.fields) {
      for (const [name, value] of Object.entries(BAD_VALUES)) {
        if (route.accepts?.[field]?.includes(name)) continue;
        out.push({
          name: `${route.path}: ${field} is ${name}`,
          path: route.path,
          method: "POST",
          token: caller,
          body: JSON.stringify({ ...route.valid, [field]: value }),
          headers: json,
        });
      }
    }
    for (const [who, token] of Object.entries(strangers)) {
      // Admins' own tools: the service role is meant to call them.
      if (route.caller === "service role" && who === "the service role") continue;
      out.push({ name: `${route.path}: as ${who}`, path: route.path, method: "POST", token, body: JSON.stringify(route.valid), headers: json });
    }
    for (const method of ["GET", "PUT", "PATCH", "DELETE"]) {
      out.push({ name: `${route.path}: ${method}`, path: route.path, method, token: user.token });
    }
  }

  const gets: [string, string][] = [
    ["credits", "?limit=abc"],
    ["credits", "?limit=-1"],
    ["credits", "?limit=1e20"],
    ["credits", "?limit=1.5"],
    ["chat/conversations", "?limit=0"],
    ["chat/conversations", "?limit=abc"],
    ["chat/conversations", "?older_than=yesterday"],
    ["chat/conversations", "?session_id=short"],
    ["chat/messages", ""],
    ["chat/messages", "?conversation_id=not-a-uuid"],
    ["chat/messages", `?conversation_id=${crypto.randomUUID()}`],
    ["chat/messages", `?conversation_id=${crypto.randomUUID()}&before=abc`],
    ["chat/messages", `?conversation_id=${crypto.randomUUID()}&before=100000000000000000000`],
    ["chat/messages", `?conversation_id=${crypto.randomUUID()}&before=-5`],
  ];
  for (const [path, query] of gets) {
    out.push({ name: `GET ${path}${query}`, path: path + query, method: "GET", token: user.token });
  }
  for (const path of ["credits", "chat/conversations", "chat/messages?conversation_id=" + crypto.randomUUID()]) {
    for (const [who, token] of Object.entries(strangers)) {
      if (path.startsWith("chat") && who === "the anon key") continue; // anonymous chat needs a session_id: covered above
      // Reads through RLS find nothing of a deleted user, as PostgREST's do: 200 with an empty list.
      if (path === "chat/conversations" && who === "a deleted user") continue;
      out.push({ name: `GET ${path} as ${who}`, path, method: "GET", token });
    }
    out.push({ name: `${path}: DELETE`, path, method: "DELETE", token: user.token });
  }
  // An installation that is not the caller's: 404, whatever the config.
  out.push({ name: "installations/validate: another's installation_id", path: "installations/validate", method: "POST",
    token: user.token, headers: json,
    body: JSON.stringify({ installation_id: crypto.randomUUID(), client: "cursor", mcp_config: { mcpServers: {} } }) });
  out.push({ name: "installations/validate: a config past 16 KB", path: "installations/validate", method: "POST",
    token: user.token, headers: json,
    body: JSON.stringify({ client: "cursor", mcp_config: { mcpServers: { x: { url: "x".repeat(17_000) } } } }) });
  for (const path of ["credits/nope", "chat/nope", "credits/charge/extra", "seats/nope", "installations", "installations/nope"]) {
    out.push({ name: `unknown route ${path}`, path, method: "GET", token: user.token });
  }
  // Pages Stripe sends browsers back to: http(s) only, of a sane length (Stripe refuses the rest: a 500 here).
  for (const url of ["javascript:alert(1)", "mailto:a@b.c", "foo:bar", `https://x.test/${"a".repeat(3000)}`]) {
    out.push({ name: `checkout: success_url ${url.slice(0, 30)}`, path: "checkout", method: "POST", token: user.token,
      body: JSON.stringify({ amount_cents: 1000, success_url: url }), headers: json });
    out.push({ name: `portal: return_url ${url.slice(0, 30)}`, path: "portal", method: "POST", token: user.token,
      body: JSON.stringify({ return_url: url }), headers: json });
    out.push({ name: `connect-onboarding: refresh_url ${url.slice(0, 30)}`, path: "connect-onboarding", method: "POST",
      token: user.token, body: JSON.stringify({ refresh_url: url }), headers: json });
  }
  for (const key of ["k".repeat(201), "with space"]) {
    out.push({ name: `checkout: Idempotency-Key ${key.slice(0, 20)}`, path: "checkout", method: "POST", token: user.token,
      body: JSON.stringify({ amount_cents: 1000 }), headers: { ...json, "idempotency-key": key } });
  }
  for (const t of ["0000-01-01T00:00:00Z", "2026-13-01T00:00:00Z", "1969-12-31T23:59:59Z"]) {
    out.push({ name: `GET chat/conversations?older_than=${t}`, path: `chat/conversations?older_than=${encodeURIComponent(t)}`,
      method: "GET", token: user.token });
  }
  // The secrets function: PUT /secrets/:provider { value } (its one body field), and the list.
  const secret = JSON.stringify({ value: "valid-secret-1234" });
  for (const [name, value] of Object.entries(BAD_VALUES)) {
    out.push({ name: `secrets/v0: value is ${name}`, path: "secrets/v0", method: "PUT", token: user.token,
      body: JSON.stringify({ value }), headers: json });
  }
  for (const [name, body] of Object.entries(MALFORMED_BODIES)) {
    out.push({ name: `secrets/v0: ${name}`, path: "secrets/v0", method: "PUT", token: user.token, body, headers: json });
  }
  for (const [who, token] of Object.entries(strangers)) {
    out.push({ name: `secrets/v0: as ${who}`, path: "secrets/v0", method: "PUT", token, body: secret, headers: json });
    if (who !== "a deleted user") out.push({ name: `GET secrets as ${who}`, path: "secrets", method: "GET", token });
  }
  for (const path of ["secrets/V0", "secrets/-x", "secrets/v0/extra", `secrets/${"p".repeat(64)}`]) {
    out.push({ name: `PUT ${path.slice(0, 30)}`, path, method: "PUT", token: user.token, body: secret, headers: json });
  }
  out.push({ name: "secrets: POST", path: "secrets", method: "POST", token: user.token, body: secret, headers: json });
  out.push({ name: "secrets/rotate as a user", path: "secrets/rotate", method: "POST", token: user.token, body: "{}", headers: json });
  out.push({ name: "secrets/v0: DELETE, none stored", path: "secrets/v0", method: "DELETE", token: user.token });
  out.push({ name: "health: POST", path: "health", method: "POST", body: "{}" });
  // The MCP server: JSON-RPC over POST, with an API key (mcpKey, a user of its own: a key's use moves its
  // last_used_at). Callers it must refuse (HTTP errors of ours), and messages it must refuse before any tool
  // runs (JSON-RPC errors: what an MCP client reads).
  const mcpCall = (args: unknown) =>
    JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: "generate_component", arguments: args } });
  const rpc = { ...json, accept: "application/json, text/event-stream" };
  for (const [who, token] of Object.entries(strangers)) {
    out.push({ name: `mcp: as ${who}`, path: "mcp", method: "POST", token, body: mcpCall({ prompt: "a button" }), headers: rpc });
  }
  for (const method of ["GET", "PUT", "PATCH", "DELETE"]) {
    out.push({ name: `mcp: ${method}`, path: "mcp", method, token: mcpKey, headers: rpc });
  }
  out.push({ name: "mcp: an unknown API key", path: "mcp", method: "POST", token: `sbk_live_${"x".repeat(40)}`, body: mcpCall({ prompt: "a" }), headers: rpc });
  out.push({ name: "mcp: an API key in the apikey header", path: "mcp", method: "POST", body: mcpCall({ prompt: "a" }),
    headers: { ...rpc, apikey: mcpKey } });
  out.push({ name: "mcp: a body past the limit", path: "mcp", method: "POST", token: mcpKey, body: mcpCall({ prompt: "x".repeat(300_000) }), headers: rpc });
  const rpcBodies: Record<string, string> = {
    ...MALFORMED_BODIES,
    "a batch": `[${mcpCall({ prompt: "a" })}]`,
    "an unknown tool": JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: "rm_rf", arguments: {} } }),
    "an unknown method": JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/explode" }),
    "no arguments": mcpCall(undefined),
  };
  delete rpcBodies["a JSON array"]; // a batch of nothing: covered by "a batch"
  for (const [name, body] of Object.entries(rpcBodies)) {
    out.push({ name: `mcp: ${name}`, path: "mcp", method: "POST", token: mcpKey, body, headers: rpc, jsonRpc: true });
  }
  for (const [name, value] of Object.entries(BAD_VALUES)) {
    out.push({ name: `mcp: prompt is ${name}`, path: "mcp", method: "POST", token: mcpKey, body: mcpCall({ prompt: value }),
      headers: rpc, jsonRpc: true });
  }
  return out;
}

/** The Stripe webhook, whose caller proves itself by signature: unsigned, mis-signed, stale and malformed events. */
async function webhookCases(): Promise<Case[]> {
  const sign = signPayload;
  const event = (id: string, extra: Record<string, unknown> = {}) =>
    JSON.stringify({ id, object: "event", type: "checkout.session.completed", created: 1, data: { object: {} }, ...extra });
  const hook = async (name: string, payload: string, signature: string | null): Promise<Case> => ({
    name: `stripe-webhook: ${name}`,
    path: "stripe-webhook",
    method: "POST",
    body: payload,
    headers: { "content-type": "application/json", ...(signature === null ? {} : { "stripe-signature": signature }) },
  });
  const good = event("evt_badinput_1");
  return [
    await hook("no signature", good, null),
    await hook("a garbled signature", good, "t=1,v1=zz"),
    await hook("another secret's signature", good, await sign(good, { secret: "whsec_other" })),
    await hook("a signature of another payload", good, await sign(event("evt_badinput_other"))),
    await hook("a signature 10 minutes old", good, await sign(good, { timestamp: Math.floor(Date.now() / 1000) - 600 })),
    await hook("a signed body that is not JSON", "not json", await sign("not json")),
    await hook("a signed JSON array", "[]", await sign("[]")),
    await hook("a signed event without an id", event("", { id: undefined }), await sign(event("", { id: undefined }))),
    await hook("a signed event without a type", event("evt_badinput_2", { type: undefined }), await sign(event("evt_badinput_2", { type: undefined }))),
    await hook("a signed event with a NUL in its id", event("evt_badinput_\u0000"), await sign(event("evt_badinput_\u0000"))),
    await hook("a signed event without data", event("evt_badinput_3", { data: undefined }), await sign(event("evt_badinput_3", { data: undefined }))),
    await hook("GET", "", null).then((c) => ({ ...c, method: "GET", body: undefined })),
  ];
}

/** Every row that is about `userId`, in every public table, as text: equal before and after means unchanged. */
async function footprint(userId: string): Promise<Record<string, string[]>> {
  const tables = await sql<{ table_name: string; column_name: string }[]>`
    select table_name, column_name from information_schema.columns
    where table_schema = 'public' and column_name in ('user_id', 'account_id', 'referrer_id', 'referred_id')
      and table_name in (select table_name from information_schema.tables where table_schema = 'public' and table_type = 'BASE TABLE')`;
  const out: Record<string, string[]> = {};
  for (const t of tables) {
    const rows = await sql.unsafe(
      `select t::text as r from public.${t.table_name} t where ${t.column_name}::text = $1 order by 1`,
      [userId],
    );
    out[`${t.table_name}.${t.column_name}`] = rows.map((r) => r.r as string);
  }
  out["profiles"] = (await sql`select t::text as r from public.profiles t where id = ${userId}`).map((r) => r.r as string);
  out["messages"] = (await sql`select m::text as r from public.messages m join public.conversations c on c.id = m.conversation_id
    where c.user_id = ${userId} order by m.id`).map((r) => r.r as string);
  return out;
}

let all: Case[];
let before: Record<string, string[]>;
let mcpBefore: Record<string, string[]>;
/** A footprint without the API keys' rows, whose last_used_at a key's use moves. */
const withoutKeys = (f: Record<string, string[]>) =>
  Object.fromEntries(Object.entries(f).filter(([table]) => !table.startsWith("api_keys.")));
/** Reconciliation runs recorded: a refused request to stripe-reconcile records none. */
const reconciliations = async () =>
  (await sql`select count(*)::int as n from saasbase.stripe_reconciliations`)[0].n as number;
let runsBefore: number;

beforeAll(async () => {
  user = await createUser(sql, `bad-input-${crypto.randomUUID()}@test.local`);
  feature = await createFeature(sql, 1);
  await setBalance(sql, user.id, 5);
  mcpUser = await createUser(sql, `bad-input-mcp-${crypto.randomUUID()}@test.local`);
  mcpKey = (await asUser(sql, mcpUser.id, (tx) => tx`select key from public.create_api_key('bad input', null, null, null)`))[0].key;
  all = [...cases(await strangers()), ...(await webhookCases())];
  before = await footprint(user.id);
  mcpBefore = withoutKeys(await footprint(mcpUser.id));
  runsBefore = await reconciliations();
});
afterAll(() => sql.end());

describe("bad input", () => {
  it("gets a 4xx JSON error, never a 500, from every route", async () => {
    const failures: string[] = [];
    // A few at a time: the point is every answer, not load.
    for (let i = 0; i < all.length; i += 8) {
      await Promise.all(all.slice(i, i + 8).map(async (c) => {
        const res = await callFunction(c.path, { method: c.method, token: c.token, headers: c.headers, body: c.body });
        const text = await res.text();
        let body: { error?: { code?: unknown; message?: unknown } } | undefined;
        try {
          body = JSON.parse(text);
        } catch { /* reported below */ }
        const code = body?.error?.code;
        const ok = c.jsonRpc
          // JSON-RPC: a 4xx with the error, or (the request was read, the call refused) a 200 with it.
          ? res.status < 500 && (body as { jsonrpc?: unknown })?.jsonrpc === "2.0" && typeof code === "number" &&
            code < 0 && typeof body?.error?.message === "string"
          : res.status >= 400 && res.status < 500 && typeof code === "string" && code in ERROR_CODES &&
            typeof body?.error?.message === "string" && body.error.message.length > 0;
        if (!ok) failures.push(`${c.name}: ${res.status} ${text.slice(0, 200)}`);
      }));
    }
    expect(failures).toEqual([]);
    expect(all.length).toBeGreaterThan(300);
  });

  it("refuses bodies past the limit with 413, declared or streamed, before reading them whole", async () => {
    const big = (bytes: number) => JSON.stringify({ message: "x".repeat(bytes), feature, idempotency_key: "big" });
    const streamed = (text: string) => {
      const bytes = new TextEncoder().encode(text);
      return new ReadableStream<Uint8Array>({
        start(c) {
          for (let i = 0; i < bytes.length; i += 16_384) c.enqueue(bytes.slice(i, i + 16_384));
          c.close();
        },
      });
    };
    const json = { "content-type": "application/json" };
    const answers = [
      await callFunction("credits/charge", { method: "POST", token: user.token, headers: json, body: big(300_000) }),
      // Chunked, no Content-Length: counted while it streams in.
      await callFunction("chat", { method: "POST", token: user.token, headers: json, body: streamed(big(300_000)),
        duplex: "half" } as RequestInit),
      await callFunction("stripe-webhook", { method: "POST", headers: { ...json, "stripe-signature": "t=1,v1=00" },
        body: big(1_100_000) }),
    ];
    for (const res of answers) {
      expect([res.status, (await res.json()).error.code]).toEqual([413, "payload_too_large"]);
    }
    // Under the limit, a body is read as before: a 300 kB chat message is too long for its field, not the route.
    const fits = await callFunction("chat", { method: "POST", token: user.token, headers: json,
      body: JSON.stringify({ message: "x".repeat(40_000) }) });
    expect([fits.status, (await fits.json()).error.code]).toEqual([422, "validation_failed"]);
  });

  it("changes nothing: the caller's rows are as they were, and no stranger got a row", async () => {
    expect(await footprint(user.id)).toEqual(before);
    expect(withoutKeys(await footprint(mcpUser.id))).toEqual(mcpBefore);
    const ghost = await footprint(ghostId);
    expect(Object.values(ghost).flat()).toEqual([]);
    const [{ n }] = await sql`select count(*)::int as n from public.stripe_events where id like 'evt_badinput%'`;
    expect(n).toBe(0);
    expect(await reconciliations()).toBe(runsBefore);
  });

  it("answers each route's valid request with success, so the refusals above are the input's", async () => {
    // Another user, so that the first one's rows stay as they were.
    const valid = await createUser(sql, `bad-input-valid-${crypto.randomUUID()}@test.local`);
    await setBalance(sql, valid.id, 50);
    const json = { "content-type": "application/json" };
    const answers: string[] = [];
    const call = async (name: string, init: RequestInit & { token?: string }) => {
      const res = await callFunction(name, init);
      const text = await res.text();
      answers.push(`${init.method ?? "GET"} ${name}: ${res.status}${res.ok ? "" : ` ${text.slice(0, 200)}`}`);
      return text;
    };
    // In the list's order: the checkout makes the Stripe customer the portal needs.
    let chat = "";
    for (const route of postRoutes()) {
      const token = route.caller === "service role" ? stack().serviceRoleKey : valid.token;
      const text = await call(route.path, { method: "POST", token, headers: json, body: JSON.stringify(route.valid) });
      if (route.path === "chat") chat = text;
    }
    expect(chat).toContain("event: done"); // the answer came whole and was paid, not an error event
    const conversation = /"conversation_id":"([^"]+)"/.exec(chat)?.[1];
    for (const path of ["credits", "chat/conversations", `chat/messages?conversation_id=${conversation}`, "health"]) {
      await call(path, { method: "GET", token: valid.token });
    }
    await call("secrets/v0", { method: "PUT", token: valid.token, headers: json, body: JSON.stringify({ value: "valid-secret-1234" }) });
    await call("secrets", { method: "GET", token: valid.token });
    // The MCP server's valid call: a generation with the v0 key just stored, by an API key of the user's.
    const [{ key }] = await asUser(sql, valid.id, (tx) => tx`select key from public.create_api_key('valid', null, null, null)`);
    const generated = await call("mcp", { method: "POST", token: key, headers: { ...json, accept: "application/json, text/event-stream" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: "generate_component", arguments: { prompt: "a button" } } }) });
    expect(JSON.parse(generated).result).toMatchObject({ structuredContent: { usage: { feature: "component_generation" } } });
    const event = JSON.stringify({ id: `evt_valid_${crypto.randomUUID()}`, object: "event", type: "balance.available",
      created: Math.floor(Date.now() / 1000), data: { object: {} } });
    const signature = await signPayload(event);
    await call("stripe-webhook", { method: "POST", headers: { ...json, "stripe-signature": signature }, body: event });
    expect(answers.filter((a) => !/: 2\d\d$/.test(a))).toEqual([]);
    expect(answers).toHaveLength(postRoutes().length + 8);
    expect(await reconciliations()).toBe(runsBefore + 1); // the valid reconciliation ran, and is recorded
  });
});
