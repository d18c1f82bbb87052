// What each Stripe event does to our mirror, inside the webhook's transaction. Every effect is idempotent on
// its own too (unique ids, ledger idempotency keys, the newest-event-wins guard on subscriptions), so an
// event applied twice, or events out of order, leave the same state.
import { db, type Fragment, type Sql, type Tx } from "../_shared/db.ts";
import type { Stripe } from "../_shared/stripe-client.ts";
import { stripe } from "../_shared/stripe.ts";

export type Outcome = "applied" | "ignored" | "stale" | "unknown_user" | "held" | "duplicate";

/** Stripe objects change shape between API versions; fields are read by path, tolerating either shape. */
type Loose = Record<string, unknown>;
function at(obj: unknown, path: string): unknown {
  return path.split(".").reduce<unknown>(
    (o, k) => (o && typeof o === "object" ? (o as Loose)[k] : undefined),
    obj,
  );
}
const str = (obj: unknown, ...paths: string[]) => {
  for (const p of paths) {
    const v = at(obj, p);
    if (typeof v === "string" && v) return v;
    if (v && typeof v === "object" && typeof (v as Loose).id === "string") return (v as Loose).id as string;
  }
  return undefined;
};
const num = (obj: unknown, ...paths: string[]) => {
  for (const p of paths) {
    const v = at(obj, p);
    if (typeof v === "number") return v;
  }
  return undefined;
};
const ts = (seconds: number | undefined) => (seconds === undefined ? null : new Date(seconds * 1000));

/** The user a Stripe object belongs to (our metadata's user id, else its customer's owner), linking that
 * customer to the user on the way; one round trip. */
async function userFor(tx: Tx, obj: unknown): Promise<string | undefined> {
  const [{ id }] = await tx`select public.service_role_stripe_user(
    ${str(obj, "metadata.user_id", "client_reference_id") ?? null}, ${str(obj, "customer") ?? null}) as id`;
  return id ?? undefined;
}

async function upsertSubscription(tx: Tx, sub: unknown, eventAt: number): Promise<Outcome> {
  const userId = await userFor(tx, sub);
  if (!userId) return "unknown_user";
  const item = (at(sub, "items.data") as unknown[] | undefined)?.[0];
  const [{ applied }] = await tx`select public.service_role_upsert_subscription(
    ${str(sub, "id")!}, ${userId}, ${str(sub, "status")!}, ${str(item, "price")!},
    ${ts(num(sub, "current_period_start") ?? num(item, "current_period_start"))},
    ${ts(num(sub, "current_period_end") ?? num(item, "current_period_end"))},
    ${Boolean(at(sub, "cancel_at_period_end"))}, ${ts(num(sub, "canceled_at"))}, to_timestamp(${eventAt})
  ) as applied`;
  return applied ? "applied" : "stale";
}

/** What applying an event needs from Stripe, fetched before its transaction opens: a slow Stripe then holds
 * no pooled connection and no row lock. So far: a subscription checkout's subscription, as Stripe has it now. */
export interface FromStripe {
  subscription?: Stripe.Subscription;
  /** The invoice a refunded or disputed payment paid, if it paid one (a subscription's), not a credit pack. */
  invoiceId?: string;
}

/** A Checkout Session completed and paid (a delayed payment completes unpaid, then succeeds). */
const isCheckoutPaid = (event: Stripe.Event) =>
  event.type === "checkout.session.completed" || event.type === "checkout.session.async_payment_succeeded";

export async function fetchFromStripe(event: Stripe.Event): Promise<FromStripe> {
  const session = event.data.object as Stripe.Checkout.Session;
  const subscriptionId = isCheckoutPaid(event) && session.mode === "subscription"
    ? str(session, "subscription")
    : undefined;
  if (subscriptionId) return { subscription: await stripe().subscriptions.retrieve(subscriptionId) };
  // A charge no longer names its invoice: the invoice's payments name the payment intent.
  const paymentIntent = event.type === "charge.refunded" || event.type === "charge.dispute.funds_withdrawn"
    ? str(event.data.object, "payment_intent")
    : undefined;
  // A credit pack's is known here (or will be: a purchase not recorded yet holds its refund); only an unknown
  // payment intent is asked of Stripe.
  if (
    paymentIntent &&
    !(await db()`select 1 from public.purchases where payment_intent_id = ${paymentIntent}`).length
  ) {
    try {
      const payments = await stripe().invoicePayments.list({
        payment: { type: "payment_intent", payment_intent: paymentIntent },
        limit: 1,
      });
      const invoiceId = str(payments.data[0], "invoice");
      if (invoiceId) return { invoiceId };
    } catch (err) {
      // A restricted key without Invoices read access: credit packs still work; say what is missing.
      if ((err as { type?: string }).type !== "StripePermissionError") throw err;
      console.error(
        "stripe-webhook: the Stripe key cannot read invoice payments; invoice refunds take no credits back",
      );
    }
  }
  return {};
}

/** checkout.session.completed for a subscription: the subscription fetched for it. (A credit-pack checkout
 * never gets here: see oneStatementEffect.) */
async function checkoutCompleted(
  tx: Tx,
  session: Stripe.Checkout.Session,
  eventAt: number,
  fetched: FromStripe,
): Promise<Outcome> {
  if (session.mode !== "subscription" || !fetched.subscription) return "ignored";
  const userId = await userFor(tx, session);
  if (!userId) return "unknown_user";
  return await upsertSubscription(tx, fetched.subscription, eventAt);
}

/** Postgres integer's ceiling: purchases.credits and the refunded cents are integer columns. */
const MAX_INT = 2_147_483_647;

/**
 * The whole effect of an event, when it is one SQL call: an expression giving the outcome, which the handler
 * evaluates in the statement that claims the event (one round trip, one transaction). That is a credit-pack
 * checkout (the buyer, the purchase, its credits and any referral reward, through
 * public.service_role_record_credit_purchase), the event a credits business gets most. Undefined for every
 * other event: those are applied by applyEvent in a transaction.
 */
export function oneStatementEffect(sql: Sql, event: Stripe.Event): Fragment | undefined {
  const session = event.data.object as Stripe.Checkout.Session;
  if (!isCheckoutPaid(event) || session.mode !== "payment") return undefined;
  // Credits in metadata are what our checkout put there; a paid session without a usable count is no credit
  // pack of ours (another integration on the same Stripe account), and is acknowledged as such.
  const credits = Number(session.metadata?.credits);
  const ours = Number.isInteger(credits) && credits > 0 && credits <= MAX_INT;
  if (session.payment_status !== "paid" || !ours) return sql`'ignored'`;
  const buyer = sql`public.service_role_stripe_user(
    ${str(session, "metadata.user_id", "client_reference_id") ?? null}, ${str(session, "customer") ?? null})`;
  const discount = Number(session.metadata?.discount_percent ?? 0);
  const purchase = sql`public.service_role_record_credit_purchase(${buyer}, ${session.id},
    ${str(session, "payment_intent") ?? null}, ${session.metadata?.pack_id ?? null}, ${credits},
    ${session.amount_total ?? 0}, ${session.currency ?? "usd"}, ${discount})`;
  return sql`case when ${purchase} is null then 'unknown_user' else 'applied' end`;
}

function invoiceSubscription(invoice: unknown) {
  return str(invoice, "parent.subscription_details.subscription", "subscription");
}

async function upsertInvoice(tx: Tx, invoice: unknown, userId: string, status: string, credits: number) {
  await tx`insert into public.invoices (id, user_id, subscription_id, status, amount_paid, amount_due, currency,
      credits_granted, hosted_invoice_url)
    values (${str(invoice, "id")!}, ${userId}, ${invoiceSubscription(invoice) ?? null}, ${status},
      ${num(invoice, "amount_paid") ?? 0}, ${num(invoice, "amount_due") ?? 0}, ${
    str(invoice, "currency") ?? "usd"
  },
      ${credits}, ${str(invoice, "hosted_invoice_url") ?? null})
    on conflict (id) do update set
      -- Paid is final: a payment_failed delivered late (after a retry of ours, say) does not undo it.
      status = case when public.invoices.status = 'paid' then 'paid' else excluded.status end,
      amount_paid = greatest(public.invoices.amount_paid, excluded.amount_paid),
      credits_granted = greatest(public.invoices.credits_granted, excluded.credits_granted)`;
}

/** Invoices that open a billing period of a subscription: its first, and each renewal. */
const PERIOD_INVOICES = new Set(["subscription_create", "subscription_cycle"]);

/** A proration line (the unused or the added part of a period, after a plan change) opens no period. */
const isProration = (line: unknown) =>
  at(line, "parent.subscription_item_details.proration") === true || at(line, "proration") === true;

/** invoice.paid: the plan's credits for the billing period the invoice opens, once per subscription period
 * (the ledger key), however many invoices or events name it. A period opens with the first invoice and each
 * renewal: the plan's whole credits. A plan change that restarts the cycle (monthly to yearly) opens one too,
 * but is paid for in part by the unused time credited back: it grants the share of the credits that was paid
 * in money (amount paid over the price), so switching back and forth buys credits at the plan's own rate and
 * no faster. The plan is the one of the invoice's non-proration line. */
async function invoicePaid(tx: Tx, invoice: unknown): Promise<Outcome> {
  const userId = await userFor(tx, invoice);
  if (!userId) return "unknown_user";
  const lines = ((at(invoice, "lines.data") as unknown[] | undefined) ?? []).filter((l) => !isProration(l));
  const priceOf = (line: unknown) => str(line, "pricing.price_details.price", "price");
  const priceIds = lines.map(priceOf).filter((p): p is string => !!p);
  const reason = str(invoice, "billing_reason") ?? "";
  const paid = num(invoice, "amount_paid") ?? 0;
  const [plan] = PERIOD_INVOICES.has(reason) || reason === "subscription_update"
    ? await tx`
      select pl.id, pl.monthly_credits, x.id as price_id, x.unit_amount from public.prices x
      join public.products p on p.id = x.product_id join public.plans pl on pl.id = p.plan_id
      where x.id = any(${priceIds}) order by x.id limit 1`
    : [];
  const due = !plan
    ? 0
    : PERIOD_INVOICES.has(reason)
    ? plan.monthly_credits
    : plan.unit_amount > 0
    ? Math.floor(plan.monthly_credits * Math.min(paid, plan.unit_amount) / plan.unit_amount)
    : 0;
  let credits = 0;
  if (due > 0) {
    const periodStart = num(lines.find((l) => priceOf(l) === plan.price_id), "period.start");
    const subscription = invoiceSubscription(invoice);
    const key = subscription && periodStart
      ? `plan:${subscription}:${periodStart}`
      : `invoice:${str(invoice, "id")}`;
    const [{ granted }] = await tx`select public.service_role_grant_credits(${userId}, ${due}, 'grant',
      ${`${plan.id} plan credits`}, ${key}, null, ${str(invoice, "id")!}) as granted`;
    if (!granted.replayed) credits = due;
  }
  await upsertInvoice(tx, invoice, userId, "paid", credits);
  if (paid > 0) {
    await tx`select public.service_role_referral_first_payment(${userId})`;
  }
  return "applied";
}

async function invoicePaymentFailed(tx: Tx, invoice: unknown): Promise<Outcome> {
  const userId = await userFor(tx, invoice);
  if (!userId) return "unknown_user";
  await upsertInvoice(tx, invoice, userId, "payment_failed", 0);
  // No "payment failed" email for an invoice that is paid by now (the failure arrived late).
  await tx`insert into public.email_outbox (user_id, template, dedupe_key, payload)
    select ${userId}::uuid, 'payment_failed', ${`payment_failed:${str(invoice, "id")}`}::text, ${
    tx.json({
      invoice: str(invoice, "id") ?? null,
      amount_due: num(invoice, "amount_due") ?? null,
      currency: str(invoice, "currency") ?? null,
      hosted_invoice_url: str(invoice, "hosted_invoice_url") ?? null,
    })
  }
    where not exists (select from public.invoices i where i.id = ${str(invoice, "id")!} and i.status = 'paid')
    on conflict (dedupe_key) do nothing`;
  return "applied";
}

/** charge.refunded: public.service_role_apply_refund claws back the refunded share of the unspent credits (or
 * keeps a refund whose purchase is not recorded yet, for when it is). */
async function chargeRefunded(tx: Tx, charge: Stripe.Charge, fetched: FromStripe): Promise<Outcome> {
  if (fetched.invoiceId) {
    const [{ outcome }] = await tx`select public.service_role_refund_invoice(${fetched.invoiceId},
      ${Math.min(charge.amount_refunded, MAX_INT)}) as outcome`;
    return outcome;
  }
  const paymentIntent = str(charge, "payment_intent");
  if (!paymentIntent) return "ignored";
  const [{ outcome }] = await tx`select public.service_role_apply_refund(${paymentIntent}, ${charge.id},
    ${Math.min(charge.amount_refunded, MAX_INT)}) as outcome`;
  return outcome;
}

/** charge.dispute.funds_withdrawn: the disputed amount comes back out of the purchase's unspent credits, as a refund
 * of it would (public.service_role_apply_dispute). */
async function disputeFundsWithdrawn(tx: Tx, dispute: Stripe.Dispute, fetched: FromStripe): Promise<Outcome> {
  if (fetched.invoiceId) {
    const [{ outcome }] = await tx`select public.service_role_refund_invoice(${fetched.invoiceId},
      ${Math.min(dispute.amount, MAX_INT)}, ${dispute.id}) as outcome`;
    return outcome;
  }
  const paymentIntent = str(dispute, "payment_intent");
  if (!paymentIntent) return "ignored";
  const [{ outcome }] = await tx`select public.service_role_apply_dispute(${paymentIntent}, ${dispute.id},
    ${Math.min(dispute.amount, MAX_INT)}) as outcome`;
  return outcome;
}

export async function applyEvent(tx: Tx, event: Stripe.Event, fetched: FromStripe = {}): Promise<Outcome> {
  const object = event.data.object;
  switch (event.type) {
    case "checkout.session.completed":
    case "checkout.session.async_payment_succeeded":
      return await checkoutCompleted(tx, object as Stripe.Checkout.Session, event.created, fetched);
    case "customer.subscription.created":
    case "customer.subscription.updated":
    case "customer.subscription.deleted":
      return await upsertSubscription(tx, object, event.created);
    case "invoice.paid":
      return await invoicePaid(tx, object);
    case "invoice.payment_failed":
      return await invoicePaymentFailed(tx, object);
    case "charge.refunded":
      return await chargeRefunded(tx, object as Stripe.Charge, fetched);
    // Not charge.dispute.created: an inquiry is created as a dispute too and takes no money.
    case "charge.dispute.funds_withdrawn":
      return await disputeFundsWithdrawn(tx, object as Stripe.Dispute, fetched);
    case "customer.deleted": {
      // Deleted in the dashboard: the user's next checkout makes a new customer instead of failing on this one.
      await tx`select public.service_role_forget_customer(${str(object, "id") ?? ""})`;
      return "applied";
    }
    default:
      return "ignored"; // stored and acknowledged
  }
}
