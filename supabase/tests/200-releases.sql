-- Releases (20261207001100_releases.sql): semver precedence, the RLS matrix of release_products, releases,
-- release_artifacts and downloads (a team's owner and member, a non-member, anon, a site admin, the service
-- role), the admin API's rules (drafts, files, publish, yank, restore), the update check (channels, platforms,
-- current, rollback), downloads (free products, yanked, drafts; licensed ones through the licenses domain's
-- validation: entitlements, the policy's versions, expiry and grace) and their analytics.
begin;
\ir _helpers.psql
select plan(164);

do $$ begin
  perform tests.create_user('owner@test.local');
  perform tests.create_user('member@test.local');
  perform tests.create_user('outsider@test.local');
  perform tests.create_user('siteadmin@test.local', '{"role": "admin"}');
end $$;

select tests.become('owner@test.local');
create temp table team as select (public.create_team('Acme', 'acme')).id;
grant select on team to anon, authenticated, service_role;
select tests.become('postgres');
insert into public.account_members (account_id, user_id, role) values ((select id from team), tests.uid('member@test.local'), 'member');

-- ---------------------------------------------------------------------------------------------------------
-- Semver precedence: semver.org's own example, numbers compared as numbers, build metadata ignored.
select is(
  (select array_agg(v order by saasbase.semver_key(v) collate "C") from unnest(array['1.0.0', '1.0.0-rc.1', '1.0.0-beta.11',
    '1.0.0-beta.2', '1.0.0-beta', '1.0.0-alpha.beta', '1.0.0-alpha.1', '1.0.0-alpha']) v),
  array['1.0.0-alpha', '1.0.0-alpha.1', '1.0.0-alpha.beta', '1.0.0-beta', '1.0.0-beta.2', '1.0.0-beta.11', '1.0.0-rc.1', '1.0.0'],
  'pre-releases order as semver.org says, before their release');
select is(
  (select array_agg(v order by saasbase.semver_key(v) collate "C") from unnest(array['10.0.0', '2.0.0', '1.10.0', '1.9.9', '1.9.10']) v),
  array['1.9.9', '1.9.10', '1.10.0', '2.0.0', '10.0.0'], 'numbers compare as numbers, not as text');
select is(saasbase.semver_key('1.2.3+build.7'), saasbase.semver_key('1.2.3'), 'build metadata has no precedence');
select ok(saasbase.semver_key('1.0.0-alpha') < saasbase.semver_key('1.0.0-alpha-1') collate "C",
  'an identifier that is a prefix of another sorts first');
select ok(saasbase.semver_key('1.0.0-2') < saasbase.semver_key('1.0.0-a') collate "C",
  'numeric identifiers sort below alphanumeric ones');
select is((select count(*) from unnest(array['1.0', '01.0.0', '1.0.0-01', '1.0.0-', 'v1.0.0', '1.0.0+', ' 1.0.0',
  '1.0.0-a..b', '1.0.0-' || repeat('a', 60)]) v where saasbase.semver_key(v) is null), 9::bigint,
  'what is not semver 2.0.0 (or past 64 characters) has no key');

-- ---------------------------------------------------------------------------------------------------------
-- Products, as the config sync writes them.
select tests.become('service_role');
select public.service_role_sync_releases('{"release_products": [{"id": "tool", "name": "Dev Forge CLI", "license_required": false},
  {"id": "app", "name": "Dev Forge", "license_required": true}, {"id": "gone", "name": "Old", "license_required": false}]}');
select public.service_role_sync_releases('{"release_products": [{"id": "tool", "name": "Dev Forge CLI", "license_required": false},
  {"id": "app", "name": "Dev Forge", "license_required": true}]}');
select is((select array_agg(id || ':' || active order by id) from public.release_products),
  array['app:true', 'gone:false', 'tool:true'], 'a product gone from the config is deactivated, not deleted');
select is(tests.outcome('owner@test.local', $$select public.service_role_sync_releases('{}')$$), 'denied',
  'only the service role syncs products');

-- The admin API, as the releases function calls it for the site admin.
create temp table r as select * from public.releases limit 0;
grant select, insert on r to anon, authenticated, service_role;
insert into r select * from public.service_role_create_release(tests.uid('siteadmin@test.local'), 'tool', '1.0.0', 'stable', 'First');
insert into r select * from public.service_role_create_release(null, 'tool', '1.1.0', 'stable', 'Second');
insert into r select * from public.service_role_create_release(null, 'tool', '1.2.0-beta.1', 'beta', 'Beta');
insert into r select * from public.service_role_create_release(null, 'tool', '2.0.0', 'stable', 'Draft');
insert into r select * from public.service_role_create_release(null, 'app', '3.0.0', 'stable', 'Licensed');
create function pg_temp.rid(v text, p text default 'tool') returns uuid language sql stable as $$
  select id from r where version = v and product_id = p $$;
select is((select published_at from r where version = '1.0.0'), null, 'a new release is a draft');
select is((select created_by from r where version = '1.0.0'), tests.uid('siteadmin@test.local'), 'its creator recorded');

select public.service_role_add_release_artifact(null, pg_temp.rid(v), p, 'tool-' || v || '.bin',
  'tool/' || v || '/' || p || '/tool-' || v || '.bin', repeat('a', 64), 100)
from (values ('1.0.0', 'linux-x64'), ('1.0.0', 'windows-x64'), ('1.1.0', 'linux-x64'), ('1.2.0-beta.1', 'linux-x64'),
  ('2.0.0', 'linux-x64')) f(v, p);
select public.service_role_add_release_artifact(null, pg_temp.rid('3.0.0', 'app'), 'linux-x64', 'app.bin',
  'app/3.0.0/linux-x64/app.bin', repeat('b', 64), 200);
select ok((public.service_role_publish_release(null, pg_temp.rid('1.0.0'))).published_at is not null, 'published');
select public.service_role_publish_release(null, pg_temp.rid(v)) from (values ('1.1.0'), ('1.2.0-beta.1')) p(v);
select public.service_role_publish_release(null, pg_temp.rid('3.0.0', 'app'));
select tests.become('postgres');
insert into public.downloads (release_id, artifact_id, product_id, version, platform, account_id, user_id)
select pg_temp.rid('1.0.0'), a.id, 'tool', '1.0.0', 'linux-x64', (select id from team), tests.uid('owner@test.local')
from public.release_artifacts a where a.release_id = pg_temp.rid('1.0.0') and a.platform = 'linux-x64';

-- ---------------------------------------------------------------------------------------------------------
-- The matrix. Products and published releases with their files are public; drafts are the admins'; a
-- download is its account's members' and the admins'; nobody but the service role writes.
with who(who, published, draft, download, writes) as (
  values ('owner@test.local', 'rows', 'none', 'rows', 'denied'), ('member@test.local', 'rows', 'none', 'rows', 'denied'),
    ('outsider@test.local', 'rows', 'none', 'none', 'denied'), ('anon', 'rows', 'none', 'denied', 'denied'),
    ('siteadmin@test.local', 'rows', 'rows', 'rows', 'denied'), ('service_role', 'rows', 'rows', 'rows', 'rows')
),
cells(who, what, stmt, expected) as (
  select who, 'reads products', $$select * from public.release_products where id = 'tool'$$, published from who
  union all
  select who, 'writes products', $$update public.release_products set name = 'x' where id = 'tool'$$, writes from who
  union all
  select who, 'reads a published release', format('select * from public.releases where id = %L', pg_temp.rid('1.0.0')), published from who
  union all
  select who, 'reads a draft', format('select * from public.releases where id = %L', pg_temp.rid('2.0.0')), draft from who
  union all
  select who, 'inserts a release', $$insert into public.releases (product_id, version, channel) values ('tool', '9.9.9', 'stable')$$, writes from who
  union all
  select who, 'yanks by update', format('update public.releases set yanked_at = now() where id = %L', pg_temp.rid('1.0.0')), writes from who
  union all
  select who, 'deletes a release', format('delete from public.releases where id = %L', pg_temp.rid('1.0.0')), writes from who
  union all
  select who, 'reads a published file', format('select * from public.release_artifacts where release_id = %L', pg_temp.rid('1.0.0')), published from who
  union all
  select who, 'reads a draft''s file', format('select * from public.release_artifacts where release_id = %L', pg_temp.rid('2.0.0')), draft from who
  union all
  select who, 'changes a file', format('update public.release_artifacts set sha256 = repeat(''c'', 64) where release_id = %L', pg_temp.rid('1.0.0')), writes from who
  union all
  select who, 'reads the team''s downloads', format('select * from public.downloads where account_id = %L', (select id from team)), download from who
  union all
  select who, 'records a download', format('insert into public.downloads (release_id, artifact_id, product_id, version, platform)
    select release_id, id, ''tool'', ''1.0.0'', platform from public.release_artifacts where release_id = %L', pg_temp.rid('1.0.0')), writes from who
  union all
  select who, 'deletes downloads', format('delete from public.downloads where account_id = %L', (select id from team)), writes from who
)
select is(tests.outcome(who, stmt), expected, format('%s %s', who, what)) from cells order by what, who;

select tests.become('outsider@test.local');
select is((select count(*) from public.downloads), 0::bigint, 'a non-member sees no download of the team');

-- ---------------------------------------------------------------------------------------------------------
-- The admin API's rules.
select tests.become('service_role');
select throws_ok($$select public.service_role_create_release(null, 'tool', '1.0.0', 'stable')$$, 'PT409',
  'tool 1.0.0 already has a release', 'a version has one release');
select throws_ok($$select public.service_role_create_release(null, 'tool', '1.0.0+rebuild', 'stable')$$, 'PT409', null,
  'build metadata makes no new version');
select throws_ok($$select public.service_role_create_release(null, 'tool', '1.3', 'stable')$$, 'PT422', null,
  'a version that is not semver is refused');
select throws_ok($$select public.service_role_create_release(null, 'tool', '1.3.0-rc.1', 'stable')$$, 'PT422',
  'A pre-release version (1.2.3-beta.1) goes on the beta channel', 'a pre-release is never stable');
select throws_ok($$select public.service_role_create_release(null, 'tool', '1.3.0', 'nightly')$$, 'PT422', null,
  'an unknown channel is refused');
select throws_ok($$select public.service_role_create_release(null, 'nope', '1.3.0', 'stable')$$, 'PT404', null,
  'an unknown product is refused');
select throws_ok($$select public.service_role_create_release(null, 'gone', '1.3.0', 'stable')$$, 'PT404', null,
  'so is a deactivated one');
select throws_ok($$select public.service_role_create_release(null, 'tool', '1.3.0', 'stable', '', array['Bad name'])$$,
  'PT422', null, 'an entitlement name out of shape is refused');
select throws_ok($$select public.service_role_create_release(null, 'tool', '1.3.0', 'stable', repeat('n', 20001))$$,
  'PT422', null, 'notes past 20,000 characters are refused');
select is((select count(*) from public.releases where version like '1.3%'), 0::bigint, 'nothing was made by the refusals');
select throws_ok(format($$select public.service_role_add_release_artifact(null, %L, 'linux-x64', 'x.bin', 'x', repeat('a', 64), 1)$$,
  pg_temp.rid('1.0.0')), 'PT409', null, 'a published release''s files do not change');
select throws_ok(format($$select public.service_role_add_release_artifact(null, %L, 'linux-x64', 'y.bin', 'y', repeat('a', 64), 1)$$,
  pg_temp.rid('2.0.0')), 'PT409', 'This release has a file for linux-x64 already', 'one file per platform');
select throws_ok(format($$select public.service_role_add_release_artifact(null, %L, 'mac os', 'y.bin', 'y', repeat('a', 64), 1)$$,
  pg_temp.rid('2.0.0')), 'PT422', null, 'a platform out of shape is refused');
select throws_ok(format($$select public.service_role_add_release_artifact(null, %L, 'macos-arm64', 'y.bin', 'y', 'abc', 1)$$,
  pg_temp.rid('2.0.0')), 'PT422', null, 'a sha256 that is no 64 hex digits is refused');
select throws_ok(format($$select public.service_role_add_release_artifact(null, %L, 'macos-arm64', '../y.bin', 'y', repeat('a', 64), 1)$$,
  pg_temp.rid('2.0.0')), 'PT422', null, 'a file name with a path in it is refused');
select throws_ok($$select public.service_role_add_release_artifact(null, gen_random_uuid(), 'macos-arm64', 'y.bin', 'y', repeat('a', 64), 1)$$,
  'PT404', null, 'a file for no release is refused');
insert into r select * from public.service_role_create_release(null, 'tool', '2.1.0', 'stable');
select throws_ok(format($$select public.service_role_publish_release(null, %L)$$, pg_temp.rid('2.1.0')), 'PT409',
  'Upload a file for at least one platform first', 'a release without a file is not published');
select throws_ok(format($$select public.service_role_yank_release(null, %L)$$, pg_temp.rid('2.0.0')), 'PT409', null,
  'a draft is not yanked');
select is((public.service_role_publish_release(null, pg_temp.rid('1.0.0'))).published_at,
  (select published_at from public.releases where id = pg_temp.rid('1.0.0')), 'publishing again changes nothing');
select is((select count(*) from public.audit_log where action like 'releases.%'), 16::bigint,
  'every change is audited (5 + 1 releases, 6 files, 4 publications; none for a refusal or a repeat)');
select is(tests.outcome('siteadmin@test.local', format($$select public.service_role_publish_release(null, %L)$$, pg_temp.rid('2.0.0'))),
  'denied', 'a signed-in admin calls the API through the function only');

-- ---------------------------------------------------------------------------------------------------------
-- The update check.
create function pg_temp.latest(channel text, platform text, cur text default null) returns text language sql as $$
  select coalesce((o).version || case when (o).rollback then ' rollback' else '' end, 'current')
  from (select public.service_role_latest_release('tool', channel, platform, cur) as o) x $$;
select is(pg_temp.latest('stable', 'linux-x64'), '1.1.0', 'stable: the newest published stable release');
select is(pg_temp.latest('beta', 'linux-x64'), '1.2.0-beta.1', 'beta: the newest of beta and stable');
select is(pg_temp.latest('stable', 'windows-x64'), '1.0.0', 'only releases with a file for the platform');
select is(pg_temp.latest('stable', 'linux-x64', '1.0.0'), '1.1.0', 'an older app is offered the update');
select is(pg_temp.latest('stable', 'linux-x64', '1.1.0'), 'current', 'a current app is offered nothing');
select is(pg_temp.latest('stable', 'linux-x64', '1.1.0+local'), 'current', 'build metadata aside');
select is(pg_temp.latest('stable', 'linux-x64', '1.2.0-beta.1'), 'current', 'a beta newer than stable is not downgraded');
select is(pg_temp.latest('beta', 'linux-x64', '1.2.0-alpha.3'), '1.2.0-beta.1', 'an alpha is offered the beta after it');
select is(pg_temp.latest('stable', 'macos-arm64'), 'current', 'a platform without files gets nothing');
select throws_ok($$select public.service_role_latest_release('tool', 'stable', 'linux-x64', 'one')$$, 'PT422', null,
  'a current version that is not semver is refused');
select throws_ok($$select public.service_role_latest_release('tool', 'nightly', 'linux-x64')$$, 'PT422', null,
  'an unknown channel is refused');
select throws_ok($$select public.service_role_latest_release('nope', 'stable', 'linux-x64')$$, 'PT404', null,
  'an unknown product is refused');
select is((public.service_role_latest_release('tool', 'stable', 'linux-x64')).sha256, repeat('a', 64),
  'the offer carries the file''s sha256');

-- Yank 1.1.0: rolled back to 1.0.0, for new and for 1.1.0's own users.
select is((public.service_role_yank_release(tests.uid('siteadmin@test.local'), pg_temp.rid('1.1.0'), 'crashes on start')).yank_reason,
  'crashes on start', 'a yank records why');
select is((select yanked_by from public.releases where id = pg_temp.rid('1.1.0')), tests.uid('siteadmin@test.local'), 'and who');
select is(pg_temp.latest('stable', 'linux-x64'), '1.0.0', 'a yanked release is offered no more: the one before it is');
select is(pg_temp.latest('stable', 'linux-x64', '1.1.0'), '1.0.0 rollback', 'apps on the yanked release are rolled back');
select is(pg_temp.latest('stable', 'linux-x64', '1.0.0'), 'current', 'apps on the release before are current');
select is(pg_temp.latest('beta', 'linux-x64', '1.1.0'), '1.2.0-beta.1', 'a beta app on the yanked release moves forward');
select tests.become('anon');
select is((select count(*) from public.releases where id = pg_temp.rid('1.1.0') and yanked_at is not null), 1::bigint,
  'a changelog shows the yank');
select tests.become('service_role');
select is((public.service_role_restore_release(null, pg_temp.rid('1.1.0'))).yanked_at, null, 'a yank is undone by restoring');
select is(pg_temp.latest('stable', 'linux-x64'), '1.1.0', 'the restored release is offered again');
select public.service_role_yank_release(null, pg_temp.rid('1.1.0'));

-- ---------------------------------------------------------------------------------------------------------
-- Downloads.
select tests.become('service_role');
create temp table d as select * from public.service_role_authorize_download('tool', '1.0.0', 'linux-x64',
  tests.uid('member@test.local'), (select id from team), 'de');
grant select on d to anon, authenticated, service_role;
select is((select storage_path from d), 'tool/1.0.0/linux-x64/tool-1.0.0.bin', 'a download answers the file''s path');
select is((select account_id || ' ' || user_id || ' ' || country from public.downloads where id = (select download_id from d)),
  (select id from team) || ' ' || tests.uid('member@test.local') || ' DE',
  'recorded for the team the member acts for, the member, the country upper-cased');
select is((public.service_role_authorize_download('tool', null, 'linux-x64')).version, '1.0.0',
  'no version: the newest stable release not yanked');
select is((select account_id is null and user_id is null and country is null from public.downloads order by id desc limit 1), true,
  'an anonymous download of a free product counts for nobody');
select is((public.service_role_authorize_download('tool', '1.0.0', 'windows-x64', tests.uid('owner@test.local'), null, 'XX')).account_id,
  tests.uid('owner@test.local'), 'no account named: the personal account');
select is((select country from public.downloads order by id desc limit 1), null, 'an unknown country (XX) is none');
select throws_ok($$select public.service_role_authorize_download('tool', '1.1.0', 'linux-x64')$$, 'PT410',
  'tool 1.1.0 was withdrawn; download the release offered instead', 'a yanked release is not downloaded');
select throws_ok($$select public.service_role_authorize_download('tool', '2.0.0', 'linux-x64')$$, 'PT404', null,
  'nor is a draft');
select throws_ok($$select public.service_role_authorize_download('tool', '1.0.0', 'macos-arm64')$$, 'PT404',
  'tool 1.0.0 has no file for macos-arm64', 'nor a platform without a file');
select throws_ok($$select public.service_role_authorize_download('tool', 'latest', 'linux-x64')$$, 'PT422', null,
  'a version that is not semver is refused');
select throws_ok($$select public.service_role_authorize_download('app', '3.0.0', 'linux-x64')$$, 'PT403',
  'Downloading Dev Forge needs a valid license key', 'a licensed product needs a license');
select throws_ok(format($$select public.service_role_authorize_download('tool', '1.0.0', 'linux-x64', %L, %L)$$,
  tests.uid('outsider@test.local'), (select id from team)), 'PT404', null, 'a non-member cannot download for the team');
select is((select count(*) from public.downloads), 4::bigint, 'the refusals recorded nothing');

-- Licensed downloads and update checks (the licenses domain's validation): app's license grants `editor` and
-- covers majors up to 3, on 3 machines, 14 days of grace.
select tests.become('postgres');
insert into public.license_products (id, name, duration_days, floating, max_machines, grace_days, entitlements, max_major_version)
values ('app', 'Dev Forge', 365, true, 3, 14, '{editor}', 3);
select tests.become('service_role');
insert into r select * from public.service_role_create_release(null, 'app', '3.1.0', 'stable', 'Pro only', array['pro']);
insert into r select * from public.service_role_create_release(null, 'app', '4.0.0', 'stable', 'Next major');
select public.service_role_add_release_artifact(null, pg_temp.rid(v, 'app'), 'linux-x64', 'app.bin',
  'app/' || v || '/linux-x64/app.bin', repeat('c', 64), 300) from (values ('3.1.0'), ('4.0.0')) f(v);
select public.service_role_publish_release(null, pg_temp.rid(v, 'app')) from (values ('3.1.0'), ('4.0.0')) f(v);
select count(*) from (select tests.put('key', (public.admin_issue_license((select id from team), 'app')).key)) issued;
create function pg_temp.app_latest(k text, cur text default null) returns text language sql as $$
  select coalesce((public.service_role_latest_release('app', 'stable', 'linux-x64', cur, k)).version, 'current') $$;
select is(pg_temp.app_latest(null), '4.0.0', 'without a key a licensed product''s newest release is offered');
select is(pg_temp.app_latest(tests.got('key')), '3.0.0',
  'with the key: not a major its policy does not cover, nor a release asking for what it does not grant');
select is(pg_temp.app_latest(tests.got('key'), '3.0.0'), 'current', 'an app on it is current');
select throws_ok($$select public.service_role_latest_release('app', 'stable', 'linux-x64', null, 'AAAAA-BBBBB-CCCCC-DDDDD')$$,
  'PT403', 'The license is not valid for this: NOT_FOUND', 'an unknown key is NOT_FOUND, nothing more');
create temp table ld as select * from public.service_role_authorize_download('app', null, 'linux-x64',
  tests.uid('outsider@test.local'), null, 'fr', tests.got('key'));
grant select on ld to anon, authenticated, service_role;
select is((select version from ld), '3.0.0', 'a licensed download without a version: the newest the license may have');
select is((select account_id || ' ' || user_id || ' ' || license_id from public.downloads where id = (select download_id from ld)),
  (select id from team) || ' ' || tests.uid('outsider@test.local') || ' ' || (select license_id from ld),
  'it counts for the license''s account and names the license (and whoever was signed in)');
select is((select license_id from ld), (select id from public.licenses where account_id = (select id from team)), 'the team''s license');
select throws_ok(format($$select public.service_role_authorize_download('app', '4.0.0', 'linux-x64', null, null, null, %L)$$,
  tests.got('key')), 'PT403', 'The license is not valid for this: VERSION_NOT_ALLOWED', 'a major the policy does not cover');
select throws_ok(format($$select public.service_role_authorize_download('app', '3.1.0', 'linux-x64', null, null, null, %L)$$,
  tests.got('key')), 'PT403', 'Dev Forge 3.1.0 needs a license granting pro', 'a release asking for an entitlement the license lacks');
-- (On a clock held mid-minute: the limits count per fixed minute.)
select set_config('saasbase.now', '2026-12-07 12:00:30+00', true);
select throws_ok(format($$select public.service_role_count_release_request(%L, '10.1.2.3') from generate_series(1, 31)$$,
  tests.got('key')), 'PT429', null, 'requests with a key are counted as the licenses function counts its own (30 a minute a license)');
select set_config('saasbase.now', '', true);
select tests.become('postgres');
update public.licenses set expires_at = now() - interval '1 day' where account_id = (select id from team);
select tests.become('service_role');
select is((public.service_role_authorize_download('app', '3.0.0', 'linux-x64', null, null, null, tests.got('key'))).version, '3.0.0',
  'expired within its grace period: still downloads');
select tests.become('postgres');
update public.licenses set expires_at = now() - interval '15 days' where account_id = (select id from team);
select tests.become('service_role');
select throws_ok(format($$select public.service_role_authorize_download('app', '3.0.0', 'linux-x64', null, null, null, %L)$$,
  tests.got('key')), 'PT403', 'The license is not valid for this: EXPIRED', 'past its grace period: refused');
select throws_ok(format($$select public.service_role_latest_release('app', 'stable', 'linux-x64', null, %L)$$, tests.got('key')),
  'PT403', 'The license is not valid for this: EXPIRED', 'and offered nothing');
select is((select count(*) from public.downloads where product_id = 'app'), 2::bigint, 'only the allowed downloads were recorded');

-- Analytics: per day and release.
select tests.become('postgres');
update public.downloads set created_at = '2026-12-01 23:30+00' where id = (select download_id from d);
select tests.become('service_role');
select is((select array_agg(day || ' ' || version || ' ' || downloads || ' ' || accounts order by day, version)
  from public.service_role_release_downloads('tool', '2026-12-01', (now() at time zone 'UTC')::date)),
  array['2026-12-01 1.0.0 1 1', (now() at time zone 'UTC')::date || ' 1.0.0 3 2'], 'downloads per UTC day and release');
select is((select count(*) from public.service_role_release_downloads('tool', '2026-11-01', '2026-11-30')), 0::bigint,
  'a range without downloads has none');
select throws_ok($$select * from public.service_role_release_downloads('tool', '2026-12-02', '2026-12-01')$$, 'PT422', null,
  'a range that ends before it starts is refused');
select is(tests.outcome('siteadmin@test.local', $$select * from public.service_role_release_downloads('tool', '2026-12-01', '2026-12-02')$$),
  'denied', 'analytics through the function only');

select * from finish();
rollback;
