// SAASBASE_AUTH=jwks: tokens verified inside the function against Auth's signing keys (ES256 or RS256, from a
// local JWKS server here, as Auth publishes them), and the new API keys understood. Tokens are signed with
// WebCrypto as Auth signs them.
import assert from "node:assert/strict";
import { callerOf, hasServiceKey } from "../_shared/auth.ts";
import { AppError } from "../_shared/errors.ts";

const USER = "6f1c1b52-8a59-4c41-9f0e-3b1b1d2f9a10";
const b64url = (bytes: Uint8Array) =>
  btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
const text = (v: unknown) => b64url(new TextEncoder().encode(JSON.stringify(v)));

async function signer(alg: "ES256" | "RS256", kid: string) {
  const params = alg === "ES256" ? { name: "ECDSA", namedCurve: "P-256" } : {
    name: "RSASSA-PKCS1-v1_5",
    modulusLength: 2048,
    publicExponent: new Uint8Array([1, 0, 1]),
    hash: "SHA-256",
  };
  const pair = await crypto.subtle.generateKey(params, true, ["sign", "verify"]) as CryptoKeyPair;
  const jwk = { ...await crypto.subtle.exportKey("jwk", pair.publicKey), kid, alg, use: "sig" };
  const sign = async (claims: Record<string, unknown>, header: Record<string, unknown> = {}) => {
    const input = `${text({ alg, typ: "JWT", kid, ...header })}.${text(claims)}`;
    const algorithm = alg === "ES256" ? { name: "ECDSA", hash: "SHA-256" } : { name: "RSASSA-PKCS1-v1_5" };
    const signature = await crypto.subtle.sign(algorithm, pair.privateKey, new TextEncoder().encode(input));
    return `${input}.${b64url(new Uint8Array(signature))}`;
  };
  return { jwk, sign };
}

const req = (token: string) =>
  new Request("http://localhost/x", { headers: { authorization: `Bearer ${token}` } });
const refused = (promise: Promise<unknown>, code = "invalid_token") =>
  assert.rejects(promise, (e: unknown) => e instanceof AppError && e.status === 401 && e.code === code);

Deno.test("SAASBASE_AUTH=jwks: only tokens signed by Auth's keys get through", async () => {
  const es = await signer("ES256", "key-es");
  const rs = await signer("RS256", "key-rs");
  const stranger = await signer("ES256", "key-es"); // same kid, another key
  let fetches = 0;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, () => {
    fetches++;
    return Response.json({ keys: [es.jwk, rs.jwk] });
  });
  const env = {
    SAASBASE_AUTH: "jwks",
    SAASBASE_JWKS_URL: `http://127.0.0.1:${server.addr.port}/jwks`,
    SAASBASE_SECRET_KEYS: "sb_secret_right",
    SAASBASE_PUBLISHABLE_KEYS: "sb_publishable_abc, sb_publishable_other",
  };
  for (const [k, v] of Object.entries(env)) Deno.env.set(k, v);
  try {
    const claims = {
      role: "authenticated",
      aud: "authenticated",
      sub: USER,
      email: "a@b.c",
      exp: Date.now() / 1000 + 60,
    };
    for (const s of [es, rs]) {
      const caller = await callerOf(req(await s.sign(claims)));
      assert.deepEqual([caller.role, caller.userId], ["authenticated", USER]);
    }
    // Claims are only as good as the signature over them.
    const good = await es.sign(claims);
    const [h, , sig] = good.split(".");
    await refused(callerOf(req(`${h}.${text({ ...claims, role: "service_role" })}.${sig}`)));
    await refused(callerOf(req(await stranger.sign(claims))));
    await refused(callerOf(req(await es.sign(claims, { kid: "unknown" }))));
    await refused(callerOf(req(`${text({ alg: "HS256", typ: "JWT" })}.${text(claims)}.c2ln`))); // the legacy kind
    await refused(callerOf(req(`${text({ alg: "none" })}.${text(claims)}.`)));
    await refused(callerOf(req(await es.sign({ ...claims, exp: 1 }))), "token_expired");
    // Auth's access tokens always expire, and a user's is for the `authenticated` audience.
    const { exp: _, ...forever } = claims;
    await refused(callerOf(req(await es.sign(forever))));
    await refused(callerOf(req(await es.sign({ ...claims, aud: "someone-else" }))));
    // The new API keys: a publishable key is the anon caller; a secret key counts only when listed.
    assert.equal((await callerOf(req("sb_publishable_abc"))).role, "anon");
    await refused(callerOf(req("sb_publishable_guess"))); // only the project's own
    assert.equal((await callerOf(req("sb_secret_right"))).role, "service_role");
    await refused(callerOf(req("sb_secret_guess")));
    // A key may come in the apikey header alone (newer supabase-js never sends one as a bearer token).
    const byHeader = new Request("http://localhost/x", { headers: { apikey: "sb_secret_right" } });
    assert.equal((await callerOf(byHeader)).role, "service_role");
    assert.ok(fetches <= 2, `keys are kept, not fetched per token (${fetches})`);
  } finally {
    for (const k of Object.keys(env)) Deno.env.delete(k);
    await server.shutdown();
  }
});

Deno.test("SAASBASE_AUTH=jwks with what the platform gives: SUPABASE_JWKS and the project's key dictionaries", async () => {
  const es = await signer("ES256", "key-platform");
  const env: Record<string, string> = {
    SAASBASE_AUTH: "jwks",
    SUPABASE_URL: "https://abc.supabase.co",
    SUPABASE_JWKS: JSON.stringify({ keys: [es.jwk] }),
    SUPABASE_PUBLISHABLE_KEYS: JSON.stringify({ default: "sb_publishable_ours" }),
    SUPABASE_SECRET_KEYS: JSON.stringify({ default: "sb_secret_ours" }),
  };
  for (const [k, v] of Object.entries(env)) Deno.env.set(k, v);
  try {
    const claims = { role: "authenticated", aud: "authenticated", sub: USER, exp: Date.now() / 1000 + 60 };
    const ok = await callerOf(req(await es.sign({ ...claims, iss: "https://abc.supabase.co/auth/v1" })));
    assert.equal(ok.userId, USER);
    // A bare array of keys, as some tools give SUPABASE_JWKS, works as well.
    Deno.env.set("SUPABASE_JWKS", JSON.stringify([es.jwk]));
    assert.equal((await callerOf(req(await es.sign(claims)))).userId, USER);
    assert.equal((await callerOf(req("sb_publishable_ours"))).role, "anon");
    await refused(callerOf(req("sb_publishable_theirs")));
    assert.equal((await callerOf(req("sb_secret_ours"))).role, "service_role");
    await refused(callerOf(req("sb_secret_theirs")));
  } finally {
    for (const k of Object.keys(env)) Deno.env.delete(k);
  }
});

Deno.test("a mistyped SAASBASE_AUTH is refused, never read as trusting the claims", async () => {
  Deno.env.set("SAASBASE_AUTH", "JWKS");
  try {
    const unsigned = `${text({ alg: "none" })}.${text({ role: "service_role" })}.`;
    await assert.rejects(callerOf(req(unsigned)), (e: unknown) => e instanceof AppError && e.status === 503);
  } finally {
    Deno.env.delete("SAASBASE_AUTH");
  }
});

Deno.test("SAASBASE_AUTH=jwks with Auth unreachable and no keys known: 503, not a 500", async () => {
  const env = { SAASBASE_AUTH: "jwks", SAASBASE_JWKS_URL: "http://127.0.0.1:9/unreachable" };
  for (const [k, v] of Object.entries(env)) Deno.env.set(k, v);
  try {
    const es = await signer("ES256", "k");
    const token = await es.sign({
      role: "authenticated",
      aud: "authenticated",
      sub: USER,
      exp: Date.now() / 1000 + 60,
    });
    await assert.rejects(callerOf(req(token)), (e: unknown) => e instanceof AppError && e.status === 503);
  } finally {
    for (const k of Object.keys(env)) Deno.env.delete(k);
  }
});

Deno.test("platform mode: a service_role token counts only when it is the project's service key", async () => {
  const exp = Math.floor(Date.now() / 1000) + 600;
  const serviceKey = `${text({ alg: "HS256", typ: "JWT" })}.${text({ role: "service_role", exp })}.c2lnbmVk`;
  Deno.env.set("SUPABASE_SERVICE_ROLE_KEY", serviceKey);
  try {
    assert.equal((await callerOf(req(serviceKey))).role, "service_role");
    // What reaches a function deployed with verify_jwt off by mistake: claims anyone can write.
    const forged = `${text({ alg: "HS256", typ: "JWT" })}.${text({ role: "service_role", exp })}.Zm9yZ2Vk`;
    await refused(callerOf(req(forged)));
    // Users' tokens are read as before.
    const user = `${text({ alg: "HS256" })}.${text({ role: "authenticated", sub: USER, exp })}.c2ln`;
    assert.equal((await callerOf(req(user))).userId, USER);
  } finally {
    Deno.env.delete("SUPABASE_SERVICE_ROLE_KEY");
  }
});

Deno.test("hasServiceKey: the service_role key or any of the project's secret keys, nothing else", async () => {
  Deno.env.set("SUPABASE_SERVICE_ROLE_KEY", "legacy.service.key");
  Deno.env.set("SAASBASE_SECRET_KEYS", "sb_secret_listed");
  try {
    const withKey = (headers: Record<string, string>) =>
      hasServiceKey(new Request("http://localhost/x", { headers }));
    assert.equal(await withKey({ authorization: "Bearer legacy.service.key" }), true);
    assert.equal(await withKey({ apikey: "sb_secret_listed" }), true);
    assert.equal(await withKey({ apikey: "sb_secret_guess" }), false);
    assert.equal(await withKey({}), false);
  } finally {
    Deno.env.delete("SUPABASE_SERVICE_ROLE_KEY");
    Deno.env.delete("SAASBASE_SECRET_KEYS");
  }
});

Deno.test("SAASBASE_AUTH=jwks with SAASBASE_JWT_ISSUER: only tokens Auth issued under that URL", async () => {
  const es = await signer("ES256", "key-iss");
  const env: Record<string, string> = {
    SAASBASE_AUTH: "jwks",
    SUPABASE_JWKS: JSON.stringify({ keys: [es.jwk] }),
    SAASBASE_JWT_ISSUER: "https://abc.supabase.co/auth/v1",
  };
  for (const [k, v] of Object.entries(env)) Deno.env.set(k, v);
  try {
    const claims = { role: "authenticated", aud: "authenticated", sub: USER, exp: Date.now() / 1000 + 60 };
    const ok = await callerOf(req(await es.sign({ ...claims, iss: "https://abc.supabase.co/auth/v1" })));
    assert.equal(ok.userId, USER);
    await refused(callerOf(req(await es.sign({ ...claims, iss: "https://other.supabase.co/auth/v1" }))));
    await refused(callerOf(req(await es.sign(claims)))); // no issuer at all
    // A token not yet valid (nbf in the future) is refused as well.
    await refused(callerOf(req(await es.sign({ ...claims, iss: env.SAASBASE_JWT_ISSUER, nbf: Date.now() / 1000 + 600 }))));
  } finally {
    for (const k of Object.keys(env)) Deno.env.delete(k);
  }
});

Deno.test("SAASBASE_AUTH=jwks with Auth unreachable after the keys were fetched: they stay in use, asked again after a minute", async () => {
  const es = await signer("ES256", "key-kept");
  let fetches = 0;
  let up = true;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, () => {
    fetches++;
    return up ? Response.json({ keys: [es.jwk] }) : new Response("unavailable", { status: 503 });
  });
  const env = { SAASBASE_AUTH: "jwks", SAASBASE_JWKS_URL: `http://127.0.0.1:${server.addr.port}/kept` };
  for (const [k, v] of Object.entries(env)) Deno.env.set(k, v);
  // The keys' age is read from Date.now: moved forward here instead of waiting 10 minutes.
  const realNow = Date.now;
  let ahead = 0;
  Date.now = () => realNow() + ahead;
  try {
    const token = await es.sign({
      role: "authenticated",
      aud: "authenticated",
      sub: USER,
      exp: Math.floor(realNow() / 1000) + 3600,
    });
    const verifies = async () => assert.equal((await callerOf(req(token))).userId, USER);
    await verifies();
    assert.equal(fetches, 1);
    up = false;
    ahead = 11 * 60_000; // the keys are stale: refetched, Auth fails, the known keys serve
    await verifies();
    assert.equal(fetches, 2);
    ahead += 30_000; // within the minute after a failure: not asked again
    await verifies();
    assert.equal(fetches, 2);
    up = true;
    ahead += 40_000; // past it: asked again, and the fresh keys are taken
    await verifies();
    assert.equal(fetches, 3);
  } finally {
    Date.now = realNow;
    for (const k of Object.keys(env)) Deno.env.delete(k);
    await server.shutdown();
  }
});
