// Callers allowed to run admin operations: a signed-in admin (app_metadata.role, set only by the service
// role) who is still an admin on the account now, or the service role itself (cron, back office). 403 for
// everyone else.
import { type Caller, callerOf } from "./auth.ts";
import { asCaller } from "./db.ts";
import { ForbiddenError } from "./errors.ts";

export async function requireAdmin(req: Request): Promise<Caller> {
  // An admin's power comes with their session only: an API key (even an admin's) runs no admin operation.
  const caller = await callerOf(req, { apiKeys: false });
  if (caller.role === "service_role") return caller;
  const appMeta = caller.claims.app_metadata as { role?: unknown } | undefined;
  if (caller.role !== "authenticated" || appMeta?.role !== "admin") {
    throw new ForbiddenError("Admins only", "admin_only");
  }
  // The token's claim is as of its signing (up to an hour ago): the account's role now decides, as it does for
  // the SQL admin API (saasbase.is_admin), so a demoted admin's token runs no payout or reconciliation.
  const [{ admin }] = await asCaller(caller, (tx) => tx`select saasbase.is_admin() as admin`);
  if (!admin) throw new ForbiddenError("Admins only", "admin_only");
  return caller;
}
