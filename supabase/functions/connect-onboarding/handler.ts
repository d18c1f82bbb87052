// POST /connect-onboarding { return_url?, refresh_url? }: the signed-in user's Stripe Connect (Express)
// account, created once (Stripe idempotency key per user), and an onboarding link to finish it.
// Answers { account_id, url }; 404 user_not_found for a token of a deleted account.
import { z } from "zod";
import { requireUser } from "../_shared/auth.ts";
import { config } from "../_shared/config.ts";
import { db } from "../_shared/db.ts";
import { MethodNotAllowedError, NotFoundError } from "../_shared/errors.ts";
import { json, withHttp } from "../_shared/http.ts";
import { readJson, webUrl } from "../_shared/request.ts";
import { stripe } from "../_shared/stripe.ts";
import { withMaintenance } from "../_shared/runtime-settings.ts";

const body = z.object({ return_url: webUrl.optional(), refresh_url: webUrl.optional() });

export const handler = withHttp(withMaintenance(config, async (req) => {
  if (req.method !== "POST") throw new MethodNotAllowedError(req.method);
  // A user's own payouts: a session only, never an API key (a key is an account's, for its functions).
  const caller = await requireUser(req, { apiKeys: false });
  const input = await readJson(req, body);
  // The user's row with their account: a token of a deleted user (valid until it expires) is a 404 before
  // anything is created at Stripe.
  let [row] = await db()`select a.stripe_account_id from auth.users u
    left join public.connect_accounts a on a.user_id = u.id where u.id = ${caller.userId}`;
  if (!row) throw new NotFoundError("This account no longer exists", "user_not_found");
  if (!row.stripe_account_id) {
    const account = await stripe().accounts.create(
      {
        type: "express",
        email: caller.email,
        metadata: { user_id: caller.userId },
        capabilities: { transfers: { requested: true } },
      },
      { idempotencyKey: `saasbase-connect-${caller.userId}` },
    );
    await db()`insert into public.connect_accounts (user_id, stripe_account_id) values (${caller.userId}, ${account.id})
      on conflict (user_id) do nothing`;
    [row] =
      await db()`select stripe_account_id from public.connect_accounts where user_id = ${caller.userId}`;
  }
  const link = await stripe().accountLinks.create({
    account: row.stripe_account_id,
    type: "account_onboarding",
    return_url: input.return_url ?? `${config.product.url}/referrals?onboarding=done`,
    refresh_url: input.refresh_url ?? `${config.product.url}/referrals?onboarding=retry`,
  });
  return json({ account_id: row.stripe_account_id, url: link.url });
}));
