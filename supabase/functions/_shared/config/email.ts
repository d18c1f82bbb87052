// The config's `email` section: which provider sends the mail, in whose name, how fast, and how failed sends
// are retried. Every field has a default, so a config without the section parses (and sends through Resend,
// from the product's support address).
import { z } from "zod";

/** The providers `_shared/email/providers/` speaks to; `console` writes to a local folder (development). */
export const emailProviders = ["resend", "postmark", "sendgrid", "console"] as const;
export type EmailProviderName = (typeof emailProviders)[number];

/** An address as a From or Reply-To header takes it: `name@example.com` or `Name <name@example.com>`. */
const mailbox = z.string().max(320).regex(
  /^(?:[^<>\r\n]*<[^<>@\s]+@[^<>@\s]+\.[^<>@\s]+>|[^<>@\s]+@[^<>@\s]+\.[^<>@\s]+)$/,
  "an address: name@example.com or Name <name@example.com>",
);

export const emailSchema = z.object({
  /** Which provider sends (its key is a function secret: RESEND_API_KEY, POSTMARK_SERVER_TOKEN,
   * SENDGRID_API_KEY). The local stack sends through `console` unless SAASBASE_EMAIL_PROVIDER says otherwise. */
  provider: z.enum(emailProviders).default("resend"),
  /** The From address (a domain verified at the provider); default: the product's name and support address. */
  from: mailbox.optional(),
  /** Where replies go; default: the product's support address. */
  replyTo: mailbox.optional(),
  /** Most sends a second by one worker run (the provider's rate limit: Resend's default is 2 a second); null
   * sends as fast as the provider answers (a 429 is retried after its Retry-After either way). */
  ratePerSecond: z.number().positive().max(1000).nullable().default(null),
  /** Mails one worker run sends at once. */
  concurrency: z.number().int().min(1).max(64).default(8),
  /** Mails a worker claims at a time, and how long its claim holds before another worker may take them over
   * (longer than a batch takes to send). */
  batchSize: z.number().int().min(1).max(1000).default(50),
  claimSeconds: z.number().int().min(10).max(3600).default(120),
  /** Failed sends (a provider's 429 or 5xx, a timeout) are retried after base * 2^(attempt-1) seconds, with
   * jitter, at most maxSeconds apart, until maxAttempts; then the mail is `failed`, with the reason. */
  retry: z.object({
    maxAttempts: z.number().int().min(1).max(100).default(8),
    baseSeconds: z.number().int().min(1).max(86_400).default(30),
    maxSeconds: z.number().int().min(1).max(604_800).default(3600),
  }).prefault({}),
  /** A provider request that has not answered by then counts as failed (and is retried, with the same
   * idempotency key). */
  timeoutMs: z.number().int().min(1000).max(60_000).default(15_000),
  /** Postmark's message stream for this mail. */
  postmarkStream: z.string().min(1).max(100).default("outbound"),
});

export type EmailConfig = z.output<typeof emailSchema>;
