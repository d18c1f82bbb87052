// What each Polar webhook event does, one entry per event type, and processEvent, which stores (claims) an event
// and applies it in one statement, exactly as _shared/billing/stripe-events.ts does for Stripe: the claim and the
// effect commit together, so a redelivery or a twin delivered at the same moment finds the event processed and
// changes nothing; an effect that fails leaves the event stored unprocessed with its error, and the webhook
// answers non-2xx so that Polar delivers it again.
//
// The rules are SQL's: credits through public.service_role_record_credit_purchase (via
// service_role_record_polar_purchase), refunds through public.service_role_return_payment (the refunded share
// of a purchase's credits, as far as unspent; a refund before its purchase is held and taken back with it),
// subscriptions through service_role_upsert_subscription (the newest event wins), a subscription order's plan
// credits through service_role_record_invoice. Node-safe: the caller hands in the database pool.
import type postgres from "postgres";
import { z } from "zod";
import { appErrorFromDb } from "../../db-errors.ts";

export type Sql = postgres.Sql;
type Fragment = postgres.Fragment;

/** As for Stripe: applied; ignored (not ours to act on); stale (an older state of a subscription than the one
 * applied); held (a refund of a purchase not recorded yet); duplicate (applied before). */
export type Outcome = "applied" | "ignored" | "stale" | "held" | "duplicate";

/** A Polar webhook event as stored: the Standard Webhooks message id (webhook-id header) and the payload. */
export interface PolarEvent {
  id: string;
  type: string;
  /** When Polar emitted it (ISO 8601, microseconds). */
  timestamp: string;
  data: Record<string, unknown>;
}

/** What is read of every payload (Polar's carry more, all of it kept): a payload that fails it is no event this
 * module can store, and the webhook answers 400 invalid_event. */
export const payloadShape = z.looseObject({
  type: z.string().min(1).max(255),
  timestamp: z.iso.datetime({ offset: true, local: true }),
  data: z.looseObject({}),
});

const MAX_INT = 2_147_483_647;
const cents = (n: unknown) => Math.max(0, Math.min(typeof n === "number" && Number.isFinite(n) ? Math.trunc(n) : 0, MAX_INT));

type Loose = Record<string, unknown>;
function at(obj: unknown, path: string): unknown {
  return path.split(".").reduce<unknown>((o, k) => (o && typeof o === "object" ? (o as Loose)[k] : undefined), obj);
}
function str(obj: unknown, ...paths: string[]): string | undefined {
  for (const p of paths) {
    const v = at(obj, p);
    if (typeof v === "string" && v) return v;
  }
  return undefined;
}
/** Polar's ISO times as Dates (null when absent or not a time). */
function time(obj: unknown, path: string): Date | null {
  const v = str(obj, path);
  const d = v ? new Date(v) : null;
  return d && !Number.isNaN(d.getTime()) ? d : null;
}

/** The account a Polar object belongs to: our checkout's `account_id` metadata, else its customer's external id
 * (our checkout makes it the account id), else its customer's link; the customer is linked on the way. */
const accountOf = (sql: Sql, obj: unknown) =>
  sql`public.service_role_polar_account(${str(obj, "metadata.account_id") ?? null},
    ${str(obj, "customer.external_id") ?? null}, ${str(obj, "customer_id", "customer.id") ?? null})`;

const applied = (sql: Sql, call: Fragment) => sql`(select 'applied'::text from ${call} as effect)`;

export interface EventType {
  apply: (sql: Sql, event: PolarEvent) => Fragment;
}

/** order.paid: a credits order (a pack or a deposit our checkout made: `kind: credits` and the credits in its
 * metadata) records the purchase and its credits; a subscription's order (its first, a renewal, a change)
 * grants the plan's credits for the period it opens. Anything else is acknowledged. */
const orderPaid: EventType = {
  apply(sql, event) {
    const order = event.data;
    const id = str(order, "id");
    if (!id) return sql`'ignored'`;
    const reason = str(order, "billing_reason");
    const subscription = str(order, "subscription_id");
    const currency = str(order, "currency") ?? "usd";
    if (subscription && reason?.startsWith("subscription_")) {
      // The plan's period: its non-proration line (the plan's price and when the period starts), else the
      // subscription's current period.
      const items = Array.isArray(order.items) ? order.items : [];
      const line = items.find((i) => at(i, "proration") === false && str(i, "product_price_id"));
      const start = time(line, "start_timestamp") ?? time(order, "subscription.current_period_start");
      const price = str(line, "product_price_id");
      const lines = price && start ? [{ price, period_start: Math.floor(start.getTime() / 1000) }] : [];
      return applied(
        sql,
        sql`public.service_role_record_polar_invoice(${id}, ${accountOf(sql, order)}, ${subscription}, ${reason},
          ${cents(order.total_amount)}, ${currency}, ${sql.json(lines as never)})`,
      );
    }
    const credits = Number(str(order, "metadata.credits") ?? at(order, "metadata.credits"));
    const ours = str(order, "metadata.kind") === "credits" && Number.isInteger(credits) && credits > 0 &&
      credits <= MAX_INT;
    if (!ours) return sql`'ignored'`;
    const discount = Number(at(order, "metadata.discount_percent") ?? 0) || 0;
    return applied(
      sql,
      sql`public.service_role_record_polar_purchase(${accountOf(sql, order)}, ${str(order, "checkout_id") ?? id},
        ${id}, ${str(order, "metadata.pack_id") ?? null}, ${credits}, ${cents(order.total_amount)}, ${currency},
        ${Math.max(0, Math.min(100, Math.trunc(discount)))})`,
    );
  },
};

/** order.refunded: the order's `refunded_amount` is all refunded on it so far, as Stripe's charge.refunded
 * reports it: the refunded share of what it bought comes back (a subscription order's plan credits, else the
 * credits purchase's), once per amount, a repeated or smaller one changing nothing. */
const orderRefunded: EventType = {
  apply(sql, event) {
    const order = event.data;
    const id = str(order, "id");
    if (!id) return sql`'ignored'`;
    const invoice = str(order, "subscription_id") && str(order, "billing_reason")?.startsWith("subscription_")
      ? id
      : null;
    return sql`public.service_role_return_payment('refund', ${id}, ${cents(order.refunded_amount)}, ${id},
      ${invoice})`;
  },
};

/** subscription.*: Polar sends the subscription's whole state; the newest event wins (by the payload's timestamp)
 * and the account's plan follows in the same transaction. */
const subscriptionChanged: EventType = {
  apply(sql, event) {
    const sub = event.data;
    const id = str(sub, "id");
    const status = str(sub, "status");
    if (!id || !status) return sql`'ignored'`;
    const prices = Array.isArray(sub.prices) ? sub.prices : [];
    const price = str(prices[0], "id") ?? null;
    return sql`case when public.service_role_upsert_polar_subscription(${id}, ${accountOf(sql, sub)}, ${status},
        ${price}, ${time(sub, "current_period_start")}, ${time(sub, "current_period_end")},
        ${at(sub, "cancel_at_period_end") === true}, ${time(sub, "canceled_at")}, ${new Date(event.timestamp)})
      then 'applied' else 'stale' end`;
  },
};

const ignored: EventType = { apply: (sql) => sql`'ignored'` };

/** The event types acted on; every other is stored and acknowledged. */
export const EVENT_TYPES: Readonly<Record<string, EventType>> = {
  "order.paid": orderPaid,
  "order.refunded": orderRefunded,
  "subscription.created": subscriptionChanged,
  "subscription.updated": subscriptionChanged,
  "subscription.active": subscriptionChanged,
  "subscription.canceled": subscriptionChanged,
  "subscription.uncanceled": subscriptionChanged,
  "subscription.revoked": subscriptionChanged,
  "subscription.past_due": subscriptionChanged,
};

export const eventTypeOf = (type: string): EventType => Object.hasOwn(EVENT_TYPES, type) ? EVENT_TYPES[type] : ignored;

/** Stores `event` and applies it, once, in one statement (see the module's comment). When applying fails the event
 * is kept unprocessed with its error, and the error is thrown (a PT4xx refusal of the SQL as an AppError: 409
 * customer_not_linked, 409 invoice_not_recorded), for the webhook to answer non-2xx and Polar to deliver again. */
export async function processEvent(sql: Sql, event: PolarEvent): Promise<Outcome> {
  const type = eventTypeOf(event.type);
  const payload = { type: event.type, timestamp: event.timestamp, data: event.data };
  const store = (error: string | null) =>
    sql`public.service_role_store_polar_event(${event.id}, ${event.type}, ${new Date(event.timestamp)},
      ${sql.json(payload as never)}, ${error})`;
  try {
    const [{ outcome }] = await sql`select
      case when ${store(null)} then ${type.apply(sql, event)} else 'duplicate' end as outcome`;
    return outcome as Outcome;
  } catch (err) {
    const message = (err instanceof Error ? err.message : String(err)).slice(0, 1000);
    try {
      await sql`select ${store(message)}`;
    } catch (storeErr) {
      console.error("polar events: could not keep the failed event", event.id, storeErr);
    }
    throw appErrorFromDb(err) ?? err;
  }
}
