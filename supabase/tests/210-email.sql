-- Email delivery (20261207001200_email.sql): the RLS matrix of the mail log (public.email_outbox: its user reads
-- their own mails' status columns, not the payload, not other users'; admins and the service role read all),
-- the delivery events and the suppression list, for the mail's user, another user, anon, an admin and the
-- service role. Then the worker's SQL API: the claim (recipient, language, suppression, leases, take-over of a
-- lapsed lease), completion (first wins; an invitation's link blanked), failure (backoff with jitter within its
-- bounds, Retry-After, out of attempts -> failed, another worker's claim untouched), skip; delivery events
-- (stored once, status precedence, bounce and complaint -> suppression); unsubscribe and the user's preference;
-- the admin's log. The concurrency of claims (SKIP LOCKED across sessions) is tests/email-worker.test.ts's.
begin;
\ir _helpers.psql
select plan(139);

do $$
declare
  a uuid;
begin
  a := tests.create_user('a@test.local');
  perform tests.create_user('b@test.local');
  perform tests.create_user('admin@test.local', '{"role": "admin"}');
  -- The welcome mails the notifications domain queues at sign-up are not this file's.
  delete from public.email_outbox;
  insert into public.email_outbox (user_id, template, dedupe_key, payload)
  values (a, 'payment_failed', 'k_a', '{"invoice": "in_1", "hosted_invoice_url": "https://pay.example/in_1"}')
  on conflict (dedupe_key) do nothing;
  insert into public.email_events (provider, event_id, type, outbox_id, email)
  values ('resend', 'evt_a', 'delivered', (select id from public.email_outbox where dedupe_key = 'k_a'), 'a@test.local');
  insert into public.email_suppressions (email, reason, source) values ('a@test.local', 'hard_bounce', 'resend');
end $$;

-- The matrix --------------------------------------------------------------------------------------------------
with tables(tbl, label, stmt, expected_for) as (
  values
    ('email_outbox', 'select (status columns)', $$select id, template, status, attempts, created_at, sent_at, category,
      delivery_status, delivered_at from public.email_outbox where user_id = tests.uid('a@test.local')$$, 'owner'),
    ('email_outbox', 'select payload, to_email', $$select payload, to_email from public.email_outbox where dedupe_key = 'k_a'$$, 'service'),
    ('email_outbox', 'insert', $$insert into public.email_outbox (template, dedupe_key) values ('x', 'k_new')$$, 'service'),
    ('email_outbox', 'update', $$update public.email_outbox set status = status where dedupe_key = 'k_a'$$, 'service'),
    ('email_outbox', 'delete', $$delete from public.email_outbox where dedupe_key = 'k_a'$$, 'service'),
    ('email_events', 'select', $$select * from public.email_events where event_id = 'evt_a'$$, 'admin'),
    ('email_events', 'insert', $$insert into public.email_events (provider, event_id, type) values ('resend', 'evt_x', 'other')$$, 'nobody'),
    ('email_events', 'update', $$update public.email_events set type = type where event_id = 'evt_a'$$, 'nobody'),
    ('email_events', 'delete', $$delete from public.email_events where event_id = 'evt_a'$$, 'nobody'),
    ('email_suppressions', 'select', $$select * from public.email_suppressions where email = 'a@test.local'$$, 'owner'),
    ('email_suppressions', 'insert', $$insert into public.email_suppressions (email, reason, source) values ('z@test.local', 'complaint', 'x')$$, 'service'),
    ('email_suppressions', 'update', $$update public.email_suppressions set source = source where email = 'a@test.local'$$, 'service'),
    ('email_suppressions', 'delete', $$delete from public.email_suppressions where email = 'a@test.local'$$, 'service')
),
who(who) as (values ('anon'), ('a@test.local'), ('b@test.local'), ('admin@test.local'), ('service_role')),
cells(tbl, label, who, stmt, expected) as (
  select tbl, label, who, stmt,
    case expected_for
      when 'owner' then case who when 'anon' then 'denied' when 'b@test.local' then 'none' else 'rows' end
      when 'admin' then case who when 'anon' then 'denied' when 'admin@test.local' then 'rows'
        when 'service_role' then 'rows' else 'none' end
      when 'service' then case who when 'service_role' then 'rows' else 'denied' end
      else 'denied'
    end
  from tables, who
)
select is(tests.outcome(who, stmt), expected, format('%s %s %s', who, label, tbl))
from cells order by tbl, label, who;

-- What a user's log shows: their own row's status, nobody else's.
select tests.become('a@test.local');
select is((select status from public.email_outbox), 'pending', 'the user reads their mail''s status');
select tests.become('b@test.local');
select is((select count(*)::int from public.email_outbox), 0, 'another user reads none of it');
select tests.become('postgres');

-- Queuing as every domain does: the delivery columns' defaults -------------------------------------------------
select results_eq($$select status, attempts, to_email, claimed_by from public.email_outbox where dedupe_key = 'k_a'$$,
  $$values ('pending'::text, 0, null::text, null::text)$$, 'a queued mail is pending, unattempted, unclaimed');
insert into public.email_outbox (user_id, template, dedupe_key, payload)
values (tests.uid('a@test.local'), 'payment_failed', 'k_a', '{}') on conflict (dedupe_key) do nothing;
select is((select count(*)::int from public.email_outbox where dedupe_key = 'k_a'), 1, 'the same dedupe key queues nothing twice');

-- Claims --------------------------------------------------------------------------------------------------------
delete from public.email_suppressions;
update public.profiles set language = 'de' where id = tests.uid('a@test.local');
-- An invitation to an address with no account: its recipient is the payload's address.
insert into public.email_outbox (user_id, template, dedupe_key, payload, created_at)
values (null, 'team_invitation', 'k_inv', '{"email": "Invitee@Elsewhere.test", "accept_url": "https://app.test/invitations/accept?token=sbi_secret"}',
  now() - interval '1 minute');
update public.email_outbox set next_attempt_at = now() - interval '2 minutes' where dedupe_key = 'k_inv';
update public.email_outbox set next_attempt_at = now() - interval '1 minute' where dedupe_key = 'k_a';

select is(tests.attempt('a@test.local', $$select public.service_role_claim_emails('w1')$$), '42501',
  'a user may not claim mail');
select is(tests.attempt('service_role', $$select public.service_role_claim_emails('')$$), 'PT422 invalid_worker',
  'a claim needs a worker name');
select is(tests.attempt('service_role', $$select public.service_role_claim_emails('w1', 0)$$), 'PT422 invalid_batch',
  'a claim needs a batch of 1 or more');

select tests.become('service_role');
create temp table c1 as select * from public.service_role_claim_emails('w1', 10, 60);
select tests.become('postgres');
select results_eq($$select template, to_email, locale, attempts, suppression from c1 order by id$$,
  $$values ('payment_failed'::text, 'a@test.local'::text, 'de'::text, 1, null::text),
           ('team_invitation', 'invitee@elsewhere.test', 'en', 1, null)$$,
  'a claim returns the due mails with their recipient (payload.email, else the user''s), language and attempt');
select results_eq($$select status, claimed_by, to_email from public.email_outbox where dedupe_key = 'k_inv'$$,
  $$values ('sending'::text, 'w1'::text, 'invitee@elsewhere.test'::text)$$, 'claimed: sending, held by w1, the recipient fixed');
select tests.become('service_role');
select is((select count(*)::int from public.service_role_claim_emails('w2', 10, 60)), 0,
  'another worker claims none of the mails w1 holds');
select tests.become('postgres');

-- Completion: the provider's id recorded, the invitation's link blanked, first completion wins.
select tests.become('service_role');
select ok(public.service_role_complete_email((select id from c1 where template = 'team_invitation'), 'resend', 'msg_inv'),
  'completing a mail answers true');
select ok(not public.service_role_complete_email((select id from c1 where template = 'team_invitation'), 'resend', 'msg_other'),
  'a second completion (a taken-over worker''s) answers false');
select is(tests.attempt('service_role', format($$select public.service_role_complete_email(%s, 'resend', '')$$,
  (select id from c1 where template = 'team_invitation'))), 'PT422 invalid_message_id', 'completion needs a message id');
select tests.become('postgres');
select results_eq($$select status, provider, provider_message_id, claimed_by, payload -> 'accept_url', payload ->> 'email'
  from public.email_outbox where dedupe_key = 'k_inv'$$,
  $$values ('sent'::text, 'resend'::text, 'msg_inv'::text, null::text, 'null'::jsonb, 'Invitee@Elsewhere.test'::text)$$,
  'sent: the provider''s message id kept, the claim released, the invitation''s accept link blanked');
select ok((select sent_at is not null from public.email_outbox where dedupe_key = 'k_inv'), 'sent_at is set');

-- Failure: backoff with jitter, the provider's Retry-After, out of attempts.
select is(tests.attempt('service_role', format($$select public.service_role_fail_email(%s, 'w2', 'x', true)$$,
  (select id from c1 where template = 'payment_failed'))), 'ok', 'another worker''s failure call runs...');
select is((select status from public.email_outbox where dedupe_key = 'k_a'), 'sending', '... and leaves w1''s claim alone');
select tests.become('service_role');
select is(public.service_role_fail_email((select id from c1 where template = 'payment_failed'), 'w1', '503 busy', true,
  8, 30, 3600), 'pending', 'a retryable failure with attempts left goes back to pending');
select tests.become('postgres');
select ok((select next_attempt_at between now() + interval '15 seconds' and now() + interval '30 seconds'
  from public.email_outbox where dedupe_key = 'k_a'), 'the first retry waits 15 to 30 s (30 s base, half of it jitter)');
select results_eq($$select last_error, claimed_by, attempts from public.email_outbox where dedupe_key = 'k_a'$$,
  $$values ('503 busy'::text, null::text, 1)$$, 'the reason is kept, the claim released');

-- Not due yet: nothing to claim; once due (the clock moved), claimed again as attempt 2.
select tests.become('service_role');
select is((select count(*)::int from public.service_role_claim_emails('w1', 10, 60)), 0, 'a mail waiting out its backoff is not claimed');
do $$ begin perform set_config('saasbase.now', (now() + interval '31 seconds')::text, true); end $$;
select is((select attempts from public.service_role_claim_emails('w1', 10, 60)), 2, 'once due it is claimed again: attempt 2');
select is(public.service_role_fail_email((select id from c1 where template = 'payment_failed'), 'w1', '429', true,
  8, 30, 3600, 600), 'pending', 'a 429 goes back to pending');
select tests.become('postgres');
select ok((select next_attempt_at >= now() + interval '631 seconds' - interval '1 second' and next_attempt_at <= now() + interval '632 seconds'
  from public.email_outbox where dedupe_key = 'k_a'), 'the provider''s Retry-After (600 s) outweighs the backoff');

-- The second attempt's backoff lies in [base, 2 base], capped by max_seconds.
select tests.become('service_role');
do $$ begin perform set_config('saasbase.now', (now() + interval '700 seconds')::text, true); end $$;
select is((select attempts from public.service_role_claim_emails('w1', 10, 60)), 3, 'attempt 3');
select is(public.service_role_fail_email((select id from c1 where template = 'payment_failed'), 'w1', 'timeout', true,
  8, 30, 100), 'pending', 'pending again');
select tests.become('postgres');
select ok((select next_attempt_at between now() + interval '750 seconds' and now() + interval '800 seconds'
  from public.email_outbox where dedupe_key = 'k_a'), 'attempt 3 waits 50 to 100 s: 120 s capped at max_seconds 100, half jitter');

-- Out of attempts: failed, with the reason; a permanent failure at once.
select tests.become('service_role');
do $$ begin perform set_config('saasbase.now', (now() + interval '900 seconds')::text, true); end $$;
select is((select attempts from public.service_role_claim_emails('w1', 10, 60)), 4, 'attempt 4');
select is(public.service_role_fail_email((select id from c1 where template = 'payment_failed'), 'w1', '500', true, 4),
  'failed', 'a retryable failure at max_attempts fails the mail');
select is(tests.attempt('service_role', format($$select public.service_role_fail_email(%s, 'w1', 'x', true, 0)$$,
  (select id from c1 where template = 'payment_failed'))), 'PT422 invalid_retry_policy', 'max_attempts must be 1 or more');
select tests.become('postgres');
select results_eq($$select status, last_error from public.email_outbox where dedupe_key = 'k_a'$$,
  $$values ('failed'::text, '500'::text)$$, 'failed, and why');
select tests.become('service_role');
select is((select count(*)::int from public.service_role_claim_emails('w1', 10, 60)), 0, 'a failed mail is never claimed again');
select tests.become('postgres');

insert into public.email_outbox (user_id, template, dedupe_key) values (tests.uid('b@test.local'), 'welcome', 'k_b');
select tests.become('service_role');
select is((select count(*)::int from public.service_role_claim_emails('w1', 10, 60)), 1, 'a new mail is claimed');
select is(public.service_role_fail_email((select id from public.email_outbox where dedupe_key = 'k_b'), 'w1', 'unknown template', false),
  'failed', 'a permanent failure fails at once');
select tests.become('postgres');

-- A worker that died: its lease lapses and another worker takes the mail over.
insert into public.email_outbox (user_id, template, dedupe_key) values (tests.uid('b@test.local'), 'welcome', 'k_dead');
select tests.become('service_role');
do $$ begin perform set_config('saasbase.now', '', true); end $$;
select is((select count(*)::int from public.service_role_claim_emails('dead', 10, 30)), 1, 'the doomed worker claims the mail');
select is((select count(*)::int from public.service_role_claim_emails('w2', 10, 30)), 0, 'during its lease nobody else may');
do $$ begin perform set_config('saasbase.now', (now() + interval '31 seconds')::text, true); end $$;
select results_eq($$select attempts, to_email from public.service_role_claim_emails('w2', 10, 30)$$,
  $$values (2, 'b@test.local'::text)$$, 'once the lease lapsed, w2 takes it over (attempt 2)');
select is(public.service_role_fail_email((select id from public.email_outbox where dedupe_key = 'k_dead'), 'dead', 'late', true),
  null, 'the dead worker, back to life, cannot fail the mail it lost');
select ok(public.service_role_complete_email((select id from public.email_outbox where dedupe_key = 'k_dead'), 'resend', 'msg_dead'),
  'the new holder completes it');
do $$ begin perform set_config('saasbase.now', '', true); end $$;
select tests.become('postgres');

-- Delivery events ------------------------------------------------------------------------------------------------
select is(tests.attempt('a@test.local', $$select public.service_role_record_email_event('resend', 'e1', 'delivered')$$), '42501',
  'a user may not record delivery events');
select is(tests.attempt('service_role', $$select public.service_role_record_email_event('resend', 'e1', 'nonsense')$$),
  'PT422 invalid_email_event', 'an unknown event type is refused');
select is(tests.attempt('service_role', $$select public.service_role_record_email_event('mailchimp', 'e1', 'delivered')$$),
  'PT422 invalid_email_event', 'an unknown provider is refused');
select tests.become('service_role');
select results_eq($$select recorded, outbox_id, suppressed from public.service_role_record_email_event('resend', 'e_del', 'delivered', 'msg_inv',
    null, now(), '{"type": "email.delivered"}')$$,
  $$select true, id, false from public.email_outbox where dedupe_key = 'k_inv'$$, 'delivered: stored, matched to its mail');
select results_eq($$select recorded, suppressed from public.service_role_record_email_event('resend', 'e_del', 'delivered', 'msg_inv')$$,
  $$values (false, false)$$, 'the same event again: not stored again, nothing applied');
select is((select count(*)::int from public.email_events where event_id = 'e_del'), 1, 'one row for a redelivered event');
select ok((select (public.service_role_record_email_event('resend', 'e_delay', 'delayed', 'msg_inv')).recorded), 'a late delayed event');
select results_eq($$select delivery_status, delivered_at is not null from public.email_outbox where dedupe_key = 'k_inv'$$,
  $$values ('delivered'::text, true)$$, 'a late delayed does not undo delivered');
select results_eq($$select recorded, suppressed from public.service_role_record_email_event('resend', 'e_bounce', 'bounced', 'msg_inv')$$,
  $$values (true, true)$$, 'a hard bounce: stored, the address suppressed');
select tests.become('postgres');
select results_eq($$select delivery_status from public.email_outbox where dedupe_key = 'k_inv'$$, $$values ('bounced'::text)$$,
  'the mail''s status: bounced');
select results_eq($$select reason, source, event_id from public.email_suppressions where email = 'invitee@elsewhere.test'$$,
  $$select 'hard_bounce'::text, 'resend'::text, id from public.email_events where event_id = 'e_bounce'$$,
  'the suppression names the event that caused it');
select tests.become('service_role');
select results_eq($$select recorded, outbox_id, suppressed from public.service_role_record_email_event('sendgrid', 'sg_1', 'complained', null,
  'B@Test.Local')$$, $$values (true, null::bigint, true)$$, 'a complaint about an unknown message still suppresses the address');
select results_eq($$select recorded, suppressed from public.service_role_record_email_event('postmark', 'pm_1', 'soft_bounced', 'nope',
  'c@test.local')$$, $$values (true, false)$$, 'a soft bounce suppresses nothing');
select tests.become('postgres');
select results_eq($$select email, reason from public.email_suppressions order by email$$,
  $$values ('b@test.local'::text, 'complaint'::text), ('invitee@elsewhere.test', 'hard_bounce')$$, 'the suppression list');

-- The claim reports the suppression; the strongest first.
insert into public.email_outbox (user_id, template, dedupe_key) values (tests.uid('b@test.local'), 'welcome', 'k_b2');
select tests.become('service_role');
select is((select suppression from public.service_role_claim_emails('w1', 10, 60)), 'complaint',
  'a mail to a suppressed address is claimed with the reason');
select ok(public.service_role_skip_email((select id from public.email_outbox where dedupe_key = 'k_b2'), 'w1', 'suppressed: complaint',
  'notification'), 'the worker skips it');
select ok(not public.service_role_skip_email((select id from public.email_outbox where dedupe_key = 'k_b2'), 'w1', 'again'),
  'a skip of a mail no longer held answers false');
select tests.become('postgres');
select results_eq($$select status, last_error, category from public.email_outbox where dedupe_key = 'k_b2'$$,
  $$values ('suppressed'::text, 'suppressed: complaint'::text, 'notification'::text)$$, 'suppressed, and why');

-- Unsubscribe and the user's preference -----------------------------------------------------------------------------
select is(tests.attempt('anon', $$select public.service_role_unsubscribe_email('a@test.local')$$), '42501',
  'anon may not unsubscribe anyone directly (the signed link goes through the function)');
select tests.become('service_role');
select is(public.service_role_unsubscribe_email(' A@Test.Local '), 'a@test.local', 'the link''s unsubscribe');
select is(public.service_role_unsubscribe_email('a@test.local'), 'a@test.local', 'twice is once');
select is(tests.attempt('service_role', $$select public.service_role_unsubscribe_email('nope')$$), 'PT422 invalid_email',
  'not an address');
select tests.become('postgres');
select is((select count(*)::int from public.email_suppressions where email = 'a@test.local'), 1, 'one unsubscribe entry');
select is(tests.attempt('anon', $$select public.set_email_notifications(false)$$), '42501', 'anon has no preference');
select tests.become('a@test.local');
select is(public.set_email_notifications(true), true, 'the user turns notification mail back on');
select is((select count(*)::int from public.email_suppressions), 0, '... and their unsubscribe is gone');
select is(public.set_email_notifications(false), false, 'and off');
select results_eq($$select reason, source from public.email_suppressions$$, $$values ('unsubscribe'::text, 'user'::text)$$,
  'which they can read');
select tests.become('b@test.local');
select ok(public.set_email_notifications(true), 'b turns notifications on...');
select results_eq($$select reason from public.email_suppressions$$, $$values ('complaint'::text)$$,
  '... which lifts no complaint (only an admin does)');
select tests.become('postgres');

-- The admin's log ------------------------------------------------------------------------------------------------------
select is(tests.attempt('a@test.local', $$select public.admin_list_emails()$$), 'PT403 admin_only', 'users have no admin log');
select tests.become('admin@test.local');
select ok((select payload ? 'email' from public.admin_list_emails() where dedupe_key = 'k_inv'), 'admins read every column');
select is((select count(*)::int from public.admin_list_emails(tests.uid('b@test.local'))), 3, 'by user');
select is((select count(*)::int from public.admin_list_emails(null, 'failed')), 2, 'by status');
select is(tests.attempt('admin@test.local', $$select public.admin_list_emails(null, null, 0)$$), 'PT422 validation_failed',
  'page_size 1 to 500');
select tests.become('postgres');

select * from finish();
rollback;
