// Checkout and the customer portal through Polar, for the checkout and portal functions when the config has Polar
// sell what is bought (payments.provider: polar, or both for credits). The account, its rights and the price are
// decided before (by the same SQL as for Stripe); this module only asks Polar.
//
// The account is the Polar customer's external id (Polar keeps one customer per external id), and travels in the
// checkout's metadata as with Stripe (`account_id`, `kind`, `credits`, `pack_id`, `discount_percent`, `plan_id`):
// Polar copies a checkout's metadata to the order and the subscription it makes, which polar-webhook reads.
import { db } from "../../db.ts";
import { AppError, NotFoundError, ServiceUnavailableError } from "../../errors.ts";
import type { BillingCustomer } from "../../sql-results.ts";
import { polarStatus } from "./client.ts";
import { polar } from "./polar.ts";

/** A Polar SDK error as ours: Polar unreachable, failing or rate-limiting is a 503 to retry; a refused token
 * is billing not configured; any other refusal a 502 (what we sent was checked first). Polar's message stays in
 * the log. */
export function fromPolar(err: unknown): unknown {
  if (err instanceof AppError) return err;
  // The SDK's errors: PolarNetworkError, PolarServerError, and PolarClientError's subclasses (named after Polar's
  // error, e.g. HTTPValidationError, ResourceNotFound), which carry the status.
  const name = (err as { name?: unknown })?.name;
  const status = polarStatus(err);
  if (status === undefined && !(typeof name === "string" && name.startsWith("Polar"))) return err;
  console.error(err);
  if (status === 401 || status === 403) {
    return new ServiceUnavailableError("Polar refused this backend's access token", "billing_not_configured");
  }
  if (status === undefined || status >= 500 || status === 429) {
    return new ServiceUnavailableError("Polar is unreachable or busy; try again shortly", "payment_provider_unavailable");
  }
  return new AppError(502, "payment_provider_error", "Polar refused the request; nothing was changed here");
}

/** The Polar product of a stable lookup key (plan_plus_monthly, pack_credits_500, deposit), synced by
 * `npm run polar:sync`; 503 when the catalog was not synced. */
async function polarProduct(lookupKey: string): Promise<string> {
  const [row] = await db()`select x.product_id from public.prices x join public.products p on p.id = x.product_id
    where x.lookup_key = ${lookupKey} and x.provider = 'polar' and x.active and p.active`;
  if (!row) {
    throw new ServiceUnavailableError(
      `Polar sells no ${lookupKey} yet: run npm run polar:sync`,
      "billing_not_configured",
    );
  }
  return row.product_id as string;
}

export interface PolarCheckoutInput {
  account: BillingCustomer;
  /** The acting member's email (the token's, else their user's): a new Polar customer's. */
  email: string | undefined;
  /** What is sold: a plan's product by its lookup key at its catalog price, or credits at `amountCents`. */
  item: { lookupKey: string } | { lookupKey: string; amountCents: number; currency: string };
  metadata: Record<string, string>;
  successUrl: string | undefined;
  returnUrl: string;
  productUrl: string;
}

/** A Polar checkout session: { id, url }. */
export async function polarCheckout(input: PolarCheckoutInput): Promise<{ id: string; url: string }> {
  const product = await polarProduct(input.item.lookupKey);
  const item = input.item;
  try {
    const checkout = await polar().checkouts.create({
      products: [product],
      // Credits are priced per checkout (a pack less the plan's discount, a deposit's own amount): an ad-hoc
      // fixed price of the product, for this checkout alone.
      ...("amountCents" in item
        ? {
          prices: {
            [product]: [{
              amount_type: "fixed" as const,
              price_amount: item.amountCents,
              price_currency: item.currency as "usd",
            }],
          },
        }
        : {}),
      external_customer_id: input.account.account_id,
      ...(input.email ? { customer_email: input.email } : {}),
      ...(input.account.kind === "team" && input.account.name ? { customer_name: input.account.name } : {}),
      metadata: input.metadata,
      success_url: input.successUrl ?? `${input.productUrl}/billing/success?checkout_id={CHECKOUT_ID}`,
      return_url: input.returnUrl,
    });
    return { id: checkout.id, url: checkout.url };
  } catch (err) {
    throw fromPolar(err);
  }
}

/** A Polar customer-portal session for the account's Polar customer: { url }. 404 no_customer before its first
 * Polar payment linked one. */
export async function polarPortal(accountId: string, returnUrl: string): Promise<{ url: string }> {
  const [row] = await db()`select polar_customer_id from public.polar_customers where account_id = ${accountId}`;
  if (!row) throw new NotFoundError("No billing account yet: check out first", "no_customer");
  try {
    const session = await polar().customerSessions.create({
      customer_id: row.polar_customer_id as string,
      return_url: returnUrl,
    });
    return { url: session.customer_portal_url };
  } catch (err) {
    throw fromPolar(err);
  }
}
