-- Team wallets (20261207000100_account_credits.sql): the credits tables' RLS matrix for a team's rows (team
-- owner, admin, member, billing member, non-member, removed member, site admin), spending from a team wallet by
-- naming it (the member's personal wallet untouched, the ledger saying who spent), what a non-member, a
-- removed member and a role without the `spend` right get, and per-member monthly spending caps: charges and
-- reservations at their hold, corrected at settlement and release, a new month starting afresh.
-- Teams and members are made as the test's own role (the invitation API is the teams domain's).
begin;
\ir _helpers.psql
select plan(196);

insert into public.features (id, name, credits) values ('t_team', 'Team feature', 10), ('t_cheap', 'Cheap', 1);
update saasbase.settings set signup_credits = 100, reservation_ttl_minutes = 15;
set local saasbase.now = '2026-03-10 12:00:00+00';
do $$ begin
  perform tests.create_user('owner@test.local');
  perform tests.create_user('tadmin@test.local');
  perform tests.create_user('member@test.local');
  perform tests.create_user('payer@test.local');
  perform tests.create_user('outsider@test.local');
  perform tests.create_user('removed@test.local');
  perform tests.create_user('siteadmin@test.local', '{"role": "admin"}');
end $$;

select tests.become('owner@test.local');
create temp table team as select (public.create_team('Acme', 'acme')).id;
grant select on team to authenticated, service_role;
select tests.become('postgres');
insert into public.account_members (account_id, user_id, role)
select (select id from team), tests.user_id(e), r from (values
  ('tadmin@test.local', 'admin'), ('member@test.local', 'member'), ('payer@test.local', 'billing'),
  ('removed@test.local', 'member')) as m(e, r);
select is((select balance from public.wallets where account_id = (select id from team)), 0::bigint,
  'a team gets a wallet of its own when it is made');
select public.service_role_grant_credits((select id from team), 1000, 'grant', 'team credits', 'team-1');

-- Rows of the team in every table: a member's charge (ledger, counter), a reservation, an expiring lot.
select tests.become('member@test.local');
select is((public.charge_credits('t_team', 1, 'm-1', (select id from team))).balance, 990::bigint,
  'a member charges the team wallet by naming it');
select is((public.reserve_credits('t_team', 1, 'm-r1', 15, (select id from team))).amount, 15::bigint,
  'a member reserves from the team wallet');
select tests.become('postgres');
select public.service_role_grant_credits((select id from team), 10, 'grant', 'expiring', 'team-lot',
  saasbase.now() + interval '7 days');
insert into public.usage_counters (account_id, feature_id, period_key) values ((select id from team), 't_team', 'lifetime');
-- The removed member is removed after their charge: their rows stay the team's.
select tests.become('removed@test.local');
select is((public.charge_credits('t_cheap', 1, 'rm-1', (select id from team))).credits_charged, 1::bigint,
  'the member to be removed spends first');
select tests.become('postgres');
delete from public.account_members where user_id = tests.user_id('removed@test.local');

with tables(tbl, insert_stmt) as (
  values
    ('wallets', 'insert into public.wallets (account_id) values (gen_random_uuid())'),
    ('credit_ledger', format('insert into public.credit_ledger (account_id, kind, amount, balance_after) values (%L, ''grant'', 1, 1)', (select id from team))),
    ('credit_lots', format('insert into public.credit_lots (account_id, ledger_id, amount, remaining, expires_at) select %L, max(id), 1, 1, now() + interval ''1 day'' from public.credit_ledger', (select id from team))),
    ('credit_reservations', format('insert into public.credit_reservations (account_id, feature_id, quantity, idempotency_key, expires_at) values (%L, ''chat'', 1, ''x'', now())', (select id from team))),
    ('usage_counters', format('insert into public.usage_counters (account_id, feature_id, period_key) values (%L, ''chat'', ''x'')', (select id from team)))
),
who(who, reads) as (
  values ('owner@test.local', 'rows'), ('tadmin@test.local', 'rows'), ('member@test.local', 'rows'),
    ('payer@test.local', 'rows'), ('outsider@test.local', 'none'), ('removed@test.local', 'none'),
    ('siteadmin@test.local', 'rows')
),
cells(tbl, who, op, stmt, expected) as (
  select tbl, who, 'select', format('select * from public.%I where account_id = %L', tbl, (select id from team)), reads
  from tables, who
  union all
  select tbl, who, 'insert', insert_stmt, 'denied' from tables, who
  union all
  select tbl, who, 'update', format('update public.%I set account_id = account_id where account_id = %L', tbl, (select id from team)), 'denied'
  from tables, who
  union all
  select tbl, who, 'delete', format('delete from public.%I where account_id = %L', tbl, (select id from team)), 'denied'
  from tables, who
)
select is(tests.outcome(who, stmt), expected, format('team %s %s %s', who, op, tbl))
from cells order by tbl, op, who;

-- Who spent, and whose wallet paid -------------------------------------------------------------------------
select is((select balance from public.wallets where account_id = tests.user_id('member@test.local')), 100::bigint,
  'the member''s personal wallet is untouched by their team charges');
select is((select count(*)::int from public.credit_ledger where account_id = tests.user_id('member@test.local')), 1,
  '...its ledger holds only the sign-up grant');
select results_eq(format($$ select kind, actor_id from public.credit_ledger where account_id = %L and kind in ('charge', 'reserve')
  order by id $$, (select id from team)),
  format($$ values ('charge'::text, %L::uuid), ('reserve', %L), ('charge', %L) $$,
    tests.user_id('member@test.local'), tests.user_id('member@test.local'), tests.user_id('removed@test.local')),
  'the team''s ledger says which member spent');
select is((select actor_id from public.credit_reservations where idempotency_key = 'm-r1'),
  tests.user_id('member@test.local'), 'so does the reservation');
select is((select balance from public.wallets where account_id = (select id from team)),
  (select sum(amount)::bigint from public.credit_ledger where account_id = (select id from team)), 'team balance = its ledger');

-- Who may not spend from the team ---------------------------------------------------------------------------
create temp table before_refusals as
  select (select balance from public.wallets where account_id = (select id from team)) as balance,
    (select count(*) from public.credit_ledger where account_id = (select id from team)) as rows;
grant select on before_refusals to authenticated;
select tests.become('outsider@test.local');
select throws_ok(format('select public.charge_credits(''t_team'', 1, ''o-1'', %L)', (select id from team)), 'PT404',
  'No such account, or you are not a member of it', 'a non-member naming the team: account_not_found');
select throws_ok(format('select public.reserve_credits(''t_team'', 1, ''o-2'', null, %L)', (select id from team)), 'PT404',
  null, '...for a reservation too');
select throws_ok(format('select public.get_wallet(%L)', (select id from team)), 'PT404', null, '...nor reads its wallet');
select throws_ok(format('select public.check_feature(''t_team'', 1, %L)', (select id from team)), 'PT404', null,
  '...nor checks a feature against it');
select throws_ok('select public.charge_credits(''t_team'', 1, ''o-3'', gen_random_uuid())', 'PT404', null,
  'an account that does not exist is the same account_not_found');
select tests.become('removed@test.local');
select throws_ok(format('select public.charge_credits(''t_team'', 1, ''rm-2'', %L)', (select id from team)), 'PT404',
  null, 'a removed member: account_not_found');
select throws_ok(format('select public.get_wallet(%L)', (select id from team)), 'PT404', null, '...for reading too');
select tests.become('payer@test.local');
select throws_ok(format('select public.charge_credits(''t_team'', 1, ''p-1'', %L)', (select id from team)), 'PT403',
  'Your role (billing) in this account does not allow this (spend)', 'a billing member may not spend: account_forbidden');
select throws_ok(format('select public.reserve_credits(''t_team'', 1, ''p-2'', null, %L)', (select id from team)), 'PT403',
  null, '...nor reserve');
select is((public.get_wallet((select id from team))).balance, (select balance from before_refusals),
  '...but reads the team wallet');
select tests.become('postgres');
select throws_ok(format('select public.service_role_reserve_credits(%L, %L, ''t_team'', 1, ''srv-o'', null)',
  (select id from team), tests.user_id('outsider@test.local')), 'PT404', null,
  'the server reserving for a non-member: account_not_found');
select throws_ok(format('select public.service_role_reserve_chat(%L, %L, ''chat:o'', ''t_p'', ''{t_m1}'', ''{10}'')',
  (select id from team), tests.user_id('removed@test.local')), 'PT404', null, '...for a removed member''s chat too');
select results_eq(format($$ select balance, (select count(*) from public.credit_ledger where account_id = %L)
  from public.wallets where account_id = %L $$, (select id from team), (select id from team)),
  $$ select balance, rows from before_refusals $$, 'and none of them changed anything');

-- Keys are the account's: another member's key is a conflict, not a replay of theirs.
select tests.become('tadmin@test.local');
select throws_ok(format('select public.charge_credits(''t_team'', 1, ''m-1'', %L)', (select id from team)), 'PT409',
  'This idempotency key was used for another request', 'another member''s charge key is idempotency_conflict');
select throws_ok(format('select public.reserve_credits(''t_team'', 1, ''m-r1'', 15, %L)', (select id from team)), 'PT409',
  null, '...and their reservation key too');
select throws_ok(format('select public.release_reservation(%L, %L)',
  (select id from public.credit_reservations where idempotency_key = 'm-r1'), (select id from team)), 'PT404',
  'No such reservation', 'a member closes only the reservations they took');
select tests.become('member@test.local');
select is((public.charge_credits('t_team', 1, 'm-1', (select id from team))).replayed, true,
  'the member''s own key replays');
select is((public.release_reservation((select id from public.credit_reservations where idempotency_key = 'm-r1'),
  (select id from team))).released, 15::bigint, 'and they release their own reservation');

-- Spending caps ----------------------------------------------------------------------------------------------
-- The member has spent 10 this month (the reservation was released). A cap of 50 leaves 40.
select tests.become('postgres');
update public.account_members set monthly_spend_cap = 50
where account_id = (select id from team) and user_id = tests.user_id('member@test.local');
select tests.become('member@test.local');
select results_eq(format($$ select spend_cap, spend_left from public.get_wallet(%L) $$, (select id from team)),
  $$ values (50::bigint, 40::bigint) $$, 'get_wallet says what the member may still spend this month');
select is((select (spend_cap, spend_left) from public.get_wallet()), (null::bigint, null::bigint),
  '...and nothing about a cap on their personal wallet');
select is((public.charge_credits('t_team', 3, 'cap-1', (select id from team))).credits_charged, 30::bigint,
  'charges within the cap go through (40 spent)');
select is((public.check_feature('t_team', 2, (select id from team))).reason, 'insufficient_credits',
  'check_feature says a use past the cap cannot be paid');
select throws_ok(format('select public.charge_credits(''t_team'', 2, ''cap-2'', %L)', (select id from team)), 'PT402',
  'This spend of 20 credits passes your monthly spending cap on this account (50; 40 spent this month)',
  'a charge past the cap: spend_cap_reached');
select is((select count(*)::int from public.credit_ledger where idempotency_key = 'cap-2'), 0, '...nothing charged');
select is((public.charge_credits('t_team', 1, 'cap-3', (select id from team))).credits_charged, 10::bigint,
  'up to the cap exactly: 50 spent');
select throws_ok(format('select public.charge_credits(''t_cheap'', 1, ''cap-4'', %L)', (select id from team)), 'PT402',
  null, 'not one credit more');
select is((public.charge_credits('t_cheap', 1, 'cap-5')).credits_charged, 1::bigint,
  'the cap is the team''s: the personal wallet pays as before');
select tests.become('tadmin@test.local');
select is((public.charge_credits('t_team', 2, 'adm-1', (select id from team))).credits_charged, 20::bigint,
  'another member is not held by this member''s cap');

-- Reservations count at their hold, corrected at settlement and release.
select tests.become('postgres');
update public.account_members set monthly_spend_cap = 100
where account_id = (select id from team) and user_id = tests.user_id('member@test.local');
select tests.become('member@test.local');
create temp table hold as select (public.reserve_credits('t_team', 1, 'cap-r1', 40, (select id from team))).*;
select is((public.get_wallet((select id from team))).spend_left, 10::bigint, 'a hold of 40 counts against the cap');
select throws_ok(format('select public.reserve_credits(''t_team'', 1, ''cap-r2'', 20, %L)', (select id from team)), 'PT402',
  null, 'a hold past the cap: spend_cap_reached');
select is((select (public.settle_reservation(reservation_id, 15, (select id from team))).credits_charged from hold),
  15::bigint, 'settled at 15 of the 40 held');
select is((public.get_wallet((select id from team))).spend_left, 35::bigint, '...the 25 given back count no more');
create temp table hold2 as select (public.reserve_credits('t_team', 1, 'cap-r3', 35, (select id from team))).*;
select is((public.get_wallet((select id from team))).spend_left, 0::bigint, 'a hold up to the cap');
select is((select (public.release_reservation(reservation_id, (select id from team))).released from hold2), 35::bigint,
  'released');
select is((public.get_wallet((select id from team))).spend_left, 35::bigint, '...its hold counts no more');

-- A server-held reservation (a chat answer) is charged past its hold as far as the balance and the cap go.
select tests.become('postgres');
insert into public.chat_personas (id, name, credits_per_message) values ('t_p', 'P', 2);
insert into public.chat_models (id, credits_per_1k_tokens) values ('t_m1', 1), ('t_m9', 9);
delete from public.plan_quotas where feature_id = 'chat';
create temp table chat_hold as select h.* from public.service_role_reserve_chat((select id from team),
  tests.user_id('member@test.local'), 'chat:c1', 't_p', '{t_m1}', '{1000}') h;
select is((select amount from chat_hold), 3::bigint, 'a member''s chat message is held on the team wallet');
select is((public.service_role_record_chat_exchange(gen_random_uuid(), true, tests.user_id('member@test.local'), null,
  't', 't_p', 'openai', 't_m1', 'q', 'a', 'complete', 40000, 0, (select reservation_id from chat_hold),
  (select id from team))).credits_unpaid, 42 - 3 - 32::bigint,
  'an answer dearer than its hold is charged up to the cap (35 left), the rest unpaid');
select is(saasbase.spend_left((select id from team), tests.user_id('member@test.local'), saasbase.now()), 0::bigint,
  '...and the cap is reached, not passed');
select is((select count(*)::int from public.conversations where user_id = tests.user_id('member@test.local')), 1,
  'the conversation is the member''s own');
select throws_ok(format('select public.service_role_reserve_chat(%L, %L, ''chat:c2'', ''t_p'', ''{t_m1}'', ''{10}'')',
  (select id from team), tests.user_id('member@test.local')), 'PT402',
  null, 'a chat message past the cap is refused before any model is called');

-- A new month starts afresh.
set local saasbase.now = '2026-04-01 00:00:00+00';
select tests.become('member@test.local');
select is((public.get_wallet((select id from team))).spend_left, 100::bigint, 'a new calendar month (UTC): the whole cap');
select is((public.charge_credits('t_team', 1, 'apr-1', (select id from team))).credits_charged, 10::bigint,
  'and the member spends again');

-- A reservation a removed member took still closes (the server releases it); what it held goes back.
select tests.become('postgres');
update public.account_members set monthly_spend_cap = null
where account_id = (select id from team) and user_id = tests.user_id('member@test.local');
create temp table srv as select (public.service_role_reserve_credits((select id from team),
  tests.user_id('member@test.local'), 't_team', 1, 'srv-1', 12)).*;
delete from public.account_members where user_id = tests.user_id('member@test.local')
  and account_id = (select id from team);
select throws_ok(format('select public.service_role_release_reservation(%L, %L, %L)', (select id from team),
  tests.user_id('tadmin@test.local'), (select reservation_id from srv)), 'PT404', null,
  'the server releases a reservation only for the member who took it');
select is((public.service_role_release_reservation((select id from team), tests.user_id('member@test.local'),
  (select reservation_id from srv))).released, 12::bigint, 'a removed member''s reservation is released all the same');
select is((select balance from public.wallets where account_id = (select id from team)),
  (select sum(amount)::bigint from public.credit_ledger where account_id = (select id from team)),
  'team balance = its ledger, after all of it');
select is((select reserved from public.wallets where account_id = (select id from team)),
  (select coalesce(sum(amount), 0)::bigint from public.credit_reservations
    where account_id = (select id from team) and status = 'open'), 'reserved = the open holds');

-- Deleting the team takes its wallet and every row of it.
delete from public.accounts where id = (select id from team);
select is((select count(*)::int from public.credit_ledger where account_id = (select id from team))
  + (select count(*)::int from public.credit_reservations where account_id = (select id from team))
  + (select count(*)::int from saasbase.member_spend where account_id = (select id from team)), 0,
  'a deleted team''s ledger, reservations and spend counters go with it');

select * from finish();
rollback;
