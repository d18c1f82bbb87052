-- Account billing: a Stripe customer, subscriptions, purchases and invoices belong to an account (a user's
-- personal account or a team: see the teams migration), and so does the plan. A team has its own Stripe customer
-- (named after the team, with the email of the member who set it up), its own subscription and its own
-- purchases; a user acts for it by naming it (X-Account-Id on the checkout and portal functions), and their role
-- must hold 'buy' (credits) or 'manage_billing' (subscriptions, the portal).
--
-- Data unchanged: a personal account's id is its user's, so every billing row keyed by a user until now is keyed
-- by that user's personal account, and so is every Stripe object our checkout labelled with `user_id` metadata
-- (still read when no `account_id` is there).
--
-- This file re-defines what the move changes, each with the reason: the billing migration's functions that read
-- the renamed columns, the plan's (profiles.plan_id moves to accounts.plan_id, then goes), admin_set_plan and
-- admin_kpis. Signatures that change (a parameter renamed user_id -> account_id) are dropped and created again.

-- ---------------------------------------------------------------------------------------------------------
-- The tables: user_id -> account_id, the foreign keys to accounts (a team's deletion takes its billing rows, as a
-- user's deletion takes their personal account's), indexes named after their column.
alter table public.customers rename column user_id to account_id;
alter table public.customers drop constraint customers_user_id_fkey,
  add constraint customers_account_id_fkey foreign key (account_id) references public.accounts (id) on delete cascade;
comment on table public.customers is
  'One Stripe customer per account (personal or team); linked by the checkout and the webhook, never by clients.';

alter table public.subscriptions rename column user_id to account_id;
alter table public.subscriptions drop constraint subscriptions_user_id_fkey,
  add constraint subscriptions_account_id_fkey foreign key (account_id) references public.accounts (id) on delete cascade;
alter index public.subscriptions_user_id rename to subscriptions_account_id;

alter table public.purchases rename column user_id to account_id;
alter table public.purchases drop constraint purchases_user_id_fkey,
  add constraint purchases_account_id_fkey foreign key (account_id) references public.accounts (id) on delete cascade;
alter index public.purchases_user_id rename to purchases_account_id;

alter table public.invoices rename column user_id to account_id;
alter table public.invoices drop constraint invoices_user_id_fkey,
  add constraint invoices_account_id_fkey foreign key (account_id) references public.accounts (id) on delete cascade;
alter index public.invoices_user_id rename to invoices_account_id;

-- The account whose customer was deleted at Stripe (its next customer needs a new Stripe idempotency key).
alter table saasbase.deleted_customers rename column user_id to account_id;

-- Seats: a per-seat plan bills the subscription's quantity (the team's member count). What the mirror keeps of it,
-- from the subscription object every event and reconciliation reads: the plan item's quantity, and that item's id
-- (what a seat change updates at Stripe). Null until an event or a reconciliation run reads them (subscriptions
-- mirrored before this migration).
alter table public.subscriptions
  add column quantity integer check (quantity >= 0),
  add column item_id text;
comment on column public.subscriptions.quantity is 'Stripe quantity of the plan item (seats, for a per-seat plan).';
comment on column public.subscriptions.item_id is 'Stripe subscription item (si_...) of the plan''s price.';

-- Who reads an account's billing rows: its members whose role may buy or manage billing (a personal account's
-- owner holds both), and admins. A team's `member` (spend only) does not see what the team pays.
drop policy "Customers are readable by their owner and admins" on public.customers;
drop policy "Subscriptions are readable by their owner and admins" on public.subscriptions;
drop policy "Purchases are readable by their owner and admins" on public.purchases;
drop policy "Invoices are readable by their owner and admins" on public.invoices;
create policy "Customers are readable by the account's buyers and billing managers, and admins" on public.customers
  for select to authenticated using (
    account_id in (select saasbase.accounts_with_right('manage_billing'))
    or account_id in (select saasbase.accounts_with_right('buy'))
    or (select saasbase.is_admin()));
create policy "Subscriptions are readable by the account's buyers and billing managers, and admins" on public.subscriptions
  for select to authenticated using (
    account_id in (select saasbase.accounts_with_right('manage_billing'))
    or account_id in (select saasbase.accounts_with_right('buy'))
    or (select saasbase.is_admin()));
create policy "Purchases are readable by the account's buyers and billing managers, and admins" on public.purchases
  for select to authenticated using (
    account_id in (select saasbase.accounts_with_right('manage_billing'))
    or account_id in (select saasbase.accounts_with_right('buy'))
    or (select saasbase.is_admin()));
create policy "Invoices are readable by the account's buyers and billing managers, and admins" on public.invoices
  for select to authenticated using (
    account_id in (select saasbase.accounts_with_right('manage_billing'))
    or account_id in (select saasbase.accounts_with_right('buy'))
    or (select saasbase.is_admin()));

-- ---------------------------------------------------------------------------------------------------------
-- The plan lives on the account (accounts.plan_id, copied from profiles.plan_id by the teams migration): the
-- subscriptions of an account decide its plan, an admin sets it, entitlements read it.

-- The plan an account is entitled to: that of its newest live subscription, else the default (null). Called
-- whenever a subscription row changes, so entitlements follow billing at once. (Was per user, on profiles.)
drop function saasbase.refresh_plan(uuid);
create function saasbase.refresh_plan(p_account uuid) returns void
language plpgsql
set search_path = ''
as $$
begin
  update public.accounts a
  set plan_id = (
    select s.plan_id from public.subscriptions s
    where s.account_id = p_account and s.status in ('active', 'trialing', 'past_due') and s.plan_id is not null
    order by s.current_period_end desc nulls last, s.created_at desc
    limit 1
  )
  where a.id = p_account;
end;
$$;

-- An account's plan (set by billing or an admin), else the default plan: what quotas and discounts read. (Read
-- profiles.plan_id, which goes below.) A user's personal account has the user's id, so callers passing a user
-- id get their personal plan.
drop function saasbase.plan_of(uuid);
create function saasbase.plan_of(p_account uuid) returns text
language plpgsql stable
set search_path = ''
as $$
begin
  return coalesce((select a.plan_id from public.accounts a where a.id = p_account),
                  (select d.id from public.plans d where d.is_default));
end;
$$;

-- What admin_set_plan answers names the account now.
alter type public.plan_assignment rename attribute user_id to account_id;

-- Sets an account's plan (null: the default plan), a user's personal one or a team's. Billing events set it again
-- when a subscription changes. (Took a user, and wrote profiles.plan_id.)
drop function public.admin_set_plan(uuid, text);
create function public.admin_set_plan(account_id uuid, plan_id text) returns public.plan_assignment
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_admin uuid := saasbase.require_admin();
  v_old text;
begin
  if plan_id is not null and not exists (select from public.plans p where p.id = admin_set_plan.plan_id and p.active) then
    perform saasbase.fail('PT404', 'unknown_plan', format('Unknown plan %L', plan_id));
  end if;
  select a.plan_id into v_old from public.accounts a where a.id = admin_set_plan.account_id for update;
  if not found then
    perform saasbase.fail('PT404', 'account_not_found', 'No such account');
  end if;
  update public.accounts a set plan_id = admin_set_plan.plan_id where a.id = admin_set_plan.account_id;
  perform saasbase.audit(v_admin, 'account.set_plan', 'account', admin_set_plan.account_id::text,
    jsonb_build_object('old', v_old, 'new', plan_id));
  return (admin_set_plan.account_id, admin_set_plan.plan_id)::public.plan_assignment;
end;
$$;
revoke execute on function public.admin_set_plan(uuid, text) from public, anon;
grant execute on function public.admin_set_plan(uuid, text) to authenticated;

-- Nothing reads the profile's copy any more: the account holds the plan. (The credits migration copies a plan
-- written on a profile to its personal account until this one: that trigger goes with the column.)
drop trigger if exists profiles_copy_plan on public.profiles;
drop function if exists saasbase.copy_profile_plan();
alter table public.profiles drop column plan_id;
comment on table public.profiles is 'One per user: editable display fields, plus the role (not client-writable).';

-- ---------------------------------------------------------------------------------------------------------
-- Stripe objects to accounts

-- The account a Stripe object belongs to: the account id our checkout put in its metadata (`account_id`; an
-- older checkout's `user_id`, which is its user's personal account; or client_reference_id), else the owner of
-- its Stripe customer; that customer is linked to the account on the way (an account keeps the first customer
-- linked). Null when neither names an account. (Was service_role_stripe_user, resolving users.)
drop function public.service_role_stripe_user(text, text);
create function public.service_role_stripe_account(account_hint text, customer_id text) returns uuid
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_account uuid;
begin
  -- Compared as a uuid, so the lookup uses the primary key; anything else in the metadata matches no one.
  if account_hint ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' then
    select a.id into v_account from public.accounts a where a.id = account_hint::uuid;
  end if;
  if v_account is null then
    select c.account_id into v_account from public.customers c where c.stripe_customer_id = customer_id;
  elsif customer_id is not null
      and not exists (select from saasbase.deleted_customers d where d.stripe_customer_id = customer_id) then
    insert into public.customers (account_id, stripe_customer_id) values (v_account, customer_id) on conflict do nothing;
  end if;
  return v_account;
end;
$$;
revoke execute on function public.service_role_stripe_account(text, text) from public, anon, authenticated;
grant execute on function public.service_role_stripe_account(text, text) to service_role;

-- customer.deleted: the account's link to that customer is dropped for good (its next checkout makes a new one).
-- Answers whether a link was dropped. (Re-defined for the renamed columns.)
create or replace function public.service_role_forget_customer(customer_id text) returns boolean
language plpgsql
security definer
set search_path = ''
as $$
begin
  insert into saasbase.deleted_customers (stripe_customer_id, account_id)
  values (customer_id, (select c.account_id from public.customers c where c.stripe_customer_id = customer_id))
  on conflict (stripe_customer_id) do nothing;
  delete from public.customers c where c.stripe_customer_id = customer_id;
  return found;
end;
$$;

-- What the checkout and portal functions act on: the account a signed-in member names (or their personal
-- account), after saasbase.acting_account checked that they belong to it and that their role holds `needed_right`
-- ('buy' for credits, 'manage_billing' for a subscription or the portal): PT404 account_not_found, PT403
-- account_forbidden. A personal account whose user is gone (a deleted user's token, valid until it expires) is
-- PT404 user_not_found. With `stripe_customer_id` (a customer the function just created at Stripe), that customer
-- is linked to the account first, unless it has one (the first linked wins: two first checkouts at once make one
-- customer through Stripe's idempotency key, and link it once).
create type public.billing_customer as (
  account_id uuid,
  -- personal | team
  kind text,
  -- The account's name: a team's Stripe customer is named after the team.
  name text,
  -- The acting member's email: a new customer's, for receipts.
  email text,
  -- Null before the account's first checkout.
  stripe_customer_id text,
  -- How many of the account's customers were deleted at Stripe: a new one needs a new idempotency key.
  customers_deleted integer,
  -- A live subscription (active, trialing, past_due): a second one is refused.
  subscribed boolean
);

create function public.service_role_billing_customer(
  account_id uuid, user_id uuid, needed_right text, stripe_customer_id text default null
) returns public.billing_customer
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_account public.accounts;
  v_id uuid;
begin
  if needed_right is null or needed_right not in ('buy', 'manage_billing') then
    perform saasbase.fail('PT422', 'invalid_kind', format('Billing is acted on with buy or manage_billing, not %L',
      needed_right));
  end if;
  v_id := saasbase.acting_account(service_role_billing_customer.account_id, service_role_billing_customer.user_id,
    needed_right);
  select * into v_account from public.accounts a where a.id = v_id;
  if not found then
    perform saasbase.fail('PT404', 'user_not_found', 'This account no longer exists');
  end if;
  if service_role_billing_customer.stripe_customer_id is not null then
    insert into public.customers (account_id, stripe_customer_id)
    values (v_id, service_role_billing_customer.stripe_customer_id)
    on conflict do nothing;
  end if;
  return (v_id, v_account.kind, v_account.name,
    (select u.email from auth.users u where u.id = service_role_billing_customer.user_id),
    (select c.stripe_customer_id from public.customers c where c.account_id = v_id),
    (select count(*)::integer from saasbase.deleted_customers d where d.account_id = v_id),
    exists (select from public.subscriptions s
      where s.account_id = v_id and s.status in ('active', 'trialing', 'past_due')))::public.billing_customer;
end;
$$;
revoke execute on function public.service_role_billing_customer(uuid, uuid, text, text) from public, anon, authenticated;
grant execute on function public.service_role_billing_customer(uuid, uuid, text, text) to service_role;

-- The price of a credit pack for an account, after the discount of the account's plan: the caller's personal
-- account, or `account` (a team the caller belongs to: PT404 account_not_found otherwise); anon: the list price.
-- Re-defined: a team buys at its own plan's discount, not the buyer's.
drop function public.credit_pack_price(text);
create function public.credit_pack_price(pack_id text, account uuid default null) returns public.pack_price
language plpgsql
stable
security definer
set search_path = ''
as $$
declare
  v_pack public.credit_packs;
  v_discount integer := 0;
begin
  select * into v_pack from public.credit_packs c where c.id = pack_id and c.active;
  if not found then
    perform saasbase.fail('PT404', 'unknown_pack', format('Unknown credit pack %L', pack_id));
  end if;
  if auth.uid() is not null then
    select coalesce(pl.discount_percent, 0) into v_discount
    from public.plans pl where pl.id = saasbase.plan_of(saasbase.acting_account(account, auth.uid(), null));
  end if;
  return (v_pack.id, v_pack.credits, v_pack.price_cents, coalesce(v_discount, 0),
    -- Integer cents, rounded half up: no floats near money.
    (v_pack.price_cents::bigint * (100 - coalesce(v_discount, 0)) + 50) / 100)::public.pack_price;
end;
$$;
revoke execute on function public.credit_pack_price(text, uuid) from public;
grant execute on function public.credit_pack_price(text, uuid) to anon, authenticated, service_role;

-- ---------------------------------------------------------------------------------------------------------
-- What Stripe's events apply, per account

-- Upserts a subscription from Stripe's current object for its account (PT409 customer_not_linked without one:
-- the event waits for the link), unless a newer event was applied already; then refreshes the account's plan.
-- Returns whether it applied. Safe for duplicates and out-of-order events. Re-defined: per account, and it keeps
-- the plan item's quantity and id (seats).
drop function public.service_role_upsert_subscription(text, uuid, text, text, timestamptz, timestamptz, boolean,
  timestamptz, timestamptz);
create function public.service_role_upsert_subscription(
  id text, account_id uuid, status text, price_id text, period_start timestamptz, period_end timestamptz,
  cancel_at_period_end boolean, canceled_at timestamptz, event_at timestamptz, quantity integer default null,
  item_id text default null
) returns boolean
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_account uuid := service_role_upsert_subscription.account_id;
  v_plan text;
  v_applied boolean;
begin
  if v_account is null then
    perform saasbase.fail('PT409', 'customer_not_linked',
      format('Subscription %s belongs to no account we know yet', service_role_upsert_subscription.id));
  end if;
  select pr.plan_id into v_plan
  from public.prices x join public.products pr on pr.id = x.product_id
  where x.id = service_role_upsert_subscription.price_id;

  insert into public.subscriptions as s (id, account_id, status, plan_id, price_id, current_period_start,
    current_period_end, cancel_at_period_end, canceled_at, stripe_event_at, quantity, item_id)
  values (service_role_upsert_subscription.id, v_account, service_role_upsert_subscription.status, v_plan,
    service_role_upsert_subscription.price_id, period_start, period_end,
    coalesce(service_role_upsert_subscription.cancel_at_period_end, false),
    service_role_upsert_subscription.canceled_at, event_at,
    -- (greatest() would make an unknown quantity 0: null stays null.)
    case when service_role_upsert_subscription.quantity < 0 then 0 else service_role_upsert_subscription.quantity end,
    service_role_upsert_subscription.item_id)
  on conflict on constraint subscriptions_pkey do update
    set status = excluded.status, plan_id = excluded.plan_id, price_id = excluded.price_id,
      current_period_start = excluded.current_period_start, current_period_end = excluded.current_period_end,
      cancel_at_period_end = excluded.cancel_at_period_end, canceled_at = excluded.canceled_at,
      stripe_event_at = excluded.stripe_event_at, quantity = excluded.quantity, item_id = excluded.item_id
    -- Newer events win. Stripe's `created` counts seconds, and a subscription's first events (created as
    -- incomplete, then active) often share one: within a second the later stage of the lifecycle wins, so the
    -- order of delivery does not matter.
    where s.stripe_event_at < excluded.stripe_event_at
      or (s.stripe_event_at = excluded.stripe_event_at
        and saasbase.subscription_stage(excluded.status) >= saasbase.subscription_stage(s.status))
  returning true into v_applied;

  perform saasbase.refresh_plan(v_account);
  return coalesce(v_applied, false);
end;
$$;
revoke execute on function public.service_role_upsert_subscription(text, uuid, text, text, timestamptz, timestamptz,
  boolean, timestamptz, timestamptz, integer, text) from public, anon, authenticated;
grant execute on function public.service_role_upsert_subscription(text, uuid, text, text, timestamptz, timestamptz,
  boolean, timestamptz, timestamptz, integer, text) to service_role;

-- A purchase's share taken back (see take_back_share), and its status after what was returned on it.
-- Re-defined: the credits come out of the purchase's account.
create or replace function saasbase.take_back_purchase(p_purchase uuid, p_reference text) returns void
language plpgsql
set search_path = ''
as $$
declare
  v_purchase public.purchases;
  v_share record;
begin
  select * into v_purchase from public.purchases where id = p_purchase;
  select * into v_share from saasbase.take_back_share(v_purchase.account_id, v_purchase.credits, v_purchase.amount_cents,
    v_purchase.refunded_cents, v_purchase.credits_clawed_back, v_purchase.payment_intent_id,
    'refund of ' || v_purchase.checkout_session_id, 'returned:' || v_purchase.id, p_reference);
  update public.purchases set
    status = case when v_share.returned >= v_purchase.amount_cents then 'refunded'
      when v_share.returned > 0 then 'partially_refunded' else status end,
    credits_clawed_back = credits_clawed_back + v_share.clawed
  where id = v_purchase.id;
end;
$$;

-- A refund or chargeback of a subscription invoice's payment (see the billing migration). Re-defined: the plan
-- credits come back out of the invoice's account.
create or replace function saasbase.return_on_invoice(p_invoice text, p_total integer, p_dispute text) returns text
language plpgsql
set search_path = ''
as $$
declare
  v_invoice public.invoices;
  v_share record;
begin
  select * into v_invoice from public.invoices where id = p_invoice for update;
  if not found or v_invoice.status <> 'paid' then
    -- Its invoice.paid not applied yet (it failed once, or comes later): refused, so Stripe delivers this
    -- again after it, when the credits it granted are there to take back.
    perform saasbase.fail('PT409', 'invoice_not_recorded', format('Invoice %s is not recorded as paid yet', p_invoice));
  end if;
  if p_dispute is not null then
    if not saasbase.record_dispute(p_dispute, p_invoice, p_total) then
      return 'duplicate';
    end if;
  elsif least(p_total, v_invoice.amount_paid) <= v_invoice.refunded_cents then
    return 'applied'; -- a repeated or late (smaller) refund
  else
    v_invoice.refunded_cents := least(p_total, v_invoice.amount_paid);
  end if;
  select * into v_share from saasbase.take_back_share(v_invoice.account_id, v_invoice.credits_granted,
    v_invoice.amount_paid, v_invoice.refunded_cents, v_invoice.credits_clawed_back, v_invoice.id,
    'refund of invoice ' || v_invoice.id, 'invoice-returned:' || v_invoice.id, coalesce(p_dispute, v_invoice.id));
  update public.invoices set refunded_cents = v_invoice.refunded_cents,
    credits_clawed_back = credits_clawed_back + v_share.clawed
  where id = v_invoice.id;
  return 'applied';
end;
$$;

-- A payment's referral moment. Referral rewards are per user (a referred user's first payment pays their
-- referrer), so only a personal account's payment is one: a team's payment is no member's own, and earns no
-- referral reward for any of them.
create function saasbase.account_first_payment(p_account uuid) returns void
language plpgsql
set search_path = ''
as $$
begin
  if exists (select from public.accounts a where a.id = p_account and a.kind = 'personal') then
    -- Referral rewards live in the referrals migration; PL/pgSQL resolves the call when it runs.
    perform saasbase.referral_moment(p_account, 'first_payment');
  end if;
end;
$$;

-- A paid credit-pack checkout in one statement: the purchase row, its credits through the ledger into the
-- account's wallet (once per checkout session) and the referral reward a personal account's first payment
-- earns; returns the purchase. Without an account (Stripe named none we know) nothing is recorded: PT409
-- customer_not_linked, so the event waits for the customer's link. Re-defined: per account.
drop function public.service_role_record_credit_purchase(uuid, text, text, text, integer, integer, text, integer);
create function public.service_role_record_credit_purchase(
  account_id uuid, checkout_session_id text, payment_intent_id text, pack_id text, credits integer,
  amount_cents integer, currency text, discount_percent integer
) returns public.purchases
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_account uuid := service_role_record_credit_purchase.account_id;
  v_session text := service_role_record_credit_purchase.checkout_session_id;
  v_pi text := service_role_record_credit_purchase.payment_intent_id;
  v_purchase public.purchases;
  v_early saasbase.early_refunds;
begin
  if v_account is null then
    perform saasbase.fail('PT409', 'customer_not_linked',
      format('Checkout %s belongs to no account we know yet', v_session));
  end if;
  if v_pi is not null then -- see service_role_return_payment
    perform pg_advisory_xact_lock(hashtextextended('payment:' || v_pi, 0));
  end if;
  insert into public.purchases (account_id, checkout_session_id, payment_intent_id, pack_id, credits, amount_cents,
    currency, discount_percent)
  values (v_account, v_session, v_pi, service_role_record_credit_purchase.pack_id,
    service_role_record_credit_purchase.credits, service_role_record_credit_purchase.amount_cents,
    service_role_record_credit_purchase.currency, service_role_record_credit_purchase.discount_percent)
  on conflict on constraint purchases_checkout_session_id_key do nothing;
  perform saasbase.credit(v_account, service_role_record_credit_purchase.credits, 'purchase', 'credit purchase',
    'checkout:' || v_session, saasbase.now(), null, coalesce(v_pi, v_session));
  perform saasbase.account_first_payment(v_account);
  -- What was returned on the payment before the purchase was recorded is taken back now.
  select * into v_early from saasbase.early_refunds e where e.payment_intent_id = v_pi for update;
  if found then
    perform saasbase.refund_purchase(v_pi, v_early.charge_id, v_early.amount_refunded);
    delete from saasbase.early_refunds e where e.payment_intent_id = v_pi;
  elsif exists (select from saasbase.disputes d where d.payment_intent_id = v_pi) then
    perform saasbase.take_back_purchase((select p.id from public.purchases p where p.payment_intent_id = v_pi), v_pi);
  end if;
  select * into v_purchase from public.purchases p where p.checkout_session_id = v_session;
  return v_purchase;
end;
$$;
revoke execute on function public.service_role_record_credit_purchase(uuid, text, text, text, integer, integer, text,
  integer) from public, anon, authenticated;
grant execute on function public.service_role_record_credit_purchase(uuid, text, text, text, integer, integer, text,
  integer) to service_role;

-- An invoice event in one statement (invoice.paid, invoice.payment_failed): the invoice row, for its account
-- (PT409 customer_not_linked without one), the plan's credits for the period a paid invoice opens (see the
-- billing migration for the rules, unchanged), the referral reward of a personal account's first payment, and a
-- failed payment's email: to the user of a personal account, to each member of a team who manages its billing.
-- Re-defined: per account.
drop function public.service_role_record_invoice(text, uuid, text, text, text, integer, integer, text, text, jsonb);
create function public.service_role_record_invoice(
  invoice_id text, account_id uuid, status text, subscription_id text, billing_reason text, amount_paid integer,
  amount_due integer, currency text, hosted_invoice_url text, period_lines jsonb default '[]'
) returns public.invoices
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_id text := service_role_record_invoice.invoice_id;
  v_account uuid := service_role_record_invoice.account_id;
  v_status text := service_role_record_invoice.status;
  v_subscription text := service_role_record_invoice.subscription_id;
  v_paid integer := greatest(coalesce(service_role_record_invoice.amount_paid, 0), 0);
  v_plan record;
  v_due integer := 0;
  v_granted integer := 0;
  v_invoice public.invoices;
begin
  if v_account is null then
    perform saasbase.fail('PT409', 'customer_not_linked', format('Invoice %s belongs to no account we know yet', v_id));
  end if;
  if v_status is null or v_status not in ('paid', 'payment_failed') then
    perform saasbase.fail('PT422', 'invalid_kind', format('An invoice is recorded paid or payment_failed, not %L', v_status));
  end if;
  if v_status = 'paid' and billing_reason in ('subscription_create', 'subscription_cycle', 'subscription_update') then
    select pl.id, pl.monthly_credits, x.unit_amount, (l.line ->> 'period_start')::bigint as period_start into v_plan
    from jsonb_array_elements(case when jsonb_typeof(period_lines) = 'array' then period_lines else '[]' end)
      with ordinality as l(line, n)
    join public.prices x on x.id = l.line ->> 'price'
    join public.products p on p.id = x.product_id
    join public.plans pl on pl.id = p.plan_id
    order by l.n
    limit 1;
    if found then
      v_due := case
        when billing_reason <> 'subscription_update' then v_plan.monthly_credits
        when v_plan.unit_amount > 0 then (v_plan.monthly_credits::bigint * least(v_paid, v_plan.unit_amount)
          / v_plan.unit_amount)::integer
        else 0
      end;
    end if;
  end if;
  if v_due > 0 then
    if not (saasbase.credit(v_account, v_due, 'grant', v_plan.id || ' plan credits',
        case when v_subscription is not null and v_plan.period_start is not null
          then format('plan:%s:%s', v_subscription, v_plan.period_start) else 'invoice:' || v_id end,
        saasbase.now(), null, v_id)).replayed then
      v_granted := v_due;
    end if;
  end if;
  insert into public.invoices as i (id, account_id, subscription_id, status, amount_paid, amount_due, currency,
    credits_granted, hosted_invoice_url)
  values (v_id, v_account, v_subscription, v_status, v_paid, coalesce(service_role_record_invoice.amount_due, 0),
    coalesce(service_role_record_invoice.currency, 'usd'), v_granted, service_role_record_invoice.hosted_invoice_url)
  on conflict on constraint invoices_pkey do update set
    -- Paid is final: a payment_failed delivered late (after a retry of ours, say) does not undo it.
    status = case when i.status = 'paid' then 'paid' else excluded.status end,
    amount_paid = greatest(i.amount_paid, excluded.amount_paid),
    credits_granted = greatest(i.credits_granted, excluded.credits_granted)
  returning * into v_invoice;
  if v_status = 'paid' and v_paid > 0 then
    perform saasbase.account_first_payment(v_account);
  elsif v_status = 'payment_failed' and v_invoice.status <> 'paid' then
    -- One email per recipient however often it comes: a personal account's keeps the key it always had.
    insert into public.email_outbox (user_id, template, dedupe_key, payload)
    select m.user_id, 'payment_failed',
      case when a.kind = 'personal' then 'payment_failed:' || v_id else format('payment_failed:%s:%s', v_id, m.user_id) end,
      jsonb_build_object('invoice', v_id, 'amount_due', service_role_record_invoice.amount_due,
        'currency', service_role_record_invoice.currency,
        'hosted_invoice_url', service_role_record_invoice.hosted_invoice_url)
        || case when a.kind = 'team' then jsonb_build_object('account_id', a.id, 'account_name', a.name) else '{}' end
    from public.accounts a
    join public.account_members m on m.account_id = a.id
    join public.team_roles r on r.role = m.role
    where a.id = v_account and (a.kind = 'personal' or 'manage_billing' = any (r.rights))
    on conflict (dedupe_key) do nothing;
  end if;
  return v_invoice;
end;
$$;
revoke execute on function public.service_role_record_invoice(text, uuid, text, text, text, integer, integer, text,
  text, jsonb) from public, anon, authenticated;
grant execute on function public.service_role_record_invoice(text, uuid, text, text, text, integer, integer, text,
  text, jsonb) to service_role;

-- ---------------------------------------------------------------------------------------------------------
-- KPIs count accounts that pay: a team of three members paying one subscription is one paying account, not
-- three paying users (and a user is not a paying user because their team pays). The totals' and buckets' fields
-- say so; a signup converts when an account they created pays (their personal account, or a team they made).
alter type public.kpi_totals rename attribute paying_users to paying_accounts;
alter type public.kpi_totals rename attribute new_paying_users to new_paying_accounts;
alter type public.kpi_totals rename attribute revenue_per_paying_user_cents to revenue_per_paying_account_cents;
alter type public.kpi_bucket rename attribute new_paying_users to new_paying_accounts;

-- Definitions (see the analytics migration for the others, unchanged):
--   paying account     one with a paid purchase or invoice (personal or team); its first payment dates it
--   MRR                as before, each subscription's price times its quantity (a per-seat plan's seats)
--   conversion         signups of the range that created an account paying by `to_date`
--   paid (funnel)      the same signups
-- Re-defined: payments by account.
create or replace function public.admin_kpis(from_date date, to_date date, bucket text default 'day')
returns public.kpi_report
language plpgsql
stable
security definer
set search_path = ''
as $$
declare
  v_from timestamptz;
  v_to timestamptz;
  v_result public.kpi_report;
begin
  perform saasbase.require_admin();
  if from_date is null or to_date is null or not isfinite(from_date) or not isfinite(to_date)
    or from_date > to_date or bucket is null or bucket not in ('day', 'week', 'month') then
    perform saasbase.fail('PT422', 'invalid_range', 'from_date <= to_date and bucket day, week or month are required');
  end if;
  -- Every bucket runs its own counts: a bounded series, as an admin screen can show.
  if to_date - from_date > 3660 or (bucket = 'day' and to_date - from_date > 731) then
    perform saasbase.fail('PT422', 'invalid_range', 'At most two years of days, or ten years of weeks or months');
  end if;
  v_from := from_date::timestamp at time zone 'UTC';
  v_to := (to_date + 1)::timestamp at time zone 'UTC';

  -- One statement, assigned whole (SELECT INTO would spread a composite over the variable's fields).
  v_result := (with activity as (
    select e.user_id, e.occurred_at as at from public.events e
    where e.user_id is not null and e.occurred_at >= v_from - interval '30 days' and e.occurred_at < v_to
    union all
    -- A metered use is its member's activity: the ledger's actor (20261207000100_account_credits.sql), or the
    -- account of a row from before accounts, when it was the user's.
    select coalesce(l.actor_id, l.account_id), l.created_at from public.credit_ledger l
    where l.kind in ('charge', 'reserve') and l.created_at >= v_from - interval '30 days' and l.created_at < v_to
  ),
  payments as (
    select p.account_id, p.created_at as at, (p.amount_cents - p.refunded_cents)::bigint as cents from public.purchases p
    where p.amount_cents - p.refunded_cents > 0 -- a free (fully discounted) or fully refunded purchase pays nothing
    union all
    select i.account_id, i.created_at, i.amount_paid::bigint from public.invoices i where i.status = 'paid' and i.amount_paid > 0
  ),
  first_payment as (select account_id, min(at) as at from payments group by account_id),
  signups as (select u.id, u.created_at from auth.users u where u.created_at >= v_from and u.created_at < v_to),
  -- Signups of the range with an account of theirs paying by the end of it.
  converted as (
    select distinct s.id from signups s
    join public.accounts a on a.created_by = s.id
    join first_payment f on f.account_id = a.id
    where f.at < v_to
  ),
  consumed as (
    select l.feature_id, -sum(l.amount)::bigint as credits from public.credit_ledger l
    where l.kind in ('charge', 'reserve', 'settle', 'release') and l.created_at >= v_from and l.created_at < v_to
    group by l.feature_id
  ),
  -- A subscription bills its price times its quantity: a per-seat plan's seats (null, as before seats: one).
  subs as (
    select s.*, case x.billing_interval when 'year' then round(x.unit_amount * coalesce(s.quantity, 1) / 12.0)
      else x.unit_amount * coalesce(s.quantity, 1) end as monthly_cents
    from public.subscriptions s left join public.prices x on x.id = s.price_id
    where s.status not in ('incomplete', 'incomplete_expired', 'unpaid', 'paused')
  ),
  at_start as (select * from subs where created_at < v_from and (canceled_at is null or canceled_at >= v_from)),
  at_end as (select * from subs where created_at < v_to and (canceled_at is null or canceled_at >= v_to)),
  -- UTC calendar arithmetic (timestamp without time zone) whatever the session time zone, clipped to the range.
  buckets as (
    select greatest(b at time zone 'UTC', v_from) as start,
      least((b + ('1 ' || bucket)::interval) at time zone 'UTC', v_to) as stop
    from generate_series(date_trunc(bucket, v_from at time zone 'UTC'), (v_to at time zone 'UTC') - interval '1 microsecond',
      ('1 ' || bucket)::interval) b
  )
  -- Sums of bigints are numeric in Postgres: cast back, they are whole (cents and credits).
  select (
    (from_date, to_date, bucket)::public.kpi_range,
    (
      (select count(*) from signups),
      (select count(distinct user_id) from activity where at >= v_from),
      (select count(distinct user_id) from activity where at >= v_to - interval '1 day'),
      (select count(distinct user_id) from activity where at >= v_to - interval '7 days'),
      (select count(distinct user_id) from activity where at >= v_to - interval '30 days'),
      coalesce((select sum(credits) from consumed), 0)::bigint,
      coalesce((select sum(cents) from payments where at >= v_from and at < v_to), 0)::bigint,
      (select count(*) from first_payment where at < v_to),
      (select count(*) from first_payment where at >= v_from and at < v_to),
      (select case when count(*) = 0 then 0 else round((select count(*) from converted)::numeric / count(*), 4) end
        from signups),
      coalesce((select sum(monthly_cents) from at_end), 0)::bigint,
      (select count(*) from public.subscriptions s
        where s.status = 'canceled' and s.canceled_at >= v_from and s.canceled_at < v_to),
      (select case when count(*) = 0 then 0 else round(
          count(*) filter (where status = 'canceled' and canceled_at < v_to)::numeric / count(*), 4) end
        from at_start),
      (select case when count(*) = 0 then 0 else round(
          coalesce((select sum(cents) from payments where at >= v_from and at < v_to), 0)::numeric / count(*)) end
        from auth.users u where u.created_at < v_to)::bigint,
      (select case when count(*) = 0 then 0 else round(
          coalesce((select sum(cents) from payments where at >= v_from and at < v_to), 0)::numeric / count(*)) end
        from first_payment where at < v_to)::bigint
    )::public.kpi_totals,
    coalesce((select array_agg((feature_id, credits)::public.feature_credits order by feature_id nulls last)
      from consumed), '{}'),
    array[
      ('signed_up', (select count(*) from signups))::public.funnel_step,
      ('installation.attempted', (select count(distinct e.user_id) from public.events e
        join signups s on s.id = e.user_id where e.name = 'installation.attempted' and e.occurred_at < v_to))::public.funnel_step,
      ('installation.validated', (select count(distinct e.user_id) from public.events e
        join signups s on s.id = e.user_id where e.name = 'installation.validated' and e.occurred_at < v_to
          -- Client-written JSON: only an explicit false counts as not valid (never a cast that can fail).
          and (e.properties -> 'valid') is distinct from 'false'::jsonb))::public.funnel_step,
      ('first_metered_use', (select count(distinct coalesce(l.actor_id, l.account_id)) from public.credit_ledger l
        join signups s on s.id = coalesce(l.actor_id, l.account_id) where l.kind in ('charge', 'reserve') and l.created_at < v_to))::public.funnel_step,
      ('paid', (select count(*) from converted))::public.funnel_step
    ],
    (select array_agg((
        b.start,
        (select count(*) from signups s where s.created_at >= b.start and s.created_at < b.stop),
        (select count(distinct a.user_id) from activity a where a.at >= b.start and a.at < b.stop),
        coalesce((select -sum(l.amount) from public.credit_ledger l
          where l.kind in ('charge', 'reserve', 'settle', 'release') and l.created_at >= b.start and l.created_at < b.stop), 0)::bigint,
        coalesce((select sum(p.cents) from payments p where p.at >= b.start and p.at < b.stop), 0)::bigint,
        (select count(*) from first_payment f where f.at >= b.start and f.at < b.stop),
        (select count(*) from public.subscriptions s
          where s.status = 'canceled' and s.canceled_at >= b.start and s.canceled_at < b.stop)
      )::public.kpi_bucket order by b.start) from buckets b)
  )::public.kpi_report);
  return v_result;
end;
$$;

-- ---------------------------------------------------------------------------------------------------------
-- Seats: a per-seat plan (plans.per_seat) bills its subscription's quantity, which follows the membership.
--
-- The rule (saasbase.seat_quantity decides it; docs/billing.md says it to customers):
--   * a team buys seats at checkout (at least its member count, at most the plan's max_seats);
--   * members joining raise the quantity only when they outnumber it: wanted = max(seats bought, members);
--   * a member leaving or removed lowers it to the member count (never below 1): the seats bought become the
--     members left, so a team that bought 3 seats and has 3 members pays 2 after one leaves;
--   * a quantity set elsewhere (Stripe's dashboard) is set back to the rule's by the next sync.
-- The seat sync (_shared/billing/seats.ts) asks this at any time and applies the answer at Stripe (with
-- proration): the answer depends on the state only, so syncs repeated, crossed or retried after a failure
-- converge on it. The webhook's customer.subscription.updated stays what sets subscriptions.quantity.

alter table public.accounts
  -- What the rule keeps of the purchase: the seats chosen at checkout (the quantity the subscription went live
  -- with), lowered to the member count whenever a member goes. Null: never bought (the member count decides).
  add column seats_bought integer check (seats_bought >= 0),
  -- What the seat sync last applied (billed_seats, from the teams migration, is the quantity): for which
  -- subscription, at which seat_version (null: Stripe's quantity moved since, so the sync must look again), and
  -- when.
  add column billed_subscription text,
  add column billed_seat_version bigint,
  add column seats_billed_at timestamptz;
comment on column public.accounts.seats_bought is
  'Seats bought for a per-seat plan at checkout, lowered to the member count when a member goes.';

-- A member going lowers the seats bought to the members left (the rule above). After the teams migration's
-- seat marker (which bumps seat_version), by name order; both update the account row the change holds locked.
create function saasbase.lower_seats_bought() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  update public.accounts a
  set seats_bought = (select count(*) from public.account_members m where m.account_id = old.account_id)
  where a.id = old.account_id and a.seats_bought is not null;
  return null;
end;
$$;
create trigger account_members_seats_bought after delete on public.account_members
  for each row execute function saasbase.lower_seats_bought();

-- A subscription as the webhook (or a reconciliation) mirrors it. When it becomes live (its first event, or
-- incomplete -> active; or its quantity is first read, for one mirrored before quantities were), its quantity
-- is the seats bought at checkout. Later quantities are not purchases: the
-- rule's own changes come back this way, in any order and late, and one set by hand at Stripe is set back to
-- the rule's by the next sync. A quantity that is not the one the sync recorded marks the account for a look
-- (billed_seat_version null: due), which is how a change made at Stripe gets repaired.
create function saasbase.subscription_seats() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_live boolean := new.status in ('active', 'trialing', 'past_due');
begin
  if v_live and new.quantity is not null
      and (tg_op = 'INSERT' or old.status not in ('active', 'trialing', 'past_due') or old.quantity is null) then
    update public.accounts a set seats_bought = new.quantity, billed_seat_version = null
    where a.id = new.account_id and a.billed_subscription is distinct from new.id;
  elsif tg_op = 'UPDATE' and new.quantity is distinct from old.quantity then
    update public.accounts a set billed_seat_version = null
    where a.id = new.account_id and a.billed_subscription = new.id and a.billed_seats is distinct from new.quantity;
  end if;
  return null;
end;
$$;
create trigger subscriptions_seats after insert or update of quantity, status on public.subscriptions
  for each row execute function saasbase.subscription_seats();

-- What a seat sync of an account must do, computed from the state alone.
create type public.seat_quantity as (
  account_id uuid,
  -- The account's live (active, trialing, past_due) subscription to a per-seat plan, and its plan item; null:
  -- none (nothing to bill per seat; no item id yet: the mirror has not read it, a reconciliation does).
  subscription_id text,
  item_id text,
  -- The item's quantity at Stripe as best known: the one the sync last applied, unless the mirror (the webhook)
  -- has shown another since; else the mirror's (null: not known yet).
  quantity integer,
  -- The quantity the rule wants, and its inputs.
  wanted integer,
  members integer,
  seats_bought integer,
  -- The accounts.seat_version this was computed at: what the sync records, and part of Stripe's idempotency key.
  seat_version bigint,
  -- Whether Stripe must be asked: the wanted quantity is not Stripe's (and the item is known).
  needs_update boolean
);

create function saasbase.seat_quantity(p_account uuid) returns public.seat_quantity
language plpgsql stable
set search_path = ''
as $$
declare
  v_account public.accounts;
  v_sub public.subscriptions;
  v_members integer;
  v_wanted integer;
  v_quantity integer;
begin
  select * into v_account from public.accounts a where a.id = p_account;
  if not found then
    perform saasbase.fail('PT404', 'account_not_found', 'No such account');
  end if;
  select s.* into v_sub from public.subscriptions s join public.plans p on p.id = s.plan_id
  where s.account_id = p_account and s.status in ('active', 'trialing', 'past_due') and p.per_seat
  order by s.current_period_end desc nulls last, s.created_at desc
  limit 1;
  select count(*)::integer into v_members from public.account_members m where m.account_id = p_account;
  v_wanted := greatest(coalesce(v_account.seats_bought, 0), v_members, 1);
  -- Stripe's quantity as best known: what the sync last applied to this subscription (the webhook bringing it
  -- may be on its way), unless the mirror has shown another since (billed_seat_version null); else the mirror's.
  if v_account.billed_subscription is not distinct from v_sub.id and v_account.billed_seat_version is not null then
    v_quantity := v_account.billed_seats;
  else
    v_quantity := v_sub.quantity;
  end if;
  return (p_account, v_sub.id, v_sub.item_id, v_quantity,
    case when v_sub.id is null then null else v_wanted end, v_members, v_account.seats_bought, v_account.seat_version,
    v_sub.item_id is not null and v_quantity is distinct from v_wanted)::public.seat_quantity;
end;
$$;

-- The seat sync's question for one account (service role): what the rule wants of its per-seat subscription
-- now. With `user_id` (a signed-in member asking for their account; any role: the sync only applies the rule)
-- PT404 account_not_found for a non-member (but for one who just left it). Takes the account's seat lock until the transaction ends, before
-- reading: two syncs of one account run one after the other, the second seeing what the first recorded, so the
-- caller keeps the transaction open across its Stripe call and its record (service_role_record_seats).
-- Membership changes do not wait for it (they lock the account row, not this).
create function public.service_role_seat_quantity(account_id uuid, user_id uuid default null)
returns public.seat_quantity
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_account uuid := service_role_seat_quantity.account_id;
begin
  if v_account is null then
    perform saasbase.fail('PT422', 'invalid_kind', 'An account is required');
  end if;
  -- A member who left in the last 10 minutes may still run it: their seat going is what it bills, and their
  -- client calls it right after leave_team (removals are synced by the member who removed).
  if service_role_seat_quantity.user_id is not null and not exists (
      select from public.audit_log l
      where l.created_at > now() - interval '10 minutes' and l.action = 'team.leave'
        and l.actor_id = service_role_seat_quantity.user_id and l.target_id = v_account::text)
  then
    v_account := saasbase.acting_account(v_account, service_role_seat_quantity.user_id, null);
  end if;
  perform pg_advisory_xact_lock(hashtextextended('saasbase.seats:' || v_account::text, 0));
  return saasbase.seat_quantity(v_account);
end;
$$;
revoke execute on function public.service_role_seat_quantity(uuid, uuid) from public, anon, authenticated;
grant execute on function public.service_role_seat_quantity(uuid, uuid) to service_role;

-- Records what the seat sync applied (after Stripe answered, in the transaction holding the seat lock): the
-- quantity billed for the subscription at that seat_version. A record older than the one there is refused
-- (false). subscriptions.quantity is left to the webhook.
create function public.service_role_record_seats(account_id uuid, subscription_id text, seat_version bigint,
  quantity integer) returns boolean
language plpgsql
security definer
set search_path = ''
as $$
begin
  if service_role_record_seats.quantity is null or service_role_record_seats.quantity < 0
      or service_role_record_seats.seat_version is null or service_role_record_seats.subscription_id is null then
    perform saasbase.fail('PT422', 'invalid_quantity', 'A subscription, a seat version and a quantity are required');
  end if;
  update public.accounts a
  set billed_seats = service_role_record_seats.quantity, billed_subscription = service_role_record_seats.subscription_id,
    billed_seat_version = service_role_record_seats.seat_version, seats_billed_at = now()
  where a.id = service_role_record_seats.account_id
    and (a.billed_subscription is distinct from service_role_record_seats.subscription_id
      or a.billed_seat_version is null or a.billed_seat_version <= service_role_record_seats.seat_version);
  return found;
end;
$$;
revoke execute on function public.service_role_record_seats(uuid, text, bigint, integer) from public, anon, authenticated;
grant execute on function public.service_role_record_seats(uuid, text, bigint, integer) to service_role;

-- The accounts a sweep of the seat sync visits (the service role's POST /seats/sync, stripe-reconcile, pg_cron):
-- those with a live per-seat subscription whose members changed since the last sync (seat_version moved), whose
-- subscription the sync has not seen, or whose quantity at Stripe is not what the rule wants (drift: a failed
-- sync, a quantity changed at Stripe). Oldest change first, at most `max_accounts`.
create function public.service_role_seats_due(max_accounts integer default 100) returns setof uuid
language plpgsql
stable
security definer
set search_path = ''
as $$
begin
  if max_accounts is null or max_accounts not between 1 and 1000 then
    perform saasbase.fail('PT422', 'invalid_quantity', 'max_accounts is 1 to 1000');
  end if;
  return query
  select a.id
  from public.accounts a
  where exists (select from public.subscriptions s join public.plans p on p.id = s.plan_id
      where s.account_id = a.id and s.status in ('active', 'trialing', 'past_due') and p.per_seat)
    and (a.billed_seat_version is distinct from a.seat_version
      or (saasbase.seat_quantity(a.id)).needs_update
      or a.billed_subscription is distinct from (saasbase.seat_quantity(a.id)).subscription_id)
  order by a.seats_changed_at nulls first, a.id
  limit max_accounts;
end;
$$;
revoke execute on function public.service_role_seats_due(integer) from public, anon, authenticated;
grant execute on function public.service_role_seats_due(integer) to service_role;

-- What checkout bills for a plan (the line's quantity): 1 for a plan that is not per seat (asking for seats is
-- PT422 invalid_seats); for a per-seat plan the seats asked for (default: the account's member count), at least
-- the member count and at most the plan's max_seats (PT422 invalid_seats otherwise).
create function public.service_role_checkout_seats(account_id uuid, plan_id text, seats integer default null)
returns integer
language plpgsql
stable
security definer
set search_path = ''
as $$
declare
  v_plan public.plans;
  v_members integer;
begin
  select * into v_plan from public.plans p where p.id = service_role_checkout_seats.plan_id;
  if not found then
    perform saasbase.fail('PT404', 'unknown_plan', format('Unknown plan %L', plan_id));
  end if;
  if not v_plan.per_seat then
    if seats is not null then
      perform saasbase.fail('PT422', 'invalid_seats', format('The %s plan is not sold per seat', v_plan.name));
    end if;
    return 1;
  end if;
  select count(*)::integer into v_members from public.account_members m
  where m.account_id = service_role_checkout_seats.account_id;
  if coalesce(seats, v_members) < greatest(v_members, 1) then
    perform saasbase.fail('PT422', 'invalid_seats',
      format('At least %s seats: one for each member of the account', greatest(v_members, 1)));
  end if;
  if v_plan.max_seats is not null and coalesce(seats, v_members) > v_plan.max_seats then
    perform saasbase.fail('PT422', 'invalid_seats', format('The %s plan has at most %s seats', v_plan.name, v_plan.max_seats));
  end if;
  return greatest(coalesce(seats, v_members), 1);
end;
$$;
revoke execute on function public.service_role_checkout_seats(uuid, text, integer) from public, anon, authenticated;
grant execute on function public.service_role_checkout_seats(uuid, text, integer) to service_role;
