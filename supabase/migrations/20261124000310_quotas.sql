-- Quotas: free uses per plan, feature and period (the catalog's plan_quotas), counted per user in
-- usage_counters. A period is a key (`day:2026-11-24`, `month:2026-11`, `lifetime`), so a new period is a new
-- counter row and rollover needs no reset job. `overage: "block"` makes a used-up quota a rate limit (PT429);
-- otherwise the uses past it are paid in credits through the ledger (000300).
--
-- Lock order, everywhere: a quota counter before the wallet (take_quota runs before any debit).

-- Free uses per user, feature and period (a new period is a new row: rollover needs no reset job).
create table public.usage_counters (
  user_id uuid not null,
  feature_id text not null,
  period_key text not null,
  used integer not null default 0 check (used >= 0),
  updated_at timestamptz not null default now(),
  primary key (user_id, feature_id, period_key)
);
comment on table public.usage_counters is 'Free-quota consumption per user, feature and period.';

alter table public.usage_counters enable row level security;
create policy "Usage counters are readable by their owner and admins" on public.usage_counters
  for select to authenticated using (user_id = (select auth.uid()) or (select saasbase.is_admin()));
-- Read only: counters move only through the functions.
grant select on public.usage_counters to authenticated, service_role;

-- ---------------------------------------------------------------------------------------------------------
-- Internals (run as the owner from the SECURITY DEFINER API; granted to nobody)

-- Quota periods roll over by themselves: a use counts against the period its time falls in (UTC).
create function saasbase.period_key(period text, at timestamptz) returns text
language plpgsql stable
set search_path = ''
as $$
begin
  return case period
    when 'day' then 'day:' || to_char(at at time zone 'UTC', 'YYYY-MM-DD')
    when 'month' then 'month:' || to_char(at at time zone 'UTC', 'YYYY-MM')
    when 'lifetime' then 'lifetime'
  end;
end;
$$;

create function saasbase.period_end(period text, at timestamptz) returns timestamptz
language sql stable
set search_path = ''
as $$
  select case period
    when 'day' then (date_trunc('day', at at time zone 'UTC') + interval '1 day') at time zone 'UTC'
    when 'month' then (date_trunc('month', at at time zone 'UTC') + interval '1 month') at time zone 'UTC'
  end
$$;

-- A user's plan: the profile's (set by billing or an admin), else the default plan.
create function saasbase.plan_of(p_user uuid) returns text
language plpgsql stable
set search_path = ''
as $$
begin
  return coalesce((select p.plan_id from public.profiles p where p.id = p_user),
                  (select d.id from public.plans d where d.is_default));
end;
$$;

-- What one use of a feature costs this user now: the plan's rule for it and the quota used so far.
-- No row for an unknown or retired feature. Without a plan (none synced yet) a feature is simply paid.
create function saasbase.feature_rule(p_user uuid, p_feature text, p_at timestamptz)
returns table (
  plan_id text, unit_credits integer, unlimited boolean, period text, period_key text, free_limit integer,
  overage text, used integer, discount_percent smallint
)
language plpgsql stable
set search_path = ''
as $$
declare
  v_plan text := saasbase.plan_of(p_user);
begin
  return query
  select pl.id, f.credits, coalesce(q.unlimited, false), q.period, saasbase.period_key(q.period, p_at),
    q.free_limit, coalesce(q.overage, 'credits'), coalesce(c.used, 0), coalesce(pl.discount_percent, 0::smallint)
  from public.features f
  left join public.plans pl on pl.id = v_plan
  left join public.plan_quotas q on q.plan_id = pl.id and q.feature_id = f.id
  left join public.usage_counters c
    on c.user_id = p_user and c.feature_id = f.id and c.period_key = saasbase.period_key(q.period, p_at)
  where f.id = p_feature and f.active;
end;
$$;

-- Takes up to `p_quantity` free units from the quota (locking its counter); returns how many were free.
create function saasbase.take_free_units(
  p_user uuid, p_feature text, p_period_key text, p_limit integer, p_quantity integer, p_at timestamptz
) returns integer
language plpgsql
set search_path = ''
as $$
declare
  v_used integer;
  v_free integer;
begin
  insert into public.usage_counters (user_id, feature_id, period_key, used, updated_at)
  values (p_user, p_feature, p_period_key, 0, p_at)
  on conflict (user_id, feature_id, period_key) do nothing;
  select used into v_used from public.usage_counters
  where user_id = p_user and feature_id = p_feature and period_key = p_period_key
  for update;
  v_free := least(p_quantity, greatest(p_limit - v_used, 0));
  if v_free > 0 then
    update public.usage_counters set used = used + v_free, updated_at = p_at
    where user_id = p_user and feature_id = p_feature and period_key = p_period_key;
  end if;
  return v_free;
end;
$$;

create function saasbase.unknown_feature(p_feature text) returns void
language sql
set search_path = ''
as $$
  select saasbase.fail('PT404', 'unknown_feature', format('Unknown feature %L', p_feature))
$$;

create function saasbase.require_quantity(quantity integer) returns void
language plpgsql immutable
set search_path = ''
as $$
begin
  if quantity is null or quantity not between 1 and 1000000 then
    perform saasbase.fail('PT422', 'invalid_quantity', 'quantity must be between 1 and 1000000');
  end if;
end;
$$;

-- Applies the plan's rule for one use of a feature: unlimited, free units from the period's quota, or
-- PT429 when the quota is used up and the plan blocks overage. Returns the price per paid unit, the free
-- units taken and the counter they came from. Unknown or retired features: PT404.
create function saasbase.take_quota(
  p_user uuid, p_feature text, p_quantity integer, p_at timestamptz,
  out unit_credits integer, out free_units integer, out period_key text
)
language plpgsql
set search_path = ''
as $$
declare
  v_rule record;
begin
  select * into v_rule from saasbase.feature_rule(p_user, p_feature, p_at);
  if not found then
    perform saasbase.unknown_feature(p_feature);
  end if;
  unit_credits := v_rule.unit_credits;
  period_key := v_rule.period_key;
  free_units := 0;
  if v_rule.unlimited then
    free_units := p_quantity;
  elsif v_rule.period is not null then
    free_units := saasbase.take_free_units(p_user, p_feature, v_rule.period_key, v_rule.free_limit, p_quantity, p_at);
    if free_units < p_quantity and v_rule.overage = 'block' then
      perform saasbase.fail('PT429', 'rate_limited', format('The %s allowance of %s for %L is used up until %s',
        v_rule.period, v_rule.free_limit, p_feature, saasbase.period_end(v_rule.period, p_at)));
    end if;
  end if;
end;
$$;

-- ---------------------------------------------------------------------------------------------------------
-- The API

-- What check_feature answers (a composite type, as every RPC result: see public.credit_grant).
create type public.feature_check as (
  allowed boolean,
  -- unlimited | free_quota | credits | insufficient_credits | rate_limited
  reason text,
  feature text,
  -- The caller's plan (null before any plan is synced).
  plan text,
  -- Free uses left this period (null when unlimited).
  free_remaining integer,
  -- Credits `quantity` uses would cost now, after the free ones.
  credit_cost bigint,
  unit_credits integer,
  -- The plan's discount on credit packs, in percent.
  discount smallint,
  unlimited boolean,
  -- day | month | lifetime, null for a feature without a quota on the plan.
  period text,
  -- When the period's quota starts afresh (null for lifetime or no quota).
  resets_at timestamptz,
  balance bigint
);

-- Whether the caller may use a feature now, and on what terms (public.feature_check).
create function public.check_feature(feature text, quantity integer default 1) returns public.feature_check
language plpgsql
stable
security definer
set search_path = ''
as $$
declare
  v_uid uuid := saasbase.require_user();
  v_at timestamptz := saasbase.now();
  v_rule record;
  v_balance bigint;
  v_free_left integer;
  v_free integer;
  v_cost bigint;
  v_reason text;
begin
  perform saasbase.require_quantity(quantity);
  select * into v_rule from saasbase.feature_rule(v_uid, feature, v_at);
  if not found then
    perform saasbase.unknown_feature(feature);
  end if;
  -- The balance the next charge will find, with the due work it does first (saasbase.run_due, 000320; written
  -- by the next mutation, not here): overdue reservations back, less what they held of expired lots, less what
  -- has expired.
  select w.balance
    - coalesce((select sum(l.remaining) from public.credit_lots l
        where l.user_id = v_uid and l.remaining > 0 and l.expires_at <= v_at), 0)
    + coalesce((select sum(r.amount) from public.credit_reservations r
        where r.user_id = v_uid and r.status = 'open' and r.expires_at <= v_at), 0)
    - coalesce((select sum(h.amount) from public.credit_reservations r
        join saasbase.lot_holds h on h.reservation_id = r.id
        join public.credit_lots l on l.id = h.lot_id
        where r.user_id = v_uid and r.status = 'open' and r.expires_at <= v_at and l.expires_at <= v_at), 0)
  into v_balance from public.wallets w where w.user_id = v_uid;

  v_free_left := case when v_rule.unlimited then null
                      when v_rule.period is null then 0
                      else greatest(v_rule.free_limit - v_rule.used, 0) end;
  v_free := case when v_rule.unlimited then quantity else least(quantity, v_free_left) end;
  v_cost := (quantity - v_free)::bigint * v_rule.unit_credits;
  v_reason := case
    when v_rule.unlimited then 'unlimited'
    when v_free = quantity then 'free_quota'
    when v_rule.overage = 'block' and v_rule.period is not null then 'rate_limited'
    when coalesce(v_balance, 0) >= v_cost then 'credits'
    else 'insufficient_credits' end;
  return (v_reason in ('unlimited', 'free_quota', 'credits'), v_reason, feature, v_rule.plan_id, v_free_left, v_cost,
    v_rule.unit_credits, v_rule.discount_percent, v_rule.unlimited, v_rule.period,
    saasbase.period_end(v_rule.period, v_at), coalesce(v_balance, 0))::public.feature_check;
end;
$$;
revoke execute on function public.check_feature(text, integer) from public, anon;
grant execute on function public.check_feature(text, integer) to authenticated;
