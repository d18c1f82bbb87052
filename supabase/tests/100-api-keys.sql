-- API keys: the RLS matrix of public.api_keys (key's member, team owner, team admin, team member, non-member,
-- removed member, anon, site admin, service role; the hash column readable by none), then the rules: a key is
-- made once and stored as its SHA-256, who may create / rename / revoke, verification (unknown, revoked,
-- expired and a removed member's or deleted user's key refused alike), last_used_at, the audit, and the rate
-- limiter (a window's limit, Retry-After in HINT, the next window, per key and per IP in the verification).
begin;
\ir _helpers.psql
select plan(75);

-- How many verified rows a key hash gets (as the service role would).
create function tests.verified(p_hash text) returns bigint language sql security definer as $$
  select count(*) from public.service_role_verify_api_key(p_hash)
$$;
create function tests.hash_of(k text) returns text language sql immutable as $$
  select encode(sha256(convert_to(k, 'UTF8')), 'hex')
$$;
grant execute on all functions in schema tests to anon, authenticated, service_role;

do $$
begin
  perform tests.create_user(e) from unnest(array['owner@k.local', 'admin@k.local', 'member@k.local',
    'other@k.local', 'outsider@k.local', 'removed@k.local', 'deleted@k.local']) e;
  perform tests.create_user('siteadmin@k.local', '{"role": "admin"}');
end $$;

select tests.become('owner@k.local');
select tests.put('team', (public.create_team('Keys', 'keys-test')).id::text);
select tests.become('postgres');
insert into public.account_members (account_id, user_id, role)
select tests.team(), tests.uid(e || '@k.local'), r
from (values ('admin', 'admin'), ('member', 'member'), ('other', 'member'), ('removed', 'member'), ('deleted', 'member')) v(e, r);

-- Keys: the member's on the team (scoped), the member's personal one, the other member's, the removed member's,
-- the deleted user's.
select tests.become('member@k.local');
select tests.put('member_key', (select k.key from public.create_api_key('CLI', array['mcp', 'credits', 'mcp'], null, tests.team()) k));
select tests.put('member_key_id', (select id::text from public.api_keys where prefix = left(tests.got('member_key'), 12)));
select tests.put('personal_key', (public.create_api_key('Personal')).key);
select tests.become('other@k.local');
select tests.put('other_key', (public.create_api_key('Other', null, null, tests.team())).key);
select tests.become('removed@k.local');
select tests.put('removed_key', (public.create_api_key('Removed', null, null, tests.team())).key);
select tests.become('deleted@k.local');
select tests.put('deleted_key', (public.create_api_key('Deleted', null, null, tests.team())).key);
select tests.become('postgres');

-- The key's shape and what is stored.
select matches(tests.got('member_key'), '^sbk_live_[0-9A-Za-z]{40}$', 'a key is sbk_live_ and 40 base62 characters');
select results_eq(
  $$ select prefix, last4, key_hash, scopes, user_id, account_id, created_by from public.api_keys where id = tests.got('member_key_id')::uuid $$,
  $$ values (left(tests.got('member_key'), 12), right(tests.got('member_key'), 4), tests.hash_of(tests.got('member_key')),
       array['credits', 'mcp'], tests.uid('member@k.local'), tests.team(), tests.uid('member@k.local')) $$,
  'stored: prefix (12), last 4, the SHA-256 hex, distinct sorted scopes, the member, the account, the maker');
select is((select count(*) from public.api_keys where key_hash = tests.got('member_key') or name = tests.got('member_key')), 0::bigint,
  'the key itself is stored nowhere');
select is((select scopes from public.api_keys where prefix = left(tests.got('personal_key'), 12)), null::text[],
  'no scopes = every function (null)');
select is((select account_id from public.api_keys where prefix = left(tests.got('personal_key'), 12)), tests.uid('member@k.local'),
  'without an account the key is the personal account''s');
select ok(tests.got('member_key') <> tests.got('other_key'), 'keys differ');
select is((select count(*) from public.audit_log where action = 'api_key.create' and target_id = tests.got('member_key_id')), 1::bigint,
  'creating a key is audited');

-- The RLS matrix: which of the team's 4 keys (and the member's personal one) each role sees.
select is(tests.outcome('member@k.local', $$ select 1 from public.api_keys $$), 'rows', 'member: reads keys');
select tests.become('member@k.local');
select is((select count(*) from public.api_keys), 2::bigint, 'member: their own keys only (team + personal)');
select tests.become('other@k.local');
select is((select count(*) from public.api_keys), 1::bigint, 'team member: only their own');
select tests.become('owner@k.local');
select is((select count(*) from public.api_keys), 4::bigint, 'team owner (manage_members): every key of the team, not personal ones');
select tests.become('admin@k.local');
select is((select count(*) from public.api_keys), 4::bigint, 'team admin (manage_members): every key of the team');
select tests.become('outsider@k.local');
select is((select count(*) from public.api_keys), 0::bigint, 'non-member: none');
select tests.become('siteadmin@k.local');
select is((select count(*) from public.api_keys), 5::bigint, 'site admin: all');
select is((select count(*) from public.api_keys where user_id = tests.uid('member@k.local')), 2::bigint,
  'site admin: a user''s keys by user_id');
select tests.become('member@k.local');
select is((select count(*) from public.list_api_keys()), 2::bigint, 'list_api_keys(): the caller''s own keys on every account');
select tests.become('owner@k.local');
select is((select count(*) from public.list_api_keys(tests.team())), 4::bigint, 'list_api_keys(team): the team''s, as RLS shows them');
select tests.become('siteadmin@k.local');
select is((select count(*) from public.list_api_keys(null, tests.uid('member@k.local'))), 2::bigint,
  'list_api_keys(user_id): an admin''s view of a user''s keys');
select tests.become('service_role');
select is((select count(*) from public.api_keys), 5::bigint, 'service role: all');
select tests.become('postgres');
select is(tests.outcome('anon', $$ select id from public.api_keys $$), 'denied', 'anon: no access');
select is(tests.outcome('member@k.local', $$ select key_hash from public.api_keys $$), 'denied', 'member: the hash column is not readable');
select is(tests.outcome('siteadmin@k.local', $$ select key_hash from public.api_keys $$), 'denied', 'site admin: nor for an admin');
select is(tests.outcome('service_role', $$ select key_hash from public.api_keys $$), 'denied', 'service role: nor for the service role');
select is(tests.outcome('member@k.local', $$ insert into public.api_keys (account_id, user_id, name, prefix, last4, key_hash)
  values (auth.uid(), auth.uid(), 'x', 'sbk_live_xxx', 'xxxx', repeat('a', 64)) $$), 'denied', 'member: no insert');
select is(tests.outcome('member@k.local', $$ update public.api_keys set revoked_at = null $$), 'denied', 'member: no update');
select is(tests.outcome('owner@k.local', $$ delete from public.api_keys $$), 'denied', 'owner: no delete');
select is(tests.outcome('service_role', $$ update public.api_keys set revoked_at = null $$), 'denied', 'service role: no update either');

-- Creating: any member for themselves; not a stranger's account, not anonymously, not without a name.
select is(tests.attempt('outsider@k.local', format('select public.create_api_key(%L, null, null, %L)', 'x', tests.team())),
  'PT404 account_not_found', 'a non-member cannot make a key on the team');
select is(tests.attempt('anon', $$ select public.create_api_key('x') $$), '42501', 'anon cannot make keys');
select is(tests.attempt('member@k.local', $$ select public.create_api_key('  ') $$), 'PT422 invalid_api_key_input', 'a name is required');
select is(tests.attempt('member@k.local', $$ select public.create_api_key('x', array['Bad Scope']) $$), 'PT422 invalid_api_key_input',
  'scopes are names');
select is(tests.attempt('member@k.local', $$ select public.create_api_key('x', null, now() - interval '1 second') $$),
  'PT422 invalid_api_key_input', 'an expiry in the past is refused');
select is(tests.attempt('member@k.local', $$ select public.create_api_key('x', '{}') $$), 'ok', 'empty scopes are taken (= all)');
-- Admins make a key for a user (audited as the admin); nobody else does.
select is(tests.attempt('member@k.local', format('select public.admin_create_api_key(%L, %L)', tests.uid('other@k.local'), 'x')),
  'PT403 admin_only', 'only admins make keys for others');
select tests.become('siteadmin@k.local');
select tests.put('admin_made', (public.admin_create_api_key(tests.uid('other@k.local'), 'Support', array['mcp'], null, tests.team())).id::text);
select tests.become('postgres');
select results_eq($$ select user_id, account_id, created_by from public.api_keys where id = tests.got('admin_made')::uuid $$,
  $$ values (tests.uid('other@k.local'), tests.team(), tests.uid('siteadmin@k.local')) $$,
  'an admin-made key acts as the user, on their account, made by the admin');
select is((select actor_id from public.audit_log where action = 'api_key.create' and target_id = tests.got('admin_made')),
  tests.uid('siteadmin@k.local'), 'and is audited as the admin''s');
select is(tests.attempt('siteadmin@k.local', format('select public.admin_create_api_key(%L, %L, null, null, %L)',
  tests.uid('outsider@k.local'), 'x', tests.team())), 'PT404 account_not_found', 'not on an account the user is not in');

-- Verification: the service role's alone; a live key verifies to its account, member and scopes.
select is(tests.attempt('member@k.local', format('select public.service_role_verify_api_key(%L)', tests.hash_of(tests.got('member_key')))),
  '42501', 'a user cannot call the verification');
select tests.become('service_role');
select results_eq(format('select id, account_id, user_id, scopes from public.service_role_verify_api_key(%L)', tests.hash_of(tests.got('member_key'))),
  $$ values (tests.got('member_key_id')::uuid, tests.team(), tests.uid('member@k.local'), array['credits', 'mcp']) $$,
  'a live key verifies: its id, account, member and scopes');
select is(tests.verified(tests.hash_of('sbk_live_' || repeat('x', 40))), 0::bigint, 'an unknown key: no row');
select is(tests.verified('not a hash'), 0::bigint, 'garbage: no row');
select tests.become('postgres');
select isnt((select last_used_at from public.api_keys where id = tests.got('member_key_id')::uuid), null, 'last_used_at is set');
-- Moved at most once a minute: a use 10 seconds later leaves it.
update public.api_keys set last_used_at = now() - interval '10 seconds' where id = tests.got('member_key_id')::uuid;
select is(tests.verified(tests.hash_of(tests.got('member_key'))), 1::bigint, 'verified again');
select is((select last_used_at from public.api_keys where id = tests.got('member_key_id')::uuid), now() - interval '10 seconds',
  'a use within a minute of the last does not rewrite the row');

-- Revoking: the key's member and the team's member managers; not a fellow member, not a stranger.
select is(tests.attempt('other@k.local', format('select public.revoke_api_key(%L)', tests.got('member_key_id'))),
  'PT404 api_key_not_found', 'a fellow member cannot revoke another''s key');
select is(tests.attempt('outsider@k.local', format('select public.revoke_api_key(%L)', tests.got('member_key_id'))),
  'PT404 api_key_not_found', 'a stranger cannot');
select is(tests.attempt('outsider@k.local', format('select public.rename_api_key(%L, %L)', tests.got('member_key_id'), 'mine')),
  'PT404 api_key_not_found', 'nor rename it');
select tests.put('other_key_id', (select id::text from public.api_keys where prefix = left(tests.got('other_key'), 12)));
select tests.become('admin@k.local');
select isnt((public.revoke_api_key(tests.got('other_key_id')::uuid)).revoked_at, null, 'a team admin (manage_members) revokes a member''s key');
select tests.become('member@k.local');
select is((public.rename_api_key(tests.got('member_key_id')::uuid, ' Laptop ')).name, 'Laptop', 'the member renames their key');
select isnt((public.revoke_api_key(tests.got('member_key_id')::uuid)).revoked_at, null, 'the member revokes their key');
select is(tests.attempt('member@k.local', format('select public.revoke_api_key(%L)', tests.got('member_key_id'))), 'ok',
  'revoking again changes nothing');
select tests.become('postgres');
select is((select count(*) from public.audit_log where action = 'api_key.revoke' and target_id = tests.got('member_key_id')), 1::bigint,
  'revoking is audited once');
select is(tests.verified(tests.hash_of(tests.got('member_key'))), 0::bigint, 'a revoked key: no row');
select is(tests.verified(tests.hash_of(tests.got('other_key'))), 0::bigint, 'a key revoked by a team admin: no row');

-- Expiry: a key past expires_at verifies no more (the clock moved by saasbase.now).
select tests.become('member@k.local');
select tests.put('expiring', (public.create_api_key('Short', null, now() + interval '1 hour')).key);
select tests.become('postgres');
select is(tests.verified(tests.hash_of(tests.got('expiring'))), 1::bigint, 'a key before its expiry verifies');
set local saasbase.now = '2999-01-01';
select is(tests.verified(tests.hash_of(tests.got('expiring'))), 0::bigint, 'an expired key: no row');
reset saasbase.now;

-- A removed member's keys stop working; a deleted user's are gone; a banned user's are revoked.
select is(tests.verified(tests.hash_of(tests.got('removed_key'))), 1::bigint, 'a member''s key verifies');
select tests.become('owner@k.local');
select public.remove_member(tests.team(), tests.uid('removed@k.local'));
select tests.become('postgres');
select is(tests.verified(tests.hash_of(tests.got('removed_key'))), 0::bigint, 'a removed member''s key: no row');
select isnt((select revoked_at from public.api_keys where prefix = left(tests.got('removed_key'), 12)), null, 'it is revoked');
select tests.become('removed@k.local');
select is((select count(*) from public.api_keys), 0::bigint, 'removed member: sees none of the team''s keys, their own included');
select tests.become('postgres');
delete from auth.users where email = 'deleted@k.local';
select is(tests.verified(tests.hash_of(tests.got('deleted_key'))), 0::bigint, 'a deleted user''s key: no row');
select is((select count(*) from public.api_keys where prefix = left(tests.got('deleted_key'), 12)), 0::bigint, 'and it is deleted');
select is(tests.verified(tests.hash_of(tests.got('personal_key'))), 1::bigint, 'a personal key verifies');
update auth.users set banned_until = now() + interval '1 day' where email = 'member@k.local';
select is(tests.verified(tests.hash_of(tests.got('personal_key'))), 0::bigint, 'a banned user''s key: no row');

-- The rate limiter: 3 a minute, the 4th refused with the seconds to wait, counted again in the next window.
set local saasbase.now = '2030-01-01 00:00:10+00';
select is(saasbase.take_rate_limit('t:a', 3, interval '1 minute'), 2, 'first hit: 2 left');
select saasbase.take_rate_limit('t:a', 3, interval '1 minute');
select is(saasbase.take_rate_limit('t:a', 3, interval '1 minute'), 0, 'third hit: none left');
select throws_ok($$ select saasbase.take_rate_limit('t:a', 3, interval '1 minute') $$, 'PT429',
  'Too many requests: at most 3 every 60 seconds; try again in 50 seconds', 'the 4th is refused with the wait');
create function tests.hint_of(stmt text) returns text language plpgsql as $$
declare
  v_hint text;
begin
  execute stmt;
  return null;
exception when others then
  get stacked diagnostics v_hint = pg_exception_hint;
  return v_hint;
end $$;
select is(tests.hint_of($$ select saasbase.take_rate_limit('t:a', 3, interval '1 minute') $$), 'retry_after=50', 'HINT carries retry_after');
select is(saasbase.take_rate_limit('t:b', 3, interval '1 minute'), 2, 'another bucket counts apart');
set local saasbase.now = '2030-01-01 00:01:00+00';
select is(saasbase.take_rate_limit('t:a', 3, interval '1 minute'), 2, 'the next window starts afresh');
reset saasbase.now;
-- In the verification: per key, and per client IP (counted even for unknown keys).
select tests.become('service_role');
select is((select count(*) from public.service_role_verify_api_key(tests.hash_of(tests.got('removed_key')), '203.0.113.9', 2, 60)),
  0::bigint, 'an unknown key counts on its IP');
select is((select count(*) from public.service_role_verify_api_key(tests.hash_of('nope'), '203.0.113.9', 2, 60)), 0::bigint, 'twice');
select throws_ok(format('select * from public.service_role_verify_api_key(%L, %L, 2, 60)', tests.hash_of('nope'), '203.0.113.9'),
  'PT429', null, 'the IP''s third attempt is refused');
select tests.become('postgres');
update auth.users set banned_until = null where email = 'member@k.local';
select tests.become('member@k.local');
select tests.put('limited', (public.create_api_key('Limited')).key);
select tests.become('service_role');
select is((select count(*) from public.service_role_verify_api_key(tests.hash_of(tests.got('limited')), null, null, null, 1, 60)),
  1::bigint, 'a key''s first request in its window');
select throws_ok(format('select * from public.service_role_verify_api_key(%L, null, null, null, 1, 60)', tests.hash_of(tests.got('limited'))),
  'PT429', null, 'its second past a limit of 1 is refused');

select * from finish();
rollback;
