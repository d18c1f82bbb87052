// Upgrading a deployed database to accounts: a database migrated only up to the shipped migrations
// (20261124*), filled with users and money through that version's API, then brought to the end by
// `supabase db push` as a fork does. Every money row is the same afterwards, keyed by account_id = the old
// user_id (the personal account's id is its user's), every user has their personal account and its owner
// membership, and the upgraded API goes on from the same books.
import { cpSync, mkdirSync, readdirSync } from "node:fs";
import { join } from "node:path";
import type postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bootstrapPlatform, connect, pushMigrations, supabaseCli } from "../src/local/database.ts";
import { freePort } from "../src/local/functions.ts";
import { prepareHostedCluster } from "../src/local/hosted.ts";
import { ROOT } from "../src/local/paths.ts";
import { LocalCluster } from "../src/local/postgres.ts";
import { tempDir } from "../src/local/throwaway.ts";

const SHIPPED = "20261124";
// The tables whose rows must come through unchanged (those of money, and what billing keeps for the account).
const TABLES = [
  "public.wallets", "public.credit_ledger", "public.credit_lots", "public.usage_counters", "public.credit_reservations",
  "saasbase.lot_holds", "public.customers", "public.subscriptions", "public.purchases", "public.invoices",
];

let cluster: LocalCluster;
let project: string;
let sql: postgres.Sql;
const users: string[] = [];

/** Runs `fn` as the signed-in user, as PostgREST runs a request of theirs. */
function asUser<T>(id: string, fn: (tx: postgres.TransactionSql) => Promise<T>): Promise<T> {
  return sql.begin(async (tx) => {
    await tx`select set_config('request.jwt.claims', ${JSON.stringify({ sub: id, role: "authenticated" })}, true),
      set_config('role', 'authenticated', true)`;
    return fn(tx);
  }) as Promise<T>;
}

/** Every row of the tables, as JSON objects. */
async function snapshot(): Promise<Record<string, Record<string, unknown>[]>> {
  const out: Record<string, Record<string, unknown>[]> = {};
  for (const t of TABLES) {
    out[t] = (await sql.unsafe(`select to_jsonb(t) as r from ${t} t`)).map((row) => row.r);
  }
  return out;
}

beforeAll(async () => {
  cluster = new LocalCluster({ dataDir: `${tempDir("saasbase-upgrade-")}/db`, port: await freePort(), durable: false });
  await cluster.start();
  await prepareHostedCluster(cluster);
  await bootstrapPlatform(cluster.url);
  // A project folder holding only the shipped migrations: what a fork deployed before accounts.
  project = tempDir("saasbase-upgrade-project-");
  mkdirSync(join(project, "supabase", "migrations"), { recursive: true });
  cpSync(join(ROOT, "supabase", "config.toml"), join(project, "supabase", "config.toml"));
  const shipped = readdirSync(join(ROOT, "supabase", "migrations")).filter((f) => f.startsWith(SHIPPED));
  for (const f of shipped) cpSync(join(ROOT, "supabase", "migrations", f), join(project, "supabase", "migrations", f));
  await supabaseCli(["db", "push", `--remote=${cluster.url}`, "--include-all", "--yes", "--workdir", project], { quiet: true });
  sql = connect(cluster.url, 4);
}, 180_000);
afterAll(async () => {
  await sql?.end();
  await cluster?.destroy();
});

describe("upgrade from the shipped migrations", () => {
  it("starts from the old schema: money keyed by user_id, no accounts", async () => {
    const [{ accounts, column }] = await sql`select to_regclass('public.accounts') as accounts,
      (select column_name from information_schema.columns where table_schema = 'public' and table_name = 'wallets'
        and column_name = 'user_id') as column`;
    expect({ accounts, column }).toEqual({ accounts: null, column: "user_id" });
  });

  it("keeps every money row, keyed by account_id = the old user_id, and gives every user their account", async () => {
    // The old version's catalog and settings (its config sync's rows, written directly: today's config has
    // sections the old sync does not know).
    await sql`update saasbase.settings set signup_credits = 100, grant_expiry_days = 30, reservation_ttl_minutes = 15`;
    await sql`insert into public.plans (id, name, price_monthly_cents, is_default, discount_percent)
      values ('free', 'Free', 0, true, 0), ('pro', 'Pro', 1900, false, 10)`;
    await sql`insert into public.features (id, name, credits) values ('u_paid', 'Paid', 5), ('u_daily', 'Daily', 2)`;
    await sql`insert into public.plan_quotas (plan_id, feature_id, period, free_limit, overage)
      values ('free', 'u_daily', 'day', 1, 'credits')`;

    // Users signed up through the old triggers (wallet, sign-up credits as an expiring lot, profile).
    for (const name of ["ann", "bob", "cid"]) {
      const [{ id }] = await sql`insert into auth.users (instance_id, id, aud, role, email, encrypted_password,
          email_confirmed_at, raw_app_meta_data, raw_user_meta_data, created_at, updated_at)
        values ('00000000-0000-0000-0000-000000000000', gen_random_uuid(), 'authenticated', 'authenticated',
          ${`${name}-${crypto.randomUUID()}@test.local`}, '', now(), '{"provider": "email"}', '{}', now(), now())
        returning id`;
      users.push(id);
    }
    const [ann, bob, cid] = users;
    await sql`update public.profiles set plan_id = 'pro' where id = ${bob}`;

    // Money through the old API: charges (quota and credits), reservations settled, released, open (one
    // holding expiring credits), a server-held one, grants, removals, a purchase and an invoice.
    await sql`select public.service_role_grant_credits(${ann}, 500, 'grant', 'gift', 'g-1')`;
    await asUser(ann, async (tx) => {
      await tx`select public.charge_credits('u_daily', 1, 'c-1')`;
      await tx`select public.charge_credits('u_daily', 2, 'c-2')`;
      await tx`select public.charge_credits('u_paid', 3, 'c-3')`;
      const [s] = await tx`select (public.reserve_credits('u_paid', 1, 'r-1', 20)).reservation_id as id`;
      await tx`select public.settle_reservation(${s.id}, 12)`;
      const [r] = await tx`select (public.reserve_credits('u_paid', 1, 'r-2', 8)).reservation_id as id`;
      await tx`select public.release_reservation(${r.id})`;
      await tx`select public.reserve_credits('u_paid', 2, 'r-open', 150)`; // draws the expiring sign-up lot first
    });
    await sql`select public.service_role_reserve_credits(${bob}, 'u_paid', 1, 'srv-1', 30)`;
    await asUser(bob, (tx) => tx`select public.charge_credits('u_paid', 1, 'b-1')`);
    await sql`select public.service_role_debit_credits(${bob}, 7, 'adjustment', 'correction', 'd-1')`;
    await sql`select public.service_role_stripe_user(${cid}::text, 'cus_upgrade')`;
    await sql`select public.service_role_record_credit_purchase(${cid}, 'cs_upgrade', 'pi_upgrade', null, 250, 900, 'usd', 0)`;
    await sql`select public.service_role_upsert_subscription('sub_upgrade', ${cid}, 'active', null, now(),
      now() + interval '30 days', false, null, now())`;
    await sql`select public.service_role_record_invoice('in_upgrade', ${cid}, 'paid', null, 'manual', 1900, 1900, 'usd', null)`;

    const before = await snapshot();
    // The test is about data: every table has some.
    for (const t of TABLES) expect(before[t].length, `${t} has rows before the upgrade`).toBeGreaterThan(0);
    expect(new Set(before["public.credit_reservations"].map((r) => r.status))).toEqual(new Set(["open", "settled", "released"]));

    // A fork that deployed the teams core first, and made a team with it, then the rest.
    const teams = readdirSync(join(ROOT, "supabase", "migrations")).find((f) => f.endsWith("_teams.sql"))!;
    cpSync(join(ROOT, "supabase", "migrations", teams), join(project, "supabase", "migrations", teams));
    await supabaseCli(["db", "push", `--remote=${cluster.url}`, "--include-all", "--yes", "--workdir", project], { quiet: true });
    const [team] = await asUser(ann, (tx) => tx`select (public.create_team('Early', ${`early-${ann.slice(0, 8)}`})).id`);
    await pushMigrations(cluster.url);
    expect((await sql`select balance::int from public.wallets where account_id = ${team.id}`)[0]?.balance,
      'a team made before account credits gets its wallet').toBe(0);

    const after = await snapshot();
    // The early team's wallet is new; every other row is an old one.
    after["public.wallets"] = after["public.wallets"].filter((w) => w.account_id !== team.id);
    for (const t of TABLES) {
      // Each row as it was: its old columns, user_id now read from account_id where the table was renamed.
      const seen = after[t].map((row) => {
        const old = before[t][0];
        return Object.fromEntries(Object.keys(old).map((k) => [k, k === "user_id" && !("user_id" in row) ? row.account_id : row[k]]));
      });
      const sort = (rows: Record<string, unknown>[]) => rows.map((r) => JSON.stringify(r)).sort();
      expect(sort(seen), `${t} unchanged`).toEqual(sort(before[t]));
      // New columns of the old rows are empty: who spent was not recorded before.
      for (const row of after[t]) if ("actor_id" in row) expect(row.actor_id).toBeNull();
    }
    const renamed = await sql`select table_name from information_schema.columns
      where table_schema = 'public' and column_name = 'account_id' and table_name in ('wallets', 'credit_ledger',
        'credit_lots', 'usage_counters', 'credit_reservations', 'customers', 'subscriptions', 'purchases', 'invoices')`;
    expect(renamed).toHaveLength(9);

    // Every user has their personal account (id = user id, their plan) and owns it.
    const accounts = await sql`select a.id, a.kind, a.personal_user_id, a.plan_id, m.user_id, m.role
      from public.accounts a join public.account_members m on m.account_id = a.id where a.id = any(${users}::uuid[])
      order by a.id`;
    expect(accounts.map((a) => ({ ...a }))).toEqual([...users].sort().map((id) => ({
      id, kind: "personal", personal_user_id: id, plan_id: id === bob ? "pro" : null, user_id: id, role: "owner",
    })));
  });

  it("the upgraded API goes on from the same books: the open reservations close, charges go through", async () => {
    const [ann, bob] = users;
    await asUser(ann, async (tx) => {
      const [r] = await tx`select id from public.credit_reservations where idempotency_key = 'r-open'`;
      await tx`select public.settle_reservation(${r.id}, 100)`;
      await tx`select public.charge_credits('u_paid', 1, 'after-1')`;
      // A key used before the upgrade still replays.
      expect((await tx`select (public.charge_credits('u_paid', 3, 'c-3')).replayed`)[0].replayed).toBe(true);
    });
    const [srv] = await sql`select id from public.credit_reservations where idempotency_key = 'srv-1'`;
    await sql`select public.service_role_release_reservation(null, ${bob}, ${srv.id})`;
    const books = await sql`select w.account_id, w.balance, w.reserved,
        (select sum(amount) from public.credit_ledger l where l.account_id = w.account_id) as ledger
      from public.wallets w where w.account_id = any(${users}::uuid[])`;
    for (const b of books) expect({ balance: b.balance, reserved: b.reserved }).toEqual({ balance: b.ledger, reserved: "0" });
    const [{ plan }] = await asUser(bob, (tx) => tx`select (public.get_wallet()).plan`);
    expect(plan).toBe("pro");
  });
});
