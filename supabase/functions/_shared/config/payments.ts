// The config section `payments`: who takes the money. Stripe (the default, as before this section existed),
// Polar, or both: Stripe for plans (subscriptions and the billing portal), Polar for credits (packs and custom
// deposits within `purchase.minCents`..`maxCents`). Secrets are named, never written: the access token and the
// webhook secret are the functions' secrets (POLAR_ACCESS_TOKEN, POLAR_WEBHOOK_SECRET by default).
import { z } from "zod";

const envName = z.string().regex(/^[A-Z][A-Z0-9_]*$/, "must be an environment variable name");

export const paymentProviders = ["stripe", "polar", "both"] as const;

export const paymentsSchema = z.object({
  /** stripe: Stripe sells everything; polar: Polar does; both: Stripe sells plans, Polar sells credits. */
  provider: z.enum(paymentProviders).default("stripe"),
  polar: z
    .object({
      /** Polar's production API (api.polar.sh) or its sandbox (sandbox-api.polar.sh), whose tokens are separate. */
      server: z.enum(["production", "sandbox"]).default("production"),
      accessTokenEnv: envName.default("POLAR_ACCESS_TOKEN"),
      webhookSecretEnv: envName.default("POLAR_WEBHOOK_SECRET"),
    })
    .prefault({}),
});

export type PaymentsConfig = z.output<typeof paymentsSchema>;
export type Seller = "stripe" | "polar";

/** Who sells a plan (and runs the billing portal), and who sells credits. */
export function sellerOf(payments: PaymentsConfig, what: "plans" | "credits"): Seller {
  if (payments.provider === "both") return what === "plans" ? "stripe" : "polar";
  return payments.provider;
}

/** Polar's smallest charge, in cents (its checkout refuses less). */
export const POLAR_MIN_CENTS = 50;

/** The rules `payments` adds to the whole config, as [path, message] issues: what Polar cannot sell as
 * configured. `config` is the rest of the config, already parsed. */
export function paymentsIssues(config: {
  payments: PaymentsConfig;
  plans: { perSeat: boolean; priceMonthlyCents: number; priceYearlyCents?: number }[];
  purchase: { minCents: number };
}): [(string | number)[], string][] {
  const issues: [(string | number)[], string][] = [];
  if (sellerOf(config.payments, "plans") === "polar") {
    config.plans.forEach((plan, i) => {
      // Seats follow a team's members through Stripe's subscription quantity (the seat sync); Polar's is not wired.
      if (plan.perSeat && (plan.priceMonthlyCents > 0 || (plan.priceYearlyCents ?? 0) > 0)) {
        issues.push([["plans", i, "perSeat"],
          'per-seat plans are sold through Stripe: set payments.provider to "stripe" or "both"']);
      }
    });
  }
  if (sellerOf(config.payments, "credits") === "polar" && config.purchase.minCents < POLAR_MIN_CENTS) {
    issues.push([["purchase", "minCents"], `Polar charges at least ${POLAR_MIN_CENTS} cents`]);
  }
  return issues;
}
