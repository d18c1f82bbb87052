// The Stripe client, for Deno (functions) and Node (scripts) alike. Requests go through fetch; a base URL
// (STRIPE_API_BASE) points the real SDK at another server speaking Stripe's API (stripe-mock, tests).
import Stripe from "stripe";

export function createStripe(secretKey: string, apiBase?: string): Stripe {
  const options: Stripe.StripeConfig = { httpClient: Stripe.createFetchHttpClient(), maxNetworkRetries: 2 };
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
