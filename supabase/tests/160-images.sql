-- Images (20261207000700_images.sql): the RLS matrix of generations and image prices (the member who asked, a
-- fellow team member, a non-member, anon, a site admin, the service role), the money rules of a generation (the
-- free allowance first, a hold on the dearest covered model, settled at image_price, released on a failure or a
-- refusal, nothing stored on a refusal to hold), idempotency, deleting, the price sync, and the bucket's objects
-- (storage.objects: read by the account's members and admins, written by nobody but the service role).
begin;
\ir _helpers.psql
select plan(102);

do $$ begin
  perform tests.create_user('owner@test.local');
  perform tests.create_user('member@test.local');
  perform tests.create_user('outsider@test.local');
  perform tests.create_user('siteadmin@test.local', '{"role": "admin"}');
end $$;

select tests.become('owner@test.local');
select tests.put('team', (public.create_team('Acme', 'acme')).id::text);
select tests.become('postgres');
insert into public.account_members (account_id, user_id, role) values (tests.team(), tests.uid('member@test.local'), 'member');
-- The shipped config's prices (synced by the test database's config sync), and 100 sign-up credits each.
select is(saasbase.image_price('gemini-2.5-flash-image', '1024x1024'), 3, 'image_price reads the synced price');
select throws_ok($$select saasbase.image_price('gemini-2.5-flash-image', '7x7')$$, 'PT404', null,
  'an unknown size has no price');

-- Starting, as the generate-image function does: the owner's personal account, its 3 free coloring pages.
create function tests.img_start(who text, account uuid, key text, prompt text default 'a cat',
  size text default '1024x1024', models text[] default array['gemini-2.5-flash-image', 'gpt-image-1'])
returns public.generation_start language sql as $$
  select public.service_role_start_generation(account, tests.uid(who), key, 'coloring_page', prompt, 'coloring-book',
    size, models)
$$;
create function tests.img_finish(id uuid, model text default 'gemini-2.5-flash-image') returns public.generation_outcome
language sql as $$
  select public.service_role_finish_generation(id, 'gemini-image', model, 'x/' || id || '.png', 'image/png', 100, 5, 9)
$$;
create function tests.img_balance(account uuid) returns bigint language sql as $$
  select balance from public.wallets where account_id = account
$$;
grant execute on all functions in schema tests to anon, authenticated, service_role;

select tests.become('service_role');
select tests.put('g1', (tests.img_start('owner@test.local', null, 'k1')).generation_id::text);
select is((select status from public.generations where id = tests.got('g1')::uuid), 'pending', 'a started generation is pending');
select is((select (held, free) from public.generations where id = tests.got('g1')::uuid), (0::bigint, true),
  'the free allowance covers it: nothing held');
select is((tests.img_finish(tests.got('g1')::uuid)).cost, 0::bigint, 'a free generation costs nothing');
select is((select (status, storage_path) from public.generations where id = tests.got('g1')::uuid),
  ('succeeded'::text, 'x/' || tests.got('g1') || '.png'), 'a finished generation is succeeded, with its image''s path');
select is(tests.img_balance(tests.uid('owner@test.local')), 100::bigint, 'the balance is untouched');
select is((tests.img_start('owner@test.local', null, 'k1')).replayed, true, 'the same key again is a replay');
select is((tests.img_start('owner@test.local', null, 'k1')).generation_id, tests.got('g1')::uuid, 'of the same generation');
select is((tests.img_finish(tests.got('g1')::uuid)).replayed, true, 'finishing twice replays the outcome');
select throws_ok($$select tests.img_start('owner@test.local', null, 'k1', 'a dog')$$, 'PT409', null,
  'the same key with another prompt is a conflict');
select is(tests.attempt('service_role', $$select tests.img_start('owner@test.local', null, 'k1', 'a dog')$$),
  'PT409 idempotency_conflict', 'idempotency_conflict');

select tests.img_finish((tests.img_start('owner@test.local', null, 'k2')).generation_id);
select tests.img_finish((tests.img_start('owner@test.local', null, 'k3')).generation_id);
select is((select count(*) from public.generations where account_id = tests.uid('owner@test.local') and free), 3::bigint,
  'three free generations');

-- The 4th: paid. The hold covers the dearest model (gpt-image-1 at 5); settled at the model that made it.
select tests.put('g4', (tests.img_start('owner@test.local', null, 'k4')).generation_id::text);
select is((select (held, free) from public.generations where id = tests.got('g4')::uuid), (5::bigint, false),
  'past the free allowance the dearest covered price is held');
select is(tests.img_balance(tests.uid('owner@test.local')), 95::bigint, 'the hold is off the balance');
select is(tests.attempt('service_role', format('select tests.img_start(%L, null, %L)', 'owner@test.local', 'k4')),
  'PT409 generation_in_progress', 'the same key while pending: in progress');
select is((tests.img_finish(tests.got('g4')::uuid)).cost, 3::bigint, 'settled at image_price of the model that made it');
select is(tests.img_balance(tests.uid('owner@test.local')), 97::bigint, 'the rest of the hold is back');
select is((select cost from public.generations where id = tests.got('g4')::uuid), 3::bigint, 'the generation records its cost');
select is((select sum(amount) from public.credit_ledger
  where reservation_id = (select reservation_id from public.generations where id = tests.got('g4')::uuid)),
  -3::numeric, 'the ledger has the charge: the hold and what the settlement gave back');

-- A refusal (or a failure): released, nothing charged; the same key again is a new attempt.
select tests.put('g5', (tests.img_start('owner@test.local', null, 'k5', 'bad', '1536x1024')).generation_id::text);
select is(tests.img_balance(tests.uid('owner@test.local')), 89::bigint, 'a 1536x1024 hold is 8');
select is((public.service_role_fail_generation(tests.got('g5')::uuid, 'refused', 'SAFETY')).status, 'refused',
  'a refused generation');
select is(tests.img_balance(tests.uid('owner@test.local')), 97::bigint, 'a refusal releases the hold');
select is((select (status, cost, held) from public.generations where id = tests.got('g5')::uuid),
  ('refused'::text, 0::bigint, 0::bigint), 'refused, nothing charged or held');
select is((public.service_role_fail_generation(tests.got('g5')::uuid, 'refused', 'SAFETY')).replayed, true,
  'failing twice replays');
select is(tests.attempt('service_role', format('select tests.img_finish(%L)', tests.got('g5'))),
  'PT409 generation_closed', 'a refused generation cannot be finished');
select isnt((tests.img_start('owner@test.local', null, 'k5', 'bad', '1536x1024')).generation_id, tests.got('g5')::uuid,
  'the same key after a refusal is a new generation');

-- A free unit comes back on a failure.
select tests.become('outsider@test.local');
select tests.become('service_role');
select tests.put('o1', (tests.img_start('outsider@test.local', null, 'o1')).generation_id::text);
select public.service_role_fail_generation(tests.got('o1')::uuid, 'failed', 'no provider answered');
select is((select used from public.usage_counters where account_id = tests.uid('outsider@test.local')
  and feature_id = 'coloring_page'), 0, 'a failed free generation gives its free unit back');

-- Short of the dearest model: the first model's price only, and the dearer one is not covered.
select public.service_role_debit_credits(tests.uid('owner@test.local'), 85, 'adjustment', 'test', 'drain');
select is(tests.img_balance(tests.uid('owner@test.local')), 4::bigint, 'four credits left');
select is((tests.img_start('owner@test.local', null, 'k6')).covered, array[true, false],
  'the hold covers gemini (3), not gpt-image-1 (5)');
select is(tests.img_balance(tests.uid('owner@test.local')), 1::bigint, 'three are held');
select is(tests.attempt('service_role', $$select tests.img_start('owner@test.local', null, 'k7')$$),
  'PT402 insufficient_credits', 'one credit pays for no image: 402');
select is((select count(*) from public.generations where idempotency_key = 'k7'), 0::bigint,
  'a refused hold stores no generation');
select is(tests.attempt('service_role', $$select tests.img_start('owner@test.local', null, 'k8', 'a cat', '9x9')$$),
  'PT404 unknown_price', 'a size without a price is refused');
select is(tests.attempt('service_role', $$select tests.img_start('owner@test.local', null, 'k8', '')$$),
  'PT422 validation_failed', 'an empty prompt is refused');

-- A team's generation: a member with the spend right; a non-member cannot act for the team.
select tests.put('t1', (tests.img_start('member@test.local', tests.team(), 't1')).generation_id::text);
select tests.img_finish(tests.got('t1')::uuid);
select is((select account_id from public.generations where id = tests.got('t1')::uuid), tests.team(),
  'a member''s generation for the team is the team''s');
select tests.put('t2', (tests.img_start('owner@test.local', tests.team(), 't2')).generation_id::text);
select tests.img_finish(tests.got('t2')::uuid);
select is(tests.attempt('service_role', format('select tests.img_start(%L, %L, %L)', 'outsider@test.local', tests.team(), 'x')),
  'PT404 account_not_found', 'a non-member cannot generate for the team');

-- The matrix: who reads the team's generations (and prices), and nobody but the service role writes them.
with who(who, reads, writes) as (
  values ('owner@test.local', 'rows', 'denied'), ('member@test.local', 'rows', 'denied'),
    ('outsider@test.local', 'none', 'denied'), ('anon', 'denied', 'denied'),
    ('siteadmin@test.local', 'rows', 'denied'), ('service_role', 'rows', 'rows')
),
cells(who, op, stmt, expected) as (
  select who, 'select', format('select * from public.generations where account_id = %L', tests.team()), reads from who
  union all
  select who, 'insert', format('insert into public.generations (account_id, prompt, size, idempotency_key) values (%L, ''p'', ''1024x1024'', ''z'')',
    tests.team()), writes from who
  union all
  select who, 'update', format('update public.generations set cost = 0 where account_id = %L', tests.team()), writes from who
  union all
  select who, 'delete', format('delete from public.generations where account_id = %L', tests.team()), writes from who
)
select is(tests.outcome(who, stmt), expected, format('%s %s generations', who, op)) from cells order by op, who;

select is(tests.outcome('anon', 'select * from public.image_prices'), 'rows', 'anyone reads the image prices');
select is(tests.outcome('owner@test.local', 'update public.image_prices set credits = 0'), 'denied',
  'a user cannot change a price');
select is(tests.outcome('owner@test.local', $$select public.service_role_start_generation(null, auth.uid(), 'k', 'coloring_page', 'p', null, '1024x1024', array['gpt-image-1'])$$),
  'denied', 'a user cannot call the service-role API');

-- Deleting: one's own, or another member's with the right to manage members; never another account's.
select tests.become('service_role');
select is(tests.attempt('service_role', format('select public.service_role_delete_generation(%L, %L, %L)',
  tests.team(), tests.uid('member@test.local'), tests.got('t2'))), 'PT403 account_forbidden',
  'a plain member cannot delete the owner''s generation');
select is(tests.attempt('service_role', format('select public.service_role_delete_generation(null, %L, %L)',
  tests.uid('outsider@test.local'), tests.got('g1'))), 'PT404 generation_not_found', 'nor anyone another user''s');
select is(tests.attempt('service_role', format('select public.service_role_delete_generation(null, %L, %L)',
  tests.uid('owner@test.local'), gen_random_uuid())), 'PT404 generation_not_found', 'an unknown id is not found');
select is(tests.attempt('service_role', format('select public.service_role_delete_generation(null, %L, %L)',
  tests.uid('owner@test.local'), (select id from public.generations where idempotency_key = 'k6'))),
  'PT409 generation_in_progress', 'a pending generation cannot be deleted');
select is((public.service_role_delete_generation(tests.team(), tests.uid('owner@test.local'), tests.got('t1')::uuid)).storage_path,
  'x/' || tests.got('t1') || '.png', 'the owner deletes a member''s generation, and gets its path to remove');
select is((select count(*) from public.generations where id = tests.got('t1')::uuid), 0::bigint, 'it is gone');

-- The price sync: the catalog's rows replace the table's.
select tests.become('postgres');
select public.service_role_sync_images('{"image_prices": [{"model": "m", "size": "512x512", "credits": 2}]}');
select is((select array_agg(model || ' ' || size || ' ' || credits) from public.image_prices), array['m 512x512 2'],
  'the sync replaces the prices');
select throws_ok($$select public.service_role_sync_images('{"image_prices": {}}')$$, 'P0001', null,
  'a malformed catalog is refused');

-- The bucket: private, images only; its objects' matrix (written as Storage writes them: the service role).
select tests.become('postgres');
select is((select (public, allowed_mime_types) from storage.buckets where id = 'generations'),
  (false, array['image/png', 'image/jpeg', 'image/webp']), 'the generations bucket is private, images only');
select tests.become('service_role');
insert into storage.objects (bucket_id, name, owner, owner_id, metadata, version)
values
  ('generations', tests.uid('owner@test.local') || '/personal.png', null, null, '{"size": 3}', '1'),
  ('generations', tests.team() || '/team.png', null, null, '{"size": 4}', '1');
select tests.become('postgres');
with cells(who, obj, expected) as (
  values
    ('owner@test.local', 'personal', 'rows'), ('owner@test.local', 'team', 'rows'),
    ('member@test.local', 'personal', 'none'), ('member@test.local', 'team', 'rows'),
    ('outsider@test.local', 'personal', 'none'), ('outsider@test.local', 'team', 'none'),
    ('siteadmin@test.local', 'personal', 'rows'), ('siteadmin@test.local', 'team', 'rows'),
    ('anon', 'personal', 'none'), ('anon', 'team', 'none'),
    ('service_role', 'personal', 'rows'), ('service_role', 'team', 'rows')
)
select is(tests.outcome(who, format('select 1 from storage.objects where bucket_id = ''generations'' and name = %L',
    case obj when 'personal' then tests.uid('owner@test.local') || '/personal.png' else tests.team() || '/team.png' end)),
  expected, format('%s reads the %s image: %s', who, obj, expected))
from cells;
-- Writing: nobody but the service role (the bucket has no insert, update or delete policy).
select is(tests.outcome(who, format($$insert into storage.objects (bucket_id, name, metadata) values ('generations', %L, '{}')$$,
    tests.uid('owner@test.local') || '/forged.png')),
  'denied', format('%s cannot upload an image, even into the owner''s folder', who))
from (values ('owner@test.local'), ('member@test.local'), ('outsider@test.local'), ('siteadmin@test.local'), ('anon')) w(who);
select is(tests.outcome(who, $$update storage.objects set metadata = '{"size": 0}' where bucket_id = 'generations'$$),
  'none', format('%s replaces no image', who))
from (values ('owner@test.local'), ('member@test.local'), ('outsider@test.local'), ('siteadmin@test.local'), ('anon')) w(who);
do $$ begin perform set_config('storage.allow_delete_query', 'true', true); end $$;
select is(tests.outcome(who, $$delete from storage.objects where bucket_id = 'generations'$$),
  'none', format('%s deletes no image through the API', who))
from (values ('owner@test.local'), ('member@test.local'), ('outsider@test.local'), ('siteadmin@test.local'), ('anon')) w(who);
select is(tests.outcome('service_role', $$delete from storage.objects where bucket_id = 'generations'$$),
  'rows', 'the service role deletes images');
do $$ begin perform set_config('storage.allow_delete_query', 'false', true); end $$;
select is(tests.outcome('service_role', $$insert into storage.objects (bucket_id, name, metadata)
    values ('generations', 'anyone/new.png', '{}')$$), 'rows', 'the service role uploads images');

select * from finish();
rollback;
