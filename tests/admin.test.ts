// Analytics events, KPIs and the admin API against the real database. KPIs are checked on a data set
// seeded in March 2021 (no other test writes there), inside a transaction rolled back at the end; the
// expected figures are computed here from the seed itself, not copied from the function's output.
import postgres from "postgres";
import { afterAll, describe, expect, it } from "vitest";
import { asUser, connectDb, createUser } from "./support/stack.ts";

const sql = connectDb();
afterAll(() => sql.end());
const mail = () => `adm-${crypto.randomUUID()}@test.local`;

describe("analytics events", () => {
  it("users record their own events, visitors anonymous ones; nobody records for someone else", async () => {
    const a = await createUser(sql, mail());
    const b = await createUser(sql, mail());
    await asUser(sql, a.id, (tx) => tx`insert into public.events (name, user_id, properties) values ('installation.attempted', ${a.id}, '{"ide": "cursor"}')`);
    await expect(asUser(sql, a.id, (tx) => tx`insert into public.events (name, user_id) values ('x', ${b.id})`)).rejects.toMatchObject({ code: "42501" });
    await sql.begin(async (tx) => {
      await tx`set local role anon`;
      await tx`insert into public.events (name, anonymous_id) values ('page.viewed', 'visitor-12345678')`;
    });
    await expect(sql.begin(async (tx) => {
      await tx`set local role anon`;
      await tx`insert into public.events (name, user_id, anonymous_id) values ('x', ${a.id}, 'visitor-12345678')`;
    })).rejects.toMatchObject({ code: "42501" });
    const mine = await asUser(sql, a.id, (tx) => tx`select name from public.events`);
    expect(mine.map((e) => e.name)).toEqual(["installation.attempted"]);
  });

  it("rate-limits an actor to 120 events a minute", async () => {
    const anonymous = `burst-${crypto.randomUUID()}`;
    await sql.begin(async (tx) => {
      await tx`set local role anon`;
      for (let i = 0; i < 120; i++) await tx`insert into public.events (name, anonymous_id) values ('tick', ${anonymous})`;
    });
    await expect(sql.begin(async (tx) => {
      await tx`set local role anon`;
      await tx`insert into public.events (name, anonymous_id) values ('tick', ${anonymous})`;
    })).rejects.toMatchObject({ code: "PT429", message: "Too many events: at most 120 a minute" });
    // The actor's own limit, not the visitors' total: another visitor still records.
    await sql.begin(async (tx) => {
      await tx`set local role anon`;
      await tx`insert into public.events (name, anonymous_id) values ('tick', ${`other-${crypto.randomUUID()}`})`;
    });
  });
});

describe("admin API", () => {
  it("refuses non-admins with PT403 (HTTP 403 through PostgREST)", async () => {
    const user = await createUser(sql, mail());
    for (const call of [
      (tx: postgres.TransactionSql) => tx`select public.admin_kpis(current_date, current_date)`,
      (tx: postgres.TransactionSql) => tx`select * from public.admin_search_users()`,
      (tx: postgres.TransactionSql) => tx`select public.admin_adjust_credits(${user.id}, 100, 'gift for me')`,
      (tx: postgres.TransactionSql) => tx`select public.admin_set_role(${user.id}, 'admin')`,
      (tx: postgres.TransactionSql) => tx`select public.admin_set_plan(${user.id}, 'business')`,
    ]) {
      await expect(asUser(sql, user.id, call)).rejects.toMatchObject({ code: "PT403" });
    }
    await expect(asUser(sql, user.id, (tx) => tx`insert into public.admin_settings (key, value) values ('k', '1')`))
      .rejects.toMatchObject({ code: "42501" });
  });

  it("adjusts credits through the ledger (reason required), sets role and plan, and audits every write", async () => {
    const admin = await createUser(sql, mail(), { role: "admin" });
    const user = await createUser(sql, mail());
    const balance = async () => (await sql`select balance::int from public.wallets where account_id = ${user.id}`)[0].balance;
    const before = await balance();
    await expect(asUser(sql, admin.id, (tx) => tx`select public.admin_adjust_credits(${user.id}, 50, '')`)).rejects.toMatchObject({ code: "PT422" });
    // Amounts that would overflow a bigint somewhere are refused, not a 500.
    for (const amount of ["-9223372036854775808", "9223372036854775807", "1000000000001"]) {
      await expect(asUser(sql, admin.id, (tx) => tx`select public.admin_adjust_credits(${user.id}, ${amount}::bigint, 'too much')`))
        .rejects.toMatchObject({ code: "PT422", detail: "invalid_amount" });
    }
    await asUser(sql, admin.id, (tx) => tx`select public.admin_adjust_credits(${user.id}, 50, 'support gesture')`);
    await asUser(sql, admin.id, (tx) => tx`select public.admin_adjust_credits(${user.id}, -20, 'correction')`);
    expect(await balance()).toBe(before + 30);
    const adjustments = await sql`select amount::int, reason from public.credit_ledger where account_id = ${user.id} and kind = 'adjustment' order by id`;
    expect(adjustments.map((a) => [a.amount, a.reason])).toEqual([[50, "support gesture"], [-20, "correction"]]);
    // With a key, a form sent twice at once (a double click) adjusts once, either way.
    for (const amount of [7, -3]) {
      const twice = await Promise.all([1, 2].map(() => asUser(sql, admin.id, async (tx) =>
        (await tx`select to_jsonb(public.admin_adjust_credits(${user.id}, ${amount}, 'double click', ${`form-${amount}`})) as r`)[0].r)));
      expect(twice.map((r) => r.replayed).sort()).toEqual([false, true]);
    }
    expect(await balance()).toBe(before + 30 + 7 - 3);
    await expect(asUser(sql, admin.id, (tx) => tx`select public.admin_adjust_credits(${user.id}, 8, 'other', 'form-7')`))
      .rejects.toMatchObject({ code: "PT409", detail: "idempotency_conflict" });

    await asUser(sql, admin.id, (tx) => tx`select public.admin_set_role(${user.id}, 'developer')`);
    await asUser(sql, admin.id, (tx) => tx`select public.admin_set_plan(${user.id}, 'business')`);
    const [profile] = await sql`select p.role, a.plan_id from public.profiles p join public.accounts a on a.id = p.id where p.id = ${user.id}`;
    expect(profile).toEqual({ role: "developer", plan_id: "business" });

    await asUser(sql, admin.id, (tx) => tx`insert into public.admin_settings (key, value) values (${`t.${user.id.slice(0, 8)}`}, '{"on": true}')`);
    await asUser(sql, admin.id, (tx) => tx`update public.admin_settings set value = '{"on": false}' where key = ${`t.${user.id.slice(0, 8)}`}`);
    // supabase-js .upsert() of an existing key: audited as the update it is, once.
    await asUser(sql, admin.id, (tx) => tx`insert into public.admin_settings (key, value) values (${`t.${user.id.slice(0, 8)}`}, '3')
      on conflict (key) do update set value = excluded.value`);
    await expect(asUser(sql, admin.id, (tx) => tx`select public.admin_set_role(${user.id}, ${null})`))
      .rejects.toMatchObject({ code: "PT422", detail: "invalid_role" });

    const audit = await sql`select action, actor_id from public.audit_log
      where actor_id = ${admin.id} order by id`;
    expect(audit.map((a) => a.action)).toEqual([
      "credits.adjust", "credits.adjust", "credits.adjust", "credits.adjust", "user.set_role", "account.set_plan", "admin_settings.insert", "admin_settings.update",
      "admin_settings.update",
    ]);
    // Pages far past the end are empty, not an integer overflow.
    expect(await asUser(sql, admin.id, (tx) => tx`select * from public.admin_search_users(null, 200, 2147483647)`)).toHaveLength(0);
    const found = await asUser(sql, admin.id, (tx) => tx`select * from public.admin_search_users(${"adm-"}, 200)`);
    expect(found.some((u) => u.id === user.id && u.plan_id === "business" && u.credits === String(before + 30 + 7 - 3))).toBe(true);
  });
});

describe("KPIs", () => {
  it("match figures computed independently from a seeded month", async () => {
    // March 2021: in the past and untouched by other tests.
    const D = (day: number, hour = 12) => `2021-03-${String(day).padStart(2, "0")}T${String(hour).padStart(2, "0")}:00:00Z`;
    // The seed: who signed up when, what they did, what they paid.
    const users = [
      { key: "u1", created: D(2) },
      { key: "u2", created: D(5) },
      { key: "u3", created: D(10) },
      { key: "u4", created: D(20) },
    ];
    const events = [
      { user: "u1", name: "page.viewed", at: D(30) },
      { user: "u1", name: "page.viewed", at: D(31) },
      { user: "u2", name: "installation.attempted", at: D(6) },
      { user: "u2", name: "installation.validated", at: D(6, 13), props: { valid: true } },
      { user: "u3", name: "installation.attempted", at: D(11) },
      { user: "u3", name: "installation.validated", at: D(11, 13), props: { valid: false } },
      // Client-written JSON of any shape: counted as valid (only an explicit false is not), never an error.
      { user: "u4", name: "installation.validated", at: D(21), props: { valid: "nope" } },
    ];
    const charges = [
      { user: "u1", quantity: 2, at: D(31, 10) },
      { user: "u2", quantity: 1, at: D(25) },
    ];
    const unitCredits = 3;
    const purchases = [{ user: "u2", cents: 1000, at: D(26) }];
    const invoices = [{ user: "u4", cents: 1900, at: D(22) }];
    const yearlyPrice = 24_000;

    // Expected figures, from the seed.
    const activity = [...events.map((e) => ({ user: e.user, at: e.at })), ...charges.map((c) => ({ user: c.user, at: c.at }))];
    const activeSince = (iso: string) => new Set(activity.filter((a) => a.at >= iso).map((a) => a.user)).size;
    const payers = new Set([...purchases, ...invoices].map((p) => p.user));
    const expected = {
      signups: users.length,
      active_users: activeSince(D(1, 0)),
      dau: activeSince(D(31, 0)),
      wau: activeSince(D(25, 0)),
      mau: activeSince("2021-03-02T00:00:00Z"),
      credits_consumed: charges.reduce((n, c) => n + c.quantity * unitCredits, 0),
      revenue_cents: [...purchases, ...invoices].reduce((n, p) => n + p.cents, 0),
      paying_accounts: payers.size,
      new_paying_accounts: payers.size,
      conversion_rate: payers.size / users.length,
      // u4's subscription is for 3 seats: the price times the quantity.
      mrr_cents: Math.round((yearlyPrice * 3) / 12),
      churned_subscriptions: 1,
      churn_rate: 1,
    };

    const rollback = new Error("rollback");
    await expect(sql.begin(async (tx) => {
      const ids: Record<string, string> = {};
      for (const u of users) {
        [{ id: ids[u.key] }] = await tx`insert into auth.users (id, aud, role, email, raw_app_meta_data, raw_user_meta_data, created_at, updated_at)
          values (gen_random_uuid(), 'authenticated', 'authenticated', ${mail()}, '{}', '{}', ${u.created}, ${u.created}) returning id`;
      }
      for (const e of events) {
        // Received when they happened (the database's clock set back): events more than a week old are dated
        // a week back.
        await tx`select set_config('saasbase.now', ${e.at}, true)`;
        await tx`insert into public.events (name, user_id, properties, occurred_at)
          values (${e.name}, ${ids[e.user]}, ${tx.json(e.props ?? {})}, ${e.at})`;
      }
      await tx`select set_config('saasbase.now', '', true)`;
      const feature = `t_kpi_${crypto.randomUUID().slice(0, 8)}`;
      await tx`insert into public.features (id, name, credits) values (${feature}, 'KPI feature', ${unitCredits})`;
      for (const [i, c] of charges.entries()) {
        await tx`select set_config('saasbase.now', ${c.at}, true),
          set_config('request.jwt.claims', ${JSON.stringify({ sub: ids[c.user], role: "authenticated" })}, true)`;
        await tx`select public.charge_credits(${feature}, ${c.quantity}, ${`kpi-${i}`})`;
      }
      await tx`select set_config('saasbase.now', '', true), set_config('request.jwt.claims', '', true)`;
      for (const [i, p] of purchases.entries()) {
        await tx`insert into public.purchases (account_id, checkout_session_id, credits, amount_cents, currency, created_at)
          values (${ids[p.user]}, ${`cs_kpi_${i}_${feature}`}, 100, ${p.cents}, 'usd', ${p.at})`;
      }
      for (const [i, inv] of invoices.entries()) {
        await tx`insert into public.invoices (id, account_id, status, amount_paid, currency, created_at)
          values (${`in_kpi_${i}_${feature}`}, ${ids[inv.user]}, 'paid', ${inv.cents}, 'usd', ${inv.at})`;
      }
      await tx`insert into public.products (id, kind, plan_id, name) values (${`prod_${feature}`}, 'plan', 'business', 'KPI')`;
      await tx`insert into public.prices (id, product_id, lookup_key, unit_amount, currency, billing_interval)
        values (${`price_${feature}`}, ${`prod_${feature}`}, ${`kpi_${feature}`}, ${yearlyPrice}, 'usd', 'year')`;
      // u4: in force on the 31st; u3: in force on the 1st, canceled on the 15th.
      // (u4's is in force on the 31st however often it renewed since: its current period says nothing of March.)
      await tx`insert into public.subscriptions (id, account_id, status, plan_id, price_id, current_period_start, current_period_end, stripe_event_at, created_at, quantity)
        values (${`sub_kpi_u4_${feature}`}, ${ids.u4}, 'active', 'business', ${`price_${feature}`}, '2026-10-22T12:00:00Z', '2026-11-22T12:00:00Z', now(), ${D(22)}, 3)`;
      await tx`insert into public.subscriptions (id, account_id, status, plan_id, price_id, current_period_start, current_period_end, canceled_at, stripe_event_at, created_at)
        values (${`sub_kpi_u3_${feature}`}, ${ids.u3}, 'canceled', 'business', ${`price_${feature}`}, '2021-02-15T00:00:00Z', ${D(15)}, ${D(15)}, now(), '2021-02-15T00:00:00Z')`;

      const [{ id: adminId }] = await tx`insert into auth.users (id, aud, role, email, raw_app_meta_data, raw_user_meta_data, created_at, updated_at)
        values (gen_random_uuid(), 'authenticated', 'authenticated', ${mail()}, '{"role": "admin"}', '{}', '2020-01-01', now()) returning id`;
      await tx`select set_config('request.jwt.claims', ${JSON.stringify({ sub: adminId, role: "authenticated", app_metadata: { role: "admin" } })}, true),
        set_config('role', 'authenticated', true)`;
      const [{ k }] = await tx`select to_jsonb(public.admin_kpis('2021-03-01', '2021-03-31', 'week')) as k`;

      expect({ ...k.totals, conversion_rate: Number(k.totals.conversion_rate), churn_rate: Number(k.totals.churn_rate) })
        .toMatchObject(expected);
      expect(k.credits_by_feature).toContainEqual({ feature, credits: expected.credits_consumed });
      expect(k.funnel.map((f: { users: number }) => f.users)).toEqual([
        users.length,
        new Set(events.filter((e) => e.name === "installation.attempted").map((e) => e.user)).size,
        new Set(events.filter((e) => e.name === "installation.validated" && e.props?.valid !== false).map((e) => e.user)).size,
        new Set(charges.map((c) => c.user)).size,
        payers.size,
      ]);
      // The weekly series adds up to the totals.
      const sum = (field: string) => k.series.reduce((n: number, b: Record<string, number>) => n + Number(b[field]), 0);
      expect(sum("signups")).toBe(expected.signups);
      expect(sum("revenue_cents")).toBe(expected.revenue_cents);
      expect(sum("credits_consumed")).toBe(expected.credits_consumed);
      expect(k.series[0].start).toBe("2021-03-01T00:00:00+00:00"); // weeks start on Monday (March 1st, 2021 was one)
      expect(k.series).toHaveLength(5);

      // Months in a session time zone other than UTC (PostgREST's `Prefer: timezone=`), over part of the month:
      // UTC buckets, clipped to the range, still adding up to the totals.
      await tx`set local timezone = 'America/New_York'`;
      const [{ k: part }] = await tx`select to_jsonb(public.admin_kpis('2021-03-03', '2021-03-24', 'month')) as k`;
      expect(part.series.map((b: { start: string }) => new Date(b.start).toISOString())).toEqual(["2021-03-03T00:00:00.000Z"]);
      expect(Number(part.series[0].revenue_cents)).toBe(Number(part.totals.revenue_cents));
      expect(Number(part.totals.revenue_cents)).toBe(invoices[0].cents); // the purchase on the 26th is outside
      // Ranges no screen shows are refused, not run for minutes.
      for (const [from, to, bucket] of [["2021-03-01", "2031-03-01", "day"], ["2021-03-01", "infinity", "month"], ["2021-03-01", "2021-03-02", null]]) {
        await expect(tx.savepoint((sp) => sp`select public.admin_kpis(${from}::text::date, ${to}::text::date, ${bucket})`))
          .rejects.toMatchObject({ code: "PT422" });
      }
      throw rollback;
    })).rejects.toBe(rollback);
  });
});
