// POST /stripe-webhook (verify_jwt = false; Stripe signs instead). The order of work is what makes it safe:
//   1. verify the Stripe-Signature on the raw body (400 and nothing stored when it fails);
//   2. store the event by its unique id (a redelivery finds it);
//   3. apply it in one transaction holding the event row's lock, and mark it processed there: two identical
//      deliveries at once apply it once, and a failure leaves it unprocessed with the error recorded, answered
//      500 so that Stripe delivers it again.
// 2xx is answered only once the event is stored (and, unless it failed, applied).
import { optionalEnv } from "../_shared/env.ts";
import { db, type Tx } from "../_shared/db.ts";
import { BadRequestError, MethodNotAllowedError, ServiceUnavailableError } from "../_shared/errors.ts";
import { json, withHttp } from "../_shared/http.ts";
import { stripe } from "../_shared/stripe.ts";
import { type Stripe, webhookCrypto } from "../_shared/stripe-client.ts";
import { applyEvent } from "./apply.ts";

async function verify(req: Request): Promise<Stripe.Event> {
  const secret = optionalEnv("STRIPE_WEBHOOK_SECRET");
  if (!secret) throw new ServiceUnavailableError("STRIPE_WEBHOOK_SECRET is not set", "billing_not_configured");
  const signature = req.headers.get("stripe-signature");
  if (!signature) throw new BadRequestError("Missing Stripe-Signature header", "invalid_signature");
  const payload = await req.text();
  try {
    return await stripe().webhooks.constructEventAsync(payload, signature, secret, undefined, webhookCrypto);
  } catch {
    throw new BadRequestError("The Stripe signature does not match this payload", "invalid_signature");
  }
}

export const handler = withHttp(async (req) => {
  if (req.method !== "POST") throw new MethodNotAllowedError(req.method);
  const event = await verify(req);

  await db()`
    insert into public.stripe_events (id, type, stripe_created_at, payload)
    values (${event.id}, ${event.type}, to_timestamp(${event.created}), ${db().json(event as never)})
    on conflict (id) do nothing`;

  try {
    const outcome = await db().begin(async (tx: Tx) => {
      const [row] = await tx`select processed_at from public.stripe_events where id = ${event.id} for update`;
      if (row.processed_at) return "duplicate";
      const applied = await applyEvent(tx, event);
      await tx`update public.stripe_events set processed_at = now(), attempts = attempts + 1, last_error = null
        where id = ${event.id}`;
      return applied;
    });
    return json({ received: true, id: event.id, outcome });
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    await db()`update public.stripe_events set attempts = attempts + 1, last_error = ${message.slice(0, 1000)}
      where id = ${event.id}`;
    throw err; // a 500: Stripe retries, and the stored event is applied then
  }
});
