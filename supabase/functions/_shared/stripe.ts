// The functions' Stripe client, from the platform secrets STRIPE_SECRET_KEY (and STRIPE_API_BASE in tests).
import { ServiceUnavailableError } from "./errors.ts";
import { optionalEnv } from "./env.ts";
import { createStripe, type Stripe } from "./stripe-client.ts";

let client: Stripe | undefined;

export function stripe(): Stripe {
  const key = optionalEnv("STRIPE_SECRET_KEY");
  if (!key) {
    throw new ServiceUnavailableError(
      "Billing is not configured (STRIPE_SECRET_KEY)",
      "billing_not_configured",
    );
  }
  client ??= createStripe(key, optionalEnv("STRIPE_API_BASE"));
  return client;
}
