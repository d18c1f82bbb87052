// Stripe's webhook as the tests play it: events shaped as Stripe sends them, signed as Stripe signs them (the
// stripe SDK's test header, with the test stacks' endpoint secret), posted to the stripe-webhook function.
import Stripe from "stripe";
import { TEST_FUNCTION_ENV } from "./stack.ts";

const signer = new Stripe("sk_test_signer");
let eventSeq = 0;

/** An event as Stripe sends it (the account's API version, test mode); `id` unique unless given. */
export function stripeEvent(type: string, object: object, opts: { id?: string; created?: number } = {}) {
  return {
    id: opts.id ?? `evt_test_${Date.now()}_${++eventSeq}`,
    object: "event",
    type,
    created: opts.created ?? Math.floor(Date.now() / 1000),
    api_version: "2026-10-28.endive",
    livemode: false,
    data: { object },
  };
}

/** The stripe-signature header Stripe would send with `payload` (signed with the stacks' endpoint secret unless
 * `secret` says another, at `timestamp` or now). */
export function signPayload(payload: string, opts: { secret?: string; timestamp?: number } = {}): Promise<string> {
  return signer.webhooks.generateTestHeaderStringAsync({
    payload,
    secret: opts.secret ?? TEST_FUNCTION_ENV.STRIPE_WEBHOOK_SECRET,
    timestamp: opts.timestamp,
  });
}

/** Posts `event` (an object, or the payload itself) to the stripe-webhook function under `functionsUrl`, signed
 * (with `secret`), or with the `signature` given (null: none). */
export async function deliverEvent(
  functionsUrl: string,
  event: object | string,
  opts: { secret?: string; signature?: string | null } = {},
): Promise<Response> {
  const payload = typeof event === "string" ? event : JSON.stringify(event);
  const signature = opts.signature !== undefined ? opts.signature : await signPayload(payload, { secret: opts.secret });
  return fetch(`${functionsUrl}/stripe-webhook`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(signature === null ? {} : { "stripe-signature": signature }) },
    body: payload,
  });
}
