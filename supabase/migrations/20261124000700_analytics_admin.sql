-- Analytics and the admin API. Clients record product events (installation tracking, MCP validation,
-- onboarding steps: seed 000) straight into `events` under RLS and a rate limit; metered usage is already in
-- the credit ledger. Admins get KPIs, user search, credit adjustments, role and plan changes and settings,
-- every write of theirs landing in the audit log.

create table public.events (
  id bigint generated always as identity primary key,
  -- e.g. installation.attempted, installation.validated, onboarding.completed, page.viewed
  name text not null check (name ~ '^[a-z][a-z0-9_.:-]{0,99}$'),
  properties jsonb not null default '{}' check (jsonb_typeof(properties) = 'object' and pg_column_size(properties) <= 8192),
  user_id uuid references auth.users (id) on delete cascade,
  anonymous_id text check (anonymous_id ~ '^[A-Za-z0-9_-]{8,128}$'),
  -- Anyone with the anon key writes anonymous events: a kilobyte of properties each, not eight.
  check (user_id is not null or pg_column_size(properties) <= 1024),
  occurred_at timestamptz not null default now(),
  received_at timestamptz not null default now(),
  check (user_id is not null or anonymous_id is not null)
);
comment on table public.events is 'Product analytics events from clients (rate-limited).';
create index events_name_time on public.events (name, occurred_at);
create index events_user_time on public.events (user_id, occurred_at) where user_id is not null;
create index events_user_received on public.events (user_id, received_at) where user_id is not null;
create index events_anon_time on public.events (anonymous_id, received_at) where anonymous_id is not null;
create index events_anon_received on public.events (received_at) where user_id is null;
-- The KPIs' activity by time range (admin_kpis).
create index events_user_occurred on public.events (occurred_at) where user_id is not null;

alter table public.events enable row level security;
create policy "Users record their own events" on public.events
  for insert to authenticated with check (user_id = (select auth.uid()));
create policy "Anonymous visitors record anonymous events" on public.events
  for insert to anon with check (user_id is null and anonymous_id is not null);
create policy "Events are readable by their user and admins" on public.events
  for select to authenticated using (user_id = (select auth.uid()) or (select saasbase.is_admin()));
grant insert (name, properties, user_id, anonymous_id, occurred_at) on public.events to anon, authenticated;
grant select on public.events to authenticated;
grant select, insert, update, delete on public.events to service_role;

-- Per actor (user or anonymous id): at most 120 events a minute, and all anonymous visitors together at most
-- `anonymous.eventsPerMinuteTotal`; a timestamp from the future is clamped to the time received, one more than
-- a week old to a week ago (late events of an offline app count; a user cannot make themselves active on any
-- past day). Counted in SQL, so the limit holds however many API servers there are, and one at a time per
-- actor (and for all anonymous visitors) under an advisory lock, so parallel requests cannot each pass on
-- the others' uncommitted rows.
create function saasbase.limit_events() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_recent integer;
begin
  new.received_at := saasbase.now();
  new.occurred_at := greatest(least(new.occurred_at, new.received_at), new.received_at - interval '7 days');
  if new.user_id is not null then
    perform pg_advisory_xact_lock(hashtextextended('events:' || new.user_id::text, 0));
    select count(*) into v_recent from public.events
    where user_id = new.user_id and received_at > new.received_at - interval '1 minute';
  else
    perform pg_advisory_xact_lock(hashtextextended('events:anonymous', 0));
    select count(*) into v_recent from public.events
    where user_id is null and anonymous_id = new.anonymous_id and received_at > new.received_at - interval '1 minute';
    -- Visitor ids cost nothing to make: all anonymous visitors together get `anonymous.eventsPerMinuteTotal`
    -- (signed-in users' events count for their users only, whatever anonymous_id they carry).
    if (select count(*) from public.events where user_id is null and received_at > new.received_at - interval '1 minute')
        >= (select s.anonymous_events_per_minute from saasbase.settings s) then
      perform saasbase.fail('PT429', 'rate_limited', 'Too many anonymous events this minute; try again shortly');
    end if;
  end if;
  if v_recent >= 120 then
    perform saasbase.fail('PT429', 'rate_limited', 'Too many events: at most 120 a minute');
  end if;
  return new;
end;
$$;
create trigger events_limit before insert on public.events
  for each row execute function saasbase.limit_events();

-- Key / JSON value settings for the product, written by admins through supabase-js; audited by trigger.
create table public.admin_settings (
  key text primary key check (key ~ '^[a-z][a-z0-9_.-]{0,99}$'),
  value jsonb not null,
  updated_by uuid references auth.users (id) on delete set null,
  updated_at timestamptz not null default now()
);
comment on table public.admin_settings is 'Admin-managed settings (key, JSON value); every change is audited.';
-- Deleting an admin's account sets updated_by to null: by index (Supabase's advisor flags unindexed FKs).
create index admin_settings_updated_by on public.admin_settings (updated_by);
alter table public.admin_settings enable row level security;
create policy "Admin settings are readable by admins" on public.admin_settings
  for select to authenticated using ((select saasbase.is_admin()));
create policy "Admin settings are written by admins" on public.admin_settings
  for insert to authenticated with check ((select saasbase.is_admin()));
create policy "Admin settings are updated by admins" on public.admin_settings
  for update to authenticated using ((select saasbase.is_admin())) with check ((select saasbase.is_admin()));
create policy "Admin settings are deleted by admins" on public.admin_settings
  for delete to authenticated using ((select saasbase.is_admin()));
grant select, insert, update, delete on public.admin_settings to authenticated, service_role;

create function saasbase.stamp_admin_settings() returns trigger
language plpgsql
set search_path = ''
as $$
begin
  new.updated_by := auth.uid();
  new.updated_at := now();
  return new;
end;
$$;
create trigger admin_settings_stamp before insert or update on public.admin_settings
  for each row execute function saasbase.stamp_admin_settings();

-- Audited after the fact, so an upsert (insert ... on conflict do update, supabase-js .upsert()) that updates
-- is logged as the update it is, and a renamed key under both names.
create function saasbase.audit_admin_settings() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  if tg_op = 'UPDATE' and new.key <> old.key then
    perform saasbase.audit(auth.uid(), 'admin_settings.delete', 'admin_setting', old.key,
      jsonb_build_object('old', old.value, 'new', null, 'renamed_to', new.key));
    perform saasbase.audit(auth.uid(), 'admin_settings.insert', 'admin_setting', new.key,
      jsonb_build_object('old', null, 'new', new.value, 'renamed_from', old.key));
    return null;
  end if;
  perform saasbase.audit(auth.uid(), 'admin_settings.' || lower(tg_op), 'admin_setting',
    coalesce(new.key, old.key), jsonb_build_object('old', case when tg_op <> 'INSERT' then old.value end,
      'new', case when tg_op <> 'DELETE' then new.value end));
  return null;
end;
$$;
create trigger admin_settings_audit after insert or update or delete on public.admin_settings
  for each row execute function saasbase.audit_admin_settings();

-- ---------------------------------------------------------------------------------------------------------
-- Admin RPC (SECURITY DEFINER; PT403 for anyone but an admin; every write audited)

create function saasbase.require_admin() returns uuid
language plpgsql stable
set search_path = ''
as $$
declare
  v_uid uuid := saasbase.require_user();
begin
  if not saasbase.is_admin() then
    perform saasbase.fail('PT403', 'admin_only', 'Admins only');
  end if;
  return v_uid;
end;
$$;

-- Users with plan, role, balances and last activity; `search` matches email or display name.
create function public.admin_search_users(search text default null, page_size integer default 50, page integer default 0)
returns table (
  id uuid, email text, display_name text, role text, plan_id text, credits bigint, cash_available_cents bigint,
  created_at timestamptz, last_active_at timestamptz
)
language plpgsql
stable
security definer
set search_path = ''
as $$
begin
  perform saasbase.require_admin();
  return query
  select p.id, p.email, p.display_name, p.role, saasbase.plan_of(p.id),
    coalesce(w.balance, 0), coalesce(c.available_cents, 0), p.created_at,
    greatest(u.last_sign_in_at,
      (select max(l.created_at) from public.credit_ledger l where l.user_id = p.id),
      (select max(e.occurred_at) from public.events e where e.user_id = p.id))
  from public.profiles p
  join auth.users u on u.id = p.id
  left join public.wallets w on w.user_id = p.id
  left join public.cash_wallets c on c.user_id = p.id
  where search is null or p.email ilike '%' || search || '%' or p.display_name ilike '%' || search || '%'
  order by p.created_at desc
  limit least(greatest(page_size, 1), 200) offset greatest(page, 0)::bigint * least(greatest(page_size, 1), 200);
end;
$$;
revoke execute on function public.admin_search_users(text, integer, integer) from public, anon;
grant execute on function public.admin_search_users(text, integer, integer) to authenticated;

-- What the admin writes answer (composite types, as every RPC result: see public.credit_grant).
create type public.credit_adjustment as (user_id uuid, amount bigint, balance bigint, replayed boolean);
create type public.role_assignment as (user_id uuid, role text);
-- plan_id null: the default plan.
create type public.plan_assignment as (user_id uuid, plan_id text);

-- Adds (amount > 0) or removes (amount < 0) credits, through the ledger, with a required reason.
create function public.admin_adjust_credits(user_id uuid, amount bigint, reason text, idempotency_key text default null)
returns public.credit_adjustment
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_admin uuid := saasbase.require_admin();
  v_at timestamptz := saasbase.now();
  v_balance bigint;
  v_prior public.credit_ledger;
begin
  if reason is null or char_length(trim(reason)) < 3 then
    perform saasbase.fail('PT422', 'reason_required', 'A reason (3 characters or more) is required');
  end if;
  if amount is null or amount = 0 or amount not between -1000000000000 and 1000000000000 then
    perform saasbase.fail('PT422', 'invalid_amount', 'The amount must be a non-zero number of credits, at most 10^12 either way');
  end if;
  -- With a key, a form submitted twice (a double click, a retry) adjusts once: the replay answers the first.
  if idempotency_key is not null then
    perform saasbase.require_key(idempotency_key);
    perform pg_advisory_xact_lock(hashtextextended(admin_adjust_credits.user_id::text || '/adjust/' || idempotency_key, 0));
    select * into v_prior from public.credit_ledger l
    where l.user_id = admin_adjust_credits.user_id and l.kind = 'adjustment'
      and l.idempotency_key = admin_adjust_credits.idempotency_key;
    if found then
      if v_prior.amount <> amount then
        perform saasbase.fail('PT409', 'idempotency_conflict', 'This idempotency key was used for another request');
      end if;
      return (admin_adjust_credits.user_id, amount, v_prior.balance_after, true)::public.credit_adjustment;
    end if;
  end if;
  if amount > 0 then
    v_balance := (saasbase.credit(admin_adjust_credits.user_id, amount, 'adjustment', reason, idempotency_key,
      v_at)).balance;
  else
    v_balance := saasbase.debit(admin_adjust_credits.user_id, -amount, v_at);
    perform saasbase.append_ledger(admin_adjust_credits.user_id, 'adjustment', amount, v_balance, v_at, p_reason => reason,
      p_key => idempotency_key);
  end if;
  perform saasbase.audit(v_admin, 'credits.adjust', 'user', admin_adjust_credits.user_id::text,
    jsonb_build_object('amount', amount, 'reason', reason, 'balance', v_balance));
  return (admin_adjust_credits.user_id, amount, v_balance, false)::public.credit_adjustment;
end;
$$;
revoke execute on function public.admin_adjust_credits(uuid, bigint, text, text) from public, anon;
grant execute on function public.admin_adjust_credits(uuid, bigint, text, text) to authenticated;

-- Sets a user's role in app_metadata (what their next token carries; the profile follows by trigger).
create function public.admin_set_role(user_id uuid, role text) returns public.role_assignment
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_admin uuid := saasbase.require_admin();
  v_old text;
begin
  if admin_set_role.role is null or admin_set_role.role not in ('admin', 'developer', 'customer') then
    perform saasbase.fail('PT422', 'invalid_role', 'role must be admin, developer or customer');
  end if;
  select u.raw_app_meta_data ->> 'role' into v_old from auth.users u where u.id = admin_set_role.user_id for update;
  if not found then
    perform saasbase.fail('PT404', 'user_not_found', 'No such user');
  end if;
  update auth.users u set raw_app_meta_data = coalesce(u.raw_app_meta_data, '{}') || jsonb_build_object('role', admin_set_role.role),
    updated_at = now()
  where u.id = admin_set_role.user_id;
  perform saasbase.audit(v_admin, 'user.set_role', 'user', admin_set_role.user_id::text,
    jsonb_build_object('old', v_old, 'new', admin_set_role.role));
  return (admin_set_role.user_id, admin_set_role.role)::public.role_assignment;
end;
$$;
revoke execute on function public.admin_set_role(uuid, text) from public, anon;
grant execute on function public.admin_set_role(uuid, text) to authenticated;

-- Sets a user's plan (null: the default plan). Billing events set it again when a subscription changes.
create function public.admin_set_plan(user_id uuid, plan_id text) returns public.plan_assignment
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
  select p.plan_id into v_old from public.profiles p where p.id = admin_set_plan.user_id for update;
  if not found then
    perform saasbase.fail('PT404', 'user_not_found', 'No such user');
  end if;
  update public.profiles p set plan_id = admin_set_plan.plan_id where p.id = admin_set_plan.user_id;
  perform saasbase.audit(v_admin, 'user.set_plan', 'user', admin_set_plan.user_id::text,
    jsonb_build_object('old', v_old, 'new', plan_id));
  return (admin_set_plan.user_id, admin_set_plan.plan_id)::public.plan_assignment;
end;
$$;
revoke execute on function public.admin_set_plan(uuid, text) from public, anon;
grant execute on function public.admin_set_plan(uuid, text) to authenticated;

-- The ledger by time, for admin_kpis' ranges: a BRIN index (the ledger is append-only, so its rows lie in
-- time order), which costs the charge path next to nothing.
create index credit_ledger_created_brin on public.credit_ledger using brin (created_at);

-- ---------------------------------------------------------------------------------------------------------
-- KPIs (admins). Definitions, for reading the figures:
--   active user on a day   an event or a metered use (ledger charge or reservation) by the user that day
--   DAU / WAU / MAU        distinct active users on `to_date`, in the 7 and the 30 days ending on it
--   credits consumed       net credits of charges and reservations (after settles and releases), per feature
--   revenue                credit purchases (less refunds) and paid invoices, in cents
--   paying user            one with a paid purchase or invoice; conversion = signups of the range paying by `to_date`
--   in force on a day      a subscription started before it and not canceled before it (whatever its current
--                          status, unless that is incomplete, incomplete_expired, unpaid or paused)
--   MRR                    subscriptions in force at the end of `to_date`, yearly prices counted /12
--   churn                  of the subscriptions in force on `from_date`, the share canceled in the range
--   buckets                UTC days, ISO weeks or months, clipped to the range, so the series sums to the totals
--   onboarding funnel      signups of the range -> installation.attempted -> installation.validated
--                          -> first metered use -> paid
create type public.kpi_range as ("from" date, "to" date, bucket text);
create type public.kpi_totals as (
  signups bigint,
  active_users bigint,
  dau bigint,
  wau bigint,
  mau bigint,
  credits_consumed bigint,
  revenue_cents bigint,
  paying_users bigint,
  new_paying_users bigint,
  -- 0 to 1, four decimals
  conversion_rate numeric,
  mrr_cents bigint,
  churned_subscriptions bigint,
  -- 0 to 1, four decimals
  churn_rate numeric,
  revenue_per_user_cents bigint,
  revenue_per_paying_user_cents bigint
);
-- Credits consumed per feature (feature null: credits of no feature).
create type public.feature_credits as (feature text, credits bigint);
create type public.funnel_step as (step text, users bigint);
-- One bucket of the series: `start` its first moment (clipped to the range).
create type public.kpi_bucket as (
  start timestamptz,
  signups bigint,
  active_users bigint,
  credits_consumed bigint,
  revenue_cents bigint,
  new_paying_users bigint,
  churned_subscriptions bigint
);
create type public.kpi_report as (
  "range" public.kpi_range,
  totals public.kpi_totals,
  credits_by_feature public.feature_credits[],
  funnel public.funnel_step[],
  series public.kpi_bucket[]
);

create function public.admin_kpis(from_date date, to_date date, bucket text default 'day') returns public.kpi_report
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
    select l.user_id, l.created_at from public.credit_ledger l
    where l.kind in ('charge', 'reserve') and l.created_at >= v_from - interval '30 days' and l.created_at < v_to
  ),
  payments as (
    select p.user_id, p.created_at as at, (p.amount_cents - p.refunded_cents)::bigint as cents from public.purchases p
    where p.amount_cents - p.refunded_cents > 0 -- a free (fully discounted) or fully refunded purchase pays nothing
    union all
    select i.user_id, i.created_at, i.amount_paid::bigint from public.invoices i where i.status = 'paid' and i.amount_paid > 0
  ),
  first_payment as (select user_id, min(at) as at from payments group by user_id),
  signups as (select u.id, u.created_at from auth.users u where u.created_at >= v_from and u.created_at < v_to),
  consumed as (
    select l.feature_id, -sum(l.amount)::bigint as credits from public.credit_ledger l
    where l.kind in ('charge', 'reserve', 'settle', 'release') and l.created_at >= v_from and l.created_at < v_to
    group by l.feature_id
  ),
  subs as (
    select s.*, case x.billing_interval when 'year' then round(x.unit_amount / 12.0) else x.unit_amount end as monthly_cents
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
      (select case when count(*) = 0 then 0 else round(count(f.user_id)::numeric / count(*), 4) end
        from signups s left join first_payment f on f.user_id = s.id and f.at < v_to),
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
      ('first_metered_use', (select count(distinct l.user_id) from public.credit_ledger l
        join signups s on s.id = l.user_id where l.kind in ('charge', 'reserve') and l.created_at < v_to))::public.funnel_step,
      ('paid', (select count(*) from first_payment f join signups s on s.id = f.user_id
        where f.at < v_to))::public.funnel_step
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
revoke execute on function public.admin_kpis(date, date, text) from public, anon;
grant execute on function public.admin_kpis(date, date, text) to authenticated;
