// The providers' delivery webhooks: each one's signature check on the raw body, and its events as ours
// (service_role_record_email_event's types). Pure (no database): email-webhook/handler.ts stores what these
// return.
//   Resend    Svix / Standard Webhooks: svix-id, svix-timestamp, svix-signature (`v1,<base64 HMAC-SHA256 of
//             "<id>.<timestamp>.<body>">`, several space-separated while the secret rotates) under the endpoint's
//             whsec_ secret; a timestamp more than 5 minutes off is refused (a replay).
//   Postmark  no signature: HTTP Basic credentials in the webhook's URL (POSTMARK_WEBHOOK_USER / _PASSWORD), or
//             a token in its query (?token=, POSTMARK_WEBHOOK_TOKEN).
//   SendGrid  the Signed Event Webhook: ECDSA P-256 / SHA-256 over "<timestamp><body>", the signature (base64
//             DER) in X-Twilio-Email-Event-Webhook-Signature, the timestamp in ...-Timestamp, verified with the
//             public key SendGrid shows (base64 DER SubjectPublicKeyInfo).

import { sign, TOLERANCE_SECONDS, verify } from "../standard-webhooks.ts";

export type EmailEventType =
  | "sent"
  | "delivered"
  | "delayed"
  | "bounced"
  | "soft_bounced"
  | "complained"
  | "opened"
  | "clicked"
  | "unsubscribed"
  | "other";

export interface EmailEvent {
  eventId: string;
  type: EmailEventType;
  messageId?: string;
  email?: string;
  occurredAt?: string;
  payload: unknown;
}

const enc = new TextEncoder();

function b64decode(text: string): Uint8Array<ArrayBuffer> | undefined {
  try {
    return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
  } catch {
    return undefined;
  }
}

/** Constant-time comparison of two strings (credentials). */
export function safeEqual(a: string, b: string): boolean {
  const x = enc.encode(a);
  const y = enc.encode(b);
  let diff = x.length ^ y.length;
  for (let i = 0; i < Math.max(x.length, y.length); i++) diff |= (x[i % x.length] ?? 0) ^ (y[i % y.length] ?? 0);
  return diff === 0 && x.length === y.length;
}

const isoTime = (v: unknown): string | undefined => {
  if (typeof v === "number" && Number.isFinite(v)) return new Date(v * 1000).toISOString();
  if (typeof v !== "string") return undefined;
  const t = Date.parse(v);
  return Number.isFinite(t) ? new Date(t).toISOString() : undefined;
};

// --- Resend (Svix / Standard Webhooks) --------------------------------------------------------------------------

/** Signs as Svix does (the tests' webhook sender): Standard Webhooks' signature. */
export function svixSignature(secret: string, id: string, timestamp: string, body: string): Promise<string> {
  return sign(secret, id, Number(timestamp), body);
}

/** Whether the Svix headers sign this body under the secret, within the time tolerance (a malformed secret
 * verifies nothing). */
export async function verifySvix(secret: string, headers: Headers, body: string, nowSeconds = Date.now() / 1000): Promise<boolean> {
  try {
    await verify([secret], headers, body, nowSeconds);
    return true;
  } catch {
    return false;
  }
}

const RESEND_TYPES: Record<string, EmailEventType> = {
  "email.sent": "sent",
  "email.delivered": "delivered",
  "email.delivery_delayed": "delayed",
  "email.bounced": "bounced",
  "email.complained": "complained",
  "email.opened": "opened",
  "email.clicked": "clicked",
};

/** A Resend event (`{ type, created_at, data: { email_id, to: [...], bounce?: { type } } }`) as ours. */
export function resendEvent(eventId: string, body: unknown): EmailEvent | undefined {
  const e = body as { type?: unknown; created_at?: unknown; data?: Record<string, unknown> };
  if (typeof e?.type !== "string" || typeof e.data !== "object" || e.data === null) return undefined;
  let type = RESEND_TYPES[e.type] ?? "other";
  // email.bounced is a permanent rejection; a bounce Resend itself calls transient is not the address's fault.
  const bounce = e.data.bounce as { type?: unknown } | undefined;
  if (type === "bounced" && typeof bounce?.type === "string" && /transient|temporary|undetermined/i.test(bounce.type)) {
    type = "soft_bounced";
  }
  const to = Array.isArray(e.data.to) ? e.data.to[0] : e.data.to;
  return {
    eventId,
    type,
    messageId: typeof e.data.email_id === "string" ? e.data.email_id : undefined,
    email: typeof to === "string" ? to : undefined,
    occurredAt: isoTime(e.created_at),
    payload: body,
  };
}

// --- Postmark ---------------------------------------------------------------------------------------------------

/** Whether the request carries the webhook's Basic credentials or token (constant-time compares). */
export function verifyPostmark(
  req: Request,
  expected: { user?: string; password?: string; token?: string },
): boolean {
  if (expected.user && expected.password) {
    const auth = req.headers.get("authorization") ?? "";
    const m = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(auth);
    const decoded = m ? b64decode(m[1]) : undefined;
    if (decoded && safeEqual(new TextDecoder().decode(decoded), `${expected.user}:${expected.password}`)) return true;
  }
  if (expected.token) {
    const token = new URL(req.url).searchParams.get("token");
    if (token && safeEqual(token, expected.token)) return true;
  }
  return false;
}

const POSTMARK_HARD = new Set(["HardBounce", "BadEmailAddress", "ManuallyDeactivated", "Unsubscribe"]);

/** A Postmark webhook record (RecordType Delivery, Bounce, SpamComplaint, Open, Click, SubscriptionChange) as
 * ours. Postmark sends no event id: the record's type, message and id or time make one (a redelivery has the
 * same). */
export function postmarkEvent(body: unknown): EmailEvent | undefined {
  const r = body as Record<string, unknown>;
  if (typeof r?.RecordType !== "string") return undefined;
  const messageId = typeof r.MessageID === "string" ? r.MessageID : undefined;
  const email = [r.Email, r.Recipient].find((v) => typeof v === "string") as string | undefined;
  const at = r.DeliveredAt ?? r.BouncedAt ?? r.ReceivedAt ?? r.ChangedAt;
  let type: EmailEventType;
  switch (r.RecordType) {
    case "Delivery":
      type = "delivered";
      break;
    case "Bounce":
      type = r.Type === "SpamComplaint" ? "complained" : POSTMARK_HARD.has(String(r.Type)) ? "bounced" : "soft_bounced";
      break;
    case "SpamComplaint":
      type = "complained";
      break;
    case "Open":
      type = "opened";
      break;
    case "Click":
      type = "clicked";
      break;
    case "SubscriptionChange":
      type = r.SuppressSending === true && r.SuppressionReason === "ManualSuppression" ? "unsubscribed" : "other";
      break;
    default:
      type = "other";
  }
  const eventId = `${r.RecordType}:${r.ID ?? messageId ?? ""}:${typeof at === "string" ? at : ""}`.slice(0, 300);
  return { eventId, type, messageId, email, occurredAt: isoTime(at), payload: body };
}

// --- SendGrid -----------------------------------------------------------------------------------------------------

/** An ECDSA signature as DER (SEQUENCE { r INTEGER, s INTEGER }) -> the 64 bytes r || s WebCrypto verifies. */
function derToRaw(der: Uint8Array): Uint8Array<ArrayBuffer> | undefined {
  if (der[0] !== 0x30) return undefined;
  let i = 2;
  if (der[1] & 0x80) i = 2 + (der[1] & 0x7f);
  const out = new Uint8Array(64);
  for (const half of [0, 1]) {
    if (der[i] !== 0x02) return undefined;
    const len = der[i + 1];
    let int = der.subarray(i + 2, i + 2 + len);
    i += 2 + len;
    while (int.length > 32 && int[0] === 0) int = int.subarray(1);
    if (int.length > 32) return undefined;
    out.set(int, half * 32 + (32 - int.length));
  }
  return out;
}

const sendgridKeys = new Map<string, Promise<CryptoKey>>();

/** Whether SendGrid signed "<timestamp><body>" with the key whose public half is `publicKey` (base64 DER). */
export async function verifySendgrid(publicKey: string, headers: Headers, body: string, nowSeconds = Date.now() / 1000): Promise<boolean> {
  const signature = headers.get("x-twilio-email-event-webhook-signature");
  const timestamp = headers.get("x-twilio-email-event-webhook-timestamp");
  if (!signature || !timestamp || !/^\d{1,12}$/.test(timestamp)) return false;
  if (Math.abs(nowSeconds - Number(timestamp)) > TOLERANCE_SECONDS) return false;
  const der = b64decode(signature);
  const raw = der && derToRaw(der);
  if (!raw) return false;
  try {
    if (!sendgridKeys.has(publicKey)) {
      const spki = b64decode(publicKey.replace(/-----[^-]+-----|\s/g, ""));
      if (!spki) return false;
      sendgridKeys.set(publicKey, crypto.subtle.importKey("spki", spki, { name: "ECDSA", namedCurve: "P-256" }, false, ["verify"]));
    }
    const key = await sendgridKeys.get(publicKey)!;
    return await crypto.subtle.verify({ name: "ECDSA", hash: "SHA-256" }, key, raw, enc.encode(timestamp + body));
  } catch {
    sendgridKeys.delete(publicKey);
    return false;
  }
}

const SENDGRID_TYPES: Record<string, EmailEventType> = {
  processed: "sent",
  delivered: "delivered",
  deferred: "delayed",
  bounce: "bounced",
  spamreport: "complained",
  unsubscribe: "unsubscribed",
  group_unsubscribe: "unsubscribed",
  open: "opened",
  click: "clicked",
};

/** SendGrid's events (a JSON array) as ours; an entry that is no event is left out. The message id is the
 * X-Message-Id the send answered: sg_message_id up to its first dot. */
export function sendgridEvents(body: unknown): EmailEvent[] {
  if (!Array.isArray(body)) return [];
  return body.flatMap((e: Record<string, unknown>) => {
    if (typeof e?.event !== "string" || typeof e.sg_event_id !== "string") return [];
    let type = SENDGRID_TYPES[e.event] ?? "other";
    // A "blocked" bounce is the receiving server refusing for now (reputation, content), not a dead address.
    if (type === "bounced" && e.type === "blocked") type = "soft_bounced";
    return [{
      eventId: e.sg_event_id.slice(0, 300),
      type,
      messageId: typeof e.sg_message_id === "string" ? e.sg_message_id.split(".")[0] : undefined,
      email: typeof e.email === "string" ? e.email : undefined,
      occurredAt: isoTime(e.timestamp),
      payload: e,
    }];
  });
}
