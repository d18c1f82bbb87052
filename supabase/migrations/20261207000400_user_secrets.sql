-- User secrets: an account's keys for third-party providers (a user's v0 key, say), which the functions use to
-- call that provider on the account's behalf. The value is encrypted by the `secrets` edge function before it
-- is written (AES-256-GCM, supabase/functions/_shared/secrets/; the key lives in the functions' secrets, never
-- in the database) and no client ever reads it back, its owner included: clients see the provider, the value's
-- last 4 characters and the times. Why in the function and not Supabase Vault: docs/secrets.md.
--
-- Who may do what: every member of an account lists its secrets (provider, last 4); setting or deleting a
-- team's takes the `manage_team` right (owners, by default: the key is billed by the provider to whoever owns
-- it, so the team's owners decide which one the team uses); a personal account's are its user's. A function
-- decrypting a team's secret for a member checks the `spend` right (using the key spends on it).

create table public.user_secrets (
  account_id uuid not null references public.accounts (id) on delete cascade,
  provider text not null check (provider ~ '^[a-z0-9][a-z0-9_-]{0,62}$'),
  -- AES-256-GCM output (the 16-byte tag at its end) and its 12-byte nonce. The associated data is the row's
  -- (account_id, provider): a ciphertext copied onto another row does not decrypt.
  ciphertext bytea not null check (octet_length(ciphertext) between 17 and 8192),
  nonce bytea not null check (octet_length(nonce) = 12),
  -- Which of SAASBASE_SECRETS_KEYS encrypted it: keys rotate (npm run secrets:rotate) without downtime.
  key_id text not null check (key_id ~ '^[A-Za-z0-9._-]{1,64}$'),
  last4 text not null check (char_length(last4) = 4),
  created_by uuid references auth.users (id) on delete set null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  primary key (account_id, provider)
);
comment on table public.user_secrets is
  'Third-party keys of an account, encrypted by the secrets function; clients read provider, last4 and times only.';
comment on column public.user_secrets.ciphertext is 'AES-256-GCM of the value; no client role may select it.';
-- The rotation walks the rows still under an old key; a user's deletion looks up the rows they created.
create index user_secrets_key_id_idx on public.user_secrets (key_id);
create index user_secrets_created_by_idx on public.user_secrets (created_by);

alter table public.user_secrets enable row level security;
create policy "Members read their accounts' secrets (not the values)" on public.user_secrets
  for select to authenticated
  using (account_id in (select saasbase.my_accounts()) or (select saasbase.is_admin()));
-- Column privileges: what a client may select at all. The ciphertext, its nonce and key id are not among them,
-- so `select *` is refused and no policy, present or future, can hand them out. Writes: the service role only.
grant select (account_id, provider, last4, created_by, created_at, updated_at) on public.user_secrets to authenticated;
grant select, insert, update, delete on public.user_secrets to service_role;

-- ---------------------------------------------------------------------------------------------------------
-- Client API

-- A secret as clients see it: never its value.
create type public.user_secret as (
  provider text, last4 text, created_by uuid, created_at timestamptz, updated_at timestamptz
);

-- The acting account's secrets, newest first: what the secrets function's GET answers (and supabase-js may call).
create function public.list_user_secrets(account uuid default null)
returns setof public.user_secret
language plpgsql stable
security definer
set search_path = ''
as $$
declare
  v_account uuid := saasbase.require_account(account, null);
begin
  return query
  select s.provider, s.last4, s.created_by, s.created_at, s.updated_at
  from public.user_secrets s where s.account_id = v_account order by s.updated_at desc, s.provider;
end;
$$;
revoke execute on function public.list_user_secrets(uuid) from public, anon;
grant execute on function public.list_user_secrets(uuid) to authenticated, service_role;

-- ---------------------------------------------------------------------------------------------------------
-- Service-role API (the secrets function: it holds the encryption key, so it writes; membership and rights are
-- checked here, in the same transaction as the write).

-- The account p_user acts for, checked for p_right, and existing (a personal account's id is its user's, which
-- acting_account takes without a lookup: a token that outlived its user must not reach the foreign key).
create function saasbase.secrets_account(p_account uuid, p_user uuid, p_right text) returns uuid
language plpgsql stable
set search_path = ''
as $$
declare
  v_account uuid := saasbase.acting_account(p_account, p_user, p_right);
begin
  if not exists (select 1 from public.accounts a where a.id = v_account) then
    perform saasbase.fail('PT404', 'account_not_found', 'No such account, or you are not a member of it');
  end if;
  return v_account;
end;
$$;

-- Stores (or replaces) the acting account's secret for `provider`, already encrypted by the caller. Returns the
-- row as clients see it. Audited without the value.
create function public.service_role_put_user_secret(
  account_id uuid, user_id uuid, provider text, ciphertext bytea, nonce bytea, key_id text, last4 text
)
returns public.user_secret
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_account uuid := saasbase.secrets_account(account_id, user_id, 'manage_team');
  v_row public.user_secret;
begin
  insert into public.user_secrets as s (account_id, provider, ciphertext, nonce, key_id, last4, created_by)
  values (v_account, service_role_put_user_secret.provider, service_role_put_user_secret.ciphertext,
    service_role_put_user_secret.nonce, service_role_put_user_secret.key_id, service_role_put_user_secret.last4,
    service_role_put_user_secret.user_id)
  on conflict on constraint user_secrets_pkey do update
    set ciphertext = excluded.ciphertext, nonce = excluded.nonce, key_id = excluded.key_id,
        last4 = excluded.last4, updated_at = now()
  returning s.provider, s.last4, s.created_by, s.created_at, s.updated_at into v_row;
  perform saasbase.audit(service_role_put_user_secret.user_id, 'secret.put', 'account', v_account::text,
    jsonb_build_object('provider', service_role_put_user_secret.provider, 'last4', service_role_put_user_secret.last4));
  return v_row;
end;
$$;
revoke execute on function public.service_role_put_user_secret(uuid, uuid, text, bytea, bytea, text, text)
  from public, anon, authenticated;
grant execute on function public.service_role_put_user_secret(uuid, uuid, text, bytea, bytea, text, text) to service_role;

-- Deletes the acting account's secret for `provider`; PT404 secret_not_found when there is none.
create function public.service_role_delete_user_secret(account_id uuid, user_id uuid, provider text)
returns void
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_account uuid := saasbase.secrets_account(account_id, user_id, 'manage_team');
begin
  delete from public.user_secrets s
  where s.account_id = v_account and s.provider = service_role_delete_user_secret.provider;
  if not found then
    perform saasbase.fail('PT404', 'secret_not_found', 'No secret is stored for this provider');
  end if;
  perform saasbase.audit(service_role_delete_user_secret.user_id, 'secret.delete', 'account', v_account::text,
    jsonb_build_object('provider', service_role_delete_user_secret.provider));
end;
$$;
revoke execute on function public.service_role_delete_user_secret(uuid, uuid, text) from public, anon, authenticated;
grant execute on function public.service_role_delete_user_secret(uuid, uuid, text) to service_role;

-- The encrypted secret a function decrypts to call the provider: for `user_id` acting for `account_id` (checked
-- for 'spend' on a team), or with user_id null for an account the caller has resolved itself. PT404
-- secret_not_found when none is stored.
create function public.service_role_read_user_secret(account_id uuid, user_id uuid, provider text)
returns table (ciphertext bytea, nonce bytea, key_id text)
language plpgsql stable
security definer
set search_path = ''
as $$
declare
  v_account uuid := case when user_id is null then account_id
    else saasbase.secrets_account(account_id, user_id, 'spend') end;
begin
  return query
  select s.ciphertext, s.nonce, s.key_id from public.user_secrets s
  where s.account_id = v_account and s.provider = service_role_read_user_secret.provider;
  if not found then
    perform saasbase.fail('PT404', 'secret_not_found', 'No secret is stored for this provider');
  end if;
end;
$$;
revoke execute on function public.service_role_read_user_secret(uuid, uuid, text) from public, anon, authenticated;
grant execute on function public.service_role_read_user_secret(uuid, uuid, text) to service_role;
