// The Stripe client, for Deno (functions) and Node (scripts) alike. Requests go through fetch; a base URL
// (STRIPE_API_BASE) points the real SDK at another server speaking Stripe's API (stripe-mock, tests).
import Stripe from "stripe";

export function createStripe(secretKey: string, apiBase?: string): Stripe {
  // 10 s a try (the SDK's default is 80), three tries: well inside the edge runtime's request limit, so a
  // Stripe outage is our 503, not the platform cutting the function off.
  const options: Stripe.StripeConfig = {
    httpClient: Stripe.createFetchHttpClient(),
    maxNetworkRetries: 2,
    timeout: 10_000,
  };
  if (apiBase) {
    const url = new URL(apiBase);
    options.host = url.hostname;
    options.port = Number(url.port || (url.protocol === "https:" ? 443 : 80));
    options.protocol = url.protocol === "https:" ? "https" : "http";
  }
  return new Stripe(secretKey, options);
}

/** Web Crypto for webhook signatures: Deno (and the edge runtime) have no Node crypto.createHmac path. */
export const webhookCrypto = Stripe.createSubtleCryptoProvider();

export type { Stripe };
