-- Licenses (issue #17, seed 002 Dev Forge): software licenses for the products a fork sells to run on its
-- customers' machines, in the way Keygen's users expect them: a product's POLICY (how long a license lasts,
-- how many machines it may be activated on, a grace period after expiry, the entitlements it grants, the
-- versions it covers), LICENSES keyed by ACCOUNT (a personal account or a team), MACHINES activated by
-- fingerprint, and one VALIDATION answering a stable code. The desktop app holds the key and nothing else:
-- the `licenses` function (verify_jwt off) calls the service-role functions below with it.
--
-- Where the pieces come from:
--   public.license_products   the config's `licensing.products` (service_role_sync_licensing): the policy, and
--                             how a license is sold (the plans whose subscription issues and renews it, and/or a
--                             one-off price)
--   public.licenses           issued when a purchase or a subscription invoice for a licensed product is paid
--                             (TRIGGERS on public.purchases / invoices / subscriptions, which the Stripe webhook's
--                             SQL writes: the billing functions are not re-defined), or by an admin (audited).
--                             The policy is copied onto the license when issued and refreshed when it renews:
--                             a customer keeps the terms they paid for until they pay again.
--   public.license_machines   activations (fingerprint, name, platform, last heartbeat)
--
-- Keys: 20 characters of Crockford's base32 (0-9 and A-Z without I, L, O, U: nothing to misread) in four
-- groups, `XXXXX-XXXXX-XXXXX-XXXXX`: 19 random characters (95 bits from gen_random_bytes) and a Luhn mod 32
-- check character, so a mistyped character or two swapped neighbours are told apart from a key before any
-- lookup. Typing is forgiving: case, spaces and dashes do not matter, and O, I, L read as 0, 1, 1. Only the
-- SHA-256 of the key is stored (its 95 random bits make a slow hash pointless) with its first group
-- (`key_prefix`) for support to find a license by; a key is shown once: in admin_issue_license's answer, or
-- for a license issued by a payment, once to its account through claim_license_key.
--
-- Validation codes (public.license_validation.code; the list is stable, clients switch on it):
--   VALID                 valid
--   NOT_FOUND             no such key (also any text that is not a well-formed key): nothing more is said
--   REVOKED               revoked (a refund, the owner, an admin): final
--   SUSPENDED             suspended by its owner or an admin; reinstate_license lifts it
--   PRODUCT_MISMATCH      the key is for another product than the one asked
--   EXPIRED               past expires_at: valid = true within the policy's grace period (the app keeps
--                         working and asks for a renewal), false after it
--   VERSION_NOT_ALLOWED   the version asked is above the policy's max_major_version
--   TOO_MANY_MACHINES     more live machines than the license allows (its policy lowered at a renewal)
--   NO_MACHINE            a fingerprint was given and the license has no live machine: activate first
--   FINGERPRINT_MISMATCH  a fingerprint was given and the license's live machines do not include it
-- Without a fingerprint the license alone is validated (machines not checked); apps send theirs.
--
-- Machines: a node-locked policy (`floating` false) allows 1 machine, a floating one `max_machines` (null: no
-- limit). With `heartbeat_minutes` a machine that has not sent a heartbeat for that long is dead: it holds no
-- seat, validates as not activated, and is removed when another machine needs its seat. Activation takes the
-- license row's lock first, so concurrent activations queue and exactly the limit get in.
--
-- Rate limits (saasbase.take_rate_limit, the API keys migration's limiter): every request by key counts against
-- the client IP before the key is looked up (so guessing keys is throttled, and an unknown key costs the same
-- as a known one), then against the license; PT429 rate_limited with Retry-After past either. Limits from the
-- config's `licensing.rateLimits` (saasbase.licensing_settings).

-- ---------------------------------------------------------------------------------------------------------
-- The catalog: licensed products and their policies (from the config)
create table public.license_products (
  id text primary key check (id ~ '^[a-z][a-z0-9_-]{0,62}$'),
  name text not null,
  -- Days a license lasts from its issue (and each renewal adds); null: perpetual.
  duration_days integer check (duration_days between 1 and 36500),
  -- Node-locked (false): one machine. Floating: up to max_machines (null: no limit).
  floating boolean not null default false,
  max_machines integer check (max_machines between 1 and 100000),
  heartbeat_minutes integer check (heartbeat_minutes between 1 and 525600),
  grace_days integer not null default 0 check (grace_days between 0 and 3650),
  entitlements text[] not null default '{}',
  -- Versions above this major are refused (VERSION_NOT_ALLOWED); null: every version.
  max_major_version integer check (max_major_version >= 0),
  -- How it is sold: a subscription to one of these plans issues it (its first paid invoice) and, when
  -- renews_with_subscription, each later paid invoice extends it by duration_days...
  plan_ids text[] not null default '{}',
  renews_with_subscription boolean not null default true,
  -- ...and/or a one-off purchase at this price (checkout { license: id }); null: not sold once.
  price_cents integer check (price_cents >= 50),
  sort_order integer not null default 0,
  -- A product removed from the config is deactivated: its licenses keep working, none is issued any more.
  active boolean not null default true,
  updated_at timestamptz not null default now(),
  check (floating or max_machines = 1)
);
comment on table public.license_products is
  'Licensed products and their policies, synced from the config''s licensing section.';

alter table public.license_products enable row level security;
create policy "Licensed products are readable by everyone" on public.license_products
  for select to anon, authenticated using (true);
grant select on public.license_products to anon, authenticated, service_role;

-- The limits of requests by key (the config's licensing.rateLimits); one row. Null: no limit.
create table saasbase.licensing_settings (
  id boolean primary key default true check (id),
  ip_max integer check (ip_max > 0),
  ip_window_seconds integer check (ip_window_seconds > 0),
  key_max integer check (key_max > 0),
  key_window_seconds integer check (key_window_seconds > 0),
  updated_at timestamptz not null default now()
);
insert into saasbase.licensing_settings (ip_max, ip_window_seconds, key_max, key_window_seconds)
values (60, 60, 30, 60);

-- ---------------------------------------------------------------------------------------------------------
-- One-off license purchases: public.purchases held credit packs only (credits > 0). A license bought once is a
-- purchase too (its refunds, chargebacks and KPIs go through the same rows), of no credits, naming its product.
alter table public.purchases add column license_product_id text references public.license_products (id);
alter table public.purchases drop constraint purchases_credits_check;
alter table public.purchases add constraint purchases_credits_check
  check (credits > 0 or (credits = 0 and license_product_id is not null));
create index purchases_license_product_id on public.purchases (license_product_id);
comment on column public.purchases.license_product_id is
  'The licensed product a one-off license purchase bought (credits 0); null for credit packs.';

-- ---------------------------------------------------------------------------------------------------------
-- Licenses and machines
create table public.licenses (
  id uuid primary key default gen_random_uuid(),
  account_id uuid not null references public.accounts (id) on delete cascade,
  -- The member it was issued to or bought by (null: a team's subscription, an admin's issue for the account).
  user_id uuid references auth.users (id) on delete set null,
  product_id text not null references public.license_products (id),
  key_prefix text not null check (key_prefix ~ '^[0-9A-HJKMNP-TV-Z]{5}$'),
  key_hash text not null unique check (key_hash ~ '^[0-9a-f]{64}$'),
  status text not null default 'active' check (status in ('active', 'suspended', 'revoked')),
  -- The policy, as of the issue or the last renewal.
  duration_days integer,
  floating boolean not null,
  max_machines integer,
  heartbeat_minutes integer,
  grace_days integer not null default 0,
  entitlements text[] not null default '{}',
  max_major_version integer,
  renews_with_subscription boolean not null default false,
  expires_at timestamptz, -- null: perpetual
  -- What issued it.
  source text not null check (source in ('purchase', 'subscription', 'admin')),
  purchase_id uuid references public.purchases (id) on delete set null,
  subscription_id text,
  suspended_at timestamptz,
  -- An admin's suspension is lifted by an admin only (the owner's by either).
  suspended_by_admin boolean not null default false,
  revoked_at timestamptz,
  last_validated_at timestamptz,
  created_by uuid references auth.users (id) on delete set null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
comment on table public.licenses is
  'Software licenses of an account: the SHA-256 of the key only, its first group as key_prefix; the policy as sold.';
create index licenses_account on public.licenses (account_id, created_at desc);
create index licenses_user on public.licenses (user_id);
create index licenses_created_by on public.licenses (created_by);
create index licenses_product on public.licenses (product_id);
create index licenses_key_prefix on public.licenses (key_prefix);
create index licenses_purchase on public.licenses (purchase_id);
-- One license per (subscription, product) and per (purchase, product): a replayed event finds it.
create unique index licenses_subscription_product on public.licenses (subscription_id, product_id)
  where subscription_id is not null;
create unique index licenses_purchase_product on public.licenses (purchase_id, product_id)
  where purchase_id is not null;
create trigger licenses_touch before update on public.licenses
  for each row execute function saasbase.touch_updated_at();

create table public.license_machines (
  id uuid primary key default gen_random_uuid(),
  license_id uuid not null references public.licenses (id) on delete cascade,
  -- The license's account, kept here for the policy (one lookup, like every account-keyed table).
  account_id uuid not null references public.accounts (id) on delete cascade,
  fingerprint text not null check (char_length(fingerprint) between 1 and 255),
  name text check (char_length(name) <= 255),
  platform text check (char_length(platform) <= 100),
  last_heartbeat_at timestamptz not null default now(),
  created_at timestamptz not null default now(),
  unique (license_id, fingerprint)
);
comment on table public.license_machines is 'Machines a license is activated on, by fingerprint.';
create index license_machines_account on public.license_machines (account_id);

alter table public.licenses enable row level security;
alter table public.license_machines enable row level security;
-- Every member of the account sees its licenses and machines (they run the software); admins see all. Written
-- only through the functions below.
create policy "Licenses are readable by the account's members and admins" on public.licenses
  for select to authenticated using (
    account_id in (select saasbase.my_accounts()) or (select saasbase.is_admin())
  );
create policy "License machines are readable by account members and admins" on public.license_machines
  for select to authenticated using (
    account_id in (select saasbase.my_accounts()) or (select saasbase.is_admin())
  );
-- The key's hash is readable by no API role (a client lists the columns; `select=*` is refused).
grant select (id, account_id, user_id, product_id, key_prefix, status, duration_days, floating, max_machines,
  heartbeat_minutes, grace_days, entitlements, max_major_version, renews_with_subscription, expires_at, source,
  purchase_id, subscription_id, suspended_at, suspended_by_admin, revoked_at, last_validated_at, created_by,
  created_at, updated_at) on public.licenses to authenticated, service_role;
grant select on public.license_machines to authenticated, service_role;

-- Internal: the keys of licenses issued by a payment, until their account claims them (claim_license_key),
-- which deletes the row: the only copy of a key in plain text. No API role reads it.
create table saasbase.license_key_pickups (
  license_id uuid primary key references public.licenses (id) on delete cascade,
  key text not null,
  created_at timestamptz not null default now()
);

-- Internal: each paid invoice applied to a licensed product once (the issue, or one renewal), whatever the
-- order and number of the events that bring the invoice and its subscription.
create table saasbase.license_invoices (
  invoice_id text not null,
  product_id text not null,
  license_id uuid not null references public.licenses (id) on delete cascade,
  applied_at timestamptz not null default now(),
  primary key (invoice_id, product_id)
);
create index license_invoices_license on saasbase.license_invoices (license_id);

-- ---------------------------------------------------------------------------------------------------------
-- Results
create type public.license_validation as (
  valid boolean, code text, license_id uuid, account_id uuid, product_id text, expires_at timestamptz,
  entitlements text[], machines_used integer, machines_max integer
);
-- A key, this once: admin_issue_license, claim_license_key, reset_license_key.
create type public.license_issued as (
  license_id uuid, key text, account_id uuid, product_id text, status text, expires_at timestamptz,
  created_at timestamptz
);
-- What the key's holder may read of its license (GET /licenses/:key, the signed file).
create type public.license_details as (
  license_id uuid, product_id text, product_name text, status text, key_prefix text, expires_at timestamptz,
  grace_until timestamptz, entitlements text[], floating boolean, max_machines integer, heartbeat_minutes integer,
  max_major_version integer, machines_used integer, machines jsonb, created_at timestamptz, validation public.license_validation
);
-- A machine after activation, heartbeat or deactivation, with the license's seats.
create type public.license_machine_result as (
  machine_id uuid, license_id uuid, fingerprint text, name text, platform text, last_heartbeat_at timestamptz,
  created_at timestamptz, activated boolean, machines_used integer, machines_max integer
);

-- ---------------------------------------------------------------------------------------------------------
-- Keys
-- The check character of `p_body` (Luhn mod 32 over Crockford's base32), or null for text outside the alphabet.
create function saasbase.license_check_char(p_body text) returns text
language plpgsql immutable
set search_path = ''
as $$
declare
  v_alphabet constant text := '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
  v_factor integer := 2;
  v_sum integer := 0;
  v_code integer;
  v_addend integer;
begin
  for i in reverse char_length(p_body) .. 1 loop
    v_code := strpos(v_alphabet, substr(p_body, i, 1)) - 1;
    if v_code < 0 then
      return null;
    end if;
    v_addend := v_factor * v_code;
    v_addend := v_addend / 32 + v_addend % 32;
    v_sum := v_sum + v_addend;
    v_factor := 3 - v_factor;
  end loop;
  return substr(v_alphabet, 1 + (32 - v_sum % 32) % 32, 1);
end;
$$;

-- A key as typed, in its canonical form without dashes (20 characters), or null when it is not a well-formed
-- key (wrong length, a character outside the alphabet, a wrong check character).
create function saasbase.license_key_canonical(p_key text) returns text
language plpgsql immutable
set search_path = ''
as $$
declare
  v_key text;
begin
  if p_key is null or char_length(p_key) > 64 then
    return null;
  end if;
  v_key := translate(upper(regexp_replace(p_key, '[\s-]', '', 'g')), 'OIL', '011');
  if v_key !~ '^[0-9A-HJKMNP-TV-Z]{20}$' or saasbase.license_check_char(left(v_key, 19)) <> right(v_key, 1) then
    return null;
  end if;
  return v_key;
end;
$$;

-- The stored hash of a canonical key.
create function saasbase.license_key_hash(p_canonical text) returns text
language sql immutable
set search_path = ''
as $$
  select encode(sha256(convert_to(p_canonical, 'UTF8')), 'hex')
$$;

-- A new random key, with its dashes. Bytes masked to 5 bits: 256 is a multiple of 32, so every character is
-- equally likely.
create function saasbase.new_license_key() returns text
language plpgsql volatile
set search_path = ''
as $$
declare
  v_alphabet constant text := '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
  v_bytes bytea := extensions.gen_random_bytes(19);
  v_body text := '';
  v_key text;
begin
  for i in 0 .. 18 loop
    v_body := v_body || substr(v_alphabet, 1 + (get_byte(v_bytes, i) & 31), 1);
  end loop;
  v_key := v_body || saasbase.license_check_char(v_body);
  return concat_ws('-', substr(v_key, 1, 5), substr(v_key, 6, 5), substr(v_key, 11, 5), substr(v_key, 16, 5));
end;
$$;

-- The license a key names (no row for an unknown or malformed key).
create function saasbase.license_by_key(p_key text) returns public.licenses
language sql stable
set search_path = ''
as $$
  select l.* from public.licenses l
  where l.key_hash = saasbase.license_key_hash(saasbase.license_key_canonical(p_key))
$$;

-- ---------------------------------------------------------------------------------------------------------
-- Validation
-- Whether a machine of `p_license` is alive (its heartbeat recent enough, when the policy asks for them).
create function saasbase.machine_alive(p_license public.licenses, p_heartbeat timestamptz) returns boolean
language sql stable
set search_path = ''
as $$
  select p_license.heartbeat_minutes is null
    or p_heartbeat > saasbase.now() - make_interval(mins => p_license.heartbeat_minutes)
$$;

-- The major of a semantic version (1.2.3, v2.0.0-beta.1), or null for anything else.
create function saasbase.version_major(p_version text) returns integer
language sql immutable
set search_path = ''
as $$
  select (regexp_match(p_version, '^v?(\d{1,9})(\.\d{1,9}){0,2}([-+][0-9A-Za-z.+-]*)?$'))[1]::integer
$$;

-- The validation of a license (see the codes at the top). Reads only: the callers count the request.
create function saasbase.license_validation_of(p_license public.licenses, p_fingerprint text, p_product text,
  p_version text)
returns public.license_validation
language plpgsql stable
set search_path = ''
as $$
declare
  v_now timestamptz := saasbase.now();
  v_used integer;
  v_mine boolean;
  v_code text;
  v_in_grace boolean := false;
begin
  if p_license.id is null then
    return row(false, 'NOT_FOUND', null, null, null, null, '{}', null, null)::public.license_validation;
  end if;
  select count(*) filter (where saasbase.machine_alive(p_license, m.last_heartbeat_at)),
    coalesce(bool_or(m.fingerprint = p_fingerprint and saasbase.machine_alive(p_license, m.last_heartbeat_at)), false)
  into v_used, v_mine
  from public.license_machines m where m.license_id = p_license.id;

  if p_license.status = 'revoked' then
    v_code := 'REVOKED';
  elsif p_license.status = 'suspended' then
    v_code := 'SUSPENDED';
  elsif p_product is not null and p_product <> p_license.product_id then
    v_code := 'PRODUCT_MISMATCH';
  elsif p_license.expires_at is not null and v_now >= p_license.expires_at
      and v_now >= p_license.expires_at + make_interval(days => p_license.grace_days) then
    v_code := 'EXPIRED';
  elsif p_version is not null and p_license.max_major_version is not null
      and coalesce(saasbase.version_major(p_version) > p_license.max_major_version, true) then
    v_code := 'VERSION_NOT_ALLOWED';
  elsif p_license.max_machines is not null and v_used > p_license.max_machines then
    v_code := 'TOO_MANY_MACHINES';
  elsif p_fingerprint is not null and v_used = 0 then
    v_code := 'NO_MACHINE';
  elsif p_fingerprint is not null and not v_mine then
    v_code := 'FINGERPRINT_MISMATCH';
  elsif p_license.expires_at is not null and v_now >= p_license.expires_at then
    -- In the grace period: everything else holds, so the app keeps working and says to renew.
    v_code := 'EXPIRED';
    v_in_grace := true;
  else
    v_code := 'VALID';
  end if;
  return row(v_code = 'VALID' or v_in_grace, v_code, p_license.id, p_license.account_id, p_license.product_id,
    p_license.expires_at, p_license.entitlements, v_used, p_license.max_machines)::public.license_validation;
end;
$$;

-- Counts a request by key: the client IP first (before the lookup: an unknown key costs what a known one
-- does), then the license. PT429 rate_limited past either.
create function saasbase.count_license_request(p_client_ip text, p_license uuid) returns void
language plpgsql
set search_path = ''
as $$
declare
  v_limits saasbase.licensing_settings;
begin
  select * into v_limits from saasbase.licensing_settings;
  if p_client_ip is not null then
    perform saasbase.take_rate_limit('license-ip:' || p_client_ip, v_limits.ip_max,
      make_interval(secs => v_limits.ip_window_seconds));
  end if;
  if p_license is not null then
    perform saasbase.take_rate_limit('license:' || p_license, v_limits.key_max,
      make_interval(secs => v_limits.key_window_seconds));
  end if;
end;
$$;

-- The validation by key, for the service role: what the releases function gates downloads with. Counts
-- nothing (the caller throttles its own route).
create function public.service_role_validate_license(key text, fingerprint text default null,
  product text default null, version text default null)
returns public.license_validation
language sql
stable
security definer
set search_path = ''
as $$
  select saasbase.license_validation_of(saasbase.license_by_key(key), fingerprint, product, version)
$$;
revoke execute on function public.service_role_validate_license(text, text, text, text) from public, anon, authenticated;
grant execute on function public.service_role_validate_license(text, text, text, text) to service_role;

-- The licenses function's validation (POST /licenses/validate): the request counted per client IP and per
-- license (PT429 rate_limited), then validated; last_validated_at moves at most once a minute (a busy
-- license's row is not rewritten on every request, and one another request is updating is skipped).
create function public.service_role_check_license(key text, client_ip text default null,
  fingerprint text default null, product text default null, version text default null)
returns public.license_validation
language plpgsql
security definer
set search_path = ''
as $$
#variable_conflict use_variable
declare
  v_license public.licenses;
begin
  perform saasbase.count_license_request(client_ip, null);
  v_license := saasbase.license_by_key(key);
  if v_license.id is not null then
    perform saasbase.count_license_request(null, v_license.id);
    if v_license.last_validated_at is null or v_license.last_validated_at < now() - interval '1 minute' then
      update public.licenses l set last_validated_at = now()
      where l.id = (select x.id from public.licenses x where x.id = v_license.id for update skip locked);
    end if;
  end if;
  return saasbase.license_validation_of(v_license, fingerprint, product, version);
end;
$$;
revoke execute on function public.service_role_check_license(text, text, text, text, text)
  from public, anon, authenticated;
grant execute on function public.service_role_check_license(text, text, text, text, text) to service_role;

-- The license of a key for a request by its holder, counted (PT429); PT404 license_not_found for an unknown
-- key (the same refusal for any text that is no key). With p_lock, the license row is locked.
create function saasbase.license_for_request(p_key text, p_client_ip text, p_lock boolean) returns public.licenses
language plpgsql
set search_path = ''
as $$
declare
  v_license public.licenses;
begin
  perform saasbase.count_license_request(p_client_ip, null);
  if p_lock then
    select * into v_license from public.licenses l
    where l.key_hash = saasbase.license_key_hash(saasbase.license_key_canonical(p_key)) for update;
  else
    v_license := saasbase.license_by_key(p_key);
  end if;
  if v_license.id is null then
    perform saasbase.fail('PT404', 'license_not_found', 'No license has this key');
  end if;
  perform saasbase.count_license_request(null, v_license.id);
  return v_license;
end;
$$;

-- What the key's holder may read of its license: the policy, the machines, the validation now.
create function public.service_role_license_details(key text, client_ip text default null)
returns public.license_details
language plpgsql
security definer
set search_path = ''
as $$
#variable_conflict use_variable
declare
  v_license public.licenses := saasbase.license_for_request(key, client_ip, false);
  v_check public.license_validation := saasbase.license_validation_of(v_license, null, null, null);
begin
  return row(v_license.id, v_license.product_id, (select p.name from public.license_products p where p.id = v_license.product_id),
    v_license.status, v_license.key_prefix, v_license.expires_at,
    v_license.expires_at + make_interval(days => v_license.grace_days), v_license.entitlements, v_license.floating,
    v_license.max_machines, v_license.heartbeat_minutes, v_license.max_major_version, v_check.machines_used,
    coalesce((select jsonb_agg(jsonb_build_object('id', m.id, 'fingerprint', m.fingerprint, 'name', m.name,
        'platform', m.platform, 'last_heartbeat_at', m.last_heartbeat_at, 'created_at', m.created_at,
        'alive', saasbase.machine_alive(v_license, m.last_heartbeat_at)) order by m.created_at)
      from public.license_machines m where m.license_id = v_license.id), '[]'),
    v_license.created_at, v_check)::public.license_details;
end;
$$;
revoke execute on function public.service_role_license_details(text, text) from public, anon, authenticated;
grant execute on function public.service_role_license_details(text, text) to service_role;

-- ---------------------------------------------------------------------------------------------------------
-- Machines
create function saasbase.machine_result(p_license public.licenses, p_machine public.license_machines,
  p_activated boolean)
returns public.license_machine_result
language sql stable
set search_path = ''
as $$
  select row(p_machine.id, p_license.id, p_machine.fingerprint, p_machine.name, p_machine.platform,
    p_machine.last_heartbeat_at, p_machine.created_at, p_activated,
    (select count(*)::integer from public.license_machines m
     where m.license_id = p_license.id and saasbase.machine_alive(p_license, m.last_heartbeat_at)),
    p_license.max_machines)::public.license_machine_result
$$;

-- Refuses a license that may not take a machine now (its validation not valid, but for the machine codes):
-- PT403 license_not_valid, the code in the message.
create function saasbase.require_usable_license(p_license public.licenses) returns void
language plpgsql stable
set search_path = ''
as $$
declare
  v_check public.license_validation := saasbase.license_validation_of(p_license, null, null, null);
begin
  if not v_check.valid and v_check.code <> 'TOO_MANY_MACHINES' then
    perform saasbase.fail('PT403', 'license_not_valid', format('This license cannot be used: %s', v_check.code));
  end if;
end;
$$;

-- Activates a machine on the key's license, or refreshes it when its fingerprint is activated already
-- (activated = false then: a retry, or an app re-activating at start, is answered the same machine). The
-- license row is locked first, so activations of one license queue: of 20 at once on a 3-machine license,
-- exactly 3 get in. Dead machines (no heartbeat in time) are removed when their seat is needed. PT404
-- license_not_found, PT403 license_not_valid, PT409 machine_limit_reached, PT422 invalid_machine.
create function public.service_role_activate_machine(key text, fingerprint text, name text default null,
  platform text default null, client_ip text default null)
returns public.license_machine_result
language plpgsql
security definer
set search_path = ''
as $$
#variable_conflict use_variable
declare
  v_license public.licenses;
  v_machine public.license_machines;
  v_used integer;
begin
  if fingerprint is null or char_length(fingerprint) not between 1 and 255
    or char_length(name) > 255 or char_length(platform) > 100 then
    perform saasbase.fail('PT422', 'invalid_machine',
      'A machine needs a fingerprint of 1 to 255 characters (a name up to 255, a platform up to 100)');
  end if;
  v_license := saasbase.license_for_request(key, client_ip, true);
  perform saasbase.require_usable_license(v_license);
  select * into v_machine from public.license_machines m
  where m.license_id = v_license.id and m.fingerprint = fingerprint;
  if found and saasbase.machine_alive(v_license, v_machine.last_heartbeat_at) then
    update public.license_machines m set last_heartbeat_at = now(), name = coalesce(name, m.name),
      platform = coalesce(platform, m.platform)
    where m.id = v_machine.id returning * into v_machine;
    return saasbase.machine_result(v_license, v_machine, false);
  end if;
  -- A dead machine of this fingerprint comes back as a new activation, seat limit and all.
  delete from public.license_machines m where m.license_id = v_license.id and m.fingerprint = fingerprint;
  select count(*) into v_used from public.license_machines m
  where m.license_id = v_license.id and saasbase.machine_alive(v_license, m.last_heartbeat_at);
  if v_license.max_machines is not null and v_used >= v_license.max_machines then
    perform saasbase.fail('PT409', 'machine_limit_reached', format(
      'This license is activated on %s of its %s machines: deactivate one first', v_used, v_license.max_machines));
  end if;
  delete from public.license_machines m
  where m.license_id = v_license.id and not saasbase.machine_alive(v_license, m.last_heartbeat_at);
  insert into public.license_machines (license_id, account_id, fingerprint, name, platform)
  values (v_license.id, v_license.account_id, fingerprint, name, platform)
  returning * into v_machine;
  return saasbase.machine_result(v_license, v_machine, true);
end;
$$;
revoke execute on function public.service_role_activate_machine(text, text, text, text, text)
  from public, anon, authenticated;
grant execute on function public.service_role_activate_machine(text, text, text, text, text) to service_role;

-- A machine's heartbeat (floating seats of machines that stop sending them free up). PT404 license_not_found,
-- machine_not_found (never activated, deactivated, or dead: activate again).
create function public.service_role_machine_heartbeat(key text, fingerprint text, client_ip text default null)
returns public.license_machine_result
language plpgsql
security definer
set search_path = ''
as $$
#variable_conflict use_variable
declare
  v_license public.licenses := saasbase.license_for_request(key, client_ip, false);
  v_machine public.license_machines;
begin
  update public.license_machines m set last_heartbeat_at = now()
  where m.license_id = v_license.id and m.fingerprint = fingerprint
    and saasbase.machine_alive(v_license, m.last_heartbeat_at)
  returning * into v_machine;
  if v_machine.id is null then
    perform saasbase.fail('PT404', 'machine_not_found', 'This machine is not activated on this license');
  end if;
  return saasbase.machine_result(v_license, v_machine, false);
end;
$$;
revoke execute on function public.service_role_machine_heartbeat(text, text, text) from public, anon, authenticated;
grant execute on function public.service_role_machine_heartbeat(text, text, text) to service_role;

-- Deactivates a machine by key and fingerprint (its seat is free at once). PT404 license_not_found,
-- machine_not_found.
create function public.service_role_deactivate_machine(key text, fingerprint text, client_ip text default null)
returns public.license_machine_result
language plpgsql
security definer
set search_path = ''
as $$
#variable_conflict use_variable
declare
  v_license public.licenses := saasbase.license_for_request(key, client_ip, false);
  v_machine public.license_machines;
begin
  delete from public.license_machines m where m.license_id = v_license.id and m.fingerprint = fingerprint
  returning * into v_machine;
  if v_machine.id is null then
    perform saasbase.fail('PT404', 'machine_not_found', 'This machine is not activated on this license');
  end if;
  return saasbase.machine_result(v_license, v_machine, false);
end;
$$;
revoke execute on function public.service_role_deactivate_machine(text, text, text) from public, anon, authenticated;
grant execute on function public.service_role_deactivate_machine(text, text, text) to service_role;

-- ---------------------------------------------------------------------------------------------------------
-- Issuing
-- Issues a license of `p_product` to `p_account` with the product's policy, expiring `p_expires_at` (default:
-- the policy's duration from now; perpetual without one); audited as `p_actor` (null: the payment that issued
-- it). Returns it with its key, which is nowhere else unless the caller keeps it (p_pickup: for the account to
-- claim once).
create function saasbase.issue_license(p_account uuid, p_user uuid, p_product public.license_products,
  p_source text, p_purchase uuid, p_subscription text, p_expires_at timestamptz, p_actor uuid, p_pickup boolean)
returns public.license_issued
language plpgsql
set search_path = ''
as $$
declare
  v_key text;
  v_license public.licenses;
begin
  for attempt in 1 .. 3 loop
    v_key := saasbase.new_license_key();
    begin
      insert into public.licenses (account_id, user_id, product_id, key_prefix, key_hash, duration_days, floating,
        max_machines, heartbeat_minutes, grace_days, entitlements, max_major_version, renews_with_subscription,
        expires_at, source, purchase_id, subscription_id, created_by)
      values (p_account, p_user, p_product.id, left(v_key, 5),
        saasbase.license_key_hash(saasbase.license_key_canonical(v_key)), p_product.duration_days,
        p_product.floating, p_product.max_machines, p_product.heartbeat_minutes, p_product.grace_days,
        p_product.entitlements, p_product.max_major_version, p_product.renews_with_subscription,
        coalesce(p_expires_at, saasbase.now() + make_interval(days => p_product.duration_days)),
        p_source, p_purchase, p_subscription, p_actor)
      returning * into v_license;
      exit;
    exception when unique_violation then
      -- Another license of the same purchase or subscription got there first: that one stands.
      if p_purchase is not null or p_subscription is not null then
        raise;
      end if;
      -- Two equal 95-bit keys: never in practice; a new key.
    end;
  end loop;
  if p_pickup then
    insert into saasbase.license_key_pickups (license_id, key) values (v_license.id, v_key);
  end if;
  perform saasbase.audit(p_actor, 'license.issue', 'license', v_license.id::text, jsonb_build_object(
    'account_id', p_account, 'product_id', p_product.id, 'source', p_source, 'key_prefix', v_license.key_prefix,
    'expires_at', v_license.expires_at, 'purchase_id', p_purchase, 'subscription_id', p_subscription));
  return row(v_license.id, v_key, v_license.account_id, v_license.product_id, v_license.status,
    v_license.expires_at, v_license.created_at)::public.license_issued;
end;
$$;

-- An admin issues a license to an account (or the service role does: the licenses function's POST /licenses
-- for an admin). expires_at: default the policy's duration from now. The key is in this answer only. PT403
-- admin_only, PT404 account_not_found / license_product_not_found, PT422 invalid_license.
create function public.admin_issue_license(account_id uuid, product_id text, expires_at timestamptz default null,
  user_id uuid default null)
returns public.license_issued
language plpgsql
security definer
set search_path = ''
as $$
#variable_conflict use_variable
declare
  v_actor uuid;
  v_product public.license_products;
begin
  if auth.role() is distinct from 'service_role' then
    v_actor := saasbase.require_admin();
  end if;
  if not exists (select from public.accounts a where a.id = account_id) then
    perform saasbase.fail('PT404', 'account_not_found', 'No such account');
  end if;
  if user_id is not null and not exists (
      select from public.account_members m where m.account_id = account_id and m.user_id = user_id) then
    perform saasbase.fail('PT422', 'invalid_license', 'user_id must be a member of the account');
  end if;
  select * into v_product from public.license_products p where p.id = product_id;
  if not found then
    perform saasbase.fail('PT404', 'license_product_not_found', format('No licensed product %L', product_id));
  end if;
  if expires_at is not null and expires_at <= saasbase.now() then
    perform saasbase.fail('PT422', 'invalid_license', 'expires_at must be in the future');
  end if;
  return saasbase.issue_license(account_id, user_id, v_product, 'admin', null, null, expires_at, v_actor, false);
end;
$$;
revoke execute on function public.admin_issue_license(uuid, text, timestamptz, uuid) from public, anon;
grant execute on function public.admin_issue_license(uuid, text, timestamptz, uuid) to authenticated, service_role;

-- ---------------------------------------------------------------------------------------------------------
-- Issued by payments (triggers on the billing tables the Stripe webhook's SQL writes)

-- A one-off purchase of a licensed product: its license (perpetual, or the policy's duration). Refunded in
-- full (status 'refunded', by a refund or a chargeback): its license is revoked.
create function saasbase.license_on_purchase() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_product public.license_products;
begin
  if new.license_product_id is null then
    return null;
  end if;
  if tg_op = 'INSERT' then
    select * into v_product from public.license_products p where p.id = new.license_product_id;
    if not exists (select from public.licenses l where l.purchase_id = new.id and l.product_id = v_product.id) then
      perform saasbase.issue_license(new.account_id, null, v_product, 'purchase', new.id, null, null, null, true);
    end if;
  elsif new.status = 'refunded' and old.status <> 'refunded' then
    update public.licenses l set status = 'revoked', revoked_at = now()
    where l.purchase_id = new.id and l.status <> 'revoked';
    perform saasbase.audit(null, 'license.revoke', 'license', l.id::text,
      jsonb_build_object('reason', 'refund', 'purchase_id', new.id))
    from public.licenses l where l.purchase_id = new.id;
  end if;
  return null;
end;
$$;
create trigger purchases_license after insert or update of status on public.purchases
  for each row execute function saasbase.license_on_purchase();

-- A paid invoice of a subscription to a licensed plan: the first issues the license (for the policy's
-- duration), each later one extends it to the duration from the payment (never shortening it: a yearly
-- subscription's renewal, paid as the license expires, adds a year) and refreshes its policy, when it renews
-- with the subscription. Once per invoice and product
-- (saasbase.license_invoices), however often and in whatever order the invoice and its subscription's events
-- arrive: the invoice's trigger applies it when the subscription is known, the subscription's trigger applies
-- the paid invoices that came before it. A revoked license is not renewed.
create function saasbase.apply_license_invoice(p_invoice text) returns void
language plpgsql
set search_path = ''
as $$
declare
  v_invoice public.invoices;
  v_subscription public.subscriptions;
  v_product public.license_products;
  v_license public.licenses;
begin
  select * into v_invoice from public.invoices i where i.id = p_invoice;
  if v_invoice.status is distinct from 'paid' or v_invoice.subscription_id is null then
    return;
  end if;
  select * into v_subscription from public.subscriptions s where s.id = v_invoice.subscription_id;
  if v_subscription.plan_id is null then
    return; -- the subscription's event comes later: its trigger applies this invoice then
  end if;
  for v_product in
    select * from public.license_products p where v_subscription.plan_id = any (p.plan_ids) and p.active order by p.id
  loop
    -- One subscription's invoices apply one at a time (the license row may not exist yet to lock).
    perform pg_advisory_xact_lock(hashtextextended('license:' || v_subscription.id || ':' || v_product.id, 0));
    if exists (select from saasbase.license_invoices li
        where li.invoice_id = v_invoice.id and li.product_id = v_product.id) then
      continue;
    end if;
    select * into v_license from public.licenses l
    where l.subscription_id = v_subscription.id and l.product_id = v_product.id for update;
    if v_license.id is null then
      perform saasbase.issue_license(v_subscription.account_id, null, v_product, 'subscription', null,
        v_subscription.id, null, null, true);
      select * into v_license from public.licenses l
      where l.subscription_id = v_subscription.id and l.product_id = v_product.id;
    elsif v_license.status <> 'revoked' and v_license.renews_with_subscription then
      update public.licenses l set
        -- The paid period from now, never less than the license had: a plan billed monthly under a yearly
        -- policy keeps a year past its latest payment, not a year more for every month paid.
        expires_at = case when v_product.duration_days is null then null
          else greatest(l.expires_at, saasbase.now() + make_interval(days => v_product.duration_days)) end,
        duration_days = v_product.duration_days, floating = v_product.floating,
        max_machines = v_product.max_machines, heartbeat_minutes = v_product.heartbeat_minutes,
        grace_days = v_product.grace_days, entitlements = v_product.entitlements,
        max_major_version = v_product.max_major_version,
        renews_with_subscription = v_product.renews_with_subscription
      where l.id = v_license.id
      returning * into v_license;
      perform saasbase.audit(null, 'license.renew', 'license', v_license.id::text, jsonb_build_object(
        'invoice_id', v_invoice.id, 'subscription_id', v_subscription.id, 'expires_at', v_license.expires_at));
    end if;
    insert into saasbase.license_invoices (invoice_id, product_id, license_id)
    values (v_invoice.id, v_product.id, v_license.id);
  end loop;
end;
$$;

create function saasbase.license_on_invoice() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  if new.status = 'paid' and (tg_op = 'INSERT' or old.status is distinct from 'paid') then
    perform saasbase.apply_license_invoice(new.id);
  end if;
  return null;
end;
$$;
create trigger invoices_license after insert or update of status on public.invoices
  for each row execute function saasbase.license_on_invoice();

-- A paid invoice that issued or renewed a license refunded in full: the license is suspended as by an admin
-- (validation answers SUSPENDED; an admin looks and reinstates or revokes it), whichever invoice it was.
create function saasbase.license_on_invoice_refund() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  if new.amount_paid > 0 and new.refunded_cents >= new.amount_paid and old.refunded_cents < old.amount_paid then
    perform saasbase.audit(null, 'license.suspend', 'license', l.id::text,
      jsonb_build_object('reason', 'refund', 'invoice_id', new.id, 'account_id', l.account_id))
    from public.licenses l
    where l.status = 'active' and l.id in (select li.license_id from saasbase.license_invoices li where li.invoice_id = new.id);
    update public.licenses l set status = 'suspended', suspended_at = now(), suspended_by_admin = true
    where l.status = 'active' and l.id in (select li.license_id from saasbase.license_invoices li where li.invoice_id = new.id);
  end if;
  return null;
end;
$$;
create trigger invoices_license_refund after update of refunded_cents on public.invoices
  for each row execute function saasbase.license_on_invoice_refund();

create function saasbase.license_on_subscription() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_invoice text;
begin
  if new.plan_id is null or (tg_op = 'UPDATE' and old.plan_id is not distinct from new.plan_id)
    or not exists (select from public.license_products p where new.plan_id = any (p.plan_ids) and p.active) then
    return null;
  end if;
  for v_invoice in
    select i.id from public.invoices i where i.subscription_id = new.id and i.status = 'paid' order by i.created_at, i.id
  loop
    perform saasbase.apply_license_invoice(v_invoice);
  end loop;
  return null;
end;
$$;
create trigger subscriptions_license after insert or update of plan_id on public.subscriptions
  for each row execute function saasbase.license_on_subscription();

-- A paid checkout of a one-off license (metadata kind 'license', written by the checkout function): the
-- purchase row, of no credits, naming the product; its trigger issues the license (once per checkout session).
-- Refunds and chargebacks of it go through service_role_return_payment as a credit pack's do (a refund before
-- this is recorded is held, and applied now). PT409 customer_not_linked without an account, PT404
-- license_product_not_found.
create function public.service_role_record_license_purchase(account_id uuid, checkout_session_id text,
  payment_intent_id text, product_id text, amount_cents integer, currency text)
returns public.purchases
language plpgsql
security definer
set search_path = ''
as $$
#variable_conflict use_variable
declare
  v_purchase public.purchases;
  v_early saasbase.early_refunds;
begin
  if account_id is null then
    perform saasbase.fail('PT409', 'customer_not_linked',
      format('Checkout %s belongs to no account we know yet', checkout_session_id));
  end if;
  if not exists (select from public.license_products p where p.id = product_id) then
    perform saasbase.fail('PT404', 'license_product_not_found', format('No licensed product %L', product_id));
  end if;
  if payment_intent_id is not null then -- as service_role_record_credit_purchase: one payment at a time
    perform pg_advisory_xact_lock(hashtextextended('payment:' || payment_intent_id, 0));
  end if;
  insert into public.purchases (account_id, checkout_session_id, payment_intent_id, pack_id, credits, amount_cents,
    currency, license_product_id)
  values (account_id, checkout_session_id, payment_intent_id, null, 0, greatest(amount_cents, 0), currency, product_id)
  on conflict on constraint purchases_checkout_session_id_key do nothing;
  perform saasbase.account_first_payment(account_id);
  select * into v_early from saasbase.early_refunds e where e.payment_intent_id = payment_intent_id for update;
  if found then
    perform saasbase.refund_purchase(payment_intent_id, v_early.charge_id, v_early.amount_refunded);
    delete from saasbase.early_refunds e where e.payment_intent_id = payment_intent_id;
  elsif exists (select from saasbase.disputes d where d.payment_intent_id = payment_intent_id) then
    perform saasbase.take_back_purchase(
      (select p.id from public.purchases p where p.payment_intent_id = payment_intent_id), payment_intent_id);
  end if;
  select * into v_purchase from public.purchases p where p.checkout_session_id = checkout_session_id;
  return v_purchase;
end;
$$;
revoke execute on function public.service_role_record_license_purchase(uuid, text, text, text, integer, text)
  from public, anon, authenticated;
grant execute on function public.service_role_record_license_purchase(uuid, text, text, text, integer, text)
  to service_role;

-- ---------------------------------------------------------------------------------------------------------
-- The API: owners and admins

-- A license the caller may manage, locked: a member of its account whose role holds 'manage_billing' (a
-- personal account's owner does), an admin, or the service role; with p_admin, admins and the service role only.
-- PT404 license_not_found for anyone else (a stranger learns nothing of other accounts' licenses), PT403
-- admin_only for a manager where an admin is needed.
create function saasbase.manageable_license(p_license uuid, p_admin boolean) returns public.licenses
language plpgsql
set search_path = ''
as $$
declare
  v_license public.licenses;
  v_admin boolean := auth.role() = 'service_role' or saasbase.is_admin();
begin
  if auth.role() is distinct from 'service_role' then
    perform saasbase.require_user();
  end if;
  select * into v_license from public.licenses l where l.id = p_license for update;
  if v_license.id is null or not (v_admin
      or v_license.account_id in (select saasbase.accounts_with_right('manage_billing'))
      or (p_admin and v_license.account_id in (select saasbase.my_accounts()))) then
    perform saasbase.fail('PT404', 'license_not_found', 'No such license');
  end if;
  if p_admin and not v_admin then
    perform saasbase.fail('PT403', 'admin_only', 'Admins only');
  end if;
  return v_license;
end;
$$;

-- The id of the license a key names, when the caller may see it (its account's member, an admin, the service
-- role); null otherwise: the functions' routes by key (DELETE /licenses/:key) find the license without
-- telling a stranger whether a key exists.
create function public.license_id_for_key(key text) returns uuid
language sql
stable
security definer
set search_path = ''
as $$
  select l.id from public.licenses l
  where l.key_hash = saasbase.license_key_hash(saasbase.license_key_canonical(license_id_for_key.key))
    and (auth.role() = 'service_role' or l.account_id in (select saasbase.my_accounts()) or saasbase.is_admin())
$$;
revoke execute on function public.license_id_for_key(text) from public, anon;
grant execute on function public.license_id_for_key(text) to authenticated, service_role;

-- The key of a license a payment issued, once: the row holding it is deleted as it is answered. PT404
-- license_not_found (not the caller's to manage), PT410 license_key_claimed (claimed already: reset_license_key
-- makes a new one).
create function public.claim_license_key(license_id uuid) returns public.license_issued
language plpgsql
security definer
set search_path = ''
as $$
#variable_conflict use_variable
declare
  v_license public.licenses := saasbase.manageable_license(license_id, false);
  v_key text;
begin
  delete from saasbase.license_key_pickups p where p.license_id = v_license.id returning p.key into v_key;
  if v_key is null then
    perform saasbase.fail('PT410', 'license_key_claimed',
      'This license''s key was shown once already; reset it to get a new one');
  end if;
  perform saasbase.audit(auth.uid(), 'license.claim_key', 'license', v_license.id::text,
    jsonb_build_object('account_id', v_license.account_id, 'key_prefix', v_license.key_prefix));
  return row(v_license.id, v_key, v_license.account_id, v_license.product_id, v_license.status, v_license.expires_at,
    v_license.created_at)::public.license_issued;
end;
$$;
revoke execute on function public.claim_license_key(uuid) from public, anon;
grant execute on function public.claim_license_key(uuid) to authenticated, service_role;

-- A new key for a license (a lost or leaked one): the old key stops working at once, the machines stay. Shown
-- in this answer only.
create function public.reset_license_key(license_id uuid) returns public.license_issued
language plpgsql
security definer
set search_path = ''
as $$
#variable_conflict use_variable
declare
  v_license public.licenses := saasbase.manageable_license(license_id, false);
  v_key text := saasbase.new_license_key();
begin
  update public.licenses l set key_prefix = left(v_key, 5),
    key_hash = saasbase.license_key_hash(saasbase.license_key_canonical(v_key))
  where l.id = v_license.id returning * into v_license;
  delete from saasbase.license_key_pickups p where p.license_id = v_license.id;
  perform saasbase.audit(auth.uid(), 'license.reset_key', 'license', v_license.id::text,
    jsonb_build_object('account_id', v_license.account_id, 'key_prefix', v_license.key_prefix));
  return row(v_license.id, v_key, v_license.account_id, v_license.product_id, v_license.status, v_license.expires_at,
    v_license.created_at)::public.license_issued;
end;
$$;
revoke execute on function public.reset_license_key(uuid) from public, anon;
grant execute on function public.reset_license_key(uuid) to authenticated, service_role;

-- Suspends a license (validation answers SUSPENDED until reinstated). Suspending a suspended one changes
-- nothing. PT409 license_revoked.
create function public.suspend_license(license_id uuid) returns public.licenses
language plpgsql
security definer
set search_path = ''
as $$
#variable_conflict use_variable
declare
  v_license public.licenses := saasbase.manageable_license(license_id, false);
  v_admin boolean := auth.role() = 'service_role' or saasbase.is_admin();
begin
  if v_license.status = 'revoked' then
    perform saasbase.fail('PT409', 'license_revoked', 'This license is revoked');
  end if;
  if v_license.status = 'active' then
    update public.licenses l set status = 'suspended', suspended_at = now(), suspended_by_admin = v_admin
    where l.id = v_license.id returning * into v_license;
    perform saasbase.audit(auth.uid(), 'license.suspend', 'license', v_license.id::text,
      jsonb_build_object('account_id', v_license.account_id, 'by_admin', v_admin));
  end if;
  return v_license;
end;
$$;
revoke execute on function public.suspend_license(uuid) from public, anon;
grant execute on function public.suspend_license(uuid) to authenticated, service_role;

-- Lifts a suspension (an admin's only by an admin: PT403 admin_only). PT409 license_revoked.
create function public.reinstate_license(license_id uuid) returns public.licenses
language plpgsql
security definer
set search_path = ''
as $$
#variable_conflict use_variable
declare
  v_license public.licenses := saasbase.manageable_license(license_id, false);
begin
  if v_license.status = 'revoked' then
    perform saasbase.fail('PT409', 'license_revoked', 'This license is revoked');
  end if;
  if v_license.status = 'suspended' then
    if v_license.suspended_by_admin and not (auth.role() = 'service_role' or saasbase.is_admin()) then
      perform saasbase.fail('PT403', 'admin_only', 'An admin suspended this license: only an admin lifts it');
    end if;
    update public.licenses l set status = 'active', suspended_at = null, suspended_by_admin = false
    where l.id = v_license.id returning * into v_license;
    perform saasbase.audit(auth.uid(), 'license.reinstate', 'license', v_license.id::text,
      jsonb_build_object('account_id', v_license.account_id));
  end if;
  return v_license;
end;
$$;
revoke execute on function public.reinstate_license(uuid) from public, anon;
grant execute on function public.reinstate_license(uuid) to authenticated, service_role;

-- Revokes a license for good (validation answers REVOKED; its machines are removed). Revoking a revoked one
-- changes nothing.
create function public.revoke_license(license_id uuid) returns public.licenses
language plpgsql
security definer
set search_path = ''
as $$
#variable_conflict use_variable
declare
  v_license public.licenses := saasbase.manageable_license(license_id, false);
begin
  if v_license.status <> 'revoked' then
    update public.licenses l set status = 'revoked', revoked_at = now()
    where l.id = v_license.id returning * into v_license;
    delete from public.license_machines m where m.license_id = v_license.id;
    delete from saasbase.license_key_pickups p where p.license_id = v_license.id;
    perform saasbase.audit(auth.uid(), 'license.revoke', 'license', v_license.id::text,
      jsonb_build_object('account_id', v_license.account_id));
  end if;
  return v_license;
end;
$$;
revoke execute on function public.revoke_license(uuid) from public, anon;
grant execute on function public.revoke_license(uuid) to authenticated, service_role;

-- Extends a license by `days` (default: its policy's duration) from its expiry, or from now when it has lapsed:
-- admins and the service role (a paid renewal comes through its subscription's invoices). A perpetual license
-- stays so. PT403 admin_only, PT409 license_revoked, PT422 invalid_license.
create function public.renew_license(license_id uuid, days integer default null) returns public.licenses
language plpgsql
security definer
set search_path = ''
as $$
#variable_conflict use_variable
declare
  v_license public.licenses := saasbase.manageable_license(license_id, true);
  v_days integer := coalesce(days, v_license.duration_days);
begin
  if v_license.status = 'revoked' then
    perform saasbase.fail('PT409', 'license_revoked', 'This license is revoked');
  end if;
  if days is not null and days not between 1 and 36500 then
    perform saasbase.fail('PT422', 'invalid_license', 'days must be 1 to 36500');
  end if;
  if v_license.expires_at is not null and v_days is not null then
    update public.licenses l set expires_at = greatest(l.expires_at, saasbase.now()) + make_interval(days => v_days)
    where l.id = v_license.id returning * into v_license;
  end if;
  perform saasbase.audit(auth.uid(), 'license.renew', 'license', v_license.id::text,
    jsonb_build_object('account_id', v_license.account_id, 'days', v_days, 'expires_at', v_license.expires_at));
  return v_license;
end;
$$;
revoke execute on function public.renew_license(uuid, integer) from public, anon;
grant execute on function public.renew_license(uuid, integer) to authenticated, service_role;

-- Frees a machine's seat from the owner's dashboard (members with 'manage_billing', admins). PT404
-- machine_not_found.
create function public.deactivate_license_machine(machine_id uuid) returns public.license_machines
language plpgsql
security definer
set search_path = ''
as $$
#variable_conflict use_variable
declare
  v_machine public.license_machines;
begin
  select * into v_machine from public.license_machines m where m.id = machine_id;
  if v_machine.id is null then
    perform saasbase.fail('PT404', 'machine_not_found', 'No such machine');
  end if;
  begin
    perform saasbase.manageable_license(v_machine.license_id, false);
  exception when sqlstate 'PT404' then
    perform saasbase.fail('PT404', 'machine_not_found', 'No such machine');
  end;
  delete from public.license_machines m where m.id = v_machine.id;
  perform saasbase.audit(auth.uid(), 'license.deactivate_machine', 'license', v_machine.license_id::text,
    jsonb_build_object('account_id', v_machine.account_id, 'fingerprint', v_machine.fingerprint));
  return v_machine;
end;
$$;
revoke execute on function public.deactivate_license_machine(uuid) from public, anon;
grant execute on function public.deactivate_license_machine(uuid) to authenticated, service_role;

-- ---------------------------------------------------------------------------------------------------------
-- Config sync: the catalog's `license_products` and `licensing_settings` (src/config/catalog.ts), run after
-- service_role_sync_config in its transaction (DOMAIN_SYNCS), so a product's plans are synced already.
create function public.service_role_sync_licensing(catalog jsonb) returns void
language plpgsql
set search_path = ''
as $$
declare
  v_products jsonb := coalesce(catalog -> 'license_products', '[]');
  v_missing text;
begin
  if jsonb_typeof(v_products) <> 'array' then
    raise exception 'catalog.license_products must be an array' using errcode = '22023';
  end if;
  select string_agg(distinct plan, ', ') into v_missing
  from jsonb_array_elements(v_products) p, jsonb_array_elements_text(coalesce(p -> 'plan_ids', '[]')) plan
  where not exists (select from public.plans x where x.id = plan and x.active);
  if v_missing is not null then
    raise exception 'licensing: unknown plans %', v_missing using errcode = '22023';
  end if;
  insert into public.license_products as x (id, name, duration_days, floating, max_machines, heartbeat_minutes,
    grace_days, entitlements, max_major_version, plan_ids, renews_with_subscription, price_cents, sort_order,
    active, updated_at)
  select r.id, r.name, r.duration_days, coalesce(r.floating, false), r.max_machines, r.heartbeat_minutes,
    coalesce(r.grace_days, 0), coalesce(r.entitlements, '{}'), r.max_major_version, coalesce(r.plan_ids, '{}'),
    coalesce(r.renews_with_subscription, true), r.price_cents, coalesce(r.sort_order, 0), true, now()
  from jsonb_populate_recordset(null::public.license_products, v_products) r
  on conflict (id) do update set name = excluded.name, duration_days = excluded.duration_days,
    floating = excluded.floating, max_machines = excluded.max_machines,
    heartbeat_minutes = excluded.heartbeat_minutes, grace_days = excluded.grace_days,
    entitlements = excluded.entitlements, max_major_version = excluded.max_major_version,
    plan_ids = excluded.plan_ids, renews_with_subscription = excluded.renews_with_subscription,
    price_cents = excluded.price_cents, sort_order = excluded.sort_order, active = true, updated_at = now();
  update public.license_products set active = false, updated_at = now()
  where active and id not in (select r ->> 'id' from jsonb_array_elements(v_products) r);
  if catalog ? 'licensing_settings' then
    update saasbase.licensing_settings s set ip_max = r.ip_max, ip_window_seconds = r.ip_window_seconds,
      key_max = r.key_max, key_window_seconds = r.key_window_seconds, updated_at = now()
    from jsonb_populate_record(null::saasbase.licensing_settings, catalog -> 'licensing_settings') r
    where s.id;
  end if;
end;
$$;
revoke execute on function public.service_role_sync_licensing(jsonb) from public, anon, authenticated;
grant execute on function public.service_role_sync_licensing(jsonb) to service_role;
