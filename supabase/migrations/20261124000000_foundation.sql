-- Foundation: the private schema for internal helpers and the project's locked-by-default privileges.
--
-- Supabase grants EXECUTE on every new function in `public` to anon, authenticated and service_role (and
-- Postgres grants it to PUBLIC). SaaSbase turns that off once, here, so that every function is callable only
-- by the roles its own migration grants it to, right under its definition.

alter default privileges for role postgres revoke execute on functions from public;
alter default privileges for role postgres in schema public revoke execute on functions from anon, authenticated, service_role;

-- Internal helpers (policy predicates, period math, triggers) live here: not exposed through the API schemas
-- in config.toml, so none of it is an RPC endpoint. Roles may use the schema; each function is granted apart.
create schema if not exists saasbase;
comment on schema saasbase is 'SaaSbase internals: helpers for policies and SQL APIs; not exposed over the API.';
revoke all on schema saasbase from public;
grant usage on schema saasbase to anon, authenticated, service_role;
alter default privileges for role postgres in schema saasbase revoke execute on functions from public;

-- Tables likewise: older Supabase projects grant ALL on every new table in `public` to anon, authenticated and
-- service_role, projects created since 2026-05-30 grant nothing ("secure by default"). SaaSbase takes the
-- defaults back, so that both kinds (and the local stacks) end up with exactly the privileges each migration
-- grants under its tables; row-level security then decides which rows. A fork's own tables need grants of
-- their own too.
alter default privileges for role postgres in schema public revoke all on tables from anon, authenticated, service_role;
alter default privileges for role postgres in schema public revoke all on sequences from anon, authenticated, service_role;
