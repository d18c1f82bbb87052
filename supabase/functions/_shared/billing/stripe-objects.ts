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
