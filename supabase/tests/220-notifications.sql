-- Notifications (20261207001300_notifications.sql): the RLS matrix of public.notifications (its user, a fellow
-- member of the team it is about, another user, anon, a site admin, the service role), marking read, the Realtime
-- publication; the mails and notifications the triggers queue in the transaction of the change (receipts for a
-- purchase and an invoice, a failed payment, a subscription started / changed / cancelled, a free allowance used
-- up, credits running low, a referral reward, a cash-out, the welcome, a team invitation), each once however often
-- its webhook is replayed, none for a rolled-back purchase; the auth hook's log of sent mails.
begin;
\ir _helpers.psql
select plan(99);

do $$
declare
  t uuid;
begin
  perform tests.create_user('owner@test.local');
  perform tests.create_user('billing@test.local');
  perform tests.create_user('member@test.local');
  perform tests.create_user('other@test.local');
  perform tests.create_user('admin@test.local', '{"role": "admin"}');
  perform tests.become('owner@test.local');
  t := (public.create_team('Notify & Co', 'notify-co')).id;
  perform tests.put('team', t::text);
  perform tests.become('postgres');
  insert into public.account_members (account_id, user_id, role) values
    (t, tests.uid('billing@test.local'), 'billing'),
    (t, tests.uid('member@test.local'), 'member');
  insert into public.products (id, kind, plan_id, name) values ('n_plus', 'plan', 'plus', 'Plus'),
    ('n_business', 'plan', 'business', 'Business');
  insert into public.prices (id, product_id, lookup_key, unit_amount, currency, billing_interval) values
    ('n_plus_m', 'n_plus', 'n_plus_monthly', 1900, 'usd', 'month'),
    ('n_business_m', 'n_business', 'n_business_monthly', 4900, 'usd', 'month');
end $$;

-- ---------------------------------------------------------------------------------------------------------
-- Welcome: every user with an address got one at sign-up (mail and notification), an anonymous one none.
select is((select count(*)::int from public.email_outbox where template = 'welcome'
    and user_id in (select tests.uid(e) from unnest(array['owner@test.local', 'billing@test.local', 'member@test.local',
      'other@test.local', 'admin@test.local']) e)), 5, 'each new user is queued a welcome mail');
select is((select payload from public.email_outbox where dedupe_key = 'welcome:' || tests.uid('owner@test.local')),
  jsonb_build_object('display_name', 'owner', 'signup_credits', (select signup_credits from saasbase.settings)),
  '... with their name and the sign-up credits');
do $$ begin
  insert into auth.users (instance_id, id, aud, role, email, is_anonymous, raw_app_meta_data, raw_user_meta_data,
    created_at, updated_at)
  values ('00000000-0000-0000-0000-000000000000', gen_random_uuid(), 'authenticated', 'authenticated', null, true,
    '{}', '{}', now(), now());
end $$;
select is((select count(*)::int from public.email_outbox o join auth.users u on u.id = o.user_id where u.is_anonymous), 0,
  'an anonymous sign-in is mailed nothing');

-- ---------------------------------------------------------------------------------------------------------
-- A purchase: its receipt and notification in the purchase's transaction, once however often Stripe says so.
select tests.become('service_role');
select public.service_role_record_credit_purchase(tests.uid('owner@test.local'), 'cs_n1', 'pi_n1', 'credits_500',
  500, 500, 'usd', 0);
select public.service_role_record_credit_purchase(tests.uid('owner@test.local'), 'cs_n1', 'pi_n1', 'credits_500',
  500, 500, 'usd', 0);
select tests.become('postgres');
select results_eq($$ select template, user_id, payload ->> 'kind', payload ->> 'description', (payload ->> 'amount_cents')::int,
    (payload ->> 'credits')::int from public.email_outbox where dedupe_key like 'receipt:purchase:cs_n1%' $$,
  format($$ values ('receipt', %L::uuid, 'purchase', '500 credits', 500, 500) $$, tests.uid('owner@test.local')),
  'a recorded purchase queues one receipt, though its webhook came twice');
select results_eq($$ select type, title, body, link from public.notifications where dedupe_key = 'receipt:purchase:cs_n1' $$,
  $$ values ('receipt', 'Payment received', '5.00 USD paid for 500 credits; 500 credits added.', 'http://localhost:3000/billing') $$,
  '... and one notification');

-- A purchase whose transaction fails after it was recorded leaves no mail and no notification.
select tests.become('service_role');
select throws_ok($$ select 1 / 0 from public.service_role_record_credit_purchase(tests.uid('owner@test.local'), 'cs_n_rolled',
  'pi_n_rolled', 'credits_500', 500, 500, 'usd', 0) $$, '22012', null, 'a purchase whose transaction fails ...');
select tests.become('postgres');
select is((select count(*)::int from public.purchases where checkout_session_id = 'cs_n_rolled'), 0, '... is not recorded');
select is((select count(*)::int from public.email_outbox where dedupe_key like '%cs_n_rolled%'), 0, '... and queues no receipt');
select is((select count(*)::int from public.notifications where dedupe_key like '%cs_n_rolled%'), 0, '... and no notification');

-- A team's purchase: a receipt to each member who manages its billing (owner, billing), not to a plain member.
select tests.become('service_role');
select public.service_role_record_credit_purchase(tests.team(), 'cs_nt', 'pi_nt', null, 250, 700, 'usd', 0);
select tests.become('postgres');
select results_eq($$ select u.email::text, o.payload ->> 'account_name', o.payload ->> 'description' from public.email_outbox o
    join auth.users u on u.id = o.user_id where o.template = 'receipt' and o.payload ->> 'reference' = 'cs_nt' order by 1 $$,
  $$ values ('billing@test.local', 'Notify & Co', '250 credits'), ('owner@test.local', 'Notify & Co', '250 credits') $$,
  'a team''s receipt goes to its owner and billing member, naming the team');
select is((select title from public.notifications where dedupe_key = 'receipt:purchase:cs_nt:' || tests.uid('owner@test.local')),
  'Notify & Co: Payment received', '... whose notifications say which team');

-- ---------------------------------------------------------------------------------------------------------
-- Subscriptions: started, changed, cancelled; a replayed event changes nothing and queues nothing.
select tests.become('service_role');
select public.service_role_upsert_subscription('sub_n', tests.uid('owner@test.local'), 'incomplete', 'n_plus_m',
  now(), now() + interval '30 days', false, null, '2026-12-01 10:00:00+00');
select is((select count(*)::int from public.email_outbox where dedupe_key like 'subscription_%sub_n%'), 0,
  'an incomplete subscription is no news');
select public.service_role_upsert_subscription('sub_n', tests.uid('owner@test.local'), 'active', 'n_plus_m',
  now(), now() + interval '30 days', false, null, '2026-12-01 10:00:01+00');
select public.service_role_upsert_subscription('sub_n', tests.uid('owner@test.local'), 'active', 'n_plus_m',
  now(), now() + interval '30 days', false, null, '2026-12-01 10:00:01+00');
select tests.become('postgres');
select results_eq($$ select template, payload ->> 'plan_name' from public.email_outbox where dedupe_key like 'subscription_started:sub_n%' $$,
  $$ values ('subscription_started', 'Plus') $$, 'a subscription becoming active queues one "started" mail, replays none');
select tests.become('service_role');
select public.service_role_upsert_subscription('sub_n', tests.uid('owner@test.local'), 'active', 'n_business_m',
  now(), now() + interval '30 days', false, null, '2026-12-02 10:00:00+00');
select public.service_role_upsert_subscription('sub_n', tests.uid('owner@test.local'), 'active', 'n_business_m',
  now(), now() + interval '30 days', false, null, '2026-12-02 10:00:00+00');
-- An older event arriving late is not applied, so it is no change either.
select public.service_role_upsert_subscription('sub_n', tests.uid('owner@test.local'), 'active', 'n_plus_m',
  now(), now() + interval '30 days', false, null, '2026-12-01 12:00:00+00');
select tests.become('postgres');
select results_eq($$ select payload ->> 'old_plan_name', payload ->> 'plan_name' from public.email_outbox
    where template = 'subscription_changed' and payload ->> 'subscription_id' = 'sub_n' $$,
  $$ values ('Plus', 'Business') $$, 'a plan change queues one "changed" mail; its replay and a stale event none');
select tests.become('service_role');
select public.service_role_upsert_subscription('sub_n', tests.uid('owner@test.local'), 'active', 'n_business_m',
  now(), '2027-01-02 00:00:00+00', true, '2026-12-03 09:00:00+00', '2026-12-03 09:00:00+00');
select public.service_role_upsert_subscription('sub_n', tests.uid('owner@test.local'), 'canceled', 'n_business_m',
  now(), '2027-01-02 00:00:00+00', true, '2026-12-03 09:00:00+00', '2027-01-02 00:00:01+00');
select tests.become('postgres');
select results_eq($$ select payload ->> 'plan_name', (payload ->> 'ends_at')::timestamptz from public.email_outbox
    where template = 'subscription_cancelled' and payload ->> 'subscription_id' = 'sub_n' $$,
  $$ values ('Business', '2027-01-02 00:00:00+00'::timestamptz) $$,
  'a cancellation queues one mail (when it was scheduled), not another when the subscription ends');
select is((select count(*)::int from public.notifications where user_id = tests.uid('owner@test.local')
    and type like 'subscription_%'), 3, 'each of the three is a notification too');

-- ---------------------------------------------------------------------------------------------------------
-- Invoices: a paid one's receipt once; a failed payment's notification to the team's billing managers.
select tests.become('service_role');
select public.service_role_record_invoice('in_n1', tests.uid('owner@test.local'), 'paid', 'sub_n', 'subscription_cycle',
  4900, 4900, 'usd', 'https://invoice.test/in_n1', '[]');
select public.service_role_record_invoice('in_n1', tests.uid('owner@test.local'), 'paid', 'sub_n', 'subscription_cycle',
  4900, 4900, 'usd', 'https://invoice.test/in_n1', '[]');
select tests.become('postgres');
select results_eq($$ select payload ->> 'kind', payload ->> 'description', (payload ->> 'amount_cents')::int, payload ->> 'receipt_url'
    from public.email_outbox where template = 'receipt' and payload ->> 'reference' = 'in_n1' $$,
  $$ values ('invoice', 'Business subscription', 4900, 'https://invoice.test/in_n1') $$,
  'a paid invoice queues one receipt, though its webhook came twice');
select tests.become('service_role');
select public.service_role_record_invoice('in_nt', tests.team(), 'payment_failed', null, 'subscription_cycle',
  0, 1900, 'usd', 'https://invoice.test/in_nt', '[]');
select public.service_role_record_invoice('in_nt', tests.team(), 'payment_failed', null, 'subscription_cycle',
  0, 1900, 'usd', 'https://invoice.test/in_nt', '[]');
select tests.become('postgres');
select results_eq($$ select u.email::text, n.link from public.notifications n join auth.users u on u.id = n.user_id
    where n.type = 'payment_failed' and n.data ->> 'invoice' = 'in_nt' order by 1 $$,
  $$ values ('billing@test.local', 'https://invoice.test/in_nt'), ('owner@test.local', 'https://invoice.test/in_nt') $$,
  'a failed payment notifies the team''s billing managers once each, linking the invoice');
select is((select count(*)::int from public.email_outbox where template = 'payment_failed' and payload ->> 'invoice' = 'in_nt'),
  2, '... beside the mail billing queues (one each, not two)');

-- ---------------------------------------------------------------------------------------------------------
-- The RLS matrix of notifications: the owner's receipt notification, about themselves; the team's, per member.
select tests.put('own', (select id::text from public.notifications where dedupe_key = 'receipt:purchase:cs_n1'));
select tests.put('teams', (select id::text from public.notifications
  where dedupe_key = 'receipt:purchase:cs_nt:' || tests.uid('owner@test.local')));
with who(who, reads, marks, writes) as (
  values ('owner@test.local', 'rows', 'rows', 'denied'), ('billing@test.local', 'none', 'none', 'denied'),
    ('member@test.local', 'none', 'none', 'denied'), ('other@test.local', 'none', 'none', 'denied'),
    ('anon', 'denied', 'denied', 'denied'), ('admin@test.local', 'none', 'none', 'denied'),
    ('service_role', 'rows', 'rows', 'rows')
),
cells(who, op, stmt, expected) as (
  select who, 'select', format('select * from public.notifications where id in (%L, %L)', tests.got('own'), tests.got('teams')),
    reads from who
  union all
  select who, 'mark read', format('update public.notifications set read_at = now() where id in (%L, %L)',
    tests.got('own'), tests.got('teams')), marks from who
  union all
  select who, 'rewrite', format('update public.notifications set title = ''x'' where id = %L', tests.got('own')),
    case when who = 'service_role' then 'rows' else 'denied' end from who
  union all
  select who, 'give away', format('update public.notifications set user_id = %L where id = %L',
    tests.uid('other@test.local'), tests.got('own')), case when who = 'service_role' then 'rows' else 'denied' end from who
  union all
  select who, 'insert', format('insert into public.notifications (user_id, type, title) values (%L, ''x'', ''x'')',
    tests.uid('owner@test.local')), writes from who
  union all
  select who, 'delete', format('delete from public.notifications where id = %L', tests.got('own')), writes from who
)
select is(tests.outcome(who, stmt), expected, format('%s %s notifications', who, op)) from cells order by op, who;

-- A team member reads their own copy of the team's receipt, never another member's.
select tests.become('billing@test.local');
select is((select count(*)::int from public.notifications where account_id = tests.team() and type = 'receipt'), 1,
  'a billing member reads their own copy of the team''s receipt, not the owner''s');
select tests.become('member@test.local');
select is((select count(*)::int from public.notifications where account_id = tests.team()), 0,
  'a plain member gets none of the team''s billing notifications');

-- Marking read: the caller's own, those named or all.
select tests.become('owner@test.local');
select is(public.mark_notifications_read(array[tests.got('own')::uuid, tests.got('teams')::uuid]), 2,
  'mark_notifications_read marks the caller''s notifications named');
select is(public.mark_notifications_read(array[tests.got('own')::uuid]), 0, '... once');
select ok((select count(*) from public.notifications where read_at is null) > 0, 'the others stay unread');
select ok(public.mark_notifications_read() > 0, 'no ids: all of them');
select is((select count(*)::int from public.notifications where read_at is null), 0, '... so none is left unread');
select tests.become('postgres');
update public.notifications set read_at = null where id = tests.got('own')::uuid;
select tests.become('other@test.local');
select is(public.mark_notifications_read(array[tests.got('own')::uuid]), 0, 'another user''s id marks nothing');
select tests.become('postgres');
select is((select read_at from public.notifications where id = tests.got('own')::uuid), null, '... and it stays unread');
select is(tests.attempt('anon', 'select public.mark_notifications_read()'), '42501', 'anon may not call it');

-- ---------------------------------------------------------------------------------------------------------
-- Credits and quotas.
-- The free plan's 10 generations a month: the 10th uses the allowance up, told once with the upgrade to Plus.
select tests.become('member@test.local');
select public.charge_credits('component_generation', 1, 'gen-' || i) from generate_series(1, 9) i;
select tests.become('postgres');
select is((select count(*)::int from public.email_outbox where template = 'free_limit_reached'
  and user_id = tests.uid('member@test.local')), 0, 'nine of ten free generations: no mail');
select tests.become('member@test.local');
select public.charge_credits('component_generation', 1, 'gen-' || i) from generate_series(10, 12) i;
select tests.become('postgres');
select results_eq($$ select dedupe_key, payload ->> 'feature_name', (payload ->> 'limit')::int, payload ->> 'plan_name',
    payload ->> 'upgrade_plan_name', payload ->> 'upgrade_url' from public.email_outbox
    where template = 'free_limit_reached' and user_id = tests.uid('member@test.local') $$,
  format($$ values (%L, 'Component generation', 10, 'Free', 'Plus', 'http://localhost:3000/pricing?plan=plus') $$,
    format('free_limit_reached:%s:component_generation:month:%s', tests.uid('member@test.local'),
      to_char(now() at time zone 'UTC', 'YYYY-MM'))),
  'the 10th free generation of the month queues one upgrade mail (not the 11th or 12th, charged in credits)');
select is((select link from public.notifications where type = 'free_limit_reached' and user_id = tests.uid('member@test.local')),
  'http://localhost:3000/pricing?plan=plus', '... and a notification linking the upgrade');

-- Credits running low: crossing the threshold (20) is told once a day, dipping further or again is not.
select tests.become('service_role');
select public.service_role_debit_credits(tests.uid('other@test.local'), (select balance - 25 from public.wallets
  where account_id = tests.uid('other@test.local')), 'adjustment', 'test', 'low-1');
select tests.become('postgres');
select is((select count(*)::int from public.email_outbox where template = 'credits_low' and user_id = tests.uid('other@test.local')),
  0, '25 credits left: not low yet');
select tests.become('service_role');
select public.service_role_debit_credits(tests.uid('other@test.local'), 10, 'adjustment', 'test', 'low-2');
select public.service_role_debit_credits(tests.uid('other@test.local'), 5, 'adjustment', 'test', 'low-3');
select public.service_role_grant_credits(tests.uid('other@test.local'), 50, 'grant', 'test', 'low-4');
select public.service_role_debit_credits(tests.uid('other@test.local'), 60, 'adjustment', 'test', 'low-5');
select tests.become('postgres');
select results_eq($$ select (payload ->> 'balance')::int, (payload ->> 'threshold')::int, payload ->> 'buy_url'
    from public.email_outbox where template = 'credits_low' and user_id = tests.uid('other@test.local') $$,
  $$ values (15, 20, 'http://localhost:3000/credits') $$,
  'falling below 20 credits queues one mail a day, however often the balance dips');

-- ---------------------------------------------------------------------------------------------------------
-- Referral rewards and cash-outs, from the rows' own changes.
select tests.become('postgres');
insert into public.referrals (id, referrer_id, referred_id, code, status)
values ('00000000-0000-4000-8000-00000000aaaa', tests.uid('owner@test.local'), tests.uid('other@test.local'), 'ABCDEFGH', 'pending');
update public.referrals set status = 'rewarded', credits_awarded = 300, cash_awarded_cents = 200, rewarded_at = now()
where id = '00000000-0000-4000-8000-00000000aaaa';
update public.referrals set status = 'rewarded' where id = '00000000-0000-4000-8000-00000000aaaa';
select results_eq($$ select user_id, payload from public.email_outbox where template = 'referral_reward' $$,
  format($$ values (%L::uuid, '{"referral_id": "00000000-0000-4000-8000-00000000aaaa", "credits": 300, "cash_cents": 200, "currency": "usd"}'::jsonb) $$,
    tests.uid('owner@test.local')), 'a rewarded referral mails its referrer once');
insert into public.cashouts (id, user_id, amount_cents, currency, status)
values ('00000000-0000-4000-8000-00000000bbbb', tests.uid('owner@test.local'), 2500, 'usd', 'approved');
update public.cashouts set status = 'paying' where id = '00000000-0000-4000-8000-00000000bbbb';
select is((select count(*)::int from public.email_outbox where template = 'cashout_paid'), 0, 'a cash-out being paid: no mail yet');
update public.cashouts set status = 'paid' where id = '00000000-0000-4000-8000-00000000bbbb';
select results_eq($$ select user_id, (payload ->> 'amount_cents')::int from public.email_outbox where template = 'cashout_paid' $$,
  format($$ values (%L::uuid, 2500) $$, tests.uid('owner@test.local')), 'a paid cash-out mails its user');

-- Team invitations: the invitee who has an account is notified (the mail with the link is invite_member's).
delete from public.account_members where account_id = tests.team() and user_id = tests.uid('member@test.local');
select tests.become('owner@test.local');
select public.invite_member(tests.team(), 'member', 'other@test.local');
select tests.become('postgres');
select results_eq($$ select user_id, title, data ->> 'team_name' from public.notifications where type = 'team_invitation' $$,
  format($$ values (%L::uuid, 'Invitation to join Notify & Co', 'Notify & Co') $$, tests.uid('other@test.local')),
  'an invitation by email notifies the invitee who has an account');
select ok(not exists (select from public.notifications where type = 'team_invitation' and data ? 'accept_url'),
  '... without the accept link, whose token only the mail carries');

-- Licenses: an issued license is mailed to the member it was issued to, naming its prefix, never its key; a
-- team's without a member to its billing managers.
insert into public.license_products (id, name, duration_days, floating) values ('n-app', 'Notify App', 365, false);
insert into public.licenses (id, account_id, user_id, product_id, key_prefix, key_hash, floating, source, expires_at)
values ('00000000-0000-4000-8000-00000000cccc', tests.uid('other@test.local'), tests.uid('other@test.local'), 'n-app',
  'AB2CD', repeat('a', 64), false, 'purchase', '2027-12-08 00:00:00+00'),
  ('00000000-0000-4000-8000-00000000dddd', tests.team(), null, 'n-app', 'EF3GH', repeat('b', 64), false, 'admin', null);
select results_eq($$ select user_id, payload ->> 'product_name', payload ->> 'key_prefix', payload ->> 'licenses_url'
    from public.email_outbox where dedupe_key = 'license_issued:00000000-0000-4000-8000-00000000cccc' $$,
  format($$ values (%L::uuid, 'Notify App', 'AB2CD', 'http://localhost:3000/licenses') $$, tests.uid('other@test.local')),
  'an issued license mails its member, with its prefix and a link');
select ok(not exists (select from public.email_outbox where template = 'license_issued' and payload::text like '%aaaa%'),
  '... never its key''s hash');
select is((select array_agg(u.email::text order by u.email) from public.email_outbox o join auth.users u on u.id = o.user_id
    where o.payload ->> 'license_id' = '00000000-0000-4000-8000-00000000dddd'),
  array['billing@test.local', 'owner@test.local'], 'a team''s license without a member goes to its billing managers');

-- ---------------------------------------------------------------------------------------------------------
-- saasbase.notify itself: the same key adds nothing; a mail needs a key.
select ok(saasbase.notify(tests.uid('other@test.local'), 'custom', 'Hello', 'Body', 'javascript:alert(1)', 'welcome', '{}', 'custom:1'),
  'notify adds a notification and a mail');
select ok(not saasbase.notify(tests.uid('other@test.local'), 'custom', 'Hello', 'Body', null, 'welcome', '{}', 'custom:1'),
  '... and nothing for the same key again');
select is((select link from public.notifications where dedupe_key = 'custom:1'), null, 'a link that is not http(s) is dropped');
select throws_ok($$ select saasbase.notify(tests.uid('other@test.local'), 'custom', 'x', 'x', null, 'welcome', '{}', null) $$,
  'P0001', 'saasbase.notify: a mail needs a dedupe key', 'a mail without a dedupe key is refused');
select is((select count(*)::int from public.notifications n where n.user_id = tests.uid('other@test.local') and n.type = 'custom'),
  1, 'one notification for the key');

-- ---------------------------------------------------------------------------------------------------------
-- The config sync's part, and the Realtime publication (where it exists; the local stack has none).
select tests.become('service_role');
select public.service_role_sync_notifications('{"notifications": {"welcome_email": false, "low_credits_threshold": 50,
  "upgrade_path": "/upgrade", "buy_credits_path": "/buy"}}');
select tests.become('postgres');
select results_eq($$ select welcome_email, low_credits_threshold, upgrade_path, buy_credits_path from saasbase.notification_settings $$,
  $$ values (false, 50, '/upgrade', '/buy') $$, 'service_role_sync_notifications writes the config''s notifications');
select tests.create_user('quiet@test.local');
select is((select count(*)::int from public.email_outbox where user_id = tests.uid('quiet@test.local')), 0,
  'without welcomeEmail, a new user is mailed nothing');
select is(saasbase.publish_notifications(), false, 'no supabase_realtime publication: nothing to do');
reset role;
create publication supabase_realtime;
alter publication supabase_realtime owner to postgres;
select tests.become('postgres');
select is(saasbase.publish_notifications(), true, 'with the publication (hosted), the table is added to it ...');
select is((select count(*)::int from pg_publication_tables where pubname = 'supabase_realtime' and tablename = 'notifications'),
  1, '... once');
select is(saasbase.publish_notifications(), true, '... and again changes nothing');

-- ---------------------------------------------------------------------------------------------------------
-- The auth hook's log: claim, send, replay.
select tests.become('service_role');
select tests.put('claim', (select id::text from public.service_role_claim_auth_email('k1', 'msg_1', null, 'signup', 'auth_signup', 'a@test.local')));
select is((select c.send from public.service_role_claim_auth_email('k1', 'msg_2', null, 'signup', 'auth_signup', 'a@test.local') c), false,
  'an auth mail being sent is not claimed again');
select public.service_role_record_auth_email(tests.got('claim')::bigint, false, 'console', null, 'provider down');
select is((select c.send from public.service_role_claim_auth_email('k1', 'msg_3', null, 'signup', 'auth_signup', 'a@test.local') c), true,
  'one that failed is claimed again (the hook''s retry)');
select public.service_role_record_auth_email(tests.got('claim')::bigint, true, 'console', 'm_1');
select is((select c.send from public.service_role_claim_auth_email('k1', 'msg_4', null, 'signup', 'auth_signup', 'a@test.local') c), false,
  'one that was sent is never sent again');
select tests.become('postgres');
select results_eq($$ select status, attempts, provider, provider_message_id, webhook_id from saasbase.auth_emails where dedupe_key = 'k1' $$,
  $$ values ('sent', 2, 'console', 'm_1', 'msg_3') $$, 'the log says who sent it, how often it was tried');

select * from finish();
rollback;
