// POST /auth-email-hook: Supabase Auth's Send Email hook (config.toml [auth.hook.send_email], or the dashboard's
// Authentication > Hooks). Auth calls it instead of sending its own mail; the order of work:
//   1. verify the Standard Webhooks signature on the raw body with SEND_EMAIL_HOOK_SECRET (401 when it does not
//      match or is older than five minutes; 400 for a signed body that is no hook payload), changing nothing;
//   2. for each mail the call asks for (two for a secure email change), claim it in saasbase.auth_emails by a
//      hash of its action, address and token hash: a mail already sent is not sent again (a replayed call, or
//      Auth retrying after a timeout with a new webhook-id);
//   3. render it with our templates in the user's language, send it through sendEmail (the configured
//      provider; the provider's idempotency key is the same hash), and record the outcome.
// 200 `{}` once every mail is sent; 503 with Retry-After when the provider failed in a way a retry may fix (Auth
// retries); 422 when it never will (a suppressed address).
import { config } from "../_shared/config.ts";
import { db } from "../_shared/db.ts";
import { renderEmail } from "../_shared/email/templates/index.ts";
import { type EmailSendError, sendEmail } from "../_shared/email/send.ts";
import { optionalEnv } from "../_shared/env.ts";
import { AppError, BadRequestError, MethodNotAllowedError, ServiceUnavailableError, UnauthorizedError } from "../_shared/errors.ts";
import { json, withHttp } from "../_shared/http.ts";
import { readBodyText } from "../_shared/request.ts";
import { verify, WebhookSignatureError } from "../_shared/standard-webhooks.ts";
import { type AuthMail, hookPayload, type HookPayload, mailsFor } from "./mails.ts";

/** Auth's payloads are a user and a few tokens: a few kB. */
const MAX_BODY_BYTES = 64 * 1024;

/** The hook's secrets: `v1,whsec_...`, several separated by `|` while rotating (as Auth's own setting takes them). */
function secrets(): string[] {
  const value = optionalEnv("SEND_EMAIL_HOOK_SECRET");
  if (!value) throw new ServiceUnavailableError("SEND_EMAIL_HOOK_SECRET is not set", "auth_hook_not_configured");
  return value.split("|").map((s) => s.trim()).filter(Boolean);
}

async function verified(req: Request): Promise<{ id: string; payload: HookPayload }> {
  const keys = secrets();
  const body = await readBodyText(req, MAX_BODY_BYTES);
  let id: string;
  try {
    ({ id } = await verify(keys, req.headers, body));
  } catch (err) {
    if (err instanceof WebhookSignatureError) throw new UnauthorizedError(err.message, "invalid_hook_signature");
    throw err;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    throw new BadRequestError("The hook's body is not JSON", "invalid_json");
  }
  const payload = hookPayload.safeParse(parsed);
  if (!payload.success) throw new BadRequestError("Not a Send Email hook payload: it needs user and email_data", "invalid_event");
  return { id, payload: payload.data };
}

async function sha256(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** The user's language: their profile's (kept by the app), else what they signed up with, else English. */
async function languageOf(payload: HookPayload): Promise<string | null> {
  const [row] = await db()<{ language: string }[]>`select language from public.profiles where id::text = ${payload.user.id}`;
  const meta = payload.user.user_metadata?.language;
  return row?.language ?? (typeof meta === "string" ? meta : null);
}

/** Sends one mail unless it was sent already; throws what the provider failed with. */
async function deliver(mail: AuthMail, webhookId: string, payload: HookPayload, locale: string | null): Promise<boolean> {
  const sql = db();
  const key = await sha256(mail.dedupeSource);
  const [claim] = await sql<{ send: boolean; id: string }[]>`
    select send, id from public.service_role_claim_auth_email(${key}, ${webhookId}, ${payload.user.id}::uuid,
      ${payload.email_data.email_action_type}, ${mail.template}, ${mail.to.toLowerCase()})`;
  if (!claim.send) return false;
  try {
    const rendered = renderEmail(mail.template, mail.props, { locale, config });
    const sent = await sendEmail({
      to: mail.to,
      subject: rendered.subject,
      html: rendered.html,
      text: rendered.text,
      idempotencyKey: `auth/${key}`,
      tags: { template: mail.template, category: "auth" },
    });
    await sql`select public.service_role_record_auth_email(${claim.id}::bigint, true, ${sent.provider}, ${sent.messageId})`;
    console.log(`auth-email-hook: ${mail.template} sent by ${sent.provider} (${sent.messageId})`);
    return true;
  } catch (err) {
    const e = err as Partial<EmailSendError>;
    await sql`select public.service_role_record_auth_email(${claim.id}::bigint, false, ${e.provider ?? null}, null,
      ${String((err as Error)?.message ?? err)})`;
    throw err;
  }
}

export const handler = withHttp(async (req) => {
  if (req.method !== "POST") throw new MethodNotAllowedError(req.method);
  const { id, payload } = await verified(req);
  const supabaseUrl = optionalEnv("SUPABASE_URL");
  const authUrl = supabaseUrl ? `${supabaseUrl.replace(/\/+$/, "")}/auth/v1` : payload.email_data.site_url ?? "";
  const mails = mailsFor(payload, authUrl);
  if (mails.length === 0) {
    // A security notification (password changed, ...) or an action newer than this hook: not mailed here.
    console.warn(`auth-email-hook: no mail for ${payload.email_data.email_action_type}`);
    return json({});
  }
  const locale = await languageOf(payload);
  try {
    for (const mail of mails) await deliver(mail, id, payload, locale);
  } catch (err) {
    const e = err as Partial<EmailSendError> & Error;
    if (typeof e.retryable !== "boolean") throw err;
    console.error(`auth-email-hook: ${e.message}`);
    if (e.retryable) {
      throw new AppError(503, "auth_email_failed", "The email provider could not take the mail now; try again",
        undefined, { "Retry-After": String(e.retryAfterSeconds ?? 1) });
    }
    throw new AppError(422, "auth_email_undeliverable", "This address cannot be mailed");
  }
  return json({});
});
