-- Polar (polar.sh) as a second payment provider, next to Stripe. The config's `payments.provider` says who sells
-- what: Stripe (the default), Polar, or both (Stripe for plans, Polar for credit packs and deposits). What Polar
-- sells is recorded in the same billing tables through the same SQL as Stripe's, so the money rules (the
-- ledger, refunds clawing back, early refunds, the plan an account is entitled to) are the billing migration's
-- and hold for both. This file adds only what Polar needs on top, and re-defines no billing function:
--   * a `provider` column ('stripe' | 'polar') on the catalog (products, prices) and on what was bought
--     (purchases, subscriptions, invoices), 'stripe' for every row before it;
--   * the Polar customer of an account (public.polar_customers: our checkout names the account as the Polar
--     customer's external id, so Polar keeps one customer per account);
--   * Polar's webhook events, stored by their webhook-id before they are applied (public.polar_events), and the
--     service_role_* functions the polar-webhook function applies them with.
--
-- Where Polar's ids go (the existing columns, so the billing SQL reads them unchanged):
--   products.id / prices.id   Polar's product and price ids (uuids: never a Stripe id, which has a prefix);
--                             prices.lookup_key the same stable key as Stripe's (plan_plus_monthly, pack_x) and
--                             `deposit` for the product custom deposits are sold as; unique per provider
--   purchases                 checkout_session_id = the Polar checkout (its order's id when it had none),
--                             payment_intent_id = the Polar order: refunds find the purchase by it
--   subscriptions.id          the Polar subscription; invoices.id the Polar order that paid a period

-- ---------------------------------------------------------------------------------------------------------
-- Which provider a row belongs to

alter table public.products add column provider text not null default 'stripe' check (provider in ('stripe', 'polar'));
alter table public.prices add column provider text not null default 'stripe' check (provider in ('stripe', 'polar'));
alter table public.purchases add column provider text not null default 'stripe' check (provider in ('stripe', 'polar'));
alter table public.subscriptions add column provider text not null default 'stripe'
  check (provider in ('stripe', 'polar'));
alter table public.invoices add column provider text not null default 'stripe' check (provider in ('stripe', 'polar'));
comment on column public.purchases.provider is
  'Who took the payment: stripe (checkout_session_id, payment_intent_id are Stripe''s) or polar (the Polar checkout and order).';

-- A lookup key names one active price per provider (each sync retires its own; both may sell the same pack).
drop index public.prices_lookup_key_active;
create unique index prices_provider_lookup_key_active on public.prices (provider, lookup_key) where active;

-- Polar sells a custom deposit (purchase.minCents..maxCents) as one product of its own, priced per checkout.
alter table public.products drop constraint products_kind_check;
alter table public.products add constraint products_kind_check check (kind in ('plan', 'credit_pack', 'deposit'));
alter table public.products add constraint products_deposit_is_polar check (kind <> 'deposit' or provider = 'polar');

-- A row the Polar functions write is Polar's from its insert on, so that triggers on these tables (receipts,
-- licenses) see its provider: the Polar functions below say so for their own transaction
-- (saasbase.payment_provider = 'polar') around the billing function that inserts, and this sets the column.
create function saasbase.polar_provider() returns trigger
language plpgsql
set search_path = ''
as $$
begin
  if current_setting('saasbase.payment_provider', true) = 'polar' then
    new.provider := 'polar';
  end if;
  return new;
end;
$$;
create trigger purchases_polar_provider before insert on public.purchases
  for each row execute function saasbase.polar_provider();
create trigger subscriptions_polar_provider before insert on public.subscriptions
  for each row execute function saasbase.polar_provider();
create trigger invoices_polar_provider before insert on public.invoices
  for each row execute function saasbase.polar_provider();

-- ---------------------------------------------------------------------------------------------------------
-- Polar customers, one per account

create table public.polar_customers (
  account_id uuid primary key references public.accounts (id) on delete cascade,
  polar_customer_id text not null unique,
  created_at timestamptz not null default now()
);
comment on table public.polar_customers is
  'The Polar customer of an account (its external id is the account id); linked by the polar-webhook function.';

alter table public.polar_customers enable row level security;
create policy "Polar customers are readable by the account's buyers and billing managers, and admins"
  on public.polar_customers for select to authenticated using (
    account_id in (select saasbase.accounts_with_right('manage_billing'))
    or account_id in (select saasbase.accounts_with_right('buy'))
    or (select saasbase.is_admin()));
grant select on public.polar_customers to authenticated;
grant select, insert, update, delete on public.polar_customers to service_role;

-- ---------------------------------------------------------------------------------------------------------
-- Polar's events

-- Every Polar webhook event, stored by its webhook-id (Standard Webhooks' message id, the same on every retry of
-- a delivery) before it is acted on: a redelivery finds it and changes nothing.
create table public.polar_events (
  id text primary key,
  type text not null,
  -- The payload's `timestamp`: when Polar emitted it (the newest-event-wins clock of subscriptions).
  polar_created_at timestamptz not null,
  payload jsonb not null,
  received_at timestamptz not null default now(),
  processed_at timestamptz,
  attempts integer not null default 0,
  last_error text,
  -- The Polar customer the event's object names. An event whose customer is linked to no account yet stays
  -- unprocessed (last_error says so) for Polar's retry.
  customer_id text
);
comment on table public.polar_events is 'Polar webhook events, stored before they are applied; unprocessed ones wait for a retry.';
create index polar_events_unprocessed on public.polar_events (received_at) where processed_at is null;

alter table public.polar_events enable row level security;
create policy "Polar events are readable by admins" on public.polar_events
  for select to authenticated using ((select saasbase.is_admin()));
grant select on public.polar_events to authenticated;
-- One writer, public.service_role_store_polar_event: the service role reads it.
grant select on public.polar_events to service_role;

-- -- The API ------------------------------------------------------------------------------------------------

-- The one writer of public.polar_events, with service_role_store_stripe_event's contract: without `error`, it
-- claims a delivery for applying in the statement that applies it (a new event: true; one a failed attempt left
-- unprocessed: true again; one processed before: false, so a redelivery changes nothing; a twin delivered at the
-- same moment waits on the id until the first commits, then finds it processed). With `error` (the attempt was
-- rolled back), the event is kept unprocessed with the error and the attempt counted; false.
create function public.service_role_store_polar_event(
  id text, type text, created timestamptz, payload jsonb, error text default null
) returns boolean
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_id text := service_role_store_polar_event.id;
  v_customer text := coalesce(payload #>> '{data,customer_id}', payload #>> '{data,customer,id}');
begin
  if error is null then
    insert into public.polar_events (id, type, polar_created_at, payload, processed_at, attempts, customer_id)
    values (v_id, service_role_store_polar_event.type, created, payload, now(), 1, v_customer)
    on conflict on constraint polar_events_pkey do nothing;
    if found then
      return true;
    end if;
    update public.polar_events e set processed_at = now(), attempts = e.attempts + 1, last_error = null
    where e.id = v_id and e.processed_at is null;
    return found;
  end if;
  insert into public.polar_events as e (id, type, polar_created_at, payload, attempts, last_error, customer_id)
  values (v_id, service_role_store_polar_event.type, created, payload, 1, left(error, 1000), v_customer)
  on conflict on constraint polar_events_pkey do update
    set attempts = e.attempts + 1, last_error = excluded.last_error
    where e.processed_at is null;
  return false;
end;
$$;
revoke execute on function public.service_role_store_polar_event(text, text, timestamptz, jsonb, text)
  from public, anon, authenticated;
grant execute on function public.service_role_store_polar_event(text, text, timestamptz, jsonb, text) to service_role;

-- The account a Polar object belongs to: the account id our checkout put in its metadata (copied by Polar to the
-- order and the subscription), else its customer's external id (our checkout sets it to the account id), else
-- the account its Polar customer is linked to; that customer is linked to the account on the way (an account keeps
-- the first linked). Null when none names an account we know.
create function public.service_role_polar_account(account_hint text, external_id text, customer_id text) returns uuid
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_account uuid;
  v_hint text;
begin
  foreach v_hint in array array[account_hint, external_id] loop
    -- Compared as a uuid, so the lookup uses the primary key; anything else matches no one.
    if v_account is null and v_hint ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' then
      select a.id into v_account from public.accounts a where a.id = v_hint::uuid;
    end if;
  end loop;
  if v_account is null then
    select c.account_id into v_account from public.polar_customers c where c.polar_customer_id = customer_id;
  elsif customer_id is not null then
    insert into public.polar_customers (account_id, polar_customer_id) values (v_account, customer_id)
    on conflict do nothing;
  end if;
  return v_account;
end;
$$;
revoke execute on function public.service_role_polar_account(text, text, text) from public, anon, authenticated;
grant execute on function public.service_role_polar_account(text, text, text) to service_role;

-- A paid Polar order of credits (a pack or a deposit: order.paid) in one statement, through Stripe's own
-- public.service_role_record_credit_purchase (the purchase, its credits into the account's wallet once per
-- checkout, the referral reward of a first payment, a refund that came first taken back), inserted as Polar's.
-- PT409 customer_not_linked without an account: the event waits for Polar's retry.
create function public.service_role_record_polar_purchase(
  account_id uuid, checkout_id text, order_id text, pack_id text, credits integer, amount_cents integer,
  currency text, discount_percent integer
) returns public.purchases
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_purchase public.purchases;
begin
  perform set_config('saasbase.payment_provider', 'polar', true);
  v_purchase := public.service_role_record_credit_purchase(service_role_record_polar_purchase.account_id,
    checkout_id, order_id, pack_id, credits, amount_cents, currency, discount_percent);
  perform set_config('saasbase.payment_provider', '', true);
  return v_purchase;
end;
$$;
revoke execute on function public.service_role_record_polar_purchase(uuid, text, text, text, integer, integer, text,
  integer) from public, anon, authenticated;
grant execute on function public.service_role_record_polar_purchase(uuid, text, text, text, integer, integer, text,
  integer) to service_role;

-- A Polar subscription's state (subscription.* events), through public.service_role_upsert_subscription (the
-- newest event wins; the account's plan follows), marked Polar's. Polar's `timestamp` has microseconds, so two
-- events of one subscription rarely share one; the billing function's same-instant rule covers those that do.
-- Inserted as Polar's (saasbase.polar_provider).
create function public.service_role_upsert_polar_subscription(
  id text, account_id uuid, status text, price_id text, period_start timestamptz, period_end timestamptz,
  cancel_at_period_end boolean, canceled_at timestamptz, event_at timestamptz
) returns boolean
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_applied boolean;
begin
  perform set_config('saasbase.payment_provider', 'polar', true);
  v_applied := public.service_role_upsert_subscription(service_role_upsert_polar_subscription.id,
    service_role_upsert_polar_subscription.account_id, status, price_id, period_start, period_end,
    cancel_at_period_end, canceled_at, event_at, null, null);
  perform set_config('saasbase.payment_provider', '', true);
  return v_applied;
end;
$$;
revoke execute on function public.service_role_upsert_polar_subscription(text, uuid, text, text, timestamptz,
  timestamptz, boolean, timestamptz, timestamptz) from public, anon, authenticated;
grant execute on function public.service_role_upsert_polar_subscription(text, uuid, text, text, timestamptz,
  timestamptz, boolean, timestamptz, timestamptz) to service_role;

-- A paid Polar order of a subscription (order.paid with billing_reason subscription_create, _cycle or _update):
-- the period's plan credits through public.service_role_record_invoice (once per subscription period), the order
-- kept as the invoice, marked Polar's.
create function public.service_role_record_polar_invoice(
  order_id text, account_id uuid, subscription_id text, billing_reason text, amount_paid integer, currency text,
  period_lines jsonb
) returns public.invoices
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_invoice public.invoices;
begin
  perform set_config('saasbase.payment_provider', 'polar', true);
  perform public.service_role_record_invoice(order_id, service_role_record_polar_invoice.account_id, 'paid',
    subscription_id, billing_reason, amount_paid, amount_paid, currency, null, period_lines);
  perform set_config('saasbase.payment_provider', '', true);
  select * into v_invoice from public.invoices i where i.id = order_id;
  return v_invoice;
end;
$$;
revoke execute on function public.service_role_record_polar_invoice(text, uuid, text, text, integer, text, jsonb)
  from public, anon, authenticated;
grant execute on function public.service_role_record_polar_invoice(text, uuid, text, text, integer, text, jsonb)
  to service_role;
