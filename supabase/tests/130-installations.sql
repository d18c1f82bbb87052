-- Installations (20261207000500_installations.sql): the RLS matrix of an account's installations (the
-- installing member, a fellow team member, a non-member, a removed member, anon, a site admin, the service role),
-- the service-role API (track, record an outcome; a member only for an account they belong to, their own
-- installations only), API keys never stored in the clear, the hourly limit, and the KPIs' funnel reading
-- installations.
begin;
\ir _helpers.psql
select plan(59);

do $$ begin
  perform tests.create_user('owner@test.local');
  perform tests.create_user('member@test.local');
  perform tests.create_user('outsider@test.local');
  perform tests.create_user('removed@test.local');
  perform tests.create_user('siteadmin@test.local', '{"role": "admin"}');
end $$;

select tests.become('owner@test.local');
create temp table team as select (public.create_team('Acme', 'acme')).id;
grant select on team to anon, authenticated, service_role;
select tests.become('postgres');
insert into public.account_members (account_id, user_id, role)
select (select id from team), tests.uid(e), 'member' from (values ('member@test.local'), ('removed@test.local')) m(e);

-- The API, as the installations function calls it.
select tests.become('service_role');
create temp table inst as
  select (public.service_role_track_installation((select id from team), tests.uid('owner@test.local'), 'cursor', '1.2.3',
    '{"mcpServers": {"x": {"url": "https://p.test/functions/v1/mcp", "headers": {"Authorization": "Bearer sbk_live_AbCdEfGhIjKlMnOpQrStUvWxYz012345"}}}}')).*;
grant select on inst to anon, authenticated, service_role;
select is((select status from inst), 'attempted', 'a tracked installation starts attempted');
select is((select account_id from inst), (select id from team), 'it belongs to the account named');
select is((select mcp_config #>> '{mcpServers,x,headers,Authorization}' from inst), 'Bearer sbk_live_AbC…',
  'the API key in its config is stored cut to its prefix');
select is((public.service_role_track_installation(null, tests.uid('member@test.local'), 'vscode')).account_id,
  tests.uid('member@test.local'), 'no account named: the personal account');
-- The removed member's installation, made while a member.
select ok((public.service_role_track_installation((select id from team), tests.uid('removed@test.local'), 'windsurf')).id is not null,
  'a member tracks an installation for their team');
select tests.become('postgres');
delete from public.account_members where user_id = tests.uid('removed@test.local');

-- The matrix: who reads the team's installations, and nobody but the service role writes them.
with who(who, reads, writes) as (
  values ('owner@test.local', 'rows', 'denied'), ('member@test.local', 'rows', 'denied'),
    ('outsider@test.local', 'none', 'denied'), ('removed@test.local', 'none', 'denied'),
    ('anon', 'denied', 'denied'), ('siteadmin@test.local', 'rows', 'denied'), ('service_role', 'rows', 'rows')
),
cells(who, op, stmt, expected) as (
  select who, 'select', format('select * from public.installations where account_id = %L', (select id from team)), reads from who
  union all
  select who, 'insert', format('insert into public.installations (account_id, user_id, client) values (%L, %L, ''cursor'')',
    (select id from team), tests.uid('owner@test.local')), writes from who
  union all
  select who, 'update', format('update public.installations set status = ''validated'' where account_id = %L', (select id from team)),
    writes from who
  union all
  select who, 'delete', format('delete from public.installations where account_id = %L', (select id from team)), writes from who
)
select is(tests.outcome(who, stmt), expected, format('%s %s installations', who, op)) from cells order by op, who;

-- A member sees another member's installation of the team, not their personal ones.
select tests.become('owner@test.local');
select is((select count(*) from public.installations where user_id = tests.uid('member@test.local')), 0::bigint,
  'a member does not see a fellow member''s personal-account installations');
select is((select count(*) from public.installations where user_id = tests.uid('removed@test.local')), 1::bigint,
  'the team''s installations stay the team''s after their maker is removed');

-- Tracking refusals.
select tests.become('service_role');
select throws_ok(format($$select public.service_role_track_installation(%L, %L, 'cursor')$$,
  (select id from team), tests.uid('outsider@test.local')), 'PT404', 'No such account, or you are not a member of it',
  'a non-member cannot track an installation for the team');
select throws_ok(format($$select public.service_role_track_installation(%L, %L, 'cursor')$$,
  (select id from team), tests.uid('removed@test.local')), 'PT404', null, 'nor can a removed member');
select throws_ok(format($$select public.service_role_track_installation(null, %L, 'emacs')$$,
  tests.uid('owner@test.local')), 'PT422', null, 'an unknown client is refused');
select throws_ok(format($$select public.service_role_track_installation(null, %L, 'cursor', repeat('9', 65))$$,
  tests.uid('owner@test.local')), 'PT422', null, 'a client version past 64 characters is refused');
select throws_ok(format($$select public.service_role_track_installation(null, %L, 'cursor', null, jsonb_build_object('x', repeat('a', 17000)))$$,
  tests.uid('owner@test.local')), 'PT422', null, 'a config past 16 KB is refused');
select throws_ok(format($$select public.service_role_track_installation(null, %L, 'cursor')$$, gen_random_uuid()),
  'PT404', 'No such account, or you are not a member of it', 'a user that does not exist (deleted) has no account to track for');
select is(tests.outcome('anon', format($$select public.service_role_track_installation(null, %L, 'cursor')$$,
  tests.uid('owner@test.local'))), 'denied', 'anon cannot call the API');
select is(tests.outcome('owner@test.local', format($$select public.service_role_track_installation(null, %L, 'cursor')$$,
  tests.uid('owner@test.local'))), 'denied', 'nor can a signed-in user (the function does, as the service role)');

-- Raw keys never land, whatever path writes.
select tests.become('postgres');
select throws_ok(format($$insert into public.installations (account_id, user_id, client, mcp_config)
  values (%L, %1$L, 'cursor', '{"k": "sbk_live_AbCdEfGhIjKlMnOpQrSt"}')$$, tests.uid('owner@test.local')),
  '23514', null, 'a row holding a raw API key is refused by the table itself');

-- Outcomes.
select tests.become('service_role');
select is((public.service_role_record_installation_outcome((select id from inst), (select id from team),
  tests.uid('owner@test.local'), 'failed', 'The config names no server')).error_message, 'The config names no server',
  'a failed validation records why');
select is((select status || ' ' || (validated_at is null)::text from public.installations where id = (select id from inst)),
  'failed true', 'failed: not validated');
select is((public.service_role_record_installation_outcome((select id from inst), (select id from team),
  tests.uid('owner@test.local'), 'validated', null, null, 'https://p.test/functions/v1/mcp', 'sbk_live_AbC',
  '{"serverInfo": {"name": "p"}}')).status, 'validated', 'then validated');
select is((select error_message is null and validated_at is not null and checked_at is not null
  and server_url = 'https://p.test/functions/v1/mcp' and api_key_prefix = 'sbk_live_AbC'
  from public.installations where id = (select id from inst)), true, 'the error cleared, when and what it found recorded');
create temp table first_validated as select validated_at from public.installations where id = (select id from inst);
select is((public.service_role_record_installation_outcome((select id from inst), (select id from team),
  tests.uid('owner@test.local'), 'failed', 'Key revoked')).validated_at, (select validated_at from first_validated),
  'failing later keeps when it was first validated (the funnel step was reached)');
select throws_ok(format($$select public.service_role_record_installation_outcome(%L, %L, %L, 'validated')$$,
  (select id from inst), (select id from team), tests.uid('member@test.local')), 'PT404',
  'No such installation of yours in this account', 'a fellow member cannot record an outcome on another''s installation');
select throws_ok(format($$select public.service_role_record_installation_outcome(%L, null, %L, 'validated')$$,
  (select id from inst), tests.uid('owner@test.local')), 'PT404', null,
  'nor can its maker through another account');
select throws_ok(format($$select public.service_role_record_installation_outcome(%L, %L, %L, 'failed')$$,
  (select id from inst), (select id from team), tests.uid('owner@test.local')), 'PT422', null,
  'a failure without a reason is refused');
select throws_ok(format($$select public.service_role_record_installation_outcome(%L, %L, %L, 'attempted')$$,
  (select id from inst), (select id from team), tests.uid('owner@test.local')), 'PT422', null,
  'an outcome is validated or failed');
select is((public.service_role_record_installation_outcome((select id from inst), (select id from team),
  tests.uid('owner@test.local'), 'validated', null, '{"k": "Bearer sbk_live_AbCdEfGhIjKlMnOpQrSt"}')).mcp_config,
  '{"k": "Bearer sbk_live_AbC…"}'::jsonb, 'a config sent with the outcome is stored redacted too');

-- The hourly limit: 60 new installations a user an hour, then 429 until the hour has passed.
set local saasbase.now = '2030-01-01 10:00:00+00';
select tests.become('service_role');
do $$ begin
  for i in 1..60 loop
    perform public.service_role_track_installation(null, tests.uid('outsider@test.local'), 'other');
  end loop;
end $$;
select throws_ok(format($$select public.service_role_track_installation(null, %L, 'other')$$,
  tests.uid('outsider@test.local')), 'PT429', 'At most 60 installations an hour', 'the 61st in the hour is refused');
set local saasbase.now = '2030-01-01 11:00:01+00';
select ok((public.service_role_track_installation(null, tests.uid('outsider@test.local'), 'other')).id is not null,
  'an hour later the user tracks again');
set local saasbase.now = '';

-- The funnel: the installation steps read installations (and the events a frontend records itself).
select tests.become('postgres');
insert into auth.users (instance_id, id, aud, role, email, encrypted_password, raw_app_meta_data, raw_user_meta_data, created_at, updated_at)
select '00000000-0000-0000-0000-000000000000', gen_random_uuid(), 'authenticated', 'authenticated', e, '', '{}', '{}',
  '2022-02-03 10:00', '2022-02-03 10:00'
from (values ('f1@test.local'), ('f2@test.local'), ('f3@test.local'), ('f4@test.local')) v(e);
-- f1 attempted and validated; f2 attempted, failed; f3 only an event of each (a frontend's own tracking);
-- f4 nothing. f1's validation came after the range.
insert into public.installations (account_id, user_id, client, status, created_at, validated_at) values
  (tests.uid('f1@test.local'), tests.uid('f1@test.local'), 'cursor', 'validated', '2022-02-04', '2022-02-05'),
  (tests.uid('f2@test.local'), tests.uid('f2@test.local'), 'vscode', 'failed', '2022-02-04', null),
  (tests.uid('f2@test.local'), tests.uid('f2@test.local'), 'windsurf', 'attempted', '2022-02-06', null);
set local saasbase.now = '2022-02-04 12:00:00+00'; -- events are dated when received
insert into public.events (name, user_id, occurred_at) values
  ('installation.attempted', tests.uid('f3@test.local'), '2022-02-04'),
  ('installation.validated', tests.uid('f3@test.local'), '2022-02-04');
set local saasbase.now = '';
select tests.become('siteadmin@test.local');
select is((select array_agg(f.step || '=' || f.users order by o) from unnest((public.admin_kpis('2022-02-01', '2022-02-28')).funnel)
  with ordinality as f(step, users, o)),
  array['signed_up=4', 'installation.attempted=3', 'installation.validated=2', 'first_metered_use=0', 'paid=0'],
  'the funnel counts users with an installation attempted, and validated, by the end of the range');
select is((select array_agg(f.users order by o) from unnest((public.admin_kpis('2022-02-01', '2022-02-04')).funnel)
  with ordinality as f(step, users, o)), array[4, 3, 1, 0, 0]::bigint[],
  'an installation validated after the range is not counted in it');
select is(((public.admin_kpis('2022-02-01', '2022-02-28')).totals).signups, 4::bigint, 'the other KPIs are as before');

select * from finish();
rollback;
