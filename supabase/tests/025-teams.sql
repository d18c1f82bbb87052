-- Teams: the RLS matrix of accounts, memberships, invitations and roles (team owner, admin, member, billing,
-- non-member, removed member, anon, site admin, service role), then the team API's rules: invitations (by
-- email and by link; reuse, guesses, the wrong address, expiry, revocation, the seat limit, a removed
-- member's token), and member management (leaving, removal, roles, ownership, caps, renaming, deletion; a team
-- always keeps an owner). Each refusal is checked for its code and for changing nothing.
begin;
\ir _helpers.psql
select plan(280);

create function tests.members() returns text language sql stable security definer as $$
  select string_agg(split_part(u.email, '@', 1) || ':' || m.role, ',' order by u.email)
  from public.account_members m join auth.users u on u.id = m.user_id where m.account_id = tests.team()
$$;
grant execute on all functions in schema tests to anon, authenticated, service_role;

do $$
begin
  perform tests.create_user(e) from unnest(array['owner@t.local', 'admin@t.local', 'member@t.local', 'billing@t.local',
    'outsider@t.local', 'removed@t.local', 'invitee@t.local', 'other@t.local', 'late@t.local', 'second@t.local']) e;
  perform tests.create_user('siteadmin@t.local', '{"role": "admin"}');
  -- An invitee whose address is not confirmed yet.
  update auth.users set email_confirmed_at = null where email = 'late@t.local';
  -- A plan of the test's own, with room for 7 members.
  insert into public.plans (id, name, price_monthly_cents, max_seats) values ('t_team', 'Team test', 0, 7);
  insert into public.team_roles (role, name, rights, sort_order) values ('t_spare', 'Spare', '{}', 99);
end $$;

select tests.become('owner@t.local');
select tests.put('team', (public.create_team('Acme', 'acme-test')).id::text);
select tests.become('postgres');
update public.accounts set plan_id = 't_team' where id = tests.team();
insert into public.account_members (account_id, user_id, role)
select tests.team(), tests.uid(e || '@t.local'), r
from (values ('admin', 'admin'), ('member', 'member'), ('billing', 'billing'), ('removed', 'member')) v(e, r);
select tests.become('owner@t.local');
select public.remove_member(tests.team(), tests.uid('removed@t.local'));
select tests.put('open_invite', (public.invite_member(tests.team(), 'member', 'second@t.local')).invitation_id::text);
select tests.become('postgres');

-- ---------------------------------------------------------------------------------------------------------
-- The RLS matrix: "rows" = allowed and saw/changed the team's row, "none" = filtered by RLS, "denied" = no
-- privilege. Clients write none of these tables (the API does); the service role writes them all.
with who(who, kind) as (values
  ('owner@t.local', 'member'), ('admin@t.local', 'inviter'), ('member@t.local', 'member'), ('billing@t.local', 'member'),
  ('outsider@t.local', 'none'), ('removed@t.local', 'none'), ('anon', 'anon'), ('siteadmin@t.local', 'admin'),
  ('service_role', 'service')),
tables(tbl, filter, insert_stmt, update_set, delete_filter, reads) as (values
  ('accounts', format('id = %L', tests.team()),
    $$insert into public.accounts (kind, name, slug) values ('team', 'Other', 'other-test')$$, 'name = name',
    format('id = %L', tests.team()), 'members'),
  ('account_members', format('account_id = %L', tests.team()),
    format($$insert into public.account_members (account_id, user_id, role) values (%L, %L, 'member')$$,
      tests.team(), tests.uid('outsider@t.local')), 'role = role',
    format('account_id = %L and user_id = %L', tests.team(), tests.uid('member@t.local')), 'members'),
  ('account_invitations', format('account_id = %L', tests.team()),
    format($$insert into public.account_invitations (account_id, role, token_hash, token_prefix, expires_at, max_uses)
      values (%L, 'member', sha256('x'), 'x', now() + interval '1 day', 1)$$, tests.team()), 'role = role',
    format('account_id = %L', tests.team()), 'inviters'),
  ('team_roles', $$role = 'member'$$, $$insert into public.team_roles (role, name) values ('t_new', 'New')$$,
    'name = name', $$role = 't_spare'$$, 'everyone')
),
cells(tbl, who, op, stmt, expected) as (
  select tbl, who, 'select', format('select * from public.%I where %s', tbl, filter),
    case
      when kind = 'service' then 'rows'
      when reads = 'everyone' then 'rows'
      when kind = 'anon' then 'denied'
      when kind = 'admin' then 'rows'
      when reads = 'members' and kind in ('member', 'inviter') then 'rows'
      when reads = 'inviters' and (kind = 'inviter' or who = 'owner@t.local') then 'rows'
      else 'none'
    end
  from tables, who
  union all
  select tbl, who, 'insert', insert_stmt, case when kind = 'service' then 'rows' else 'denied' end from tables, who
  union all
  select tbl, who, 'update', format('update public.%I set %s where %s', tbl, update_set, filter),
    case when kind = 'service' then 'rows' else 'denied' end from tables, who
  union all
  select tbl, who, 'delete', format('delete from public.%I where %s', tbl, delete_filter),
    case when kind = 'service' then 'rows' else 'denied' end from tables, who
)
select is(tests.outcome(who, stmt), expected, format('%s %s %s', who, op, tbl)) from cells;

-- The membership helpers, for the removed member and a current one.
select tests.become('removed@t.local');
select ok(not saasbase.has_role_on_account(tests.team()) and tests.team() not in (select saasbase.my_accounts()),
  'a removed member is no member any more');
select tests.become('billing@t.local');
select results_eq($$ select saasbase.has_role_on_account(tests.team(), 'billing'),
    tests.team() in (select saasbase.accounts_with_right('manage_billing')),
    tests.team() in (select saasbase.accounts_with_right('spend')) $$,
  $$ values (true, true, false) $$, 'billing: the role and its rights, none more');
select tests.become('postgres');

-- ---------------------------------------------------------------------------------------------------------
-- Inviting: who may, as what, whom.
select is(tests.attempt(who, format('select public.invite_member(%L, %L, %L)', tests.team(), r, e)), expected, d)
from (values
  ('member@t.local', 'member', 'x@t.local', 'PT403 account_forbidden', 'a member without the invite right cannot invite'),
  ('billing@t.local', 'member', null, 'PT403 account_forbidden', 'nor can billing'),
  ('admin@t.local', 'owner', 'x@t.local', 'PT403 account_forbidden', 'an admin cannot invite an owner'),
  ('outsider@t.local', 'member', 'x@t.local', 'PT404 account_not_found', 'a non-member naming the team: 404'),
  ('removed@t.local', 'member', null, 'PT404 account_not_found', 'a removed member: 404'),
  ('anon', 'member', null, '42501', 'anon may not call it'),
  ('admin@t.local', 'superhero', 'x@t.local', 'PT422 invalid_role', 'an unknown role'),
  ('admin@t.local', 'member', 'not-an-address', 'PT422 invalid_email', 'an address out of shape'),
  ('admin@t.local', 'member', 'MEMBER@t.local', 'PT409 already_member', 'a member''s address (any case)'),
  ('owner@t.local', 'owner', 'x@t.local', 'ok', 'an owner may invite an owner'),
  ('admin@t.local', 'admin', null, 'ok', 'an admin invites by link')
) v(who, r, e, expected, d);
select is(tests.attempt('owner@t.local', format('select public.invite_member(%L, ''member'', ''x@t.local'')',
    tests.uid('owner@t.local'))), 'PT422 personal_account', 'no invitations to a personal account');
select is(tests.attempt('owner@t.local', 'select public.invite_member(null, ''member'', ''x@t.local'')'),
  'PT422 personal_account', 'nor to the default (personal) account');
select is((select count(*)::int from public.account_invitations where account_id = tests.team()), 1,
  'the refused and undone invitations left nothing (one: the open one)');

-- An email invitation: the token once, stored only as its hash; a mail queued once per invitation.
select tests.become('admin@t.local');
select tests.put('inv', to_jsonb(public.invite_member(tests.team(), 'member', ' Invitee@T.local '))::text);
select tests.become('postgres');
select is(tests.got('inv')::jsonb ->> 'email', 'invitee@t.local', 'the address is kept lower-case and trimmed');
select ok(tests.got('inv')::jsonb ->> 'token' ~ '^sbi_[0-9a-f]{64}$', 'the token is 64 random hex digits');
select results_eq(format($$ select token_hash = sha256(convert_to(%L, 'UTF8')), token_prefix, max_uses, uses,
      expires_at = now() + interval '7 days', invited_by = tests.uid('admin@t.local')
    from public.account_invitations where id = %L $$, tests.got('inv')::jsonb ->> 'token', tests.got('inv')::jsonb ->> 'invitation_id'),
  format($$ values (true, %L, 1, 0, true, true) $$, left(tests.got('inv')::jsonb ->> 'token', 12)),
  'stored: the token''s hash and prefix, single use, the config''s 7 days, the inviter');
select is_empty(format($$ select from public.account_invitations i where to_jsonb(i)::text like '%%' || %L || '%%' $$,
  substr(tests.got('inv')::jsonb ->> 'token', 13)), 'the token itself is nowhere in the table');
select results_eq(format($$ select template, user_id, payload ->> 'team_name', payload ->> 'accept_url' from public.email_outbox
    where dedupe_key = 'team_invitation:' || %L $$, tests.got('inv')::jsonb ->> 'invitation_id'),
  format($$ values ('team_invitation'::text, %L::uuid, 'Acme'::text, %L::text) $$, tests.uid('invitee@t.local'),
    (select product_url from saasbase.settings) || '/invitations/accept?token=' || (tests.got('inv')::jsonb ->> 'token')),
  'the invitation mail is queued for the invitee, with the link');
select ok(exists (select from public.audit_log where action = 'team.invite' and target_id = tests.team()::text
  and details ->> 'invitation_id' = tests.got('inv')::jsonb ->> 'invitation_id'), 'the invitation is audited');

-- Accepting: only the addressee, confirmed; a guessed or reused token gets nothing.
select is(tests.attempt(who, format('select public.accept_invitation(%L)', tok)), expected, d)
from (values
  ('other@t.local', tests.got('inv')::jsonb ->> 'token', 'PT403 invitation_forbidden', 'another address cannot accept an email invitation'),
  ('invitee@t.local', 'sbi_' || repeat('0', 64), 'PT404 invitation_not_found', 'a guessed token: 404'),
  ('invitee@t.local', left(tests.got('inv')::jsonb ->> 'token', 12), 'PT404 invitation_not_found', 'the visible prefix alone: 404'),
  ('invitee@t.local', '', 'PT404 invitation_not_found', 'an empty token: 404'),
  ('anon', tests.got('inv')::jsonb ->> 'token', '42501', 'anon may not call it')
) v(who, tok, expected, d);
select is(tests.members(), 'admin:admin,billing:billing,member:member,owner:owner', 'nobody joined');
select tests.become('invitee@t.local');
select results_eq(format('select account_id, user_id, role from public.accept_invitation(%L)', tests.got('inv')::jsonb ->> 'token'),
  format($$ values (%L::uuid, %L::uuid, 'member'::text) $$, tests.team(), tests.uid('invitee@t.local')),
  'the addressee joins in the invitation''s role');
select tests.become('postgres');
select results_eq(format('select uses, accepted_by from public.account_invitations where id = %L', tests.got('inv')::jsonb ->> 'invitation_id'),
  format('values (1, %L::uuid)', tests.uid('invitee@t.local')), 'the invitation is used up');
select is(tests.attempt('invitee@t.local', format('select public.accept_invitation(%L)', tests.got('inv')::jsonb ->> 'token')),
  'PT410 invitation_closed', 'the same token again: closed');
select is(tests.attempt('other@t.local', format('select public.decline_invitation(%L)', tests.got('inv')::jsonb ->> 'token')),
  'PT410 invitation_closed', 'a used invitation cannot be declined');
select ok(exists (select from public.audit_log where action = 'team.join' and actor_id = tests.uid('invitee@t.local')),
  'joining is audited');

-- Links: single use by default; whoever holds it joins.
select tests.become('admin@t.local');
select tests.put('link', to_jsonb(public.invite_member(tests.team(), 'billing'))::text);
select tests.become('postgres');
select is(tests.got('link')::jsonb ->> 'max_uses', '1', 'a link is single-use by default');
select is(tests.attempt('invitee@t.local', format('select public.accept_invitation(%L)', tests.got('link')::jsonb ->> 'token')),
  'PT409 already_member', 'a member cannot join again');
select tests.become('other@t.local');
select is((public.accept_invitation(tests.got('link')::jsonb ->> 'token')).role, 'billing', 'the link''s holder joins');
select tests.become('postgres');
select is(tests.attempt('outsider@t.local', format('select public.accept_invitation(%L)', tests.got('link')::jsonb ->> 'token')),
  'PT410 invitation_closed', 'a second person with the same link: closed');
select is(tests.members(), 'admin:admin,billing:billing,invitee:member,member:member,other:billing,owner:owner',
  'six members now');

-- The seat limit (7 on this team's plan): the invitation and the acceptance past it are refused.
select tests.become('owner@t.local');
select tests.put('seat7', (public.invite_member(tests.team(), 'member'))::text);
select tests.put('seat8', (public.invite_member(tests.team(), 'member'))::text);
select tests.become('outsider@t.local');
select lives_ok(format('select public.accept_invitation(%L)', (tests.got('seat7')::public.team_invitation).token), 'the 7th member joins');
select tests.become('postgres');
select is(tests.attempt('late@t.local', format('select public.accept_invitation(%L)', (tests.got('seat8')::public.team_invitation).token)),
  'PT409 seat_limit_reached', 'an 8th is refused at acceptance');
select is(tests.attempt('owner@t.local', format('select public.invite_member(%L, ''member'')', tests.team())),
  'PT409 seat_limit_reached', 'and at invitation');
update public.accounts set plan_id = null where id = tests.team();
select is(tests.attempt('owner@t.local', format('select public.invite_member(%L, ''member'')', tests.team())),
  case when (select max_seats from public.plans where is_default) <= 7 then 'PT409 seat_limit_reached' else 'ok' end,
  'a team without a plan has the default plan''s limit');
update public.plans set max_seats = null where id = 't_team';
update public.accounts set plan_id = 't_team' where id = tests.team();
select is(tests.attempt('owner@t.local', format('select public.invite_member(%L, ''member'')', tests.team())), 'ok',
  'a plan without a limit: no limit');

-- An unconfirmed address, expiry, decline, revocation.
select tests.become('owner@t.local');
select tests.put('late', (public.invite_member(tests.team(), 'member', 'late@t.local'))::text);
select tests.become('postgres');
select is(tests.attempt('late@t.local', format('select public.accept_invitation(%L)', (tests.got('late')::public.team_invitation).token)),
  'PT403 invitation_forbidden', 'an unconfirmed address cannot accept');
update auth.users set email_confirmed_at = now() where email = 'late@t.local';
update public.account_invitations set expires_at = now() - interval '1 second'
where id = (tests.got('late')::public.team_invitation).invitation_id;
select is(tests.attempt('late@t.local', format('select public.accept_invitation(%L)', (tests.got('late')::public.team_invitation).token)),
  'PT410 invitation_expired', 'past its expiry: expired');
select tests.become('owner@t.local');
select tests.put('late2', (public.invite_member(tests.team(), 'member', 'late@t.local'))::text);
select tests.become('postgres');
select is(tests.attempt('other@t.local', format('select public.decline_invitation(%L)', (tests.got('late2')::public.team_invitation).token)),
  'PT403 invitation_forbidden', 'only the addressee declines');
select tests.become('late@t.local');
select isnt((public.decline_invitation((tests.got('late2')::public.team_invitation).token)).declined_at, null, 'the addressee declines');
select tests.become('postgres');
select is(tests.attempt('late@t.local', format('select public.accept_invitation(%L)', (tests.got('late2')::public.team_invitation).token)),
  'PT410 invitation_closed', 'a declined invitation cannot be accepted');
select tests.become('owner@t.local');
select tests.put('late3', (public.invite_member(tests.team(), 'member', 'late@t.local'))::text);
select tests.become('postgres');
select is(tests.attempt(who, format('select public.revoke_invitation(%L)', (tests.got('late3')::public.team_invitation).invitation_id)), expected, d)
from (values
  ('member@t.local', 'PT403 account_forbidden', 'a member cannot revoke'),
  ('siteadmin@t.local', 'PT404 invitation_not_found', 'a non-member (a site admin too) is told nothing'),
  ('admin@t.local', 'ok', 'an admin revokes')
) v(who, expected, d);
select tests.become('admin@t.local');
select isnt((public.revoke_invitation((tests.got('late3')::public.team_invitation).invitation_id)).revoked_at, null, 'revoked');
select tests.become('postgres');
select is(tests.attempt('late@t.local', format('select public.accept_invitation(%L)', (tests.got('late3')::public.team_invitation).token)),
  'PT410 invitation_closed', 'a revoked invitation cannot be accepted');
select is(tests.attempt('admin@t.local', format('select public.revoke_invitation(%L)', (tests.got('late3')::public.team_invitation).invitation_id)),
  'PT410 invitation_closed', 'nor revoked twice');
select is(tests.attempt('admin@t.local', format('select public.revoke_invitation(%L)', gen_random_uuid())),
  'PT404 invitation_not_found', 'an unknown invitation: 404');
select is((select count(*)::int from public.account_invitations where email = 'late@t.local' and revoked_at is null
    and declined_at is null and uses = 0), 0, 'a newer invitation to an address replaced the open one');

-- Reusable links, when the config allows them: many join by one link, up to the seat limit.
update saasbase.settings set reusable_link_invitations = true;
select tests.become('owner@t.local');
select tests.put('multi', (public.invite_member(tests.team(), 'member'))::text);
select is((tests.got('multi')::public.team_invitation).max_uses, null, 'a reusable link has no use limit');
select is((tests.got('multi')::public.team_invitation).email, null, 'and no address');
select tests.become('late@t.local');
select lives_ok(format('select public.accept_invitation(%L)', (tests.got('multi')::public.team_invitation).token), 'one joins by it');
select is((public.decline_invitation((tests.got('multi')::public.team_invitation).token)).uses, 1,
  'declining a reusable link closes nothing');
select tests.become('second@t.local');
select lives_ok(format('select public.accept_invitation(%L)', (tests.got('multi')::public.team_invitation).token), 'and another');
select tests.become('postgres');
update saasbase.settings set reusable_link_invitations = false;

-- Invitations a day: past the config's number for the team (set to what it has made so far), refused.
update saasbase.settings set invitations_per_day = (select count(*) from public.account_invitations where account_id = tests.team());
select is(tests.attempt('owner@t.local', format('select public.invite_member(%L, ''member'', ''more@t.local'')', tests.team())),
  'PT429 rate_limited', 'past the invitations a team may make a day');
select is((select count(*)::int from public.email_outbox where payload ->> 'email' = 'more@t.local'), 0, 'and no mail goes out');
update saasbase.settings set invitations_per_day = 50;

-- A removed member: a token made before their removal no longer lets them in; one made after it does.
select tests.become('owner@t.local');
select tests.put('back', (public.invite_member(tests.team(), 'member'))::text);
select tests.become('postgres');
update saasbase.account_removals set removed_at = now() - interval '1 hour' where account_id = tests.team();
insert into public.account_invitations (account_id, role, token_hash, token_prefix, expires_at, max_uses, invited_by, created_at)
values (tests.team(), 'member', sha256(convert_to('sbi_before_removal', 'UTF8')), 'sbi_before_r', now() + interval '1 day', 1,
  tests.uid('owner@t.local'), now() - interval '2 hours');
select is(tests.attempt('removed@t.local', $$ select public.accept_invitation('sbi_before_removal') $$),
  'PT403 invitation_forbidden', 'a token made before their removal does not bring a removed member back');
select tests.become('removed@t.local');
select lives_ok(format('select public.accept_invitation(%L)', (tests.got('back')::public.team_invitation).token),
  'a new invitation does');
select tests.become('postgres');

-- ---------------------------------------------------------------------------------------------------------
-- Listing the members: every member sees who they are (user, role, name); emails only those who may manage
-- members or invite; a non-member or a removed one, nothing (404).
select tests.become('member@t.local');
select results_eq(format('select user_id, role, email is null from public.list_team_members(%L) order by user_id', tests.team()),
  format('select user_id, role, true from public.account_members where account_id = %L order by user_id', tests.team()),
  'a member lists the team''s members, without their emails');
select tests.become('postgres');
select tests.put('emails', (select string_agg(m.user_id || '=' || u.email, ',' order by m.user_id)
  from public.account_members m join auth.users u on u.id = m.user_id where m.account_id = tests.team()));
select tests.become('admin@t.local');
select is((select string_agg(user_id || '=' || email, ',' order by user_id) from public.list_team_members(tests.team())),
  tests.got('emails'), 'an admin (who may invite and manage members) sees their emails');
select is((select role from public.list_team_members(tests.team()) limit 1), 'owner', 'owners first');
select is((select count(*)::int from public.list_team_members()), 1, 'a personal account lists its user alone');
select tests.become('postgres');
select is(tests.attempt('siteadmin@t.local', format('select public.list_team_members(%L)', tests.team())),
  'PT404 account_not_found', 'a non-member lists nothing');

-- ---------------------------------------------------------------------------------------------------------
-- Members: who may remove, re-role, cap, rename and delete; the last owner stays. Every refusal changes nothing.
select tests.put('before', tests.members());
select tests.become('owner@t.local');
select tests.put('personal', tests.uid('owner@t.local')::text);
select tests.put('other_team', (public.create_team('Other', 'other-team')).id::text);
select tests.become('postgres');
select is(tests.attempt(who, stmt), expected, d)
from (values
  ('member@t.local', format('select public.remove_member(%L, %L)', tests.team(), tests.uid('billing@t.local')), 'PT403 account_forbidden', 'a member cannot remove'),
  ('admin@t.local', format('select public.remove_member(%L, %L)', tests.team(), tests.uid('owner@t.local')), 'PT403 account_forbidden', 'an admin cannot remove an owner'),
  ('siteadmin@t.local', format('select public.remove_member(%L, %L)', tests.team(), tests.uid('member@t.local')), 'PT404 account_not_found', 'a non-member (a site admin too): 404'),
  ('admin@t.local', format('select public.remove_member(%L, %L)', tests.team(), tests.uid('siteadmin@t.local')), 'PT404 member_not_found', 'removing a non-member: 404'),
  ('owner@t.local', format('select public.remove_member(%L, %L)', tests.team(), tests.uid('owner@t.local')), 'PT409 last_owner', 'the last owner cannot remove themselves'),
  ('owner@t.local', format('select public.leave_team(%L)', tests.team()), 'PT409 last_owner', 'nor leave'),
  ('owner@t.local', format('select public.set_member_role(%L, %L, ''admin'')', tests.team(), tests.uid('owner@t.local')), 'PT409 last_owner', 'nor step down'),
  ('owner@t.local', format('select public.leave_team(%L)', tests.got('personal')), 'PT422 personal_account', 'nobody leaves a personal account'),
  ('owner@t.local', 'select public.leave_team(null)', 'PT422 personal_account', 'nor the default one'),
  ('owner@t.local', format('select public.remove_member(%L, %L)', tests.got('personal'), tests.uid('owner@t.local')), 'PT422 personal_account', 'a personal account has no members to remove'),
  ('member@t.local', format('select public.leave_team(%L)', tests.got('personal')), 'PT404 account_not_found', 'someone else''s personal account: 404'),
  ('siteadmin@t.local', format('select public.leave_team(%L)', tests.team()), 'PT404 account_not_found', 'leaving a team one is not in: 404'),
  ('admin@t.local', format('select public.set_member_role(%L, %L, ''owner'')', tests.team(), tests.uid('member@t.local')), 'PT403 account_forbidden', 'an admin cannot make an owner'),
  ('admin@t.local', format('select public.set_member_role(%L, %L, ''member'')', tests.team(), tests.uid('owner@t.local')), 'PT403 account_forbidden', 'nor demote one'),
  ('billing@t.local', format('select public.set_member_role(%L, %L, ''admin'')', tests.team(), tests.uid('billing@t.local')), 'PT403 account_forbidden', 'billing cannot promote itself'),
  ('admin@t.local', format('select public.set_member_role(%L, %L, ''superhero'')', tests.team(), tests.uid('member@t.local')), 'PT422 invalid_role', 'an unknown role'),
  ('admin@t.local', format('select public.transfer_ownership(%L, %L)', tests.team(), tests.uid('admin@t.local')), 'PT403 account_forbidden', 'only an owner transfers the ownership'),
  ('owner@t.local', format('select public.transfer_ownership(%L, %L)', tests.team(), tests.uid('siteadmin@t.local')), 'PT404 member_not_found', 'to a member only'),
  ('owner@t.local', format('select public.transfer_ownership(%L, %L)', tests.team(), tests.uid('owner@t.local')), 'PT422 invalid_member', 'not to oneself'),
  ('admin@t.local', format('select public.set_member_spend_cap(%L, %L, -1)', tests.team(), tests.uid('member@t.local')), 'PT422 invalid_amount', 'a negative cap'),
  ('admin@t.local', format('select public.set_member_spend_cap(%L, %L, 10)', tests.team(), tests.uid('owner@t.local')), 'PT403 account_forbidden', 'an admin cannot cap an owner'),
  ('member@t.local', format('select public.set_member_spend_cap(%L, %L, 10)', tests.team(), tests.uid('member@t.local')), 'PT403 account_forbidden', 'a member cannot lift their own cap'),
  ('admin@t.local', format('select public.set_member_spend_cap(%L, %L, null)', tests.team(), tests.uid('admin@t.local')), 'PT403 account_forbidden', 'nor an admin, who may cap others: an owner sets theirs'),
  ('admin@t.local', format('select public.update_team(%L, ''Renamed'')', tests.team()), 'PT403 account_forbidden', 'an admin cannot rename the team'),
  ('owner@t.local', format('select public.update_team(%L, null, ''other-team'')', tests.team()), 'PT409 slug_taken', 'a slug in use'),
  ('owner@t.local', format('select public.update_team(%L, null, ''Not A Slug'')', tests.team()), 'PT422 invalid_team', 'a slug out of shape'),
  ('owner@t.local', format('select public.update_team(%L, ''  '')', tests.team()), 'PT422 invalid_team', 'a blank name'),
  ('admin@t.local', format('select public.delete_team(%L)', tests.team()), 'PT403 account_forbidden', 'an admin cannot delete the team'),
  ('owner@t.local', format('select public.update_team(%L, ''Mine'')', tests.got('personal')), 'PT422 personal_account', 'a personal account is not renamed here'),
  ('owner@t.local', format('select public.delete_team(%L)', tests.got('personal')), 'PT422 personal_account', 'nor deleted')
) v(who, stmt, expected, d);
select is(tests.members(), tests.got('before'), 'the refusals changed no membership');

-- Removal: gone at once, their invitations revoked, recorded, audited, the seat count marked for the sync.
select tests.become('admin@t.local');
select tests.put('admin_link', (public.invite_member(tests.team(), 'member'))::text);
select tests.become('postgres');
select tests.put('seats', (select seat_version::text from public.accounts where id = tests.team()));
select tests.become('owner@t.local');
select is((public.remove_member(tests.team(), tests.uid('admin@t.local'))).role, 'admin', 'an owner removes an admin');
select tests.become('postgres');
select is((select revoked_at is not null from public.account_invitations where id = (tests.got('admin_link')::public.team_invitation).invitation_id),
  true, 'the invitations the removed admin made are revoked');
select is(tests.attempt('outsider@t.local', format('select public.leave_team(%L)', tests.team())), 'ok', '(a member may leave)');
select results_eq(format('select seat_version - %s, seats_changed_at is not null from public.accounts where id = %L', tests.got('seats'), tests.team()),
  $$ values (1::bigint, true) $$, 'a removal bumps the team''s seat version once');
select ok(exists (select from public.audit_log where action = 'team.remove_member' and details ->> 'user_id' = tests.uid('admin@t.local')::text),
  'the removal is audited');
select is(tests.attempt('admin@t.local', format('select public.invite_member(%L, ''member'')', tests.team())),
  'PT404 account_not_found', 'the removed admin can no longer act for the team');
select is(tests.attempt('admin@t.local', format('select public.list_team_members(%L)', tests.team())),
  'PT404 account_not_found', 'nor list its members');

-- Leaving, roles, caps.
select tests.become('member@t.local');
select is((public.leave_team(tests.team())).user_id, tests.uid('member@t.local'), 'a member leaves');
select tests.become('owner@t.local');
select is((public.set_member_role(tests.team(), tests.uid('invitee@t.local'), 'admin')).role, 'admin', 'an owner promotes a member');
select tests.become('invitee@t.local');
select is((public.set_member_spend_cap(tests.team(), tests.uid('late@t.local'), 500)).monthly_spend_cap, 500::bigint, 'an admin caps a member');
select is((public.set_member_spend_cap(tests.team(), tests.uid('late@t.local'), null)).monthly_spend_cap, null, 'and lifts the cap');
select tests.become('owner@t.local');
select public.set_member_role(tests.team(), tests.uid('late@t.local'), 'admin');
select tests.become('postgres');
select is(tests.attempt('invitee@t.local', format('select public.set_member_spend_cap(%L, %L, null)', tests.team(), tests.uid('late@t.local'))),
  'PT403 account_forbidden', 'an admin cannot set a fellow admin''s cap (an owner does)');
select tests.become('owner@t.local');
select public.set_member_role(tests.team(), tests.uid('late@t.local'), 'member');
select tests.become('invitee@t.local');
select tests.become('postgres');
select ok(exists (select from public.audit_log where action = 'team.set_role' and details @> '{"from": "member", "to": "admin"}'),
  'a role change is audited with both roles');

-- Owners: two of them may demote each other down to one; ownership transfers.
select tests.become('owner@t.local');
select is((public.set_member_role(tests.team(), tests.uid('second@t.local'), 'owner')).role, 'owner', 'an owner makes another owner');
select tests.become('second@t.local');
select is((public.set_member_role(tests.team(), tests.uid('owner@t.local'), 'member')).role, 'member', 'one owner demotes the other');
select tests.become('postgres');
select is(tests.attempt('second@t.local', format('select public.leave_team(%L)', tests.team())), 'PT409 last_owner',
  'now the only owner, they cannot leave');
select is(tests.attempt('owner@t.local', format('select public.remove_member(%L, %L)', tests.team(), tests.uid('second@t.local'))),
  'PT403 account_forbidden', 'the demoted owner cannot remove the owner');
select tests.become('second@t.local');
select is((public.transfer_ownership(tests.team(), tests.uid('late@t.local'))).role, 'owner', 'the owner hands the team over');
select tests.become('postgres');
select results_eq(format($$ select role from public.account_members where account_id = %L and user_id in (%L, %L) order by user_id = %L $$,
    tests.team(), tests.uid('late@t.local'), tests.uid('second@t.local'), tests.uid('second@t.local')),
  $$ values ('owner'::text), ('admin'::text) $$, 'the new owner owns it; the old one is an admin');
select tests.become('second@t.local');
select lives_ok(format('select public.leave_team(%L)', tests.team()), 'and may leave now');

-- Renaming and deleting.
select tests.become('late@t.local');
select results_eq(format($$ select name, slug from public.update_team(%L, ' Acme Two ', 'acme-two') $$, tests.team()),
  $$ values ('Acme Two'::text, 'acme-two'::text) $$, 'the owner renames the team');
select is((public.delete_team(tests.team())).slug, 'acme-two', 'the owner deletes the team');
select tests.become('postgres');
select results_eq(format($$ select (select count(*) from public.accounts where id = %1$L)::int,
    (select count(*) from public.account_members where account_id = %1$L)::int,
    (select count(*) from public.account_invitations where account_id = %1$L)::int $$, tests.team()),
  $$ values (0, 0, 0) $$, 'its memberships and invitations go with it');
select ok(exists (select from public.audit_log where action = 'team.delete' and target_id = tests.team()::text),
  'the deletion is audited');

-- A team holding money is not deleted: credits in its wallet (paid for), or a live subscription (Stripe would
-- go on billing it). Once spent and canceled, it is.
select tests.become('owner@t.local');
select tests.put('rich', (public.create_team('Rich', 'rich-test')).id::text);
select tests.become('postgres');
select public.service_role_grant_credits(tests.got('rich')::uuid, 5, 'grant', 'test');
select is(tests.attempt('owner@t.local', format('select public.delete_team(%L)', tests.got('rich'))),
  'PT409 team_not_empty', 'a team with credits is not deleted');
select public.service_role_debit_credits(tests.got('rich')::uuid, 5, 'adjustment', 'spent');
insert into public.subscriptions (id, account_id, status, stripe_event_at) values ('sub_team_t', tests.got('rich')::uuid, 'past_due', now());
select is(tests.attempt('owner@t.local', format('select public.delete_team(%L)', tests.got('rich'))),
  'PT409 team_not_empty', 'nor one with a live subscription');
update public.subscriptions set status = 'canceled' where id = 'sub_team_t';
select is(tests.attempt('owner@t.local', format('select public.delete_team(%L)', tests.got('rich'))), 'ok',
  'an empty wallet and a canceled subscription: deleted');
select public.service_role_grant_credits(tests.uid('other@t.local'), 1, 'grant', 'test');
select is(saasbase.account_money_left(tests.uid('other@t.local')), 'credits in its wallet',
  'a personal account''s wallet is read by the same key (its id is its user''s)');

-- Teams a user may create in 30 days: deleted ones count (the owner deleted two of theirs above), another user
-- is not held to them, and a month later the owner may again.
update saasbase.settings set teams_per_month = (select count(*) from public.audit_log
  where action = 'team.create' and actor_id = tests.uid('owner@t.local'));
select is((select teams_per_month from saasbase.settings), 3, '(the owner made 3 teams, 2 of them deleted)');
select is(tests.attempt('owner@t.local', $$select public.create_team('One more', 'one-more-test')$$),
  'PT429 rate_limited', 'past the teams a user may create in 30 days, refused');
select is((select count(*)::int from public.accounts where slug = 'one-more-test'), 0, 'and nothing is made');
select is(tests.attempt('other@t.local', $$select public.create_team('Theirs', 'theirs-test')$$), 'ok',
  'another user creates theirs');
set local saasbase.now = '2099-01-01';
select is(tests.attempt('owner@t.local', $$select public.create_team('One more', 'one-more-test')$$), 'ok',
  '30 days later, the owner may again');
reset saasbase.now;
update saasbase.settings set teams_per_month = 10;

-- A deleted user who was a team's last owner: the member ranking first takes over, audited.
select tests.become('owner@t.local');
select tests.put('heirs', (public.create_team('Heirs', 'heirs-test')).id::text);
select tests.become('postgres');
insert into public.account_members (account_id, user_id, role, joined_at) values
  (tests.got('heirs')::uuid, tests.uid('member@t.local'), 'member', now() - interval '2 days'),
  (tests.got('heirs')::uuid, tests.uid('billing@t.local'), 'admin', now() - interval '1 day');
delete from auth.users where email = 'owner@t.local';
select results_eq(format($$ select split_part(u.email, '@', 1), m.role from public.account_members m join auth.users u on u.id = m.user_id
    where m.account_id = %L order by 1 $$, tests.got('heirs')),
  $$ values ('billing'::text, 'owner'::text), ('member'::text, 'member'::text) $$,
  'the owner''s deletion makes the admin (first by role) the owner');
select ok(exists (select from public.audit_log where action = 'team.owner_succession' and target_id = tests.got('heirs')),
  'the succession is audited');

select * from finish();
rollback;
