// API keys in _shared/auth.ts: where a key may come from, a key as the bearer token of a function deployed
// without the platform's gate (through the credits handler, against the real database: SUPABASE_DB_URL), and
// the legacy JWT secret's verification here (SAASBASE_JWT_SECRET) that makes such a deployment safe for
// session tokens too.
import assert from "node:assert/strict";
import { SignJWT } from "jose";
import { clientIp, functionScope, presentedApiKey, sha256Hex } from "../_shared/api-keys.ts";
import { callerOf, requireUser } from "../_shared/auth.ts";
import { db } from "../_shared/db.ts";
import { AppError } from "../_shared/errors.ts";
import { handler } from "../credits/handler.ts";

const refused = (promise: Promise<unknown>, status: number, code: string) =>
  assert.rejects(promise, (e: unknown) => e instanceof AppError && e.status === status && e.code === code);
const refusedSync = (fn: () => unknown, code: string) =>
  assert.throws(fn, (e: unknown) => e instanceof AppError && e.status === 401 && e.code === code);
const request = (headers: Record<string, string>, path = "/credits") =>
  new Request(`http://localhost${path}`, { headers });

const SECRET = "a-legacy-jwt-secret-of-at-least-32-characters";
const hs256 = (claims: Record<string, unknown>, secret = SECRET) =>
  new SignJWT(claims).setProtectedHeader({ alg: "HS256", typ: "JWT" }).setExpirationTime("1h").sign(
    new TextEncoder().encode(secret),
  );

/** A user with a key on their personal account, made through the SQL API as the user. */
async function userWithKey(scopes: string[] | null = null) {
  const sql = db();
  const [{ id }] = await sql`
    insert into auth.users (instance_id, id, aud, role, email, encrypted_password, raw_app_meta_data,
      raw_user_meta_data, created_at, updated_at)
    values ('00000000-0000-0000-0000-000000000000', gen_random_uuid(), 'authenticated', 'authenticated',
      ${`deno-key-${crypto.randomUUID()}@test.local`}, '', '{}', '{}', now(), now())
    returning id`;
  const key = await sql.begin(async (tx) => {
    await tx`select set_config('request.jwt.claims', ${JSON.stringify({ role: "authenticated", sub: id })}, true),
      set_config('role', 'authenticated', true)`;
    const [row] = await tx`select key from public.create_api_key('deno', ${scopes})`;
    return row.key as string;
  });
  return { id: id as string, key };
}

Deno.test({
  name: "a key as the bearer token reaches the handler as its member, acting for its account",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const { id, key } = await userWithKey();
    const res = await handler(request({ authorization: `Bearer ${key}` }));
    assert.equal(res.status, 200);
    const body = await res.json();
    assert.equal(typeof body.balance, "number");
    const caller = await requireUser(request({ authorization: `Bearer ${key}` }));
    assert.equal(caller.userId, id);
    assert.equal(caller.role, "authenticated");
    assert.equal(caller.apiKey?.accountId, id);
    assert.equal(caller.apiKey?.scopes, null);
    // Unknown: the same 401 as revoked or expired (tests/api-keys.test.ts), JSON through the handler.
    const unknown = await handler(request({ authorization: `Bearer sbk_live_${"Z".repeat(40)}` }));
    assert.equal(unknown.status, 401);
    assert.equal((await unknown.json()).error.code, "invalid_api_key");
  },
});

Deno.test({
  name: "scopes: the function's name by default, or the route's own scope",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const { key } = await userWithKey(["mcp"]);
    await refused(requireUser(request({ "x-api-key": key }, "/credits")), 403, "api_key_scope");
    await refused(requireUser(request({ "x-api-key": key }, "/functions/v1/credits/charge")), 403, "api_key_scope");
    assert.ok((await requireUser(request({ "x-api-key": key }, "/mcp"))).apiKey);
    assert.ok((await requireUser(request({ "x-api-key": key }, "/credits"), { scope: "mcp" })).apiKey);
    await refused(requireUser(request({ "x-api-key": key }, "/mcp"), { apiKeys: false }), 403, "api_key_scope");
  },
});

Deno.test("presentedApiKey: x-api-key or a bearer sbk_ key; a key elsewhere is a 401 saying where keys go", () => {
  const key = `sbk_live_${"a".repeat(40)}`;
  assert.equal(presentedApiKey(request({ "x-api-key": key })), key);
  assert.equal(presentedApiKey(request({ authorization: `Bearer ${key}` })), key);
  // x-api-key first: the bearer may be the anon key that passes the platform's gate.
  assert.equal(presentedApiKey(request({ "x-api-key": key, authorization: "Bearer eyJ.anon.key" })), key);
  assert.equal(presentedApiKey(request({ authorization: "Bearer eyJ.user.token" })), undefined);
  assert.equal(presentedApiKey(request({})), undefined);
  refusedSync(() => presentedApiKey(request({ apikey: key })), "invalid_api_key");
  refusedSync(() => presentedApiKey(request({ authorization: key })), "invalid_api_key");
  refusedSync(() => presentedApiKey(request({ "x-api-key": "sk-something-else" })), "invalid_api_key");
  refusedSync(() => presentedApiKey(request({ "x-api-key": "" })), "invalid_api_key");
});

Deno.test("clientIp: x-forwarded-for's first address, nothing for garbage", () => {
  assert.equal(clientIp(request({ "x-forwarded-for": "203.0.113.7, 10.0.0.1" })), "203.0.113.7");
  assert.equal(clientIp(request({ "x-forwarded-for": "2001:DB8::1" })), "2001:db8::1");
  assert.equal(clientIp(request({ "x-forwarded-for": "<script>" })), undefined);
  assert.equal(clientIp(request({})), undefined);
  assert.equal(functionScope(request({}, "/functions/v1/mcp/x")), "mcp");
});

Deno.test("sha256Hex is the SQL side's encode(sha256(...), 'hex')", async () => {
  assert.equal(await sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
});

Deno.test("SAASBASE_JWT_SECRET: session tokens are verified here (HS256), so verify_jwt may be off", async () => {
  Deno.env.set("SAASBASE_JWT_SECRET", SECRET);
  try {
    const user = "6f1c1b52-8a59-4c41-9f0e-3b1b1d2f9a10";
    const good = await hs256({ role: "authenticated", sub: user, aud: "authenticated" });
    const caller = await callerOf(request({ authorization: `Bearer ${good}` }), { platformVerified: false });
    assert.equal(caller.userId, user);
    const forged = await hs256({ role: "authenticated", sub: user }, "another-secret-of-at-least-32-characters!");
    await refused(callerOf(request({ authorization: `Bearer ${forged}` })), 401, "invalid_token");
    const unsigned = `${good.split(".").slice(0, 2).join(".")}.sig`;
    await refused(callerOf(request({ authorization: `Bearer ${unsigned}` })), 401, "invalid_token");
  } finally {
    Deno.env.delete("SAASBASE_JWT_SECRET");
  }
});

Deno.test("platformVerified false without a way to verify: a session token is refused, not read", async () => {
  const token = await hs256({ role: "authenticated", sub: "6f1c1b52-8a59-4c41-9f0e-3b1b1d2f9a10" }, "x".repeat(40));
  await refused(callerOf(request({ authorization: `Bearer ${token}` }), { platformVerified: false }), 401, "invalid_token");
  // Where the platform checked it (verify_jwt on), it is read as before.
  assert.equal((await callerOf(request({ authorization: `Bearer ${token}` }))).role, "authenticated");
});
