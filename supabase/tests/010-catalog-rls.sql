-- RLS matrix of the catalog (features, plans, plan_quotas, credit_packs, chat_personas, chat_models): readable by everyone, written by
-- nobody but the service role (the config sync). Cells: table x who x operation.
begin;
\ir _helpers.psql
select plan(124);

do $$ begin
  perform tests.create_user('a@test.local');
  perform tests.create_user('b@test.local');
  perform tests.create_user('admin@test.local', '{"role": "admin"}');
end $$;
-- A known row in each table, whatever the synced config holds.
insert into public.features (id, name, credits) values ('t_feature', 'Test feature', 1), ('t_feature2', 'Other', 1);
insert into public.plans (id, name, price_monthly_cents) values ('t_plan', 'Test plan', 100);
insert into public.plan_quotas (plan_id, feature_id, period, free_limit) values ('t_plan', 't_feature', 'day', 1);
insert into public.credit_packs (id, name, credits, price_cents) values ('t_pack', 'Test pack', 10, 500);
insert into public.chat_personas (id, name, credits_per_message) values ('t_persona', 'Test persona', 1);
insert into public.chat_models (id, credits_per_1k_tokens) values ('t_model', 1);

with tables(tbl, key_filter, insert_values) as (
  values
    ('features', $$id = 't_feature'$$, $$(id, name, credits) values ('t_new', 'x', 1)$$),
    ('plans', $$id = 't_plan'$$, $$(id, name, price_monthly_cents) values ('t_new', 'x', 1)$$),
    ('plan_quotas', $$plan_id = 't_plan'$$, $$(plan_id, feature_id, unlimited) values ('t_plan', 't_feature2', true)$$),
    ('credit_packs', $$id = 't_pack'$$, $$(id, name, credits, price_cents) values ('t_new', 'x', 1, 500)$$),
    ('chat_personas', $$id = 't_persona'$$, $$(id, name, credits_per_message) values ('t_new', 'x', 1)$$),
    ('chat_models', $$id = 't_model'$$, $$(id, credits_per_1k_tokens) values ('t_new', 1)$$)
),
who(who, writes) as (
  values ('anon', 'denied'), ('a@test.local', 'denied'), ('b@test.local', 'denied'),
         ('admin@test.local', 'denied'), ('service_role', 'rows')
),
cells(tbl, who, op, stmt, expected) as (
  select tbl, who, 'select', format('select * from public.%I where %s', tbl, key_filter), 'rows' from tables, who
  union all
  select tbl, who, 'insert', format('insert into public.%I %s', tbl, insert_values), writes from tables, who
  union all
  select tbl, who, 'update', format('update public.%I set %I = %I where %s', tbl,
    case tbl when 'plan_quotas' then 'unlimited' when 'chat_models' then 'active' else 'name' end,
    case tbl when 'plan_quotas' then 'unlimited' when 'chat_models' then 'active' else 'name' end, key_filter), writes from tables, who
  union all
  select tbl, who, 'delete', format('delete from public.%I where %s', tbl, key_filter), writes from tables, who
)
select is(tests.outcome(who, stmt), expected, format('%s %s %s', who, op, tbl))
from cells order by tbl, op, who;

-- TRUNCATE bypasses RLS, so no client role may hold it. (throws_ok undoes the role switch with the error.)
select throws_ok($$ select tests.become('anon'); truncate public.plans cascade $$, '42501', null, 'anon cannot truncate plans');
select throws_ok($$ select tests.become('a@test.local'); truncate public.features cascade $$, '42501', null, 'users cannot truncate features');

-- Only the service role may run the config sync.
select throws_ok($$ select tests.become('anon'); select public.service_role_sync_config('{}') $$, '42501', null, 'anon cannot sync the config');
select throws_ok($$ select tests.become('a@test.local'); select public.service_role_sync_config('{}') $$, '42501', null, 'users cannot sync the config');

select * from finish();
rollback;
