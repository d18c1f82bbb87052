// payments.provider "both" (tests/fixtures/polar-both.config.ts) on a stack of its own: the checkout function sells
// plans through Stripe and credits through Polar, the portal is Stripe's, and each sync keeps to its own rows.
import { join } from "node:path";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { syncPolarCatalog } from "../src/billing/polar-sync.ts";
import { syncStripeCatalog } from "../src/billing/stripe-sync.ts";
import { loadProductConfig } from "../src/config/presets.ts";
import { userToken } from "../src/local/jwt.ts";
import { ROOT } from "../src/local/paths.ts";
import { stripeCatalog } from "../supabase/functions/_shared/billing-catalog.ts";
import { polarCatalog } from "../supabase/functions/_shared/billing/polar/catalog.ts";
import { createPolarClient } from "../supabase/functions/_shared/billing/polar/client.ts";
import { createStripe } from "../supabase/functions/_shared/stripe-client.ts";
import type { ProductConfig } from "../supabase/functions/_shared/config-schema.ts";
import { deliverPolar, polarEvent } from "./support/polar-webhook.ts";
import { TEST_FUNCTION_ENV } from "./support/stack.ts";
import { startTestStack, type TestStack } from "./support/test-stack.ts";

const CONFIG = join(ROOT, "tests", "fixtures", "polar-both.config.ts");
let t: TestStack;
let sql: postgres.Sql;
let gotrue: postgres.Sql;
let config: ProductConfig;

beforeAll(async () => {
  config = await loadProductConfig(CONFIG);
  t = await startTestStack({ dirPrefix: "saasbase-polar-both-", preset: CONFIG, functions: ["checkout", "portal", "polar-webhook"], label: "polar-both" });
  sql = postgres(t.stack.dbUrl, { max: 4, onnotice: () => {} });
  gotrue = postgres(t.stack.dbUrl, { username: "supabase_auth_admin", password: "postgres", max: 1, onnotice: () => {} });
  // Each sync, then the other's again: neither retires the other's rows.
  const stripe = createStripe(TEST_FUNCTION_ENV.STRIPE_SECRET_KEY, t.stripe.url);
  const polar = createPolarClient(TEST_FUNCTION_ENV.POLAR_ACCESS_TOKEN, "production", t.polar.url);
  await syncStripeCatalog(stripe, sql, stripeCatalog(config), config.currency);
  await syncPolarCatalog(polar, sql, polarCatalog(config), config.currency);
  await syncStripeCatalog(stripe, sql, stripeCatalog(config), config.currency);
});
afterAll(async () => {
  await sql?.end();
  await gotrue?.end();
  await t?.stop();
});

async function signUp() {
  const email = `both-${crypto.randomUUID()}@test.local`;
  const [{ id }] = await gotrue`
    insert into auth.users (instance_id, id, aud, role, email, encrypted_password, email_confirmed_at,
      raw_app_meta_data, raw_user_meta_data, created_at, updated_at)
    values ('00000000-0000-0000-0000-000000000000', gen_random_uuid(), 'authenticated', 'authenticated', ${email}, '',
      now(), '{"provider":"email","providers":["email"]}', '{}', now(), now())
    returning id`;
  return { id: id as string, token: await userToken({ id, email }, t.stack.jwtSecret) };
}

const call = (name: string, token: string, body: unknown) =>
  fetch(`${t.stack.functionsUrl}/${name}`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });

describe('payments.provider "both"', () => {
  it("keeps both catalogs: Stripe's plans and packs, Polar's packs and deposit, each active once", async () => {
    const rows = await sql`select provider, lookup_key from public.prices where active order by provider, lookup_key`;
    expect(rows.map((r) => `${r.provider}:${r.lookup_key}`)).toEqual([
      "polar:deposit",
      "polar:pack_credits_1200",
      "stripe:pack_credits_1200",
      "stripe:plan_plus_monthly",
      "stripe:plan_plus_yearly",
    ]);
  });

  it("sells a plan through Stripe, credits through Polar, and opens Stripe's portal", async () => {
    const user = await signUp();
    const polarBefore = t.polar.state.checkouts.size;
    const plan = await call("checkout", user.token, { price: "plan_plus_monthly" });
    expect(plan.status).toBe(200);
    const session = await plan.json();
    expect(session.id).toMatch(/^cs_/);
    expect(t.stripe.state.sessions.get(session.id)).toMatchObject({ mode: "subscription" });
    expect(t.polar.state.checkouts.size).toBe(polarBefore);

    const deposit = await call("checkout", user.token, { amount_cents: 500 });
    expect(deposit.status).toBe(200);
    const { id } = await deposit.json();
    expect(t.polar.state.checkouts.get(id)).toMatchObject({ total_amount: 500, external_customer_id: user.id });
    const pack = await call("checkout", user.token, { pack: "credits_1200" });
    expect(t.polar.state.checkouts.has((await pack.json()).id)).toBe(true);

    const { order } = t.polar.completeCheckout(id);
    const paid = await deliverPolar(t.stack.functionsUrl, polarEvent("order.paid", order));
    expect((await paid.json()).outcome).toBe("applied");
    expect((await sql`select balance::int from public.wallets where account_id = ${user.id}`)[0].balance).toBe(500);

    const portal = await call("portal", user.token, {});
    expect(portal.status).toBe(200);
    expect(t.stripe.state.portalSessions.at(-1)).toMatchObject({ customer: t.stripe.state.sessions.get(session.id)!.customer });
    expect(t.polar.state.customerSessions).toEqual([]);
  });
});
