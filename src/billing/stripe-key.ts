// The Stripe key a command-line script (stripe:sync, stripe:reconcile) runs with: STRIPE_SECRET_KEY, never a live
// key unless SAASBASE_ALLOW_LIVE=1 says so, as a script run against the live account by mistake writes to it.

/** STRIPE_SECRET_KEY, or exits 1 saying what is missing; a live key (sk_live_, rk_live_) only with
 * SAASBASE_ALLOW_LIVE=1. `liveUse` says what the script would do to the live account ("sync the live catalog"). */
export function scriptStripeKey(liveUse: string): string {
  const key = process.env.STRIPE_SECRET_KEY;
  if (!key) {
    console.error("Set STRIPE_SECRET_KEY (a test-mode key) in .env or the environment.");
    process.exit(1);
  }
  if (/^(sk|rk)_live_/.test(key) && process.env.SAASBASE_ALLOW_LIVE !== "1") {
    console.error(`Refusing a live key: set SAASBASE_ALLOW_LIVE=1 when you mean to ${liveUse}.`);
    process.exit(1);
  }
  return key;
}
