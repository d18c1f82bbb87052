// What Polar should sell for a config: a product per paid plan and interval (Polar's products bill one interval)
// when Polar sells the plans, and a product per credit pack plus one for custom deposits when it sells credits.
// Each carries its stable lookup key in its metadata (`saasbase_lookup_key`), which the sync finds it by; the same
// keys as Stripe's (billing-catalog.ts), plus `deposit`.
import type { ProductConfig } from "../../config-schema.ts";
import { packLookupKey, planLookupKey } from "../../billing-catalog.ts";
import { sellerOf } from "../../config/payments.ts";

export const DEPOSIT_LOOKUP_KEY = "deposit";

export interface PolarCatalogProduct {
  lookupKey: string;
  kind: "plan" | "credit_pack" | "deposit";
  /** The plan's or the pack's id (null for the deposit). */
  refId: string | null;
  name: string;
  description: string;
  /** A fixed price in cents, or a custom one between the bounds (the deposit: purchase.minCents..maxCents). */
  price: { fixed: number } | { min: number; max: number };
  interval: "month" | "year" | null;
}

export function polarCatalog(config: ProductConfig): PolarCatalogProduct[] {
  const products: PolarCatalogProduct[] = [];
  if (sellerOf(config.payments, "plans") === "polar") {
    for (const plan of config.plans) {
      for (const [interval, cents] of [["month", plan.priceMonthlyCents], ["year", plan.priceYearlyCents ?? 0]] as const) {
        if (cents <= 0) continue;
        products.push({
          lookupKey: planLookupKey(plan.id, interval),
          kind: "plan",
          refId: plan.id,
          name: `${config.product.name} ${plan.name} (${interval === "month" ? "monthly" : "yearly"})`,
          description: plan.description,
          price: { fixed: cents },
          interval,
        });
      }
    }
  }
  if (sellerOf(config.payments, "credits") === "polar") {
    for (const pack of config.creditPacks) {
      products.push({
        lookupKey: packLookupKey(pack.id),
        kind: "credit_pack",
        refId: pack.id,
        name: pack.name,
        description: `${pack.credits} credits`,
        price: { fixed: pack.priceCents },
        interval: null,
      });
    }
    products.push({
      lookupKey: DEPOSIT_LOOKUP_KEY,
      kind: "deposit",
      refId: null,
      name: `${config.product.name} credits`,
      description: `Credits at ${config.purchase.creditsPerDollar} a dollar`,
      price: { min: config.purchase.minCents, max: config.purchase.maxCents },
      interval: null,
    });
  }
  return products;
}
