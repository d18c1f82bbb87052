// The outbox worker: claims due mails (public.service_role_claim_emails: FOR UPDATE SKIP LOCKED, a lease per
// claim), renders each with the templates (renderEmail), sends it through sendEmail with the row's idempotency
// key (`outbox/<id>`, the same on every attempt), and records the outcome: complete (the provider's message id),
// fail (retried with backoff and jitter, or failed for good), or skip (a suppressed address, or an unsubscribed
// one for non-transactional mail). Batches are claimed until the outbox has nothing due or the run's time is up;
// a run that dies leaves its claims to lapse, and the next run takes them over (see the migration).
import { config } from "../config.ts";
import type { ProductConfig } from "../config-schema.ts";
import type { Sql } from "../db.ts";
import { EmailSendError } from "./errors.ts";
import type { EmailProvider } from "./providers/types.ts";
import { sendEmail } from "./send.ts";
import { listUnsubscribeHeaders, unsubscribeUrl } from "./unsubscribe.ts";

/** renderEmail's contract (templates/index.ts, the notify domain's). */
export type RenderEmail = (
  template: string,
  payload: unknown,
  ctx: { locale?: string | null; config: ProductConfig; unsubscribeUrl?: string },
) => { subject: string; html: string; text: string; category: "transactional" | "notification" };

export interface DrainOptions {
  sql: Sql;
  render: RenderEmail;
  /** Default: the configured provider. */
  provider?: EmailProvider;
  /** This run's name in claimed_by. */
  worker?: string;
  /** Stop claiming after so many batches (default: until nothing is due). */
  maxBatches?: number;
  /** Stop claiming new batches after this long (default 50 s: within the edge runtime's request limit). */
  budgetMs?: number;
  /** The config's email.batchSize, email.claimSeconds and email.concurrency, unless given. */
  batchSize?: number;
  claimSeconds?: number;
  concurrency?: number;
}

export interface DrainReport {
  worker: string;
  batches: number;
  claimed: number;
  sent: number;
  retried: number;
  failed: number;
  suppressed: number;
}

interface Claim {
  id: number;
  user_id: string | null;
  template: string;
  dedupe_key: string;
  payload: unknown;
  to_email: string | null;
  locale: string | null;
  attempts: number;
  suppression: "hard_bounce" | "complaint" | "unsubscribe" | null;
}

type Outcome = "sent" | "retried" | "failed" | "suppressed";

/** Spaces sends `1 / perSecond` apart across the run's concurrent senders (none when null). */
function pacer(perSecond: number | null) {
  let next = 0;
  return async () => {
    if (!perSecond) return;
    const now = Date.now();
    const at = Math.max(now, next);
    next = at + 1000 / perSecond;
    if (at > now) await new Promise((r) => setTimeout(r, at - now));
  };
}

export async function drainOutbox(opts: DrainOptions): Promise<DrainReport> {
  const { sql, render } = opts;
  const settings = config.email;
  const worker = opts.worker ?? `send-email:${crypto.randomUUID().slice(0, 8)}`;
  const report: DrainReport = { worker, batches: 0, claimed: 0, sent: 0, retried: 0, failed: 0, suppressed: 0 };
  const deadline = Date.now() + (opts.budgetMs ?? 50_000);
  const pace = pacer(settings.ratePerSecond);

  const fail = async (id: number, error: string, retryable: boolean, retryAfter?: number): Promise<Outcome> => {
    const [{ status }] = await sql`select public.service_role_fail_email(${id}, ${worker}, ${error}, ${retryable},
      ${settings.retry.maxAttempts}, ${settings.retry.baseSeconds}, ${settings.retry.maxSeconds},
      ${retryAfter ?? null}) as status`;
    // null: our lease lapsed and another run holds the mail now; it decides.
    return status === "pending" ? "retried" : "failed";
  };
  const skip = async (id: number, reason: string, category: string | null): Promise<Outcome> => {
    await sql`select public.service_role_skip_email(${id}, ${worker}, ${reason}, ${category})`;
    return "suppressed";
  };

  async function deliver(mail: Claim): Promise<Outcome> {
    if (!mail.to_email) return fail(mail.id, "no recipient address (no payload.email and no user address)", false);
    if (mail.suppression === "hard_bounce" || mail.suppression === "complaint") {
      return skip(mail.id, `suppressed: ${mail.suppression}`, null);
    }
    const link = await unsubscribeUrl(mail.to_email);
    let rendered: ReturnType<RenderEmail>;
    try {
      rendered = render(mail.template, mail.payload, { locale: mail.locale, config, unsubscribeUrl: link });
    } catch (err) {
      // Rendering the same row again renders the same: an unknown template or a payload it refuses is final.
      return fail(mail.id, `render failed: ${(err as Error)?.message ?? err}`, false);
    }
    const notification = rendered.category !== "transactional";
    if (notification && mail.suppression === "unsubscribe") return skip(mail.id, "suppressed: unsubscribed", rendered.category);
    await pace();
    try {
      const sent = await sendEmail({
        to: mail.to_email,
        subject: rendered.subject,
        html: rendered.html,
        text: rendered.text,
        headers: notification ? listUnsubscribeHeaders(link) : {},
        idempotencyKey: `outbox/${mail.id}`,
        tags: { outbox_id: String(mail.id), template: mail.template },
      }, { provider: opts.provider, checkSuppression: false, sql });
      await sql`select public.service_role_complete_email(${mail.id}, ${sent.provider}, ${sent.messageId},
        ${rendered.category})`;
      return "sent";
    } catch (err) {
      if (err instanceof EmailSendError) return fail(mail.id, err.message, err.retryable, err.retryAfterSeconds);
      throw err;
    }
  }

  while (Date.now() < deadline && (opts.maxBatches === undefined || report.batches < opts.maxBatches)) {
    const batch = await sql<Claim[]>`select * from public.service_role_claim_emails(${worker},
      ${opts.batchSize ?? settings.batchSize}, ${opts.claimSeconds ?? settings.claimSeconds})`;
    if (batch.length === 0) break;
    report.batches++;
    report.claimed += batch.length;
    let next = 0;
    const lanes = Array.from({ length: Math.min(opts.concurrency ?? settings.concurrency, batch.length) }, async () => {
      while (next < batch.length) {
        const mail = batch[next++];
        let outcome: Outcome;
        try {
          outcome = await deliver(mail);
        } catch (err) {
          // A fault of ours (the database gone mid-send): the claim lapses and the mail is taken over later.
          console.error(`send-email: mail ${mail.id}:`, err);
          continue;
        }
        report[outcome]++;
      }
    });
    await Promise.all(lanes);
  }
  return report;
}

