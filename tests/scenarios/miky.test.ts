// Miky.ai (seed 004, presets/miky.ts) end to end, as its frontend drives it: a friend signs up through a share
// link's referral code with 100 credits, chats with three personas, runs out, buys a pack through Stripe
// Checkout and its signed webhook, and chats on; the referrer, paid 300 credits and $2.00 per confirmed
// friend, cashes out $10.00, which an admin approves and pays through Stripe Connect.
// Calls go where the frontend sends them: functions over HTTP, RPCs and reads through supabase-js (PostgREST:
// role and claims per transaction), sign-ups and confirmations as GoTrue writes them.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { syncStripeCatalog } from "../../src/billing/stripe-sync.ts";
import { stripeCatalog } from "../../supabase/functions/_shared/billing-catalog.ts";
import { createStripe } from "../../supabase/functions/_shared/stripe-client.ts";
import { TEST_FUNCTION_ENV } from "../support/stack.ts";
import { asUser, readSse, type Scenario, startScenario, type User } from "./harness.ts";

let s: Scenario;
beforeAll(async () => {
  s = await startScenario("miky", ["chat", "checkout", "stripe-webhook", "connect-onboarding", "referral-payout", "credits"]);
  // What the operator runs once before launch: `npm run stripe:sync -- --preset miky`.
  await syncStripeCatalog(createStripe(TEST_FUNCTION_ENV.STRIPE_SECRET_KEY, s.stripeUrl), s.sql, stripeCatalog(s.config), s.config.currency);
}, 180_000);
afterAll(() => s?.stop());

const mail = (who: string) => `${who}-${crypto.randomUUID().slice(0, 8)}@miky.test`;
const rpc = (user: User, name: string, args: unknown[] = []) => s.rpc(user, name, args);
const wallet = async (user: User) => {
  const res = await s.call("credits?limit=50", { token: user.token });
  expect(res.status).toBe(200);
  return res.json();
};
const chat = async (user: User, body: Record<string, unknown>) => {
  const res = await s.post("chat", user.token, body);
  return { status: res.status, events: await readSse(res), body: res.headers.get("content-type")?.includes("json") ? await res.json() : null };
};
const cash = async (user: User) =>
  (await s.sql`select available_cents::int, held_cents::int, paid_out_cents::int from public.cash_wallets where user_id = ${user.id}`)[0];
const ledgerSize = async (user: User) => (await s.sql`select count(*)::int as n from public.credit_ledger where account_id = ${user.id}`)[0].n;

describe("Miky.ai: a referred friend's journey, and the referrer's cash-out", () => {
  let referrer: User;
  let friend: User;
  let code: string;

  it("runs the preset: the functions and the database both serve Miky's config", async () => {
    // The preset's facts this journey relies on (a change to them should fail here, not midway).
    expect(s.config.product.url).toBe("https://miky.ai");
    expect(s.config.signupCredits).toBe(100);
    expect(s.config.plans.find((p) => p.id === "free")!.quotas).toEqual([]); // every answer paid in credits
    expect(s.config.referrals).toMatchObject({ referrerCredits: 300, referrerCashCents: 200, payWhen: "email_confirmed", minCashoutCents: 1000 });
    // SQL reads the synced catalog: Miky's plans only, and no free chat on any of them.
    const plans = await s.sql`select id, price_monthly_cents from public.plans where active order by sort_order`;
    expect(plans.map((p) => [p.id, p.price_monthly_cents])).toEqual([["free", 0], ["plus", 1900], ["business", 9900]]);
    expect(await s.sql`select * from public.plan_quotas where feature_id = 'chat'`).toHaveLength(0);
    expect((await s.sql`select id from public.features where active`).map((f) => f.id)).toEqual(["chat"]);
  });

  it("a visitor without an account cannot chat: Miky asks for a verified sign-up first", async () => {
    const res = await s.post("chat", s.stack.anonKey, { message: "Hi", session_id: `visitor-${crypto.randomUUID()}` });
    expect(res.status).toBe(429);
    expect((await res.json()).error.code).toBe("rate_limited");
  });

  it("the referrer has a code and a share link on Miky's site", async () => {
    referrer = await s.signUp(mail("referrer"), { confirmed: true, data: { display_name: "Rita" } });
    const stats = await rpc(referrer, "referral_stats");
    code = stats.code;
    expect(code).toMatch(/^[A-HJ-NP-Z2-9]{8}$/);
    expect(stats.share_link).toBe(`https://miky.ai/?ref=${code}`);
    expect((await wallet(referrer)).balance).toBe(100);
  });

  it("a friend signs up with the code and gets 100 credits; the referrer is paid 300 credits and $2.00 when the friend confirms", async () => {
    // supabase.auth.signUp({ email, password, options: { data: { referral_code } } }) from the ?ref= link.
    friend = await s.signUp(mail("friend"), { data: { referral_code: code } });
    const start = await wallet(friend);
    expect(start).toMatchObject({ balance: 100, reserved: 0, plan: "free" });
    expect(start.ledger.map((l: { kind: string; amount: number }) => [l.kind, l.amount])).toEqual([["grant", 100]]);
    const [pending] = await s.sql`select status from public.referrals where referred_id = ${friend.id}`;
    expect(pending.status).toBe("pending");
    expect((await wallet(referrer)).balance).toBe(100);

    await s.confirm(friend);
    expect((await wallet(referrer)).balance).toBe(100 + 300);
    expect(await cash(referrer)).toEqual({ available_cents: 200, held_cents: 0, paid_out_cents: 0 });
    expect(await rpc(referrer, "referral_stats")).toMatchObject({ referred_count: 1, rewarded_count: 1, credits_earned: 300, cash_earned_cents: 200 });
  });

  it("chats with three personas, each answer paid at its persona's price plus the model's tokens", async () => {
    // Default answers: a few dozen tokens (as the local server counts them). general 1 + 1 = 2; lawyer 2 + 1 = 3;
    // god-mode (gpt-4o, 5 a 1k) 5 + 1 = 6.
    const expected = [["general", "gpt-4o-mini", 2, 98], ["lawyer", "gpt-4o-mini", 3, 95], ["god-mode", "gpt-4o", 6, 89]] as const;
    for (const [persona, model, charged, balance] of expected) {
      const before = (await s.upstreamRequests()).length;
      const { status, events } = await chat(friend, { message: `A question for ${persona}`, persona });
      expect(status).toBe(200);
      expect(events.map((e) => e.event)).toEqual(["meta", "token", "token", "token", "token", "done"]);
      expect(events[0].data).toMatchObject({ provider: "openai", model });
      expect(events.at(-1)!.data).toMatchObject({ credits_charged: charged, balance });
      const [request] = (await s.upstreamRequests()).slice(before);
      expect(request.messages[0]).toEqual({ role: "system", content: s.config.personas.find((p) => p.id === persona)!.systemPrompt });
    }
    const res = await s.call("chat/conversations", { token: friend.token });
    expect(res.status).toBe(200);
    const listed = await res.json();
    expect(listed.conversations.map((c: { persona: string }) => c.persona).sort())
      .toEqual(["general", "god-mode", "lawyer"]);
  });

  it("runs out: long answers drain the wallet until a message is refused 402, and the refusal costs nothing", async () => {
    // 4,000-token answers: god-mode 5 + 5 × 4 = 25 each; general 1 + 4 = 5 each.
    const long = { kind: "ok" as const, usage: { prompt_tokens: 100, completion_tokens: 3900 } };
    await s.script("openai", [long, long, long]);
    const balances: number[] = [];
    for (let i = 0; i < 3; i++) {
      const { status, events } = await chat(friend, { message: "Explain everything about everything", persona: "god-mode" });
      expect(status).toBe(200);
      expect(events.at(-1)!.data.credits_charged).toBe(25);
      balances.push(events.at(-1)!.data.balance);
    }
    expect(balances).toEqual([64, 39, 14]);
    // 14 left: god-mode holds its worst case (the whole 4,096-token answer budget: 26 credits) first.
    const rows = await ledgerSize(friend);
    const refused = await chat(friend, { message: "One more, please", persona: "god-mode" });
    expect(refused.status).toBe(402);
    expect(refused.body.error.code).toBe("insufficient_credits");
    expect(await ledgerSize(friend)).toBe(rows);

    await s.script("openai", [long, long]);
    for (const balance of [9, 4]) {
      const { status, events } = await chat(friend, { message: "Then in simple words", persona: "general" });
      expect(status).toBe(200);
      expect(events.at(-1)!.data).toMatchObject({ credits_charged: 5, balance });
    }
    // 4 left, under the cheapest persona's worst case (6): out of credits.
    const out = await chat(friend, { message: "And now?", persona: "general" });
    expect(out.status).toBe(402);
    expect(out.body.error.code).toBe("insufficient_credits");
    expect(await wallet(friend)).toMatchObject({ balance: 4, reserved: 0 });
    expect((await s.upstreamRequests()).filter((r) => r.messages.at(-1)!.content === "And now?")).toHaveLength(0);
  });

  it("buys a 500-credit pack: a Checkout session, then Stripe's signed webhook grants it once", async () => {
    // The pricing page reads the packs through PostgREST (readable by anyone).
    const packs = await s.sql.begin(async (tx) => {
      await tx`set local role anon`;
      return tx`select id, credits, price_cents from public.credit_packs where active order by sort_order`;
    });
    expect(packs.map((p) => [p.id, p.credits, p.price_cents])).toEqual([["credits_500", 500, 500], ["credits_1200", 1200, 1000], ["credits_4000", 4000, 3000]]);

    const res = await s.post("checkout", friend.token, { pack: "credits_500" });
    expect(res.status).toBe(200);
    const { id, url } = await res.json();
    expect(url).toMatch(/^https:\/\//);
    const session = (await s.stripeState()).sessions[id];
    expect(session).toMatchObject({ mode: "payment", client_reference_id: friend.id, metadata: { pack_id: "credits_500", credits: "500" } });
    expect(Number(session.line_items_params[0].price_data.unit_amount)).toBe(500); // the free plan has no discount
    expect(session.success_url).toMatch(/^https:\/\/miky\.ai\/billing\/success/); // the function runs Miky's config

    // The friend pays; Stripe completes the session and sends the event, twice as it may.
    const paid = { ...session, status: "complete", payment_status: "paid", amount_total: 500, currency: "usd", payment_intent: `pi_${id}` };
    delete paid.line_items_params;
    const event = s.stripeEvent("checkout.session.completed", paid);
    const first = await event.deliver();
    expect(first.status).toBe(200);
    expect((await first.json()).outcome).toBe("applied");
    expect((await (await event.deliver()).json()).outcome).toBe("duplicate");
    expect((await wallet(friend)).balance).toBe(4 + 500);
    const purchases = await asUser(s.sql, friend.id, (tx) => tx`select credits, amount_cents, status from public.purchases`);
    expect(purchases.map((p) => ({ ...p }))).toEqual([{ credits: 500, amount_cents: 500, status: "paid" }]);
  });

  it("chats on with the credits bought", async () => {
    const { status, events } = await chat(friend, { message: "I'm back", persona: "coach" });
    expect(status).toBe(200);
    expect(events.at(-1)!.data).toMatchObject({ credits_charged: 2, balance: 502 });
  });

  it("the referrer, five friends confirmed, has earned 1,500 credits and $10.00", async () => {
    for (let i = 0; i < 4; i++) await s.confirm(await s.signUp(mail(`friend${i + 2}`), { data: { referral_code: code } }));
    expect(await rpc(referrer, "referral_stats")).toMatchObject({
      referred_count: 5, rewarded_count: 5, pending_count: 0, credits_earned: 1500, cash_earned_cents: 1000, cash_available_cents: 1000,
    });
    expect((await wallet(referrer)).balance).toBe(100 + 1500);
  });

  it("cashes out $10.00: requested, approved by an admin, paid by Stripe transfer to the referrer's Connect account", async () => {
    const onboard = await s.post("connect-onboarding", referrer.token, {});
    expect(onboard.status).toBe(200);
    const { account_id, url } = await onboard.json();
    expect(url).toMatch(/^https:\/\//);

    const requested = await rpc(referrer, "request_cashout", [1000]);
    expect(requested.status).toBe("requested");
    expect(await cash(referrer)).toEqual({ available_cents: 0, held_cents: 1000, paid_out_cents: 0 });

    const admin = await s.signUp(mail("admin"), { confirmed: true, appMetadata: { role: "admin" } });
    const queue = await asUser(s.sql, admin.id, (tx) => tx`select id, amount_cents::int, status from public.cashouts where status = 'requested'`);
    expect(queue.map((c) => ({ ...c }))).toEqual([{ id: requested.cashout_id, amount_cents: 1000, status: "requested" }]);
    expect((await rpc(admin, "admin_decide_cashout", [requested.cashout_id, true, "referrals checked"])).status).toBe("approved");

    const payout = await s.post("referral-payout", admin.token, { cashout_id: requested.cashout_id });
    expect(payout.status).toBe(200);
    const [result] = (await payout.json()).results;
    expect(result).toMatchObject({ cashout_id: requested.cashout_id, status: "paid" });
    const transfers = Object.values((await s.stripeState()).transfers) as { amount: number; destination: string; id: string }[];
    expect(transfers).toHaveLength(1);
    expect(transfers[0]).toMatchObject({ amount: 1000, destination: account_id });
    expect(result.transfer_id).toBe(transfers[0].id);

    expect(await cash(referrer)).toEqual({ available_cents: 0, held_cents: 0, paid_out_cents: 1000 });
    expect(await rpc(referrer, "referral_stats")).toMatchObject({ cash_paid_out_cents: 1000, cash_available_cents: 0 });
    const [row] = await asUser(s.sql, referrer.id, (tx) => tx`select status, stripe_transfer_id from public.cashouts`);
    expect({ ...row }).toEqual({ status: "paid", stripe_transfer_id: transfers[0].id });
  });
});
