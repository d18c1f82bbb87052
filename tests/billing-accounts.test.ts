// Billing for a team, end to end: the checkout and the portal act for the account X-Account-Id names (the role's
// 'buy' or 'manage_billing' right checked in SQL), one Stripe customer per account, and the webhook and
// reconciliation apply what Stripe reports to the team's wallet and plan, never to the buyer's own. The real
// stripe SDK against the local Stripe server, webhooks signed as Stripe signs them, the real database checked.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { syncStripeCatalog } from "../src/billing/stripe-sync.ts";
import { planLookupKey, stripeCatalog } from "../supabase/functions/_shared/billing-catalog.ts";
import { config } from "../supabase/functions/_shared/config.ts";
import { createStripe } from "../supabase/functions/_shared/stripe-client.ts";
import { asUser, callFunction, connectDb, createUser, setBalance, stack } from "./support/stack.ts";
import { deliverEvent, stripeEvent } from "./support/stripe-webhook.ts";

type Obj = Record<string, any>;
type User = { id: string; token: string };

const sql = connectDb();
afterAll(() => sql.end());
const stripeState = async (): Promise<Obj> => (await fetch(`${stack().stripeUrl}/_test/state`)).json();
const deliver = (evt: object) => deliverEvent(stack().functionsUrl, evt);
const post = (name: string, user: User, body: unknown, account?: string) =>
  callFunction(name, {
    method: "POST",
    token: user.token,
    headers: { "content-type": "application/json", ...(account ? { "x-account-id": account } : {}) },
    body: JSON.stringify(body),
  });
const balanceOf = async (account: string) =>
  Number((await sql`select balance from public.wallets where account_id = ${account}`)[0].balance);
const planOf = async (account: string) => (await sql`select plan_id from public.accounts where id = ${account}`)[0].plan_id;
const reconcile = async (since: number) => {
  const res = await callFunction("stripe-reconcile", {
    method: "POST", token: stack().serviceRoleKey, headers: { "content-type": "application/json" },
    body: JSON.stringify({ since }),
  });
  const report = await res.json();
  expect(res.status, JSON.stringify(report)).toBe(200);
  return report as { changes: { id: string; outcome: string }[]; failures: unknown[] };
};

describe("billing for a team (X-Account-Id)", () => {
  const tag = crypto.randomUUID().slice(0, 8);
  let owner: User, admin: User, member: User, billing: User, stranger: User;
  let team: string;
  const teamName = `Acme ${tag}`;

  beforeAll(async () => {
    await syncStripeCatalog(createStripe("sk_test_saasbase_local", stack().stripeUrl), sql, stripeCatalog(config),
      config.currency);
    [owner, admin, member, billing, stranger] = await Promise.all(
      ["owner", "admin", "member", "billing", "stranger"].map((r) => createUser(sql, `team-${r}-${tag}@test.local`)),
    );
    [{ id: team }] = await asUser(sql, owner.id, (tx) => tx`select (public.create_team(${teamName}, ${`acme-${tag}`})).id`);
    for (const [u, role] of [[admin, "admin"], [member, "member"], [billing, "billing"]] as const) {
      await sql`insert into public.account_members (account_id, user_id, role) values (${team}, ${u.id}, ${role})`;
    }
    for (const u of [owner, admin, member, billing, stranger]) await setBalance(sql, u.id, 0);
  });

  it("a member whose role may not buy gets 403 account_forbidden, a stranger 404 account_not_found: nothing made at Stripe", async () => {
    const before = (await stripeState()).requests.length;
    for (const body of [{ pack: "credits_500" }, { amount_cents: 1500 }, { price: planLookupKey("plus", "month") }]) {
      const res = await post("checkout", member, body, team);
      expect([res.status, (await res.json()).error.code]).toEqual([403, "account_forbidden"]);
      const out = await post("checkout", stranger, body, team);
      expect([out.status, (await out.json()).error.code]).toEqual([404, "account_not_found"]);
    }
    const portal = await post("portal", member, {}, team);
    expect([portal.status, (await portal.json()).error.code]).toEqual([403, "account_forbidden"]);
    const outsider = await post("portal", stranger, {}, team);
    expect([outsider.status, (await outsider.json()).error.code]).toEqual([404, "account_not_found"]);
    // An unknown account looks like one the caller is not in; a header that is no id at all is malformed.
    const unknown = await post("checkout", owner, { pack: "credits_500" }, crypto.randomUUID());
    expect([unknown.status, (await unknown.json()).error.code]).toEqual([404, "account_not_found"]);
    const bad = await post("checkout", owner, { pack: "credits_500" }, "acme");
    expect(bad.status).toBe(422);
    expect((await stripeState()).requests.length).toBe(before);
    expect(await sql`select 1 from public.customers where account_id = ${team}`).toHaveLength(0);
  });

  it("a team buys credits through checkout and a signed webhook: the team's wallet grows, the buyer's own does not", async () => {
    const res = await post("checkout", billing, { pack: "credits_500" }, team);
    expect(res.status).toBe(200);
    const state = await stripeState();
    const session = state.sessions[(await res.json()).id];
    expect(session.metadata).toMatchObject({ account_id: team, kind: "credits", credits: "500", pack_id: "credits_500" });
    expect(session.client_reference_id).toBe(team);
    // The team's own Stripe customer: named after the team, with the email of the member who set it up.
    expect(state.customers[session.customer]).toMatchObject({
      name: teamName, email: `team-billing-${tag}@test.local`, metadata: { account_id: team },
    });
    expect((await sql`select stripe_customer_id from public.customers where account_id = ${team}`)[0].stripe_customer_id)
      .toBe(session.customer);
    expect(await sql`select 1 from public.customers where account_id = ${billing.id}`).toHaveLength(0);

    const paid = stripeEvent("checkout.session.completed", {
      ...session, status: "complete", payment_status: "paid", amount_total: 500, currency: "usd",
      payment_intent: `pi_team_${tag}`,
    });
    expect((await (await deliver(paid)).json()).outcome).toBe("applied");
    expect((await (await deliver(paid)).json()).outcome).toBe("duplicate");
    expect(await balanceOf(team)).toBe(500);
    for (const u of [owner, admin, member, billing]) expect(await balanceOf(u.id)).toBe(0);
    const [purchase] = await sql`select account_id, credits from public.purchases where checkout_session_id = ${session.id}`;
    expect(purchase).toEqual({ account_id: team, credits: 500 });
    // What the team bought is read by those who may buy for it, not by a plain member.
    const seen = async (u: User) =>
      (await asUser(sql, u.id, (tx) => tx`select 1 from public.purchases where checkout_session_id = ${session.id}`)).length;
    expect([await seen(owner), await seen(billing), await seen(member), await seen(stranger)]).toEqual([1, 1, 0, 0]);
  });

  it("a team subscribes: its plan and its plan credits, not the subscriber's; the quantity kept; idempotent", async () => {
    const res = await post("checkout", owner, { price: planLookupKey("plus", "month") }, team);
    expect(res.status).toBe(200);
    const session = (await stripeState()).sessions[(await res.json()).id];
    expect(session.mode).toBe("subscription");
    expect(session.subscription_data.metadata).toMatchObject({ account_id: team, kind: "subscription", plan_id: "plus" });
    const [{ id: price }] = await sql`select id from public.prices where lookup_key = ${planLookupKey("plus", "month")} and active`;
    // As Stripe makes it from the session: the subscription carries the session's metadata, its item the quantity.
    const period = Math.floor(Date.now() / 1000);
    const subscription = {
      id: `sub_team_${tag}`, object: "subscription", status: "active", customer: session.customer,
      metadata: session.subscription_data.metadata, cancel_at_period_end: false, canceled_at: null, created: period,
      items: { object: "list", data: [{ id: `si_team_${tag}`, object: "subscription_item", quantity: 3, price: { id: price },
        current_period_start: period, current_period_end: period + 30 * 86_400 }] },
    };
    await fetch(`${stack().stripeUrl}/_test/subscriptions`, { method: "POST", body: JSON.stringify(subscription) });
    const completed = stripeEvent("checkout.session.completed", {
      ...session, status: "complete", payment_status: "paid", subscription: subscription.id,
    });
    expect((await (await deliver(completed)).json()).outcome).toBe("applied");
    expect(await planOf(team)).toBe("plus");
    expect(await planOf(owner.id)).toBeNull();
    const [row] = await sql`select account_id, status, quantity, item_id from public.subscriptions where id = ${subscription.id}`;
    expect(row).toEqual({ account_id: team, status: "active", quantity: 3, item_id: `si_team_${tag}` });
    // Entitlements follow: the team's features are the plan's, the owner's own are not.
    const check = (account: string | null) =>
      asUser(sql, owner.id, async (tx) =>
        (await tx`select to_jsonb(public.check_feature('component_generation', 1, ${account})) as f`)[0].f);
    expect((await check(team)).plan).toBe("plus");
    expect((await check(null)).plan).not.toBe("plus");

    // The first invoice: the plan's credits into the team's wallet, once.
    const invoice = {
      id: `in_team_${tag}`, object: "invoice", customer: session.customer, status: "paid", currency: "usd",
      billing_reason: "subscription_create", amount_paid: 1900, amount_due: 1900, created: period,
      parent: { type: "subscription_details", subscription_details: { subscription: subscription.id, metadata: subscription.metadata } },
      lines: { object: "list", has_more: false, data: [{ id: `il_team_${tag}`, object: "line_item", period: { start: period, end: period + 30 * 86_400 },
        parent: { type: "subscription_item_details", invoice_item_details: null, subscription_item_details: { invoice_item: null,
          proration: false, proration_details: { credited_items: null }, subscription: subscription.id, subscription_item: `si_team_${tag}` } },
        pricing: { type: "price_details", price_details: { price } } }] },
    };
    const before = await balanceOf(team);
    const paid = stripeEvent("invoice.paid", invoice);
    expect((await (await deliver(paid)).json()).outcome).toBe("applied");
    expect((await (await deliver(paid)).json()).outcome).toBe("duplicate");
    const [{ monthly_credits: credits }] = await sql`select monthly_credits from public.plans where id = 'plus'`;
    expect(await balanceOf(team)).toBe(before + credits);
    expect(await balanceOf(owner.id)).toBe(0);
    expect((await sql`select account_id from public.invoices where id = ${invoice.id}`)[0].account_id).toBe(team);

    // One live subscription per account: the team's second is refused, the owner's own is theirs to buy.
    const again = await post("checkout", admin, { price: planLookupKey("business", "month") }, team);
    expect([again.status, (await again.json()).error.code]).toEqual([409, "already_subscribed"]);
    expect((await post("checkout", owner, { price: planLookupKey("business", "month") })).status).toBe(200);
    // The portal opens the team's customer for its billing managers.
    const portal = await post("portal", billing, {}, team);
    expect(portal.status).toBe(200);
    expect((await stripeState()).portalSessions.at(-1).customer).toBe(session.customer);

    // Reconciliation finds all of it applied already: the team's objects change nothing.
    const report = await reconcile(period - 60);
    const ours = report.changes.filter((c) => c.id.includes(tag) || c.id === session.id);
    expect(ours).toEqual([]);
    expect(await planOf(team)).toBe("plus");
    expect(await balanceOf(team)).toBe(before + credits);
  });

  it("two members checking out for a new team at once: one Stripe customer for the team, both sessions on it", async () => {
    const [{ id: fresh }] = await asUser(sql, owner.id, (tx) => tx`select (public.create_team('Fresh', ${`fresh-${tag}`})).id`);
    await sql`insert into public.account_members (account_id, user_id, role) values (${fresh}, ${billing.id}, 'billing')`;
    const answers = await Promise.all([owner, billing].map((u) => post("checkout", u, { pack: "credits_500" }, fresh)));
    expect(answers.map((r) => r.status)).toEqual([200, 200]);
    const state = await stripeState();
    const sessions = await Promise.all(answers.map(async (r) => state.sessions[(await r.json()).id]));
    const made = (Object.values(state.customers) as Obj[]).filter((c) => c.metadata.account_id === fresh);
    expect(made).toHaveLength(1);
    expect(sessions.map((s) => s.customer)).toEqual([made[0].id, made[0].id]);
    expect((await sql`select stripe_customer_id from public.customers where account_id = ${fresh}`).map((c) => c.stripe_customer_id))
      .toEqual([made[0].id]);
  });

  it("reconciliation applies a team's lost checkout to the team, once", async () => {
    const res = await post("checkout", admin, { amount_cents: 700 }, team);
    expect(res.status).toBe(200);
    const session = (await stripeState()).sessions[(await res.json()).id];
    const at = Math.floor(Date.now() / 1000);
    // Paid at Stripe; its webhook never arrived.
    await fetch(`${stack().stripeUrl}/_test/put/sessions`, {
      method: "POST",
      body: JSON.stringify({ ...session, status: "complete", payment_status: "paid", amount_total: 700, currency: "usd",
        payment_intent: `pi_lost_${tag}`, created: at }),
    });
    const credits = Number(session.metadata.credits);
    expect(credits).toBeGreaterThan(0);
    const before = await balanceOf(team);
    const first = await reconcile(at - 60);
    expect(first.changes.filter((c) => c.id === session.id).map((c) => c.outcome)).toEqual(["applied"]);
    expect(await balanceOf(team)).toBe(before + credits);
    expect(await balanceOf(admin.id)).toBe(0);
    const second = await reconcile(at - 60);
    expect(second.changes.filter((c) => c.id === session.id)).toEqual([]);
    expect(await balanceOf(team)).toBe(before + credits);
  });
});
