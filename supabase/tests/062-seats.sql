-- Seats (the seats section of 20261207000200_account_billing.sql): the rule a per-seat subscription's quantity
-- follows, decided in SQL (saasbase.seat_quantity): members joining raise it only past the seats bought, a member
-- going lowers it to the members left (never below 1), a quantity set by hand at Stripe is set back; what the
-- sync records, which accounts a sweep visits, and what checkout bills.
begin;
\ir _helpers.psql
select plan(44);

do $$
declare
  t uuid;
begin
  perform tests.create_user('sowner@test.local');
  perform tests.create_user('s1@test.local');
  perform tests.create_user('s2@test.local');
  perform tests.create_user('s3@test.local');
  perform tests.create_user('s4@test.local');
  perform tests.create_user('s5@test.local');
  perform tests.become('sowner@test.local');
  t := (public.create_team('Seats', 'seats-rule')).id;
  perform tests.become('postgres');
  insert into public.products (id, kind, plan_id, name) values ('t_seat_prod', 'plan', 'business', 'Business');
  insert into public.prices (id, product_id, lookup_key, unit_amount, currency, billing_interval)
    values ('t_seat_price', 't_seat_prod', 't_business_seat', 4900, 'usd', 'month');
end $$;

create function pg_temp.team() returns uuid language sql stable as $$
  select id from public.accounts where slug = 'seats-rule' $$;
grant execute on function pg_temp.team() to authenticated;
create function pg_temp.q() returns public.seat_quantity language sql as $$
  select public.service_role_seat_quantity(pg_temp.team()) $$;
create function pg_temp.join_team(p_email text) returns void language sql as $$
  insert into public.account_members (account_id, user_id, role) values (pg_temp.team(), tests.user_id(p_email), 'member') $$;
create function pg_temp.leave_team(p_email text) returns void language sql as $$
  delete from public.account_members where account_id = pg_temp.team() and user_id = tests.user_id(p_email) $$;
-- What the seat sync does after Stripe answered: record the wanted quantity at the version it was computed at.
create function pg_temp.record() returns boolean language sql as $$
  select public.service_role_record_seats(pg_temp.team(), (pg_temp.q()).subscription_id, (pg_temp.q()).seat_version,
    (pg_temp.q()).wanted) $$;
-- The webhook mirroring Stripe's quantity (as customer.subscription.* does, newer event each time).
create function pg_temp.stripe_says(p_quantity integer) returns boolean language sql as $$
  select public.service_role_upsert_subscription('sub_seats', pg_temp.team(), 'active', 't_seat_price',
    now(), now() + interval '30 days', false, null, clock_timestamp(), p_quantity, 'si_seats') $$;

-- Without a per-seat subscription there is nothing to bill.
select is((pg_temp.q()).subscription_id, null, 'no subscription: nothing to sync');
select is((pg_temp.q()).needs_update, false, '... and nothing to ask Stripe');
select is_empty(format('select * from public.service_role_seats_due() where service_role_seats_due = %L', pg_temp.team()),
  'no subscription: not due');

-- Checkout: the quantity billed for a plan.
select is(public.service_role_checkout_seats(pg_temp.team(), 'business', null), 1, 'a per-seat plan: default the member count');
select is(public.service_role_checkout_seats(pg_temp.team(), 'business', 3), 3, 'seats above the members are bought');
select is(public.service_role_checkout_seats(pg_temp.team(), 'plus', null), 1, 'a plan not per seat: one');
select throws_ok(format('select public.service_role_checkout_seats(%L, %L, 3)', pg_temp.team(), 'plus'),
  'PT422', 'The Plus plan is not sold per seat', 'seats for a plan not per seat: refused');
select throws_ok(format('select public.service_role_checkout_seats(%L, %L, 101)', pg_temp.team(), 'business'),
  'PT422', 'The Business plan has at most 100 seats', 'more seats than the plan allows: refused');
select throws_ok(format('select public.service_role_checkout_seats(%L, %L, 0)', pg_temp.team(), 'business'),
  'PT422', 'At least 1 seats: one for each member of the account', 'fewer seats than members: refused');
select throws_ok(format('select public.service_role_checkout_seats(%L, %L, null)', pg_temp.team(), 'nope'),
  'PT404', 'Unknown plan ''nope''', 'an unknown plan');

-- Bought 3 seats with one member: the subscription's first quantity is the seats bought.
select ok(pg_temp.stripe_says(3), 'the subscription is mirrored with 3 seats');
select is((select seats_bought from public.accounts where id = pg_temp.team()), 3, 'seats bought: 3');
select is((pg_temp.q()).wanted, 3, 'one member, 3 seats bought: 3 wanted');
select is((pg_temp.q()).needs_update, false, 'Stripe has 3: nothing to ask');
select ok(exists (select from public.service_role_seats_due() d where d = pg_temp.team()), 'never synced: due');
select ok(pg_temp.record(), 'a sync records 3 at its version');
select ok(not exists (select from public.service_role_seats_due() d where d = pg_temp.team()), 'synced: not due');

-- Joining within the seats changes nothing at Stripe.
select pg_temp.join_team('s1@test.local');
select pg_temp.join_team('s2@test.local');
select is(((pg_temp.q()).members, (pg_temp.q()).wanted, (pg_temp.q()).needs_update), (3, 3, false),
  'three members in three seats: no change');
select ok(exists (select from public.service_role_seats_due() d where d = pg_temp.team()), 'members changed: due');
select ok(pg_temp.record(), 'recorded');

-- Joining past them raises the quantity to the members.
select pg_temp.join_team('s3@test.local');
select is(((pg_temp.q()).members, (pg_temp.q()).quantity, (pg_temp.q()).wanted, (pg_temp.q()).needs_update),
  (4, 3, 4, true), 'a fourth member: 4 wanted');
select ok(pg_temp.record(), 'the sync records 4 once Stripe answered');
select is((pg_temp.q()).needs_update, false, 'applied at this version: not asked again while the webhook is on its way');
select ok(pg_temp.stripe_says(4), 'the webhook mirrors 4');
select is((select seats_bought from public.accounts where id = pg_temp.team()), 3,
  'our own change is not a purchase: seats bought stay 3');

-- A member going lowers it to the members left.
select pg_temp.leave_team('s3@test.local');
select is((select seats_bought from public.accounts where id = pg_temp.team()), 3, 'a member left: seats bought = members (3)');
select is(((pg_temp.q()).wanted, (pg_temp.q()).needs_update), (3, true), 'back to 3');
select ok(pg_temp.record(), 'recorded');
select pg_temp.leave_team('s2@test.local');
select is(((pg_temp.q()).members, (pg_temp.q()).wanted), (2, 2),
  'bought 3, three members, one leaves: 2 (the seats bought above the members are not kept)');

-- An older record does not overwrite a newer one.
select ok(pg_temp.record(), 'recorded at the newest version');
select ok(not public.service_role_record_seats(pg_temp.team(), 'sub_seats', (pg_temp.q()).seat_version - 1, 7),
  'a record of an older version is refused');
select is((select billed_seats from public.accounts where id = pg_temp.team()), 2, 'the newer record stays');

-- Our own changes coming back late (an older quantity, then ours) buy nothing.
select ok(pg_temp.stripe_says(3), 'the event of an earlier change (3) arrives after the sync recorded 2');
select is(((pg_temp.q()).seats_bought, (pg_temp.q()).wanted), (2, 2), 'not a purchase: 2 wanted');
select ok(pg_temp.stripe_says(2), 'then the event of the last change (2)');
select is((pg_temp.q()).needs_update, false, 'Stripe has what the rule wants');
-- A quantity set by hand at Stripe (the dashboard) is set back, with no member change.
select ok(pg_temp.stripe_says(10), 'Stripe says 10');
select is(((pg_temp.q()).wanted, (pg_temp.q()).needs_update), (2, true), 'set back to the rule''s 2');
select ok(exists (select from public.service_role_seats_due() d where d = pg_temp.team()), 'drift: due with no member change');

-- Never below 1.
select pg_temp.leave_team('s1@test.local');
select pg_temp.leave_team('sowner@test.local');
select is(((pg_temp.q()).members, (pg_temp.q()).wanted), (0, 1), 'no members: one seat');

-- The functions are the service role's.
select tests.become('s4@test.local');
select throws_ok(format('select public.service_role_seat_quantity(%L)', pg_temp.team()), '42501', null,
  'a user cannot call the seat sync''s functions');
select tests.become('postgres');
select throws_ok(format('select public.service_role_seat_quantity(%L, %L)', pg_temp.team(), tests.user_id('s4@test.local')),
  'PT404', 'No such account, or you are not a member of it', 'for a user who is no member: not found');

-- A member who just left may still run their team's sync (their client does, right after leaving).
select pg_temp.join_team('s5@test.local');
select tests.become('s5@test.local');
select lives_ok(format('select public.leave_team(%L)', pg_temp.team()), 's5 leaves');
select tests.become('postgres');
select is((public.service_role_seat_quantity(pg_temp.team(), tests.user_id('s5@test.local'))).account_id, pg_temp.team(),
  'the member who just left may sync the team');

select * from finish();
rollback;
