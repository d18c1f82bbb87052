-- RLS matrix of the billing domain: the catalog is public, a user's billing rows are theirs (and admins'),
-- the event log is admins' only; clients write nothing, the service role writes all. (The mail outbox's matrix
-- is 210-email.sql's: its user reads their own mails' status there.)
begin;
\ir _helpers.psql
select plan(140);

do $$
declare
  a uuid;
begin
  a := tests.create_user('a@test.local');
  perform tests.create_user('b@test.local');
  perform tests.create_user('admin@test.local', '{"role": "admin"}');
  insert into public.products (id, kind, plan_id, name) values ('t_prod', 'plan', 'plus', 'Plus');
  -- A product no price references: the target of the product cells (a referenced one cannot be deleted).
  insert into public.products (id, kind, pack_id, name) values ('t_prod_alone', 'credit_pack', 'credits_500', 'Pack');
  insert into public.prices (id, product_id, lookup_key, unit_amount, currency, billing_interval)
    values ('t_price', 't_prod', 't_plus_monthly', 1900, 'usd', 'month');
  insert into public.customers (account_id, stripe_customer_id) values (a, 'cus_t');
  insert into public.subscriptions (id, account_id, status, plan_id, price_id, stripe_event_at)
    values ('sub_t', a, 'active', 'plus', 't_price', now());
  insert into public.purchases (account_id, checkout_session_id, credits, amount_cents, currency)
    values (a, 'cs_t', 100, 500, 'usd');
  insert into public.invoices (id, account_id, status, currency) values ('in_t', a, 'paid', 'usd');
  insert into public.stripe_events (id, type, stripe_created_at, payload) values ('evt_t', 'invoice.paid', now(), '{}');
end $$;

with a(id) as (select tests.user_id('a@test.local')),
tables(tbl, filter, insert_stmt, reads) as (
  values
    ('products', $$id = 't_prod_alone'$$, $$insert into public.products (id, kind, pack_id, name) values ('t_p2', 'credit_pack', 'credits_500', 'x')$$, 'public'),
    ('prices', $$id = 't_price'$$, $$insert into public.prices (id, product_id, lookup_key, unit_amount, currency) values ('t_x2', 't_prod', 't_k2', 1, 'usd')$$, 'public'),
    ('customers', format('account_id = %L', (select id from a)), format($$insert into public.customers (account_id, stripe_customer_id) values (%L, 'cus_t2')$$, tests.user_id('b@test.local')), 'owner'),
    ('subscriptions', format('account_id = %L', (select id from a)), format($$insert into public.subscriptions (id, account_id, status, stripe_event_at) values ('sub_t2', %L, 'active', now())$$, (select id from a)), 'owner'),
    ('purchases', format('account_id = %L', (select id from a)), format($$insert into public.purchases (account_id, checkout_session_id, credits, amount_cents, currency) values (%L, 'cs_t2', 1, 1, 'usd')$$, (select id from a)), 'owner'),
    ('invoices', format('account_id = %L', (select id from a)), format($$insert into public.invoices (id, account_id, status, currency) values ('in_t2', %L, 'paid', 'usd')$$, (select id from a)), 'owner'),
    ('stripe_events', $$id = 'evt_t'$$, $$insert into public.stripe_events (id, type, stripe_created_at, payload) values ('evt_t2', 'x', now(), '{}')$$, 'admin')
),
who(who) as (values ('anon'), ('a@test.local'), ('b@test.local'), ('admin@test.local'), ('service_role')),
cells(tbl, who, op, stmt, expected) as (
  select tbl, who, 'select', format('select * from public.%I where %s', tbl, filter),
    case
      when who = 'service_role' then 'rows'
      when reads = 'public' then 'rows'
      when who = 'anon' then 'denied'
      when who = 'admin@test.local' then 'rows'
      when reads = 'owner' and who = 'a@test.local' then 'rows'
      else 'none'
    end
  from tables, who
  union all
  -- The event log's one writer is service_role_store_stripe_event (065): not even the service role writes it.
  select tbl, who, 'insert', insert_stmt,
    case when who = 'service_role' and tbl <> 'stripe_events' then 'rows' else 'denied' end from tables, who
  union all
  select tbl, who, 'update', format('update public.%I set %s where %s', tbl,
      case tbl when 'products' then 'name = name' when 'prices' then 'active = active' when 'customers' then 'created_at = created_at'
        when 'stripe_events' then 'attempts = attempts' else 'updated_at = updated_at' end, filter),
    case when who = 'service_role' and tbl <> 'stripe_events' then 'rows' else 'denied' end
  from tables, who
  union all
  select tbl, who, 'delete', format('delete from public.%I where %s', tbl, filter),
    case when who = 'service_role' and tbl <> 'stripe_events' then 'rows' else 'denied' end
  from tables, who
)
select is(tests.outcome(who, stmt), expected, format('%s %s %s', who, op, tbl))
from cells order by tbl, op, who;

select * from finish();
rollback;
