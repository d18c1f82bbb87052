-- RLS matrix of the credits domain: owners and admins read; nobody writes the money tables directly, not
-- even the service role (money moves only through the SQL API). Cells: table x who x operation.
begin;
\ir _helpers.psql
select plan(103);

do $$ begin
  perform tests.create_user('a@test.local');
  perform tests.create_user('b@test.local');
  perform tests.create_user('admin@test.local', '{"role": "admin"}');
end $$;

-- A's rows in every table: a charge (ledger row, counter), a reservation, an expiring grant (lot).
select tests.become('a@test.local');
select public.charge_credits('component_generation', 1, 'rls-charge') is not null as charged;
select public.reserve_credits('coloring_page', 1, 'rls-reserve', 3) is not null as reserved;
select tests.become('postgres');
select public.service_role_grant_credits(tests.user_id('a@test.local'), 10, 'grant', 'rls', 'rls-lot', now() + interval '7 days')
  is not null as granted;

with a(id) as (select tests.user_id('a@test.local')),
tables(tbl, insert_stmt) as (
  values
    ('wallets', 'insert into public.wallets (account_id) values (gen_random_uuid())'),
    ('credit_ledger', format('insert into public.credit_ledger (account_id, kind, amount, balance_after) values (%L, ''grant'', 1, 1)', (select id from a))),
    ('credit_lots', format('insert into public.credit_lots (account_id, ledger_id, amount, remaining, expires_at) select %L, max(id), 1, 1, now() + interval ''1 day'' from public.credit_ledger', (select id from a))),
    ('credit_reservations', format('insert into public.credit_reservations (account_id, feature_id, quantity, idempotency_key, expires_at) values (%L, ''chat'', 1, ''x'', now())', (select id from a))),
    ('usage_counters', format('insert into public.usage_counters (account_id, feature_id, period_key) values (%L, ''chat'', ''x'')', (select id from a)))
),
who(who, reads) as (
  values ('anon', 'denied'), ('a@test.local', 'rows'), ('b@test.local', 'none'), ('admin@test.local', 'rows'),
         ('service_role', 'rows')
),
cells(tbl, who, op, stmt, expected) as (
  select tbl, who, 'select', format('select * from public.%I where account_id = %L', tbl, (select id from a)), reads
  from tables, who
  union all
  select tbl, who, 'insert', insert_stmt, 'denied' from tables, who
  union all
  select tbl, who, 'update', format('update public.%I set account_id = account_id where account_id = %L', tbl, (select id from a)), 'denied'
  from tables, who
  union all
  select tbl, who, 'delete', format('delete from public.%I where account_id = %L', tbl, (select id from a)), 'denied'
  from tables, who
)
select is(tests.outcome(who, stmt), expected, format('%s %s %s', who, op, tbl))
from cells order by tbl, op, who;

-- The ledger is append-only even for the table owner.
select throws_ok($$ update public.credit_ledger set amount = 1000 $$, 'PT403', 'credit_ledger is append-only',
  'no one updates a ledger row');
select throws_ok($$ delete from public.credit_ledger $$, 'PT403', 'credit_ledger is append-only',
  'no one deletes a ledger row');
-- ...except the cascade of a deleted user (their data goes with them).
delete from auth.users where email = 'b@test.local';
select is((select count(*)::int from public.credit_ledger where account_id not in (select id from auth.users)), 0,
  'deleting a user deletes their ledger');

select * from finish();
rollback;
