// Resend (https://resend.com/docs/api-reference/emails/send-email): POST /emails with a bearer key, answered
// with `{ id }`. Resend keeps an Idempotency-Key for 24 hours: an attempt repeated with the same key (the
// worker's retry, or a worker taking over a dead one's claim) answers the first id and sends nothing again.
import { errorDetail, type EmailProvider, type OutgoingEmail } from "./types.ts";
import { EmailNotConfiguredError, httpFailure, networkFailure, PermanentEmailError, RetryableEmailError } from "../errors.ts";

/** Resend's tags take ASCII letters, digits, underscores and dashes only, 256 characters at most. */
const tagText = (s: string) => s.replace(/[^A-Za-z0-9_-]/g, "_").slice(0, 256);

export function resendProvider(apiKey: string | undefined, baseUrl = "https://api.resend.com"): EmailProvider {
  return {
    name: "resend",
    async send(message: OutgoingEmail, signal: AbortSignal) {
      if (!apiKey) throw new EmailNotConfiguredError("RESEND_API_KEY is not set", "resend");
      let res: Response;
      try {
        res = await fetch(`${baseUrl.replace(/\/+$/, "")}/emails`, {
          method: "POST",
          signal,
          headers: {
            authorization: `Bearer ${apiKey}`,
            "content-type": "application/json",
            "idempotency-key": message.idempotencyKey.slice(0, 256),
            "user-agent": "saasbase-email",
          },
          body: JSON.stringify({
            from: message.from,
            to: [message.to],
            subject: message.subject,
            html: message.html,
            text: message.text,
            ...(message.replyTo ? { reply_to: message.replyTo } : {}),
            ...(message.headers && Object.keys(message.headers).length ? { headers: message.headers } : {}),
            ...(message.tags
              ? { tags: Object.entries(message.tags).map(([name, value]) => ({ name: tagText(name), value: tagText(value) })) }
              : {}),
          }),
        });
      } catch (err) {
        throw networkFailure("resend", err);
      }
      if (!res.ok) {
        // 409: the same key is being sent right now (concurrent_idempotent_requests): retry it shortly.
        if (res.status === 409) {
          const detail = await errorDetail(res);
          if (/concurrent/i.test(detail)) throw new RetryableEmailError(`resend answered 409: ${detail}`, "resend", 409, 1);
          throw new PermanentEmailError(`resend answered 409: ${detail}`, "resend", 409);
        }
        throw httpFailure("resend", res, await errorDetail(res));
      }
      const body = await res.json().catch(() => null) as { id?: unknown } | null;
      if (typeof body?.id !== "string" || !body.id) {
        throw new RetryableEmailError("resend answered without a message id", "resend", res.status);
      }
      return { messageId: body.id };
    },
  };
}
