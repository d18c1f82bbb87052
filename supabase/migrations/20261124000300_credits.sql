-- Credits: a wallet per user, the append-only ledger, expiring grant lots, reservations for long operations,
-- free quotas per plan / feature / period, and the SQL API every paid feature charges through.
--
-- Invariants, kept by doing every mutation in one transaction through the functions below:
--   wallets.balance  = sum(credit_ledger.amount) for the user, and never below zero;
--   wallets.reserved = sum(amount) of the user's open reservations;
--   wallets.expiring = sum(remaining) of the user's unexpired lots (<= balance).
-- Clients read their own rows; nobody writes these tables but the SECURITY DEFINER functions here, whose
-- errors carry a stable SQLSTATE (PT4xx: PostgREST answers HTTP 4xx for it, and so do the edge functions)
-- and a code in DETAIL.
--
-- The per-charge tables (ledger, usage, counters, reservations, lots) carry no foreign keys to auth.users or
-- features: each FK check locks the parent row (KEY SHARE), which on the charge path means WAL for every
-- insert and multixact contention on the one `features` row every concurrent charge shares. The functions
-- only write rows for a locked wallet and an active feature, and a deleted wallet takes its rows with it
-- (saasbase.delete_wallet_rows). bench/credits measures the difference.

-- The clock every rule reads: now(), unless a test moved it with `set local saasbase.now = '...'` (a custom
-- setting only a direct database session can set; PostgREST clients cannot).
-- (The small helpers on the charge path are PL/pgSQL, not SQL: a SQL function with SET search_path is never
-- inlined and is planned again on every call, while PL/pgSQL keeps its plans for the session.)
create function saasbase.now() returns timestamptz
language plpgsql stable
set search_path = ''
as $$
begin
  return coalesce(nullif(current_setting('saasbase.now', true), '')::timestamptz, now());
end;
$$;

create function saasbase.fail(state text, code text, message text) returns void
language plpgsql
set search_path = ''
as $$
begin
  raise exception using errcode = state, detail = code, message = message;
end;
$$;

-- The caller's user id, or PT401: a signed-in user's JWT claims, as PostgREST (or asCaller) set them.
-- Reads the claims once, where auth.uid() and auth.role() would parse them twice.
create function saasbase.require_user() returns uuid
language plpgsql stable
set search_path = ''
as $$
declare
  v_claims jsonb := nullif(current_setting('request.jwt.claims', true), '')::jsonb;
begin
  if v_claims ->> 'role' is distinct from 'authenticated' or v_claims ->> 'sub' is null then
    perform saasbase.fail('PT401', 'not_authenticated', 'Sign in to use credits');
  end if;
  return (v_claims ->> 'sub')::uuid;
end;
$$;

create function saasbase.require_key(key text) returns text
language plpgsql immutable
set search_path = ''
as $$
begin
  if key is null or char_length(key) not between 1 and 200 then
    perform saasbase.fail('PT422', 'invalid_idempotency_key', 'An idempotency key of 1 to 200 characters is required');
  end if;
  return key;
end;
$$;

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

create table public.wallets (
  user_id uuid primary key references auth.users (id) on delete cascade,
  balance bigint not null default 0 check (balance >= 0),
  -- Held by open reservations (already taken out of balance); shown to the user as "reserved".
  reserved bigint not null default 0 check (reserved >= 0),
  -- Credits in unexpired lots; when > 0, spending draws from the lot that expires first.
  expiring bigint not null default 0 check (expiring >= 0 and expiring <= balance),
  -- Earliest moment work falls due (a lot expires, a reservation is overdue): done by the next operation on
  -- the wallet, so neither expiry nor abandoned reservations need a cron.
  next_due_at timestamptz,
  updated_at timestamptz not null default now()
);
comment on table public.wallets is 'Credit balance per user; equals the sum of the user''s ledger.';

create table public.credit_ledger (
  id bigint generated always as identity,
  user_id uuid not null,
  kind text not null check (kind in (
    'grant', 'purchase', 'charge', 'reserve', 'settle', 'release', 'refund', 'expiry', 'referral', 'adjustment'
  )),
  amount bigint not null,
  balance_after bigint not null check (balance_after >= 0),
  -- Metered use: every use of a feature is a `charge` row (amount 0 when the free quota covered it), or a
  -- reservation's `settle` row; so the ledger is also the usage record analytics read.
  feature_id text,
  quantity integer,
  free_units integer check (free_units >= 0),
  reason text,
  idempotency_key text,
  reservation_id uuid,
  -- An external reference: a Stripe payment intent or invoice, a referral.
  reference text,
  expires_at timestamptz,
  created_at timestamptz not null default now(),
  -- Keyed by user first: one index serves both uniqueness and "this user's rows, newest first".
  primary key (user_id, id)
);
comment on table public.credit_ledger is 'Append-only: every change of a wallet, one row each.';
create unique index credit_ledger_idempotency on public.credit_ledger (user_id, kind, idempotency_key)
  where idempotency_key is not null;

-- Grants that expire, spent soonest-expiring first; what is left of a lot at its expiry is written off.
create table public.credit_lots (
  id bigint generated always as identity primary key,
  user_id uuid not null,
  -- The grant's ledger row (written in the same transaction; no FK, see the top of this file).
  ledger_id bigint not null,
  amount bigint not null check (amount > 0),
  remaining bigint not null check (remaining between 0 and amount),
  expires_at timestamptz not null,
  created_at timestamptz not null default now()
);
comment on table public.credit_lots is 'Expiring grants and what remains of each.';
create index credit_lots_open on public.credit_lots (user_id, expires_at, id) where remaining > 0;

-- What a reservation drew from each lot: what it gives back returns to those lots, so expiring credits held and
-- released stay expiring (and still expire). Internal: read and written only by the functions below.
create table saasbase.lot_holds (
  reservation_id uuid not null,
  lot_id bigint not null,
  amount bigint not null check (amount > 0),
  primary key (reservation_id, lot_id)
);

create table public.credit_reservations (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null,
  feature_id text not null,
  quantity integer not null check (quantity > 0),
  -- Free quota units taken at reserve time (returned when the reservation is released, not when it is
  -- released for being overdue) and the counter they came from.
  free_units integer not null default 0 check (free_units >= 0),
  period_key text,
  amount bigint not null default 0 check (amount >= 0),
  settled_amount bigint check (settled_amount >= 0),
  status text not null default 'open' check (status in ('open', 'settled', 'released')),
  -- Taken by a server-side operation for the user (the chat function, before calling a model): only the
  -- server closes it. A user able to release it mid-answer would get the answer free and the quota back.
  held_by_server boolean not null default false,
  idempotency_key text not null,
  expires_at timestamptz not null,
  created_at timestamptz not null default now(),
  closed_at timestamptz,
  unique (user_id, idempotency_key)
);
comment on table public.credit_reservations is 'Credits held for a long operation (an AI stream) until settled or released.';
create index credit_reservations_open on public.credit_reservations (user_id, expires_at) where status = 'open';

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

-- Row-level security: owners and admins read; nobody writes but the functions below (which run as owner).
alter table public.wallets enable row level security;
alter table public.credit_ledger enable row level security;
alter table public.credit_lots enable row level security;
alter table public.credit_reservations enable row level security;
alter table public.usage_counters enable row level security;

create policy "Wallets are readable by their owner and admins" on public.wallets
  for select to authenticated using (user_id = (select auth.uid()) or (select saasbase.is_admin()));
create policy "Ledger rows are readable by their owner and admins" on public.credit_ledger
  for select to authenticated using (user_id = (select auth.uid()) or (select saasbase.is_admin()));
create policy "Credit lots are readable by their owner and admins" on public.credit_lots
  for select to authenticated using (user_id = (select auth.uid()) or (select saasbase.is_admin()));
create policy "Reservations are readable by their owner and admins" on public.credit_reservations
  for select to authenticated using (user_id = (select auth.uid()) or (select saasbase.is_admin()));
create policy "Usage counters are readable by their owner and admins" on public.usage_counters
  for select to authenticated using (user_id = (select auth.uid()) or (select saasbase.is_admin()));

-- Read only, by everyone who may: not even the service role writes these directly (money moves only through
-- the functions below).
grant select on public.wallets, public.credit_ledger, public.credit_lots, public.credit_reservations,
  public.usage_counters to authenticated, service_role;

-- The ledger is append-only: no update ever, no delete but the cascade of a deleted user.
create function saasbase.ledger_append_only() returns trigger
language plpgsql
set search_path = ''
as $$
begin
  if tg_op = 'DELETE' and not exists (select from auth.users where id = old.user_id) then
    return old;
  end if;
  raise exception '% is append-only', tg_table_name using errcode = 'PT403', detail = 'ledger_append_only';
end;
$$;
create trigger credit_ledger_append_only before update or delete on public.credit_ledger
  for each row execute function saasbase.ledger_append_only();

-- A wallet goes when its user is deleted (auth.users cascade); its rows go with it.
create function saasbase.delete_wallet_rows() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  delete from saasbase.lot_holds h using public.credit_reservations r
  where r.id = h.reservation_id and r.user_id = old.user_id;
  delete from public.credit_lots where user_id = old.user_id;
  delete from public.credit_ledger where user_id = old.user_id;
  delete from public.credit_reservations where user_id = old.user_id;
  delete from public.usage_counters where user_id = old.user_id;
  return old;
end;
$$;
create trigger wallets_delete_rows after delete on public.wallets
  for each row execute function saasbase.delete_wallet_rows();

-- ---------------------------------------------------------------------------------------------------------
-- Internals (run as the owner from the SECURITY DEFINER API; granted to nobody)

-- Appends a ledger row; the caller has already moved the wallet to `balance_after`.
create function saasbase.append_ledger(
  p_user uuid, p_kind text, p_amount bigint, p_balance_after bigint, p_at timestamptz,
  p_feature text default null, p_quantity integer default null, p_reason text default null,
  p_key text default null, p_reservation uuid default null, p_free_units integer default null,
  p_reference text default null, p_expires_at timestamptz default null
) returns bigint
language plpgsql
set search_path = ''
as $$
declare
  v_id bigint;
begin
  insert into public.credit_ledger (user_id, kind, amount, balance_after, feature_id, quantity, reason,
    idempotency_key, reservation_id, free_units, reference, expires_at, created_at)
  values (p_user, p_kind, p_amount, p_balance_after, p_feature, p_quantity, p_reason, p_key, p_reservation,
    p_free_units, p_reference, p_expires_at, p_at)
  returning id into v_id;
  return v_id;
end;
$$;

-- Draws `p_amount` from the lots that expire first (for a reservation, noting what came from which). The
-- caller has taken it off wallets.expiring in the same statement that lowered the balance, so
-- `expiring <= balance` holds at every step.
create function saasbase.consume_lots(p_user uuid, p_amount bigint, p_reservation uuid) returns void
language plpgsql
set search_path = ''
as $$
declare
  v_left bigint := p_amount;
  v_lot record;
  v_take bigint;
begin
  for v_lot in
    select id, remaining from public.credit_lots
    where user_id = p_user and remaining > 0
    order by expires_at, id
    for update
  loop
    exit when v_left = 0;
    v_take := least(v_lot.remaining, v_left);
    update public.credit_lots set remaining = remaining - v_take where id = v_lot.id;
    if p_reservation is not null then
      insert into saasbase.lot_holds (reservation_id, lot_id, amount) values (p_reservation, v_lot.id, v_take);
    end if;
    v_left := v_left - v_take;
  end loop;
end;
$$;

-- Of `p_refund` credits a closing reservation gives back, returns to the lots it drew from what the used part
-- did not consume (the used part spends the soonest-expiring credits first, so the latest-expiring lots get
-- theirs back first); returns how many went back to lots (see end_hold).
create function saasbase.return_to_lots(p_res public.credit_reservations, p_refund bigint) returns bigint
language plpgsql
set search_path = ''
as $$
declare
  v_left bigint;
  v_hold record;
  v_back bigint;
  v_total bigint := 0;
begin
  select greatest(coalesce(sum(h.amount), 0) - (p_res.amount - p_refund), 0) into v_left
  from saasbase.lot_holds h where h.reservation_id = p_res.id;
  for v_hold in
    select h.lot_id, h.amount from saasbase.lot_holds h join public.credit_lots l on l.id = h.lot_id
    where h.reservation_id = p_res.id
    order by l.expires_at desc, l.id desc
    for update of l
  loop
    exit when v_left = 0;
    v_back := least(v_hold.amount, v_left);
    update public.credit_lots set remaining = remaining + v_back where id = v_hold.lot_id;
    v_left := v_left - v_back;
    v_total := v_total + v_back;
  end loop;
  delete from saasbase.lot_holds where reservation_id = p_res.id;
  return v_total;
end;
$$;

-- Ends a reservation's hold on its wallet, released or settled: `p_back` of it goes back to the balance, and
-- to the lots it drew from as far as the used part did not consume them (so those credits stay expiring, and
-- the wallet is due again at the first open lot's expiry: one that expired meanwhile is written off by the next
-- operation); the whole hold leaves `reserved`. Returns the new balance.
create function saasbase.end_hold(p_res public.credit_reservations, p_back bigint, p_at timestamptz) returns bigint
language plpgsql
set search_path = ''
as $$
declare
  v_to_lots bigint := saasbase.return_to_lots(p_res, p_back);
  v_balance bigint;
begin
  update public.wallets
  set balance = balance + p_back, reserved = reserved - p_res.amount, expiring = expiring + v_to_lots,
    next_due_at = case when v_to_lots = 0 then next_due_at else least(next_due_at,
      (select min(l.expires_at) from public.credit_lots l where l.user_id = p_res.user_id and l.remaining > 0)) end,
    updated_at = p_at
  where user_id = p_res.user_id
  returning balance into v_balance;
  return v_balance;
end;
$$;

-- Releases an open reservation: its credits back to the balance and, with `p_return_quota`, its free quota
-- units back to the counter (the caller holds that counter's lock, taken before the wallet's).
create function saasbase.release(
  p_res public.credit_reservations, p_at timestamptz, p_reason text, p_return_quota boolean
) returns bigint
language plpgsql
set search_path = ''
as $$
declare
  v_balance bigint := saasbase.end_hold(p_res, p_res.amount, p_at);
begin
  perform saasbase.append_ledger(p_res.user_id, 'release', p_res.amount, v_balance, p_at,
    p_feature => p_res.feature_id, p_quantity => p_res.quantity, p_reason => p_reason, p_reservation => p_res.id);
  if p_return_quota and p_res.free_units > 0 then
    update public.usage_counters set used = greatest(used - p_res.free_units, 0), updated_at = p_at
    where user_id = p_res.user_id and feature_id = p_res.feature_id and period_key = p_res.period_key;
  end if;
  update public.credit_reservations set status = 'released', closed_at = p_at where id = p_res.id;
  return v_balance;
end;
$$;

-- Does what has fallen due on a wallet: writes off expired lots, releases overdue reservations, and sets
-- the next due time. Called under the wallet's row lock.
create function saasbase.run_due(p_user uuid, p_at timestamptz) returns void
language plpgsql
set search_path = ''
as $$
declare
  v_lot record;
  v_res public.credit_reservations;
  v_balance bigint;
begin
  -- Overdue reservations first: what they give back returns to their lots, which may have expired meanwhile
  -- and are written off next.
  for v_res in
    select * from public.credit_reservations
    where user_id = p_user and status = 'open' and expires_at <= p_at
    order by expires_at
    for update
  loop
    -- Its free quota units stay used: returning them would lock a quota counter under the wallet's lock, the
    -- reverse of every charge's order (counter, then wallet), and two such operations would deadlock.
    perform saasbase.release(v_res, p_at, 'reservation expired', false);
  end loop;

  for v_lot in
    select id, remaining from public.credit_lots
    where user_id = p_user and remaining > 0 and expires_at <= p_at
    order by expires_at, id
    for update
  loop
    update public.wallets
    set balance = balance - v_lot.remaining, expiring = expiring - v_lot.remaining, updated_at = p_at
    where user_id = p_user
    returning balance into v_balance;
    update public.credit_lots set remaining = 0 where id = v_lot.id;
    perform saasbase.append_ledger(p_user, 'expiry', -v_lot.remaining, v_balance, p_at, p_reason => 'expired');
  end loop;

  update public.wallets set next_due_at = (
    select min(t) from (
      select min(expires_at) as t from public.credit_lots where user_id = p_user and remaining > 0
      union all
      select min(expires_at) from public.credit_reservations where user_id = p_user and status = 'open'
    ) due
  )
  where user_id = p_user;
end;
$$;

-- Takes `p_amount` out of the balance, or raises PT402; returns the new balance. The common case is one
-- UPDATE that cannot overdraw (`where balance >= amount`). Wallets with expiring credits or due work take
-- the slow path under the row lock: due work first, then the debit drawn from the soonest-expiring lots.
create function saasbase.debit(p_user uuid, p_amount bigint, p_at timestamptz, p_reservation uuid default null)
returns bigint
language plpgsql
set search_path = ''
as $$
declare
  v_balance bigint;
  v_wallet public.wallets;
  v_from_lots bigint;
begin
  update public.wallets
  set balance = balance - p_amount, updated_at = p_at
  where user_id = p_user and balance >= p_amount and expiring = 0
    and (next_due_at is null or next_due_at > p_at)
  returning balance into v_balance;
  if found then
    return v_balance;
  end if;

  select * into v_wallet from public.wallets where user_id = p_user for update;
  if not found then
    perform saasbase.fail('PT404', 'wallet_not_found', 'This account has no wallet');
  end if;
  if v_wallet.next_due_at <= p_at then
    perform saasbase.run_due(p_user, p_at);
    select * into v_wallet from public.wallets where user_id = p_user;
  end if;
  if v_wallet.balance < p_amount then
    perform saasbase.fail('PT402', 'insufficient_credits',
      format('Not enough credits: %s needed, %s available', p_amount, v_wallet.balance));
  end if;
  v_from_lots := least(p_amount, v_wallet.expiring);
  update public.wallets
  set balance = balance - p_amount, expiring = expiring - v_from_lots, updated_at = p_at
  where user_id = p_user
  returning balance into v_balance;
  if v_from_lots > 0 then
    perform saasbase.consume_lots(p_user, v_from_lots, p_reservation);
  end if;
  return v_balance;
end;
$$;

-- Adds credits (grant, purchase, referral, refund to the user, positive adjustment). Idempotent per
-- (user, kind, key): a replay returns the first outcome. Expiring credits become a lot.
create function saasbase.credit(
  p_user uuid, p_amount bigint, p_kind text, p_reason text, p_key text, p_at timestamptz,
  p_expires_at timestamptz default null, p_reference text default null
) returns jsonb
language plpgsql
set search_path = ''
as $$
declare
  v_balance bigint;
  v_prior public.credit_ledger;
  v_ledger bigint;
begin
  -- Bounded, so that no sum of amounts can overflow a bigint (a 500 instead of a refusal).
  if p_amount is null or p_amount not between 1 and 1000000000000 then
    perform saasbase.fail('PT422', 'invalid_amount', 'The amount must be 1 to 10^12 credits');
  end if;
  if p_kind is null or p_kind not in ('grant', 'purchase', 'referral', 'refund', 'adjustment') then
    perform saasbase.fail('PT422', 'invalid_kind', format('Credits cannot be added as %L', p_kind));
  end if;
  if p_expires_at is not null and p_expires_at <= p_at then
    perform saasbase.fail('PT422', 'invalid_expiry', 'expires_at must be in the future');
  end if;

  -- The wallet's row lock serializes a user's grants, so the replay check below sees any committed twin.
  perform 1 from public.wallets where user_id = p_user for update;
  if not found then
    perform saasbase.fail('PT404', 'wallet_not_found', 'No wallet for this user');
  end if;
  if p_key is not null then
    select * into v_prior from public.credit_ledger
    where user_id = p_user and kind = p_kind and idempotency_key = p_key;
    if found then
      if v_prior.amount <> p_amount then
        perform saasbase.fail('PT409', 'idempotency_conflict', 'This idempotency key was used for another amount');
      end if;
      return jsonb_build_object('ledger_id', v_prior.id, 'amount', v_prior.amount,
        'balance', v_prior.balance_after, 'replayed', true);
    end if;
  end if;

  update public.wallets
  set balance = balance + p_amount,
    expiring = expiring + case when p_expires_at is null then 0 else p_amount end,
    next_due_at = case when p_expires_at is null then next_due_at else least(next_due_at, p_expires_at) end,
    updated_at = p_at
  where user_id = p_user
  returning balance into v_balance;
  v_ledger := saasbase.append_ledger(p_user, p_kind, p_amount, v_balance, p_at, p_reason => p_reason,
    p_key => p_key, p_reference => p_reference, p_expires_at => p_expires_at);
  if p_expires_at is not null then
    insert into public.credit_lots (user_id, ledger_id, amount, remaining, expires_at, created_at)
    values (p_user, v_ledger, p_amount, p_amount, p_expires_at, p_at);
  end if;
  return jsonb_build_object('ledger_id', v_ledger, 'amount', p_amount, 'balance', v_balance, 'replayed', false);
end;
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

-- Charges one use of a feature: free quota first, then credits (or PT429 when the plan blocks overage).
-- One transaction, cannot overdraw (PT402), idempotent per key: a replay returns the first outcome. Every
-- use is one `charge` ledger row (amount 0 when free), so the ledger is the usage record too.
create function public.charge_credits(feature text, quantity integer default 1, idempotency_key text default null)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
#variable_conflict use_column
declare
  v_uid uuid := saasbase.require_user();
  v_key text := saasbase.require_key(idempotency_key);
  v_at timestamptz := saasbase.now();
  v_use record;
  v_id bigint;
  v_prior public.credit_ledger;
  v_free integer := 0;
  v_credits bigint;
  v_balance bigint;
begin
  perform saasbase.require_quantity(quantity);

  -- One charge per (user, key) at a time: a concurrent twin waits here, and the check below (a new
  -- statement, so a new snapshot) then sees the first one's committed row and returns it.
  perform pg_advisory_xact_lock(hashtextextended(v_uid::text || '/' || v_key, 0));
  select * into v_prior from public.credit_ledger l
  where l.user_id = v_uid and l.kind = 'charge' and l.idempotency_key = v_key;
  if found then
    if v_prior.feature_id <> feature or v_prior.quantity <> quantity then
      perform saasbase.fail('PT409', 'idempotency_conflict', 'This idempotency key was used for another request');
    end if;
    return jsonb_build_object('usage_id', v_prior.id, 'feature', v_prior.feature_id, 'quantity', v_prior.quantity,
      'free_units', v_prior.free_units, 'credits_charged', -v_prior.amount, 'balance', v_prior.balance_after,
      'replayed', true);
  end if;

  select * into v_use from saasbase.take_quota(v_uid, feature, quantity, v_at);
  v_free := v_use.free_units;
  v_credits := (quantity - v_free)::bigint * v_use.unit_credits;
  if v_credits > 0 then
    v_balance := saasbase.debit(v_uid, v_credits, v_at);
  else
    select w.balance into v_balance from public.wallets w where w.user_id = v_uid;
    if not found then
      perform saasbase.fail('PT404', 'wallet_not_found', 'This account has no wallet');
    end if;
  end if;
  v_id := saasbase.append_ledger(v_uid, 'charge', -v_credits, v_balance, v_at, p_feature => feature,
    p_quantity => quantity, p_free_units => v_free, p_key => v_key);
  return jsonb_build_object('usage_id', v_id, 'feature', feature, 'quantity', quantity, 'free_units', v_free,
    'credits_charged', v_credits, 'balance', v_balance, 'replayed', false);
end;
$$;
revoke execute on function public.charge_credits(text, integer, text) from public, anon;
grant execute on function public.charge_credits(text, integer, text) to authenticated;

-- Holds credits for a long operation (an AI stream) before it starts. Free quota units are taken now;
-- the rest is held at `max_credits` (the worst case) or the feature's price. Idempotent per key.
create function saasbase.reserve(
  p_user uuid, feature text, quantity integer, idempotency_key text, max_credits bigint, p_by_server boolean
) returns jsonb
language plpgsql
set search_path = ''
as $$
#variable_conflict use_column
declare
  v_uid uuid := p_user;
  v_key text := saasbase.require_key(idempotency_key);
  v_at timestamptz := saasbase.now();
  v_use record;
  v_res public.credit_reservations;
  v_id uuid;
  v_free integer := 0;
  v_amount bigint := 0;
  v_balance bigint;
  v_expires timestamptz;
begin
  perform saasbase.require_quantity(quantity);
  if max_credits is not null and max_credits < 0 then
    perform saasbase.fail('PT422', 'invalid_amount', 'max_credits must not be negative');
  end if;
  if not exists (select from public.features f where f.id = feature and f.active) then
    perform saasbase.unknown_feature(feature);
  end if;
  v_expires := v_at + make_interval(mins => (select s.reservation_ttl_minutes from saasbase.settings s));

  insert into public.credit_reservations (user_id, feature_id, quantity, held_by_server, idempotency_key,
    expires_at, created_at)
  values (v_uid, feature, quantity, p_by_server, v_key, v_expires, v_at)
  on conflict (user_id, idempotency_key) do nothing
  returning id into v_id;
  if v_id is null then
    select * into v_res from public.credit_reservations r where r.user_id = v_uid and r.idempotency_key = v_key;
    if v_res.feature_id <> feature or v_res.quantity <> quantity or v_res.held_by_server <> p_by_server then
      perform saasbase.fail('PT409', 'idempotency_conflict', 'This idempotency key was used for another request');
    end if;
    return jsonb_build_object('reservation_id', v_res.id, 'status', v_res.status, 'amount', v_res.amount,
      'free_units', v_res.free_units, 'expires_at', v_res.expires_at, 'replayed', true);
  end if;

  select * into v_use from saasbase.take_quota(v_uid, feature, quantity, v_at);
  v_free := v_use.free_units;
  if v_free < quantity then
    v_amount := coalesce(max_credits, (quantity - v_free)::bigint * v_use.unit_credits);
  end if;

  if v_amount > 0 then
    v_balance := saasbase.debit(v_uid, v_amount, v_at, v_id);
    perform saasbase.append_ledger(v_uid, 'reserve', -v_amount, v_balance, v_at, p_feature => feature,
      p_quantity => quantity, p_key => v_key, p_reservation => v_id);
  end if;
  update public.wallets set reserved = reserved + v_amount, next_due_at = least(next_due_at, v_expires)
  where user_id = v_uid
  returning balance into v_balance;
  if not found then -- a deleted user's token, still valid until it expires
    perform saasbase.fail('PT404', 'wallet_not_found', 'This account has no wallet');
  end if;
  update public.credit_reservations
  set amount = v_amount, free_units = v_free, period_key = case when v_free > 0 then v_use.period_key end
  where id = v_id;
  return jsonb_build_object('reservation_id', v_id, 'status', 'open', 'amount', v_amount, 'free_units', v_free,
    'balance', v_balance, 'expires_at', v_expires, 'replayed', false);
end;
$$;

-- The caller's own reservation, for an operation the client runs (it settles or releases it itself).
create function public.reserve_credits(
  feature text, quantity integer default 1, idempotency_key text default null, max_credits bigint default null
) returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
begin
  return saasbase.reserve(saasbase.require_user(), feature, quantity, idempotency_key, max_credits, false);
end;
$$;
revoke execute on function public.reserve_credits(text, integer, text, bigint) from public, anon;
grant execute on function public.reserve_credits(text, integer, text, bigint) to authenticated;

-- A reservation a server-side operation takes for the user (the chat function): only the server settles or
-- releases it (service_role_release_reservation, service_role_record_chat_exchange).
create function public.service_role_reserve_credits(
  user_id uuid, feature text, quantity integer default 1, idempotency_key text default null,
  max_credits bigint default null
) returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
begin
  return saasbase.reserve(user_id, feature, quantity, idempotency_key, max_credits, true);
end;
$$;
revoke execute on function public.service_role_reserve_credits(uuid, text, integer, text, bigint)
  from public, anon, authenticated;
grant execute on function public.service_role_reserve_credits(uuid, text, integer, text, bigint) to service_role;

-- A user closes only the reservations they took themselves; one a server-side operation holds closes with it.
create function saasbase.require_closable(p_res public.credit_reservations, p_by_server boolean) returns void
language plpgsql
set search_path = ''
as $$
begin
  if p_res.held_by_server and not p_by_server then
    perform saasbase.fail('PT403', 'reservation_server_held',
      'This reservation belongs to an operation in progress on the server (a chat answer) and closes with it');
  end if;
end;
$$;

-- Settles a reservation of `p_user` at the real cost: charges `p_actual` (at most what was held; the rest
-- goes back) and records the use. Settling again with the same amount returns the first outcome.
create function saasbase.settle(
  p_user uuid, p_reservation uuid, p_actual bigint, p_at timestamptz, p_by_server boolean
) returns jsonb
language plpgsql
set search_path = ''
as $$
declare
  v_res public.credit_reservations;
  v_charged bigint;
  v_balance bigint;
  v_usage bigint;
begin
  if p_actual is null or p_actual < 0 then
    perform saasbase.fail('PT422', 'invalid_amount', 'actual must be a non-negative number of credits');
  end if;
  -- Lock order as everywhere: the wallet before the reservation.
  perform 1 from public.wallets where user_id = p_user for update;
  select * into v_res from public.credit_reservations r
  where r.id = p_reservation and r.user_id = p_user
  for update;
  if not found then
    perform saasbase.fail('PT404', 'reservation_not_found', 'No such reservation');
  end if;
  perform saasbase.require_closable(v_res, p_by_server);
  v_charged := least(p_actual, v_res.amount);
  if v_res.status = 'settled' then
    if v_res.settled_amount <> v_charged then
      perform saasbase.fail('PT409', 'reservation_closed', 'This reservation was settled at another amount');
    end if;
    select l.id, l.balance_after into v_usage, v_balance from public.credit_ledger l
    where l.user_id = p_user and l.kind = 'settle' and l.reservation_id = v_res.id;
    return jsonb_build_object('reservation_id', v_res.id, 'usage_id', v_usage, 'credits_charged', v_charged,
      'refunded', v_res.amount - v_charged, 'balance', v_balance, 'replayed', true);
  elsif v_res.status = 'released' then
    perform saasbase.fail('PT409', 'reservation_closed', 'This reservation was released');
  end if;

  v_balance := saasbase.end_hold(v_res, v_res.amount - v_charged, p_at);
  v_usage := saasbase.append_ledger(p_user, 'settle', v_res.amount - v_charged, v_balance, p_at,
    p_feature => v_res.feature_id, p_quantity => v_res.quantity, p_free_units => v_res.free_units,
    p_reservation => v_res.id, p_reason => format('charged %s of %s held', v_charged, v_res.amount));
  update public.credit_reservations set status = 'settled', settled_amount = v_charged, closed_at = p_at
  where id = v_res.id;
  return jsonb_build_object('reservation_id', v_res.id, 'usage_id', v_usage, 'credits_charged', v_charged,
    'refunded', v_res.amount - v_charged, 'balance', v_balance, 'replayed', false);
end;
$$;

-- The caller's reservation, settled at the real cost (saasbase.settle).
create function public.settle_reservation(reservation_id uuid, actual bigint) returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
begin
  return saasbase.settle(saasbase.require_user(), reservation_id, actual, saasbase.now(), false);
end;
$$;
revoke execute on function public.settle_reservation(uuid, bigint) from public, anon;
grant execute on function public.settle_reservation(uuid, bigint) to authenticated;

-- Gives a reservation back whole (the operation failed or was abandoned). Releasing again is a no-op.
create function saasbase.release_reservation(p_user uuid, reservation_id uuid, p_by_server boolean) returns jsonb
language plpgsql
set search_path = ''
as $$
declare
  v_uid uuid := p_user;
  v_res public.credit_reservations;
  v_balance bigint;
begin
  -- Lock order as in charge_credits (quota counter, then wallet, then reservation), so the two never deadlock.
  select * into v_res from public.credit_reservations r
  where r.id = release_reservation.reservation_id and r.user_id = v_uid;
  perform saasbase.require_closable(v_res, p_by_server);
  if v_res.free_units > 0 then
    perform 1 from public.usage_counters c
    where c.user_id = v_uid and c.feature_id = v_res.feature_id and c.period_key = v_res.period_key
    for update;
  end if;
  perform 1 from public.wallets where user_id = v_uid for update;
  select * into v_res from public.credit_reservations r
  where r.id = release_reservation.reservation_id and r.user_id = v_uid
  for update;
  if not found then
    perform saasbase.fail('PT404', 'reservation_not_found', 'No such reservation');
  end if;
  if v_res.status = 'settled' then
    perform saasbase.fail('PT409', 'reservation_closed', 'This reservation was settled');
  end if;
  if v_res.status = 'released' then
    select balance into v_balance from public.wallets where user_id = v_uid;
    return jsonb_build_object('reservation_id', v_res.id, 'released', v_res.amount, 'balance', v_balance,
      'replayed', true);
  end if;
  v_balance := saasbase.release(v_res, saasbase.now(), 'released', true);
  return jsonb_build_object('reservation_id', v_res.id, 'released', v_res.amount, 'balance', v_balance,
    'replayed', false);
end;
$$;

create function public.release_reservation(reservation_id uuid) returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
begin
  return saasbase.release_reservation(saasbase.require_user(), reservation_id, false);
end;
$$;
revoke execute on function public.release_reservation(uuid) from public, anon;
grant execute on function public.release_reservation(uuid) to authenticated;

-- Releases a reservation the server took for the user (service_role_reserve_credits): the operation failed.
create function public.service_role_release_reservation(user_id uuid, reservation_id uuid) returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
begin
  return saasbase.release_reservation(user_id, reservation_id, true);
end;
$$;
revoke execute on function public.service_role_release_reservation(uuid, uuid) from public, anon, authenticated;
grant execute on function public.service_role_release_reservation(uuid, uuid) to service_role;

-- Whether the caller may use a feature now, and on what terms.
-- { allowed, reason, free_remaining, credit_cost, discount, unlimited, period, resets_at, balance }
-- reason: unlimited | free_quota | credits | insufficient_credits | rate_limited
create function public.check_feature(feature text, quantity integer default 1) returns jsonb
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
  -- The balance the next charge will find, with the due work it does first (written by the next mutation, not
  -- here): overdue reservations back, less what they held of expired lots, less what has expired.
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
  return jsonb_build_object(
    'allowed', v_reason in ('unlimited', 'free_quota', 'credits'),
    'reason', v_reason,
    'feature', feature,
    'plan', v_rule.plan_id,
    'free_remaining', v_free_left,
    'credit_cost', v_cost,
    'unit_credits', v_rule.unit_credits,
    'discount', v_rule.discount_percent,
    'unlimited', v_rule.unlimited,
    'period', v_rule.period,
    'resets_at', saasbase.period_end(v_rule.period, v_at),
    'balance', coalesce(v_balance, 0)
  );
end;
$$;
revoke execute on function public.check_feature(text, integer) from public, anon;
grant execute on function public.check_feature(text, integer) to authenticated;

-- The caller's wallet: balance, reserved, expiring lots, plan and every quota with what is left of it.
-- Does due work first (expiry, overdue reservations), so what it shows is current.
create function public.get_wallet() returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_uid uuid := saasbase.require_user();
  v_at timestamptz := saasbase.now();
  v_wallet public.wallets;
  v_plan text;
begin
  select * into v_wallet from public.wallets where user_id = v_uid;
  if not found then -- every account has one from sign-up: a deleted user's token, still valid until it expires
    perform saasbase.fail('PT404', 'wallet_not_found', 'This account has no wallet');
  end if;
  -- Due work (overdue reservations, expired lots) is done first, unless the transaction is read-only (PostgREST
  -- runs a GET so): then it waits for the next write, and the figures may still count credits just expired.
  if v_wallet.next_due_at <= v_at and current_setting('transaction_read_only') = 'off' then
    perform 1 from public.wallets where user_id = v_uid for update;
    perform saasbase.run_due(v_uid, v_at);
    select * into v_wallet from public.wallets where user_id = v_uid;
  end if;
  v_plan := saasbase.plan_of(v_uid);
  return jsonb_build_object(
    'balance', v_wallet.balance,
    'reserved', v_wallet.reserved,
    'plan', v_plan,
    'discount', (select pl.discount_percent from public.plans pl where pl.id = v_plan),
    'expiring', coalesce((select jsonb_agg(jsonb_build_object('amount', l.remaining, 'expires_at', l.expires_at)
      order by l.expires_at) from public.credit_lots l where l.user_id = v_uid and l.remaining > 0), '[]'),
    'quotas', coalesce((select jsonb_agg(jsonb_build_object(
        'feature', q.feature_id,
        'unlimited', q.unlimited,
        'period', q.period,
        'limit', q.free_limit,
        'overage', q.overage,
        'used', coalesce(c.used, 0),
        'remaining', case when q.unlimited then null else greatest(q.free_limit - coalesce(c.used, 0), 0) end,
        'resets_at', saasbase.period_end(q.period, v_at)
      ) order by q.feature_id)
      from public.plan_quotas q
      left join public.usage_counters c on c.user_id = v_uid and c.feature_id = q.feature_id
        and c.period_key = saasbase.period_key(q.period, v_at)
      where q.plan_id = v_plan), '[]')
  );
end;
$$;
revoke execute on function public.get_wallet() from public, anon;
grant execute on function public.get_wallet() to authenticated;

-- The price of a credit pack for the caller, after the discount of their plan (anon: list price).
create function public.credit_pack_price(pack_id text) returns jsonb
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
    from public.plans pl where pl.id = saasbase.plan_of(auth.uid());
  end if;
  return jsonb_build_object('pack', v_pack.id, 'credits', v_pack.credits, 'price_cents', v_pack.price_cents,
    'discount_percent', coalesce(v_discount, 0),
    -- Integer cents, rounded half up: no floats near money.
    'final_cents', (v_pack.price_cents::bigint * (100 - coalesce(v_discount, 0)) + 50) / 100);
end;
$$;
revoke execute on function public.credit_pack_price(text) from public;
grant execute on function public.credit_pack_price(text) to anon, authenticated, service_role;

-- Server-side credit additions (Stripe purchases, referral rewards, admin grants). Service role only.
create function public.service_role_grant_credits(
  user_id uuid, amount bigint, kind text default 'grant', reason text default null,
  idempotency_key text default null, expires_at timestamptz default null, reference text default null
) returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
begin
  return saasbase.credit(user_id, amount, kind, reason, idempotency_key, saasbase.now(), expires_at, reference);
end;
$$;
revoke execute on function public.service_role_grant_credits(uuid, bigint, text, text, text, timestamptz, text)
  from public, anon, authenticated;
grant execute on function public.service_role_grant_credits(uuid, bigint, text, text, text, timestamptz, text)
  to service_role;

-- Server-side removals (refund claw-backs, admin corrections). With allow_partial, takes what the balance
-- holds (a refunded pack may be partly spent); otherwise PT402 when short. Idempotent per (user, kind, key).
create function public.service_role_debit_credits(
  user_id uuid, amount bigint, kind text default 'adjustment', reason text default null,
  idempotency_key text default null, allow_partial boolean default false, reference text default null
) returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_at timestamptz := saasbase.now();
  v_uid uuid := service_role_debit_credits.user_id;
  v_wallet public.wallets;
  v_prior public.credit_ledger;
  v_take bigint;
  v_balance bigint;
  v_ledger bigint;
begin
  if amount is null or amount not between 1 and 1000000000000 then
    perform saasbase.fail('PT422', 'invalid_amount', 'The amount must be 1 to 10^12 credits');
  end if;
  if kind is null or kind not in ('refund', 'adjustment', 'referral') then
    perform saasbase.fail('PT422', 'invalid_kind', format('Credits cannot be removed as %L', kind));
  end if;
  select * into v_wallet from public.wallets w where w.user_id = v_uid for update;
  if not found then
    perform saasbase.fail('PT404', 'wallet_not_found', 'No wallet for this user');
  end if;
  if idempotency_key is not null then
    select * into v_prior from public.credit_ledger l
    where l.user_id = v_uid and l.kind = service_role_debit_credits.kind and l.idempotency_key = service_role_debit_credits.idempotency_key;
    if found then
      return jsonb_build_object('ledger_id', v_prior.id, 'debited', -v_prior.amount, 'balance', v_prior.balance_after,
        'replayed', true);
    end if;
  end if;
  if v_wallet.next_due_at <= v_at then
    perform saasbase.run_due(v_uid, v_at);
    select * into v_wallet from public.wallets w where w.user_id = v_uid;
  end if;
  v_take := case when allow_partial then least(amount, v_wallet.balance) else amount end;
  if v_take = 0 then
    return jsonb_build_object('ledger_id', null, 'debited', 0, 'balance', v_wallet.balance, 'replayed', false);
  end if;
  v_balance := saasbase.debit(v_uid, v_take, v_at);
  v_ledger := saasbase.append_ledger(v_uid, kind, -v_take, v_balance, v_at, p_reason => reason,
    p_key => idempotency_key, p_reference => reference);
  return jsonb_build_object('ledger_id', v_ledger, 'debited', v_take, 'balance', v_balance, 'replayed', false);
end;
$$;
revoke execute on function public.service_role_debit_credits(uuid, bigint, text, text, text, boolean, text)
  from public, anon, authenticated;
grant execute on function public.service_role_debit_credits(uuid, bigint, text, text, text, boolean, text)
  to service_role;

-- On sign-up: the wallet, and the sign-up credits from the config (expiring if grantExpiryDays is set).
create function saasbase.handle_new_wallet() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_settings saasbase.settings;
  v_at timestamptz := saasbase.now();
begin
  insert into public.wallets (user_id, updated_at) values (new.id, v_at) on conflict (user_id) do nothing;
  -- An anonymous sign-in (GoTrue's is_anonymous) gets its sign-up credits when it becomes an account: anonymous
  -- users cost nothing to make, so credits for them would be free credits for anyone.
  if new.is_anonymous then
    return new;
  end if;
  select * into v_settings from saasbase.settings;
  if v_settings.signup_credits > 0 then
    -- Keyed 'signup': granted once per user, whichever of the two triggers gets there.
    perform saasbase.credit(new.id, v_settings.signup_credits, 'grant', 'signup', 'signup', v_at,
      v_at + make_interval(days => v_settings.grant_expiry_days));
  end if;
  return new;
end;
$$;

create trigger on_auth_user_created_wallet after insert on auth.users
  for each row execute function saasbase.handle_new_wallet();
create trigger on_auth_user_converted_wallet after update of is_anonymous on auth.users
  for each row when (old.is_anonymous and not new.is_anonymous)
  execute function saasbase.handle_new_wallet();
