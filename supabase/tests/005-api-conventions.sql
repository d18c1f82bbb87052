-- The SQL API's conventions, over every function in `public` (the RPC endpoints PostgREST exposes):
--   results are typed: no `jsonb` result (`supabase gen types` can only call that `Json`), a composite type or
--     `returns table` instead, so that the committed types file describes every result;
--   parameters are bare names, the JSON keys of supabase-js `.rpc()` (`p_` prefixes only inside `saasbase.*`);
--   server-only functions (`service_role_*`) are callable by the service role alone.
begin;
\ir _helpers.psql
select plan(3);

select is_empty($$
  select p.proname::text from pg_proc p
  where p.pronamespace = 'public'::regnamespace and p.prorettype = 'jsonb'::regtype
$$, 'no RPC returns jsonb: every result is a composite type or a table the generated types describe');

select is_empty($$
  select p.proname::text from pg_proc p
  where p.pronamespace = 'public'::regnamespace
    and exists (select from unnest(p.proargnames) a where a like 'p\_%')
$$, 'RPC parameters are bare names (the JSON keys of supabase-js .rpc())');

select is_empty($$
  select p.proname::text from pg_proc p
  where p.pronamespace = 'public'::regnamespace and p.proname like 'service\_role\_%'
    and (has_function_privilege('anon', p.oid, 'execute') or has_function_privilege('authenticated', p.oid, 'execute')
      or not has_function_privilege('service_role', p.oid, 'execute'))
$$, 'service_role_* functions are the service role''s alone');

select * from finish();
rollback;
