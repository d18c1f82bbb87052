-- Billing: Stripe is the source of truth for money; these tables mirror it. The catalog (products, prices)
-- is written by `npm run stripe:sync`; customers by the checkout function; subscriptions, purchases,
-- invoices and the event log by the stripe-webhook function. Clients read their own rows and the catalog.

create table public.products (
  id text primary key,                      -- Stripe product id (saasbase_plan_plus, saasbase_pack_credits_500)
  kind text not null check (kind in ('plan', 'credit_pack')),
  plan_id text references public.plans (id),
  pack_id text references public.credit_packs (id),
  name text not null,
  active boolean not null default true,
  updated_at timestamptz not null default now(),
  check ((kind = 'plan') = (plan_id is not null) and (kind = 'credit_pack') = (pack_id is not null))
);
comment on table public.products is 'Stripe products for plans and credit packs (npm run stripe:sync).';
-- Foreign keys get an index each, so that a plan's or pack's delete (or key update) finds its products without
-- a scan (Supabase's performance advisor, unindexed_foreign_keys).
create index products_plan_id on public.products (plan_id);
create index products_pack_id on public.products (pack_id);

create table public.prices (
  id text primary key,                      -- Stripe price id
  product_id text not null references public.products (id),
  lookup_key text not null,                 -- plan_plus_monthly, plan_plus_yearly, pack_credits_500
  unit_amount integer not null check (unit_amount >= 0),
  currency text not null,
  billing_interval text check (billing_interval in ('month', 'year')),
  active boolean not null default true,
  updated_at timestamptz not null default now()
);
comment on table public.prices is 'Stripe prices by stable lookup key (npm run stripe:sync).';
-- One active price per lookup key; retired prices stay, so subscriptions on them still map to their plan.
create unique index prices_lookup_key_active on public.prices (lookup_key) where active;
create index prices_product_id on public.prices (product_id);

create table public.customers (
  user_id uuid primary key references auth.users (id) on delete cascade,
  stripe_customer_id text not null unique,
  created_at timestamptz not null default now()
);
comment on table public.customers is 'One Stripe customer per user; written only by the checkout function.';

create table public.subscriptions (
  id text primary key,                      -- Stripe subscription id
  user_id uuid not null references auth.users (id) on delete cascade,
  status text not null,
  plan_id text references public.plans (id),
  price_id text,
  current_period_start timestamptz,
  current_period_end timestamptz,
  cancel_at_period_end boolean not null default false,
  canceled_at timestamptz,
  -- Stripe's `created` of the newest event applied: an older event arriving later changes nothing.
  stripe_event_at timestamptz not null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
comment on table public.subscriptions is 'Mirror of Stripe subscriptions; the newest event wins.';
create index subscriptions_user_id on public.subscriptions (user_id);
create index subscriptions_plan_id on public.subscriptions (plan_id);

create table public.purchases (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references auth.users (id) on delete cascade,
  checkout_session_id text not null unique,
  payment_intent_id text unique,
  pack_id text,
  credits integer not null check (credits > 0),
  amount_cents integer not null check (amount_cents >= 0),
  currency text not null,
  discount_percent smallint not null default 0,
  status text not null default 'paid' check (status in ('paid', 'partially_refunded', 'refunded')),
  refunded_cents integer not null default 0 check (refunded_cents >= 0),
  credits_clawed_back integer not null default 0 check (credits_clawed_back >= 0),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
comment on table public.purchases is 'One-time credit purchases (Stripe Checkout), with refunds.';

-- A refund can arrive before its purchase is recorded (the checkout event failed once and waits for Stripe's
-- retry): it is kept here, by payment intent, and applied when the purchase is recorded. Internal.
create table saasbase.early_refunds (
  payment_intent_id text primary key,
  charge_id text not null,
  amount_refunded integer not null check (amount_refunded >= 0),
  received_at timestamptz not null default now()
);
create index purchases_user_id on public.purchases (user_id, created_at desc);

-- Stripe customers deleted at Stripe (customer.deleted), never linked to their user again: a late event of
-- theirs must not bring the link back. Internal.
create table saasbase.deleted_customers (
  stripe_customer_id text primary key,
  user_id uuid,
  deleted_at timestamptz not null default now()
);

-- Chargebacks opened against our payments, once each (Stripe may send one dispute under several events):
-- against a purchase's payment intent, or a subscription invoice. Internal.
create table saasbase.disputes (
  dispute_id text primary key,
  payment_intent_id text not null,          -- or the invoice id, for an invoice's payment
  amount integer not null check (amount >= 0),
  received_at timestamptz not null default now()
);

create table public.invoices (
  id text primary key,                      -- Stripe invoice id
  user_id uuid not null references auth.users (id) on delete cascade,
  subscription_id text,
  status text not null,
  amount_paid integer not null default 0,
  amount_due integer not null default 0,
  currency text not null,
  credits_granted integer not null default 0,
  -- Money returned on it (refunds, chargebacks) and the plan credits taken back for it.
  refunded_cents integer not null default 0,
  credits_clawed_back integer not null default 0,
  hosted_invoice_url text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
comment on table public.invoices is 'Subscription invoices (paid or failed) and the credits each granted.';
create index invoices_user_id on public.invoices (user_id, created_at desc);

-- Every Stripe event, stored by its id before it is acted on: a redelivery finds it and changes nothing.
create table public.stripe_events (
  id text primary key,
  type text not null,
  stripe_created_at timestamptz not null,
  payload jsonb not null,
  received_at timestamptz not null default now(),
  processed_at timestamptz,
  attempts integer not null default 0,
  last_error text
);
comment on table public.stripe_events is 'Stripe webhook events, stored before they are applied.';
create index stripe_events_unprocessed on public.stripe_events (received_at) where processed_at is null;
-- Reconciliation's default start (the last event Stripe sent us) read off the index.
create index stripe_events_stripe_created_at on public.stripe_events (stripe_created_at);

-- Reconciliation runs (the stripe-reconcile function, npm run stripe:reconcile). A complete run (nothing failed
-- but events, which stay stored for the next try) has applied what Stripe created up to its start, so the next
-- one lists from there (less a margin). Internal.
create table saasbase.stripe_reconciliations (
  id bigint generated always as identity primary key,
  since timestamptz,                        -- what Stripe created from then on was listed; null: everything
  started_at timestamptz not null,
  finished_at timestamptz not null default now(),
  changes integer not null check (changes >= 0),
  failures integer not null check (failures >= 0),
  complete boolean not null
);
create index stripe_reconciliations_complete on saasbase.stripe_reconciliations (started_at) where complete;

alter table public.products enable row level security;
alter table public.prices enable row level security;
alter table public.customers enable row level security;
alter table public.subscriptions enable row level security;
alter table public.purchases enable row level security;
alter table public.invoices enable row level security;
alter table public.stripe_events enable row level security;

create policy "Products are readable by everyone" on public.products
  for select to anon, authenticated using (true);
create policy "Prices are readable by everyone" on public.prices
  for select to anon, authenticated using (true);
create policy "Customers are readable by their owner and admins" on public.customers
  for select to authenticated using (user_id = (select auth.uid()) or (select saasbase.is_admin()));
create policy "Subscriptions are readable by their owner and admins" on public.subscriptions
  for select to authenticated using (user_id = (select auth.uid()) or (select saasbase.is_admin()));
create policy "Purchases are readable by their owner and admins" on public.purchases
  for select to authenticated using (user_id = (select auth.uid()) or (select saasbase.is_admin()));
create policy "Invoices are readable by their owner and admins" on public.invoices
  for select to authenticated using (user_id = (select auth.uid()) or (select saasbase.is_admin()));
create policy "Stripe events are readable by admins" on public.stripe_events
  for select to authenticated using ((select saasbase.is_admin()));

-- Clients write none of it (the service role does, from the functions and the sync); the catalog is public.
grant select on public.products, public.prices to anon;
grant select on public.products, public.prices, public.customers, public.subscriptions, public.purchases,
  public.invoices, public.stripe_events to authenticated;
grant select, insert, update, delete on public.products, public.prices, public.customers, public.subscriptions,
  public.purchases, public.invoices, public.stripe_events to service_role;

create trigger subscriptions_touch_updated_at before update on public.subscriptions
  for each row execute function saasbase.touch_updated_at();
create trigger purchases_touch_updated_at before update on public.purchases
  for each row execute function saasbase.touch_updated_at();
create trigger invoices_touch_updated_at before update on public.invoices
  for each row execute function saasbase.touch_updated_at();

-- The plan a user is entitled to: that of their newest live subscription, else the default (null).
-- Called whenever a subscription row changes, so entitlements follow billing at once.
create function saasbase.refresh_plan(p_user uuid) returns void
language plpgsql
set search_path = ''
as $$
begin
  update public.profiles p
  set plan_id = (
    select s.plan_id from public.subscriptions s
    where s.user_id = p_user and s.status in ('active', 'trialing', 'past_due') and s.plan_id is not null
    order by s.current_period_end desc nulls last, s.created_at desc
    limit 1
  )
  where p.id = p_user;
end;
$$;

-- Where a status stands in a subscription's life, for events of the same second (see upsert_subscription).
create function saasbase.subscription_stage(p_status text) returns integer
language plpgsql immutable
set search_path = ''
as $$
begin
  return case p_status
    when 'incomplete' then 0 when 'trialing' then 1 when 'active' then 2 when 'past_due' then 3
    when 'unpaid' then 4 when 'paused' then 4 when 'canceled' then 5 when 'incomplete_expired' then 5 else 2
  end;
end;
$$;

-- Upserts a subscription from Stripe's current object, unless a newer event was applied already; then
-- refreshes the user's plan. Returns whether it applied. Safe for duplicates and out-of-order events.
create function public.service_role_upsert_subscription(
  p_id text, p_user uuid, p_status text, p_price_id text, p_period_start timestamptz, p_period_end timestamptz,
  p_cancel_at_period_end boolean, p_canceled_at timestamptz, p_event_at timestamptz
) returns boolean
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_plan text;
  v_applied boolean;
begin
  select pr.plan_id into v_plan
  from public.prices x join public.products pr on pr.id = x.product_id
  where x.id = p_price_id;

  insert into public.subscriptions as s (id, user_id, status, plan_id, price_id, current_period_start,
    current_period_end, cancel_at_period_end, canceled_at, stripe_event_at)
  values (p_id, p_user, p_status, v_plan, p_price_id, p_period_start, p_period_end,
    coalesce(p_cancel_at_period_end, false), p_canceled_at, p_event_at)
  on conflict (id) do update
    set status = excluded.status, plan_id = excluded.plan_id, price_id = excluded.price_id,
      current_period_start = excluded.current_period_start, current_period_end = excluded.current_period_end,
      cancel_at_period_end = excluded.cancel_at_period_end, canceled_at = excluded.canceled_at,
      stripe_event_at = excluded.stripe_event_at
    -- Newer events win. Stripe's `created` counts seconds, and a subscription's first events (created as
    -- incomplete, then active) often share one: within a second the later stage of the lifecycle wins, so the
    -- order of delivery does not matter.
    where s.stripe_event_at < excluded.stripe_event_at
      or (s.stripe_event_at = excluded.stripe_event_at
        and saasbase.subscription_stage(excluded.status) >= saasbase.subscription_stage(s.status))
  returning true into v_applied;

  perform saasbase.refresh_plan(p_user);
  return coalesce(v_applied, false);
end;
$$;
revoke execute on function public.service_role_upsert_subscription(text, uuid, text, text, timestamptz, timestamptz,
  boolean, timestamptz, timestamptz) from public, anon, authenticated;
grant execute on function public.service_role_upsert_subscription(text, uuid, text, text, timestamptz, timestamptz,
  boolean, timestamptz, timestamptz) to service_role;

-- Claims a webhook delivery for applying, in the transaction that applies it: stores a new event as processed
-- and answers true; a stored event that a failed attempt left unprocessed is claimed again (true); an event
-- already processed answers false, so a redelivery changes nothing. A twin delivered at the same moment waits
-- on the id's unique index until the first commits, then finds it processed.
create function public.service_role_claim_stripe_event(p_id text, p_type text, p_created timestamptz,
  p_payload jsonb) returns boolean
language plpgsql
security definer
set search_path = ''
as $$
begin
  insert into public.stripe_events (id, type, stripe_created_at, payload, processed_at, attempts)
  values (p_id, p_type, p_created, p_payload, now(), 1)
  on conflict (id) do nothing;
  if found then
    return true;
  end if;
  update public.stripe_events set processed_at = now(), attempts = attempts + 1, last_error = null
  where id = p_id and processed_at is null;
  return found;
end;
$$;
revoke execute on function public.service_role_claim_stripe_event(text, text, timestamptz, jsonb)
  from public, anon, authenticated;
grant execute on function public.service_role_claim_stripe_event(text, text, timestamptz, jsonb) to service_role;

-- The user a Stripe object belongs to: the user id our checkout put in its metadata (or
-- client_reference_id), else the owner of its Stripe customer; that customer is linked to the user on the way
-- (a user keeps the first customer linked). Null when neither names a user.
create function public.service_role_stripe_user(user_hint text, customer_id text) returns uuid
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_user uuid;
begin
  -- Compared as a uuid, so the lookup uses the primary key; anything else in the metadata matches no one.
  if user_hint ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' then
    select u.id into v_user from auth.users u where u.id = user_hint::uuid;
  end if;
  if v_user is null then
    select c.user_id into v_user from public.customers c where c.stripe_customer_id = customer_id;
  elsif customer_id is not null
      and not exists (select from saasbase.deleted_customers d where d.stripe_customer_id = customer_id) then
    insert into public.customers (user_id, stripe_customer_id) values (v_user, customer_id) on conflict do nothing;
  end if;
  return v_user;
end;
$$;
revoke execute on function public.service_role_stripe_user(text, text) from public, anon, authenticated;
grant execute on function public.service_role_stripe_user(text, text) to service_role;

-- customer.deleted: the user's link to that customer is dropped for good (their next checkout makes a new one).
create function public.service_role_forget_customer(customer_id text) returns void
language plpgsql
security definer
set search_path = ''
as $$
begin
  insert into saasbase.deleted_customers (stripe_customer_id, user_id)
  values (customer_id, (select c.user_id from public.customers c where c.stripe_customer_id = customer_id))
  on conflict (stripe_customer_id) do nothing;
  delete from public.customers c where c.stripe_customer_id = customer_id;
end;
$$;
revoke execute on function public.service_role_forget_customer(text) from public, anon, authenticated;
grant execute on function public.service_role_forget_customer(text) to service_role;

-- Takes up to `p_credits` back out of a user's wallet for money returned to them (a refund, a chargeback), as far
-- as they are unspent; answers how many it took (0 for a replayed key). Credits the user parked in reservations
-- of their own come back first: held there while the money went back, they would otherwise be released
-- afterwards and kept. (Chat answers' reservations are the server's, bounded by one answer, and settle as
-- usual.) Released before the wallet is locked for the debit, their quota counters first, all in one ordered
-- statement: each release locks its counter and then the wallet, so a second release would otherwise take a
-- counter after the wallet.
create function saasbase.claw_back(p_user uuid, p_credits bigint, p_reason text, p_key text, p_reference text)
returns integer
language plpgsql
set search_path = ''
as $$
declare
  v_parked uuid[];
  v_id uuid;
  v_debit public.credit_debit;
begin
  if p_credits <= 0 then
    return 0;
  end if;
  if (select w.balance from public.wallets w where w.user_id = p_user) < p_credits then
    -- The reservations read once: one opened after this is not released (its counter would come after the
    -- wallet).
    select array_agg(r.id order by r.created_at) into v_parked from public.credit_reservations r
    where r.user_id = p_user and r.status = 'open' and not r.held_by_server and r.amount > 0;
    perform 1 from public.usage_counters c
    where (c.user_id, c.feature_id, c.period_key) in (
      select r.user_id, r.feature_id, r.period_key from public.credit_reservations r
      where r.id = any(v_parked) and r.free_units > 0)
    order by c.feature_id, c.period_key
    for update;
    foreach v_id in array coalesce(v_parked, '{}') loop
      begin
        perform saasbase.release_reservation(p_user, v_id, false);
      exception when sqlstate 'PT409' then
        null; -- settled by its owner meanwhile: nothing parked there any more
      end;
    end loop;
  end if;
  v_debit := public.service_role_debit_credits(p_user, p_credits, 'refund', p_reason, p_key, true, p_reference);
  return case when v_debit.replayed then 0 else v_debit.debited::integer end;
end;
$$;

-- Records a chargeback, once (Stripe may send one dispute under several events); false when it was seen before.
-- `p_payment` is what the money paid: a purchase's payment intent, or an invoice.
create function saasbase.record_dispute(p_dispute text, p_payment text, p_amount integer) returns boolean
language plpgsql
set search_path = ''
as $$
begin
  insert into saasbase.disputes (dispute_id, payment_intent_id, amount)
  values (p_dispute, p_payment, greatest(p_amount, 0))
  on conflict (dispute_id) do nothing;
  return found;
end;
$$;

-- What money returned on a payment takes back of the `p_granted` credits it bought: its refunds (`p_refunded`,
-- as recorded) and its chargebacks (counted apart, in saasbase.disputes, so their order does not matter), as
-- a share of `p_paid`, less the `p_clawed` taken already. Keyed by `p_key` and the returned total; answers that
-- total (at most `p_paid`) and the credits it took.
create function saasbase.take_back_share(
  p_user uuid, p_granted integer, p_paid integer, p_refunded integer, p_clawed integer, p_payment text,
  p_reason text, p_key text, p_reference text, out returned integer, out clawed integer
)
language plpgsql
set search_path = ''
as $$
begin
  returned := least(p_refunded::bigint + coalesce((select sum(d.amount) from saasbase.disputes d
    where d.payment_intent_id = p_payment), 0), p_paid);
  clawed := saasbase.claw_back(p_user,
    (case when p_paid > 0 then round(p_granted::numeric * returned / p_paid)::integer else 0 end) - p_clawed,
    p_reason, format('%s:%s', p_key, returned), p_reference);
end;
$$;

-- A purchase's share taken back (see take_back_share), and its status after what was returned on it.
create function saasbase.take_back_purchase(p_purchase uuid, p_reference text) returns void
language plpgsql
set search_path = ''
as $$
declare
  v_purchase public.purchases;
  v_share record;
begin
  select * into v_purchase from public.purchases where id = p_purchase;
  select * into v_share from saasbase.take_back_share(v_purchase.user_id, v_purchase.credits, v_purchase.amount_cents,
    v_purchase.refunded_cents, v_purchase.credits_clawed_back, v_purchase.payment_intent_id,
    'refund of ' || v_purchase.checkout_session_id, 'returned:' || v_purchase.id, p_reference);
  update public.purchases set
    status = case when v_share.returned >= v_purchase.amount_cents then 'refunded'
      when v_share.returned > 0 then 'partially_refunded' else status end,
    credits_clawed_back = credits_clawed_back + v_share.clawed
  where id = v_purchase.id;
end;
$$;

-- charge.refunded: the purchase's refunded share of its credits comes back out of the wallet, as far as they
-- are unspent. Refunds only grow at Stripe, so a repeated or late (smaller) refund changes nothing and a
-- larger one claws back only the difference. A refund of a purchase not recorded yet is kept
-- (saasbase.early_refunds) and applied when it is (a subscription invoice's refund goes to
-- service_role_refund_invoice instead; one of a payment that is neither stays held). Answers applied, or held.
create function public.service_role_apply_refund(p_payment_intent text, p_charge text, p_amount_refunded integer)
returns text
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_purchase public.purchases;
  v_refunded integer;
begin
  -- The purchase and its refund serialize on the payment intent: a refund that arrives while the purchase is
  -- being recorded (not yet visible) waits for it instead of being parked where nobody looks again.
  perform pg_advisory_xact_lock(hashtextextended('payment:' || p_payment_intent, 0));
  select * into v_purchase from public.purchases where payment_intent_id = p_payment_intent for update;
  if not found then
    insert into saasbase.early_refunds as e (payment_intent_id, charge_id, amount_refunded)
    values (p_payment_intent, p_charge, p_amount_refunded)
    on conflict (payment_intent_id) do update set amount_refunded = greatest(e.amount_refunded, excluded.amount_refunded);
    return 'held';
  end if;
  v_refunded := least(p_amount_refunded, v_purchase.amount_cents);
  if v_refunded <= v_purchase.refunded_cents then
    return 'applied'; -- a repeated or late (smaller) refund: this much was clawed back when it first came
  end if;
  update public.purchases set refunded_cents = v_refunded where id = v_purchase.id;
  perform saasbase.take_back_purchase(v_purchase.id, p_charge);
  return 'applied';
end;
$$;
revoke execute on function public.service_role_apply_refund(text, text, integer) from public, anon, authenticated;
grant execute on function public.service_role_apply_refund(text, text, integer) to service_role;

-- charge.dispute.funds_withdrawn: a chargeback takes the disputed money back, so it takes the credits back as a
-- refund of that amount would (on top of any refund, whichever comes first), once per dispute. A dispute of a
-- purchase not recorded yet is kept and counted when it is. Winning the dispute gives the money back; the
-- credits then come back by hand (admin_adjust_credits). Answers applied, held or duplicate.
create function public.service_role_apply_dispute(p_payment_intent text, p_dispute text, p_amount integer)
returns text
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_purchase uuid;
begin
  perform pg_advisory_xact_lock(hashtextextended('payment:' || p_payment_intent, 0));
  if not saasbase.record_dispute(p_dispute, p_payment_intent, p_amount) then
    return 'duplicate';
  end if;
  select id into v_purchase from public.purchases where payment_intent_id = p_payment_intent for update;
  if not found then
    return 'held';
  end if;
  perform saasbase.take_back_purchase(v_purchase, p_dispute);
  return 'applied';
end;
$$;
revoke execute on function public.service_role_apply_dispute(text, text, integer) from public, anon, authenticated;
grant execute on function public.service_role_apply_dispute(text, text, integer) to service_role;

-- A refund (`p_total`: all refunded on it so far, as Stripe reports it) or a chargeback (`p_dispute`: its id,
-- `p_total` the disputed amount; counted apart, so the order of the two does not matter) of a subscription
-- invoice's payment: the plan credits it granted come back in proportion, as far as they are unspent, once
-- per returned amount. Answers applied or duplicate (a dispute seen before); refuses (PT409) an invoice not
-- recorded as paid yet.
create function public.service_role_refund_invoice(p_invoice text, p_total integer, p_dispute text default null)
returns text
language plpgsql
security definer
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
  select * into v_share from saasbase.take_back_share(v_invoice.user_id, v_invoice.credits_granted,
    v_invoice.amount_paid, v_invoice.refunded_cents, v_invoice.credits_clawed_back, v_invoice.id,
    'refund of invoice ' || v_invoice.id, 'invoice-returned:' || v_invoice.id, coalesce(p_dispute, v_invoice.id));
  update public.invoices set refunded_cents = v_invoice.refunded_cents,
    credits_clawed_back = credits_clawed_back + v_share.clawed
  where id = v_invoice.id;
  return 'applied';
end;
$$;
revoke execute on function public.service_role_refund_invoice(text, integer, text) from public, anon, authenticated;
grant execute on function public.service_role_refund_invoice(text, integer, text) to service_role;

-- A paid credit-pack checkout in one statement: the purchase row, its credits through the ledger (once per
-- checkout session) and the referral reward a first payment earns. Without a user (Stripe named nobody we
-- know) nothing is recorded and the answer is null.
create function public.service_role_record_credit_purchase(
  p_user uuid, p_session text, p_payment_intent text, p_pack text, p_credits integer, p_amount_cents integer,
  p_currency text, p_discount_percent integer
) returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_grant jsonb;
  v_early saasbase.early_refunds;
begin
  if p_user is null then
    return null;
  end if;
  if p_payment_intent is not null then -- see service_role_apply_refund
    perform pg_advisory_xact_lock(hashtextextended('payment:' || p_payment_intent, 0));
  end if;
  insert into public.purchases (user_id, checkout_session_id, payment_intent_id, pack_id, credits, amount_cents,
    currency, discount_percent)
  values (p_user, p_session, p_payment_intent, p_pack, p_credits, p_amount_cents, p_currency, p_discount_percent)
  on conflict (checkout_session_id) do nothing;
  v_grant := to_jsonb(saasbase.credit(p_user, p_credits, 'purchase', 'credit purchase', 'checkout:' || p_session,
    saasbase.now(), null, coalesce(p_payment_intent, p_session)));
  -- Referral rewards live in the referrals migration; PL/pgSQL resolves the call when it runs.
  perform saasbase.referral_moment(p_user, 'first_payment');
  -- A refund that came first is applied now.
  select * into v_early from saasbase.early_refunds e where e.payment_intent_id = p_payment_intent for update;
  if found then
    perform public.service_role_apply_refund(p_payment_intent, v_early.charge_id, v_early.amount_refunded);
    delete from saasbase.early_refunds e where e.payment_intent_id = p_payment_intent;
  elsif exists (select from saasbase.disputes d where d.payment_intent_id = p_payment_intent) then
    perform saasbase.take_back_purchase((select p.id from public.purchases p where p.payment_intent_id = p_payment_intent),
      p_payment_intent);
  end if;
  return v_grant;
end;
$$;
revoke execute on function public.service_role_record_credit_purchase(uuid, text, text, text, integer, integer, text,
  integer) from public, anon, authenticated;
grant execute on function public.service_role_record_credit_purchase(uuid, text, text, text, integer, integer, text,
  integer) to service_role;
