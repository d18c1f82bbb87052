-- The SQL API's conventions, over every function in `public` (the RPC endpoints PostgREST exposes):
--   results are typed: no `jsonb` or `json` result, nor a bare `record` (`supabase gen types` can only call them
--     `Json` or `unknown`), a composite type or `returns table` instead, so that the committed types file
--     describes every result;
--   parameters are bare names, the JSON keys of supabase-js `.rpc()` (`p_` prefixes only inside `saasbase.*`),
--     and every parameter has one (PostgREST calls functions by their parameters' names);
--   server-only functions (`service_role_*`) are callable by the service role alone, and a function no client
--     may call is one of them (the schema and the name say who may call);
--   SECURITY DEFINER functions, here and in `saasbase`, set `search_path = ''`.
begin;
\ir _helpers.psql
select plan(6);

select is_empty($$
  select p.proname::text from pg_proc p
  where p.pronamespace = 'public'::regnamespace
    and (p.prorettype in ('jsonb'::regtype, 'json'::regtype)
      or (p.prorettype = 'record'::regtype and p.proallargtypes is null))
$$, 'no RPC returns jsonb, json or a bare record: every result is a composite type or a table the generated types describe');

select is_empty($$
  select p.proname::text from pg_proc p
  where p.pronamespace = 'public'::regnamespace
    and exists (select from unnest(p.proargnames) a where a like 'p\_%')
$$, 'RPC parameters are bare names (the JSON keys of supabase-js .rpc())');

select is_empty($$
  select p.proname::text from pg_proc p
  where p.pronamespace = 'public'::regnamespace and p.pronargs > 0
    and (p.proargnames is null or '' = any(p.proargnames))
$$, 'every RPC parameter has a name');

select is_empty($$
  select p.proname::text from pg_proc p
  where p.pronamespace = 'public'::regnamespace and p.proname like 'service\_role\_%'
    and (has_function_privilege('anon', p.oid, 'execute') or has_function_privilege('authenticated', p.oid, 'execute')
      or not has_function_privilege('service_role', p.oid, 'execute'))
$$, 'service_role_* functions are the service role''s alone');

select is_empty($$
  select p.proname::text from pg_proc p
  where p.pronamespace = 'public'::regnamespace and p.prorettype <> 'trigger'::regtype
    and not has_function_privilege('anon', p.oid, 'execute')
    and not has_function_privilege('authenticated', p.oid, 'execute')
    and p.proname not like 'service\_role\_%'
$$, 'a function no client may call is named service_role_*');

select is_empty($$
  select p.pronamespace::regnamespace || '.' || p.proname from pg_proc p
  where p.pronamespace in ('public'::regnamespace, 'saasbase'::regnamespace) and p.prosecdef
    and not coalesce(p.proconfig @> array['search_path=""'], false)
$$, 'SECURITY DEFINER functions set search_path = ''''');

select * from finish();
rollback;
