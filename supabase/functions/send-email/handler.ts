// POST /send-email { max_batches? } (the service role or an admin): one run of the outbox worker
// (_shared/email/worker.ts): claims due mails batch by batch, renders, sends through the configured provider,
// records each outcome, until nothing is due or the run's time is up; answers what it did:
// { worker, batches, claimed, sent, retried, failed, suppressed }. Runs may overlap (pg_cron every minute, a
// kick after a commit, the local timer): their claims never take the same mail.
import { z } from "zod";
import { requireAdmin } from "../_shared/admin.ts";
import { db } from "../_shared/db.ts";
import { drainOutbox } from "../_shared/email/worker.ts";
import { renderEmail } from "../_shared/email/templates/index.ts";
import { MethodNotAllowedError } from "../_shared/errors.ts";
import { json, withHttp } from "../_shared/http.ts";
import { readJson } from "../_shared/request.ts";

const body = z.strictObject({
  /** Stop after so many batches (default: until nothing is due, within 50 s). */
  max_batches: z.number().int().min(1).max(1000).optional(),
});

export const handler = withHttp(async (req) => {
  if (req.method !== "POST") throw new MethodNotAllowedError(req.method);
  await requireAdmin(req);
  const input = await readJson(req, body);
  const report = await drainOutbox({ sql: db(), render: renderEmail, maxBatches: input.max_batches });
  return json(report);
});
