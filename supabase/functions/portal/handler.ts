// POST /portal { return_url? }: a Stripe billing-portal session for an account's customer (the signed-in user's
// personal account, or the team X-Account-Id names: the role's 'manage_billing' right), where they change plans,
// cards and cancel. 404 no_customer before a first checkout, 404 account_not_found / 403 account_forbidden.
// Polar's customer portal instead when Polar sells the plans (payments.provider: polar), for the account's Polar
// customer (linked by its first Polar payment).
import { z } from "zod";
import { requireUser } from "../_shared/auth.ts";
import { config } from "../_shared/config.ts";
import { callerAccount } from "../_shared/account.ts";
import { billingCustomer } from "../_shared/customers.ts";
import { MethodNotAllowedError, NotFoundError } from "../_shared/errors.ts";
import { json, withHttp } from "../_shared/http.ts";
import { readJson, webUrl } from "../_shared/request.ts";
import { stripe } from "../_shared/stripe.ts";
import { sellerOf } from "../_shared/config/payments.ts";
import { polarPortal } from "../_shared/billing/polar/checkout.ts";
import { withMaintenance } from "../_shared/runtime-settings.ts";

const body = z.object({ return_url: webUrl.optional() });

export const handler = withHttp(withMaintenance(config, async (req) => {
  if (req.method !== "POST") throw new MethodNotAllowedError(req.method);
  const caller = await requireUser(req);
  const requested = callerAccount(req, caller);
  const input = await readJson(req, body);
  const account = await billingCustomer(requested, caller.userId, "manage_billing");
  if (sellerOf(config.payments, "plans") === "polar") {
    return json(await polarPortal(account.account_id, input.return_url ?? `${config.product.url}/billing`));
  }
  const customer = account.stripe_customer_id;
  if (!customer) throw new NotFoundError("No billing account yet: check out first", "no_customer");
  const session = await stripe().billingPortal.sessions.create({
    customer,
    return_url: input.return_url ?? `${config.product.url}/billing`,
  });
  return json({ url: session.url });
}));
