-- Platform bootstrap, Storage part: the `storage` schema as Supabase Storage's own migrations leave it
-- (supabase/storage `migrations/tenant/`, 0002 to 0063), reduced to what a project's migrations, policies and
-- the local Storage emulation (src/local/storage*.ts) touch: storage.buckets, storage.objects, the helper
-- functions policies call (foldername, filename, extension, operation, allow_only_operation,
-- allow_any_operation), the triggers that guard the tables, and the owner and grants Storage gives them.
-- Left out: search / list_objects_with_delimiter (the emulation lists with its own query as the caller's role),
-- prefixes, S3 multipart uploads, analytics and vector buckets, object versioning.
--
-- Applied to plain Postgres only, whenever `storage.objects` is missing (also to a cluster bootstrapped before
-- this file existed), as the cluster's superuser. Idempotent.

-- Storage's own role: it owns the schema's tables and logs in to serve the API, switching to the caller's
-- role per request (it reaches anon, authenticated and service_role through authenticator, as on hosted:
-- supabase/postgres 20231013070755_grant_authenticator_to_supabase_storage_admin.sql).
do $$
begin
  if not exists (select from pg_roles where rolname = 'supabase_storage_admin') then
    create role supabase_storage_admin noinherit createrole login noreplication password 'postgres';
  end if;
end
$$;
grant authenticator to supabase_storage_admin;
alter role supabase_storage_admin set search_path = storage;

-- The schema belongs to the platform's superuser (supabase/postgres init-scripts 00000000000002), the API
-- roles use it.
do $$
begin
  if not exists (select from pg_namespace where nspname = 'storage') then
    if exists (select from pg_roles where rolname = 'supabase_admin') then
      create schema storage authorization supabase_admin;
    else
      create schema storage;
    end if;
  end if;
end
$$;
grant usage on schema storage to postgres, anon, authenticated, service_role;
grant all on schema storage to supabase_storage_admin;
alter default privileges for role supabase_storage_admin in schema storage
  grant all on tables to postgres, anon, authenticated, service_role;
alter default privileges for role supabase_storage_admin in schema storage
  grant all on functions to postgres, anon, authenticated, service_role;
alter default privileges for role supabase_storage_admin in schema storage
  grant all on sequences to postgres, anon, authenticated, service_role;

do $$
begin
  if not exists (select from pg_type where typname = 'buckettype' and typnamespace = 'storage'::regnamespace) then
    create type storage.buckettype as enum ('STANDARD', 'ANALYTICS', 'VECTOR');
  end if;
end
$$;

create table if not exists storage.migrations (
  id integer primary key,
  name varchar(100) unique not null,
  hash varchar(40) not null,
  executed_at timestamp default current_timestamp
);
alter table storage.migrations enable row level security;

create table if not exists storage.buckets (
  id text not null primary key,
  name text not null,
  owner uuid,
  created_at timestamptz default now(),
  updated_at timestamptz default now(),
  public boolean default false,
  avif_autodetection boolean default false,
  file_size_limit bigint,
  allowed_mime_types text[],
  owner_id text,
  type storage.buckettype not null default 'STANDARD'
);
create unique index if not exists bname on storage.buckets using btree (name);
comment on column storage.buckets.owner is 'Field is deprecated, use owner_id instead';
alter table storage.buckets enable row level security;

create table if not exists storage.objects (
  id uuid not null default gen_random_uuid() primary key,
  bucket_id text constraint "objects_bucketId_fkey" references storage.buckets (id),
  name text,
  owner uuid,
  created_at timestamptz default now(),
  updated_at timestamptz default now(),
  last_accessed_at timestamptz default now(),
  metadata jsonb,
  path_tokens text[] generated always as (string_to_array(name, '/')) stored,
  version text,
  owner_id text,
  user_metadata jsonb
);
create unique index if not exists bucketid_objname on storage.objects using btree (bucket_id, name);
create index if not exists name_prefix_search on storage.objects (name text_pattern_ops);
comment on column storage.objects.owner is 'Field is deprecated, use owner_id instead';
alter table storage.objects enable row level security;

-- The helpers policies are written with (0060, 0061: immutable path parsing).
create or replace function storage.foldername(name text) returns text[]
language plpgsql immutable as $function$
declare
  _parts text[];
begin
  select string_to_array(name, '/') into _parts;
  return _parts[1 : array_length(_parts, 1) - 1];
end
$function$;

create or replace function storage.filename(name text) returns text
language plpgsql immutable as $function$
declare
  _parts text[];
begin
  select string_to_array(name, '/') into _parts;
  return _parts[array_length(_parts, 1)];
end
$function$;

create or replace function storage.extension(name text) returns text
language plpgsql immutable as $function$
declare
  _parts text[];
  _filename text;
begin
  select string_to_array(name, '/') into _parts;
  select _parts[array_length(_parts, 1)] into _filename;
  return reverse(split_part(reverse(_filename), '.', 1));
end
$function$;

-- The API operation of the request (`storage.object.upload`, ...), set per request like the claims (0024, 0058).
create or replace function storage.operation() returns text
language plpgsql stable as $$
begin
  return current_setting('storage.operation', true);
end;
$$;

create or replace function storage.allow_only_operation(expected_operation text) returns boolean
language sql stable as $$
  with current_operation as (
    select storage.operation() as raw_operation
  ),
  normalized as (
    select
      case when raw_operation like 'storage.%' then substr(raw_operation, 9) else raw_operation end as current_operation,
      case when expected_operation like 'storage.%' then substr(expected_operation, 9) else expected_operation end
        as requested_operation
    from current_operation
  )
  select case
    when requested_operation is null or requested_operation = '' then false
    else coalesce(current_operation = requested_operation, false)
  end
  from normalized;
$$;

create or replace function storage.allow_any_operation(expected_operations text[]) returns boolean
language sql stable as $$
  with current_operation as (
    select storage.operation() as raw_operation
  ),
  normalized as (
    select case when raw_operation like 'storage.%' then substr(raw_operation, 9) else raw_operation end
      as current_operation
    from current_operation
  )
  select exists (
    select 1
    from normalized n
    cross join lateral unnest(expected_operations) as expected_operation
    where expected_operation is not null
      and expected_operation <> ''
      and n.current_operation = case
        when expected_operation like 'storage.%' then substr(expected_operation, 9)
        else expected_operation
      end
  );
$$;

create or replace function storage.can_insert_object(bucketid text, name text, owner uuid, metadata jsonb) returns void
language plpgsql as $$
begin
  insert into "storage"."objects" ("bucket_id", "name", "owner", "metadata") values (bucketid, name, owner, metadata);
  -- hack to rollback the successful insert
  raise sqlstate 'PT200' using message = 'ROLLBACK', detail = 'rollback successful insert';
end
$$;

create or replace function storage.get_size_by_bucket() returns table (size bigint, bucket_id text)
language plpgsql stable as $function$
begin
  return query
    select sum((metadata->>'size')::bigint)::bigint as size, obj.bucket_id
    from "storage".objects as obj
    group by obj.bucket_id;
end
$function$;

-- Guards (0011, 0037, 0055): updated_at kept, bucket names of at most 100 characters, and no DELETE on the
-- tables outside the Storage API (which sets storage.allow_delete_query per request): a row deleted by SQL
-- would leave its file behind.
create or replace function storage.update_updated_at_column() returns trigger
language plpgsql as $$
begin
  new.updated_at = now();
  return new;
end;
$$;

create or replace function storage.enforce_bucket_name_length() returns trigger
language plpgsql as $$
begin
  if length(new.name) > 100 then
    raise exception 'bucket name "%" is too long (% characters). Max is 100.', new.name, length(new.name);
  end if;
  return new;
end;
$$;

create or replace function storage.protect_delete() returns trigger
language plpgsql as $$
begin
  if coalesce(current_setting('storage.allow_delete_query', true), 'false') != 'true' then
    raise exception 'Direct deletion from storage tables is not allowed. Use the Storage API instead.'
      using hint = 'This prevents accidental data loss from orphaned objects.', errcode = '42501';
  end if;
  return null;
end;
$$;

drop trigger if exists update_objects_updated_at on storage.objects;
create trigger update_objects_updated_at before update on storage.objects
  for each row execute function storage.update_updated_at_column();
drop trigger if exists enforce_bucket_name_length_trigger on storage.buckets;
create trigger enforce_bucket_name_length_trigger before insert or update of name on storage.buckets
  for each row execute function storage.enforce_bucket_name_length();
drop trigger if exists protect_buckets_delete on storage.buckets;
create trigger protect_buckets_delete before delete on storage.buckets
  for each statement execute function storage.protect_delete();
drop trigger if exists protect_objects_delete on storage.objects;
create trigger protect_objects_delete before delete on storage.objects
  for each statement execute function storage.protect_delete();

-- Owned by Storage's role, as its migrations leave them.
alter table storage.migrations owner to supabase_storage_admin;
alter table storage.buckets owner to supabase_storage_admin;
alter table storage.objects owner to supabase_storage_admin;
alter type storage.buckettype owner to supabase_storage_admin;
alter function storage.foldername(text) owner to supabase_storage_admin;
alter function storage.filename(text) owner to supabase_storage_admin;
alter function storage.extension(text) owner to supabase_storage_admin;
alter function storage.operation() owner to supabase_storage_admin;
alter function storage.allow_only_operation(text) owner to supabase_storage_admin;
alter function storage.allow_any_operation(text[]) owner to supabase_storage_admin;
alter function storage.can_insert_object(text, text, uuid, jsonb) owner to supabase_storage_admin;
alter function storage.get_size_by_bucket() owner to supabase_storage_admin;
alter function storage.update_updated_at_column() owner to supabase_storage_admin;
alter function storage.enforce_bucket_name_length() owner to supabase_storage_admin;
alter function storage.protect_delete() owner to supabase_storage_admin;

-- Grants as Storage's migrations give them (0046, 0049): the API roles on both tables (RLS decides), postgres
-- with grant option; the functions to everyone who uses the schema.
grant all on storage.buckets, storage.objects to anon, authenticated, service_role;
grant all on storage.buckets, storage.objects to postgres with grant option;
grant all on all functions in schema storage to postgres, anon, authenticated, service_role;
revoke all on storage.migrations from anon, authenticated, service_role, postgres;
