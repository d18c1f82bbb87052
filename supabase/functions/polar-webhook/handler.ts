// POST /polar-webhook (verify_jwt = false; Polar signs instead). Set it as the endpoint of a Polar webhook
// (format Raw) with its secret as POLAR_WEBHOOK_SECRET (the name payments.polar.webhookSecretEnv gives). The order
// of work is stripe-webhook's:
//   1. verify the Standard Webhooks signature on the raw body (webhook-id, webhook-timestamp within 5 minutes,
//      webhook-signature `v1,<base64 HMAC-SHA256 of "id.timestamp.body">`; the SDK's webhooks.validateEvent),
//      and that it is an event we can store: 400 and nothing stored when either fails;
//   2. store it by its webhook-id and apply it once (_shared/billing/polar/events.ts: the claim and the effect
//      commit together);
//   3. if applying fails, the event stays stored with the error and the answer is 4xx/5xx, so Polar delivers it
//      again and the stored event is applied then.
// 2xx is answered only once the event is stored and applied.
import { webhooks } from "@polar-sh/sdk/2026-10";
import { config } from "../_shared/config.ts";
import { db } from "../_shared/db.ts";
import { optionalEnv } from "../_shared/env.ts";
import { BadRequestError, MethodNotAllowedError, ServiceUnavailableError } from "../_shared/errors.ts";
import { json, withHttp } from "../_shared/http.ts";
import { readBodyText, unstorableText } from "../_shared/request.ts";
import { type PolarEvent, payloadShape, processEvent } from "../_shared/billing/polar/events.ts";

/** Polar's events are a few kB; a signature is checked only after the body is read, so the body is bounded. */
const MAX_EVENT_BYTES = 1024 * 1024;

async function verify(req: Request): Promise<PolarEvent> {
  const name = config.payments.polar.webhookSecretEnv;
  const secret = optionalEnv(name);
  if (!secret) throw new ServiceUnavailableError(`${name} is not set`, "billing_not_configured");
  const headers = {
    "webhook-id": req.headers.get("webhook-id") ?? "",
    "webhook-timestamp": req.headers.get("webhook-timestamp") ?? "",
    "webhook-signature": req.headers.get("webhook-signature") ?? "",
  };
  if (!headers["webhook-id"] || !headers["webhook-timestamp"] || !headers["webhook-signature"]) {
    throw new BadRequestError("Missing webhook-id, webhook-timestamp or webhook-signature header", "invalid_signature");
  }
  const body = await readBodyText(req, MAX_EVENT_BYTES);
  let parsed: unknown;
  try {
    parsed = await webhooks.validateEvent(body, headers, secret);
  } catch (err) {
    if (err instanceof webhooks.PolarWebhookUnknownTypeError) {
      // Signed, of a type this SDK version does not know (Polar adds types): stored and acknowledged.
      parsed = JSON.parse(body);
    } else if (err instanceof webhooks.PolarWebhookVerificationError) {
      throw new BadRequestError(`The Polar signature does not verify: ${err.message}`, "invalid_signature");
    } else if (err instanceof webhooks.PolarWebhookError) {
      throw new BadRequestError("Not a Polar event: the body is no JSON", "invalid_event");
    } else {
      throw err;
    }
  }
  const event = payloadShape.safeParse(parsed);
  if (!event.success || headers["webhook-id"].length > 255 || unstorableText(parsed).length > 0) {
    throw new BadRequestError(
      "Not a Polar event: it needs a type, a timestamp and a data object, and text Postgres can store",
      "invalid_event",
    );
  }
  return { id: headers["webhook-id"], type: event.data.type, timestamp: event.data.timestamp, data: event.data.data };
}

export const handler = withHttp(async (req) => {
  if (req.method !== "POST") throw new MethodNotAllowedError(req.method);
  const event = await verify(req);
  const outcome = await processEvent(db(), event);
  return json({ received: true, id: event.id, outcome });
});
