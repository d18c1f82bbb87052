// Stripe reconciliation end to end: the stripe-reconcile function (and `npm run stripe:reconcile`) with the real
// stripe SDK against the local Stripe server, which lists what a test put there as Stripe lists it. Each
// scenario is one user's billing history at Stripe (credit packs, a refund, a chargeback, a subscription and
// its invoices, one refunded, one failed): delivered through the webhook to one user, lost (never delivered)
// for its twin, and the twin's state after reconciling must be the same, row for row.
import { execFile } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { syncStripeCatalog } from "../src/billing/stripe-sync.ts";
import { planLookupKey, stripeCatalog } from "../supabase/functions/_shared/billing-catalog.ts";
import { config } from "../supabase/functions/_shared/config.ts";
import { createStripe } from "../supabase/functions/_shared/stripe-client.ts";
import { callFunction, connectDb, createUser, setBalance, stack, TEST_FUNCTION_ENV } from "./support/stack.ts";
import { deliverEvent, stripeEvent } from "./support/stripe-webhook.ts";

const sql = connectDb();
const now = () => Math.floor(Date.now() / 1000);
const DAY = 86_400;
let plusPrice: string;

type Obj = Record<string, any>;
interface Scenario {
  tag: string;
  user: { id: string; token: string };
  /** Stripe's objects, by collection of the local server. */
  objects: Record<"sessions" | "subscriptions" | "invoices" | "charges" | "refunds" | "disputes", Obj[]>;
  invoicePayments: Obj[];
  /** The events Stripe sent, oldest first. */
  events: Obj[];
}

/** One user's billing history at Stripe from time `t` on; every id carries `tag`. */
async function scenario(t: number): Promise<Scenario> {
  const tag = `r${crypto.randomUUID().replaceAll("-", "").slice(0, 10)}`;
  const user = await createUser(sql, `${tag}@test.local`);
  await setBalance(sql, user.id, 0);
  const customer = `cus_${tag}`;
  const metadata = { user_id: user.id };
  const pack = (n: number, credits: number, at: number) => ({
    id: `cs_${tag}_${n}`, object: "checkout.session", mode: "payment", status: "complete", payment_status: "paid", customer,
    client_reference_id: user.id, amount_total: credits, currency: "usd", payment_intent: `pi_${tag}_${n}`, created: at,
    metadata: { ...metadata, kind: "credits", credits: String(credits), discount_percent: "0", pack_id: "credits_500" },
  });
  const session1 = pack(1, 1000, t);
  const session2 = pack(2, 500, t + 2);
  const charge1 = { id: `ch_${tag}_1`, object: "charge", payment_intent: session1.payment_intent, amount: 1000, amount_refunded: 300,
    refunded: false, created: t };
  const refund1 = { id: `re_${tag}_1`, object: "refund", charge: charge1.id, payment_intent: charge1.payment_intent, amount: 300,
    status: "succeeded", created: t + 1 };
  const charge2 = { id: `ch_${tag}_2`, object: "charge", payment_intent: session2.payment_intent, amount: 500, amount_refunded: 0,
    created: t + 2 };
  const dispute = { id: `dp_${tag}`, object: "dispute", charge: charge2.id, payment_intent: session2.payment_intent, amount: 200,
    currency: "usd", status: "lost", reason: "fraudulent", created: t + 3 };
  // The subscription's period is the same in every scenario, so twins created at different times compare equal.
  const period = 1_790_000_000;
  const subscription = { id: `sub_${tag}`, object: "subscription", status: "active", customer, metadata, created: t + 4,
    cancel_at_period_end: false, canceled_at: null,
    items: { object: "list", data: [{ id: `si_${tag}`, price: { id: plusPrice }, current_period_start: period,
      current_period_end: period + 30 * DAY }] } };
  const session3 = { id: `cs_${tag}_3`, object: "checkout.session", mode: "subscription", status: "complete", payment_status: "paid",
    customer, subscription: subscription.id, client_reference_id: user.id, metadata, created: t + 4 };
  const invoiceOf = (n: number, status: string, extra: Obj) => ({
    id: `in_${tag}_${n}`, object: "invoice", customer, status, currency: "usd", billing_reason: "subscription_create",
    parent: { type: "subscription_details", subscription_details: { subscription: subscription.id } },
    lines: { object: "list", data: [{ id: `il_${tag}_${n}`, object: "line_item", period: { start: period, end: period + 30 * DAY },
      // The subscription item's line for the period (Stripe's documented shape: what opens a period).
      parent: { type: "subscription_item_details", invoice_item_details: null, subscription_item_details: { invoice_item: null,
        proration: false, proration_details: { credited_items: null }, subscription: subscription.id, subscription_item: `si_${tag}` } },
      pricing: { type: "price_details", price_details: { price: plusPrice } } }] },
    ...extra,
  });
  const invoice1 = invoiceOf(1, "paid", { amount_paid: 1900, amount_due: 1900, created: t + 5, status_transitions: { paid_at: t + 5 } });
  const invoiceCharge = { id: `ch_${tag}_in`, object: "charge", payment_intent: `pi_${tag}_in`, amount: 1900, amount_refunded: 950,
    created: t + 5 };
  const invoiceRefund = { id: `re_${tag}_in`, object: "refund", charge: invoiceCharge.id, payment_intent: invoiceCharge.payment_intent,
    amount: 950, status: "succeeded", created: t + 6 };
  const invoice2 = invoiceOf(2, "open", { billing_reason: "subscription_cycle", amount_paid: 0, amount_due: 1900, attempt_count: 1,
    created: t + 7, hosted_invoice_url: `https://invoice.stripe.test/${tag}` });
  let n = 0;
  const event = (type: string, object: Obj, created: number) => stripeEvent(type, object, { id: `evt_${tag}_${++n}`, created });
  return {
    tag,
    user,
    objects: {
      sessions: [session1, session2, session3],
      subscriptions: [subscription],
      invoices: [invoice1, invoice2],
      charges: [charge1, charge2, invoiceCharge],
      refunds: [refund1, invoiceRefund],
      disputes: [dispute],
    },
    invoicePayments: [{ invoice: invoice1.id, payment_intent: invoiceCharge.payment_intent, amount_paid: 1900 }],
    events: [
      event("checkout.session.completed", session1, t),
      event("charge.refunded", charge1, t + 1),
      event("checkout.session.completed", session2, t + 2),
      event("charge.dispute.funds_withdrawn", dispute, t + 3),
      event("checkout.session.completed", session3, t + 4),
      event("customer.subscription.created", subscription, t + 4),
      event("invoice.paid", invoice1, t + 5),
      event("charge.refunded", invoiceCharge, t + 6),
      event("invoice.payment_failed", invoice2, t + 7),
    ],
  };
}

/** Puts a scenario's objects and events at the local Stripe: what Stripe has on record. */
async function atStripe(s: Scenario) {
  const put = (collection: string, body: unknown) =>
    fetch(`${stack().stripeUrl}/_test/put/${collection}`, { method: "POST", body: JSON.stringify(body) });
  for (const [collection, objects] of Object.entries(s.objects)) await put(collection, objects);
  await put("events", s.events);
  for (const p of s.invoicePayments) {
    await fetch(`${stack().stripeUrl}/_test/invoice_payments`, { method: "POST", body: JSON.stringify(p) });
  }
}

async function deliver(evt: Obj, status = 200) {
  const res = await deliverEvent(stack().functionsUrl, evt);
  expect(res.status).toBe(status);
  return res.json();
}

const reconcileCall = (body: unknown, token = stack().serviceRoleKey) =>
  callFunction("stripe-reconcile", { method: "POST", token, headers: { "content-type": "application/json" }, body: JSON.stringify(body) });

async function reconcile(body: unknown) {
  const res = await reconcileCall(body);
  const report = await res.json();
  expect(res.status, JSON.stringify(report)).toBe(200);
  return report;
}

/** Everything billing wrote for a scenario's user, as text with the scenario's tag and every uuid (the user's,
 * the purchases') made neutral, so that twins compare equal. `exact`: the stored events and the order of the
 * ledger (balance after each row) too, for histories applied event by event in the same order. */
async function stateOf(s: Scenario, exact = true) {
  const u = s.user.id;
  const rows = {
    wallet: await sql`select balance from public.wallets where account_id = ${u}`,
    ledger: exact
      ? await sql`select kind, amount, balance_after, reason, idempotency_key, reference from public.credit_ledger
          where account_id = ${u} order by id`
      : await sql`select kind, amount, reason, idempotency_key, reference from public.credit_ledger
          where account_id = ${u}`,
    purchases: await sql`select checkout_session_id, payment_intent_id, pack_id, credits, amount_cents, currency, discount_percent,
        status, refunded_cents, credits_clawed_back from public.purchases where account_id = ${u} order by checkout_session_id`,
    subscriptions: await sql`select id, status, plan_id, price_id, current_period_start, current_period_end, cancel_at_period_end,
        canceled_at ${exact ? sql`, stripe_event_at` : sql``} from public.subscriptions where account_id = ${u} order by id`,
    invoices: await sql`select id, subscription_id, status, amount_paid, amount_due, currency, credits_granted, refunded_cents,
        credits_clawed_back, hosted_invoice_url from public.invoices where account_id = ${u} order by id`,
    customers: await sql`select stripe_customer_id from public.customers where account_id = ${u}`,
    plan: await sql`select plan_id from public.accounts where id = ${u}`,
    disputes: await sql`select dispute_id, payment_intent_id, amount from saasbase.disputes
      where dispute_id like ${`%${s.tag}%`} order by dispute_id`,
    // When a receipt's payment was recorded (paid_at) is the moment this path ran, as created_at is elsewhere.
    email: await sql`select template, dedupe_key, payload - 'paid_at' as payload from public.email_outbox
      where user_id = ${u} order by dedupe_key`,
    events: exact
      ? await sql`select id, type, stripe_created_at, processed_at is not null as processed, last_error from public.stripe_events
          where id like ${`evt_${s.tag}_%`} order by id`
      : [],
  };
  const neutral = JSON.parse(
    JSON.stringify(rows).replaceAll(s.tag, "TAG")
      .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, "UUID"),
  );
  if (!exact) neutral.ledger = neutral.ledger.map((r: Obj) => JSON.stringify(r)).sort();
  return neutral;
}

const mine = (report: { changes: Obj[] }, s: Scenario) => report.changes.filter((c) => c.id.includes(s.tag));
/** A scenario's failures (the shared test stack holds other files' leftovers, reported on their own). */
const failed = (report: { failures: Obj[] }, s: Scenario) => report.failures.filter((f) => f.id.includes(s.tag));

let delivered: Scenario; // the history as the webhook applied it: what every twin must come to
let deliveredState: unknown;
let deliveredLoose: unknown;
const T = now() - 2 * DAY; // inside Stripe's 30 days of events, past its 3 days of retries for a lost one

beforeAll(async () => {
  await syncStripeCatalog(createStripe("sk_test_saasbase_local", stack().stripeUrl), sql, stripeCatalog(config), config.currency);
  [{ id: plusPrice }] = await sql`select id from public.prices where lookup_key = ${planLookupKey("plus", "month")} and active`;
  delivered = await scenario(T);
  await atStripe(delivered);
  for (const e of delivered.events) await deliver(e);
  deliveredState = await stateOf(delivered);
  deliveredLoose = await stateOf(delivered, false);
  // The history did something worth comparing: credits granted and taken back, a plan, a failed payment's mail.
  expect(deliveredState).toMatchObject({
    wallet: [{ balance: "1500" }],
    purchases: [{ status: "partially_refunded", credits_clawed_back: 300 }, { credits_clawed_back: 200 }],
    invoices: [{ status: "paid", credits_granted: 1000, credits_clawed_back: 500 }, { status: "payment_failed" }],
    plan: [{ plan_id: "plus" }],
  });
  // ... and mail: the failed payment's, beside the receipts and lifecycle mails of the notifications domain.
  expect((deliveredState as { email: { template: string }[] }).email.map((m) => m.template))
    .toEqual(expect.arrayContaining(["payment_failed", "receipt", "subscription_started"]));
});
afterAll(() => sql.end());

describe("stripe-reconcile", () => {
  it("applies webhooks that never arrived: the same state as delivered, and a second run changes nothing", async () => {
    const lost = await scenario(T);
    await atStripe(lost);
    const report = await reconcile({ since: T - 60 });
    expect(mine(report, lost).map((c) => [c.source, c.id.replace(lost.tag, "TAG")]))
      .toEqual(delivered.events.map((e) => ["event", e.id.replace(delivered.tag, "TAG")]));
    expect(failed(report, lost)).toEqual([]);
    expect(await stateOf(lost)).toEqual(deliveredState);

    const requests = async () => (await (await fetch(`${stack().stripeUrl}/_test/state`)).json()).requests as { path: string }[];
    const before = (await requests()).length;
    const again = await reconcile({ since: T - 60 });
    expect(again.changes).toEqual([]);
    expect(failed(again, lost)).toEqual([]);
    // What the mirror has is not fetched again: the subscription checkout's subscription is not asked for.
    expect((await requests()).slice(before).filter((r) => r.path === `/v1/subscriptions/sub_${lost.tag}`)).toEqual([]);
    expect(again.listed.event).toBeGreaterThanOrEqual(2 * delivered.events.length);
    expect(await stateOf(lost)).toEqual(deliveredState);
  });

  it("stored events deleted: reapplied without effect, the state exactly as before", async () => {
    const s = await scenario(T);
    await atStripe(s);
    for (const e of s.events) await deliver(e);
    const before = await stateOf(s);
    expect(before).toEqual(deliveredState);
    // The event log and the subscription's mirror lost (a restore from an older backup, say).
    await sql`delete from public.stripe_events where id like ${`evt_${s.tag}_%`}`;
    await sql`delete from public.subscriptions where account_id = ${s.user.id}`;
    const report = await reconcile({ since: T - 60 });
    // Each event stored again; the chargeback's SQL knows its dispute already (the others are idempotent quietly).
    expect(mine(report, s)).toHaveLength(s.events.length - 1);
    expect(report.unmatched.filter((c: Obj) => c.id.includes(s.tag))).toEqual([
      { source: "event", id: s.events[3].id, type: "charge.dispute.funds_withdrawn", outcome: "duplicate" },
    ]);
    expect(failed(report, s)).toEqual([]);
    expect(await stateOf(s)).toEqual(before);
    expect((await reconcile({ since: T - 60 })).changes).toEqual([]);
  });

  it("past Stripe's 30 days of events: the objects themselves are listed and applied", async () => {
    const old = await scenario(now() - 40 * DAY);
    await atStripe(old);
    // Stripe no longer lists these events.
    const stripe = createStripe("sk_test_saasbase_local", stack().stripeUrl);
    expect((await stripe.events.list({ created: { gte: now() - 41 * DAY, lt: now() - 39 * DAY } })).data).toEqual([]);
    const report = await reconcile({ since: now() - 41 * DAY });
    expect(failed(report, old)).toEqual([]);
    expect(mine(report, old).map((c) => `${c.source} ${c.type}`).sort()).toEqual([
      "charge charge.refunded", "charge charge.refunded", "checkout_session checkout.session.completed",
      "checkout_session checkout.session.completed", "checkout_session checkout.session.completed",
      "dispute charge.dispute.funds_withdrawn", "invoice invoice.paid", "invoice invoice.payment_failed",
    ]);
    // The same rows as the webhook wrote (in another order, so the ledger compares as a set); no event stored
    // that Stripe never sent.
    expect(await stateOf(old, false)).toEqual(deliveredLoose);
    expect(await sql`select 1 from public.stripe_events where id like ${`%${old.tag}%`}`).toHaveLength(0);
    const again = await reconcile({ since: now() - 41 * DAY });
    expect(again.changes).toEqual([]);
    expect(await stateOf(old, false)).toEqual(deliveredLoose);
  });

  it("a subscription changed at Stripe with no event we got is brought up to date, whenever it was created", async () => {
    const s = await scenario(now() - 60 * DAY);
    await atStripe(s);
    await reconcile({ since: now() - 61 * DAY });
    expect((await sql`select status from public.subscriptions where id = ${`sub_${s.tag}`}`)[0].status).toBe("active");
    // Canceled at Stripe (say 35 days ago, its event long gone): a run from the last hour still finds it, as
    // one we have as live.
    const canceled: Obj = { ...s.objects.subscriptions[0], status: "canceled", canceled_at: now() - 35 * DAY };
    await fetch(`${stack().stripeUrl}/_test/put/subscriptions`, { method: "POST", body: JSON.stringify(canceled) });
    const report = await reconcile({ since: now() - 3600 });
    expect(mine(report, s)).toEqual([{ source: "subscription", id: canceled.id, type: "customer.subscription.updated", outcome: "applied" }]);
    const [row] = await sql`select status, extract(epoch from canceled_at)::int as canceled_at from public.subscriptions where id = ${canceled.id}`;
    expect(row).toEqual({ status: "canceled", canceled_at: canceled.canceled_at });
    expect((await sql`select plan_id from public.accounts where id = ${s.user.id}`)[0].plan_id).toBeNull();
    expect(mine(await reconcile({ since: now() - 3600 }), s)).toEqual([]);
  });

  it("a live subscription Polar sold is not Stripe's to look up (no unknown_at_stripe)", async () => {
    const user = await createUser(sql, `polar-sub-${crypto.randomUUID()}@test.local`);
    const id = crypto.randomUUID();
    await sql`insert into public.subscriptions (id, account_id, status, stripe_event_at, provider)
      values (${id}, ${user.id}, 'active', now(), 'polar')`;
    const stripeSub = `sub_gone_${crypto.randomUUID().slice(0, 8)}`;
    await sql`insert into public.subscriptions (id, account_id, status, stripe_event_at)
      values (${stripeSub}, ${user.id}, 'active', now())`;
    const report = await reconcile({ since: now() - 3600 });
    expect(report.unknown_at_stripe).toContain(stripeSub);
    expect(report.unknown_at_stripe).not.toContain(id);
    await sql`delete from public.subscriptions where id in (${id}, ${stripeSub})`;
  });

  it("a subscription's state read by a run loses to the webhook of a later change, whichever is applied first", async () => {
    const s = await scenario(T);
    await atStripe(s);
    for (const e of s.events) await deliver(e);
    const sub = s.objects.subscriptions[0];
    const stripePost = (path: string, body: unknown) =>
      fetch(`${stack().stripeUrl}/_test/${path}`, { method: "POST", body: JSON.stringify(body) });
    // Our clock runs two minutes ahead of Stripe's (its Date header, and its events' `created`).
    const skew = 120;
    const stripeNow = () => now() - skew;
    const statusOf = async () => (await sql`select status from public.subscriptions where id = ${sub.id}`)[0].status;
    // At Stripe the card failed (that event lost), then the payment is recovered: its event is delivered.
    const recovered = (n: number) => {
      const active = { ...sub, status: "active" };
      return { active, event: stripeEvent("customer.subscription.updated", active, { id: `evt_${s.tag}_recovered${n}`,
        created: stripeNow() }) };
    };
    await stripePost("clock", { offset_seconds: -skew });
    try {
      // The run's state applied first, the webhook's after it.
      await stripePost("put/subscriptions", { ...sub, status: "past_due" });
      const readFrom = stripeNow();
      const first = await reconcile({ since: T - 60 });
      expect(mine(first, s)).toEqual([{ source: "subscription", id: sub.id, type: "customer.subscription.updated", outcome: "applied" }]);
      expect(await statusOf()).toBe("past_due");
      // Stamped by Stripe's clock when it answered, a little before it: never ahead of it, nor of what follows.
      const [{ at }] = await sql`select extract(epoch from stripe_event_at)::float as at from public.subscriptions
        where id = ${sub.id}`;
      expect(at).toBeGreaterThanOrEqual(readFrom - 2);
      expect(at).toBeLessThan(stripeNow());
      const one = recovered(1);
      await stripePost("put/subscriptions", one.active);
      await deliver(one.event);
      expect(await statusOf()).toBe("active");

      // The run reads the state, the change's webhook is applied, then the run applies what it read.
      await stripePost("put/subscriptions", { ...sub, status: "past_due" });
      const listed = async () => (await (await fetch(`${stack().stripeUrl}/_test/state`)).json()).requests
        .filter((r: { path: string }) => r.path === "/v1/subscriptions").length;
      const before = await listed();
      await stripePost("hold", { paths: ["/v1/subscriptions"] });
      const run = reconcile({ since: T - 60 });
      try {
        while ((await listed()) === before) await new Promise((r) => setTimeout(r, 50));
        const two = recovered(2);
        await stripePost("put/subscriptions", two.active);
        await deliver(two.event);
      } finally {
        await stripePost("hold", { paths: [] });
      }
      const second = await run;
      expect(failed(second, s)).toEqual([]);
      expect(await statusOf()).toBe("active");
      expect((await sql`select plan_id from public.accounts where id = ${s.user.id}`)[0].plan_id).toBe("plus");
    } finally {
      await stripePost("clock", { offset_seconds: 0 });
      await stripePost("hold", { paths: [] });
    }
  });

  it("two runs racing each other and the webhook delivering the same events: each applied once", async () => {
    const s = await scenario(T);
    await atStripe(s);
    const [one, two] = await Promise.all([
      reconcile({ since: T - 60 }),
      reconcile({ since: T - 60 }),
      (async () => {
        for (const e of s.events) await deliver(e);
      })(),
    ]);
    expect([...failed(one, s), ...failed(two, s)]).toEqual([]);
    // Whatever the interleaving, the history applied once (the order of the ledger may differ).
    expect(await stateOf(s, false)).toEqual(deliveredLoose);
    expect((await stateOf(s)).events).toEqual((deliveredState as { events: unknown }).events);
  });

  it("by default, starts from the last complete run, less the margin", async () => {
    expect((await reconcile({ since: now() - 60 })).complete).toBe(true);
    const [{ last }] = await sql`select extract(epoch from max(started_at))::int as last from saasbase.stripe_reconciliations
      where complete and contiguous`;
    const report = await reconcile({});
    expect(report.complete).toBe(true);
    expect(Date.parse(report.since) / 1000).toBe(last - 3600);
    const narrow = await reconcile({ margin_seconds: 0 });
    expect(Date.parse(narrow.since)).toBe(Date.parse(report.started_at));
    expect(narrow.changes).toEqual([]);
  });

  it("a run from a later time leaves the gap before it to the next default run: a payment lost in it is applied", async () => {
    // Reconciled up to now; then a credit pack is paid and its webhook lost.
    const first = await reconcile({ margin_seconds: 0 });
    expect(first.complete).toBe(true);
    await new Promise((r) => setTimeout(r, 1100));
    const s = await scenario(now());
    const session = s.objects.sessions[0];
    await fetch(`${stack().stripeUrl}/_test/put/sessions`, { method: "POST", body: JSON.stringify([session]) });
    await fetch(`${stack().stripeUrl}/_test/put/events`, { method: "POST", body: JSON.stringify([s.events[0]]) });
    await new Promise((r) => setTimeout(r, 2100));
    // An admin reconciles the last second only: complete, and the lost payment is not in its window.
    const recent = await reconcile({ since: now() - 1 });
    expect(recent.complete).toBe(true);
    expect(mine(recent, s)).toEqual([]);
    // The next default run (pg_cron's) still lists from where the runs had reached, and finds it.
    const next = await reconcile({ margin_seconds: 0 });
    expect(Date.parse(next.since)).toBe(Date.parse(first.started_at));
    expect(mine(next, s)).toEqual([{ source: "event", id: s.events[0].id, type: "checkout.session.completed", outcome: "applied" }]);
    expect((await sql`select balance::int from public.wallets where account_id = ${s.user.id}`)[0].balance).toBe(1000);
  });

  it("an event the database could not even keep leaves the run incomplete: the next default run lists it again", async () => {
    const s = await scenario(T);
    await atStripe(s);
    // The database refuses to store this user's events (as when it goes away mid-run): processEvent cannot keep
    // them for a retry.
    await sql.unsafe(`create function public.refuse_${s.tag}() returns trigger language plpgsql as $$
      begin raise exception 'connection lost'; end $$`);
    await sql.unsafe(`create trigger refuse_${s.tag} before insert on public.stripe_events for each row
      when (new.id like 'evt_${s.tag}_%') execute function public.refuse_${s.tag}()`);
    let report: Obj & { failures: Obj[] };
    try {
      report = await reconcile({ since: T - 60 });
    } finally {
      await sql.unsafe(`drop trigger refuse_${s.tag} on public.stripe_events; drop function public.refuse_${s.tag}()`);
    }
    expect(failed(report, s).filter((f: Obj) => f.source === "event").length).toBeGreaterThan(0);
    expect(await sql`select 1 from public.stripe_events where id like ${`evt_${s.tag}_%`}`).toHaveLength(0);
    // Nothing else made it incomplete: only the events it could not keep.
    expect(report.failures.filter((f: Obj) => !f.id.includes(s.tag) && f.source !== "event" && f.source !== "stored_event"))
      .toEqual([]);
    expect(report.complete).toBe(false);
    const [{ complete }] = await sql`select complete from saasbase.stripe_reconciliations order by id desc limit 1`;
    expect(complete).toBe(false);
    const again = await reconcile({ since: T - 60 });
    expect(failed(again, s)).toEqual([]);
    expect(await stateOf(s, false)).toEqual(deliveredLoose);
  });

  it("pages through Stripe's lists: 120 lost credit-pack checkouts, each applied once", async () => {
    const s = await scenario(T);
    const t = now() - 3 * DAY;
    const sessions = Array.from({ length: 120 }, (_, i) => ({
      ...s.objects.sessions[0], id: `cs_${s.tag}_p${i}`, payment_intent: `pi_${s.tag}_p${i}`, amount_total: 10, created: t + i,
      metadata: { ...s.objects.sessions[0].metadata, credits: "10" },
    }));
    await fetch(`${stack().stripeUrl}/_test/put/sessions`, { method: "POST", body: JSON.stringify(sessions) });
    await fetch(`${stack().stripeUrl}/_test/put/events`, { method: "POST", body: JSON.stringify(sessions.map((x, i) => ({
      id: `evt_${s.tag}_p${i}`, object: "event", type: "checkout.session.completed", created: x.created, data: { object: x },
    }))) });
    const before = (await (await fetch(`${stack().stripeUrl}/_test/state`)).json()).requests.length;
    const report = await reconcile({ since: t });
    expect(mine(report, s)).toHaveLength(120);
    expect((await sql`select balance::int from public.wallets where account_id = ${s.user.id}`)[0].balance).toBe(1200);
    const requests: { path: string; query?: Obj }[] = (await (await fetch(`${stack().stripeUrl}/_test/state`)).json()).requests.slice(before);
    const pages = requests.filter((r) => r.path === "/v1/events");
    expect(pages.length).toBeGreaterThanOrEqual(2);
    expect(pages[0].query).toMatchObject({ created: { gte: String(t) }, limit: "100" });
    expect(pages[0].query!.types).toContain("invoice.paid");
    expect(pages[1].query!.starting_after).toMatch(/^evt_/);
    expect(requests.filter((r) => r.path === "/v1/checkout/sessions" && r.query?.starting_after).length).toBeGreaterThanOrEqual(1);
    expect((await reconcile({ since: t })).changes).toEqual([]);
  });

  it("a list the key may not read is a failure of its own: the rest is applied, and the run is not complete", async () => {
    const s = await scenario(now() - 40 * DAY);
    await atStripe(s);
    const refuse = (paths: string[]) =>
      fetch(`${stack().stripeUrl}/_test/refuse`, { method: "POST", body: JSON.stringify({ paths }) });
    await refuse(["/v1/disputes"]);
    try {
      const report = await reconcile({ since: now() - 41 * DAY });
      expect(report.failures).toContainEqual(expect.objectContaining({ source: "dispute", id: "(list)",
        error: expect.stringMatching(/permissions/) }));
      expect(failed(report, s)).toEqual([]);
      expect(report.complete).toBe(false);
      expect(mine(report, s)).toHaveLength(7); // all but the chargeback
      // The next run's default start is not past this one: what it could not list is listed again.
      const [{ complete }] = await sql`select complete from saasbase.stripe_reconciliations order by id desc limit 1`;
      expect(complete).toBe(false);
    } finally {
      await refuse([]);
    }
    const report = await reconcile({ since: now() - 41 * DAY });
    expect(mine(report, s)).toEqual([{ source: "dispute", id: `dp_${s.tag}`, type: "charge.dispute.funds_withdrawn", outcome: "applied" }]);
    expect(await stateOf(s, false)).toEqual(deliveredLoose);
  });

  it("a new deployment's backfill: everything Stripe has, from the beginning", async () => {
    const s = await scenario(now() - 90 * DAY);
    await atStripe(s);
    const report = await reconcile({ since: null });
    expect(report.since).toBeNull();
    expect(failed(report, s)).toEqual([]);
    expect(await stateOf(s, false)).toEqual(deliveredLoose);
    expect((await reconcile({ since: null })).changes).toEqual([]);
  });

  it("a customer linked to no user: its events wait (not failures), and apply once the customer is linked", async () => {
    const s = await scenario(T);
    // Stripe names no user of ours on any of it: only the customer could tell, and it is linked to nobody.
    for (const objects of Object.values(s.objects)) {
      for (const o of objects) {
        if (o.metadata) delete o.metadata.user_id;
        if ("client_reference_id" in o) o.client_reference_id = null;
      }
    }
    await atStripe(s);
    const report = await reconcile({ since: T - 60 });
    // The invoice's refund cannot be applied before its invoice, which waits: a failure (the event is kept).
    expect(failed(report, s).map((f: Obj) => [f.source, f.id])).toEqual([["event", s.events[7].id], ["charge", `ch_${s.tag}_in`]]);
    expect(failed(report, s)[0].error).toMatch(/not recorded as paid/);
    expect(report.complete).toBe(false);
    const waiting = report.waiting.filter((c: Obj) => c.id.includes(s.tag));
    // The checkouts, the subscription and the invoices wait; the purchases' refund and chargeback are held for
    // their purchase, as the webhook holds them.
    expect(waiting.filter((c: Obj) => c.source === "event").map((c: Obj) => c.id))
      .toEqual([0, 2, 4, 5, 6, 8].map((i) => s.events[i].id));
    expect(mine(report, s).map((c) => [c.id, c.outcome])).toEqual([[s.events[1].id, "held"], [s.events[3].id, "held"]]);
    expect(await sql`select 1 from public.purchases where checkout_session_id like ${`cs_${s.tag}_%`}`).toHaveLength(0);
    // The user signs in and checks out: the customer is theirs now (as the checkout function links it).
    await sql`insert into public.customers (account_id, stripe_customer_id) values (${s.user.id}, ${`cus_${s.tag}`})`;
    const linked = await reconcile({ since: T - 60 });
    expect(failed(linked, s)).toEqual([]);
    expect(linked.waiting.filter((c: Obj) => c.id.includes(s.tag))).toEqual([]);
    // The same rows as delivered, but that a chargeback held for its purchase names the payment intent in its
    // ledger row (the SQL's held path), not the dispute.
    const expected = JSON.parse(JSON.stringify(deliveredLoose).replace('\\"reference\\":\\"dp_TAG\\"', '\\"reference\\":\\"pi_TAG_2\\"'));
    expect(expected).not.toEqual(deliveredLoose);
    expect(await stateOf(s, false)).toEqual(expected);
    expect((await reconcile({ since: T - 60 })).changes).toEqual([]);
  });

  it("a paid checkout naming no user and no customer is reported once as unlinkable, never retried, never dropped", async () => {
    const s = await scenario(T);
    // A guest checkout (no customer) whose metadata names no user of ours: neither a link nor a retry can apply it.
    const guest = (id: string, at: number) => {
      const { user_id: _, ...metadata } = s.objects.sessions[0].metadata;
      return { ...s.objects.sessions[0], id: `cs_${s.tag}_${id}`, payment_intent: `pi_${s.tag}_${id}`, customer: null,
        client_reference_id: null, metadata, created: at };
    };
    const recent = guest("guest", T);
    const evt = stripeEvent("checkout.session.completed", recent, { id: `evt_${s.tag}_guest`, created: T });
    await fetch(`${stack().stripeUrl}/_test/put/sessions`, { method: "POST", body: JSON.stringify(recent) });
    await fetch(`${stack().stripeUrl}/_test/put/events`, { method: "POST", body: JSON.stringify(evt) });
    expect((await deliver(evt, 409)).error.code).toBe("customer_not_linked");
    const stored = async () => (await sql`select processed_at is null as pending, attempts, customer_id,
        unlinkable_at is not null as unlinkable, payload #>> '{data,object,amount_total}' as paid
      from public.stripe_events where id = ${evt.id}`)[0];
    expect(await stored()).toEqual({ pending: true, attempts: 1, customer_id: null, unlinkable: true, paid: "1000" });
    const mineIn = (list: Obj[]) => list.filter((c) => c.id.includes(s.tag));

    // The next run reports it, as unlinkable and not as waiting, and does not retry it.
    const first = await reconcile({ since: T - 60 });
    expect(mineIn(first.unlinkable)).toEqual([{ source: "event", id: evt.id, type: "checkout.session.completed", outcome: "unlinkable" }]);
    expect(mineIn(first.waiting)).toEqual([]);
    expect(failed(first, s)).toEqual([]);
    expect((await stored()).attempts).toBe(1);
    // Once: later runs, whether they list it or only find it stored, neither retry nor report it again.
    for (const since of [T - 60, now() - 60]) {
      const again = await reconcile({ since });
      expect([mineIn(again.unlinkable), mineIn(again.waiting), failed(again, s)]).toEqual([[], [], []]);
    }
    // Never dropped: still there, unprocessed, for an admin; no credits went anywhere.
    expect(await stored()).toEqual({ pending: true, attempts: 1, customer_id: null, unlinkable: true, paid: "1000" });
    expect(await sql`select 1 from public.purchases where checkout_session_id like ${`cs_${s.tag}_%`}`).toHaveLength(0);

    // Past Stripe's 30 days of events, the session itself: unlinkable too, and nothing stored that Stripe never sent.
    const old = guest("old", now() - 40 * DAY);
    await fetch(`${stack().stripeUrl}/_test/put/sessions`, { method: "POST", body: JSON.stringify(old) });
    const past = await reconcile({ since: now() - 41 * DAY });
    expect(mineIn(past.unlinkable)).toEqual([{ source: "checkout_session", id: old.id, type: "checkout.session.completed",
      outcome: "unlinkable" }]);
    expect(mineIn(past.waiting)).toEqual([]);
    expect(await sql`select 1 from public.stripe_events where id like ${`%${s.tag}_old%`}`).toHaveLength(0);
  });

  it("answers a bad request with a 4xx JSON error, and changes nothing", async () => {
    const [{ runs }] = await sql`select count(*)::int as runs from saasbase.stripe_reconciliations`;
    const user = await createUser(sql, `notadmin-${crypto.randomUUID()}@test.local`);
    const cases: [RequestInit & { token?: string }, number, string][] = [
      [{ method: "POST", token: user.token, body: "{}" }, 403, "admin_only"],
      [{ method: "POST", token: stack().anonKey, body: "{}" }, 403, "admin_only"],
      [{ method: "GET", token: stack().serviceRoleKey }, 405, "method_not_allowed"],
      [{ method: "POST", token: stack().serviceRoleKey, body: "since yesterday" }, 400, "invalid_json"],
      [{ method: "POST", token: stack().serviceRoleKey, body: '{"since": "yesterday"}' }, 422, "validation_failed"],
      [{ method: "POST", token: stack().serviceRoleKey, body: JSON.stringify({ since: now() + DAY }) }, 422, "validation_failed"],
      [{ method: "POST", token: stack().serviceRoleKey, body: '{"since": -1}' }, 422, "validation_failed"],
      [{ method: "POST", token: stack().serviceRoleKey, body: '{"since": 1.5}' }, 422, "validation_failed"],
      [{ method: "POST", token: stack().serviceRoleKey, body: '{"margin_seconds": "1h"}' }, 422, "validation_failed"],
      [{ method: "POST", token: stack().serviceRoleKey, body: '{"sinse": 0}' }, 422, "validation_failed"],
    ];
    // No token: the platform's own 401 (verify_jwt), before the function.
    expect((await callFunction("stripe-reconcile", { method: "POST", body: "{}" })).status).toBe(401);
    for (const [init, status, code] of cases) {
      const res = await callFunction("stripe-reconcile", init);
      const body = await res.json();
      expect([res.status, body.error?.code], JSON.stringify(body)).toEqual([status, code]);
      expect(typeof body.error.message).toBe("string");
    }
    // Past the admin check (the service key), every wrong value of each field.
    const bad: Record<string, unknown[]> = {
      since: ["", "2026-13-01T00:00:00Z", "0000-01-01T00:00:00Z", "a\u0000b", -5, 1.5, 1e20, ["x"], { x: 1 }, true],
      margin_seconds: [null, "", -1, 1.5, 31 * DAY, ["x"], { x: 1 }, true],
    };
    for (const [field, values] of Object.entries(bad)) {
      for (const value of values) {
        const res = await reconcileCall({ [field]: value });
        const body = await res.json();
        expect([res.status, body.error?.code, body.error?.details?.[0]?.path], `${field}: ${JSON.stringify(value)}`)
          .toEqual([422, "validation_failed", field]);
      }
    }
    // A token still saying admin after the account was demoted is refused; a current admin gets through.
    const admin = await createUser(sql, `admin-${crypto.randomUUID()}@test.local`, { role: "admin" });
    await sql`update public.profiles set role = 'customer' where id = ${admin.id}`;
    expect((await reconcileCall({}, admin.token)).status).toBe(403);
    expect((await sql`select count(*)::int as runs from saasbase.stripe_reconciliations`)[0].runs).toBe(runs);
    await sql`update public.profiles set role = 'admin' where id = ${admin.id}`;
    const ok = await reconcileCall({ since: new Date((now() - 60) * 1000).toISOString() }, admin.token);
    expect(ok.status).toBe(200);
    expect((await ok.json()).started_at).toEqual(expect.any(String));
  });
});

describe("npm run stripe:reconcile", () => {
  it("applies what is missing, prints each change, and exits 0; a second run prints no change", async () => {
    const lost = await scenario(T);
    await atStripe(lost);
    const run = () => new Promise<{ code: number; out: string }>((resolve) => {
      execFile("npx", ["tsx", "scripts/stripe-reconcile.ts", "--since", new Date((T - 60) * 1000).toISOString()], {
        env: { ...process.env, SUPABASE_DB_URL: stack().dbUrl, STRIPE_SECRET_KEY: TEST_FUNCTION_ENV.STRIPE_SECRET_KEY,
          STRIPE_API_BASE: stack().stripeUrl },
      }, (err, stdout, stderr) => resolve({ code: err ? Number(err.code ?? 1) : 0, out: stdout + stderr }));
    });
    const first = await run();
    expect(first.code, first.out).toBe(0);
    for (const e of lost.events) expect(first.out).toMatch(new RegExp(`^applied +event +${e.id} +${e.type.replaceAll(".", "\\.")}$`, "m"));
    expect(first.out).toMatch(/, 0 failed\.$/m);
    expect(await stateOf(lost)).toEqual(deliveredState);
    const second = await run();
    expect(second.code, second.out).toBe(0);
    expect(second.out).toMatch(/^0 changed, /m);
    expect(await stateOf(lost)).toEqual(deliveredState);
  });

  it("refuses a bad --since, and a live key without the opt-in", async () => {
    const run = (args: string[], key = "sk_test_x") => new Promise<{ code: number; out: string }>((resolve) => {
      execFile("npx", ["tsx", "scripts/stripe-reconcile.ts", ...args], {
        env: { ...process.env, SUPABASE_DB_URL: stack().dbUrl, STRIPE_SECRET_KEY: key, STRIPE_API_BASE: stack().stripeUrl },
      }, (err, stdout, stderr) => resolve({ code: err ? Number(err.code ?? 1) : 0, out: stdout + stderr }));
    });
    const [{ runs }] = await sql`select count(*)::int as runs from saasbase.stripe_reconciliations`;
    expect(await run(["--since", "yesterday"])).toMatchObject({ code: 1, out: expect.stringMatching(/--since takes/) });
    expect(await run([], "sk_live_x")).toMatchObject({ code: 1, out: expect.stringMatching(/SAASBASE_ALLOW_LIVE/) });
    expect((await sql`select count(*)::int as runs from saasbase.stripe_reconciliations`)[0].runs).toBe(runs);
  });
});
