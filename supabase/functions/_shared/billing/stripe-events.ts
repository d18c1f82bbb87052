// What each Stripe event does to our mirror, one entry per event type: { [type]: { prefetch?, apply } }, so each
// type reads whole in one place. processEvent stores (claims) an event and applies it; the stripe-webhook
// function calls it for each signed delivery, and anything else holding an event from Stripe's API (a
// reconciliation run, a backfill) calls it the same way, getting the same SQL and the same idempotency.
//
// The rules are SQL's (the billing migration's service_role_* functions); this module reads Stripe's objects
// into their arguments. Each effect is one SQL expression, evaluated in the statement that claims the event and
// only when it claims it: every event is stored and applied in one round trip and one transaction. Every
// effect is idempotent on its own too (unique ids, ledger idempotency keys, the newest-event-wins guard on
// subscriptions), so an event applied twice, or events out of order, leave the same state.
//
// Node-safe on purpose (no Deno globals, no module-level clients): the caller hands in the database pool and
// the Stripe client, so scripts under src/ and scripts/ import this module as the functions do.
import type postgres from "postgres";
import { z } from "zod";
import { appErrorFromDb } from "../db-errors.ts";
import type { Stripe } from "../stripe-client.ts";
import {
  at,
  invoiceSubscription,
  num,
  type PeriodLine,
  periodLines,
  str,
  subscriptionFields,
  ts,
} from "./stripe-objects.ts";

export type Sql = postgres.Sql;
export type Fragment = postgres.Fragment;

/** What applying an event did: applied; ignored (not ours to act on); stale (an older state of a subscription
 * than the one applied); held (a refund or dispute of a purchase not recorded yet, counted when it is);
 * duplicate (applied before). An event that cannot be applied yet (its customer is linked to no account, a refund
 * of an invoice not recorded) is no outcome: processEvent throws, and the event waits. */
export type Outcome = "applied" | "ignored" | "stale" | "held" | "duplicate";

/** Where an event is applied: the database pool and, for the events that need something fetched first, Stripe. */
export interface EventContext {
  sql: Sql;
  stripe: () => Stripe;
}

/** What applying an event needs from outside the database, fetched before its statement: a slow Stripe then
 * holds no pooled connection and no row lock. */
export interface FromStripe {
  /** A subscription checkout's subscription, as Stripe has it now. */
  subscription?: Stripe.Subscription;
  /** The invoice a refunded or disputed payment paid, if it paid one (a subscription's), not a credit pack. */
  invoiceId?: string;
  /** An invoice's period lines, read from all its lines when the event carried only the first page of them. */
  periodLines?: PeriodLine[];
}

export interface EventType {
  /** Reads what `apply` needs from Stripe (or the database), before the event is claimed. */
  prefetch?: (event: Stripe.Event, ctx: EventContext) => Promise<FromStripe>;
  /** The effect: one SQL expression giving the Outcome, evaluated only if the event is claimed. */
  apply: (sql: Sql, event: Stripe.Event, fetched: FromStripe) => Fragment;
}

/** Stripe's `created` is Unix seconds; anything past year 9999 is no Stripe event and no Postgres timestamp. */
const MAX_CREATED = 253_402_300_799;

/** What is read of every event (Stripe's carry more, all of it kept). A payload that fails it is not an event
 * this module can store: the webhook answers 400 invalid_event and stores nothing. */
export const eventShape = z.looseObject({
  id: z.string().min(1).max(255),
  type: z.string().min(1),
  created: z.number().int().min(0).max(MAX_CREATED),
  data: z.looseObject({ object: z.looseObject({}) }),
});

/** Postgres integer's ceiling: credits and cents are integer columns. */
const MAX_INT = 2_147_483_647;
const cents = (n: number | undefined) => Math.max(0, Math.min(n ?? 0, MAX_INT));

/** An effect whose function returns a row (or a value): 'applied' once it ran. */
const applied = (sql: Sql, call: Fragment) => sql`(select 'applied'::text from ${call} as effect)`;

/** The account a Stripe object belongs to (our checkout's account id in its metadata, else its customer's
 * owner), linking that customer to the account on the way; null when neither names one (the SQL then refuses
 * with customer_not_linked, and the event waits for the link). Objects our checkout made before accounts carry
 * `user_id`: the user's personal account, whose id is the user's. */
const accountOf = (sql: Sql, hint: string | undefined, customer: string | undefined) =>
  sql`public.service_role_stripe_account(${hint ?? null}, ${customer ?? null})`;
const hintOf = (obj: unknown) => str(obj, "metadata.account_id", "metadata.user_id", "client_reference_id");

const upsertSubscription = (sql: Sql, sub: unknown, account: Fragment, eventAt: number) => {
  const s = subscriptionFields(sub);
  return sql`case when public.service_role_upsert_subscription(${str(sub, "id")!}, ${account},
      ${s.status!}, ${s.price}, ${ts(s.periodStart)}, ${ts(s.periodEnd)}, ${s.cancelAtPeriodEnd},
      ${ts(s.canceledAt)}, to_timestamp(${eventAt}), ${s.quantity === null ? null : Math.min(s.quantity, MAX_INT)},
      ${s.itemId}
    ) then 'applied' else 'stale' end`;
};

/** A Checkout Session completed and paid (a delayed payment completes unpaid, then succeeds): a credit pack's
 * purchase (public.service_role_record_credit_purchase: the purchase, its credits, any referral reward), or a
 * subscription, fetched from Stripe for its current state. */
const checkoutPaid: EventType = {
  async prefetch(event, ctx) {
    const session = event.data.object as Stripe.Checkout.Session;
    const id = session.mode === "subscription" ? str(session, "subscription") : undefined;
    return id ? { subscription: await ctx.stripe().subscriptions.retrieve(id) } : {};
  },
  apply(sql, event, fetched) {
    const session = event.data.object as Stripe.Checkout.Session;
    if (session.mode === "subscription" && fetched.subscription) {
      const sub = fetched.subscription;
      const customer = str(session, "customer") ?? str(sub, "customer");
      const account = accountOf(sql, hintOf(session) ?? hintOf(sub), customer);
      return upsertSubscription(sql, sub, account, event.created);
    }
    if (session.mode !== "payment") return sql`'ignored'`;
    // A one-off license (our checkout's kind "license"): the purchase of no credits, whose trigger issues the
    // license (public.service_role_record_license_purchase, the licenses migration).
    if (session.metadata?.kind === "license") {
      const product = session.metadata.license_product;
      if (session.payment_status !== "paid" || typeof product !== "string" || !product) return sql`'ignored'`;
      return applied(
        sql,
        sql`public.service_role_record_license_purchase(${accountOf(sql, hintOf(session), str(session, "customer"))},
          ${session.id}, ${str(session, "payment_intent") ?? null}, ${product}, ${cents(session.amount_total ?? 0)},
          ${session.currency ?? "usd"})`,
      );
    }
    // Credits in metadata are what our checkout put there; a paid session without a usable count is no credit
    // pack of ours (another integration on the same Stripe account), and is acknowledged as such.
    const credits = Number(session.metadata?.credits);
    const ours = Number.isInteger(credits) && credits > 0 && credits <= MAX_INT;
    if (session.payment_status !== "paid" || !ours) return sql`'ignored'`;
    const buyer = accountOf(sql, hintOf(session), str(session, "customer"));
    const paymentIntent = str(session, "payment_intent") ?? null;
    const pack = session.metadata?.pack_id ?? null;
    const discount = Number(session.metadata?.discount_percent ?? 0) || 0;
    return applied(
      sql,
      sql`public.service_role_record_credit_purchase(${buyer}, ${session.id}, ${paymentIntent}, ${pack},
        ${credits}, ${cents(session.amount_total ?? 0)}, ${session.currency ?? "usd"}, ${discount})`,
    );
  },
};

/** customer.subscription.*: the newest event wins (see service_role_upsert_subscription); the account's plan,
 * and so check_feature, changes in the same transaction. */
const subscriptionChanged: EventType = {
  apply: (sql, event) => {
    const sub = event.data.object;
    return upsertSubscription(sql, sub, accountOf(sql, hintOf(sub), str(sub, "customer")), event.created);
  },
};

/** invoice.paid / invoice.payment_failed: public.service_role_record_invoice (the plan's credits for the period
 * a paid invoice opens, read from its non-proration subscription line; a failed one's email). */
const invoiceEvent = (status: "paid" | "payment_failed"): EventType => ({
  // An invoice object carries a first page of its lines: when the period line is not among them (an invoice
  // with many proration lines, after several changes), all of them are read from Stripe.
  async prefetch(event, ctx) {
    const invoice = event.data.object;
    const id = str(invoice, "id");
    if (status !== "paid" || !id || at(invoice, "lines.has_more") !== true || periodLines(invoice).length) {
      return {};
    }
    const lines = [];
    for await (const line of ctx.stripe().invoices.listLineItems(id, { limit: 100 })) lines.push(line);
    return { periodLines: periodLines({ lines: { data: lines } }) };
  },
  apply(sql, event, fetched) {
    const invoice = event.data.object;
    // Our checkout puts the account's id in the subscription's metadata, which an invoice carries a snapshot of
    // (an older checkout's user id: its personal account).
    const hint = hintOf(invoice) ??
      str(invoice, "parent.subscription_details.metadata.account_id", "subscription_details.metadata.account_id",
        "parent.subscription_details.metadata.user_id", "subscription_details.metadata.user_id");
    const account = accountOf(sql, hint, str(invoice, "customer"));
    const subscription = invoiceSubscription(invoice) ?? null;
    const reason = str(invoice, "billing_reason") ?? null;
    const [paid, due] = [cents(num(invoice, "amount_paid")), cents(num(invoice, "amount_due"))];
    const url = str(invoice, "hosted_invoice_url") ?? null;
    const lines = sql.json((fetched.periodLines ?? periodLines(invoice)) as never);
    return applied(
      sql,
      sql`public.service_role_record_invoice(${str(invoice, "id")!}, ${account}, ${status}, ${subscription},
        ${reason}, ${paid}, ${due}, ${str(invoice, "currency") ?? "usd"}, ${url}, ${lines})`,
    );
  },
});

/** The invoice a refunded or disputed payment paid, found through Stripe's invoice payments (a charge no
 * longer names its invoice). A credit pack's payment is known here (or will be: a purchase not recorded yet
 * holds its refund), so only an unknown payment intent is asked of Stripe. */
async function paidInvoice(event: Stripe.Event, ctx: EventContext): Promise<FromStripe> {
  const paymentIntent = str(event.data.object, "payment_intent");
  if (!paymentIntent) return {};
  if ((await ctx.sql`select 1 from public.purchases where payment_intent_id = ${paymentIntent}`).length) {
    return {};
  }
  try {
    const payments = await ctx.stripe().invoicePayments.list({
      payment: { type: "payment_intent", payment_intent: paymentIntent },
      limit: 1,
    });
    const invoiceId = str(payments.data[0], "invoice");
    return invoiceId ? { invoiceId } : {};
  } catch (err) {
    // A restricted key without Invoices read access: credit packs still work; say what is missing.
    if ((err as { type?: string }).type !== "StripePermissionError") throw err;
    console.error(
      "stripe events: the Stripe key cannot read invoice payments; invoice refunds take no credits back",
    );
    return {};
  }
}

/** Money returned on a payment, refund or chargeback alike: public.service_role_return_payment takes back the
 * returned share of what the payment bought (a credit pack's credits, a subscription invoice's plan credits).
 * charge.refunded reports all refunded on the charge so far; charge.dispute.funds_withdrawn the disputed
 * amount (not charge.dispute.created: an inquiry is created as a dispute too and takes no money). */
const paymentReturned = (kind: "refund" | "dispute"): EventType => ({
  prefetch: paidInvoice,
  apply(sql, event, fetched) {
    const returned = event.data.object;
    const amount = kind === "refund" ? num(returned, "amount_refunded") : num(returned, "amount");
    return sql`public.service_role_return_payment(${kind}, ${str(returned, "id")!}, ${cents(amount)},
      ${str(returned, "payment_intent") ?? null}, ${fetched.invoiceId ?? null})`;
  },
});

/** customer.deleted (in the dashboard): the account's link is dropped for good, so its next checkout makes a new
 * customer instead of failing on this one. */
const customerDeleted: EventType = {
  apply: (sql, event) =>
    applied(sql, sql`public.service_role_forget_customer(${str(event.data.object, "id") ?? ""})`),
};

/** Any other event: stored and acknowledged. */
const ignored: EventType = { apply: (sql) => sql`'ignored'` };

/** The event types acted on. */
export const EVENT_TYPES: Readonly<Record<string, EventType>> = {
  "checkout.session.completed": checkoutPaid,
  "checkout.session.async_payment_succeeded": checkoutPaid,
  "customer.subscription.created": subscriptionChanged,
  "customer.subscription.updated": subscriptionChanged,
  "customer.subscription.deleted": subscriptionChanged,
  "invoice.paid": invoiceEvent("paid"),
  "invoice.payment_failed": invoiceEvent("payment_failed"),
  "charge.refunded": paymentReturned("refund"),
  "charge.dispute.funds_withdrawn": paymentReturned("dispute"),
  "customer.deleted": customerDeleted,
};

export const eventTypeOf = (type: string): EventType =>
  Object.hasOwn(EVENT_TYPES, type) ? EVENT_TYPES[type] : ignored;

/** The customer an event's object names (stored with the event: an event waits for its customer's account). */
const customerOf = (event: Stripe.Event) => str(event.data.object, "customer");

/**
 * Stores `event` and applies it, once, in one statement: the claim (public.service_role_store_stripe_event
 * stores it, or finds it stored) and the effect commit together, so a redelivery, or a twin delivered at the
 * same moment (which waits on the id), finds it processed and changes nothing ("duplicate").
 *
 * When applying fails, the event is kept unprocessed with its error and the error is thrown (a PT4xx refusal
 * of the SQL as an AppError: 409 customer_not_linked, 409 invoice_not_recorded): the webhook answers non-2xx
 * so that Stripe redelivers, and the stored event is applied then. An event whose customer is linked to no
 * account yet waits so too, and is applied again as soon as an event links that customer (or by
 * applyWaitingEvents). One that names no account and no customer can never be linked: it is kept so, marked
 * unlinkable for an admin (stripe_events.unlinkable_at), and still answered 409 customer_not_linked. `event`
 * must pass eventShape.
 */
export async function processEvent(
  ctx: EventContext,
  event: Stripe.Event,
  opts: { thenWaiting?: boolean } = {},
): Promise<Outcome> {
  const { sql } = ctx;
  const type = eventTypeOf(event.type);
  const store = (error: string | null, code: string | null = null) =>
    sql`public.service_role_store_stripe_event(${event.id}, ${event.type}, to_timestamp(${event.created}),
      ${sql.json(event as never)}, ${error}, ${code})`;
  const customer = customerOf(event);
  const owner = customer ?? null;
  let outcome: Outcome;
  let waiting = false;
  try {
    const fetched = (await type.prefetch?.(event, ctx)) ?? {};
    // Whether other events of its customer wait (read in the same round trip; they were stored before it).
    [{ outcome, waiting }] = await sql`select
      case when ${store(null)} then ${type.apply(sql, event, fetched)} else 'duplicate' end as outcome,
      ${owner}::text is not null and exists (select from public.stripe_events w
        where w.customer_id = ${owner} and w.processed_at is null and w.id <> ${event.id}) as waiting`;
  } catch (err) {
    const message = (err instanceof Error ? err.message : String(err)).slice(0, 1000);
    const refusal = appErrorFromDb(err);
    try {
      // The refusal's code too: customer_not_linked with no customer to link marks the event unlinkable.
      await sql`select ${store(message, refusal?.code ?? null)}`;
    } catch (storeErr) {
      console.error("stripe events: could not keep the failed event", event.id, storeErr);
    }
    throw refusal ?? err;
  }
  if (waiting && customer && opts.thenWaiting !== false) {
    // This event is applied whatever happens to the others: they wait on for Stripe's retry or the next run.
    await applyWaitingEvents(ctx, customer).catch((err) =>
      console.error("stripe events: the events waiting for", customer, "stay waiting:", err)
    );
  }
  return outcome;
}

/**
 * Applies again the events that waited for an account of their customer, for customers linked now (all of them,
 * or `customer`'s), oldest first, at most `max`; returns how many applied. One that fails again stays waiting
 * with its new error.
 */
export async function applyWaitingEvents(ctx: EventContext, customer?: string, max = 20): Promise<number> {
  const waiting = await ctx.sql`select id, payload from public.service_role_waiting_stripe_events(${
    customer ?? null
  }, ${max})`;
  let done = 0;
  for (const { id, payload } of waiting) {
    try {
      await processEvent(ctx, payload as Stripe.Event, { thenWaiting: false });
      done++;
    } catch (err) {
      console.error(
        "stripe events: a waiting event failed again",
        id,
        err instanceof Error ? err.message : err,
      );
    }
  }
  return done;
}
