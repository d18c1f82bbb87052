// API keys end to end: keys made through the SQL API, used against the real `credits` function on Deno behind
// the gateway. With verify_jwt on (credits' config.toml setting) a key travels in `x-api-key` next to the anon
// key as bearer (what passes the platform's gate); a key as the bearer itself is for functions deployed
// without that gate (supabase/functions/tests/api_keys_test.ts drives it through the handler). Valid, revoked,
// expired, out-of-scope, unknown keys, a removed member's and a deleted user's, keys in the wrong header, a
// team key's account (credits, checkout, secrets: the member's rights still checked), sessions only for admin
// functions and payouts, the per-IP limit's 429 with Retry-After, and requests racing for that limit.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { asUser, callFunction, connectDb, createFeature, createUser, setBalance, stack } from "./support/stack.ts";

const sql = connectDb();
let owner: { id: string; token: string };
let member: { id: string; token: string };
let team: string;
let feature: string;

beforeAll(async () => {
  owner = await createUser(sql, `ak-owner-${crypto.randomUUID()}@test.local`);
  member = await createUser(sql, `ak-member-${crypto.randomUUID()}@test.local`);
  feature = await createFeature(sql, 1);
  await setBalance(sql, owner.id, 50);
  team = await asUser(sql, owner.id, async (tx) =>
    (await tx`select (public.create_team('Key team', ${`ak-${crypto.randomUUID().slice(0, 8)}`})).id`)[0].id);
  await sql`insert into public.account_members (account_id, user_id, role) values (${team}, ${member.id}, 'member')`;
  await sql`select public.service_role_grant_credits(${team}, 30, 'grant', 'test')`;
});
afterAll(() => sql.end());

async function makeKey(userId: string, opts: { scopes?: string[]; account?: string; expiresAt?: string } = {}) {
  const [row] = await asUser(sql, userId, (tx) =>
    tx`select id, key from public.create_api_key('test', ${opts.scopes ?? null}, ${opts.expiresAt ?? null}, ${opts.account ?? null})`);
  return { id: row.id as string, key: row.key as string };
}

/** A request with an API key as a client of a verify_jwt function sends it: the anon key passes the gate. */
function withKey(path: string, key: string, init: RequestInit = {}, ip = "198.51.100.1") {
  return callFunction(path, {
    ...init,
    token: stack().anonKey,
    headers: { "x-api-key": key, "x-forwarded-for": ip, ...(init.headers as Record<string, string>) },
  });
}

async function errorOf(res: Response) {
  expect(res.headers.get("content-type")).toMatch(/application\/json/);
  return ((await res.json()) as { error: { code: string } }).error.code;
}

/** Waits out the last 10 s of a 15-minute window (the per-IP limit's): a test that fills a window must not
 * straddle two. */
async function awayFromWindowEdge() {
  const left = 900_000 - (Date.now() % 900_000);
  if (left < 10_000) await new Promise((r) => setTimeout(r, left + 500));
}

const uniqueIp = () => `10.${Math.floor(Math.random() * 250)}.${Math.floor(Math.random() * 250)}.${Math.floor(Math.random() * 250)}`;

describe("an API key through a function", () => {
  it("acts as its member on its account: the personal wallet, a charge recorded as the member's", async () => {
    const { key } = await makeKey(owner.id);
    const res = await withKey("credits", key, {}, uniqueIp());
    expect(res.status).toBe(200);
    expect((await res.json()).balance).toBe(50);
    const charged = await withKey("credits/charge", key, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ feature, idempotency_key: `ak-${crypto.randomUUID()}` }),
    }, uniqueIp());
    expect(charged.status).toBe(200);
    expect((await charged.json()).balance).toBe(49);
    const [row] = await sql`select actor_id from public.credit_ledger where account_id = ${owner.id} and kind = 'charge'
      order by id desc limit 1`;
    expect(row.actor_id).toBe(owner.id);
  });

  it("a team key acts for the team; an X-Account-Id naming another account is 403", async () => {
    const { key } = await makeKey(member.id, { account: team });
    const res = await withKey("credits", key, {}, uniqueIp());
    expect(res.status).toBe(200);
    const [wallet] = await sql`select balance::int from public.wallets where account_id = ${team}`;
    expect((await res.json()).balance).toBe(wallet.balance);
    const same = await withKey("credits", key, { headers: { "x-account-id": team } }, uniqueIp());
    expect(same.status).toBe(200);
    const other = await withKey("credits", key, { headers: { "x-account-id": member.id } }, uniqueIp());
    expect(other.status).toBe(403);
    expect(await errorOf(other)).toBe("account_forbidden");
  });

  it("refuses a revoked, an expired and an unknown key alike (401 invalid_api_key)", async () => {
    const revoked = await makeKey(owner.id);
    await asUser(sql, owner.id, (tx) => tx`select public.revoke_api_key(${revoked.id})`);
    const expired = await makeKey(owner.id, { expiresAt: new Date(Date.now() + 60_000).toISOString() });
    await sql`update public.api_keys set expires_at = now() - interval '1 second' where id = ${expired.id}`;
    const unknown = `sbk_live_${"A".repeat(40)}`;
    for (const key of [revoked.key, expired.key, unknown]) {
      const res = await withKey("credits", key, {}, uniqueIp());
      expect(res.status).toBe(401);
      expect(await errorOf(res)).toBe("invalid_api_key");
    }
  });

  it("checks scopes: a key for other functions gets 403 api_key_scope, one naming credits gets through", async () => {
    const mcpOnly = await makeKey(owner.id, { scopes: ["mcp"] });
    const res = await withKey("credits", mcpOnly.key, {}, uniqueIp());
    expect(res.status).toBe(403);
    expect(await errorOf(res)).toBe("api_key_scope");
    const credits = await makeKey(owner.id, { scopes: ["credits", "mcp"] });
    expect((await withKey("credits", credits.key, {}, uniqueIp())).status).toBe(200);
  });

  it("a removed member's key and a deleted user's key stop working", async () => {
    const leaver = await createUser(sql, `ak-leaver-${crypto.randomUUID()}@test.local`);
    await sql`insert into public.account_members (account_id, user_id, role) values (${team}, ${leaver.id}, 'member')`;
    const { key } = await makeKey(leaver.id, { account: team });
    expect((await withKey("credits", key, {}, uniqueIp())).status).toBe(200);
    await asUser(sql, owner.id, (tx) => tx`select public.remove_member(${team}, ${leaver.id})`);
    const removed = await withKey("credits", key, {}, uniqueIp());
    expect(removed.status).toBe(401);
    expect(await errorOf(removed)).toBe("invalid_api_key");

    const gone = await createUser(sql, `ak-gone-${crypto.randomUUID()}@test.local`);
    const goneKey = await makeKey(gone.id);
    expect((await withKey("credits", goneKey.key, {}, uniqueIp())).status).toBe(200);
    await sql`delete from auth.users where id = ${gone.id}`;
    const deleted = await withKey("credits", goneKey.key, {}, uniqueIp());
    expect(deleted.status).toBe(401);
    expect(await errorOf(deleted)).toBe("invalid_api_key");
  });

  it("a key in the wrong header is a 401 saying where keys go, never an anonymous or a user's request", async () => {
    const { key } = await makeKey(owner.id);
    // Supabase's own `apikey` header (for sb_publishable_ / sb_secret_ keys).
    const inApikey = await callFunction("credits", { token: stack().anonKey, headers: { apikey: key } });
    expect(inApikey.status).toBe(401);
    expect(await errorOf(inApikey)).toBe("invalid_api_key");
    // Something that is no key in x-api-key.
    const notAKey = await callFunction("credits", { token: stack().anonKey, headers: { "x-api-key": "hello" } });
    expect(notAKey.status).toBe(401);
    expect(await errorOf(notAKey)).toBe("invalid_api_key");
    // x-api-key wins over a user's own token: the key's scopes hold even then.
    const scoped = await makeKey(owner.id, { scopes: ["mcp"] });
    const both = await callFunction("credits", { token: member.token, headers: { "x-api-key": scoped.key } });
    expect(both.status).toBe(403);
    expect(await errorOf(both)).toBe("api_key_scope");
    // As the bearer token of a function behind verify_jwt: the platform's gate refuses it before our code.
    const bearer = await callFunction("credits", { token: key });
    expect(bearer.status).toBe(401);
  });

  it("checkout by key: the key's account and the member's rights (a plain member may not buy for the team)", async () => {
    const personal = await makeKey(owner.id);
    const bought = await withKey("checkout", personal.key, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ amount_cents: 1000 }),
    }, uniqueIp());
    expect(bought.status).toBe(200);
    expect((await bought.json()).url).toMatch(/^https?:/);
    const [customer] = await sql`select account_id from public.customers where account_id = ${owner.id}`;
    expect(customer?.account_id).toBe(owner.id);
    const teamKey = await makeKey(member.id, { account: team });
    const refused = await withKey("checkout", teamKey.key, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ amount_cents: 1000 }),
    }, uniqueIp());
    expect(refused.status).toBe(403);
    expect(await errorOf(refused)).toBe("account_forbidden");
  });

  it("secrets by key: stored on the key's account; a team key of a plain member may not (manage_team)", async () => {
    const personal = await makeKey(owner.id, { scopes: ["secrets"] });
    const put = (key: string) =>
      withKey("secrets/v0", key, {
        method: "PUT",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ value: "v0-key-by-api-key-1234" }),
      }, uniqueIp());
    const stored = await put(personal.key);
    expect(stored.status).toBe(200);
    expect((await stored.json()).last4).toBe("1234");
    const [row] = await sql`select account_id, created_by from public.user_secrets where account_id = ${owner.id} and provider = 'v0'`;
    expect(row).toMatchObject({ account_id: owner.id, created_by: owner.id });
    const teamKey = await makeKey(member.id, { account: team });
    const refused = await put(teamKey.key);
    expect(refused.status).toBe(403);
    expect(await errorOf(refused)).toBe("account_forbidden");
    expect((await sql`select 1 from public.user_secrets where account_id = ${team}`).length).toBe(0);
  });

  it("keeps admin functions and a user's own payouts to sessions", async () => {
    const { key } = await makeKey(owner.id);
    const payout = await withKey("connect-onboarding", key, { method: "POST", body: "{}" }, uniqueIp());
    expect(payout.status).toBe(403);
    expect(await errorOf(payout)).toBe("api_key_scope");
  });
});

describe("rate limits", () => {
  it("per client IP: past the config's 100 in 15 minutes, 429 rate_limited with Retry-After", async () => {
    const { key } = await makeKey(owner.id);
    const ip = uniqueIp();
    await awayFromWindowEdge();
    // 100 counted hits fill the window (made in SQL: the same counter the function's verification takes).
    await sql`select public.service_role_take_rate_limit(${`ip:${ip}`}, 100, 900) from generate_series(1, 100)`;
    const res = await withKey("credits", key, {}, ip);
    expect(res.status).toBe(429);
    expect(await errorOf(res)).toBe("rate_limited");
    const retry = Number(res.headers.get("retry-after"));
    expect(retry).toBeGreaterThanOrEqual(1);
    expect(retry).toBeLessThanOrEqual(900);
    // Unknown keys count on the IP too (guessing is throttled), and get the same 429.
    const guess = await withKey("credits", `sbk_live_${"B".repeat(40)}`, {}, ip);
    expect(guess.status).toBe(429);
    // Another IP is not affected.
    expect((await withKey("credits", key, {}, uniqueIp())).status).toBe(200);
  });

  it("N requests racing for the last M of an IP's window: exactly M pass", async () => {
    const { key } = await makeKey(owner.id);
    const ip = uniqueIp();
    const M = 10;
    const N = 30;
    await awayFromWindowEdge();
    await sql`select public.service_role_take_rate_limit(${`ip:${ip}`}, 100, 900) from generate_series(1, ${100 - M})`;
    const results = await Promise.all(Array.from({ length: N }, () => withKey("credits", key, {}, ip)));
    const statuses = results.map((r) => r.status);
    await Promise.all(results.map((r) => r.body?.cancel()));
    expect(statuses.filter((s) => s === 200)).toHaveLength(M);
    expect(statuses.filter((s) => s === 429)).toHaveLength(N - M);
  });
});
