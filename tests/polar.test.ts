// Polar as the payment provider (payments.provider "polar", tests/fixtures/polar.config.ts) on a stack of its
// own: polar:sync against the local Polar API server (the real @polar-sh/sdk talking to it), checkout of deposits
// ($5 minimum), packs and plans and the customer portal through Polar, and polar-webhook's signed deliveries:
// deposit -> credits, refund -> clawback, replays, concurrent twins, out-of-order events, bad signatures.
import { execFile } from "node:child_process";
import { join } from "node:path";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { syncPolarCatalog } from "../src/billing/polar-sync.ts";
import { loadProductConfig } from "../src/config/presets.ts";
import { userToken } from "../src/local/jwt.ts";
import { ROOT } from "../src/local/paths.ts";
import { polarCatalog } from "../supabase/functions/_shared/billing/polar/catalog.ts";
import { createPolarClient } from "../supabase/functions/_shared/billing/polar/client.ts";
import type { ProductConfig } from "../supabase/functions/_shared/config-schema.ts";
import { deliverPolar, polarEvent } from "./support/polar-webhook.ts";
import { asUser, TEST_FUNCTION_ENV } from "./support/stack.ts";
import { startTestStack, type TestStack } from "./support/test-stack.ts";

const CONFIG = join(ROOT, "tests", "fixtures", "polar.config.ts");
let t: TestStack;
let sql: postgres.Sql;
let gotrue: postgres.Sql;
let config: ProductConfig;

const polarClient = () => createPolarClient(TEST_FUNCTION_ENV.POLAR_ACCESS_TOKEN, "production", t.polar.url);
const sync = (catalog = polarCatalog(config)) => syncPolarCatalog(polarClient(), sql, catalog, config.currency);

beforeAll(async () => {
  config = await loadProductConfig(CONFIG);
  t = await startTestStack({
    dirPrefix: "saasbase-polar-",
    preset: CONFIG,
    functions: ["checkout", "portal", "polar-webhook"],
    label: "polar",
  });
  sql = postgres(t.stack.dbUrl, { max: 8, onnotice: () => {} });
  gotrue = postgres(t.stack.dbUrl, { username: "supabase_auth_admin", password: "postgres", max: 2, onnotice: () => {} });
  await sync();
});
afterAll(async () => {
  await sql?.end();
  await gotrue?.end();
  await t?.stop();
});

let userSeq = 0;
async function signUp() {
  const email = `polar-${Date.now()}-${++userSeq}@test.local`;
  const [{ id }] = await gotrue`
    insert into auth.users (instance_id, id, aud, role, email, encrypted_password, email_confirmed_at,
      raw_app_meta_data, raw_user_meta_data, created_at, updated_at)
    values ('00000000-0000-0000-0000-000000000000', gen_random_uuid(), 'authenticated', 'authenticated', ${email}, '',
      now(), '{"provider":"email","providers":["email"]}', '{}', now(), now())
    returning id`;
  return { id: id as string, email, token: await userToken({ id, email }, t.stack.jwtSecret) };
}

function call(name: string, token: string, body: unknown, account?: string) {
  return fetch(`${t.stack.functionsUrl}/${name}`, {
    method: "POST",
    headers: {
      authorization: `Bearer ${token}`,
      "content-type": "application/json",
      ...(account ? { "x-account-id": account } : {}),
    },
    body: JSON.stringify(body),
  });
}

const deliver = (type: string, data: object, opts: Parameters<typeof deliverPolar>[2] & { at?: Date } = {}) =>
  deliverPolar(t.stack.functionsUrl, polarEvent(type, data, { timestamp: opts.at }), opts);

async function balanceOf(account: string) {
  return (await sql`select balance::int from public.wallets where account_id = ${account}`)[0].balance as number;
}

/** A checkout made through the checkout function, paid at Polar: the order (and subscription) Polar has now. */
async function buy(user: { token: string }, body: object) {
  const res = await call("checkout", user.token, body);
  expect(res.status, await res.clone().text()).toBe(200);
  const { id, url } = await res.json();
  expect(url).toMatch(/^https:\/\/sandbox\.polar\.sh\/checkout\//);
  return { checkoutId: id as string, ...t.polar.completeCheckout(id) };
}

describe("polar:sync", () => {
  it("creates the config's products at Polar and mirrors them as Polar's, idempotently", async () => {
    const keys = (await sql`select x.lookup_key, x.unit_amount, x.billing_interval, p.kind from public.prices x
      join public.products p on p.id = x.product_id where x.provider = 'polar' and x.active order by x.lookup_key`);
    expect(keys.map((k) => [k.lookup_key, k.kind, k.unit_amount, k.billing_interval])).toEqual([
      ["deposit", "deposit", 500, null],
      ["pack_credits_1200", "credit_pack", 1000, null],
      ["plan_plus_monthly", "plan", 1900, "month"],
      ["plan_plus_yearly", "plan", 19000, "year"],
    ]);
    const deposit = [...t.polar.state.products.values()].find((p) => p.metadata.saasbase_lookup_key === "deposit")!;
    expect(deposit.prices[0]).toMatchObject({ amount_type: "custom", minimum_amount: 500, maximum_amount: 50_000 });
    const plus = [...t.polar.state.products.values()].find((p) => p.metadata.saasbase_lookup_key === "plan_plus_yearly")!;
    expect(plus).toMatchObject({ recurring_interval: "year", is_recurring: true });
    // Every call carried the API version the SDK was built for.
    expect(new Set(t.polar.state.requests.map((r) => r.version))).toEqual(new Set(["2026-10"]));

    const before = t.polar.state.products.size;
    expect(await sync()).toEqual({ productsCreated: 0, productsUpdated: 0, productsArchived: 0 });
    expect(t.polar.state.products.size).toBe(before);
  });

  it("replaces a changed price, archives what left the config, and leaves Stripe's rows alone", async () => {
    await sql`insert into public.products (id, kind, pack_id, name) values ('saasbase_pack_t_polar', 'credit_pack', 'credits_1200', 'Stripe pack')
      on conflict do nothing`;
    await sql`insert into public.prices (id, product_id, lookup_key, unit_amount, currency)
      values ('price_t_polar', 'saasbase_pack_t_polar', 'pack_t_polar', 1000, 'usd') on conflict do nothing`;
    const changed = polarCatalog(config).map((p) => p.lookupKey === "pack_credits_1200" ? { ...p, price: { fixed: 1100 } } : p)
      .filter((p) => p.lookupKey !== "plan_plus_yearly");
    expect(await sync(changed)).toEqual({ productsCreated: 0, productsUpdated: 1, productsArchived: 1 });
    const pack = await sql`select unit_amount, active from public.prices where lookup_key = 'pack_credits_1200'
      and provider = 'polar' order by active`;
    expect(pack.map((r) => [r.unit_amount, r.active])).toEqual([[1000, false], [1100, true]]);
    expect((await sql`select active from public.prices where lookup_key = 'plan_plus_yearly'`)[0].active).toBe(false);
    expect((await sql`select active from public.prices where id = 'price_t_polar'`)[0].active).toBe(true);
    // Back as configured: the yearly product is unarchived, not made again.
    const size = t.polar.state.products.size;
    expect(await sync()).toEqual({ productsCreated: 0, productsUpdated: 2, productsArchived: 0 });
    expect(t.polar.state.products.size).toBe(size);
    expect((await sql`select count(*)::int as n from public.prices where provider = 'polar' and active`)[0].n).toBe(4);
    await sql`delete from public.prices where id = 'price_t_polar'`;
    await sql`delete from public.products where id = 'saasbase_pack_t_polar'`;
  });
});

describe("checkout through Polar", () => {
  it("sells a $5 deposit: a Polar checkout for the account with the credits in its metadata", async () => {
    const user = await signUp();
    const res = await call("checkout", user.token, { amount_cents: 500 });
    expect(res.status).toBe(200);
    const { id } = await res.json();
    const checkout = t.polar.state.checkouts.get(id)!;
    const deposit = (await sql`select product_id from public.prices where lookup_key = 'deposit' and provider = 'polar' and active`)[0];
    expect(checkout.product_id).toBe(deposit.product_id);
    expect(checkout.product_price).toMatchObject({ amount_type: "fixed", price_amount: 500, source: "ad_hoc" });
    expect(checkout.external_customer_id).toBe(user.id);
    expect(checkout.customer_email).toBe(user.email);
    expect(checkout.metadata).toEqual({ account_id: user.id, kind: "credits", credits: "500", discount_percent: "0" });
    expect(checkout.success_url).toBe("https://polar-test.example.com/billing/success?checkout_id={CHECKOUT_ID}");
  });

  it("refuses a $4 deposit (purchase.minCents) before anything is made at Polar", async () => {
    const user = await signUp();
    const before = t.polar.state.checkouts.size;
    const res = await call("checkout", user.token, { amount_cents: 400 });
    expect(res.status).toBe(422);
    const body = await res.json();
    expect(body.error.code).toBe("validation_failed");
    expect(body.error.details).toEqual([{ path: "amount_cents", message: "at least 500", code: "amount_below_minimum" }]);
    expect(t.polar.state.checkouts.size).toBe(before);
  });

  it("sells a pack at its price, and answers 503 while Polar is down", async () => {
    const user = await signUp();
    const res = await call("checkout", user.token, { pack: "credits_1200" });
    expect(res.status).toBe(200);
    const checkout = t.polar.state.checkouts.get((await res.json()).id)!;
    expect(checkout.total_amount).toBe(1000);
    expect(checkout.metadata).toMatchObject({ kind: "credits", credits: "1200", pack_id: "credits_1200" });

    t.polar.state.failNext = 1;
    const down = await call("checkout", user.token, { pack: "credits_1200" });
    expect(down.status).toBe(503);
    expect((await down.json()).error.code).toBe("payment_provider_unavailable");
  });

  it("sells a team's deposit to a member who may buy, into the team's wallet; a spend-only member gets nothing made", async () => {
    const owner = await signUp();
    const member = await signUp();
    const team = await asUser(sql, owner.id, async (tx) =>
      (await tx`select (public.create_team('Polar Team', ${`polar-team-${Date.now()}`})).id`)[0].id as string);
    await sql`insert into public.account_members (account_id, user_id, role) values (${team}, ${member.id}, 'member')`;
    const before = t.polar.state.checkouts.size;
    const refused = await call("checkout", member.token, { amount_cents: 500 }, team);
    expect(refused.status).toBe(403);
    expect((await refused.json()).error.code).toBe("account_forbidden");
    expect(t.polar.state.checkouts.size).toBe(before);

    const res = await call("checkout", owner.token, { amount_cents: 2500 }, team);
    expect(res.status).toBe(200);
    const { id } = await res.json();
    expect(t.polar.state.checkouts.get(id)).toMatchObject({
      external_customer_id: team,
      customer_name: "Polar Team",
      metadata: { account_id: team, credits: "2500" },
    });
    const { order } = t.polar.completeCheckout(id);
    expect((await deliver("order.paid", order)).status).toBe(200);
    expect(await balanceOf(team)).toBe(2500);
    expect(await balanceOf(owner.id)).toBe(0);
    expect((await sql`select account_id from public.polar_customers where polar_customer_id = ${order.customer_id}`)[0].account_id)
      .toBe(team);
  });

  it("opens the customer portal once a payment linked the account's Polar customer", async () => {
    const user = await signUp();
    const before = await call("portal", user.token, {});
    expect(before.status).toBe(404);
    expect((await before.json()).error.code).toBe("no_customer");
    const { order } = await buy(user, { amount_cents: 500 });
    expect((await deliver("order.paid", order)).status).toBe(200);
    const res = await call("portal", user.token, { return_url: "https://polar-test.example.com/account" });
    expect(res.status).toBe(200);
    const { url } = await res.json();
    const session = t.polar.state.customerSessions.at(-1)!;
    expect(url).toBe(session.customer_portal_url);
    expect(session).toMatchObject({ customer_id: order.customer_id, return_url: "https://polar-test.example.com/account" });
  });
});

describe("polar-webhook", () => {
  it("grants a paid deposit's credits once, however often and however concurrently it is delivered", async () => {
    const user = await signUp();
    const { order, checkoutId } = await buy(user, { amount_cents: 750 });
    const id = `msg_${crypto.randomUUID()}`;
    const first = await deliver("order.paid", order, { id });
    expect(first.status).toBe(200);
    expect(await first.json()).toEqual({ received: true, id, outcome: "applied" });
    expect(await balanceOf(user.id)).toBe(750);
    const [purchase] = await sql`select * from public.purchases where checkout_session_id = ${checkoutId}`;
    expect(purchase).toMatchObject({ account_id: user.id, payment_intent_id: order.id, provider: "polar",
      credits: 750, amount_cents: 750, status: "paid" });

    // The same delivery again (Polar's retry), twins at once, and the same order under another message id.
    const replays = await Promise.all(Array.from({ length: 6 }, () => deliver("order.paid", order, { id })));
    for (const r of replays) expect((await r.json()).outcome).toBe("duplicate");
    const other = await Promise.all(Array.from({ length: 4 }, () => deliver("order.paid", order)));
    for (const r of other) expect(r.status).toBe(200);
    expect(await balanceOf(user.id)).toBe(750);
    expect((await sql`select count(*)::int as n from public.credit_ledger where account_id = ${user.id}`)[0].n).toBe(1);
    const [event] = await sql`select type, processed_at, attempts, customer_id from public.polar_events where id = ${id}`;
    expect(event).toMatchObject({ type: "order.paid", attempts: 1, customer_id: order.customer_id });
    expect(event.processed_at).not.toBeNull();
  });

  it("grants many deposits of one account delivered at once, each once", async () => {
    const user = await signUp();
    const orders = [];
    for (const cents of [500, 600, 700, 800, 900, 1000]) orders.push((await buy(user, { amount_cents: cents })).order);
    const answers = await Promise.all(orders.flatMap((o) => [deliver("order.paid", o), deliver("order.paid", o)]));
    for (const r of answers) expect(r.status).toBe(200);
    expect(await balanceOf(user.id)).toBe(4500);
    expect((await sql`select count(*)::int as n from public.purchases where account_id = ${user.id} and provider = 'polar'`)[0].n)
      .toBe(6);
  });

  it("keeps an order naming no account we know unapplied (409), and applies it once its customer is linked", async () => {
    const user = await signUp();
    const { order } = await buy(user, { amount_cents: 500 });
    const stranger = structuredClone(order);
    stranger.metadata = { kind: "credits", credits: "500" };
    stranger.customer = { ...stranger.customer, external_id: null };
    const id = `msg_${crypto.randomUUID()}`;
    const res = await deliver("order.paid", stranger, { id });
    expect(res.status).toBe(409);
    expect((await res.json()).error.code).toBe("customer_not_linked");
    const [kept] = await sql`select processed_at, attempts, last_error from public.polar_events where id = ${id}`;
    expect(kept.processed_at).toBeNull();
    expect(kept.last_error).toMatch(/no account/);
    // Another order of the customer links it; Polar's retry of the first then applies.
    const { order: linked } = await buy(user, { amount_cents: 600 });
    await deliver("order.paid", linked);
    expect((await (await deliver("order.paid", stranger, { id })).json()).outcome).toBe("applied");
    expect(await balanceOf(user.id)).toBe(1100);
  });

  it("takes a refund's share of the credits back, once per refunded amount", async () => {
    const user = await signUp();
    const { order } = await buy(user, { amount_cents: 1000 });
    await deliver("order.paid", order);
    expect(await balanceOf(user.id)).toBe(1000);
    const partial = t.polar.refundOrder(order.id, 400);
    const id = `msg_${crypto.randomUUID()}`;
    expect((await (await deliver("order.refunded", partial, { id })).json()).outcome).toBe("applied");
    expect(await balanceOf(user.id)).toBe(600);
    expect((await (await deliver("order.refunded", partial, { id })).json()).outcome).toBe("duplicate");
    // The same total under another delivery changes nothing; the rest refunded takes the rest back.
    await deliver("order.refunded", partial);
    expect(await balanceOf(user.id)).toBe(600);
    await deliver("order.refunded", t.polar.refundOrder(order.id, 600));
    expect(await balanceOf(user.id)).toBe(0);
    const [purchase] = await sql`select status, refunded_cents, credits_clawed_back from public.purchases
      where payment_intent_id = ${order.id}`;
    expect(purchase).toEqual({ status: "refunded", refunded_cents: 1000, credits_clawed_back: 1000 });
  });

  it("applies a refund that arrives before its order's payment when the payment comes", async () => {
    const user = await signUp();
    const { order } = await buy(user, { amount_cents: 800 });
    const paid = structuredClone(order);
    const refunded = t.polar.refundOrder(order.id, 200);
    expect((await (await deliver("order.refunded", refunded)).json()).outcome).toBe("held");
    expect((await (await deliver("order.paid", paid)).json()).outcome).toBe("applied");
    expect(await balanceOf(user.id)).toBe(600);
  });

  it("refunds racing their payment's deliveries leave the same wallet", async () => {
    const user = await signUp();
    const { order } = await buy(user, { amount_cents: 1000 });
    const paid = structuredClone(order);
    const refunded = t.polar.refundOrder(order.id, 500);
    const all = await Promise.all([
      ...Array.from({ length: 3 }, () => deliver("order.paid", paid)),
      ...Array.from({ length: 3 }, () => deliver("order.refunded", refunded)),
    ]);
    for (const r of all) expect(r.status).toBe(200);
    expect(await balanceOf(user.id)).toBe(500);
  });

  it("refuses unsigned, wrongly signed, stale and tampered deliveries with 400, storing nothing", async () => {
    const user = await signUp();
    const { order } = await buy(user, { amount_cents: 500 });
    const payload = JSON.stringify(polarEvent("order.paid", order));
    const cases: [string, Parameters<typeof deliverPolar>[2]][] = [
      ["no signature", { headers: { "webhook-signature": null } }],
      ["no id", { headers: { "webhook-id": null } }],
      ["another secret", { secret: `whsec_${Buffer.from("not-the-key").toString("base64")}` }],
      ["ten minutes old", { timestamp: Math.floor(Date.now() / 1000) - 600 }],
      ["ten minutes ahead", { timestamp: Math.floor(Date.now() / 1000) + 600 }],
      ["not v1", { headers: { "webhook-signature": "v2,AAAA" } }],
    ];
    for (const [name, opts] of cases) {
      const id = `msg_bad_${crypto.randomUUID()}`;
      const res = await deliverPolar(t.stack.functionsUrl, payload, { ...opts, id });
      expect(res.status, name).toBe(400);
      expect((await res.json()).error.code, name).toBe("invalid_signature");
      expect((await sql`select 1 from public.polar_events where id = ${id}`).length, name).toBe(0);
    }
    // Signed, then changed on the way: the signature no longer matches.
    const id = `msg_tampered_${crypto.randomUUID()}`;
    const ts = Math.floor(Date.now() / 1000);
    const { signPolar } = await import("./support/polar-webhook.ts");
    const res = await fetch(`${t.stack.functionsUrl}/polar-webhook`, {
      method: "POST",
      headers: { "webhook-id": id, "webhook-timestamp": String(ts), "webhook-signature": signPolar(id, ts, payload) },
      body: payload.replace('"total_amount":500', '"total_amount":50000'),
    });
    expect(res.status).toBe(400);
    // Signed but no event: 400 invalid_event.
    const notEvent = await deliverPolar(t.stack.functionsUrl, JSON.stringify({ type: "order.paid", data: "x" }));
    expect(notEvent.status).toBe(400);
    expect((await notEvent.json()).error.code).toBe("invalid_event");
    expect(await balanceOf(user.id)).toBe(0);
  });

  it("stores and acknowledges an event type it does not act on", async () => {
    const res = await deliver("checkout.updated", { id: crypto.randomUUID(), status: "open" });
    expect(res.status).toBe(200);
    expect((await res.json()).outcome).toBe("ignored");
  });
});

describe("plans through Polar", () => {
  it("subscribes an account: its plan follows the newest subscription event, its order grants the period's credits", async () => {
    const user = await signUp();
    const { order, subscription } = await buy(user, { price: "plan_plus_monthly" });
    expect(t.polar.state.checkouts.get(order.checkout_id)!.metadata).toMatchObject({ kind: "subscription", plan_id: "plus" });
    const now = Date.now();
    const canceled = { ...subscription!, status: "canceled", canceled_at: new Date(now).toISOString(), ended_at: new Date(now).toISOString() };
    // Out of order: the cancellation (newer) first, then the creation (older): the older is stale.
    expect((await (await deliver("subscription.canceled", canceled, { at: new Date(now) })).json()).outcome).toBe("applied");
    expect((await (await deliver("subscription.created", subscription!, { at: new Date(now - 5000) })).json()).outcome).toBe("stale");
    expect((await sql`select plan_id from public.accounts where id = ${user.id}`)[0].plan_id).toBeNull();
    expect((await (await deliver("subscription.uncanceled", subscription!, { at: new Date(now + 1000) })).json()).outcome)
      .toBe("applied");
    const [sub] = await sql`select status, plan_id, provider from public.subscriptions where id = ${subscription!.id}`;
    expect(sub).toEqual({ status: "active", plan_id: "plus", provider: "polar" });
    expect((await sql`select plan_id from public.accounts where id = ${user.id}`)[0].plan_id).toBe("plus");

    expect((await (await deliver("order.paid", order)).json()).outcome).toBe("applied");
    expect((await (await deliver("order.paid", order)).json()).outcome).toBe("applied"); // another delivery: same period
    expect(await balanceOf(user.id)).toBe(1000);
    const [invoice] = await sql`select status, subscription_id, credits_granted, provider from public.invoices where id = ${order.id}`;
    expect(invoice).toEqual({ status: "paid", subscription_id: subscription!.id, credits_granted: 1000, provider: "polar" });

    // A second plan is refused while one is live; a subscriber's pack comes with the plan's 10% off.
    const again = await call("checkout", user.token, { price: "plan_plus_monthly" });
    expect(again.status).toBe(409);
    const pack = await call("checkout", user.token, { pack: "credits_1200" });
    expect(t.polar.state.checkouts.get((await pack.json()).id)!.total_amount).toBe(900);

    // Refunding the subscription's order takes the period's credits back.
    await deliver("order.refunded", t.polar.refundOrder(order.id, 1900));
    expect(await balanceOf(user.id)).toBe(0);
  });
});
describe("npm run polar:sync", () => {
  const run = (env: Record<string, string>) => new Promise<{ code: number; out: string }>((resolve) => {
    execFile("npx", ["tsx", "scripts/polar-sync.ts", "--preset", CONFIG], {
      env: { ...process.env, SUPABASE_DB_URL: t.stack.dbUrl, POLAR_API_BASE: t.polar.url, ...env },
    }, (err, stdout, stderr) => resolve({ code: err ? Number(err.code ?? 1) : 0, out: stdout + stderr }));
  });

  it("syncs the preset's catalog (nothing left to change here) and says so; without a token it says what to set", async () => {
    const synced = await run({ POLAR_ACCESS_TOKEN: TEST_FUNCTION_ENV.POLAR_ACCESS_TOKEN });
    expect(synced.code, synced.out).toBe(0);
    expect(synced.out).toMatch(/Polar catalog in sync: \{ productsCreated: 0, productsUpdated: 0, productsArchived: 0 \}/);
    const missing = await run({ POLAR_ACCESS_TOKEN: "" });
    expect(missing.code).toBe(1);
    expect(missing.out).toMatch(/Set POLAR_ACCESS_TOKEN \(a Polar organization access token\)/);
    const refused = await run({ POLAR_ACCESS_TOKEN: "polar_oat_wrong" });
    expect(refused.code).not.toBe(0);
    expect(refused.out).toMatch(/401/);
  });
});

describe("polar-webhook bad input", () => {
  it("a body over 1 MB is 413, text Postgres cannot store is 400 invalid_event: nothing stored", async () => {
    const big = JSON.stringify(polarEvent("order.paid", { id: "x", pad: "a".repeat(1_100_000) }));
    const tooBig = await deliverPolar(t.stack.functionsUrl, big);
    expect(tooBig.status).toBe(413);
    const id = `msg_nul_${crypto.randomUUID()}`;
    const nul = await deliverPolar(t.stack.functionsUrl, JSON.stringify(polarEvent("order.paid", { id: "a\u0000b" })), { id });
    expect(nul.status).toBe(400);
    expect((await nul.json()).error.code).toBe("invalid_event");
    expect((await sql`select 1 from public.polar_events where id = ${id}`).length).toBe(0);
  });
});
