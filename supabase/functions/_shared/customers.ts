// One Stripe customer per user, created on first checkout and kept in public.customers (never
// client-writable). Stripe's idempotency key makes two concurrent first checkouts create one customer.
import { db } from "./db.ts";
import type { Stripe } from "./stripe-client.ts";

export async function customerIdOf(userId: string): Promise<string | undefined> {
  const [row] = await db()`select stripe_customer_id from public.customers where user_id = ${userId}`;
  return row?.stripe_customer_id;
}

export async function ensureCustomer(stripe: Stripe, userId: string, email: string): Promise<string> {
  const existing = await customerIdOf(userId);
  if (existing) return existing;
  const customer = await stripe.customers.create(
    { email, metadata: { user_id: userId } },
    { idempotencyKey: `saasbase-customer-${userId}` },
  );
  await db()`insert into public.customers (user_id, stripe_customer_id) values (${userId}, ${customer.id})
    on conflict (user_id) do nothing`;
  return (await customerIdOf(userId))!;
}
