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
  -- Stripe's `created` of the newest event applied: an older event arriving later changes nothing. A state read
  -- by reconciliation is stamped by Stripe's clock too, half a second off its whole seconds (see reconcile.ts's
  -- snapshotAt), so it never ties with an event.
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
  last_error text,
  -- The Stripe customer the event's object names. An event whose customer is linked to no user yet stays
  -- unprocessed (last_error says so) and is applied again once the customer is linked.
  customer_id text,
  -- When applying it found no user, and it names no customer either (a guest checkout without our metadata):
  -- no link can ever apply it. It stays unprocessed for an admin (credits by hand, or a refund), is retried by
  -- no reconciliation, and is reported by the first run after it was found so.
  unlinkable_at timestamptz
);
comment on table public.stripe_events is 'Stripe webhook events, stored before they are applied; unprocessed ones wait for a retry or their customer''s user.';
create index stripe_events_unprocessed on public.stripe_events (received_at) where processed_at is null;
create index stripe_events_waiting on public.stripe_events (customer_id) where processed_at is null;
create index stripe_events_unlinkable on public.stripe_events (unlinkable_at) where unlinkable_at is not null;
-- Reconciliation's default start (the last event Stripe sent us) read off the index.
create index stripe_events_stripe_created_at on public.stripe_events (stripe_created_at);

-- Reconciliation runs (the stripe-reconcile function, npm run stripe:reconcile). A complete run (nothing failed
-- but events, which stay stored for the next try) that listed from where the runs before it had reached (or
-- everything) has applied what Stripe created up to its start, so the next one lists from there (less a
-- margin). A run from a later time (an admin looking at the last hour) covers only its own window: what came
-- before it, lost meanwhile, is still the next default run's to find. Internal.
create table saasbase.stripe_reconciliations (
  id bigint generated always as identity primary key,
  since timestamptz,                        -- what Stripe created from then on was listed; null: everything
  started_at timestamptz not null,
  finished_at timestamptz not null default now(),
  changes integer not null check (changes >= 0),
  failures integer not null check (failures >= 0),
  complete boolean not null,
  -- Its since was at or before the default start then (the last such complete run's start, else the last event
  -- stored), or null: no gap was left between the runs before it and this one.
  contiguous boolean not null
);
create index stripe_reconciliations_reached on saasbase.stripe_reconciliations (started_at) where complete and contiguous;

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
  public.purchases, public.invoices to service_role;
-- The event log has one writer, public.service_role_store_stripe_event: the service role reads it.
grant select on public.stripe_events to service_role;

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

-- Upserts a subscription from Stripe's current object for its user (PT409 customer_not_linked without one:
-- the event waits for the link), unless a newer event was applied already; then refreshes the user's plan.
-- Returns whether it applied. Safe for duplicates and out-of-order events.
create function public.service_role_upsert_subscription(
  id text, user_id uuid, status text, price_id text, period_start timestamptz, period_end timestamptz,
  cancel_at_period_end boolean, canceled_at timestamptz, event_at timestamptz
) returns boolean
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_user uuid := service_role_upsert_subscription.user_id;
  v_plan text;
  v_applied boolean;
begin
  if v_user is null then
    perform saasbase.fail('PT409', 'customer_not_linked',
      format('Subscription %s belongs to no user we know yet', service_role_upsert_subscription.id));
  end if;
  select pr.plan_id into v_plan
  from public.prices x join public.products pr on pr.id = x.product_id
  where x.id = service_role_upsert_subscription.price_id;

  insert into public.subscriptions as s (id, user_id, status, plan_id, price_id, current_period_start,
    current_period_end, cancel_at_period_end, canceled_at, stripe_event_at)
  values (service_role_upsert_subscription.id, v_user, service_role_upsert_subscription.status, v_plan,
    service_role_upsert_subscription.price_id, period_start, period_end,
    coalesce(service_role_upsert_subscription.cancel_at_period_end, false),
    service_role_upsert_subscription.canceled_at, event_at)
  on conflict on constraint subscriptions_pkey do update
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

  perform saasbase.refresh_plan(v_user);
  return coalesce(v_applied, false);
end;
$$;
revoke execute on function public.service_role_upsert_subscription(text, uuid, text, text, timestamptz, timestamptz,
  boolean, timestamptz, timestamptz) from public, anon, authenticated;
grant execute on function public.service_role_upsert_subscription(text, uuid, text, text, timestamptz, timestamptz,
  boolean, timestamptz, timestamptz) to service_role;

-- The one writer of public.stripe_events. Without `error`, it claims a delivery for applying, in the
-- transaction (or the statement) that applies it: a new event is stored as processed (true); a stored event
-- that a failed attempt left unprocessed is claimed again (true); an event already processed answers false,
-- so a redelivery changes nothing. A twin delivered at the same moment waits on the id's unique index until
-- the first commits, then finds it processed. With `error` (the attempt was rolled back: it failed, or its
-- customer is linked to no user yet), the event is kept unprocessed with the error and the attempt counted,
-- for a redelivery (or the customer's link) to apply it; false. `error_code` is the refusal's code: an event
-- refused customer_not_linked that names no customer is marked unlinkable (see stripe_events.unlinkable_at).
create function public.service_role_store_stripe_event(
  id text, type text, created timestamptz, payload jsonb, error text default null, error_code text default null
) returns boolean
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_id text := service_role_store_stripe_event.id;
  -- The customer the event's object names (an id, or the expanded customer).
  v_customer text := coalesce(payload #>> '{data,object,customer,id}', payload #>> '{data,object,customer}');
begin
  if error is null then
    insert into public.stripe_events (id, type, stripe_created_at, payload, processed_at, attempts, customer_id)
    values (v_id, service_role_store_stripe_event.type, created, payload, now(), 1, v_customer)
    on conflict on constraint stripe_events_pkey do nothing;
    if found then
      return true;
    end if;
    update public.stripe_events e set processed_at = now(), attempts = e.attempts + 1, last_error = null
    where e.id = v_id and e.processed_at is null;
    return found;
  end if;
  insert into public.stripe_events as e (id, type, stripe_created_at, payload, attempts, last_error, customer_id,
    unlinkable_at)
  values (v_id, service_role_store_stripe_event.type, created, payload, 1, left(error, 1000), v_customer,
    case when error_code = 'customer_not_linked' and v_customer is null then now() end)
  on conflict on constraint stripe_events_pkey do update
    set attempts = e.attempts + 1, last_error = excluded.last_error,
      unlinkable_at = coalesce(e.unlinkable_at, excluded.unlinkable_at)
    where e.processed_at is null;
  return false;
end;
$$;
revoke execute on function public.service_role_store_stripe_event(text, text, timestamptz, jsonb, text, text)
  from public, anon, authenticated;
grant execute on function public.service_role_store_stripe_event(text, text, timestamptz, jsonb, text, text)
  to service_role;

-- Events kept waiting for their customer's user (see service_role_store_stripe_event) whose customer is linked
-- now, oldest first: the caller applies them again (the link appeared after they came).
create function public.service_role_waiting_stripe_events(customer_id text default null, max_events integer default 20)
returns table (id text, payload jsonb)
language plpgsql
stable
security definer
set search_path = ''
as $$
begin
  return query
  select e.id, e.payload from public.stripe_events e
  join public.customers c on c.stripe_customer_id = e.customer_id
  where e.processed_at is null
    and (service_role_waiting_stripe_events.customer_id is null or e.customer_id = service_role_waiting_stripe_events.customer_id)
  order by e.stripe_created_at, e.received_at
  limit greatest(max_events, 0);
end;
$$;
revoke execute on function public.service_role_waiting_stripe_events(text, integer) from public, anon, authenticated;
grant execute on function public.service_role_waiting_stripe_events(text, integer) to service_role;

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
-- Answers whether a link was dropped.
create function public.service_role_forget_customer(customer_id text) returns boolean
language plpgsql
security definer
set search_path = ''
as $$
begin
  insert into saasbase.deleted_customers (stripe_customer_id, user_id)
  values (customer_id, (select c.user_id from public.customers c where c.stripe_customer_id = customer_id))
  on conflict (stripe_customer_id) do nothing;
  delete from public.customers c where c.stripe_customer_id = customer_id;
  return found;
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

-- A refund of a credit-pack purchase (`p_amount_refunded`: all refunded on its payment so far): the refunded
-- share of its credits comes back out of the wallet, as far as they are unspent. Refunds only grow at Stripe,
-- so a repeated or late (smaller) refund changes nothing and a larger one claws back only the difference. A
-- refund of a purchase not recorded yet is kept (saasbase.early_refunds) and applied when it is. Answers
-- applied, or held. The caller holds the payment intent's lock.
create function saasbase.refund_purchase(p_payment_intent text, p_charge text, p_amount_refunded integer)
returns text
language plpgsql
set search_path = ''
as $$
declare
  v_purchase public.purchases;
  v_refunded integer;
begin
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

-- A refund (`p_total`: all refunded on it so far, as Stripe reports it) or a chargeback (`p_dispute`: its id,
-- `p_total` the disputed amount; counted apart, so the order of the two does not matter) of a subscription
-- invoice's payment: the plan credits it granted come back in proportion, as far as they are unspent, once
-- per returned amount. Answers applied or duplicate (a dispute seen before); refuses (PT409) an invoice not
-- recorded as paid yet.
create function saasbase.return_on_invoice(p_invoice text, p_total integer, p_dispute text) returns text
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
  select * into v_share from saasbase.take_back_share(v_invoice.user_id, v_invoice.credits_granted,
    v_invoice.amount_paid, v_invoice.refunded_cents, v_invoice.credits_clawed_back, v_invoice.id,
    'refund of invoice ' || v_invoice.id, 'invoice-returned:' || v_invoice.id, coalesce(p_dispute, v_invoice.id));
  update public.invoices set refunded_cents = v_invoice.refunded_cents,
    credits_clawed_back = credits_clawed_back + v_share.clawed
  where id = v_invoice.id;
  return 'applied';
end;
$$;

-- Money returned on a payment: a refund (charge.refunded; `amount`: all refunded on the charge so far, as
-- Stripe reports it, `return_id` the charge) or a chargeback (charge.dispute.funds_withdrawn, not an inquiry,
-- which takes no money; `amount` disputed, `return_id` the dispute, counted once, apart from refunds, so their
-- order does not matter). The credits the payment bought come back in proportion, as far as they are unspent:
-- a subscription invoice's plan credits (`invoice_id`, when the payment paid one; refused with PT409
-- invoice_not_recorded before its invoice.paid, for Stripe to deliver it again after), else the credit-pack
-- purchase of `payment_intent` (held when not recorded yet, and applied with it). Winning a dispute gives the
-- money back; the credits then come back by hand (admin_adjust_credits). Answers applied, held or duplicate (a
-- dispute seen before).
create function public.service_role_return_payment(
  kind text, return_id text, amount integer, payment_intent text, invoice_id text default null
) returns text
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_pi text := service_role_return_payment.payment_intent;
  v_purchase uuid;
begin
  if kind is null or kind not in ('refund', 'dispute') then
    perform saasbase.fail('PT422', 'invalid_kind', format('Money is returned as a refund or a dispute, not %L', kind));
  end if;
  if invoice_id is not null then
    return saasbase.return_on_invoice(invoice_id, greatest(amount, 0),
      case when kind = 'dispute' then return_id end);
  end if;
  if v_pi is null then
    return 'ignored'; -- a payment of neither (no payment intent): nothing of ours to take back
  end if;
  -- The purchase and what is returned on it serialize on the payment intent: a refund that arrives while the
  -- purchase is being recorded (not yet visible) waits for it instead of being parked where nobody looks again.
  perform pg_advisory_xact_lock(hashtextextended('payment:' || v_pi, 0));
  if kind = 'refund' then
    return saasbase.refund_purchase(v_pi, return_id, greatest(amount, 0));
  end if;
  if not saasbase.record_dispute(return_id, v_pi, amount) then
    return 'duplicate';
  end if;
  select p.id into v_purchase from public.purchases p where p.payment_intent_id = v_pi for update;
  if not found then
    return 'held'; -- counted when the purchase is recorded
  end if;
  perform saasbase.take_back_purchase(v_purchase, return_id);
  return 'applied';
end;
$$;
revoke execute on function public.service_role_return_payment(text, text, integer, text, text)
  from public, anon, authenticated;
grant execute on function public.service_role_return_payment(text, text, integer, text, text) to service_role;

-- A paid credit-pack checkout in one statement: the purchase row, its credits through the ledger (once per
-- checkout session) and the referral reward a first payment earns; returns the purchase. Without a user
-- (Stripe named nobody we know) nothing is recorded: PT409 customer_not_linked, so the event waits for the
-- customer's link.
create function public.service_role_record_credit_purchase(
  user_id uuid, checkout_session_id text, payment_intent_id text, pack_id text, credits integer,
  amount_cents integer, currency text, discount_percent integer
) returns public.purchases
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_user uuid := service_role_record_credit_purchase.user_id;
  v_session text := service_role_record_credit_purchase.checkout_session_id;
  v_pi text := service_role_record_credit_purchase.payment_intent_id;
  v_purchase public.purchases;
  v_early saasbase.early_refunds;
begin
  if v_user is null then
    perform saasbase.fail('PT409', 'customer_not_linked',
      format('Checkout %s belongs to no user we know yet', v_session));
  end if;
  if v_pi is not null then -- see service_role_return_payment
    perform pg_advisory_xact_lock(hashtextextended('payment:' || v_pi, 0));
  end if;
  insert into public.purchases (user_id, checkout_session_id, payment_intent_id, pack_id, credits, amount_cents,
    currency, discount_percent)
  values (v_user, v_session, v_pi, service_role_record_credit_purchase.pack_id, service_role_record_credit_purchase.credits,
    service_role_record_credit_purchase.amount_cents, service_role_record_credit_purchase.currency,
    service_role_record_credit_purchase.discount_percent)
  on conflict on constraint purchases_checkout_session_id_key do nothing;
  perform saasbase.credit(v_user, service_role_record_credit_purchase.credits, 'purchase', 'credit purchase',
    'checkout:' || v_session, saasbase.now(), null, coalesce(v_pi, v_session));
  -- Referral rewards live in the referrals migration; PL/pgSQL resolves the call when it runs.
  perform saasbase.referral_moment(v_user, 'first_payment');
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

-- An invoice event in one statement (invoice.paid, invoice.payment_failed): the invoice row, for its user
-- (PT409 customer_not_linked without one: the event waits for the customer's link), and returns it.
--
-- Paid: the plan's credits for the billing period the invoice opens, once per subscription period (the ledger
-- key `plan:<subscription>:<period start>`), however many invoices or events name it. A period opens with the
-- first invoice (subscription_create) and each renewal (subscription_cycle): the plan's whole credits. A plan
-- change that restarts the cycle (subscription_update, monthly to yearly) opens one too, but is paid for in
-- part by the unused time credited back: it grants the share of the credits paid in money (amount paid over
-- the price), so switching back and forth buys credits at the plan's own rate and no faster. The plan and the
-- period are those of `period_lines`: the invoice's subscription lines that are no proration, in the
-- invoice's order, as `[{ "price": "price_…", "period_start": <Unix seconds> }]` (the first whose price is a
-- plan's counts; proration lines, of either parent, bill the unused and added time of a change and open no
-- period). A paid invoice also earns the referral reward of a first payment.
--
-- Failed: the status (a paid invoice stays paid: a failure delivered late changes nothing) and one
-- "payment failed" email, unless the invoice is paid by now.
create function public.service_role_record_invoice(
  invoice_id text, user_id uuid, status text, subscription_id text, billing_reason text, amount_paid integer,
  amount_due integer, currency text, hosted_invoice_url text, period_lines jsonb default '[]'
) returns public.invoices
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_id text := service_role_record_invoice.invoice_id;
  v_user uuid := service_role_record_invoice.user_id;
  v_status text := service_role_record_invoice.status;
  v_subscription text := service_role_record_invoice.subscription_id;
  v_paid integer := greatest(coalesce(service_role_record_invoice.amount_paid, 0), 0);
  v_plan record;
  v_due integer := 0;
  v_granted integer := 0;
  v_invoice public.invoices;
begin
  if v_user is null then
    perform saasbase.fail('PT409', 'customer_not_linked', format('Invoice %s belongs to no user we know yet', v_id));
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
    if not (saasbase.credit(v_user, v_due, 'grant', v_plan.id || ' plan credits',
        case when v_subscription is not null and v_plan.period_start is not null
          then format('plan:%s:%s', v_subscription, v_plan.period_start) else 'invoice:' || v_id end,
        saasbase.now(), null, v_id)).replayed then
      v_granted := v_due;
    end if;
  end if;
  insert into public.invoices as i (id, user_id, subscription_id, status, amount_paid, amount_due, currency,
    credits_granted, hosted_invoice_url)
  values (v_id, v_user, v_subscription, v_status, v_paid, coalesce(service_role_record_invoice.amount_due, 0),
    coalesce(service_role_record_invoice.currency, 'usd'), v_granted, service_role_record_invoice.hosted_invoice_url)
  on conflict on constraint invoices_pkey do update set
    -- Paid is final: a payment_failed delivered late (after a retry of ours, say) does not undo it.
    status = case when i.status = 'paid' then 'paid' else excluded.status end,
    amount_paid = greatest(i.amount_paid, excluded.amount_paid),
    credits_granted = greatest(i.credits_granted, excluded.credits_granted)
  returning * into v_invoice;
  if v_status = 'paid' and v_paid > 0 then
    -- Referral rewards live in the referrals migration; PL/pgSQL resolves the call when it runs.
    perform saasbase.referral_moment(v_user, 'first_payment');
  elsif v_status = 'payment_failed' and v_invoice.status <> 'paid' then
    insert into public.email_outbox (user_id, template, dedupe_key, payload)
    values (v_user, 'payment_failed', 'payment_failed:' || v_id, jsonb_build_object('invoice', v_id,
      'amount_due', service_role_record_invoice.amount_due, 'currency', service_role_record_invoice.currency,
      'hosted_invoice_url', service_role_record_invoice.hosted_invoice_url))
    on conflict (dedupe_key) do nothing;
  end if;
  return v_invoice;
end;
$$;
revoke execute on function public.service_role_record_invoice(text, uuid, text, text, text, integer, integer, text,
  text, jsonb) from public, anon, authenticated;
grant execute on function public.service_role_record_invoice(text, uuid, text, text, text, integer, integer, text,
  text, jsonb) to service_role;
