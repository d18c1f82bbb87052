-- Releases and downloads: the versions of a product (a desktop app, an extension) an operator publishes, the
-- files of each per platform in the private Storage bucket `releases`, the update check a running app makes,
-- and every download, for download analytics.
--
-- Who does what:
--   - the operator's admins publish through the `releases` function (it uploads the files, computing each one's
--     sha256 and size), then publish, yank (roll back) or restore a release: the service_role_* API below;
--   - a running app asks for the newest release it may have (service_role_latest_release: the update check);
--   - a customer downloads a release (service_role_authorize_download): a free product's by anyone, a licensed
--     product's with a valid license only; each download is recorded here and answered with a short-lived
--     signed Storage URL by the function.
-- Published releases and their files' metadata are public (a changelog page reads them, as a pricing page reads
-- plans); drafts are the admins'. Downloads belong to the account that downloaded (a license's account, or the
-- signed-in member's acting account), readable by its members; nobody but the service role writes any of it.
--
-- Versions are semver 2.0.0. Their order is semver's precedence, pre-releases included (1.0.0-alpha <
-- 1.0.0-alpha.1 < 1.0.0-beta.2 < 1.0.0-beta.11 < 1.0.0-rc.1 < 1.0.0), through saasbase.semver_key: a text
-- whose byte order ("C" collation) is that precedence, so "newest" is an index scan.

-- ---------------------------------------------------------------------------------------------------------
-- Versions

-- The key whose byte order is semver precedence, or null when `version` is no semver 2.0.0 version (at most
-- 64 characters). Each number is written with its length first (2 digits, then the digits: semver forbids
-- leading zeros, so a longer number is a bigger one); a release sorts after every pre-release of its version
-- ('~' > '!'); pre-release identifiers follow one another, each ended by a space, which sorts below every
-- character an identifier may hold (so a shorter list that is a prefix of a longer one sorts first), numeric
-- ones ('0' + the number) below alphanumeric ones ('1' + the text, compared in ASCII). Build metadata (+...)
-- has no precedence and is left out.
create function saasbase.semver_key(version text) returns text
language plpgsql immutable strict parallel safe
set search_path = ''
as $$
declare
  m text[];
  v_key text;
  v_id text;
begin
  if char_length(version) > 64 then
    return null;
  end if;
  m := regexp_match(version, '^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)'
    || '(?:-((?:0|[1-9][0-9]*|[0-9]*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9][0-9]*|[0-9]*[a-zA-Z-][0-9a-zA-Z-]*))*))?'
    || '(?:\+[0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*)?$');
  if m is null then
    return null;
  end if;
  v_key := lpad(char_length(m[1])::text, 2, '0') || m[1] || '.' || lpad(char_length(m[2])::text, 2, '0') || m[2]
    || '.' || lpad(char_length(m[3])::text, 2, '0') || m[3];
  if m[4] is null then
    return v_key || '~';
  end if;
  v_key := v_key || '!';
  foreach v_id in array string_to_array(m[4], '.') loop
    v_key := v_key || case when v_id ~ '^[0-9]+$' then '0' || lpad(char_length(v_id)::text, 2, '0') || v_id
      else '1' || v_id end || ' ';
  end loop;
  return v_key;
end;
$$;
grant execute on function saasbase.semver_key(text) to anon, authenticated, service_role;

-- ---------------------------------------------------------------------------------------------------------
-- Tables

-- The products releases are published for, from the product config (service_role_sync_releases): the licensed
-- products of its `licensing` section (a download needs a valid license) and the free ones of `releases`.
-- Readable by anyone, like the plans.
create table public.release_products (
  id text primary key check (id ~ '^[a-z0-9][a-z0-9_-]{0,62}$'),
  name text not null check (char_length(name) between 1 and 200),
  -- true: downloads need a valid license of this product (service_role_validate_license); false: free.
  license_required boolean not null,
  -- A product gone from the config is deactivated, not deleted (its releases and downloads stay): nothing new is
  -- published for it, and nothing of it is offered or downloaded.
  active boolean not null default true,
  updated_at timestamptz not null default now()
);
comment on table public.release_products is 'Products with releases, synced from the product config.';

alter table public.release_products enable row level security;
create policy "Release products are readable by anyone" on public.release_products
  for select to anon, authenticated using (true);
grant select on public.release_products to anon, authenticated;
grant select, insert, update, delete on public.release_products to service_role;

create table public.releases (
  id uuid primary key default gen_random_uuid(),
  product_id text not null references public.release_products (id) on delete cascade,
  version text not null check (saasbase.semver_key(version) is not null),
  -- Semver precedence as bytes (saasbase.semver_key): order by it, compare with it, never with `version`.
  version_key text collate "C" not null generated always as (saasbase.semver_key(version)) stored,
  prerelease boolean not null generated always as (split_part(version, '+', 1) like '%-%') stored,
  -- stable: what every user is offered; beta: offered only to those on the beta channel (who get stable
  -- releases too). A pre-release version is never stable.
  channel text not null check (channel in ('stable', 'beta')),
  notes text not null default '' check (char_length(notes) <= 20000),
  -- The minimum license it takes (a licensed product's): one holding all of these entitlements (the config's
  -- licensing policies grant them: a "pro" build for the licenses granting "pro"); none, any valid license. The
  -- license's own policy applies too: a release above its max_major_version is not its (VERSION_NOT_ALLOWED).
  entitlements text[] not null default '{}' check (cardinality(entitlements) <= 20),
  created_by uuid references auth.users (id) on delete set null,
  created_at timestamptz not null default now(),
  -- null: a draft (its files are being uploaded; offered to nobody). Set once, by publishing.
  published_at timestamptz,
  -- A yanked release (a broken build rolled back) is offered and downloaded no more; the one before it is
  -- offered again. Restoring it clears all three.
  yanked_at timestamptz,
  yanked_by uuid references auth.users (id) on delete set null,
  yank_reason text check (char_length(yank_reason) <= 2000),
  constraint releases_stable_not_prerelease check (channel = 'beta' or not prerelease),
  constraint releases_yanked_published check (yanked_at is null or published_at is not null),
  -- One release per version (and 1.0.0+a and 1.0.0+b are the same version: build metadata has no precedence).
  constraint releases_product_version unique (product_id, version_key)
);
comment on table public.releases is
  'Versions of a product; published ones are public, drafts are the admins''. Written by the releases function.';
comment on column public.releases.yanked_at is 'Set when the release was yanked (rolled back): no longer offered.';
-- The update check: a product's published, not yanked releases, newest first.
create index releases_offered on public.releases (product_id, version_key desc)
  where published_at is not null and yanked_at is null;
create index releases_created_by on public.releases (created_by);
create index releases_yanked_by on public.releases (yanked_by);

alter table public.releases enable row level security;
create policy "Published releases are readable by anyone, drafts by admins" on public.releases
  for select to anon, authenticated
  using (published_at is not null or (select saasbase.is_admin()));
grant select on public.releases to anon, authenticated;
grant select, insert, update, delete on public.releases to service_role;

-- A release's file for one platform, in the private bucket `releases` at `storage_path`. Uploaded through the
-- releases function, which computes sha256 and size from the bytes it stores; a published release's files do
-- not change (an app verifies what it downloaded against them).
create table public.release_artifacts (
  id uuid primary key default gen_random_uuid(),
  release_id uuid not null references public.releases (id) on delete cascade,
  -- The platform an app names in its update check: windows-x64, macos-arm64, linux-x64, ...
  platform text not null check (platform ~ '^[a-z0-9][a-z0-9_-]{0,31}$'),
  filename text not null check (filename ~ '^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$'),
  storage_path text not null unique check (char_length(storage_path) <= 400),
  sha256 text not null check (sha256 ~ '^[0-9a-f]{64}$'),
  size bigint not null check (size > 0),
  content_type text not null default 'application/octet-stream' check (char_length(content_type) <= 200),
  created_by uuid references auth.users (id) on delete set null,
  created_at timestamptz not null default now(),
  constraint release_artifacts_platform unique (release_id, platform)
);
comment on table public.release_artifacts is
  'A release''s file per platform (private Storage bucket `releases`), with its sha256 and size.';
create index release_artifacts_created_by on public.release_artifacts (created_by);

alter table public.release_artifacts enable row level security;
create policy "Files of published releases are readable by anyone, of drafts by admins" on public.release_artifacts
  for select to anon, authenticated
  using (exists (select from public.releases r where r.id = release_id
    and (r.published_at is not null or (select saasbase.is_admin()))));
grant select on public.release_artifacts to anon, authenticated;
grant select, insert, update, delete on public.release_artifacts to service_role;

-- Every download handed out (a signed URL made for it): who, for which account and license, what, from where.
create table public.downloads (
  id bigint generated always as identity primary key,
  release_id uuid not null references public.releases (id) on delete cascade,
  artifact_id uuid not null references public.release_artifacts (id) on delete cascade,
  -- Copies of what was downloaded, so analytics need no joins and read as the download was.
  product_id text not null,
  version text not null,
  platform text not null,
  -- The account it counts for: the license's (a license key downloads), else the signed-in member's acting
  -- account; null for an anonymous download of a free product.
  account_id uuid references public.accounts (id) on delete cascade,
  -- The signed-in user who downloaded, if any (a desktop app with only its license key has none).
  user_id uuid references auth.users (id) on delete set null,
  -- The license that allowed it (licensed products), as service_role_validate_license named it.
  license_id uuid,
  -- ISO 3166-1 alpha-2 from the request's country header (cf-ipcountry on hosted Supabase's edge), when present.
  country text check (country ~ '^[A-Z]{2}$'),
  created_at timestamptz not null default now()
);
comment on table public.downloads is 'Downloads of release files, for download analytics; read by the account''s members.';
create index downloads_release on public.downloads (release_id, created_at);
create index downloads_product_day on public.downloads (product_id, created_at);
create index downloads_account on public.downloads (account_id, created_at desc);
create index downloads_artifact on public.downloads (artifact_id);
create index downloads_user on public.downloads (user_id);
create index downloads_license on public.downloads (license_id);

alter table public.downloads enable row level security;
create policy "Downloads are readable by the account's members and admins" on public.downloads
  for select to authenticated
  using (account_id in (select saasbase.my_accounts()) or (select saasbase.is_admin()));
grant select on public.downloads to authenticated;
grant select, insert, update, delete on public.downloads to service_role;

-- The bucket of release files: private, with no policy on storage.objects for it, so only the service role
-- (which bypasses RLS) reads or writes its objects; customers get short-lived signed URLs from the function.
-- Paths are `<product>/<version>/<platform>/<filename>`: the files are the operator's, no account's.
insert into storage.buckets (id, name, public)
values ('releases', 'releases', false)
on conflict (id) do nothing;

-- ---------------------------------------------------------------------------------------------------------
-- The config sync: the products (catalog key `release_products`, src/config/catalog.ts), run in the sync's
-- transaction after service_role_sync_config (DOMAIN_SYNCS, src/local/database.ts).
create function public.service_role_sync_releases(catalog jsonb) returns void
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_products jsonb := coalesce(catalog -> 'release_products', '[]');
begin
  insert into public.release_products (id, name, license_required, active, updated_at)
  select p.id, p.name, p.license_required, true, now()
  from jsonb_to_recordset(v_products) as p(id text, name text, license_required boolean)
  on conflict (id) do update set name = excluded.name, license_required = excluded.license_required,
    active = true, updated_at = now();
  update public.release_products r set active = false, updated_at = now()
  where r.active and not exists (select from jsonb_array_elements(v_products) e where e ->> 'id' = r.id);
end;
$$;
revoke execute on function public.service_role_sync_releases(jsonb) from public, anon, authenticated;
grant execute on function public.service_role_sync_releases(jsonb) to service_role;

-- ---------------------------------------------------------------------------------------------------------
-- Helpers

-- The release, locked for a change, or PT404.
create function saasbase.release_for_update(p_release uuid) returns public.releases
language plpgsql
set search_path = ''
as $$
declare
  v_row public.releases;
begin
  select * into v_row from public.releases r where r.id = p_release for update;
  if not found then
    perform saasbase.fail('PT404', 'release_not_found', 'No such release');
  end if;
  return v_row;
end;
$$;

-- ---------------------------------------------------------------------------------------------------------
-- The API: admins, through the releases function (as the service role, `actor` the admin; null when the service
-- role itself acts, e.g. a CI job with the service key). Every change is audited.

-- A draft release of `product`: files are added next (service_role_add_release_artifact), then it is
-- published. 409 release_exists when the version (its precedence: build metadata aside) already has one,
-- whoever made it first, however many publish it at once.
create function public.service_role_create_release(actor uuid, product text, version text, channel text,
  notes text default '', entitlements text[] default '{}')
returns public.releases
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_row public.releases;
begin
  if not exists (select from public.release_products p where p.id = product and p.active) then
    perform saasbase.fail('PT404', 'product_not_found', format('No product %s to publish releases for', product));
  end if;
  if version is null or saasbase.semver_key(version) is null then
    perform saasbase.fail('PT422', 'invalid_release', 'The version must be semver (1.2.3, 1.2.3-beta.1), 64 characters at most');
  end if;
  if channel = 'stable' and split_part(version, '+', 1) like '%-%' then
    perform saasbase.fail('PT422', 'invalid_release', 'A pre-release version (1.2.3-beta.1) goes on the beta channel');
  end if;
  if exists (select from unnest(coalesce(entitlements, '{}')) x where x is null or x !~ '^[a-z][a-z0-9_.:-]{0,62}$') then
    perform saasbase.fail('PT422', 'invalid_release', 'Entitlements are lower-case names (a-z 0-9 _ . : -), as licenses grant them');
  end if;
  insert into public.releases (product_id, version, channel, notes, entitlements, created_by, created_at)
  values (product, version, channel, coalesce(notes, ''), coalesce(entitlements, '{}'), actor, saasbase.now())
  returning * into v_row;
  perform saasbase.audit(actor, 'releases.create', 'release', v_row.id::text,
    jsonb_build_object('product', product, 'version', version, 'channel', channel));
  return v_row;
exception
  when unique_violation then
    perform saasbase.fail('PT409', 'release_exists', format('%s %s already has a release', product, version));
    return null; -- not reached: fail raises
  when check_violation then
    perform saasbase.fail('PT422', 'invalid_release', 'Invalid release: ' || sqlerrm);
    return null;
end;
$$;
revoke execute on function public.service_role_create_release(uuid, text, text, text, text, text[])
  from public, anon, authenticated;
grant execute on function public.service_role_create_release(uuid, text, text, text, text, text[]) to service_role;

-- A draft's file for `platform`, already stored at `storage_path` by the function, which computed its sha256
-- and size. 409 release_published for a published release (its files are what apps verified), 409
-- artifact_exists when the platform has a file already (the function then removes what it stored).
create function public.service_role_add_release_artifact(actor uuid, release_id uuid, platform text, filename text,
  storage_path text, sha256 text, size bigint, content_type text default 'application/octet-stream')
returns public.release_artifacts
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_release public.releases := saasbase.release_for_update(release_id);
  v_row public.release_artifacts;
begin
  if v_release.published_at is not null then
    perform saasbase.fail('PT409', 'release_published', 'A published release''s files do not change: publish a new version');
  end if;
  insert into public.release_artifacts (release_id, platform, filename, storage_path, sha256, size, content_type,
    created_by, created_at)
  values (release_id, platform, filename, storage_path, sha256, size,
    coalesce(content_type, 'application/octet-stream'), actor, saasbase.now())
  returning * into v_row;
  perform saasbase.audit(actor, 'releases.add_artifact', 'release', release_id::text,
    jsonb_build_object('platform', platform, 'sha256', sha256, 'size', size));
  return v_row;
exception
  when unique_violation then
    perform saasbase.fail('PT409', 'artifact_exists', format('This release has a file for %s already', platform));
    return null;
  when check_violation then
    perform saasbase.fail('PT422', 'invalid_release', 'Invalid file: ' || sqlerrm);
    return null;
end;
$$;
revoke execute on function public.service_role_add_release_artifact(uuid, uuid, text, text, text, text, bigint, text)
  from public, anon, authenticated;
grant execute on function public.service_role_add_release_artifact(uuid, uuid, text, text, text, text, bigint, text)
  to service_role;

-- Publishes a draft: offered from now on. Publishing a published release again changes nothing (a retried
-- request); 409 release_has_no_artifacts for one without a file.
create function public.service_role_publish_release(actor uuid, release_id uuid) returns public.releases
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_row public.releases := saasbase.release_for_update(release_id);
begin
  if v_row.published_at is not null then
    return v_row;
  end if;
  if not exists (select from public.release_artifacts a where a.release_id = v_row.id) then
    perform saasbase.fail('PT409', 'release_has_no_artifacts', 'Upload a file for at least one platform first');
  end if;
  update public.releases r set published_at = saasbase.now() where r.id = v_row.id returning * into v_row;
  perform saasbase.audit(actor, 'releases.publish', 'release', v_row.id::text,
    jsonb_build_object('product', v_row.product_id, 'version', v_row.version));
  return v_row;
end;
$$;
revoke execute on function public.service_role_publish_release(uuid, uuid) from public, anon, authenticated;
grant execute on function public.service_role_publish_release(uuid, uuid) to service_role;

-- Yanks a published release (rollback): no longer offered nor downloaded; the newest release below it is
-- offered again, to apps running the yanked one too. Yanking a yanked release changes nothing.
create function public.service_role_yank_release(actor uuid, release_id uuid, reason text default null)
returns public.releases
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_row public.releases := saasbase.release_for_update(release_id);
begin
  if v_row.published_at is null then
    perform saasbase.fail('PT409', 'release_not_published', 'Only a published release is yanked (delete a draft''s files instead)');
  end if;
  if v_row.yanked_at is not null then
    return v_row;
  end if;
  update public.releases r set yanked_at = saasbase.now(), yanked_by = actor, yank_reason = left(reason, 2000)
  where r.id = v_row.id returning * into v_row;
  perform saasbase.audit(actor, 'releases.yank', 'release', v_row.id::text,
    jsonb_build_object('product', v_row.product_id, 'version', v_row.version, 'reason', reason));
  return v_row;
end;
$$;
revoke execute on function public.service_role_yank_release(uuid, uuid, text) from public, anon, authenticated;
grant execute on function public.service_role_yank_release(uuid, uuid, text) to service_role;

-- Restores a yanked release: offered again (a yank made by mistake).
create function public.service_role_restore_release(actor uuid, release_id uuid) returns public.releases
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_row public.releases := saasbase.release_for_update(release_id);
begin
  if v_row.yanked_at is null then
    return v_row;
  end if;
  update public.releases r set yanked_at = null, yanked_by = null, yank_reason = null
  where r.id = v_row.id returning * into v_row;
  perform saasbase.audit(actor, 'releases.restore', 'release', v_row.id::text,
    jsonb_build_object('product', v_row.product_id, 'version', v_row.version));
  return v_row;
end;
$$;
revoke execute on function public.service_role_restore_release(uuid, uuid) from public, anon, authenticated;
grant execute on function public.service_role_restore_release(uuid, uuid) to service_role;

-- Downloads of a product per day and release, from `from_date` to `to_date` (UTC days, both included): what the
-- admin route sums per release and per day. At most two years of days.
create type public.release_download_count as (
  day date,
  release_id uuid,
  version text,
  downloads bigint,
  -- Distinct accounts among them (anonymous downloads of a free product count in `downloads` only).
  accounts bigint
);
create function public.service_role_release_downloads(product text, from_date date, to_date date)
returns setof public.release_download_count
language plpgsql
stable
security definer
set search_path = ''
as $$
begin
  if from_date is null or to_date is null or not isfinite(from_date) or not isfinite(to_date)
    or from_date > to_date or to_date - from_date > 731 then
    perform saasbase.fail('PT422', 'invalid_range', 'from <= to, at most two years apart, are required');
  end if;
  if not exists (select from public.release_products p where p.id = product) then
    perform saasbase.fail('PT404', 'product_not_found', format('No product %s', product));
  end if;
  return query
    select (d.created_at at time zone 'UTC')::date, d.release_id, d.version, count(*), count(distinct d.account_id)
    from public.downloads d
    where d.product_id = product
      and d.created_at >= from_date::timestamp at time zone 'UTC'
      and d.created_at < (to_date + 1)::timestamp at time zone 'UTC'
    group by 1, 2, 3
    order by 1, 2;
end;
$$;
revoke execute on function public.service_role_release_downloads(text, date, date) from public, anon, authenticated;
grant execute on function public.service_role_release_downloads(text, date, date) to service_role;

-- ---------------------------------------------------------------------------------------------------------
-- The API: apps and customers, through the releases function (as the service role).

-- What the update check and a download answer: a release with its file for the platform.
create type public.release_offer as (
  release_id uuid,
  product_id text,
  version text,
  channel text,
  notes text,
  published_at timestamptz,
  platform text,
  filename text,
  sha256 text,
  size bigint,
  -- true when the app runs a yanked release and this older one is offered in its place (a rollback).
  rollback boolean
);

-- A request presenting a license key (an update check, a download), counted as the licenses function counts its
-- own: per client IP before the lookup, then per license (PT429 rate_limited with retry_after), so guessing keys
-- here costs what it costs there. The releases function calls it on its own, before the request's work: a count
-- made in the transaction that then refuses the key would be rolled back with it.
create function public.service_role_count_release_request(license_key text, client_ip text default null)
returns void
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_license uuid;
begin
  perform saasbase.count_license_request(client_ip, null);
  v_license := (public.service_role_validate_license(license_key)).license_id;
  if v_license is not null then
    perform saasbase.count_license_request(null, v_license);
  end if;
end;
$$;
revoke execute on function public.service_role_count_release_request(text, text) from public, anon, authenticated;
grant execute on function public.service_role_count_release_request(text, text) to service_role;

-- A license key presented for `product`, validated as the licenses domain validates it
-- (public.service_role_validate_license: the key's license, this product, the machine's fingerprint when given,
-- the version when given). PT403 license_not_valid naming the validation code when it is not valid (an unknown
-- key is NOT_FOUND, nothing more; a license in its grace period is valid, code EXPIRED).
create function saasbase.release_license(p_product text, p_key text, p_fingerprint text, p_version text)
returns public.license_validation
language plpgsql
stable
set search_path = ''
as $$
declare
  v public.license_validation := public.service_role_validate_license(p_key, p_fingerprint, p_product, p_version);
begin
  if not coalesce(v.valid, false) then
    perform saasbase.fail('PT403', 'license_not_valid', format('The license is not valid for this: %s', v.code));
  end if;
  return v;
end;
$$;

-- The update check: the newest release of `product` an app on `channel` (stable: stable releases; beta: both)
-- running on `platform` may install: published, not yanked, with a file for the platform; with a license key,
-- only the releases that license may have (its entitlements hold the release's; its policy covers the
-- version). Null when `current_version` is that release or newer (the app is current): unless the app runs a
-- yanked release, when the newest good one is offered even if older (rollback = true). Without a key a
-- licensed product's releases are all offered (what is new; downloading needs the license).
create function public.service_role_latest_release(product text, channel text, platform text,
  current_version text default null, license_key text default null, fingerprint text default null)
returns public.release_offer
language plpgsql
stable
security definer
set search_path = ''
as $$
declare
  v_current text;
  v_yanked boolean := false;
  v_license public.license_validation;
  v_id uuid;
  v_key text;
  v_offer public.release_offer;
begin
  if not exists (select from public.release_products p where p.id = product and p.active) then
    perform saasbase.fail('PT404', 'product_not_found', format('No product %s', product));
  end if;
  if channel is null or channel not in ('stable', 'beta') then
    perform saasbase.fail('PT422', 'invalid_release', 'The channel is stable or beta');
  end if;
  if current_version is not null then
    v_current := saasbase.semver_key(current_version);
    if v_current is null then
      perform saasbase.fail('PT422', 'invalid_release', 'current_version must be semver (1.2.3)');
    end if;
    v_yanked := exists (select from public.releases r where r.product_id = product
      and r.version_key = v_current collate "C" and r.yanked_at is not null);
  end if;
  if license_key is not null then
    v_license := saasbase.release_license(product, license_key, fingerprint, null);
  end if;
  select r.id, r.version_key into v_id, v_key
  from public.releases r
  where r.product_id = product and r.published_at is not null and r.published_at <= saasbase.now()
    and r.yanked_at is null
    and (r.channel = 'stable' or service_role_latest_release.channel = 'beta')
    and exists (select from public.release_artifacts a where a.release_id = r.id
      and a.platform = service_role_latest_release.platform)
    and (v_license.license_id is null or (r.entitlements <@ v_license.entitlements
      and (public.service_role_validate_license(license_key, fingerprint, product, r.version)).valid))
  order by r.version_key desc
  limit 1;
  -- Nothing to offer, or the app is current (a yanked current release is never current).
  if v_id is null or (v_current is not null and not v_yanked and v_key <= v_current collate "C") then
    return null;
  end if;
  select r.id, r.product_id, r.version, r.channel, r.notes, r.published_at, a.platform, a.filename, a.sha256, a.size,
    v_current is not null and v_key < v_current collate "C"
  into v_offer
  from public.releases r
  join public.release_artifacts a on a.release_id = r.id and a.platform = service_role_latest_release.platform
  where r.id = v_id;
  return v_offer;
end;
$$;
revoke execute on function public.service_role_latest_release(text, text, text, text, text, text)
  from public, anon, authenticated;
grant execute on function public.service_role_latest_release(text, text, text, text, text, text) to service_role;

-- A download handed out: the file to sign a URL for, and the row recorded for it.
create type public.release_download as (
  download_id bigint,
  release_id uuid,
  product_id text,
  version text,
  platform text,
  filename text,
  storage_path text,
  sha256 text,
  size bigint,
  account_id uuid,
  license_id uuid
);

-- A download of `product` `version` (null: the newest stable release the caller may have) for `platform`,
-- recorded. A free product's by anyone: for `user_id` (a signed-in member) acting for `account` (null: their
-- personal account), or for nobody. A licensed product's with a valid license key only (saasbase.release_license,
-- its version included; the function counts the request first: service_role_count_release_request), of a license holding the release's entitlements (403 release_not_allowed), for the
-- license's account. The function signs a URL for the answer's storage_path in the same transaction, so a
-- download that gets no URL is not recorded. 404 release_not_found / artifact_not_found, 410 release_yanked,
-- 403 license_required / license_not_valid.
create function public.service_role_authorize_download(product text, version text, platform text,
  user_id uuid default null, account uuid default null, country text default null, license_key text default null,
  fingerprint text default null)
returns public.release_download
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_product public.release_products;
  v_release public.releases;
  v_artifact public.release_artifacts;
  v_license public.license_validation;
  v_account uuid;
  v_download bigint;
begin
  select * into v_product from public.release_products p where p.id = product and p.active;
  if not found then
    perform saasbase.fail('PT404', 'product_not_found', format('No product %s', product));
  end if;
  if version is not null and saasbase.semver_key(version) is null then
    perform saasbase.fail('PT422', 'invalid_release', 'The version must be semver (1.2.3)');
  end if;
  if v_product.license_required then
    if license_key is null then
      perform saasbase.fail('PT403', 'license_required', format('Downloading %s needs a valid license key', v_product.name));
    end if;
    v_license := saasbase.release_license(product, license_key, fingerprint, null);
  end if;
  if service_role_authorize_download.version is null then
    select * into v_release from public.releases r
    where r.product_id = product and r.channel = 'stable' and r.published_at is not null
      and r.published_at <= saasbase.now() and r.yanked_at is null
      and exists (select from public.release_artifacts a where a.release_id = r.id
        and a.platform = service_role_authorize_download.platform)
      and (v_license.license_id is null or (r.entitlements <@ v_license.entitlements
        and (public.service_role_validate_license(license_key, fingerprint, product, r.version)).valid))
    order by r.version_key desc limit 1;
  else
    select * into v_release from public.releases r
    where r.product_id = product
      and r.version_key = saasbase.semver_key(service_role_authorize_download.version) collate "C"
      and r.published_at is not null and r.published_at <= saasbase.now();
  end if;
  if v_release.id is null then
    perform saasbase.fail('PT404', 'release_not_found',
      format('No published release %s of %s', coalesce(service_role_authorize_download.version, 'for you'), product));
  end if;
  if v_release.yanked_at is not null then
    perform saasbase.fail('PT410', 'release_yanked', format('%s %s was withdrawn; download the release offered instead',
      product, v_release.version));
  end if;
  select * into v_artifact from public.release_artifacts a
  where a.release_id = v_release.id and a.platform = service_role_authorize_download.platform;
  if not found then
    perform saasbase.fail('PT404', 'artifact_not_found', format('%s %s has no file for %s', product, v_release.version, platform));
  end if;

  if v_product.license_required then
    -- The license covers this version (its policy's max_major_version), and holds what the release asks.
    v_license := saasbase.release_license(product, license_key, fingerprint, v_release.version);
    if not v_release.entitlements <@ v_license.entitlements then
      perform saasbase.fail('PT403', 'release_not_allowed', format('%s %s needs a license granting %s', v_product.name,
        v_release.version, array_to_string(v_release.entitlements, ', ')));
    end if;
    v_account := v_license.account_id;
  elsif user_id is not null then
    v_account := saasbase.acting_account(account, user_id, null);
  end if;

  insert into public.downloads (release_id, artifact_id, product_id, version, platform, account_id, user_id, license_id,
    country, created_at)
  values (v_release.id, v_artifact.id, product, v_release.version, v_artifact.platform, v_account, user_id,
    v_license.license_id,
    case when upper(country) ~ '^[A-Z]{2}$' and upper(country) not in ('XX', 'T1') then upper(country) end, saasbase.now())
  returning id into v_download;
  return (v_download, v_release.id, product, v_release.version, v_artifact.platform, v_artifact.filename,
    v_artifact.storage_path, v_artifact.sha256, v_artifact.size, v_account, v_license.license_id)::public.release_download;
end;
$$;
revoke execute on function public.service_role_authorize_download(text, text, text, uuid, uuid, text, text, text)
  from public, anon, authenticated;
grant execute on function public.service_role_authorize_download(text, text, text, uuid, uuid, text, text, text)
  to service_role;
