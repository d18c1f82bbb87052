-- Catalog: what SQL needs to know of the product config (plans, metered features, free quotas, credit
-- packs, chat's personas and models with their prices). saasbase.config.ts is the source; `npm run config:sync` writes it here through
-- service_role_sync_config, so SQL rules and edge functions agree. Readable by anyone (a pricing page).

create table public.features (
  id text primary key check (id ~ '^[a-z][a-z0-9_-]{0,62}$'),
  name text not null,
  credits integer not null check (credits >= 0),
  unit text not null default 'use',
  active boolean not null default true,
  updated_at timestamptz not null default now()
);
comment on table public.features is 'Metered features and their credit cost per unit, synced from saasbase.config.ts.';

create table public.plans (
  id text primary key check (id ~ '^[a-z][a-z0-9_-]{0,62}$'),
  name text not null,
  description text not null default '',
  price_monthly_cents integer not null check (price_monthly_cents >= 0),
  price_yearly_cents integer check (price_yearly_cents >= 0),
  monthly_credits integer not null default 0 check (monthly_credits >= 0),
  discount_percent smallint not null default 0 check (discount_percent between 0 and 100),
  sort_order integer not null default 0,
  is_default boolean not null default false,
  -- A plan removed from the config is deactivated, not deleted: subscribers may still hold it.
  active boolean not null default true,
  updated_at timestamptz not null default now()
);
comment on table public.plans is 'Subscription plans, synced from saasbase.config.ts.';
create unique index plans_one_default on public.plans (is_default) where is_default;

create table public.plan_quotas (
  plan_id text not null references public.plans (id) on delete cascade,
  feature_id text not null references public.features (id) on delete cascade,
  -- Free uses per period before credits are charged; or unlimited (no credits at all).
  period text check (period in ('day', 'month', 'lifetime')),
  free_limit integer check (free_limit >= 0),
  -- Past the free uses: 'credits' charges the feature's price, 'block' refuses (a rate limit).
  overage text not null default 'credits' check (overage in ('credits', 'block')),
  unlimited boolean not null default false,
  primary key (plan_id, feature_id),
  check (unlimited = (period is null and free_limit is null))
);
comment on table public.plan_quotas is 'Free allowance per plan and feature, synced from saasbase.config.ts.';
create index plan_quotas_feature_id on public.plan_quotas (feature_id);

create table public.credit_packs (
  id text primary key check (id ~ '^[a-z][a-z0-9_-]{0,62}$'),
  name text not null,
  credits integer not null check (credits > 0),
  price_cents integer not null check (price_cents > 0),
  sort_order integer not null default 0,
  active boolean not null default true,
  updated_at timestamptz not null default now()
);
comment on table public.credit_packs is 'One-time credit packs, synced from saasbase.config.ts.';

-- Chat's price: an answered message costs its persona's credits_per_message plus its model's
-- credits_per_1k_tokens for every started 1,000 tokens (saasbase.chat_price).
create table public.chat_personas (
  id text primary key check (id ~ '^[a-z][a-z0-9_-]{0,62}$'),
  name text not null,
  credits_per_message integer not null check (credits_per_message >= 0),
  active boolean not null default true,
  updated_at timestamptz not null default now()
);
comment on table public.chat_personas is 'Chat personas and their price per message, synced from saasbase.config.ts.';

create table public.chat_models (
  -- A provider's model name, as the config spells it.
  id text primary key check (char_length(id) between 1 and 200),
  -- Fractional rates are allowed (0.5 credits per 1,000 tokens): the sum is rounded up once.
  credits_per_1k_tokens numeric not null check (credits_per_1k_tokens >= 0),
  active boolean not null default true,
  updated_at timestamptz not null default now()
);
comment on table public.chat_models is 'Chat models and their price per 1,000 tokens, synced from saasbase.config.ts.';

-- Scalar product settings SQL rules need (sign-up credits, reservation TTL, ...). Private: not an API table.
create table saasbase.settings (
  id boolean primary key default true check (id),
  signup_credits integer not null default 0 check (signup_credits >= 0),
  grant_expiry_days integer check (grant_expiry_days > 0),
  -- Minutes (a fraction is seconds: tests live through a reservation's lifetime without waiting 10 minutes).
  reservation_ttl_minutes numeric not null default 15 check (reservation_ttl_minutes > 0),
  anonymous_chat_per_day integer not null default 0 check (anonymous_chat_per_day >= 0),
  anonymous_chat_total_per_day integer not null default 1000 check (anonymous_chat_total_per_day >= 0),
  anonymous_events_per_minute integer not null default 600 check (anonymous_events_per_minute >= 0),
  conversations_per_hour integer not null default 100 check (conversations_per_hour >= 0),
  product_url text not null default 'http://localhost:3000',
  -- Referral rewards (config `referrals`).
  referrer_credits integer not null default 0 check (referrer_credits >= 0),
  referrer_cash_cents integer not null default 0 check (referrer_cash_cents >= 0),
  referred_credits integer not null default 0 check (referred_credits >= 0),
  referral_pay_when text not null default 'email_confirmed' check (referral_pay_when in ('signup', 'email_confirmed', 'first_payment')),
  referral_monthly_cap integer not null default 0 check (referral_monthly_cap >= 0),
  min_cashout_cents integer not null default 0 check (min_cashout_cents >= 0),
  currency text not null default 'usd',
  -- Credits bought as a custom amount (config `purchase`): the bounds of one purchase in cents, and whole
  -- credits a dollar (public.credit_amount_price).
  purchase_min_cents integer not null default 500 check (purchase_min_cents > 0),
  purchase_max_cents integer not null default 100000 check (purchase_max_cents > 0),
  credits_per_dollar integer not null default 100 check (credits_per_dollar > 0),
  updated_at timestamptz not null default now()
);
comment on table saasbase.settings is 'One row: scalar product settings, synced from saasbase.config.ts.';
insert into saasbase.settings default values;
grant select, update on saasbase.settings to service_role;

alter table public.features enable row level security;
alter table public.plans enable row level security;
alter table public.plan_quotas enable row level security;
alter table public.credit_packs enable row level security;
alter table public.chat_personas enable row level security;
alter table public.chat_models enable row level security;

create policy "Features are readable by everyone" on public.features
  for select to anon, authenticated using (true);
create policy "Plans are readable by everyone" on public.plans
  for select to anon, authenticated using (true);
create policy "Plan quotas are readable by everyone" on public.plan_quotas
  for select to anon, authenticated using (true);
create policy "Credit packs are readable by everyone" on public.credit_packs
  for select to anon, authenticated using (true);
create policy "Chat personas are readable by everyone" on public.chat_personas
  for select to anon, authenticated using (true);
create policy "Chat models are readable by everyone" on public.chat_models
  for select to anon, authenticated using (true);

-- Read by anyone (a pricing page); written only by the config sync (the service role): clients have no write
-- privilege at all, not even one RLS would refuse.
grant select on public.features, public.plans, public.plan_quotas, public.credit_packs, public.chat_personas,
  public.chat_models to anon, authenticated;
grant select, insert, update, delete on public.features, public.plans, public.plan_quotas, public.credit_packs,
  public.chat_personas, public.chat_models to service_role;

-- What a sync answers: how many of each the catalog holds now (active ones; every quota). A composite type, as
-- every RPC result: `supabase gen types` describes it (see public.credit_grant).
create type public.config_sync_summary as (
  features bigint, plans bigint, plan_quotas bigint, credit_packs bigint, chat_personas bigint, chat_models bigint
);

-- Upserts the catalog in one transaction. `catalog` holds rows in column names:
-- { settings: {...}, features: [...], plans: [...], plan_quotas: [...], credit_packs: [...], chat_personas: [...],
-- chat_models: [...] }. Plans, features, packs, personas and models missing from it are deactivated (history
-- may reference them); quotas are replaced.
create function public.service_role_sync_config(catalog jsonb)
returns public.config_sync_summary
language plpgsql
set search_path = ''
as $$
begin
  if jsonb_typeof(catalog -> 'plans') is distinct from 'array'
    or jsonb_typeof(catalog -> 'features') is distinct from 'array' then
    raise exception 'catalog needs plans and features arrays' using errcode = '22023';
  end if;

  if catalog ? 'settings' then
    update saasbase.settings s set
      signup_credits = coalesce(r.signup_credits, s.signup_credits),
      grant_expiry_days = r.grant_expiry_days,
      reservation_ttl_minutes = coalesce(r.reservation_ttl_minutes, s.reservation_ttl_minutes),
      anonymous_chat_per_day = coalesce(r.anonymous_chat_per_day, s.anonymous_chat_per_day),
      anonymous_chat_total_per_day = coalesce(r.anonymous_chat_total_per_day, s.anonymous_chat_total_per_day),
      anonymous_events_per_minute = coalesce(r.anonymous_events_per_minute, s.anonymous_events_per_minute),
      conversations_per_hour = coalesce(r.conversations_per_hour, s.conversations_per_hour),
      product_url = coalesce(r.product_url, s.product_url),
      referrer_credits = coalesce(r.referrer_credits, s.referrer_credits),
      referrer_cash_cents = coalesce(r.referrer_cash_cents, s.referrer_cash_cents),
      referred_credits = coalesce(r.referred_credits, s.referred_credits),
      referral_pay_when = coalesce(r.referral_pay_when, s.referral_pay_when),
      referral_monthly_cap = coalesce(r.referral_monthly_cap, s.referral_monthly_cap),
      min_cashout_cents = coalesce(r.min_cashout_cents, s.min_cashout_cents),
      currency = coalesce(r.currency, s.currency),
      purchase_min_cents = coalesce(r.purchase_min_cents, s.purchase_min_cents),
      purchase_max_cents = coalesce(r.purchase_max_cents, s.purchase_max_cents),
      credits_per_dollar = coalesce(r.credits_per_dollar, s.credits_per_dollar),
      updated_at = now()
    from jsonb_populate_record(null::saasbase.settings, catalog -> 'settings') r
    where s.id;
  end if;

  insert into public.features as f (id, name, credits, unit, active, updated_at)
  select r.id, r.name, r.credits, coalesce(r.unit, 'use'), true, now()
  from jsonb_populate_recordset(null::public.features, catalog -> 'features') r
  on conflict (id) do update
    set name = excluded.name, credits = excluded.credits, unit = excluded.unit, active = true, updated_at = now()
    where (f.name, f.credits, f.unit, f.active) is distinct from (excluded.name, excluded.credits, excluded.unit, true);
  update public.features set active = false, updated_at = now()
  where active and id not in (select r ->> 'id' from jsonb_array_elements(catalog -> 'features') r);

  -- Clear the old default first so the one-default index holds mid-statement.
  update public.plans set is_default = false
  where is_default and id <> coalesce((
    select r ->> 'id' from jsonb_array_elements(catalog -> 'plans') r where (r ->> 'is_default')::boolean
  ), '');
  insert into public.plans as p (id, name, description, price_monthly_cents, price_yearly_cents, monthly_credits,
    discount_percent, sort_order, is_default, active, updated_at)
  select r.id, r.name, coalesce(r.description, ''), r.price_monthly_cents, r.price_yearly_cents,
    coalesce(r.monthly_credits, 0), coalesce(r.discount_percent, 0), coalesce(r.sort_order, 0),
    coalesce(r.is_default, false), true, now()
  from jsonb_populate_recordset(null::public.plans, catalog -> 'plans') r
  on conflict (id) do update
    set name = excluded.name, description = excluded.description,
      price_monthly_cents = excluded.price_monthly_cents, price_yearly_cents = excluded.price_yearly_cents,
      monthly_credits = excluded.monthly_credits, discount_percent = excluded.discount_percent,
      sort_order = excluded.sort_order, is_default = excluded.is_default, active = true, updated_at = now();
  update public.plans set active = false, is_default = false, updated_at = now()
  where active and id not in (select r ->> 'id' from jsonb_array_elements(catalog -> 'plans') r);

  -- The config's plans get their quotas anew; a plan removed from it keeps its own (it is only deactivated:
  -- subscribers may still hold it, and should keep what they pay for).
  delete from public.plan_quotas q
  where q.plan_id in (select r ->> 'id' from jsonb_array_elements(catalog -> 'plans') r);
  insert into public.plan_quotas (plan_id, feature_id, period, free_limit, overage, unlimited)
  select r.plan_id, r.feature_id, r.period, r.free_limit, coalesce(r.overage, 'credits'), coalesce(r.unlimited, false)
  from jsonb_populate_recordset(null::public.plan_quotas, coalesce(catalog -> 'plan_quotas', '[]')) r;

  insert into public.credit_packs as c (id, name, credits, price_cents, sort_order, active, updated_at)
  select r.id, r.name, r.credits, r.price_cents, coalesce(r.sort_order, 0), true, now()
  from jsonb_populate_recordset(null::public.credit_packs, coalesce(catalog -> 'credit_packs', '[]')) r
  on conflict (id) do update
    set name = excluded.name, credits = excluded.credits, price_cents = excluded.price_cents,
      sort_order = excluded.sort_order, active = true, updated_at = now();
  update public.credit_packs set active = false, updated_at = now()
  where active and id not in (
    select r ->> 'id' from jsonb_array_elements(coalesce(catalog -> 'credit_packs', '[]')) r
  );

  insert into public.chat_personas as c (id, name, credits_per_message, active, updated_at)
  select r.id, r.name, r.credits_per_message, true, now()
  from jsonb_populate_recordset(null::public.chat_personas, coalesce(catalog -> 'chat_personas', '[]')) r
  on conflict (id) do update
    set name = excluded.name, credits_per_message = excluded.credits_per_message, active = true, updated_at = now();
  update public.chat_personas set active = false, updated_at = now()
  where active and id not in (
    select r ->> 'id' from jsonb_array_elements(coalesce(catalog -> 'chat_personas', '[]')) r
  );

  insert into public.chat_models as c (id, credits_per_1k_tokens, active, updated_at)
  select r.id, r.credits_per_1k_tokens, true, now()
  from jsonb_populate_recordset(null::public.chat_models, coalesce(catalog -> 'chat_models', '[]')) r
  on conflict (id) do update
    set credits_per_1k_tokens = excluded.credits_per_1k_tokens, active = true, updated_at = now();
  update public.chat_models set active = false, updated_at = now()
  where active and id not in (
    select r ->> 'id' from jsonb_array_elements(coalesce(catalog -> 'chat_models', '[]')) r
  );

  return (
    (select count(*) from public.features where active),
    (select count(*) from public.plans where active),
    (select count(*) from public.plan_quotas),
    (select count(*) from public.credit_packs where active),
    (select count(*) from public.chat_personas where active),
    (select count(*) from public.chat_models where active)
  )::public.config_sync_summary;
end;
$$;
revoke execute on function public.service_role_sync_config(jsonb) from public, anon, authenticated;
grant execute on function public.service_role_sync_config(jsonb) to service_role;

-- The price of one answered message: the persona's price per message plus the model's rate for every started
-- 1,000 tokens (prompt + completion, as the model counts them; counting stays with the tokenizers in the chat
-- function). A persona or model the catalog does not hold (or no longer: inactive) is 404, never priced at 0.
create function saasbase.chat_price(p_persona text, p_model text, p_tokens bigint) returns bigint
language plpgsql
stable
set search_path = ''
as $$
declare
  v_per_message integer := (select p.credits_per_message from public.chat_personas p where p.id = p_persona and p.active);
  v_per_1k numeric := (select m.credits_per_1k_tokens from public.chat_models m where m.id = p_model and m.active);
begin
  if v_per_message is null then
    perform saasbase.fail('PT404', 'unknown_persona', format('No persona "%s" in the catalog', p_persona));
  end if;
  if v_per_1k is null then
    perform saasbase.fail('PT404', 'unknown_model', format('No model "%s" in the catalog', p_model));
  end if;
  if p_tokens is null or p_tokens < 0 then
    perform saasbase.fail('PT400', 'bad_request', 'Token counts are whole numbers, 0 or more');
  end if;
  return v_per_message + ceil(p_tokens * v_per_1k / 1000)::bigint;
end;
$$;
revoke execute on function saasbase.chat_price(text, text, bigint) from public, anon, authenticated;
grant execute on function saasbase.chat_price(text, text, bigint) to service_role;
