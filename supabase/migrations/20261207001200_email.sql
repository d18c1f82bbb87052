-- Email delivery: what happens to a row of public.email_outbox after the business change that queued it.
--
-- Every mail leaves through the outbox. Domains insert a row in the same transaction as the change that causes
-- it (`insert into public.email_outbox (user_id, template, dedupe_key, payload) ... on conflict (dedupe_key) do
-- nothing`: a rolled-back purchase queues nothing, a replayed webhook nothing twice); that statement keeps
-- working unchanged, every column added here has a default.
--
-- The `send-email` function (supabase/functions/_shared/email/worker.ts) drains it:
--   pending --claim--> sending --complete--> sent
--                         |--fail (retryable, attempts left)--> pending (next_attempt_at: backoff + jitter)
--                         |--fail (permanent, or out of attempts)--> failed (last_error says why)
--                         |--skip (suppressed address, or unsubscribed from non-transactional mail)--> suppressed
--                         '--claim expired (the worker died)--> claimable again, by any worker
-- A claim is a lease (claimed_by, claimed_until): a worker that dies mid-batch leaves rows in `sending` whose
-- lease runs out, and the next claim takes them over. The provider is then asked again with the same
-- idempotency key (the row's id), so a provider that keeps keys (Resend, 24 hours) sends nothing twice; one
-- that does not (Postmark, SendGrid) may, for the mails in flight at the moment of the crash (docs/email.md).
--
-- Delivery events (delivered, bounced, complained, opened, ...) arrive through the `email-webhook` function,
-- verified, and are stored once each in public.email_events; a hard bounce or a complaint puts the address on
-- public.email_suppressions, which the worker honours (no mail at all), and so does an unsubscribe (no
-- non-transactional mail).
--
-- Who reads what: a user reads the status of their own mails (not the payload, which may carry links and
-- tokens, nor the address or the provider's ids), admins everything (public.admin_list_emails), the service
-- role everything.

-- ---------------------------------------------------------------------------------------------------------
-- The outbox's delivery columns
alter table public.email_outbox
  -- pending (waiting, maybe for its next attempt) | sending (claimed by a worker) | sent (the provider accepted
  -- it) | failed (permanently, or out of attempts) | suppressed (not sent: the address is suppressed).
  add column status text not null default 'pending'
    check (status in ('pending', 'sending', 'sent', 'failed', 'suppressed')),
  -- Attempts made (a claim counts as one, a claim taken over from a dead worker too).
  add column attempts integer not null default 0 check (attempts >= 0),
  -- When the row may be claimed: now for a new row, after the backoff for a retry, the end of the lease while
  -- a worker holds it (so that one index serves both "due" and "lease expired").
  add column next_attempt_at timestamptz not null default now(),
  add column claimed_by text check (char_length(claimed_by) <= 200),
  add column claimed_until timestamptz,
  -- The recipient: set by whoever queues the row, else taken at the first claim from payload.email (a team
  -- invitation's invitee), else the user's address.
  add column to_email text check (char_length(to_email) <= 320),
  -- transactional | notification, as the template rendered it (notification mail carries List-Unsubscribe).
  add column category text check (category in ('transactional', 'notification')),
  add column provider text check (char_length(provider) <= 32),
  add column provider_message_id text check (char_length(provider_message_id) <= 256),
  add column last_error text check (char_length(last_error) <= 2000),
  -- What the provider's events said last: sent | delayed | delivered | bounced | complained (the furthest
  -- along wins: a late `delivered` does not undo a complaint); opens and clicks are in email_events only.
  add column delivery_status text check (delivery_status in ('delayed', 'delivered', 'bounced', 'complained')),
  add column delivered_at timestamptz,
  add column last_event_at timestamptz;

-- Rows sent before this migration (none were: nothing sent them) keep their time.
update public.email_outbox set status = 'sent' where sent_at is not null;

comment on table public.email_outbox is
  'Mail to send and sent: one row per dedupe key, delivered by the send-email worker; its status read by its user.';
-- The worker's claim: due rows (pending and due, or sending with a lapsed lease), oldest first.
create index email_outbox_due on public.email_outbox (next_attempt_at, id) where status in ('pending', 'sending');
-- Delivery events find their mail by the provider's message id.
create unique index email_outbox_provider_message on public.email_outbox (provider, provider_message_id)
  where provider_message_id is not null;

-- A user reads their own mails' status; admins every row (all columns through admin_list_emails). The columns a
-- user may select are granted one by one: the payload (an invitation's link, an invoice's URL), the address and
-- the provider's ids stay with admins and the service role.
drop policy "Outgoing mail is readable by admins" on public.email_outbox;
create policy "Mail is readable by its recipient and admins" on public.email_outbox
  for select to authenticated
  using (user_id = (select auth.uid()) or (select saasbase.is_admin()));
revoke select on public.email_outbox from authenticated;
grant select (id, user_id, template, status, attempts, created_at, sent_at, category, delivery_status, delivered_at)
  on public.email_outbox to authenticated;

-- ---------------------------------------------------------------------------------------------------------
-- Delivery events, as the providers' webhooks report them: one row per provider event id (a redelivered event
-- is stored once and applied once).
create table public.email_events (
  id bigint generated always as identity primary key,
  provider text not null check (provider in ('resend', 'postmark', 'sendgrid', 'console')),
  -- The provider's id of the event (Resend: the svix-id; SendGrid: sg_event_id; Postmark: its record's
  -- type, message and id or time, as it sends no event id).
  event_id text not null check (char_length(event_id) between 1 and 300),
  -- Normalised: sent | delivered | delayed | bounced (hard) | soft_bounced | complained | opened | clicked |
  -- unsubscribed | other (what we keep but do not act on).
  type text not null check (type in ('sent', 'delivered', 'delayed', 'bounced', 'soft_bounced', 'complained',
    'opened', 'clicked', 'unsubscribed', 'other')),
  provider_message_id text check (char_length(provider_message_id) <= 256),
  outbox_id bigint references public.email_outbox (id) on delete set null,
  email text check (char_length(email) <= 320),
  occurred_at timestamptz not null default now(),
  received_at timestamptz not null default now(),
  payload jsonb not null default '{}' check (octet_length(payload::text) <= 65536),
  unique (provider, event_id)
);
comment on table public.email_events is 'Delivery events from the mail provider''s webhook, one per event; read by admins.';
create index email_events_outbox_id on public.email_events (outbox_id);

alter table public.email_events enable row level security;
create policy "Mail events are readable by admins" on public.email_events
  for select to authenticated using ((select saasbase.is_admin()));
grant select on public.email_events to authenticated, service_role;

-- ---------------------------------------------------------------------------------------------------------
-- Addresses not to mail: a hard bounce or a complaint (no mail at all: the address does not exist, or its owner
-- calls us spam) or an unsubscribe (no non-transactional mail: receipts and security mail still go).
create table public.email_suppressions (
  email text not null check (email = lower(email) and char_length(email) between 3 and 320),
  reason text not null check (reason in ('hard_bounce', 'complaint', 'unsubscribe')),
  -- Who put it there: a provider's event (resend, postmark, sendgrid), the unsubscribe link, the user's
  -- preference, an admin.
  source text not null check (char_length(source) <= 64),
  event_id bigint references public.email_events (id) on delete set null,
  created_at timestamptz not null default now(),
  primary key (email, reason)
);
comment on table public.email_suppressions is
  'Addresses the mail worker skips: hard bounces and complaints (all mail), unsubscribes (non-transactional mail).';
create index email_suppressions_event_id on public.email_suppressions (event_id);

-- The caller's address, lower-case, as auth.users has it now (the token's copy may predate a change).
-- SECURITY DEFINER: API roles do not read auth.users.
create function saasbase.my_email() returns text
language plpgsql stable
security definer
set search_path = ''
as $$
begin
  return (select lower(u.email) from auth.users u where u.id = auth.uid());
end;
$$;
revoke execute on function saasbase.my_email() from public;
grant execute on function saasbase.my_email() to authenticated, service_role;

alter table public.email_suppressions enable row level security;
create policy "Suppressions are readable by the address's user and admins" on public.email_suppressions
  for select to authenticated
  using (email = (select saasbase.my_email()) or (select saasbase.is_admin()));
grant select on public.email_suppressions to authenticated;
grant select, insert, update, delete on public.email_suppressions to service_role;

-- ---------------------------------------------------------------------------------------------------------
-- The API (the worker's, the webhook's, the user's and admins')

-- A claimed mail, with what rendering it needs: the recipient's language, and the strongest suppression of its
-- address (null: none; 'complaint' or 'hard_bounce': mail nothing; 'unsubscribe': mail only transactional).
create type public.email_claim as (
  id bigint,
  user_id uuid,
  template text,
  dedupe_key text,
  payload jsonb,
  to_email text,
  locale text,
  attempts integer,
  suppression text
);

-- Claims up to batch_size due mails for `worker` for lease_seconds: pending ones whose time has come and
-- sending ones whose worker's lease ran out (taken over). FOR UPDATE SKIP LOCKED: concurrent workers each
-- take other rows and never wait on one another. The recipient is fixed at the first claim.
create function public.service_role_claim_emails(worker text, batch_size integer default 50,
  lease_seconds integer default 120)
returns setof public.email_claim
language plpgsql
security definer
set search_path = ''
as $$
#variable_conflict use_variable
declare
  v_now timestamptz := saasbase.now();
begin
  if worker is null or char_length(worker) not between 1 and 200 then
    perform saasbase.fail('PT422', 'invalid_worker', 'A worker name of 1 to 200 characters is required');
  end if;
  if batch_size is null or batch_size not between 1 and 1000 or lease_seconds is null
      or lease_seconds not between 5 and 3600 then
    perform saasbase.fail('PT422', 'invalid_batch', 'batch_size is 1 to 1000, lease_seconds 5 to 3600');
  end if;
  return query
  with due as (
    select o.id from public.email_outbox o
    where o.status in ('pending', 'sending') and o.next_attempt_at <= v_now
    order by o.next_attempt_at, o.id
    limit batch_size
    for update skip locked
  ), claimed as (
    update public.email_outbox o set
      status = 'sending',
      claimed_by = worker,
      claimed_until = v_now + make_interval(secs => lease_seconds),
      next_attempt_at = v_now + make_interval(secs => lease_seconds),
      attempts = o.attempts + 1,
      to_email = coalesce(o.to_email, lower(nullif(btrim(o.payload ->> 'email'), '')),
        (select lower(u.email) from auth.users u where u.id = o.user_id))
    from due
    where o.id = due.id
    returning o.*
  )
  select c.id, c.user_id, c.template, c.dedupe_key, c.payload, c.to_email,
    coalesce((select p.language from public.profiles p where p.id = c.user_id), 'en'),
    c.attempts,
    (select s.reason from public.email_suppressions s where s.email = c.to_email
      order by case s.reason when 'complaint' then 0 when 'hard_bounce' then 1 else 2 end limit 1)
  from claimed c
  order by c.next_attempt_at, c.id;
end;
$$;
revoke execute on function public.service_role_claim_emails(text, integer, integer) from public, anon, authenticated;
grant execute on function public.service_role_claim_emails(text, integer, integer) to service_role;

-- The provider accepted the mail: records its message id. Whoever completes first wins (a worker whose lease
-- was taken over may still complete: the provider did accept it; the second completion changes nothing and
-- answers false). A team invitation's accept link (a live token) is blanked from the payload once sent: the
-- mail carried it, the outbox need not keep it.
create function public.service_role_complete_email(email_id bigint, provider text, message_id text,
  category text default 'transactional')
returns boolean
language plpgsql
security definer
set search_path = ''
as $$
#variable_conflict use_variable
declare
  v_done boolean;
begin
  if provider is null or char_length(provider) not between 1 and 32
      or message_id is null or char_length(message_id) not between 1 and 256 then
    perform saasbase.fail('PT422', 'invalid_message_id', 'A provider and its message id (1 to 256 characters) are required');
  end if;
  update public.email_outbox o set
    status = 'sent',
    sent_at = now(),
    provider = provider,
    provider_message_id = message_id,
    category = coalesce(category, o.category),
    claimed_by = null,
    claimed_until = null,
    last_error = null,
    payload = case when o.template = 'team_invitation' and o.payload ? 'accept_url'
      then jsonb_set(o.payload, '{accept_url}', 'null') else o.payload end
  where o.id = email_id and o.status <> 'sent'
  returning true into v_done;
  return coalesce(v_done, false);
end;
$$;
revoke execute on function public.service_role_complete_email(bigint, text, text, text) from public, anon, authenticated;
grant execute on function public.service_role_complete_email(bigint, text, text, text) to service_role;

-- The attempt failed. Retryable and attempts left: back to pending after an exponential backoff
-- (base_seconds * 2^(attempts-1), at most max_seconds) with jitter (a random half of it added to its other
-- half, so that mails failing together do not retry together), or after the provider's Retry-After when that
-- is later. Else failed, the reason kept. Only the worker holding the claim may fail it (one whose lease was
-- taken over must not undo the new claim). Answers the new status, or null when the claim was not this worker's.
create function public.service_role_fail_email(email_id bigint, worker text, error text, retryable boolean,
  max_attempts integer default 8, base_seconds integer default 30, max_seconds integer default 3600,
  retry_after_seconds integer default null)
returns text
language plpgsql
security definer
set search_path = ''
as $$
#variable_conflict use_variable
declare
  v_row public.email_outbox;
  v_delay double precision;
  v_status text;
begin
  if max_attempts is null or max_attempts not between 1 and 100 or base_seconds is null
      or base_seconds not between 1 and 86400 or max_seconds is null or max_seconds not between 1 and 604800 then
    perform saasbase.fail('PT422', 'invalid_retry_policy', 'max_attempts 1 to 100, base_seconds 1 to 86400, max_seconds 1 to 604800');
  end if;
  select * into v_row from public.email_outbox o
  where o.id = email_id and o.status = 'sending' and o.claimed_by = worker
  for update;
  if not found then
    return null;
  end if;
  if coalesce(retryable, false) and v_row.attempts < max_attempts then
    v_delay := least(max_seconds::double precision, base_seconds * power(2, greatest(v_row.attempts - 1, 0)));
    v_delay := v_delay / 2 + random() * v_delay / 2;
    v_delay := greatest(v_delay, least(coalesce(retry_after_seconds, 0), max_seconds));
    v_status := 'pending';
  else
    v_status := 'failed';
  end if;
  update public.email_outbox o set
    status = v_status,
    next_attempt_at = case when v_status = 'pending'
      then saasbase.now() + make_interval(secs => v_delay) else o.next_attempt_at end,
    claimed_by = null,
    claimed_until = null,
    last_error = left(coalesce(error, 'unknown error'), 2000)
  where o.id = email_id;
  return v_status;
end;
$$;
revoke execute on function public.service_role_fail_email(bigint, text, text, boolean, integer, integer, integer, integer)
  from public, anon, authenticated;
grant execute on function public.service_role_fail_email(bigint, text, text, boolean, integer, integer, integer, integer)
  to service_role;

-- Not sent, on purpose: the address is suppressed (bounced, complained, or unsubscribed from this kind of
-- mail). The reason is kept. Only the worker holding the claim; answers whether it did.
create function public.service_role_skip_email(email_id bigint, worker text, reason text,
  category text default null)
returns boolean
language plpgsql
security definer
set search_path = ''
as $$
#variable_conflict use_variable
declare
  v_done boolean;
begin
  update public.email_outbox o set
    status = 'suppressed',
    category = coalesce(category, o.category),
    claimed_by = null,
    claimed_until = null,
    last_error = left(coalesce(reason, 'suppressed'), 2000)
  where o.id = email_id and o.status = 'sending' and o.claimed_by = worker
  returning true into v_done;
  return coalesce(v_done, false);
end;
$$;
revoke execute on function public.service_role_skip_email(bigint, text, text, text) from public, anon, authenticated;
grant execute on function public.service_role_skip_email(bigint, text, text, text) to service_role;

-- Puts an address on the suppression list (idempotent: the first entry of a reason stays).
create function saasbase.suppress_email(p_email text, p_reason text, p_source text, p_event bigint)
returns void
language sql
set search_path = ''
as $$
  insert into public.email_suppressions (email, reason, source, event_id)
  values (lower(btrim(p_email)), p_reason, p_source, p_event)
  on conflict (email, reason) do nothing
$$;

create type public.email_event_result as (
  -- false: this event was stored before (a redelivery); nothing was applied again.
  recorded boolean,
  outbox_id bigint,
  -- The address was put on the suppression list by this event.
  suppressed boolean
);

-- Stores one delivery event (once per provider event id) and applies it: the mail's delivery status (the
-- furthest along wins, so events arriving out of order leave the right one), and for a hard bounce or a
-- complaint the address's suppression, for an unsubscribe (a provider's list-unsubscribe) its unsubscribe.
-- PT422 invalid_email_event for a type or id it does not take.
create function public.service_role_record_email_event(provider text, event_id text, type text,
  message_id text default null, email text default null, occurred_at timestamptz default null,
  payload jsonb default '{}')
returns public.email_event_result
language plpgsql
security definer
set search_path = ''
as $$
#variable_conflict use_variable
declare
  v_event public.email_events;
  v_outbox public.email_outbox;
  v_email text;
  v_rank constant text[] := array['delayed', 'delivered', 'bounced', 'complained'];
  v_status text := case type when 'delivered' then 'delivered' when 'bounced' then 'bounced'
    when 'complained' then 'complained' when 'delayed' then 'delayed' when 'soft_bounced' then 'delayed' end;
  v_suppress text := case type when 'bounced' then 'hard_bounce' when 'complained' then 'complaint'
    when 'unsubscribed' then 'unsubscribe' end;
begin
  if provider is null or provider not in ('resend', 'postmark', 'sendgrid', 'console')
      or event_id is null or char_length(event_id) not between 1 and 300
      or type is null or type not in ('sent', 'delivered', 'delayed', 'bounced', 'soft_bounced', 'complained', 'opened',
        'clicked', 'unsubscribed', 'other')
      or char_length(message_id) > 256 or char_length(email) > 320 then
    perform saasbase.fail('PT422', 'invalid_email_event', 'Not a delivery event this backend stores');
  end if;
  if message_id is not null then
    select * into v_outbox from public.email_outbox o
    where o.provider = provider and o.provider_message_id = message_id
    for update;
  end if;
  v_email := lower(btrim(coalesce(email, v_outbox.to_email)));
  insert into public.email_events (provider, event_id, type, provider_message_id, outbox_id, email, occurred_at, payload)
  values (provider, event_id, type, message_id, v_outbox.id, v_email, coalesce(occurred_at, now()), coalesce(payload, '{}'))
  on conflict on constraint email_events_provider_event_id_key do nothing
  returning * into v_event;
  if v_event.id is null then
    return (false, v_outbox.id, false)::public.email_event_result;
  end if;
  if v_outbox.id is not null then
    update public.email_outbox o set
      delivery_status = case when v_status is not null
          and coalesce(array_position(v_rank, v_status), 0) > coalesce(array_position(v_rank, o.delivery_status), 0)
        then v_status else o.delivery_status end,
      delivered_at = case when type = 'delivered' then coalesce(o.delivered_at, v_event.occurred_at) else o.delivered_at end,
      last_event_at = greatest(o.last_event_at, v_event.occurred_at)
    where o.id = v_outbox.id;
  end if;
  if v_suppress is not null and v_email ~ '^[^@\s]+@[^@\s]+$' then
    perform saasbase.suppress_email(v_email, v_suppress, provider, v_event.id);
  end if;
  return (true, v_outbox.id, v_suppress is not null and v_email is not null)::public.email_event_result;
end;
$$;
revoke execute on function public.service_role_record_email_event(text, text, text, text, text, timestamptz, jsonb)
  from public, anon, authenticated;
grant execute on function public.service_role_record_email_event(text, text, text, text, text, timestamptz, jsonb)
  to service_role;

-- The one-click unsubscribe link (the `email-webhook` function checks its signed token first): the address gets
-- no more non-transactional mail. Idempotent; answers the address.
create function public.service_role_unsubscribe_email(email text, source text default 'unsubscribe_link')
returns text
language plpgsql
security definer
set search_path = ''
as $$
#variable_conflict use_variable
declare
  v_email text := lower(btrim(email));
begin
  if v_email is null or char_length(v_email) not between 3 and 320 or v_email !~ '^[^@\s]+@[^@\s]+$' then
    perform saasbase.fail('PT422', 'invalid_email', 'An email address is required');
  end if;
  perform saasbase.suppress_email(v_email, 'unsubscribe', coalesce(source, 'unsubscribe_link'), null);
  return v_email;
end;
$$;
revoke execute on function public.service_role_unsubscribe_email(text, text) from public, anon, authenticated;
grant execute on function public.service_role_unsubscribe_email(text, text) to service_role;

-- The signed-in user's preference for non-transactional mail (notifications): off puts their address on the
-- unsubscribe list, on takes it off (bounces and complaints stay: only an admin lifts those). Answers it.
create function public.set_email_notifications(enabled boolean)
returns boolean
language plpgsql
security definer
set search_path = ''
as $$
#variable_conflict use_variable
declare
  v_uid uuid := saasbase.require_user();
  v_email text := (select lower(u.email) from auth.users u where u.id = v_uid);
begin
  if enabled is null then
    perform saasbase.fail('PT422', 'validation_failed', 'enabled must be true or false');
  end if;
  if v_email is null then
    perform saasbase.fail('PT422', 'invalid_email', 'Your account has no email address');
  end if;
  if enabled then
    delete from public.email_suppressions s where s.email = v_email and s.reason = 'unsubscribe';
  else
    perform saasbase.suppress_email(v_email, 'unsubscribe', 'user', null);
  end if;
  return enabled;
end;
$$;
revoke execute on function public.set_email_notifications(boolean) from public, anon;
grant execute on function public.set_email_notifications(boolean) to authenticated;

-- Admins: the mail log with every column (payload, address, provider ids, last error), newest first, by user
-- and status when given. PT403 admin_only for anyone else.
create function public.admin_list_emails(user_id uuid default null, status text default null,
  page_size integer default 50, page integer default 0)
returns setof public.email_outbox
language plpgsql
stable
security definer
set search_path = ''
as $$
#variable_conflict use_variable
begin
  perform saasbase.require_admin();
  if page_size is null or page_size not between 1 and 500 or page is null or page < 0 then
    perform saasbase.fail('PT422', 'validation_failed', 'page_size is 1 to 500, page 0 or more');
  end if;
  return query
  select * from public.email_outbox o
  where (user_id is null or o.user_id = user_id) and (status is null or o.status = status)
  order by o.created_at desc, o.id desc
  limit page_size offset page * page_size;
end;
$$;
revoke execute on function public.admin_list_emails(uuid, text, integer, integer) from public, anon;
grant execute on function public.admin_list_emails(uuid, text, integer, integer) to authenticated;
