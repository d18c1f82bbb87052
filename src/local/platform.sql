-- Platform bootstrap for a plain PostgreSQL cluster (the docker-free local stack and the test clusters).
--
-- It recreates the parts of Supabase's database image that SaaSbase's migrations, policies and tests rely
-- on, named and granted as Supabase names and grants them, so that the same migrations run unchanged here,
-- under `supabase start` and on hosted Supabase. It is never applied to a real Supabase database: the local
-- stack runs it only when `auth.users` is missing. Every statement is idempotent.

-- Roles. Mirrors supabase/postgres `migrations/db/init-scripts/00000000000000-initial-schema.sql`:
-- PostgREST logs in as `authenticator` and switches to `anon`, `authenticated` or `service_role` by the
-- JWT's `role` claim; `service_role` bypasses row-level security.
do $$
begin
  if not exists (select from pg_roles where rolname = 'anon') then
    create role anon nologin noinherit;
  end if;
  if not exists (select from pg_roles where rolname = 'authenticated') then
    create role authenticated nologin noinherit;
  end if;
  if not exists (select from pg_roles where rolname = 'service_role') then
    create role service_role nologin noinherit bypassrls;
  end if;
  if not exists (select from pg_roles where rolname = 'authenticator') then
    create role authenticator login noinherit password 'postgres';
  end if;
  -- GoTrue's own role; it owns the auth schema and writes auth.users on sign-up.
  if not exists (select from pg_roles where rolname = 'supabase_auth_admin') then
    create role supabase_auth_admin login noinherit createrole password 'postgres';
  end if;
end
$$;

grant anon, authenticated, service_role to authenticator;
grant anon, authenticated, service_role to postgres;

-- Statement timeouts Supabase sets on the API roles (applied when PostgREST logs in as them).
alter role anon set statement_timeout = '3s';
alter role authenticated set statement_timeout = '8s';

-- Schema `extensions`: where Supabase installs extensions, on every API role's search path.
create schema if not exists extensions;
grant usage on schema extensions to postgres, anon, authenticated, service_role;
create extension if not exists pgcrypto with schema extensions;
create extension if not exists "uuid-ossp" with schema extensions;

-- Schema `public`: the API roles may use it, and whatever `postgres` (the migration role) creates there is
-- granted to them by default; row-level security is what protects the rows. Mirrors Supabase's
-- `alter default privileges for role postgres in schema public grant all on ...`.
grant usage on schema public to postgres, anon, authenticated, service_role;
alter default privileges for role postgres in schema public grant all on tables to anon, authenticated, service_role;
alter default privileges for role postgres in schema public grant all on functions to anon, authenticated, service_role;
alter default privileges for role postgres in schema public grant all on sequences to anon, authenticated, service_role;

-- Schema `auth`: owned by GoTrue's role, readable by the API roles' helper functions.
create schema if not exists auth authorization supabase_auth_admin;
grant usage on schema auth to postgres, anon, authenticated, service_role;
grant all on schema auth to postgres;

-- auth.users: the columns GoTrue (supabase/auth) writes, with its types and defaults.
create table if not exists auth.users (
  instance_id uuid,
  id uuid not null primary key,
  aud varchar(255),
  role varchar(255),
  email varchar(255),
  encrypted_password varchar(255),
  email_confirmed_at timestamptz,
  invited_at timestamptz,
  confirmation_token varchar(255),
  confirmation_sent_at timestamptz,
  recovery_token varchar(255),
  recovery_sent_at timestamptz,
  email_change_token_new varchar(255),
  email_change varchar(255),
  email_change_sent_at timestamptz,
  last_sign_in_at timestamptz,
  raw_app_meta_data jsonb,
  raw_user_meta_data jsonb,
  is_super_admin boolean,
  created_at timestamptz,
  updated_at timestamptz,
  phone text unique default null,
  phone_confirmed_at timestamptz,
  phone_change text default '',
  phone_change_token varchar(255) default '',
  phone_change_sent_at timestamptz,
  confirmed_at timestamptz generated always as (least(email_confirmed_at, phone_confirmed_at)) stored,
  email_change_token_current varchar(255) default '',
  email_change_confirm_status smallint default 0 check (email_change_confirm_status >= 0 and email_change_confirm_status <= 2),
  banned_until timestamptz,
  reauthentication_token varchar(255) default '',
  reauthentication_sent_at timestamptz,
  is_sso_user boolean not null default false,
  deleted_at timestamptz,
  is_anonymous boolean not null default false
);
comment on table auth.users is 'Auth: Stores user login data within a secure schema.';
create index if not exists users_instance_id_idx on auth.users (instance_id);
create unique index if not exists users_email_partial_key on auth.users (email) where (is_sso_user = false);
alter table auth.users owner to supabase_auth_admin;
grant all on auth.users to postgres;
-- (confirmation_token, recovery_token, email_change_token_new and email_change have no default in GoTrue's
-- schema: a row inserted without them holds NULL, which GoTrue cannot read at sign-in. seed.sql sets them.)

-- auth.identities: a user's sign-in methods, as GoTrue keeps them (password sign-in needs the email one).
create table if not exists auth.identities (
  provider_id text not null,
  user_id uuid not null references auth.users (id) on delete cascade,
  identity_data jsonb not null,
  provider text not null,
  last_sign_in_at timestamptz,
  created_at timestamptz,
  updated_at timestamptz,
  email text generated always as (lower(identity_data ->> 'email')) stored,
  id uuid not null default gen_random_uuid() primary key,
  unique (provider_id, provider)
);
alter table auth.identities owner to supabase_auth_admin;
grant all on auth.identities to postgres;
-- As on Supabase, the API roles hold no privileges on auth.users (RLS helpers read the JWT, not the table).

-- auth.uid(), auth.role(), auth.email(), auth.jwt(): as supabase/auth defines them, reading the claims
-- PostgREST puts in `request.jwt.claims` (and the pre-v9 `request.jwt.claim.*` settings).
create or replace function auth.uid() returns uuid
language sql stable as $$
  select coalesce(
    nullif(current_setting('request.jwt.claim.sub', true), ''),
    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')
  )::uuid
$$;
comment on function auth.uid() is 'Deprecated. Use auth.jwt() -> ''sub'' instead.';

create or replace function auth.role() returns text
language sql stable as $$
  select coalesce(
    nullif(current_setting('request.jwt.claim.role', true), ''),
    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'role')
  )::text
$$;
comment on function auth.role() is 'Deprecated. Use auth.jwt() -> ''role'' instead.';

create or replace function auth.email() returns text
language sql stable as $$
  select coalesce(
    nullif(current_setting('request.jwt.claim.email', true), ''),
    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'email')
  )::text
$$;
comment on function auth.email() is 'Deprecated. Use auth.jwt() -> ''email'' instead.';

create or replace function auth.jwt() returns jsonb
language sql stable as $$
  select coalesce(
    nullif(current_setting('request.jwt.claim', true), ''),
    nullif(current_setting('request.jwt.claims', true), '')
  )::jsonb
$$;

alter function auth.uid() owner to supabase_auth_admin;
alter function auth.role() owner to supabase_auth_admin;
alter function auth.email() owner to supabase_auth_admin;
alter function auth.jwt() owner to supabase_auth_admin;
grant execute on function auth.uid(), auth.role(), auth.email(), auth.jwt()
  to postgres, anon, authenticated, service_role;

-- Search path of the migration role, as on Supabase: extensions resolve without a schema prefix.
alter role postgres set search_path = "$user", public, extensions;
