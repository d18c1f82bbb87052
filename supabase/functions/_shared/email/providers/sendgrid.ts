// SendGrid (https://www.twilio.com/docs/sendgrid/api-reference/mail-send/mail-send): POST /v3/mail/send with a
// bearer key, answered 202 with no body and the message id in X-Message-Id. SendGrid takes no idempotency key:
// the mail's outbox id travels in custom_args (echoed in its events); a worker that dies after SendGrid accepted
// a mail and before recording it leaves it to be sent again (docs/email.md).
import { errorDetail, type EmailProvider, type OutgoingEmail, parseMailbox } from "./types.ts";
import { EmailNotConfiguredError, httpFailure, networkFailure, RetryableEmailError } from "../errors.ts";

export function sendgridProvider(apiKey: string | undefined, baseUrl = "https://api.sendgrid.com"): EmailProvider {
  return {
    name: "sendgrid",
    async send(message: OutgoingEmail, signal: AbortSignal) {
      if (!apiKey) throw new EmailNotConfiguredError("SENDGRID_API_KEY is not set", "sendgrid");
      let res: Response;
      try {
        res = await fetch(`${baseUrl.replace(/\/+$/, "")}/v3/mail/send`, {
          method: "POST",
          signal,
          headers: { authorization: `Bearer ${apiKey}`, "content-type": "application/json" },
          body: JSON.stringify({
            personalizations: [{ to: [{ email: message.to }] }],
            from: parseMailbox(message.from),
            ...(message.replyTo ? { reply_to: parseMailbox(message.replyTo) } : {}),
            subject: message.subject,
            // text/plain first: SendGrid requires that order.
            content: [{ type: "text/plain", value: message.text }, { type: "text/html", value: message.html }],
            ...(message.headers && Object.keys(message.headers).length ? { headers: message.headers } : {}),
            custom_args: { ...message.tags, idempotency_key: message.idempotencyKey.slice(0, 200) },
            ...(message.tags?.template ? { categories: [message.tags.template.slice(0, 255)] } : {}),
          }),
        });
      } catch (err) {
        throw networkFailure("sendgrid", err);
      }
      if (!res.ok) throw httpFailure("sendgrid", res, await errorDetail(res));
      await res.body?.cancel();
      const id = res.headers.get("x-message-id");
      if (!id) throw new RetryableEmailError("sendgrid answered without an X-Message-Id", "sendgrid", res.status);
      return { messageId: id };
    },
  };
}
