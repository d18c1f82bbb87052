// A local HTTP server answering the Stripe API routes SaaSbase uses, in Stripe's wire format (form-encoded
// requests, JSON objects with `object`, list envelopes, error envelopes, idempotency keys), so the real
// stripe SDK talks to it as to api.stripe.com. It runs in vitest's global setup; test files (other
// processes) read what was asked of it from GET /_test/state and seed subscriptions with POST /_test/subscriptions,
// or any listed object (events, checkout sessions, invoices, subscriptions, charges, refunds, disputes) with
// POST /_test/put/<collection>. The list endpoints take Stripe's exact query parameters (anything else is
// refused as Stripe refuses it), return newest first, page with starting_after / ending_before and has_more,
// and filter `created` by gt/gte/lt/lte; events are listed only for their last 30 days, as Stripe keeps them.
// Every answer has Stripe's Date header, from a clock a test may set apart from ours (POST /_test/clock), and
// a test may hold the answers of some paths (POST /_test/hold) to deliver what Stripe had after later changes.
// A subscription's quantity changes (POST /v1/subscription_items/:id, POST /v1/subscriptions/:id) are applied
// to the stored subscription, recorded with their proration in `prorations`, and produce the
// customer.subscription.updated event Stripe sends (stored in `events`, for the tests to deliver or a
// reconciliation to list).
import { createServer, type IncomingMessage, type Server } from "node:http";
import { freePort } from "../../src/local/functions.ts";

type Obj = Record<string, any>;

/** `a[b][0][c]=1` form and query encoding, as stripe-node writes it, into nested objects and arrays. */
export function parseStripeForm(text: string): Obj {
  const out: Obj = {};
  for (const [key, value] of new URLSearchParams(text)) {
    const parts = key.match(/[^[\]]+/g) ?? [key];
    let node: any = out;
    parts.forEach((part, i) => {
      const last = i === parts.length - 1;
      const nextIsIndex = !last && /^\d+$/.test(parts[i + 1]);
      if (last) node[part] = value;
      else node = node[part] ??= nextIsIndex ? [] : {};
    });
  }
  return out;
}

export interface StripeState {
  customers: Map<string, Obj>;
  products: Map<string, Obj>;
  prices: Map<string, Obj>;
  sessions: Map<string, Obj>;
  portalSessions: Obj[];
  subscriptions: Map<string, Obj>;
  accounts: Map<string, Obj>;
  transfers: Map<string, Obj>;
  /** The platform's available balance for transfers, in cents; null: unlimited. */
  balance: number | null;
  /** Payments of invoices (which payment intent paid which invoice), as tests seed them. */
  invoicePayments: Obj[];
  /** What tests put there for listing (POST /_test/put/<collection>). */
  events: Map<string, Obj>;
  invoices: Map<string, Obj>;
  charges: Map<string, Obj>;
  refunds: Map<string, Obj>;
  disputes: Map<string, Obj>;
  /** Quantity changes of subscription items, in order: what Stripe would prorate on the next invoice. */
  prorations: Obj[];
  /** API paths answered 403 as for a restricted key without that access (POST /_test/refuse { paths }). */
  refused: string[];
  /** Seconds Stripe's clock (its Date header) is ahead of ours, negative behind (POST /_test/clock). */
  clockOffset: number;
  /** API paths whose answers, made when asked, are sent only once released (POST /_test/hold { paths }, then
   * { paths: [] }): what Stripe had at a moment, arriving after later changes. */
  held: string[];
  idempotent: Map<string, { status: number; body: Obj; sent: string }>;
  requests: { method: string; path: string; query?: Obj }[];
}

let seq = 0;
const newId = (prefix: string) => `${prefix}_test${Date.now().toString(36)}${(++seq).toString(36)}`;
const now = () => Math.floor(Date.now() / 1000);

export async function startStripeServer(): Promise<{ url: string; state: StripeState; close(): Promise<void> }> {
  const state: StripeState = {
    customers: new Map(),
    products: new Map(),
    prices: new Map(),
    sessions: new Map(),
    portalSessions: [],
    subscriptions: new Map(),
    accounts: new Map(),
    transfers: new Map(),
    balance: null,
    invoicePayments: [],
    events: new Map(),
    invoices: new Map(),
    charges: new Map(),
    refunds: new Map(),
    disputes: new Map(),
    prorations: [],
    refused: [],
    clockOffset: 0,
    held: [],
    idempotent: new Map(),
    requests: [],
  };

  const notFound = (what: string, id: string) => ({
    status: 404,
    body: { error: { type: "invalid_request_error", code: "resource_missing", message: `No such ${what}: '${id}'`, param: "id" } },
  });
  const list = (data: Obj[], url: string) => ({ status: 200, body: { object: "list", data, has_more: false, url } });

  const invalid = (message: string, param?: string) => ({
    status: 400,
    body: { error: { type: "invalid_request_error", message, ...(param ? { param } : {}) } },
  });
  /** `created` as Stripe takes it: a timestamp, or a range of gt / gte / lt / lte; a predicate or a refusal. */
  function createdFilter(value: unknown): ((t: number) => boolean) | { status: number; body: Obj } {
    if (value === undefined) return () => true;
    const int = (v: unknown) => typeof v === "string" && /^\d+$/.test(v) ? Number(v) : undefined;
    if (typeof value === "string") {
      const at = int(value);
      return at === undefined ? invalid(`Invalid integer: ${value}`, "created") : (t) => t === at;
    }
    const range = value as Obj;
    const bounds: [string, (t: number, b: number) => boolean][] = [
      ["gt", (t, b) => t > b], ["gte", (t, b) => t >= b], ["lt", (t, b) => t < b], ["lte", (t, b) => t <= b],
    ];
    for (const k of Object.keys(range)) {
      if (!bounds.some(([b]) => b === k)) return invalid(`Received unknown parameter: created[${k}]`, `created[${k}]`);
      if (int(range[k]) === undefined) return invalid(`Invalid integer: ${range[k]}`, `created[${k}]`);
    }
    return (t) => bounds.every(([k, test]) => range[k] === undefined || test(t, Number(range[k])));
  }
  /**
   * A list endpoint as Stripe answers it: only the parameters it documents (`allowed`, plus the pagination ones
   * and expand), newest first (ties: the later stored first), `starting_after` / `ending_before` an id of the
   * list, `limit` 1 to 100 (default 10), `has_more`. `match` applies the endpoint's own filters.
   */
  function listOf(url: string, all: Obj[], query: Obj, allowed: string[], match: (x: Obj) => boolean = () => true) {
    const known = new Set([...allowed, "created", "ending_before", "starting_after", "limit", "expand"]);
    for (const k of Object.keys(query)) if (!known.has(k)) return invalid(`Received unknown parameter: ${k}`, k);
    if (query.starting_after && query.ending_before) {
      return invalid("You may only specify one of these parameters: ending_before, starting_after.");
    }
    const limit = query.limit === undefined ? 10 : Number(query.limit);
    if (!Number.isInteger(limit) || String(query.limit ?? 10) !== String(limit)) return invalid(`Invalid integer: ${query.limit}`, "limit");
    if (limit < 1 || limit > 100) return invalid("This value must be greater than or equal to 1 and less than or equal to 100.", "limit");
    const created = createdFilter(query.created);
    if (typeof created !== "function") return created;
    const ordered = all.map((x, i) => ({ x, i })).sort((a, b) => ((b.x.created ?? 0) - (a.x.created ?? 0)) || (b.i - a.i)).map((e) => e.x)
      .filter((x) => created(x.created ?? 0) && match(x));
    let page: Obj[];
    let hasMore: boolean;
    const cursor = query.starting_after ?? query.ending_before;
    if (cursor !== undefined) {
      const at = ordered.findIndex((x) => x.id === cursor);
      if (at < 0) {
        const param = query.starting_after !== undefined ? "starting_after" : "ending_before";
        return { status: 404, body: { error: { type: "invalid_request_error", code: "resource_missing", param,
          message: `No such object: '${cursor}'` } } };
      }
      if (query.starting_after !== undefined) {
        page = ordered.slice(at + 1, at + 1 + limit);
        hasMore = ordered.length > at + 1 + limit;
      } else {
        page = ordered.slice(Math.max(0, at - limit), at);
        hasMore = at - limit > 0;
      }
    } else {
      page = ordered.slice(0, limit);
      hasMore = ordered.length > limit;
    }
    return { status: 200, body: { object: "list", url, has_more: hasMore, data: page } };
  }
  const is = (value: unknown, wanted: unknown) => wanted === undefined || value === wanted;
  const idOf = (v: unknown) => (v && typeof v === "object" ? (v as Obj).id : v);
  /** Stripe keeps events for 30 days: older ones are neither listed nor retrieved. */
  const EVENT_DAYS = 30;
  const liveEvents = () => [...state.events.values()].filter((e) => e.created >= now() - EVENT_DAYS * 86_400);

  /** A subscription item's quantity set as Stripe sets it: `proration_behavior` create_prorations (the default),
   * always_invoice or none; a change is recorded in `prorations` (unless none) and its
   * customer.subscription.updated event (the object after, `previous_attributes` the items before) stored. */
  function changeQuantity(sub: Obj, itemId: string, quantity: unknown, behavior: unknown): { item: Obj } | { status: number; body: Obj } {
    const item = (sub.items?.data ?? []).find((i: Obj) => i.id === itemId);
    if (!item) return invalid(`No such subscription item on ${sub.id}: '${itemId}'`, "items");
    if (behavior !== undefined && !["create_prorations", "always_invoice", "none"].includes(behavior as string)) {
      return invalid(`Invalid proration_behavior: must be one of create_prorations, always_invoice, or none`, "proration_behavior");
    }
    if (quantity === undefined) return { item };
    if (typeof quantity !== "string" || !/^\d+$/.test(quantity)) return invalid(`Invalid integer: ${quantity}`, "quantity");
    if (["canceled", "incomplete_expired"].includes(sub.status)) {
      return invalid(`A canceled subscription can only update its cancellation_details and metadata.`);
    }
    const from = item.quantity ?? 1;
    const to = Number(quantity);
    if (from === to) return { item };
    const previous = structuredClone(sub.items);
    item.quantity = to;
    const mode = (behavior as string | undefined) ?? "create_prorations";
    if (mode !== "none") {
      state.prorations.push({ subscription: sub.id, item: item.id, price: idOf(item.price), from, to,
        proration_behavior: mode, proration_date: now() });
    }
    const event = { id: newId("evt"), object: "event", type: "customer.subscription.updated", created: now(),
      api_version: "2026-10-28.endive", livemode: false, pending_webhooks: 1,
      data: { object: structuredClone(sub), previous_attributes: { items: previous } } };
    state.events.set(event.id, event);
    return { item };
  }

  function route(method: string, path: string, query: Obj, body: Obj): { status: number; body: Obj } {
    let m: RegExpExecArray | null;
    if (state.refused.includes(path)) {
      return { status: 403, body: { error: { type: "invalid_request_error",
        message: `The provided key 'rk_test_***' does not have the required permissions for this endpoint (${path}).` } } };
    }
    if (method === "POST" && path === "/v1/customers") {
      const c = { id: newId("cus"), object: "customer", email: body.email ?? null, name: body.name ?? null, metadata: body.metadata ?? {}, created: now() };
      state.customers.set(c.id, c);
      return { status: 200, body: c };
    }
    if (method === "GET" && (m = /^\/v1\/customers\/([^/]+)$/.exec(path))) {
      const c = state.customers.get(m[1]);
      return c ? { status: 200, body: c } : notFound("customer", m[1]);
    }
    if (method === "POST" && path === "/v1/checkout/sessions") {
      const id = newId("cs");
      const s = {
        id, object: "checkout.session", mode: body.mode, customer: body.customer, client_reference_id: body.client_reference_id ?? null,
        metadata: body.metadata ?? {}, line_items_params: body.line_items, success_url: body.success_url, cancel_url: body.cancel_url,
        subscription_data: body.subscription_data ?? null, payment_intent_data: body.payment_intent_data ?? null,
        url: `https://checkout.stripe.test/c/pay/${id}`, status: "open", payment_status: "unpaid", created: now(),
      };
      state.sessions.set(id, s);
      return { status: 200, body: s };
    }
    if (method === "GET" && path === "/v1/checkout/sessions") {
      return listOf("/v1/checkout/sessions", [...state.sessions.values()], query,
        ["customer", "customer_details", "payment_intent", "payment_link", "status", "subscription"],
        (x) => is(x.customer, query.customer) && is(x.status, query.status) && is(idOf(x.payment_intent), query.payment_intent) &&
          is(idOf(x.subscription), query.subscription) && is(x.payment_link, query.payment_link) &&
          is(x.customer_details?.email, query.customer_details?.email));
    }
    if (method === "POST" && (m = /^\/v1\/checkout\/sessions\/([^/]+)\/expire$/.exec(path))) {
      const x = state.sessions.get(m[1]);
      if (!x) return notFound("checkout.session", m[1]);
      if (x.status !== "open") {
        return { status: 400, body: { error: { type: "invalid_request_error", message: `Only open sessions can be expired (${x.status}).` } } };
      }
      x.status = "expired";
      return { status: 200, body: x };
    }
    if (method === "POST" && path === "/v1/billing_portal/sessions") {
      if (!state.customers.has(body.customer)) return notFound("customer", body.customer);
      const s = { id: newId("bps"), object: "billing_portal.session", customer: body.customer, return_url: body.return_url, url: `https://billing.stripe.test/p/session/${seq}` };
      state.portalSessions.push(s);
      return { status: 200, body: s };
    }
    if (method === "POST" && path === "/v1/products") {
      if (body.id && state.products.has(body.id)) {
        return { status: 400, body: { error: { type: "invalid_request_error", code: "resource_already_exists", message: "Product already exists." } } };
      }
      const p = { id: body.id ?? newId("prod"), object: "product", name: body.name, description: body.description ?? null, active: true, metadata: body.metadata ?? {} };
      state.products.set(p.id, p);
      return { status: 200, body: p };
    }
    if ((m = /^\/v1\/products\/([^/]+)$/.exec(path))) {
      const p = state.products.get(m[1]);
      if (!p) return notFound("product", m[1]);
      if (method === "POST") Object.assign(p, body, { active: body.active === undefined ? p.active : body.active === "true" });
      return { status: 200, body: p };
    }
    if (method === "GET" && path === "/v1/prices") {
      const keys: string[] | undefined = query.lookup_keys;
      const data = [...state.prices.values()].filter((p) =>
        (!keys || keys.includes(p.lookup_key)) && (query.active === undefined || String(p.active) === query.active) &&
        (query.product === undefined || p.product === query.product)
      );
      return list(data, "/v1/prices");
    }
    if (method === "POST" && path === "/v1/prices") {
      if (body.transfer_lookup_key === "true") {
        for (const p of state.prices.values()) if (p.lookup_key === body.lookup_key) p.lookup_key = null;
      }
      const p = {
        id: newId("price"), object: "price", product: body.product, currency: body.currency, unit_amount: Number(body.unit_amount),
        lookup_key: body.lookup_key ?? null, active: true, type: body.recurring ? "recurring" : "one_time",
        recurring: body.recurring ? { interval: body.recurring.interval, interval_count: 1 } : null,
      };
      state.prices.set(p.id, p);
      return { status: 200, body: p };
    }
    if (method === "POST" && (m = /^\/v1\/prices\/([^/]+)$/.exec(path))) {
      const p = state.prices.get(m[1]);
      if (!p) return notFound("price", m[1]);
      if (body.active !== undefined) p.active = body.active === "true";
      return { status: 200, body: p };
    }
    if (method === "POST" && path === "/v1/accounts") {
      const a = { id: newId("acct"), object: "account", type: body.type, email: body.email ?? null, metadata: body.metadata ?? {},
        charges_enabled: false, payouts_enabled: true, capabilities: { transfers: "active" } };
      state.accounts.set(a.id, a);
      return { status: 200, body: a };
    }
    if (method === "GET" && (m = /^\/v1\/accounts\/([^/]+)$/.exec(path))) {
      const a = state.accounts.get(m[1]);
      return a ? { status: 200, body: a } : notFound("account", m[1]);
    }
    if (method === "POST" && path === "/v1/account_links") {
      if (!state.accounts.has(body.account)) return notFound("account", body.account);
      return { status: 200, body: { object: "account_link", url: `https://connect.stripe.test/setup/e/${body.account}`, created: now(), expires_at: now() + 300 } };
    }
    if (method === "POST" && path === "/v1/transfers") {
      const account = state.accounts.get(body.destination);
      if (!account) return notFound("destination", body.destination);
      if (account.capabilities?.transfers !== "active") {
        return { status: 400, body: { error: { type: "invalid_request_error", code: "insufficient_capabilities_for_transfer",
          message: "Your destination account needs to have at least one of the following capabilities enabled: transfers, crypto_transfers, legacy_payments" } } };
      }
      if (state.balance !== null && Number(body.amount) > state.balance) {
        return { status: 400, body: { error: { type: "invalid_request_error", code: "balance_insufficient",
          message: "You have insufficient available funds in your Stripe account." } } };
      }
      if (state.balance !== null) state.balance -= Number(body.amount);
      const t = { id: newId("tr"), object: "transfer", amount: Number(body.amount), currency: body.currency, destination: body.destination,
        transfer_group: body.transfer_group ?? null, metadata: body.metadata ?? {}, created: now() };
      state.transfers.set(t.id, t);
      return { status: 200, body: t };
    }
    if (method === "GET" && path === "/v1/invoice_payments") {
      const pi = query.payment?.payment_intent;
      const data = state.invoicePayments.filter((p) => !pi || p.payment.payment_intent === pi).slice(0, Number(query.limit ?? 10));
      return { status: 200, body: { object: "list", url: "/v1/invoice_payments", has_more: false, data } };
    }
    if (method === "GET" && path === "/v1/transfers") {
      const data = [...state.transfers.values()].filter((t) => !query.transfer_group || t.transfer_group === query.transfer_group)
        .reverse().slice(0, Number(query.limit ?? 10));
      return { status: 200, body: { object: "list", url: "/v1/transfers", has_more: false, data } };
    }
    if (method === "GET" && path === "/v1/events") {
      // `type` may end in a wildcard (invoice.*); `types` is a list of up to 20 exact types.
      const types: string[] | undefined = query.types;
      if (types && (!Array.isArray(types) || types.length > 20)) return invalid("Invalid array", "types");
      if (types && query.type) return invalid("You may only specify one of these parameters: type, types.");
      const type = (t: string) => !query.type || (query.type.endsWith("*") ? t.startsWith(query.type.slice(0, -1)) : t === query.type);
      return listOf("/v1/events", liveEvents(), query, ["delivery_success", "type", "types"],
        (e) => type(e.type) && (!types || types.includes(e.type)));
    }
    if (method === "GET" && (m = /^\/v1\/events\/([^/]+)$/.exec(path))) {
      const e = liveEvents().find((x) => x.id === m![1]);
      return e ? { status: 200, body: e } : notFound("event", m[1]);
    }
    if (method === "GET" && (m = /^\/v1\/invoices\/([^/]+)\/lines$/.exec(path))) {
      // An invoice's lines in the invoice's order (POST /_test/put/invoices with all of them), paged as Stripe
      // pages them: an event's invoice carries only the first page.
      const invoice = state.invoices.get(m[1]);
      if (!invoice) return notFound("invoice", m[1]);
      for (const k of Object.keys(query)) {
        if (!["limit", "starting_after", "ending_before", "expand"].includes(k)) return invalid(`Received unknown parameter: ${k}`, k);
      }
      const all: Obj[] = invoice.lines?.data ?? [];
      const limit = Number(query.limit ?? 10);
      const from = query.starting_after === undefined ? 0 : all.findIndex((l) => l.id === query.starting_after) + 1;
      return { status: 200, body: { object: "list", url: `/v1/invoices/${m[1]}/lines`, has_more: from + limit < all.length,
        data: all.slice(from, from + limit) } };
    }
    if (method === "GET" && path === "/v1/invoices") {
      return listOf("/v1/invoices", [...state.invoices.values()], query,
        ["collection_method", "customer", "due_date", "status", "subscription"],
        (x) => is(idOf(x.customer), query.customer) && is(x.status, query.status) && is(x.collection_method, query.collection_method) &&
          is(idOf(x.parent?.subscription_details?.subscription ?? x.subscription), query.subscription));
    }
    if (method === "GET" && path === "/v1/subscriptions") {
      // No status: every subscription not canceled; `all`: every one; `ended`: canceled or incomplete_expired.
      const status = (s: string) => query.status === "all" ||
        (query.status === undefined ? s !== "canceled" : query.status === "ended" ? ["canceled", "incomplete_expired"].includes(s) : s === query.status);
      return listOf("/v1/subscriptions", [...state.subscriptions.values()], query,
        ["automatic_tax", "collection_method", "current_period_end", "current_period_start", "customer", "price", "status", "test_clock"],
        (x) => status(x.status) && is(idOf(x.customer), query.customer) &&
          (query.price === undefined || (x.items?.data ?? []).some((i: Obj) => idOf(i.price) === query.price)));
    }
    if (method === "GET" && (m = /^\/v1\/charges\/([^/]+)$/.exec(path))) {
      const c = state.charges.get(m[1]);
      return c ? { status: 200, body: c } : notFound("charge", m[1]);
    }
    if (method === "GET" && path === "/v1/refunds") {
      return listOf("/v1/refunds", [...state.refunds.values()], query, ["charge", "payment_intent"],
        (x) => is(idOf(x.charge), query.charge) && is(idOf(x.payment_intent), query.payment_intent));
    }
    if (method === "GET" && path === "/v1/disputes") {
      return listOf("/v1/disputes", [...state.disputes.values()], query, ["charge", "payment_intent"],
        (x) => is(idOf(x.charge), query.charge) && is(idOf(x.payment_intent), query.payment_intent));
    }
    if (method === "POST" && (m = /^\/v1\/subscription_items\/([^/]+)$/.exec(path))) {
      const sub = [...state.subscriptions.values()].find((x) => (x.items?.data ?? []).some((i: Obj) => i.id === m![1]));
      if (!sub) return notFound("subscription_item", m[1]);
      const known = ["quantity", "proration_behavior", "proration_date", "payment_behavior", "metadata", "expand"];
      for (const k of Object.keys(body)) if (!known.includes(k)) return invalid(`Received unknown parameter: ${k}`, k);
      const changed = changeQuantity(sub, m[1], body.quantity, body.proration_behavior);
      if ("status" in changed) return changed;
      return { status: 200, body: { object: "subscription_item", subscription: sub.id, created: sub.created ?? now(),
        metadata: {}, ...changed.item } };
    }
    if (method === "POST" && (m = /^\/v1\/subscriptions\/([^/]+)$/.exec(path))) {
      const sub = state.subscriptions.get(m[1]);
      if (!sub) return notFound("subscription", m[1]);
      const known = ["items", "proration_behavior", "proration_date", "payment_behavior", "metadata", "expand"];
      for (const k of Object.keys(body)) if (!known.includes(k)) return invalid(`Received unknown parameter: ${k}`, k);
      for (const [i, item] of (Array.isArray(body.items) ? body.items : []).entries()) {
        if (!item?.id) return invalid("Updating an item needs its id (adding or deleting items is not served here)", `items[${i}][id]`);
        const changed = changeQuantity(sub, item.id, item.quantity, body.proration_behavior);
        if ("status" in changed) return changed;
      }
      return { status: 200, body: sub };
    }
    if (method === "GET" && (m = /^\/v1\/subscriptions\/([^/]+)$/.exec(path))) {
      const s = state.subscriptions.get(m[1]);
      return s ? { status: 200, body: s } : notFound("subscription", m[1]);
    }
    return { status: 404, body: { error: { type: "invalid_request_error", message: `Unrecognized request URL (${method}: ${path})` } } };
  }

  const read = (req: IncomingMessage) =>
    new Promise<string>((resolve) => {
      let text = "";
      req.on("data", (d) => (text += d));
      req.on("end", () => resolve(text));
    });

  const releases: (() => void)[] = [];
  const server: Server = createServer(async (req, res) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    if (url.pathname.startsWith("/_test/")) {
      if (req.method === "POST" && url.pathname === "/_test/subscriptions") {
        const sub = JSON.parse(await read(req));
        state.subscriptions.set(sub.id, sub);
      }
      // Changes a Connect account (e.g. { id, capabilities: { transfers: "inactive" } } makes transfers fail).
      if (req.method === "POST" && url.pathname === "/_test/accounts") {
        const change = JSON.parse(await read(req));
        Object.assign(state.accounts.get(change.id) ?? {}, change);
      }
      // Records that a payment intent paid an invoice ({ invoice, payment_intent, amount_paid }).
      if (req.method === "POST" && url.pathname === "/_test/invoice_payments") {
        const p = JSON.parse(await read(req));
        state.invoicePayments.push({ id: newId("inpay"), object: "invoice_payment", invoice: p.invoice, amount_paid: p.amount_paid,
          is_default: true, status: "paid", payment: { type: "payment_intent", payment_intent: p.payment_intent } });
      }
      // Stores objects as Stripe has them, for listing: POST /_test/put/<collection> with one object or an array.
      const put = /^\/_test\/put\/(events|sessions|subscriptions|invoices|charges|refunds|disputes)$/.exec(url.pathname);
      if (req.method === "POST" && put) {
        const sent = JSON.parse(await read(req));
        for (const o of Array.isArray(sent) ? sent : [sent]) (state[put[1] as keyof StripeState] as Map<string, Obj>).set(o.id, o);
      }
      if (req.method === "POST" && url.pathname === "/_test/clock") {
        state.clockOffset = JSON.parse(await read(req)).offset_seconds;
      }
      if (req.method === "POST" && url.pathname === "/_test/hold") {
        state.held = JSON.parse(await read(req)).paths;
        for (const release of releases.splice(0)) release();
      }
      if (req.method === "POST" && url.pathname === "/_test/refuse") {
        state.refused = JSON.parse(await read(req)).paths;
      }
      // Sets the platform's available balance ({ available: cents }, or null for no limit).
      if (req.method === "POST" && url.pathname === "/_test/balance") {
        state.balance = JSON.parse(await read(req)).available;
      }
      const snapshot = Object.fromEntries(
        Object.entries(state).map(([k, v]) => [k, v instanceof Map ? Object.fromEntries(v) : v]),
      );
      res.writeHead(200, { "content-type": "application/json" });
      return res.end(JSON.stringify(snapshot));
    }
    const body = parseStripeForm(await read(req));
    const query = parseStripeForm(url.search.slice(1));
    state.requests.push({ method: req.method ?? "GET", path: url.pathname, ...(url.search ? { query } : {}) });
    const key = req.headers["idempotency-key"];
    const replayKey = typeof key === "string" ? `${req.method} ${url.pathname} ${key}` : undefined;
    // As Stripe: a key replays its first answer, for the same parameters only.
    const sent = JSON.stringify(body);
    const first = replayKey ? state.idempotent.get(replayKey) : undefined;
    const answer = first && first.sent !== sent
      ? { status: 400, body: { error: { type: "idempotency_error",
        message: `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${key}' if you meant to execute a different request.` } } }
      : first ?? route(req.method ?? "GET", url.pathname, query, body);
    // Stripe saves a key's result only once an endpoint began executing: not a refusal of the key's access
    // (a retry after the key is given access runs).
    if (replayKey && !first && answer.status < 500 && !state.refused.includes(url.pathname)) {
      state.idempotent.set(replayKey, { ...answer, sent });
    }
    // Stamped when the answer was made, as Stripe's Date header is (whole seconds, its clock).
    const date = new Date(Date.now() + state.clockOffset * 1000).toUTCString();
    while (state.held.includes(url.pathname)) await new Promise<void>((r) => releases.push(r));
    res.writeHead(answer.status, { "content-type": "application/json", "request-id": newId("req"), date });
    res.end(JSON.stringify(answer.body));
  });
  const port = await freePort();
  await new Promise<void>((r) => server.listen(port, "127.0.0.1", () => r()));
  return {
    url: `http://127.0.0.1:${port}`,
    state,
    close: () => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r()))),
  };
}
