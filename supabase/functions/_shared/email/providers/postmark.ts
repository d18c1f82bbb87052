// Postmark (https://postmarkapp.com/developer/api/email-api): POST /email with X-Postmark-Server-Token,
// answered with `{ MessageID, ErrorCode: 0 }`. Postmark takes no idempotency key: a worker that dies after
// Postmark accepted a mail and before recording it leaves it to be sent again (docs/email.md).
import { errorDetail, type EmailProvider, type OutgoingEmail } from "./types.ts";
import { EmailNotConfiguredError, httpFailure, networkFailure, PermanentEmailError } from "../errors.ts";

export function postmarkProvider(
  serverToken: string | undefined,
  opts: { baseUrl?: string; messageStream?: string } = {},
): EmailProvider {
  const baseUrl = (opts.baseUrl ?? "https://api.postmarkapp.com").replace(/\/+$/, "");
  return {
    name: "postmark",
    async send(message: OutgoingEmail, signal: AbortSignal) {
      if (!serverToken) throw new EmailNotConfiguredError("POSTMARK_SERVER_TOKEN is not set", "postmark");
      let res: Response;
      try {
        res = await fetch(`${baseUrl}/email`, {
          method: "POST",
          signal,
          headers: {
            accept: "application/json",
            "content-type": "application/json",
            "x-postmark-server-token": serverToken,
          },
          body: JSON.stringify({
            From: message.from,
            To: message.to,
            Subject: message.subject,
            HtmlBody: message.html,
            TextBody: message.text,
            ...(message.replyTo ? { ReplyTo: message.replyTo } : {}),
            Headers: Object.entries(message.headers ?? {}).map(([Name, Value]) => ({ Name, Value })),
            ...(message.tags?.template ? { Tag: message.tags.template.slice(0, 1000) } : {}),
            Metadata: { ...message.tags, idempotency_key: message.idempotencyKey },
            MessageStream: opts.messageStream ?? "outbound",
          }),
        });
      } catch (err) {
        throw networkFailure("postmark", err);
      }
      if (!res.ok) {
        // 422 with an ErrorCode: the message is refused (406: the recipient is inactive at Postmark, 300: an
        // invalid message). Retrying sends nothing more.
        if (res.status === 422) {
          throw new PermanentEmailError(`postmark answered 422: ${await errorDetail(res)}`, "postmark", 422);
        }
        throw httpFailure("postmark", res, await errorDetail(res));
      }
      const body = await res.json().catch(() => null) as { MessageID?: unknown; ErrorCode?: unknown; Message?: unknown } | null;
      if (body?.ErrorCode !== 0 || typeof body?.MessageID !== "string") {
        throw new PermanentEmailError(`postmark refused the message: ${String(body?.Message ?? "no MessageID")}`, "postmark", res.status);
      }
      return { messageId: body.MessageID };
    },
  };
}
