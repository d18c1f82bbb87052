// One interface for every mail provider: a message in, the provider's message id out, or an EmailSendError
// (../errors.ts) saying whether to try again.
import type { EmailProviderName } from "../../config/email.ts";

export interface OutgoingEmail {
  /** One recipient address (already checked: no display name, no line breaks). */
  to: string;
  /** `Name <address>` or `address`. */
  from: string;
  replyTo?: string;
  subject: string;
  html: string;
  text: string;
  /** Extra headers (List-Unsubscribe, List-Unsubscribe-Post). */
  headers?: Record<string, string>;
  /** The same key for every attempt at the same mail: a provider that keeps keys sends it once. */
  idempotencyKey: string;
  /** Small labels the provider keeps with the message and echoes in its events (outbox id, template). */
  tags?: Record<string, string>;
}

export interface EmailProvider {
  readonly name: EmailProviderName;
  send(message: OutgoingEmail, signal: AbortSignal): Promise<{ messageId: string }>;
}

/** `Name <a@b.c>` -> { name, email }; `a@b.c` -> { email }. */
export function parseMailbox(value: string): { email: string; name?: string } {
  const m = /^\s*(.*?)\s*<([^<>]+)>\s*$/.exec(value);
  if (!m) return { email: value.trim() };
  const name = m[1].replace(/^"(.*)"$/, "$1").trim();
  return name ? { email: m[2].trim(), name } : { email: m[2].trim() };
}

/** A provider's JSON error body, read for its message (never trusted to be JSON). */
export async function errorDetail(res: Response): Promise<string> {
  const text = await res.text().catch(() => "");
  try {
    const body = JSON.parse(text);
    const msg = body?.message ?? body?.Message ?? body?.errors?.map?.((e: { message?: string }) => e.message).join("; ");
    if (typeof msg === "string" && msg) return msg;
  } catch {
    // not JSON: the text itself
  }
  return text.slice(0, 300) || res.statusText;
}
