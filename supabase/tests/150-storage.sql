-- Storage (docs/storage.md): a private bucket and its policies made here as a domain's migration makes them, by
-- `postgres` under hosted Supabase's privileges (no superuser, no member of supabase_storage_admin: policies on
-- storage.objects through the policy grant hosted gives it), then the RLS matrix of storage.objects for those
-- policies (a personal account's user, a team member, another user, anon, a site admin, the service role), the
-- delete guard Storage puts on its tables, and the path helpers policies use. Rolled back.
begin;
\ir _helpers.psql
select plan(58);

do $$ begin
  perform tests.create_user('owner@test.local');
  perform tests.create_user('member@test.local');
  perform tests.create_user('other@test.local');
  perform tests.create_user('siteadmin@test.local', '{"role": "admin"}');
end $$;

-- What a migration may do on hosted ---------------------------------------------------------------------------
select is((select rolsuper from pg_roles where rolname = current_user), false, 'the test runs as postgres, no superuser');
select is(pg_has_role('postgres', 'supabase_storage_admin', 'member'), false,
  'postgres is no member of supabase_storage_admin (the tables'' owner)');
select is((select tableowner::text from pg_tables where schemaname = 'storage' and tablename = 'objects'),
  'supabase_storage_admin', 'storage.objects belongs to Storage''s role');
select is((select relrowsecurity from pg_class where oid = 'storage.objects'::regclass), true, 'RLS is on for storage.objects');
select is((select relrowsecurity from pg_class where oid = 'storage.buckets'::regclass), true, 'RLS is on for storage.buckets');

select lives_ok($$
  insert into storage.buckets (id, name, public, file_size_limit, allowed_mime_types)
  values ('tests-private', 'tests-private', false, 5242880, array['image/png', 'image/webp'])
  on conflict (id) do nothing
$$, 'postgres creates a bucket, as a migration does');
select lives_ok($$
  create policy "Test objects are readable by their account's members and admins" on storage.objects
    for select to authenticated
    using (bucket_id = 'tests-private'
      and ((storage.foldername(name))[1] in (select saasbase.my_accounts()::text) or saasbase.is_admin()))
$$, 'postgres creates a policy on storage.objects');
select lives_ok($$
  alter policy "Test objects are readable by their account's members and admins" on storage.objects to authenticated
$$, 'postgres alters it');
select lives_ok($$
  create policy "Test drafts are droppable" on storage.objects for delete to authenticated using (false)
$$, 'postgres creates another policy');
select lives_ok($$ drop policy "Test drafts are droppable" on storage.objects $$, 'postgres drops it');
select is(pg_has_role('postgres', 'supabase_storage_admin', 'member'), false,
  'and holds no membership once the policy statements are done');
select throws_ok($$ alter table storage.objects add column saasbase_probe int $$, '42501', null,
  'postgres may not alter storage.objects');
select throws_ok($$ alter table storage.objects disable row level security $$, '42501', null,
  'nor turn its RLS off');
select throws_ok($$ drop table storage.objects $$, '42501', null, 'nor drop it');
select throws_ok($$ create table storage.saasbase_probe (id int) $$, '42501', null,
  'nor create anything in the storage schema');
select throws_ok($$ create policy "Probe" on auth.users for select using (true) $$, '42501', null,
  'the policy grant reaches Storage''s tables, not others it does not own');

-- The bucket's objects, written as Storage writes them (the service role) ------------------------------------
select tests.become('owner@test.local');
create temp table team as select (public.create_team('Acme', 'acme')).id;
grant select on team to anon, authenticated, service_role;
select tests.become('postgres');
insert into public.account_members (account_id, user_id, role)
values ((select id from team), tests.uid('member@test.local'), 'member');

select tests.become('service_role');
insert into storage.objects (bucket_id, name, owner, owner_id, metadata, version)
values
  ('tests-private', tests.uid('owner@test.local') || '/personal.png', null, null, '{"size": 3}', '1'),
  ('tests-private', (select id from team) || '/team.png', null, null, '{"size": 4}', '1');
select tests.become('postgres');

-- The matrix ---------------------------------------------------------------------------------------------------
-- Reading: the personal object by its user; the team's by its members; admins both; anon and other users none.
with cells(who, obj, expected) as (
  values
    ('owner@test.local', 'personal', 'rows'), ('owner@test.local', 'team', 'rows'),
    ('member@test.local', 'personal', 'none'), ('member@test.local', 'team', 'rows'),
    ('other@test.local', 'personal', 'none'), ('other@test.local', 'team', 'none'),
    ('siteadmin@test.local', 'personal', 'rows'), ('siteadmin@test.local', 'team', 'rows'),
    ('anon', 'personal', 'none'), ('anon', 'team', 'none'),
    ('service_role', 'personal', 'rows'), ('service_role', 'team', 'rows')
)
select is(tests.outcome(who, format('select 1 from storage.objects where bucket_id = %L and name = %L', 'tests-private',
    case obj when 'personal' then tests.uid('owner@test.local') || '/personal.png' else (select id from team) || '/team.png' end)),
  expected, format('%s reads the %s object: %s', who, obj, expected))
from cells;

-- Writing: nobody but the service role (no insert, update or delete policy for the bucket).
with who(who) as (
  values ('owner@test.local'), ('member@test.local'), ('other@test.local'), ('siteadmin@test.local'), ('anon')
)
select is(tests.outcome(who, format($$insert into storage.objects (bucket_id, name, metadata)
    values ('tests-private', %L, '{}')$$, tests.uid('owner@test.local') || '/forged.png')),
  'denied', format('%s cannot upload into the bucket, even into the owner''s folder', who))
from who;
with who(who) as (
  values ('owner@test.local'), ('member@test.local'), ('other@test.local'), ('siteadmin@test.local'), ('anon')
)
select is(tests.outcome(who, $$update storage.objects set metadata = '{"size": 0}' where bucket_id = 'tests-private'$$),
  'none', format('%s replaces nothing', who))
from who;
-- Deleting as Storage does (it sets storage.allow_delete_query for its requests): RLS filters every row out.
do $$ begin perform set_config('storage.allow_delete_query', 'true', true); end $$;
with who(who) as (
  values ('owner@test.local'), ('member@test.local'), ('other@test.local'), ('siteadmin@test.local'), ('anon')
)
select is(tests.outcome(who, $$delete from storage.objects where bucket_id = 'tests-private'$$),
  'none', format('%s deletes nothing through the API', who))
from who;
select is(tests.outcome('service_role', $$delete from storage.objects where bucket_id = 'tests-private'$$),
  'rows', 'the service role deletes through the API');
do $$ begin perform set_config('storage.allow_delete_query', 'false', true); end $$;
select is(tests.outcome('service_role', $$insert into storage.objects (bucket_id, name, metadata)
    values ('tests-private', 'anyone/new.png', '{}')$$),
  'rows', 'the service role uploads');

-- Storage's guard: no DELETE on its tables outside its API, whoever asks (the file would be left behind).
select is(tests.attempt('service_role', $$delete from storage.objects where bucket_id = 'tests-private'$$), '42501',
  'a plain DELETE on storage.objects is refused, even for the service role');
select is(tests.attempt('postgres', $$delete from storage.buckets where id = 'tests-private'$$), '42501',
  'a plain DELETE on storage.buckets is refused, even for postgres');

-- Buckets: no policy on storage.buckets, so the API roles see none of them; the service role and postgres all.
select is(tests.outcome('owner@test.local', $$select 1 from storage.buckets where id = 'tests-private'$$), 'none',
  'a user does not see the bucket row');
select is(tests.outcome('anon', $$select 1 from storage.buckets where id = 'tests-private'$$), 'none',
  'anon does not see the bucket row');
select is(tests.outcome('service_role', $$select 1 from storage.buckets where id = 'tests-private'$$), 'rows',
  'the service role sees the bucket row');
select is(tests.outcome('owner@test.local', $$insert into storage.buckets (id, name) values ('tests-forged', 'tests-forged')$$),
  'denied', 'a user cannot create a bucket');

-- Storage's columns and helpers ------------------------------------------------------------------------------------
select is((select path_tokens from storage.objects where name = 'anyone/new.png'), null::text[],
  'a row inserted and rolled back by the matrix is gone');
select is(storage.foldername('acct/sub/file.tar.gz'), array['acct', 'sub'], 'foldername: the folders of a name');
select is(storage.filename('acct/sub/file.tar.gz'), 'file.tar.gz', 'filename: its last segment');
select is(storage.extension('acct/sub/file.tar.gz'), 'gz', 'extension: after the last dot');
select is(storage.foldername('file.png'), '{}'::text[], 'a name at the bucket''s root has no folders');
select is((select path_tokens from storage.objects where bucket_id = 'tests-private' and name like '%/team.png'),
  array[(select id::text from team), 'team.png'], 'path_tokens is the name split on /');
select throws_ok($$ insert into storage.buckets (id, name) values ('x', repeat('n', 101)) $$, 'P0001', null,
  'a bucket name over 100 characters is refused');

select * from finish();
rollback;
