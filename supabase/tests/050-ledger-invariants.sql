-- A randomized run of every wallet operation (grants with and without expiry, charges, reservations settled
-- or released or abandoned, claw-backs, replays, clock jumps) over a few users. After it, for every user:
-- balance = ledger sum >= 0, reserved = open reservations, expiring = unexpired lot remainders.
begin;
\ir _helpers.psql
select plan(6);

insert into public.features (id, name, credits) values ('t_rand', 'Random', 2), ('t_rand_q', 'Random quota', 1);
insert into public.plan_quotas (plan_id, feature_id, period, free_limit)
select id, 't_rand_q', 'day', 3 from public.plans where is_default;
update saasbase.settings set signup_credits = 50, reservation_ttl_minutes = 15;

do $$
declare
  users text[] := array['r1@test.local', 'r2@test.local', 'r3@test.local'];
  who text;
  op int;
  clock timestamptz := '2026-06-01 00:00:00+00';
  res uuid;
  ok_count int := 0;
  refused int := 0;
begin
  perform setseed(0.42);
  foreach who in array users loop perform tests.create_user(who); end loop;
  for i in 1..400 loop
    who := users[1 + floor(random() * 3)::int];
    op := floor(random() * 9)::int;
    clock := clock + make_interval(mins => floor(random() * 240)::int);
    perform set_config('saasbase.now', clock::text, true);
    begin
      case op
        when 0 then
          perform public.service_role_grant_credits(tests.user_id(who), 1 + floor(random() * 40)::int, 'grant', 'random',
            'g' || i, case when random() < 0.5 then clock + make_interval(hours => 1 + floor(random() * 72)::int) end);
        when 1, 2 then
          perform tests.become(who);
          perform public.charge_credits(case when random() < 0.5 then 't_rand' else 't_rand_q' end,
            1 + floor(random() * 5)::int, 'c' || i);
        when 3 then
          perform tests.become(who);
          res := ((public.reserve_credits('t_rand', 1, 'r' || i, floor(random() * 20)::int)).reservation_id)::uuid;
          if random() < 0.45 then
            perform public.settle_reservation(res, floor(random() * 25)::int);
          elsif random() < 0.8 then
            perform public.release_reservation(res);
          end if; -- otherwise abandoned: released by a later operation once overdue
        when 4 then
          perform public.service_role_debit_credits(tests.user_id(who), 1 + floor(random() * 30)::int, 'refund',
            'random claw-back', 'd' || i, random() < 0.5);
        when 5 then
          -- Replay an earlier charge key: must change nothing.
          perform tests.become(who);
          perform public.charge_credits('t_rand', 1, 'c' || floor(random() * i)::int);
        when 6 then
          perform tests.become(who);
          perform public.get_wallet();
        else
          perform tests.become(who);
          perform public.check_feature('t_rand_q', 1 + floor(random() * 4)::int);
      end case;
      ok_count := ok_count + 1;
    exception
      -- Refusals by the rules (no funds, key reused for another request, reservation closed) undo themselves.
      when sqlstate 'PT402' or sqlstate 'PT409' or sqlstate 'PT404' then
        refused := refused + 1;
    end;
    perform tests.become('postgres');
  end loop;
  perform set_config('tests.ok', ok_count::text, true);
  perform set_config('tests.refused', refused::text, true);
end $$;

select cmp_ok(current_setting('tests.ok')::int, '>', 250, 'most random operations went through');
select cmp_ok(current_setting('tests.refused')::int, '>', 0, 'some were refused by the rules (and undone)');
select is_empty($$
  select w.account_id from public.wallets w
  where w.balance <> coalesce((select sum(l.amount) from public.credit_ledger l where l.account_id = w.account_id), 0)
$$, 'balance = ledger sum for every wallet');
select is_empty($$
  select w.account_id from public.wallets w
  where w.reserved <> coalesce((select sum(r.amount) from public.credit_reservations r
                                where r.account_id = w.account_id and r.status = 'open'), 0)
$$, 'reserved = open reservations for every wallet');
select is_empty($$
  select w.account_id from public.wallets w
  where w.expiring <> coalesce((select sum(l.remaining) from public.credit_lots l where l.account_id = w.account_id), 0)
$$, 'expiring = what remains of the lots for every wallet');
select is_empty($$
  select l.id from public.credit_ledger l
  where l.balance_after <> (select sum(x.amount) from public.credit_ledger x where x.account_id = l.account_id and x.id <= l.id)
$$, 'every ledger row''s balance_after is the running sum');

select * from finish();
rollback;
