// Units of the credits function: reading the caller from a JWT, mapping SQL refusals to HTTP, and the
// handler against the real database (SUPABASE_DB_URL; npm test points it at a throwaway cluster).
import assert from "node:assert/strict";
import postgres from "postgres";
import { callerOf, requireUser } from "../_shared/auth.ts";
import { appErrorFromDb } from "../_shared/db-errors.ts";
import { db } from "../_shared/db.ts";
import { AppError } from "../_shared/errors.ts";
import { handler } from "../credits/handler.ts";

const b64url = (v: unknown) =>
  btoa(JSON.stringify(v)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
// Signature not checked here: with verify_jwt on, the platform checked it before the function runs.
const token = (claims: Record<string, unknown>) =>
  `${b64url({ alg: "HS256", typ: "JWT" })}.${b64url(claims)}.sig`;
const req = (claims?: Record<string, unknown>, init: RequestInit = {}, path = "/credits") =>
  new Request(`http://localhost${path}`, {
    ...init,
    headers: { ...(claims ? { authorization: `Bearer ${token(claims)}` } : {}), ...init.headers },
  });

const USER = "6f1c1b52-8a59-4c41-9f0e-3b1b1d2f9a10";

function rejectsApp(promise: Promise<unknown>, status: number, code: string) {
  return assert.rejects(
    promise,
    (err: unknown) => err instanceof AppError && err.status === status && err.code === code,
  );
}

Deno.test("callerOf reads role and user from the claims", async () => {
  const caller = await callerOf(
    req({ role: "authenticated", sub: USER, email: "a@b.c", exp: Date.now() / 1000 + 60 }),
  );
  assert.deepEqual([caller.role, caller.userId, caller.email], ["authenticated", USER, "a@b.c"]);
});

Deno.test("callerOf refuses missing, malformed, expired, role-less and user-less tokens with 401", async () => {
  await rejectsApp(callerOf(req()), 401, "missing_token");
  await rejectsApp(
    callerOf(new Request("http://x", { headers: { authorization: "Bearer abc" } })),
    401,
    "invalid_token",
  );
  await rejectsApp(callerOf(req({ role: "authenticated", sub: "u", exp: 1 })), 401, "token_expired");
  await rejectsApp(callerOf(req({ role: "postgres", sub: USER })), 401, "invalid_token");
  // A signed-in user's token names a user id; anything else would reach the SQL API's uuid cast.
  await rejectsApp(callerOf(req({ role: "authenticated", sub: "u1" })), 401, "invalid_token");
  await rejectsApp(callerOf(req({ role: "authenticated" })), 401, "invalid_token");
});

Deno.test("requireUser refuses the anon and service_role keys", async () => {
  await rejectsApp(requireUser(req({ role: "anon" })), 401, "user_required");
  await rejectsApp(requireUser(req({ role: "service_role" })), 401, "user_required");
});

Deno.test("PT4xx refusals map to their HTTP status and DETAIL code; other errors do not", () => {
  const e = appErrorFromDb({ code: "PT402", detail: "insufficient_credits", message: "Not enough credits" });
  assert.deepEqual([e?.status, e?.code, e?.message], [402, "insufficient_credits", "Not enough credits"]);
  assert.equal(appErrorFromDb({ code: "PT429", detail: "rate_limited" })?.status, 429);
  assert.equal(appErrorFromDb({ code: "23505", detail: "duplicate" }), undefined);
  assert.equal(appErrorFromDb(new Error("boom")), undefined);
});

Deno.test("the handler charges a real wallet as the user and replays the key", async () => {
  const sql = postgres(Deno.env.get("SUPABASE_DB_URL")!, { max: 1, onnotice: () => {} });
  try {
    const [{ id }] = await sql`
      insert into auth.users (id, aud, role, email, raw_app_meta_data, raw_user_meta_data, created_at, updated_at)
      values (gen_random_uuid(), 'authenticated', 'authenticated', ${`deno-${crypto.randomUUID()}@test.local`},
        '{}', '{}', now(), now())
      returning id`;
    const feature = `t_deno_${crypto.randomUUID().slice(0, 8)}`;
    await sql`insert into public.features (id, name, credits) values (${feature}, 'Deno test', 7)`;
    const claims = { role: "authenticated", sub: id, exp: Date.now() / 1000 + 60 };
    const body = JSON.stringify({ feature, idempotency_key: "deno-1" });
    const charge = () => handler(req(claims, { method: "POST", body }, "/credits/charge"));

    const first = await charge();
    assert.equal(first.status, 200);
    const outcome = await first.json();
    assert.equal(outcome.credits_charged, 7);
    const again = await charge();
    assert.deepEqual(await again.json(), { ...outcome, replayed: true });

    const wallet = await (await handler(req(claims))).json();
    assert.equal(wallet.balance, outcome.balance);
    assert.equal(wallet.ledger[0].amount, -7);
  } finally {
    await sql.end();
    await db().end();
  }
});
