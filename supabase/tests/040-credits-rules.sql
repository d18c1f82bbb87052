-- The credit rules: sign-up grant, charges that cannot overdraw, idempotency, quotas rolling over by day,
-- month and never (lifetime), rate limits, discounts, expiry order, reservations, and a randomized run after
-- which every invariant holds. The clock moves with `set local saasbase.now`, never by sleeping.
begin;
\ir _helpers.psql
select plan(76);

-- A catalog of test features on the default plan, independent of the shipped config.
insert into public.features (id, name, credits) values
  ('t_paid', 'Paid', 3), ('t_daily', 'Daily', 2), ('t_block', 'Blocked', 1), ('t_month', 'Monthly', 1),
  ('t_life', 'Lifetime', 1), ('t_unl', 'Unlimited', 5);
insert into public.plan_quotas (plan_id, feature_id, period, free_limit, overage, unlimited)
select d.id, q.feature_id, q.period, q.free_limit, q.overage, q.unlimited
from public.plans d, (values
  ('t_daily', 'day', 2, 'credits', false), ('t_block', 'day', 1, 'block', false),
  ('t_month', 'month', 1, 'credits', false), ('t_life', 'lifetime', 1, 'credits', false),
  ('t_unl', null, null, 'credits', true)
) as q(feature_id, period, free_limit, overage, unlimited)
where d.is_default;
update saasbase.settings set signup_credits = 100, reservation_ttl_minutes = 15;

set local saasbase.now = '2026-03-10 12:00:00+00';
do $$ begin
  perform tests.create_user('a@test.local');
  perform tests.create_user('b@test.local');
end $$;

-- Sign-up ----------------------------------------------------------------------------------------------
select results_eq($$ select balance, reserved from public.wallets where account_id = tests.user_id('a@test.local') $$,
  $$ values (100::bigint, 0::bigint) $$, 'sign-up creates the wallet with the sign-up credits');
select results_eq($$ select kind, amount, reason from public.credit_ledger where account_id = tests.user_id('a@test.local') $$,
  $$ values ('grant'::text, 100::bigint, 'signup'::text) $$, 'the sign-up grant is in the ledger');

-- An anonymous sign-in gets its sign-up credits only once it becomes an account.
insert into auth.users (id, aud, role, email, raw_app_meta_data, raw_user_meta_data, is_anonymous, created_at, updated_at)
values ('00000000-0000-4000-8000-0000000000a9', 'authenticated', 'authenticated', null, '{}', '{}', true, now(), now());
select is((select balance::int from public.wallets where account_id = '00000000-0000-4000-8000-0000000000a9'), 0,
  'an anonymous user has a wallet, without sign-up credits');
update auth.users set is_anonymous = false, email = 'was-anon@test.local' where id = '00000000-0000-4000-8000-0000000000a9';
update auth.users set updated_at = now() where id = '00000000-0000-4000-8000-0000000000a9';
select is((select balance::int from public.wallets where account_id = '00000000-0000-4000-8000-0000000000a9'), 100,
  'converted to an account: the sign-up credits, once');

-- Charges ----------------------------------------------------------------------------------------------
select tests.become('a@test.local');
select is(((public.charge_credits('t_paid', 2, 'c1')).credits_charged)::int, 6, 'a paid feature costs quantity x price');
select is(((public.get_wallet()).balance)::int, 94, 'the charge left 94');
select is((public.charge_credits('t_paid', 2, 'c1')).replayed, 'true', 'a replayed key returns the first outcome');
select is(((public.charge_credits('t_paid', 2, 'c1')).balance)::int, 94, '...with the first balance');
select is(((public.get_wallet()).balance)::int, 94, '...and charges nothing');
select throws_ok($$ select public.charge_credits('t_paid', 3, 'c1') $$, 'PT409',
  'This idempotency key was used for another request', 'reusing a key for another request is a conflict');
select throws_ok($$ select public.charge_credits('t_paid', 40, 'c2') $$, 'PT402', null,
  'a charge past the balance fails with PT402');
select is(((public.get_wallet()).balance)::int, 94, '...and changes nothing');
select is((public.charge_credits('t_paid', 1, 'c2')).credits_charged, '3',
  'a failed key can be retried (only successes are recorded)');
select throws_ok($$ select public.charge_credits('no_such_feature', 1, 'c3') $$, 'PT404', null, 'unknown feature: PT404');
select throws_ok($$ select public.charge_credits('t_paid', 0, 'c4') $$, 'PT422', null, 'quantity 0: PT422');
select throws_ok($$ select public.charge_credits('t_paid', 1, null) $$, 'PT422', null, 'no idempotency key: PT422');
select throws_ok($$ select public.charge_credits('t_paid', 1, '') $$, 'PT422', null, 'empty idempotency key: PT422');

-- Quotas -----------------------------------------------------------------------------------------------
select is((public.charge_credits('t_daily', 3, 'd1')).free_units, '2', 'two daily uses are free...');
select is((public.charge_credits('t_daily', 1, 'd2')).credits_charged, '2', '...the next costs credits');
select is((public.check_feature('t_daily')).reason, 'credits', 'check_feature: credits now');
set local saasbase.now = '2026-03-11 00:00:00+00';
select is((public.check_feature('t_daily')).free_remaining, '2', 'the day rolls over at midnight UTC');
select is((public.charge_credits('t_daily', 1, 'd3')).credits_charged, '0', 'and the quota is free again');

select is((public.charge_credits('t_block', 1, 'b1')).free_units, '1', 'a blocked feature: the free use...');
select throws_ok($$ select public.charge_credits('t_block', 1, 'b2') $$, 'PT429', null,
  '...then a rate limit (PT429), even with credits');
select is((public.check_feature('t_block')).reason, 'rate_limited', 'check_feature says rate_limited');
set local saasbase.now = '2026-03-12 00:00:01+00';
select is((public.charge_credits('t_block', 1, 'b2')).free_units, '1', 'the next day it is allowed again');

select is((public.charge_credits('t_month', 1, 'm1')).free_units, '1', 'the monthly free use');
select is((public.charge_credits('t_month', 1, 'm2')).credits_charged, '1', 'then credits this month');
set local saasbase.now = '2026-04-01 00:00:00+00';
select is((public.charge_credits('t_month', 1, 'm3')).free_units, '1', 'free again in the new month');

select is((public.charge_credits('t_life', 1, 'l1')).free_units, '1', 'the lifetime free use');
set local saasbase.now = '2027-04-01 00:00:00+00';
select is((public.charge_credits('t_life', 1, 'l2')).credits_charged, '1', 'a lifetime quota never rolls over');
select is((public.charge_credits('t_unl', 50, 'u1')).credits_charged, '0', 'unlimited features cost nothing');

-- Discounts: the plan's discount on credit packs ---------------------------------------------------------
select tests.become('postgres');
insert into public.plans (id, name, price_monthly_cents, discount_percent) values ('t_pro', 'Pro', 1900, 20);
insert into public.credit_packs (id, name, credits, price_cents) values ('t_pack', 'Pack', 100, 999);
update public.accounts set plan_id = 't_pro' where id = tests.user_id('b@test.local');
select tests.become('b@test.local');
select is((public.check_feature('t_paid')).discount, '20', 'check_feature reports the plan discount');
select is((public.credit_pack_price('t_pack')).final_cents, '799', 'a 20% discount, rounded half up to cents');
select tests.become('a@test.local');
select is((public.credit_pack_price('t_pack')).final_cents, '999', 'no discount on the default plan');
select tests.become('anon');
select is((public.credit_pack_price('t_pack')).final_cents, '999', 'anon sees the list price');

-- Custom amounts: whole credits at the configured rate, within the bounds of one purchase -------------------
select tests.become('postgres');
update saasbase.settings set purchase_min_cents = 500, purchase_max_cents = 2000, credits_per_dollar = 4;
select tests.become('anon');
select is((public.credit_amount_price(1999))::text, '(1999,79,500,2000)',
  'a custom amount buys whole credits at the rate, rounded down (anyone may ask)');
select is((public.credit_amount_price(500)).credits, 20::bigint, '... from the minimum');
select is((public.credit_amount_price(2000)).credits, 80::bigint, '... to the maximum');
select is((public.credit_amount_price(499))::text, '(499,,500,2000)', 'below the minimum: no credits, and the bounds');
select is((public.credit_amount_price(2001)).credits, null::bigint, 'above the maximum: none either');
select is((public.credit_amount_price(-1)).credits, null::bigint, 'a negative amount: none');
select throws_ok($$ select public.charge_credits('t_paid', 1, 'x') $$, '42501', null, 'anon cannot charge');
select tests.become('service_role');
select throws_ok($$ select public.charge_credits('t_paid', 1, 'x') $$, '42501', null,
  'the service role has no wallet to charge and may not call it');
select tests.become('postgres');

-- Expiry: spending draws from the lot that expires first; what is left of a lot expires with it ---------
set local saasbase.now = '2027-05-01 00:00:00+00';
do $$
declare uid uuid := tests.user_id('b@test.local');
begin
  perform public.service_role_grant_credits(uid, 30, 'grant', 'later', 'lot-late', '2027-05-21 00:00:00+00');
  perform public.service_role_grant_credits(uid, 50, 'grant', 'sooner', 'lot-soon', '2027-05-11 00:00:00+00');
end $$;
select tests.become('b@test.local');
select is(((public.charge_credits('t_paid', 20, 'e1')).balance)::int, 120, 'b: 100 + 80 - 60');
select tests.become('postgres');
select results_eq($$ select remaining from public.credit_lots where account_id = tests.user_id('b@test.local') order by expires_at $$,
  $$ values (0::bigint), (20::bigint) $$, 'the 60 came from the lot expiring first, then the next');
set local saasbase.now = '2027-05-15 00:00:00+00';
select tests.become('b@test.local');
select is(((public.get_wallet()).balance)::int, 120, 'the spent lot expires with nothing to write off');
set local saasbase.now = '2027-05-21 00:00:00+00';
select is(((public.get_wallet()).balance)::int, 100, 'the rest of the later lot expires at its time');
select tests.become('postgres');
select results_eq($$ select amount from public.credit_ledger where account_id = tests.user_id('b@test.local') and kind = 'expiry' $$,
  $$ values (-20::bigint) $$, 'one expiry row of -20 in the ledger');

-- Reservations ------------------------------------------------------------------------------------------
select tests.become('a@test.local');
create temp table res as select public.reserve_credits('t_paid', 1, 'r1', 10) as r;
select is((select (r).amount::int from res), 10, 'a reservation holds max_credits');
select is(((public.settle_reservation((select (r).reservation_id::uuid from res), 4)).refunded)::int, 6,
  'settling at 4 gives back 6');
select is((public.settle_reservation((select (r).reservation_id::uuid from res), 4)).replayed, 'true',
  'settling again is a replay');
select throws_ok(format('select public.release_reservation(%L)', (select (r).reservation_id from res)), 'PT409',
  'This reservation was settled', 'a settled reservation cannot be released');
select tests.become('b@test.local');
select throws_ok(format('select public.settle_reservation(%L, 1)', (select (r).reservation_id from res)), 'PT404', null,
  'another user cannot settle it');
select tests.become('a@test.local');
-- An abandoned reservation is released by the next operation after its TTL.
select public.reserve_credits('t_paid', 1, 'r2', 7) is not null as held;
set local saasbase.now = '2027-05-21 00:16:00+00';
select is(((public.get_wallet()).reserved)::int, 0, 'an overdue reservation is released by itself');
select tests.become('postgres');

-- Expiring credits held by a reservation stay expiring when it gives them back (and still expire).
do $$ begin perform tests.create_user('lots@test.local'); end $$;
select public.service_role_grant_credits(tests.user_id('lots@test.local'), 50, 'grant', 'promo', 'promo-1',
  '2027-06-20 00:00:00+00') is not null as granted;
select tests.become('lots@test.local');
create temp table lres as select public.reserve_credits('t_paid', 1, 'l1', 120) as r;
select is((select expiring::int from public.wallets where account_id = auth.uid()), 0, 'holding 120 draws the 50 expiring first');
select public.release_reservation((select (r).reservation_id::uuid from lres)) is not null as released;
select results_eq($$ select balance::int, expiring::int from public.wallets where account_id = auth.uid() $$,
  $$ values (150, 50) $$, 'released: 150, of which the 50 are expiring again');
select public.settle_reservation((public.reserve_credits('t_paid', 1, 'l2', 120)).reservation_id, 30)
  is not null as settled;
select results_eq($$ select balance::int, expiring::int from public.wallets where account_id = auth.uid() $$,
  $$ values (120, 20) $$, 'settled at 30: the 30 used came from the expiring credits, 20 of them are left');
select is((select sum(remaining)::int from public.credit_lots where account_id = auth.uid()), 20, 'the lot says so too');
set local saasbase.now = '2027-06-21 00:17:00+00';
select is(((public.get_wallet()).balance)::int, 100, 'and those 20 expire at the lot''s time');
set local saasbase.now = '2027-05-21 00:16:00+00';
select tests.become('postgres');

-- Expiring credits held by a reservation that outlives both them and itself are written off, not spent.
do $$ begin perform tests.create_user('held@test.local'); end $$;
select public.service_role_grant_credits(tests.user_id('held@test.local'), 50, 'grant', 'promo', 'promo-h',
  '2027-05-21 00:30:00+00') is not null as granted;
select tests.become('held@test.local');
select public.reserve_credits('t_paid', 1, 'h1', 50) is not null as held; -- all 50 expiring credits
set local saasbase.now = '2027-05-21 01:00:00+00'; -- the lot has expired, the reservation is overdue
select is(((public.charge_credits('t_paid', 1, 'h2')).balance)::int, 97,
  'the held expiring credits come back and are written off before the charge: it is paid from the other 100');
select tests.become('postgres');
select is((select sum(amount)::int from public.credit_ledger where account_id = tests.user_id('held@test.local')
  and kind = 'expiry'), -50, 'one write-off of the 50');
set local saasbase.now = '2027-05-21 00:16:00+00';

-- A reservation the server takes for the user (the chat function's) is closed by the server alone: a user
-- who could release it mid-answer would get the answer free and the quota back.
create temp table sres as
  select public.service_role_reserve_credits(null, tests.user_id('a@test.local'), 't_paid', 1, 'srv1', 5) as r;
grant select on sres to authenticated;
select tests.become('a@test.local');
select throws_ok(format('select public.release_reservation(%L)', (select (r).reservation_id from sres)), 'PT403',
  'This reservation belongs to an operation in progress on the server (a chat answer) and closes with it',
  'the user cannot release a reservation the server holds');
select throws_ok(format('select public.settle_reservation(%L, 0)', (select (r).reservation_id from sres)), 'PT403',
  'This reservation belongs to an operation in progress on the server (a chat answer) and closes with it',
  '...nor settle it');
select throws_ok($$ select public.reserve_credits('t_paid', 1, 'srv1', 5) $$, 'PT409',
  'This idempotency key was used for another request', '...nor take over its key');
select tests.become('postgres');
select is(((public.service_role_release_reservation(null, tests.user_id('a@test.local'),
  (select (r).reservation_id::uuid from sres))).released)::int, 5, 'the server releases it');
select tests.become('a@test.local');
select throws_ok($$ select public.service_role_reserve_credits(null, auth.uid(), 't_paid', 1, 'k', 0) $$, '42501', null,
  'a user cannot take a server-held reservation for themselves');
select tests.become('postgres');

-- A deleted user's access token stays valid until it expires: the API refuses it and writes nothing.
do $$ begin perform tests.create_user('gone@test.local'); end $$;
create temp table gone as select tests.user_id('gone@test.local') as id;
select tests.become('gone@test.local'); -- the claims of the user's token, set while the row exists
set local role postgres; -- only to delete the user; the token's claims stay set
delete from auth.users where id = (select id from gone);
set local role authenticated;
select throws_ok($$ select public.get_wallet() $$, 'PT404', null, 'a deleted user has no wallet to show: PT404');
select throws_ok($$ select public.charge_credits('t_paid', 1, 'g1') $$, 'PT404', null, '...nor to charge');
select throws_ok($$ select public.charge_credits('t_unl', 1, 'g2') $$, 'PT404', null,
  '...even for a use that would be free');
select throws_ok($$ select public.reserve_credits('t_daily', 1, 'g3') $$, 'PT404', null,
  '...nor to reserve against, even within the free quota');
select tests.become('postgres');
select is((select count(*)::int from public.credit_ledger l join gone on l.account_id = gone.id)
  + (select count(*)::int from public.usage_counters c join gone on c.account_id = gone.id)
  + (select count(*)::int from public.credit_reservations r join gone on r.account_id = gone.id), 0,
  '...and nothing was written for them');

create function tests.wallet_read_only() returns jsonb language plpgsql as $$
begin
  begin
    perform set_config('transaction_read_only', 'on', true);
    raise exception using errcode = 'P0001', message = to_jsonb(public.get_wallet())::text; -- undoes the read-only mode
  exception when sqlstate 'P0001' then
    return sqlerrm::jsonb;
  end;
end $$;
grant execute on function tests.wallet_read_only() to authenticated;

-- check_feature counts what the next charge will find: an overdue reservation's credits come back first.
do $$ begin perform tests.create_user('due@test.local'); end $$;
select tests.become('due@test.local');
select set_config('saasbase.now', now()::text, true); -- the clock back from where earlier tests left it
select public.reserve_credits('t_paid', 1, 'due-r', 90) is not null as reserved;
select set_config('saasbase.now', (now() + interval '20 minutes')::text, true);
select is((public.check_feature('t_paid', 10)).reason, 'credits',
  'an overdue reservation''s credits count as back (100 from sign-up: 10 left + 90 overdue >= 30)');
select is(((public.charge_credits('t_paid', 10, 'due-c')).credits_charged)::int, 30, '...and the charge agrees');

-- A read-only transaction (PostgREST runs GET so) reads the wallet without doing the due work it cannot write.
select public.reserve_credits('t_paid', 1, 'due-r2', 20) is not null as reserved;
select set_config('saasbase.now', (now() + interval '40 minutes')::text, true);
select is((tests.wallet_read_only() ->> 'reserved')::int, 20, 'a read-only GET shows the wallet, due work pending');
select is(((public.get_wallet()).reserved)::int, 0, '...which the next write does');
select tests.become('postgres');

select * from finish();
rollback;
