// The mail providers' delivery webhooks and the one-click unsubscribe link (verify_jwt = false):
//   POST /email-webhook/resend      Svix-signed (RESEND_WEBHOOK_SECRET, whsec_...)
//   POST /email-webhook/postmark    Basic credentials (POSTMARK_WEBHOOK_USER / POSTMARK_WEBHOOK_PASSWORD) or
//                                   ?token= (POSTMARK_WEBHOOK_TOKEN)
//   POST /email-webhook/sendgrid    SendGrid's Signed Event Webhook (SENDGRID_WEBHOOK_PUBLIC_KEY)
//   GET  /email-webhook/unsubscribe?token=   a page with one button (a GET changes nothing: mail scanners follow
//                                            links); POST to the same URL unsubscribes (RFC 8058's one-click
//                                            POST, `List-Unsubscribe=One-Click`, or the page's button)
// The signature is checked on the raw body before anything is parsed (400 invalid_signature, nothing stored);
// then each event is stored once by its provider's event id and applied in the same statement
// (service_role_record_email_event: the mail's delivery status, the suppression of a hard bounce or complaint).
// A redelivered event answers 200 and changes nothing. 503 email_not_configured when the provider's secret is
// not set (the provider retries later).
import { db } from "../_shared/db.ts";
import { optionalEnv } from "../_shared/env.ts";
import { BadRequestError, MethodNotAllowedError, NotFoundError, ServiceUnavailableError } from "../_shared/errors.ts";
import { json, withHttp } from "../_shared/http.ts";
import { readBodyText } from "../_shared/request.ts";
import { verifyUnsubscribeToken } from "../_shared/email/unsubscribe.ts";
import {
  type EmailEvent,
  postmarkEvent,
  resendEvent,
  sendgridEvents,
  verifyPostmark,
  verifySendgrid,
  verifySvix,
} from "../_shared/email/webhooks.ts";

/** Events are small; SendGrid batches up to a few hundred in one POST. */
const MAX_BODY_BYTES = 1024 * 1024;

function parse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new BadRequestError("The body is not JSON", "invalid_json");
  }
}

function notConfigured(what: string): never {
  throw new ServiceUnavailableError(`${what} is not set: this backend takes no such webhook yet`, "email_not_configured");
}

async function record(provider: string, events: EmailEvent[]) {
  const sql = db();
  let recorded = 0;
  for (const e of events) {
    const [r] = await sql`select (public.service_role_record_email_event(${provider}, ${e.eventId}, ${e.type},
      ${e.messageId ?? null}, ${e.email ?? null}, ${e.occurredAt ?? null}, ${sql.json(e.payload as never)})).*`;
    if (r.recorded) recorded++;
  }
  return json({ received: events.length, recorded });
}

async function resend(req: Request) {
  const secret = optionalEnv("RESEND_WEBHOOK_SECRET") ?? notConfigured("RESEND_WEBHOOK_SECRET");
  const body = await readBodyText(req, MAX_BODY_BYTES);
  if (!(await verifySvix(secret, req.headers, body))) {
    throw new BadRequestError("The webhook signature does not match this payload", "invalid_signature");
  }
  const event = resendEvent(req.headers.get("svix-id") ?? req.headers.get("webhook-id")!, parse(body));
  if (!event) throw new BadRequestError("Not a Resend event: it needs a type and data", "invalid_event");
  return record("resend", [event]);
}

async function postmark(req: Request) {
  const expected = {
    user: optionalEnv("POSTMARK_WEBHOOK_USER"),
    password: optionalEnv("POSTMARK_WEBHOOK_PASSWORD"),
    token: optionalEnv("POSTMARK_WEBHOOK_TOKEN"),
  };
  if (!(expected.user && expected.password) && !expected.token) {
    notConfigured("POSTMARK_WEBHOOK_USER and POSTMARK_WEBHOOK_PASSWORD (or POSTMARK_WEBHOOK_TOKEN)");
  }
  if (!verifyPostmark(req, expected)) {
    throw new BadRequestError("The webhook's credentials do not match", "invalid_signature");
  }
  const event = postmarkEvent(parse(await readBodyText(req, MAX_BODY_BYTES)));
  if (!event) throw new BadRequestError("Not a Postmark webhook record: it needs a RecordType", "invalid_event");
  return record("postmark", [event]);
}

async function sendgrid(req: Request) {
  const key = optionalEnv("SENDGRID_WEBHOOK_PUBLIC_KEY") ?? notConfigured("SENDGRID_WEBHOOK_PUBLIC_KEY");
  const body = await readBodyText(req, MAX_BODY_BYTES);
  if (!(await verifySendgrid(key, req.headers, body))) {
    throw new BadRequestError("The webhook signature does not match this payload", "invalid_signature");
  }
  const parsed = parse(body);
  if (!Array.isArray(parsed)) throw new BadRequestError("Not SendGrid events: a JSON array is expected", "invalid_event");
  return record("sendgrid", sendgridEvents(parsed));
}

const page = (title: string, inner: string, status = 200) =>
  new Response(
    `<!doctype html><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>${title}</title>` +
      `<body style="font:16px system-ui;max-width:32em;margin:3em auto;padding:0 1em">${inner}</body>`,
    { status, headers: { "content-type": "text/html; charset=utf-8" } },
  );

const escape = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

async function unsubscribe(req: Request) {
  const token = new URL(req.url).searchParams.get("token");
  const email = await verifyUnsubscribeToken(token);
  if (!email) throw new BadRequestError("This unsubscribe link is not valid", "invalid_unsubscribe_token");
  if (req.method === "GET") {
    // A GET changes nothing (RFC 8058: link checkers and previews follow links); the button POSTs.
    return page(
      "Unsubscribe",
      `<p>Stop notification mail to <b>${escape(email)}</b>? Receipts and security mail still arrive.</p>` +
        `<form method="post"><button type="submit" name="List-Unsubscribe" value="One-Click">Unsubscribe</button></form>`,
    );
  }
  if (req.method !== "POST") throw new MethodNotAllowedError(req.method);
  await readBodyText(req, 4096); // RFC 8058's `List-Unsubscribe=One-Click`, or the form's: the token decides
  await db()`select public.service_role_unsubscribe_email(${email}, 'unsubscribe_link')`;
  if ((req.headers.get("accept") ?? "").includes("text/html")) {
    return page("Unsubscribed", `<p><b>${escape(email)}</b> gets no more notification mail.</p>`);
  }
  return json({ unsubscribed: true, email });
}

const routes: Record<string, (req: Request) => Promise<Response>> = { resend, postmark, sendgrid };

export const handler = withHttp((req) => {
  const route = new URL(req.url).pathname.replace(/\/+$/, "").split("/").pop() ?? "";
  if (route === "unsubscribe") return unsubscribe(req);
  const provider = routes[route];
  if (!provider) throw new NotFoundError(`No route ${route}`, "route_not_found");
  if (req.method !== "POST") throw new MethodNotAllowedError(req.method);
  return provider(req);
});
