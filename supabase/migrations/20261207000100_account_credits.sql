-- Account credits: the credits domain (wallet, ledger, lots, quota counters, reservations, the credits API,
-- chat's charge path, the admin credit adjustment) belongs to an account (20261207000000_teams.sql) instead of
-- a user. A personal account's id is its user's, so every row keeps its values: `user_id` is renamed
-- `account_id` and means the same thing for the personal accounts there are. A team's wallet is shared by its
-- members; a member acts for it by naming it (the client RPCs' trailing `account` parameter, the functions'
-- X-Account-Id header), and spending needs the role's `spend` right (saasbase.acting_account).
--
-- Who spent: ledger rows of charges, reservations, settlements and releases carry the member who acted
-- (`actor_id`; reservations too), so a team's owner sees which member spent what. A member's spending from a
-- team wallet in a calendar month (UTC) is counted in saasbase.member_spend, in the same transaction as the
-- debit, and may not pass their `account_members.monthly_spend_cap` (PT402 spend_cap_reached, nothing charged).
--
-- Every function whose body names a renamed column is re-defined here (the 20261124* migrations have shipped
-- and are not edited); a function whose parameters change is dropped and created again. Lock order stays as
-- in the ledger migrations (a quota counter, then the wallet, then a reservation), with a member's spend
-- counter always last.

-- ---------------------------------------------------------------------------------------------------------
-- The columns and their keys

alter table public.wallets rename column user_id to account_id;
alter table public.credit_ledger rename column user_id to account_id;
alter table public.credit_lots rename column user_id to account_id;
alter table public.usage_counters rename column user_id to account_id;
alter table public.credit_reservations rename column user_id to account_id;

-- A wallet is its account's (a personal account goes with its user, and its wallet with it).
alter table public.wallets drop constraint wallets_user_id_fkey;
alter table public.wallets add constraint wallets_account_id_fkey
  foreign key (account_id) references public.accounts (id) on delete cascade;
alter table public.credit_reservations rename constraint credit_reservations_user_id_idempotency_key_key
  to credit_reservations_account_id_idempotency_key_key;

comment on table public.wallets is 'Credit balance per account; equals the sum of the account''s ledger.';
comment on table public.usage_counters is 'Free-quota consumption per account, feature and period.';

-- The member who spent (charge, reserve, settle, release rows; null for grants, purchases, expiry and
-- adjustments, and for rows written before accounts). No foreign key, as for the rest of these tables (see the
-- ledger migration's header): a member's deletion leaves the record of what they spent.
alter table public.credit_ledger add column actor_id uuid;
comment on column public.credit_ledger.actor_id is 'The user who spent (charges and reservations), for a team''s owner to see.';
alter table public.credit_reservations add column actor_id uuid;
comment on column public.credit_reservations.actor_id is 'The user who reserved; only they (or the server for them) close it.';

-- What each member spent from a team wallet per calendar month (UTC): charges, and reservations at their hold,
-- corrected in the month of the hold when they settle or are released. Read for the spending cap in the
-- transaction that spends; its row lock serializes one member's spending (after the wallet's lock).
create table saasbase.member_spend (
  account_id uuid not null,
  user_id uuid not null,
  month date not null,
  spent bigint not null default 0,
  primary key (account_id, user_id, month)
);

-- The credit ledger stays append-only; what may delete its rows is now the cascade of a deleted account (a
-- user's personal account, or a team), no longer of a user: saasbase.ledger_append_only (the foundation's,
-- which the user-keyed cash ledger keeps) reads a user_id.
create function saasbase.credit_ledger_append_only() returns trigger
language plpgsql
set search_path = ''
as $$
begin
  if tg_op = 'DELETE' and not exists (select from public.accounts where id = old.account_id) then
    return old;
  end if;
  raise exception '% is append-only', tg_table_name using errcode = 'PT403', detail = 'ledger_append_only';
end;
$$;
drop trigger credit_ledger_append_only on public.credit_ledger;
create trigger credit_ledger_append_only before update or delete on public.credit_ledger
  for each row execute function saasbase.credit_ledger_append_only();

-- Personal wallets keep being made with their user (saasbase.handle_new_wallet, with the sign-up credits); a
-- team's is made with the team.
create function saasbase.handle_new_account_wallet() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  insert into public.wallets (account_id, updated_at) values (new.id, saasbase.now()) on conflict (account_id) do nothing;
  return new;
end;
$$;
create trigger accounts_create_wallet after insert on public.accounts
  for each row when (new.kind = 'team') execute function saasbase.handle_new_account_wallet();
-- Teams made before this migration get theirs now.
insert into public.wallets (account_id) select a.id from public.accounts a where a.kind = 'team'
on conflict (account_id) do nothing;

-- ---------------------------------------------------------------------------------------------------------
-- Row-level security: the account's members and admins read (the policies named the owner's user id).

drop policy "Wallets are readable by their owner and admins" on public.wallets;
drop policy "Ledger rows are readable by their owner and admins" on public.credit_ledger;
drop policy "Credit lots are readable by their owner and admins" on public.credit_lots;
drop policy "Usage counters are readable by their owner and admins" on public.usage_counters;
drop policy "Reservations are readable by their owner and admins" on public.credit_reservations;

create policy "Wallets are readable by the account's members and admins" on public.wallets
  for select to authenticated
  using (account_id in (select saasbase.my_accounts()) or (select saasbase.is_admin()));
create policy "Ledger rows are readable by the account's members and admins" on public.credit_ledger
  for select to authenticated
  using (account_id in (select saasbase.my_accounts()) or (select saasbase.is_admin()));
create policy "Credit lots are readable by the account's members and admins" on public.credit_lots
  for select to authenticated
  using (account_id in (select saasbase.my_accounts()) or (select saasbase.is_admin()));
create policy "Usage counters are readable by the account's members and admins" on public.usage_counters
  for select to authenticated
  using (account_id in (select saasbase.my_accounts()) or (select saasbase.is_admin()));
create policy "Reservations are readable by the account's members and admins" on public.credit_reservations
  for select to authenticated
  using (account_id in (select saasbase.my_accounts()) or (select saasbase.is_admin()));

-- ---------------------------------------------------------------------------------------------------------
-- The plan: an account's (accounts.plan_id, copied from the profile by the teams migration; billing writes it
-- from 20261207000200_account_billing.sql on, which re-defines this too).

create or replace function saasbase.plan_of(p_user uuid) returns text
language plpgsql stable
set search_path = ''
as $$
begin
  return coalesce((select a.plan_id from public.accounts a where a.id = p_user),
                  (select d.id from public.plans d where d.is_default));
end;
$$;

-- ---------------------------------------------------------------------------------------------------------
-- Spending caps

-- Counts `p_amount` credits (negative: a correction) spent by `p_actor` from team account `p_account` in the
-- month of `p_month_of`; past the member's cap, PT402 spend_cap_reached (the caller's transaction, and so
-- the debit, is undone). Personal accounts (actor = account) and server-side operations (no actor) count
-- nothing. Called after the wallet's lock.
create function saasbase.count_spend(p_account uuid, p_actor uuid, p_amount bigint, p_month_of timestamptz)
returns void
language plpgsql
set search_path = ''
as $$
declare
  v_spent bigint;
  v_cap bigint;
begin
  if p_actor is null or p_actor = p_account or p_amount = 0 then
    return;
  end if;
  insert into saasbase.member_spend as s (account_id, user_id, month, spent)
  values (p_account, p_actor, date_trunc('month', p_month_of at time zone 'UTC')::date, p_amount)
  on conflict (account_id, user_id, month) do update set spent = s.spent + excluded.spent
  returning s.spent into v_spent;
  if p_amount > 0 then
    select m.monthly_spend_cap into v_cap from public.account_members m
    where m.account_id = p_account and m.user_id = p_actor;
    if v_cap is not null and v_spent > v_cap then
      perform saasbase.fail('PT402', 'spend_cap_reached',
        format('This spend of %s credits passes your monthly spending cap on this account (%s; %s spent this month)',
          p_amount, v_cap, v_spent - p_amount));
    end if;
  end if;
end;
$$;

-- What `p_actor` may still spend from team account `p_account` this month (null: no cap, or a personal
-- account). Exact under the wallet's lock: a member's spending changes only under it.
create function saasbase.spend_left(p_account uuid, p_actor uuid, p_at timestamptz) returns bigint
language plpgsql stable
set search_path = ''
as $$
declare
  v_cap bigint;
begin
  if p_actor is null or p_actor = p_account then
    return null;
  end if;
  select m.monthly_spend_cap into v_cap from public.account_members m
  where m.account_id = p_account and m.user_id = p_actor;
  if v_cap is null then
    return null;
  end if;
  return greatest(v_cap - coalesce((select s.spent from saasbase.member_spend s
    where s.account_id = p_account and s.user_id = p_actor
      and s.month = date_trunc('month', p_at at time zone 'UTC')::date), 0), 0);
end;
$$;

-- ---------------------------------------------------------------------------------------------------------
-- The engine (000300), by account

create or replace function saasbase.delete_wallet_rows() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  delete from saasbase.lot_holds h using public.credit_reservations r
  where r.id = h.reservation_id and r.account_id = old.account_id;
  delete from public.credit_lots where account_id = old.account_id;
  delete from public.credit_ledger where account_id = old.account_id;
  delete from public.credit_reservations where account_id = old.account_id;
  delete from public.usage_counters where account_id = old.account_id;
  delete from saasbase.member_spend where account_id = old.account_id;
  return old;
end;
$$;

-- Appends a ledger row, with the member who acted (`p_actor`).
drop function saasbase.append_ledger(uuid, text, bigint, bigint, timestamptz, text, integer, text, text, uuid,
  integer, text, timestamptz);
create function saasbase.append_ledger(
  p_account uuid, p_kind text, p_amount bigint, p_balance_after bigint, p_at timestamptz,
  p_feature text default null, p_quantity integer default null, p_reason text default null,
  p_key text default null, p_reservation uuid default null, p_free_units integer default null,
  p_reference text default null, p_expires_at timestamptz default null, p_actor uuid default null
) returns bigint
language plpgsql
set search_path = ''
as $$
declare
  v_id bigint;
begin
  insert into public.credit_ledger (account_id, kind, amount, balance_after, feature_id, quantity, reason,
    idempotency_key, reservation_id, free_units, reference, expires_at, created_at, actor_id)
  values (p_account, p_kind, p_amount, p_balance_after, p_feature, p_quantity, p_reason, p_key, p_reservation,
    p_free_units, p_reference, p_expires_at, p_at, p_actor)
  returning id into v_id;
  return v_id;
end;
$$;

drop function saasbase.consume_lots(uuid, bigint, uuid);
create function saasbase.consume_lots(p_account uuid, p_amount bigint, p_reservation uuid) returns void
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
    where account_id = p_account and remaining > 0
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

drop function saasbase.debit(uuid, bigint, timestamptz, uuid);
create function saasbase.debit(p_account uuid, p_amount bigint, p_at timestamptz, p_reservation uuid default null)
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
  where account_id = p_account and balance >= p_amount and expiring = 0
    and (next_due_at is null or next_due_at > p_at)
  returning balance into v_balance;
  if found then
    return v_balance;
  end if;

  select * into v_wallet from public.wallets where account_id = p_account for update;
  if not found then
    perform saasbase.fail('PT404', 'wallet_not_found', 'This account has no wallet');
  end if;
  if v_wallet.next_due_at <= p_at then
    perform saasbase.run_due(p_account, p_at);
    select * into v_wallet from public.wallets where account_id = p_account;
  end if;
  if v_wallet.balance < p_amount then
    perform saasbase.fail('PT402', 'insufficient_credits',
      format('Not enough credits: %s needed, %s available', p_amount, v_wallet.balance));
  end if;
  v_from_lots := least(p_amount, v_wallet.expiring);
  update public.wallets
  set balance = balance - p_amount, expiring = expiring - v_from_lots, updated_at = p_at
  where account_id = p_account
  returning balance into v_balance;
  if v_from_lots > 0 then
    perform saasbase.consume_lots(p_account, v_from_lots, p_reservation);
  end if;
  return v_balance;
end;
$$;

drop function saasbase.credit(uuid, bigint, text, text, text, timestamptz, timestamptz, text);
create function saasbase.credit(
  p_account uuid, p_amount bigint, p_kind text, p_reason text, p_key text, p_at timestamptz,
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
  if p_amount is null or p_amount not between 1 and 1000000000000 then
    perform saasbase.fail('PT422', 'invalid_amount', 'The amount must be 1 to 10^12 credits');
  end if;
  if p_kind is null or p_kind not in ('grant', 'purchase', 'referral', 'refund', 'adjustment') then
    perform saasbase.fail('PT422', 'invalid_kind', format('Credits cannot be added as %L', p_kind));
  end if;
  if p_expires_at is not null and p_expires_at <= p_at then
    perform saasbase.fail('PT422', 'invalid_expiry', 'expires_at must be in the future');
  end if;

  perform 1 from public.wallets where account_id = p_account for update;
  if not found then
    perform saasbase.fail('PT404', 'wallet_not_found', 'No wallet for this account');
  end if;
  if p_key is not null then
    select * into v_prior from public.credit_ledger
    where account_id = p_account and kind = p_kind and idempotency_key = p_key;
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
  where account_id = p_account
  returning balance into v_balance;
  v_ledger := saasbase.append_ledger(p_account, p_kind, p_amount, v_balance, p_at, p_reason => p_reason,
    p_key => p_key, p_reference => p_reference, p_expires_at => p_expires_at);
  if p_expires_at is not null then
    insert into public.credit_lots (account_id, ledger_id, amount, remaining, expires_at, created_at)
    values (p_account, v_ledger, p_amount, p_amount, p_expires_at, p_at);
  end if;
  return (v_ledger, p_amount, v_balance, false)::public.credit_grant;
end;
$$;

-- The personal account's wallet (the account is made first: on_auth_user_created_account sorts before).
create or replace function saasbase.handle_new_wallet() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_settings saasbase.settings;
  v_at timestamptz := saasbase.now();
begin
  insert into public.wallets (account_id, updated_at) values (new.id, v_at) on conflict (account_id) do nothing;
  if new.is_anonymous then
    return new;
  end if;
  select * into v_settings from saasbase.settings;
  if v_settings.signup_credits > 0 then
    perform saasbase.credit(new.id, v_settings.signup_credits, 'grant', 'signup', 'signup', v_at,
      v_at + make_interval(days => v_settings.grant_expiry_days));
  end if;
  return new;
end;
$$;

-- ---------------------------------------------------------------------------------------------------------
-- Quotas (000310), by account

drop function saasbase.feature_rule(uuid, text, timestamptz);
create function saasbase.feature_rule(p_account uuid, p_feature text, p_at timestamptz)
returns table (
  plan_id text, unit_credits integer, unlimited boolean, period text, period_key text, free_limit integer,
  overage text, used integer, discount_percent smallint
)
language plpgsql stable
set search_path = ''
as $$
declare
  v_plan text := saasbase.plan_of(p_account);
begin
  return query
  select pl.id, f.credits, coalesce(q.unlimited, false), q.period, saasbase.period_key(q.period, p_at),
    q.free_limit, coalesce(q.overage, 'credits'), coalesce(c.used, 0), coalesce(pl.discount_percent, 0::smallint)
  from public.features f
  left join public.plans pl on pl.id = v_plan
  left join public.plan_quotas q on q.plan_id = pl.id and q.feature_id = f.id
  left join public.usage_counters c
    on c.account_id = p_account and c.feature_id = f.id and c.period_key = saasbase.period_key(q.period, p_at)
  where f.id = p_feature and f.active;
end;
$$;

drop function saasbase.take_free_units(uuid, text, text, integer, integer, timestamptz);
create function saasbase.take_free_units(
  p_account uuid, p_feature text, p_period_key text, p_limit integer, p_quantity integer, p_at timestamptz
) returns integer
language plpgsql
set search_path = ''
as $$
declare
  v_used integer;
  v_free integer;
begin
  insert into public.usage_counters (account_id, feature_id, period_key, used, updated_at)
  values (p_account, p_feature, p_period_key, 0, p_at)
  on conflict (account_id, feature_id, period_key) do nothing;
  select used into v_used from public.usage_counters
  where account_id = p_account and feature_id = p_feature and period_key = p_period_key
  for update;
  v_free := least(p_quantity, greatest(p_limit - v_used, 0));
  if v_free > 0 then
    update public.usage_counters set used = used + v_free, updated_at = p_at
    where account_id = p_account and feature_id = p_feature and period_key = p_period_key;
  end if;
  return v_free;
end;
$$;

drop function saasbase.take_quota(uuid, text, integer, timestamptz);
create function saasbase.take_quota(
  p_account uuid, p_feature text, p_quantity integer, p_at timestamptz,
  out unit_credits integer, out free_units integer, out period_key text
)
language plpgsql
set search_path = ''
as $$
declare
  v_rule record;
begin
  select * into v_rule from saasbase.feature_rule(p_account, p_feature, p_at);
  if not found then
    perform saasbase.unknown_feature(p_feature);
  end if;
  unit_credits := v_rule.unit_credits;
  period_key := v_rule.period_key;
  free_units := 0;
  if v_rule.unlimited then
    free_units := p_quantity;
  elsif v_rule.period is not null then
    free_units := saasbase.take_free_units(p_account, p_feature, v_rule.period_key, v_rule.free_limit, p_quantity, p_at);
    if free_units < p_quantity and v_rule.overage = 'block' then
      perform saasbase.fail('PT429', 'rate_limited', format('The %s allowance of %s for %L is used up until %s',
        v_rule.period, v_rule.free_limit, p_feature, saasbase.period_end(v_rule.period, p_at)));
    end if;
  end if;
end;
$$;

-- Whether the caller may use a feature now from the account they name (null: their personal account), on
-- what terms. Reading needs membership only; a team member's spending cap shows as insufficient credits when
-- it leaves less than the cost.
drop function public.check_feature(text, integer);
create function public.check_feature(feature text, quantity integer default 1, account uuid default null)
returns public.feature_check
language plpgsql
stable
security definer
set search_path = ''
as $$
declare
  v_uid uuid := saasbase.require_user();
  v_account uuid := saasbase.require_account(account, null);
  v_at timestamptz := saasbase.now();
  v_rule record;
  v_balance bigint;
  v_free_left integer;
  v_free integer;
  v_cost bigint;
  v_reason text;
begin
  perform saasbase.require_quantity(quantity);
  select * into v_rule from saasbase.feature_rule(v_account, feature, v_at);
  if not found then
    perform saasbase.unknown_feature(feature);
  end if;
  -- The balance the next charge will find (see the quotas migration), and no more than the member's cap leaves.
  select w.balance
    - coalesce((select sum(l.remaining) from public.credit_lots l
        where l.account_id = v_account and l.remaining > 0 and l.expires_at <= v_at), 0)
    + coalesce((select sum(r.amount) from public.credit_reservations r
        where r.account_id = v_account and r.status = 'open' and r.expires_at <= v_at), 0)
    - coalesce((select sum(h.amount) from public.credit_reservations r
        join saasbase.lot_holds h on h.reservation_id = r.id
        join public.credit_lots l on l.id = h.lot_id
        where r.account_id = v_account and r.status = 'open' and r.expires_at <= v_at and l.expires_at <= v_at), 0)
  into v_balance from public.wallets w where w.account_id = v_account;
  v_balance := least(v_balance, saasbase.spend_left(v_account, v_uid, v_at));

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
revoke execute on function public.check_feature(text, integer, uuid) from public, anon;
grant execute on function public.check_feature(text, integer, uuid) to authenticated;

-- ---------------------------------------------------------------------------------------------------------
-- Reservations (000320), by account, with the member who reserved

create or replace function saasbase.end_hold(p_res public.credit_reservations, p_back bigint, p_at timestamptz)
returns bigint
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
      (select min(l.expires_at) from public.credit_lots l where l.account_id = p_res.account_id and l.remaining > 0)) end,
    updated_at = p_at
  where account_id = p_res.account_id
  returning balance into v_balance;
  return v_balance;
end;
$$;

-- Releases an open reservation (see the reservations migration); what it held no longer counts as its member's
-- spending, in the month it was counted in.
create or replace function saasbase.release(
  p_res public.credit_reservations, p_at timestamptz, p_reason text, p_return_quota boolean
) returns bigint
language plpgsql
set search_path = ''
as $$
declare
  v_balance bigint := saasbase.end_hold(p_res, p_res.amount, p_at);
begin
  perform saasbase.append_ledger(p_res.account_id, 'release', p_res.amount, v_balance, p_at,
    p_feature => p_res.feature_id, p_quantity => p_res.quantity, p_reason => p_reason, p_reservation => p_res.id,
    p_actor => p_res.actor_id);
  if p_return_quota and p_res.free_units > 0 then
    update public.usage_counters set used = greatest(used - p_res.free_units, 0), updated_at = p_at
    where account_id = p_res.account_id and feature_id = p_res.feature_id and period_key = p_res.period_key;
  end if;
  update public.credit_reservations set status = 'released', closed_at = p_at where id = p_res.id;
  perform saasbase.count_spend(p_res.account_id, p_res.actor_id, -p_res.amount, p_res.created_at);
  return v_balance;
end;
$$;

drop function saasbase.run_due(uuid, timestamptz);
create function saasbase.run_due(p_account uuid, p_at timestamptz) returns void
language plpgsql
set search_path = ''
as $$
declare
  v_lot record;
  v_res public.credit_reservations;
  v_balance bigint;
begin
  for v_res in
    select * from public.credit_reservations
    where account_id = p_account and status = 'open' and expires_at <= p_at
    order by expires_at
    for update
  loop
    -- Its free quota units stay used (see the reservations migration: lock order).
    perform saasbase.release(v_res, p_at, 'reservation expired', false);
  end loop;

  for v_lot in
    select id, remaining from public.credit_lots
    where account_id = p_account and remaining > 0 and expires_at <= p_at
    order by expires_at, id
    for update
  loop
    update public.wallets
    set balance = balance - v_lot.remaining, expiring = expiring - v_lot.remaining, updated_at = p_at
    where account_id = p_account
    returning balance into v_balance;
    update public.credit_lots set remaining = 0 where id = v_lot.id;
    perform saasbase.append_ledger(p_account, 'expiry', -v_lot.remaining, v_balance, p_at, p_reason => 'expired');
  end loop;

  update public.wallets set next_due_at = (
    select min(t) from (
      select min(expires_at) as t from public.credit_lots where account_id = p_account and remaining > 0
      union all
      select min(expires_at) from public.credit_reservations where account_id = p_account and status = 'open'
    ) due
  )
  where account_id = p_account;
end;
$$;

-- Holds credits of `p_account` for `p_actor`'s long operation (see the reservations migration). A key is the
-- account's: another member's reservation under the same key is a conflict, never a replay of theirs.
drop function saasbase.reserve(uuid, text, integer, text, bigint, boolean);
create function saasbase.reserve(
  p_account uuid, p_actor uuid, feature text, quantity integer, idempotency_key text, max_credits bigint,
  p_by_server boolean
) returns public.reservation_hold
language plpgsql
set search_path = ''
as $$
#variable_conflict use_column
declare
  v_account uuid := p_account;
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

  insert into public.credit_reservations (account_id, actor_id, feature_id, quantity, held_by_server,
    idempotency_key, expires_at, created_at)
  values (v_account, p_actor, feature, quantity, p_by_server, v_key, v_expires, v_at)
  on conflict (account_id, idempotency_key) do nothing
  returning id into v_id;
  if v_id is null then
    select * into v_res from public.credit_reservations r where r.account_id = v_account and r.idempotency_key = v_key;
    if v_res.feature_id <> feature or v_res.quantity <> quantity or v_res.held_by_server <> p_by_server
      or v_res.actor_id is distinct from p_actor then
      perform saasbase.fail('PT409', 'idempotency_conflict', 'This idempotency key was used for another request');
    end if;
    return (v_res.id, v_res.status, v_res.amount, v_res.free_units, null, v_res.expires_at,
      true)::public.reservation_hold;
  end if;

  select * into v_use from saasbase.take_quota(v_account, feature, quantity, v_at);
  v_free := v_use.free_units;
  v_price := (quantity - v_free)::bigint * v_use.unit_credits;
  if v_free < quantity then
    v_amount := greatest(coalesce(max_credits, v_price), v_price);
  end if;

  if v_amount > 0 then
    v_balance := saasbase.debit(v_account, v_amount, v_at, v_id);
    perform saasbase.append_ledger(v_account, 'reserve', -v_amount, v_balance, v_at, p_feature => feature,
      p_quantity => quantity, p_key => v_key, p_reservation => v_id, p_actor => p_actor);
  end if;
  update public.wallets set reserved = reserved + v_amount, next_due_at = least(next_due_at, v_expires)
  where account_id = v_account
  returning balance into v_balance;
  if not found then -- a deleted user's token, still valid until it expires
    perform saasbase.fail('PT404', 'wallet_not_found', 'This account has no wallet');
  end if;
  -- A hold counts as spent by its member until it settles or is released.
  perform saasbase.count_spend(v_account, p_actor, v_amount, v_at);
  update public.credit_reservations
  set amount = v_amount, price = v_price, free_units = v_free,
    period_key = case when v_free > 0 then v_use.period_key end
  where id = v_id;
  return (v_id, 'open', v_amount, v_free, v_balance, v_expires, false)::public.reservation_hold;
end;
$$;

-- A reservation of the account, taken by `p_actor` (rows from before accounts have none: their account's
-- owner took them), or PT404 reservation_not_found. A member closes only what they reserved.
create function saasbase.require_reserved_by(p_res public.credit_reservations, p_actor uuid) returns void
language plpgsql
set search_path = ''
as $$
begin
  if p_res.id is null or (p_actor is not null and p_res.actor_id is not null and p_res.actor_id <> p_actor) then
    perform saasbase.fail('PT404', 'reservation_not_found', 'No such reservation');
  end if;
end;
$$;

-- Settles a reservation of `p_account` (see the reservations migration). What the settlement gives back of the
-- hold no longer counts as the member's spending (in the month of the hold); a server-held one charged past
-- its hold is charged as far as the balance and the member's spending cap go, the rest recorded as unpaid.
drop function saasbase.settle(uuid, uuid, bigint, timestamptz, boolean);
create function saasbase.settle(
  p_account uuid, p_actor uuid, p_reservation uuid, p_actual bigint, p_at timestamptz, p_by_server boolean
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
  perform 1 from public.wallets where account_id = p_account for update;
  select * into v_res from public.credit_reservations r
  where r.id = p_reservation and r.account_id = p_account
  for update;
  perform saasbase.require_reserved_by(v_res, p_actor);
  perform saasbase.require_closable(v_res, p_by_server);
  v_cost := case when v_res.free_units >= v_res.quantity then 0 else greatest(p_actual, v_res.price) end;
  if v_res.status = 'settled' then
    if v_res.cost <> v_cost then
      perform saasbase.fail('PT409', 'reservation_closed', 'This reservation was settled at another amount');
    end if;
    select l.id, l.balance_after into v_usage, v_balance from public.credit_ledger l
    where l.account_id = p_account and l.kind = 'settle' and l.reservation_id = v_res.id;
    return (v_res.id, v_usage, v_res.settled_amount, greatest(v_res.amount - v_res.settled_amount, 0), v_balance,
      true, v_res.cost, v_res.cost - v_res.settled_amount)::public.reservation_settlement;
  elsif v_res.status = 'released' and not p_by_server then
    perform saasbase.fail('PT409', 'reservation_closed', 'This reservation was released');
  end if;

  if v_res.status = 'open' then
    v_held := least(v_cost, v_res.amount);
    v_balance := saasbase.end_hold(v_res, v_res.amount - v_held, p_at);
    perform saasbase.count_spend(p_account, v_res.actor_id, v_held - v_res.amount, v_res.created_at);
  else
    v_held := 0;
    select w.balance into v_balance from public.wallets w where w.account_id = p_account;
  end if;
  update public.credit_reservations set status = 'settled' where id = v_res.id;
  if p_by_server and v_cost > v_held then
    select w.next_due_at into v_due from public.wallets w where w.account_id = p_account;
    if v_due <= p_at then
      perform saasbase.run_due(p_account, p_at);
    end if;
    select w.balance into v_balance from public.wallets w where w.account_id = p_account;
    v_extra := least(v_cost - v_held, v_balance,
      coalesce(saasbase.spend_left(p_account, v_res.actor_id, p_at), v_balance));
    if v_extra > 0 then
      v_balance := saasbase.debit(p_account, v_extra, p_at);
      perform saasbase.count_spend(p_account, v_res.actor_id, v_extra, p_at);
    end if;
  end if;
  v_charged := v_held + v_extra;
  v_usage := saasbase.append_ledger(p_account, 'settle',
    case when v_res.status = 'open' then v_res.amount else 0 end - v_charged, v_balance, p_at,
    p_feature => v_res.feature_id, p_quantity => v_res.quantity, p_free_units => v_res.free_units,
    p_reservation => v_res.id, p_reason => format('charged %s of %s held', v_charged, v_res.amount)
      || case when v_res.status <> 'open' then ' (the hold had lapsed)' else '' end
      || case when v_cost > v_charged then format('; %s of its cost %s unpaid', v_cost - v_charged, v_cost)
         else '' end,
    p_actor => v_res.actor_id);
  update public.credit_reservations set settled_amount = v_charged, cost = v_cost, closed_at = p_at
  where id = v_res.id;
  return (v_res.id, v_usage, v_charged,
    case when v_res.status = 'open' then v_res.amount - v_held else 0 end, v_balance, false, v_cost,
    v_cost - v_charged)::public.reservation_settlement;
end;
$$;

drop function saasbase.renew(uuid, uuid, timestamptz);
create function saasbase.renew(p_account uuid, p_actor uuid, p_reservation uuid, p_at timestamptz)
returns public.reservation_lease
language plpgsql
set search_path = ''
as $$
declare
  v_lifetime interval := saasbase.reservation_lifetime();
  v_res public.credit_reservations;
begin
  update public.credit_reservations r set expires_at = p_at + v_lifetime
  where r.id = p_reservation and r.account_id = p_account and r.status = 'open' and r.held_by_server
    and (r.actor_id is null or r.actor_id = p_actor)
  returning * into v_res;
  if not found then
    select * into v_res from public.credit_reservations r where r.id = p_reservation and r.account_id = p_account;
    perform saasbase.require_reserved_by(v_res, p_actor);
  end if;
  return (v_res.id, v_res.status, v_res.expires_at, extract(epoch from v_lifetime))::public.reservation_lease;
end;
$$;

drop function saasbase.release_reservation(uuid, uuid, boolean);
create function saasbase.release_reservation(p_account uuid, p_actor uuid, reservation_id uuid, p_by_server boolean)
returns public.reservation_release
language plpgsql
set search_path = ''
as $$
declare
  v_account uuid := p_account;
  v_res public.credit_reservations;
  v_balance bigint;
begin
  -- Lock order as in charge_credits (quota counter, then wallet, then reservation), so the two never deadlock.
  select * into v_res from public.credit_reservations r
  where r.id = release_reservation.reservation_id and r.account_id = v_account;
  perform saasbase.require_reserved_by(v_res, p_actor);
  perform saasbase.require_closable(v_res, p_by_server);
  if v_res.free_units > 0 then
    perform 1 from public.usage_counters c
    where c.account_id = v_account and c.feature_id = v_res.feature_id and c.period_key = v_res.period_key
    for update;
  end if;
  perform 1 from public.wallets where account_id = v_account for update;
  select * into v_res from public.credit_reservations r
  where r.id = release_reservation.reservation_id and r.account_id = v_account
  for update;
  if not found then
    perform saasbase.fail('PT404', 'reservation_not_found', 'No such reservation');
  end if;
  if v_res.status = 'settled' then
    perform saasbase.fail('PT409', 'reservation_closed', 'This reservation was settled');
  end if;
  if v_res.status = 'released' then
    select balance into v_balance from public.wallets where account_id = v_account;
    return (v_res.id, v_res.amount, v_balance, true)::public.reservation_release;
  end if;
  v_balance := saasbase.release(v_res, saasbase.now(), 'released', true);
  return (v_res.id, v_res.amount, v_balance, false)::public.reservation_release;
end;
$$;

-- ---------------------------------------------------------------------------------------------------------
-- The credits API (000330): client RPCs take a trailing `account` (null: the caller's personal account) and
-- need the `spend` right to spend; service-role RPCs acting for a member take `account_id, user_id`.

drop function public.charge_credits(text, integer, text);
create function public.charge_credits(
  feature text, quantity integer default 1, idempotency_key text default null, account uuid default null
) returns public.credit_charge
language plpgsql
security definer
set search_path = ''
as $$
#variable_conflict use_column
declare
  v_uid uuid := saasbase.require_user();
  v_account uuid := saasbase.require_account(account, 'spend');
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

  -- One charge per (account, key) at a time: a concurrent twin waits here, and the check below (a new
  -- statement, so a new snapshot) then sees the first one's committed row and returns it. Another member's
  -- charge under the same key is a conflict, not theirs to replay.
  perform pg_advisory_xact_lock(hashtextextended(v_account::text || '/' || v_key, 0));
  select * into v_prior from public.credit_ledger l
  where l.account_id = v_account and l.kind = 'charge' and l.idempotency_key = v_key;
  if found then
    if v_prior.feature_id <> feature or v_prior.quantity <> quantity
      or (v_prior.actor_id is not null and v_prior.actor_id <> v_uid) then
      perform saasbase.fail('PT409', 'idempotency_conflict', 'This idempotency key was used for another request');
    end if;
    return (v_prior.id, v_prior.feature_id, v_prior.quantity, v_prior.free_units, -v_prior.amount,
      v_prior.balance_after, true)::public.credit_charge;
  end if;

  select * into v_use from saasbase.take_quota(v_account, feature, quantity, v_at);
  v_free := v_use.free_units;
  v_credits := (quantity - v_free)::bigint * v_use.unit_credits;
  if v_credits > 0 then
    v_balance := saasbase.debit(v_account, v_credits, v_at);
    perform saasbase.count_spend(v_account, v_uid, v_credits, v_at);
  else
    select w.balance into v_balance from public.wallets w where w.account_id = v_account;
    if not found then
      perform saasbase.fail('PT404', 'wallet_not_found', 'This account has no wallet');
    end if;
  end if;
  v_id := saasbase.append_ledger(v_account, 'charge', -v_credits, v_balance, v_at, p_feature => feature,
    p_quantity => quantity, p_free_units => v_free, p_key => v_key, p_actor => v_uid);
  return (v_id, feature, quantity, v_free, v_credits, v_balance, false)::public.credit_charge;
end;
$$;
revoke execute on function public.charge_credits(text, integer, text, uuid) from public, anon;
grant execute on function public.charge_credits(text, integer, text, uuid) to authenticated;

drop function public.reserve_credits(text, integer, text, bigint);
create function public.reserve_credits(
  feature text, quantity integer default 1, idempotency_key text default null, max_credits bigint default null,
  account uuid default null
) returns public.reservation_hold
language plpgsql
security definer
set search_path = ''
as $$
begin
  return saasbase.reserve(saasbase.require_account(account, 'spend'), saasbase.require_user(), feature, quantity,
    idempotency_key, max_credits, false);
end;
$$;
revoke execute on function public.reserve_credits(text, integer, text, bigint, uuid) from public, anon;
grant execute on function public.reserve_credits(text, integer, text, bigint, uuid) to authenticated;

-- A reservation a server-side operation takes for a signed-in member (only the server closes it).
drop function public.service_role_reserve_credits(uuid, text, integer, text, bigint);
create function public.service_role_reserve_credits(
  account_id uuid, user_id uuid, feature text, quantity integer default 1, idempotency_key text default null,
  max_credits bigint default null
) returns public.reservation_hold
language plpgsql
security definer
set search_path = ''
as $$
begin
  return saasbase.reserve(saasbase.acting_account(account_id, user_id, 'spend'), user_id, feature, quantity,
    idempotency_key, max_credits, true);
end;
$$;
revoke execute on function public.service_role_reserve_credits(uuid, uuid, text, integer, text, bigint)
  from public, anon, authenticated;
grant execute on function public.service_role_reserve_credits(uuid, uuid, text, integer, text, bigint) to service_role;

drop function public.settle_reservation(uuid, bigint);
create function public.settle_reservation(reservation_id uuid, actual bigint, account uuid default null)
returns public.reservation_settlement
language plpgsql
security definer
set search_path = ''
as $$
begin
  return saasbase.settle(saasbase.require_account(account, 'spend'), saasbase.require_user(), reservation_id,
    actual, saasbase.now(), false);
end;
$$;
revoke execute on function public.settle_reservation(uuid, bigint, uuid) from public, anon;
grant execute on function public.settle_reservation(uuid, bigint, uuid) to authenticated;

drop function public.release_reservation(uuid);
create function public.release_reservation(reservation_id uuid, account uuid default null)
returns public.reservation_release
language plpgsql
security definer
set search_path = ''
as $$
begin
  return saasbase.release_reservation(saasbase.require_account(account, 'spend'), saasbase.require_user(),
    reservation_id, false);
end;
$$;
revoke execute on function public.release_reservation(uuid, uuid) from public, anon;
grant execute on function public.release_reservation(uuid, uuid) to authenticated;

-- The server gives back, or keeps alive, a reservation it took for `user_id` in `account_id`: the
-- reservation must be theirs (saasbase.require_reserved_by). No membership check: what was reserved while they
-- were a member closes the same after they left, so a hold is never stranded.
drop function public.service_role_release_reservation(uuid, uuid);
create function public.service_role_release_reservation(account_id uuid, user_id uuid, reservation_id uuid)
returns public.reservation_release
language plpgsql
security definer
set search_path = ''
as $$
begin
  return saasbase.release_reservation(coalesce(account_id, user_id), user_id, reservation_id, true);
end;
$$;
revoke execute on function public.service_role_release_reservation(uuid, uuid, uuid) from public, anon, authenticated;
grant execute on function public.service_role_release_reservation(uuid, uuid, uuid) to service_role;

drop function public.service_role_renew_reservation(uuid, uuid);
create function public.service_role_renew_reservation(account_id uuid, user_id uuid, reservation_id uuid)
returns public.reservation_lease
language plpgsql
security definer
set search_path = ''
as $$
begin
  return saasbase.renew(coalesce(account_id, user_id), user_id, reservation_id, saasbase.now());
end;
$$;
revoke execute on function public.service_role_renew_reservation(uuid, uuid, uuid) from public, anon, authenticated;
grant execute on function public.service_role_renew_reservation(uuid, uuid, uuid) to service_role;

-- get_wallet also says what the caller may still spend from a team wallet this month (their cap's rest).
alter type public.wallet_summary
  add attribute spend_cap bigint,
  add attribute spend_left bigint;

drop function public.get_wallet();
create function public.get_wallet(account uuid default null) returns public.wallet_summary
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_uid uuid := saasbase.require_user();
  v_account uuid := saasbase.require_account(account, null);
  v_at timestamptz := saasbase.now();
  v_wallet public.wallets;
  v_plan text;
begin
  select * into v_wallet from public.wallets where account_id = v_account;
  if not found then -- every account has one: a deleted user's token, still valid until it expires
    perform saasbase.fail('PT404', 'wallet_not_found', 'This account has no wallet');
  end if;
  if v_wallet.next_due_at <= v_at and current_setting('transaction_read_only') = 'off' then
    perform 1 from public.wallets where account_id = v_account for update;
    perform saasbase.run_due(v_account, v_at);
    select * into v_wallet from public.wallets where account_id = v_account;
  end if;
  v_plan := saasbase.plan_of(v_account);
  return (
    v_wallet.balance,
    v_wallet.reserved,
    v_plan,
    (select pl.discount_percent from public.plans pl where pl.id = v_plan),
    coalesce((select array_agg((l.remaining, l.expires_at)::public.wallet_lot order by l.expires_at)
      from public.credit_lots l where l.account_id = v_account and l.remaining > 0), '{}'),
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
      left join public.usage_counters c on c.account_id = v_account and c.feature_id = q.feature_id
        and c.period_key = saasbase.period_key(q.period, v_at)
      where q.plan_id = v_plan), '{}'),
    case when v_account <> v_uid then (select m.monthly_spend_cap from public.account_members m
      where m.account_id = v_account and m.user_id = v_uid) end,
    saasbase.spend_left(v_account, v_uid, v_at)
  )::public.wallet_summary;
end;
$$;
revoke execute on function public.get_wallet(uuid) from public, anon;
grant execute on function public.get_wallet(uuid) to authenticated;

-- Server-side credit additions (Stripe purchases, referral rewards, admin grants) to an account.
drop function public.service_role_grant_credits(uuid, bigint, text, text, text, timestamptz, text);
create function public.service_role_grant_credits(
  account_id uuid, amount bigint, kind text default 'grant', reason text default null,
  idempotency_key text default null, expires_at timestamptz default null, reference text default null
) returns public.credit_grant
language plpgsql
security definer
set search_path = ''
as $$
begin
  return saasbase.credit(account_id, amount, kind, reason, idempotency_key, saasbase.now(), expires_at, reference);
end;
$$;
revoke execute on function public.service_role_grant_credits(uuid, bigint, text, text, text, timestamptz, text)
  from public, anon, authenticated;
grant execute on function public.service_role_grant_credits(uuid, bigint, text, text, text, timestamptz, text)
  to service_role;

drop function public.service_role_debit_credits(uuid, bigint, text, text, text, boolean, text);
create function public.service_role_debit_credits(
  account_id uuid, amount bigint, kind text default 'adjustment', reason text default null,
  idempotency_key text default null, allow_partial boolean default false, reference text default null
) returns public.credit_debit
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_at timestamptz := saasbase.now();
  v_account uuid := service_role_debit_credits.account_id;
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
  select * into v_wallet from public.wallets w where w.account_id = v_account for update;
  if not found then
    perform saasbase.fail('PT404', 'wallet_not_found', 'No wallet for this account');
  end if;
  if idempotency_key is not null then
    select * into v_prior from public.credit_ledger l
    where l.account_id = v_account and l.kind = service_role_debit_credits.kind
      and l.idempotency_key = service_role_debit_credits.idempotency_key;
    if found then
      return (v_prior.id, -v_prior.amount, v_prior.balance_after, true)::public.credit_debit;
    end if;
  end if;
  if v_wallet.next_due_at <= v_at then
    perform saasbase.run_due(v_account, v_at);
    select * into v_wallet from public.wallets w where w.account_id = v_account;
  end if;
  v_take := case when allow_partial then least(amount, v_wallet.balance) else amount end;
  if v_take = 0 then
    return (null, 0, v_wallet.balance, false)::public.credit_debit;
  end if;
  v_balance := saasbase.debit(v_account, v_take, v_at);
  v_ledger := saasbase.append_ledger(v_account, kind, -v_take, v_balance, v_at, p_reason => reason,
    p_key => idempotency_key, p_reference => reference);
  return (v_ledger, v_take, v_balance, false)::public.credit_debit;
end;
$$;
revoke execute on function public.service_role_debit_credits(uuid, bigint, text, text, text, boolean, text)
  from public, anon, authenticated;
grant execute on function public.service_role_debit_credits(uuid, bigint, text, text, text, boolean, text)
  to service_role;

-- ---------------------------------------------------------------------------------------------------------
-- Billing's claw-back (000400) reads the wallet, reservations and counters: by account. (Only the credits
-- tables: the billing tables' functions are 20261207000200_account_billing.sql's.)
create or replace function saasbase.claw_back(p_user uuid, p_credits bigint, p_reason text, p_key text, p_reference text)
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
  if (select w.balance from public.wallets w where w.account_id = p_user) < p_credits then
    select array_agg(r.id order by r.created_at) into v_parked from public.credit_reservations r
    where r.account_id = p_user and r.status = 'open' and not r.held_by_server and r.amount > 0;
    perform 1 from public.usage_counters c
    where (c.account_id, c.feature_id, c.period_key) in (
      select r.account_id, r.feature_id, r.period_key from public.credit_reservations r
      where r.id = any(v_parked) and r.free_units > 0)
    order by c.feature_id, c.period_key
    for update;
    foreach v_id in array coalesce(v_parked, '{}') loop
      begin
        perform saasbase.release_reservation(p_user, null, v_id, false);
      exception when sqlstate 'PT409' then
        null; -- settled by its owner meanwhile: nothing parked there any more
      end;
    end loop;
  end if;
  v_debit := public.service_role_debit_credits(p_user, p_credits, 'refund', p_reason, p_key, true, p_reference);
  return case when v_debit.replayed then 0 else v_debit.debited::integer end;
end;
$$;

-- ---------------------------------------------------------------------------------------------------------
-- Chat (000500): the conversation and its messages stay the user's (history is personal); the message's
-- charge goes to the account they name (`account_id`; null: their personal account).

drop function public.service_role_reserve_chat(uuid, text, text, text[], integer[]);
create function public.service_role_reserve_chat(
  account_id uuid, user_id uuid, idempotency_key text, persona text, models text[], worst_tokens integer[]
)
returns public.chat_hold
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_account uuid := saasbase.acting_account(account_id, user_id, 'spend');
  v_key text := idempotency_key;
  v_hold public.reservation_hold;
  v_worst bigint[];
  v_first bigint;
  v_level bigint;
begin
  if cardinality(models) is distinct from cardinality(worst_tokens) or coalesce(cardinality(models), 0) = 0 then
    perform saasbase.fail('PT400', 'bad_request', 'One worst token count for each model, at least one model');
  end if;
  v_worst := array(
    select saasbase.chat_price(persona, m.model, m.tokens)
    from unnest(models, worst_tokens) with ordinality m(model, tokens, i) order by m.i
  );
  v_first := v_worst[1];
  v_level := (select max(w) from unnest(v_worst) w);
  for attempt in 1..20 loop
    begin
      v_hold := saasbase.reserve(v_account, user_id, 'chat', 1, v_key, v_level, true);
    exception when sqlstate 'PT402' then
      -- Short of credits, or of the member's spending cap: the first provider's worst case, without the dearer
      -- fallbacks.
      if v_level <= v_first then
        raise;
      end if;
      v_level := v_first;
      continue;
    end;
    if not v_hold.replayed then
      return (v_hold.reservation_id, v_hold.amount, v_hold.free_units, v_hold.balance, v_hold.expires_at,
        extract(epoch from saasbase.reservation_lifetime()), array(select w <= v_level from unnest(v_worst) w)
      )::public.chat_hold;
    end if;
    exit when not (v_hold.status = 'released' or (v_hold.status = 'open' and v_hold.expires_at <= saasbase.now()));
    v_key := left(v_key, 69) || ':' || v_hold.reservation_id;
  end loop;
  perform saasbase.fail('PT409', 'idempotency_conflict',
    'This Idempotency-Key was used for a message already; send a new message with a new key');
  return null; -- not reached: fail raises
end;
$$;
revoke execute on function public.service_role_reserve_chat(uuid, uuid, text, text, text[], integer[])
  from public, anon, authenticated;
grant execute on function public.service_role_reserve_chat(uuid, uuid, text, text, text[], integer[]) to service_role;

-- The exchange stored as before (see the chat migration); its reservation, `user_id`'s in `account_id`, settled
-- there. Settled whether or not they are still a member: the answer was delivered.
drop function public.service_role_record_chat_exchange(uuid, boolean, uuid, text, text, text, text, text, text,
  text, text, integer, integer, uuid);
create function public.service_role_record_chat_exchange(
  conversation_id uuid, new_conversation boolean, user_id uuid, anon_session_hash text, title text, persona text,
  provider text, model text, question text, answer text, status text, prompt_tokens integer,
  completion_tokens integer, reservation_id uuid, account_id uuid default null
) returns public.chat_exchange
language plpgsql
security definer
set search_path = ''
as $$
#variable_conflict use_variable
declare
  v_charged bigint := 0;
  v_unpaid bigint := 0;
  v_balance bigint;
  v_settled public.reservation_settlement;
  v_message bigint;
  v_kept boolean := true;
begin
  if new_conversation then
    insert into public.conversations (id, user_id, anon_session_hash, title, persona)
    values (conversation_id, user_id, anon_session_hash, title, persona);
  else
    perform 1 from public.conversations c where c.id = conversation_id for key share;
    v_kept := found;
  end if;
  if v_kept then
    insert into public.messages (conversation_id, role, content, persona, model)
    values (conversation_id, 'user', question, persona, model);
  end if;
  if status in ('complete', 'stopped') and reservation_id is not null then
    v_settled := saasbase.settle(coalesce(account_id, user_id), user_id, reservation_id,
      saasbase.chat_price(persona, model, prompt_tokens::bigint + completion_tokens), saasbase.now(), true);
    v_charged := v_settled.credits_charged;
    v_unpaid := v_settled.unpaid;
    v_balance := v_settled.balance;
  end if;
  if v_kept then
    insert into public.messages (conversation_id, role, content, status, persona, provider, model, prompt_tokens,
      completion_tokens, credits_consumed, reservation_id)
    values (conversation_id, 'assistant', answer, status,
      persona, provider, model, prompt_tokens, completion_tokens, v_charged, reservation_id)
    returning id into v_message;
  end if;
  return (v_message, v_charged, v_balance, v_unpaid)::public.chat_exchange;
end;
$$;
revoke execute on function public.service_role_record_chat_exchange(uuid, boolean, uuid, text, text, text, text,
  text, text, text, text, integer, integer, uuid, uuid) from public, anon, authenticated;
grant execute on function public.service_role_record_chat_exchange(uuid, boolean, uuid, text, text, text, text,
  text, text, text, text, integer, integer, uuid, uuid) to service_role;

-- ---------------------------------------------------------------------------------------------------------
-- Admin (000700): a user's balance and activity are their personal account's; credits are adjusted on an
-- account.

create or replace function public.admin_search_users(search text default null, page_size integer default 50, page integer default 0)
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
      (select max(l.created_at) from public.credit_ledger l where l.account_id = p.id),
      (select max(e.occurred_at) from public.events e where e.user_id = p.id))
  from public.profiles p
  join auth.users u on u.id = p.id
  left join public.wallets w on w.account_id = p.id
  left join public.cash_wallets c on c.user_id = p.id
  where search is null or p.email ilike '%' || search || '%' or p.display_name ilike '%' || search || '%'
  order by p.created_at desc
  limit least(greatest(page_size, 1), 200) offset greatest(page, 0)::bigint * least(greatest(page_size, 1), 200);
end;
$$;

alter type public.credit_adjustment rename attribute user_id to account_id;

drop function public.admin_adjust_credits(uuid, bigint, text, text);
create function public.admin_adjust_credits(account_id uuid, amount bigint, reason text, idempotency_key text default null)
returns public.credit_adjustment
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_admin uuid := saasbase.require_admin();
  v_account uuid := admin_adjust_credits.account_id;
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
  if idempotency_key is not null then
    perform saasbase.require_key(idempotency_key);
    perform pg_advisory_xact_lock(hashtextextended(v_account::text || '/adjust/' || idempotency_key, 0));
    select * into v_prior from public.credit_ledger l
    where l.account_id = v_account and l.kind = 'adjustment'
      and l.idempotency_key = admin_adjust_credits.idempotency_key;
    if found then
      if v_prior.amount <> amount then
        perform saasbase.fail('PT409', 'idempotency_conflict', 'This idempotency key was used for another request');
      end if;
      return (v_account, amount, v_prior.balance_after, true)::public.credit_adjustment;
    end if;
  end if;
  if amount > 0 then
    v_balance := (saasbase.credit(v_account, amount, 'adjustment', reason, idempotency_key, v_at)).balance;
  else
    v_balance := saasbase.debit(v_account, -amount, v_at);
    perform saasbase.append_ledger(v_account, 'adjustment', amount, v_balance, v_at, p_reason => reason,
      p_key => idempotency_key);
  end if;
  perform saasbase.audit(v_admin, 'credits.adjust', 'account', v_account::text,
    jsonb_build_object('amount', amount, 'reason', reason, 'balance', v_balance));
  return (v_account, amount, v_balance, false)::public.credit_adjustment;
end;
$$;
revoke execute on function public.admin_adjust_credits(uuid, bigint, text, text) from public, anon;
grant execute on function public.admin_adjust_credits(uuid, bigint, text, text) to authenticated;

