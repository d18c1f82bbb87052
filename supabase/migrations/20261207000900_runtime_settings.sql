-- Runtime settings: the config values an admin may change without a deploy (a feature's credit cost, a plan's
-- free allowance, chat's prices, the AI fallback order, maintenance mode and the announcement), each change a
-- new numbered version (who, when, why, the whole override set and the diff), any earlier version one call
-- away (a rollback is a new version with that one's set).
--
-- Effective value = the config's value (the default, written by the config sync), overridden by the current
-- version. The money SQL is not re-defined: overrides of catalog values are written through to the catalog
-- tables it already reads (public.features.credits, public.plan_quotas.free_limit,
-- public.chat_personas.credits_per_message, public.chat_models.credits_per_1k_tokens), in the transaction
-- of the change, so the next charge pays the new price; the config sync writes the config's values there and
-- then runs public.service_role_sync_runtime_settings (last of src/local/database.ts's DOMAIN_SYNCS, in the
-- same transaction), which records them as the defaults and writes the overrides back over them: a sync never
-- wipes an override. Values that live nowhere else (maintenance, announcement, fallback order) are read with
-- saasbase.runtime_value(key) in SQL, public.get_runtime_status() by clients and _shared/runtime-settings.ts
-- (a bounded cache) in the functions.
--
-- public.admin_settings (the analytics migration) stays what it was: free-form admin key / JSON values for a
-- product's own use; these are the settings the backend itself reads.

-- The settings that exist, each with its config default and what it may hold. Written by the config sync
-- (catalog-derived keys follow the catalog: a feature removed from the config takes its key with it). Keys are
-- looked up here, never parsed, so a model id may hold dots.
create table saasbase.runtime_setting_keys (
  key text primary key check (char_length(key) between 1 and 300),
  -- Where the effective value goes: a catalog column (write-through), or nowhere ('value': read where needed).
  kind text not null check (kind in ('feature_credits', 'quota_limit', 'persona_credits', 'model_rate', 'image_price',
    'value')),
  -- The catalog row a write-through kind targets: {feature}, {plan, feature}, {persona}, {model} or {model, size}.
  ref jsonb not null default '{}' check (jsonb_typeof(ref) = 'object'),
  value_type text not null check (value_type in ('integer', 'number', 'boolean', 'text', 'enum', 'list')),
  -- integer and number: the bounds; text: the longest, in characters.
  min numeric,
  max numeric,
  -- enum: the choices; list: the items it may hold (each at most once, at least one).
  allowed jsonb check (allowed is null or jsonb_typeof(allowed) = 'array'),
  default_value jsonb not null,
  description text not null default '',
  updated_at timestamptz not null default now()
);
comment on table saasbase.runtime_setting_keys is
  'The runtime settings that exist: config default, type and bounds (written by the config sync).';
-- Read by the service role's snapshot (public.service_role_runtime_settings); written by the config sync only.
grant select on saasbase.runtime_setting_keys to service_role;

-- Every version of the override set, append-only. Version 0 is the config alone.
create table public.runtime_settings_versions (
  version bigint primary key check (version >= 0),
  -- The whole override set after this version: { key: value }; a key not in it has its config default.
  settings jsonb not null check (jsonb_typeof(settings) = 'object'),
  -- What this version changed: { key: { "old": value | null, "new": value | null } } (null: the default).
  changes jsonb not null default '{}' check (jsonb_typeof(changes) = 'object'),
  note text not null check (char_length(note) between 1 and 1000),
  -- A rollback's target: the version whose set this one restored.
  rolled_back_to bigint references public.runtime_settings_versions (version),
  -- The admin who made it (null: the service role, or the migration's version 0).
  created_by uuid references auth.users (id) on delete set null,
  created_at timestamptz not null default now()
);
comment on table public.runtime_settings_versions is
  'Versions of the runtime settings (overrides of the config), append-only; the highest is in force.';
create index runtime_settings_versions_created_by on public.runtime_settings_versions (created_by);
create index runtime_settings_versions_rolled_back_to on public.runtime_settings_versions (rolled_back_to);
insert into public.runtime_settings_versions (version, settings, note) values (0, '{}', 'The config''s values');

alter table public.runtime_settings_versions enable row level security;
create policy "Runtime settings versions are readable by admins" on public.runtime_settings_versions
  for select to authenticated using ((select saasbase.is_admin()));
create policy "Runtime settings versions are readable by the service role" on public.runtime_settings_versions
  for select to service_role using (true);
-- Written only through the API below (validated, serialized, audited): no client role writes it, nor does the
-- service role directly (it has the API too).
grant select on public.runtime_settings_versions to authenticated, service_role;

-- ---------------------------------------------------------------------------------------------------------
-- Reading the effective values

-- The override set in force: the highest version's.
create function saasbase.runtime_overrides() returns jsonb
language sql stable
set search_path = ''
as $$
  select v.settings from public.runtime_settings_versions v order by v.version desc limit 1
$$;

-- A setting's effective value (its override, else its config default); null for a key that does not exist.
-- What other domains' SQL reads, e.g. `(saasbase.runtime_value('maintenance.enabled'))::boolean`.
create function saasbase.runtime_value(p_key text) returns jsonb
language sql stable
set search_path = ''
as $$
  select coalesce(saasbase.runtime_overrides() -> k.key, k.default_value)
  from saasbase.runtime_setting_keys k where k.key = p_key
$$;
grant execute on function saasbase.runtime_value(text) to service_role;

-- Why a value does not fit a setting, or null when it does.
create function saasbase.runtime_value_error(p_setting saasbase.runtime_setting_keys, p_value jsonb) returns text
language plpgsql immutable
set search_path = ''
as $$
declare
  v_number numeric;
begin
  case p_setting.value_type
  when 'integer', 'number' then
    if jsonb_typeof(p_value) is distinct from 'number' then
      return 'must be a number';
    end if;
    v_number := p_value::text::numeric;
    if p_setting.value_type = 'integer' and v_number <> trunc(v_number) then
      return 'must be a whole number';
    end if;
    if v_number < p_setting.min or v_number > p_setting.max then
      return format('must be from %s to %s', p_setting.min, p_setting.max);
    end if;
  when 'boolean' then
    if jsonb_typeof(p_value) is distinct from 'boolean' then
      return 'must be true or false';
    end if;
  when 'text' then
    if jsonb_typeof(p_value) is distinct from 'string' then
      return 'must be a string';
    end if;
    if char_length(p_value #>> '{}') > p_setting.max then
      return format('must be at most %s characters', p_setting.max);
    end if;
  when 'enum' then
    if jsonb_typeof(p_value) is distinct from 'string' or not p_setting.allowed @> jsonb_build_array(p_value) then
      return format('must be one of %s', p_setting.allowed);
    end if;
  when 'list' then
    if jsonb_typeof(p_value) is distinct from 'array' or jsonb_array_length(p_value) = 0 then
      return format('must be a non-empty list of %s', p_setting.allowed);
    end if;
    if exists (select from jsonb_array_elements(p_value) e where not p_setting.allowed @> jsonb_build_array(e)) then
      return format('may only hold %s', p_setting.allowed);
    end if;
    if (select count(distinct e) from jsonb_array_elements(p_value) e) <> jsonb_array_length(p_value) then
      return 'must name each item once';
    end if;
  end case;
  return null;
end;
$$;

-- Writes the effective values of the catalog settings into the catalog tables, where the money SQL reads them
-- (only rows whose value differs: a sync or a change touches what it changes).
create function saasbase.apply_runtime_settings() returns void
language plpgsql
set search_path = ''
as $$
declare
  v_overrides jsonb := saasbase.runtime_overrides();
begin
  update public.features f set credits = x.value, updated_at = now()
  from (select k.ref ->> 'feature' as feature, coalesce(v_overrides -> k.key, k.default_value)::integer as value
        from saasbase.runtime_setting_keys k where k.kind = 'feature_credits') x
  where f.id = x.feature and f.credits is distinct from x.value;

  update public.plan_quotas q set free_limit = x.value
  from (select k.ref ->> 'plan' as plan, k.ref ->> 'feature' as feature,
          coalesce(v_overrides -> k.key, k.default_value)::integer as value
        from saasbase.runtime_setting_keys k where k.kind = 'quota_limit') x
  where q.plan_id = x.plan and q.feature_id = x.feature and not q.unlimited and q.free_limit is distinct from x.value;

  update public.chat_personas p set credits_per_message = x.value, updated_at = now()
  from (select k.ref ->> 'persona' as persona, coalesce(v_overrides -> k.key, k.default_value)::integer as value
        from saasbase.runtime_setting_keys k where k.kind = 'persona_credits') x
  where p.id = x.persona and p.credits_per_message is distinct from x.value;

  update public.chat_models m set credits_per_1k_tokens = x.value, updated_at = now()
  from (select k.ref ->> 'model' as model, coalesce(v_overrides -> k.key, k.default_value)::numeric as value
        from saasbase.runtime_setting_keys k where k.kind = 'model_rate') x
  where m.id = x.model and m.credits_per_1k_tokens is distinct from x.value;

  update public.image_prices p set credits = x.value, updated_at = now()
  from (select k.ref ->> 'model' as model, k.ref ->> 'size' as size,
          coalesce(v_overrides -> k.key, k.default_value)::integer as value
        from saasbase.runtime_setting_keys k where k.kind = 'image_price') x
  where p.model = x.model and p.size = x.size and p.credits is distinct from x.value;
end;
$$;

-- Records the settings that exist and their defaults from a catalog payload (src/config/catalog.ts's rows:
-- features, plan_quotas, chat_personas, chat_models, image_prices, and runtime_settings: { defaults,
-- ai_providers, image_providers }). Keys of
-- catalog rows the payload no longer holds go; the scalar settings stay when it has no runtime_settings.
create function saasbase.register_runtime_settings(p_catalog jsonb) returns void
language plpgsql
set search_path = ''
as $$
declare
  v_runtime jsonb := p_catalog -> 'runtime_settings';
  v_defaults jsonb := coalesce(p_catalog #> '{runtime_settings,defaults}', '{}');
  v_providers jsonb := p_catalog #> '{runtime_settings,ai_providers}';
  v_image_providers jsonb := p_catalog #> '{runtime_settings,image_providers}';
  v_rows saasbase.runtime_setting_keys[];
begin
  select coalesce(array_agg(x.k), '{}') into v_rows from (
    select row('feature.' || f.id || '.credits', 'feature_credits', jsonb_build_object('feature', f.id), 'integer',
      0, 2147483647, null, to_jsonb(f.credits),
      format('Credits one %s of %s costs past the free allowance', coalesce(f.unit, 'use'), f.name), now()
    )::saasbase.runtime_setting_keys as k
    from jsonb_populate_recordset(null::public.features, coalesce(p_catalog -> 'features', '[]')) f
    union all
    select row('quota.' || q.plan_id || '.' || q.feature_id || '.free_limit', 'quota_limit',
      jsonb_build_object('plan', q.plan_id, 'feature', q.feature_id), 'integer', 0, 2147483647, null,
      to_jsonb(q.free_limit), format('Free uses of %s a %s on the plan %s', q.feature_id, q.period, q.plan_id), now()
    )::saasbase.runtime_setting_keys
    from jsonb_populate_recordset(null::public.plan_quotas, coalesce(p_catalog -> 'plan_quotas', '[]')) q
    where not coalesce(q.unlimited, false) and q.free_limit is not null
    union all
    select row('persona.' || p.id || '.credits_per_message', 'persona_credits', jsonb_build_object('persona', p.id),
      'integer', 0, 2147483647, null, to_jsonb(p.credits_per_message),
      format('Credits an answered message of %s costs', p.name), now()
    )::saasbase.runtime_setting_keys
    from jsonb_populate_recordset(null::public.chat_personas, coalesce(p_catalog -> 'chat_personas', '[]')) p
    union all
    select row('model.' || m.id || '.credits_per_1k_tokens', 'model_rate', jsonb_build_object('model', m.id), 'number',
      0, 1000000, null, to_jsonb(m.credits_per_1k_tokens), format('Credits per started 1,000 tokens of %s', m.id), now()
    )::saasbase.runtime_setting_keys
    from jsonb_populate_recordset(null::public.chat_models, coalesce(p_catalog -> 'chat_models', '[]')) m
    union all
    select row('image.' || i.model || '.' || i.size || '.credits', 'image_price',
      jsonb_build_object('model', i.model, 'size', i.size), 'integer', 0, 2147483647, null, to_jsonb(i.credits),
      format('Credits an image of %s at %s costs', i.model, i.size), now()
    )::saasbase.runtime_setting_keys
    from jsonb_populate_recordset(null::public.image_prices, coalesce(p_catalog -> 'image_prices', '[]')) i
    union all
    select row(s.key, 'value', '{}'::jsonb, s.value_type, null, s.max, s.allowed, s.default_value, s.description, now()
    )::saasbase.runtime_setting_keys
    from (values
      ('maintenance.enabled', 'boolean', null::numeric, null::jsonb, coalesce(v_defaults -> 'maintenance.enabled', 'false'),
        'Maintenance mode: the product''s functions answer 503 maintenance (webhooks and health excepted)'),
      ('maintenance.message', 'text', 500, null, coalesce(v_defaults -> 'maintenance.message', '""'),
        'What the 503 and get_runtime_status say during maintenance'),
      ('announcement.message', 'text', 1000, null, coalesce(v_defaults -> 'announcement.message', '""'),
        'A message for every client (empty: none)'),
      ('announcement.level', 'enum', null, '["info", "warning", "critical"]', coalesce(v_defaults -> 'announcement.level', '"info"'),
        'How the announcement is shown'),
      ('ai.fallback_order', 'list', null, v_providers, coalesce(v_defaults -> 'ai.fallback_order', v_providers),
        'AI providers tried, in order, after the one serving the model asked for (the config''s ai.fallbackOrder)'),
      ('images.fallback_order', 'list', null, v_image_providers,
        coalesce(v_defaults -> 'images.fallback_order', v_image_providers),
        'Image providers tried, in order (the config''s images.fallbackOrder)')
    ) s(key, value_type, max, allowed, default_value, description)
    where v_runtime is not null
      and (s.key <> 'ai.fallback_order' or coalesce(jsonb_array_length(v_providers), 0) > 0)
      and (s.key <> 'images.fallback_order' or coalesce(jsonb_array_length(v_image_providers), 0) > 0)
  ) x;

  delete from saasbase.runtime_setting_keys k
  where not exists (select from unnest(v_rows) r where r.key = k.key)
    and (k.kind <> 'value' or v_runtime is not null);
  insert into saasbase.runtime_setting_keys as k (key, kind, ref, value_type, min, max, allowed, default_value,
    description, updated_at)
  select r.key, r.kind, r.ref, r.value_type, r.min, r.max, r.allowed, r.default_value, r.description, now()
  from unnest(v_rows) r
  on conflict (key) do update
    set kind = excluded.kind, ref = excluded.ref, value_type = excluded.value_type, min = excluded.min,
      max = excluded.max, allowed = excluded.allowed, default_value = excluded.default_value,
      description = excluded.description, updated_at = now()
    where (k.kind, k.ref, k.value_type, k.min, k.max, k.allowed, k.default_value, k.description)
      is distinct from (excluded.kind, excluded.ref, excluded.value_type, excluded.min, excluded.max,
        excluded.allowed, excluded.default_value, excluded.description);
end;
$$;

-- The config sync's part (src/local/database.ts's DOMAIN_SYNCS, LAST, after service_role_sync_config and every
-- other domain's sync, in their transaction): the config's values become the defaults, then the overrides in
-- force are written back over the values the sync just wrote.
create function public.service_role_sync_runtime_settings(catalog jsonb) returns void
language plpgsql
security definer
set search_path = ''
as $$
begin
  perform saasbase.register_runtime_settings(catalog);
  perform saasbase.apply_runtime_settings();
end;
$$;
revoke execute on function public.service_role_sync_runtime_settings(jsonb) from public, anon, authenticated;
grant execute on function public.service_role_sync_runtime_settings(jsonb) to service_role;

-- A database synced before this migration: its catalog holds the config's values (no override exists yet), so
-- they are the defaults until the next sync, which adds the scalar settings.
select saasbase.register_runtime_settings(jsonb_build_object(
  'features', (select coalesce(jsonb_agg(to_jsonb(f)), '[]') from public.features f where f.active),
  'plan_quotas', (select coalesce(jsonb_agg(to_jsonb(q)), '[]') from public.plan_quotas q
    join public.plans p on p.id = q.plan_id where p.active),
  'chat_personas', (select coalesce(jsonb_agg(to_jsonb(p)), '[]') from public.chat_personas p where p.active),
  'chat_models', (select coalesce(jsonb_agg(to_jsonb(m)), '[]') from public.chat_models m where m.active),
  'image_prices', (select coalesce(jsonb_agg(to_jsonb(i)), '[]') from public.image_prices i)
));

-- ---------------------------------------------------------------------------------------------------------
-- The API

-- Who may change settings: a signed-in admin (their id), or the service role (null: a deploy script turning
-- maintenance on). PT403 for anyone else.
create function saasbase.require_settings_admin() returns uuid
language plpgsql stable
set search_path = ''
as $$
begin
  if auth.role() = 'service_role' then
    return null;
  end if;
  return saasbase.require_admin();
end;
$$;

-- A note saying why, as every admin write has a reason.
create function saasbase.check_settings_note(p_note text) returns text
language plpgsql immutable
set search_path = ''
as $$
begin
  if p_note is null or char_length(trim(p_note)) < 3 or char_length(p_note) > 1000 then
    perform saasbase.fail('PT422', 'invalid_note', 'A note of 3 to 1,000 characters saying why is required');
  end if;
  return trim(p_note);
end;
$$;

-- Records a new version with `p_settings` as the override set (after every check passed), applies it and
-- audits it. The caller holds the settings lock. No new version when nothing changes: a change sent twice
-- (a double click) records one.
create function saasbase.record_runtime_version(
  p_head public.runtime_settings_versions, p_settings jsonb, p_note text, p_actor uuid, p_rolled_back_to bigint,
  p_action text
) returns public.runtime_settings_versions
language plpgsql
set search_path = ''
as $$
declare
  v_changes jsonb;
  v_row public.runtime_settings_versions;
begin
  select coalesce(jsonb_object_agg(k, jsonb_build_object('old', p_head.settings -> k, 'new', p_settings -> k)), '{}')
  into v_changes
  from (select jsonb_object_keys(p_head.settings) union select jsonb_object_keys(p_settings)) keys(k)
  where (p_head.settings -> k) is distinct from (p_settings -> k);
  if v_changes = '{}' then
    return p_head;
  end if;
  insert into public.runtime_settings_versions (version, settings, changes, note, rolled_back_to, created_by, created_at)
  values (p_head.version + 1, p_settings, v_changes, p_note, p_rolled_back_to, p_actor, saasbase.now())
  returning * into v_row;
  perform saasbase.apply_runtime_settings();
  perform saasbase.audit(p_actor, p_action, 'runtime_settings', v_row.version::text,
    jsonb_build_object('changes', v_changes, 'note', p_note, 'rolled_back_to', p_rolled_back_to));
  return v_row;
end;
$$;

-- The settings lock: changes and rollbacks one at a time, each on the version the one before made, so
-- concurrent admins get distinct consecutive versions and none undoes another's change unseen.
create function saasbase.lock_runtime_settings() returns public.runtime_settings_versions
language plpgsql
set search_path = ''
as $$
declare
  v_head public.runtime_settings_versions;
begin
  perform pg_advisory_xact_lock(hashtextextended('saasbase.runtime_settings', 0));
  select * into v_head from public.runtime_settings_versions v order by v.version desc limit 1;
  return v_head;
end;
$$;

-- What admin screens list: every setting with its default, override and effective value.
create type public.runtime_setting as (
  key text,
  kind text,
  value_type text,
  min numeric,
  max numeric,
  allowed jsonb,
  default_value jsonb,
  -- null: none (the default is in force)
  override_value jsonb,
  value jsonb,
  description text
);

create function public.admin_runtime_settings() returns setof public.runtime_setting
language plpgsql
stable
security definer
set search_path = ''
as $$
declare
  v_overrides jsonb;
begin
  perform saasbase.require_settings_admin();
  v_overrides := saasbase.runtime_overrides();
  return query
  select k.key, k.kind, k.value_type, k.min, k.max, k.allowed, k.default_value, v_overrides -> k.key,
    coalesce(v_overrides -> k.key, k.default_value), k.description
  from saasbase.runtime_setting_keys k
  order by k.key;
end;
$$;
revoke execute on function public.admin_runtime_settings() from public, anon;
grant execute on function public.admin_runtime_settings() to authenticated, service_role;

-- Changes settings: `changes` is { key: value } (null: back to the config's default), all or nothing; `note`
-- says why; `expected_version` (optional) refuses with 409 when another change came first (an admin screen
-- sends the version it showed). Answers the version now in force. 404 unknown_setting, 422 invalid_setting
-- naming the key and what it must be, 422 invalid_note.
create function public.admin_set_runtime_settings(changes jsonb, note text, expected_version bigint default null)
returns public.runtime_settings_versions
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_actor uuid := saasbase.require_settings_admin();
  v_note text := saasbase.check_settings_note(note);
  v_head public.runtime_settings_versions;
  v_settings jsonb;
  v_setting saasbase.runtime_setting_keys;
  v_change record;
  v_error text;
begin
  if jsonb_typeof(changes) is distinct from 'object' or changes = '{}' then
    perform saasbase.fail('PT422', 'invalid_setting', 'changes must be an object of { key: value }, not empty');
  end if;
  if (select count(*) from jsonb_object_keys(changes)) > 500 then
    perform saasbase.fail('PT422', 'invalid_setting', 'At most 500 settings in one change');
  end if;
  v_head := saasbase.lock_runtime_settings();
  if expected_version is not null and expected_version <> v_head.version then
    perform saasbase.fail('PT409', 'settings_version_conflict', format(
      'The settings are at version %s, not %s: another change came first; reload and try again',
      v_head.version, expected_version));
  end if;
  v_settings := v_head.settings;
  for v_change in select c.key, c.value from jsonb_each(changes) c order by c.key loop
    select * into v_setting from saasbase.runtime_setting_keys k where k.key = v_change.key;
    if not found then
      perform saasbase.fail('PT404', 'unknown_setting', format(
        'No runtime setting %L (admin_runtime_settings lists them)', left(v_change.key, 300)));
    end if;
    if v_change.value = 'null'::jsonb then
      v_settings := v_settings - v_change.key;
    else
      v_error := saasbase.runtime_value_error(v_setting, v_change.value);
      if v_error is not null then
        perform saasbase.fail('PT422', 'invalid_setting', format('%s %s', v_change.key, v_error));
      end if;
      v_settings := v_settings || jsonb_build_object(v_change.key, v_change.value);
    end if;
  end loop;
  return saasbase.record_runtime_version(v_head, v_settings, v_note, v_actor, null, 'runtime_settings.change');
end;
$$;
revoke execute on function public.admin_set_runtime_settings(jsonb, text, bigint) from public, anon;
grant execute on function public.admin_set_runtime_settings(jsonb, text, bigint) to authenticated, service_role;

-- Puts an earlier version's override set back in force, as a new version (the history keeps both). Settings
-- that no longer exist (their feature left the config) are left out; a value the config no longer allows (a
-- provider removed from the fallback order's choices) is refused with 422, nothing changed. 404
-- settings_version_not_found.
create function public.admin_rollback_runtime_settings(version bigint, note text default null)
returns public.runtime_settings_versions
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_actor uuid := saasbase.require_settings_admin();
  v_note text := saasbase.check_settings_note(coalesce(note, format('Rollback to version %s', version)));
  v_head public.runtime_settings_versions;
  v_target public.runtime_settings_versions;
  v_settings jsonb := '{}'::jsonb;
  v_setting saasbase.runtime_setting_keys;
  v_error text;
  v_entry record;
begin
  v_head := saasbase.lock_runtime_settings();
  select * into v_target from public.runtime_settings_versions v where v.version = admin_rollback_runtime_settings.version;
  if not found then
    perform saasbase.fail('PT404', 'settings_version_not_found', format('No runtime settings version %s', version));
  end if;
  for v_entry in select e.key, e.value from jsonb_each(v_target.settings) e order by e.key loop
    select * into v_setting from saasbase.runtime_setting_keys k where k.key = v_entry.key;
    continue when not found;
    v_error := saasbase.runtime_value_error(v_setting, v_entry.value);
    if v_error is not null then
      perform saasbase.fail('PT422', 'invalid_setting', format('Version %s cannot be restored: %s %s', version,
        v_entry.key, v_error));
    end if;
    v_settings := v_settings || jsonb_build_object(v_entry.key, v_entry.value);
  end loop;
  return saasbase.record_runtime_version(v_head, v_settings, v_note, v_actor, v_target.version,
    'runtime_settings.rollback');
end;
$$;
revoke execute on function public.admin_rollback_runtime_settings(bigint, text) from public, anon;
grant execute on function public.admin_rollback_runtime_settings(bigint, text) to authenticated, service_role;

-- What every client may know: maintenance and the announcement (a banner), with the version in force.
create type public.runtime_status as (
  maintenance boolean,
  -- null unless in maintenance
  maintenance_message text,
  -- null: no announcement
  announcement text,
  announcement_level text,
  version bigint,
  changed_at timestamptz
);

create function public.get_runtime_status() returns public.runtime_status
language sql
stable
security definer
set search_path = ''
as $$
  select coalesce((saasbase.runtime_value('maintenance.enabled'))::boolean, false),
    case when coalesce((saasbase.runtime_value('maintenance.enabled'))::boolean, false)
      then nullif(saasbase.runtime_value('maintenance.message') #>> '{}', '') end,
    nullif(saasbase.runtime_value('announcement.message') #>> '{}', ''),
    coalesce(saasbase.runtime_value('announcement.level') #>> '{}', 'info'),
    v.version, v.created_at
  from (select * from public.runtime_settings_versions order by version desc limit 1) v
$$;
revoke execute on function public.get_runtime_status() from public;
grant execute on function public.get_runtime_status() to anon, authenticated, service_role;

-- The functions' read (_shared/runtime-settings.ts caches it): every setting's effective value, one round trip.
create type public.runtime_settings_snapshot as (version bigint, "values" jsonb);

create function public.service_role_runtime_settings() returns public.runtime_settings_snapshot
language sql
stable
set search_path = ''
as $$
  select v.version, coalesce((select jsonb_object_agg(k.key, coalesce(v.settings -> k.key, k.default_value))
    from saasbase.runtime_setting_keys k), '{}')
  from (select * from public.runtime_settings_versions order by version desc limit 1) v
$$;
revoke execute on function public.service_role_runtime_settings() from public, anon, authenticated;
grant execute on function public.service_role_runtime_settings() to service_role;
