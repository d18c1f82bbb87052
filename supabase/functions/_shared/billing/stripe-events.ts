// What each Stripe event does to our mirror, one entry per event type: { [type]: { prefetch?, statement?,
// apply } }, so each type reads whole in one place. processEvent stores (claims) an event and applies it; the
// stripe-webhook function calls it for each signed delivery, and anything else holding an event from Stripe's
// API (a reconciliation run, a backfill) calls it the same way, getting the same SQL and the same idempotency.
//
// Every effect is idempotent on its own too (unique ids, ledger idempotency keys, the newest-event-wins guard
// on subscriptions), so an event applied twice, or events out of order, leave the same state.
//
// Node-safe on purpose (no Deno globals, no module-level clients): the caller hands in the database pool and
// the Stripe client, so scripts under src/ and scripts/ import this module as the functions do.
import type postgres from "postgres";
import { z } from "zod";
import type { Stripe } from "../stripe-client.ts";
import { invoiceSubscription, num, str, ts } from "./stripe-objects.ts";

export type Sql = postgres.Sql;
export type Tx = postgres.TransactionSql;
export type Fragment = postgres.Fragment;

export type Outcome = "applied" | "ignored" | "stale" | "unknown_user" | "held" | "duplicate";

/** Where an event is applied: the database pool and, for the events that need something fetched first, Stripe. */
export interface EventContext {
  sql: Sql;
  stripe: () => Stripe;
}

/** What applying an event needs from outside its transaction, fetched before the transaction opens: a slow
 * Stripe then holds no pooled connection and no row lock. */
export interface FromStripe {
  /** A subscription checkout's subscription, as Stripe has it now. */
  subscription?: Stripe.Subscription;
  /** The invoice a refunded or disputed payment paid, if it paid one (a subscription's), not a credit pack. */
  invoiceId?: string;
}

export interface EventType {
  /** Reads what `apply` needs from Stripe (or the database), before the transaction. */
  prefetch?: (event: Stripe.Event, ctx: EventContext) => Promise<FromStripe>;
  /** The whole effect as one SQL expression giving the outcome, evaluated in the statement that claims the
   * event (one round trip, one transaction); undefined for an event of this type that needs `apply`. */
  statement?: (sql: Sql, event: Stripe.Event) => Fragment | undefined;
  /** The effect, in the transaction that claimed the event. */
  apply: (tx: Tx, event: Stripe.Event, fetched: FromStripe) => Promise<Outcome>;
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

/** Postgres integer's ceiling: purchases.credits and the refunded cents are integer columns. */
const MAX_INT = 2_147_483_647;

/** The user a Stripe object belongs to (our metadata's user id, else its customer's owner), linking that
 * customer to the user on the way; one round trip. */
async function userFor(tx: Tx, obj: unknown): Promise<string | undefined> {
  const [{ id }] = await tx`select public.service_role_stripe_user(
    ${str(obj, "metadata.user_id", "client_reference_id") ?? null}, ${str(obj, "customer") ?? null}) as id`;
  return id ?? undefined;
}

async function upsertSubscription(tx: Tx, sub: unknown, eventAt: number): Promise<Outcome> {
  const userId = await userFor(tx, sub);
  if (!userId) return "unknown_user";
  const item = (sub as { items?: { data?: unknown[] } }).items?.data?.[0];
  const [{ applied }] = await tx`select public.service_role_upsert_subscription(
    ${str(sub, "id")!}, ${userId}, ${str(sub, "status")!}, ${str(item, "price")!},
    ${ts(num(sub, "current_period_start") ?? num(item, "current_period_start"))},
    ${ts(num(sub, "current_period_end") ?? num(item, "current_period_end"))},
    ${Boolean((sub as { cancel_at_period_end?: unknown }).cancel_at_period_end)}, ${ts(num(sub, "canceled_at"))},
    to_timestamp(${eventAt})
  ) as applied`;
  return applied ? "applied" : "stale";
}

async function upsertInvoice(tx: Tx, invoice: unknown, userId: string, status: string, credits: number) {
  await tx`insert into public.invoices (id, user_id, subscription_id, status, amount_paid, amount_due, currency,
      credits_granted, hosted_invoice_url)
    values (${str(invoice, "id")!}, ${userId}, ${invoiceSubscription(invoice) ?? null}, ${status},
      ${num(invoice, "amount_paid") ?? 0}, ${num(invoice, "amount_due") ?? 0}, ${str(invoice, "currency") ?? "usd"},
      ${credits}, ${str(invoice, "hosted_invoice_url") ?? null})
    on conflict (id) do update set
      -- Paid is final: a payment_failed delivered late (after a retry of ours, say) does not undo it.
      status = case when public.invoices.status = 'paid' then 'paid' else excluded.status end,
      amount_paid = greatest(public.invoices.amount_paid, excluded.amount_paid),
      credits_granted = greatest(public.invoices.credits_granted, excluded.credits_granted)`;
}

/** Invoices that open a billing period of a subscription: its first, and each renewal. */
const PERIOD_INVOICES = new Set(["subscription_create", "subscription_cycle"]);

/** A proration line (the unused or the added part of a period, after a plan change) opens no period. */
const isProration = (line: unknown) =>
  (line as { parent?: { subscription_item_details?: { proration?: unknown } } })?.parent
      ?.subscription_item_details?.proration === true || (line as { proration?: unknown })?.proration === true;

/** A Checkout Session completed and paid (a delayed payment completes unpaid, then succeeds): a credit pack
 * in one statement (the buyer, the purchase, its credits and any referral reward, through
 * public.service_role_record_credit_purchase), a subscription by fetching it from Stripe. */
const checkoutPaid: EventType = {
  statement(sql, event) {
    const session = event.data.object as Stripe.Checkout.Session;
    if (session.mode !== "payment") return undefined;
    // Credits in metadata are what our checkout put there; a paid session without a usable count is no credit
    // pack of ours (another integration on the same Stripe account), and is acknowledged as such.
    const credits = Number(session.metadata?.credits);
    const ours = Number.isInteger(credits) && credits > 0 && credits <= MAX_INT;
    if (session.payment_status !== "paid" || !ours) return sql`'ignored'`;
    const buyer = sql`public.service_role_stripe_user(
      ${str(session, "metadata.user_id", "client_reference_id") ?? null}, ${str(session, "customer") ?? null})`;
    const discount = Number(session.metadata?.discount_percent ?? 0);
    const purchase = sql`public.service_role_record_credit_purchase(${buyer}, ${session.id},
      ${str(session, "payment_intent") ?? null}, ${session.metadata?.pack_id ?? null}, ${credits},
      ${session.amount_total ?? 0}, ${session.currency ?? "usd"}, ${discount})`;
    return sql`case when ${purchase} is null then 'unknown_user' else 'applied' end`;
  },
  async prefetch(event, ctx) {
    const session = event.data.object as Stripe.Checkout.Session;
    const id = session.mode === "subscription" ? str(session, "subscription") : undefined;
    return id ? { subscription: await ctx.stripe().subscriptions.retrieve(id) } : {};
  },
  async apply(tx, event, fetched) {
    const session = event.data.object as Stripe.Checkout.Session;
    if (session.mode !== "subscription" || !fetched.subscription) return "ignored";
    const userId = await userFor(tx, session);
    if (!userId) return "unknown_user";
    return await upsertSubscription(tx, fetched.subscription, event.created);
  },
};

/** customer.subscription.*: the newest event wins (see service_role_upsert_subscription); the profile's plan,
 * and so check_feature, changes in the same transaction. */
const subscriptionChanged: EventType = {
  apply: (tx, event) => upsertSubscription(tx, event.data.object, event.created),
};

/** invoice.paid: the plan's credits for the billing period the invoice opens, once per subscription period
 * (the ledger key), however many invoices or events name it. A period opens with the first invoice and each
 * renewal: the plan's whole credits. A plan change that restarts the cycle (monthly to yearly) opens one too,
 * but is paid for in part by the unused time credited back: it grants the share of the credits that was paid
 * in money (amount paid over the price), so switching back and forth buys credits at the plan's own rate and
 * no faster. The plan is the one of the invoice's non-proration line. */
const invoicePaid: EventType = {
  async apply(tx, event) {
    const invoice = event.data.object;
    const userId = await userFor(tx, invoice);
    if (!userId) return "unknown_user";
    const lines = ((invoice as { lines?: { data?: unknown[] } }).lines?.data ?? []).filter((l) => !isProration(l));
    const priceOf = (line: unknown) => str(line, "pricing.price_details.price", "price");
    const priceIds = lines.map(priceOf).filter((p): p is string => !!p);
    const reason = str(invoice, "billing_reason") ?? "";
    const paid = num(invoice, "amount_paid") ?? 0;
    const [plan] = PERIOD_INVOICES.has(reason) || reason === "subscription_update"
      ? await tx`
        select pl.id, pl.monthly_credits, x.id as price_id, x.unit_amount from public.prices x
        join public.products p on p.id = x.product_id join public.plans pl on pl.id = p.plan_id
        where x.id = any(${priceIds}) order by x.id limit 1`
      : [];
    const due = !plan
      ? 0
      : PERIOD_INVOICES.has(reason)
      ? plan.monthly_credits
      : plan.unit_amount > 0
      ? Math.floor(plan.monthly_credits * Math.min(paid, plan.unit_amount) / plan.unit_amount)
      : 0;
    let credits = 0;
    if (due > 0) {
      const periodStart = num(lines.find((l) => priceOf(l) === plan.price_id), "period.start");
      const subscription = invoiceSubscription(invoice);
      const key = subscription && periodStart
        ? `plan:${subscription}:${periodStart}`
        : `invoice:${str(invoice, "id")}`;
      const [{ granted }] = await tx`select to_jsonb(public.service_role_grant_credits(${userId}, ${due}, 'grant',
        ${`${plan.id} plan credits`}, ${key}, null, ${str(invoice, "id")!})) as granted`;
      if (!granted.replayed) credits = due;
    }
    await upsertInvoice(tx, invoice, userId, "paid", credits);
    if (paid > 0) {
      await tx`select public.service_role_referral_first_payment(${userId})`;
    }
    return "applied";
  },
};

/** invoice.payment_failed: the invoice's status and one "payment failed" email. */
const invoicePaymentFailed: EventType = {
  async apply(tx, event) {
    const invoice = event.data.object;
    const userId = await userFor(tx, invoice);
    if (!userId) return "unknown_user";
    await upsertInvoice(tx, invoice, userId, "payment_failed", 0);
    // No "payment failed" email for an invoice that is paid by now (the failure arrived late).
    await tx`insert into public.email_outbox (user_id, template, dedupe_key, payload)
      select ${userId}::uuid, 'payment_failed', ${`payment_failed:${str(invoice, "id")}`}::text, ${
      tx.json({
        invoice: str(invoice, "id") ?? null,
        amount_due: num(invoice, "amount_due") ?? null,
        currency: str(invoice, "currency") ?? null,
        hosted_invoice_url: str(invoice, "hosted_invoice_url") ?? null,
      })
    }
      where not exists (select from public.invoices i where i.id = ${str(invoice, "id")!} and i.status = 'paid')
      on conflict (dedupe_key) do nothing`;
    return "applied";
  },
};

/** The invoice a refunded or disputed payment paid, found through Stripe's invoice payments (a charge no
 * longer names its invoice). A credit pack's payment is known here (or will be: a purchase not recorded yet
 * holds its refund), so only an unknown payment intent is asked of Stripe. */
async function paidInvoice(event: Stripe.Event, ctx: EventContext): Promise<FromStripe> {
  const paymentIntent = str(event.data.object, "payment_intent");
  if (!paymentIntent) return {};
  if ((await ctx.sql`select 1 from public.purchases where payment_intent_id = ${paymentIntent}`).length) return {};
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
    console.error("stripe events: the Stripe key cannot read invoice payments; invoice refunds take no credits back");
    return {};
  }
}

/** charge.refunded: public.service_role_apply_refund claws back the refunded share of the unspent credits (or
 * keeps a refund whose purchase is not recorded yet, for when it is). */
const chargeRefunded: EventType = {
  prefetch: paidInvoice,
  async apply(tx, event, fetched) {
    const charge = event.data.object as Stripe.Charge;
    if (fetched.invoiceId) {
      const [{ outcome }] = await tx`select public.service_role_refund_invoice(${fetched.invoiceId},
        ${Math.min(charge.amount_refunded, MAX_INT)}) as outcome`;
      return outcome;
    }
    const paymentIntent = str(charge, "payment_intent");
    if (!paymentIntent) return "ignored";
    const [{ outcome }] = await tx`select public.service_role_apply_refund(${paymentIntent}, ${charge.id},
      ${Math.min(charge.amount_refunded, MAX_INT)}) as outcome`;
    return outcome;
  },
};

/** charge.dispute.funds_withdrawn: the disputed amount comes back out of the purchase's unspent credits, as a
 * refund of it would (public.service_role_apply_dispute). Not charge.dispute.created: an inquiry is created as a
 * dispute too and takes no money. */
const disputeFundsWithdrawn: EventType = {
  prefetch: paidInvoice,
  async apply(tx, event, fetched) {
    const dispute = event.data.object as Stripe.Dispute;
    if (fetched.invoiceId) {
      const [{ outcome }] = await tx`select public.service_role_refund_invoice(${fetched.invoiceId},
        ${Math.min(dispute.amount, MAX_INT)}, ${dispute.id}) as outcome`;
      return outcome;
    }
    const paymentIntent = str(dispute, "payment_intent");
    if (!paymentIntent) return "ignored";
    const [{ outcome }] = await tx`select public.service_role_apply_dispute(${paymentIntent}, ${dispute.id},
      ${Math.min(dispute.amount, MAX_INT)}) as outcome`;
    return outcome;
  },
};

/** customer.deleted (in the dashboard): the user's link is dropped for good, so their next checkout makes a new
 * customer instead of failing on this one. */
const customerDeleted: EventType = {
  async apply(tx, event) {
    await tx`select public.service_role_forget_customer(${str(event.data.object, "id") ?? ""})`;
    return "applied";
  },
};

/** Any other event: stored and acknowledged, in the one statement that claims it. */
const ignored: EventType = {
  statement: (sql) => sql`'ignored'`,
  apply: () => Promise.resolve("ignored"),
};

/** The event types acted on. */
export const EVENT_TYPES: Readonly<Record<string, EventType>> = {
  "checkout.session.completed": checkoutPaid,
  "checkout.session.async_payment_succeeded": checkoutPaid,
  "customer.subscription.created": subscriptionChanged,
  "customer.subscription.updated": subscriptionChanged,
  "customer.subscription.deleted": subscriptionChanged,
  "invoice.paid": invoicePaid,
  "invoice.payment_failed": invoicePaymentFailed,
  "charge.refunded": chargeRefunded,
  "charge.dispute.funds_withdrawn": disputeFundsWithdrawn,
  "customer.deleted": customerDeleted,
};

export const eventTypeOf = (type: string): EventType => Object.hasOwn(EVENT_TYPES, type) ? EVENT_TYPES[type] : ignored;

/**
 * Stores `event` and applies it, once: the claim (public.service_role_claim_stripe_event stores it, or finds
 * it stored) and the effect commit together, so a redelivery, or a twin delivered at the same moment (which
 * waits on the id), finds it processed and changes nothing ("duplicate"). When applying fails, the event is
 * kept unprocessed with its error and the error is rethrown: the webhook answers 5xx so that Stripe redelivers,
 * and the stored event is applied then. `event` must pass eventShape.
 */
export async function processEvent(ctx: EventContext, event: Stripe.Event): Promise<Outcome> {
  const { sql } = ctx;
  const type = eventTypeOf(event.type);
  const claim = (q: Sql | Tx) =>
    q`public.service_role_claim_stripe_event(${event.id}, ${event.type}, to_timestamp(${event.created}),
      ${q.json(event as never)})`;
  try {
    const statement = type.statement?.(sql, event);
    if (statement) {
      const [{ outcome }] = await sql`select case when ${claim(sql)} then ${statement} else 'duplicate' end as outcome`;
      return outcome;
    }
    const fetched = (await type.prefetch?.(event, ctx)) ?? {};
    return await sql.begin(async (tx) => {
      const [{ claimed }] = await tx`select ${claim(tx)} as claimed`;
      return claimed ? await type.apply(tx, event, fetched) : "duplicate";
    }) as Outcome;
  } catch (err) {
    await storeFailure(sql, event, err);
    throw err;
  }
}

/** Keeps a failed event unprocessed with its error (a stored one counts the attempt), for a redelivery to
 * apply. A failure to store it is logged: the caller still gets the first error. */
async function storeFailure(sql: Sql, event: Stripe.Event, err: unknown) {
  const message = (err instanceof Error ? err.message : String(err)).slice(0, 1000);
  try {
    await sql`
      insert into public.stripe_events (id, type, stripe_created_at, payload, attempts, last_error)
      values (${event.id}, ${event.type}, to_timestamp(${event.created}), ${sql.json(event as never)}, 1, ${message})
      on conflict (id) do update set attempts = public.stripe_events.attempts + 1, last_error = excluded.last_error
      where public.stripe_events.processed_at is null`;
  } catch (storeErr) {
    console.error("stripe events: could not store the failed event", event.id, storeErr);
  }
}
