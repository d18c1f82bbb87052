-- Accounts: the profile trigger, the RLS matrix of profiles, column-level edit rights and role helpers.
begin;
\ir _helpers.psql
select plan(31);

do $$
declare
  bare uuid;
begin
  perform tests.create_user('a@test.local', '{}', '{"display_name": "Alice", "language": "it"}');
  perform tests.create_user('b@test.local');
  perform tests.create_user('admin@test.local', '{"role": "admin"}');
  -- A user whose profile is gone: the target of the insert cells.
  bare := tests.create_user('bare@test.local');
  delete from public.profiles where id = bare;
end $$;

-- Sign-up creates the profile, with the role from app_metadata and display fields from user_metadata.
select results_eq(
  $$ select display_name, language, role from public.profiles where id = tests.user_id('a@test.local') $$,
  $$ values ('Alice'::text, 'it'::text, 'customer'::text) $$,
  'sign-up creates the profile from user_metadata');
select is((select role from public.profiles where id = tests.user_id('admin@test.local')), 'admin',
  'the role comes from app_metadata');
select is((select plan_id from public.accounts where id = tests.user_id('a@test.local')), null,
  'a new personal account is on the default plan (null)');

-- The RLS matrix. A's row is the target; "rows" = allowed and saw/changed it, "none" = filtered by RLS.
select is(tests.outcome(who, stmt), expected, format('%s %s profiles', who, op))
from (values
  ('anon', 'select', 'denied'), ('a@test.local', 'select', 'rows'), ('b@test.local', 'select', 'none'),
  ('admin@test.local', 'select', 'rows'), ('service_role', 'select', 'rows'),
  ('anon', 'insert', 'denied'), ('a@test.local', 'insert', 'denied'), ('b@test.local', 'insert', 'denied'),
  ('admin@test.local', 'insert', 'denied'), ('service_role', 'insert', 'rows'),
  ('anon', 'update', 'denied'), ('a@test.local', 'update', 'rows'), ('b@test.local', 'update', 'none'),
  ('admin@test.local', 'update', 'none'), ('service_role', 'update', 'rows'),
  ('anon', 'delete', 'denied'), ('a@test.local', 'delete', 'denied'), ('b@test.local', 'delete', 'denied'),
  ('admin@test.local', 'delete', 'denied'), ('service_role', 'delete', 'rows')
) as m(who, op, expected)
cross join lateral (select case op
  when 'select' then format('select * from public.profiles where id = %L', tests.user_id('a@test.local'))
  when 'insert' then format('insert into public.profiles (id) values (%L)', tests.user_id('bare@test.local'))
  when 'update' then format('update public.profiles set display_name = ''x'' where id = %L', tests.user_id('a@test.local'))
  when 'delete' then format('delete from public.profiles where id = %L', tests.user_id('a@test.local'))
end as stmt) s;

-- The owner may edit display fields only: plan, role and email are not client-writable.
select is(tests.outcome('a@test.local', format('update public.profiles set preferences = ''{"theme": "dark"}'', language = ''de'' where id = %L', tests.user_id('a@test.local'))),
  'rows', 'the owner edits preferences and language');
select tests.become('a@test.local');
select throws_ok($$ update public.profiles set preferences = jsonb_build_object('blob', repeat(md5('x'), 1000))
    where id = auth.uid() $$, '23514', null,
  'preferences are bounded (16 kB): a client cannot park megabytes in its profile');
select tests.become('postgres');
select is(tests.outcome('a@test.local', format('update public.accounts set plan_id = ''business'' where id = %L', tests.user_id('a@test.local'))),
  'denied', 'the owner cannot change their plan');
select is(tests.outcome('a@test.local', format('update public.profiles set role = ''admin'' where id = %L', tests.user_id('a@test.local'))),
  'denied', 'the owner cannot change their role');
select is(tests.outcome('a@test.local', format('update public.profiles set email = ''x@y.z'' where id = %L', tests.user_id('a@test.local'))),
  'denied', 'the owner cannot change the email copy');

-- Role helpers read the JWT's app_metadata.
select tests.become('admin@test.local');
select ok(saasbase.is_admin(), 'is_admin() is true for an admin');
select tests.become('a@test.local');
select ok(not saasbase.is_admin(), 'is_admin() is false for a customer');
select tests.become('postgres');

-- GoTrue's admin API changing app_metadata.role updates the profile's copy.
update auth.users set raw_app_meta_data = raw_app_meta_data || '{"role": "developer"}' where email = 'b@test.local';
select is((select role from public.profiles where id = tests.user_id('b@test.local')), 'developer',
  'a role change in app_metadata reaches the profile');

select * from finish();
rollback;
