-- Billing by account (20261207000200_account_billing.sql): a team's billing rows, read by its members whose role may
-- buy or manage billing (owner, admin, billing) and by admins, not by a plain member, a stranger or a member who
-- was removed; the account a checkout or the portal acts on, checked for the right it needs; a team's subscription
-- sets the team's plan and nobody's personal one; a failed payment mails the team's billing managers.
begin;
\ir _helpers.psql
select plan(144);

do $$
declare
  t uuid;
begin
  perform tests.create_user('owner@test.local');
  perform tests.create_user('tadmin@test.local');
  perform tests.create_user('member@test.local');
  perform tests.create_user('billing@test.local');
  perform tests.create_user('stranger@test.local');
  perform tests.create_user('removed@test.local');
  perform tests.create_user('admin@test.local', '{"role": "admin"}');
  perform tests.become('owner@test.local');
  t := (public.create_team('Acme', 'acme-billing')).id;
  perform tests.become('postgres');
  insert into public.account_members (account_id, user_id, role) values
    (t, tests.user_id('tadmin@test.local'), 'admin'),
    (t, tests.user_id('member@test.local'), 'member'),
    (t, tests.user_id('billing@test.local'), 'billing'),
    (t, tests.user_id('removed@test.local'), 'billing');
  -- Removed from the team: their membership is gone, and with it what it let them see.
  delete from public.account_members where account_id = t and user_id = tests.user_id('removed@test.local');
  insert into public.products (id, kind, plan_id, name) values ('t_prod', 'plan', 'plus', 'Plus');
  insert into public.prices (id, product_id, lookup_key, unit_amount, currency, billing_interval)
    values ('t_price', 't_prod', 't_plus_monthly', 1900, 'usd', 'month');
  insert into public.customers (account_id, stripe_customer_id) values (t, 'cus_team');
  insert into public.subscriptions (id, account_id, status, plan_id, price_id, stripe_event_at, quantity, item_id)
    values ('sub_team', t, 'active', 'plus', 't_price', now(), 5, 'si_team');
  insert into public.purchases (account_id, checkout_session_id, credits, amount_cents, currency)
    values (t, 'cs_team', 100, 500, 'usd');
  insert into public.invoices (id, account_id, status, currency) values ('in_team', t, 'paid', 'usd');
end $$;

create function pg_temp.team() returns uuid language sql stable as $$
  select id from public.accounts where slug = 'acme-billing' $$;
grant execute on function pg_temp.team() to anon, authenticated, service_role;

-- The RLS matrix of a team's billing rows.
with tables(tbl, filter, insert_stmt, touch) as (
  values
    ('customers', format('account_id = %L', pg_temp.team()),
      format($$insert into public.customers (account_id, stripe_customer_id) values (%L, 'cus_t2')$$,
        tests.user_id('member@test.local')), 'created_at = created_at'),
    ('subscriptions', format('account_id = %L', pg_temp.team()),
      format($$insert into public.subscriptions (id, account_id, status, stripe_event_at) values ('sub_t2', %L, 'active', now())$$,
        pg_temp.team()), 'updated_at = updated_at'),
    ('purchases', format('account_id = %L', pg_temp.team()),
      format($$insert into public.purchases (account_id, checkout_session_id, credits, amount_cents, currency) values (%L, 'cs_t2', 1, 1, 'usd')$$,
        pg_temp.team()), 'updated_at = updated_at'),
    ('invoices', format('account_id = %L', pg_temp.team()),
      format($$insert into public.invoices (id, account_id, status, currency) values ('in_t2', %L, 'paid', 'usd')$$,
        pg_temp.team()), 'updated_at = updated_at')
),
who(who, reads) as (values
  ('anon', 'denied'), ('owner@test.local', 'rows'), ('tadmin@test.local', 'rows'), ('billing@test.local', 'rows'),
  ('member@test.local', 'none'), ('stranger@test.local', 'none'), ('removed@test.local', 'none'),
  ('admin@test.local', 'rows'), ('service_role', 'rows')),
cells(tbl, who, op, stmt, expected) as (
  select tbl, who, 'select', format('select * from public.%I where %s', tbl, filter), reads from tables, who
  union all
  select tbl, who, 'insert', insert_stmt, case when who = 'service_role' then 'rows' else 'denied' end from tables, who
  union all
  select tbl, who, 'update', format('update public.%I set %s where %s', tbl, touch, filter),
    case when who = 'service_role' then 'rows' else 'denied' end from tables, who
)
select is(tests.outcome(who, stmt), expected, format('%s %s team %s', who, op, tbl))
from cells order by tbl, op, who;

-- The account a checkout or the portal acts on (service role, for the signed-in member the function names).
select is((public.service_role_billing_customer(pg_temp.team(), tests.user_id('owner@test.local'), 'manage_billing')).stripe_customer_id,
  'cus_team', 'the owner manages the team''s billing: its customer');
select is((public.service_role_billing_customer(pg_temp.team(), tests.user_id('billing@test.local'), 'buy')).kind,
  'team', 'the billing role buys for the team');
select is((public.service_role_billing_customer(pg_temp.team(), tests.user_id('tadmin@test.local'), 'manage_billing')).subscribed,
  true, 'the team''s admin sees it subscribed');
select throws_ok(format($$ select public.service_role_billing_customer(%L, %L, 'buy') $$, pg_temp.team(),
  tests.user_id('member@test.local')), 'PT403', null, 'a member (spend only) may not buy for the team');
select throws_ok(format($$ select public.service_role_billing_customer(%L, %L, 'manage_billing') $$, pg_temp.team(),
  tests.user_id('member@test.local')), 'PT403', null, '... nor manage its billing');
select throws_ok(format($$ select public.service_role_billing_customer(%L, %L, 'buy') $$, pg_temp.team(),
  tests.user_id('stranger@test.local')), 'PT404', null, 'a stranger naming the team: not found');
select throws_ok(format($$ select public.service_role_billing_customer(%L, %L, 'buy') $$, pg_temp.team(),
  tests.user_id('removed@test.local')), 'PT404', null, 'a removed member too');
select throws_ok(format($$ select public.service_role_billing_customer(%L, %L, 'spend') $$, pg_temp.team(),
  tests.user_id('owner@test.local')), 'PT422', null, 'billing is acted on with buy or manage_billing only');
select is((public.service_role_billing_customer(null, tests.user_id('member@test.local'), 'manage_billing')).account_id,
  tests.user_id('member@test.local'), 'no account named: the personal account, whatever the user''s team roles');
select is((public.service_role_billing_customer(pg_temp.team(), tests.user_id('billing@test.local'), 'buy', 'cus_other')).stripe_customer_id,
  'cus_team', 'a second customer for the team keeps the first link');
select is((public.service_role_billing_customer(null, tests.user_id('stranger@test.local'), 'buy', 'cus_stranger')).stripe_customer_id,
  'cus_stranger', 'a personal account''s first customer is linked');
select throws_ok(format($$ select tests.become('owner@test.local'); select public.service_role_billing_customer(%L, %L, 'buy') $$,
  pg_temp.team(), tests.user_id('owner@test.local')), '42501', null, 'clients cannot call it');

-- Stripe objects to accounts: the team's id in the metadata names the team; an older checkout's user id the
-- user's personal account.
select is(public.service_role_stripe_account(pg_temp.team()::text, null), pg_temp.team(), 'an account id names the team');
select is(public.service_role_stripe_account(null, 'cus_team'), pg_temp.team(), 'the team''s customer names it');
select is(public.service_role_stripe_account(tests.user_id('owner@test.local')::text, null), tests.user_id('owner@test.local'),
  'a user id is the personal account');

-- A team's subscription sets the team's plan, not its owner's.
select ok(public.service_role_upsert_subscription('sub_team2', pg_temp.team(), 'active', 't_price', now(), now() + interval '30 days',
  false, null, now() + interval '1 second', 3, 'si_team2'), 'a team subscription applies ...');
select is((select (quantity, item_id) from public.subscriptions where id = 'sub_team2'), (3, 'si_team2'::text),
  '... keeping its quantity and item');
select is((select plan_id from public.accounts where id = pg_temp.team()), 'plus', 'the team is on its plan ...');
select is((select plan_id from public.accounts where id = tests.user_id('owner@test.local')), null,
  '... and its owner''s personal account is not');
select is(saasbase.plan_of(pg_temp.team()), 'plus', 'what entitlements read');

-- The credit-pack price is the named account's: its plan's discount, for its members only.
select tests.become('member@test.local');
select is((public.credit_pack_price('credits_500', pg_temp.team())).discount_percent,
  (select discount_percent::integer from public.plans where id = 'plus'), 'a team''s pack price has its plan''s discount');
select is((public.credit_pack_price('credits_500')).discount_percent,
  (select coalesce(discount_percent, 0)::integer from public.plans where is_default), 'the personal account''s its own');
select tests.become('postgres');
-- (The team's id read here: the stranger cannot see the team, pg_temp.team() included.)
select throws_ok(format($$ select tests.become('stranger@test.local'); select public.credit_pack_price('credits_500', %L) $$,
  pg_temp.team()), 'PT404', null, 'a stranger cannot price as the team');
select tests.become('postgres');

-- A failed payment of the team mails those who manage its billing; a paid one earns no member a referral reward.
select is((public.service_role_record_invoice('in_team_f', pg_temp.team(), 'payment_failed', 'sub_team2', 'subscription_cycle',
  0, 1900, 'usd', 'https://invoice.test/t')).status, 'payment_failed', 'a team''s failed payment is recorded ...');
select public.service_role_record_invoice('in_team_f', pg_temp.team(), 'payment_failed', 'sub_team2', 'subscription_cycle',
  0, 1900, 'usd', 'https://invoice.test/t');
select is((select array_agg(u.email::text order by u.email) from public.email_outbox o join auth.users u on u.id = o.user_id
    where o.payload ->> 'invoice' = 'in_team_f'),
  array['billing@test.local', 'owner@test.local', 'tadmin@test.local']::text[],
  '... mailing its owner, admin and billing members once each (not a plain member)');

-- Referral rewards are per user: a referred user's team paying earns their referrer nothing; their own first
-- payment does.
update saasbase.settings set referral_pay_when = 'first_payment';
select tests.create_user('referrer@test.local');
select tests.create_user('referred@test.local', '{}',
  jsonb_build_object('referral_code', (select code from public.referral_codes where user_id = tests.user_id('referrer@test.local'))));
select is((select status from public.referrals where referred_id = tests.user_id('referred@test.local')), 'pending',
  'a referred user, waiting for their first payment');
select tests.become('referred@test.local');
create temp table referred_team as select (public.create_team('Referred''s team', 'referred-team')).id;
select tests.become('postgres');
select is((public.service_role_record_credit_purchase((select id from referred_team), 'cs_ref_team', 'pi_ref_team', null, 100,
  500, 'usd', 0)).account_id, (select id from referred_team), 'their team buys credits ...');
select is((select status from public.referrals where referred_id = tests.user_id('referred@test.local')), 'pending',
  '... which pays no referral reward (the team''s payment is no member''s own)');
select public.service_role_record_invoice('in_ref_team', (select id from referred_team), 'paid', null, 'manual', 900, 900, 'usd', null);
select is((select status from public.referrals where referred_id = tests.user_id('referred@test.local')), 'pending',
  '... nor does a team invoice');
select public.service_role_record_credit_purchase(tests.user_id('referred@test.local'), 'cs_ref_own', 'pi_ref_own', null, 100,
  500, 'usd', 0);
select is((select status from public.referrals where referred_id = tests.user_id('referred@test.local')), 'rewarded',
  'their own first payment does');

-- KPIs: a team of three members paying one subscription is one paying account (April 2021: no other data there).
do $$
declare
  k uuid;
  u uuid;
begin
  foreach u in array array[gen_random_uuid(), gen_random_uuid(), gen_random_uuid(), gen_random_uuid()] loop
    insert into auth.users (id, aud, role, email, raw_app_meta_data, raw_user_meta_data, created_at, updated_at)
    values (u, 'authenticated', 'authenticated', 'kpi-' || u || '@test.local', '{}', '{}', '2021-04-05', '2021-04-05');
  end loop;
  insert into public.accounts (kind, name, slug, created_by)
  select 'team', 'KPI team', 'kpi-team', (select id from auth.users where email like 'kpi-%' order by id limit 1)
  returning id into k;
  insert into public.account_members (account_id, user_id, role)
  select k, id, case when row_number() over (order by id) = 1 then 'owner' else 'member' end
  from (select id from auth.users where email like 'kpi-%' order by id limit 3) three;
  -- The team's subscription invoice, paid by the team (one payment, whoever of the three set it up) ...
  insert into public.invoices (id, account_id, status, amount_paid, currency, created_at)
  values ('in_kpi_team', k, 'paid', 9900, 'usd', '2021-04-10');
  -- ... and the fourth user's own credit pack.
  insert into public.purchases (account_id, checkout_session_id, credits, amount_cents, currency, created_at)
  select id, 'cs_kpi_personal', 100, 500, 'usd', '2021-04-12'
  from auth.users where email like 'kpi-%' order by id offset 3 limit 1;
end $$;
select tests.become('admin@test.local');
create temp table kpi as select public.admin_kpis('2021-04-01', '2021-04-30', 'month') as r;
select is(((select r from kpi).totals).paying_accounts, 2::bigint,
  'KPIs: a team of three members counts as one paying account (and a personal buyer as another)');
select is(((select r from kpi).totals).revenue_cents, 10400::bigint, 'revenue is both payments');
select is(((select r from kpi).totals).revenue_per_paying_account_cents, 5200::bigint, '... per paying account');
select is(((select r from kpi).totals).conversion_rate, 0.5::numeric,
  'conversion: of four signups, the team''s creator and the personal buyer paid (not the team''s other members)');
select is(((select r from kpi).funnel)[5], ('paid', 2::bigint)::public.funnel_step, 'the funnel''s paid step too');
select is(((select r from kpi).series)[1].new_paying_accounts, 2::bigint, 'and the series');
select tests.become('postgres');

select * from finish();
rollback;
