// Referrals and cash payouts against the real database, the real functions and the local Stripe server.
// The shipped config pays the referrer 300 credits and $2.00 when the referred user's email is confirmed.
import { afterAll, describe, expect, it, vi } from "vitest";
import { config } from "../supabase/functions/_shared/config.ts";
import { createStripe } from "../supabase/functions/_shared/stripe-client.ts";
import { asUser, callFunction, connectDb, createUser, stack, TEST_FUNCTION_ENV } from "./support/stack.ts";

const sql = connectDb();
afterAll(() => sql.end());
const { referrerCredits, referrerCashCents, minCashoutCents } = config.referrals;

/** A sign-up as GoTrue writes it, with the user metadata the frontend sent (here: a referral code). */
async function signUp(email: string, referralCode?: string, confirmed = false) {
  const [{ id }] = await sql`
    insert into auth.users (id, aud, role, email, email_confirmed_at, raw_app_meta_data, raw_user_meta_data, created_at, updated_at)
    values (gen_random_uuid(), 'authenticated', 'authenticated', ${email}, ${confirmed ? new Date() : null},
      '{"provider": "email"}', ${sql.json(referralCode ? { referral_code: referralCode } : {})}, now(), now())
    returning id`;
  return id as string;
}
const codeOf = async (id: string) => (await sql`select code from public.referral_codes where user_id = ${id}`)[0].code as string;
const credits = async (id: string) => (await sql`select balance::int from public.wallets where account_id = ${id}`)[0].balance as number;
const cash = async (id: string) =>
  (await sql`select available_cents::int, held_cents::int, paid_out_cents::int from public.cash_wallets where user_id = ${id}`)[0];
const stats = async (id: string) => (await asUser(sql, id, (tx) => tx`select to_jsonb(public.referral_stats()) as s`))[0].s;
const mail = () => `ref-${crypto.randomUUID()}@test.local`;

describe("referrals", () => {
  it("every user gets a short readable code", async () => {
    const code = await codeOf(await signUp(mail()));
    expect(code).toMatch(/^[A-HJ-NP-Z2-9]{8}$/);
  });

  it("a referral is rewarded when the referred user confirms their email, once", async () => {
    const referrer = await signUp(mail(), undefined, true);
    const before = await credits(referrer);
    const referred = await signUp(mail(), (await codeOf(referrer)).toLowerCase()); // codes are case-insensitive
    const [pending] = await sql`select status from public.referrals where referred_id = ${referred}`;
    expect(pending.status).toBe("pending");
    expect(await credits(referrer)).toBe(before);

    await sql`update auth.users set email_confirmed_at = now() where id = ${referred}`;
    await sql`update auth.users set email_confirmed_at = now() + interval '1 minute' where id = ${referred}`; // again: nothing more
    expect(await credits(referrer)).toBe(before + referrerCredits);
    expect(await cash(referrer)).toEqual({ available_cents: referrerCashCents, held_cents: 0, paid_out_cents: 0 });

    const s = await stats(referrer);
    expect(s).toMatchObject({
      referred_count: 1, rewarded_count: 1, credits_earned: referrerCredits, cash_earned_cents: referrerCashCents,
      cash_available_cents: referrerCashCents, code: await codeOf(referrer),
    });
    expect(s.share_link).toBe(`${config.product.url}/?ref=${await codeOf(referrer)}`);
  });

  it("abuse: an unknown code is ignored, no one refers themselves, no one has two referrers", async () => {
    const lone = await signUp(mail(), "NOSUCHCD", true);
    expect(await sql`select 1 from public.referrals where referred_id = ${lone}`).toHaveLength(0);

    const referrer = await signUp(mail(), undefined, true);
    await expect(sql`insert into public.referrals (referrer_id, referred_id, code) values (${referrer}, ${referrer}, 'X')`)
      .rejects.toMatchObject({ code: "23514" }); // check (referrer_id <> referred_id)
    const referred = await signUp(mail(), await codeOf(referrer), true);
    const other = await signUp(mail(), undefined, true);
    await expect(sql`insert into public.referrals (referrer_id, referred_id, code) values (${other}, ${referred}, 'Y')`)
      .rejects.toMatchObject({ code: "23505" }); // one referrer per user
    // And clients cannot write referrals at all.
    await expect(asUser(sql, other, (tx) => tx`insert into public.referrals (referrer_id, referred_id, code) values (${other}, ${lone}, 'Z')`))
      .rejects.toMatchObject({ code: "42501" });
  });

  it("with payWhen first_payment, the reward waits for the referred user's first payment", async () => {
    const rollback = new Error("rollback");
    await expect(sql.begin(async (tx) => {
      await tx`update saasbase.settings set referral_pay_when = 'first_payment'`;
      const signUpIn = async (code?: string) => (await tx`insert into auth.users (id, aud, role, email, email_confirmed_at,
          raw_app_meta_data, raw_user_meta_data, created_at, updated_at)
        values (gen_random_uuid(), 'authenticated', 'authenticated', ${mail()}, now(), '{}', ${tx.json(code ? { referral_code: code } : {})},
          now(), now()) returning id`)[0].id as string;
      const referrer = await signUpIn();
      const [{ code }] = await tx`select code from public.referral_codes where user_id = ${referrer}`;
      const referred = await signUpIn(code);
      const status = async () => (await tx`select status from public.referrals where referred_id = ${referred}`)[0].status;
      expect(await status()).toBe("pending"); // confirmed email is not enough now
      const [{ r }] = await tx`select public.service_role_referral_first_payment(${referred}) as r`;
      expect(r).toBe("rewarded");
      expect(await status()).toBe("rewarded");
      const [{ again }] = await tx`select public.service_role_referral_first_payment(${referred}) as again`;
      expect(again).toBe("rewarded"); // a second payment pays nothing more
      const [{ n }] = await tx`select count(*)::int as n from public.cash_ledger where user_id = ${referrer} and kind = 'referral'`;
      expect(n).toBe(1);
      throw rollback;
    })).rejects.toBe(rollback);
  });

  it("the monthly cap per referrer: past it, referrals are recorded but not rewarded", async () => {
    const rollback = new Error("rollback");
    await expect(sql.begin(async (tx) => {
      await tx`update saasbase.settings set referral_monthly_cap = 2`;
      const [{ id: referrer }] = await tx`insert into auth.users (id, aud, role, email, email_confirmed_at, raw_app_meta_data, raw_user_meta_data, created_at, updated_at)
        values (gen_random_uuid(), 'authenticated', 'authenticated', ${mail()}, now(), '{}', '{}', now(), now()) returning id`;
      const [{ code }] = await tx`select code from public.referral_codes where user_id = ${referrer}`;
      for (let i = 0; i < 4; i++) {
        await tx`insert into auth.users (id, aud, role, email, email_confirmed_at, raw_app_meta_data, raw_user_meta_data, created_at, updated_at)
          values (gen_random_uuid(), 'authenticated', 'authenticated', ${mail()}, now(), '{}', ${tx.json({ referral_code: code })}, now(), now())`;
      }
      const rows = await tx`select status from public.referrals where referrer_id = ${referrer} order by created_at, status`;
      expect(rows.map((r) => r.status).sort()).toEqual(["capped", "capped", "rewarded", "rewarded"]);
      const [{ available_cents }] = await tx`select available_cents::int from public.cash_wallets where user_id = ${referrer}`;
      expect(available_cents).toBe(2 * referrerCashCents);
      throw rollback;
    })).rejects.toBe(rollback);
  });
});

describe("cash-outs and payouts", () => {
  async function earner(rewards: number) {
    const user = await createUser(sql, mail());
    for (let i = 0; i < rewards; i++) await signUp(mail(), await codeOf(user.id), true);
    return user;
  }
  const request = (id: string, cents: number) =>
    asUser(sql, id, async (tx) => (await tx`select to_jsonb(public.request_cashout(${cents})) as r`)[0].r);
  const decide = (adminId: string, cashout: string, approve: boolean) =>
    asUser(sql, adminId, async (tx) => (await tx`select to_jsonb(public.admin_decide_cashout(${cashout}, ${approve}, 'test')) as r`)[0].r);
  const payout = (token: string, cashoutId?: string) =>
    callFunction("referral-payout", { method: "POST", token, headers: { "content-type": "application/json" }, body: JSON.stringify(cashoutId ? { cashout_id: cashoutId } : {}) });
  const stripeState = async () => (await fetch(`${stack().stripeUrl}/_test/state`)).json();

  it("requests are bounded by the minimum and by the available cash; a request holds the cash", async () => {
    const user = await earner(5); // $10.00
    await expect(request(user.id, minCashoutCents - 1)).rejects.toMatchObject({ code: "PT422" });
    await expect(request(user.id, 5 * referrerCashCents + 1)).rejects.toMatchObject({ code: "PT402" });
    const r = await request(user.id, minCashoutCents);
    expect(r.status).toBe("requested");
    expect(await cash(user.id)).toEqual({ available_cents: 5 * referrerCashCents - minCashoutCents, held_cents: minCashoutCents, paid_out_cents: 0 });
  });

  it("only admins decide; rejecting gives the cash back; every decision is audited", async () => {
    const user = await earner(5);
    const admin = await createUser(sql, mail(), { role: "admin" });
    const { cashout_id } = await request(user.id, minCashoutCents);
    await expect(decide(user.id, cashout_id, true)).rejects.toMatchObject({ code: "PT403" });
    expect((await decide(admin.id, cashout_id, false)).status).toBe("rejected");
    expect((await cash(user.id)).available_cents).toBe(5 * referrerCashCents);
    await expect(decide(admin.id, cashout_id, true)).rejects.toMatchObject({ code: "PT409" });
    const audit = await sql`select actor_id, action from public.audit_log where target_id = ${cashout_id}`;
    expect(audit.map((a) => [a.actor_id, a.action])).toEqual([[admin.id, "cashout.reject"]]);
  });

  it("a demoted admin's still-valid token pays nothing: the account's role now decides", async () => {
    const user = await earner(5);
    const admin = await createUser(sql, mail(), { role: "admin" });
    const { cashout_id } = await request(user.id, minCashoutCents);
    await decide(admin.id, cashout_id, true);
    await sql`update public.profiles set role = 'customer' where id = ${admin.id}`;
    const res = await payout(admin.token, cashout_id);
    expect([res.status, (await res.json()).error?.code]).toEqual([403, "admin_only"]);
    const [row] = await sql`select status from public.cashouts where id = ${cashout_id}`;
    expect(row.status).toBe("approved");
  });

  it("an approved cash-out is paid once by Stripe transfer; failure is recorded and a retry pays", async () => {
    const user = await earner(5);
    const admin = await createUser(sql, mail(), { role: "admin" });
    const { cashout_id } = await request(user.id, minCashoutCents);
    await decide(admin.id, cashout_id, true);

    // Not onboarded yet: the payout fails and says why.
    let res = await payout(admin.token, cashout_id);
    expect(res.status).toBe(200);
    expect((await res.json()).results[0]).toMatchObject({ status: "failed" });

    // Onboarding creates the connected account (once) and gives a link.
    const onboard = await callFunction("connect-onboarding", { method: "POST", token: user.token, body: "{}" });
    expect(onboard.status).toBe(200);
    const { account_id, url } = await onboard.json();
    expect(url).toMatch(/^https:\/\//);
    expect((await (await callFunction("connect-onboarding", { method: "POST", token: user.token, body: "{}" })).json()).account_id).toBe(account_id);

    // The account cannot receive transfers yet: Stripe refuses, recorded as a failure.
    await fetch(`${stack().stripeUrl}/_test/accounts`, { method: "POST", body: JSON.stringify({ id: account_id, capabilities: { transfers: "inactive" } }) });
    await decide(admin.id, cashout_id, true);
    res = await payout(admin.token, cashout_id);
    expect((await res.json()).results[0].failure).toMatch(/capabilities/);

    // Fixed: approved again, paid; paying again changes nothing.
    await fetch(`${stack().stripeUrl}/_test/accounts`, { method: "POST", body: JSON.stringify({ id: account_id, capabilities: { transfers: "active" } }) });
    await decide(admin.id, cashout_id, true);
    // Two runs at once: one pays, the other finds it paid or in progress; never two transfers.
    const [first, second] = await Promise.all([payout(admin.token, cashout_id), payout(stack().serviceRoleKey, cashout_id)]);
    const results = [(await first.json()).results[0], (await second.json()).results[0]];
    expect(results.map((r) => r.status)).toContain("paid");
    for (const r of results) expect(["paid", "in_progress"]).toContain(r.status);
    const transfers = Object.values((await stripeState()).transfers).filter((t: any) => t.metadata.cashout_id === cashout_id);
    expect(transfers).toHaveLength(1);
    expect(transfers[0]).toMatchObject({ amount: minCashoutCents, destination: account_id });
    expect(await cash(user.id)).toEqual({ available_cents: 5 * referrerCashCents - minCashoutCents, held_cents: 0, paid_out_cents: minCashoutCents });
    const [row] = await sql`select status, attempts, stripe_transfer_id from public.cashouts where id = ${cashout_id}`;
    expect(row).toMatchObject({ status: "paid", attempts: 2, stripe_transfer_id: (transfers[0] as any).id });
    // Every outcome is audited with the admin who ran the payout (null for the service role's runs).
    const audit = await sql`select action, actor_id from public.audit_log where target_id = ${cashout_id} order by id`;
    expect(audit.map((a) => a.action)).toEqual(["cashout.approve", "cashout.failed", "cashout.approve", "cashout.failed",
      "cashout.approve", "cashout.paid"]);
    expect(audit.filter((a) => a.action === "cashout.failed").map((a) => a.actor_id)).toEqual([admin.id, admin.id]);
    expect((await stats(user.id)).cash_paid_out_cents).toBe(minCashoutCents);
  });

  it("a payout whose outcome was lost is resumed without paying twice, even after Stripe forgot the key", async () => {
    const user = await earner(5);
    const admin = await createUser(sql, mail(), { role: "admin" });
    const onboard = await callFunction("connect-onboarding", { method: "POST", token: user.token, body: "{}" });
    const { account_id } = await onboard.json();
    const { cashout_id } = await request(user.id, minCashoutCents);
    await decide(admin.id, cashout_id, true);
    // A run claims it and the transfer goes out, then the run dies before recording it.
    const [{ c }] = await sql`select to_jsonb(public.service_role_claim_cashout(${cashout_id})) as c`;
    expect(c).toMatchObject({ status: "paying", attempt: 0 });
    const stripe = createStripe(TEST_FUNCTION_ENV.STRIPE_SECRET_KEY, stack().stripeUrl);
    const sent = await stripe.transfers.create({ amount: minCashoutCents, currency: "usd", destination: account_id,
      transfer_group: `cashout_${cashout_id}` }, { idempotencyKey: `some-other-key-${cashout_id}` });
    // Meanwhile another run finds it claimed and leaves it alone; an admin cannot reject it.
    expect((await (await payout(admin.token, cashout_id)).json()).results[0].status).toBe("in_progress");
    await expect(decide(admin.id, cashout_id, false)).rejects.toMatchObject({ code: "PT409" });
    // The next batch run after the claim went stale takes it over: finds the transfer at Stripe, records it,
    // sends no other.
    await sql`update public.cashouts set claimed_at = now() - interval '16 minutes' where id = ${cashout_id}`;
    const res = await payout(admin.token);
    const mine = (await res.json()).results.find((r: { cashout_id: string }) => r.cashout_id === cashout_id);
    expect(mine).toMatchObject({ status: "paid", transfer_id: sent.id });
    const transfers = Object.values((await stripeState()).transfers).filter((t: any) => t.transfer_group === `cashout_${cashout_id}`);
    expect(transfers).toHaveLength(1);
    expect(await cash(user.id)).toMatchObject({ held_cents: 0, paid_out_cents: minCashoutCents });
    // The lost run's own outcome, arriving now, changes nothing.
    const [{ r }] = await sql`select to_jsonb(public.service_role_record_payout(${cashout_id}, 0, 'tr_late', null)) as r`;
    expect(r).toMatchObject({ status: "paid", transfer_id: sent.id, replayed: true });
  });

  it("a transfer whose answer was lost (left approved for a retry) is found at Stripe, not sent again", async () => {
    const user = await earner(5);
    const admin = await createUser(sql, mail(), { role: "admin" });
    const { account_id } = await (await callFunction("connect-onboarding", { method: "POST", token: user.token, body: "{}" })).json();
    const { cashout_id } = await request(user.id, minCashoutCents);
    await decide(admin.id, cashout_id, true);
    await sql`select public.service_role_claim_cashout(${cashout_id})`;
    const stripe = createStripe(TEST_FUNCTION_ENV.STRIPE_SECRET_KEY, stack().stripeUrl);
    const sent = await stripe.transfers.create({ amount: minCashoutCents, currency: "usd", destination: account_id,
      transfer_group: `cashout_${cashout_id}` });
    // The run saw a timeout: not final, back to approved with the same attempt.
    const [{ r }] = await sql`select to_jsonb(public.service_role_record_payout(${cashout_id}, 0, null, 'timeout', false)) as r`;
    expect(r).toMatchObject({ status: "approved", retry: true });
    // No admin can reject it while it waits (the transfer may exist, as here): the next run pays, by recording
    // the transfer.
    await expect(decide(admin.id, cashout_id, false)).rejects.toMatchObject({ code: "PT409", detail: "cashout_payout_unsettled" });
    const res = await payout(admin.token, cashout_id);
    expect((await res.json()).results[0]).toMatchObject({ status: "paid", transfer_id: sent.id });
    expect(Object.values((await stripeState()).transfers).filter((t: any) => t.transfer_group === `cashout_${cashout_id}`))
      .toHaveLength(1);
  });

  it("a run over every approved cash-out reports one that changed under it, and pays the others", async () => {
    const admin = await createUser(sql, mail(), { role: "admin" });
    const ids: string[] = [];
    for (let i = 0; i < 2; i++) {
      const user = await earner(5);
      await callFunction("connect-onboarding", { method: "POST", token: user.token, body: "{}" });
      const { cashout_id } = await request(user.id, minCashoutCents);
      await decide(admin.id, cashout_id, true);
      ids.push(cashout_id);
    }
    const [changing, other] = ids;
    // Hold the first one's row: the run lists it, then waits at its claim while it is rejected (as an admin
    // would, between the run's list and its claim).
    let go!: () => void;
    let locked!: () => void;
    const gate = new Promise<void>((r) => (go = r));
    const holding = new Promise<void>((r) => (locked = r));
    const holder = sql.begin(async (tx) => {
      await tx`select 1 from public.cashouts where id = ${changing} for update`;
      locked();
      await gate;
      await tx`update public.cashouts set status = 'rejected' where id = ${changing}`;
    });
    await holding; // before the run starts
    const run = payout(admin.token);
    const waiting = async () => (await sql`select count(*)::int as n from pg_stat_activity
      where wait_event_type = 'Lock' and query like '%service_role_claim_cashout%'`)[0].n > 0;
    try {
      await vi.waitFor(async () => expect(await waiting()).toBe(true), { timeout: 30_000, interval: 25 });
    } finally {
      go(); // never leave the holder's transaction open
    }
    await holder;
    const res = await run;
    expect(res.status).toBe(200);
    const results = (await res.json()).results as { cashout_id: string; status: string; error?: { code: string } }[];
    expect(results.find((r) => r.cashout_id === changing)).toMatchObject({ status: "skipped", error: { code: "cashout_not_approved" } });
    expect(results.find((r) => r.cashout_id === other)).toMatchObject({ status: "paid" });
  });

  it("a platform balance short for now leaves the cash-out approved for the next run, not failed", async () => {
    const user = await earner(5);
    const admin = await createUser(sql, mail(), { role: "admin" });
    await callFunction("connect-onboarding", { method: "POST", token: user.token, body: "{}" });
    const { cashout_id } = await request(user.id, minCashoutCents);
    await decide(admin.id, cashout_id, true);
    await fetch(`${stack().stripeUrl}/_test/balance`, { method: "POST", body: JSON.stringify({ available: 0 }) });
    try {
      const short = (await (await payout(admin.token, cashout_id)).json()).results[0];
      expect(short).toMatchObject({ status: "approved", retry: true });
      expect(short.failure).toMatch(/insufficient available funds/);
      // Nothing unsettled (Stripe refused outright): an admin could still reject it.
      const [row] = await sql`select claimed_at, attempts from public.cashouts where id = ${cashout_id}`;
      expect(row).toEqual({ claimed_at: null, attempts: 1 });
    } finally {
      await fetch(`${stack().stripeUrl}/_test/balance`, { method: "POST", body: JSON.stringify({ available: null }) });
    }
    expect((await (await payout(admin.token, cashout_id)).json()).results[0]).toMatchObject({ status: "paid" });
  });

  it("an admin does not decide their own cash-out", async () => {
    const earnerAdmin = await earner(5);
    await sql`update auth.users set raw_app_meta_data = raw_app_meta_data || '{"role": "admin"}' where id = ${earnerAdmin.id}`;
    const { cashout_id } = await request(earnerAdmin.id, minCashoutCents);
    await expect(decide(earnerAdmin.id, cashout_id, true)).rejects.toMatchObject({ code: "PT403", detail: "forbidden" });
  });

  it("payouts are for admins and the service role only", async () => {
    const user = await createUser(sql, mail());
    const res = await payout(user.token);
    expect(res.status).toBe(403);
    expect((await res.json()).error.code).toBe("admin_only");
    expect((await payout(stack().anonKey)).status).toBe(403);
  });
});
