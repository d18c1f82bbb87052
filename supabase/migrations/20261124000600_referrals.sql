-- Referrals: a short readable code per user, attribution from the sign-up metadata (`referral_code`), and
-- the config's rewards — credits through the credit ledger, cash through a separate cash ledger in cents —
-- paid when the config says (sign-up, email confirmed, first payment). Cash leaves through cash-outs an admin
-- approves and the referral-payout function pays with a Stripe Connect transfer.

create table public.referral_codes (
  user_id uuid primary key references auth.users (id) on delete cascade,
  code text not null unique check (code ~ '^[A-Z2-9]{8}$'),
  created_at timestamptz not null default now()
);
comment on table public.referral_codes is 'Each user''s referral code (8 characters, no look-alikes).';

create table public.referrals (
  id uuid primary key default gen_random_uuid(),
  referrer_id uuid not null references auth.users (id) on delete cascade,
  -- One referrer per user, ever.
  referred_id uuid not null unique references auth.users (id) on delete cascade,
  code text not null,
  -- pending: waiting for the config's moment; rewarded; capped: over the referrer's monthly cap (no reward).
  status text not null default 'pending' check (status in ('pending', 'rewarded', 'capped')),
  credits_awarded integer not null default 0,
  cash_awarded_cents integer not null default 0,
  created_at timestamptz not null default now(),
  rewarded_at timestamptz,
  check (referrer_id <> referred_id)
);
comment on table public.referrals is 'Who referred whom, and the reward paid for it.';
create index referrals_referrer on public.referrals (referrer_id, created_at desc);

-- Cash, in cents, never floats: available = sum(cash_ledger) per user; what open cash-outs hold is already
-- taken out of it (a `hold` row), and comes back (`release`) if the cash-out is rejected or abandoned.
create table public.cash_wallets (
  user_id uuid primary key references auth.users (id) on delete cascade,
  available_cents bigint not null default 0 check (available_cents >= 0),
  held_cents bigint not null default 0 check (held_cents >= 0),
  paid_out_cents bigint not null default 0 check (paid_out_cents >= 0),
  updated_at timestamptz not null default now()
);
comment on table public.cash_wallets is 'Cash earned by referrals: available, held by cash-outs, paid out.';

create table public.cash_ledger (
  id bigint generated always as identity primary key,
  user_id uuid not null references auth.users (id) on delete cascade,
  kind text not null check (kind in ('referral', 'hold', 'release', 'adjustment')),
  amount_cents bigint not null,
  balance_after_cents bigint not null check (balance_after_cents >= 0),
  referral_id uuid,
  cashout_id uuid,
  reason text,
  idempotency_key text,
  created_at timestamptz not null default now()
);
comment on table public.cash_ledger is 'Append-only cash movements; available_cents is their sum.';
create index cash_ledger_user on public.cash_ledger (user_id, id desc);
create unique index cash_ledger_idempotency on public.cash_ledger (user_id, kind, idempotency_key)
  where idempotency_key is not null;

create table public.connect_accounts (
  user_id uuid primary key references auth.users (id) on delete cascade,
  stripe_account_id text not null unique,
  created_at timestamptz not null default now()
);
comment on table public.connect_accounts is 'The Stripe Connect account payouts go to; written by the onboarding function.';

create table public.cashouts (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references auth.users (id) on delete cascade,
  amount_cents bigint not null check (amount_cents > 0),
  currency text not null,
  -- requested -> approved -> paying -> paid | failed (-> approved again to retry) | approved (Stripe busy:
  -- the next run retries with the same key); requested | approved | failed -> rejected. `paying`: one payout
  -- run holds it (claimed_at), so two runs never transfer it at once and an admin cannot reject it meanwhile;
  -- a claim older than 15 minutes (a run that died) is taken over by the next run.
  status text not null default 'requested'
    check (status in ('requested', 'approved', 'paying', 'paid', 'failed', 'rejected')),
  claimed_at timestamptz,
  stripe_transfer_id text unique,
  attempts integer not null default 0,
  failure_reason text,
  decided_by uuid references auth.users (id) on delete set null,
  decision_reason text,
  requested_at timestamptz not null default now(),
  decided_at timestamptz,
  paid_at timestamptz,
  updated_at timestamptz not null default now()
);
comment on table public.cashouts is 'Requests to pay out referral cash; approved by an admin, paid by referral-payout.';
create index cashouts_user on public.cashouts (user_id, requested_at desc);
create index cashouts_status on public.cashouts (status) where status in ('requested', 'approved', 'paying', 'failed');
-- Deleting an admin's account sets their decisions' decided_by to null: by index, not a scan of every cash-out.
create index cashouts_decided_by on public.cashouts (decided_by);

create trigger cashouts_touch_updated_at before update on public.cashouts
  for each row execute function saasbase.touch_updated_at();

alter table public.referral_codes enable row level security;
alter table public.referrals enable row level security;
alter table public.cash_wallets enable row level security;
alter table public.cash_ledger enable row level security;
alter table public.connect_accounts enable row level security;
alter table public.cashouts enable row level security;

create policy "Referral codes are readable by their owner and admins" on public.referral_codes
  for select to authenticated using (user_id = (select auth.uid()) or (select saasbase.is_admin()));
create policy "Referrals are readable by the referrer and admins" on public.referrals
  for select to authenticated using (referrer_id = (select auth.uid()) or (select saasbase.is_admin()));
create policy "Cash wallets are readable by their owner and admins" on public.cash_wallets
  for select to authenticated using (user_id = (select auth.uid()) or (select saasbase.is_admin()));
create policy "Cash ledger rows are readable by their owner and admins" on public.cash_ledger
  for select to authenticated using (user_id = (select auth.uid()) or (select saasbase.is_admin()));
create policy "Connect accounts are readable by their owner and admins" on public.connect_accounts
  for select to authenticated using (user_id = (select auth.uid()) or (select saasbase.is_admin()));
create policy "Cash-outs are readable by their owner and admins" on public.cashouts
  for select to authenticated using (user_id = (select auth.uid()) or (select saasbase.is_admin()));

-- Read only for everyone who may, the service role included (money: the functions below do the writes); the
-- onboarding function (service role) writes connect_accounts.
grant select on public.referral_codes, public.referrals, public.cash_wallets, public.cash_ledger,
  public.connect_accounts, public.cashouts to authenticated, service_role;
grant insert, update, delete on public.connect_accounts to service_role;

create trigger cash_ledger_append_only before update or delete on public.cash_ledger
  for each row execute function saasbase.ledger_append_only();

-- ---------------------------------------------------------------------------------------------------------
-- Internals

-- Moves a user's available cash by `p_amount` (negative: out; cannot go below zero) with its ledger row.
create function saasbase.move_cash(
  p_user uuid, p_kind text, p_amount bigint, p_reason text,
  p_referral uuid default null, p_cashout uuid default null, p_key text default null
) returns bigint
language plpgsql
set search_path = ''
as $$
declare
  v_balance bigint;
begin
  insert into public.cash_wallets (user_id) values (p_user) on conflict (user_id) do nothing;
  update public.cash_wallets
  set available_cents = available_cents + p_amount, updated_at = now()
  where user_id = p_user and available_cents + p_amount >= 0
  returning available_cents into v_balance;
  if not found then
    perform saasbase.fail('PT402', 'insufficient_cash', 'Not enough referral cash available');
  end if;
  insert into public.cash_ledger (user_id, kind, amount_cents, balance_after_cents, referral_id, cashout_id, reason,
    idempotency_key)
  values (p_user, p_kind, p_amount, v_balance, p_referral, p_cashout, p_reason, p_key);
  return v_balance;
end;
$$;

-- A fresh code: 8 characters from an alphabet without 0/O, 1/I/L.
create function saasbase.new_referral_code() returns text
language plpgsql
set search_path = ''
as $$
declare
  v_alphabet constant text := 'ABCDEFGHJKMNPQRSTUVWXYZ23456789';
  v_code text;
begin
  loop
    select string_agg(substr(v_alphabet, 1 + (get_byte(extensions.gen_random_bytes(1), 0) % 31), 1), '')
    into v_code from generate_series(1, 8);
    exit when not exists (select from public.referral_codes where code = v_code);
  end loop;
  return v_code;
end;
$$;

-- Pays a pending referral now, unless the referrer's monthly cap is reached (then: capped, no reward).
create function saasbase.reward_referral(p_referral uuid) returns text
language plpgsql
set search_path = ''
as $$
declare
  v_ref public.referrals;
  v_settings saasbase.settings;
  v_this_month integer;
begin
  select * into v_ref from public.referrals where id = p_referral for update;
  if v_ref.status <> 'pending' then
    return v_ref.status;
  end if;
  select * into v_settings from saasbase.settings;
  -- Serialize a referrer's rewards so that the cap holds under concurrent sign-ups.
  perform pg_advisory_xact_lock(hashtextextended('referrer/' || v_ref.referrer_id::text, 0));
  select count(*) into v_this_month from public.referrals
  where referrer_id = v_ref.referrer_id and status = 'rewarded'
    and rewarded_at >= date_trunc('month', saasbase.now() at time zone 'UTC') at time zone 'UTC';
  if v_this_month >= v_settings.referral_monthly_cap then
    update public.referrals set status = 'capped' where id = p_referral;
    return 'capped';
  end if;

  if v_settings.referrer_credits > 0 then
    perform saasbase.credit(v_ref.referrer_id, v_settings.referrer_credits, 'referral', 'referral reward',
      'referral:' || p_referral, saasbase.now());
  end if;
  if v_settings.referred_credits > 0 then
    perform saasbase.credit(v_ref.referred_id, v_settings.referred_credits, 'referral', 'referred bonus',
      'referred:' || p_referral, saasbase.now());
  end if;
  if v_settings.referrer_cash_cents > 0 then
    perform saasbase.move_cash(v_ref.referrer_id, 'referral', v_settings.referrer_cash_cents, 'referral reward',
      p_referral => p_referral, p_key => 'referral:' || p_referral);
  end if;
  update public.referrals
  set status = 'rewarded', rewarded_at = saasbase.now(), credits_awarded = v_settings.referrer_credits,
    cash_awarded_cents = v_settings.referrer_cash_cents
  where id = p_referral;
  return 'rewarded';
end;
$$;

-- Pays the referral of `p_referred` if `p_moment` (signup, email_confirmed, first_payment) is when the config
-- pays; returns the referral's status ('not_applicable' at another moment, 'no_referral' without one).
create function saasbase.referral_moment(p_referred uuid, p_moment text) returns text
language plpgsql
set search_path = ''
as $$
declare
  v_referral uuid;
begin
  if (select referral_pay_when from saasbase.settings) <> p_moment then
    return 'not_applicable';
  end if;
  select id into v_referral from public.referrals where referred_id = p_referred;
  if v_referral is null then
    return 'no_referral';
  end if;
  return saasbase.reward_referral(v_referral);
end;
$$;

-- On sign-up: the user's code, and the referral from `referral_code` in the sign-up metadata (an unknown code
-- is ignored: sign-up must not fail over it). Paid at once when the config says `signup`. An anonymous sign-in
-- is recorded as referred but not paid: anonymous users cost nothing to make. When it becomes an account (the
-- second trigger, on is_anonymous) its referral gets the moments a sign-up gets.
create function saasbase.handle_new_referral() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_code text := upper(trim(new.raw_user_meta_data ->> 'referral_code'));
  v_referrer uuid;
begin
  if tg_op = 'INSERT' then
    insert into public.referral_codes (user_id, code) values (new.id, saasbase.new_referral_code());
    if v_code is null or v_code = '' then
      return new;
    end if;
    select user_id into v_referrer from public.referral_codes where code = v_code;
    if v_referrer is null or v_referrer = new.id then
      return new;
    end if;
    insert into public.referrals (referrer_id, referred_id, code) values (v_referrer, new.id, v_code)
    on conflict (referred_id) do nothing;
    if new.is_anonymous then
      return new;
    end if;
  end if;
  perform saasbase.referral_moment(new.id, 'signup');
  -- A user GoTrue creates confirmed already (confirmations off, or made by an admin) is paid now too.
  if new.email_confirmed_at is not null then
    perform saasbase.referral_moment(new.id, 'email_confirmed');
  end if;
  return new;
end;
$$;
-- Named to run after the profile and wallet triggers (alphabetical order).
create trigger on_auth_user_created_zreferral after insert on auth.users
  for each row execute function saasbase.handle_new_referral();
create trigger on_auth_user_converted_zreferral after update of is_anonymous on auth.users
  for each row when (old.is_anonymous and not new.is_anonymous)
  execute function saasbase.handle_new_referral();

-- When GoTrue confirms the email: pay the referral if the config waits for that.
create function saasbase.handle_email_confirmed() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  if old.email_confirmed_at is null and new.email_confirmed_at is not null then
    perform saasbase.referral_moment(new.id, 'email_confirmed');
  end if;
  return new;
end;
$$;
create trigger on_auth_user_email_confirmed after update of email_confirmed_at on auth.users
  for each row execute function saasbase.handle_email_confirmed();

-- ---------------------------------------------------------------------------------------------------------
-- The API

-- First payment of a referred user (called by the billing webhook): pays the referral when the config
-- waits for it. Idempotent: a rewarded or capped referral stays as it is.
create function public.service_role_referral_first_payment(user_id uuid) returns text
language plpgsql
security definer
set search_path = ''
as $$
begin
  return saasbase.referral_moment(user_id, 'first_payment');
end;
$$;
revoke execute on function public.service_role_referral_first_payment(uuid) from public, anon, authenticated;
grant execute on function public.service_role_referral_first_payment(uuid) to service_role;

-- What referral_stats answers (a composite type, as every RPC result: see public.credit_grant).
create type public.referral_summary as (
  -- The caller's code and the product link that carries it (null before the config's product URL is set).
  code text,
  share_link text,
  referred_count bigint,
  rewarded_count bigint,
  pending_count bigint,
  credits_earned bigint,
  cash_earned_cents bigint,
  cash_available_cents bigint,
  -- Held by open cash-outs.
  cash_pending_cents bigint,
  cash_paid_out_cents bigint,
  currency text
);

-- The caller's referral figures and share link.
create function public.referral_stats() returns public.referral_summary
language plpgsql
stable
security definer
set search_path = ''
as $$
declare
  v_uid uuid := saasbase.require_user();
  v_code text;
  v_cash public.cash_wallets;
begin
  select code into v_code from public.referral_codes where user_id = v_uid;
  select * into v_cash from public.cash_wallets where user_id = v_uid;
  return (
    v_code,
    (select s.product_url from saasbase.settings s) || '/?ref=' || v_code,
    (select count(*) from public.referrals where referrer_id = v_uid),
    (select count(*) from public.referrals where referrer_id = v_uid and status = 'rewarded'),
    (select count(*) from public.referrals where referrer_id = v_uid and status = 'pending'),
    coalesce((select sum(credits_awarded) from public.referrals where referrer_id = v_uid), 0),
    coalesce((select sum(cash_awarded_cents) from public.referrals where referrer_id = v_uid), 0),
    coalesce(v_cash.available_cents, 0),
    coalesce(v_cash.held_cents, 0),
    coalesce(v_cash.paid_out_cents, 0),
    (select s.currency from saasbase.settings s)
  )::public.referral_summary;
end;
$$;
revoke execute on function public.referral_stats() from public, anon;
grant execute on function public.referral_stats() to authenticated;

-- What a cash-out request and an admin's decision on it answer.
create type public.cashout_status as (
  cashout_id uuid,
  -- requested, approved or rejected (see public.cashouts)
  status text,
  amount_cents bigint
);

-- A cash-out request for `amount_cents` of the caller's available cash (at least the config's minimum).
create function public.request_cashout(amount_cents bigint) returns public.cashout_status
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_uid uuid := saasbase.require_user();
  v_settings saasbase.settings;
  v_id uuid;
begin
  select * into v_settings from saasbase.settings;
  if amount_cents is null or amount_cents < greatest(v_settings.min_cashout_cents, 1) then
    perform saasbase.fail('PT422', 'below_minimum_cashout',
      format('The minimum cash-out is %s cents', greatest(v_settings.min_cashout_cents, 1)));
  end if;
  insert into public.cashouts (user_id, amount_cents, currency) values (v_uid, amount_cents, v_settings.currency)
  returning id into v_id;
  perform saasbase.move_cash(v_uid, 'hold', -amount_cents, 'cash-out requested', p_cashout => v_id);
  update public.cash_wallets set held_cents = held_cents + amount_cents where user_id = v_uid;
  return (v_id, 'requested', amount_cents)::public.cashout_status;
end;
$$;
revoke execute on function public.request_cashout(bigint) from public, anon;
grant execute on function public.request_cashout(bigint) to authenticated;

-- An admin's decision on a requested (or failed) cash-out: approve (to be paid, or paid again) or reject
-- (the held cash goes back to the user); an approved one not being paid can still be rejected. Audited.
create function public.admin_decide_cashout(cashout_id uuid, approve boolean, reason text default null)
returns public.cashout_status
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_admin uuid := saasbase.require_user();
  v_cashout public.cashouts;
begin
  if not saasbase.is_admin() then
    perform saasbase.fail('PT403', 'admin_only', 'Only admins decide cash-outs');
  end if;
  select * into v_cashout from public.cashouts c where c.id = admin_decide_cashout.cashout_id for update;
  if not found then
    perform saasbase.fail('PT404', 'cashout_not_found', 'No such cash-out');
  end if;
  if approve is null then
    perform saasbase.fail('PT422', 'invalid_decision', 'approve must be true or false');
  end if;
  if v_cashout.user_id = v_admin then
    perform saasbase.fail('PT403', 'forbidden', 'Another admin decides your own cash-out');
  end if;
  if v_cashout.status not in ('requested', 'failed') and not (v_cashout.status = 'approved' and not approve) then
    perform saasbase.fail('PT409', 'cashout_closed', format('This cash-out is %s', v_cashout.status));
  end if;
  -- Approved and tried by a payout run whose outcome was not final (Stripe timed out, say): the transfer may
  -- exist. Rejecting would hand the cash back while it was paid; the next run finds such a transfer (by its
  -- transfer group) and records it, or fails for good, and a failed cash-out can be rejected.
  if v_cashout.status = 'approved' and v_cashout.claimed_at is not null then
    perform saasbase.fail('PT409', 'cashout_payout_unsettled',
      'A payout run tried this cash-out without a final outcome: run the payout again before rejecting it');
  end if;
  if approve then
    -- A new approval starts clean: only a run's non-final outcome after it marks the cash-out unsettled.
    update public.cashouts set status = 'approved', decided_by = v_admin, decided_at = now(), decision_reason = reason,
      claimed_at = null
    where id = v_cashout.id;
  else
    update public.cashouts set status = 'rejected', decided_by = v_admin, decided_at = now(), decision_reason = reason
    where id = v_cashout.id;
    perform saasbase.move_cash(v_cashout.user_id, 'release', v_cashout.amount_cents, 'cash-out rejected',
      p_cashout => v_cashout.id);
    update public.cash_wallets set held_cents = held_cents - v_cashout.amount_cents where user_id = v_cashout.user_id;
  end if;
  perform saasbase.audit(v_admin, case when approve then 'cashout.approve' else 'cashout.reject' end, 'cashout',
    v_cashout.id::text, jsonb_build_object('amount_cents', v_cashout.amount_cents, 'reason', reason,
      'previous_status', v_cashout.status));
  return (v_cashout.id, case when approve then 'approved' else 'rejected' end,
    v_cashout.amount_cents)::public.cashout_status;
end;
$$;
revoke execute on function public.admin_decide_cashout(uuid, boolean, text) from public, anon;
grant execute on function public.admin_decide_cashout(uuid, boolean, text) to authenticated;

-- A payout run's claim on a cash-out stands for 15 minutes: long enough for one transfer (Stripe answers in
-- seconds), short enough that a run that died mid-claim holds nothing for long; the next run takes an older
-- claim over. The rule lives here alone: the claim (service_role_claim_cashout) and the list of cash-outs a run
-- pays (service_role_payable_cashouts) both ask it.
create function saasbase.claim_live(p_claimed_at timestamptz) returns boolean
language sql stable
set search_path = ''
as $$
  select p_claimed_at > now() - interval '15 minutes'
$$;

-- The cash-outs a payout run pays, oldest first: the approved ones, and those whose run died mid-claim.
create function public.service_role_payable_cashouts(max_count integer default 100)
returns table (cashout_id uuid)
language sql
stable
security definer
set search_path = ''
as $$
  select c.id from public.cashouts c
  where c.status = 'approved' or (c.status = 'paying' and not saasbase.claim_live(c.claimed_at))
  order by c.requested_at
  limit least(greatest(max_count, 1), 1000)
$$;
revoke execute on function public.service_role_payable_cashouts(integer) from public, anon, authenticated;
grant execute on function public.service_role_payable_cashouts(integer) to service_role;

-- What a claim answers: what the transfer needs (status paying), or why there is nothing to do (paid already,
-- with its transfer; in_progress: another run holds the claim).
create type public.cashout_claim as (
  cashout_id uuid,
  -- paying | paid | in_progress
  status text,
  user_id uuid,
  amount_cents bigint,
  currency text,
  -- The attempt the transfer's idempotency key names.
  attempt integer,
  -- The user's Stripe Connect account (null: onboarding not finished).
  destination text,
  -- Set when paid.
  transfer_id text
);

-- The payout function's bookkeeping: claims an approved cash-out for one transfer attempt (returning what the
-- transfer needs), and records its outcome. Service role only.
--   `attempt` names the Stripe idempotency key: it changes only after a recorded final failure, so an attempt
--   whose outcome was lost (a crash after the transfer) is retried with the same key, and the payer looks for
--   its transfer at Stripe first (Stripe forgets idempotency keys after 24 hours).
--   A live claim (saasbase.claim_live) is another run's: the answer is `in_progress`, and nothing is done.
create function public.service_role_claim_cashout(cashout_id uuid) returns public.cashout_claim
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_cashout public.cashouts;
  v_account text;
begin
  select * into v_cashout from public.cashouts c where c.id = service_role_claim_cashout.cashout_id for update;
  if not found then
    perform saasbase.fail('PT404', 'cashout_not_found', 'No such cash-out');
  end if;
  if v_cashout.status = 'paid' then
    return (v_cashout.id, 'paid', v_cashout.user_id, v_cashout.amount_cents, v_cashout.currency, v_cashout.attempts,
      null, v_cashout.stripe_transfer_id)::public.cashout_claim;
  end if;
  if v_cashout.status = 'paying' and saasbase.claim_live(v_cashout.claimed_at) then
    return (v_cashout.id, 'in_progress', v_cashout.user_id, v_cashout.amount_cents, v_cashout.currency,
      v_cashout.attempts, null, null)::public.cashout_claim;
  end if;
  if v_cashout.status not in ('approved', 'paying') then
    perform saasbase.fail('PT409', 'cashout_not_approved', format('This cash-out is %s', v_cashout.status));
  end if;
  update public.cashouts set status = 'paying', claimed_at = now() where id = v_cashout.id;
  select stripe_account_id into v_account from public.connect_accounts where user_id = v_cashout.user_id;
  return (v_cashout.id, 'paying', v_cashout.user_id, v_cashout.amount_cents, v_cashout.currency, v_cashout.attempts,
    v_account, null)::public.cashout_claim;
end;
$$;
revoke execute on function public.service_role_claim_cashout(uuid) from public, anon, authenticated;
grant execute on function public.service_role_claim_cashout(uuid) to service_role;

-- The outcome of the claimed attempt: paid (with the transfer), a final failure (the cash stays held until an
-- admin approves a retry or rejects), or a passing one (`final` false: rate-limited, Stripe unreachable): back
-- to approved, for the next run to retry with the same key, or with a new one (`new_key`: Stripe refused the
-- transfer for a passing reason, and would answer that key with the same refusal for a day). Only the current
-- claim's outcome counts. Paid and failed are audited, with the admin who ran the payout (`actor`; null for
-- the service role's own runs).
create type public.payout_outcome as (
  cashout_id uuid,
  -- paid | approved (a passing failure: the next run retries) | failed (final: an admin approves a retry or
  -- rejects)
  status text,
  transfer_id text,
  failure text,
  -- True when the next run retries it (status approved).
  retry boolean,
  -- True when it had been recorded paid already.
  replayed boolean
);
create function public.service_role_record_payout(
  cashout_id uuid, attempt integer, transfer_id text, failure text default null, final boolean default true,
  actor uuid default null, new_key boolean default false
) returns public.payout_outcome
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_cashout public.cashouts;
begin
  select * into v_cashout from public.cashouts c where c.id = service_role_record_payout.cashout_id for update;
  if not found then
    perform saasbase.fail('PT404', 'cashout_not_found', 'No such cash-out');
  end if;
  if v_cashout.status = 'paid' then
    return (v_cashout.id, 'paid', v_cashout.stripe_transfer_id, null, false, true)::public.payout_outcome;
  end if;
  if v_cashout.status <> 'paying' or v_cashout.attempts <> attempt then
    perform saasbase.fail('PT409', 'cashout_closed',
      format('This cash-out is %s (attempt %s); the outcome of attempt %s is stale', v_cashout.status,
        v_cashout.attempts, attempt));
  end if;
  if failure is null then
    if transfer_id is null then
      perform saasbase.fail('PT422', 'invalid_outcome', 'A paid cash-out needs its transfer id');
    end if;
    update public.cashouts set status = 'paid', stripe_transfer_id = transfer_id, paid_at = now(), failure_reason = null
    where id = v_cashout.id;
    update public.cash_wallets
    set held_cents = held_cents - v_cashout.amount_cents, paid_out_cents = paid_out_cents + v_cashout.amount_cents
    where user_id = v_cashout.user_id;
    perform saasbase.audit(actor, 'cashout.paid', 'cashout', v_cashout.id::text,
      jsonb_build_object('amount_cents', v_cashout.amount_cents, 'transfer_id', transfer_id, 'attempt', attempt));
    return (v_cashout.id, 'paid', transfer_id, null, false, false)::public.payout_outcome;
  end if;
  if not coalesce(final, true) then
    -- Under a new key Stripe refused the transfer outright (and the transfer group showed none before it):
    -- nothing is unsettled, so an admin may still reject it.
    update public.cashouts set status = 'approved', failure_reason = left(failure, 1000),
      attempts = attempts + case when new_key then 1 else 0 end,
      claimed_at = case when new_key then null else claimed_at end
    where id = v_cashout.id;
    return (v_cashout.id, 'approved', null, failure, true, false)::public.payout_outcome;
  end if;
  update public.cashouts set status = 'failed', failure_reason = left(failure, 1000), attempts = attempts + 1,
    claimed_at = null
  where id = v_cashout.id;
  perform saasbase.audit(actor, 'cashout.failed', 'cashout', v_cashout.id::text,
    jsonb_build_object('amount_cents', v_cashout.amount_cents, 'failure', left(failure, 1000), 'attempt', attempt));
  return (v_cashout.id, 'failed', null, failure, false, false)::public.payout_outcome;
end;
$$;
revoke execute on function public.service_role_record_payout(uuid, integer, text, text, boolean, uuid, boolean)
  from public, anon, authenticated;
grant execute on function public.service_role_record_payout(uuid, integer, text, text, boolean, uuid, boolean)
  to service_role;
