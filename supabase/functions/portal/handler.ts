// POST /portal { return_url? }: a Stripe billing-portal session for the signed-in user's customer, where
// they change plans, cards and cancel. 404 no_customer before a first checkout.
import { z } from "zod";
import { requireUser } from "../_shared/auth.ts";
import { config } from "../_shared/config.ts";
import { customerIdOf } from "../_shared/customers.ts";
import { MethodNotAllowedError, NotFoundError } from "../_shared/errors.ts";
import { json, withHttp } from "../_shared/http.ts";
import { readJson, webUrl } from "../_shared/request.ts";
import { stripe } from "../_shared/stripe.ts";

const body = z.object({ return_url: webUrl.optional() });

export const handler = withHttp(async (req) => {
  if (req.method !== "POST") throw new MethodNotAllowedError(req.method);
  const caller = await requireUser(req);
  const input = await readJson(req, body);
  const customer = await customerIdOf(caller.userId);
  if (!customer) throw new NotFoundError("No billing account yet: check out first", "no_customer");
  const session = await stripe().billingPortal.sessions.create({
    customer,
    return_url: input.return_url ?? `${config.product.url}/billing`,
  });
  return json({ url: session.url });
});
