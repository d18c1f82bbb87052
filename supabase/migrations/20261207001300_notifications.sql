-- Notifications: what the product tells a user on its own, in the app (public.notifications, which a frontend
-- reads and marks read through supabase-js and follows live over Realtime) and by mail (a row of
-- public.email_outbox that the send-email worker renders with the template of that name and sends).
--
-- Both are written by saasbase.notify in the transaction of the change that causes them, from triggers on the
-- tables where things happen: purchases and invoices (receipts, failed payments), subscriptions (started,
-- changed, cancelled), usage counters (a free allowance used up), wallets (credits running low), referrals
-- (a reward earned), cash-outs (paid), profiles (welcome), team invitations and licenses (issued). So a
-- rolled-back purchase leaves neither a notification nor a receipt, and each carries a dedupe key per
-- (template, subject entity): a replayed webhook, a retried charge or a reconciliation applying the same state
-- again queues nothing twice.
-- The billing and credits functions are not re-defined: the triggers watch their tables.
--
-- Auth mails (sign-up confirmation, magic link, ...) do not pass through here: Supabase Auth calls the
-- auth-email-hook function, which renders and sends them at once and records each in saasbase.auth_emails.

-- ---------------------------------------------------------------------------------------------------------
-- Settings (config `notifications`, written by public.service_role_sync_notifications)

create table saasbase.notification_settings (
  id boolean primary key default true check (id),
  welcome_email boolean not null default true,
  -- A balance falling below this many credits is told (once a day at most); 0: never.
  low_credits_threshold integer not null default 20 check (low_credits_threshold >= 0),
  -- Paths of the product's web app (joined to saasbase.settings.product_url) the links go to.
  upgrade_path text not null default '/pricing' check (upgrade_path ~ '^/\S*$'),
  buy_credits_path text not null default '/credits' check (buy_credits_path ~ '^/\S*$'),
  updated_at timestamptz not null default now()
);
comment on table saasbase.notification_settings is 'Config notifications: welcome mail, low-credit threshold, link paths.';
insert into saasbase.notification_settings default values;

-- The config sync's part for this domain (src/local/database.ts DOMAIN_SYNCS), in the sync's transaction: reads
-- the catalog's `notifications` key; a catalog without it changes nothing.
create function public.service_role_sync_notifications(catalog jsonb) returns void
language plpgsql
security definer
set search_path = ''
as $$
declare
  v jsonb := catalog -> 'notifications';
begin
  if v is null or jsonb_typeof(v) <> 'object' then
    return;
  end if;
  update saasbase.notification_settings s set
    welcome_email = coalesce((v ->> 'welcome_email')::boolean, s.welcome_email),
    low_credits_threshold = coalesce((v ->> 'low_credits_threshold')::integer, s.low_credits_threshold),
    upgrade_path = coalesce(v ->> 'upgrade_path', s.upgrade_path),
    buy_credits_path = coalesce(v ->> 'buy_credits_path', s.buy_credits_path),
    updated_at = now();
end;
$$;
revoke execute on function public.service_role_sync_notifications(jsonb) from public, anon, authenticated;
grant execute on function public.service_role_sync_notifications(jsonb) to service_role;

-- ---------------------------------------------------------------------------------------------------------
-- The notifications

create table public.notifications (
  id uuid primary key default gen_random_uuid(),
  -- Whose it is: only they read it.
  user_id uuid not null references auth.users (id) on delete cascade,
  -- The account it is about, when a team's (its billing, its wallet); null: the user's own matters.
  account_id uuid references public.accounts (id) on delete cascade,
  -- What happened, for a frontend to choose an icon or its own wording (the template's name when a mail goes
  -- with it: receipt, payment_failed, free_limit_reached, ...).
  type text not null check (type ~ '^[a-z][a-z0-9_.]{0,62}$'),
  -- In English; `type` and `data` let a frontend say it in the reader's language instead.
  title text not null check (char_length(title) between 1 and 200),
  body text not null default '' check (char_length(body) <= 2000),
  link text check (link ~ '^https?://' and char_length(link) <= 2048),
  -- The facts (amounts, plan, feature), the mail's payload.
  data jsonb not null default '{}' check (jsonb_typeof(data) = 'object'),
  -- One notification per key (the mail's dedupe key): a replay adds none.
  dedupe_key text unique,
  read_at timestamptz,
  created_at timestamptz not null default now()
);
comment on table public.notifications is 'In-app notifications: one user''s, read and marked read by them alone.';
create index notifications_user_id on public.notifications (user_id, created_at desc);
create index notifications_unread on public.notifications (user_id) where read_at is null;
create index notifications_account_id on public.notifications (account_id);

alter table public.notifications enable row level security;
create policy "Notifications are readable by their user" on public.notifications
  for select to authenticated using (user_id = (select auth.uid()));
-- Only read_at may change (the column grant below): a user marks their own read (or unread again).
create policy "Notifications are marked read by their user" on public.notifications
  for update to authenticated
  using (user_id = (select auth.uid())) with check (user_id = (select auth.uid()));
grant select on public.notifications to authenticated;
grant update (read_at) on public.notifications to authenticated;
grant select, insert, update, delete on public.notifications to service_role;

-- Realtime: a frontend subscribes to inserts on public.notifications (filtered by RLS to its user's), which
-- needs the table in the `supabase_realtime` publication. Hosted projects and `supabase start` have that
-- publication; plain Postgres (the local stack) has none, and this does nothing there. A separate function so
-- the pgTAP file can show it works where the publication exists.
create function saasbase.publish_notifications() returns boolean
language plpgsql
set search_path = ''
as $$
begin
  if not exists (select from pg_catalog.pg_publication p where p.pubname = 'supabase_realtime') then
    return false;
  end if;
  if not exists (select from pg_catalog.pg_publication_tables t
      where t.pubname = 'supabase_realtime' and t.schemaname = 'public' and t.tablename = 'notifications') then
    alter publication supabase_realtime add table public.notifications;
  end if;
  return true;
exception when insufficient_privilege then
  -- A project whose publication belongs to another role: say so, and let the migration through (the table
  -- works without Realtime; add it in the dashboard's Database > Publications).
  raise warning 'public.notifications could not be added to the supabase_realtime publication: %', sqlerrm;
  return false;
end;
$$;
select saasbase.publish_notifications();

-- ---------------------------------------------------------------------------------------------------------
-- Internals (run as the owner from triggers and other domains' SQL; granted to nobody)

-- Tells `p_user` something: a notification (when `p_title` is given) and a mail (when `p_template` is: a row of
-- public.email_outbox for the worker, with `p_payload` as the template's props), both under `p_dedupe_key`,
-- so calling it again with the same key adds nothing. In the caller's transaction. Returns whether anything
-- was added. Other domains' SQL calls it too (licenses, tickets): a template of that name must exist in
-- supabase/functions/_shared/email/templates/.
create function saasbase.notify(
  p_user uuid, p_type text, p_title text, p_body text, p_link text, p_template text, p_payload jsonb,
  p_dedupe_key text, p_account uuid default null
) returns boolean
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_rows integer;
  v_added boolean := false;
begin
  if p_template is not null and p_dedupe_key is null then
    raise exception 'saasbase.notify: a mail needs a dedupe key';
  end if;
  if p_user is not null and p_title is not null then
    insert into public.notifications (user_id, account_id, type, title, body, link, data, dedupe_key)
    values (p_user, p_account, p_type, left(p_title, 200), left(coalesce(p_body, ''), 2000),
      case when p_link ~ '^https?://' and char_length(p_link) <= 2048 then p_link end,
      coalesce(p_payload, '{}'), p_dedupe_key)
    on conflict (dedupe_key) do nothing;
    get diagnostics v_rows = row_count;
    v_added := v_rows > 0;
  end if;
  if p_template is not null then
    insert into public.email_outbox (user_id, template, dedupe_key, payload)
    values (p_user, p_template, p_dedupe_key, coalesce(p_payload, '{}'))
    on conflict (dedupe_key) do nothing;
    get diagnostics v_rows = row_count;
    v_added := v_added or v_rows > 0;
  end if;
  return v_added;
end;
$$;

-- Tells an account: a personal account's user, or each member of a team whose role holds `p_right` (billing
-- mail to those who manage billing, as the failed-payment mail does). A team's copies carry its id and name
-- and a key per member; a personal account's the key as given. Returns how many were told.
create function saasbase.notify_account(
  p_account uuid, p_right text, p_type text, p_title text, p_body text, p_link text, p_template text,
  p_payload jsonb, p_dedupe_key text
) returns integer
language plpgsql
security definer
set search_path = ''
as $$
declare
  r record;
  v_told integer := 0;
begin
  for r in
    select m.user_id, a.kind, a.name
    from public.accounts a
    join public.account_members m on m.account_id = a.id
    join public.team_roles tr on tr.role = m.role
    where a.id = p_account and (a.kind = 'personal' or p_right = any (tr.rights))
    order by m.user_id
  loop
    if r.kind = 'personal' then
      perform saasbase.notify(r.user_id, p_type, p_title, p_body, p_link, p_template, p_payload, p_dedupe_key);
    else
      perform saasbase.notify(r.user_id, p_type, format('%s: %s', r.name, p_title), p_body, p_link, p_template,
        coalesce(p_payload, '{}') || jsonb_build_object('account_id', p_account, 'account_name', r.name),
        format('%s:%s', p_dedupe_key, r.user_id), p_account);
    end if;
    v_told := v_told + 1;
  end loop;
  return v_told;
end;
$$;

-- An amount in cents as "12.00 USD", for notification bodies (mails format money in the reader's language).
create function saasbase.money_text(p_cents bigint, p_currency text) returns text
language sql immutable
set search_path = ''
as $$
  select to_char(p_cents / 100.0, 'FM999999999990.00') || ' ' || upper(p_currency)
$$;

-- A link into the product's web app.
create function saasbase.app_url(p_path text) returns text
language sql stable
set search_path = ''
as $$
  select rtrim((select s.product_url from saasbase.settings s), '/') || p_path
$$;

-- ---------------------------------------------------------------------------------------------------------
-- Triggers: money events

-- A credit purchase recorded (service_role_record_credit_purchase inserts once per checkout session): its
-- receipt, to whoever manages the account's billing.
create function saasbase.notify_purchase() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_item text := coalesce((select c.name from public.credit_packs c where c.id = new.pack_id),
    format('%s credits', new.credits));
begin
  perform saasbase.notify_account(new.account_id, 'manage_billing', 'receipt', 'Payment received',
    format('%s paid for %s; %s credits added.', saasbase.money_text(new.amount_cents, new.currency), v_item,
      new.credits),
    saasbase.app_url('/billing'), 'receipt',
    jsonb_build_object('kind', 'purchase', 'reference', new.checkout_session_id, 'description', v_item,
      'amount_cents', new.amount_cents, 'currency', new.currency, 'credits', new.credits,
      'paid_at', new.created_at),
    'receipt:purchase:' || new.checkout_session_id);
  return null;
end;
$$;
create trigger purchases_notify after insert on public.purchases
  for each row execute function saasbase.notify_purchase();

-- An invoice recorded or updated (service_role_record_invoice upserts it on every delivery of its events): a
-- paid one's receipt once, and a failed payment's notification (its mail is queued by the billing function).
create function saasbase.notify_invoice() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_plan text := (select p.name from public.subscriptions s join public.plans p on p.id = s.plan_id
    where s.id = new.subscription_id);
begin
  if new.status = 'paid' and new.amount_paid > 0
      and (tg_op = 'INSERT' or old.status is distinct from 'paid' or old.amount_paid = 0) then
    perform saasbase.notify_account(new.account_id, 'manage_billing', 'receipt', 'Payment received',
      format('%s paid for %s.', saasbase.money_text(new.amount_paid, new.currency),
        coalesce(v_plan || ' subscription', 'the subscription')),
      coalesce(new.hosted_invoice_url, saasbase.app_url('/billing')), 'receipt',
      jsonb_build_object('kind', 'invoice', 'reference', new.id,
        'description', coalesce(v_plan || ' subscription', 'Subscription'), 'amount_cents', new.amount_paid,
        'currency', new.currency, 'credits', nullif(new.credits_granted, 0), 'paid_at', new.updated_at,
        'receipt_url', new.hosted_invoice_url),
      'receipt:invoice:' || new.id);
  elsif new.status = 'payment_failed' and (tg_op = 'INSERT' or old.status is distinct from 'payment_failed') then
    perform saasbase.notify_account(new.account_id, 'manage_billing', 'payment_failed', 'Payment failed',
      format('We could not charge %s. Update the payment method to keep the subscription.',
        saasbase.money_text(new.amount_due, new.currency)),
      coalesce(new.hosted_invoice_url, saasbase.app_url('/billing')), null,
      jsonb_build_object('invoice', new.id, 'amount_due', new.amount_due, 'currency', new.currency,
        'hosted_invoice_url', new.hosted_invoice_url),
      'payment_failed:' || new.id);
  end if;
  return null;
end;
$$;
create trigger invoices_notify after insert or update of status, amount_paid on public.invoices
  for each row execute function saasbase.notify_invoice();

-- A subscription's lifecycle as Stripe's events (or a reconciliation) apply it: started (it became active or
-- trialing from nothing or incomplete), changed plan, cancelled (scheduled at the period's end, or ended). The
-- keys: the subscription for started; the subscription, the new plan and the event's second for a change (a
-- replay applies no change: the newest event wins); the subscription and its cancellation time for a
-- cancellation (scheduling it and its end later are one mail).
create function saasbase.notify_subscription() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_plan public.plans;
  v_old_plan public.plans;
begin
  select * into v_plan from public.plans p where p.id = new.plan_id;
  if new.status in ('active', 'trialing')
      and (tg_op = 'INSERT' or old.status in ('incomplete', 'incomplete_expired')) then
    perform saasbase.notify_account(new.account_id, 'manage_billing', 'subscription_started',
      format('Subscribed to %s', coalesce(v_plan.name, 'a paid plan')),
      case when v_plan.monthly_credits > 0 then format('Each paid period adds %s credits.', v_plan.monthly_credits)
        else 'The plan is active now.' end,
      saasbase.app_url('/billing'), 'subscription_started',
      jsonb_build_object('subscription_id', new.id, 'plan_id', new.plan_id,
        'plan_name', coalesce(v_plan.name, 'Paid plan'), 'monthly_credits', v_plan.monthly_credits,
        'current_period_end', new.current_period_end),
      'subscription_started:' || new.id);
  elsif tg_op = 'UPDATE' and old.plan_id is distinct from new.plan_id and old.plan_id is not null
      and new.plan_id is not null and new.status in ('active', 'trialing', 'past_due') then
    select * into v_old_plan from public.plans p where p.id = old.plan_id;
    perform saasbase.notify_account(new.account_id, 'manage_billing', 'subscription_changed',
      format('Plan changed to %s', v_plan.name), format('The subscription moved from %s to %s.', v_old_plan.name,
        v_plan.name),
      saasbase.app_url('/billing'), 'subscription_changed',
      jsonb_build_object('subscription_id', new.id, 'old_plan_name', v_old_plan.name, 'plan_id', new.plan_id,
        'plan_name', v_plan.name, 'current_period_end', new.current_period_end),
      format('subscription_changed:%s:%s:%s', new.id, new.plan_id,
        floor(extract(epoch from new.stripe_event_at))::bigint));
  end if;

  -- A subscription first seen already cancelled (a late reconciliation) is history, not news.
  if tg_op = 'UPDATE' and (
      (new.cancel_at_period_end and not old.cancel_at_period_end and new.status <> 'canceled')
      or (new.status = 'canceled' and old.status <> 'canceled')) then
    perform saasbase.notify_account(new.account_id, 'manage_billing', 'subscription_cancelled',
      format('%s subscription cancelled', coalesce(v_plan.name, 'The')),
      case when new.status = 'canceled' then 'The account is back on the free plan.'
        else format('It stays active until %s.', to_char(new.current_period_end at time zone 'UTC', 'YYYY-MM-DD')) end,
      saasbase.app_url('/pricing'), 'subscription_cancelled',
      jsonb_build_object('subscription_id', new.id, 'plan_name', coalesce(v_plan.name, 'Paid plan'),
        'ends_at', case when new.status = 'canceled' then null else new.current_period_end end),
      format('subscription_cancelled:%s:%s', new.id,
        coalesce(floor(extract(epoch from new.canceled_at))::bigint::text, 'ended')));
  end if;
  return null;
end;
$$;
create trigger subscriptions_notify after insert or update on public.subscriptions
  for each row execute function saasbase.notify_subscription();

-- ---------------------------------------------------------------------------------------------------------
-- Triggers: credits and quotas

-- A free allowance used up (seed 000: the 10th free generation of the month): the counter crossed its plan's
-- limit in this update. Told once per account, feature and period, with a link to the cheapest active paid plan
-- that gives more of the feature (unlimited, or a higher allowance); nothing when no plan does.
create function saasbase.notify_quota() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_plan public.plans;
  v_quota public.plan_quotas;
  v_upgrade public.plans;
  v_feature public.features;
  v_url text;
begin
  select * into v_plan from public.plans p where p.id = saasbase.plan_of(new.account_id);
  select * into v_quota from public.plan_quotas q
  where q.plan_id = v_plan.id and q.feature_id = new.feature_id and not q.unlimited;
  -- (A counter of another period than the plan's quota is one the plan had before a change: not this limit.)
  if not found or split_part(new.period_key, ':', 1) is distinct from v_quota.period
      or not (old.used < v_quota.free_limit and new.used >= v_quota.free_limit) then
    return null;
  end if;
  select p.* into v_upgrade
  from public.plans p join public.plan_quotas q on q.plan_id = p.id and q.feature_id = new.feature_id
  where p.active and p.id <> v_plan.id and p.price_monthly_cents > 0
    and (q.unlimited or q.free_limit > v_quota.free_limit)
  order by p.price_monthly_cents, p.sort_order
  limit 1;
  if not found then
    return null;
  end if;
  select * into v_feature from public.features f where f.id = new.feature_id;
  v_url := saasbase.app_url((select s.upgrade_path from saasbase.notification_settings s)) || '?plan=' || v_upgrade.id;
  perform saasbase.notify_account(new.account_id, 'buy', 'free_limit_reached',
    format('Free %s allowance used up', lower(v_feature.name)),
    format('All %s free uses on the %s plan are used. Upgrade to %s for more.', v_quota.free_limit, v_plan.name,
      v_upgrade.name),
    v_url, 'free_limit_reached',
    jsonb_build_object('feature', new.feature_id, 'feature_name', v_feature.name, 'limit', v_quota.free_limit,
      'period', v_quota.period, 'plan_name', v_plan.name, 'upgrade_plan_name', v_upgrade.name, 'upgrade_url', v_url),
    format('free_limit_reached:%s:%s:%s', new.account_id, new.feature_id, new.period_key));
  return null;
end;
$$;
create trigger usage_counters_notify after update of used on public.usage_counters
  for each row when (new.used > old.used) execute function saasbase.notify_quota();

-- Credits running low: a debit took the balance from at or above the threshold to below it. At most once a day
-- per account (the key is the UTC day), however often the balance dips.
create function saasbase.notify_low_credits() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_settings saasbase.notification_settings;
  v_url text;
begin
  select * into v_settings from saasbase.notification_settings s;
  if v_settings.low_credits_threshold = 0
      or not (old.balance >= v_settings.low_credits_threshold and new.balance < v_settings.low_credits_threshold) then
    return null;
  end if;
  v_url := saasbase.app_url(v_settings.buy_credits_path);
  perform saasbase.notify_account(new.account_id, 'buy', 'credits_low', 'Credits running low',
    format('%s credits left.', new.balance), v_url, 'credits_low',
    jsonb_build_object('balance', new.balance, 'threshold', v_settings.low_credits_threshold, 'buy_url', v_url),
    format('credits_low:%s:%s', new.account_id, to_char(saasbase.now() at time zone 'UTC', 'YYYY-MM-DD')));
  return null;
end;
$$;
create trigger wallets_notify after update of balance on public.wallets
  for each row when (new.balance < old.balance) execute function saasbase.notify_low_credits();

-- ---------------------------------------------------------------------------------------------------------
-- Triggers: referrals, cash-outs, sign-up, invitations

-- A referral rewarded: the referrer earned credits and/or cash.
create function saasbase.notify_referral() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  if new.status = 'rewarded' and (tg_op = 'INSERT' or old.status <> 'rewarded')
      and (new.credits_awarded > 0 or new.cash_awarded_cents > 0) then
    perform saasbase.notify(new.referrer_id, 'referral_reward', 'You earned a referral reward',
      concat_ws(' and ', nullif(format('%s credits', new.credits_awarded), '0 credits'),
        case when new.cash_awarded_cents > 0
          then saasbase.money_text(new.cash_awarded_cents, (select s.currency from saasbase.settings s)) end)
        || ' for someone who joined through your link.',
      saasbase.app_url('/referrals'), 'referral_reward',
      jsonb_build_object('referral_id', new.id, 'credits', new.credits_awarded, 'cash_cents', new.cash_awarded_cents,
        'currency', (select s.currency from saasbase.settings s)),
      'referral_reward:' || new.id);
  end if;
  return null;
end;
$$;
create trigger referrals_notify after insert or update of status on public.referrals
  for each row execute function saasbase.notify_referral();

-- A cash-out paid out to the user's connected account.
create function saasbase.notify_cashout() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  if new.status = 'paid' and old.status <> 'paid' then
    perform saasbase.notify(new.user_id, 'cashout_paid', 'Cash-out paid',
      format('%s is on its way to your payout account.', saasbase.money_text(new.amount_cents, new.currency)),
      saasbase.app_url('/referrals'), 'cashout_paid',
      jsonb_build_object('cashout_id', new.id, 'amount_cents', new.amount_cents, 'currency', new.currency),
      'cashout_paid:' || new.id);
  end if;
  return null;
end;
$$;
create trigger cashouts_notify after update of status on public.cashouts
  for each row execute function saasbase.notify_cashout();

-- A new user (their profile is made with the auth.users row): the welcome mail, for a user with an address (not
-- an anonymous sign-in), when the config sends one.
create function saasbase.notify_welcome() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_credits integer := (select s.signup_credits from saasbase.settings s);
begin
  if not (select s.welcome_email from saasbase.notification_settings s)
      or not exists (select from auth.users u where u.id = new.id and u.email is not null and not u.is_anonymous) then
    return null;
  end if;
  perform saasbase.notify(new.id, 'welcome', 'Welcome',
    case when v_credits > 0 then format('Your account is ready, with %s free credits to start with.', v_credits)
      else 'Your account is ready.' end,
    saasbase.app_url('/'), 'welcome',
    jsonb_build_object('display_name', new.display_name, 'signup_credits', v_credits),
    'welcome:' || new.id);
  return null;
end;
$$;
create trigger profiles_notify_welcome after insert on public.profiles
  for each row execute function saasbase.notify_welcome();

-- An email invitation to a team, for someone who already has an account: a notification (the mail with the
-- accept link is queued by public.invite_member, the one place the token exists).
create function saasbase.notify_invitation() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_user uuid;
  v_team text := (select a.name from public.accounts a where a.id = new.account_id);
begin
  if new.email is null then
    return null;
  end if;
  select u.id into v_user from auth.users u where lower(u.email) = new.email order by u.created_at limit 1;
  if v_user is not null then
    perform saasbase.notify(v_user, 'team_invitation', format('Invitation to join %s', v_team),
      format('You are invited to the team %s. The invitation mail has the link to accept it.', v_team),
      saasbase.app_url('/invitations'), null,
      jsonb_build_object('invitation_id', new.id, 'account_id', new.account_id, 'team_name', v_team,
        'role', new.role, 'expires_at', new.expires_at),
      'team_invitation:' || new.id);
  end if;
  return null;
end;
$$;
create trigger account_invitations_notify after insert on public.account_invitations
  for each row execute function saasbase.notify_invitation();

-- A license issued (20261207001000_licenses.sql: bought, with a subscription, or by an admin): its mail and
-- notification, to the member it was issued to, else the account's billing managers. Never the key (shown once in
-- the app): its prefix and a link to the account's licenses.
create function saasbase.notify_license() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_product text := coalesce((select p.name from public.license_products p where p.id = new.product_id), new.product_id);
  v_url text := saasbase.app_url('/licenses');
  v_payload jsonb := jsonb_build_object('license_id', new.id, 'product_name', v_product, 'key_prefix', new.key_prefix,
    'expires_at', new.expires_at, 'licenses_url', v_url);
  v_body text := format('Your %s license (%s…) is ready%s.', v_product, new.key_prefix,
    case when new.expires_at is not null
      then format(', valid until %s', to_char(new.expires_at at time zone 'UTC', 'YYYY-MM-DD')) else '' end);
begin
  if new.user_id is not null then
    perform saasbase.notify(new.user_id, 'license_issued', format('%s license issued', v_product), v_body, v_url,
      'license_issued', v_payload, 'license_issued:' || new.id,
      (select a.id from public.accounts a where a.id = new.account_id and a.kind = 'team'));
  else
    perform saasbase.notify_account(new.account_id, 'manage_billing', 'license_issued',
      format('%s license issued', v_product), v_body, v_url, 'license_issued', v_payload, 'license_issued:' || new.id);
  end if;
  return null;
end;
$$;
create trigger licenses_notify after insert on public.licenses
  for each row execute function saasbase.notify_license();

-- ---------------------------------------------------------------------------------------------------------
-- Auth mails sent by the auth-email-hook function: one row per mail Supabase Auth asked for (a link or code to
-- one address), keyed by a hash of what makes it that mail (action, address, token hash), so a retried or
-- replayed hook call sends nothing that was sent. Holds no token. Internal: the service role writes it through
-- the two functions below.
create table saasbase.auth_emails (
  id bigint generated always as identity primary key,
  dedupe_key text not null unique,
  -- The Standard Webhooks message id of the (last) call that asked for it.
  webhook_id text not null,
  user_id uuid,
  email_action_type text not null,
  template text not null,
  to_email text not null,
  status text not null default 'sending' check (status in ('sending', 'sent', 'failed')),
  attempts integer not null default 1,
  provider text,
  provider_message_id text,
  last_error text,
  created_at timestamptz not null default now(),
  sent_at timestamptz
);
create index auth_emails_user_id on saasbase.auth_emails (user_id);

-- Claims an auth mail for sending: a new key is recorded 'sending'; a key already sent answers send = false (a
-- replay); one that failed, or whose sending attempt is over a minute old (a hook call that died), is tried again.
-- Answers whether to send it now, the log row's id and its status.
create function public.service_role_claim_auth_email(
  dedupe_key text, webhook_id text, user_id uuid, email_action_type text, template text, to_email text
) returns table (send boolean, id bigint, status text)
language plpgsql
security definer
set search_path = ''
as $$
#variable_conflict use_column
declare
  v_row saasbase.auth_emails;
begin
  insert into saasbase.auth_emails as e (dedupe_key, webhook_id, user_id, email_action_type, template, to_email)
  values (service_role_claim_auth_email.dedupe_key, service_role_claim_auth_email.webhook_id,
    service_role_claim_auth_email.user_id, service_role_claim_auth_email.email_action_type,
    service_role_claim_auth_email.template, service_role_claim_auth_email.to_email)
  on conflict on constraint auth_emails_dedupe_key_key do update
    set webhook_id = excluded.webhook_id, status = 'sending', attempts = e.attempts + 1, last_error = null,
      created_at = now()
    where e.status = 'failed' or (e.status = 'sending' and e.created_at < now() - interval '1 minute')
  returning * into v_row;
  if found then
    return query select true, v_row.id, v_row.status;
    return;
  end if;
  select * into v_row from saasbase.auth_emails e where e.dedupe_key = service_role_claim_auth_email.dedupe_key;
  return query select false, v_row.id, v_row.status;
end;
$$;
revoke execute on function public.service_role_claim_auth_email(text, text, uuid, text, text, text)
  from public, anon, authenticated;
grant execute on function public.service_role_claim_auth_email(text, text, uuid, text, text, text) to service_role;

-- Records how sending a claimed auth mail went: sent (the provider's id) or failed (why).
create function public.service_role_record_auth_email(
  id bigint, sent boolean, provider text default null, provider_message_id text default null,
  error text default null
) returns void
language plpgsql
security definer
set search_path = ''
as $$
begin
  update saasbase.auth_emails e set
    status = case when sent then 'sent' else 'failed' end,
    provider = service_role_record_auth_email.provider,
    provider_message_id = service_role_record_auth_email.provider_message_id,
    last_error = left(error, 500),
    sent_at = case when sent then now() end
  where e.id = service_role_record_auth_email.id;
end;
$$;
revoke execute on function public.service_role_record_auth_email(bigint, boolean, text, text, text)
  from public, anon, authenticated;
grant execute on function public.service_role_record_auth_email(bigint, boolean, text, text, text) to service_role;

-- ---------------------------------------------------------------------------------------------------------
-- The API

-- Marks the caller's notifications read: those named, or all of them (null). Returns how many it marked.
-- (A client may also update read_at itself: the table's column grant and policy allow exactly that.)
create function public.mark_notifications_read(ids uuid[] default null) returns integer
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_uid uuid := saasbase.require_user();
  v_count integer;
begin
  update public.notifications n set read_at = now()
  where n.user_id = v_uid and n.read_at is null and (ids is null or n.id = any (ids));
  get diagnostics v_count = row_count;
  return v_count;
end;
$$;
revoke execute on function public.mark_notifications_read(uuid[]) from public, anon;
grant execute on function public.mark_notifications_read(uuid[]) to authenticated;
