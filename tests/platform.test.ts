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
      const plans = await sql`select id, price_monthly_cents, monthly_credits, is_default from public.plans
        where active and id = any(${config.plans.map((p) => p.id)}) order by sort_order`;
      expect(plans.map((p) => ({ ...p }))).toEqual(config.plans.map((p) => ({
        id: p.id,
        price_monthly_cents: p.priceMonthlyCents,
        monthly_credits: p.monthlyCredits,
        is_default: p.id === config.defaultPlan,
      })));
      const [{ n }] = await sql`select count(*)::int as n from public.plan_quotas
        where feature_id = any(${Object.keys(config.features)})`;
      expect(n).toBe(config.plans.reduce((k, p) => k + p.quotas.length + p.unlimited.length, 0));
      const features = await sql`select id, credits from public.features
        where active and id = any(${Object.keys(config.features)}) order by id`;
      expect(Object.fromEntries(features.map((f) => [f.id, f.credits]))).toEqual(
        Object.fromEntries(Object.entries(config.features).map(([id, f]) => [id, f.credits])),
      );
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

  it("refuses a payload without plans or features", async () => {
    const sql = connectDb();
    try {
      await expect(sql`select public.service_role_sync_config('{"plans": []}')`).rejects.toMatchObject({ code: "22023" });
    } finally {
      await sql.end();
    }
  });
});
