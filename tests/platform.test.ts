// The platform bootstrap on plain Postgres, and the product config sync.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import postgres from "postgres";
import { catalogRows } from "../src/config/catalog.ts";
import { bootstrapPlatform, connect } from "../src/local/database.ts";
import { freePort } from "../src/local/functions.ts";
import { LocalCluster } from "../src/local/postgres.ts";
import { tempDir } from "../src/local/throwaway.ts";
import { config } from "../supabase/functions/_shared/config.ts";
import { connectDb } from "./support/stack.ts";

describe("platform bootstrap on an empty cluster", () => {
  let cluster: LocalCluster;

  beforeAll(async () => {
    cluster = new LocalCluster({ dataDir: `${tempDir("saasbase-boot-")}/db`, port: await freePort(), durable: false });
    await cluster.start();
  });
  afterAll(async () => {
    await cluster?.destroy();
  });

  it("creates Supabase's roles, schemas, auth.users and auth helpers, once", async () => {
    expect(await bootstrapPlatform(cluster.url)).toBe(true);
    expect(await bootstrapPlatform(cluster.url)).toBe(false); // auth.users exists now: left alone

    const sql = connect(cluster.url);
    try {
      const roles = await sql`select rolname, rolbypassrls, rolcanlogin from pg_roles
        where rolname in ('anon', 'authenticated', 'service_role', 'authenticator', 'supabase_auth_admin') order by 1`;
      expect(roles.map((r) => [r.rolname, r.rolbypassrls, r.rolcanlogin])).toEqual([
        ["anon", false, false],
        ["authenticated", false, false],
        ["authenticator", false, true],
        ["service_role", true, false],
        ["supabase_auth_admin", false, true],
      ]);

      // auth.uid()/auth.jwt() read the claims PostgREST sets for a request, under the request's role.
      const sub = crypto.randomUUID();
      const [row] = await sql.begin(async (tx) => {
        await tx`select set_config('request.jwt.claims', ${JSON.stringify({ sub, role: "authenticated", email: "x@y.z" })}, true)`;
        await tx`set local role authenticated`;
        return tx`select auth.uid() as uid, auth.role() as role, auth.email() as email, auth.jwt() ->> 'sub' as jwt_sub`;
      });
      expect(row).toEqual({ uid: sub, role: "authenticated", email: "x@y.z", jwt_sub: sub });

      // As on Supabase, API roles cannot read auth.users directly.
      await expect(sql.begin(async (tx) => {
        await tx`set local role authenticated`;
        await tx`select * from auth.users`;
      })).rejects.toMatchObject({ code: "42501" });
    } finally {
      await sql.end();
    }
  });
});

describe("config sync", () => {
  it("mirrors plans, features, quotas and packs of saasbase.config.ts", async () => {
    const sql = connectDb();
    try {
      // Other test files add plans and features of their own: the config's must all be there, as configured.
      const plans = await sql`select id, price_monthly_cents, monthly_credits, is_default, per_seat, max_seats
        from public.plans where active and id = any(${config.plans.map((p) => p.id)}) order by sort_order`;
      expect(plans.map((p) => ({ ...p }))).toEqual(config.plans.map((p) => ({
        id: p.id,
        price_monthly_cents: p.priceMonthlyCents,
        monthly_credits: p.monthlyCredits,
        is_default: p.id === config.defaultPlan,
        per_seat: p.perSeat,
        max_seats: p.maxSeats ?? null,
      })));
      const [{ n }] = await sql`select count(*)::int as n from public.plan_quotas
        where feature_id = any(${Object.keys(config.features)})`;
      expect(n).toBe(config.plans.reduce((k, p) => k + p.quotas.length + p.unlimited.length, 0));
      const features = await sql`select id, credits from public.features
        where active and id = any(${Object.keys(config.features)}) order by id`;
      expect(Object.fromEntries(features.map((f) => [f.id, f.credits]))).toEqual(
        Object.fromEntries(Object.entries(config.features).map(([id, f]) => [id, f.credits])),
      );
      const roles = await sql`select role, name, rights, sort_order from public.team_roles order by sort_order`;
      expect(roles.map((r) => ({ ...r }))).toEqual(config.teams.roles.map((r, i) => ({
        role: r.id, name: r.name, rights: r.rights, sort_order: i,
      })));
      const [settings] = await sql`select invitation_expiry_days, reusable_link_invitations, invitations_per_day,
        teams_per_month from saasbase.settings`;
      expect({ ...settings }).toEqual({
        invitation_expiry_days: config.teams.invitationExpiryDays,
        reusable_link_invitations: config.teams.reusableLinks,
        invitations_per_day: config.teams.invitationsPerDay,
        teams_per_month: config.teams.teamsPerMonth,
      });
    } finally {
      await sql.end();
    }
  });

  it("is idempotent, and deactivates what the config no longer has instead of deleting it", async () => {
    // In a transaction rolled back at the end: other test files add features of their own meanwhile, which
    // a committed sync would deactivate.
    const sql = connectDb();
    const rollback = new Error("rollback");
    try {
      await expect(sql.begin(async (tx) => {
        const payload = tx.json(catalogRows(config) as unknown as postgres.JSONValue);
        const [first] = await tx`select to_jsonb(public.service_role_sync_config(${payload})) as s`;
        const before = await tx`select * from public.plans order by id`;
        const [second] = await tx`select to_jsonb(public.service_role_sync_config(${payload})) as s`;
        expect(first.s).toMatchObject({ plans: config.plans.length, features: Object.keys(config.features).length });
        expect(second.s).toEqual(first.s);
        expect(await tx`select * from public.plans order by id`).toEqual(before);

        await tx`select public.service_role_sync_config(${tx.json({
          features: [{ id: "chat", name: "Chat", credits: 2, unit: "message" }],
          plans: [{ id: "solo", name: "Solo", price_monthly_cents: 500, is_default: true }],
        })})`;
        const plans = await tx`select id, active, is_default from public.plans order by id`;
        expect(plans.filter((p) => p.active).map((p) => p.id)).toEqual(["solo"]);
        expect(plans.filter((p) => p.is_default).map((p) => p.id)).toEqual(["solo"]);
        expect(plans.map((p) => p.id)).toEqual(expect.arrayContaining(["free", "plus", "business"]));
        const [{ credits }] = await tx`select credits from public.features where id = 'chat'`;
        expect(credits).toBe(2);
        // A removed plan keeps its quotas: its subscribers still hold it, and keep what they pay for.
        const [{ n }] = await tx`select count(*)::int as n from public.plan_quotas where plan_id = 'plus'`;
        const plus = config.plans.find((p) => p.id === "plus")!;
        expect(n).toBe(plus.quotas.length + plus.unlimited.length);
        throw rollback;
      })).rejects.toBe(rollback);
    } finally {
      await sql.end();
    }
  });

  it("syncs team roles: added, changed and unheld ones removed; a role members hold refuses the whole sync", async () => {
    const sql = connectDb();
    const rollback = new Error("rollback");
    try {
      await expect(sql.begin(async (tx) => {
        const rows = catalogRows(config);
        const withRoles = (roles: typeof rows.team_roles, extra: Partial<typeof rows> = {}) =>
          tx.json({ ...rows, ...extra, team_roles: roles } as unknown as postgres.JSONValue);
        // "billing" goes (nobody holds it here), "viewer" comes, "member" is renamed.
        const roles = [
          ...rows.team_roles.filter((r) => r.role !== "billing").map((r) => r.role === "member" ? { ...r, name: "Teammate" } : r),
          { role: "viewer", name: "Viewer", rights: [], sort_order: 9 },
        ];
        await tx`update public.account_members set role = 'member' where role = 'billing'`;
        const [{ s }] = await tx`select to_jsonb(public.service_role_sync_config(${withRoles(roles)})) as s`;
        expect(s.team_roles).toBe(4);
        const after = await tx`select role, name from public.team_roles order by sort_order`;
        expect(after.map((r) => [r.role, r.name])).toEqual([["owner", "Owner"], ["admin", "Admin"], ["member", "Teammate"], ["viewer", "Viewer"]]);

        // A member holds "viewer": a config without it is refused, and nothing of the sync is applied.
        const [{ id: team }] = await tx`insert into public.accounts (kind, name, slug) values ('team', 'Sync', ${`sync-${crypto.randomUUID().slice(0, 8)}`}) returning id`;
        const [{ id: user }] = await tx`select id from auth.users limit 1`;
        await tx`insert into public.account_members (account_id, user_id, role) values (${team}, ${user}, 'viewer')`;
        const changedPrice = rows.plans.map((p) => ({ ...p, price_monthly_cents: p.price_monthly_cents + 100 }));
        await tx`savepoint refused`;
        await expect(tx`select public.service_role_sync_config(${withRoles(roles.filter((r) => r.role !== "viewer"), { plans: changedPrice })})`)
          .rejects.toMatchObject({ code: "PT409", detail: "role_in_use", message: expect.stringContaining("viewer (1 members)") });
        await tx`rollback to savepoint refused`;
        const [{ n }] = await tx`select count(*)::int as n from public.team_roles where role = 'viewer'`;
        expect(n).toBe(1);
        const prices = await tx`select price_monthly_cents from public.plans where id = ${rows.plans[1].id}`;
        expect(prices[0].price_monthly_cents).toBe(rows.plans[1].price_monthly_cents);

        // Without an owner holding every right the roles are refused too.
        await tx`savepoint ownerless`;
        await expect(tx`select public.service_role_sync_config(${withRoles(roles.filter((r) => r.role !== "owner"))})`)
          .rejects.toMatchObject({ code: "22023" });
        await tx`rollback to savepoint ownerless`;
        throw rollback;
      })).rejects.toBe(rollback);
    } finally {
      await sql.end();
    }
  });

  it("refuses a payload without plans or features", async () => {
    const sql = connectDb();
    try {
      await expect(sql`select public.service_role_sync_config('{"plans": []}')`).rejects.toMatchObject({ code: "22023" });
    } finally {
      await sql.end();
    }
  });
});
