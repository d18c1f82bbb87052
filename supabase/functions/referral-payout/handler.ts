// POST /referral-payout { cashout_id? } (admins or the service role): pays approved cash-outs — the one given,
// or every approved one — with a Stripe Connect transfer to the user's connected account.
// Idempotent: the transfer's idempotency key is the cash-out and its failed-attempt count, so a repeated call
// (or one after a lost answer) cannot pay twice; a failure is recorded (status failed, the reason), and an
// admin's new approval allows a retry with a fresh key. Answers { results: [{ cashout_id, status, ... }] }.
import { z } from "zod";
import { requireAdmin } from "../_shared/admin.ts";
import { db } from "../_shared/db.ts";
import { dbCall } from "../_shared/db-errors.ts";
import { MethodNotAllowedError } from "../_shared/errors.ts";
import { json, withHttp } from "../_shared/http.ts";
import { readJson } from "../_shared/request.ts";
import { stripe } from "../_shared/stripe.ts";

const body = z.object({ cashout_id: z.uuid().optional() });

interface Claim {
  cashout_id: string;
  status: string;
  transfer_id?: string;
  amount_cents: number;
  currency: string;
  attempt: number;
  destination: string | null;
  user_id: string;
}

async function record(id: string, transferId: string | null, failure: string | null) {
  const [{ r }] = await db()`select public.service_role_record_payout(${id}, ${transferId}, ${failure}) as r`;
  return r;
}

export async function payCashout(id: string) {
  const [{ c }] = await dbCall(db()`select public.service_role_claim_cashout(${id}) as c`);
  const claim = c as Claim;
  if (claim.status === "paid") {
    return { cashout_id: id, status: "paid", transfer_id: claim.transfer_id, replayed: true };
  }
  if (!claim.destination) {
    return await record(id, null, "no_connect_account: the user has not finished Stripe onboarding");
  }
  try {
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
    return await record(id, transfer.id, null);
  } catch (err) {
    const status = (err as { statusCode?: number }).statusCode;
    // A refusal by Stripe (4xx) is final for this attempt; anything else (network, 5xx) is left approved,
    // to be retried with the same idempotency key.
    if (typeof status === "number" && status >= 400 && status < 500) {
      return await record(id, null, (err as Error).message);
    }
    throw err;
  }
}

export const handler = withHttp(async (req) => {
  if (req.method !== "POST") throw new MethodNotAllowedError(req.method);
  requireAdmin(req);
  const input = await readJson(req, body);
  const ids = input.cashout_id
    ? [input.cashout_id]
    : (await db()`select id from public.cashouts where status = 'approved' order by requested_at limit 100`)
      .map((r) => r.id as string);
  const results = [];
  for (const id of ids) results.push(await payCashout(id));
  return json({ results });
});
