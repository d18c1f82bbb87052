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

-- ---------------------------------------------------------------------------------------------------------
-- Helpers every domain uses. They live here, before any domain, so that no domain's migration depends on
-- another one just for them.
--
-- The small helpers on the charge path are PL/pgSQL, not SQL: a SQL function with SET search_path is never
-- inlined and is planned again on every call, while PL/pgSQL keeps its plans for the session.

-- The clock every rule reads: now(), unless a test moved it with `set local saasbase.now = '...'` (a custom
-- setting only a direct database session can set; PostgREST clients cannot).
create function saasbase.now() returns timestamptz
language plpgsql stable
set search_path = ''
as $$
begin
  return coalesce(nullif(current_setting('saasbase.now', true), '')::timestamptz, now());
end;
$$;

-- Refuses with a stable SQLSTATE and code: `state` is PT4xx (PostgREST answers HTTP 4xx for it, and so do the
-- edge functions), `code` goes in DETAIL (the `code` of `{ "error": { code, message } }`; every code is
-- listed in supabase/functions/_shared/error-codes.ts).
create function saasbase.fail(state text, code text, message text) returns void
language plpgsql
set search_path = ''
as $$
begin
  raise exception using errcode = state, detail = code, message = message;
end;
$$;

-- The caller's user id, or PT401: a signed-in user's JWT claims, as PostgREST (or asCaller) set them.
-- Reads the claims once, where auth.uid() and auth.role() would parse them twice.
create function saasbase.require_user() returns uuid
language plpgsql stable
set search_path = ''
as $$
declare
  v_claims jsonb := nullif(current_setting('request.jwt.claims', true), '')::jsonb;
begin
  if v_claims ->> 'role' is distinct from 'authenticated' or v_claims ->> 'sub' is null then
    perform saasbase.fail('PT401', 'not_authenticated', 'Sign in to use credits');
  end if;
  return (v_claims ->> 'sub')::uuid;
end;
$$;

-- An idempotency key as every mutation that takes one wants it, or PT422.
create function saasbase.require_key(key text) returns text
language plpgsql immutable
set search_path = ''
as $$
begin
  if key is null or char_length(key) not between 1 and 200 then
    perform saasbase.fail('PT422', 'invalid_idempotency_key', 'An idempotency key of 1 to 200 characters is required');
  end if;
  return key;
end;
$$;

-- The caller's JWT claims, as PostgREST set them for this request (null outside a request).
create function saasbase.jwt_role() returns text
language sql stable
set search_path = ''
as $$
  select coalesce(auth.jwt() -> 'app_metadata' ->> 'role', 'customer')
$$;
grant execute on function saasbase.jwt_role() to anon, authenticated, service_role;

-- True when the caller holds `wanted` as their role: their token says so (app_metadata.role) and so does
-- their account now (the profile's copy of it). A token outlives a demotion by up to an hour; without the
-- second check an admin demoted meanwhile could still act as one, and even make themselves admin again.
-- SECURITY DEFINER: it reads the profile whatever the policies (which call it) let the caller read.
-- PL/pgSQL because public.profiles comes with the accounts migration: a SQL function's body is checked
-- against the tables when it is created, a PL/pgSQL one's when it first runs.
create function saasbase.has_role(wanted text) returns boolean
language plpgsql stable
security definer
set search_path = ''
as $$
begin
  return auth.role() = 'authenticated' and saasbase.jwt_role() = wanted
    and exists (select from public.profiles p where p.id = auth.uid() and p.role = wanted);
end;
$$;
revoke execute on function saasbase.has_role(text) from public;
grant execute on function saasbase.has_role(text) to anon, authenticated, service_role;

-- True when the caller is an admin (see has_role). Policies call it as `(select saasbase.is_admin())`: once
-- per statement.
create function saasbase.is_admin() returns boolean
language sql stable
set search_path = ''
as $$
  select saasbase.has_role('admin')
$$;
grant execute on function saasbase.is_admin() to anon, authenticated, service_role;

-- Trigger: keeps a row's updated_at current on every update.
create function saasbase.touch_updated_at() returns trigger
language plpgsql
set search_path = ''
as $$
begin
  new.updated_at := now();
  return new;
end;
$$;

-- Trigger for ledgers (credits, cash): append-only, no update ever, no delete but the cascade of a deleted
-- user (whose auth.users row is gone by the time the cascade reaches the ledger).
create function saasbase.ledger_append_only() returns trigger
language plpgsql
set search_path = ''
as $$
begin
  if tg_op = 'DELETE' and not exists (select from auth.users where id = old.user_id) then
    return old;
  end if;
  raise exception '% is append-only', tg_table_name using errcode = 'PT403', detail = 'ledger_append_only';
end;
$$;

-- ---------------------------------------------------------------------------------------------------------
-- Tables every domain writes to

-- Every admin write, by whom, on what. Read by admins; written only by SECURITY DEFINER functions (through
-- saasbase.audit), so the service role only reads it too.
create table public.audit_log (
  id bigint generated always as identity primary key,
  -- No foreign key: deleting an admin's account must not erase who did what.
  actor_id uuid,
  action text not null,
  target_type text not null,
  target_id text,
  details jsonb not null default '{}',
  created_at timestamptz not null default now()
);
comment on table public.audit_log is 'Admin actions, append-only.';
create index audit_log_created on public.audit_log (created_at desc);

alter table public.audit_log enable row level security;
create policy "The audit log is readable by admins" on public.audit_log
  for select to authenticated using ((select saasbase.is_admin()));
grant select on public.audit_log to authenticated, service_role;

create function saasbase.audit(p_actor uuid, p_action text, p_target_type text, p_target_id text, p_details jsonb)
returns void
language sql
set search_path = ''
as $$
  insert into public.audit_log (actor_id, action, target_type, target_id, details)
  values (p_actor, p_action, p_target_type, p_target_id, coalesce(p_details, '{}'))
$$;

-- Mail to send (payment failed, ...): written in the same transaction as the event that caused it, by the
-- service role or a domain's SQL. Read by admins.
create table public.email_outbox (
  id bigint generated always as identity primary key,
  user_id uuid references auth.users (id) on delete cascade,
  template text not null,
  dedupe_key text not null unique,
  payload jsonb not null default '{}',
  created_at timestamptz not null default now(),
  sent_at timestamptz
);
comment on table public.email_outbox is 'Transactional mail waiting to be sent; one row per dedupe key.';
create index email_outbox_user_id on public.email_outbox (user_id);

alter table public.email_outbox enable row level security;
create policy "Outgoing mail is readable by admins" on public.email_outbox
  for select to authenticated using ((select saasbase.is_admin()));
grant select on public.email_outbox to authenticated;
grant select, insert, update, delete on public.email_outbox to service_role;
