-- Licenses: the RLS matrix of public.license_products, licenses and license_machines (owner, team member, team
-- billing manager, other user, anon, site admin, service role; the key's hash readable by none), then the rules:
-- keys (shape, check character, forgiving input, only the hash stored), every validation code, machines
-- (the limit, heartbeats), who manages a license, licenses issued by payments (a subscription's invoices in any
-- order, a replayed renewal extending once, a one-off purchase and its refund), the key shown once, the rate
-- limits, and the config sync.
begin;
\ir _helpers.psql
select plan(83);

do $$
begin
  perform tests.create_user(e) from unnest(array['owner@l.local', 'member@l.local', 'billing@l.local',
    'other@l.local']) e;
  perform tests.create_user('siteadmin@l.local', '{"role": "admin"}');
end $$;
select tests.become('owner@l.local');
select tests.put('team', (public.create_team('Licensed', 'licensed-test')).id::text);
select tests.become('postgres');
insert into public.account_members (account_id, user_id, role)
values (tests.team(), tests.uid('member@l.local'), 'member'), (tests.team(), tests.uid('billing@l.local'), 'billing');

insert into public.license_products (id, name, duration_days, floating, max_machines, heartbeat_minutes, grace_days,
  entitlements, max_major_version, plan_ids, price_cents)
values ('lt-app', 'App', 365, true, 3, null, 14, '{pro,ai}', 2, '{plus}', 9900),
  ('lt-beat', 'Beat', null, true, 2, 10, 0, '{}', null, '{}', 500),
  ('lt-node', 'Node', 30, false, 1, null, 0, '{}', null, '{}', 500);

-- Licenses: the team's and the owner's own, issued by the service role (as the function's POST /licenses).
create function tests.issue(p_account uuid, p_product text) returns text language plpgsql as $$
declare
  v_key text;
begin
  perform tests.become('service_role');
  select i.key into v_key from public.admin_issue_license(p_account, p_product) i;
  perform tests.become('postgres');
  return v_key;
end $$;
create function tests.code(p_key text, p_fingerprint text default null, p_product text default null,
  p_version text default null) returns text language sql as $$
  select (v).code || case when (v).valid then '' else ' (invalid)' end
  from (select public.service_role_validate_license(p_key, p_fingerprint, p_product, p_version) as v) x
$$;
create function tests.license(p_key text) returns uuid language sql stable security definer as $$
  select id from public.licenses where key_hash = saasbase.license_key_hash(saasbase.license_key_canonical(p_key))
$$;
grant execute on all functions in schema tests to anon, authenticated, service_role;

select tests.put('team_key', tests.issue(tests.team(), 'lt-app'));
select tests.put('own_key', tests.issue(tests.uid('owner@l.local'), 'lt-app'));
select public.service_role_activate_machine(tests.got('team_key'), 'fp-1', 'Laptop', 'linux');

-- Keys
select matches(tests.got('team_key'), '^[0-9A-HJKMNP-TV-Z]{5}(-[0-9A-HJKMNP-TV-Z]{5}){3}$',
  'a key is four groups of five Crockford base32 characters');
select is((select key_prefix from public.licenses where id = tests.license(tests.got('team_key'))),
  left(tests.got('team_key'), 5), 'its first group is the searchable prefix');
select is((select count(*) from public.licenses where key_hash like '%' || replace(tests.got('team_key'), '-', '') || '%'
  or key_prefix = tests.got('team_key')), 0::bigint, 'the key itself is stored nowhere, only its SHA-256');
select is(saasbase.license_key_canonical(lower(replace(replace(tests.got('team_key'), '-', ' '), '0', 'O'))),
  replace(tests.got('team_key'), '-', ''), 'case, spaces and O for 0 do not matter');
select is((select count(*) from generate_series(1, 20) i
    where saasbase.license_key_canonical(overlay(tests.got('team_key') placing
      case when substr(tests.got('team_key'), i + (i - 1) / 5, 1) = '7' then '8' else '7' end
      from i + (i - 1) / 5 for 1)) is not null), 0::bigint,
  'any one character changed fails the check character');
select is((select count(distinct k) from (select saasbase.new_license_key() k from generate_series(1, 200)) x), 200::bigint,
  '200 new keys, 200 different');
select is((select count(*) from (select saasbase.new_license_key() k from generate_series(1, 200)) x
    where saasbase.license_key_canonical(k) is null), 0::bigint, 'every new key passes its own check');

-- The RLS matrix
select is(tests.outcome('anon', $$ select 1 from public.license_products $$), 'rows', 'anon: reads licensed products');
select is(tests.outcome('anon', $$ select 1 from public.licenses $$), 'denied', 'anon: no licenses');
select is(tests.outcome('anon', $$ select 1 from public.license_machines $$), 'denied', 'anon: no machines');
select tests.become('owner@l.local');
select is((select count(*) from public.licenses), 2::bigint, 'owner: the team''s license and their own');
select is((select count(*) from public.license_machines), 1::bigint, 'owner: the team''s machine');
select tests.become('member@l.local');
select is((select count(*) from public.licenses), 1::bigint, 'team member: the team''s license (they run it)');
select is((select count(*) from public.license_machines), 1::bigint, 'team member: its machine');
select tests.become('other@l.local');
select is((select count(*) from public.licenses), 0::bigint, 'other user: none');
select is((select count(*) from public.license_machines), 0::bigint, 'other user: no machines');
select tests.become('siteadmin@l.local');
select ok((select count(*) from public.licenses) >= 2, 'site admin: all licenses');
select ok((select count(*) from public.license_machines) >= 1, 'site admin: all machines');
select tests.become('service_role');
select ok((select count(*) from public.licenses) >= 2, 'service role: all licenses');
select tests.become('postgres');
select is(tests.outcome('owner@l.local', $$ select key_hash from public.licenses $$), 'denied',
  'the key''s hash is readable by no API role');
select is(tests.outcome('owner@l.local', $$ update public.licenses set status = 'active' $$), 'denied',
  'owner: no direct writes to licenses');
select is(tests.outcome('owner@l.local', $$ delete from public.license_machines $$), 'denied',
  'owner: no direct writes to machines');
select is(tests.outcome('owner@l.local', $$ insert into public.license_products (id, name) values ('x', 'x') $$), 'denied',
  'owner: no writes to the catalog');
select is(tests.attempt('owner@l.local', $$ select public.service_role_validate_license('x') $$), '42501',
  'the validation is the service role''s alone');

-- Validation codes
select is(tests.code(tests.got('team_key')), 'VALID', 'VALID: the license alone');
select is(tests.code(tests.got('team_key'), 'fp-1', 'lt-app', '2.4.0'), 'VALID', 'VALID: machine, product and version');
select results_eq($$ select entitlements, machines_used, machines_max, product_id from
    public.service_role_validate_license(tests.got('team_key')) $$,
  $$ values ('{pro,ai}'::text[], 1, 3, 'lt-app') $$, 'it answers the entitlements, the seats and the product');
select is(tests.code('ABCDE-FGHJK-MNPQR-STVWX'), 'NOT_FOUND (invalid)', 'NOT_FOUND: a key nobody has');
select is(tests.code('hello'), 'NOT_FOUND (invalid)', 'NOT_FOUND: text that is no key');
select results_eq($$ select license_id, account_id, product_id, expires_at, entitlements from
    public.service_role_validate_license('hello') $$,
  $$ values (null::uuid, null::uuid, null::text, null::timestamptz, '{}'::text[]) $$, 'NOT_FOUND says nothing more');
select is(tests.code(tests.got('team_key'), null, 'lt-beat'), 'PRODUCT_MISMATCH (invalid)', 'PRODUCT_MISMATCH');
select is(tests.code(tests.got('team_key'), null, null, '3.0.0'), 'VERSION_NOT_ALLOWED (invalid)',
  'VERSION_NOT_ALLOWED: above the policy''s major');
select is(tests.code(tests.got('team_key'), null, null, 'nonsense'), 'VERSION_NOT_ALLOWED (invalid)',
  'VERSION_NOT_ALLOWED: not a version');
select is(tests.code(tests.got('own_key'), 'fp-1'), 'NO_MACHINE (invalid)', 'NO_MACHINE: nothing activated');
select is(tests.code(tests.got('team_key'), 'fp-2'), 'FINGERPRINT_MISMATCH (invalid)',
  'FINGERPRINT_MISMATCH: not one of its machines');
set local saasbase.now = '2099-01-01';
select is(tests.code(tests.got('team_key')), 'EXPIRED (invalid)', 'EXPIRED: past the grace period');
reset saasbase.now;
select set_config('saasbase.now', ((select expires_at from public.licenses where id = tests.license(tests.got('team_key')))
  + interval '13 days')::text, true);
select is(tests.code(tests.got('team_key'), 'fp-1'), 'EXPIRED', 'EXPIRED but valid within the grace period');
select is(tests.code(tests.got('team_key'), 'fp-2'), 'FINGERPRINT_MISMATCH (invalid)',
  'in the grace period the machine is still checked');
reset saasbase.now;
update public.licenses set max_machines = 0 where id = tests.license(tests.got('team_key'));
select is(tests.code(tests.got('team_key'), 'fp-1'), 'TOO_MANY_MACHINES (invalid)',
  'TOO_MANY_MACHINES: more machines than the policy now allows');
update public.licenses set max_machines = 3 where id = tests.license(tests.got('team_key'));

-- Who manages a license
select is(tests.attempt('member@l.local', format($$ select public.suspend_license(%L) $$, tests.license(tests.got('team_key')))),
  'PT404 license_not_found', 'a plain team member cannot suspend the team''s license');
select is(tests.attempt('other@l.local', format($$ select public.revoke_license(%L) $$, tests.license(tests.got('team_key')))),
  'PT404 license_not_found', 'another user cannot revoke it (nor learn it exists)');
select is(tests.attempt('billing@l.local', format($$ select public.suspend_license(%L) $$, tests.license(tests.got('team_key')))),
  'ok', 'the team''s billing manager suspends it');
select tests.become('billing@l.local');
select public.suspend_license(tests.license(tests.got('team_key')));
select tests.become('postgres');
select is(tests.code(tests.got('team_key')), 'SUSPENDED (invalid)', 'SUSPENDED');
select is((select count(*) from public.audit_log where action = 'license.suspend'
  and target_id = tests.license(tests.got('team_key'))::text), 1::bigint, 'the suspension is audited');
select is(tests.attempt('owner@l.local', format($$ select public.reinstate_license(%L) $$, tests.license(tests.got('team_key')))),
  'ok', 'the owner reinstates a manager''s suspension');
select tests.become('owner@l.local');
select public.reinstate_license(tests.license(tests.got('team_key')));
select tests.become('siteadmin@l.local');
select public.suspend_license(tests.license(tests.got('team_key')));
select tests.become('postgres');
select is(tests.attempt('owner@l.local', format($$ select public.reinstate_license(%L) $$, tests.license(tests.got('team_key')))),
  'PT403 admin_only', 'an admin''s suspension is lifted by an admin only');
select is(tests.attempt('owner@l.local', format($$ select public.renew_license(%L) $$, tests.license(tests.got('team_key')))),
  'PT403 admin_only', 'an owner does not renew for free');
select tests.become('siteadmin@l.local');
select public.reinstate_license(tests.license(tests.got('team_key')));
select tests.become('postgres');
select is(tests.code(tests.got('team_key')), 'VALID', 'reinstated by the admin');
select is(tests.attempt('other@l.local', format($$ select public.license_id_for_key(%L) is null or true $$, tests.got('team_key'))),
  'ok', 'license_id_for_key runs for anyone...');
select tests.become('other@l.local');
select is(public.license_id_for_key(tests.got('team_key')), null, '...and names no license of another account');
select tests.become('owner@l.local');
select is(public.license_id_for_key(tests.got('team_key')), tests.license(tests.got('team_key')), 'but its owner''s');
select tests.become('postgres');
select is(tests.attempt('owner@l.local', format($$ select public.revoke_license(%L) $$, tests.license(tests.got('own_key')))),
  'ok', 'a personal account''s owner revokes their license');
select tests.become('owner@l.local');
select public.revoke_license(tests.license(tests.got('own_key')));
select tests.become('postgres');
select is(tests.code(tests.got('own_key')), 'REVOKED (invalid)', 'REVOKED');
select is(tests.attempt('siteadmin@l.local', format($$ select public.reinstate_license(%L) $$, tests.license(tests.got('own_key')))),
  'PT409 license_revoked', 'a revoked license stays revoked');

-- Machines: the limit, node-locked, heartbeats
select tests.put('node_key', tests.issue(tests.uid('owner@l.local'), 'lt-node'));
select is(tests.attempt('service_role', format($$ select public.service_role_activate_machine(%L, 'n1') $$, tests.got('node_key'))),
  'ok', 'a node-locked license takes its one machine');
select public.service_role_activate_machine(tests.got('node_key'), 'n1');
select is(tests.attempt('service_role', format($$ select public.service_role_activate_machine(%L, 'n2') $$, tests.got('node_key'))),
  'PT409 machine_limit_reached', 'and no second');
select is((select activated from public.service_role_activate_machine(tests.got('node_key'), 'n1')), false,
  'activating its machine again is no new activation');
select tests.put('beat_key', tests.issue(tests.uid('owner@l.local'), 'lt-beat'));
select public.service_role_activate_machine(tests.got('beat_key'), 'b1');
select public.service_role_activate_machine(tests.got('beat_key'), 'b2');
select is(tests.attempt('service_role', format($$ select public.service_role_activate_machine(%L, 'b3') $$, tests.got('beat_key'))),
  'PT409 machine_limit_reached', 'a floating license''s seats are full');
set local saasbase.now = '2099-01-01';
select is(tests.code(tests.got('beat_key'), 'b1'), 'NO_MACHINE (invalid)', 'machines silent past the heartbeat hold no seat');
select is(tests.attempt('service_role', format($$ select public.service_role_machine_heartbeat(%L, 'b1') $$, tests.got('beat_key'))),
  'PT404 machine_not_found', 'a dead machine''s heartbeat is refused: activate again');
select is((select activated from public.service_role_activate_machine(tests.got('beat_key'), 'b3')), true,
  'a new machine takes a dead one''s seat');
select is((select count(*) from public.license_machines where license_id = tests.license(tests.got('beat_key'))), 1::bigint,
  'the dead machines are gone');
reset saasbase.now;

-- Issued by a subscription's invoices: any order, once per invoice, a replayed renewal extends once
insert into public.subscriptions (id, account_id, status, plan_id, stripe_event_at)
values ('sub_lt_1', tests.team(), 'active', 'plus', now());
select public.service_role_record_invoice('in_lt_1', tests.team(), 'paid', 'sub_lt_1', 'subscription_create', 1900, 1900, 'usd', null);
select is((select count(*) from public.licenses where subscription_id = 'sub_lt_1'), 1::bigint,
  'the first paid invoice issues the license');
select tests.put('sub_expiry', (select expires_at::text from public.licenses where subscription_id = 'sub_lt_1'));
select public.service_role_record_invoice('in_lt_1', tests.team(), 'paid', 'sub_lt_1', 'subscription_create', 1900, 1900, 'usd', null);
-- A year on, as the license expires, the renewal is paid (and delivered twice).
select set_config('saasbase.now', tests.got('sub_expiry'), true);
select public.service_role_record_invoice('in_lt_2', tests.team(), 'paid', 'sub_lt_1', 'subscription_cycle', 1900, 1900, 'usd', null);
select public.service_role_record_invoice('in_lt_2', tests.team(), 'paid', 'sub_lt_1', 'subscription_cycle', 1900, 1900, 'usd', null);
reset saasbase.now;
select is((select expires_at - tests.got('sub_expiry')::timestamptz from public.licenses where subscription_id = 'sub_lt_1'),
  interval '365 days', 'a renewal invoice delivered twice extends the license once, by the policy''s duration');
-- A plan billed monthly under a yearly policy: each month's invoice keeps a year past it, not a year more each.
select public.service_role_record_invoice('in_lt_2b', tests.team(), 'paid', 'sub_lt_1', 'subscription_cycle', 1900, 1900, 'usd', null);
select is((select expires_at - tests.got('sub_expiry')::timestamptz from public.licenses where subscription_id = 'sub_lt_1'),
  interval '365 days', 'an invoice paid well before the expiry does not stack another year');
select is((select count(*) from public.licenses where subscription_id = 'sub_lt_1'), 1::bigint, 'still one license');
select is((select count(*) from public.audit_log where action = 'license.renew'
  and details ->> 'invoice_id' = 'in_lt_2'), 1::bigint, 'the replayed renewal audited once');
-- A renewal refunded in full: the license is suspended as by an admin.
select public.service_role_return_payment('refund', 're_lt_2', 1900, null, 'in_lt_2');
select results_eq($$ select status, suspended_by_admin from public.licenses where subscription_id = 'sub_lt_1' $$,
  $$ values ('suspended', true) $$, 'a renewal refunded in full suspends the license (an admin lifts it)');
update public.licenses set status = 'active', suspended_at = null, suspended_by_admin = false where subscription_id = 'sub_lt_1';
-- An invoice before its subscription: applied when the subscription arrives.
select public.service_role_record_invoice('in_lt_3', tests.uid('billing@l.local'), 'paid', 'sub_lt_2', 'subscription_create', 1900, 1900, 'usd', null);
select is((select count(*) from public.licenses where subscription_id = 'sub_lt_2'), 0::bigint,
  'an invoice of an unknown subscription waits');
insert into public.subscriptions (id, account_id, status, plan_id, stripe_event_at)
values ('sub_lt_2', tests.uid('billing@l.local'), 'active', 'plus', now());
select is((select count(*) from public.licenses where subscription_id = 'sub_lt_2'), 1::bigint,
  'its subscription arriving issues the license');
-- The key is claimed once, by the account's billing manager.
select tests.put('sub_license', (select id::text from public.licenses where subscription_id = 'sub_lt_1'));
select is(tests.attempt('member@l.local', format($$ select public.claim_license_key(%L) $$, tests.got('sub_license'))),
  'PT404 license_not_found', 'a plain member cannot claim the team''s key');
select tests.become('owner@l.local');
select tests.put('claimed', (select key from public.claim_license_key(tests.got('sub_license')::uuid)));
select tests.become('postgres');
select is(tests.code(tests.got('claimed')), 'VALID', 'the claimed key is the license''s');
select is(tests.attempt('owner@l.local', format($$ select public.claim_license_key(%L) $$, tests.got('sub_license'))),
  'PT410 license_key_claimed', 'shown once');
select tests.become('owner@l.local');
select tests.put('reset', (select key from public.reset_license_key(tests.got('sub_license')::uuid)));
select tests.become('postgres');
select is(tests.code(tests.got('claimed')) || ' / ' || tests.code(tests.got('reset')), 'NOT_FOUND (invalid) / VALID',
  'a reset key replaces the old one');

-- A one-off purchase: its license once per checkout; a full refund revokes it
select public.service_role_record_license_purchase(tests.uid('other@l.local'), 'cs_lt_1', 'pi_lt_1', 'lt-app', 9900, 'usd');
select public.service_role_record_license_purchase(tests.uid('other@l.local'), 'cs_lt_1', 'pi_lt_1', 'lt-app', 9900, 'usd');
select results_eq($$ select p.credits, p.license_product_id, count(l.id) from public.purchases p
    left join public.licenses l on l.purchase_id = p.id where p.checkout_session_id = 'cs_lt_1' group by 1, 2 $$,
  $$ values (0, 'lt-app', 1::bigint) $$, 'a license purchase: no credits, its product, one license however often recorded');
select public.service_role_return_payment('refund', 'ch_lt_1', 9900, 'pi_lt_1');
select is((select l.status from public.licenses l join public.purchases p on p.id = l.purchase_id
  where p.checkout_session_id = 'cs_lt_1'), 'revoked', 'refunded in full: the license is revoked');
select is(tests.attempt('service_role', $$ select public.service_role_record_license_purchase(null, 'cs_x', null, 'lt-app', 1, 'usd') $$),
  'PT409 customer_not_linked', 'a purchase of no known account waits');
select matches(tests.attempt('postgres', $$ insert into public.purchases (account_id, checkout_session_id, credits, amount_cents, currency)
    values (tests.uid('other@l.local'), 'cs_zero', 0, 0, 'usd') $$), '^23514',
  'a purchase of no credits must be a license''s');

-- Rate limits: per client IP before the lookup (unknown keys count), per license
update saasbase.licensing_settings set ip_max = 2, key_max = 3;
select is(tests.attempt('service_role', $$
    select public.service_role_check_license('AAAAA-AAAAA-AAAAA-AAAAA', '203.0.113.9');
    select public.service_role_check_license('BBBBB-AAAAA-AAAAA-AAAAA', '203.0.113.9');
    select public.service_role_check_license('CCCCC-AAAAA-AAAAA-AAAAA', '203.0.113.9') $$),
  'PT429 rate_limited', 'the third guess from one address is refused');
select is(tests.attempt('service_role', format($$
    select public.service_role_check_license(%1$L, '203.0.113.10');
    select public.service_role_check_license(%1$L, '203.0.113.11');
    select public.service_role_check_license(%1$L, '203.0.113.12');
    select public.service_role_check_license(%1$L, '203.0.113.13') $$, tests.got('team_key'))),
  'PT429 rate_limited', 'the fourth request for one license is refused, whatever the address');

-- The config sync
select public.service_role_sync_licensing('{"license_products": [{"id": "lt-app", "name": "App 2", "floating": true,
  "max_machines": 5, "duration_days": 30, "plan_ids": ["plus"]}], "licensing_settings": {"ip_max": 9, "ip_window_seconds": 60,
  "key_max": null, "key_window_seconds": null}}');
select results_eq($$ select id, name, max_machines, active from public.license_products where id like 'lt-%' order by id $$,
  $$ values ('lt-app', 'App 2', 5, true), ('lt-beat', 'Beat', 2, false), ('lt-node', 'Node', 1, false) $$,
  'the sync writes the config''s products and deactivates the others');
select is((select key_max from saasbase.licensing_settings), null, 'and the limits (null: none)');
select throws_ok($$ select public.service_role_sync_licensing('{"license_products": [{"id": "lt-x", "name": "X",
  "plan_ids": ["no-such-plan"]}]}') $$, '22023', null, 'a product on an unknown plan refuses the sync');

select * from finish();
rollback;
