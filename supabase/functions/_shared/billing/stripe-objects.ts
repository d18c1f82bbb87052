// Reading Stripe objects. They change shape between API versions (an invoice's subscription moved under
// `parent`, a line's price under `pricing`), so fields are read by path, tolerating either shape, and an
// expandable field reads as its id whether it came expanded or not. Pure: no database, no Stripe calls.

type Loose = Record<string, unknown>;

export function at(obj: unknown, path: string): unknown {
  return path.split(".").reduce<unknown>(
    (o, k) => (o && typeof o === "object" ? (o as Loose)[k] : undefined),
    obj,
  );
}

/** The first of `paths` holding a non-empty string, or an expanded object's id. */
export function str(obj: unknown, ...paths: string[]): string | undefined {
  for (const p of paths) {
    const v = at(obj, p);
    if (typeof v === "string" && v) return v;
    if (v && typeof v === "object" && typeof (v as Loose).id === "string") return (v as Loose).id as string;
  }
  return undefined;
}

/** The first of `paths` holding a number. */
export function num(obj: unknown, ...paths: string[]): number | undefined {
  for (const p of paths) {
    const v = at(obj, p);
    if (typeof v === "number") return v;
  }
  return undefined;
}

/** Stripe's seconds as a Date (null when absent). */
export const ts = (seconds: number | undefined) => (seconds === undefined ? null : new Date(seconds * 1000));

/** The subscription an invoice bills (under `parent` since API 2025-03-31, at the top before). */
export function invoiceSubscription(invoice: unknown): string | undefined {
  return str(invoice, "parent.subscription_details.subscription", "subscription");
}

/** What the mirror keeps of a subscription (public.subscriptions), times in Unix seconds: the period and the
 * price are the subscription's before API 2025-03-31 and its (first) item's since; the quantity and the item id
 * are that item's. The webhook applies this, and
 * a reconciliation run compares it with the mirror's row: one reading, so the two never disagree. */
export interface SubscriptionFields {
  status: string | undefined;
  price: string | null;
  periodStart: number | undefined;
  periodEnd: number | undefined;
  cancelAtPeriodEnd: boolean;
  canceledAt: number | undefined;
  /** The plan item's quantity (seats, for a per-seat plan) and its id (what a seat change updates). */
  quantity: number | null;
  itemId: string | null;
}

export function subscriptionFields(sub: unknown): SubscriptionFields {
  const items = at(sub, "items.data");
  const item = Array.isArray(items) ? items[0] : undefined;
  return {
    status: str(sub, "status"),
    price: str(item, "price") ?? null,
    periodStart: num(sub, "current_period_start") ?? num(item, "current_period_start"),
    periodEnd: num(sub, "current_period_end") ?? num(item, "current_period_end"),
    cancelAtPeriodEnd: at(sub, "cancel_at_period_end") === true,
    canceledAt: num(sub, "canceled_at"),
    quantity: num(item, "quantity") ?? null,
    itemId: str(item, "id") ?? null,
  };
}

/** A line of an invoice that bills a subscription's period, as service_role_record_invoice takes it. */
export interface PeriodLine {
  price: string;
  /** Unix seconds. */
  period_start: number;
}

/**
 * The lines of an invoice that bill a subscription's period, in the invoice's order: a subscription item's
 * line that is no proration. Since API version 2025-03-31 a line says what generated it in `parent`:
 * `{ type: "subscription_item_details", subscription_item_details: { proration, ... } }` for a subscription
 * item, `{ type: "invoice_item_details", invoice_item_details: { proration, ... } }` for an invoice item (the
 * proration items a plan change bills on the next invoice with `create_prorations` are such), and the price is
 * `pricing.price_details.price`. Before, `type: "subscription"` or `"invoiceitem"`, `proration` and `price`
 * sat on the line itself. A proration, of either parent, bills the unused or the added time of a change and
 * opens no period; an invoice item is no period of the subscription whatever it says.
 */
export function periodLines(invoice: unknown): PeriodLine[] {
  const lines = at(invoice, "lines.data");
  if (!Array.isArray(lines)) return [];
  return lines.flatMap((line): PeriodLine[] => {
    const parent = at(line, "parent");
    const billsPeriod = parent && typeof parent === "object"
      ? at(parent, "type") === "subscription_item_details" &&
        at(parent, "subscription_item_details.proration") === false
      : at(line, "type") === "subscription" && at(line, "proration") === false;
    const price = str(line, "pricing.price_details.price", "price");
    const start = num(line, "period.start");
    return billsPeriod && price && start !== undefined ? [{ price, period_start: start }] : [];
  });
}
