-- Ledger: a wallet per user, the append-only ledger of every change to it, expiring grant lots, and the engine
-- that moves credits (debit, credit). The domains after it build on this engine: quotas (free units per plan
-- and period, 000310), reservations (credits held for a long operation, 000320), the public credits API
-- (000330); billing, referrals and the admin API add and remove credits only through it too.
--
-- Invariants, kept by doing every mutation in one transaction through the SECURITY DEFINER functions:
--   wallets.balance  = sum(credit_ledger.amount) for the user, and never below zero;
--   wallets.reserved = sum(amount) of the user's open reservations;
--   wallets.expiring = sum(remaining) of the user's unexpired lots (<= balance).
-- Clients read their own rows; nobody writes these tables but those functions, whose errors carry a stable
-- SQLSTATE (PT4xx, saasbase.fail) and a code in DETAIL.
--
-- The per-charge tables (ledger, usage counters, reservations, lots) carry no foreign keys to auth.users or
-- features: each FK check locks the parent row (KEY SHARE), which on the charge path means WAL for every
-- insert and multixact contention on the one `features` row every concurrent charge shares. The functions
-- only write rows for a locked wallet and an active feature, and a deleted wallet takes its rows with it
-- (saasbase.delete_wallet_rows). bench/credits measures the difference.

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

-- Row-level security: owners and admins read; nobody writes but the functions (which run as owner).
alter table public.wallets enable row level security;
alter table public.credit_ledger enable row level security;
alter table public.credit_lots enable row level security;

create policy "Wallets are readable by their owner and admins" on public.wallets
  for select to authenticated using (user_id = (select auth.uid()) or (select saasbase.is_admin()));
create policy "Ledger rows are readable by their owner and admins" on public.credit_ledger
  for select to authenticated using (user_id = (select auth.uid()) or (select saasbase.is_admin()));
create policy "Credit lots are readable by their owner and admins" on public.credit_lots
  for select to authenticated using (user_id = (select auth.uid()) or (select saasbase.is_admin()));

-- Read only, by everyone who may: not even the service role writes these directly (money moves only through
-- the functions).
grant select on public.wallets, public.credit_ledger, public.credit_lots to authenticated, service_role;

-- The ledger is append-only (saasbase.ledger_append_only, in the foundation: the cash ledger shares it).
create trigger credit_ledger_append_only before update or delete on public.credit_ledger
  for each row execute function saasbase.ledger_append_only();

-- A wallet goes when its user is deleted (auth.users cascade); its rows go with it, those of the quota
-- counters (000310) and the reservations (000320) included.
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
-- The engine (run as the owner from the SECURITY DEFINER API; granted to nobody)

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

-- Takes `p_amount` out of the balance, or raises PT402; returns the new balance. The common case is one
-- UPDATE that cannot overdraw (`where balance >= amount`). Wallets with expiring credits or due work take
-- the slow path under the row lock: due work first (saasbase.run_due, with the reservations in 000320), then
-- the debit drawn from the soonest-expiring lots (noting, for a reservation, what came from which lot).
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

-- What an addition of credits answers (saasbase.credit, service_role_grant_credits).
--
-- Results are composite types, not jsonb: `supabase gen types` describes a composite (a jsonb result is only
-- `Json` there), so the committed types file, which npm test checks fresh, tells every client and function
-- when a result changes, and PostgREST still answers one JSON object. Composite fields cannot be NOT NULL, so
-- the generated fields are all `| null`; the client (src/client) says which ones can really be null.
create type public.credit_grant as (
  ledger_id bigint,
  amount bigint,
  balance bigint,
  -- True when the key had been used already: nothing was added this time.
  replayed boolean
);

-- Adds credits (grant, purchase, referral, refund to the user, positive adjustment). Idempotent per
-- (user, kind, key): a replay returns the first outcome. Expiring credits become a lot.
create function saasbase.credit(
  p_user uuid, p_amount bigint, p_kind text, p_reason text, p_key text, p_at timestamptz,
  p_expires_at timestamptz default null, p_reference text default null
) returns public.credit_grant
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
      return (v_prior.id, v_prior.amount, v_prior.balance_after, true)::public.credit_grant;
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
  return (v_ledger, p_amount, v_balance, false)::public.credit_grant;
end;
$$;

-- ---------------------------------------------------------------------------------------------------------
-- Sign-up

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

