// POST /stripe-reconcile { since?, margin_seconds? } (admins or the service role; pg_cron calls it with the
// service key): reconciles our mirror with what Stripe has on record (_shared/billing/reconcile.ts) and answers
// the report: what was listed, what was missing and is applied now, what could not be. Then, with the mirror
// repaired, the seat sync of every account due (_shared/billing/seats.ts): its outcome under `seats`.
//   since: Unix seconds or an ISO time; null for everything (a backfill: mind the function's time limit, the
//          CLI `npm run stripe:reconcile` has none); left out, from the last run that failed nothing and left no gap
//          behind it (see reconcile.ts), else the last event stored, less margin_seconds (default an hour).
import { z } from "zod";
import { requireAdmin } from "../_shared/admin.ts";
import { reconcile } from "../_shared/billing/reconcile.ts";
import { syncDueSeats } from "../_shared/billing/seats.ts";
import { db } from "../_shared/db.ts";
import { MethodNotAllowedError } from "../_shared/errors.ts";
import { json, withHttp } from "../_shared/http.ts";
import { queryTime, readJson } from "../_shared/request.ts";
import { stripe } from "../_shared/stripe.ts";

const seconds = (v: number | string) => (typeof v === "number" ? v : Math.floor(Date.parse(v) / 1000));

const body = z.strictObject({
  since: z.union([z.number().int().min(0), queryTime]).nullable().optional()
    .refine((v) => v === null || v === undefined || seconds(v) <= Date.now() / 1000 + 60, "not in the future"),
  margin_seconds: z.number().int().min(0).max(30 * 86_400).optional(),
});

export const handler = withHttp(async (req) => {
  if (req.method !== "POST") throw new MethodNotAllowedError(req.method);
  await requireAdmin(req); // the account's role now, not only the token's
  const input = await readJson(req, body);
  const report = await reconcile({ sql: db(), stripe }, {
    since: input.since === undefined || input.since === null ? input.since : seconds(input.since),
    marginSeconds: input.margin_seconds,
  });
  // Drift repair of per-seat quantities: after the reconciliation, so the rule reads Stripe's quantities.
  const seats = await syncDueSeats(db(), stripe);
  return json({ ...report, seats });
});
