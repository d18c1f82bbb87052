// POST /stripe-webhook (verify_jwt = false; Stripe signs instead). The order of work is what makes it safe:
//   1. verify the Stripe-Signature on the raw body, and that it is an event we can store (400 and nothing
//      stored when either fails);
//   2. store and apply it once, through processEvent (_shared/billing/stripe-events.ts: the claim and the
//      effect commit together; what each event type does is in its table there);
//   3. if applying fails, the event stays stored with the error and the answer is 5xx, so Stripe delivers it
//      again and the stored event is applied then.
// 2xx is answered only once the event is stored and applied.
import { optionalEnv } from "../_shared/env.ts";
import { db } from "../_shared/db.ts";
import { BadRequestError, MethodNotAllowedError, ServiceUnavailableError } from "../_shared/errors.ts";
import { json, withHttp } from "../_shared/http.ts";
import { readBodyText, unstorableText } from "../_shared/request.ts";
import { stripe } from "../_shared/stripe.ts";
import { type Stripe, webhookCrypto } from "../_shared/stripe-client.ts";
import { eventShape, processEvent } from "../_shared/billing/stripe-events.ts";

/** Stripe's events are a few kB, some tens; a signature is checked only after the body is read, so the body
 * is bounded first. */
const MAX_EVENT_BYTES = 1024 * 1024;

async function verify(req: Request): Promise<Stripe.Event> {
  const secret = optionalEnv("STRIPE_WEBHOOK_SECRET");
  if (!secret) {
    throw new ServiceUnavailableError("STRIPE_WEBHOOK_SECRET is not set", "billing_not_configured");
  }
  const signature = req.headers.get("stripe-signature");
  if (!signature) throw new BadRequestError("Missing Stripe-Signature header", "invalid_signature");
  const payload = await readBodyText(req, MAX_EVENT_BYTES);
  const client = stripe(); // 503 when STRIPE_SECRET_KEY is missing, not a signature error
  let event: Stripe.Event;
  try {
    event = await client.webhooks.constructEventAsync(payload, signature, secret, undefined, webhookCrypto);
  } catch {
    throw new BadRequestError("The Stripe signature does not match this payload", "invalid_signature");
  }
  // Signed, but only an event can be stored and applied (Stripe sends nothing else; a payload signed by
  // hand with the secret might be anything, a `created` Postgres cannot store included).
  if (!eventShape.safeParse(event).success || unstorableText(event).length > 0) {
    throw new BadRequestError(
      "Not a Stripe event: it needs an id, a type, a created time (Unix seconds, before year 10000) and " +
        "data.object, and text Postgres can store",
      "invalid_event",
    );
  }
  return event;
}

export const handler = withHttp(async (req) => {
  if (req.method !== "POST") throw new MethodNotAllowedError(req.method);
  const event = await verify(req);
  const outcome = await processEvent({ sql: db(), stripe }, event);
  return json({ received: true, id: event.id, outcome });
});
