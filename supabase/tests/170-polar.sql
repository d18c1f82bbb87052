-- Polar (20261207000800_polar.sql): the RLS matrix of public.polar_customers (a team's Polar customer, read by its
-- members whose role may buy or manage billing and by admins) and public.polar_events (admins read, nobody but the
-- service role's functions write); what the Polar API functions do: an event claimed once, the account of an
-- object (metadata, then external id, then the customer's link), a paid order's credits recorded as Polar's
-- through the billing SQL, a refund clawing back, a subscription mirrored with the newest event winning.
begin;
\ir _helpers.psql
select plan(95);

do $$
declare
  t uuid;
begin
  perform tests.create_user('owner@test.local');
  perform tests.create_user('member@test.local');
  perform tests.create_user('billing@test.local');
  perform tests.create_user('stranger@test.local');
  perform tests.create_user('admin@test.local', '{"role": "admin"}');
  perform tests.become('owner@test.local');
  t := (public.create_team('Polar Co', 'polar-co')).id;
  perform tests.become('postgres');
  insert into public.account_members (account_id, user_id, role) values
    (t, tests.user_id('member@test.local'), 'member'),
    (t, tests.user_id('billing@test.local'), 'billing');
  insert into public.polar_customers (account_id, polar_customer_id) values (t, 'pc_team');
  insert into public.polar_events (id, type, polar_created_at, payload) values ('msg_t', 'order.paid', now(), '{}');
end $$;

create function pg_temp.team() returns uuid language sql stable as $$
  select id from public.accounts where slug = 'polar-co' $$;
grant execute on function pg_temp.team() to anon, authenticated, service_role;

-- The RLS matrix.
with tables(tbl, filter, insert_stmt, touch, reads_for_members) as (
  values
    ('polar_customers', format('account_id = %L', pg_temp.team()),
      format($$insert into public.polar_customers (account_id, polar_customer_id) values (%L, 'pc_t2')$$,
        tests.user_id('stranger@test.local')), 'created_at = created_at', true),
    ('polar_events', $$id = 'msg_t'$$,
      $$insert into public.polar_events (id, type, polar_created_at, payload) values ('msg_t2', 'x', now(), '{}')$$,
      'attempts = attempts', false)
),
who(who, member_reads, admin) as (values
  ('anon', 'denied', false), ('owner@test.local', 'rows', false), ('billing@test.local', 'rows', false),
  ('member@test.local', 'none', false), ('stranger@test.local', 'none', false), ('admin@test.local', 'rows', true),
  ('service_role', 'rows', true)),
cells(tbl, who, op, stmt, expected) as (
  select tbl, who, 'select', format('select * from public.%I where %s', tbl, filter),
    case when who = 'anon' then 'denied' when reads_for_members or admin then member_reads
      else 'none' end
  from tables, who
  union all
  select tbl, who, 'insert', insert_stmt,
    case when who = 'service_role' and tbl = 'polar_customers' then 'rows' else 'denied' end from tables, who
  union all
  select tbl, who, 'update', format('update public.%I set %s where %s', tbl, touch, filter),
    case when who = 'service_role' and tbl = 'polar_customers' then 'rows' else 'denied' end from tables, who
  union all
  select tbl, who, 'delete', format('delete from public.%I where %s', tbl, filter),
    case when who = 'service_role' and tbl = 'polar_customers' then 'rows' else 'denied' end from tables, who
)
select is(tests.outcome(who, stmt), expected, format('%s %s %s', who, op, tbl))
from cells order by tbl, op, who;

-- The API is the service role's alone.
select is(tests.outcome(who, format('select %s', call)), expected, format('%s calls %s', who, name))
from (values
  ('service_role_store_polar_event', $$public.service_role_store_polar_event('msg_x', 'x', now(), '{}')$$),
  ('service_role_polar_account', $$public.service_role_polar_account(null, null, 'pc_team')$$),
  ('service_role_record_polar_purchase', $$public.service_role_record_polar_purchase(null, 'c', 'o', null, 1, 1, 'usd', 0)$$)
) f(name, call),
(values ('anon', 'denied'), ('owner@test.local', 'denied'), ('admin@test.local', 'denied')) w(who, expected);

-- An event is claimed once: stored and claimed, then a duplicate; a failed attempt keeps it unprocessed, and the
-- next delivery claims it again.
select ok(public.service_role_store_polar_event('msg_a', 'order.paid', now(), '{"data": {"customer_id": "pc_1"}}'),
  'a new event is claimed');
select ok(not public.service_role_store_polar_event('msg_a', 'order.paid', now(), '{}'), 'a redelivery is not');
select is((select customer_id from public.polar_events where id = 'msg_a'), 'pc_1', 'the event keeps its customer');
select ok(not public.service_role_store_polar_event('msg_b', 'order.paid', now(), '{}', 'boom'), 'a failed attempt is kept');
select is((select row(attempts, last_error, processed_at is null)::text from public.polar_events where id = 'msg_b'),
  '(1,boom,t)', 'unprocessed, with its error');
select ok(public.service_role_store_polar_event('msg_b', 'order.paid', now(), '{}'), 'and claimed by the next delivery');
select is((select row(attempts, last_error is null, processed_at is not null)::text from public.polar_events where id = 'msg_b'),
  '(2,t,t)', 'processed on the second attempt');

-- The account of a Polar object.
select is(public.service_role_polar_account(pg_temp.team()::text, null, 'pc_team'), pg_temp.team(), 'by metadata');
select is(public.service_role_polar_account(null, tests.user_id('owner@test.local')::text, 'pc_owner'),
  tests.user_id('owner@test.local'), 'by the customer''s external id');
select is((select account_id from public.polar_customers where polar_customer_id = 'pc_owner'),
  tests.user_id('owner@test.local'), 'linking the customer');
select is(public.service_role_polar_account(null, null, 'pc_owner'), tests.user_id('owner@test.local'), 'by the link');
select is(public.service_role_polar_account('not-a-uuid', 'nobody', 'pc_unknown'), null, 'none: null');

-- A paid order's credits, as Polar's: Polar's from the insert on, so that a trigger on purchases sees it so.
create temp table seen_providers (provider text);
grant insert on seen_providers to service_role, postgres;
create function pg_temp.see_provider() returns trigger language plpgsql as $$
begin
  insert into seen_providers values (new.provider);
  return new;
end $$;
create trigger t_see_provider after insert on public.purchases for each row execute function pg_temp.see_provider();
select is((public.service_role_record_polar_purchase(pg_temp.team(), 'chk_1', 'ord_1', null, 700, 700, 'usd', 0)).provider,
  'polar', 'the purchase is Polar''s');
select is((select balance::int from public.wallets where account_id = pg_temp.team()), 700, 'its credits in the team''s wallet');
select is((public.service_role_record_polar_purchase(pg_temp.team(), 'chk_1', 'ord_1', null, 700, 700, 'usd', 0)).credits,
  700, 'recorded again: the same purchase');
select is((select balance::int from public.wallets where account_id = pg_temp.team()), 700, 'no second grant');
select throws_ok($$select public.service_role_record_polar_purchase(null, 'chk_2', 'ord_2', null, 1, 500, 'usd', 0)$$,
  'PT409', null, 'no account: customer_not_linked, the event waits');
select is((select array_agg(provider) from seen_providers), array['polar'], 'an insert trigger sees the purchase as Polar''s');
select is(public.service_role_return_payment('refund', 'ord_1', 350, 'ord_1'), 'applied', 'a refund of half');
select is((select balance::int from public.wallets where account_id = pg_temp.team()), 350, 'takes half the credits back');
select is((select status from public.purchases where payment_intent_id = 'ord_1'), 'partially_refunded', 'partially refunded');
select is((public.service_role_record_credit_purchase(pg_temp.team(), 'cs_after', 'pi_after', null, 1, 100, 'usd', 0)).provider,
  'stripe', 'a Stripe purchase later in the same transaction is Stripe''s');
select is(current_setting('saasbase.payment_provider', true), '', 'the Polar functions leave no provider set behind');

-- A subscription, newest event first.
do $$ begin
  perform tests.become('postgres');
  insert into public.products (id, kind, plan_id, name, provider) values ('pp_plus', 'plan', 'plus', 'Plus', 'polar');
  insert into public.prices (id, product_id, lookup_key, unit_amount, currency, billing_interval, provider)
    values ('ppr_plus', 'pp_plus', 'plan_plus_monthly', 1900, 'usd', 'month', 'polar');
end $$;
select ok(public.service_role_upsert_polar_subscription('psub_1', pg_temp.team(), 'canceled', 'ppr_plus', now(),
  now() + interval '1 month', false, now(), now()), 'the newer state first');
select ok(not public.service_role_upsert_polar_subscription('psub_1', pg_temp.team(), 'active', 'ppr_plus', now(),
  now() + interval '1 month', false, null, now() - interval '1 second'), 'the older is stale');
select is((select row(status, plan_id, provider)::text from public.subscriptions where id = 'psub_1'), '(canceled,plus,polar)',
  'the mirror keeps the newest, as Polar''s');
select is((select plan_id from public.accounts where id = pg_temp.team()), null, 'no live subscription: no plan');
select ok(public.service_role_upsert_polar_subscription('psub_1', pg_temp.team(), 'active', 'ppr_plus', now(),
  now() + interval '1 month', false, null, now() + interval '1 second'), 'uncanceled later');
select is((select plan_id from public.accounts where id = pg_temp.team()), 'plus', 'the team is on Plus');

-- One lookup key per provider: Polar's deposit product is Polar's.
select throws_ok($$insert into public.products (id, kind, name) values ('sp_dep', 'deposit', 'Deposit')$$,
  '23514', null, 'a deposit product is Polar''s');

select * from finish();
rollback;
