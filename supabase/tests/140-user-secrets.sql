-- User secrets (20261207000400_user_secrets.sql): the RLS matrix of public.user_secrets (a personal account's
-- user; a team's owner, admin, member, billing member, non-member, removed member; anon, site admin, service
-- role): members read a secret's provider, last 4 and times, no client role may select its ciphertext, nonce or
-- key id (the owner included), and only the service role writes. Then the SQL API: list_user_secrets for the
-- acting account, the service-role put / delete (manage_team on a team) and read (spend on a team) with their
-- refusals, each changing nothing.
begin;
\ir _helpers.psql
select plan(111);

do $$ begin
  perform tests.create_user('owner@test.local');
  perform tests.create_user('tadmin@test.local');
  perform tests.create_user('member@test.local');
  perform tests.create_user('payer@test.local');
  perform tests.create_user('outsider@test.local');
  perform tests.create_user('removed@test.local');
  perform tests.create_user('siteadmin@test.local', '{"role": "admin"}');
end $$;

select tests.become('owner@test.local');
create temp table team as select (public.create_team('Acme', 'acme')).id;
grant select on team to anon, authenticated, service_role;
select tests.become('postgres');
insert into public.account_members (account_id, user_id, role)
select (select id from team), tests.uid(e), r from (values
  ('tadmin@test.local', 'admin'), ('member@test.local', 'member'), ('payer@test.local', 'billing'),
  ('removed@test.local', 'member')) as m(e, r);

-- A secret of the team and one of the owner's personal account, written as the secrets function writes them.
select tests.become('service_role');
select is((public.service_role_put_user_secret((select id from team), tests.uid('owner@test.local'), 'v0',
  '\x00112233445566778899aabbccddeeff00'::bytea, '\x000102030405060708090a0b'::bytea, 'k1', 'abcd')).last4, 'abcd',
  'the team owner stores the team''s secret');
select is((public.service_role_put_user_secret(tests.uid('owner@test.local'), tests.uid('owner@test.local'),
  'v0', '\x00112233445566778899aabbccddeeff01'::bytea, '\x000102030405060708090a0c'::bytea, 'k1', 'wxyz')).last4,
  'wxyz', 'the owner stores their personal secret');
select tests.become('postgres');
delete from public.account_members where user_id = tests.uid('removed@test.local');

-- The matrix, on the team's row ------------------------------------------------------------------------------
with who(who, reads) as (
  values ('owner@test.local', 'rows'), ('tadmin@test.local', 'rows'), ('member@test.local', 'rows'),
    ('payer@test.local', 'rows'), ('outsider@test.local', 'none'), ('removed@test.local', 'none'),
    ('siteadmin@test.local', 'rows'), ('anon', 'denied'), ('service_role', 'rows')
),
cells(who, op, stmt, expected) as (
  select who, 'select (listed columns)',
    format('select provider, last4, created_by, created_at, updated_at from public.user_secrets where account_id = %L',
      (select id from team)), reads
  from who
  union all
  select who, 'select ciphertext', format('select ciphertext from public.user_secrets where account_id = %L',
    (select id from team)), case when who = 'service_role' then 'rows' else 'denied' end
  from who
  union all
  select who, 'select nonce, key_id', format('select nonce, key_id from public.user_secrets where account_id = %L',
    (select id from team)), case when who = 'service_role' then 'rows' else 'denied' end
  from who
  union all
  select who, 'select *', format('select * from public.user_secrets where account_id = %L', (select id from team)),
    case when who = 'service_role' then 'rows' else 'denied' end
  from who
  union all
  select who, 'insert', format('insert into public.user_secrets (account_id, provider, ciphertext, nonce, key_id, last4)
    values (%L, ''openai'', ''\x00112233445566778899aabbccddeeff02''::bytea, ''\x000102030405060708090a0d''::bytea, ''k1'', ''1234'')',
    (select id from team)), case when who = 'service_role' then 'rows' else 'denied' end
  from who
  union all
  select who, 'update', format('update public.user_secrets set last4 = ''0000'' where account_id = %L', (select id from team)),
    case when who = 'service_role' then 'rows' else 'denied' end
  from who
  union all
  select who, 'delete', format('delete from public.user_secrets where account_id = %L', (select id from team)),
    case when who = 'service_role' then 'rows' else 'denied' end
  from who
)
select is(tests.outcome(who, stmt), expected, format('team secret: %s %s', who, op))
from cells order by op, who;

-- A personal account's secret: its user reads the listed columns, never the ciphertext; nobody else reads it.
select is(tests.outcome('owner@test.local', format('select last4 from public.user_secrets where account_id = %L',
  tests.uid('owner@test.local'))), 'rows', 'personal secret: its user lists it');
select is(tests.outcome('owner@test.local', format('select ciphertext from public.user_secrets where account_id = %L',
  tests.uid('owner@test.local'))), 'denied', 'personal secret: its user may not read the ciphertext');
select is(tests.outcome('member@test.local', format('select last4 from public.user_secrets where account_id = %L',
  tests.uid('owner@test.local'))), 'none', 'personal secret: a fellow team member does not see it');
select is(tests.outcome('outsider@test.local', format('select last4 from public.user_secrets where account_id = %L',
  tests.uid('owner@test.local'))), 'none', 'personal secret: a stranger does not see it');
select is(tests.outcome('siteadmin@test.local', format('select last4 from public.user_secrets where account_id = %L',
  tests.uid('owner@test.local'))), 'rows', 'personal secret: a site admin lists it');
select is(tests.outcome('siteadmin@test.local', format('select ciphertext from public.user_secrets where account_id = %L',
  tests.uid('owner@test.local'))), 'denied', 'personal secret: a site admin may not read the ciphertext either');
select is(tests.outcome('owner@test.local', 'select ciphertext from public.user_secrets'), 'denied',
  'no filter makes the ciphertext readable');
select ok(not has_column_privilege('authenticated', 'public.user_secrets', 'ciphertext', 'select')
  and not has_column_privilege('authenticated', 'public.user_secrets', 'nonce', 'select')
  and not has_column_privilege('authenticated', 'public.user_secrets', 'key_id', 'select')
  and not has_column_privilege('anon', 'public.user_secrets', 'ciphertext', 'select'),
  'no client role holds SELECT on the ciphertext, nonce or key id');
select ok(not has_table_privilege('authenticated', 'public.user_secrets', 'insert, update, delete')
  and not has_table_privilege('anon', 'public.user_secrets', 'select, insert, update, delete'),
  'clients write nothing; anon reads nothing');

-- list_user_secrets ------------------------------------------------------------------------------------------
select tests.become('member@test.local');
select results_eq(format('select provider, last4 from public.list_user_secrets(%L)', (select id from team)),
  $$ values ('v0'::text, 'abcd'::text) $$, 'a member lists the team''s secrets (provider and last 4)');
select is((select count(*)::int from public.list_user_secrets()), 0, 'without an account: their personal secrets (none)');
select tests.become('owner@test.local');
select results_eq('select provider, last4 from public.list_user_secrets()', $$ values ('v0'::text, 'wxyz'::text) $$,
  'the owner lists their personal secrets');
select is(tests.attempt('outsider@test.local', format('select public.list_user_secrets(%L)', (select id from team))),
  'PT404 account_not_found', 'a non-member may not list a team''s secrets');
select is(tests.attempt('removed@test.local', format('select public.list_user_secrets(%L)', (select id from team))),
  'PT404 account_not_found', 'nor a removed member');
select is(tests.attempt('anon', 'select public.list_user_secrets()'), '42501', 'anon may not call it');
select is(tests.attempt('payer@test.local', format('select public.list_user_secrets(%L)', (select id from team))),
  'ok', 'any member role lists them (billing too)');

-- Service-role writes: who may set and delete a team's secret ---------------------------------------------
select tests.become('postgres');
create function tests.put_as(member text, account uuid) returns text language sql as $$
  select tests.attempt('service_role', format(
    'select public.service_role_put_user_secret(%L, %L, ''v0'', ''\x00112233445566778899aabbccddeeff03''::bytea, '
    '''\x000102030405060708090a0e''::bytea, ''k2'', ''new4'')', account, tests.uid(member)))
$$;
create function tests.delete_as(member text, account uuid) returns text language sql as $$
  select tests.attempt('service_role', format('select public.service_role_delete_user_secret(%L, %L, ''v0'')',
    account, tests.uid(member)))
$$;
create function tests.team_secret() returns text language sql stable as $$
  select coalesce((select key_id || '/' || last4 from public.user_secrets
    where account_id = (select id from team) and provider = 'v0'), 'none')
$$;
grant execute on all functions in schema tests to anon, authenticated, service_role;

select is(tests.put_as('tadmin@test.local', (select id from team)), 'PT403 account_forbidden',
  'a team admin (no manage_team) may not set the team''s secret');
select is(tests.put_as('member@test.local', (select id from team)), 'PT403 account_forbidden', 'nor a member');
select is(tests.put_as('payer@test.local', (select id from team)), 'PT403 account_forbidden', 'nor a billing member');
select is(tests.put_as('outsider@test.local', (select id from team)), 'PT404 account_not_found', 'a non-member: not found');
select is(tests.put_as('removed@test.local', (select id from team)), 'PT404 account_not_found', 'a removed member: not found');
select is(tests.put_as('outsider@test.local', gen_random_uuid()), 'PT404 account_not_found', 'an account that does not exist');
select is(tests.delete_as('tadmin@test.local', (select id from team)), 'PT403 account_forbidden',
  'a team admin may not delete it');
select is(tests.delete_as('member@test.local', (select id from team)), 'PT403 account_forbidden', 'nor a member');
select is(tests.delete_as('outsider@test.local', (select id from team)), 'PT404 account_not_found', 'a non-member: not found');
select is(tests.team_secret(), 'k1/abcd', '...and the team''s secret is as it was');

-- A user whose token outlived them: their personal account is gone, so nothing is written (no FK error).
select is(tests.attempt('service_role', format('select public.service_role_put_user_secret(%L, %L, ''v0'', '
  '''\x00112233445566778899aabbccddeeff03''::bytea, ''\x000102030405060708090a0e''::bytea, ''k2'', ''new4'')',
  gen_random_uuid(), null)), 'PT404 account_not_found', 'a personal account that does not exist: not found');

-- Clients may not call the service-role API at all.
select is(tests.attempt('owner@test.local', format('select public.service_role_put_user_secret(%L, %L, ''v0'', '
  '''\x00''::bytea, ''\x00''::bytea, ''k'', ''abcd'')', (select id from team), tests.uid('owner@test.local'))),
  '42501', 'a signed-in user may not call service_role_put_user_secret');
select is(tests.attempt('owner@test.local', format('select public.service_role_read_user_secret(%L, null, ''v0'')',
  (select id from team))), '42501', '...nor service_role_read_user_secret');
select is(tests.attempt('owner@test.local', format('select public.service_role_delete_user_secret(%L, %L, ''v0'')',
  (select id from team), tests.uid('owner@test.local'))), '42501', '...nor service_role_delete_user_secret');
select is(tests.attempt('anon', format('select public.service_role_read_user_secret(%L, null, ''v0'')',
  (select id from team))), '42501', 'nor anon');

select is(tests.put_as('owner@test.local', (select id from team)), 'ok', 'the team owner replaces it');
select tests.become('service_role');
select public.service_role_put_user_secret((select id from team), tests.uid('owner@test.local'), 'v0',
  '\x00112233445566778899aabbccddeeff03'::bytea, '\x000102030405060708090a0e'::bytea, 'k2', 'new4');
select tests.become('postgres');
select is(tests.team_secret(), 'k2/new4', 'replacing keeps one row per (account, provider), under the new key id');
select ok((select updated_at >= created_at and created_by = tests.uid('owner@test.local') from public.user_secrets
  where account_id = (select id from team) and provider = 'v0'), 'its creator and times are kept');
select results_eq($$ select action, details ->> 'provider', details ? 'value' from public.audit_log
  where target_id = (select id::text from team) and action like 'secret.%' order by id $$,
  $$ values ('secret.put'::text, 'v0'::text, false), ('secret.put', 'v0', false) $$,
  'each write is audited, without the value');

-- Reading for a function: spend on a team; a non-member or a role without spend gets nothing ----------------
select tests.become('service_role');
select is((select key_id from public.service_role_read_user_secret((select id from team),
  tests.uid('member@test.local'), 'v0')), 'k2', 'a member with spend reads the team''s ciphertext (for a function)');
select is((select key_id from public.service_role_read_user_secret((select id from team), null, 'v0')), 'k2',
  'without a user: the account the function resolved');
select tests.become('postgres');
select is(tests.attempt('service_role', format('select public.service_role_read_user_secret(%L, %L, ''v0'')',
  (select id from team), tests.uid('payer@test.local'))), 'PT403 account_forbidden', 'a billing member (no spend): forbidden');
select is(tests.attempt('service_role', format('select public.service_role_read_user_secret(%L, %L, ''v0'')',
  (select id from team), tests.uid('outsider@test.local'))), 'PT404 account_not_found', 'a non-member: not found');
select is(tests.attempt('service_role', format('select public.service_role_read_user_secret(%L, null, ''openai'')',
  (select id from team))), 'PT404 secret_not_found', 'no secret for the provider: secret_not_found');

-- Deleting -------------------------------------------------------------------------------------------------
select is(tests.delete_as('owner@test.local', (select id from team)), 'ok', 'the team owner deletes it');
select tests.become('service_role');
select public.service_role_delete_user_secret((select id from team), tests.uid('owner@test.local'), 'v0');
select tests.become('postgres');
select is(tests.team_secret(), 'none', '...and it is gone');
select is(tests.delete_as('owner@test.local', (select id from team)), 'PT404 secret_not_found',
  'deleting it again: secret_not_found');

-- Shape checks: one nonce length, a provider and key id of the allowed characters.
select throws_ok($$ insert into public.user_secrets (account_id, provider, ciphertext, nonce, key_id, last4)
  values ((select id from team), 'Bad Provider', '\x00112233445566778899aabbccddeeff03', '\x000102030405060708090a0e', 'k', 'abcd') $$,
  '23514', null, 'a provider out of shape is refused');
select throws_ok($$ insert into public.user_secrets (account_id, provider, ciphertext, nonce, key_id, last4)
  values ((select id from team), 'x', '\x00112233445566778899aabbccddeeff03', '\x0001', 'k', 'abcd') $$,
  '23514', null, 'a nonce that is not 12 bytes is refused');

-- The team's deletion takes its secrets.
select tests.become('service_role');
select public.service_role_put_user_secret((select id from team), tests.uid('owner@test.local'), 'v0',
  '\x00112233445566778899aabbccddeeff03'::bytea, '\x000102030405060708090a0e'::bytea, 'k2', 'new4');
select tests.become('postgres');
delete from public.accounts where id = (select id from team);
select is((select count(*)::int from public.user_secrets where account_id = (select id from team)), 0,
  'a deleted account''s secrets go with it');

select * from finish();
rollback;
