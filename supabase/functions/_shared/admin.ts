// Callers allowed to run admin operations: a signed-in admin (app_metadata.role, set only by the service
// role), or the service role itself (cron, back office). 403 for everyone else.
import { type Caller, callerOf } from "./auth.ts";
import { ForbiddenError } from "./errors.ts";

export async function requireAdmin(req: Request): Promise<Caller> {
  const caller = await callerOf(req);
  if (caller.role === "service_role") return caller;
  const appMeta = caller.claims.app_metadata as { role?: unknown } | undefined;
  if (caller.role === "authenticated" && appMeta?.role === "admin") return caller;
  throw new ForbiddenError("Admins only", "admin_only");
}
