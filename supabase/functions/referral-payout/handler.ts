// POST /referral-payout { cashout_id? } (admins or the service role): pays approved cash-outs — the one given,
// or every approved one — with a Stripe Connect transfer to the user's connected account.
// Exactly once: a run claims a cash-out (status paying; another run meanwhile answers `in_progress`), and the
// transfer's idempotency key is the cash-out and its failed-attempt count, and before every transfer its
// transfer_group is looked up at Stripe (an earlier attempt's transfer whose outcome was lost is recorded, not
// repeated: Stripe forgets idempotency keys after a day). A run that died mid-claim is taken over once its
// claim lapses (the rule is SQL's: saasbase.claim_live). Stripe's refusal is a final failure (status failed, the
// reason; an admin approves a retry or rejects); a rate limit, a conflict or an outage leaves it approved for
// the next run. Answers { results: [{ cashout_id, status, ... }] }.
import { z } from "zod";
import { requireAdmin } from "../_shared/admin.ts";
import { db } from "../_shared/db.ts";
import { dbCall } from "../_shared/db-errors.ts";
import { AppError, MethodNotAllowedError } from "../_shared/errors.ts";
import { json, withHttp } from "../_shared/http.ts";
import { readJson } from "../_shared/request.ts";
import { stripe } from "../_shared/stripe.ts";
import type { CashoutClaim, PayoutOutcome } from "../_shared/sql-results.ts";

const body = z.object({ cashout_id: z.uuid().optional() });

/** Pays one cash-out; `actor` is the admin running the payout (audited with the outcome), if one is. */
export async function payCashout(id: string, actor: string | null = null) {
  const [{ c }] = await dbCall(db()`select to_jsonb(public.service_role_claim_cashout(${id})) as c`);
  const claim = c as CashoutClaim;
  if (claim.status === "paid") {
    return { cashout_id: id, status: "paid", transfer_id: claim.transfer_id, replayed: true };
  }
  if (claim.status === "in_progress") return { cashout_id: id, status: "in_progress" };
  const record = async (transferId: string | null, failure: string | null, final = true, newKey = false) =>
    (await dbCall(
      db()`select to_jsonb(public.service_role_record_payout(${id}, ${claim.attempt}, ${transferId}, ${failure},
      ${final}, ${actor}, ${newKey})) as r`,
    ))[0].r as PayoutOutcome;

  if (!claim.destination) {
    return await record(null, "no_connect_account: the user has not finished Stripe onboarding");
  }
  try {
    // An earlier attempt's transfer may have gone out with its outcome lost (a timeout, a crash, a failed
    // write): found by its transfer_group, it is recorded instead of sending another.
    const earlier = await stripe().transfers.list({ transfer_group: `cashout_${id}`, limit: 1 });
    if (earlier.data[0]) return await record(earlier.data[0].id, null);
    const transfer = await stripe().transfers.create(
      {
        amount: Number(claim.amount_cents),
        currency: claim.currency,
        destination: claim.destination,
        transfer_group: `cashout_${id}`,
        metadata: { cashout_id: id, user_id: claim.user_id },
      },
      { idempotencyKey: `saasbase-cashout-${id}-${claim.attempt}` },
    );
    return await record(transfer.id, null);
  } catch (err) {
    const { statusCode: status, code } = err as { statusCode?: number; code?: string };
    // The platform's balance short for now (it fills as charges settle): no transfer was made, and Stripe
    // would answer this key with the same refusal for a day, so the next run tries again with a new one.
    if (code === "balance_insufficient") return await record(null, (err as Error).message, false, true);
    // Stripe's refusal of this transfer (4xx) is final for the attempt. A rate limit (429), the same key
    // still in flight (409), an outage or the network are not: retried with the same key next run.
    const final = typeof status === "number" && status >= 400 && status < 500 && status !== 429 &&
      status !== 409;
    return await record(null, (err as Error).message, final);
  }
}

export const handler = withHttp(async (req) => {
  if (req.method !== "POST") throw new MethodNotAllowedError(req.method);
  const admin = await requireAdmin(req);
  const input = await readJson(req, body);
  const ids = input.cashout_id
    ? [input.cashout_id]
    : (await db()`select cashout_id from public.service_role_payable_cashouts(100)`).map((r) => r.cashout_id as string);
  const actor = admin.role === "authenticated" ? admin.userId ?? null : null;
  if (input.cashout_id) return json({ results: [await payCashout(input.cashout_id, actor)] });
  // A run over every approved cash-out goes on past one that changed meanwhile (rejected by an admin between
  // the list and its claim): that one is reported with its error, and the others are still paid.
  const results = [];
  for (const id of ids) {
    try {
      results.push(await payCashout(id, actor));
    } catch (err) {
      if (!(err instanceof AppError)) throw err;
      results.push({ cashout_id: id, status: "skipped", error: { code: err.code, message: err.message } });
    }
  }
  return json({ results });
});
