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
