// POST /stripe-webhook (verify_jwt = false; Stripe signs instead). The order of work is what makes it safe:
//   1. verify the Stripe-Signature on the raw body (400 and nothing stored when it fails);
//   2. in one transaction: store the event by its unique id, apply it, and commit both together. A
//      redelivery (or a twin delivered at the same moment, which waits on the id) finds the event stored
//      and changes nothing;
//   3. if applying fails, the event is stored apart with the error and the answer is 500, so Stripe
//      delivers it again and the stored event is applied then.
// 2xx is answered only once the event is stored and applied.
import { optionalEnv } from "../_shared/env.ts";
import { db, type Tx } from "../_shared/db.ts";
import { BadRequestError, MethodNotAllowedError, ServiceUnavailableError } from "../_shared/errors.ts";
import { json, withHttp } from "../_shared/http.ts";
import { stripe } from "../_shared/stripe.ts";
import { type Stripe, webhookCrypto } from "../_shared/stripe-client.ts";
import { applyEvent } from "./apply.ts";

async function verify(req: Request): Promise<Stripe.Event> {
  const secret = optionalEnv("STRIPE_WEBHOOK_SECRET");
  if (!secret) {
    throw new ServiceUnavailableError("STRIPE_WEBHOOK_SECRET is not set", "billing_not_configured");
  }
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

  const store = (tx: Tx, processed: boolean) =>
    tx`
    insert into public.stripe_events (id, type, stripe_created_at, payload, processed_at, attempts)
    values (${event.id}, ${event.type}, to_timestamp(${event.created}), ${tx.json(event as never)},
      ${processed ? new Date() : null}, 1)
    on conflict (id) do nothing
    returning id`;

  try {
    const outcome = await db().begin(async (tx: Tx) => {
      if ((await store(tx, true)).length === 0) {
        // Stored before: applied already, or stored unapplied by a failed attempt, to be applied now.
        const [row] =
          await tx`select processed_at from public.stripe_events where id = ${event.id} for update`;
        if (row.processed_at) return "duplicate";
        await tx`update public.stripe_events set processed_at = now(), attempts = attempts + 1, last_error = null
          where id = ${event.id}`;
      }
      return await applyEvent(tx, event);
    });
    return json({ received: true, id: event.id, outcome });
  } catch (err) {
    const message = (err instanceof Error ? err.message : String(err)).slice(0, 1000);
    await db().begin(async (tx: Tx) => {
      if ((await store(tx, false)).length === 0) {
        await tx`update public.stripe_events set attempts = attempts + 1, last_error = ${message}
          where id = ${event.id} and processed_at is null`;
      } else {
        await tx`update public.stripe_events set last_error = ${message} where id = ${event.id}`;
      }
    });
    throw err; // a 500: Stripe retries, and the stored event is applied then
  }
});
