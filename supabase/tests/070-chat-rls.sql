-- RLS matrix of chat: owners create, list, rename and delete their conversations; messages are read by the
-- conversation's owner (and admins, for support) and written only by the chat function (the service role
-- here). Anonymous conversations are reached only through the chat function.
begin;
\ir _helpers.psql
select plan(52);

do $$
declare
  a uuid;
  conv uuid;
begin
  a := tests.create_user('a@test.local');
  perform tests.create_user('b@test.local');
  perform tests.create_user('admin@test.local', '{"role": "admin"}');
  insert into public.conversations (id, user_id, title) values ('00000000-0000-4000-8000-0000000000c1', a, 'A''s chat');
  insert into public.messages (conversation_id, role, content) values ('00000000-0000-4000-8000-0000000000c1', 'user', 'hi');
  insert into public.conversations (id, anon_session_hash, title) values ('00000000-0000-4000-8000-0000000000c2', 'hash', 'anon');
end $$;

with a(id) as (select tests.user_id('a@test.local')),
cells(who, op, tbl, stmt, expected) as (
  values
    -- conversations of A
    ('anon', 'select', 'conversations', $$select * from public.conversations$$, 'denied'),
    ('a@test.local', 'select', 'conversations', $$select * from public.conversations where title = 'A''s chat'$$, 'rows'),
    ('b@test.local', 'select', 'conversations', $$select * from public.conversations$$, 'none'),
    ('admin@test.local', 'select', 'conversations', $$select * from public.conversations$$, 'rows'),
    ('service_role', 'select', 'conversations', $$select * from public.conversations$$, 'rows'),
    ('anon', 'insert', 'conversations', $$insert into public.conversations (title, anon_session_hash) values ('x', 'h2')$$, 'denied'),
    ('service_role', 'insert', 'conversations', $$insert into public.conversations (title, anon_session_hash) values ('x', 'h2')$$, 'rows'),
    ('anon', 'update', 'conversations', $$update public.conversations set title = 'x'$$, 'denied'),
    ('a@test.local', 'update', 'conversations', $$update public.conversations set title = 'Renamed'$$, 'rows'),
    ('b@test.local', 'update', 'conversations', $$update public.conversations set title = 'x'$$, 'none'),
    ('admin@test.local', 'update', 'conversations', $$update public.conversations set title = 'x'$$, 'none'),
    ('service_role', 'update', 'conversations', $$update public.conversations set title = 'x'$$, 'rows'),
    ('anon', 'delete', 'conversations', $$delete from public.conversations$$, 'denied'),
    ('a@test.local', 'delete', 'conversations', $$delete from public.conversations$$, 'rows'),
    ('b@test.local', 'delete', 'conversations', $$delete from public.conversations$$, 'none'),
    ('admin@test.local', 'delete', 'conversations', $$delete from public.conversations$$, 'none'),
    ('service_role', 'delete', 'conversations', $$delete from public.conversations$$, 'rows'),
    -- messages of A's conversation
    ('anon', 'select', 'messages', $$select * from public.messages$$, 'denied'),
    ('a@test.local', 'select', 'messages', $$select * from public.messages$$, 'rows'),
    ('b@test.local', 'select', 'messages', $$select * from public.messages$$, 'none'),
    ('admin@test.local', 'select', 'messages', $$select * from public.messages$$, 'rows'),
    ('service_role', 'select', 'messages', $$select * from public.messages$$, 'rows'),
    ('anon', 'insert', 'messages', $$insert into public.messages (conversation_id, role, content) values ('00000000-0000-4000-8000-0000000000c1', 'user', 'x')$$, 'denied'),
    ('a@test.local', 'insert', 'messages', $$insert into public.messages (conversation_id, role, content) values ('00000000-0000-4000-8000-0000000000c1', 'assistant', 'forged')$$, 'denied'),
    ('b@test.local', 'insert', 'messages', $$insert into public.messages (conversation_id, role, content) values ('00000000-0000-4000-8000-0000000000c1', 'user', 'x')$$, 'denied'),
    ('admin@test.local', 'insert', 'messages', $$insert into public.messages (conversation_id, role, content) values ('00000000-0000-4000-8000-0000000000c1', 'user', 'x')$$, 'denied'),
    ('service_role', 'insert', 'messages', $$insert into public.messages (conversation_id, role, content) values ('00000000-0000-4000-8000-0000000000c1', 'user', 'x')$$, 'rows'),
    ('anon', 'update', 'messages', $$update public.messages set content = 'x'$$, 'denied'),
    ('a@test.local', 'update', 'messages', $$update public.messages set content = 'x'$$, 'denied'),
    ('b@test.local', 'update', 'messages', $$update public.messages set content = 'x'$$, 'denied'),
    ('admin@test.local', 'update', 'messages', $$update public.messages set content = 'x'$$, 'denied'),
    ('service_role', 'update', 'messages', $$update public.messages set content = 'x'$$, 'rows'),
    ('anon', 'delete', 'messages', $$delete from public.messages$$, 'denied'),
    ('a@test.local', 'delete', 'messages', $$delete from public.messages$$, 'denied'),
    ('b@test.local', 'delete', 'messages', $$delete from public.messages$$, 'denied'),
    ('admin@test.local', 'delete', 'messages', $$delete from public.messages$$, 'denied'),
    ('service_role', 'delete', 'messages', $$delete from public.messages$$, 'rows')
)
select is(tests.outcome(who, stmt), expected, format('%s %s %s', who, op, tbl)) from cells;

-- Inserting a conversation: only for oneself, never an anonymous one, never with counters.
select is(tests.outcome('a@test.local', format($$insert into public.conversations (user_id, title) values (%L, 'new')$$, tests.user_id('a@test.local'))),
  'rows', 'a user creates a conversation of their own');
select is(tests.outcome('b@test.local', format($$insert into public.conversations (user_id, title) values (%L, 'x')$$, tests.user_id('a@test.local'))),
  'denied', 'not one for someone else');
select is(tests.outcome('a@test.local', format($$insert into public.conversations (user_id, title, message_count) values (%L, 'x', 99)$$, tests.user_id('a@test.local'))),
  'denied', 'not with counters set');
select is(tests.outcome('admin@test.local', format($$insert into public.conversations (user_id, title) values (%L, 'x')$$, tests.user_id('a@test.local'))),
  'denied', 'admins do not write users'' conversations');
select is(tests.outcome('a@test.local', $$update public.conversations set message_count = 0$$), 'denied', 'counters are not client-writable');

-- Deleting a conversation deletes its messages.
delete from public.conversations where id = '00000000-0000-4000-8000-0000000000c1';
select is((select count(*)::int from public.messages), 0, 'messages go with their conversation');

-- The anonymous allowance is the service role's to take.
select throws_ok($$ select tests.become('anon'); select public.service_role_take_anon_chat('h') $$, '42501', null, 'anon cannot take from the allowance directly');

select throws_ok($$ select tests.become('a@test.local');
  select public.service_role_record_chat_exchange(gen_random_uuid(), true, tests.user_id('a@test.local'), null, 't', 'general',
    'openai', 'm', 'q', 'a', 'complete', 1, 1, null) $$, '42501', null, 'users cannot write messages through the exchange recorder');
select throws_ok($$ select tests.become('anon');
  select public.service_role_record_chat_exchange(gen_random_uuid(), true, null, 'h', 't', 'general',
    'openai', 'm', 'q', 'a', 'complete', 1, 1, null) $$, '42501', null, 'anon cannot either');
-- Anonymous chat has a ceiling for all sessions together: a new session id costs nothing to make.
update saasbase.settings set anonymous_chat_per_day = 5, anonymous_chat_total_per_day = 2;
select lives_ok($$ select public.service_role_take_anon_chat('s1'), public.service_role_take_anon_chat('s2') $$,
  'two sessions take a message each');
select throws_ok($$ select public.service_role_take_anon_chat('s3') $$, 'PT429', null,
  'a third session finds anonymous chat at capacity for the day');
select is((select count(*)::int from saasbase.anon_chat_usage where session_hash = 's3'), 0, '...and took nothing');
select public.service_role_return_anon_chat('s1');
select lives_ok($$ select public.service_role_take_anon_chat('s3') $$, 'a message given back frees a place');

-- Conversations made through the API: a bounded number of empty ones an hour per user.
update saasbase.settings set conversations_per_hour = (select count(*)::int + 1 from public.conversations
  where user_id = tests.user_id('a@test.local') and created_at > now() - interval '1 hour' and message_count = 0);
select tests.become('a@test.local');
select lives_ok(format($$insert into public.conversations (user_id, title) values (%L, 'one more')$$, auth.uid()),
  'a user creates conversations up to the hourly limit');
select throws_ok(format($$insert into public.conversations (user_id, title) values (%L, 'too many')$$, auth.uid()),
  'PT429', null, '...then is rate-limited');
select tests.become('postgres');

select * from finish();
rollback;
