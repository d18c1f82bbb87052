// POST /stripe-webhook (verify_jwt = false; Stripe signs instead). The order of work is what makes it safe:
//   1. verify the Stripe-Signature on the raw body, and that it is an event (400 and nothing stored when
//      either fails);
//   2. in one transaction: claim the event by its unique id (public.service_role_claim_stripe_event stores
//      it), apply it, and commit both together. A redelivery (or a twin delivered at the same moment, which
//      waits on the id) finds the event processed and changes nothing. An event whose effect is one SQL call
//      (a credit-pack checkout) is claimed and applied by one statement; any other in a transaction;
//   3. if applying fails, the event is stored apart with the error and the answer is 500, so Stripe
//      delivers it again and the stored event is applied then.
// 2xx is answered only once the event is stored and applied.
import { z } from "zod";
import { optionalEnv } from "../_shared/env.ts";
import { db, type Sql, type Tx } from "../_shared/db.ts";
import { BadRequestError, MethodNotAllowedError, ServiceUnavailableError } from "../_shared/errors.ts";
import { json, withHttp } from "../_shared/http.ts";
import { readBodyText, unstorableText } from "../_shared/request.ts";
import { stripe } from "../_shared/stripe.ts";
import { type Stripe, webhookCrypto } from "../_shared/stripe-client.ts";
import { applyEvent, fetchFromStripe, oneStatementEffect } from "./apply.ts";

/** What this function reads of every event (Stripe's carry more, all of it kept). */
const eventShape = z.looseObject({
  id: z.string().min(1).max(255),
  type: z.string().min(1),
  created: z.number().int(),
  data: z.looseObject({ object: z.looseObject({}) }),
});

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
  // hand with the secret might be anything).
  if (!eventShape.safeParse(event).success || unstorableText(event).length > 0) {
    throw new BadRequestError(
      "Not a Stripe event: it needs an id, a type, a created time and data.object, and text Postgres can store",
      "invalid_event",
    );
  }
  return event;
}

export const handler = withHttp(async (req) => {
  if (req.method !== "POST") throw new MethodNotAllowedError(req.method);
  const event = await verify(req);

  const claim = (sql: Sql | Tx) =>
    sql`public.service_role_claim_stripe_event(${event.id}, ${event.type}, to_timestamp(${event.created}),
      ${sql.json(event as never)})`;

  try {
    const effect = oneStatementEffect(db(), event);
    let outcome;
    if (effect) {
      [{ outcome }] = await db()`select case when ${
        claim(db())
      } then ${effect} else 'duplicate' end as outcome`;
    } else {
      const fetched = await fetchFromStripe(event);
      outcome = await db().begin(async (tx: Tx) => {
        const [{ claimed }] = await tx`select ${claim(tx)} as claimed`;
        return claimed ? await applyEvent(tx, event, fetched) : "duplicate";
      });
    }
    return json({ received: true, id: event.id, outcome });
  } catch (err) {
    const message = (err instanceof Error ? err.message : String(err)).slice(0, 1000);
    // Kept unprocessed with its error (a stored one counts the attempt), for Stripe's retry to apply.
    await db()`
      insert into public.stripe_events (id, type, stripe_created_at, payload, attempts, last_error)
      values (${event.id}, ${event.type}, to_timestamp(${event.created}), ${
      db().json(event as never)
    }, 1, ${message})
      on conflict (id) do update set attempts = public.stripe_events.attempts + 1, last_error = excluded.last_error
      where public.stripe_events.processed_at is null`;
    throw err; // a 500: Stripe retries, and the stored event is applied then
  }
});
