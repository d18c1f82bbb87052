// Billing end to end: the real stripe SDK (in the functions and in stripe:sync) against the local Stripe
// server, webhooks signed with the SDK's test-header helper, the real database checked after each step.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { syncStripeCatalog } from "../src/billing/stripe-sync.ts";
import { planLookupKey, stripeCatalog } from "../supabase/functions/_shared/billing-catalog.ts";
import { config } from "../supabase/functions/_shared/config.ts";
import { processEvent } from "../supabase/functions/_shared/billing/stripe-events.ts";
import { createStripe } from "../supabase/functions/_shared/stripe-client.ts";
import { asUser, callFunction, connectDb, createUser, setBalance, stack } from "./support/stack.ts";
import { deliverEvent, stripeEvent } from "./support/stripe-webhook.ts";

const sql = connectDb();
const stripeState = async () => (await fetch(`${stack().stripeUrl}/_test/state`)).json();
const sync = () => syncStripeCatalog(createStripe("sk_test_saasbase_local", stack().stripeUrl), sql, stripeCatalog(config), config.currency);

const event = (type: string, object: Record<string, unknown>, created?: number) => stripeEvent(type, object, { created });
const deliver = (evt: object, opts: { secret?: string; signature?: string | null } = {}) =>
  deliverEvent(stack().functionsUrl, evt, opts);

async function balanceOf(id: string) {
  return (await sql`select balance::int from public.wallets where account_id = ${id}`)[0].balance as number;
}
const checkout = (token: string, body: unknown, headers: Record<string, string> = {}) =>
  callFunction("checkout", { method: "POST", token, headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) });

beforeAll(async () => {
  await sync();
});
afterAll(() => sql.end());

describe("npm run stripe:sync", () => {
  it("created a product per paid plan and pack, prices by lookup key, mirrored readable by anyone", async () => {
    const state = await stripeState();
    const catalog = stripeCatalog(config);
    expect(Object.keys(state.products).sort()).toEqual(catalog.map((p) => p.id).sort());
    const keys = catalog.flatMap((p) => p.prices.map((x) => x.lookupKey)).sort();
    const rows = await sql.begin(async (tx) => {
      await tx`set local role anon`;
      return tx`select lookup_key from public.prices where active order by lookup_key`;
    });
    expect(rows.map((r) => r.lookup_key)).toEqual(keys);
  });

  it("is idempotent: a second run creates and changes nothing", async () => {
    expect(await sync()).toEqual({ productsCreated: 0, productsUpdated: 0, pricesCreated: 0, pricesRetired: 0 });
  });
});

describe("checkout", () => {
  let user: { id: string; token: string };
  beforeAll(async () => {
    user = await createUser(sql, `buyer-${crypto.randomUUID()}@test.local`);
  });

  it("creates a subscription session for a plan, with one Stripe customer per user", async () => {
    const res = await checkout(user.token, { price: planLookupKey("plus", "month") });
    expect(res.status).toBe(200);
    const { id, url } = await res.json();
    expect(url).toMatch(/^https:\/\//);
    const again = await checkout(user.token, { price: planLookupKey("business", "year") });
    expect(again.status).toBe(200);

    const state = await stripeState();
    const session = state.sessions[id];
    expect(session.mode).toBe("subscription");
    expect(session.metadata.account_id).toBe(user.id);
    const [price] = await sql`select id from public.prices where lookup_key = ${planLookupKey("plus", "month")} and active`;
    expect(session.line_items_params[0].price).toBe(price.id);
    const customers = Object.values(state.customers).filter((c: any) => c.metadata.account_id === user.id);
    expect(customers).toHaveLength(1);
    const [row] = await sql`select stripe_customer_id from public.customers where account_id = ${user.id}`;
    expect(row.stripe_customer_id).toBe((customers[0] as any).id);
    // The second plan checkout expired the first (two tabs must not buy two subscriptions); a credit pack's
    // checkout leaves plan checkouts alone.
    const second = (await again.json()).id;
    expect(state.sessions[id].status).toBe("expired");
    expect(state.sessions[second].status).toBe("open");
    const pack = await checkout(user.token, { pack: "credits_500" });
    expect(pack.status).toBe(200);
    expect((await stripeState()).sessions[second].status).toBe("open");
  });

  it("prices a credit pack with the subscriber discount of the buyer's plan", async () => {
    const subscriber = await createUser(sql, `disc-${crypto.randomUUID()}@test.local`);
    await sql`update public.accounts set plan_id = 'plus' where id = ${subscriber.id}`;
    const res = await checkout(subscriber.token, { pack: "credits_500" });
    expect(res.status).toBe(200);
    const session = (await stripeState()).sessions[(await res.json()).id];
    expect(session.mode).toBe("payment");
    expect(Number(session.line_items_params[0].price_data.unit_amount)).toBe(400); // $5.00 less 20 %
    expect(session.metadata).toMatchObject({ kind: "credits", credits: "500", discount_percent: "20", pack_id: "credits_500" });
  });

  it("sells custom amounts within the config's bounds", async () => {
    const ok = await checkout(user.token, { amount_cents: 1500 });
    expect(ok.status).toBe(200);
    expect((await stripeState()).sessions[(await ok.json()).id].metadata.credits).toBe("1500");

    const low = await checkout(user.token, { amount_cents: 499 });
    expect(low.status).toBe(422);
    expect((await low.json()).error.details[0]).toMatchObject({ path: "amount_cents", code: "amount_below_minimum" });
    const high = await checkout(user.token, { amount_cents: 100_001 });
    expect([high.status, (await high.json()).error.details[0].code]).toEqual([422, "amount_above_maximum"]);
  });

  it("prices custom amounts in SQL: the rate and bounds the database holds are the ones sold", async () => {
    // The functions' config says 100 credits a dollar from $5: the synced settings decide (public.credit_amount_price).
    const [saved] = await sql`select purchase_min_cents, purchase_max_cents, credits_per_dollar from saasbase.settings`;
    await sql`update saasbase.settings set credits_per_dollar = 4, purchase_min_cents = 1000, purchase_max_cents = 2000`;
    try {
      const ok = await checkout(user.token, { amount_cents: 1999 });
      expect(ok.status).toBe(200);
      expect((await stripeState()).sessions[(await ok.json()).id].metadata).toMatchObject({ kind: "credits", credits: "79" });
      const low = await checkout(user.token, { amount_cents: 999 });
      expect([low.status, (await low.json()).error]).toEqual([422, expect.objectContaining({
        message: "The minimum purchase is 1000 cents",
        details: [expect.objectContaining({ path: "amount_cents", code: "amount_below_minimum" })],
      })]);
      const high = await checkout(user.token, { amount_cents: 2001 });
      expect([high.status, (await high.json()).error.details[0].code]).toEqual([422, "amount_above_maximum"]);
    } finally {
      await sql`update saasbase.settings set ${sql(saved)}`;
    }
  });

  it("an Idempotency-Key returns the same session for the same checkout, and 409 for another", async () => {
    const key = `ck-${crypto.randomUUID()}`;
    const first = await checkout(user.token, { amount_cents: 1500 }, { "idempotency-key": key });
    const again = await checkout(user.token, { amount_cents: 1500 }, { "idempotency-key": key });
    expect([first.status, again.status]).toEqual([200, 200]);
    expect((await again.json()).id).toBe((await first.json()).id);
    const other = await checkout(user.token, { amount_cents: 2500 }, { "idempotency-key": key });
    expect(other.status).toBe(409);
    expect((await other.json()).error.code).toBe("idempotency_conflict");
  });

  it("answers clear 4xx errors: unknown price or pack, two choices at once, no email, no user", async () => {
    const unknown = await checkout(user.token, { price: "plan_gold_monthly" });
    expect(unknown.status).toBe(404);
    expect((await unknown.json()).error.code).toBe("unknown_price");
    expect((await checkout(user.token, { pack: "credits_999999" })).status).toBe(404);
    expect((await checkout(user.token, { pack: "credits_500", amount_cents: 500 })).status).toBe(422);

    const [{ id }] = await sql`insert into auth.users (id, aud, role, phone, raw_app_meta_data, raw_user_meta_data, created_at, updated_at)
      values (gen_random_uuid(), 'authenticated', 'authenticated', ${`+1555${Date.now() % 10_000_000}`}, '{}', '{}', now(), now()) returning id`;
    const { userToken } = await import("../src/local/jwt.ts");
    const noEmail = await checkout(await userToken({ id }, stack().jwtSecret), { pack: "credits_500" });
    expect(noEmail.status).toBe(422);
    expect((await noEmail.json()).error.details[0].code).toBe("email_required");

    expect((await checkout(stack().anonKey, { pack: "credits_500" })).status).toBe(401);
    expect((await callFunction("checkout", { method: "POST", body: "{}" })).status).toBe(401); // no JWT at all
  });

  it("opens the billing portal for a customer, 404 before any checkout", async () => {
    const stranger = await createUser(sql, `noportal-${crypto.randomUUID()}@test.local`);
    const none = await callFunction("portal", { method: "POST", token: stranger.token, body: "{}" });
    expect(none.status).toBe(404);
    expect((await none.json()).error.code).toBe("no_customer");
    // A customer deleted at Stripe (in the dashboard): Stripe refuses, we answer 502 with our body.
    const gone = await createUser(sql, `goneportal-${crypto.randomUUID()}@test.local`);
    await sql`insert into public.customers (account_id, stripe_customer_id) values (${gone.id}, ${`cus_gone_${gone.id.slice(0, 8)}`})`;
    const refused = await callFunction("portal", { method: "POST", token: gone.token, body: "{}" });
    expect([refused.status, (await refused.json()).error.code]).toEqual([502, "payment_provider_error"]);
    expect(refused.headers.get("access-control-allow-origin")).toBe("*");
    // No body at all, as supabase-js's functions.invoke("portal") sends it: the same as {}.
    const res = await callFunction("portal", { method: "POST", token: user.token });
    expect(res.status).toBe(200);
    expect((await res.json()).url).toMatch(/^https:\/\//);
  });
});

describe("stripe-webhook", () => {
  let buyer: { id: string; token: string };
  beforeAll(async () => {
    buyer = await createUser(sql, `hook-${crypto.randomUUID()}@test.local`);
    await setBalance(sql, buyer.id, 0);
  });

  const paidSession = (credits: number, amount: number, id = `cs_test_${crypto.randomUUID()}`) => ({
    id, object: "checkout.session", mode: "payment", payment_status: "paid", status: "complete",
    customer: null, client_reference_id: buyer.id, amount_total: amount, currency: "usd",
    payment_intent: `pi_${id}`, metadata: { user_id: buyer.id, kind: "credits", credits: String(credits), discount_percent: "0" },
  });

  it("rejects a bad or missing signature with 400 and stores nothing", async () => {
    const evt = event("checkout.session.completed", paidSession(100, 100));
    const forged = await deliver(evt, { secret: "whsec_not_ours" });
    expect(forged.status).toBe(400);
    expect((await forged.json()).error.code).toBe("invalid_signature");
    expect((await deliver(evt, { signature: null })).status).toBe(400);
    expect((await deliver(evt, { signature: "t=1,v1=deadbeef" })).status).toBe(400);
    expect(await sql`select id from public.stripe_events where id = ${evt.id}`).toHaveLength(0);
    expect(await balanceOf(buyer.id)).toBe(0);
  });

  it("a signed event whose created time Postgres cannot store is 400 invalid_event, and nothing is stored", async () => {
    for (const created of [9_007_199_254_740_991, 253_402_300_800, -1]) {
      const evt = { ...event("probe.unknown", {}), created };
      const res = await deliver(evt);
      expect([res.status, (await res.json()).error.code]).toEqual([400, "invalid_event"]);
      expect(await sql`select id from public.stripe_events where id = ${evt.id}`).toHaveLength(0);
    }
    // The last second of year 9999 is still a time: stored and acknowledged.
    const edge = { ...event("probe.unknown", {}), created: 253_402_300_799 };
    expect(await (await deliver(edge)).json()).toMatchObject({ received: true, outcome: "ignored" });
  });

  it("an event fetched from Stripe's API applies through the same table and the same claim as a delivery", async () => {
    const reader = await createUser(sql, `fetched-${crypto.randomUUID()}@test.local`);
    await setBalance(sql, reader.id, 0);
    const evt = event("checkout.session.completed",
      { ...paidSession(70, 70), client_reference_id: reader.id, metadata: { user_id: reader.id, credits: "70" } });
    const ctx = { sql, stripe: () => createStripe("sk_test_saasbase_local", stack().stripeUrl) };
    expect(await processEvent(ctx, evt as never)).toBe("applied");
    expect(await balanceOf(reader.id)).toBe(70);
    // Its webhook delivery afterwards (or a second run) finds it applied.
    expect((await (await deliver(evt)).json()).outcome).toBe("duplicate");
    expect(await processEvent(ctx, evt as never)).toBe("duplicate");
    expect(await balanceOf(reader.id)).toBe(70);
  });

  it("a paid credit checkout: a purchase row and the credits, once, however often it is delivered", async () => {
    const evt = event("checkout.session.completed", paidSession(500, 500));
    const first = await deliver(evt);
    expect(first.status).toBe(200);
    expect((await first.json()).outcome).toBe("applied");
    const replay = await deliver(evt);
    expect((await replay.json()).outcome).toBe("duplicate");
    expect(await balanceOf(buyer.id)).toBe(500);

    // Two identical deliveries at once, of a new event.
    const twin = event("checkout.session.completed", paidSession(300, 300));
    const both = await Promise.all([deliver(twin), deliver(twin)]);
    expect(both.map((r) => r.status)).toEqual([200, 200]);
    expect((await Promise.all(both.map((r) => r.json()))).map((b) => b.outcome).sort()).toEqual(["applied", "duplicate"]);
    expect(await balanceOf(buyer.id)).toBe(800);
    const purchases = await sql`select credits, status from public.purchases where account_id = ${buyer.id} order by credits`;
    expect(purchases.map((p) => [p.credits, p.status])).toEqual([[300, "paid"], [500, "paid"]]);
  });

  it("an event of a customer linked to no user waits (409, so Stripe retries), admins see it, and it applies once the customer is linked", async () => {
    const later = await createUser(sql, `later-${crypto.randomUUID()}@test.local`);
    await setBalance(sql, later.id, 0);
    const cus = `cus_later_${later.id.slice(0, 8)}`;
    // A credit pack paid through a customer nobody is linked to yet, with no user id of ours on it.
    const session = { ...paidSession(100, 100), customer: cus, client_reference_id: null, metadata: { credits: "100" } };
    const evt = event("checkout.session.completed", session);
    for (const attempt of [1, 2]) {
      const res = await deliver(evt);
      expect([res.status, (await res.json()).error.code]).toEqual([409, "customer_not_linked"]);
      const [stored] = await sql`select processed_at, attempts, customer_id, last_error from public.stripe_events where id = ${evt.id}`;
      expect(stored).toMatchObject({ processed_at: null, attempts: attempt, customer_id: cus });
      expect(stored.last_error).toMatch(/belongs to no account we know yet/);
    }
    expect(await sql`select 1 from public.purchases where checkout_session_id = ${session.id}`).toHaveLength(0);
    expect(await balanceOf(later.id)).toBe(0);
    // Admins see what waits, and for whom.
    const admin = await createUser(sql, `admin-${crypto.randomUUID()}@test.local`, { role: "admin" });
    const seen = await asUser(sql, admin.id, (tx) =>
      tx`select id, last_error from public.stripe_events where processed_at is null and customer_id = ${cus}`);
    expect(seen.map((r) => r.id)).toEqual([evt.id]);
    // An event naming the user links the customer (their subscription's, here): the waiting purchase is applied
    // with it, in the same request.
    const linking = event("customer.subscription.created", {
      id: `sub_later_${later.id.slice(0, 8)}`, object: "subscription", status: "incomplete", customer: cus,
      metadata: { user_id: later.id }, cancel_at_period_end: false, canceled_at: null, items: { object: "list", data: [] },
    });
    expect((await (await deliver(linking)).json()).outcome).toBe("applied");
    expect(await balanceOf(later.id)).toBe(100);
    const [after] = await sql`select processed_at is not null as processed, attempts, last_error from public.stripe_events where id = ${evt.id}`;
    expect(after).toEqual({ processed: true, attempts: 3, last_error: null });
    // Stripe's next retry of it: nothing more.
    expect((await (await deliver(evt)).json()).outcome).toBe("duplicate");
    expect(await balanceOf(later.id)).toBe(100);
  });

  it("a waiting event applied by its customer's link while Stripe redelivers it at the same moment: applied once", async () => {
    const later = await createUser(sql, `race-${crypto.randomUUID()}@test.local`);
    await setBalance(sql, later.id, 0);
    const cus = `cus_race_${later.id.slice(0, 8)}`;
    const session = { ...paidSession(100, 100), customer: cus, client_reference_id: null, metadata: { credits: "100" } };
    const evt = event("checkout.session.completed", session);
    expect((await deliver(evt)).status).toBe(409);
    const linking = event("customer.subscription.created", {
      id: `sub_race_${later.id.slice(0, 8)}`, object: "subscription", status: "incomplete", customer: cus,
      metadata: { user_id: later.id }, cancel_at_period_end: false, canceled_at: null, items: { object: "list", data: [] },
    });
    const answers = await Promise.all([deliver(evt), deliver(linking), deliver(evt), deliver(evt)]);
    // Each redelivery came before the link (409, still waiting), after it (applied) or after its twin (duplicate).
    for (const res of answers) expect([200, 409]).toContain(res.status);
    expect(await balanceOf(later.id)).toBe(100);
    expect(await sql`select 1 from public.purchases where checkout_session_id = ${session.id}`).toHaveLength(1);
    const [stored] = await sql`select processed_at is not null as processed from public.stripe_events where id = ${evt.id}`;
    expect(stored.processed).toBe(true);
  });

  it("a credit checkout not paid is stored and acknowledged, and grants nothing", async () => {
    const unpaidSession = { ...paidSession(100, 100), payment_status: "unpaid" };
    const unpaid = event("checkout.session.completed", unpaidSession);
    expect(await (await deliver(unpaid)).json()).toMatchObject({ received: true, outcome: "ignored" });
    const [stored] = await sql`select processed_at is not null as processed from public.stripe_events where id = ${unpaid.id}`;
    expect(stored.processed).toBe(true);
    expect(await sql`select id from public.purchases where checkout_session_id = ${unpaidSession.id}`).toHaveLength(0);
  });

  it("a credit checkout that fails to apply answers 500, grants nothing, stays stored with its error, and applies on redelivery", async () => {
    // A failure inside the one statement that claims and applies the event: a constraint that refuses this
    // purchase until it is dropped (a stand-in for any fault that goes away, as a lock timeout would).
    await sql`alter table public.purchases add constraint test_refuse_4242 check (amount_cents <> 4242)`;
    const before = await balanceOf(buyer.id);
    const evt = event("checkout.session.completed", paidSession(42, 4242));
    try {
      const res = await deliver(evt);
      expect(res.status).toBe(500);
      expect((await res.json()).error.code).toBe("internal_error");
      const [stored] = await sql`select processed_at, attempts, last_error from public.stripe_events where id = ${evt.id}`;
      expect(stored).toMatchObject({ processed_at: null, attempts: 1 });
      expect(stored.last_error).toMatch(/test_refuse_4242/);
      expect(await balanceOf(buyer.id)).toBe(before);
      expect((await deliver(evt)).status).toBe(500);
    } finally {
      await sql`alter table public.purchases drop constraint test_refuse_4242`;
    }
    const retry = await deliver(evt);
    expect(await retry.json()).toMatchObject({ received: true, outcome: "applied" });
    const [after] = await sql`select processed_at is not null as processed, attempts, last_error from public.stripe_events where id = ${evt.id}`;
    expect(after).toEqual({ processed: true, attempts: 3, last_error: null });
    expect(await balanceOf(buyer.id)).toBe(before + 42);
    expect((await (await deliver(evt)).json()).outcome).toBe("duplicate");
  });

  it("a paid checkout whose credits are not a count of ours is acknowledged and grants nothing", async () => {
    const before = await balanceOf(buyer.id);
    for (const credits of ["3000000000", "-5", "1.5", "lots"]) {
      const evt = event("checkout.session.completed", { ...paidSession(1, 100), metadata: { user_id: buyer.id, credits } });
      expect(await (await deliver(evt)).json()).toMatchObject({ received: true, outcome: "ignored" });
    }
    expect(await balanceOf(buyer.id)).toBe(before);
  });

  it("a refund claws back the refunded share of the credits that are unspent", async () => {
    const session = paidSession(1000, 1000);
    await deliver(event("checkout.session.completed", session));
    const before = await balanceOf(buyer.id);
    const charge = { id: `ch_${session.id}`, object: "charge", payment_intent: session.payment_intent, amount: 1000, amount_refunded: 250, refunded: false };
    await deliver(event("charge.refunded", charge));
    expect(await balanceOf(buyer.id)).toBe(before - 250);
    // The same refund again changes nothing; the rest of the refund claws back the rest.
    await deliver(event("charge.refunded", charge));
    expect(await balanceOf(buyer.id)).toBe(before - 250);
    await deliver(event("charge.refunded", { ...charge, amount_refunded: 1000, refunded: true }));
    expect(await balanceOf(buyer.id)).toBe(before - 1000);
    // The earlier, partial refund's event delivered late (Stripe retries) does not take the purchase back.
    await deliver(event("charge.refunded", { ...charge, id: charge.id, amount_refunded: 500 }));
    expect(await balanceOf(buyer.id)).toBe(before - 1000);
    const [p] = await sql`select status, refunded_cents, credits_clawed_back from public.purchases where checkout_session_id = ${session.id}`;
    expect(p).toEqual({ status: "refunded", refunded_cents: 1000, credits_clawed_back: 1000 });
    const [{ sum }] = await sql`select coalesce(sum(amount), 0)::int as sum from public.credit_ledger where account_id = ${buyer.id}`;
    expect(sum).toBe(await balanceOf(buyer.id));
  });

  it("a refund that arrives before its purchase is recorded is held, and applied with the purchase", async () => {
    const session = paidSession(600, 600);
    const before = await balanceOf(buyer.id);
    const refund = await deliver(event("charge.refunded",
      { id: `ch_${session.id}`, object: "charge", payment_intent: session.payment_intent, amount: 600, amount_refunded: 600 }));
    expect((await refund.json()).outcome).toBe("held");
    await deliver(event("checkout.session.completed", session));
    expect(await balanceOf(buyer.id)).toBe(before);
    const [p] = await sql`select status, refunded_cents, credits_clawed_back from public.purchases where checkout_session_id = ${session.id}`;
    expect(p).toEqual({ status: "refunded", refunded_cents: 600, credits_clawed_back: 600 });
  });

  it("a chargeback and a refund each take their share back, in whichever order they are applied", async () => {
    const session = paidSession(1000, 1000);
    const dispute = { id: `dp_order_${session.id}`, object: "dispute", charge: `ch_${session.id}`, payment_intent: session.payment_intent,
      amount: 700, currency: "usd", status: "lost" };
    // The dispute first, even before the purchase is recorded (the checkout event failed once): held.
    expect((await (await deliver(event("charge.dispute.funds_withdrawn", dispute))).json()).outcome).toBe("held");
    await deliver(event("checkout.session.completed", session));
    const afterPurchase = await balanceOf(buyer.id);
    const [held] = await sql`select credits_clawed_back from public.purchases where checkout_session_id = ${session.id}`;
    expect(held.credits_clawed_back).toBe(700);
    // Then the refund of the other 300, reported as 300 refunded: the rest, not nothing.
    await deliver(event("charge.refunded", { id: `ch_${session.id}`, object: "charge", payment_intent: session.payment_intent,
      amount: 1000, amount_refunded: 300, refunded: false }));
    expect(await balanceOf(buyer.id)).toBe(afterPurchase - 300);
    const [p] = await sql`select status, credits_clawed_back from public.purchases where checkout_session_id = ${session.id}`;
    expect(p).toEqual({ status: "refunded", credits_clawed_back: 1000 });
  });

  it("a chargeback claws back the disputed credits on top of a refund, once per dispute", async () => {
    const session = paidSession(1000, 1000);
    await deliver(event("checkout.session.completed", session));
    const before = await balanceOf(buyer.id);
    await deliver(event("charge.refunded", { id: `ch_${session.id}`, object: "charge", payment_intent: session.payment_intent,
      amount: 1000, amount_refunded: 300, refunded: false }));
    const dispute = { id: `dp_${session.id}`, object: "dispute", charge: `ch_${session.id}`, payment_intent: session.payment_intent,
      amount: 700, currency: "usd", status: "needs_response", reason: "fraudulent" };
    const res = await deliver(event("charge.dispute.funds_withdrawn", dispute));
    expect((await res.json()).outcome).toBe("applied");
    expect(await balanceOf(buyer.id)).toBe(before - 1000);
    // The same dispute under another event id takes nothing more.
    expect((await (await deliver(event("charge.dispute.funds_withdrawn", dispute))).json()).outcome).toBe("duplicate");
    expect(await balanceOf(buyer.id)).toBe(before - 1000);
    const [p] = await sql`select status, refunded_cents, credits_clawed_back from public.purchases where checkout_session_id = ${session.id}`;
    expect(p).toEqual({ status: "refunded", refunded_cents: 300, credits_clawed_back: 1000 }); // refunds alone in refunded_cents
  });

  it("a refund of spent credits claws back only what is left", async () => {
    const spender = await createUser(sql, `spender-${crypto.randomUUID()}@test.local`);
    await setBalance(sql, spender.id, 0);
    const session = { ...paidSession(400, 400), client_reference_id: spender.id, metadata: { user_id: spender.id, kind: "credits", credits: "400" } };
    await deliver(event("checkout.session.completed", session));
    const [{ r: spent }] = await asUser(sql, spender.id, (tx) => tx`select to_jsonb(public.charge_credits('coloring_page', 100, 'spend-it')) as r`);
    expect(spent.credits_charged).toBeGreaterThan(0);
    const left = await balanceOf(spender.id);
    expect(left).toBe(400 - spent.credits_charged);
    await deliver(event("charge.refunded", { id: `ch_${session.id}`, object: "charge", payment_intent: session.payment_intent, amount: 400, amount_refunded: 400 }));
    expect(await balanceOf(spender.id)).toBe(0);
    const [p] = await sql`select credits_clawed_back from public.purchases where checkout_session_id = ${session.id}`;
    expect(p.credits_clawed_back).toBe(left);
  });

  describe("subscriptions", () => {
    let member: { id: string; token: string };
    let customer: string;
    let plusPrice: string;
    const sub = (status: string, extra: Record<string, unknown> = {}) => ({
      id: `sub_${member.id.slice(0, 8)}`, object: "subscription", status, customer,
      metadata: { user_id: member.id }, cancel_at_period_end: false, canceled_at: null,
      items: { object: "list", data: [{ id: "si_1", price: { id: plusPrice }, current_period_start: 1_800_000_000, current_period_end: 1_802_592_000 }] },
      ...extra,
    });
    const feature = async () =>
      (await asUser(sql, member.id, (tx) => tx`select to_jsonb(public.check_feature('component_generation')) as f`))[0].f;

    beforeAll(async () => {
      member = await createUser(sql, `member-${crypto.randomUUID()}@test.local`);
      customer = `cus_member_${member.id.slice(0, 8)}`;
      [{ id: plusPrice }] = await sql`select id from public.prices where lookup_key = ${planLookupKey("plus", "month")} and active`;
    });

    it("updated arriving before created: the newer state wins, and entitlements change at once", async () => {
      expect((await feature()).reason).toBe("free_quota");
      const t = Math.floor(Date.now() / 1000);
      await deliver(event("customer.subscription.updated", sub("active"), t + 10));
      await deliver(event("customer.subscription.created", sub("incomplete"), t));
      const [row] = await sql`select status, plan_id from public.subscriptions where account_id = ${member.id}`;
      expect(row).toEqual({ status: "active", plan_id: "plus" });
      const f = await feature();
      expect([f.plan, f.reason, f.discount]).toEqual(["plus", "unlimited", 20]);
    });

    it("events of the same second apply in lifecycle order, whatever the delivery order", async () => {
      const other = await createUser(sql, `second-${crypto.randomUUID()}@test.local`);
      const s = { ...sub("active"), id: `sub_second_${other.id.slice(0, 8)}`, customer: `cus_second_${other.id.slice(0, 8)}`,
        metadata: { user_id: other.id } };
      const t = Math.floor(Date.now() / 1000);
      await deliver(event("customer.subscription.updated", s, t));
      await deliver(event("customer.subscription.created", { ...s, status: "incomplete" }, t));
      const [row] = await sql`select status, plan_id from public.subscriptions where id = ${s.id}`;
      expect(row).toEqual({ status: "active", plan_id: "plus" });
      expect((await sql`select plan_id from public.accounts where id = ${other.id}`)[0].plan_id).toBe("plus");
    });

    it("checkout of a subscription links it by retrieving it from Stripe", async () => {
      const other = await createUser(sql, `linked-${crypto.randomUUID()}@test.local`);
      const subscription = { ...sub("active"), id: `sub_linked_${other.id.slice(0, 8)}`, customer: `cus_linked_${other.id.slice(0, 8)}`, metadata: { user_id: other.id } };
      await fetch(`${stack().stripeUrl}/_test/subscriptions`, { method: "POST", body: JSON.stringify(subscription) });
      const res = await deliver(event("checkout.session.completed", {
        id: `cs_sub_${other.id}`, object: "checkout.session", mode: "subscription", status: "complete", payment_status: "paid",
        customer: subscription.customer, subscription: subscription.id, client_reference_id: other.id, metadata: { user_id: other.id },
      }));
      expect((await res.json()).outcome).toBe("applied");
      const [p] = await sql`select plan_id from public.accounts where id = ${other.id}`;
      expect(p.plan_id).toBe("plus");
      const [c] = await sql`select stripe_customer_id from public.customers where account_id = ${other.id}`;
      expect(c.stripe_customer_id).toBe(subscription.customer);
    });

    it("an event that fails to apply answers 5xx, stays stored with its error, and applies on redelivery", async () => {
      const late = await createUser(sql, `late-${crypto.randomUUID()}@test.local`);
      const subscription = { ...sub("active"), id: `sub_late_${late.id.slice(0, 8)}`, customer: `cus_late_${late.id.slice(0, 8)}`, metadata: { user_id: late.id } };
      const evt = event("checkout.session.completed", {
        id: `cs_late_${late.id}`, object: "checkout.session", mode: "subscription", status: "complete", payment_status: "paid",
        customer: subscription.customer, subscription: subscription.id, client_reference_id: late.id, metadata: { user_id: late.id },
      });
      // Stripe does not know the subscription yet: retrieving it fails.
      const failed = await deliver(evt);
      // Stripe's 404 is its refusal, not our fault: 502, and Stripe redelivers as after any 5xx.
      expect(failed.status).toBe(502);
      expect((await failed.json()).error.code).toBe("payment_provider_error");
      const [stored] = await sql`select processed_at, attempts, last_error from public.stripe_events where id = ${evt.id}`;
      expect(stored.processed_at).toBeNull();
      expect(stored.last_error).toMatch(/No such subscription/);
      expect(await sql`select 1 from public.subscriptions where account_id = ${late.id}`).toHaveLength(0);

      await fetch(`${stack().stripeUrl}/_test/subscriptions`, { method: "POST", body: JSON.stringify(subscription) });
      const retried = await deliver(evt);
      expect(retried.status).toBe(200);
      expect((await retried.json()).outcome).toBe("applied");
      const [after] = await sql`select processed_at is not null as processed, attempts, last_error from public.stripe_events where id = ${evt.id}`;
      expect(after).toEqual({ processed: true, attempts: 2, last_error: null });
      expect((await sql`select plan_id from public.accounts where id = ${late.id}`)[0].plan_id).toBe("plus");
    });

    const MONTH = 2_592_000;
    /** An invoice line as Stripe's API describes it (version 2026-10-28.endive, the SDK's InvoiceLineItem): a
     * subscription item's period (parent subscription_item_details, proration false), or a proration invoice
     * item, as create_prorations bills a plan change on the next invoice (parent invoice_item_details, proration
     * true). */
    const invoiceLine = (kind: "period" | "proration", price: string, start: number, end: number, amount: number,
      subscription = sub("active").id) => ({
      id: `il_${crypto.randomUUID().replaceAll("-", "").slice(0, 24)}`, object: "line_item", amount, currency: "usd",
      description: kind === "period" ? "1 × Plan (at $19.00 / month)" : amount < 0 ? "Unused time on plan" : "Remaining time on plan",
      discount_amounts: [], discountable: kind === "period", discounts: [], invoice: null, livemode: false, metadata: {},
      parent: kind === "period"
        ? { type: "subscription_item_details", invoice_item_details: null, subscription_item_details: {
          invoice_item: null, proration: false, proration_details: { credited_items: null }, subscription, subscription_item: "si_1" } }
        : { type: "invoice_item_details", subscription_item_details: null, invoice_item_details: {
          invoice_item: `ii_${crypto.randomUUID().slice(0, 8)}`, proration: true, proration_details: { credited_items: null }, subscription } },
      period: { start, end }, pretax_credit_amounts: [],
      pricing: { type: "price_details", price_details: { price, product: "prod_plan" }, unit_amount_decimal: String(Math.abs(amount)) },
      quantity: 1, quantity_decimal: "1", subtotal: amount, taxes: [],
    });
    const planInvoice = (id: string, billing_reason: string, periodStart: number, amount_paid = 1900, lines?: object[],
      subscription = sub("active").id) => {
      const data = lines ?? [invoiceLine("period", plusPrice, periodStart, periodStart + MONTH, 1900, subscription)];
      return {
        id, object: "invoice", customer, status: "paid", amount_paid, amount_due: amount_paid, currency: "usd", billing_reason,
        parent: { type: "subscription_details", quote_details: null, subscription_details: { metadata: {}, subscription } },
        lines: { object: "list", data, has_more: false, total_count: data.length, url: `/v1/invoices/${id}/lines` },
      };
    };

    it("invoice.paid grants the plan's monthly credits once per invoice, even when repeated", async () => {
      await sql`insert into public.customers (account_id, stripe_customer_id) values (${member.id}, ${customer}) on conflict do nothing`;
      const before = await balanceOf(member.id);
      const invoice = planInvoice(`in_${member.id.slice(0, 8)}`, "subscription_cycle", 1_800_000_000);
      await deliver(event("invoice.paid", invoice));
      await deliver(event("invoice.paid", invoice)); // a new event id for the same invoice
      expect(await balanceOf(member.id)).toBe(before + 1000);
      const [row] = await sql`select status, credits_granted from public.invoices where id = ${invoice.id}`;
      expect(row).toEqual({ status: "paid", credits_granted: 1000 });
    });

    it("grants once per billing period; a plan change grants the share paid in money, so switching mints nothing", async () => {
      const before = await balanceOf(member.id);
      const id = (k: string) => `in_${k}_${member.id.slice(0, 8)}`;
      // Monthly to yearly restarts the cycle and is paid for: a new period, its credits.
      const up = planInvoice(id("up"), "subscription_update", 1_800_100_000);
      await deliver(event("invoice.paid", up));
      expect(await balanceOf(member.id)).toBe(before + 1000);
      // Back again: Stripe credits the unused time, the invoice charges nothing; nor does the same period again
      // (an invoice re-issued by hand, say), nor the paid switch's invoice delivered once more.
      await deliver(event("invoice.paid", planInvoice(id("back"), "subscription_update", 1_800_200_000, 0)));
      await deliver(event("invoice.paid", planInvoice(id("again"), "subscription_cycle", 1_800_000_000)));
      await deliver(event("invoice.paid", { ...up, id: id("up2") }));
      expect(await balanceOf(member.id)).toBe(before + 1000);
      const rows = await sql`select id, credits_granted from public.invoices where id = any(${[id("up"), id("back"), id("again"), id("up2")]})
        order by id`;
      expect(Object.fromEntries(rows.map((r) => [r.id, r.credits_granted]))).toEqual({
        [id("up")]: 1000, [id("back")]: 0, [id("again")]: 0, [id("up2")]: 0,
      });
      // Switching back again a day later, the unused time paying for most of it: the share paid in money.
      await deliver(event("invoice.paid", planInvoice(id("cheap"), "subscription_update", 1_800_300_000, 52)));
      expect(await balanceOf(member.id)).toBe(before + 1000 + Math.floor(1000 * 52 / 1900));
      // A renewal after a change carries the change's prorations for the plan left: the plan and the period are
      // the non-proration line's.
      const renewal = planInvoice(id("next"), "subscription_cycle", 1_802_592_000, 1900, [
        invoiceLine("proration", plusPrice, 1_801_000_000, 1_802_592_000, -700),
        invoiceLine("period", plusPrice, 1_802_592_000, 1_802_592_000 + MONTH, 1900),
      ]);
      await deliver(event("invoice.paid", renewal));
      expect(await balanceOf(member.id)).toBe(before + 2000 + Math.floor(1000 * 52 / 1900));
      const [granted] = await sql`select idempotency_key from public.credit_ledger where account_id = ${member.id}
        and reference = ${id("next")}`;
      expect(granted.idempotency_key).toBe(`plan:${sub("active").id}:1802592000`);
    });

    it("one period's invoice delivered under many events at once, with a twin invoice for the same period: its credits once", async () => {
      const payer = await createUser(sql, `twins-${crypto.randomUUID()}@test.local`);
      await setBalance(sql, payer.id, 0);
      const subscription = `sub_tw_${payer.id.slice(0, 8)}`;
      const cus = `cus_tw_${payer.id.slice(0, 8)}`;
      await sql`insert into public.customers (account_id, stripe_customer_id) values (${payer.id}, ${cus})`;
      const invoice = (id: string) => ({ ...planInvoice(id, "subscription_cycle", 1_810_000_000, 1900, undefined, subscription), customer: cus });
      const first = invoice(`in_tw1_${payer.id.slice(0, 8)}`);
      const twin = invoice(`in_tw2_${payer.id.slice(0, 8)}`); // re-issued by hand for the same period
      const answers = await Promise.all([
        ...Array.from({ length: 8 }, () => deliver(event("invoice.paid", first))),
        ...Array.from({ length: 4 }, () => deliver(event("invoice.paid", twin))),
      ]);
      expect(answers.map((r) => r.status)).toEqual(Array(12).fill(200));
      expect(await balanceOf(payer.id)).toBe(1000);
      const grants = await sql`select reference from public.credit_ledger where account_id = ${payer.id} and kind = 'grant'
        and reference in ${sql([first.id, twin.id])}`;
      expect(grants).toHaveLength(1);
      const rows = await sql`select sum(credits_granted)::int as granted from public.invoices where id in ${sql([first.id, twin.id])}`;
      expect(rows[0].granted).toBe(1000);
    });

    it("an invoice of a customer not linked yet finds its user in the subscription's metadata, and links the customer", async () => {
      const payer = await createUser(sql, `submeta-${crypto.randomUUID()}@test.local`);
      await setBalance(sql, payer.id, 0);
      const subscription = `sub_sm_${payer.id.slice(0, 8)}`;
      const base = planInvoice(`in_sm_${payer.id.slice(0, 8)}`, "subscription_create", 1_811_000_000, 1900, undefined, subscription);
      const invoice = { ...base, customer: `cus_sm_${payer.id.slice(0, 8)}`,
        parent: { ...base.parent, subscription_details: { subscription, metadata: { user_id: payer.id, kind: "subscription" } } } };
      expect((await (await deliver(event("invoice.paid", invoice))).json()).outcome).toBe("applied");
      expect(await balanceOf(payer.id)).toBe(1000);
      const [link] = await sql`select stripe_customer_id from public.customers where account_id = ${payer.id}`;
      expect(link.stripe_customer_id).toBe(invoice.customer);
    });

    it("an invoice whose event carries only the first page of its lines: the period line is read from all of them", async () => {
      const payer = await createUser(sql, `pages-${crypto.randomUUID()}@test.local`);
      await setBalance(sql, payer.id, 0);
      const subscription = `sub_pg_${payer.id.slice(0, 8)}`;
      const [{ id: businessPrice }] = await sql`select id from public.prices where lookup_key = ${planLookupKey("business", "month")} and active`;
      const start = 1_812_000_000;
      // Several changes in one period: ten proration items come first, the period line on Business after them.
      const lines = [
        ...Array.from({ length: 10 }, (_, i) =>
          invoiceLine("proration", i % 2 ? plusPrice : businessPrice, start - 1_000_000 + i, start, i % 2 ? -300 : 400, subscription)),
        invoiceLine("period", businessPrice, start, start + MONTH, 9900, subscription),
      ];
      const full = { ...planInvoice(`in_pg_${payer.id.slice(0, 8)}`, "subscription_cycle", start, 10400, lines, subscription),
        customer: `cus_pg_${payer.id.slice(0, 8)}` };
      await sql`insert into public.customers (account_id, stripe_customer_id) values (${payer.id}, ${full.customer})`;
      await fetch(`${stack().stripeUrl}/_test/put/invoices`, { method: "POST", body: JSON.stringify(full) });
      const sent = { ...full, lines: { ...full.lines, data: lines.slice(0, 10), has_more: true } };
      expect((await (await deliver(event("invoice.paid", sent))).json()).outcome).toBe("applied");
      expect(await balanceOf(payer.id)).toBe(6000);
      const asked = (await stripeState()).requests.filter((r: { path: string }) => r.path === `/v1/invoices/${full.id}/lines`);
      expect(asked).toHaveLength(1);
    });

    it("a renewal after a plan switch (create_prorations) grants the new plan's credits, either way, in any line order", async () => {
      const [{ id: businessPrice }] = await sql`select id from public.prices where lookup_key = ${planLookupKey("business", "month")} and active`;
      const plans = { plus: { price: plusPrice, credits: 1000 }, business: { price: businessPrice, credits: 6000 } };
      const start = 1_802_592_000;
      for (const [from, to] of [["business", "plus"], ["plus", "business"]] as const) {
        for (const reversed of [false, true]) {
          const payer = await createUser(sql, `switch-${crypto.randomUUID()}@test.local`);
          await setBalance(sql, payer.id, 0);
          const subscription = `sub_sw_${payer.id.slice(0, 8)}`;
          // The unused time on the plan left (negative) and the rest of the period on the new one, both proration
          // invoice items, then the next period on the new plan.
          const lines = [
            invoiceLine("proration", plans[from].price, start - 1_000_000, start, -950, subscription),
            invoiceLine("proration", plans[to].price, start - 1_000_000, start, 1200, subscription),
            invoiceLine("period", plans[to].price, start, start + MONTH, 1900, subscription),
          ];
          if (reversed) lines.reverse();
          const invoice = { ...planInvoice(`in_sw_${payer.id.slice(0, 8)}`, "subscription_cycle", start, 2150, lines, subscription),
            customer: `cus_sw_${payer.id.slice(0, 8)}` };
          await sql`insert into public.customers (account_id, stripe_customer_id) values (${payer.id}, ${invoice.customer})`;
          expect((await (await deliver(event("invoice.paid", invoice))).json()).outcome).toBe("applied");
          expect([from, to, reversed, await balanceOf(payer.id)]).toEqual([from, to, reversed, plans[to].credits]);
          const [grant] = await sql`select idempotency_key from public.credit_ledger where account_id = ${payer.id} and kind = 'grant'
            and reference = ${invoice.id}`;
          expect(grant.idempotency_key).toBe(`plan:${subscription}:${start}`);
        }
      }
    });

    it("a payment_failed delivered after the invoice was paid changes nothing and sends no email", async () => {
      const invoice = {
        id: `in_late_${member.id.slice(0, 8)}`, object: "invoice", customer, status: "paid", amount_paid: 1900, amount_due: 1900,
        currency: "usd", lines: { object: "list", data: [] },
      };
      await deliver(event("invoice.paid", invoice));
      await deliver(event("invoice.payment_failed", { ...invoice, status: "open", amount_paid: 0 }));
      const [row] = await sql`select status, amount_paid from public.invoices where id = ${invoice.id}`;
      expect(row).toEqual({ status: "paid", amount_paid: 1900 });
      expect(await sql`select 1 from public.email_outbox where dedupe_key = ${`payment_failed:${invoice.id}`}`).toHaveLength(0);
    });

    it("invoice.payment_failed records the invoice and queues one email", async () => {
      const invoice = { id: `in_fail_${member.id.slice(0, 8)}`, object: "invoice", customer, status: "open", amount_paid: 0, amount_due: 1900, currency: "usd" };
      await deliver(event("invoice.payment_failed", invoice));
      await deliver(event("invoice.payment_failed", invoice));
      // (The member's other mail, the welcome and receipts, is the notifications domain's.)
      const mails = await sql`select template, payload from public.email_outbox
        where user_id = ${member.id} and payload ->> 'invoice' = ${invoice.id}`;
      expect(mails).toHaveLength(1);
      expect(mails[0].template).toBe("payment_failed");
      expect(mails[0].payload.amount_due).toBe(1900);
    });

    it("a refund or a chargeback of a subscription invoice takes its plan credits back in proportion", async () => {
      const payer = await createUser(sql, `subrefund-${crypto.randomUUID()}@test.local`);
      const cus = `cus_sr_${payer.id.slice(0, 8)}`;
      await sql`insert into public.customers (account_id, stripe_customer_id) values (${payer.id}, ${cus})`;
      await setBalance(sql, payer.id, 0);
      const inv = { ...planInvoice(`in_sr_${payer.id.slice(0, 8)}`, "subscription_create", 1_800_000_000), customer: cus,
        parent: { type: "subscription_details", subscription_details: { subscription: `sub_sr_${payer.id.slice(0, 8)}` } } };
      const pi = `pi_sr_${payer.id.slice(0, 8)}`;
      await fetch(`${stack().stripeUrl}/_test/invoice_payments`, { method: "POST",
        body: JSON.stringify({ invoice: inv.id, payment_intent: pi, amount_paid: 1900 }) });
      const charge = { id: `ch_sr_${payer.id.slice(0, 8)}`, object: "charge", payment_intent: pi, amount: 1900, amount_refunded: 950 };
      // The refund before its invoice.paid is applied: refused (409) so that Stripe delivers it again later.
      const early = event("charge.refunded", charge);
      const refused = await deliver(early);
      expect([refused.status, (await refused.json()).error.code]).toEqual([409, "invoice_not_recorded"]);
      await deliver(event("invoice.paid", inv));
      expect(await balanceOf(payer.id)).toBe(1000);
      expect((await (await deliver(early)).json()).outcome).toBe("applied"); // Stripe's redelivery
      expect(await balanceOf(payer.id)).toBe(500);
      await deliver(event("charge.refunded", charge)); // again: nothing more
      expect(await balanceOf(payer.id)).toBe(500);
      const dispute = { id: `dp_sr_${payer.id.slice(0, 8)}`, object: "dispute", charge: charge.id, payment_intent: pi, amount: 950 };
      expect((await (await deliver(event("charge.dispute.funds_withdrawn", dispute))).json()).outcome).toBe("applied");
      expect((await (await deliver(event("charge.dispute.funds_withdrawn", dispute))).json()).outcome).toBe("duplicate");
      expect(await balanceOf(payer.id)).toBe(0);
      const [row] = await sql`select refunded_cents, credits_clawed_back from public.invoices where id = ${inv.id}`;
      expect(row).toEqual({ refunded_cents: 950, credits_clawed_back: 1000 }); // the dispute counted apart
    });

    it("a customer deleted at Stripe is forgotten: the next checkout makes a new one", async () => {
      const gone = await createUser(sql, `custdel-${crypto.randomUUID()}@test.local`);
      await sql`insert into public.customers (account_id, stripe_customer_id) values (${gone.id}, ${`cus_del_${gone.id.slice(0, 8)}`})`;
      const res = await deliver(event("customer.deleted", { id: `cus_del_${gone.id.slice(0, 8)}`, object: "customer", deleted: true }));
      expect((await res.json()).outcome).toBe("applied");
      expect(await sql`select 1 from public.customers where account_id = ${gone.id}`).toHaveLength(0);
      // A late event of that customer (Stripe cancels its subscriptions, in no set order) does not link it again.
      await deliver(event("customer.subscription.deleted", { ...sub("canceled"), id: `sub_del_${gone.id.slice(0, 8)}`,
        customer: `cus_del_${gone.id.slice(0, 8)}`, metadata: { user_id: gone.id } }));
      expect(await sql`select 1 from public.customers where account_id = ${gone.id}`).toHaveLength(0);
      // The next checkout makes a new customer.
      const checkout = await callFunction("checkout", { method: "POST", token: gone.token, body: JSON.stringify({ amount_cents: 1000 }) });
      expect(checkout.status).toBe(200);
      const [linked] = await sql`select stripe_customer_id from public.customers where account_id = ${gone.id}`;
      expect(linked.stripe_customer_id).not.toBe(`cus_del_${gone.id.slice(0, 8)}`);
    });

    it("deleted: back to the default plan", async () => {
      await deliver(event("customer.subscription.deleted", sub("canceled", { canceled_at: 1_801_000_000 }), Math.floor(Date.now() / 1000) + 60));
      expect((await feature()).plan).toBe("free");
    });
  });

  it("stores and acknowledges event types it does not act on", async () => {
    const evt = event("customer.tax_id.created", { id: "txi_1", object: "tax_id" });
    const res = await deliver(evt);
    expect(res.status).toBe(200);
    expect((await res.json()).outcome).toBe("ignored");
    const [row] = await sql`select type, processed_at is not null as processed from public.stripe_events where id = ${evt.id}`;
    expect(row).toEqual({ type: "customer.tax_id.created", processed: true });
  });
});

describe("catalog changes", () => {
  it("a new amount makes a new price that takes the lookup key; the old one is retired", async () => {
    const changed = stripeCatalog({ ...config, plans: config.plans.map((p) => (p.id === "plus" ? { ...p, priceMonthlyCents: 2400 } : p)) });
    const summary = await syncStripeCatalog(createStripe("sk_test_saasbase_local", stack().stripeUrl), sql, changed, config.currency);
    expect(summary).toMatchObject({ pricesCreated: 1, pricesRetired: 1 });
    const rows = await sql`select unit_amount, active from public.prices where lookup_key = ${planLookupKey("plus", "month")} order by active`;
    expect(rows.map((r) => [r.unit_amount, r.active])).toEqual([[1900, false], [2400, true]]);
    await sync(); // back to the config (another new price), for whatever runs next
  });

  it("a price or product that leaves the config is no longer for sale, at Stripe or in the mirror", async () => {
    const stripe = createStripe("sk_test_saasbase_local", stack().stripeUrl);
    const noYearly = stripeCatalog({ ...config, plans: config.plans.map((p) => (p.id === "plus" ? { ...p, priceYearlyCents: undefined } : p)) });
    await syncStripeCatalog(stripe, sql, noYearly, config.currency);
    const yearly = planLookupKey("plus", "year");
    expect((await sql`select active from public.prices where lookup_key = ${yearly}`).map((r) => r.active)).not.toContain(true);
    expect((await stripe.prices.list({ lookup_keys: [yearly], active: true })).data).toHaveLength(0);

    const withoutPack = stripeCatalog({ ...config, creditPacks: config.creditPacks.slice(1) });
    const gone = stripeCatalog(config).find((p) => !withoutPack.some((q) => q.id === p.id))!;
    await syncStripeCatalog(stripe, sql, withoutPack, config.currency);
    expect((await stripe.products.retrieve(gone.id)).active).toBe(false);
    expect((await sql`select active from public.products where id = ${gone.id}`)[0].active).toBe(false);
    await sync(); // back to the config, for whatever runs next
    expect((await stripe.products.retrieve(gone.id)).active).toBe(true);
    expect((await stripe.prices.list({ lookup_keys: [yearly], active: true })).data).toHaveLength(1);
  });
});
