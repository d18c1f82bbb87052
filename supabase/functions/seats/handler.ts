// POST /seats/sync: makes a per-seat subscription's quantity at Stripe what the seat rule wants (the rule is
// SQL's: see the seats section of the account-billing migration and docs/billing.md), with proration.
//   - a signed-in member, with X-Account-Id (or for their personal account without it): syncs that account.
//     Any role may: the sync only applies the rule, and a repeated one asks Stripe nothing (src/client's team
//     helpers call it right after a membership change);
//   - the service role or an admin, without X-Account-Id: every account that is due (members changed since its
//     last sync, or Stripe's quantity is not the rule's), at most 100 a call (pg_cron, stripe-reconcile); with
//     X-Account-Id: that account.
// No body (or {}). Answers 200 with the sync ({ account_id, subscription_id, members, quantity, wanted,
// seat_version, updated }) or the sweep ({ synced: [...], failed: [{ account_id, error }] }: a failed account
// records nothing and stays due). 401 without a caller, 404 account_not_found (not a member), 404 route_not_found,
// 502 / 503 when Stripe refuses or is unreachable (a single sync: nothing recorded, run it again).
import { z } from "zod";
import { requestedAccount } from "../_shared/account.ts";
import { requireAdmin } from "../_shared/admin.ts";
import { callerOf, requireUser } from "../_shared/auth.ts";
import { syncDueSeats, syncSeats } from "../_shared/billing/seats.ts";
import { db } from "../_shared/db.ts";
import { dbCall } from "../_shared/db-errors.ts";
import { MethodNotAllowedError, NotFoundError } from "../_shared/errors.ts";
import { json, withHttp } from "../_shared/http.ts";
import { readJson } from "../_shared/request.ts";
import { stripe } from "../_shared/stripe.ts";
import { config } from "../_shared/config.ts";
import { withMaintenance } from "../_shared/runtime-settings.ts";

const body = z.strictObject({});

export const handler = withHttp(withMaintenance(config, async (req) => {
  const route = new URL(req.url).pathname.replace(/^.*?\/seats/, "").replace(/\/$/, "");
  if (route !== "/sync") throw new NotFoundError(`No route ${route}`, "route_not_found");
  if (req.method !== "POST") throw new MethodNotAllowedError(req.method);
  const requested = requestedAccount(req);
  const caller = await callerOf(req);
  const admin = caller.role === "service_role" ||
    (caller.role === "authenticated" && (caller.claims.app_metadata as { role?: unknown } | undefined)?.role === "admin");
  if (admin) {
    await requireAdmin(req); // the account's role now, not only the token's
    await readJson(req, body);
    if (requested === null) return json(await syncDueSeats(db(), stripe));
    return json(await dbCall(syncSeats(db(), stripe, requested)));
  }
  const user = await requireUser(req);
  await readJson(req, body);
  return json(await dbCall(syncSeats(db(), stripe, requested ?? user.userId, user.userId)));
}));
