// sendEmail: one mail through the configured provider (providers/index.ts), in the product's name. The outbox
// worker (worker.ts) sends through it, and so may any function that must mail now rather than queue (the auth
// email hook). Throws an EmailSendError (errors.ts): `retryable` says whether trying again later may work.
//
// An address on the suppression list for a hard bounce or a complaint is not mailed (SuppressedRecipientError):
// the address does not exist, or its owner called us spam. Unsubscribes concern non-transactional mail only,
// which the worker decides from the template's category.
import { config } from "../config.ts";
import { db, type Sql } from "../db.ts";
import { EmailSendError, PermanentEmailError, RetryableEmailError, SuppressedRecipientError } from "./errors.ts";
import { emailProvider, type EmailProvider } from "./providers/index.ts";

export * from "./errors.ts";

export interface SendEmailMessage {
  to: string;
  /** Default: config email.from, else `<product name> <support address>`. */
  from?: string;
  subject: string;
  html: string;
  text: string;
  headers?: Record<string, string>;
  /** The same for every attempt at the same mail (the outbox uses `outbox/<id>`). */
  idempotencyKey: string;
  tags?: Record<string, string>;
}

export interface SendEmailOptions {
  /** Another provider than the configured one (tests, a fallback). */
  provider?: EmailProvider;
  /** Check the suppression list first (default true; the worker checked it when it claimed the mail). */
  checkSuppression?: boolean;
  sql?: Sql;
}

/** A plain address: something@domain.tld, no display name, no line breaks, no angle brackets. */
const ADDRESS = /^[^\s<>@",;]+@[^\s<>@",;]+\.[^\s<>@",;]+$/;

/** The From the config gives: email.from, else the product's name and support address. */
export function defaultFrom(): string {
  const name = config.product.name.replace(/["\\\r\n<>]/g, "");
  return config.email.from ?? `"${name}" <${config.product.supportEmail}>`;
}

/** Header values must not carry line breaks (a header injected into the mail). */
function safeHeaders(headers: Record<string, string> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers ?? {})) {
    if (!/^[A-Za-z0-9-]+$/.test(k) || /[\r\n]/.test(v)) throw new PermanentEmailError(`bad header ${k}`, "saasbase");
    out[k] = v;
  }
  return out;
}

export async function sendEmail(
  message: SendEmailMessage,
  opts: SendEmailOptions = {},
): Promise<{ provider: string; messageId: string }> {
  const provider = opts.provider ?? emailProvider();
  const to = message.to.trim().toLowerCase();
  if (!ADDRESS.test(to) || to.length > 320) {
    throw new PermanentEmailError(`not an address to mail: ${JSON.stringify(message.to).slice(0, 100)}`, provider.name);
  }
  if (!message.idempotencyKey || message.idempotencyKey.length > 256) {
    throw new PermanentEmailError("an idempotency key of 1 to 256 characters is required", provider.name);
  }
  if (/[\r\n]/.test(message.subject)) throw new PermanentEmailError("the subject has a line break", provider.name);
  if (opts.checkSuppression !== false) {
    const sql = opts.sql ?? db();
    const [hit] = await sql<{ reason: string }[]>`
      select reason from public.email_suppressions where email = ${to} and reason in ('hard_bounce', 'complaint') limit 1`;
    if (hit) throw new SuppressedRecipientError(to, hit.reason, provider.name);
  }
  const signal = AbortSignal.timeout(config.email.timeoutMs);
  try {
    const { messageId } = await provider.send({
      to,
      from: message.from ?? defaultFrom(),
      replyTo: config.email.replyTo ?? config.product.supportEmail,
      subject: message.subject,
      html: message.html,
      text: message.text,
      headers: safeHeaders(message.headers),
      idempotencyKey: message.idempotencyKey,
      tags: message.tags,
    }, signal);
    return { provider: provider.name, messageId };
  } catch (err) {
    if (err instanceof EmailSendError) throw err;
    // Anything else (a bug, a sink folder that cannot be written) is retried: the mail is not lost to it.
    throw new RetryableEmailError(`sending failed: ${(err as Error)?.message ?? err}`.slice(0, 1000), provider.name);
  }
}
