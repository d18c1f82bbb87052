// The money paths beyond charges and reservations, raced against themselves on the real database: free
// quotas, grants, refunds, cash-out requests and decisions. Each ends with the books balanced: the wallet equals
// its ledger, cash held equals the open cash-outs.
import { afterAll, describe, expect, it } from "vitest";
import { asUser, connectDb, createFeature, createUser, setBalance } from "./support/stack.ts";

const sql = connectDb(40);
afterAll(() => sql.end());

const mail = () => `money-${crypto.randomUUID()}@test.local`;
const all = <T>(n: number, f: (i: number) => Promise<T>) => Promise.allSettled(Array.from({ length: n }, (_, i) => f(i)));
const fulfilled = <T>(results: PromiseSettledResult<T>[]) =>
  results.filter((r): r is PromiseFulfilledResult<T> => r.status === "fulfilled").map((r) => r.value);

async function books(userId: string) {
  const [w] = await sql`select balance::int from public.wallets where account_id = ${userId}`;
  const [l] = await sql`select coalesce(sum(amount), 0)::int as sum from public.credit_ledger where account_id = ${userId}`;
  return { balance: w.balance as number, ledger: l.sum as number };
}

describe("money under concurrency", () => {
  it("50 charges at once against a lifetime quota of 5: exactly 5 are free, the rest paid", async () => {
    const feature = await createFeature(sql, 2);
    const plan = `t_quota_${crypto.randomUUID().slice(0, 8)}`;
    await sql`insert into public.plans (id, name, price_monthly_cents) values (${plan}, 'quota race', 0)`;
    await sql`insert into public.plan_quotas (plan_id, feature_id, period, free_limit) values (${plan}, ${feature}, 'lifetime', 5)`;
    const user = await createUser(sql, mail());
    await sql`update public.accounts set plan_id = ${plan} where id = ${user.id}`;
    await setBalance(sql, user.id, 1000);
    const results = fulfilled(await all(50, (i) =>
      asUser(sql, user.id, async (tx) => (await tx`select to_jsonb(public.charge_credits(${feature}, 1, ${`q-${i}`})) as r`)[0].r)
    ));
    expect(results).toHaveLength(50);
    expect(results.filter((r) => r.free_units === 1)).toHaveLength(5);
    expect(results.filter((r) => r.credits_charged === 2)).toHaveLength(45);
    expect(await books(user.id)).toEqual({ balance: 1000 - 90, ledger: 1000 - 90 });
    const [c] = await sql`select used from public.usage_counters where account_id = ${user.id} and feature_id = ${feature}`;
    expect(c.used).toBe(5);
  });

  it("one grant key sent 20 times at once (two invoice.paid of one period) grants once", async () => {
    const user = await createUser(sql, mail());
    await setBalance(sql, user.id, 0);
    const results = fulfilled(await all(20, () =>
      sql`select to_jsonb(public.service_role_grant_credits(${user.id}, 1000, 'grant', 'plan credits', 'plan:sub_x:1800000000')) as r`
        .then((rows) => rows[0].r)
    ));
    expect(results).toHaveLength(20);
    expect(results.filter((r) => !r.replayed)).toHaveLength(1);
    expect(await books(user.id)).toEqual({ balance: 1000, ledger: 1000 });
  });

  it("a refund delivered twice at once, racing its purchase being recorded, claws back once", async () => {
    const user = await createUser(sql, mail());
    await setBalance(sql, user.id, 0);
    const pi = `pi_race_${crypto.randomUUID().slice(0, 8)}`;
    const purchase = () => sql`select public.service_role_record_credit_purchase(${user.id}, ${`cs_${pi}`}, ${pi}, null,
      500, 500, 'usd', 0)`;
    const refund = () => sql`select public.service_role_return_payment('refund', ${`ch_${pi}`}, 200, ${pi})`;
    const results = await Promise.allSettled([refund(), purchase(), refund(), purchase(), refund()]);
    expect(results.filter((r) => r.status === "rejected")).toEqual([]);
    const [p] = await sql`select refunded_cents, credits_clawed_back from public.purchases where payment_intent_id = ${pi}`;
    expect(p).toEqual({ refunded_cents: 200, credits_clawed_back: 200 });
    expect(await books(user.id)).toEqual({ balance: 300, ledger: 300 });
  });

  it("a refund racing the buyer's reservations and charges: no deadlock, the books balance", async () => {
    const features = [await createFeature(sql, 1), await createFeature(sql, 1)];
    const plan = `t_refund_${crypto.randomUUID().slice(0, 8)}`;
    await sql`insert into public.plans (id, name, price_monthly_cents) values (${plan}, 'refund race', 0)`;
    for (const f of features) {
      await sql`insert into public.plan_quotas (plan_id, feature_id, period, free_limit) values (${plan}, ${f}, 'lifetime', 1)`;
    }
    const user = await createUser(sql, mail());
    await sql`update public.accounts set plan_id = ${plan} where id = ${user.id}`;
    await setBalance(sql, user.id, 0);
    const pi = `pi_park_${crypto.randomUUID().slice(0, 8)}`;
    await sql`select public.service_role_record_credit_purchase(${user.id}, ${`cs_${pi}`}, ${pi}, null, 1000, 1000, 'usd', 0)`;
    // Everything parked in two reservations holding free units (each release locks its quota counter) ...
    for (const [i, f] of features.entries()) {
      await asUser(sql, user.id, (tx) => tx`select public.reserve_credits(${f}, 2, ${`park-${i}`}, 500)`);
    }
    // ... while the full refund comes and the buyer keeps charging both features.
    const results = await Promise.allSettled([
      sql`select public.service_role_return_payment('refund', ${`ch_${pi}`}, 1000, ${pi})`,
      ...Array.from({ length: 10 }, (_, i) =>
        asUser(sql, user.id, (tx) => tx`select public.charge_credits(${features[i % 2]}, 1, ${`c-${i}`})`)),
    ]);
    const errors = results.flatMap((r) => r.status === "rejected" ? [r.reason.code] : []);
    expect(errors.filter((code) => code !== "PT402")).toEqual([]); // refused for want of credits only, never 40P01
    expect(results[0].status).toBe("fulfilled");
    const { balance, ledger } = await books(user.id);
    expect(balance).toBe(ledger);
    const [p] = await sql`select credits_clawed_back from public.purchases where payment_intent_id = ${pi}`;
    const spent = -(await sql`select coalesce(sum(amount), 0)::int as s from public.credit_ledger
      where account_id = ${user.id} and kind = 'charge'`)[0].s;
    expect(p.credits_clawed_back + spent).toBe(1000); // every credit either spent or clawed back
  });

  it("cash-out requests racing for the same cash hold no more than is available", async () => {
    const user = await createUser(sql, mail());
    await sql`select saasbase.move_cash(${user.id}, 'adjustment', 1000, 'test cash')`;
    const [{ min }] = await sql`select greatest(min_cashout_cents, 1)::int as min from saasbase.settings`;
    const amount = Math.max(min, 300);
    const results = await all(10, () =>
      asUser(sql, user.id, async (tx) => (await tx`select to_jsonb(public.request_cashout(${amount})) as r`)[0].r));
    const held = fulfilled(results).length;
    expect(held).toBe(Math.floor(1000 / amount));
    const [w] = await sql`select available_cents::int, held_cents::int from public.cash_wallets where user_id = ${user.id}`;
    expect(w).toEqual({ available_cents: 1000 - held * amount, held_cents: held * amount });
  });

  it("two admins rejecting one cash-out at once give the cash back once", async () => {
    const user = await createUser(sql, mail());
    await sql`select saasbase.move_cash(${user.id}, 'adjustment', 1000, 'test cash')`;
    const [{ min }] = await sql`select greatest(min_cashout_cents, 1)::int as min from saasbase.settings`;
    const { cashout_id } = await asUser(sql, user.id, async (tx) => (await tx`select to_jsonb(public.request_cashout(${min})) as r`)[0].r);
    const admins = [await createUser(sql, mail(), { role: "admin" }), await createUser(sql, mail(), { role: "admin" })];
    const results = await Promise.allSettled(admins.map((a) =>
      asUser(sql, a.id, (tx) => tx`select public.admin_decide_cashout(${cashout_id}, false, 'no')`)));
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    expect(results.flatMap((r) => r.status === "rejected" ? [r.reason.code] : [])).toEqual(["PT409"]);
    const [w] = await sql`select available_cents::int, held_cents::int from public.cash_wallets where user_id = ${user.id}`;
    expect(w).toEqual({ available_cents: 1000, held_cents: 0 });
  });
});
