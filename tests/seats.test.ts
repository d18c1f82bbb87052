// Per-seat plans end to end: checkout buying seats, and the seat sync (the `seats` function over
// _shared/billing/seats.ts) keeping Stripe's subscription quantity what SQL's seat rule wants as members join and
// leave, with proration, idempotently, under concurrency and after a failed Stripe call. The real stripe SDK in
// the functions talks to the local Stripe server, which applies quantity changes, records their proration and
// makes the customer.subscription.updated events that the webhook (signed deliveries) mirrors.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type postgres from "postgres";
import { syncStripeCatalog } from "../src/billing/stripe-sync.ts";
import { planLookupKey, stripeCatalog } from "../supabase/functions/_shared/billing-catalog.ts";
import { config } from "../supabase/functions/_shared/config.ts";
import { createStripe } from "../supabase/functions/_shared/stripe-client.ts";
import { createSaasbaseClient } from "../src/client/index.ts";
import { startPostgrestRpcServer } from "./support/postgrest-rpc-server.ts";
import { asUser, callFunction, connectDb, createUser, stack } from "./support/stack.ts";
import { deliverEvent, stripeEvent } from "./support/stripe-webhook.ts";

type Obj = Record<string, any>;
const sql = connectDb(10);
afterAll(() => sql.end());

const stripeState = async (): Promise<Obj> => (await fetch(`${stack().stripeUrl}/_test/state`)).json();
const stripeTest = (path: string, body: unknown) =>
  fetch(`${stack().stripeUrl}/_test/${path}`, { method: "POST", body: JSON.stringify(body) });
const mail = (tag: string) => `seats-${tag}-${crypto.randomUUID()}@test.local`;

const post = (name: string, token: string, body: unknown, account?: string) =>
  callFunction(name, {
    method: "POST",
    token,
    headers: { "content-type": "application/json", ...(account ? { "x-account-id": account } : {}) },
    body: JSON.stringify(body),
  });
const sync = (token: string, account?: string) => post("seats/sync", token, {}, account);

async function syncOk(token: string, account?: string): Promise<Obj> {
  const res = await sync(token, account);
  const body = await res.json();
  expect(res.status, JSON.stringify(body)).toBe(200);
  return body;
}

/** A team of a new owner's, with `members` more members who joined by the team API (a link invitation each). */
async function team(members = 0) {
  const owner = await createUser(sql, mail("owner"));
  const [{ id }] = await asUser(sql, owner.id, (tx) =>
    tx`select (public.create_team('Seat team', ${`seats-${crypto.randomUUID().slice(0, 12)}`})).id`);
  const joined = [];
  for (let i = 0; i < members; i++) joined.push(await join(id, owner.id));
  return { id: id as string, owner, members: joined };
}

/** A new user joins the team through an invitation of `inviter`'s. */
async function join(account: string, inviter: string, role = "member") {
  const user = await createUser(sql, mail("member"));
  const [{ token }] = await asUser(sql, inviter, (tx) => tx`select token from public.invite_member(${account}, ${role}, null)`);
  await asUser(sql, user.id, (tx) => tx`select public.accept_invitation(${token})`);
  return user;
}
const leave = (account: string, userId: string) =>
  asUser(sql, userId, (tx: postgres.TransactionSql) => tx`select public.leave_team(${account})`);

let businessPrice: string;

/** The team's subscription as Stripe makes it after a paid checkout of `seats` Business seats, mirrored through
 * the signed customer.subscription.created event. */
async function subscribe(account: string, seats: number) {
  const tag = crypto.randomUUID().slice(0, 12);
  const start = Math.floor(Date.now() / 1000) - 86_400;
  const sub = {
    id: `sub_seats_${tag}`,
    object: "subscription",
    customer: `cus_seats_${tag}`,
    status: "active",
    created: start,
    cancel_at_period_end: false,
    canceled_at: null,
    metadata: { account_id: account, kind: "subscription", plan_id: "business" },
    items: {
      object: "list",
      data: [{
        id: `si_seats_${tag}`,
        object: "subscription_item",
        price: { id: businessPrice, object: "price" },
        quantity: seats,
        current_period_start: start,
        current_period_end: start + 30 * 86_400,
      }],
    },
  };
  await stripeTest("subscriptions", sub);
  const res = await deliverEvent(stack().functionsUrl, stripeEvent("customer.subscription.created", sub, { created: start }));
  expect((await res.json()).outcome).toBe("applied");
  return { id: sub.id, item: sub.items.data[0].id };
}

/** The subscription item's quantity at the local Stripe server, and the prorations recorded for it. */
async function atStripe(sub: { id: string; item: string }) {
  const state = await stripeState();
  return {
    quantity: state.subscriptions[sub.id].items.data[0].quantity as number,
    prorations: (state.prorations as Obj[]).filter((p) => p.subscription === sub.id)
      .map((p) => [p.from, p.to, p.proration_behavior]),
    updates: (state.requests as Obj[]).filter((r) => r.method === "POST" && r.path === `/v1/subscription_items/${sub.item}`).length,
  };
}

/** Delivers the customer.subscription.updated events the local Stripe server made for `sub` (as Stripe sends them). */
async function deliverUpdates(sub: { id: string }) {
  const events = Object.values((await stripeState()).events as Record<string, Obj>)
    .filter((e) => e.type === "customer.subscription.updated" && e.data.object.id === sub.id);
  for (const e of events) expect((await deliverEvent(stack().functionsUrl, e)).status).toBe(200);
}

async function mirror(account: string) {
  const [row] = await sql`select s.quantity, a.billed_seats, a.seats_bought, a.seat_version::int, a.billed_seat_version::int
    from public.accounts a left join public.subscriptions s on s.account_id = a.id where a.id = ${account}`;
  return row;
}

beforeAll(async () => {
  await syncStripeCatalog(createStripe("sk_test_saasbase_local", stack().stripeUrl), sql, stripeCatalog(config), config.currency);
  [{ id: businessPrice }] = await sql`select id from public.prices where lookup_key = ${planLookupKey("business", "month")} and active`;
});

describe("checkout of a per-seat plan", () => {
  it("bills the seats asked for (default: the members), within the members and the plan's max_seats", async () => {
    const t = await team(1);
    const checkout = (body: Obj) => post("checkout", t.owner.token, body, t.id);
    const price = planLookupKey("business", "month");

    const three = await checkout({ price, seats: 3 });
    expect(three.status).toBe(200);
    const session = (await stripeState()).sessions[(await three.json()).id];
    expect(session.line_items_params[0]).toEqual({ price: businessPrice, quantity: "3" });
    expect(session.metadata).toMatchObject({ account_id: t.id, plan_id: "business" });

    const byDefault = await checkout({ price });
    expect(byDefault.status).toBe(200);
    expect((await stripeState()).sessions[(await byDefault.json()).id].line_items_params[0].quantity).toBe("2");

    for (const [body, code] of [
      [{ price, seats: 1 }, "invalid_seats"], // two members
      [{ price, seats: config.plans.find((p) => p.id === "business")!.maxSeats! + 1 }, "invalid_seats"],
      [{ price: planLookupKey("plus", "month"), seats: 2 }, "invalid_seats"], // not per seat
      [{ pack: "credits_500", seats: 2 }, "validation_failed"],
      [{ price, seats: 0 }, "validation_failed"],
      [{ price, seats: 2.5 }, "validation_failed"],
      [{ price, seats: "3" }, "validation_failed"],
    ] as [Obj, string][]) {
      const res = await checkout(body);
      const answer = await res.json();
      expect([res.status, answer.error.code], JSON.stringify(body)).toEqual([422, code]);
    }
    // A plain member may not buy the team's subscription, seats or not.
    const member = await post("checkout", t.members[0].token, { price, seats: 3 }, t.id);
    expect([member.status, (await member.json()).error.code]).toEqual([403, "account_forbidden"]);
  });
});

describe("the seat sync", () => {
  it("joins within the seats change nothing; past them raise the quantity, leaving lowers it, both prorated", async () => {
    const t = await team();
    const sub = await subscribe(t.id, 3);
    expect(await mirror(t.id)).toMatchObject({ quantity: 3, seats_bought: 3 });

    // One member in three seats, then three: nothing to change at Stripe.
    expect(await syncOk(t.owner.token, t.id)).toMatchObject({ subscription_id: sub.id, members: 1, quantity: 3, wanted: 3, updated: false });
    const a = await join(t.id, t.owner.id);
    const b = await join(t.id, t.owner.id);
    expect(await syncOk(a.token, t.id)).toMatchObject({ members: 3, wanted: 3, updated: false });
    expect(await atStripe(sub)).toEqual({ quantity: 3, prorations: [], updates: 0 });

    // A fourth member: 4 seats, prorated; recorded once Stripe answered; the webhook mirrors Stripe's event.
    const c = await join(t.id, t.owner.id);
    const raised = await syncOk(c.token, t.id);
    expect(raised).toMatchObject({ members: 4, quantity: 3, wanted: 4, updated: true });
    expect(await atStripe(sub)).toEqual({ quantity: 4, prorations: [[3, 4, "create_prorations"]], updates: 1 });
    expect(await mirror(t.id)).toMatchObject({ quantity: 3, billed_seats: 4, billed_seat_version: raised.seat_version });
    // The same version again, before the webhook came: Stripe is not asked again.
    expect(await syncOk(t.owner.token, t.id)).toMatchObject({ wanted: 4, updated: false });
    await deliverUpdates(sub);
    expect(await mirror(t.id)).toMatchObject({ quantity: 4, billed_seats: 4, seats_bought: 3 });

    // One leaves: 3 (the members left), synced by the one who left (as src/client does right after leave_team);
    // another: 2.
    await leave(t.id, c.id);
    expect(await syncOk(c.token, t.id)).toMatchObject({ members: 3, wanted: 3, updated: true });
    await leave(t.id, b.id);
    expect(await syncOk(a.token, t.id)).toMatchObject({ members: 2, wanted: 2, updated: true });
    expect(await atStripe(sub)).toEqual({
      quantity: 2,
      prorations: [[3, 4, "create_prorations"], [4, 3, "create_prorations"], [3, 2, "create_prorations"]],
      updates: 3,
    });
    await deliverUpdates(sub);
    expect(await mirror(t.id)).toMatchObject({ quantity: 2, billed_seats: 2, seats_bought: 2 });
  });

  it("the same version synced twice at once: one Stripe update", async () => {
    const t = await team(2);
    const sub = await subscribe(t.id, 3);
    await join(t.id, t.owner.id);
    await join(t.id, t.owner.id); // five members in three seats
    const both = await Promise.all([syncOk(t.owner.token, t.id), syncOk(t.members[0].token, t.id), syncOk(stack().serviceRoleKey, t.id)]);
    expect(both.map((s) => s.wanted)).toEqual([5, 5, 5]);
    expect(both.filter((s) => s.updated)).toHaveLength(1);
    expect(await atStripe(sub)).toEqual({ quantity: 5, prorations: [[3, 5, "create_prorations"]], updates: 1 });
  });

  it("a sync racing a join and a leave converges on the rule, and membership changes do not wait for Stripe", async () => {
    const t = await team(2);
    const sub = await subscribe(t.id, 2);
    await join(t.id, t.owner.id); // four members in two seats: due (the free plan's limit is 3: joined once subscribed)
    const path = `/v1/subscription_items/${sub.item}`;
    await stripeTest("hold", { paths: [path] });
    try {
      const first = sync(t.owner.token, t.id);
      // Stripe has the request (the answer held): a join and a leave commit meanwhile.
      for (let i = 0; i < 200 && (await atStripe(sub)).updates === 0; i++) await new Promise((r) => setTimeout(r, 25));
      const late = await join(t.id, t.owner.id);
      await leave(t.id, t.members[0].id);
      await leave(t.id, t.members[1].id);
      // A second sync waits for the first (the account's seat lock), then sees the newer members.
      const second = sync(late.token, t.id);
      await new Promise((r) => setTimeout(r, 200));
      await stripeTest("hold", { paths: [] });
      const [a, b] = await Promise.all([first, second].map(async (p) => (await p).json()));
      expect(a).toMatchObject({ members: 4, wanted: 4, updated: true });
      expect(b).toMatchObject({ members: 3, wanted: 3, updated: true });
    } finally {
      await stripeTest("hold", { paths: [] });
    }
    expect(await atStripe(sub)).toMatchObject({ quantity: 3, prorations: [[2, 4, "create_prorations"], [4, 3, "create_prorations"]] });
    const row = await mirror(t.id);
    expect([row.billed_seats, row.billed_seat_version]).toEqual([3, row.seat_version]);
    // Nothing left to do.
    expect(await syncOk(t.owner.token, t.id)).toMatchObject({ wanted: 3, updated: false });
  });

  it("a Stripe call that fails records nothing; the account stays due and the next sweep applies it", async () => {
    const t = await team(1);
    const sub = await subscribe(t.id, 2);
    await syncOk(t.owner.token, t.id);
    await join(t.id, t.owner.id); // three members in two seats
    const before = await mirror(t.id);
    const path = `/v1/subscription_items/${sub.item}`;
    await stripeTest("refuse", { paths: [path] });
    try {
      const failed = await sync(t.owner.token, t.id);
      const body = await failed.json();
      expect(failed.status).toBeGreaterThanOrEqual(500);
      expect(typeof body.error.code).toBe("string");
      expect(await mirror(t.id)).toEqual(before);
      const sweep = await syncOk(stack().serviceRoleKey);
      expect(sweep.failed).toContainEqual({ account_id: t.id, error: expect.objectContaining({ code: "payment_provider_error" }) });
      expect(await mirror(t.id)).toEqual(before);
      const [due] = await sql`select ${t.id}::uuid in (select public.service_role_seats_due(1000)) as due`;
      expect(due.due).toBe(true);
    } finally {
      await stripeTest("refuse", { paths: [] });
    }
    const sweep = await syncOk(stack().serviceRoleKey);
    expect(sweep.synced).toContainEqual(expect.objectContaining({ account_id: t.id, wanted: 3, updated: true }));
    expect(sweep.failed.map((f: Obj) => f.account_id)).not.toContain(t.id);
    expect(await atStripe(sub)).toMatchObject({ quantity: 3, prorations: [[2, 3, "create_prorations"]] });
    expect(await mirror(t.id)).toMatchObject({ billed_seats: 3, billed_seat_version: before.seat_version });
    // Synced: the next sweep leaves it alone.
    expect((await syncOk(stack().serviceRoleKey)).synced.map((s: Obj) => s.account_id)).not.toContain(t.id);
  });

  it("stripe-reconcile repairs drift: a quantity set by hand at Stripe is set back to the rule's", async () => {
    const t = await team(2);
    const sub = await subscribe(t.id, 3);
    await syncOk(t.owner.token, t.id);
    // Someone sets 1 seat in Stripe's dashboard, without proration (POST /v1/subscriptions/:id, through the SDK);
    // its event reaches the webhook.
    const stripe = createStripe("sk_test_saasbase_local", stack().stripeUrl);
    const updated = await stripe.subscriptions.update(sub.id, { items: [{ id: sub.item, quantity: 1 }], proration_behavior: "none" });
    expect(updated.items.data[0].quantity).toBe(1);
    expect(await atStripe(sub)).toEqual({ quantity: 1, prorations: [], updates: 0 });
    await deliverUpdates(sub);
    expect(await mirror(t.id)).toMatchObject({ quantity: 1, seats_bought: 3 });
    const res = await post("stripe-reconcile", stack().serviceRoleKey, { since: Math.floor(Date.now() / 1000) - 5 });
    const report = await res.json();
    expect(res.status, JSON.stringify(report)).toBe(200);
    expect(report.seats.synced).toContainEqual(expect.objectContaining({ account_id: t.id, quantity: 1, wanted: 3, updated: true }));
    expect(await atStripe(sub)).toMatchObject({ quantity: 3, prorations: [[1, 3, "create_prorations"]] });
  });

  it("any member may run it, only to the rule's effect; strangers and bad requests get 4xx JSON and change nothing", async () => {
    const t = await team(1);
    const sub = await subscribe(t.id, 4);
    const member = t.members[0]; // role member: no manage_billing
    for (let i = 0; i < 5; i++) expect(await syncOk(member.token, t.id)).toMatchObject({ wanted: 4, updated: false });
    expect(await atStripe(sub)).toEqual({ quantity: 4, prorations: [], updates: 0 });

    const before = await mirror(t.id);
    const stranger = await createUser(sql, mail("stranger"));
    const refusals: [Promise<Response>, number, string][] = [
      [sync(stranger.token, t.id), 404, "account_not_found"],
      [post("seats/sync", member.token, { quantity: 99 }, t.id), 422, "validation_failed"],
      [post("seats/sync", member.token, { account_id: t.id }), 422, "validation_failed"],
      [callFunction("seats/sync", { method: "POST", token: member.token, headers: { "x-account-id": "not-a-uuid" } }), 422, "validation_failed"],
      [callFunction("seats/sync", { method: "POST", token: member.token, body: "{" }), 400, "invalid_json"],
      [callFunction("seats/sync", { method: "GET", token: member.token }), 405, "method_not_allowed"],
      [callFunction("seats/quantity", { method: "POST", token: member.token, body: "{}" }), 404, "route_not_found"],
      [callFunction("seats/sync", { method: "POST", token: stack().anonKey, body: "{}" }), 401, "user_required"],
    ];
    for (const [call, status, code] of refusals) {
      const res = await call;
      expect([res.status, (await res.json()).error.code]).toEqual([status, code]);
    }
    expect(await mirror(t.id)).toEqual(before);
    expect(await atStripe(sub)).toEqual({ quantity: 4, prorations: [], updates: 0 });
  });
});

describe("src/client's team helpers", () => {
  let rest: Awaited<ReturnType<typeof startPostgrestRpcServer>>;
  beforeAll(async () => {
    rest = await startPostgrestRpcServer(stack().dbUrl, stack().jwtSecret, stack().functionsUrl);
  });
  afterAll(() => rest?.stop());
  const clientFor = (token: string) =>
    createSaasbaseClient(rest.url, stack().anonKey, {
      auth: { persistSession: false, autoRefreshToken: false },
      global: { headers: { Authorization: `Bearer ${token}` } },
    });

  it("sync the seats right after accepting, leaving and removing", async () => {
    const t = await team(1);
    const sub = await subscribe(t.id, 2);
    const owner = clientFor(t.owner.token);
    const newcomer = await createUser(sql, mail("client"));
    const invitation = await owner.teams.invitations.create({ account: t.id, role: "member" });
    const accepted = await clientFor(newcomer.token).teams.invitations.accept(invitation.data!.token!);
    expect(accepted.error).toBeNull();
    expect(accepted.seats?.data).toMatchObject({ account_id: t.id, subscription_id: sub.id, members: 3, wanted: 3, updated: true });
    expect((await atStripe(sub)).quantity).toBe(3);

    const left = await clientFor(newcomer.token).teams.leave(t.id);
    expect(left.error).toBeNull();
    expect(left.seats?.data).toMatchObject({ members: 2, wanted: 2, updated: true });
    const removed = await owner.teams.members.remove({ account: t.id, user_id: t.members[0].id });
    expect(removed.seats?.data).toMatchObject({ members: 1, wanted: 1, updated: true });
    expect(await atStripe(sub)).toMatchObject({ quantity: 1,
      prorations: [[2, 3, "create_prorations"], [3, 2, "create_prorations"], [2, 1, "create_prorations"]] });
    // On demand, and refused changes run no sync.
    expect((await owner.teams.seats.sync(t.id)).data).toMatchObject({ wanted: 1, updated: false });
    const again = await owner.teams.members.remove({ account: t.id, user_id: t.members[0].id });
    expect([again.error?.code, again.seats]).toEqual(["member_not_found", undefined]);
  });
});
