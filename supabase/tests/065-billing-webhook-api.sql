-- The SQL the stripe-webhook function applies events with: claiming a delivery (stored once, applied once),
-- finding the user a Stripe object belongs to (linking its customer), and a credit-pack purchase with its
-- grant in one idempotent statement. Service role only.
begin;
\ir _helpers.psql
select plan(40);

select tests.create_user('a@test.local');
select tests.create_user('b@test.local');
insert into public.customers (user_id, stripe_customer_id) values (tests.user_id('b@test.local'), 'cus_b');

-- Finding the user
select is(public.service_role_stripe_user(tests.user_id('a@test.local')::text, null), tests.user_id('a@test.local'),
  'a user id in the metadata names that user');
select is(public.service_role_stripe_user(upper(tests.user_id('a@test.local')::text), null),
  tests.user_id('a@test.local'), 'in any letter case');
select is(public.service_role_stripe_user(null, 'cus_b'), tests.user_id('b@test.local'),
  'without one, the owner of the Stripe customer');
select is(public.service_role_stripe_user('not-a-user-id', 'cus_b'), tests.user_id('b@test.local'),
  'metadata that is not a user id is ignored, not an error');
select is(public.service_role_stripe_user(gen_random_uuid()::text, 'cus_nobody'), null,
  'an unknown user and an unknown customer: nobody');
select is(public.service_role_stripe_user(tests.user_id('a@test.local')::text, 'cus_a'), tests.user_id('a@test.local'),
  'a user found by id ...');
select is((select stripe_customer_id from public.customers where user_id = tests.user_id('a@test.local')), 'cus_a',
  '... gets the customer linked');
select is(public.service_role_stripe_user(tests.user_id('a@test.local')::text, 'cus_other'),
  tests.user_id('a@test.local'), 'a second customer for the same user ...');
select is((select count(*)::int from public.customers where user_id = tests.user_id('a@test.local')), 1,
  '... keeps the first link');

-- A credit purchase
select is(
  (public.service_role_record_credit_purchase(tests.user_id('a@test.local'), 'cs_1', 'pi_1', 'credits_500', 500, 500,
    'usd', 0)) ->> 'replayed', 'false', 'a purchase grants its credits');
select is((select balance from public.wallets where user_id = tests.user_id('a@test.local')),
  (select coalesce(sum(amount), 0)::bigint from public.credit_ledger where user_id = tests.user_id('a@test.local')),
  'balance = ledger sum');
select is(
  (public.service_role_record_credit_purchase(tests.user_id('a@test.local'), 'cs_1', 'pi_1', 'credits_500', 500, 500,
    'usd', 0)) ->> 'replayed', 'true', 'the same checkout session again is a replay');
select is((select count(*)::int from public.credit_ledger
  where user_id = tests.user_id('a@test.local') and kind = 'purchase'), 1, 'one purchase row in the ledger');
select is((select count(*)::int from public.purchases where checkout_session_id = 'cs_1'), 1, 'one purchase');

select is(public.service_role_record_credit_purchase(null, 'cs_nobody', 'pi_nobody', null, 5, 500, 'usd', 0), null,
  'no user: nothing recorded ...');
select is((select count(*)::int from public.purchases where checkout_session_id = 'cs_nobody'), 0, '... no purchase');

-- Claiming a delivery
select ok(public.service_role_claim_stripe_event('evt_1', 'invoice.paid', now(), '{"id": "evt_1"}'),
  'a new event is claimed ...');
select is((select (processed_at is not null, attempts, payload ->> 'id') from public.stripe_events where id = 'evt_1'),
  (true, 1, 'evt_1'::text), '... and stored, processed, with its payload');
select ok(not public.service_role_claim_stripe_event('evt_1', 'invoice.paid', now(), '{"id": "evt_1"}'),
  'a redelivery of a processed event is not claimed');
insert into public.stripe_events (id, type, stripe_created_at, payload, attempts, last_error)
values ('evt_2', 'invoice.paid', now(), '{}', 1, 'boom');
select ok(public.service_role_claim_stripe_event('evt_2', 'invoice.paid', now(), '{}'),
  'an event a failed attempt left unprocessed is claimed again ...');
select is((select (processed_at is not null, attempts, last_error) from public.stripe_events where id = 'evt_2'),
  (true, 2, null::text), '... counting the attempt and clearing the error');
select ok(not public.service_role_claim_stripe_event('evt_2', 'invoice.paid', now(), '{}'), '... once');

-- Refunds: credits parked in the buyer's own reservation come back; a late, smaller refund takes nothing twice
select tests.create_user('r@test.local');
select public.service_role_record_credit_purchase(tests.user_id('r@test.local'), 'cs_r1', 'pi_r1', null, 1000, 1000,
  'usd', 0) is not null as bought;
create temp table parked as select (select balance from public.wallets where user_id = tests.user_id('r@test.local')) as all_credits;
create temp table park (r public.reservation_hold);
grant select on parked to authenticated;
grant insert on park to authenticated;
select tests.become('r@test.local');
insert into park select public.reserve_credits('coloring_page', 1000, 'park', (select all_credits from parked));
select tests.become('postgres');
select is((select balance from public.wallets where user_id = tests.user_id('r@test.local')), 0::bigint,
  'a buyer parks every credit in a reservation of their own ...');
select is(public.service_role_apply_refund('pi_r1', 'ch_r1', 1000), 'applied', '... the full refund comes ...');
select is((select (credits_clawed_back, status) from public.purchases where checkout_session_id = 'cs_r1'),
  (1000, 'refunded'::text), '... and claws back every refunded credit ...');
select is((select (status, balance) from public.credit_reservations r join public.wallets w using (user_id)
  where r.id = ((select r from park)).reservation_id),
  ('released'::text, (select all_credits from parked) - 1000), '... out of the released reservation');

select tests.create_user('s@test.local');
select public.service_role_record_credit_purchase(tests.user_id('s@test.local'), 'cs_s1', 'pi_s1', null, 1000, 1000,
  'usd', 0) is not null as bought;
select public.service_role_debit_credits(tests.user_id('s@test.local'),
  (select balance - 100 from public.wallets where user_id = tests.user_id('s@test.local')), 'adjustment', 'spent', 'spent')
  is not null as spent;
select is(public.service_role_apply_refund('pi_s1', 'ch_s1', 500), 'applied', 'half refunded with 100 credits left');
select is((select credits_clawed_back from public.purchases where checkout_session_id = 'cs_s1'), 100,
  'takes the 100 unspent');
select public.service_role_record_credit_purchase(tests.user_id('s@test.local'), 'cs_s2', 'pi_s2', null, 1000, 1000,
  'usd', 0) is not null as bought_again;
select is(public.service_role_apply_refund('pi_s1', 'ch_s1', 200), 'applied', 'a late, smaller refund event ...');
select is((select (credits_clawed_back, refunded_cents, -(select sum(amount) from public.credit_ledger l
    where l.user_id = tests.user_id('s@test.local') and l.kind = 'refund')::integer)
  from public.purchases where checkout_session_id = 'cs_s1'), (100, 500, 100),
  '... changes nothing: the ledger and the purchase agree on what was clawed back');
select public.service_role_apply_refund('pi_s1', 'ch_s1', 1000);
select is((select (credits_clawed_back, -(select sum(amount) from public.credit_ledger l
    where l.user_id = tests.user_id('s@test.local') and l.kind = 'refund')::integer)
  from public.purchases where checkout_session_id = 'cs_s1'), (1000, 1000),
  'the full refund takes the rest; ledger and purchase still agree');

-- A customer deleted at Stripe is never linked again
select public.service_role_forget_customer('cus_b');
select is(public.service_role_stripe_user(tests.user_id('b@test.local')::text, 'cus_b'), tests.user_id('b@test.local'),
  'a deleted customer''s event still finds its user by id ...');
select is((select count(*)::int from public.customers where stripe_customer_id = 'cus_b'), 0, '... but links nothing');

-- Clients cannot call any of them
select throws_ok($$ select tests.become('a@test.local'); select public.service_role_stripe_user(null, 'cus_b') $$,
  '42501', null, 'users cannot look up Stripe customers');
select throws_ok($$ select tests.become('anon');
  select public.service_role_record_credit_purchase(gen_random_uuid(), 'cs_x', null, null, 1, 1, 'usd', 0) $$,
  '42501', null, 'anon cannot record purchases');
select throws_ok($$ select tests.become('a@test.local');
  select public.service_role_claim_stripe_event('evt_3', 'x', now(), '{}') $$, '42501', null,
  'users cannot claim Stripe events');
select throws_ok($$ select tests.become('a@test.local');
  select public.service_role_apply_refund('pi_x', 'ch_x', 100) $$, '42501', null, 'users cannot apply refunds');
select throws_ok($$ select tests.become('a@test.local');
  select public.service_role_apply_dispute('pi_x', 'dp_x', 100) $$, '42501', null, 'nor disputes');
select throws_ok($$ select tests.become('a@test.local');
  select public.service_role_refund_invoice('in_x', 100) $$, '42501', null, 'nor refunds of invoices');
select throws_ok($$ select tests.become('a@test.local');
  select public.service_role_forget_customer('cus_a') $$, '42501', null, 'nor forget customers');

select * from finish();
rollback;
