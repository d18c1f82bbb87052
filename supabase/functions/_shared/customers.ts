// One Stripe customer per user, created on first checkout and kept in public.customers (never
// client-writable). Stripe's idempotency key makes two concurrent first checkouts create one customer.
import { db } from "./db.ts";
import { NotFoundError, ValidationError } from "./errors.ts";
import type { Stripe } from "./stripe-client.ts";

export async function customerIdOf(userId: string): Promise<string | undefined> {
  const [row] = await db()`select stripe_customer_id from public.customers where user_id = ${userId}`;
  return row?.stripe_customer_id;
}

/** The user's Stripe customer, created on first use with the token's email (else the account's). A token
 * of a deleted user (still valid until it expires) is a 404 before anything is created at Stripe. */
export async function ensureCustomer(stripe: Stripe, userId: string, claimedEmail?: string): Promise<string> {
  const [user] = await db()`select u.email, c.stripe_customer_id,
      (select count(*)::int from saasbase.deleted_customers d where d.user_id = u.id) as deleted
    from auth.users u left join public.customers c on c.user_id = u.id where u.id = ${userId}`;
  if (!user) throw new NotFoundError("This account no longer exists", "user_not_found");
  if (user.stripe_customer_id) return user.stripe_customer_id;
  const email = claimedEmail || user.email;
  if (!email) {
    throw new ValidationError("This account has no email address; Stripe needs one for receipts", [
      { path: "email", message: "required", code: "email_required" },
    ]);
  }
  const customer = await stripe.customers.create(
    { email, metadata: { user_id: userId } },
    // One key per customer the user has had: after one was deleted at Stripe, Stripe must not answer the new
    // request with the deleted one (it replays a key for a day).
    { idempotencyKey: `saasbase-customer-${userId}${user.deleted ? `-${user.deleted}` : ""}` },
  );
  await db()`insert into public.customers (user_id, stripe_customer_id) values (${userId}, ${customer.id})
    on conflict (user_id) do nothing`;
  return (await customerIdOf(userId))!;
}
