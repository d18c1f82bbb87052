-- RLS matrix of events and admin settings: users insert and read their own events, visitors insert
-- anonymous ones, admins read all; admin settings are admins' (and audited); the service role does anything.
begin;
\ir _helpers.psql
select plan(57);

do $$
declare
  a uuid;
begin
  a := tests.create_user('a@test.local');
  perform tests.create_user('b@test.local');
  perform tests.create_user('admin@test.local', '{"role": "admin"}');
  insert into public.events (name, user_id) values ('t.seen', a);
  insert into public.admin_settings (key, value) values ('t.flag', '{"on": true}');
end $$;

with a(id) as (select tests.user_id('a@test.local')),
who(who) as (values ('anon'), ('a@test.local'), ('b@test.local'), ('admin@test.local'), ('service_role')),
cells(tbl, who, op, stmt, expected) as (
  select 'events', who, 'select', format($$select * from public.events where user_id = %L$$, (select id from a)),
    case who when 'anon' then 'denied' when 'b@test.local' then 'none' else 'rows' end from who
  union all
  select 'events', who, 'insert own', format($$insert into public.events (name, user_id) values ('t.x', %L)$$, tests.user_id(who)),
    case who when 'anon' then 'denied' else 'rows' end from who where who <> 'anon' and who <> 'service_role'
  union all
  select 'events', who, 'insert for A', format($$insert into public.events (name, user_id) values ('t.x', %L)$$, (select id from a)),
    case who when 'a@test.local' then 'rows' when 'service_role' then 'rows' else 'denied' end from who
  union all
  select 'events', who, 'insert anonymous', $$insert into public.events (name, anonymous_id) values ('t.x', 'visitor-0001')$$,
    case who when 'anon' then 'rows' when 'service_role' then 'rows' else 'denied' end from who
  union all
  select 'events', who, 'update', $$update public.events set name = name$$, case who when 'service_role' then 'rows' else 'denied' end from who
  union all
  select 'events', who, 'delete', $$delete from public.events$$, case who when 'service_role' then 'rows' else 'denied' end from who
  union all
  select 'admin_settings', who, 'select', $$select * from public.admin_settings where key = 't.flag'$$,
    case who when 'anon' then 'denied' when 'admin@test.local' then 'rows' when 'service_role' then 'rows' else 'none' end from who
  union all
  select 'admin_settings', who, 'insert', $$insert into public.admin_settings (key, value) values ('t.new', '1')$$,
    case who when 'admin@test.local' then 'rows' when 'service_role' then 'rows' else 'denied' end from who
  union all
  select 'admin_settings', who, 'update', $$update public.admin_settings set value = '2' where key = 't.flag'$$,
    case who when 'anon' then 'denied' when 'admin@test.local' then 'rows' when 'service_role' then 'rows' else 'none' end from who
  union all
  select 'admin_settings', who, 'delete', $$delete from public.admin_settings where key = 't.flag'$$,
    case who when 'anon' then 'denied' when 'admin@test.local' then 'rows' when 'service_role' then 'rows' else 'none' end from who
)
select is(tests.outcome(who, stmt), expected, format('%s %s %s', who, op, tbl)) from cells order by tbl, op, who;

-- An admin's change of a setting lands in the audit log with the admin as actor.
select tests.become('admin@test.local');
update public.admin_settings set value = '{"on": false}' where key = 't.flag';
select tests.become('postgres');
select results_eq($$ select actor_id, action, target_id from public.audit_log where target_id = 't.flag' and action = 'admin_settings.update' $$,
  $$ select tests.user_id('admin@test.local'), 'admin_settings.update'::text, 't.flag'::text $$, 'admin writes are audited');

-- A token outlives a demotion (up to its expiry): its admin claim no longer counts once the account says
-- otherwise.
select tests.create_user('demoted@test.local', '{"role": "admin"}');
update auth.users set raw_app_meta_data = raw_app_meta_data || '{"role": "customer"}'
where email = 'demoted@test.local';
select set_config('request.jwt.claims', jsonb_build_object('sub', tests.user_id('demoted@test.local'),
  'role', 'authenticated', 'app_metadata', jsonb_build_object('role', 'admin'))::text, true);
set local role authenticated;
select ok(not saasbase.is_admin(), 'a demoted admin''s token, still saying admin, is no admin''s');
select throws_ok($$ select public.admin_set_role(auth.uid(), 'admin') $$, 'PT403', null,
  '... and cannot make its holder admin again');
select tests.become('postgres');

-- Event times: from the future clamped to the time received, from long ago to a week back.
select tests.become('a@test.local');
insert into public.events (name, user_id, occurred_at) values
  ('t.future', auth.uid(), now() + interval '1 year'), ('t.past', auth.uid(), '1970-01-01');
select tests.become('postgres');
select is((select occurred_at from public.events where name = 't.future'), now(), 'a future time is clamped to now');
select is((select occurred_at from public.events where name = 't.past'), now() - interval '7 days',
  'a time older than a week is dated a week back (no making oneself active on any past day)');

-- Anyone can write anonymous events: their properties are bounded tighter than a user's.
select tests.become('anon');
select throws_ok($$insert into public.events (name, anonymous_id, properties)
  values ('t.big', 'visitor-0009', jsonb_build_object('x', repeat('a', 2000)))$$, '23514', null,
  'an anonymous event holds at most a kilobyte of properties');
select tests.become('a@test.local');
select lives_ok($$insert into public.events (name, user_id, properties)
  values ('t.big', auth.uid(), jsonb_build_object('x', repeat('a', 2000)))$$, 'a user''s may hold more');
select tests.become('postgres');

-- Visitor ids cost nothing to make: all anonymous events together are bounded per minute.
update saasbase.settings set anonymous_events_per_minute = (select count(*)::int + 2 from public.events
  where user_id is null and received_at > now() - interval '1 minute');
select tests.become('anon');
select lives_ok($$insert into public.events (name, anonymous_id) values ('t.a', 'visitor-0001'), ('t.a', 'visitor-0002')$$,
  'visitors record events up to the total a minute');
select throws_ok($$insert into public.events (name, anonymous_id) values ('t.a', 'visitor-0003')$$, 'PT429', null,
  '...then a new visitor id does not help');
select tests.become('postgres');

select * from finish();
rollback;
