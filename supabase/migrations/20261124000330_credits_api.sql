-- The credits API: what a client (supabase-js `.rpc()`) and the server call to charge, reserve, settle and
-- release, read a wallet, price a pack, and (service role) grant or remove credits. SECURITY DEFINER, search_path
-- = '', one transaction each, over the ledger (000300), quotas (000310) and reservations (000320). Each result
-- is a composite type (see public.credit_grant), defined above the function that answers it.

create type public.credit_charge as (
  -- The `charge` ledger row: the use's record.
  usage_id bigint,
  feature text,
  quantity integer,
  -- Uses the free quota covered.
  free_units integer,
  credits_charged bigint,
  balance bigint,
  -- True when the key had been used already: the first charge's outcome, nothing charged this time.
  replayed boolean
);

-- Charges one use of a feature: free quota first, then credits (or PT429 when the plan blocks overage).
-- One transaction, cannot overdraw (PT402), idempotent per key: a replay returns the first outcome. Every
-- use is one `charge` ledger row (amount 0 when free), so the ledger is the usage record too.
create function public.charge_credits(feature text, quantity integer default 1, idempotency_key text default null)
returns public.credit_charge
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
    return (v_prior.id, v_prior.feature_id, v_prior.quantity, v_prior.free_units, -v_prior.amount,
      v_prior.balance_after, true)::public.credit_charge;
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
  return (v_id, feature, quantity, v_free, v_credits, v_balance, false)::public.credit_charge;
end;
$$;
revoke execute on function public.charge_credits(text, integer, text) from public, anon;
grant execute on function public.charge_credits(text, integer, text) to authenticated;

-- The caller's own reservation, for an operation the client runs (it settles or releases it itself).
create function public.reserve_credits(
  feature text, quantity integer default 1, idempotency_key text default null, max_credits bigint default null
) returns public.reservation_hold
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
) returns public.reservation_hold
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

-- The caller's reservation, settled at the real cost (saasbase.settle).
create function public.settle_reservation(reservation_id uuid, actual bigint) returns public.reservation_settlement
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

-- The caller's reservation, given back whole (saasbase.release_reservation).
create function public.release_reservation(reservation_id uuid) returns public.reservation_release
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
create function public.service_role_release_reservation(user_id uuid, reservation_id uuid)
returns public.reservation_release
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

-- Keeps a reservation the server took alive while its operation runs (saasbase.renew): a chat answer longer
-- than a reservation's lifetime is not released under it by the user's other wallet operations.
create function public.service_role_renew_reservation(user_id uuid, reservation_id uuid)
returns public.reservation_lease
language plpgsql
security definer
set search_path = ''
as $$
begin
  return saasbase.renew(user_id, reservation_id, saasbase.now());
end;
$$;
revoke execute on function public.service_role_renew_reservation(uuid, uuid) from public, anon, authenticated;
grant execute on function public.service_role_renew_reservation(uuid, uuid) to service_role;

-- What get_wallet answers: the balance, what open reservations hold, the plan, the expiring lots and every
-- quota of the plan with what is left of it.
create type public.wallet_lot as (amount bigint, expires_at timestamptz);
create type public.wallet_quota as (
  feature text,
  unlimited boolean,
  -- day | month | lifetime
  period text,
  "limit" integer,
  -- credits (uses past the quota are paid) | block (a rate limit)
  overage text,
  used integer,
  -- Null when unlimited.
  remaining integer,
  -- Null for lifetime quotas.
  resets_at timestamptz
);
create type public.wallet_summary as (
  balance bigint,
  reserved bigint,
  plan text,
  -- The plan's discount on credit packs, in percent.
  discount smallint,
  expiring public.wallet_lot[],
  quotas public.wallet_quota[]
);

-- The caller's wallet (public.wallet_summary). Does due work first (expiry, overdue reservations), so what it
-- shows is current.
create function public.get_wallet() returns public.wallet_summary
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
  return (
    v_wallet.balance,
    v_wallet.reserved,
    v_plan,
    (select pl.discount_percent from public.plans pl where pl.id = v_plan),
    coalesce((select array_agg((l.remaining, l.expires_at)::public.wallet_lot order by l.expires_at)
      from public.credit_lots l where l.user_id = v_uid and l.remaining > 0), '{}'),
    coalesce((select array_agg((
        q.feature_id,
        q.unlimited,
        q.period,
        q.free_limit,
        q.overage,
        coalesce(c.used, 0),
        case when q.unlimited then null else greatest(q.free_limit - coalesce(c.used, 0), 0) end,
        saasbase.period_end(q.period, v_at)
      )::public.wallet_quota order by q.feature_id)
      from public.plan_quotas q
      left join public.usage_counters c on c.user_id = v_uid and c.feature_id = q.feature_id
        and c.period_key = saasbase.period_key(q.period, v_at)
      where q.plan_id = v_plan), '{}')
  )::public.wallet_summary;
end;
$$;
revoke execute on function public.get_wallet() from public, anon;
grant execute on function public.get_wallet() to authenticated;

create type public.pack_price as (
  pack text,
  credits integer,
  -- The list price, and what the caller pays after their plan's discount (integer cents).
  price_cents integer,
  discount_percent integer,
  final_cents bigint
);

-- The price of a credit pack for the caller, after the discount of their plan (anon: list price).
create function public.credit_pack_price(pack_id text) returns public.pack_price
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
  return (v_pack.id, v_pack.credits, v_pack.price_cents, coalesce(v_discount, 0),
    -- Integer cents, rounded half up: no floats near money.
    (v_pack.price_cents::bigint * (100 - coalesce(v_discount, 0)) + 50) / 100)::public.pack_price;
end;
$$;
revoke execute on function public.credit_pack_price(text) from public;
grant execute on function public.credit_pack_price(text) to anon, authenticated, service_role;

-- What a custom amount of money buys: whole credits at the product's rate (config `purchase.creditsPerDollar`),
-- rounded down, for an amount within the bounds of one purchase (`purchase.minCents` to `maxCents`); credits
-- null outside them, with the bounds the amount missed. The checkout function sells custom amounts at this
-- price (the credits go in the session's metadata, which the paid checkout's event grants); a pricing page
-- may ask it too.
create type public.amount_price as (
  amount_cents bigint,
  credits bigint,
  min_cents integer,
  max_cents integer
);

create function public.credit_amount_price(amount_cents bigint) returns public.amount_price
language sql
stable
security definer
set search_path = ''
as $$
  select (credit_amount_price.amount_cents,
    -- Integer division: rounded down, no floats near money.
    case when credit_amount_price.amount_cents between s.purchase_min_cents and s.purchase_max_cents
      then credit_amount_price.amount_cents * s.credits_per_dollar / 100 end,
    s.purchase_min_cents, s.purchase_max_cents)::public.amount_price
  from saasbase.settings s
$$;
revoke execute on function public.credit_amount_price(bigint) from public;
grant execute on function public.credit_amount_price(bigint) to anon, authenticated, service_role;

-- Server-side credit additions (Stripe purchases, referral rewards, admin grants). Service role only.
create function public.service_role_grant_credits(
  user_id uuid, amount bigint, kind text default 'grant', reason text default null,
  idempotency_key text default null, expires_at timestamptz default null, reference text default null
) returns public.credit_grant
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

create type public.credit_debit as (
  -- The ledger row (null when allow_partial found nothing to take).
  ledger_id bigint,
  debited bigint,
  balance bigint,
  replayed boolean
);

-- Server-side removals (refund claw-backs, admin corrections). With allow_partial, takes what the balance
-- holds (a refunded pack may be partly spent); otherwise PT402 when short. Idempotent per (user, kind, key).
create function public.service_role_debit_credits(
  user_id uuid, amount bigint, kind text default 'adjustment', reason text default null,
  idempotency_key text default null, allow_partial boolean default false, reference text default null
) returns public.credit_debit
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
      return (v_prior.id, -v_prior.amount, v_prior.balance_after, true)::public.credit_debit;
    end if;
  end if;
  if v_wallet.next_due_at <= v_at then
    perform saasbase.run_due(v_uid, v_at);
    select * into v_wallet from public.wallets w where w.user_id = v_uid;
  end if;
  v_take := case when allow_partial then least(amount, v_wallet.balance) else amount end;
  if v_take = 0 then
    return (null, 0, v_wallet.balance, false)::public.credit_debit;
  end if;
  v_balance := saasbase.debit(v_uid, v_take, v_at);
  v_ledger := saasbase.append_ledger(v_uid, kind, -v_take, v_balance, v_at, p_reason => reason,
    p_key => idempotency_key, p_reference => reference);
  return (v_ledger, v_take, v_balance, false)::public.credit_debit;
end;
$$;
revoke execute on function public.service_role_debit_credits(uuid, bigint, text, text, text, boolean, text)
  from public, anon, authenticated;
grant execute on function public.service_role_debit_credits(uuid, bigint, text, text, text, boolean, text)
  to service_role;
