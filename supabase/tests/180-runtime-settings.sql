-- Runtime settings: who reads and writes the versions (RLS and the API's rights), a change written through to
-- the catalog so the next charge pays it, bad values refused with nothing changed, versions kept with their
-- diff, rollback to any version, and the config sync keeping the overrides while it updates the defaults.
begin;
\ir _helpers.psql
select plan(93);

do $$ begin
  perform tests.create_user('a@test.local');
  perform tests.create_user('admin@test.local', '{"role": "admin"}');
end $$;
-- The test's version numbers count from the one in force (the database may have versions of its own).
select tests.put('v0', (select max(version)::text from public.runtime_settings_versions));
create function tests.v(n integer) returns bigint language sql stable as $$ select tests.got('v0')::bigint + n $$;
grant execute on function tests.v(integer) to anon, authenticated, service_role;

-- RLS matrix of the versions: admins and the service role read them; nobody writes them but the API.
with who(who) as (values ('anon'), ('a@test.local'), ('admin@test.local'), ('service_role')),
cells(op, who, stmt, expected) as (
  select 'select', who, $$select * from public.runtime_settings_versions$$,
    case who when 'anon' then 'denied' when 'a@test.local' then 'none' else 'rows' end from who
  union all
  select 'insert', who, $$insert into public.runtime_settings_versions (version, settings, note) values (999999, '{}', 'x')$$,
    'denied' from who
  union all
  select 'update', who, $$update public.runtime_settings_versions set note = 'x'$$, 'denied' from who
  union all
  select 'delete', who, $$delete from public.runtime_settings_versions$$, 'denied' from who
)
select is(tests.outcome(who, stmt), expected, format('%s %s runtime_settings_versions', who, op)) from cells order by op, who;

-- The API's rights: admins and the service role change settings; a user gets 403, anon no privilege at all;
-- anyone reads the public status; only the service role reads the functions' snapshot and syncs.
with who(who) as (values ('anon'), ('a@test.local'), ('admin@test.local'), ('service_role')),
cells(fn, who, stmt, expected) as (
  select 'admin_runtime_settings', who, $$select * from public.admin_runtime_settings()$$,
    case who when 'anon' then '42501' when 'a@test.local' then 'PT403 admin_only' else 'ok' end from who
  union all
  select 'admin_set_runtime_settings', who,
    $$select public.admin_set_runtime_settings('{"announcement.message": "hello"}', 'a test note')$$,
    case who when 'anon' then '42501' when 'a@test.local' then 'PT403 admin_only' else 'ok' end from who
  union all
  select 'admin_rollback_runtime_settings', who, format($$select public.admin_rollback_runtime_settings(%s)$$, tests.v(0)),
    case who when 'anon' then '42501' when 'a@test.local' then 'PT403 admin_only' else 'ok' end from who
  union all
  select 'get_runtime_status', who, $$select public.get_runtime_status()$$, 'ok' from who
  union all
  select 'service_role_runtime_settings', who, $$select public.service_role_runtime_settings()$$,
    case who when 'service_role' then 'ok' else '42501' end from who
  union all
  select 'service_role_sync_runtime_settings', who, $$select public.service_role_sync_runtime_settings('{}')$$,
    case who when 'service_role' then 'ok' else '42501' end from who
)
select is(tests.attempt(who, stmt), expected, format('%s calls %s', who, fn)) from cells order by fn, who;

-- A user with credits, who uses up the 3 free coloring pages of the free plan: each next page is paid.
select public.service_role_grant_credits(tests.user_id('a@test.local'), 1000);
create function tests.page_cost(k text) returns bigint language plpgsql as $$
declare
  v_cost bigint;
begin
  perform tests.become('a@test.local');
  select c.credits_charged into v_cost from public.charge_credits('coloring_page', 1, k) c;
  perform tests.become('postgres');
  return v_cost;
end $$;
select is(tests.page_cost('free-1') + tests.page_cost('free-2') + tests.page_cost('free-3'), 0::bigint,
  'the free allowance first');
select is(tests.page_cost('page-1'), (select credits::bigint from public.features where id = 'coloring_page'),
  'a page costs the config''s price first');
select tests.put('config_price', (select credits::text from public.features where id = 'coloring_page'));

-- A change: a new version, written through to the catalog, paid by the next charge.
select tests.become('admin@test.local');
select is((public.admin_set_runtime_settings('{"feature.coloring_page.credits": 1}', 'Holiday price')).version, tests.v(1),
  'a change is the next version');
select tests.become('postgres');
select is((select credits from public.features where id = 'coloring_page'), 1, 'the change is written to the catalog');
select is(tests.page_cost('page-2'), 1::bigint, 'the next charge pays the new price');
select results_eq(
  format($$select settings, changes, note, created_by, rolled_back_to from public.runtime_settings_versions where version = %s$$, tests.v(1)),
  format($$values ('{"feature.coloring_page.credits": 1}'::jsonb,
    jsonb_build_object('feature.coloring_page.credits', jsonb_build_object('old', null, 'new', 1)),
    'Holiday price'::text, %L::uuid, null::bigint)$$, tests.user_id('admin@test.local')),
  'the version keeps the whole set, the diff, the note and who made it');
select is((select count(*) from public.audit_log where action = 'runtime_settings.change' and target_id = tests.v(1)::text
  and actor_id = tests.user_id('admin@test.local')), 1::bigint, 'the change is audited');

-- A second change keeps the first (the set is whole); the same change again makes no version.
select tests.become('admin@test.local');
select is((public.admin_set_runtime_settings('{"quota.free.coloring_page.free_limit": 5, "maintenance.enabled": true, "announcement.message": "Back at 3"}', 'Maintenance window')).version,
  tests.v(2), 'a second change');
select is((public.admin_set_runtime_settings('{"maintenance.enabled": true}', 'Maintenance window')).version, tests.v(2),
  'a change that changes nothing makes no version');
select tests.become('postgres');
select is((select settings from public.runtime_settings_versions where version = tests.v(2)),
  '{"feature.coloring_page.credits": 1, "quota.free.coloring_page.free_limit": 5, "maintenance.enabled": true, "announcement.message": "Back at 3"}'::jsonb,
  'each version holds the whole override set');
select is((select free_limit from public.plan_quotas where plan_id = 'free' and feature_id = 'coloring_page'), 5,
  'a free allowance is written through too');
select tests.become('anon');
select results_eq($$select maintenance, announcement, announcement_level, version from public.get_runtime_status()$$,
  format($$values (true, 'Back at 3'::text, 'info'::text, %s::bigint)$$, tests.v(2)), 'anyone reads maintenance and the announcement');
select tests.become('postgres');
select is(saasbase.runtime_value('maintenance.enabled'), 'true'::jsonb, 'SQL reads the effective value');
select is((select "values" -> 'feature.coloring_page.credits' from public.service_role_runtime_settings()), '1'::jsonb,
  'the functions'' snapshot holds the effective values');

-- Bad input: refused with its code, nothing changed.
create function tests.refused(stmt text) returns text language plpgsql as $$ begin return tests.attempt('admin@test.local', stmt); end $$;
select is(tests.refused($$select public.admin_set_runtime_settings('{"feature.coloring_page.credits": "cheap"}', 'bad value')$$),
  'PT422 invalid_setting', 'a string for a price is refused');
select is(tests.refused($$select public.admin_set_runtime_settings('{"feature.coloring_page.credits": -1}', 'bad value')$$),
  'PT422 invalid_setting', 'a negative price is refused');
select is(tests.refused($$select public.admin_set_runtime_settings('{"feature.coloring_page.credits": 1.5}', 'bad value')$$),
  'PT422 invalid_setting', 'a fractional price is refused');
select is(tests.refused($$select public.admin_set_runtime_settings('{"feature.coloring_page.credits": 3000000000}', 'bad value')$$),
  'PT422 invalid_setting', 'a price past an integer is refused');
select is(tests.refused($$select public.admin_set_runtime_settings('{"feature.coloring_page.credits": 2, "feature.nope.credits": 1}', 'bad key')$$),
  'PT404 unknown_setting', 'an unknown key is refused, and the good one with it');
select is(tests.refused($$select public.admin_set_runtime_settings('{"ai.fallback_order": ["openai", "openai"]}', 'bad order')$$),
  'PT422 invalid_setting', 'a provider twice is refused');
select is(tests.refused($$select public.admin_set_runtime_settings('{"ai.fallback_order": ["nobody"]}', 'bad order')$$),
  'PT422 invalid_setting', 'an unknown provider is refused');
select is(tests.refused($$select public.admin_set_runtime_settings('{"ai.fallback_order": []}', 'bad order')$$),
  'PT422 invalid_setting', 'an empty order is refused');
select is(tests.refused($$select public.admin_set_runtime_settings('{"announcement.level": "loud"}', 'bad level')$$),
  'PT422 invalid_setting', 'a level outside the choices is refused');
select is(tests.refused($$select public.admin_set_runtime_settings('{"maintenance.enabled": "yes"}', 'bad flag')$$),
  'PT422 invalid_setting', 'a string for a flag is refused');
select is(tests.refused(format($$select public.admin_set_runtime_settings(%L, 'too long')$$,
  jsonb_build_object('announcement.message', repeat('x', 1001)))), 'PT422 invalid_setting', 'a message past its length is refused');
select is(tests.refused($$select public.admin_set_runtime_settings('[1]', 'not an object')$$),
  'PT422 invalid_setting', 'changes that are no object are refused');
select is(tests.refused($$select public.admin_set_runtime_settings('{"feature.coloring_page.credits": 2}', ' ')$$),
  'PT422 invalid_note', 'a change without a note is refused');
select is(tests.refused(format($$select public.admin_set_runtime_settings('{"feature.coloring_page.credits": 2}', 'stale screen', %s)$$, tests.v(1))),
  'PT409 settings_version_conflict', 'a change made on a version that is no longer in force is refused');
select is(tests.refused($$select public.admin_rollback_runtime_settings(-5)$$),
  'PT404 settings_version_not_found', 'a rollback to no version is refused');
select is((select max(version) from public.runtime_settings_versions), tests.v(2), 'no refused change made a version');
select is((select credits from public.features where id = 'coloring_page'), 1, 'no refused change touched the catalog');

-- An override back to its default (null), then a rollback to any version: a new version with that one's set.
select tests.become('admin@test.local');
select is((public.admin_set_runtime_settings('{"maintenance.enabled": null}', 'Maintenance over', tests.v(2))).settings,
  '{"feature.coloring_page.credits": 1, "quota.free.coloring_page.free_limit": 5, "announcement.message": "Back at 3"}'::jsonb,
  'null takes an override out');
select results_eq(format($$select version, settings, rolled_back_to from public.admin_rollback_runtime_settings(%s, 'Holiday over')$$, tests.v(0)),
  format($$values (%s::bigint, '{}'::jsonb, %s::bigint)$$, tests.v(4), tests.v(0)), 'a rollback is a new version restoring the set');
select tests.become('postgres');
select is((select credits from public.features where id = 'coloring_page')::text, tests.got('config_price'),
  'the rollback restores the config''s price');
select is((select free_limit from public.plan_quotas where plan_id = 'free' and feature_id = 'coloring_page'), 3,
  'and the config''s allowance');
select is(tests.page_cost('page-3')::text, tests.got('config_price'), 'the next charge pays the config''s price again');
select is((select changes -> 'feature.coloring_page.credits' from public.runtime_settings_versions where version = tests.v(4)),
  '{"old": 1, "new": null}'::jsonb, 'the rollback''s diff says what it undid');
select is((select count(*) from public.audit_log where action = 'runtime_settings.rollback' and target_id = tests.v(4)::text),
  1::bigint, 'the rollback is audited');
select tests.become('admin@test.local');
select is((public.admin_rollback_runtime_settings(tests.v(1))).settings, '{"feature.coloring_page.credits": 1}'::jsonb,
  'a rollback to any earlier version, not just the last');
select tests.become('postgres');
select is((select credits from public.features where id = 'coloring_page'), 1, 'its price is back in force');

-- Image prices (the images domain's public.image_prices, read by saasbase.image_price) and the image providers'
-- order are settings too.
select tests.put('image_key', (select key from saasbase.runtime_setting_keys where kind = 'image_price' order by key limit 1));
select tests.put('image_model', (select ref ->> 'model' from saasbase.runtime_setting_keys where key = tests.got('image_key')));
select tests.put('image_size', (select ref ->> 'size' from saasbase.runtime_setting_keys where key = tests.got('image_key')));
select isnt(tests.got('image_key'), null, 'each image price of the config is a setting');
select tests.become('admin@test.local');
select public.admin_set_runtime_settings(jsonb_build_object(tests.got('image_key'), 1), 'Cheaper pages');
select tests.become('postgres');
select is(saasbase.image_price(tests.got('image_model'), tests.got('image_size')), 1, 'an image price override is what an image costs');
select is(tests.refused(format($$select public.admin_set_runtime_settings('{"images.fallback_order": ["nobody"]}', 'bad order')$$)),
  'PT422 invalid_setting', 'the image providers'' order takes only the config''s providers');
select tests.become('admin@test.local');
select public.admin_set_runtime_settings(jsonb_build_object(tests.got('image_key'), null), 'Pages back to the config');
select tests.become('postgres');
select is(saasbase.image_price(tests.got('image_model'), tests.got('image_size')),
  (select (default_value)::integer from saasbase.runtime_setting_keys where key = tests.got('image_key')),
  'and back to the config''s price when taken out');

-- The config sync: the config's values become the defaults, the overrides stay in force.
create function tests.sync(page_credits integer) returns void language plpgsql as $$
declare
  v_catalog jsonb := jsonb_build_object(
    'features', (select jsonb_agg(jsonb_build_object('id', f.id, 'name', f.name, 'unit', f.unit,
        'credits', case f.id when 'coloring_page' then page_credits else coalesce(
          (select (k.default_value)::integer from saasbase.runtime_setting_keys k where k.key = 'feature.' || f.id || '.credits'),
          f.credits) end))
      from public.features f where f.active),
    'plans', (select jsonb_agg(to_jsonb(p)) from public.plans p where p.active),
    'plan_quotas', (select jsonb_agg(to_jsonb(q) || jsonb_build_object('free_limit', coalesce(
        (select (k.default_value)::integer from saasbase.runtime_setting_keys k
          where k.key = 'quota.' || q.plan_id || '.' || q.feature_id || '.free_limit'), q.free_limit)))
      from public.plan_quotas q join public.plans p on p.id = q.plan_id and p.active),
    'credit_packs', (select coalesce(jsonb_agg(to_jsonb(c)), '[]') from public.credit_packs c where c.active),
    'chat_personas', (select jsonb_agg(to_jsonb(c)) from public.chat_personas c where c.active),
    'chat_models', (select jsonb_agg(to_jsonb(c)) from public.chat_models c where c.active),
    'runtime_settings', jsonb_build_object('defaults', jsonb_build_object('announcement.message', 'From the config'),
      'ai_providers', '["openai", "gemini"]'::jsonb));
begin
  perform tests.become('service_role');
  perform public.service_role_sync_config(v_catalog);
  perform public.service_role_sync_runtime_settings(v_catalog);
  perform tests.become('postgres');
end $$;
select tests.sync(7);
select is((select credits from public.features where id = 'coloring_page'), 1, 'a config sync keeps the override in force');
select is((select default_value from saasbase.runtime_setting_keys where key = 'feature.coloring_page.credits'), '7'::jsonb,
  'and records the config''s new value as the default');
select is((select announcement from public.get_runtime_status()), 'From the config', 'a scalar default comes from the config');
select tests.become('admin@test.local');
select is((public.admin_set_runtime_settings('{"feature.coloring_page.credits": null}', 'Back to the config')).settings,
  '{}'::jsonb, 'the override taken out');
select tests.become('postgres');
select is((select credits from public.features where id = 'coloring_page'), 7, 'the config''s new value is in force');
select is(tests.page_cost('page-4'), 7::bigint, 'and charged');
-- The same value in the config as the override in force: the default still follows the config.
select tests.become('admin@test.local');
select public.admin_set_runtime_settings('{"feature.coloring_page.credits": 2}', 'Two for now');
select tests.become('postgres');
select tests.sync(2);
select tests.become('admin@test.local');
select public.admin_set_runtime_settings('{"feature.coloring_page.credits": null}', 'Back to the config');
select tests.become('postgres');
select is((select credits from public.features where id = 'coloring_page'), 2, 'a default equal to the override is recorded too');

-- A feature that leaves the config takes its setting with it; its override stays in the history only.
select tests.become('admin@test.local');
select public.admin_set_runtime_settings('{"feature.quiz.credits": 9}', 'Quiz price');
select tests.become('postgres');
update public.features set active = false where id = 'quiz';
select tests.sync(2);
select is((select count(*) from saasbase.runtime_setting_keys where key = 'feature.quiz.credits'), 0::bigint,
  'a feature gone from the config has no setting');
select is(tests.refused($$select public.admin_set_runtime_settings('{"feature.quiz.credits": 1}', 'gone')$$),
  'PT404 unknown_setting', 'and cannot be set');

select * from finish();
rollback;
