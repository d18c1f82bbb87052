-- RLS matrix of referrals and cash: owners (the referrer, for referrals) and admins read; nobody writes the
-- money tables directly, the service role included; connect_accounts is written by the onboarding function
-- (service role); the audit log is read by admins only and written by no one directly.
begin;
\ir _helpers.psql
select plan(159);

update saasbase.settings set referrer_cash_cents = 200, referral_pay_when = 'signup', referral_monthly_cap = 10, min_cashout_cents = 100;
do $$
declare
  a uuid;
  cashout uuid;
begin
  a := tests.create_user('a@test.local');
  perform tests.create_user('admin@test.local', '{"role": "admin"}');
  -- B signs up with A's code: A is rewarded at once (cash in A's wallet and ledger).
  insert into auth.users (id, aud, role, email, raw_app_meta_data, raw_user_meta_data, created_at, updated_at)
  values (gen_random_uuid(), 'authenticated', 'authenticated', 'b@test.local', '{}',
    jsonb_build_object('referral_code', (select code from public.referral_codes where user_id = a)), now(), now());
  insert into public.connect_accounts (user_id, stripe_account_id) values (a, 'acct_t');
  insert into public.cashouts (user_id, amount_cents, currency) values (a, 100, 'usd') returning id into cashout;
  perform saasbase.audit(a, 'test.action', 'cashout', cashout::text, '{}');
end $$;

with a(id) as (select tests.user_id('a@test.local')),
tables(tbl, filter, insert_stmt, reads, service_writes) as (
  values
    ('referral_codes', format('user_id = %L', (select id from a)), $$insert into public.referral_codes (user_id, code) values (gen_random_uuid(), 'ABCDEFGH')$$, 'owner', false),
    ('referrals', format('referrer_id = %L', (select id from a)), format($$insert into public.referrals (referrer_id, referred_id, code) values (%L, %L, 'X')$$, (select id from a), tests.user_id('admin@test.local')), 'owner', false),
    ('cash_wallets', format('user_id = %L', (select id from a)), $$insert into public.cash_wallets (user_id) values (gen_random_uuid())$$, 'owner', false),
    ('cash_ledger', format('user_id = %L', (select id from a)), format($$insert into public.cash_ledger (user_id, kind, amount_cents, balance_after_cents) values (%L, 'adjustment', 1, 1)$$, (select id from a)), 'owner', false),
    ('connect_accounts', format('user_id = %L', (select id from a)), format($$insert into public.connect_accounts (user_id, stripe_account_id) values (%L, 'acct_t2')$$, tests.user_id('admin@test.local')), 'owner', true),
    ('cashouts', format('user_id = %L', (select id from a)), format($$insert into public.cashouts (user_id, amount_cents, currency) values (%L, 1, 'usd')$$, (select id from a)), 'owner', false),
    ('audit_log', $$action = 'test.action'$$, $$insert into public.audit_log (action, target_type) values ('x', 'y')$$, 'admin', false)
),
who(who) as (values ('anon'), ('a@test.local'), ('b@test.local'), ('admin@test.local'), ('service_role')),
cells(tbl, who, op, stmt, expected) as (
  select tbl, who, 'select', format('select * from public.%I where %s', tbl, filter),
    case when who = 'service_role' or who = 'admin@test.local' then 'rows'
         when who = 'anon' then 'denied'
         when who = 'a@test.local' and reads = 'owner' then 'rows'
         else 'none' end
  from tables, who
  union all
  select tbl, who, 'insert', insert_stmt, case when who = 'service_role' and service_writes then 'rows' else 'denied' end from tables, who
  union all
  select tbl, who, 'update', format('update public.%I set %s where %s', tbl,
      case tbl when 'referral_codes' then 'code = code' when 'referrals' then 'status = status' when 'cash_ledger' then 'reason = reason'
        when 'connect_accounts' then 'created_at = created_at' when 'audit_log' then 'details = details' else 'updated_at = updated_at' end, filter),
    case when who = 'service_role' and service_writes then 'rows' else 'denied' end
  from tables, who
  union all
  select tbl, who, 'delete', format('delete from public.%I where %s', tbl, filter),
    case when who = 'service_role' and service_writes then 'rows' else 'denied' end
  from tables, who
)
select is(tests.outcome(who, stmt), expected, format('%s %s %s', who, op, tbl))
from cells order by tbl, op, who;

-- An anonymous sign-in with a referral code pays its referrer nothing (anonymous users cost nothing to make).
insert into auth.users (id, aud, role, email, raw_app_meta_data, raw_user_meta_data, is_anonymous, created_at, updated_at)
values ('00000000-0000-4000-8000-0000000000b9', 'authenticated', 'authenticated', null, '{}',
  jsonb_build_object('referral_code', (select code from public.referral_codes where user_id = tests.user_id('a@test.local'))),
  true, now(), now());
select is((select status from public.referrals where referred_id = '00000000-0000-4000-8000-0000000000b9'), 'pending',
  'an anonymous referral is recorded, not rewarded (pay_when is signup here)');
update auth.users set is_anonymous = false, email = 'converted@test.local' where id = '00000000-0000-4000-8000-0000000000b9';
select is((select status from public.referrals where referred_id = '00000000-0000-4000-8000-0000000000b9'), 'rewarded',
  '...and rewarded when the user becomes an account');

-- The cash-out state machine: one payout run at a time, and only the current claim's outcome counts.
create temp table co as select id from public.cashouts where user_id = tests.user_id('a@test.local');
-- The fixture's cash-out was inserted as a row only: its cash held as a request holds it.
update public.cash_wallets set available_cents = available_cents - 100, held_cents = held_cents + 100
where user_id = tests.user_id('a@test.local');
grant select on co to authenticated;
select tests.become('admin@test.local');
select throws_ok($$ select public.admin_decide_cashout((select id from co), null) $$, 'PT422', null,
  'a decision must be approve or reject (null is neither)');
select is((public.admin_decide_cashout((select id from co), true)).status, 'approved', 'an admin approves');
select tests.become('postgres');
select is((public.service_role_claim_cashout((select id from co))).status, 'paying', 'a payout run claims it');
select is((public.service_role_claim_cashout((select id from co))).status, 'in_progress',
  'another run meanwhile is told it is in progress, and does nothing');
select is((select count(*)::int from public.service_role_payable_cashouts() p join co on co.id = p.cashout_id), 0,
  'a payout run does not list a cash-out another run holds ...');
update public.cashouts set claimed_at = now() - interval '15 minutes 1 second' where id = (select id from co);
select is((select count(*)::int from public.service_role_payable_cashouts() p join co on co.id = p.cashout_id), 1,
  '... until that claim lapses (its run died): then it does ...');
select is((public.service_role_claim_cashout((select id from co))).status, 'paying', '... and takes the claim over');
select is((public.service_role_claim_cashout((select id from co))).status, 'in_progress',
  'which is then live again');
select throws_ok($$ select tests.become('a@test.local'); select public.service_role_payable_cashouts() $$, '42501', null,
  'users do not list the cash-outs to pay');
select tests.become('postgres');
select throws_ok($$ select public.service_role_record_payout((select id from co), 7, 'tr_x', null) $$, 'PT409', null,
  'an outcome of another attempt is stale');
select tests.become('admin@test.local');
select throws_ok($$ select public.admin_decide_cashout((select id from co), false) $$, 'PT409', null,
  'a cash-out being paid cannot be rejected');
select tests.become('postgres');
select is((public.service_role_record_payout((select id from co), 0, null, 'timeout', false)).status, 'approved',
  'a run that timed out at Stripe leaves it approved, for the next run ...');
select tests.become('admin@test.local');
select throws_ok($$ select public.admin_decide_cashout((select id from co), false) $$, 'PT409',
  'A payout run tried this cash-out without a final outcome: run the payout again before rejecting it',
  '... and no admin can reject it meanwhile (the transfer may exist)');
select tests.become('postgres');
select (public.service_role_claim_cashout((select id from co))).status as claimed_again;
select is((public.service_role_record_payout((select id from co), 0, null, 'account closed', true)).status, 'failed',
  'the next run fails for good (no transfer found, Stripe refuses) ...');
select tests.become('admin@test.local');
select is((public.admin_decide_cashout((select id from co), true)).status, 'approved', '... approved for a retry ...');
select is((public.admin_decide_cashout((select id from co), false)).status, 'rejected',
  '... and, no run having tried it since, rejected after all');
select tests.become('postgres');
select is((select (available_cents, held_cents) from public.cash_wallets where user_id = tests.user_id('a@test.local')),
  (400::bigint, 0::bigint), 'its cash back with the user');
select tests.become('postgres');

select * from finish();
rollback;
