// The credits API for an app's own server-side features (component generation, coloring pages, quizzes):
//   POST /credits/charge  { feature, quantity?, idempotency_key? } (or an Idempotency-Key header)
//        200 the charge (replayed: true for a repeated key), 401, 402 insufficient_credits,
//        404 unknown_feature, 409 idempotency_conflict, 422 invalid input, 429 rate_limited
//   GET  /credits[?limit=N]  balance, reserved, plan, quotas and the N (20) most recent ledger rows
// Both act for the account named in X-Account-Id (a team the caller belongs to; default: their personal
// account): 404 account_not_found for one they are not in, 403 account_forbidden when their role may not spend,
// 402 spend_cap_reached past their monthly cap on a team wallet, 422 for an X-Account-Id that is no uuid.
// Every call runs as the signed-in user, through the SQL API, so the same rules hold as for supabase-js.
import { z } from "zod";
import { callerAccount } from "../_shared/account.ts";
import { requireUser } from "../_shared/auth.ts";
import { asCaller, callAsCaller } from "../_shared/db.ts";
import { dbCall } from "../_shared/db-errors.ts";
import { MethodNotAllowedError, NotFoundError, ValidationError } from "../_shared/errors.ts";
import { json, withHttp } from "../_shared/http.ts";
import { readJson } from "../_shared/request.ts";
import type { CreditCharge, WalletSummary } from "../_shared/sql-results.ts";
import { config } from "../_shared/config.ts";
import { withMaintenance } from "../_shared/runtime-settings.ts";

const chargeBody = z.object({
  feature: z.string().min(1).max(63),
  quantity: z.number().int().min(1).max(1_000_000).default(1),
  idempotency_key: z.string().min(1).max(200).optional(),
});

async function charge(req: Request): Promise<Response> {
  const caller = await requireUser(req);
  const account = callerAccount(req, caller);
  const body = await readJson(req, chargeBody);
  const key = body.idempotency_key ?? req.headers.get("idempotency-key") ?? undefined;
  if (!key) {
    throw new ValidationError(
      "An idempotency key is required (idempotency_key or the Idempotency-Key header)",
      [
        { path: "idempotency_key", message: "required" },
      ],
    );
  }
  const result = await dbCall(
    callAsCaller<CreditCharge>(caller, (sql) => sql`public.charge_credits(${body.feature}, ${body.quantity}, ${key}, ${account})`),
  );
  return json(result, 200, result.replayed ? { "idempotent-replayed": "true" } : {});
}

async function wallet(req: Request): Promise<Response> {
  const caller = await requireUser(req);
  const account = callerAccount(req, caller);
  const limitParam = new URL(req.url).searchParams.get("limit");
  const limit = limitParam === null ? 20 : Number(limitParam);
  if (!Number.isInteger(limit) || limit < 0 || limit > 200) {
    throw new ValidationError("limit must be an integer from 0 to 200", [{
      path: "limit",
      message: "0 to 200",
    }]);
  }
  const body = await dbCall(asCaller(caller, async (tx) => {
    // get_wallet checks the caller's membership of the account before the ledger is read.
    const [{ w }] = await tx`select to_jsonb(public.get_wallet(${account})) as w`;
    // The account's rows, by the (account_id, id) index: RLS alone would scan everyone's ledger for them (its
    // admin clause cannot use an index), and show an admin the whole site's. Built as jsonb so bigint amounts
    // arrive as JSON numbers. `actor_id`: the member who spent (a team's ledger shows who).
    const [{ ledger }] = await tx`
      select coalesce(jsonb_agg(to_jsonb(l) order by l.id desc), '[]') as ledger
      from (
        select id, kind, amount, balance_after, feature_id as feature, quantity, reason, reference, actor_id, created_at
        from public.credit_ledger where account_id = ${account ?? caller.userId} order by id desc limit ${limit}
      ) l`;
    return { ...(w as WalletSummary), ledger };
  }));
  return json(body);
}

export const handler = withHttp(withMaintenance(config, async (req) => {
  const route = new URL(req.url).pathname.replace(/^.*?\/credits/, "").replace(/\/$/, "");
  if (route === "") {
    if (req.method !== "GET") throw new MethodNotAllowedError(req.method);
    return await wallet(req);
  }
  if (route === "/charge") {
    if (req.method !== "POST") throw new MethodNotAllowedError(req.method);
    return await charge(req);
  }
  throw new NotFoundError(`No route ${route}`, "route_not_found");
}));
