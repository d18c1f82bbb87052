// One Stripe customer per account (a user's personal account, or a team), created on the account's first
// checkout and kept in public.customers (never client-writable). Who may use it is SQL's to say:
// public.service_role_billing_customer checks that the signed-in user belongs to the account they name and that
// their role holds the right the work needs ('buy' for credits, 'manage_billing' for a subscription or the
// portal), and answers 404 account_not_found / 403 account_forbidden before anything happens at Stripe.
// Stripe's idempotency key makes two concurrent first checkouts of an account create one customer.
import { db } from "./db.ts";
import { dbCall } from "./db-errors.ts";
import { ConflictError, ValidationError } from "./errors.ts";
import type { BillingCustomer } from "./sql-results.ts";
import type { Stripe } from "./stripe-client.ts";

export type BillingRight = "buy" | "manage_billing";

/** The account `userId` acts for (`accountId`, or their personal account when null), checked for `right`, with
 * its Stripe customer if it has one; `link` first links a customer just created for it (the first linked wins). */
export async function billingCustomer(
  accountId: string | null,
  userId: string,
  right: BillingRight,
  link: string | null = null,
): Promise<BillingCustomer> {
  const [row] = await dbCall(
    db()`select to_jsonb(public.service_role_billing_customer(${accountId}, ${userId}, ${right}, ${link})) as account`,
  );
  return row.account as BillingCustomer;
}

/** The account's Stripe customer, created on first use: a team's named after the team, with the email of the
 * member setting it up (the token's, else their user's), a personal one with its user's. */
export async function ensureCustomer(
  stripe: Stripe,
  account: BillingCustomer,
  userId: string,
  right: BillingRight,
  claimedEmail?: string,
): Promise<string> {
  if (account.stripe_customer_id) return account.stripe_customer_id;
  const email = claimedEmail || account.email;
  if (!email) {
    throw new ValidationError("This account has no email address; Stripe needs one for receipts", [
      { path: "email", message: "required", code: "email_required" },
    ]);
  }
  let customer: Stripe.Customer;
  try {
    customer = await stripe.customers.create(
      {
        email,
        ...(account.kind === "team" ? { name: account.name } : {}),
        metadata: { account_id: account.account_id },
      },
      // One key per customer the account has had: after one was deleted at Stripe, Stripe must not answer the new
      // request with the deleted one (it replays a key for a day). A personal account's key is its user's, as before.
      {
        idempotencyKey: `saasbase-customer-${account.account_id}${
          account.customers_deleted ? `-${account.customers_deleted}` : ""
        }`,
      },
    );
  } catch (err) {
    if ((err as { type?: string }).type !== "StripeIdempotencyError") throw err;
    // Two members of a team setting up its first checkout at once: the same key with another email. The first
    // one's customer is the account's; it is linked as soon as its request ends.
    return await linkedByOther(account, userId, right);
  }
  const linked = await billingCustomer(account.account_id, userId, right, customer.id);
  return linked.stripe_customer_id!;
}

async function linkedByOther(account: BillingCustomer, userId: string, right: BillingRight): Promise<string> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const now = await billingCustomer(account.account_id, userId, right);
    if (now.stripe_customer_id) return now.stripe_customer_id;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new ConflictError("Another member is setting up this account's billing: try again", "idempotency_conflict");
}
