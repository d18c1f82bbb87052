-- The credits API: what a client (supabase-js `.rpc()`) and the server call to charge, reserve, settle and
-- release, read a wallet, price a pack, and (service role) grant or remove credits. SECURITY DEFINER, search_path
-- = '', one transaction each, over the ledger (000300), quotas (000310) and reservations (000320).

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
