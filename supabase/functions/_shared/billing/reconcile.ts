// Reconciliation with Stripe: what Stripe has on record since a given time, compared with our mirror, and
// whatever is missing applied through the webhook's own table of effects (stripe-events.ts): the same SQL, the
// same idempotency, so a run changes nothing the webhook already did and a second run changes nothing at all.
// It covers webhooks lost while the endpoint was down, events past Stripe's 3-day retry window, and a new
// deployment's backfill.
//
// Two passes, oldest first within each:
//   1. Stripe's events (only the types we act on; Stripe keeps them 30 days): each one not stored, or stored
//      but not applied (a failed attempt), is stored and applied exactly as a delivery would be (processEvent);
//      then the stored events still unapplied from before the window.
//   2. The objects themselves, for what is older than Stripe's events or had no event we got: paid checkout
//      sessions, subscriptions (those created since, plus every live one and every one we have as live: a
//      subscription changes long after it is created), paid and failed invoices, refunds (through their
//      charge) and chargebacks. Each is compared with our mirror, and one that is missing there is applied
//      as the event that reports it would be, without storing an event Stripe never sent. A subscription's
//      state is applied as an event stamped by Stripe's clock when it answered (snapshotAt), never ours: any
//      event Stripe makes after that answer is newer and wins, whichever is applied first.
// Objects are found by when Stripe created them: a later change (a renewal's invoice paid days after it was
// created) is Stripe's event's to report, which pass 1 finds for 30 days.
//
// Node-safe like stripe-events.ts: the edge function and `npm run stripe:reconcile` hand in the pool and the
// Stripe client.
import { appErrorFromDb } from "../db-errors.ts";
import type { Stripe } from "../stripe-client.ts";
import {
  EVENT_TYPES,
  type EventContext,
  eventShape,
  eventTypeOf,
  type FromStripe,
  type Outcome,
  processEvent,
  type Sql,
} from "./stripe-events.ts";
import { num, str, subscriptionFields } from "./stripe-objects.ts";

/** Where a change came from: one of Stripe's events, an event we stored that was not applied yet, or an object
 * listed at Stripe. */
export type Source =
  | "event"
  | "stored_event"
  | "checkout_session"
  | "subscription"
  | "invoice"
  | "charge"
  | "dispute";

export interface Change {
  source: Source;
  /** The event's id, or the object's. */
  id: string;
  /** The event type it was applied as. */
  type: string;
  outcome: Outcome | "waiting" | "unlinkable";
}

export interface Failure {
  source: Source;
  id: string;
  type: string;
  error: string;
}

export interface ReconcileReport {
  /** What Stripe created from then on was listed (ISO); null: everything it lists. */
  since: string | null;
  /** When listing began: the moment the mirror is reconciled to. */
  started_at: string;
  /** How many of each were listed (or, for stored events, read). */
  listed: Record<Source, number>;
  /** What was missing and is applied now, oldest first in each pass. */
  changes: Change[];
  /** Missing, and applied without effect: not ours, older than what we have, or (an event whose record was
   * lost) its effect there already. */
  unmatched: Change[];
  /** Could not be applied (the error); an event among them stays stored for the next run or delivery. */
  failures: Failure[];
  /** For a Stripe customer linked to no account (yet): an event among them is stored and waits for the link, which
   * applies it; an object is left as it is (another integration's customer, or one whose account is gone). */
  waiting: Change[];
  /** Naming no account of ours and no customer (a guest checkout without our metadata): no link can ever apply
   * them, so nothing retries them. An admin settles each (credits by hand with admin_adjust_credits, or a
   * refund). An event is reported by the first run after it was found so (by a delivery or by this run), and
   * stays unprocessed in stripe_events with unlinkable_at set; an object, by the runs that list it. */
  unlinkable: Change[];
  /** Nothing failed but events stored for the next try (each run tries them again): the next run's default
   * start may move past this one's, if this one listed from where the runs before it had reached. */
  complete: boolean;
  /** Subscriptions we have as live that Stripe does not know (another Stripe account's, or test data). */
  unknown_at_stripe: string[];
}

export interface ReconcileOptions {
  /** Unix seconds: reconcile what Stripe created from then on; null: everything; undefined: the default, from
   * where the runs have reached (see reachedAt), less `marginSeconds`. */
  since?: number | null;
  marginSeconds?: number;
  /** Called with each change as it is applied (the CLI prints them). */
  onChange?: (change: Change) => void;
}

/** Stripe's events may reach its list, and its clock ours, a little out of step: a run looks back this much
 * past the point it starts from. */
export const DEFAULT_MARGIN_SECONDS = 3600;

/** Statuses a subscription entitles its account in, or may still come to (see saasbase.refresh_plan). */
const LIVE = ["active", "trialing", "past_due", "incomplete", "unpaid", "paused"];

/** Disputes whose money Stripe has withdrawn and not given back: not inquiries (warning_*), not won. */
const FUNDS_WITHDRAWN = new Set(["needs_response", "under_review", "lost"]);

/** How far the mirror is known to be reconciled (Unix seconds): the start of the last complete run that listed
 * from there on (a run from a later time leaves the gap before it open); without one, the last event stored
 * (webhooks arrived until then); without either, null: nothing is (a new deployment's backfill). */
async function reachedAt(sql: Sql): Promise<number | null> {
  const [{ at }] = await sql`select extract(epoch from coalesce(
      (select max(r.started_at) from saasbase.stripe_reconciliations r where r.complete and r.contiguous),
      (select max(e.stripe_created_at) from public.stripe_events e)))::bigint as at`;
  return at === null ? null : Number(at);
}

/** Stripe's clock when it made an answer (its Date header, Unix seconds); undefined without one. The SDK hangs
 * the response on the object it answers, with fetch's Headers (its fetch client) or a plain object (Node's). */
function stripeClock(answer: unknown): number | undefined {
  const headers = (answer as { lastResponse?: { headers?: unknown } } | undefined)?.lastResponse?.headers;
  const date = headers instanceof Headers
    ? headers.get("date")
    : (headers as Record<string, unknown> | undefined)?.date;
  const at = typeof date === "string" ? Date.parse(date) : NaN;
  return Number.isNaN(at) ? undefined : Math.floor(at / 1000);
}

/** The stamp of a subscription's state read from an answer Stripe made at second `clock` (its Date header):
 * a second and a half before it. The header is written after the state was read, so an event Stripe makes
 * after the read is `created` at `clock - 1` or later; Stripe's `created` counts whole seconds, so such an
 * event is strictly newer than the state and wins (newest-event-wins, no tie for the lifecycle rule to
 * break), whichever is applied first. The state still overrides what events of earlier seconds left. Our
 * own clock is never used: ahead of Stripe's, it would make the state beat the events that follow it. */
const snapshotAt = (clock: number) => clock - 1.5;

/** The pages of a Stripe list, each item with Stripe's clock when it answered that page. */
async function* withClock<T extends { id: string }, P extends object>(
  list: (params: P & { starting_after?: string }) => Promise<Stripe.ApiList<T>>,
  params: P,
): AsyncGenerator<{ item: T; clock: number | undefined }> {
  let after: string | undefined;
  for (;;) {
    const page = await list({ ...params, ...(after ? { starting_after: after } : {}) });
    const clock = stripeClock(page);
    for (const item of page.data) yield { item, clock };
    if (!page.has_more || !page.data.length) return;
    after = page.data[page.data.length - 1].id;
  }
}

/** An event made from an object Stripe lists, to apply as the event reporting it would be; never stored. */
const asEvent = (type: string, object: { id: string }, created: number) =>
  ({ id: `reconcile_${object.id}`, object: "event", type, created, data: { object } }) as unknown as Stripe.Event;

export async function reconcile(ctx: EventContext, options: ReconcileOptions = {}): Promise<ReconcileReport> {
  const { sql } = ctx;
  const stripe = ctx.stripe();
  const startedAt = Math.floor(Date.now() / 1000);
  const reached = await reachedAt(sql);
  // The default start: where the runs have reached, less the margin; null: everything.
  const since = options.since !== undefined
    ? options.since
    : reached === null
    ? null
    : Math.max(0, reached - (options.marginSeconds ?? DEFAULT_MARGIN_SECONDS));
  // Only a run that leaves no gap behind it moves the next default start (see saasbase.stripe_reconciliations).
  const contiguous = since === null || (reached !== null && since <= reached);
  const created = since === null ? undefined : { gte: since };
  const report: ReconcileReport = {
    since: since === null ? null : new Date(since * 1000).toISOString(),
    started_at: new Date(startedAt * 1000).toISOString(),
    listed: { event: 0, stored_event: 0, checkout_session: 0, subscription: 0, invoice: 0, charge: 0, dispute: 0 },
    changes: [],
    unmatched: [],
    failures: [],
    waiting: [],
    unlinkable: [],
    complete: true,
    unknown_at_stripe: [],
  };
  const record = (source: Source, id: string, type: string, outcome: Outcome) => {
    const change = { source, id, type, outcome };
    if (outcome === "applied" || outcome === "held") {
      report.changes.push(change);
      options.onChange?.(change);
    } else {
      report.unmatched.push(change);
    }
  };
  // `object`: the event's object or the listed one, for the customer it names.
  const fail = (source: Source, id: string, type: string, err: unknown, object?: unknown) => {
    if ((appErrorFromDb(err) ?? err as { code?: string }).code === "customer_not_linked") {
      if (object === undefined || str(object, "customer")) {
        report.waiting.push({ source, id, type, outcome: "waiting" });
      } else if (source !== "event" && source !== "stored_event") {
        // No customer to link: nothing ever will. A stored event is marked so, and reported from the table below.
        report.unlinkable.push({ source, id, type, outcome: "unlinkable" });
      }
      return;
    }
    report.failures.push({ source, id, type, error: (err instanceof Error ? err.message : String(err)).slice(0, 500) });
    // An event that failed is stored for the next try (processEvent keeps it); an object is not kept anywhere.
    if (source !== "event" && source !== "stored_event") report.complete = false;
  };

  // 1. Events, oldest first (Stripe lists newest first).
  const events: Stripe.Event[] = [];
  // Stripe takes up to 20 types; past that, every event is listed and the others left out here.
  const types = Object.keys(EVENT_TYPES);
  for await (const e of stripe.events.list({ created, ...(types.length <= 20 ? { types } : {}), limit: 100 })) {
    if (types.includes(e.type)) events.push(e);
  }
  report.listed.event = events.length;
  events.reverse().sort((a, b) => a.created - b.created);
  // Stripe's clock as its events show it (never ahead of it), for an answer without a Date header.
  const lastEvent = events.length ? events[events.length - 1].created : undefined;
  const done = new Set(
    (await sql`select id from public.stripe_events where id = any(${events.map((e) => e.id)})
      and (processed_at is not null or unlinkable_at is not null)`)
      .map((r) => r.id as string),
  );
  const isStored = async (id: string) => {
    try {
      return (await sql`select 1 from public.stripe_events where id = ${id}`).length > 0;
    } catch {
      return false;
    }
  };
  const storeEvent = async (source: Source, event: Stripe.Event) => {
    if (!eventShape.safeParse(event).success) return fail(source, String(event.id), String(event.type), "not a storable event");
    try {
      record(source, event.id, event.type, await processEvent(ctx, event));
    } catch (err) {
      fail(source, event.id, event.type, err, event.data.object);
      // processEvent keeps a failed event stored for the next try; one it could not even store (the database
      // went away mid-run) is kept nowhere, and only a later run listing it again can apply it.
      if (!await isStored(event.id)) report.complete = false;
    }
  };
  for (const event of events) if (!done.has(event.id)) await storeEvent("event", event);
  // Stored from a delivery whose application failed, and not listed now (older than the window): applied from
  // the stored payload, as Stripe's next redelivery would be. Not those still waiting for their customer's user
  // (the link applies them), nor those no link ever will (unlinkable: an admin's).
  const listedIds = events.map((e) => e.id);
  const stored = await sql`select e.payload from public.stripe_events e
    where e.processed_at is null and e.unlinkable_at is null and not (e.id = any(${listedIds}))
      and (e.customer_id is null or exists (select from public.customers c where c.stripe_customer_id = e.customer_id))
    order by e.stripe_created_at, e.received_at`;
  report.listed.stored_event = stored.length;
  for (const { payload } of stored) await storeEvent("stored_event", payload as Stripe.Event);

  // 2. Objects. Each applied as its event, unless our mirror has it already: asked before anything is fetched
  // for it (a subscription checkout's subscription, from Stripe), unless the question needs that (`afterFetch`:
  // a refund's invoice).
  const applyObject = async (
    source: Source,
    event: Stripe.Event,
    mirrored: (fetched: FromStripe) => Promise<boolean>,
    afterFetch = false,
  ) => {
    try {
      const type = eventTypeOf(event.type);
      if (!afterFetch && await mirrored({})) return;
      const fetched = (await type.prefetch?.(event, ctx)) ?? {};
      if (afterFetch && await mirrored(fetched)) return;
      // The event's effect alone (one statement, one transaction): no event is stored that Stripe never sent.
      const [{ outcome }] = await sql`select ${type.apply(sql, event, fetched)} as outcome`;
      record(source, str(event.data.object, "id")!, event.type, outcome);
    } catch (err) {
      fail(source, str(event.data.object, "id") ?? "", event.type, err, event.data.object);
    }
  };
  const exists = async (query: PromiseLike<readonly unknown[]>) => (await query).length > 0;
  // A list Stripe refuses (a restricted key without that read access) or that breaks off: the others still run,
  // and the run is not complete.
  const listing = async (source: Source, type: string, list: () => Promise<void>) => {
    try {
      await list();
    } catch (err) {
      fail(source, "(list)", type, err);
    }
  };

  await listing("checkout_session", "checkout.session.completed", async () => {
    for await (const session of stripe.checkout.sessions.list({ created, status: "complete", limit: 100 })) {
      report.listed.checkout_session++;
      if (session.payment_status !== "paid" && session.mode !== "subscription") continue;
      const subscription = str(session, "subscription");
      await applyObject("checkout_session", asEvent("checkout.session.completed", session, session.created), () =>
        session.mode === "subscription"
          ? (subscription ? exists(sql`select 1 from public.subscriptions where id = ${subscription}`) : Promise.resolve(true))
          : exists(sql`select 1 from public.purchases where checkout_session_id = ${session.id}`));
    }
  });

  const seen = new Set<string>();
  const subscriptionState = async (sub: Stripe.Subscription, clock: number | undefined) => {
    seen.add(sub.id);
    report.listed.subscription++;
    // Without Stripe's clock, the newest event listed, else the subscription's creation: no later than Stripe's.
    const at = snapshotAt(clock ?? Math.max(lastEvent ?? 0, sub.created));
    await applyObject("subscription", asEvent("customer.subscription.updated", sub, at), async () => {
      const s = subscriptionFields(sub);
      const [row] = await sql`select status, price_id, cancel_at_period_end, quantity, item_id,
          extract(epoch from current_period_start)::bigint as period_start,
          extract(epoch from current_period_end)::bigint as period_end,
          extract(epoch from canceled_at)::bigint as canceled_at
        from public.subscriptions where id = ${sub.id}`;
      const same = (a: unknown, b: unknown) => (a === null || a === undefined ? null : Number(a)) === (b ?? null);
      return !!row && row.status === s.status && row.price_id === s.price &&
        row.cancel_at_period_end === s.cancelAtPeriodEnd && same(row.period_start, s.periodStart) &&
        same(row.period_end, s.periodEnd) && same(row.canceled_at, s.canceledAt) && same(row.quantity, s.quantity) &&
        row.item_id === s.itemId;
    });
  };
  await listing("subscription", "customer.subscription.updated", async () => {
    const list = (params: Stripe.SubscriptionListParams) => stripe.subscriptions.list(params);
    for await (const { item, clock } of withClock(list, { created, status: "all", limit: 100 })) {
      await subscriptionState(item, clock);
    }
    if (since !== null) {
      // A subscription changes long after it is created: every live one at Stripe, and every one live here.
      for await (const { item, clock } of withClock(list, { limit: 100 })) {
        if (!seen.has(item.id)) await subscriptionState(item, clock);
      }
      // (Stripe's: a subscription Polar sold is no Stripe object.)
      const ours = await sql`select id from public.subscriptions where status = any(${LIVE}) and provider = 'stripe'
        and not (id = any(${[...seen]}))
        order by id`;
      for (const { id } of ours) {
        try {
          const sub = await stripe.subscriptions.retrieve(id);
          await subscriptionState(sub, stripeClock(sub));
        } catch (err) {
          if ((err as { code?: string }).code === "resource_missing") report.unknown_at_stripe.push(id);
          else fail("subscription", id, "customer.subscription.updated", err);
        }
      }
    }
  });

  await listing("invoice", "invoice.paid", async () => {
    for (const status of ["paid", "open"] as const) {
      for await (const invoice of stripe.invoices.list({ created, status, limit: 100 })) {
        report.listed.invoice++;
        const id = invoice.id!;
        if (status === "paid") {
          await applyObject("invoice", asEvent("invoice.paid", invoice, num(invoice, "status_transitions.paid_at") ?? invoice.created),
            () => exists(sql`select 1 from public.invoices where id = ${id} and status = 'paid'`));
        } else if ((invoice.attempt_count ?? 0) > 0) {
          // Open after a failed attempt: what invoice.payment_failed records (and its one email).
          await applyObject("invoice", asEvent("invoice.payment_failed", invoice, invoice.created),
            () => exists(sql`select 1 from public.invoices where id = ${id}`));
        }
      }
    }
  });

  // Refunds, through their charge: charge.refunded reports a charge's total refunded.
  await listing("charge", "charge.refunded", async () => {
    const charges = new Set<string>();
    for await (const refund of stripe.refunds.list({ created, limit: 100 })) {
      const charge = str(refund, "charge");
      if (charge) charges.add(charge);
    }
    for (const id of charges) {
      report.listed.charge++;
      let charge: Stripe.Charge;
      try {
        charge = await stripe.charges.retrieve(id);
      } catch (err) {
        fail("charge", id, "charge.refunded", err);
        continue;
      }
      const refunded = charge.amount_refunded ?? 0;
      const pi = str(charge, "payment_intent") ?? null;
      if (refunded <= 0) continue; // its refunds failed or were canceled
      await applyObject("charge", asEvent("charge.refunded", charge, charge.created), (fetched) =>
        fetched.invoiceId
          ? exists(sql`select 1 from public.invoices where id = ${fetched.invoiceId}
              and refunded_cents >= least(${refunded}, amount_paid)`)
          : exists(sql`select 1 from public.purchases where payment_intent_id = ${pi}
                and refunded_cents >= least(${refunded}, amount_cents)
              union all select 1 from saasbase.early_refunds where payment_intent_id = ${pi} and amount_refunded >= ${refunded}`),
        true);
    }
  });

  await listing("dispute", "charge.dispute.funds_withdrawn", async () => {
    for await (const dispute of stripe.disputes.list({ created, limit: 100 })) {
      report.listed.dispute++;
      if (!FUNDS_WITHDRAWN.has(dispute.status)) continue;
      await applyObject("dispute", asEvent("charge.dispute.funds_withdrawn", dispute, dispute.created),
        () => exists(sql`select 1 from saasbase.disputes where dispute_id = ${dispute.id}`));
    }
  });

  // A complete run from where the runs before it reached covers Stripe up to its start: the next default starts
  // there. In the same statement, the events found unlinkable since the run before it finished (by a delivery,
  // or by this run): each reported once, by the first run after.
  const unlinkable = await sql`with run as (
      insert into saasbase.stripe_reconciliations (since, started_at, changes, failures, complete, contiguous)
      values (${since === null ? null : new Date(since * 1000)}, to_timestamp(${startedAt}), ${report.changes.length},
        ${report.failures.length}, ${report.complete}, ${contiguous})
      returning finished_at)
    select e.id, e.type from public.stripe_events e
    where e.processed_at is null and e.unlinkable_at is not null
      and e.unlinkable_at > coalesce((select max(r.finished_at) from saasbase.stripe_reconciliations r), '-infinity')
      and e.unlinkable_at <= (select finished_at from run)
    order by e.unlinkable_at, e.id`;
  // An object whose event is stored as unlinkable is that event's to report (once), not again as itself.
  const objects = report.unlinkable.map((c) => c.id);
  const known = new Set((await sql`select e.payload #>> '{data,object,id}' as id from public.stripe_events e
      where e.unlinkable_at is not null and e.payload #>> '{data,object,id}' = any(${objects})`).map((r) => r.id as string));
  report.unlinkable = report.unlinkable.filter((c) => !known.has(c.id));
  for (const { id, type } of unlinkable) {
    report.unlinkable.push({ source: listedIds.includes(id) ? "event" : "stored_event", id, type, outcome: "unlinkable" });
  }
  return report;
}
