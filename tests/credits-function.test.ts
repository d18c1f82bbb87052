// The `credits` edge function end to end: real Deno behind the gateway, real database, user JWTs.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { awayFromMidnight, callFunction, connectDb, createFeature, createUser, setBalance, stack } from "./support/stack.ts";

const sql = connectDb();
let user: { id: string; token: string };
let other: { id: string; token: string };
let feature: string;

beforeAll(async () => {
  user = await createUser(sql, `fn-${crypto.randomUUID()}@test.local`);
  other = await createUser(sql, `fn-other-${crypto.randomUUID()}@test.local`);
  feature = await createFeature(sql, 4);
  await setBalance(sql, user.id, 10);
});
afterAll(() => sql.end());

const charge = (body: unknown, token = user.token, headers: Record<string, string> = {}) =>
  callFunction("credits/charge", {
    method: "POST",
    token,
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });

async function balanceOf(id: string) {
  const [w] = await sql`select balance::int from public.wallets where account_id = ${id}`;
  return w.balance as number;
}

describe("POST /credits/charge", () => {
  it("charges, and a replay of the key returns the first outcome without charging again", async () => {
    const first = await charge({ feature, quantity: 2, idempotency_key: "fn-1" });
    expect(first.status).toBe(200);
    const body = await first.json();
    expect(body).toMatchObject({ feature, quantity: 2, credits_charged: 8, balance: 2, replayed: false });

    const replay = await charge({ feature, quantity: 2, idempotency_key: "fn-1" });
    expect(replay.status).toBe(200);
    expect(replay.headers.get("idempotent-replayed")).toBe("true");
    expect(await replay.json()).toEqual({ ...body, replayed: true });
    expect(await balanceOf(user.id)).toBe(2);
  });

  it("takes the key from the Idempotency-Key header too", async () => {
    await setBalance(sql, other.id, 8);
    const res = await charge({ feature }, other.token, { "idempotency-key": "hdr-1" });
    expect(res.status).toBe(200);
    expect((await res.json()).credits_charged).toBe(4);
    const [row] = await sql`select idempotency_key from public.credit_ledger where account_id = ${other.id} and kind = 'charge'`;
    expect(row.idempotency_key).toBe("hdr-1");
  });

  it("answers 402 when the wallet cannot pay, and changes nothing", async () => {
    const before = await balanceOf(user.id);
    const res = await charge({ feature, idempotency_key: "fn-poor" });
    expect(res.status).toBe(402);
    expect(await res.json()).toEqual({
      error: { code: "insufficient_credits", message: `Not enough credits: 4 needed, ${before} available` },
    });
    expect(await balanceOf(user.id)).toBe(before);
  });

  it("answers 409 when a key is reused for another request", async () => {
    const res = await charge({ feature, quantity: 1, idempotency_key: "fn-1" });
    expect(res.status).toBe(409);
    expect((await res.json()).error.code).toBe("idempotency_conflict");
  });

  it("answers 422 for invalid input and 400 for a body that is not JSON, changing nothing", async () => {
    const before = await balanceOf(user.id);
    for (const bad of [{ feature, quantity: 0, idempotency_key: "v1" }, { quantity: 1, idempotency_key: "v2" }, { feature }]) {
      const res = await charge(bad);
      expect(res.status).toBe(422);
      const body = await res.json();
      expect(body.error.code).toBe("validation_failed");
      expect(body.error.details.length).toBeGreaterThan(0);
    }
    const notJson = await charge("{nope");
    expect(notJson.status).toBe(400);
    expect((await notJson.json()).error.code).toBe("invalid_json");
    expect(await balanceOf(user.id)).toBe(before);
  });

  it("answers 404 for an unknown feature", async () => {
    const res = await charge({ feature: "teleportation", idempotency_key: "fn-404" });
    expect(res.status).toBe(404);
    expect((await res.json()).error.code).toBe("unknown_feature");
  });

  it("answers 429 past a blocking daily allowance (the free plan's 5 chats a day)", async () => {
    await awayFromMidnight();
    const chatter = await createUser(sql, `chat-${crypto.randomUUID()}@test.local`);
    for (let i = 0; i < 5; i++) {
      expect((await charge({ feature: "chat", idempotency_key: `chat-${i}` }, chatter.token)).status).toBe(200);
    }
    const limited = await charge({ feature: "chat", idempotency_key: "chat-5" }, chatter.token);
    expect(limited.status).toBe(429);
    expect((await limited.json()).error.code).toBe("rate_limited");
  });

  it("answers 401 without a user: no token (platform), the anon key or the service role key (function)", async () => {
    expect((await charge({ feature, idempotency_key: "a" }, "")).status).toBe(401);
    for (const token of [stack().anonKey, stack().serviceRoleKey]) {
      const res = await charge({ feature, idempotency_key: "a" }, token);
      expect(res.status).toBe(401);
      expect((await res.json()).error.code).toBe("user_required");
    }
  });

  it("answers 405 for a wrong method and 404 for an unknown route", async () => {
    expect((await callFunction("credits/charge", { token: user.token })).status).toBe(405);
    const unknown = await callFunction("credits/nope", { token: user.token });
    expect(unknown.status).toBe(404);
    expect((await unknown.json()).error.code).toBe("route_not_found");
  });
});

describe("GET /credits", () => {
  it("shows an admin their own ledger, not the site's", async () => {
    const admin = await createUser(sql, `credits-admin-${crypto.randomUUID()}@test.local`, { role: "admin" });
    await setBalance(sql, admin.id, 3);
    const body = await (await callFunction("credits?limit=50", { token: admin.token })).json();
    const mine = await sql`select id from public.credit_ledger where account_id = ${admin.id} order by id desc`;
    expect(body.ledger.map((row: { id: number }) => String(row.id))).toEqual(mine.map((r) => String(r.id)));
  });

  it("returns balance, plan, quotas and the caller's own recent ledger only", async () => {
    const res = await callFunction("credits?limit=5", { token: user.token });
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body.balance).toBe(await balanceOf(user.id));
    expect(body.plan).toBe("free");
    expect(body.quotas.map((q: { feature: string }) => q.feature)).toContain("chat");
    // The user's five latest rows, newest first.
    const latest = await sql`select id from public.credit_ledger where account_id = ${user.id} order by id desc limit 5`;
    expect(latest.length).toBeGreaterThan(0);
    expect(body.ledger.map((row: { id: number }) => String(row.id))).toEqual(latest.map((r) => String(r.id)));
  });

  it("rejects a bad limit with 422", async () => {
    expect((await callFunction("credits?limit=-3", { token: user.token })).status).toBe(422);
  });
});
