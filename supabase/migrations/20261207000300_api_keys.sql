-- API keys (issue #15): how a program that is not a browser (a CLI, an MCP server in Cursor, a script, another
-- backend) calls the functions as a user. A key belongs to an ACCOUNT (a personal account or a team) and acts
-- as the member who made it, with that member's rights (every SQL rule still checks them), restricted to its
-- scopes. The functions verify it through service_role_verify_api_key; this migration also holds the SQL rate
-- limiter (saasbase.take_rate_limit) the key path uses per key and per client IP.
--
-- A key is `sbk_live_` + 40 base62 characters (about 238 random bits), generated here from gen_random_bytes
-- and shown ONCE, in create_api_key's answer. Only its SHA-256 (hex) is stored: a leaked table or backup holds
-- no usable key. It is listed by its prefix (the first 12 characters) and its last 4.
--
-- Who may do what:
--   create: any member of the account, for themselves (a key can do no more than its member: the rights are
--     checked per call, as for the member's own token); not an anonymous (guest) user.
--   list (RLS, metadata only: the hash column is granted to no API role): a member sees their own keys on the
--     accounts they belong to; members with 'manage_members' see every key of the account; admins see all.
--   rename / revoke: the key's member, a member with 'manage_members' on its account, or an admin.
--   admins create a key for a user (admin_create_api_key), audited as such: support for a user's script.
-- A key stops working when it is revoked or expires, when its member leaves or is removed from the account
-- (revoked by a trigger on account_members), when its user is deleted (cascade), soft-deleted or banned
-- (revoked by a trigger on auth.users), and when its account is deleted (cascade).

create table public.api_keys (
  id uuid primary key default gen_random_uuid(),
  account_id uuid not null references public.accounts (id) on delete cascade,
  -- The member who made it, and as whom it acts.
  user_id uuid not null references auth.users (id) on delete cascade,
  name text not null check (char_length(name) between 1 and 100),
  prefix text not null check (char_length(prefix) = 12),
  last4 text not null check (char_length(last4) = 4),
  -- SHA-256 of the whole key, hex. The one lookup a verification costs goes through its unique index.
  key_hash text not null unique check (key_hash ~ '^[0-9a-f]{64}$'),
  -- Function / feature names the key may use (e.g. {mcp,credits}); null = all.
  scopes text[] check (scopes is null or cardinality(scopes) between 1 and 32),
  expires_at timestamptz,
  last_used_at timestamptz,
  revoked_at timestamptz,
  -- Who made the row: the member, or an admin acting for them.
  created_by uuid references auth.users (id) on delete set null,
  created_at timestamptz not null default now()
);
comment on table public.api_keys is
  'API keys of an account''s members (sbk_live_...): only the SHA-256 is stored; listed by prefix and last 4.';
create index api_keys_account_created on public.api_keys (account_id, created_at desc);
create index api_keys_user on public.api_keys (user_id);
create index api_keys_created_by on public.api_keys (created_by);

alter table public.api_keys enable row level security;
create policy "API keys are readable by their member, the account's member managers and admins"
  on public.api_keys for select to authenticated using (
    (user_id = (select auth.uid()) and account_id in (select saasbase.my_accounts()))
    or account_id in (select saasbase.accounts_with_right('manage_members'))
    or (select saasbase.is_admin())
  );
-- Column grants: the hash is readable by no API role (a client selects the listed columns; `select=*` is
-- refused). Written only through the functions below.
grant select (id, account_id, user_id, name, prefix, last4, scopes, expires_at, last_used_at, revoked_at,
  created_by, created_at) on public.api_keys to authenticated, service_role;

-- What the API answers about a key: the listed columns, never the hash.
create type public.api_key_info as (
  id uuid, account_id uuid, user_id uuid, name text, prefix text, last4 text, scopes text[],
  expires_at timestamptz, last_used_at timestamptz, revoked_at timestamptz, created_at timestamptz
);
-- create_api_key's answer: the key itself, this once.
create type public.api_key_created as (
  id uuid, key text, account_id uuid, user_id uuid, name text, prefix text, last4 text, scopes text[],
  expires_at timestamptz, created_at timestamptz
);
-- A verified key (service_role_verify_api_key).
create type public.verified_api_key as (id uuid, account_id uuid, user_id uuid, scopes text[]);

create function saasbase.api_key_info(k public.api_keys) returns public.api_key_info
language sql immutable
set search_path = ''
as $$
  select row(k.id, k.account_id, k.user_id, k.name, k.prefix, k.last4, k.scopes, k.expires_at, k.last_used_at,
    k.revoked_at, k.created_at)::public.api_key_info
$$;

-- `p_len` random base62 characters, unbiased (bytes of 248 and up are dropped: 248 = 4 * 62).
create function saasbase.random_base62(p_len integer) returns text
language plpgsql volatile
set search_path = ''
as $$
declare
  v_alphabet constant text := '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
  v_out text := '';
  v_bytes bytea;
  v_byte integer;
begin
  while char_length(v_out) < p_len loop
    v_bytes := extensions.gen_random_bytes(64);
    for i in 0 .. 63 loop
      v_byte := get_byte(v_bytes, i);
      if v_byte < 248 and char_length(v_out) < p_len then
        v_out := v_out || substr(v_alphabet, 1 + v_byte % 62, 1);
      end if;
    end loop;
  end loop;
  return v_out;
end;
$$;

-- The input rules of a key: PT422 invalid_api_key_input naming the field.
create function saasbase.check_api_key_input(p_name text, p_scopes text[], p_expires_at timestamptz)
returns text[]
language plpgsql stable
set search_path = ''
as $$
begin
  if p_name is null or char_length(btrim(p_name)) not between 1 and 100 then
    perform saasbase.fail('PT422', 'invalid_api_key_input', 'A key name of 1 to 100 characters is required');
  end if;
  if p_scopes is not null and (cardinality(p_scopes) > 32 or exists (
    select from unnest(p_scopes) s where s is null or s !~ '^[a-z][a-z0-9_-]{0,62}$')) then
    perform saasbase.fail('PT422', 'invalid_api_key_input',
      'Scopes are up to 32 function or feature names (lower-case letters, digits, - and _)');
  end if;
  if p_expires_at is not null and p_expires_at <= saasbase.now() then
    perform saasbase.fail('PT422', 'invalid_api_key_input', 'expires_at must be in the future');
  end if;
  -- No scopes (null or empty) = every function; duplicates dropped.
  return (select nullif(array_agg(distinct s order by s), '{}') from unnest(p_scopes) s);
end;
$$;

-- Makes a key for `p_user` on `p_account` (a member: checked by the caller), audited by `p_actor`.
create function saasbase.make_api_key(p_actor uuid, p_user uuid, p_account uuid, p_name text, p_scopes text[],
  p_expires_at timestamptz)
returns public.api_key_created
language plpgsql
set search_path = ''
as $$
declare
  v_scopes text[] := saasbase.check_api_key_input(p_name, p_scopes, p_expires_at);
  v_key text := 'sbk_live_' || saasbase.random_base62(40);
  v_row public.api_keys;
begin
  -- A bound on live keys per member and account: a leaked session cannot mint keys without end.
  if (select count(*) from public.api_keys k
      where k.account_id = p_account and k.user_id = p_user and k.revoked_at is null) >= 100 then
    perform saasbase.fail('PT409', 'api_key_limit_reached', 'At most 100 live API keys per member and account');
  end if;
  insert into public.api_keys (account_id, user_id, name, prefix, last4, key_hash, scopes, expires_at, created_by)
  values (p_account, p_user, btrim(p_name), left(v_key, 12), right(v_key, 4),
    encode(sha256(convert_to(v_key, 'UTF8')), 'hex'), v_scopes, p_expires_at, p_actor)
  returning * into v_row;
  perform saasbase.audit(p_actor, 'api_key.create', 'api_key', v_row.id::text, jsonb_build_object(
    'account_id', p_account, 'user_id', p_user, 'name', v_row.name, 'prefix', v_row.prefix,
    'scopes', v_scopes, 'expires_at', p_expires_at));
  return row(v_row.id, v_key, v_row.account_id, v_row.user_id, v_row.name, v_row.prefix, v_row.last4,
    v_row.scopes, v_row.expires_at, v_row.created_at)::public.api_key_created;
end;
$$;

-- A key for the caller on `account` (null: their personal account; any member may), returned this once.
-- PT422 invalid_api_key_input, PT404 account_not_found, PT403 account_forbidden (a guest user), PT409
-- api_key_limit_reached.
create function public.create_api_key(name text, scopes text[] default null, expires_at timestamptz default null,
  account uuid default null)
returns public.api_key_created
language plpgsql
security definer
set search_path = ''
as $$
#variable_conflict use_variable
declare
  v_uid uuid := saasbase.require_user();
  v_account uuid := saasbase.require_account(account, null);
begin
  if exists (select from auth.users u where u.id = v_uid and u.is_anonymous) then
    perform saasbase.fail('PT403', 'account_forbidden', 'Sign up before creating an API key');
  end if;
  return saasbase.make_api_key(v_uid, v_uid, v_account, name, scopes, expires_at);
end;
$$;
revoke execute on function public.create_api_key(text, text[], timestamptz, uuid) from public, anon;
grant execute on function public.create_api_key(text, text[], timestamptz, uuid) to authenticated;

-- An admin makes a key acting as `user_id` on `account` (null: the user's personal account; the user must be
-- a member). PT403 admin_only, PT404 account_not_found.
create function public.admin_create_api_key(user_id uuid, name text, scopes text[] default null,
  expires_at timestamptz default null, account uuid default null)
returns public.api_key_created
language plpgsql
security definer
set search_path = ''
as $$
#variable_conflict use_variable
declare
  v_admin uuid := saasbase.require_admin();
  v_account uuid;
begin
  if not exists (select from auth.users u where u.id = user_id) then
    perform saasbase.fail('PT404', 'user_not_found', 'No such user');
  end if;
  v_account := saasbase.acting_account(account, user_id, null);
  return saasbase.make_api_key(v_admin, user_id, v_account, name, scopes, expires_at);
end;
$$;
revoke execute on function public.admin_create_api_key(uuid, text, text[], timestamptz, uuid) from public, anon;
grant execute on function public.admin_create_api_key(uuid, text, text[], timestamptz, uuid) to authenticated;

-- The key `p_key` locked, if the caller may manage it (its member, a member manager of its account, an
-- admin); PT404 api_key_not_found otherwise (a stranger learns nothing of other accounts' keys).
create function saasbase.manageable_api_key(p_key uuid) returns public.api_keys
language plpgsql
set search_path = ''
as $$
declare
  v_uid uuid := saasbase.require_user();
  v_row public.api_keys;
begin
  select * into v_row from public.api_keys k where k.id = p_key for update;
  if v_row.id is null or not (
    v_row.user_id = v_uid
    or v_row.account_id in (select saasbase.accounts_with_right('manage_members'))
    or saasbase.is_admin()
  ) then
    perform saasbase.fail('PT404', 'api_key_not_found', 'No such API key');
  end if;
  return v_row;
end;
$$;

-- Revokes a key at once (its next request is refused). Revoking a revoked key changes nothing.
create function public.revoke_api_key(key_id uuid) returns public.api_key_info
language plpgsql
security definer
set search_path = ''
as $$
#variable_conflict use_variable
declare
  v_row public.api_keys := saasbase.manageable_api_key(key_id);
begin
  if v_row.revoked_at is null then
    update public.api_keys k set revoked_at = now() where k.id = v_row.id returning * into v_row;
    perform saasbase.audit(saasbase.require_user(), 'api_key.revoke', 'api_key', v_row.id::text,
      jsonb_build_object('account_id', v_row.account_id, 'user_id', v_row.user_id, 'prefix', v_row.prefix));
  end if;
  return saasbase.api_key_info(v_row);
end;
$$;
revoke execute on function public.revoke_api_key(uuid) from public, anon;
grant execute on function public.revoke_api_key(uuid) to authenticated;

-- Renames a key (the same people as revoke).
create function public.rename_api_key(key_id uuid, name text) returns public.api_key_info
language plpgsql
security definer
set search_path = ''
as $$
#variable_conflict use_variable
declare
  v_row public.api_keys := saasbase.manageable_api_key(key_id);
begin
  perform saasbase.check_api_key_input(name, null, null);
  update public.api_keys k set name = btrim(name) where k.id = v_row.id returning * into v_row;
  return saasbase.api_key_info(v_row);
end;
$$;
revoke execute on function public.rename_api_key(uuid, text) from public, anon;
grant execute on function public.rename_api_key(uuid, text) to authenticated;

-- Keys the caller may see (RLS decides: their own; all of an account where they manage members; all for an
-- admin), newest first: of `account` when given, of `user_id` when given (an admin's view of a user's keys),
-- else the caller's own on every account. Never the hash. A plain select of public.api_keys listing the
-- columns does the same (`select=*` is refused: the hash column is granted to no one).
create function public.list_api_keys(account uuid default null, user_id uuid default null)
returns setof public.api_key_info
language sql
stable
set search_path = ''
as $$
  -- The listed columns one by one: the whole row would read the hash, which the caller may not.
  select row(k.id, k.account_id, k.user_id, k.name, k.prefix, k.last4, k.scopes, k.expires_at, k.last_used_at,
    k.revoked_at, k.created_at)::public.api_key_info
  from public.api_keys k
  where (list_api_keys.account is null or k.account_id = list_api_keys.account)
    and k.user_id = coalesce(list_api_keys.user_id,
      case when list_api_keys.account is null then (select auth.uid()) else k.user_id end)
  order by k.created_at desc, k.id
$$;
revoke execute on function public.list_api_keys(uuid, uuid) from public, anon;
grant execute on function public.list_api_keys(uuid, uuid) to authenticated;

-- A member who leaves or is removed loses the account's keys they made (they would otherwise act as a
-- member they no longer are); so does a user Auth bans or soft-deletes (a hard delete cascades).
create function saasbase.revoke_keys_of_former_member() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  update public.api_keys k set revoked_at = now()
  where k.account_id = old.account_id and k.user_id = old.user_id and k.revoked_at is null;
  return null;
end;
$$;
create trigger account_members_revoke_api_keys after delete on public.account_members
  for each row execute function saasbase.revoke_keys_of_former_member();

create function saasbase.revoke_keys_of_blocked_user() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  if new.deleted_at is not null or new.banned_until > now() then
    update public.api_keys k set revoked_at = now() where k.user_id = new.id and k.revoked_at is null;
  end if;
  return null;
end;
$$;
create trigger on_auth_user_blocked_revoke_api_keys after update of banned_until, deleted_at on auth.users
  for each row execute function saasbase.revoke_keys_of_blocked_user();

-- Rate limits: fixed windows of `window` (aligned to the epoch), one counter row per (bucket, window start).
-- Unlogged: a crash forgets the current windows' counts (a burst allowed once), and in exchange a counted
-- request writes no WAL. Rows of past windows are swept by the calls themselves (1 in 100 removes up to 500).
create unlogged table saasbase.rate_limits (
  bucket text not null,
  window_start timestamptz not null,
  hits integer not null,
  expires_at timestamptz not null,
  primary key (bucket, window_start)
);
create index rate_limits_expires on saasbase.rate_limits (expires_at);

-- Counts one hit on `p_bucket` (e.g. 'key:<id>', 'ip:<address>') and returns how many are left in the
-- window; past `p_max` in the window, refuses PT429 rate_limited with the seconds until the window ends in
-- HINT (`retry_after=N`: the functions answer it as Retry-After). The refused hit is not counted (its
-- transaction rolls back). Concurrent hits on one bucket serialize on its row: exactly `p_max` pass.
create function saasbase.take_rate_limit(p_bucket text, p_max integer, p_window interval) returns integer
language plpgsql
set search_path = ''
as $$
declare
  v_now timestamptz := saasbase.now();
  v_secs double precision := extract(epoch from p_window);
  v_start timestamptz;
  v_hits integer;
  v_retry integer;
begin
  if p_max is null or p_window is null then
    return null; -- no limit configured
  end if;
  if p_max < 1 or v_secs < 1 then
    raise exception 'take_rate_limit: max and window must be positive' using errcode = '22023';
  end if;
  v_start := to_timestamp(floor(extract(epoch from v_now) / v_secs) * v_secs);
  insert into saasbase.rate_limits as r (bucket, window_start, hits, expires_at)
  values (p_bucket, v_start, 1, v_start + p_window)
  on conflict (bucket, window_start) do update set hits = r.hits + 1
  returning r.hits into v_hits;
  if v_hits > p_max then
    v_retry := greatest(1, ceil(extract(epoch from (v_start + p_window) - v_now))::integer);
    raise exception using errcode = 'PT429', detail = 'rate_limited', hint = 'retry_after=' || v_retry,
      message = format('Too many requests: at most %s every %s seconds; try again in %s seconds',
        p_max, v_secs::bigint, v_retry);
  end if;
  if random() < 0.01 then
    delete from saasbase.rate_limits r where r.ctid in (
      select o.ctid from saasbase.rate_limits o where o.expires_at < v_now limit 500 for update skip locked);
  end if;
  return p_max - v_hits;
end;
$$;

-- For a function's own limits (a route's per-IP limit): take_rate_limit for the service role.
create function public.service_role_take_rate_limit(bucket text, max integer, window_seconds integer)
returns integer
language sql
security definer
set search_path = ''
as $$
  select saasbase.take_rate_limit(bucket, max, make_interval(secs => window_seconds))
$$;
revoke execute on function public.service_role_take_rate_limit(text, integer, integer) from public, anon, authenticated;
grant execute on function public.service_role_take_rate_limit(text, integer, integer) to service_role;

-- Verifies a key by its SHA-256 (hex; the function hashes what the client sent): one probe of the unique
-- index. Returns the key (id, account, member, scopes), or NO ROW alike for an unknown, revoked or expired
-- key (one answer, so nothing tells them apart). In the same statement: the client IP's hit (`client_ip`,
-- counted before the lookup, so guessing keys is throttled too: the refusal commits it) and the key's (both
-- PT429 rate_limited past their limit; a null limit is none), and last_used_at moved at most once a minute
-- (a busy key's row is not rewritten on every request, and a row another request is updating is skipped).
create function public.service_role_verify_api_key(key_hash text, client_ip text default null,
  ip_max integer default null, ip_window_seconds integer default null, key_max integer default null,
  key_window_seconds integer default null)
returns setof public.verified_api_key
language plpgsql
security definer
set search_path = ''
as $$
#variable_conflict use_variable
declare
  v_key public.api_keys;
begin
  if client_ip is not null then
    perform saasbase.take_rate_limit('ip:' || client_ip, ip_max, make_interval(secs => ip_window_seconds));
  end if;
  select * into v_key from public.api_keys k
  where k.key_hash = key_hash and k.revoked_at is null and (k.expires_at is null or k.expires_at > saasbase.now());
  if v_key.id is null then
    return;
  end if;
  perform saasbase.take_rate_limit('key:' || v_key.id, key_max, make_interval(secs => key_window_seconds));
  if v_key.last_used_at is null or v_key.last_used_at < now() - interval '1 minute' then
    update public.api_keys k set last_used_at = now()
    where k.id = (select l.id from public.api_keys l where l.id = v_key.id for update skip locked);
  end if;
  return next row(v_key.id, v_key.account_id, v_key.user_id, v_key.scopes)::public.verified_api_key;
end;
$$;
revoke execute on function public.service_role_verify_api_key(text, text, integer, integer, integer, integer)
  from public, anon, authenticated;
grant execute on function public.service_role_verify_api_key(text, text, integer, integer, integer, integer)
  to service_role;
