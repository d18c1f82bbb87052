// POST /checkout: a Stripe Checkout Session for an account: the signed-in user's personal account, or the team
// the X-Account-Id header names (what is bought is the team's: its wallet, its plan).
//   { "price": "plan_plus_monthly" }   a plan (subscription), by lookup key: the role's 'manage_billing' right
//     seats: for a per-seat plan, the seats bought (the subscription's quantity; default the account's member
//            count, at least that, at most the plan's max_seats: 422 invalid_seats); refused for other plans
//   { "pack": "credits_500" }          a credit pack, at the pack price less the account's plan discount: 'buy'
//   { "amount_cents": 1500 }           credits for a custom amount within the config's bounds: 'buy'
//   { "license": "forge-desktop" }     a one-off license of a licensed product sold once (its priceCents): 'buy';
//                                      the paid checkout's webhook issues it (docs/licenses.md)
// optional: success_url, cancel_url (default: the product URL). Answers 200 { id, url }.
// 401 without a user, 403 account_forbidden (the role lacks the right), 404 account_not_found (not a member),
// unknown price or pack (or an account deleted since its token was issued), 409 already subscribed, 422 bad amount
// or no email, 503 billing not configured; a refusal happens before anything is made at Stripe. The same
// Idempotency-Key header returns the same session. One Stripe customer per account (_shared/customers.ts);
// the session, its payment intent or subscription carry `account_id` in their metadata, which the webhook reads.
// Polar instead of Stripe when the config's payments.provider has Polar sell it (polar: everything; both: credits):
// the same checks and prices, then a Polar checkout (_shared/billing/polar/checkout.ts) answering { id, url } too;
// the account is the Polar customer's external id, and polar-webhook grants what is paid.
import { z } from "zod";
import { requireUser } from "../_shared/auth.ts";
import { config } from "../_shared/config.ts";
import { callerAccount } from "../_shared/account.ts";
import { billingCustomer, ensureCustomer } from "../_shared/customers.ts";
import { callAsCaller, db } from "../_shared/db.ts";
import { dbCall } from "../_shared/db-errors.ts";
import { ConflictError, MethodNotAllowedError, NotFoundError, ValidationError } from "../_shared/errors.ts";
import { json, withHttp } from "../_shared/http.ts";
import { idempotencyKeyHeader, readJson, webUrl } from "../_shared/request.ts";
import { stripe } from "../_shared/stripe.ts";
import { packLookupKey, packProductId } from "../_shared/billing-catalog.ts";
import { sellerOf } from "../_shared/config/payments.ts";
import { polarCheckout } from "../_shared/billing/polar/checkout.ts";
import { DEPOSIT_LOOKUP_KEY } from "../_shared/billing/polar/catalog.ts";
import type { Stripe } from "../_shared/stripe-client.ts";
import type { AmountPrice, PackPrice } from "../_shared/sql-results.ts";
import { withMaintenance } from "../_shared/runtime-settings.ts";

const body = z
  .object({
    price: z.string().min(1).max(100).optional(),
    pack: z.string().min(1).max(63).optional(),
    amount_cents: z.number().int().optional(),
    license: z.string().regex(/^[a-z][a-z0-9_-]{0,62}$/, "a licensed product id").optional(),
    seats: z.number().int().min(1).max(1_000_000).optional(),
    success_url: webUrl.optional(),
    cancel_url: webUrl.optional(),
  })
  .refine((b) => [b.price, b.pack, b.amount_cents, b.license].filter((v) => v !== undefined).length === 1, {
    message: "give exactly one of price, pack, amount_cents or license",
  })
  .refine((b) => b.seats === undefined || b.price !== undefined, {
    message: "seats are bought with a plan's price",
    path: ["seats"],
  });

/** The credits a custom amount buys, as public.credit_amount_price priced it (the rate and the bounds are SQL's,
 * synced from the config's `purchase`), or the field error for the bound it missed. */
export function creditsOf(quote: AmountPrice): number {
  if (quote.credits !== null) return quote.credits;
  if (quote.amount_cents < quote.min_cents) {
    throw new ValidationError(`The minimum purchase is ${quote.min_cents} cents`, [
      { path: "amount_cents", message: `at least ${quote.min_cents}`, code: "amount_below_minimum" },
    ]);
  }
  throw new ValidationError(`The maximum purchase is ${quote.max_cents} cents`, [
    { path: "amount_cents", message: `at most ${quote.max_cents}`, code: "amount_above_maximum" },
  ]);
}

/** A plan's checkout stays payable for a day: the user's other open ones (another tab, yesterday's) are
 * expired when a new one is made, so two subscriptions cannot both be bought. (Two made at the same instant
 * may expire each other: the user clicks again.) */
async function expireOtherSubscriptionCheckouts(customer: string, keep: string) {
  const open = await stripe().checkout.sessions.list({ customer, status: "open", limit: 100 });
  for (const other of open.data) {
    if (other.id === keep || other.mode !== "subscription") continue;
    await stripe().checkout.sessions.expire(other.id).catch((err) => {
      // Completed or expired meanwhile: nothing left to expire.
      if ((err as { type?: string }).type !== "StripeInvalidRequestError") throw err;
    });
  }
}

export const handler = withHttp(withMaintenance(config, async (req) => {
  if (req.method !== "POST") throw new MethodNotAllowedError(req.method);
  const caller = await requireUser(req);
  const requested = callerAccount(req, caller);
  const input = await readJson(req, body);
  const idempotencyKey = idempotencyKeyHeader(req); // Stripe's key prefixes the user id (and a team's)
  // The account, checked first: a member whose role lacks the right, or a stranger, gets nothing made.
  const right = input.price !== undefined ? "manage_billing" : "buy";
  const account = await billingCustomer(requested, caller.userId, right);
  const seller = sellerOf(config.payments, input.price !== undefined ? "plans" : "credits");
  const successUrl = input.success_url ??
    `${config.product.url}/billing/success?session_id={CHECKOUT_SESSION_ID}`;
  const cancelUrl = input.cancel_url ?? `${config.product.url}/billing`;
  const metadata: Record<string, string> = { account_id: account.account_id };
  const sellThroughPolar = (item: Parameters<typeof polarCheckout>[0]["item"]) =>
    polarCheckout({
      account,
      email: caller.email || account.email || undefined,
      item,
      metadata,
      successUrl: input.success_url,
      returnUrl: cancelUrl,
      productUrl: config.product.url,
    });
  let params: Stripe.Checkout.SessionCreateParams;

  if (input.price !== undefined) {
    const [price] = await db()`
      select x.id, p.kind, p.plan_id from public.prices x join public.products p on p.id = x.product_id
      where x.lookup_key = ${input.price} and x.active and p.active and x.provider = ${seller}`;
    if (!price) throw new NotFoundError(`Unknown price ${input.price}`, "unknown_price");
    if (price.kind !== "plan") {
      throw new ValidationError("Buy credit packs with { pack }", [{ path: "price" }]);
    }
    if (account.subscribed) {
      throw new ConflictError("Already subscribed: change plans in the billing portal", "already_subscribed");
    }
    // The quantity is SQL's to decide (1, or the seats of a per-seat plan: see the seat rule in the billing
    // migration); the subscription starts with it and the seat sync keeps it following the members.
    const [{ quantity }] = await dbCall(db()`select public.service_role_checkout_seats(
      ${account.account_id}, ${price.plan_id}, ${input.seats ?? null}) as quantity`);
    Object.assign(metadata, { kind: "subscription", plan_id: price.plan_id });
    if (seller === "polar") return json(await sellThroughPolar({ lookupKey: input.price }));
    params = {
      mode: "subscription",
      line_items: [{ price: price.id, quantity }],
      subscription_data: { metadata },
    };
  } else if (input.license !== undefined) {
    // A licensed product sold once, at its price (public.license_products, from the config's licensing section).
    const [product] = await db()`
      select id, name, price_cents from public.license_products
      where id = ${input.license} and active and price_cents is not null`;
    if (!product) {
      throw new NotFoundError(`No licensed product ${input.license} is sold once`, "license_product_not_found");
    }
    Object.assign(metadata, { kind: "license", license_product: product.id });
    params = {
      mode: "payment",
      line_items: [{
        quantity: 1,
        price_data: { currency: config.currency, unit_amount: product.price_cents, product_data: { name: product.name } },
      }],
      payment_intent_data: { metadata },
    };
  } else {
    let credits: number;
    let amount: number;
    let discount = 0;
    let name: string;
    if (input.pack !== undefined) {
      const quote = await dbCall(
        callAsCaller<PackPrice>(caller, (sql) => sql`public.credit_pack_price(${input.pack!}, ${account.account_id})`),
      );
      ({ credits, final_cents: amount, discount_percent: discount } = quote);
      name = `${credits} credits`;
      Object.assign(metadata, { pack_id: input.pack });
    } else {
      amount = input.amount_cents!;
      const quote = await dbCall(
        callAsCaller<AmountPrice>(caller, (sql) => sql`public.credit_amount_price(${amount})`),
      );
      credits = creditsOf(quote);
      name = `${credits} credits`;
    }
    Object.assign(metadata, {
      kind: "credits",
      credits: String(credits),
      discount_percent: String(discount),
    });
    if (seller === "polar") {
      return json(await sellThroughPolar({
        lookupKey: input.pack !== undefined ? packLookupKey(input.pack) : DEPOSIT_LOOKUP_KEY,
        amountCents: amount,
        currency: config.currency,
      }));
    }
    params = {
      mode: "payment",
      line_items: [{
        quantity: 1,
        price_data: {
          currency: config.currency,
          unit_amount: amount,
          ...(input.pack !== undefined ? { product: packProductId(input.pack) } : { product_data: { name } }),
        },
      }],
      payment_intent_data: { metadata },
    };
  }

  const customer = await ensureCustomer(stripe(), account, caller.userId, right, caller.email);
  let session;
  try {
    session = await stripe().checkout.sessions.create(
      {
        ...params,
        customer,
        client_reference_id: account.account_id,
        metadata,
        success_url: successUrl,
        cancel_url: cancelUrl,
      },
      idempotencyKey
        ? {
          idempotencyKey: account.account_id === caller.userId
            ? `saasbase-checkout-${caller.userId}-${idempotencyKey}`
            : `saasbase-checkout-${caller.userId}-${account.account_id}-${idempotencyKey}`,
        }
        : undefined,
    );
  } catch (err) {
    // Stripe keeps a key's first request: the same key with another body is the caller's mistake.
    if ((err as { type?: string }).type === "StripeIdempotencyError") {
      throw new ConflictError("This Idempotency-Key was used for another checkout", "idempotency_conflict");
    }
    throw err;
  }
  if (params.mode === "subscription") await expireOtherSubscriptionCheckouts(customer, session.id);
  return json({ id: session.id, url: session.url });
}));
