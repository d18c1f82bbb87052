-- Teams: who owns what a customer buys. An account is either a user's personal account (exactly one per
-- user, made at sign-up, its id the user's id, so every row keyed by a user id before this migration is
-- already keyed by its personal account) or a team (its own id, a name and a unique slug, made by a signed-in
-- user who becomes its owner). Members hold a role; what a role may do (spend credits, buy, manage billing,
-- invite, manage members, manage the team) comes from the config's `teams.roles`, synced into
-- public.team_roles. The money domains (wallet, ledger, quotas, reservations, plan, Stripe customer,
-- subscriptions, purchases, invoices) are moved onto accounts by the next migrations (account credits,
-- account billing).
--
-- A user names the account they act for (an `account` parameter on the SQL API, `X-Account-Id` on the
-- functions; default: their personal account); saasbase.acting_account checks the membership and the right.
--
-- In order: roles; seats on plans; accounts and memberships (a membership change marks the seats for the seat
-- sync; a deleted last owner is succeeded); the membership helpers policies and the API ask; personal
-- accounts; RLS; invitations; the team API's helpers, then the API itself (teams, invitations, members); last,
-- the config sync re-defined to carry the config's `teams` section. docs/teams.md is the reference.

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
  -- Every membership change bumps these (trigger on account_members): the seat sync finds the teams whose
  -- billed seats may be stale by seats_changed_at, and by seat_version tells whether another change came in
  -- while it was updating Stripe (sync again then).
  seat_version bigint not null default 0,
  seats_changed_at timestamptz,
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
create index accounts_seats_changed_at on public.accounts (seats_changed_at) where seats_changed_at is not null;

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

-- Seats: a member joining or leaving a team (by any path: the API below, the service role, a user's deletion)
-- marks the team's billed seat count as possibly stale. Personal accounts have one seat, always.
create function saasbase.mark_seats_changed() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  update public.accounts a set seat_version = a.seat_version + 1, seats_changed_at = now()
  where a.id = (case when tg_op = 'DELETE' then old.account_id else new.account_id end) and a.kind = 'team';
  return null;
end;
$$;
create trigger account_members_mark_seats after insert or delete on public.account_members
  for each row execute function saasbase.mark_seats_changed();

-- A team always keeps an owner. The API refuses to remove, demote or let go of the last one; the one way it can
-- still lose them is their user's deletion (by GoTrue or an admin), whose cascade takes their memberships.
-- Then the remaining member whose role ranks first (team_roles.sort_order: admin before member by default),
-- longest in the team, becomes owner, and the audit log says so. A team left with nobody is left alone.
create function saasbase.keep_an_owner() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_heir public.account_members;
begin
  if old.role <> 'owner' or exists (
    select from public.account_members m where m.account_id = old.account_id and m.role = 'owner'
  ) then
    return null;
  end if;
  select m.* into v_heir from public.account_members m join public.team_roles r on r.role = m.role
  where m.account_id = old.account_id
  order by r.sort_order, m.joined_at, m.user_id
  limit 1;
  if found then
    update public.account_members m set role = 'owner'
    where m.account_id = v_heir.account_id and m.user_id = v_heir.user_id;
    perform saasbase.audit(null, 'team.owner_succession', 'account', old.account_id::text,
      jsonb_build_object('previous_owner', old.user_id, 'new_owner', v_heir.user_id, 'previous_role', v_heir.role));
  end if;
  return null;
end;
$$;
create trigger account_members_keep_an_owner after delete on public.account_members
  for each row execute function saasbase.keep_an_owner();

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
-- Invitations: by email (for the user who signs in with that confirmed address) or by link (for whoever
-- holds the token). The token is random (244 bits), handed out once by invite_member and stored only as its
-- sha256: a leaked table leaks no usable token. An email invitation's link also goes into the mail queued in
-- public.email_outbox (readable by admins and the service role only): the mail must carry it.
create table public.account_invitations (
  id uuid primary key default gen_random_uuid(),
  account_id uuid not null references public.accounts (id) on delete cascade,
  -- The invitee's address, lower-case; null: a link invitation.
  email text check (email = lower(email) and char_length(email) <= 320 and email ~ '^[^@\s]+@[^@\s]+\.[^@\s]+$'),
  role text not null references public.team_roles (role) on update cascade on delete cascade,
  token_hash bytea not null unique,
  -- The token's first characters, to tell invitations apart in a list (too few to use it).
  token_prefix text not null,
  expires_at timestamptz not null,
  -- Acceptances allowed: 1, or null for a reusable link (config teams.reusableLinks) until it expires or is
  -- revoked; the plan's seat limit holds either way.
  max_uses integer check (max_uses > 0),
  uses integer not null default 0 check (max_uses is null or uses <= max_uses),
  invited_by uuid references auth.users (id) on delete set null,
  created_at timestamptz not null default now(),
  -- Closed by its (last) acceptance, a decline or a revocation; who did it, as a record (no foreign key: a
  -- deleted user's part in it stays readable).
  accepted_at timestamptz,
  accepted_by uuid,
  declined_at timestamptz,
  declined_by uuid,
  revoked_at timestamptz,
  revoked_by uuid,
  check (email is null or max_uses = 1)
);
comment on table public.account_invitations is 'Invitations to join a team, by email or by link; tokens stored hashed.';
-- A team's invitations, newest last (its daily count, its lists).
create index account_invitations_account_id on public.account_invitations (account_id, created_at);
create index account_invitations_role on public.account_invitations (role);
create index account_invitations_invited_by on public.account_invitations (invited_by);

alter table public.account_invitations enable row level security;
create policy "Invitations are readable by members who may invite, and admins" on public.account_invitations
  for select to authenticated
  using (account_id in (select saasbase.accounts_with_right('invite')) or (select saasbase.is_admin()));
grant select on public.account_invitations to authenticated;
grant select, insert, update, delete on public.account_invitations to service_role;

-- Who was removed from a team, and when: an invitation made before the removal no longer lets them back in
-- (a reusable link they joined by, a second invitation); one made after it does. Internal: no API reads it.
create table saasbase.account_removals (
  account_id uuid not null references public.accounts (id) on delete cascade,
  user_id uuid not null,
  removed_at timestamptz not null default now(),
  removed_by uuid,
  primary key (account_id, user_id)
);
grant select on saasbase.account_removals to service_role;

-- What invite_member hands out: the invitation and its token (the only time the token is seen).
create type public.team_invitation as (
  invitation_id uuid,
  account_id uuid,
  email text,
  role text,
  token text,
  token_prefix text,
  expires_at timestamptz,
  max_uses integer
);

-- ---------------------------------------------------------------------------------------------------------
-- Helpers of the team API

-- The team the caller manages (holding `p_right`; null: any member), locked: every change to a team's members
-- takes its account row first, so two of them never decide on the same state (two owners removing each
-- other, two acceptances racing for the last seat). The membership is checked again once the lock is held:
-- a removal or demotion that held it first has committed by then. PT404 account_not_found for a non-member,
-- PT403 account_forbidden without the right, PT422 personal_account for a personal account.
create function saasbase.lock_team(p_account uuid, p_right text) returns public.accounts
language plpgsql
set search_path = ''
as $$
declare
  v_account public.accounts;
begin
  perform saasbase.require_account(p_account, p_right);
  select * into v_account from public.accounts a where a.id = p_account for update;
  perform saasbase.require_account(p_account, p_right);
  if v_account.kind is distinct from 'team' then
    perform saasbase.fail('PT422', 'personal_account', 'A personal account has no other members: create a team');
  end if;
  return v_account;
end;
$$;

-- The caller's role in an account (null: not a member).
create function saasbase.my_role(p_account uuid) returns text
language plpgsql stable
set search_path = ''
as $$
begin
  return (select m.role from public.account_members m where m.account_id = p_account and m.user_id = auth.uid());
end;
$$;

-- PT409 seat_limit_reached when the account is at its plan's seat limit (plans.max_seats of accounts.plan_id,
-- or of the default plan when it has none; no limit when null). Called with the account row locked, so that
-- the count cannot change before the caller adds its member.
create function saasbase.require_free_seat(p_account public.accounts) returns void
language plpgsql stable
set search_path = ''
as $$
declare
  v_max integer;
  v_members bigint;
begin
  select p.max_seats into v_max from public.plans p
  where p.id = p_account.plan_id or (p_account.plan_id is null and p.is_default);
  if v_max is null then
    return;
  end if;
  select count(*) into v_members from public.account_members m where m.account_id = p_account.id;
  if v_members >= v_max then
    perform saasbase.fail('PT409', 'seat_limit_reached',
      format('This team has all the %s seats its plan allows: upgrade the plan to add members', v_max));
  end if;
end;
$$;

-- The invitation a token opens, locked (PT404 invitation_not_found for an unknown or malformed token: a guess
-- is told nothing more). Its account row is locked first, in the order every team change locks.
create function saasbase.invitation_by_token(p_token text) returns public.account_invitations
language plpgsql
set search_path = ''
as $$
declare
  v_hash bytea;
  v_account uuid;
  v_invitation public.account_invitations;
begin
  if p_token is null or char_length(p_token) not between 1 and 200 then
    perform saasbase.fail('PT404', 'invitation_not_found', 'No such invitation');
  end if;
  v_hash := sha256(convert_to(p_token, 'UTF8'));
  select i.account_id into v_account from public.account_invitations i where i.token_hash = v_hash;
  if not found then
    perform saasbase.fail('PT404', 'invitation_not_found', 'No such invitation');
  end if;
  perform from public.accounts a where a.id = v_account for update;
  select * into v_invitation from public.account_invitations i where i.token_hash = v_hash for update;
  if not found then
    perform saasbase.fail('PT404', 'invitation_not_found', 'No such invitation');
  end if;
  return v_invitation;
end;
$$;

-- PT410 when the invitation can no longer be used: invitation_closed (revoked, declined or used up) or
-- invitation_expired.
create function saasbase.require_open_invitation(p_invitation public.account_invitations) returns void
language plpgsql stable
set search_path = ''
as $$
begin
  if p_invitation.revoked_at is not null then
    perform saasbase.fail('PT410', 'invitation_closed', 'This invitation was revoked');
  elsif p_invitation.declined_at is not null then
    perform saasbase.fail('PT410', 'invitation_closed', 'This invitation was declined');
  elsif p_invitation.max_uses is not null and p_invitation.uses >= p_invitation.max_uses then
    perform saasbase.fail('PT410', 'invitation_closed', 'This invitation was used already');
  elsif p_invitation.expires_at <= saasbase.now() then
    perform saasbase.fail('PT410', 'invitation_expired', 'This invitation has expired: ask for a new one');
  end if;
end;
$$;

-- PT403 invitation_forbidden unless an email invitation is the caller's: their account's address, confirmed.
create function saasbase.require_invitee(p_invitation public.account_invitations, p_user uuid) returns void
language plpgsql stable
set search_path = ''
as $$
begin
  if p_invitation.email is not null and not exists (
    select from auth.users u
    where u.id = p_user and lower(u.email) = p_invitation.email and u.email_confirmed_at is not null
  ) then
    perform saasbase.fail('PT403', 'invitation_forbidden',
      'This invitation is for another email address (or yours is not confirmed yet)');
  end if;
end;
$$;

-- Closes the open invitations a departing member made (a removed admin's links stop working with them), and
-- those sent to their address (they were removed: a pending second invitation must not bring them back).
create function saasbase.revoke_invitations_of(p_account uuid, p_user uuid, p_actor uuid) returns void
language plpgsql
set search_path = ''
as $$
begin
  update public.account_invitations i set revoked_at = now(), revoked_by = p_actor
  where i.account_id = p_account and i.revoked_at is null and i.declined_at is null
    and (i.max_uses is null or i.uses < i.max_uses)
    and (i.invited_by = p_user or i.email = (select lower(u.email) from auth.users u where u.id = p_user));
end;
$$;

-- A member of the team, or PT404 member_not_found.
create function saasbase.team_member(p_account uuid, p_user uuid) returns public.account_members
language plpgsql stable
set search_path = ''
as $$
declare
  v_member public.account_members;
begin
  select * into v_member from public.account_members m where m.account_id = p_account and m.user_id = p_user;
  if not found then
    perform saasbase.fail('PT404', 'member_not_found', 'No such member of this team');
  end if;
  return v_member;
end;
$$;

-- PT409 last_owner when `p_member` is the team's only owner (and so may not leave, be removed or demoted):
-- a team always keeps someone who can manage it. Called with the team's row locked.
create function saasbase.require_other_owner(p_member public.account_members) returns void
language plpgsql stable
set search_path = ''
as $$
begin
  if p_member.role = 'owner' and not exists (
    select from public.account_members m
    where m.account_id = p_member.account_id and m.role = 'owner' and m.user_id <> p_member.user_id
  ) then
    perform saasbase.fail('PT409', 'last_owner',
      'A team keeps at least one owner: make another member owner (or transfer the ownership) first');
  end if;
end;
$$;

-- What keeps an account from being deleted (null: nothing): credits in its wallet (paid for; spend or
-- refund them first) or a live subscription (cancel it first: Stripe would go on billing a team that is
-- gone). The money tables move from user keys to account keys in the migrations after this one (account
-- credits, account billing), so each is read by whichever key it has: this holds before and after them.
create function saasbase.account_money_left(p_account uuid) returns text
language plpgsql stable
set search_path = ''
as $$
declare
  v_check record;
  v_key text;
  v_found boolean;
begin
  for v_check in
    select * from (values
      ('wallets', 'balance > 0 or reserved > 0', 'credits in its wallet'),
      ('subscriptions', $c$status not in ('canceled', 'incomplete_expired')$c$, 'a live subscription')
    ) c(tbl, condition, reason)
  loop
    select c.column_name into v_key from information_schema.columns c
    where c.table_schema = 'public' and c.table_name = v_check.tbl and c.column_name in ('account_id', 'user_id')
    order by c.column_name limit 1;
    execute format('select exists (select from public.%I where %I = $1 and (%s))', v_check.tbl, v_key, v_check.condition)
      into v_found using p_account;
    if v_found then
      return v_check.reason;
    end if;
  end loop;
  return null;
end;
$$;

-- ---------------------------------------------------------------------------------------------------------
-- The API

-- The team creations of a user, by the audit log: the record of them that a team's deletion does not take.
create index audit_log_team_creations on public.audit_log (actor_id, created_at) where action = 'team.create';

-- Creates a team owned by the caller (audited). PT409 slug_taken when the slug is in use; PT422
-- invalid_team when the name or slug is malformed; PT429 rate_limited past the config's teams a user may create
-- in 30 days (teams.teamsPerMonth; deleted ones count): every team has its plan's free allowances (the default
-- plan's, until it subscribes) and its own invitations a day, so unlimited teams would multiply both.
create function public.create_team(name text, slug text) returns public.accounts
language plpgsql
security definer
set search_path = ''
as $$
#variable_conflict use_variable
declare
  v_uid uuid := saasbase.require_user();
  v_limit integer := (select s.teams_per_month from saasbase.settings s);
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
  -- One creation of a user's at a time, so that two at once cannot both pass the count.
  perform pg_advisory_xact_lock(hashtextextended('saasbase.create_team:' || v_uid::text, 0));
  if (select count(*) from public.audit_log l where l.action = 'team.create' and l.actor_id = v_uid
      and l.created_at > saasbase.now() - interval '30 days') >= v_limit then
    perform saasbase.fail('PT429', 'rate_limited',
      format('You created %s teams in the last 30 days, the most allowed: try again later', v_limit));
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

-- A member as a team's frontend lists them: account_members holds user ids only, and a profile is its user's
-- own (RLS), so without this a team's owner could not tell whom they are removing or capping.
create type public.team_member as (
  user_id uuid,
  role text,
  display_name text,
  avatar_url text,
  -- Only for a caller whose role may manage members or invite (who tell people apart by it); null otherwise.
  email text,
  monthly_spend_cap bigint,
  joined_at timestamptz
);

-- The members of an account the caller belongs to (PT404 account_not_found otherwise; null: their personal
-- account, its user alone), by role (team_roles.sort_order), then longest in it first.
create function public.list_team_members(account uuid default null) returns setof public.team_member
language plpgsql
stable
security definer
set search_path = ''
as $$
#variable_conflict use_variable
declare
  v_account uuid := saasbase.require_account(account, null);
  v_emails boolean := exists (
    select from public.account_members m join public.team_roles r on r.role = m.role
    where m.account_id = v_account and m.user_id = auth.uid() and r.rights && array['manage_members', 'invite']);
begin
  return query
  select m.user_id, m.role, p.display_name, p.avatar_url, case when v_emails then u.email::text end,
    m.monthly_spend_cap, m.joined_at
  from public.account_members m
  join public.team_roles r on r.role = m.role
  join auth.users u on u.id = m.user_id
  left join public.profiles p on p.id = m.user_id
  where m.account_id = v_account
  order by r.sort_order, m.joined_at, m.user_id;
end;
$$;
revoke execute on function public.list_team_members(uuid) from public, anon;
grant execute on function public.list_team_members(uuid) to authenticated;

-- Invites someone to a team in `role` (right 'invite'; only an owner invites an owner): by email (for the
-- user with that confirmed address; a mail is queued in email_outbox, a newer invitation to the same address
-- replacing the open one) or, without an email, by link. Returns the token, this once: it is stored hashed.
-- PT422 invalid_role / invalid_email, PT409 already_member when the address is a member's, PT409
-- seat_limit_reached when the team is full (pending invitations do not hold seats: acceptance checks again),
-- PT429 rate_limited past the config's invitations a day (teams.invitationsPerDay) for the team.
create function public.invite_member(account uuid, role text, email text default null)
returns public.team_invitation
language plpgsql
security definer
set search_path = ''
as $$
#variable_conflict use_variable
declare
  v_uid uuid := saasbase.require_user();
  v_team public.accounts := saasbase.lock_team(account, 'invite');
  v_email text := lower(btrim(email));
  v_settings saasbase.settings;
  v_token text := 'sbi_' || replace(gen_random_uuid()::text, '-', '') || replace(gen_random_uuid()::text, '-', '');
  v_invitation public.account_invitations;
begin
  if not exists (select from public.team_roles r where r.role = role) then
    perform saasbase.fail('PT422', 'invalid_role', format('No team role %s', coalesce(role, 'null')));
  end if;
  if role = 'owner' and saasbase.my_role(v_team.id) is distinct from 'owner' then
    perform saasbase.fail('PT403', 'account_forbidden', 'Only an owner may invite an owner');
  end if;
  if email is not null and (char_length(v_email) > 320 or v_email !~ '^[^@\s]+@[^@\s]+\.[^@\s]+$') then
    perform saasbase.fail('PT422', 'invalid_email', 'An email address is required (or none, for a link)');
  end if;
  if v_email is not null and exists (
    select from public.account_members m join auth.users u on u.id = m.user_id
    where m.account_id = v_team.id and lower(u.email) = v_email
  ) then
    perform saasbase.fail('PT409', 'already_member', 'This address belongs to a member already');
  end if;
  perform saasbase.require_free_seat(v_team);
  select * into v_settings from saasbase.settings;
  if (select count(*) from public.account_invitations i
      where i.account_id = v_team.id and i.created_at > saasbase.now() - interval '1 day') >= v_settings.invitations_per_day then
    perform saasbase.fail('PT429', 'rate_limited',
      format('This team made its %s invitations of the last 24 hours: try again later', v_settings.invitations_per_day));
  end if;

  if v_email is not null then
    update public.account_invitations i set revoked_at = now(), revoked_by = v_uid
    where i.account_id = v_team.id and i.email = v_email and i.revoked_at is null and i.declined_at is null
      and i.uses < i.max_uses;
  end if;
  insert into public.account_invitations (account_id, email, role, token_hash, token_prefix, expires_at, max_uses,
    invited_by)
  values (v_team.id, v_email, role, sha256(convert_to(v_token, 'UTF8')), left(v_token, 12),
    saasbase.now() + make_interval(days => v_settings.invitation_expiry_days),
    case when v_email is null and v_settings.reusable_link_invitations then null else 1 end, v_uid)
  returning * into v_invitation;

  if v_email is not null then
    -- For the mail worker: one mail per invitation (a newer invitation is a new mail).
    insert into public.email_outbox (user_id, template, dedupe_key, payload)
    values ((select u.id from auth.users u where lower(u.email) = v_email order by u.created_at limit 1),
      'team_invitation', 'team_invitation:' || v_invitation.id, jsonb_build_object(
        'email', v_email, 'invitation_id', v_invitation.id, 'account_id', v_team.id, 'team_name', v_team.name,
        'role', role, 'role_name', (select r.name from public.team_roles r where r.role = role),
        'invited_by_email', (select u.email from auth.users u where u.id = v_uid),
        'expires_at', v_invitation.expires_at,
        'accept_url', v_settings.product_url || '/invitations/accept?token=' || v_token))
    on conflict (dedupe_key) do nothing;
  end if;
  perform saasbase.audit(v_uid, 'team.invite', 'account', v_team.id::text, jsonb_build_object(
    'invitation_id', v_invitation.id, 'email', v_email, 'role', role, 'max_uses', v_invitation.max_uses));
  return (v_invitation.id, v_team.id, v_email, role, v_token, v_invitation.token_prefix, v_invitation.expires_at,
    v_invitation.max_uses)::public.team_invitation;
end;
$$;
revoke execute on function public.invite_member(uuid, text, text) from public, anon;
grant execute on function public.invite_member(uuid, text, text) to authenticated;

-- The signed-in caller joins the team a token invites to, in the invitation's role. Refused, changing
-- nothing: PT404 invitation_not_found (unknown token), PT410 invitation_closed / invitation_expired, PT403
-- invitation_forbidden (an email invitation for another or unconfirmed address, an anonymous user, or someone
-- removed from the team since the invitation was made), PT409 already_member, PT409 seat_limit_reached (the
-- team is at its plan's seat limit; concurrent acceptances queue on the team's row, so the limit holds).
create function public.accept_invitation(token text) returns public.account_members
language plpgsql
security definer
set search_path = ''
as $$
#variable_conflict use_variable
declare
  v_uid uuid := saasbase.require_user();
  v_invitation public.account_invitations := saasbase.invitation_by_token(token);
  v_team public.accounts;
  v_member public.account_members;
begin
  perform saasbase.require_open_invitation(v_invitation);
  perform saasbase.require_invitee(v_invitation, v_uid);
  if exists (select from auth.users u where u.id = v_uid and u.is_anonymous) then
    perform saasbase.fail('PT403', 'invitation_forbidden', 'Sign up before joining a team');
  end if;
  if exists (select from saasbase.account_removals r where r.account_id = v_invitation.account_id
      and r.user_id = v_uid and r.removed_at >= v_invitation.created_at) then
    perform saasbase.fail('PT403', 'invitation_forbidden',
      'You were removed from this team after this invitation was made: ask for a new one');
  end if;
  if exists (select from public.account_members m where m.account_id = v_invitation.account_id and m.user_id = v_uid) then
    perform saasbase.fail('PT409', 'already_member', 'You are a member of this team already');
  end if;
  select * into v_team from public.accounts a where a.id = v_invitation.account_id;
  perform saasbase.require_free_seat(v_team);

  insert into public.account_members (account_id, user_id, role)
  values (v_team.id, v_uid, v_invitation.role)
  returning * into v_member;
  update public.account_invitations i set uses = i.uses + 1, accepted_at = now(), accepted_by = v_uid
  where i.id = v_invitation.id;
  perform saasbase.audit(v_uid, 'team.join', 'account', v_team.id::text,
    jsonb_build_object('invitation_id', v_invitation.id, 'role', v_invitation.role));
  return v_member;
end;
$$;
revoke execute on function public.accept_invitation(text) from public, anon;
grant execute on function public.accept_invitation(text) to authenticated;

-- The invitee says no: the invitation closes (an email one only for its addressee). A reusable link is not
-- closed by one person declining it: nothing changes, and the invitation is returned as it is.
create function public.decline_invitation(token text) returns public.account_invitations
language plpgsql
security definer
set search_path = ''
as $$
#variable_conflict use_variable
declare
  v_uid uuid := saasbase.require_user();
  v_invitation public.account_invitations := saasbase.invitation_by_token(token);
begin
  perform saasbase.require_open_invitation(v_invitation);
  perform saasbase.require_invitee(v_invitation, v_uid);
  if v_invitation.max_uses is null then
    return v_invitation;
  end if;
  update public.account_invitations i set declined_at = now(), declined_by = v_uid
  where i.id = v_invitation.id
  returning * into v_invitation;
  perform saasbase.audit(v_uid, 'team.invitation_decline', 'account', v_invitation.account_id::text,
    jsonb_build_object('invitation_id', v_invitation.id));
  return v_invitation;
end;
$$;
revoke execute on function public.decline_invitation(text) from public, anon;
grant execute on function public.decline_invitation(text) to authenticated;

-- Withdraws an invitation (right 'invite'). PT404 invitation_not_found when it is not one of a team the
-- caller belongs to; PT410 invitation_closed when it was used, declined or revoked already.
create function public.revoke_invitation(invitation_id uuid) returns public.account_invitations
language plpgsql
security definer
set search_path = ''
as $$
#variable_conflict use_variable
declare
  v_uid uuid := saasbase.require_user();
  v_account uuid := (select i.account_id from public.account_invitations i where i.id = invitation_id);
  v_invitation public.account_invitations;
begin
  if v_account is null or not saasbase.has_role_on_account(v_account) then
    perform saasbase.fail('PT404', 'invitation_not_found', 'No such invitation');
  end if;
  perform saasbase.lock_team(v_account, 'invite');
  select * into v_invitation from public.account_invitations i where i.id = invitation_id for update;
  if v_invitation.revoked_at is not null or v_invitation.declined_at is not null
    or (v_invitation.max_uses is not null and v_invitation.uses >= v_invitation.max_uses) then
    perform saasbase.fail('PT410', 'invitation_closed', 'This invitation was used, declined or revoked already');
  end if;
  update public.account_invitations i set revoked_at = now(), revoked_by = v_uid
  where i.id = invitation_id
  returning * into v_invitation;
  perform saasbase.audit(v_uid, 'team.invitation_revoke', 'account', v_account::text,
    jsonb_build_object('invitation_id', invitation_id, 'email', v_invitation.email));
  return v_invitation;
end;
$$;
revoke execute on function public.revoke_invitation(uuid) from public, anon;
grant execute on function public.revoke_invitation(uuid) to authenticated;

-- The caller leaves a team. PT409 last_owner for its last owner (transfer the ownership, or make another
-- owner, first); PT422 personal_account for a personal account. The invitations they made are revoked.
create function public.leave_team(account uuid) returns public.account_members
language plpgsql
security definer
set search_path = ''
as $$
#variable_conflict use_variable
declare
  v_uid uuid := saasbase.require_user();
  v_team public.accounts := saasbase.lock_team(account, null);
  v_member public.account_members;
begin
  select * into v_member from public.account_members m where m.account_id = v_team.id and m.user_id = v_uid;
  perform saasbase.require_other_owner(v_member);
  delete from public.account_members m where m.account_id = v_team.id and m.user_id = v_uid;
  perform saasbase.revoke_invitations_of(v_team.id, v_uid, v_uid);
  perform saasbase.audit(v_uid, 'team.leave', 'account', v_team.id::text, jsonb_build_object('role', v_member.role));
  return v_member;
end;
$$;
revoke execute on function public.leave_team(uuid) from public, anon;
grant execute on function public.leave_team(uuid) to authenticated;

-- Removes a member (right 'manage_members'; only an owner removes an owner): they lose the team at once, the
-- invitations they made or that were sent to them are revoked, and no invitation made before now lets them
-- back in. PT404 member_not_found, PT409 last_owner.
create function public.remove_member(account uuid, user_id uuid) returns public.account_members
language plpgsql
security definer
set search_path = ''
as $$
#variable_conflict use_variable
declare
  v_uid uuid := saasbase.require_user();
  v_team public.accounts := saasbase.lock_team(account, 'manage_members');
  v_member public.account_members := saasbase.team_member(v_team.id, user_id);
begin
  if v_member.role = 'owner' and saasbase.my_role(v_team.id) is distinct from 'owner' then
    perform saasbase.fail('PT403', 'account_forbidden', 'Only an owner may remove an owner');
  end if;
  perform saasbase.require_other_owner(v_member);
  delete from public.account_members m where m.account_id = v_team.id and m.user_id = v_member.user_id;
  insert into saasbase.account_removals as r (account_id, user_id, removed_at, removed_by)
  values (v_team.id, v_member.user_id, now(), v_uid)
  on conflict on constraint account_removals_pkey
    do update set removed_at = excluded.removed_at, removed_by = excluded.removed_by;
  perform saasbase.revoke_invitations_of(v_team.id, v_member.user_id, v_uid);
  perform saasbase.audit(v_uid, 'team.remove_member', 'account', v_team.id::text,
    jsonb_build_object('user_id', v_member.user_id, 'role', v_member.role));
  return v_member;
end;
$$;
revoke execute on function public.remove_member(uuid, uuid) from public, anon;
grant execute on function public.remove_member(uuid, uuid) to authenticated;

-- Gives a member another role (right 'manage_members'; only an owner makes or unmakes an owner). PT422
-- invalid_role, PT404 member_not_found, PT409 last_owner (demoting the last owner).
create function public.set_member_role(account uuid, user_id uuid, role text) returns public.account_members
language plpgsql
security definer
set search_path = ''
as $$
#variable_conflict use_variable
declare
  v_uid uuid := saasbase.require_user();
  v_team public.accounts := saasbase.lock_team(account, 'manage_members');
  v_member public.account_members := saasbase.team_member(v_team.id, user_id);
  v_updated public.account_members;
begin
  if not exists (select from public.team_roles r where r.role = role) then
    perform saasbase.fail('PT422', 'invalid_role', format('No team role %s', coalesce(role, 'null')));
  end if;
  if 'owner' in (role, v_member.role) and saasbase.my_role(v_team.id) is distinct from 'owner' then
    perform saasbase.fail('PT403', 'account_forbidden', 'Only an owner may make or unmake an owner');
  end if;
  if role <> 'owner' then
    perform saasbase.require_other_owner(v_member);
  end if;
  update public.account_members m set role = role
  where m.account_id = v_team.id and m.user_id = v_member.user_id
  returning * into v_updated;
  perform saasbase.audit(v_uid, 'team.set_role', 'account', v_team.id::text,
    jsonb_build_object('user_id', v_member.user_id, 'from', v_member.role, 'to', role));
  return v_updated;
end;
$$;
revoke execute on function public.set_member_role(uuid, uuid, text) from public, anon;
grant execute on function public.set_member_role(uuid, uuid, text) to authenticated;

-- Hands the team to another member (owners only): they become an owner, the caller an admin (the config's
-- first role after owner when it has no `admin`; stays owner when there is none). Returns the new owner's
-- membership. PT404 member_not_found, PT422 invalid_member (to oneself).
create function public.transfer_ownership(account uuid, user_id uuid) returns public.account_members
language plpgsql
security definer
set search_path = ''
as $$
#variable_conflict use_variable
declare
  v_uid uuid := saasbase.require_user();
  v_team public.accounts := saasbase.lock_team(account, null);
  v_member public.account_members;
  v_demoted text := coalesce(
    (select r.role from public.team_roles r where r.role = 'admin'),
    (select r.role from public.team_roles r where r.role <> 'owner' order by r.sort_order, r.role limit 1),
    'owner');
begin
  if saasbase.my_role(v_team.id) is distinct from 'owner' then
    perform saasbase.fail('PT403', 'account_forbidden', 'Only an owner may transfer the ownership');
  end if;
  if user_id = v_uid then
    perform saasbase.fail('PT422', 'invalid_member', 'You own this team already');
  end if;
  v_member := saasbase.team_member(v_team.id, user_id);
  update public.account_members m set role = 'owner'
  where m.account_id = v_team.id and m.user_id = v_member.user_id
  returning * into v_member;
  update public.account_members m set role = v_demoted where m.account_id = v_team.id and m.user_id = v_uid;
  perform saasbase.audit(v_uid, 'team.transfer_ownership', 'account', v_team.id::text,
    jsonb_build_object('to', v_member.user_id, 'previous_owner_role', v_demoted));
  return v_member;
end;
$$;
revoke execute on function public.transfer_ownership(uuid, uuid) from public, anon;
grant execute on function public.transfer_ownership(uuid, uuid) to authenticated;

-- Caps what a member may spend from the team's wallet in a calendar month (UTC), in credits; null lifts the
-- cap (right 'manage_members'; only an owner caps an owner, and only an owner changes their own cap: an admin
-- an owner capped must not lift it). The credits API enforces it on every charge. PT422 invalid_amount, PT404
-- member_not_found.
create function public.set_member_spend_cap(account uuid, user_id uuid, monthly_credits bigint)
returns public.account_members
language plpgsql
security definer
set search_path = ''
as $$
#variable_conflict use_variable
declare
  v_uid uuid := saasbase.require_user();
  v_team public.accounts := saasbase.lock_team(account, 'manage_members');
  v_member public.account_members := saasbase.team_member(v_team.id, user_id);
begin
  if monthly_credits < 0 then
    perform saasbase.fail('PT422', 'invalid_amount', 'A monthly cap is 0 credits or more (null: no cap)');
  end if;
  -- Caps of those who manage members (owners, admins) are an owner's to set: otherwise two admins an owner
  -- capped could lift each other's caps.
  if saasbase.my_role(v_team.id) is distinct from 'owner' and exists (
    select from public.team_roles r where r.role = v_member.role and 'manage_members' = any (r.rights)
  ) then
    perform saasbase.fail('PT403', 'account_forbidden', 'Only an owner may cap a member who manages members');
  end if;
  if v_member.user_id = v_uid and v_member.role <> 'owner' then
    perform saasbase.fail('PT403', 'account_forbidden', 'Your own spending cap is set by an owner');
  end if;
  update public.account_members m set monthly_spend_cap = monthly_credits
  where m.account_id = v_team.id and m.user_id = v_member.user_id
  returning * into v_member;
  perform saasbase.audit(v_uid, 'team.set_spend_cap', 'account', v_team.id::text,
    jsonb_build_object('user_id', v_member.user_id, 'monthly_credits', monthly_credits));
  return v_member;
end;
$$;
revoke execute on function public.set_member_spend_cap(uuid, uuid, bigint) from public, anon;
grant execute on function public.set_member_spend_cap(uuid, uuid, bigint) to authenticated;

-- Renames a team or changes its slug (right 'manage_team'; null keeps a field). PT422 invalid_team, PT409
-- slug_taken.
create function public.update_team(account uuid, name text default null, slug text default null)
returns public.accounts
language plpgsql
security definer
set search_path = ''
as $$
#variable_conflict use_variable
declare
  v_uid uuid := saasbase.require_user();
  v_team public.accounts := saasbase.lock_team(account, 'manage_team');
  v_updated public.accounts;
begin
  if name is not null and char_length(btrim(name)) not between 1 and 100 then
    perform saasbase.fail('PT422', 'invalid_team', 'A team name of 1 to 100 characters is required');
  end if;
  if slug is not null and slug !~ '^[a-z0-9]([a-z0-9-]{0,46}[a-z0-9])?$' then
    perform saasbase.fail('PT422', 'invalid_team',
      'A slug of 1 to 48 lower-case letters, digits and inner dashes is required');
  end if;
  begin
    update public.accounts a set name = coalesce(btrim(name), a.name), slug = coalesce(slug, a.slug)
    where a.id = v_team.id
    returning * into v_updated;
  exception when unique_violation then
    perform saasbase.fail('PT409', 'slug_taken', 'This slug is taken');
  end;
  perform saasbase.audit(v_uid, 'team.update', 'account', v_team.id::text, jsonb_build_object(
    'from', jsonb_build_object('name', v_team.name, 'slug', v_team.slug),
    'to', jsonb_build_object('name', v_updated.name, 'slug', v_updated.slug)));
  return v_updated;
end;
$$;
revoke execute on function public.update_team(uuid, text, text) from public, anon;
grant execute on function public.update_team(uuid, text, text) to authenticated;

-- Deletes a team (right 'manage_team'): its memberships and invitations go with it (and its wallet and
-- billing rows, by their foreign keys), the audit log keeps the record. Refused while it holds money, PT409
-- team_not_empty: credits in its wallet, or a live subscription. Returns the deleted row.
create function public.delete_team(account uuid) returns public.accounts
language plpgsql
security definer
set search_path = ''
as $$
#variable_conflict use_variable
declare
  v_uid uuid := saasbase.require_user();
  v_team public.accounts := saasbase.lock_team(account, 'manage_team');
  v_money text := saasbase.account_money_left(v_team.id);
  v_members bigint;
begin
  if v_money is not null then
    perform saasbase.fail('PT409', 'team_not_empty', format('This team still has %s', v_money));
  end if;
  select count(*) into v_members from public.account_members m where m.account_id = v_team.id;
  delete from public.accounts a where a.id = v_team.id;
  perform saasbase.audit(v_uid, 'team.delete', 'account', v_team.id::text, jsonb_build_object(
    'name', v_team.name, 'slug', v_team.slug, 'members', v_members));
  return v_team;
end;
$$;
revoke execute on function public.delete_team(uuid) from public, anon;
grant execute on function public.delete_team(uuid) to authenticated;

-- ---------------------------------------------------------------------------------------------------------
-- The config sync, re-defined (the catalog migration's is shipped and frozen) so that the config's
-- `teams` section reaches SQL in the same transaction as the rest of the catalog: the roles into
-- public.team_roles, each plan's seat fields (per_seat, max_seats), and the invitation settings.

alter table saasbase.settings
  -- Days an invitation may be accepted in (config teams.invitationExpiryDays).
  add column invitation_expiry_days integer not null default 7 check (invitation_expiry_days between 1 and 365),
  -- Whether a link invitation may be accepted by many until it expires (config teams.reusableLinks).
  add column reusable_link_invitations boolean not null default false,
  -- Invitations a team may make in 24 hours (config teams.invitationsPerDay): each email invitation is a mail
  -- sent in the product's name.
  add column invitations_per_day integer not null default 50 check (invitations_per_day > 0),
  -- Teams a user may create in 30 days (config teams.teamsPerMonth): see create_team.
  add column teams_per_month integer not null default 10 check (teams_per_month > 0);

-- The summary counts the roles too.
alter type public.config_sync_summary add attribute team_roles bigint;

-- Whether a member (or an open invitation) holds the role: a role in use cannot leave the config.
create function saasbase.team_role_in_use(p_role text) returns boolean
language plpgsql stable
set search_path = ''
as $$
begin
  return exists (select from public.account_members m where m.role = p_role)
    or exists (select from public.account_invitations i where i.role = p_role and i.revoked_at is null
      and i.declined_at is null and (i.max_uses is null or i.uses < i.max_uses) and i.expires_at > saasbase.now());
end;
$$;

-- As the catalog migration's, plus: `settings` may carry invitation_expiry_days, reusable_link_invitations,
-- invitations_per_day and teams_per_month;
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
      invitations_per_day = coalesce(r.invitations_per_day, s.invitations_per_day),
      teams_per_month = coalesce(r.teams_per_month, s.teams_per_month),
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
