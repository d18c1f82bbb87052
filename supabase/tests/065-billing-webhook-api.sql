-- The SQL the stripe-webhook function applies events with: storing a delivery (claimed once, applied once, or
-- kept waiting with its error), finding the user a Stripe object belongs to (linking its customer), a
-- credit-pack purchase with its grant, an invoice with its plan credits, and money returned on a payment, each
-- in one idempotent statement. Service role only.
begin;
\ir _helpers.psql
select plan(81);

select tests.create_user('a@test.local');
select tests.create_user('b@test.local');
insert into public.customers (account_id, stripe_customer_id) values (tests.user_id('b@test.local'), 'cus_b');

-- Finding the user
select is(public.service_role_stripe_account(tests.user_id('a@test.local')::text, null), tests.user_id('a@test.local'),
  'a user id in the metadata names that user');
select is(public.service_role_stripe_account(upper(tests.user_id('a@test.local')::text), null),
  tests.user_id('a@test.local'), 'in any letter case');
select is(public.service_role_stripe_account(null, 'cus_b'), tests.user_id('b@test.local'),
  'without one, the owner of the Stripe customer');
select is(public.service_role_stripe_account('not-a-user-id', 'cus_b'), tests.user_id('b@test.local'),
  'metadata that is not a user id is ignored, not an error');
select is(public.service_role_stripe_account(gen_random_uuid()::text, 'cus_nobody'), null,
  'an unknown user and an unknown customer: nobody');
select is(public.service_role_stripe_account(tests.user_id('a@test.local')::text, 'cus_a'), tests.user_id('a@test.local'),
  'a user found by id ...');
select is((select stripe_customer_id from public.customers where account_id = tests.user_id('a@test.local')), 'cus_a',
  '... gets the customer linked');
select is(public.service_role_stripe_account(tests.user_id('a@test.local')::text, 'cus_other'),
  tests.user_id('a@test.local'), 'a second customer for the same user ...');
select is((select count(*)::int from public.customers where account_id = tests.user_id('a@test.local')), 1,
  '... keeps the first link');

-- A credit purchase
select is(
  (public.service_role_record_credit_purchase(tests.user_id('a@test.local'), 'cs_1', 'pi_1', 'credits_500', 500, 500,
    'usd', 0)).credits, 500, 'a purchase is recorded and returned ...');
select is((select balance from public.wallets where account_id = tests.user_id('a@test.local')),
  (select coalesce(sum(amount), 0)::bigint from public.credit_ledger where account_id = tests.user_id('a@test.local')),
  '... its credits granted: balance = ledger sum');
select is(
  (public.service_role_record_credit_purchase(tests.user_id('a@test.local'), 'cs_1', 'pi_1', 'credits_500', 500, 500,
    'usd', 0)).checkout_session_id, 'cs_1', 'the same checkout session again returns the purchase ...');
select is((select count(*)::int from public.credit_ledger
  where account_id = tests.user_id('a@test.local') and kind = 'purchase'), 1, '... and grants nothing more');
select is((select count(*)::int from public.purchases where checkout_session_id = 'cs_1'), 1, 'one purchase');

select throws_ok($$ select public.service_role_record_credit_purchase(null, 'cs_nobody', 'pi_nobody', null, 5, 500,
  'usd', 0) $$, 'PT409', 'Checkout cs_nobody belongs to no account we know yet',
  'no user: refused as customer_not_linked (the event waits) ...');
select is((select count(*)::int from public.purchases where checkout_session_id = 'cs_nobody'), 0, '... no purchase');

-- Storing a delivery: claimed once, or kept waiting with its error
select ok(public.service_role_store_stripe_event('evt_1', 'invoice.paid', now(), '{"id": "evt_1"}'),
  'a new event is claimed ...');
select is((select (processed_at is not null, attempts, payload ->> 'id') from public.stripe_events where id = 'evt_1'),
  (true, 1, 'evt_1'::text), '... and stored, processed, with its payload');
select ok(not public.service_role_store_stripe_event('evt_1', 'invoice.paid', now(), '{"id": "evt_1"}'),
  'a redelivery of a processed event is not claimed');
select ok(not public.service_role_store_stripe_event('evt_2', 'invoice.paid', now(),
  '{"data": {"object": {"customer": "cus_w"}}}', 'boom'), 'a failed attempt is kept ...');
select is((select (processed_at is null, attempts, last_error, customer_id) from public.stripe_events where id = 'evt_2'),
  (true, 1, 'boom'::text, 'cus_w'::text), '... unprocessed, with its error and the customer it names');
select ok(not public.service_role_store_stripe_event('evt_2', 'invoice.paid', now(), '{}', 'boom again'), 'failing again ...');
select is((select (attempts, last_error) from public.stripe_events where id = 'evt_2'), (2, 'boom again'::text),
  '... counts the attempt');
select ok(public.service_role_store_stripe_event('evt_2', 'invoice.paid', now(), '{}'),
  'an event a failed attempt left unprocessed is claimed again ...');
select is((select (processed_at is not null, attempts, last_error) from public.stripe_events where id = 'evt_2'),
  (true, 3, null::text), '... counting the attempt and clearing the error');
select ok(not public.service_role_store_stripe_event('evt_2', 'invoice.paid', now(), '{}'), '... once');
select ok(not public.service_role_store_stripe_event('evt_2', 'invoice.paid', now(), '{}', 'late'),
  'a late failure of a processed event ...');
select is((select (processed_at is not null, attempts, last_error) from public.stripe_events where id = 'evt_2'),
  (true, 3, null::text), '... changes nothing');

-- Refused for want of a user with no customer to link: unlinkable (for an admin), never with a customer or
-- another refusal
select public.service_role_store_stripe_event('evt_u', 'checkout.session.completed', now(),
  '{"data": {"object": {"id": "cs_u", "customer": null}}}', 'Checkout cs_u belongs to no account we know yet',
  'customer_not_linked');
select is((select (processed_at is null, customer_id, unlinkable_at is not null) from public.stripe_events where id = 'evt_u'),
  (true, null::text, true), 'customer_not_linked naming no customer marks the event unlinkable, kept unprocessed');
select public.service_role_store_stripe_event('evt_u', 'checkout.session.completed', now(), '{}', 'again', 'customer_not_linked');
select is((select (attempts, unlinkable_at = (select received_at from public.stripe_events where id = 'evt_u'))
  from public.stripe_events where id = 'evt_u'), (2, true), '... from its first such failure on');
select public.service_role_store_stripe_event('evt_c', 'invoice.paid', now(),
  '{"data": {"object": {"customer": "cus_c"}}}', 'Invoice in_c belongs to no account we know yet', 'customer_not_linked');
select is((select unlinkable_at from public.stripe_events where id = 'evt_c'), null,
  'customer_not_linked naming a customer waits for its link: not unlinkable');
select public.service_role_store_stripe_event('evt_o', 'charge.refunded', now(), '{"data": {"object": {}}}',
  'Invoice in_o is not recorded as paid yet', 'invoice_not_recorded');
select is((select unlinkable_at from public.stripe_events where id = 'evt_o'), null,
  'another refusal of an event naming no customer: retried, not unlinkable');
delete from public.stripe_events where id in ('evt_u', 'evt_c', 'evt_o');

-- Events waiting for their customer's user come back once the customer is linked
select public.service_role_store_stripe_event('evt_w', 'invoice.paid', now(),
  '{"id": "evt_w", "data": {"object": {"customer": {"id": "cus_later", "object": "customer"}}}}',
  'Invoice in_w belongs to no account we know yet');
select is((select count(*)::int from public.service_role_waiting_stripe_events()), 0,
  'an event whose customer is linked to nobody waits ...');
select is((select customer_id from public.stripe_events where id = 'evt_w'), 'cus_later', '... by its (expanded) customer');
select tests.create_user('later@test.local');
select is(public.service_role_stripe_account(tests.user_id('later@test.local')::text, 'cus_later'),
  tests.user_id('later@test.local'), 'another event links the customer ...');
select is((select array_agg(id) from public.service_role_waiting_stripe_events('cus_later')), array['evt_w'],
  '... and the waiting event is handed back to be applied');

-- Refunds: credits parked in the buyer's own reservation come back; a late, smaller refund takes nothing twice
select tests.create_user('r@test.local');
select (public.service_role_record_credit_purchase(tests.user_id('r@test.local'), 'cs_r1', 'pi_r1', null, 1000, 1000,
  'usd', 0)).id is not null as bought;
create temp table parked as select (select balance from public.wallets where account_id = tests.user_id('r@test.local')) as all_credits;
create temp table park (r public.reservation_hold);
grant select on parked to authenticated;
grant insert on park to authenticated;
select tests.become('r@test.local');
-- (4 pages: 3 free, 1 paid at 3 credits, held at everything the buyer has.)
insert into park select public.reserve_credits('coloring_page', 4, 'park', (select all_credits from parked));
select tests.become('postgres');
select is((select balance from public.wallets where account_id = tests.user_id('r@test.local')), 0::bigint,
  'a buyer parks every credit in a reservation of their own ...');
select is(public.service_role_return_payment('refund', 'ch_r1', 1000, 'pi_r1'), 'applied', '... the full refund comes ...');
select is((select (credits_clawed_back, status) from public.purchases where checkout_session_id = 'cs_r1'),
  (1000, 'refunded'::text), '... and claws back every refunded credit ...');
select is((select (status, balance) from public.credit_reservations r join public.wallets w using (account_id)
  where r.id = ((select r from park)).reservation_id),
  ('released'::text, (select all_credits from parked) - 1000), '... out of the released reservation');

select tests.create_user('s@test.local');
select (public.service_role_record_credit_purchase(tests.user_id('s@test.local'), 'cs_s1', 'pi_s1', null, 1000, 1000,
  'usd', 0)).id is not null as bought;
select public.service_role_debit_credits(tests.user_id('s@test.local'),
  (select balance - 100 from public.wallets where account_id = tests.user_id('s@test.local')), 'adjustment', 'spent', 'spent')
  is not null as spent;
select is(public.service_role_return_payment('refund', 'ch_s1', 500, 'pi_s1'), 'applied', 'half refunded with 100 credits left');
select is((select credits_clawed_back from public.purchases where checkout_session_id = 'cs_s1'), 100,
  'takes the 100 unspent');
select (public.service_role_record_credit_purchase(tests.user_id('s@test.local'), 'cs_s2', 'pi_s2', null, 1000, 1000,
  'usd', 0)).id is not null as bought_again;
select is(public.service_role_return_payment('refund', 'ch_s1', 200, 'pi_s1'), 'applied', 'a late, smaller refund event ...');
select is((select (credits_clawed_back, refunded_cents, -(select sum(amount) from public.credit_ledger l
    where l.account_id = tests.user_id('s@test.local') and l.kind = 'refund')::integer)
  from public.purchases where checkout_session_id = 'cs_s1'), (100, 500, 100),
  '... changes nothing: the ledger and the purchase agree on what was clawed back');
select public.service_role_return_payment('refund', 'ch_s1', 1000, 'pi_s1');
select is((select (credits_clawed_back, -(select sum(amount) from public.credit_ledger l
    where l.account_id = tests.user_id('s@test.local') and l.kind = 'refund')::integer)
  from public.purchases where checkout_session_id = 'cs_s1'), (1000, 1000),
  'the full refund takes the rest; ledger and purchase still agree');

-- Refunds and chargebacks share one entry point
select is(public.service_role_return_payment('dispute', 'dp_s1', 300, 'pi_s2'), 'applied', 'a chargeback of a purchase ...');
select is((select (credits_clawed_back, (select balance from public.wallets where account_id = tests.user_id('s@test.local')))
  from public.purchases where checkout_session_id = 'cs_s2'), (100, 0::bigint),
  '... takes its share back as far as it is unspent (the 100 credits left)');
select is(public.service_role_return_payment('dispute', 'dp_s1', 300, 'pi_s2'), 'duplicate', 'once per dispute');
select is(public.service_role_return_payment('dispute', 'dp_early', 100, 'pi_later'), 'held',
  'a chargeback of a purchase not recorded yet is held');
select is(public.service_role_return_payment('refund', 'ch_none', 100, null), 'ignored', 'a payment of neither: nothing to take');
select throws_ok($$ select public.service_role_return_payment('gift', 'x', 1, 'pi_s2') $$, 'PT422',
  'Money is returned as a refund or a dispute, not ''gift''', 'a kind of return it does not know is refused');
select throws_ok($$ select public.service_role_return_payment('refund', 'ch_i', 100, 'pi_i', 'in_unknown') $$, 'PT409',
  'Invoice in_unknown is not recorded as paid yet', 'a refund of an invoice before its invoice.paid is refused, to come again');

-- Invoices: the plan's credits for the period an invoice opens, read from its non-proration line
select tests.create_user('i@test.local');
select public.service_role_debit_credits(tests.user_id('i@test.local'), 1000000, 'adjustment', 'start at 0', 'zero', true)
  is not null as zeroed;
insert into public.products (id, kind, plan_id, name) values ('t_plus', 'plan', 'plus', 'Plus'), ('t_biz', 'plan', 'business', 'Business');
insert into public.prices (id, product_id, lookup_key, unit_amount, currency, billing_interval)
values ('price_t_plus', 't_plus', 't_plus_m', 1900, 'usd', 'month'), ('price_t_biz', 't_biz', 't_biz_m', 9900, 'usd', 'month');
create temp table plan_credits as select
  (select monthly_credits from public.plans where id = 'plus') as plus,
  (select monthly_credits from public.plans where id = 'business') as business;
create function pg_temp.balance(email text) returns bigint language sql as $$
  select balance from public.wallets where account_id = tests.user_id(email) $$;

select is((public.service_role_record_invoice('in_1', tests.user_id('i@test.local'), 'paid', 'sub_i', 'subscription_create',
  1900, 1900, 'usd', null, '[{"price": "price_t_plus", "period_start": 1800000000}]')).credits_granted,
  (select plus from plan_credits), 'a first invoice grants the plan''s credits');
select is((select idempotency_key from public.credit_ledger where reference = 'in_1'), 'plan:sub_i:1800000000',
  '... keyed by the subscription''s period');
select is((public.service_role_record_invoice('in_1', tests.user_id('i@test.local'), 'paid', 'sub_i', 'subscription_create',
  1900, 1900, 'usd', null, '[{"price": "price_t_plus", "period_start": 1800000000}]')).credits_granted,
  (select plus from plan_credits), 'the same invoice again: the same row ...');
select is(pg_temp.balance('i@test.local'), (select plus from plan_credits)::bigint, '... and nothing granted twice');
select is((public.service_role_record_invoice('in_1b', tests.user_id('i@test.local'), 'paid', 'sub_i', 'subscription_cycle',
  1900, 1900, 'usd', null, '[{"price": "price_t_plus", "period_start": 1800000000}]')).credits_granted, 0,
  'another invoice for the same period grants nothing');
-- A renewal after Plus -> Business with create_prorations: the unused time on Plus (negative) and the time on
-- Business are proration invoice items (not handed over), then the next period on Business: Business's credits.
select is((public.service_role_record_invoice('in_2', tests.user_id('i@test.local'), 'paid', 'sub_i', 'subscription_cycle',
  8000, 8000, 'usd', null, '[{"price": "price_t_biz", "period_start": 1802592000}]')).credits_granted,
  (select business from plan_credits), 'a renewal grants the credits of the plan its period line names');
select is((public.service_role_record_invoice('in_3', tests.user_id('i@test.local'), 'paid', 'sub_i', 'subscription_cycle',
  1900, 1900, 'usd', null,
  '[{"price": "price_t_addon", "period_start": 1805184000}, {"price": "price_t_plus", "period_start": 1805184000}]')).credits_granted,
  (select plus from plan_credits), 'the first period line whose price is a plan''s counts');
select is((public.service_role_record_invoice('in_4', tests.user_id('i@test.local'), 'paid', 'sub_i', 'subscription_update',
  52, 52, 'usd', null, '[{"price": "price_t_plus", "period_start": 1805500000}]')).credits_granted,
  (select plus * 52 / 1900 from plan_credits), 'a change that restarts the cycle grants the share paid in money');
select is((public.service_role_record_invoice('in_5', tests.user_id('i@test.local'), 'paid', 'sub_i', 'subscription_update',
  0, 0, 'usd', null, '[{"price": "price_t_plus", "period_start": 1805600000}]')).credits_granted, 0,
  'one the unused time paid for entirely grants nothing');
select is((public.service_role_record_invoice('in_6', tests.user_id('i@test.local'), 'paid', 'sub_i', 'subscription_cycle',
  1900, 1900, 'usd', null, '[]')).credits_granted, 0, 'an invoice without a period line grants nothing');
select is((public.service_role_record_invoice('in_7', tests.user_id('i@test.local'), 'paid', null, 'manual',
  1900, 1900, 'usd', null, '[{"price": "price_t_plus", "period_start": 1806000000}]')).credits_granted, 0,
  'nor does an invoice that opens no period');
select is(pg_temp.balance('i@test.local'),
  (select 2 * plus + business + plus * 52 / 1900 from plan_credits)::bigint, 'the wallet holds exactly those grants');
select is(pg_temp.balance('i@test.local'),
  (select sum(amount)::bigint from public.credit_ledger where account_id = tests.user_id('i@test.local')), 'balance = ledger sum');

select is((public.service_role_record_invoice('in_f', tests.user_id('i@test.local'), 'payment_failed', 'sub_i',
  'subscription_cycle', 0, 1900, 'usd', 'https://invoice.test/f')).status, 'payment_failed', 'a failed payment is recorded ...');
select (public.service_role_record_invoice('in_f', tests.user_id('i@test.local'), 'payment_failed', 'sub_i',
  'subscription_cycle', 0, 1900, 'usd', 'https://invoice.test/f')).id as again;
select is((select array_agg(payload ->> 'amount_due') from public.email_outbox where dedupe_key = 'payment_failed:in_f'),
  array['1900'], '... with one email, however often it comes');
select is((public.service_role_record_invoice('in_1', tests.user_id('i@test.local'), 'payment_failed', 'sub_i',
  'subscription_create', 0, 1900, 'usd', null)).status, 'paid', 'a failure delivered after the payment leaves it paid ...');
select is((select count(*)::int from public.email_outbox where dedupe_key = 'payment_failed:in_1'), 0, '... and sends no email');
select throws_ok($$ select public.service_role_record_invoice('in_x', null, 'paid', 'sub_x', 'subscription_create', 1900,
  1900, 'usd', null) $$, 'PT409', 'Invoice in_x belongs to no account we know yet',
  'an invoice of nobody we know is refused as customer_not_linked (the event waits)');
select throws_ok($$ select public.service_role_upsert_subscription('sub_x', null, 'active', 'price_t_plus', null, null,
  false, null, now()) $$, 'PT409', 'Subscription sub_x belongs to no account we know yet', 'so is a subscription');

-- A customer deleted at Stripe is never linked again
select public.service_role_forget_customer('cus_b');
select is(public.service_role_stripe_account(tests.user_id('b@test.local')::text, 'cus_b'), tests.user_id('b@test.local'),
  'a deleted customer''s event still finds its user by id ...');
select is((select count(*)::int from public.customers where stripe_customer_id = 'cus_b'), 0, '... but links nothing');

-- Clients cannot call any of them
select throws_ok($$ select tests.become('a@test.local'); select public.service_role_stripe_account(null, 'cus_b') $$,
  '42501', null, 'users cannot look up Stripe customers');
select throws_ok($$ select tests.become('anon');
  select public.service_role_record_credit_purchase(gen_random_uuid(), 'cs_x', null, null, 1, 1, 'usd', 0) $$,
  '42501', null, 'anon cannot record purchases');
select throws_ok($$ select tests.become('a@test.local');
  select public.service_role_store_stripe_event('evt_3', 'x', now(), '{}') $$, '42501', null,
  'users cannot store Stripe events');
select throws_ok($$ select tests.become('a@test.local');
  select public.service_role_waiting_stripe_events() $$, '42501', null, 'nor read the waiting ones');
select throws_ok($$ select tests.become('a@test.local');
  select public.service_role_return_payment('refund', 'ch_x', 100, 'pi_x') $$, '42501', null, 'nor return payments');
select throws_ok($$ select tests.become('a@test.local');
  select public.service_role_record_invoice('in_x', tests.user_id('a@test.local'), 'paid', null, 'manual', 1, 1, 'usd', null) $$,
  '42501', null, 'nor record invoices');
select throws_ok($$ select tests.become('anon');
  select public.service_role_upsert_subscription('sub_x', gen_random_uuid(), 'active', null, null, null, false, null, now()) $$,
  '42501', null, 'nor subscriptions');
select throws_ok($$ select tests.become('a@test.local');
  select public.service_role_forget_customer('cus_a') $$, '42501', null, 'nor forget customers');

select * from finish();
rollback;
