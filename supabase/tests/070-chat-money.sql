-- The reservation rules a metered answer relies on: a hold is never below the feature's price (a client's
-- max_credits only bounds the worst case above it), no settlement records a paid use below its price, a
-- server-held reservation (a chat answer the user received) is charged past its hold as far as the balance goes
-- with the rest recorded for admins, a lapsed one is still charged, and a renewed one does not lapse.
begin;
\ir _helpers.psql
select plan(40);

insert into public.features (id, name, credits) values ('t_gen', 'Generation', 5), ('t_free', 'Free first', 5);
insert into public.plan_quotas (plan_id, feature_id, period, free_limit, overage, unlimited)
select d.id, 't_free', 'day', 1, 'credits', false from public.plans d where d.is_default;
update saasbase.settings set signup_credits = 100, reservation_ttl_minutes = 15;
set local saasbase.now = '2026-03-10 12:00:00+00';
do $$ begin
  perform tests.create_user('u@test.local');
  perform tests.create_user('admin@test.local', '{"role": "admin"}');
  perform tests.create_user('other@test.local');
end $$;

-- A client cannot size its hold below the price ---------------------------------------------------------
select tests.become('u@test.local');
create temp table r0 as select (public.reserve_credits('t_gen', 1, 'under', 0)).* ;
select is((select amount from r0), 5::bigint, 'max_credits 0 for a 5-credit feature still holds its price');
select is((select (public.settle_reservation(reservation_id, 5)).credits_charged from r0), 5::bigint,
  '...and settling it charges the price, not 0');
select is((select amount from public.credit_ledger where account_id = auth.uid() and kind = 'settle'), 0::bigint,
  'the ledger records the use at its price (all 5 held, none back)');

create temp table r1 as select (public.reserve_credits('t_gen', 1, 'over', 12)).*;
select is((select amount from r1), 12::bigint, 'max_credits above the price bounds the worst case');
select is((select (public.settle_reservation(reservation_id, 1)).credits_charged from r1), 5::bigint,
  'a settlement below the price charges the price');
select is((select (public.settle_reservation(reservation_id, 1)).replayed from r1), true,
  '...and the same settlement again is a replay');
select throws_ok($$ select public.settle_reservation(reservation_id, 9) from r1 $$, 'PT409', null,
  '...another amount is refused');
create temp table r2 as select (public.reserve_credits('t_gen', 1, 'over2', 12)).*;
select is((select (public.settle_reservation(reservation_id, 50)).credits_charged from r2), 12::bigint,
  'a client''s reservation is charged at most what it held');

-- Free units make a use free, whatever the client asks to settle.
create temp table r3 as select (public.reserve_credits('t_free', 1, 'free', 0)).*;
select is((select (amount, free_units) from r3), (0::bigint, 1), 'a use the free allowance covers holds nothing');
select is((select (public.settle_reservation(reservation_id, 7)).credits_charged from r3), 0::bigint,
  '...and costs nothing');
select is((select (public.reserve_credits('t_free', 1, 'free2', 0)).amount), 5::bigint,
  'past the allowance, the price is held again');

-- A server-held reservation is charged past its hold, as far as the balance goes ----------------------------
select tests.become('postgres');
update public.wallets set balance = 100 where account_id = tests.user_id('other@test.local');
create temp table s1 as
  select (public.service_role_reserve_credits(null, tests.user_id('other@test.local'), 't_gen', 1, 's1', 10)).*;
create temp table s1s as
  select (saasbase.settle(tests.user_id('other@test.local'), null, reservation_id, 30, saasbase.now(), true)).* from s1;
select is((select (credits_charged, cost, unpaid, balance) from s1s), (30::bigint, 30::bigint, 0::bigint, 70::bigint),
  'an answer that cost 30 on a hold of 10 is charged 30');
select is((select amount from public.credit_ledger where reservation_id = (select reservation_id from s1) and kind = 'settle'),
  -20::bigint, 'the settle row takes the 20 past the hold');

create temp table s2 as
  select (public.service_role_reserve_credits(null, tests.user_id('other@test.local'), 't_gen', 1, 's2', 10)).*;
create temp table s2s as
  select (saasbase.settle(tests.user_id('other@test.local'), null, reservation_id, 500, saasbase.now(), true)).* from s2;
select is((select (credits_charged, unpaid, balance) from s2s), (70::bigint, 430::bigint, 0::bigint),
  'past the balance: everything there is charged, the rest recorded as unpaid');
select is((select (amount, settled_amount, cost) from public.credit_reservations where id = (select reservation_id from s2)),
  (10::bigint, 70::bigint, 500::bigint), 'the reservation records its hold, the charge and the cost');
select alike((select reason from public.credit_ledger where reservation_id = (select reservation_id from s2) and kind = 'settle'),
  '%430 of its cost 500 unpaid%', 'the ledger row says what went unpaid');
select is((select sum(amount)::bigint from public.credit_ledger where account_id = tests.user_id('other@test.local')),
  (select balance from public.wallets where account_id = tests.user_id('other@test.local')), 'balance = ledger sum');

-- Admins see the answers that exceeded their hold; users only their own.
select tests.user_id('other@test.local') as other_id \gset
select tests.become('admin@test.local');
select is((select count(*)::int from public.credit_reservations where cost > amount and account_id = :'other_id'), 2,
  'an admin sees the uses that cost more than their hold');
select tests.become('u@test.local');
select is((select count(*)::int from public.credit_reservations where cost > amount and account_id = :'other_id'), 0,
  'another user sees none of them');

-- A reservation that lapsed while its answer streamed is charged all the same ----------------------------
select tests.become('postgres');
update public.wallets set balance = 50 where account_id = tests.user_id('other@test.local');
create temp table s3 as
  select (public.service_role_reserve_credits(null, tests.user_id('other@test.local'), 't_gen', 1, 's3', 10)).*;
set local saasbase.now = '2026-03-10 12:20:00+00';
select tests.become('other@test.local');
select is((public.get_wallet()).balance, 50::bigint, 'past its lifetime, the next wallet operation releases the hold');
select tests.become('postgres');
create temp table s3s as
  select (saasbase.settle(tests.user_id('other@test.local'), null, reservation_id, 8, saasbase.now(), true)).* from s3;
select is((select (credits_charged, unpaid, balance) from s3s), (8::bigint, 0::bigint, 42::bigint),
  'the answer delivered after its hold lapsed is paid from the balance');
select is((select array_agg(kind order by id) from public.credit_ledger where reservation_id = (select reservation_id from s3)),
  array['reserve', 'release', 'settle'], 'reserve, release (lapsed), settle: the ledger tells the story');

-- Renewing keeps a server-held reservation alive --------------------------------------------------------
create temp table s4 as
  select (public.service_role_reserve_credits(null, tests.user_id('other@test.local'), 't_gen', 1, 's4', 10)).*;
set local saasbase.now = '2026-03-10 12:30:00+00';
select is((select (public.service_role_renew_reservation(null, tests.user_id('other@test.local'), reservation_id)).expires_at from s4),
  '2026-03-10 12:45:00+00'::timestamptz, 'a renewal starts the lifetime again');
set local saasbase.now = '2026-03-10 12:40:00+00';
select reservation_id as s4_id from s4 \gset
select tests.become('other@test.local');
select lives_ok($$ select public.get_wallet() $$, 'a wallet operation past the first lifetime...');
select is((select status from public.credit_reservations where id = :'s4_id'), 'open',
  '...leaves the renewed reservation open');

-- Chat's price (saasbase.chat_price): the persona's price per message plus the model's rate for every started
-- 1,000 tokens; what the catalog does not hold is refused, never priced at 0 -----------------------------------
select tests.become('postgres');
insert into public.chat_personas (id, name, credits_per_message) values ('t_p', 'P', 2), ('t_gone', 'Gone', 1);
update public.chat_personas set active = false where id = 't_gone';
insert into public.chat_models (id, credits_per_1k_tokens) values ('t_m1', 1), ('t_half', 0.5), ('t_free', 0), ('t_m5', 5);
select is(saasbase.chat_price('t_p', 't_m1', 0), 2::bigint, 'no tokens: the persona''s price alone');
select is(saasbase.chat_price('t_p', 't_m1', 1), 3::bigint, 'one token starts a 1,000-token step');
select is(saasbase.chat_price('t_p', 't_m1', 1000), 3::bigint, '1,000 tokens are one step');
select is(saasbase.chat_price('t_p', 't_m1', 1001), 4::bigint, '1,001 tokens are two');
select is(saasbase.chat_price('t_p', 't_m5', 30040), 2 + 151::bigint, 'a rate of 5 over 30,040 tokens: 151 (150.2 up)');
select is(saasbase.chat_price('t_p', 't_half', 3000), 4::bigint, 'a fractional rate is rounded up once (1.5 -> 2)');
select is(saasbase.chat_price('t_p', 't_free', 100000), 2::bigint, 'a free model costs the persona''s price');
select throws_ok($$ select saasbase.chat_price('nobody', 't_m1', 10) $$, 'PT404', 'No persona "nobody" in the catalog',
  'a persona not in the catalog is refused (unknown_persona)');
select throws_ok($$ select saasbase.chat_price('t_gone', 't_m1', 10) $$, 'PT404', 'No persona "t_gone" in the catalog',
  '...and one the config no longer has');
select throws_ok($$ select saasbase.chat_price('t_p', 'gpt-none', 10) $$, 'PT404', 'No model "gpt-none" in the catalog',
  'a model not in the catalog is refused (unknown_model)');

-- The chat hold is the dearest provider's worst case, or the first's without the dearer fallbacks --------------
-- Every message paid (no plan's free chats), so each hold is the price.
delete from public.plan_quotas where feature_id = 'chat';
do $$ begin perform tests.create_user('chat@test.local'); end $$;
update public.wallets set balance = 10 where account_id = tests.user_id('chat@test.local');
-- Worst cases: t_m1 2 + 1 = 3, t_m5 2 + 5 = 7.
-- (From a function scan: `(f()).*` would call it once per column, each a second message under the key.)
create temp table h1 as select h.* from public.service_role_reserve_chat(null, tests.user_id('chat@test.local'), 'chat:p1',
  't_p', '{t_m1,t_m5}', '{1000,1000}') h;
select is((select (amount, covered) from h1), (7::bigint, '{t,t}'::boolean[]),
  'the hold covers the dearest provider''s worst case');
update public.wallets set balance = 5 where account_id = tests.user_id('chat@test.local');
create temp table h2 as select h.* from public.service_role_reserve_chat(null, tests.user_id('chat@test.local'), 'chat:p2',
  't_p', '{t_m1,t_m5}', '{1000,1000}') h;
select is((select (amount, covered) from h2), (3::bigint, '{t,f}'::boolean[]),
  'a wallet that cannot hold it holds the first provider''s, without the dearer fallback');
select throws_ok($$ select public.service_role_reserve_chat(null, tests.user_id('chat@test.local'), 'chat:p3', 't_p',
  '{t_m5}', '{1000}') $$, 'PT402', null, 'not even the first provider''s worst case: 402');
select throws_ok($$ select public.service_role_reserve_chat(null, tests.user_id('chat@test.local'), 'chat:p4', 'nobody',
  '{t_m1}', '{1000}') $$, 'PT404', null, 'a persona not in the catalog holds nothing');
-- The answer is settled at its price for the tokens it took: 1,000 + 500 on t_m1 is 2 + 2.
select is((select (public.service_role_record_chat_exchange(gen_random_uuid(), true, tests.user_id('chat@test.local'),
  null, 't', 't_p', 'openai', 't_m1', 'q', 'a', 'complete', 1000, 500, reservation_id)).credits_charged from h2),
  4::bigint, 'the exchange is charged the price SQL computes from persona, model and tokens');

select * from finish();
rollback;
