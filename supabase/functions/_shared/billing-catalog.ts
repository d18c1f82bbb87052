// Stable Stripe names for the config's plans and packs: product ids and price lookup keys. The sync script
// creates them; checkout and webhooks find prices by them; a fork never renames them by hand.
import type { ProductConfig } from "./config-schema.ts";

export type Interval = "month" | "year";

export const planProductId = (planId: string) => `saasbase_plan_${planId}`;
export const packProductId = (packId: string) => `saasbase_pack_${packId}`;
export const planLookupKey = (planId: string, interval: Interval) =>
  `plan_${planId}_${interval === "month" ? "monthly" : "yearly"}`;
export const packLookupKey = (packId: string) => `pack_${packId}`;

export interface CatalogPrice {
  lookupKey: string;
  unitAmount: number;
  interval: Interval | null;
}

export interface CatalogProduct {
  id: string;
  kind: "plan" | "credit_pack";
  refId: string;
  name: string;
  description: string;
  prices: CatalogPrice[];
}

/** What Stripe should hold for this config: a product per paid plan (monthly and yearly prices) and per pack. */
export function stripeCatalog(config: ProductConfig): CatalogProduct[] {
  const plans: CatalogProduct[] = config.plans
    .filter((p) => p.priceMonthlyCents > 0 || (p.priceYearlyCents ?? 0) > 0)
    .map((p) => ({
      id: planProductId(p.id),
      kind: "plan",
      refId: p.id,
      name: `${config.product.name} ${p.name}`,
      description: p.description,
      prices: [
        ...(p.priceMonthlyCents > 0
          ? [{
            lookupKey: planLookupKey(p.id, "month"),
            unitAmount: p.priceMonthlyCents,
            interval: "month" as const,
          }]
          : []),
        ...(p.priceYearlyCents
          ? [{
            lookupKey: planLookupKey(p.id, "year"),
            unitAmount: p.priceYearlyCents,
            interval: "year" as const,
          }]
          : []),
      ],
    }));
  const packs: CatalogProduct[] = config.creditPacks.map((c) => ({
    id: packProductId(c.id),
    kind: "credit_pack",
    refId: c.id,
    name: c.name,
    description: `${c.credits} credits`,
    prices: [{ lookupKey: packLookupKey(c.id), unitAmount: c.priceCents, interval: null }],
  }));
  return [...plans, ...packs];
}
