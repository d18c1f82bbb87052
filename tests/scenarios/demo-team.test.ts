// SaaSbase Demo (the shipped saasbase.config.ts, whose Business plan is priced per seat) end to end, as a team's
// frontend drives it: the owner creates a team and subscribes it to Business with 3 seats through Stripe Checkout
// and its signed webhooks, invites two people (one by email, one by link) who accept; both chat and generate
// coloring pages against the team's wallet (their personal wallets untouched, the team's ledger naming who
// spent), one hits the monthly spending cap the owner set (402, nothing charged); one leaves and the seats drop to
// 2 with proration (the seat sync at Stripe, the webhook bringing the quantity back); the owner hands the team over
// and leaves (1 seat); an admin's KPIs count the team as one paying account, its seats in the MRR.
// Calls go where the frontend sends them: functions over HTTP with X-Account-Id naming the team, RPCs through
// supabase-js (PostgREST: role and claims per transaction), sign-ups as GoTrue writes them, Stripe's events signed.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { syncStripeCatalog } from "../../src/billing/stripe-sync.ts";
import { planLookupKey, stripeCatalog } from "../../supabase/functions/_shared/billing-catalog.ts";
import { createStripe } from "../../supabase/functions/_shared/stripe-client.ts";
import { awayFromMidnight, TEST_FUNCTION_ENV } from "../support/stack.ts";
import { asUser, readSse, type Scenario, startScenario, type User } from "./harness.ts";

let s: Scenario;
beforeAll(async () => {
  s = await startScenario(undefined, ["chat", "checkout", "credits", "seats", "stripe-webhook"]);
  // What the operator runs once before launch: `npm run stripe:sync`.
  await syncStripeCatalog(createStripe(TEST_FUNCTION_ENV.STRIPE_SECRET_KEY, s.stripeUrl), s.sql, stripeCatalog(s.config), s.config.currency);
}, 180_000);
afterAll(() => s?.stop());

type Row = Record<string, any>;
const tag = crypto.randomUUID().slice(0, 8);
const mail = (who: string) => `${who}-${tag}@demo.test`;
const business = () => s.config.plans.find((p) => p.id === "business")!;
const pagePrice = () => s.config.features.coloring_page.credits;

/** GET /credits as the member sees it (the team's with `account`). */
const wallet = async (user: User, account?: string) => {
  const res = await s.call("credits?limit=200", { token: user.token, account });
  expect(res.status).toBe(200);
  return res.json();
};
/** POST /credits/charge: one coloring page generated. */
const generate = async (user: User, account: string | undefined, key: string) => {
  const res = await s.post("credits/charge", user.token, { feature: "coloring_page", idempotency_key: key }, account);
  return { status: res.status, body: await res.json() };
};
const chat = async (user: User, account: string | undefined, body: Row) => {
  const res = await s.post("chat", user.token, body, account);
  return { status: res.status, events: await readSse(res) };
};
/** Where the member's own money is: their personal wallet's balance and every ledger row, and their quota use. */
const personal = async (user: User) => ({
  wallet: await wallet(user),
  counters: (await s.sql`select feature_id, used from public.usage_counters where account_id = ${user.id}`).map((r) => ({ ...r })),
});
const members = async (team: string) =>
  (await s.sql`select user_id, role from public.account_members where account_id = ${team} order by joined_at`)
    .map((m) => ({ ...m }));

describe("SaaSbase Demo: a Business team on one wallet and one per-seat subscription", () => {
  let owner: User, alice: User, bob: User;
  let team: string;
  let subscriptionId: string;
  const before: Record<string, Row> = {};

  it("runs the shipped config: Business is priced per seat, and pays coloring pages from its credits", async () => {
    expect(business()).toMatchObject({ perSeat: true, priceMonthlyCents: 9900 });
    expect(business().monthlyCredits).toBeGreaterThan(0);
    expect(business().unlimited).not.toContain("coloring_page");
    const [plan] = await s.sql`select per_seat, max_seats, monthly_credits from public.plans where id = 'business'`;
    expect({ ...plan }).toEqual({ per_seat: true, max_seats: business().maxSeats, monthly_credits: business().monthlyCredits });
  });

  it("the owner creates a team: a team account they own, with an empty wallet of its own", async () => {
    owner = await s.signUp(mail("owner"), { confirmed: true, data: { display_name: "Olga" } });
    const created = await s.rpc(owner, "create_team", ["Acme", `acme-${tag}`]);
    expect(created).toMatchObject({ kind: "team", name: "Acme", slug: `acme-${tag}`, created_by: owner.id, plan_id: null });
    team = created.id;
    expect(team).not.toBe(owner.id);
    expect(await members(team)).toEqual([{ user_id: owner.id, role: "owner" }]);
    expect(await wallet(owner, team)).toMatchObject({ balance: 0, reserved: 0, plan: s.config.defaultPlan, ledger: [] });
    before.owner = await personal(owner);
    expect(before.owner.wallet.balance).toBe(s.config.signupCredits);
  });

  it("subscribes the team to Business with 3 seats: Checkout, then Stripe's signed webhooks (the plan, the seats, the plan's credits)", async () => {
    const res = await s.post("checkout", owner.token, { price: planLookupKey("business", "month"), seats: 3 }, team);
    expect(res.status).toBe(200);
    const { id, url } = await res.json();
    expect(url).toMatch(/^https:\/\//);
    const stripe = await s.stripeState();
    const session = stripe.sessions[id];
    expect(session).toMatchObject({ mode: "subscription", client_reference_id: team });
    expect(session.subscription_data.metadata).toMatchObject({ account_id: team, plan_id: "business" });
    expect(Number(session.line_items_params[0].quantity)).toBe(3);
    // The team's own Stripe customer, named after it.
    expect(stripe.customers[session.customer]).toMatchObject({ name: "Acme", email: owner.email, metadata: { account_id: team } });

    const { subscription, invoice, answers } = await s.completeSubscriptionCheckout(id);
    expect(answers.completed).toMatchObject({ status: 200, body: { outcome: "applied" } });
    expect(answers.invoicePaid).toMatchObject({ status: 200, body: { outcome: "applied" } });
    expect(invoice.amount_paid).toBe(3 * business().priceMonthlyCents);
    subscriptionId = subscription.id;
    const [row] = await s.sql`select account_id, status, quantity, plan_id from public.subscriptions s
      join public.prices p on p.id = s.price_id where s.id = ${subscriptionId}`;
    expect({ ...row }).toEqual({ account_id: team, status: "active", quantity: 3, plan_id: "business" });
    const team1 = await wallet(owner, team);
    expect(team1).toMatchObject({ balance: business().monthlyCredits, plan: "business" });
    expect(team1.ledger.map((l: Row) => [l.kind, l.amount])).toEqual([["grant", business().monthlyCredits]]);
    // The owner's own account is not subscribed: its plan, wallet and Stripe customer are untouched.
    expect(await personal(owner)).toEqual(before.owner);
    expect((await wallet(owner)).plan).toBe(s.config.defaultPlan);
    expect(await s.sql`select 1 from public.customers where account_id = ${owner.id}`).toHaveLength(0);
    // The owner (manage_billing) reads the team's invoice.
    const invoices = await asUser(s.sql, owner.id, (tx) => tx`select account_id, amount_paid from public.invoices`);
    expect(invoices.map((i) => ({ ...i }))).toEqual([{ account_id: team, amount_paid: invoice.amount_paid }]);
  });

  it("invites two people, one by email and one by link; both accept and are members", async () => {
    const byEmail = await s.rpc(owner, "invite_member", [team, "member", mail("alice")]);
    expect(byEmail).toMatchObject({ account_id: team, email: mail("alice"), role: "member", max_uses: 1 });
    const link = await s.rpc(owner, "invite_member", [team, "member", null]);
    expect(link).toMatchObject({ account_id: team, email: null, role: "member" });
    expect(link.token).toEqual(expect.any(String));

    // Alice signs up with the address the invitation went to and follows the link in her mail.
    alice = await s.signUp(mail("alice"), { confirmed: true, data: { display_name: "Alice" } });
    const [invitationMail] = await s.inbox(alice.email, "team_invitation");
    expect(invitationMail.payload).toMatchObject({ team_name: "Acme", role: "member", invited_by_email: owner.email });
    const mailed = new URL(invitationMail.payload.accept_url);
    expect(mailed.origin + mailed.pathname).toBe(`${s.config.product.url}/invitations/accept`);
    expect(await s.rpc(alice, "accept_invitation", [mailed.searchParams.get("token")]))
      .toMatchObject({ account_id: team, user_id: alice.id, role: "member" });

    // Bob got the link from the owner (a chat message, say).
    bob = await s.signUp(mail("bob"), { confirmed: true, data: { display_name: "Bob" } });
    expect(await s.rpc(bob, "accept_invitation", [link.token])).toMatchObject({ account_id: team, user_id: bob.id, role: "member" });
    expect(await members(team)).toEqual([
      { user_id: owner.id, role: "owner" }, { user_id: alice.id, role: "member" }, { user_id: bob.id, role: "member" },
    ]);
    // Both invitations are used up: the mailed token does not let anyone else in.
    const stranger = await s.signUp(mail("stranger"), { confirmed: true });
    expect(await s.rpc(stranger, "accept_invitation", [link.token])).toEqual({ error: { status: 410, code: "invitation_closed" } });
    expect((await members(team)).map((m) => m.user_id)).not.toContain(stranger.id);
    // Three members in three seats: the seat sync (the client's, after an acceptance) asks Stripe nothing.
    const sync = await s.post("seats/sync", bob.token, {}, team);
    expect(sync.status).toBe(200);
    expect(await sync.json()).toMatchObject({ subscription_id: subscriptionId, members: 3, quantity: 3, wanted: 3, updated: false });
    expect((await s.stripeState()).prorations).toEqual([]);
    before.alice = await personal(alice);
    before.bob = await personal(bob);
    expect(before.alice.wallet.ledger.map((l: Row) => [l.kind, l.amount])).toEqual([["grant", s.config.signupCredits]]);
  });

  it("both chat and generate against the team's wallet: the team's ledger names who spent, their own wallets are untouched", async () => {
    // The chat allowance is daily and the spending cap monthly: the steps below must not straddle midnight UTC.
    await awayFromMidnight();
    const start = (await wallet(owner, team)).balance;
    for (const [who, persona] of [[alice, "engineer"], [bob, "marketer"]] as const) {
      const { status, events } = await chat(who, team, { message: `A question from ${who.email}`, persona });
      expect(status).toBe(200);
      expect(events.at(0)!.event).toBe("meta");
      const done = events.at(-1)!;
      expect(done.event).toBe("done");
      // Business's daily chat allowance covers a message: nothing charged, the team's allowance used.
      expect(done.data).toMatchObject({ credits_charged: 0, balance: start });
      // The conversation is the member's own.
      const listed = await (await s.call("chat/conversations", { token: who.token })).json();
      expect(listed.conversations.map((c: Row) => c.persona)).toEqual([persona]);
    }
    const [counter] = await s.sql`select used from public.usage_counters where account_id = ${team} and feature_id = 'chat'`;
    expect(counter.used).toBe(2);

    const a = await generate(alice, team, `alice-page-${tag}`);
    expect(a).toMatchObject({ status: 200, body: { credits_charged: pagePrice(), balance: start - pagePrice() } });
    const b = await generate(bob, team, `bob-page-${tag}`);
    expect(b).toMatchObject({ status: 200, body: { credits_charged: pagePrice(), balance: start - 2 * pagePrice() } });
    // A retried request (the same key) is the same page, charged once.
    expect(await generate(bob, team, `bob-page-${tag}`)).toMatchObject({ status: 200, body: { replayed: true, balance: start - 2 * pagePrice() } });

    const after = await wallet(owner, team);
    expect(after.balance).toBe(start - 2 * pagePrice());
    // Newest first: the two pages, then the two answers' settlements (free), each naming its member.
    expect(after.ledger.slice(0, 4).map((l: Row) => [l.kind, l.feature, l.amount, l.actor_id])).toEqual([
      ["charge", "coloring_page", -pagePrice(), bob.id],
      ["charge", "coloring_page", -pagePrice(), alice.id],
      ["settle", "chat", 0, bob.id],
      ["settle", "chat", 0, alice.id],
    ]);
    expect(after.ledger.slice(4).map((l: Row) => l.kind)).toEqual(["grant"]);
    // Their personal accounts: the same wallet, ledger and quota use as before.
    expect(await personal(alice)).toEqual(before.alice);
    expect(await personal(bob)).toEqual(before.bob);
    expect(await personal(owner)).toEqual(before.owner);
  });

  it("the owner caps Alice's monthly spending: past it she is refused 402 spend_cap_reached and nothing is charged", async () => {
    // Alice has spent one page this month: the cap leaves her less than a second one.
    const cap = 2 * pagePrice() - 1;
    // A member may not cap herself.
    expect(await s.rpc(alice, "set_member_spend_cap", [team, alice.id, 10 * cap])).toEqual({ error: { status: 403, code: "account_forbidden" } });
    expect(await s.rpc(owner, "set_member_spend_cap", [team, alice.id, cap]))
      .toMatchObject({ account_id: team, user_id: alice.id, monthly_spend_cap: cap });
    expect(await s.rpc(alice, "get_wallet", [team])).toMatchObject({ spend_cap: cap, spend_left: cap - pagePrice() });

    const teamBefore = await wallet(owner, team);
    const refused = await generate(alice, team, `alice-page-2-${tag}`);
    expect(refused).toMatchObject({ status: 402, body: { error: { code: "spend_cap_reached" } } });
    expect(await wallet(owner, team)).toEqual(teamBefore);
    expect(await personal(alice)).toEqual(before.alice);
    // Bob, uncapped, goes on.
    expect(await generate(bob, team, `bob-page-2-${tag}`)).toMatchObject({ status: 200, body: { credits_charged: pagePrice() } });
    expect((await wallet(owner, team)).balance).toBe(teamBefore.balance - pagePrice());
  });

  it("Bob leaves: the team no longer pays for his seat (2 seats, prorated at Stripe; the webhook brings the quantity)", async () => {
    expect(await s.rpc(bob, "leave_team", [team])).toMatchObject({ account_id: team, user_id: bob.id });
    expect((await members(team)).map((m) => m.user_id)).toEqual([owner.id, alice.id]);
    // He can no longer spend the team's credits.
    expect(await generate(bob, team, `bob-page-3-${tag}`)).toMatchObject({ status: 404, body: { error: { code: "account_not_found" } } });

    // His client syncs the seats right after (src/client's teams.leave does).
    const sync = await s.post("seats/sync", bob.token, {}, team);
    expect(sync.status).toBe(200);
    expect(await sync.json()).toMatchObject({ subscription_id: subscriptionId, members: 2, wanted: 2, updated: true });
    const stripe = await s.stripeState();
    expect(stripe.subscriptions[subscriptionId].items.data[0].quantity).toBe(2);
    expect(stripe.prorations).toEqual([expect.objectContaining({ subscription: subscriptionId, from: 3, to: 2, proration_behavior: "create_prorations" })]);
    // Stripe's customer.subscription.updated, signed: the mirror follows.
    const delivered = await s.deliverStripeEvents("customer.subscription.updated");
    expect(delivered.map((d) => [d.status, d.body.outcome])).toEqual([[200, "applied"]]);
    const [row] = await s.sql`select quantity from public.subscriptions where id = ${subscriptionId}`;
    expect(row.quantity).toBe(2);
    const [account] = await s.sql`select billed_seats from public.accounts where id = ${team}`;
    expect(account.billed_seats).toBe(2);
    // A second sync has nothing more to ask Stripe.
    expect(await (await s.post("seats/sync", alice.token, {}, team)).json()).toMatchObject({ quantity: 2, wanted: 2, updated: false });
    expect((await s.stripeState()).prorations).toHaveLength(1);
    expect(await personal(bob)).toEqual(before.bob);
  });

  it("the owner hands the team to Alice and leaves; the team goes on without them", async () => {
    // The last owner cannot just leave.
    expect(await s.rpc(owner, "leave_team", [team])).toEqual({ error: { status: 409, code: "last_owner" } });
    expect(await s.rpc(owner, "transfer_ownership", [team, alice.id])).toMatchObject({ user_id: alice.id, role: "owner" });
    expect(await members(team)).toEqual([{ user_id: owner.id, role: "admin" }, { user_id: alice.id, role: "owner" }]);
    expect(await s.rpc(owner, "leave_team", [team])).toMatchObject({ user_id: owner.id });
    expect(await members(team)).toEqual([{ user_id: alice.id, role: "owner" }]);
    // The leaving owner's client syncs the seats too: one member, one seat.
    expect(await (await s.post("seats/sync", owner.token, {}, team)).json()).toMatchObject({ members: 1, wanted: 1, updated: true });
    expect((await s.stripeState()).prorations.map((p: Row) => [p.from, p.to])).toEqual([[3, 2], [2, 1]]);
    expect((await s.deliverStripeEvents("customer.subscription.updated")).map((d) => d.body.outcome)).toEqual(["applied"]);
    expect((await s.sql`select quantity from public.subscriptions where id = ${subscriptionId}`)[0].quantity).toBe(1);
    // The owner's own account is as it was; the team's money is Alice's to manage now.
    expect(await personal(owner)).toEqual(before.owner);
    const teamWallet = await wallet(alice, team);
    expect(teamWallet.plan).toBe("business");
    expect(await s.rpc(owner, "get_wallet", [team])).toEqual({ error: { status: 404, code: "account_not_found" } });
    // As the owner of the account, Alice's cap is hers to lift.
    expect(await s.rpc(alice, "set_member_spend_cap", [team, alice.id, null])).toMatchObject({ monthly_spend_cap: null });
    expect(await generate(alice, team, `alice-page-3-${tag}`)).toMatchObject({ status: 200, body: { credits_charged: pagePrice() } });
    const audit = await s.sql`select action from public.audit_log where target_id = ${team} order by id`;
    expect(audit.map((a) => a.action)).toEqual([
      "team.create", "team.invite", "team.invite", "team.join", "team.join", "team.set_spend_cap", "team.leave",
      "team.transfer_ownership", "team.leave", "team.set_spend_cap",
    ]);
  });

  it("an admin's KPIs count the team as one paying account, its seats in the MRR", async () => {
    const admin = await s.signUp(mail("admin"), { confirmed: true, appMetadata: { role: "admin" } });
    // From the first sign-up's day to today (UTC): a run that crosses midnight keeps every sign-up and payment
    // of this stack in the range.
    const today = new Date().toISOString().slice(0, 10);
    const [{ first }] = await s.sql`select to_char(min(created_at) at time zone 'utc', 'YYYY-MM-DD') as first from auth.users`;
    const report = await s.rpc(admin, "admin_kpis", [first, today, "day"]);
    const [sub] = await s.sql`select s.quantity, p.unit_amount from public.subscriptions s join public.prices p on p.id = s.price_id
      where s.id = ${subscriptionId}`;
    const [{ paid }] = await s.sql`select sum(amount_paid)::int as paid from public.invoices where status = 'paid'`;
    const [{ users }] = await s.sql`select count(*)::int as users from auth.users`;
    expect(report.totals).toMatchObject({
      signups: users,
      paying_accounts: 1,
      new_paying_accounts: 1,
      revenue_cents: paid,
      revenue_per_paying_account_cents: paid,
      mrr_cents: sub.unit_amount * sub.quantity,
    });
    // The owner converted (the team they made pays); Alice and Bob, members of a paying team, did not.
    expect(report.funnel.find((f: Row) => f.step === "paid")).toEqual({ step: "paid", users: 1 });
    expect(report.totals.conversion_rate).toBeCloseTo(1 / users, 4);
    // A member, even the team's owner, reads no KPIs.
    expect(await s.rpc(alice, "admin_kpis", [today, today, "day"])).toEqual({ error: { status: 403, code: "admin_only" } });
  });
});
