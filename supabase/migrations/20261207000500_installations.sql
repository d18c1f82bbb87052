-- Installations: a user adding the product's MCP server to their editor (Cursor, Claude Desktop, VS Code,
-- Windsurf, ...). The `installations` function records the attempt (POST /installations/track) and then checks
-- the editor's MCP config server-side (POST /installations/validate: its shape for that client, that it names
-- this product's MCP server, that the API key in it is a live key of this user, that the server answers MCP
-- `initialize`); the outcome and a human-readable error land on the row. The onboarding funnel of admin_kpis
-- reads the rows (re-defined at the end of this file).
--
-- An installation belongs to an account (the user's personal account, or a team they act for with X-Account-Id),
-- and to the member who installed (user_id). Members of the account read its installations; nobody writes them
-- but the service role, through the two functions below.
--
-- The config as the editor has it would carry the user's API key in the clear. It is never stored so: every
-- `sbk_..._` key in it is cut to its prefix (the first 12 characters, as the API keys list shows it) by
-- saasbase.redact_api_keys before it is written, and a check constraint refuses any row that still holds one.

-- ---------------------------------------------------------------------------------------------------------
-- The table
create table public.installations (
  id uuid primary key default gen_random_uuid(),
  account_id uuid not null references public.accounts (id) on delete cascade,
  user_id uuid not null references auth.users (id) on delete cascade,
  -- The MCP client; `other` for one without a config format of its own here (it is checked against every one).
  client text not null check (client in ('cursor', 'claude-desktop', 'vscode', 'windsurf', 'other')),
  client_version text check (char_length(client_version) between 1 and 64),
  -- attempted (tracked, not validated yet) -> validated | failed (the last validation's outcome; a failed
  -- installation validated again may become validated, and the other way round).
  status text not null default 'attempted' check (status in ('attempted', 'validated', 'failed')),
  -- The config as last sent, API keys cut to their prefix; 16 KB at most (an editor's MCP file is a few hundred
  -- bytes: more is not a config).
  mcp_config jsonb check (octet_length(mcp_config::text) <= 16384),
  -- What the last validation found: the server entry's URL, the prefix of the key it carries, and what the
  -- server said it is (initialize's serverInfo and protocolVersion).
  server_url text check (char_length(server_url) <= 2048),
  api_key_prefix text check (char_length(api_key_prefix) <= 32),
  server_info jsonb check (octet_length(server_info::text) <= 4096),
  error_message text check (char_length(error_message) <= 2000),
  -- The API sets both from saasbase.now() (the tests' clock); the defaults are for rows written otherwise.
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  -- The last validation, and the first one that passed (what the funnel counts: once validated, the user reached
  -- the step, whatever a later check says).
  checked_at timestamptz,
  validated_at timestamptz,
  constraint installations_no_api_key check (mcp_config is null or mcp_config::text !~ 'sbk_[a-z]+_[A-Za-z0-9]{4,}')
);
comment on table public.installations is
  'MCP installations: tracked and validated by the installations function; read by the account''s members.';
create index installations_account_id on public.installations (account_id, created_at desc);
-- The funnel (by user) and the per-user limit on new rows.
create index installations_user_id on public.installations (user_id, created_at);

alter table public.installations enable row level security;
create policy "Installations are readable by the account's members and admins" on public.installations
  for select to authenticated
  using (account_id in (select saasbase.my_accounts()) or (select saasbase.is_admin()));
grant select on public.installations to authenticated;
grant select, insert, update, delete on public.installations to service_role;

-- ---------------------------------------------------------------------------------------------------------
-- Helpers
-- An MCP config with every API key of ours cut to its prefix (`sbk_live_abc` + an ellipsis): keys are made of
-- [A-Za-z0-9_] only, so the replacement on the JSON text cannot break the JSON.
create function saasbase.redact_api_keys(config jsonb) returns jsonb
language sql immutable
set search_path = ''
as $$
  select regexp_replace(config::text, '(sbk_[a-z]+_[A-Za-z0-9]{3})[A-Za-z0-9]+', '\1…', 'g')::jsonb
$$;

-- ---------------------------------------------------------------------------------------------------------
-- The API (the installations function, as the service role, for a signed-in member)

-- How many installations a user may start an hour: each is a row, and anyone signed in can call track.
create function saasbase.installation_hourly_limit() returns integer
language sql immutable
set search_path = ''
as $$ select 60 $$;

-- A new installation, attempted: `user_id` acting for `account_id` (null: their personal account; a team they
-- belong to, any role). 404 account_not_found for a non-member, 429 rate_limited past the hourly limit.
create function public.service_role_track_installation(account_id uuid, user_id uuid, client text,
  client_version text default null, mcp_config jsonb default null)
returns public.installations
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_account uuid;
  v_row public.installations;
begin
  if user_id is null then
    perform saasbase.fail('PT422', 'invalid_installation', 'A user is required');
  end if;
  v_account := saasbase.acting_account(account_id, user_id, null);
  -- acting_account takes a personal account on the user's word: a deleted user's has gone with them.
  if not exists (select from public.accounts a where a.id = v_account) then
    perform saasbase.fail('PT404', 'account_not_found', 'No such account, or you are not a member of it');
  end if;
  -- One user's calls queue here, so the count below is exact under concurrency.
  perform pg_advisory_xact_lock(hashtextextended('installations:' || user_id::text, 0));
  if (select count(*) from public.installations i
      where i.user_id = service_role_track_installation.user_id
        and i.created_at > saasbase.now() - interval '1 hour') >= saasbase.installation_hourly_limit() then
    perform saasbase.fail('PT429', 'rate_limited',
      format('At most %s installations an hour', saasbase.installation_hourly_limit()));
  end if;
  insert into public.installations (account_id, user_id, client, client_version, mcp_config, created_at, updated_at)
  values (v_account, user_id, client, client_version, saasbase.redact_api_keys(mcp_config), saasbase.now(), saasbase.now())
  returning * into v_row;
  return v_row;
exception
  when check_violation then
    perform saasbase.fail('PT422', 'invalid_installation', 'Invalid installation: ' || sqlerrm);
    return null; -- not reached: fail raises
end;
$$;
revoke execute on function public.service_role_track_installation(uuid, uuid, text, text, jsonb)
  from public, anon, authenticated;
grant execute on function public.service_role_track_installation(uuid, uuid, text, text, jsonb) to service_role;

-- A validation's outcome on the user's installation in the account: status validated or failed, with what it
-- found and, when failed, why. 404 installation_not_found when the installation is not this user's in this
-- account (or does not exist), 404 account_not_found when they are no longer a member.
create function public.service_role_record_installation_outcome(installation_id uuid, account_id uuid,
  user_id uuid, status text, error_message text default null, mcp_config jsonb default null,
  server_url text default null, api_key_prefix text default null, server_info jsonb default null,
  client_version text default null)
returns public.installations
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_account uuid;
  v_row public.installations;
begin
  if status is null or status not in ('validated', 'failed') then
    perform saasbase.fail('PT422', 'invalid_installation', 'The outcome is validated or failed');
  end if;
  if status = 'failed' and error_message is null then
    perform saasbase.fail('PT422', 'invalid_installation', 'A failed validation says why (error_message)');
  end if;
  v_account := saasbase.acting_account(account_id, user_id, null);
  update public.installations i set
    status = service_role_record_installation_outcome.status,
    error_message = case when service_role_record_installation_outcome.status = 'failed'
      then left(service_role_record_installation_outcome.error_message, 2000) end,
    mcp_config = coalesce(saasbase.redact_api_keys(service_role_record_installation_outcome.mcp_config), i.mcp_config),
    server_url = service_role_record_installation_outcome.server_url,
    api_key_prefix = service_role_record_installation_outcome.api_key_prefix,
    server_info = service_role_record_installation_outcome.server_info,
    client_version = coalesce(service_role_record_installation_outcome.client_version, i.client_version),
    checked_at = saasbase.now(),
    validated_at = case when service_role_record_installation_outcome.status = 'validated'
      then coalesce(i.validated_at, saasbase.now()) else i.validated_at end,
    updated_at = saasbase.now()
  where i.id = installation_id and i.account_id = v_account and i.user_id = service_role_record_installation_outcome.user_id
  returning i.* into v_row;
  if not found then
    perform saasbase.fail('PT404', 'installation_not_found', 'No such installation of yours in this account');
  end if;
  return v_row;
exception
  when check_violation then
    perform saasbase.fail('PT422', 'invalid_installation', 'Invalid installation: ' || sqlerrm);
    return null; -- not reached: fail raises
end;
$$;
revoke execute on function public.service_role_record_installation_outcome(uuid, uuid, uuid, text, text, jsonb, text,
  text, jsonb, text) from public, anon, authenticated;
grant execute on function public.service_role_record_installation_outcome(uuid, uuid, uuid, text, text, jsonb, text,
  text, jsonb, text) to service_role;

-- ---------------------------------------------------------------------------------------------------------
-- KPIs: the onboarding funnel's installation steps read installations. Re-defined from
-- 20261207000200_account_billing.sql, every field kept; only the funnel's two installation steps change:
--   installation.attempted   signups of the range with an installation (any status) made by `to_date`
--   installation.validated   signups of the range with an installation validated (server-side) by `to_date`
-- A frontend that records the steps itself as analytics events (`installation.attempted`,
-- `installation.validated` with properties.valid) is still counted, as before: a user counts once either way.
-- This definition runs after the billing migration's and replaces it: a change to admin_kpis there must be made
-- here too (tests/installations.test.ts compares the two, the funnel's installation steps aside).
create or replace function public.admin_kpis(from_date date, to_date date, bucket text default 'day')
returns public.kpi_report
language plpgsql
stable
security definer
set search_path = ''
as $$
declare
  v_from timestamptz;
  v_to timestamptz;
  v_result public.kpi_report;
begin
  perform saasbase.require_admin();
  if from_date is null or to_date is null or not isfinite(from_date) or not isfinite(to_date)
    or from_date > to_date or bucket is null or bucket not in ('day', 'week', 'month') then
    perform saasbase.fail('PT422', 'invalid_range', 'from_date <= to_date and bucket day, week or month are required');
  end if;
  -- Every bucket runs its own counts: a bounded series, as an admin screen can show.
  if to_date - from_date > 3660 or (bucket = 'day' and to_date - from_date > 731) then
    perform saasbase.fail('PT422', 'invalid_range', 'At most two years of days, or ten years of weeks or months');
  end if;
  v_from := from_date::timestamp at time zone 'UTC';
  v_to := (to_date + 1)::timestamp at time zone 'UTC';

  -- One statement, assigned whole (SELECT INTO would spread a composite over the variable's fields).
  v_result := (with activity as (
    select e.user_id, e.occurred_at as at from public.events e
    where e.user_id is not null and e.occurred_at >= v_from - interval '30 days' and e.occurred_at < v_to
    union all
    -- A metered use is its member's activity: the ledger's actor (20261207000100_account_credits.sql), or the
    -- account of a row from before accounts, when it was the user's.
    select coalesce(l.actor_id, l.account_id), l.created_at from public.credit_ledger l
    where l.kind in ('charge', 'reserve') and l.created_at >= v_from - interval '30 days' and l.created_at < v_to
  ),
  payments as (
    select p.account_id, p.created_at as at, (p.amount_cents - p.refunded_cents)::bigint as cents from public.purchases p
    where p.amount_cents - p.refunded_cents > 0 -- a free (fully discounted) or fully refunded purchase pays nothing
    union all
    select i.account_id, i.created_at, i.amount_paid::bigint from public.invoices i where i.status = 'paid' and i.amount_paid > 0
  ),
  first_payment as (select account_id, min(at) as at from payments group by account_id),
  signups as (select u.id, u.created_at from auth.users u where u.created_at >= v_from and u.created_at < v_to),
  -- Signups of the range with an account of theirs paying by the end of it.
  converted as (
    select distinct s.id from signups s
    join public.accounts a on a.created_by = s.id
    join first_payment f on f.account_id = a.id
    where f.at < v_to
  ),
  consumed as (
    select l.feature_id, -sum(l.amount)::bigint as credits from public.credit_ledger l
    where l.kind in ('charge', 'reserve', 'settle', 'release') and l.created_at >= v_from and l.created_at < v_to
    group by l.feature_id
  ),
  -- A subscription bills its price times its quantity: a per-seat plan's seats (null, as before seats: one).
  subs as (
    select s.*, case x.billing_interval when 'year' then round(x.unit_amount * coalesce(s.quantity, 1) / 12.0)
      else x.unit_amount * coalesce(s.quantity, 1) end as monthly_cents
    from public.subscriptions s left join public.prices x on x.id = s.price_id
    where s.status not in ('incomplete', 'incomplete_expired', 'unpaid', 'paused')
  ),
  at_start as (select * from subs where created_at < v_from and (canceled_at is null or canceled_at >= v_from)),
  at_end as (select * from subs where created_at < v_to and (canceled_at is null or canceled_at >= v_to)),
  -- UTC calendar arithmetic (timestamp without time zone) whatever the session time zone, clipped to the range.
  buckets as (
    select greatest(b at time zone 'UTC', v_from) as start,
      least((b + ('1 ' || bucket)::interval) at time zone 'UTC', v_to) as stop
    from generate_series(date_trunc(bucket, v_from at time zone 'UTC'), (v_to at time zone 'UTC') - interval '1 microsecond',
      ('1 ' || bucket)::interval) b
  )
  -- Sums of bigints are numeric in Postgres: cast back, they are whole (cents and credits).
  select (
    (from_date, to_date, bucket)::public.kpi_range,
    (
      (select count(*) from signups),
      (select count(distinct user_id) from activity where at >= v_from),
      (select count(distinct user_id) from activity where at >= v_to - interval '1 day'),
      (select count(distinct user_id) from activity where at >= v_to - interval '7 days'),
      (select count(distinct user_id) from activity where at >= v_to - interval '30 days'),
      coalesce((select sum(credits) from consumed), 0)::bigint,
      coalesce((select sum(cents) from payments where at >= v_from and at < v_to), 0)::bigint,
      (select count(*) from first_payment where at < v_to),
      (select count(*) from first_payment where at >= v_from and at < v_to),
      (select case when count(*) = 0 then 0 else round((select count(*) from converted)::numeric / count(*), 4) end
        from signups),
      coalesce((select sum(monthly_cents) from at_end), 0)::bigint,
      (select count(*) from public.subscriptions s
        where s.status = 'canceled' and s.canceled_at >= v_from and s.canceled_at < v_to),
      (select case when count(*) = 0 then 0 else round(
          count(*) filter (where status = 'canceled' and canceled_at < v_to)::numeric / count(*), 4) end
        from at_start),
      (select case when count(*) = 0 then 0 else round(
          coalesce((select sum(cents) from payments where at >= v_from and at < v_to), 0)::numeric / count(*)) end
        from auth.users u where u.created_at < v_to)::bigint,
      (select case when count(*) = 0 then 0 else round(
          coalesce((select sum(cents) from payments where at >= v_from and at < v_to), 0)::numeric / count(*)) end
        from first_payment where at < v_to)::bigint
    )::public.kpi_totals,
    coalesce((select array_agg((feature_id, credits)::public.feature_credits order by feature_id nulls last)
      from consumed), '{}'),
    array[
      ('signed_up', (select count(*) from signups))::public.funnel_step,
      ('installation.attempted', (select count(distinct x.user_id) from (
          select i.user_id from public.installations i where i.created_at < v_to
          union all
          select e.user_id from public.events e where e.name = 'installation.attempted' and e.occurred_at < v_to
        ) x join signups s on s.id = x.user_id))::public.funnel_step,
      ('installation.validated', (select count(distinct x.user_id) from (
          select i.user_id from public.installations i where i.validated_at < v_to
          union all
          select e.user_id from public.events e where e.name = 'installation.validated' and e.occurred_at < v_to
            -- Client-written JSON: only an explicit false counts as not valid (never a cast that can fail).
            and (e.properties -> 'valid') is distinct from 'false'::jsonb
        ) x join signups s on s.id = x.user_id))::public.funnel_step,
      ('first_metered_use', (select count(distinct coalesce(l.actor_id, l.account_id)) from public.credit_ledger l
        join signups s on s.id = coalesce(l.actor_id, l.account_id) where l.kind in ('charge', 'reserve') and l.created_at < v_to))::public.funnel_step,
      ('paid', (select count(*) from converted))::public.funnel_step
    ],
    (select array_agg((
        b.start,
        (select count(*) from signups s where s.created_at >= b.start and s.created_at < b.stop),
        (select count(distinct a.user_id) from activity a where a.at >= b.start and a.at < b.stop),
        coalesce((select -sum(l.amount) from public.credit_ledger l
          where l.kind in ('charge', 'reserve', 'settle', 'release') and l.created_at >= b.start and l.created_at < b.stop), 0)::bigint,
        coalesce((select sum(p.cents) from payments p where p.at >= b.start and p.at < b.stop), 0)::bigint,
        (select count(*) from first_payment f where f.at >= b.start and f.at < b.stop),
        (select count(*) from public.subscriptions s
          where s.status = 'canceled' and s.canceled_at >= b.start and s.canceled_at < b.stop)
      )::public.kpi_bucket order by b.start) from buckets b)
  )::public.kpi_report);
  return v_result;
end;
$$;
revoke execute on function public.admin_kpis(date, date, text) from public, anon;
grant execute on function public.admin_kpis(date, date, text) to authenticated;
