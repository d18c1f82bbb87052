// The SQL API's results against sql-results.ts: every RPC of the catalog, credits, referrals and admin is called
// in the states that make its result's fields null (a replay, an unlimited feature, a claim another run holds,
// nothing left to debit, ...), on the real database (SUPABASE_DB_URL; npm test points it at a throwaway
// cluster), in one transaction rolled back at the end. A field NULLABLE does not name is never null, so the
// types that make it required (and that the functions and src/client read) tell the truth.
import assert from "node:assert/strict";
import postgres from "postgres";
import { NULLABLE } from "../_shared/sql-results.ts";

type Name = keyof typeof NULLABLE;
type Row = Record<string, unknown>;

// Nested results: the composite types inside another's fields (arrays of them, or one).
const NESTED: Partial<Record<Name, Record<string, Name>>> = {
  wallet_summary: { expiring: "wallet_lot", quotas: "wallet_quota" },
  kpi_report: {
    range: "kpi_range",
    totals: "kpi_totals",
    credits_by_feature: "feature_credits",
    funnel: "funnel_step",
    series: "kpi_bucket",
  },
  license_details: { validation: "license_validation" },
};

Deno.test({
  name: "SQL API results: every field sql-results.ts makes required is set, in every state of every RPC",
  ignore: !Deno.env.get("SUPABASE_DB_URL"),
  async fn() {
    const sql = postgres(Deno.env.get("SUPABASE_DB_URL")!, { max: 1, onnotice: () => {} });
    const samples = new Map<Name, Row[]>();
    const collect = (name: Name, row: Row) => {
      samples.set(name, [...samples.get(name) ?? [], row]);
      for (const [field, inner] of Object.entries(NESTED[name] ?? {})) {
        const value = row[field];
        for (const item of Array.isArray(value) ? value : value == null ? [] : [value]) {
          collect(inner, item as Row);
        }
      }
    };
    const rollback = new Error("rollback");
    try {
      await assert.rejects(
        sql.begin(async (tx) => {
          const call = async (name: Name, fn: postgres.PendingQuery<postgres.Row[]> | postgres.Fragment) => {
            const [{ r }] = await tx`select to_jsonb(${fn}) as r`;
            collect(name, r);
            return r as Row;
          };
          const as = (id: string | null, role = "customer") =>
            tx`select set_config('request.jwt.claims', ${
              id ? JSON.stringify({ role: "authenticated", sub: id, app_metadata: { role } }) : ""
            }, true)`;
          const newUser = async (role = "customer") =>
            (await tx`insert into auth.users (id, aud, role, email, raw_app_meta_data, raw_user_meta_data,
                created_at, updated_at)
              values (gen_random_uuid(), 'authenticated', 'authenticated', ${`r-${crypto.randomUUID()}@test.local`},
                ${tx.json({ role })}, '{}', now(), now())
              returning id`)[0].id as string;

          const user = await newUser();
          const admin = await newUser("admin");
          const [{ plan }] = await tx`select id as plan from public.plans where is_default`;
          await tx`insert into public.features (id, name, credits) values
            ('t_res_day', 'day quota', 2), ('t_res_life', 'lifetime quota', 2), ('t_res_unl', 'unlimited', 2),
            ('t_res_paid', 'paid', 3)`;
          await tx`insert into public.plan_quotas (plan_id, feature_id, period, free_limit, overage, unlimited) values
            (${plan}, 't_res_day', 'day', 1, 'credits', false), (${plan}, 't_res_life', 'lifetime', 1, 'block', false),
            (${plan}, 't_res_unl', null, null, 'credits', true)`;
          await tx`insert into public.credit_packs (id, name, credits, price_cents) values ('t_res_pack', 'pack', 10, 999)`;

          // Credits: grants (one expiring: a lot), charges, reservations, the wallet, a pack's price.
          await call(
            "credit_grant",
            tx`public.service_role_grant_credits(${user}, 100, 'grant', 'test', 'g1',
            now() + interval '10 days')`,
          );
          await call(
            "credit_grant",
            tx`public.service_role_grant_credits(${user}, 100, 'grant', 'test', 'g1',
            now() + interval '10 days')`,
          );
          await call("credit_grant", tx`public.service_role_grant_credits(${user}, 50)`);
          await as(user);
          for (const feature of ["t_res_day", "t_res_life", "t_res_unl", "t_res_paid"]) {
            await call("feature_check", tx`public.check_feature(${feature}, 2)`);
          }
          await call("credit_charge", tx`public.charge_credits('t_res_day', 2, 'c1')`);
          await call("credit_charge", tx`public.charge_credits('t_res_day', 2, 'c1')`);
          await call("credit_charge", tx`public.charge_credits('t_res_unl', 1, 'c2')`);
          const held = await call("reservation_hold", tx`public.reserve_credits('t_res_paid', 1, 'r1', 9)`);
          await call("reservation_hold", tx`public.reserve_credits('t_res_paid', 1, 'r1', 9)`);
          await call(
            "reservation_settlement",
            tx`public.settle_reservation(${held.reservation_id as string}, 4)`,
          );
          await call(
            "reservation_settlement",
            tx`public.settle_reservation(${held.reservation_id as string}, 4)`,
          );
          const free = await call("reservation_hold", tx`public.reserve_credits('t_res_unl', 1, 'r2')`);
          await call("reservation_release", tx`public.release_reservation(${free.reservation_id as string})`);
          await call("reservation_release", tx`public.release_reservation(${free.reservation_id as string})`);
          await call("wallet_summary", tx`public.get_wallet()`);
          await call("pack_price", tx`public.credit_pack_price('t_res_pack')`);
          await as(null);
          await call("pack_price", tx`public.credit_pack_price('t_res_pack')`);
          // A custom amount: within the purchase bounds, and outside them (no credits).
          const [{ min }] = await tx`select purchase_min_cents as min from saasbase.settings`;
          await call("amount_price", tx`public.credit_amount_price(${min})`);
          await call("amount_price", tx`public.credit_amount_price(${min - 1})`);
          await call(
            "reservation_hold",
            tx`public.service_role_reserve_credits(null, ${user}, 't_res_paid', 1, 's1', 3)`,
          );
          const srv = await call(
            "reservation_hold",
            tx`public.service_role_reserve_credits(null, ${user}, 't_res_paid', 1,
            's2')`,
          );
          await call(
            "reservation_release",
            tx`public.service_role_release_reservation(null, ${user},
            ${srv.reservation_id as string})`,
          );
          // Chat: a message's hold and its renewals (open, then settled), the exchange stored with a reservation
          // (a new conversation), without one (anonymous: no balance), and for a conversation gone meanwhile
          // (no message).
          await tx`insert into public.chat_personas (id, name, credits_per_message) values ('t_persona', 'T', 1)`;
          await tx`insert into public.chat_models (id, credits_per_1k_tokens) values ('t_model', 1)`;
          const chatHold = await call(
            "chat_hold",
            tx`public.service_role_reserve_chat(null, ${user}, 'chat:h1', 't_persona', '{t_model}', '{3000}')`,
          );
          const chatRes = chatHold.reservation_id as string;
          await call("reservation_lease", tx`public.service_role_renew_reservation(null, ${user}, ${chatRes})`);
          await call(
            "chat_exchange",
            tx`public.service_role_record_chat_exchange(${crypto.randomUUID()}, true, ${user}, null, 't',
            't_persona', 'openai', 't_model', 'q', 'a', 'complete', 1, 1, ${chatRes})`,
          );
          await call("reservation_lease", tx`public.service_role_renew_reservation(null, ${user}, ${chatRes})`);
          await call(
            "chat_exchange",
            tx`public.service_role_record_chat_exchange(${crypto.randomUUID()}, true, null, 'anon-hash', 't',
            'general', 'openai', 'm', 'q', 'a', 'complete', 1, 1, null)`,
          );
          await call(
            "chat_exchange",
            tx`public.service_role_record_chat_exchange(${crypto.randomUUID()}, false, ${user}, null, 't',
            'general', 'openai', 'm', 'q', 'a', 'complete', 1, 1, null)`,
          );
          await call(
            "credit_debit",
            tx`public.service_role_debit_credits(${user}, 1000000, 'adjustment', 'all',
            'd1', true)`,
          );
          await call(
            "credit_debit",
            tx`public.service_role_debit_credits(${user}, 1000000, 'adjustment', 'all',
            'd1', true)`,
          );
          await call(
            "credit_debit",
            tx`public.service_role_debit_credits(${user}, 5, 'adjustment', 'none left',
            'd2', true)`,
          );
          await as(user);
          await call("wallet_summary", tx`public.get_wallet()`);
          // Before any plan is synced (or with none marked default), a user has no plan.
          await tx`update public.plans set is_default = false where is_default`;
          await call("wallet_summary", tx`public.get_wallet()`);
          await call("feature_check", tx`public.check_feature('t_res_paid')`);
          await tx`update public.plans set is_default = true where id = ${plan}`;

          // Referrals: figures, and a cash-out through every state of its payout.
          await call("referral_summary", tx`public.referral_stats()`);
          // An account from before the referrals domain has no code (the sign-up trigger makes them).
          await tx`delete from public.referral_codes where user_id = ${admin}`;
          await as(admin, "admin");
          await call("referral_summary", tx`public.referral_stats()`);
          await as(user);
          await tx`select saasbase.move_cash(${user}, 'referral', 5000, 'test')`;
          await tx`update public.cash_wallets set available_cents = 5000 where user_id = ${user}`;
          const cashout = await call("cashout_status", tx`public.request_cashout(1000)`);
          const id = cashout.cashout_id as string;
          await call("referral_summary", tx`public.referral_stats()`);
          await as(admin, "admin");
          await call("cashout_status", tx`public.admin_decide_cashout(${id}, true, 'ok')`);
          await as(null);
          const claim = await call("cashout_claim", tx`public.service_role_claim_cashout(${id})`);
          await call("cashout_claim", tx`public.service_role_claim_cashout(${id})`); // in progress
          await call(
            "payout_outcome",
            tx`public.service_role_record_payout(${id}, ${claim.attempt as number}, null,
            'timeout', false)`,
          );
          const again = await call("cashout_claim", tx`public.service_role_claim_cashout(${id})`);
          await call(
            "payout_outcome",
            tx`public.service_role_record_payout(${id}, ${again.attempt as number}, 'tr_1',
            null)`,
          );
          await call(
            "payout_outcome",
            tx`public.service_role_record_payout(${id}, ${again.attempt as number}, 'tr_1',
            null)`,
          );
          await call("cashout_claim", tx`public.service_role_claim_cashout(${id})`); // paid
          const second = await (async () => {
            await as(user);
            return await call("cashout_status", tx`public.request_cashout(1000)`);
          })();
          await as(admin, "admin");
          await call("cashout_status", tx`public.admin_decide_cashout(${second.cashout_id as string}, true)`);
          await as(null);
          const claim2 = await call(
            "cashout_claim",
            tx`public.service_role_claim_cashout(
            ${second.cashout_id as string})`,
          );
          await call(
            "payout_outcome",
            tx`public.service_role_record_payout(${second.cashout_id as string},
            ${claim2.attempt as number}, null, 'account closed', true)`,
          );

          // Account billing: an account with no customer yet, then linked; a user with no email (a phone sign-up).
          await as(null);
          await call("billing_customer", tx`public.service_role_billing_customer(null, ${user}, 'buy')`);
          await call("billing_customer", tx`public.service_role_billing_customer(${user}, ${user}, 'manage_billing',
            ${`cus_res_${user.slice(0, 8)}`})`);
          const phone = await newUser();
          await tx`update auth.users set email = null, phone = '+15550001111' where id = ${phone}`;
          await call("billing_customer", tx`public.service_role_billing_customer(null, ${phone}, 'buy')`);

          // Admin: adjustments (with a key, replayed), role and plan, the KPIs.
          await as(admin, "admin");
          await call("credit_adjustment", tx`public.admin_adjust_credits(${user}, 5, 'support gesture')`);
          await call("credit_adjustment", tx`public.admin_adjust_credits(${user}, -2, 'correction', 'a1')`);
          await call("credit_adjustment", tx`public.admin_adjust_credits(${user}, -2, 'correction', 'a1')`);
          await call("role_assignment", tx`public.admin_set_role(${user}, 'developer')`);
          await call("plan_assignment", tx`public.admin_set_plan(${user}, ${plan})`);
          await call("plan_assignment", tx`public.admin_set_plan(${user}, null)`);
          // A charge of no feature (as an import of old usage might write): its credits count under feature null.
          await tx`insert into public.credit_ledger (account_id, kind, amount, balance_after)
            select ${user}, 'charge', 0, balance from public.wallets where account_id = ${user}`;
          await call("kpi_report", tx`public.admin_kpis(current_date - 7, current_date, 'day')`);
          await call("kpi_report", tx`public.admin_kpis(current_date - 60, current_date, 'month')`);

          // Teams: an email invitation, a single-use link and a reusable one.
          await as(user);
          const [{ team }] = await tx`select (public.create_team('Results', ${`results-${crypto.randomUUID().slice(0, 8)}`})).id as team`;
          await call("team_invitation", tx`public.invite_member(${team}, 'member', ${`i-${crypto.randomUUID()}@test.local`})`);
          await call("team_invitation", tx`public.invite_member(${team}, 'member')`);
          await tx`update saasbase.settings set reusable_link_invitations = true`;
          await call("team_invitation", tx`public.invite_member(${team}, 'member')`);
          // Its members, as the owner lists them (emails) and as a plain member does (none; no names, no caps).
          await call("team_member", tx`public.list_team_members(${team})`);
          const viewer = await newUser();
          await tx`insert into public.account_members (account_id, user_id, role) values (${team}, ${viewer}, 'member')`;
          await tx`update public.profiles set display_name = null where id = ${user}`; // cleared by its user
          await as(viewer);
          await call("team_member", tx`public.list_team_members(${team})`);

          // Seats: a team without a subscription, then with a per-seat one (its item not read yet, then read).
          await as(null);
          await call("seat_quantity", tx`public.service_role_seat_quantity(${team})`);
          const [{ seatPlan }] = await tx`select id as "seatPlan" from public.plans where per_seat limit 1`;
          await tx`insert into public.products (id, kind, plan_id, name) values ('t_res_seat', 'plan', ${seatPlan}, 'seats')`;
          await tx`insert into public.prices (id, product_id, lookup_key, unit_amount, currency, billing_interval)
            values ('t_res_seat_price', 't_res_seat', 't_res_seat', 900, 'usd', 'month')`;
          await tx`select public.service_role_upsert_subscription('sub_res_seat', ${team}, 'active', 't_res_seat_price',
            now(), now() + interval '30 days', false, null, now())`;
          await call("seat_quantity", tx`public.service_role_seat_quantity(${team}, ${user})`);
          await tx`select public.service_role_upsert_subscription('sub_res_seat', ${team}, 'active', 't_res_seat_price',
            now(), now() + interval '30 days', false, null, now() + interval '1 second', 2, 'si_res_seat')`;
          await call("seat_quantity", tx`public.service_role_seat_quantity(${team})`);

          // User secrets: stored by a co-owner of the team, listed once that user is deleted (no creator).
          const keeper = await newUser();
          await tx`insert into public.account_members (account_id, user_id, role) values (${team}, ${keeper}, 'owner')`;
          await call(
            "user_secret",
            tx`public.service_role_put_user_secret(${team}, ${keeper}, 'v0', ${new Uint8Array(17)}, ${new Uint8Array(12)}, 'k1', 'abcd')`,
          );
          await tx`delete from auth.users where id = ${keeper}`;
          await as(user);
          await call("user_secret", tx`public.list_user_secrets(${team})`);

          // API keys: one with no scopes nor expiry (never used), one with both (used, then revoked), listed.
          await as(user);
          const plain = await call("api_key_created", tx`public.create_api_key('plain')`);
          const scoped = await call("api_key_created",
            tx`public.create_api_key('scoped', array['mcp'], now() + interval '1 day', ${team})`);
          await call("api_key_info", tx`public.rename_api_key(${plain.id as string}, 'renamed')`);
          await as(null);
          for (const k of [plain, scoped]) {
            await call("verified_api_key",
              tx`public.service_role_verify_api_key(encode(sha256(convert_to(${k.key as string}, 'UTF8')), 'hex'))`);
          }
          await as(user);
          await call("api_key_info", tx`public.revoke_api_key(${scoped.id as string})`);
          for (const row of await tx`select to_jsonb(k) as r from public.list_api_keys(${team}) k`) {
            collect("api_key_info", row.r);
          }

          // Licenses: a perpetual floating license without a limit (no expiry, grace or max) and its machine without a
          // name or platform, a 30-day node-locked one with a named machine, and a key nobody has (NOT_FOUND).
          await tx`insert into public.license_products (id, name, duration_days, floating, max_machines, price_cents)
            values ('sr-perpetual', 'Perpetual', null, true, null, 500), ('sr-node', 'Node', 30, false, 1, 500)`;
          await tx`select set_config('request.jwt.claims', ${JSON.stringify({ role: "service_role" })}, true)`;
          for (const [product, name, platform] of [["sr-perpetual", null, null], ["sr-node", "Laptop", "linux"]]) {
            const license = await call("license_issued", tx`public.admin_issue_license(${user}, ${product})`);
            const key = license.key as string;
            await call("license_machine_result", tx`public.service_role_activate_machine(${key}, 'fp', ${name}, ${platform})`);
            await call("license_validation", tx`public.service_role_check_license(${key}, '192.0.2.1', 'fp')`);
            await call("license_details", tx`public.service_role_license_details(${key})`);
          }
          await call("license_validation", tx`public.service_role_validate_license('ABCDE-FGHJK-MNPQR-STVWX')`);
          // Email (20261207001200_email.sql): claims of a user's mail, of an invitation to an address with no
          // account (no user) and of a mail with no address at all; events about a known mail and an unknown one.
          await as(null);
          const mailUser = await newUser();
          await tx`insert into public.email_outbox (user_id, template, dedupe_key, payload) values
            (${mailUser}, 'welcome', ${`t_res_mail_${mailUser}`}, '{}'),
            (null, 'team_invitation', ${`t_res_inv_${mailUser}`}, '{"email": "invitee@test.local"}'),
            (null, 'welcome', ${`t_res_none_${mailUser}`}, '{}')`;
          await tx`insert into public.email_suppressions (email, reason, source) values ('invitee@test.local', 'complaint', 't')`;
          for (const row of await tx`select to_jsonb(c) as r from public.service_role_claim_emails('t_res', 1000) c`) {
            collect("email_claim", row.r);
          }
          const [{ id: mailId }] = await tx`select id from public.email_outbox where dedupe_key = ${`t_res_mail_${mailUser}`}`;
          await tx`select public.service_role_complete_email(${mailId}, 'resend', ${`t_res_msg_${mailUser}`})`;
          await call("email_event_result",
            tx`public.service_role_record_email_event('resend', ${`t_res_e1_${mailUser}`}, 'delivered', ${`t_res_msg_${mailUser}`})`);
          await call("email_event_result",
            tx`public.service_role_record_email_event('resend', ${`t_res_e2_${mailUser}`}, 'bounced', 'unknown', 'x@test.local')`);
          // Runtime settings: one override in force (the others null), the public status off then on, the
          // functions' snapshot.
          await as(admin, "admin");
          await tx`select public.admin_set_runtime_settings('{"feature.chat.credits": 2}', 'a test change')`;
          for (const row of await tx`select to_jsonb(s) as r from public.admin_runtime_settings() s`) {
            collect("runtime_setting", row.r);
          }
          await call("runtime_status", tx`public.get_runtime_status()`);
          await tx`select public.admin_set_runtime_settings(
            '{"maintenance.enabled": true, "announcement.message": "Back soon"}', 'a test change')`;
          await call("runtime_status", tx`public.get_runtime_status()`);
          await as(null);
          await call("runtime_settings_snapshot", tx`public.service_role_runtime_settings()`);

          // Catalog: the sync, with the catalog it holds now.
          await as(null);
          const [{ catalog }] = await tx`select jsonb_build_object(
              'plans', (select jsonb_agg(to_jsonb(p)) from public.plans p where p.active),
              'features', (select jsonb_agg(to_jsonb(f)) from public.features f where f.active),
              'plan_quotas', (select jsonb_agg(to_jsonb(q)) from public.plan_quotas q),
              'credit_packs', (select coalesce(jsonb_agg(to_jsonb(c)), '[]') from public.credit_packs c where c.active),
              'chat_personas', (select coalesce(jsonb_agg(to_jsonb(c)), '[]') from public.chat_personas c where c.active),
              'chat_models', (select coalesce(jsonb_agg(to_jsonb(c)), '[]') from public.chat_models c where c.active)
            ) as catalog`;
          await call("config_sync_summary", tx`public.service_role_sync_config(${catalog})`);

          // Releases (20261207001100_releases.sql): an offer, downloads by nobody signed in (no account, no
          // license) and by a user (their account), the analytics.
          await tx`select public.service_role_sync_releases(${tx.json({
            release_products: [{ id: "sqlres-tool", name: "Tool", license_required: false }],
          })})`;
          const [{ id: release }] = await tx`select id from public.service_role_create_release(null, 'sqlres-tool', '1.0.0', 'stable')`;
          await tx`select public.service_role_add_release_artifact(null, ${release}, 'linux-x64', 'tool.bin',
            'sqlres-tool/1.0.0/linux-x64/tool.bin', ${"a".repeat(64)}, 10)`;
          await tx`select public.service_role_publish_release(null, ${release})`;
          await call("release_offer", tx`public.service_role_latest_release('sqlres-tool', 'stable', 'linux-x64', '0.9.0')`);
          await call("release_download", tx`public.service_role_authorize_download('sqlres-tool', '1.0.0', 'linux-x64')`);
          await call("release_download", tx`public.service_role_authorize_download('sqlres-tool', null, 'linux-x64', ${user})`);
          for (const row of await tx`select to_jsonb(d) as r from public.service_role_release_downloads('sqlres-tool',
              current_date - 1, current_date + 1) d`) collect("release_download_count", row.r);

          // Images: a generation started (pending: no image yet), finished, replayed (its image), and one failed.
          await as(null);
          const models = ["gemini-2.5-flash-image"];
          const started = await call("generation_start",
            tx`public.service_role_start_generation(null, ${user}, 'res-img-1', 'coloring_page', 'a cat', null, '1024x1024', ${models})`);
          await call("generation_outcome", tx`public.service_role_finish_generation(${started.generation_id as string},
            'gemini-image', 'gemini-2.5-flash-image', 'x/y.png', 'image/png', 10, 1, 2)`);
          await call("generation_start",
            tx`public.service_role_start_generation(null, ${user}, 'res-img-1', 'coloring_page', 'a cat', null, '1024x1024', ${models})`);
          const failing = await call("generation_start",
            tx`public.service_role_start_generation(null, ${user}, 'res-img-2', 'coloring_page', 'a dog', null, '1024x1024', ${models})`);
          await call("generation_outcome",
            tx`public.service_role_fail_generation(${failing.generation_id as string}, 'failed', 'no provider')`);

          // Every composite type in `public` is declared in NULLABLE (whoever adds one says which fields may be null).
          const types = (await tx`select t.typname from pg_type t join pg_class c on c.oid = t.typrelid
            where t.typnamespace = 'public'::regnamespace and c.relkind = 'c' order by 1`).map((r) =>
            r.typname
          );
          assert.deepEqual(
            types.filter((t) => !(t in NULLABLE)),
            [],
            "composite types missing from NULLABLE in sql-results.ts",
          );
          throw rollback;
        }),
        (err) => err === rollback,
      );
    } finally {
      await sql.end();
    }

    for (const name of Object.keys(NULLABLE) as Name[]) {
      const rows = samples.get(name) ?? [];
      assert.ok(rows.length > 0, `${name}: no result seen`);
      const nullable: readonly string[] = NULLABLE[name];
      for (const row of rows) {
        const unset = Object.keys(row).filter((field) => row[field] === null && !nullable.includes(field));
        assert.deepEqual(
          unset,
          [],
          `${name}: null where sql-results.ts says it never is: ${JSON.stringify(row)}`,
        );
      }
    }
    // ... and the fields it calls nullable are those that do come null here (no stale entry).
    const seenNull = (name: Name, field: string) =>
      (samples.get(name) ?? []).some((row) => row[field] === null);
    const declared = (Object.keys(NULLABLE) as Name[]).flatMap((name) =>
      (NULLABLE[name] as readonly string[]).map((field) => [name, field] as const)
    );
    const neverNull = declared.filter(([name, field]) => !seenNull(name, field));
    assert.deepEqual(neverNull, NEVER_NULL_HERE, "nullable fields this test never saw null");
  },
});

// Declared nullable though no state reached here makes them null (none today). Kept as a list, so that an entry
// is a decision.
const NEVER_NULL_HERE: (readonly [Name, string])[] = [];
