// The account a request acts for. A user acts for a team by naming it in the `X-Account-Id` header; without
// it, for their personal account (whose id is their user id). The header is only a claim: the SQL API checks
// the caller's membership and role (saasbase.acting_account) in the same transaction as the work, and answers
// 404 account_not_found / 403 account_forbidden, so a function passes the id on and never decides itself.
import type { Caller } from "./auth.ts";
import { ForbiddenError, ValidationError } from "./errors.ts";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The `X-Account-Id` header's account id (lower-cased), or null when absent (the personal account);
 * 422 when it is not a uuid. */
export function requestedAccount(req: Request): string | null {
  const value = req.headers.get("x-account-id");
  if (value === null || value === "") return null;
  if (!UUID.test(value)) {
    throw new ValidationError("X-Account-Id must be an account id (a uuid)", [
      { path: "X-Account-Id", message: "an account id (uuid)" },
    ]);
  }
  return value.toLowerCase();
}

/** The account a caller acts for, as the SQL API's `account` argument: an API key's own account (an
 * X-Account-Id naming another is refused with 403 account_forbidden: a key is for one account), else the
 * X-Account-Id header's (null: the personal account). */
export function callerAccount(req: Request, caller: Caller): string | null {
  const named = requestedAccount(req);
  if (!caller.apiKey) return named;
  if (named !== null && named !== caller.apiKey.accountId) {
    throw new ForbiddenError("This API key belongs to another account than X-Account-Id names", "account_forbidden");
  }
  return caller.apiKey.accountId;
}
