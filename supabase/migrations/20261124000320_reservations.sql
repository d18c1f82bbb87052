-- Reservations: credits held before a long operation (an AI stream) starts, at its worst case, then settled
-- at the real cost or released whole. A reservation's free quota units (000310) are taken when it is made;
-- what it held of expiring lots (000300) goes back to those lots when it closes, so expiring credits held and
-- released stay expiring. An abandoned reservation is released by the next operation on its wallet (the due
-- work, saasbase.run_due, below), so none needs a cron.

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
  -- The feature's price for the paid units (after the free ones): no settlement charges less, and `amount`
  -- is never below it (a client's max_credits bounds the worst case above the price, never below).
  price bigint not null default 0 check (price >= 0),
  -- What the use cost, as the settlement was asked (the price at least), and what was charged of it. A
  -- server-held reservation (a chat answer) whose cost exceeded `amount` is charged past the hold as far as
  -- the balance goes: `settled_amount > amount` is an answer that exceeded its hold, `cost > settled_amount`
  -- the part the balance could not pay (admins read both: "Reservations are readable by ... admins").
  cost bigint check (cost >= 0),
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
-- Uses that cost more than their hold, for admins to review (few: a bound that held needs none of these).
create index credit_reservations_over_hold on public.credit_reservations (closed_at desc)
  where cost > amount;

alter table public.credit_reservations enable row level security;
create policy "Reservations are readable by their owner and admins" on public.credit_reservations
  for select to authenticated using (user_id = (select auth.uid()) or (select saasbase.is_admin()));
-- Read only: reservations move only through the functions.
grant select on public.credit_reservations to authenticated, service_role;

-- ---------------------------------------------------------------------------------------------------------
-- Internals (run as the owner from the SECURITY DEFINER API; granted to nobody)

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
-- the next due time. Called under the wallet's row lock, by the ledger's debit (000300) and the API. It lives
-- here, after the reservations it releases, with the lots of 000300 it writes off.
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

-- How long an unsettled reservation lives (config reservationTtlMinutes): past it, the next operation on the
-- wallet releases it. A server-held one is kept alive by its operation (saasbase.renew) while that runs.
create function saasbase.reservation_lifetime() returns interval
language plpgsql stable
set search_path = ''
as $$
begin
  return make_interval(secs => (select s.reservation_ttl_minutes from saasbase.settings s) * 60);
end;
$$;

-- What reserving answers (reserve_credits, service_role_reserve_credits).
create type public.reservation_hold as (
  reservation_id uuid,
  -- open, or on a replay what became of it since: settled | released
  status text,
  -- Credits held (0 when free quota units covered it all).
  amount bigint,
  free_units integer,
  -- The balance after the hold; null on a replay.
  balance bigint,
  -- When an unsettled reservation is released by itself.
  expires_at timestamptz,
  replayed boolean
);

-- Holds credits for a long operation (an AI stream) before it starts. Free quota units are taken now;
-- the rest is held at `max_credits` (the worst case) or the feature's price. Idempotent per key.
create function saasbase.reserve(
  p_user uuid, feature text, quantity integer, idempotency_key text, max_credits bigint, p_by_server boolean
) returns public.reservation_hold
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
  v_price bigint;
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
  v_expires := v_at + saasbase.reservation_lifetime();

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
    return (v_res.id, v_res.status, v_res.amount, v_res.free_units, null, v_res.expires_at,
      true)::public.reservation_hold;
  end if;

  select * into v_use from saasbase.take_quota(v_uid, feature, quantity, v_at);
  v_free := v_use.free_units;
  v_price := (quantity - v_free)::bigint * v_use.unit_credits;
  if v_free < quantity then
    -- max_credits bounds the worst case above the price: a hold below it would let a settlement record the use
    -- for less than the feature costs.
    v_amount := greatest(coalesce(max_credits, v_price), v_price);
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
  set amount = v_amount, price = v_price, free_units = v_free,
    period_key = case when v_free > 0 then v_use.period_key end
  where id = v_id;
  return (v_id, 'open', v_amount, v_free, v_balance, v_expires, false)::public.reservation_hold;
end;
$$;

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

-- What settling answers (settle_reservation, and the chat function's record of an answer).
create type public.reservation_settlement as (
  reservation_id uuid,
  -- The `settle` ledger row: the use's record.
  usage_id bigint,
  credits_charged bigint,
  -- What was held and not charged, back in the balance.
  refunded bigint,
  balance bigint,
  replayed boolean,
  -- What the use cost (the feature's price at least, 0 when free units covered it) and the part of it the
  -- balance could not pay (only a server-held reservation is charged past its hold: see saasbase.settle).
  cost bigint,
  unpaid bigint
);

-- Settles a reservation of `p_user` at the real cost `p_actual`, never below the feature's price for the paid
-- units (0 when free units covered the use), and records the use (one `settle` ledger row). A user's own
-- reservation is charged at most what it held (the client sized it). A server-held one (a chat answer the user
-- has received) is charged in full: past its hold as far as the balance goes, the rest recorded as unpaid;
-- and, when it lapsed while the answer streamed (released as overdue by another operation on the wallet), from
-- the balance all the same. Settling again with the same amount returns the first outcome.
create function saasbase.settle(
  p_user uuid, p_reservation uuid, p_actual bigint, p_at timestamptz, p_by_server boolean
) returns public.reservation_settlement
language plpgsql
set search_path = ''
as $$
declare
  v_res public.credit_reservations;
  v_cost bigint;
  v_held bigint;
  v_extra bigint := 0;
  v_charged bigint;
  v_balance bigint;
  v_due timestamptz;
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
  v_cost := case when v_res.free_units >= v_res.quantity then 0 else greatest(p_actual, v_res.price) end;
  if v_res.status = 'settled' then
    if v_res.cost <> v_cost then
      perform saasbase.fail('PT409', 'reservation_closed', 'This reservation was settled at another amount');
    end if;
    select l.id, l.balance_after into v_usage, v_balance from public.credit_ledger l
    where l.user_id = p_user and l.kind = 'settle' and l.reservation_id = v_res.id;
    return (v_res.id, v_usage, v_res.settled_amount, greatest(v_res.amount - v_res.settled_amount, 0), v_balance,
      true, v_res.cost, v_res.cost - v_res.settled_amount)::public.reservation_settlement;
  elsif v_res.status = 'released' and not p_by_server then
    perform saasbase.fail('PT409', 'reservation_closed', 'This reservation was released');
  end if;

  if v_res.status = 'open' then
    v_held := least(v_cost, v_res.amount);
    v_balance := saasbase.end_hold(v_res, v_res.amount - v_held, p_at);
  else
    -- Released while its answer streamed (overdue): its hold went back already, the answer is paid all the same.
    v_held := 0;
    select w.balance into v_balance from public.wallets w where w.user_id = p_user;
  end if;
  update public.credit_reservations set status = 'settled' where id = v_res.id;
  if p_by_server and v_cost > v_held then
    -- Due work first (it may release other overdue holds, or write off expired credits), then what is there.
    select w.next_due_at into v_due from public.wallets w where w.user_id = p_user;
    if v_due <= p_at then
      perform saasbase.run_due(p_user, p_at);
    end if;
    select w.balance into v_balance from public.wallets w where w.user_id = p_user;
    v_extra := least(v_cost - v_held, v_balance);
    if v_extra > 0 then
      v_balance := saasbase.debit(p_user, v_extra, p_at);
    end if;
  end if;
  v_charged := v_held + v_extra;
  v_usage := saasbase.append_ledger(p_user, 'settle',
    case when v_res.status = 'open' then v_res.amount else 0 end - v_charged, v_balance, p_at,
    p_feature => v_res.feature_id, p_quantity => v_res.quantity, p_free_units => v_res.free_units,
    p_reservation => v_res.id, p_reason => format('charged %s of %s held', v_charged, v_res.amount)
      || case when v_res.status <> 'open' then ' (the hold had lapsed)' else '' end
      || case when v_cost > v_charged then format('; %s of its cost %s unpaid', v_cost - v_charged, v_cost)
         else '' end);
  update public.credit_reservations set settled_amount = v_charged, cost = v_cost, closed_at = p_at
  where id = v_res.id;
  return (v_res.id, v_usage, v_charged,
    case when v_res.status = 'open' then v_res.amount - v_held else 0 end, v_balance, false, v_cost,
    v_cost - v_charged)::public.reservation_settlement;
end;
$$;

-- Keeps a server-held reservation alive while its operation runs (a chat answer streaming): its lifetime
-- starts again now. An operation that dies stops renewing it, and it lapses a lifetime later. Answers the
-- reservation's state (not open: it lapsed meanwhile, and its operation is paid from the balance at the end).
create type public.reservation_lease as (
  reservation_id uuid,
  status text,
  expires_at timestamptz,
  -- The lifetime a renewal grants, in seconds: renew well within it.
  lifetime_seconds double precision
);

create function saasbase.renew(p_user uuid, p_reservation uuid, p_at timestamptz)
returns public.reservation_lease
language plpgsql
set search_path = ''
as $$
declare
  v_lifetime interval := saasbase.reservation_lifetime();
  v_res public.credit_reservations;
begin
  update public.credit_reservations r set expires_at = p_at + v_lifetime
  where r.id = p_reservation and r.user_id = p_user and r.status = 'open' and r.held_by_server
  returning * into v_res;
  if not found then
    select * into v_res from public.credit_reservations r where r.id = p_reservation and r.user_id = p_user;
    if not found then
      perform saasbase.fail('PT404', 'reservation_not_found', 'No such reservation');
    end if;
  end if;
  -- (The wallet's next_due_at may now be earlier than needed: its next operation takes the slow path once and
  -- sets it right.)
  return (v_res.id, v_res.status, v_res.expires_at, extract(epoch from v_lifetime))::public.reservation_lease;
end;
$$;

-- What releasing answers (release_reservation, service_role_release_reservation).
create type public.reservation_release as (
  reservation_id uuid,
  -- Credits given back to the balance (what was held).
  released bigint,
  balance bigint,
  replayed boolean
);

-- Gives a reservation back whole (the operation failed or was abandoned). Releasing again is a no-op.
create function saasbase.release_reservation(p_user uuid, reservation_id uuid, p_by_server boolean)
returns public.reservation_release
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
    return (v_res.id, v_res.amount, v_balance, true)::public.reservation_release;
  end if;
  v_balance := saasbase.release(v_res, saasbase.now(), 'released', true);
  return (v_res.id, v_res.amount, v_balance, false)::public.reservation_release;
end;
$$;
