-- Teams: who owns what a customer buys. An account is either a user's personal account (exactly one per
-- user, made at sign-up, its id the user's id, so every row keyed by a user id before this migration is
-- already keyed by its personal account) or a team (its own id, a name and a unique slug, made by a signed-in
-- user who becomes its owner). Members hold a role; what a role may do (spend credits, buy, manage billing,
-- invite, manage members, manage the team) comes from the config's `teams.roles`, synced into
-- public.team_roles. The money domains (wallet, ledger, quotas, reservations, plan, Stripe customer,
-- subscriptions, purchases, invoices) are moved onto accounts by the next migration (account money).
--
-- A user names the account they act for (an `account` parameter on the SQL API, `X-Account-Id` on the
-- functions; default: their personal account); saasbase.acting_account checks the membership and the right.

-- ---------------------------------------------------------------------------------------------------------
-- Roles and their rights (config `teams.roles`; the sync replaces the rows). `owner` always exists and holds
-- every right: a team always keeps at least one owner, so someone can always manage it.
create table public.team_roles (
  role text primary key check (role ~ '^[a-z][a-z0-9_-]{0,62}$'),
  name text not null,
  rights text[] not null default '{}' check (rights <@ array[
    'spend', 'buy', 'manage_billing', 'invite', 'manage_members', 'manage_team'
  ]::text[]),
  sort_order integer not null default 0,
  updated_at timestamptz not null default now()
);
comment on table public.team_roles is 'Member roles and what each may do (config teams.roles).';
insert into public.team_roles (role, name, rights, sort_order) values
  ('owner', 'Owner', array['spend', 'buy', 'manage_billing', 'invite', 'manage_members', 'manage_team'], 0),
  ('admin', 'Admin', array['spend', 'buy', 'manage_billing', 'invite', 'manage_members'], 1),
  ('member', 'Member', array['spend'], 2),
  ('billing', 'Billing', array['buy', 'manage_billing'], 3);

alter table public.team_roles enable row level security;
create policy "Team roles are readable by everyone" on public.team_roles
  for select to anon, authenticated using (true);
grant select on public.team_roles to anon, authenticated;
grant select, insert, update, delete on public.team_roles to service_role;

-- Seats: a plan priced per seat bills its Stripe subscription's quantity as the team's member count; a plan's
-- seat limit caps members (and so invitations). Personal accounts have one seat.
alter table public.plans
  add column per_seat boolean not null default false,
  add column max_seats integer check (max_seats > 0);
comment on column public.plans.max_seats is 'Most members an account on this plan may have; null: no limit.';

-- ---------------------------------------------------------------------------------------------------------
-- Accounts
create table public.accounts (
  id uuid primary key default gen_random_uuid(),
  kind text not null check (kind in ('personal', 'team')),
  -- A personal account's user (id = personal_user_id): the user's deletion takes the account, and with it
  -- every money row (the money tables reference accounts on delete cascade).
  personal_user_id uuid unique references auth.users (id) on delete cascade,
  name text not null check (char_length(name) between 1 and 100),
  -- A team's handle in URLs; personal accounts have none.
  slug text unique check (slug ~ '^[a-z0-9]([a-z0-9-]{0,46}[a-z0-9])?$'),
  -- The plan the account is entitled to (its newest live subscription's, or an admin's choice); null: the
  -- default plan. Never written by clients.
  plan_id text references public.plans (id),
  -- Seats the account's per-seat subscription is billed for (Stripe's quantity, as last applied).
  billed_seats integer check (billed_seats >= 0),
  created_by uuid references auth.users (id) on delete set null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  check ((kind = 'personal') = (personal_user_id is not null)),
  check (personal_user_id is null or personal_user_id = id),
  check ((kind = 'team') = (slug is not null))
);
comment on table public.accounts is 'Who owns money: a personal account per user (id = user id) or a team.';
create index accounts_plan_id on public.accounts (plan_id);
create index accounts_created_by on public.accounts (created_by);

create table public.account_members (
  account_id uuid not null references public.accounts (id) on delete cascade,
  user_id uuid not null references auth.users (id) on delete cascade,
  role text not null references public.team_roles (role) on update cascade,
  -- Most credits this member may spend from a team wallet in a calendar month (UTC); null: no cap.
  monthly_spend_cap bigint check (monthly_spend_cap >= 0),
  joined_at timestamptz not null default now(),
  primary key (account_id, user_id)
);
comment on table public.account_members is 'Memberships: who belongs to an account, in which role.';
-- "My accounts" (and a user's deletion) by user.
create index account_members_user_id on public.account_members (user_id, account_id);
create index account_members_role on public.account_members (role);

create trigger accounts_touch_updated_at before update on public.accounts
  for each row execute function saasbase.touch_updated_at();

-- ---------------------------------------------------------------------------------------------------------
-- Helpers: policies and the SQL API ask these. SECURITY DEFINER so that a policy on account_members can ask
-- about memberships without recursing into its own policy.

-- True when the caller is a member of the account (holding `p_role` when one is given), as basejump's
-- has_role_on_account. Policies call it as `(select saasbase.has_role_on_account(account_id))`.
create function saasbase.has_role_on_account(p_account uuid, p_role text default null) returns boolean
language plpgsql stable
security definer
set search_path = ''
as $$
begin
  return exists (
    select from public.account_members m
    where m.account_id = p_account and m.user_id = auth.uid() and (p_role is null or m.role = p_role)
  );
end;
$$;
grant execute on function saasbase.has_role_on_account(uuid, text) to authenticated, service_role;

-- The accounts the caller belongs to, for policies over many accounts' rows: `account_id in (select
-- saasbase.my_accounts())` runs the membership lookup once per statement (an initplan) and keeps the
-- account_id index usable, as Supabase's RLS performance guide advises.
create function saasbase.my_accounts() returns setof uuid
language plpgsql stable
security definer
set search_path = ''
as $$
begin
  return query select m.account_id from public.account_members m where m.user_id = auth.uid();
end;
$$;
grant execute on function saasbase.my_accounts() to authenticated, service_role;

-- The accounts in which the caller holds `p_right` (by their role).
create function saasbase.accounts_with_right(p_right text) returns setof uuid
language plpgsql stable
security definer
set search_path = ''
as $$
begin
  return query
  select m.account_id from public.account_members m join public.team_roles r on r.role = m.role
  where m.user_id = auth.uid() and p_right = any (r.rights);
end;
$$;
grant execute on function saasbase.accounts_with_right(text) to authenticated, service_role;

-- The account `p_user` acts for: `p_account`, or their personal account when null. PT404 account_not_found
-- when they are not a member (whether or not it exists: ids are not probed this way), PT403 account_forbidden
-- when their role lacks `p_right` (null: membership is enough). A personal account is its user's own: no
-- lookup on the charge path.
create function saasbase.acting_account(p_account uuid, p_user uuid, p_right text) returns uuid
language plpgsql stable
set search_path = ''
as $$
declare
  v_role text;
  v_rights text[];
begin
  if p_account is null or p_account = p_user then
    return p_user;
  end if;
  select m.role, r.rights into v_role, v_rights
  from public.account_members m join public.team_roles r on r.role = m.role
  where m.account_id = p_account and m.user_id = p_user;
  if not found then
    perform saasbase.fail('PT404', 'account_not_found', 'No such account, or you are not a member of it');
  end if;
  if p_right is not null and not (p_right = any (v_rights)) then
    perform saasbase.fail('PT403', 'account_forbidden',
      format('Your role (%s) in this account does not allow this (%s)', v_role, p_right));
  end if;
  return p_account;
end;
$$;

-- The signed-in caller's acting account (saasbase.acting_account for saasbase.require_user()).
create function saasbase.require_account(p_account uuid, p_right text) returns uuid
language plpgsql stable
set search_path = ''
as $$
begin
  return saasbase.acting_account(p_account, saasbase.require_user(), p_right);
end;
$$;

-- ---------------------------------------------------------------------------------------------------------
-- Personal accounts: one per user, made with the user (before the wallet: triggers on a table fire in name
-- order, and on_auth_user_created_account sorts before on_auth_user_created_wallet). Anonymous users get
-- one too (their wallet needs it).
create function saasbase.handle_new_account() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  insert into public.accounts (id, kind, personal_user_id, name, created_by)
  values (new.id, 'personal', new.id,
    left(coalesce(nullif(new.raw_user_meta_data ->> 'display_name', ''), nullif(new.raw_user_meta_data ->> 'full_name', ''),
      nullif(split_part(coalesce(new.email, ''), '@', 1), ''), 'Personal'), 100),
    new.id)
  on conflict (id) do nothing;
  insert into public.account_members (account_id, user_id, role) values (new.id, new.id, 'owner')
  on conflict do nothing;
  return new;
end;
$$;

create trigger on_auth_user_created_account after insert on auth.users
  for each row execute function saasbase.handle_new_account();

-- The users there are already: their personal accounts, with the plan their profile held (data unchanged:
-- the account's id is the user's, so every money row keyed by the user stays keyed by their account).
insert into public.accounts (id, kind, personal_user_id, name, plan_id, created_by, created_at)
select u.id, 'personal', u.id,
  left(coalesce(nullif(p.display_name, ''), nullif(split_part(coalesce(u.email, ''), '@', 1), ''), 'Personal'), 100),
  p.plan_id, u.id, coalesce(p.created_at, now())
from auth.users u left join public.profiles p on p.id = u.id;
insert into public.account_members (account_id, user_id, role, joined_at)
select a.id, a.id, 'owner', a.created_at from public.accounts a;

-- ---------------------------------------------------------------------------------------------------------
-- Row-level security: members read their accounts and fellow members; admins read all. Nobody writes them
-- but the SQL API below (and the service role).
alter table public.accounts enable row level security;
alter table public.account_members enable row level security;

create policy "Accounts are readable by their members and admins" on public.accounts
  for select to authenticated
  using (id in (select saasbase.my_accounts()) or (select saasbase.is_admin()));
create policy "Memberships are readable by fellow members and admins" on public.account_members
  for select to authenticated
  using (account_id in (select saasbase.my_accounts()) or (select saasbase.is_admin()));

grant select on public.accounts, public.account_members to authenticated;
grant select, insert, update, delete on public.accounts, public.account_members to service_role;

-- ---------------------------------------------------------------------------------------------------------
-- The API

-- Creates a team owned by the caller (audited). PT409 slug_taken when the slug is in use; PT422
-- invalid_team when the name or slug is malformed.
create function public.create_team(name text, slug text) returns public.accounts
language plpgsql
security definer
set search_path = ''
as $$
#variable_conflict use_variable
declare
  v_uid uuid := saasbase.require_user();
  v_account public.accounts;
begin
  if name is null or char_length(btrim(name)) not between 1 and 100 then
    perform saasbase.fail('PT422', 'invalid_team', 'A team name of 1 to 100 characters is required');
  end if;
  if slug is null or slug !~ '^[a-z0-9]([a-z0-9-]{0,46}[a-z0-9])?$' then
    perform saasbase.fail('PT422', 'invalid_team',
      'A slug of 1 to 48 lower-case letters, digits and inner dashes is required');
  end if;
  if exists (select from auth.users u where u.id = v_uid and u.is_anonymous) then
    perform saasbase.fail('PT403', 'account_forbidden', 'Sign up before creating a team');
  end if;
  begin
    insert into public.accounts (kind, name, slug, created_by)
    values ('team', btrim(name), slug, v_uid)
    returning * into v_account;
  exception when unique_violation then
    perform saasbase.fail('PT409', 'slug_taken', 'This slug is taken');
  end;
  insert into public.account_members (account_id, user_id, role) values (v_account.id, v_uid, 'owner');
  perform saasbase.audit(v_uid, 'team.create', 'account', v_account.id::text,
    jsonb_build_object('name', v_account.name, 'slug', v_account.slug));
  return v_account;
end;
$$;
revoke execute on function public.create_team(text, text) from public, anon;
grant execute on function public.create_team(text, text) to authenticated;

-- ---------------------------------------------------------------------------------------------------------
-- The config sync, re-defined (the catalog migration's is shipped and frozen) so that the config's
-- `teams` section reaches SQL in the same transaction as the rest of the catalog: the roles into
-- public.team_roles, each plan's seat fields (per_seat, max_seats), and the invitation settings.

alter table saasbase.settings
  -- Days an invitation may be accepted in (config teams.invitationExpiryDays).
  add column invitation_expiry_days integer not null default 7 check (invitation_expiry_days between 1 and 365),
  -- Whether a link invitation may be accepted by many until it expires (config teams.reusableLinks).
  add column reusable_link_invitations boolean not null default false;

-- The summary counts the roles too.
alter type public.config_sync_summary add attribute team_roles bigint;

-- Whether a member holds the role (a role in use cannot leave the config).
create function saasbase.team_role_in_use(p_role text) returns boolean
language plpgsql stable
set search_path = ''
as $$
begin
  return exists (select from public.account_members m where m.role = p_role);
end;
$$;

-- As the catalog migration's, plus: `settings` may carry invitation_expiry_days and reusable_link_invitations;
-- plans carry per_seat and max_seats; `team_roles` (optional: a payload without it leaves the roles as they
-- are) replaces the roles. A role the config no longer has is deleted, unless a member holds it: then the
-- whole sync is refused (PT409 role_in_use, naming the roles), since quietly moving people to another role
-- would change what they may do with a team's money. Move them first (set_member_role), then sync. `owner`
-- must be in it with every right (config-schema.ts checks the same before a payload is built).
create or replace function public.service_role_sync_config(catalog jsonb)
returns public.config_sync_summary
language plpgsql
set search_path = ''
as $$
declare
  v_held text;
begin
  if jsonb_typeof(catalog -> 'plans') is distinct from 'array'
    or jsonb_typeof(catalog -> 'features') is distinct from 'array' then
    raise exception 'catalog needs plans and features arrays' using errcode = '22023';
  end if;

  if catalog ? 'settings' then
    update saasbase.settings s set
      signup_credits = coalesce(r.signup_credits, s.signup_credits),
      grant_expiry_days = r.grant_expiry_days,
      reservation_ttl_minutes = coalesce(r.reservation_ttl_minutes, s.reservation_ttl_minutes),
      anonymous_chat_per_day = coalesce(r.anonymous_chat_per_day, s.anonymous_chat_per_day),
      anonymous_chat_total_per_day = coalesce(r.anonymous_chat_total_per_day, s.anonymous_chat_total_per_day),
      anonymous_events_per_minute = coalesce(r.anonymous_events_per_minute, s.anonymous_events_per_minute),
      conversations_per_hour = coalesce(r.conversations_per_hour, s.conversations_per_hour),
      product_url = coalesce(r.product_url, s.product_url),
      referrer_credits = coalesce(r.referrer_credits, s.referrer_credits),
      referrer_cash_cents = coalesce(r.referrer_cash_cents, s.referrer_cash_cents),
      referred_credits = coalesce(r.referred_credits, s.referred_credits),
      referral_pay_when = coalesce(r.referral_pay_when, s.referral_pay_when),
      referral_monthly_cap = coalesce(r.referral_monthly_cap, s.referral_monthly_cap),
      min_cashout_cents = coalesce(r.min_cashout_cents, s.min_cashout_cents),
      currency = coalesce(r.currency, s.currency),
      purchase_min_cents = coalesce(r.purchase_min_cents, s.purchase_min_cents),
      purchase_max_cents = coalesce(r.purchase_max_cents, s.purchase_max_cents),
      credits_per_dollar = coalesce(r.credits_per_dollar, s.credits_per_dollar),
      invitation_expiry_days = coalesce(r.invitation_expiry_days, s.invitation_expiry_days),
      reusable_link_invitations = coalesce(r.reusable_link_invitations, s.reusable_link_invitations),
      updated_at = now()
    from jsonb_populate_record(null::saasbase.settings, catalog -> 'settings') r
    where s.id;
  end if;

  insert into public.features as f (id, name, credits, unit, active, updated_at)
  select r.id, r.name, r.credits, coalesce(r.unit, 'use'), true, now()
  from jsonb_populate_recordset(null::public.features, catalog -> 'features') r
  on conflict (id) do update
    set name = excluded.name, credits = excluded.credits, unit = excluded.unit, active = true, updated_at = now()
    where (f.name, f.credits, f.unit, f.active) is distinct from (excluded.name, excluded.credits, excluded.unit, true);
  update public.features set active = false, updated_at = now()
  where active and id not in (select r ->> 'id' from jsonb_array_elements(catalog -> 'features') r);

  -- Clear the old default first so the one-default index holds mid-statement.
  update public.plans set is_default = false
  where is_default and id <> coalesce((
    select r ->> 'id' from jsonb_array_elements(catalog -> 'plans') r where (r ->> 'is_default')::boolean
  ), '');
  insert into public.plans as p (id, name, description, price_monthly_cents, price_yearly_cents, monthly_credits,
    discount_percent, sort_order, is_default, per_seat, max_seats, active, updated_at)
  select r.id, r.name, coalesce(r.description, ''), r.price_monthly_cents, r.price_yearly_cents,
    coalesce(r.monthly_credits, 0), coalesce(r.discount_percent, 0), coalesce(r.sort_order, 0),
    coalesce(r.is_default, false), coalesce(r.per_seat, false), r.max_seats, true, now()
  from jsonb_populate_recordset(null::public.plans, catalog -> 'plans') r
  on conflict (id) do update
    set name = excluded.name, description = excluded.description,
      price_monthly_cents = excluded.price_monthly_cents, price_yearly_cents = excluded.price_yearly_cents,
      monthly_credits = excluded.monthly_credits, discount_percent = excluded.discount_percent,
      sort_order = excluded.sort_order, is_default = excluded.is_default, per_seat = excluded.per_seat,
      max_seats = excluded.max_seats, active = true, updated_at = now();
  update public.plans set active = false, is_default = false, updated_at = now()
  where active and id not in (select r ->> 'id' from jsonb_array_elements(catalog -> 'plans') r);

  -- The config's plans get their quotas anew; a plan removed from it keeps its own (it is only deactivated:
  -- subscribers may still hold it, and should keep what they pay for).
  delete from public.plan_quotas q
  where q.plan_id in (select r ->> 'id' from jsonb_array_elements(catalog -> 'plans') r);
  insert into public.plan_quotas (plan_id, feature_id, period, free_limit, overage, unlimited)
  select r.plan_id, r.feature_id, r.period, r.free_limit, coalesce(r.overage, 'credits'), coalesce(r.unlimited, false)
  from jsonb_populate_recordset(null::public.plan_quotas, coalesce(catalog -> 'plan_quotas', '[]')) r;

  insert into public.credit_packs as c (id, name, credits, price_cents, sort_order, active, updated_at)
  select r.id, r.name, r.credits, r.price_cents, coalesce(r.sort_order, 0), true, now()
  from jsonb_populate_recordset(null::public.credit_packs, coalesce(catalog -> 'credit_packs', '[]')) r
  on conflict (id) do update
    set name = excluded.name, credits = excluded.credits, price_cents = excluded.price_cents,
      sort_order = excluded.sort_order, active = true, updated_at = now();
  update public.credit_packs set active = false, updated_at = now()
  where active and id not in (
    select r ->> 'id' from jsonb_array_elements(coalesce(catalog -> 'credit_packs', '[]')) r
  );

  insert into public.chat_personas as c (id, name, credits_per_message, active, updated_at)
  select r.id, r.name, r.credits_per_message, true, now()
  from jsonb_populate_recordset(null::public.chat_personas, coalesce(catalog -> 'chat_personas', '[]')) r
  on conflict (id) do update
    set name = excluded.name, credits_per_message = excluded.credits_per_message, active = true, updated_at = now();
  update public.chat_personas set active = false, updated_at = now()
  where active and id not in (
    select r ->> 'id' from jsonb_array_elements(coalesce(catalog -> 'chat_personas', '[]')) r
  );

  insert into public.chat_models as c (id, credits_per_1k_tokens, active, updated_at)
  select r.id, r.credits_per_1k_tokens, true, now()
  from jsonb_populate_recordset(null::public.chat_models, coalesce(catalog -> 'chat_models', '[]')) r
  on conflict (id) do update
    set credits_per_1k_tokens = excluded.credits_per_1k_tokens, active = true, updated_at = now();
  update public.chat_models set active = false, updated_at = now()
  where active and id not in (
    select r ->> 'id' from jsonb_array_elements(coalesce(catalog -> 'chat_models', '[]')) r
  );

  if catalog ? 'team_roles' then
    if jsonb_typeof(catalog -> 'team_roles') is distinct from 'array' or not exists (
      select from jsonb_populate_recordset(null::public.team_roles, catalog -> 'team_roles') r
      where r.role = 'owner'
        and r.rights @> array['spend', 'buy', 'manage_billing', 'invite', 'manage_members', 'manage_team']
    ) then
      raise exception 'team_roles must be an array holding "owner" with every right' using errcode = '22023';
    end if;
    -- Roles held by a member (or named by an invitation still open) cannot go: the sync stops, naming them.
    select string_agg(format('%s (%s members)', t.role,
        (select count(*) from public.account_members m where m.role = t.role)), ', ' order by t.role)
    into v_held
    from public.team_roles t
    where t.role not in (select r ->> 'role' from jsonb_array_elements(catalog -> 'team_roles') r)
      and saasbase.team_role_in_use(t.role);
    if v_held is not null then
      perform saasbase.fail('PT409', 'role_in_use', format('The config no longer has the team roles %s, which '
        'members or open invitations hold: keep them in teams.roles, or move those members to another role '
        '(set_member_role) and revoke the invitations first', v_held));
    end if;
    delete from public.team_roles t
    where t.role not in (select r ->> 'role' from jsonb_array_elements(catalog -> 'team_roles') r);
    insert into public.team_roles as t (role, name, rights, sort_order, updated_at)
    select r.role, r.name, coalesce(r.rights, '{}'), coalesce(r.sort_order, 0), now()
    from jsonb_populate_recordset(null::public.team_roles, catalog -> 'team_roles') r
    on conflict (role) do update
      set name = excluded.name, rights = excluded.rights, sort_order = excluded.sort_order, updated_at = now()
      where (t.name, t.rights, t.sort_order) is distinct from (excluded.name, excluded.rights, excluded.sort_order);
  end if;

  return (
    (select count(*) from public.features where active),
    (select count(*) from public.plans where active),
    (select count(*) from public.plan_quotas),
    (select count(*) from public.credit_packs where active),
    (select count(*) from public.chat_personas where active),
    (select count(*) from public.chat_models where active),
    (select count(*) from public.team_roles)
  )::public.config_sync_summary;
end;
$$;
