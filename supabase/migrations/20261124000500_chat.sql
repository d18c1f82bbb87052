-- Chat: conversations and their messages. Owners create, list, rename and delete conversations through
-- supabase-js; messages are written only by the `chat` edge function (which meters them through the credit
-- ledger); deleting a conversation deletes its messages. Anonymous conversations belong to a client session
-- id (stored hashed) and are reached only through the chat function, with that id.

create table public.conversations (
  id uuid primary key default gen_random_uuid(),
  user_id uuid references auth.users (id) on delete cascade,
  -- sha256 of the anonymous client's session id (never the id itself).
  anon_session_hash text,
  title text not null default 'New chat' check (char_length(title) between 1 and 200),
  persona text not null default 'general' check (char_length(persona) <= 63),
  message_count integer not null default 0,
  last_message_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  check ((user_id is null) <> (anon_session_hash is null))
);
comment on table public.conversations is 'Chat conversations of a user (or of an anonymous session).';
create index conversations_user on public.conversations (user_id, last_message_at desc nulls last) where user_id is not null;
create index conversations_anon on public.conversations (anon_session_hash, last_message_at desc nulls last)
  where anon_session_hash is not null;

create table public.messages (
  id bigint generated always as identity primary key,
  conversation_id uuid not null references public.conversations (id) on delete cascade,
  role text not null check (role in ('user', 'assistant')),
  content text not null,
  -- 'stopped': the client left midway (the user pressed stop): charged for the part it received.
  -- 'failed': the answer broke off (provider error or stall): not charged. (A client gone before any content
  -- leaves nothing stored.)
  status text not null default 'complete' check (status in ('complete', 'stopped', 'failed')),
  persona text,
  provider text,
  model text,
  prompt_tokens integer,
  completion_tokens integer,
  credits_consumed bigint not null default 0,
  reservation_id uuid,
  created_at timestamptz not null default now()
);
comment on table public.messages is 'Chat messages with token usage and credits; written only by the chat function.';
create index messages_conversation on public.messages (conversation_id, id);

alter table public.conversations enable row level security;
alter table public.messages enable row level security;

-- Admins read conversations too (support, moderation; seed 004's admin conversations API). One policy per
-- role and action: Postgres runs every permissive policy that applies for each row, so two (owner, admin)
-- would cost two checks a row (Supabase's performance advisor, multiple_permissive_policies).
create policy "Conversations are readable by their owner and admins" on public.conversations
  for select to authenticated using (user_id = (select auth.uid()) or (select saasbase.is_admin()));
create policy "Users create their own conversations" on public.conversations
  for insert to authenticated with check (user_id = (select auth.uid()) and anon_session_hash is null);
create policy "Conversations are renamed by their owner" on public.conversations
  for update to authenticated using (user_id = (select auth.uid())) with check (user_id = (select auth.uid()));
create policy "Conversations are deleted by their owner" on public.conversations
  for delete to authenticated using (user_id = (select auth.uid()));
create policy "Messages are readable by the conversation's owner and admins" on public.messages
  for select to authenticated
  using ((select saasbase.is_admin())
    or exists (select from public.conversations c where c.id = conversation_id and c.user_id = (select auth.uid())));

-- Owners insert and rename (title, persona) their conversations; counters and ownership are not theirs to set.
grant select, delete on public.conversations to authenticated;
grant insert (user_id, title, persona) on public.conversations to authenticated;
grant update (title, persona) on public.conversations to authenticated;
grant select on public.messages to authenticated;
grant select, insert, update, delete on public.conversations, public.messages to service_role;

create trigger conversations_touch_updated_at before update on public.conversations
  for each row execute function saasbase.touch_updated_at();

-- Users create conversations through the API as well: at most `conversationsPerHour` empty ones an hour each,
-- so nobody fills the table. (The chat function's own, created with an exchange, count against the chat quota
-- instead, and are never empty.) One user's inserts are counted one at a time (an advisory lock), so parallel
-- requests cannot each see the others' uncommitted rows and pass together.
create index conversations_user_created on public.conversations (user_id, created_at) where user_id is not null;
create function saasbase.limit_conversations() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_limit integer := (select s.conversations_per_hour from saasbase.settings s);
begin
  -- Only what users insert through the API counts: the chat function's (no claims: auth.role() is null) and
  -- the service role's do not.
  if (select auth.role()) is distinct from 'authenticated' then
    return new;
  end if;
  perform pg_advisory_xact_lock(hashtextextended('conversations:' || new.user_id::text, 0));
  if (
    select count(*) from public.conversations c
    where c.user_id = new.user_id and c.created_at > now() - interval '1 hour' and c.message_count = 0
  ) >= v_limit then
    perform saasbase.fail('PT429', 'rate_limited', format('At most %s new conversations an hour', v_limit));
  end if;
  return new;
end;
$$;
create trigger conversations_limit before insert on public.conversations
  for each row execute function saasbase.limit_conversations();

-- Keeps the conversation's counters with its messages.
create function saasbase.count_message() returns trigger
language plpgsql
set search_path = ''
as $$
begin
  update public.conversations
  set message_count = message_count + 1, last_message_at = new.created_at
  where id = new.conversation_id;
  return new;
end;
$$;
create trigger messages_count after insert on public.messages
  for each row execute function saasbase.count_message();

-- The history API: a page of conversations, newest first, each with its last message. One query for both
-- owners: a signed-in user (list_conversations, as the caller: RLS applies) and an anonymous session (the chat
-- function, by the session's hash: service_role_list_conversations).
create function saasbase.conversation_page(
  p_user uuid, p_anon_hash text, p_page_size integer, p_older_than timestamptz
) returns table (
  id uuid, title text, persona text, message_count integer, last_message_at timestamptz, created_at timestamptz,
  last_message_role text, last_message text
)
language sql
stable
set search_path = ''
as $$
  select c.id, c.title, c.persona, c.message_count, c.last_message_at, c.created_at, m.role, left(m.content, 500)
  from public.conversations c
  left join lateral (
    select x.role, x.content from public.messages x where x.conversation_id = c.id order by x.id desc limit 1
  ) m on true
  where (p_user is not null and c.user_id = p_user or p_anon_hash is not null and c.anon_session_hash = p_anon_hash)
    and (p_older_than is null or coalesce(c.last_message_at, c.created_at) < p_older_than)
  order by coalesce(c.last_message_at, c.created_at) desc
  limit least(greatest(p_page_size, 1), 100)
$$;
-- Security invoker: run by list_conversations as the caller, RLS filters it too.
revoke execute on function saasbase.conversation_page(uuid, text, integer, timestamptz) from public, anon;
grant execute on function saasbase.conversation_page(uuid, text, integer, timestamptz) to authenticated, service_role;

create function public.list_conversations(page_size integer default 20, older_than timestamptz default null)
returns table (
  id uuid, title text, persona text, message_count integer, last_message_at timestamptz, created_at timestamptz,
  last_message_role text, last_message text
)
language sql
stable
security invoker
set search_path = ''
as $$
  select * from saasbase.conversation_page((select auth.uid()), null, page_size, older_than)
$$;
revoke execute on function public.list_conversations(integer, timestamptz) from public, anon;
grant execute on function public.list_conversations(integer, timestamptz) to authenticated;

-- An anonymous session's conversations (the chat function's GET /chat/conversations with a session_id).
create function public.service_role_list_conversations(
  anon_session_hash text, page_size integer default 20, older_than timestamptz default null
)
returns table (
  id uuid, title text, persona text, message_count integer, last_message_at timestamptz, created_at timestamptz,
  last_message_role text, last_message text
)
language sql
stable
security definer
set search_path = ''
as $$
  select * from saasbase.conversation_page(null, anon_session_hash, page_size, older_than)
$$;
revoke execute on function public.service_role_list_conversations(text, integer, timestamptz)
  from public, anon, authenticated;
grant execute on function public.service_role_list_conversations(text, integer, timestamptz) to service_role;

-- Anonymous chat allowance: messages per session per UTC day (config `anonymous.chatMessagesPerDay`), and for
-- all sessions together (`chatMessagesPerDayTotal`, the row of session '*'): a new session id costs nothing.
create table saasbase.anon_chat_usage (
  session_hash text not null,
  day date not null,
  used integer not null default 0,
  primary key (session_hash, day)
);
comment on table saasbase.anon_chat_usage is 'Anonymous chat messages per session per day (rate limit).';

-- Takes one message from the session's daily allowance and from all sessions' total, or PT429 (and takes
-- neither). Server-side only.
create function public.service_role_take_anon_chat(session_hash text) returns integer
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_settings saasbase.settings := (select s from saasbase.settings s);
  v_day date := (saasbase.now() at time zone 'UTC')::date;
  v_used integer;
  v_total integer;
begin
  insert into saasbase.anon_chat_usage as u (session_hash, day, used) values (session_hash, v_day, 1)
  on conflict on constraint anon_chat_usage_pkey do update set used = u.used + 1
  returning used into v_used;
  if v_used > v_settings.anonymous_chat_per_day then
    perform saasbase.fail('PT429', 'rate_limited', format(
      'The anonymous allowance of %s messages a day is used up; sign up to continue', v_settings.anonymous_chat_per_day));
  end if;
  insert into saasbase.anon_chat_usage as u (session_hash, day, used) values ('*', v_day, 1)
  on conflict on constraint anon_chat_usage_pkey do update set used = u.used + 1
  returning used into v_total;
  if v_total > v_settings.anonymous_chat_total_per_day then
    perform saasbase.fail('PT429', 'rate_limited', 'Chat without an account is at capacity today; sign up to continue');
  end if;
  return v_settings.anonymous_chat_per_day - v_used;
end;
$$;
revoke execute on function public.service_role_take_anon_chat(text) from public, anon, authenticated;
grant execute on function public.service_role_take_anon_chat(text) to service_role;

-- Gives a message back to the session's allowance when its answer failed (the user got nothing).
create function public.service_role_return_anon_chat(session_hash text) returns void
language plpgsql
security definer
set search_path = ''
as $$
begin
  update saasbase.anon_chat_usage u set used = greatest(u.used - 1, 0)
  where u.session_hash in (service_role_return_anon_chat.session_hash, '*')
    and u.day = (saasbase.now() at time zone 'UTC')::date;
end;
$$;
revoke execute on function public.service_role_return_anon_chat(text) from public, anon, authenticated;
grant execute on function public.service_role_return_anon_chat(text) to service_role;

-- What reserving a chat answer gives the chat function: the hold, which of the providers it was asked about the
-- hold covers, and how often to renew it while the answer streams (service_role_renew_reservation).
create type public.chat_hold as (
  reservation_id uuid,
  -- Credits held (0 when the plan's free allowance covers the message).
  amount bigint,
  free_units integer,
  balance bigint,
  expires_at timestamptz,
  lifetime_seconds double precision,
  -- One per model given, in order: whether the hold covers that provider's worst case (the first always).
  covered boolean[]
);

-- Holds the worst case of a signed-in user's message before any model is called (a server-held reservation:
-- only the chat function settles or releases it; a user able to release it mid-answer would chat free).
-- `models` are the providers that may answer, in order (the model's, then the fallbacks), each with the most
-- tokens it may bill (`worst_tokens`: the whole prompt as that model counts it, plus its whole answer budget);
-- each is priced by saasbase.chat_price. The hold is the most expensive one's worst case; when the wallet cannot
-- hold that but can hold the first's, that is held and the fallbacks that cost more are not covered.
-- The key is the message's (an Idempotency-Key, hashed, or a fresh one): the same key again, while that message
-- is answered or after it was, is 409 idempotency_conflict (no second answer paid); a message that got no answer
-- (its reservation released: no provider, the client gone first; or left open past its lifetime by a function
-- that died) may be sent again under it, as a new reservation keyed `key:<the old reservation's id>`.
create function public.service_role_reserve_chat(
  user_id uuid, idempotency_key text, persona text, models text[], worst_tokens integer[]
)
returns public.chat_hold
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_key text := idempotency_key;
  v_hold public.reservation_hold;
  v_worst bigint[];
  v_first bigint;
  v_level bigint;
begin
  if cardinality(models) is distinct from cardinality(worst_tokens) or coalesce(cardinality(models), 0) = 0 then
    perform saasbase.fail('PT400', 'bad_request', 'One worst token count for each model, at least one model');
  end if;
  v_worst := array(
    select saasbase.chat_price(persona, m.model, m.tokens)
    from unnest(models, worst_tokens) with ordinality m(model, tokens, i) order by m.i
  );
  v_first := v_worst[1];
  v_level := (select max(w) from unnest(v_worst) w);
  for attempt in 1..20 loop
    begin
      v_hold := saasbase.reserve(user_id, 'chat', 1, v_key, v_level, true);
    exception when sqlstate 'PT402' then
      if v_level <= v_first then
        raise;
      end if;
      v_level := v_first; -- the first provider's worst case, without the dearer fallbacks
      continue;
    end;
    if not v_hold.replayed then
      return (v_hold.reservation_id, v_hold.amount, v_hold.free_units, v_hold.balance, v_hold.expires_at,
        extract(epoch from saasbase.reservation_lifetime()), array(select w <= v_level from unnest(v_worst) w)
      )::public.chat_hold;
    end if;
    exit when not (v_hold.status = 'released' or (v_hold.status = 'open' and v_hold.expires_at <= saasbase.now()));
    v_key := left(v_key, 69) || ':' || v_hold.reservation_id;
  end loop;
  perform saasbase.fail('PT409', 'idempotency_conflict',
    'This Idempotency-Key was used for a message already; send a new message with a new key');
  return null; -- not reached: fail raises
end;
$$;
revoke execute on function public.service_role_reserve_chat(uuid, text, text, text[], integer[])
  from public, anon, authenticated;
grant execute on function public.service_role_reserve_chat(uuid, text, text, text[], integer[]) to service_role;

-- What storing an exchange answers.
create type public.chat_exchange as (
  -- The answer's message (null when the owner deleted the conversation while it streamed).
  message_id bigint,
  credits_charged bigint,
  -- The wallet's balance after (null without a reservation: anonymous chat).
  balance bigint,
  -- What the answer cost and could not be paid from the balance (recorded on its reservation).
  credits_unpaid bigint
);

-- One exchange of the chat function, stored in one statement (so one transaction): the conversation when it
-- is new, the user's message, the answer (complete; stopped by the client midway; or failed: never charged)
-- and, for a complete or stopped answer with a reservation, that reservation settled at its cost (the persona's
-- and the serving model's price for prompt_tokens + completion_tokens: saasbase.chat_price): the answer was
-- delivered, so it is paid in full, past the hold as far as the balance goes and even when the hold lapsed
-- (saasbase.settle). Server-side only.
create function public.service_role_record_chat_exchange(
  conversation_id uuid, new_conversation boolean, user_id uuid, anon_session_hash text, title text, persona text,
  provider text, model text, question text, answer text, status text, prompt_tokens integer,
  completion_tokens integer, reservation_id uuid
) returns public.chat_exchange
language plpgsql
security definer
set search_path = ''
as $$
#variable_conflict use_variable
declare
  v_charged bigint := 0;
  v_unpaid bigint := 0;
  v_balance bigint;
  v_settled public.reservation_settlement;
  v_message bigint;
  v_kept boolean := true;
begin
  if new_conversation then
    insert into public.conversations (id, user_id, anon_session_hash, title, persona)
    values (conversation_id, user_id, anon_session_hash, title, persona);
  else
    -- The owner may have deleted the conversation while the answer streamed: then there is nowhere to store
    -- the exchange, but the answer was received and is paid for all the same. (KEY SHARE keeps the row until
    -- this commits.)
    perform 1 from public.conversations c where c.id = conversation_id for key share;
    v_kept := found;
  end if;
  if v_kept then
    insert into public.messages (conversation_id, role, content, persona, model)
    values (conversation_id, 'user', question, persona, model);
  end if;
  if status in ('complete', 'stopped') and reservation_id is not null then
    v_settled := saasbase.settle(user_id, reservation_id,
      saasbase.chat_price(persona, model, prompt_tokens::bigint + completion_tokens), saasbase.now(), true);
    v_charged := v_settled.credits_charged;
    v_unpaid := v_settled.unpaid;
    v_balance := v_settled.balance;
  end if;
  if v_kept then
    insert into public.messages (conversation_id, role, content, status, persona, provider, model, prompt_tokens,
      completion_tokens, credits_consumed, reservation_id)
    values (conversation_id, 'assistant', answer, status,
      persona, provider, model, prompt_tokens, completion_tokens, v_charged, reservation_id)
    returning id into v_message;
  end if;
  return (v_message, v_charged, v_balance, v_unpaid)::public.chat_exchange;
end;
$$;
revoke execute on function public.service_role_record_chat_exchange(uuid, boolean, uuid, text, text, text, text,
  text, text, text, text, integer, integer, uuid) from public, anon, authenticated;
grant execute on function public.service_role_record_chat_exchange(uuid, boolean, uuid, text, text, text, text,
  text, text, text, text, integer, integer, uuid) to service_role;
