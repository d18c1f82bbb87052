-- Images: generations of the generate-image function (docs/images.md). A member asks for an image (a prompt,
-- a size and a style from the config's lists, maybe a reference image); the function holds its price before
-- calling the provider (the plan's free allowance of the config's images.feature first, then credits), stores
-- the image in the private bucket `generations` at `<account_id>/<generation_id>.png`, and settles the hold;
-- a failure, a safety refusal, a timeout or the client hanging up releases it.
--
-- Prices: public.image_prices (model, size, credits), synced from the config's images section by
-- public.service_role_sync_images (a DOMAIN_SYNCS entry: it runs in the config sync's transaction). A
-- generation's cost is computed only through saasbase.image_price(model, size), which the runtime settings
-- may re-define to honour an override.
--
-- A generation belongs to an account (the member's personal account, or a team they act for with the `spend`
-- right) and to the member who asked (user_id). The account's members and admins read its generations and
-- their images; nobody writes either but the service role, through the functions below.

-- ---------------------------------------------------------------------------------------------------------
-- Prices
create table public.image_prices (
  model text not null check (char_length(model) between 1 and 200),
  size text not null check (size ~ '^[1-9][0-9]{1,4}x[1-9][0-9]{1,4}$'),
  credits integer not null check (credits >= 0),
  updated_at timestamptz not null default now(),
  primary key (model, size)
);
comment on table public.image_prices is
  'Credits an image costs per model and size: synced from the config (images.providers[].prices).';

alter table public.image_prices enable row level security;
-- The price list is public, as plans and packs are: a pricing page shows it.
create policy "Image prices are readable by everyone" on public.image_prices
  for select to anon, authenticated
  using (true);
grant select on public.image_prices to anon, authenticated;
grant select, insert, update, delete on public.image_prices to service_role;

-- ---------------------------------------------------------------------------------------------------------
-- Generations
create table public.generations (
  id uuid primary key default gen_random_uuid(),
  account_id uuid not null references public.accounts (id) on delete cascade,
  -- The member who asked (null once their user is deleted; the team keeps its images).
  user_id uuid references auth.users (id) on delete set null,
  prompt text not null check (char_length(prompt) between 1 and 32000),
  style text check (char_length(style) <= 63),
  size text not null check (size ~ '^[1-9][0-9]{1,4}x[1-9][0-9]{1,4}$'),
  -- The provider and model that made the image (or failed last).
  provider text check (char_length(provider) <= 63),
  model text check (char_length(model) <= 200),
  -- pending (held, the provider asked) -> succeeded (stored, settled) | failed (no provider made it, or it
  -- could not be stored) | refused (a provider's safety refusal) | aborted (the client hung up, or the time
  -- ran out). Only a succeeded generation is paid for.
  status text not null default 'pending'
    check (status in ('pending', 'succeeded', 'failed', 'refused', 'aborted')),
  -- Credits held while pending, and charged once settled (0 when the free allowance covered it).
  held bigint not null default 0,
  cost bigint not null default 0,
  free boolean not null default false,
  reservation_id uuid,
  -- The request's key (the client's Idempotency-Key, or one per request): a retry of a succeeded request
  -- answers the same generation and pays nothing more.
  idempotency_key text not null check (char_length(idempotency_key) between 1 and 200),
  -- Where the image is: `<account_id>/<id>.<ext>` in the bucket `generations`.
  storage_path text check (char_length(storage_path) <= 300),
  mime_type text check (mime_type in ('image/png', 'image/jpeg', 'image/webp')),
  bytes integer check (bytes >= 0),
  error text check (char_length(error) <= 2000),
  -- Timings: the providers' time (every attempt) and the whole generation's, in milliseconds.
  provider_ms integer check (provider_ms >= 0),
  duration_ms integer check (duration_ms >= 0),
  created_at timestamptz not null default now(),
  completed_at timestamptz,
  unique (account_id, idempotency_key),
  constraint generations_stored check (status <> 'succeeded' or storage_path is not null)
);
comment on table public.generations is
  'Images made by the generate-image function: written by the service role, read by the account''s members.';
create index generations_account_created on public.generations (account_id, created_at desc, id desc);
create index generations_user_id on public.generations (user_id);

alter table public.generations enable row level security;
create policy "Generations are readable by the account's members and admins" on public.generations
  for select to authenticated
  using (account_id in (select saasbase.my_accounts()) or (select saasbase.is_admin()));
grant select on public.generations to authenticated;
grant select, insert, update, delete on public.generations to service_role;

-- What starting a generation answers: the generation, and what is held for it.
create type public.generation_start as (
  generation_id uuid,
  -- pending (a new generation: ask the provider), or a replay's status (succeeded: answer it as before).
  status text,
  replayed boolean,
  reservation_id uuid,
  -- Credits held (0 when the free allowance covers it).
  held bigint,
  free boolean,
  balance bigint,
  -- For each model asked about (in order), whether the hold covers its price: try only those.
  covered boolean[],
  storage_path text
);

-- What finishing or failing a generation answers.
create type public.generation_outcome as (
  generation_id uuid,
  status text,
  cost bigint,
  free boolean,
  balance bigint,
  replayed boolean
);

-- ---------------------------------------------------------------------------------------------------------
-- Helpers

-- The credits an image of `size` from `model` costs; PT404 unknown_price when the config has no such price
-- (run the config sync). The one place a generation's cost comes from.
create function saasbase.image_price(model text, size text) returns integer
language plpgsql stable
set search_path = ''
as $$
declare
  v_credits integer;
begin
  select p.credits into v_credits from public.image_prices p
  where p.model = image_price.model and p.size = image_price.size;
  if v_credits is null then
    perform saasbase.fail('PT404', 'unknown_price', format('No image price for %s at %s', model, size));
  end if;
  return v_credits;
end;
$$;

-- ---------------------------------------------------------------------------------------------------------
-- The config sync (src/local/database.ts DOMAIN_SYNCS): the catalog's `image_prices` rows replace the table's.
create function public.service_role_sync_images(catalog jsonb) returns void
language plpgsql
set search_path = ''
as $$
begin
  if catalog ? 'image_prices' and jsonb_typeof(catalog -> 'image_prices') is distinct from 'array' then
    raise exception 'catalog.image_prices must be an array';
  end if;
  insert into public.image_prices as p (model, size, credits, updated_at)
  select r.model, r.size, r.credits, now()
  from jsonb_to_recordset(coalesce(catalog -> 'image_prices', '[]')) as r (model text, size text, credits integer)
  on conflict (model, size) do update set credits = excluded.credits, updated_at = excluded.updated_at
  where p.credits is distinct from excluded.credits;
  -- A price the config no longer has is gone: no new generation may be priced by it.
  delete from public.image_prices p
  where not exists (
    select from jsonb_to_recordset(coalesce(catalog -> 'image_prices', '[]')) as r (model text, size text)
    where r.model = p.model and r.size = p.size
  );
end;
$$;
revoke execute on function public.service_role_sync_images(jsonb) from public, anon, authenticated;
grant execute on function public.service_role_sync_images(jsonb) to service_role;

-- ---------------------------------------------------------------------------------------------------------
-- The API (the generate-image function, as the service role, for a signed-in member)

-- Starts a generation for `user_id` acting for `account_id` (null: their personal account; a team's needs the
-- `spend` right), metered as `feature`: a new pending generation and a hold on its price, the plan's free
-- allowance first (saasbase.reserve, held by the server). `models` are the models the function may try, in
-- order: the hold covers the dearest of them when the balance allows, else the first one's price only
-- (`covered` says which). 402 insufficient_credits / spend_cap_reached, 429 rate_limited (a blocking quota),
-- 404 unknown_price, with nothing held or stored.
--
-- The same `idempotency_key` again: a succeeded generation answers as it did (replayed, nothing charged), a
-- pending one is 409 generation_in_progress, and one that failed, was refused or aborted is retried as a new
-- generation (under the key's next generation: key:<previous id>). Another prompt, size or style under the
-- same key is 409 idempotency_conflict.
create function public.service_role_start_generation(
  account_id uuid, user_id uuid, idempotency_key text, feature text, prompt text, style text, size text,
  models text[]
) returns public.generation_start
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_account uuid := saasbase.acting_account(account_id, user_id, 'spend');
  v_key text := saasbase.require_key(idempotency_key);
  v_gen public.generations;
  v_prices bigint[];
  v_first bigint;
  v_level bigint;
  v_hold public.reservation_hold;
  v_balance bigint;
begin
  if user_id is null then
    perform saasbase.fail('PT422', 'invalid_member', 'A user is required');
  end if;
  -- acting_account takes a personal account on the user's word: a deleted user's has gone with them.
  if not exists (select from public.accounts a where a.id = v_account) then
    perform saasbase.fail('PT404', 'account_not_found', 'No such account, or you are not a member of it');
  end if;
  if prompt is null or char_length(prompt) not between 1 and 32000 then
    perform saasbase.fail('PT422', 'validation_failed', 'A prompt of 1 to 32000 characters is required');
  end if;
  if coalesce(cardinality(models), 0) = 0 then
    perform saasbase.fail('PT400', 'bad_request', 'At least one model');
  end if;
  v_prices := array(select saasbase.image_price(m.model, size)
    from unnest(models) with ordinality m(model, i) order by m.i);
  v_first := v_prices[1];
  v_level := (select max(p) from unnest(v_prices) p);

  -- A generation whose function died (its hold has lapsed by now, and run_due released it) is not pending.
  update public.generations g set status = 'failed', error = 'Interrupted before it finished',
    completed_at = saasbase.now()
  where g.account_id = v_account and g.status = 'pending'
    and g.created_at < saasbase.now() - saasbase.reservation_lifetime();

  for attempt in 1..20 loop
    -- A concurrent request under the same key waits here until the first commits, then sees its row.
    insert into public.generations as g (account_id, user_id, prompt, style, size, status, idempotency_key,
      created_at)
    values (v_account, user_id, prompt, style, size, 'pending', v_key, saasbase.now())
    on conflict on constraint generations_account_id_idempotency_key_key do nothing
    returning * into v_gen;
    exit when v_gen.id is not null;
    select * into v_gen from public.generations g where g.account_id = v_account and g.idempotency_key = v_key;
    if v_gen.prompt <> prompt or v_gen.size <> size or v_gen.style is distinct from style
      or v_gen.user_id is distinct from user_id then
      perform saasbase.fail('PT409', 'idempotency_conflict', 'This Idempotency-Key was used for another request');
    end if;
    if v_gen.status = 'succeeded' then
      select w.balance into v_balance from public.wallets w where w.account_id = v_account;
      return (v_gen.id, v_gen.status, true, v_gen.reservation_id, v_gen.held, v_gen.free, v_balance,
        array(select true from unnest(models)), v_gen.storage_path)::public.generation_start;
    end if;
    if v_gen.status = 'pending' then
      perform saasbase.fail('PT409', 'generation_in_progress',
        'A generation under this Idempotency-Key is in progress; ask for it again in a moment');
    end if;
    v_key := left(idempotency_key, 150) || ':' || v_gen.id;
    v_gen := null;
  end loop;
  if v_gen.id is null then
    perform saasbase.fail('PT409', 'idempotency_conflict', 'This Idempotency-Key was retried too often; use a new one');
  end if;

  loop
    begin
      v_hold := saasbase.reserve(v_account, user_id, feature, 1, 'image:' || v_gen.id, v_level, true);
      exit;
    exception when sqlstate 'PT402' then
      -- Short of credits (or of the member's spending cap) for the dearest fallback: the first model's price,
      -- without the dearer fallbacks.
      if v_level <= v_first then
        raise;
      end if;
      v_level := v_first;
    end;
  end loop;
  update public.generations g set reservation_id = v_hold.reservation_id, held = v_hold.amount,
    free = v_hold.free_units > 0
  where g.id = v_gen.id;
  return (v_gen.id, 'pending', false, v_hold.reservation_id, v_hold.amount, v_hold.free_units > 0, v_hold.balance,
    array(select v_hold.free_units > 0 or p <= v_level from unnest(v_prices) p), null)::public.generation_start;
end;
$$;
revoke execute on function public.service_role_start_generation(uuid, uuid, text, text, text, text, text, text[])
  from public, anon, authenticated;
grant execute on function public.service_role_start_generation(uuid, uuid, text, text, text, text, text, text[])
  to service_role;

-- A pending generation's image is stored: its hold settles at saasbase.image_price(model, size) (nothing when
-- the free allowance covered it) and it is succeeded. Settled whether or not its member is still one: the image
-- was made. Again for a succeeded one: its outcome, replayed. 404 generation_not_found, 409
-- generation_closed for one that failed.
create function public.service_role_finish_generation(
  generation_id uuid, provider text, model text, storage_path text, mime_type text, bytes integer,
  provider_ms integer, duration_ms integer
) returns public.generation_outcome
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_gen public.generations;
  v_settled public.reservation_settlement;
begin
  select * into v_gen from public.generations g where g.id = generation_id for update;
  if not found then
    perform saasbase.fail('PT404', 'generation_not_found', 'No such generation');
  end if;
  if v_gen.status = 'succeeded' then
    return (v_gen.id, v_gen.status, v_gen.cost, v_gen.free,
      (select w.balance from public.wallets w where w.account_id = v_gen.account_id), true)::public.generation_outcome;
  end if;
  if v_gen.status <> 'pending' then
    perform saasbase.fail('PT409', 'generation_closed', format('This generation is %s', v_gen.status));
  end if;
  v_settled := saasbase.settle(v_gen.account_id, v_gen.user_id, v_gen.reservation_id,
    saasbase.image_price(model, v_gen.size)::bigint, saasbase.now(), true);
  update public.generations g set status = 'succeeded', provider = service_role_finish_generation.provider,
    model = service_role_finish_generation.model, storage_path = service_role_finish_generation.storage_path,
    mime_type = service_role_finish_generation.mime_type, bytes = service_role_finish_generation.bytes,
    cost = v_settled.credits_charged, provider_ms = service_role_finish_generation.provider_ms,
    duration_ms = service_role_finish_generation.duration_ms, error = null, completed_at = saasbase.now()
  where g.id = v_gen.id;
  return (v_gen.id, 'succeeded', v_settled.credits_charged, v_gen.free, v_settled.balance, false)::public.generation_outcome;
end;
$$;
revoke execute on function public.service_role_finish_generation(uuid, text, text, text, text, integer, integer,
  integer) from public, anon, authenticated;
grant execute on function public.service_role_finish_generation(uuid, text, text, text, text, integer, integer,
  integer) to service_role;

-- A pending generation that made no image: `status` failed | refused | aborted, its hold released (the free
-- unit and the credits back), `error` saying why. Again with the same status: its outcome, replayed. 404
-- generation_not_found; 409 generation_closed for a succeeded one, or one closed otherwise.
create function public.service_role_fail_generation(
  generation_id uuid, status text, error text, provider text default null, model text default null,
  provider_ms integer default null, duration_ms integer default null
) returns public.generation_outcome
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_gen public.generations;
  v_released public.reservation_release;
begin
  if status is null or status not in ('failed', 'refused', 'aborted') then
    perform saasbase.fail('PT422', 'validation_failed', 'status must be failed, refused or aborted');
  end if;
  select * into v_gen from public.generations g where g.id = generation_id for update;
  if not found then
    perform saasbase.fail('PT404', 'generation_not_found', 'No such generation');
  end if;
  if v_gen.status = status then
    return (v_gen.id, v_gen.status, 0::bigint, v_gen.free,
      (select w.balance from public.wallets w where w.account_id = v_gen.account_id), true)::public.generation_outcome;
  end if;
  if v_gen.status <> 'pending' then
    perform saasbase.fail('PT409', 'generation_closed', format('This generation is %s', v_gen.status));
  end if;
  if v_gen.reservation_id is not null then
    v_released := saasbase.release_reservation(v_gen.account_id, v_gen.user_id, v_gen.reservation_id, true);
  end if;
  update public.generations g set status = service_role_fail_generation.status,
    error = left(service_role_fail_generation.error, 2000),
    provider = coalesce(service_role_fail_generation.provider, g.provider),
    model = coalesce(service_role_fail_generation.model, g.model),
    provider_ms = service_role_fail_generation.provider_ms, duration_ms = service_role_fail_generation.duration_ms,
    held = 0, completed_at = saasbase.now()
  where g.id = v_gen.id;
  return (v_gen.id, status, 0::bigint, v_gen.free,
    coalesce(v_released.balance, (select w.balance from public.wallets w where w.account_id = v_gen.account_id)),
    false)::public.generation_outcome;
end;
$$;
revoke execute on function public.service_role_fail_generation(uuid, text, text, text, text, integer, integer)
  from public, anon, authenticated;
grant execute on function public.service_role_fail_generation(uuid, text, text, text, text, integer, integer)
  to service_role;

-- Deletes a generation of `account_id` (null: `user_id`'s personal account) for `user_id`: the member who made
-- it, or one whose role manages members. Answers the deleted row, whose storage_path the function removes
-- from the bucket in the same transaction (a failed removal rolls the delete back). 404 generation_not_found
-- for one not in the account (another user's included), 403 account_forbidden for another member's without
-- the right, 409 generation_in_progress for a pending one.
create function public.service_role_delete_generation(account_id uuid, user_id uuid, generation_id uuid)
returns public.generations
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_account uuid := saasbase.acting_account(account_id, user_id, null);
  v_gen public.generations;
begin
  select * into v_gen from public.generations g
  where g.id = generation_id and g.account_id = v_account
  for update;
  if not found then
    perform saasbase.fail('PT404', 'generation_not_found', 'No such generation');
  end if;
  if v_gen.user_id is distinct from user_id and v_account <> user_id then
    perform saasbase.acting_account(v_account, user_id, 'manage_members');
  end if;
  if v_gen.status = 'pending' then
    perform saasbase.fail('PT409', 'generation_in_progress', 'This generation is in progress');
  end if;
  delete from public.generations g where g.id = v_gen.id;
  return v_gen;
end;
$$;
revoke execute on function public.service_role_delete_generation(uuid, uuid, uuid) from public, anon, authenticated;
grant execute on function public.service_role_delete_generation(uuid, uuid, uuid) to service_role;

-- ---------------------------------------------------------------------------------------------------------
-- The bucket: private, images only. An object's first path segment is its account's id
-- (`<account_id>/<generation_id>.png`); the account's members and admins read it (through the function's
-- signed URLs, or their own session), and no policy lets anyone but the service role write or delete one.
insert into storage.buckets (id, name, public, file_size_limit, allowed_mime_types)
values ('generations', 'generations', false, 20971520, array['image/png', 'image/jpeg', 'image/webp'])
on conflict (id) do nothing;

create policy "Generated images are readable by their account's members and admins" on storage.objects
  for select to authenticated
  using (bucket_id = 'generations'
    and ((storage.foldername(name))[1] in (select saasbase.my_accounts()::text) or (select saasbase.is_admin())));
