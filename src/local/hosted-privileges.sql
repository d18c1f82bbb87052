-- Hosted Supabase's privileges, for the clusters the local stack owns (npm run dev's, the tests'): run as the
-- cluster's bootstrap superuser `supabase_admin` after the platform bootstrap, as Supabase's image runs its
-- migrations as supabase_admin after its init scripts. From here on `postgres` (the role `supabase db push`
-- and the functions use) holds what it holds on a hosted project, so a migration that needs more fails here
-- first. Mirrors supabase/postgres `migrations/db/migrations/`: 10000000000000_demote-postgres.sql,
-- 20211115181400_update-auth-permissions.sql, 20250421084701_revoke_admin_roles_from_postgres.sql.
-- Idempotent.

-- The auth schema is GoTrue's: `postgres` uses it and its tables (so triggers on auth.users stay possible),
-- and may create nothing in it (revoked on hosted in 2025). Tables GoTrue adds later are granted to postgres
-- by GoTrue's default privileges.
grant usage on schema auth to postgres;
grant all on all tables in schema auth to postgres;
grant all on all sequences in schema auth to postgres;
grant all on all routines in schema auth to postgres;
alter default privileges for role supabase_auth_admin in schema auth grant all on tables to postgres;
alter default privileges for role supabase_auth_admin in schema auth grant all on sequences to postgres;
alter default privileges for role supabase_auth_admin in schema auth grant all on routines to postgres;
revoke create on schema auth from postgres;
do $$
begin
  if pg_has_role('postgres', 'supabase_auth_admin', 'member') then
    revoke supabase_auth_admin from postgres;
  end if;
end
$$;

grant all on schema extensions to postgres;
grant all on all tables in schema extensions to postgres;
grant all on all sequences in schema extensions to postgres;
grant all on all routines in schema extensions to postgres;

-- GoTrue's role writes auth.users on sign-up and nothing of ours: it reaches the app's tables only through
-- the SECURITY DEFINER triggers the migrations put on auth.users.
alter role supabase_auth_admin set search_path = auth;

-- What hosted grants `postgres` besides: the API roles (platform.sql), monitoring, reading all data,
-- signalling backends.
grant pg_monitor, pg_read_all_data, pg_signal_backend to postgres;

alter role postgres nosuperuser createdb createrole login replication bypassrls;

-- The storage schema is Storage's (src/local/platform-storage.sql): `postgres` uses it, writes its two tables
-- (with grant option; bucket rows are created by migrations), creates nothing in it and is no member of
-- supabase_storage_admin (supabase/postgres 20250421084701_revoke_admin_roles_from_postgres.sql,
-- 20250623125453_tmp_grant_storage_tables_to_postgres_with_grant_option.sql,
-- 20250709135250_grant_storage_schema_to_postgres_with_grant_option.sql).
grant usage on schema storage to postgres with grant option;
revoke create on schema storage from postgres;
grant all on storage.buckets, storage.objects to postgres with grant option;
revoke all on storage.migrations from anon, authenticated, service_role, postgres;
do $$
begin
  if pg_has_role('postgres', 'supabase_storage_admin', 'member') then
    revoke supabase_storage_admin from postgres;
  end if;
end
$$;

-- Policies on tables `postgres` does not own. Hosted lets `postgres` create, alter and drop policies on
-- storage.objects and storage.buckets (and the other tables of its list) through the supautils extension's
-- `policy_grants` (supabase/postgres ansible/files/postgresql_config/supautils.conf.j2), a C hook this stack
-- does not have. The same effect here: for the length of a CREATE / ALTER / DROP POLICY statement run by
-- `postgres`, it is a member of supabase_storage_admin (the tables' owner), granted at ddl_command_start and
-- revoked at ddl_command_end (a failed statement rolls the grant back with it). Nothing else `postgres` runs
-- gets that membership: `alter table storage.objects ...` or `drop table` still fail as on hosted.
create or replace function extensions.saasbase_policy_grants_start() returns event_trigger
language plpgsql security definer set search_path = '' as $$
begin
  if session_user = 'postgres' or current_user = 'postgres' then
    if not pg_catalog.pg_has_role('postgres', 'supabase_storage_admin', 'member') then
      grant supabase_storage_admin to postgres;
    end if;
  end if;
end
$$;
create or replace function extensions.saasbase_policy_grants_end() returns event_trigger
language plpgsql security definer set search_path = '' as $$
begin
  if pg_catalog.pg_has_role('postgres', 'supabase_storage_admin', 'member') then
    revoke supabase_storage_admin from postgres;
  end if;
end
$$;
revoke all on function extensions.saasbase_policy_grants_start() from public;
revoke all on function extensions.saasbase_policy_grants_end() from public;
drop event trigger if exists saasbase_policy_grants_start;
create event trigger saasbase_policy_grants_start on ddl_command_start
  when tag in ('CREATE POLICY', 'ALTER POLICY', 'DROP POLICY')
  execute function extensions.saasbase_policy_grants_start();
drop event trigger if exists saasbase_policy_grants_end;
create event trigger saasbase_policy_grants_end on ddl_command_end
  when tag in ('CREATE POLICY', 'ALTER POLICY', 'DROP POLICY')
  execute function extensions.saasbase_policy_grants_end();
