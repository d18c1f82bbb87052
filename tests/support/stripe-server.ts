// A local HTTP server answering the Stripe API routes SaaSbase uses, in Stripe's wire format (form-encoded
// requests, JSON objects with `object`, list envelopes, error envelopes, idempotency keys), so the real
// stripe SDK talks to it as to api.stripe.com. It runs in vitest's global setup; test files (other
// processes) read what was asked of it from GET /_test/state and seed subscriptions with POST /_test/subscriptions.
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
  idempotent: Map<string, { status: number; body: Obj; sent: string }>;
  requests: { method: string; path: string }[];
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
    idempotent: new Map(),
    requests: [],
  };

  const notFound = (what: string, id: string) => ({
    status: 404,
    body: { error: { type: "invalid_request_error", code: "resource_missing", message: `No such ${what}: '${id}'`, param: "id" } },
  });
  const list = (data: Obj[], url: string) => ({ status: 200, body: { object: "list", data, has_more: false, url } });

  function route(method: string, path: string, query: Obj, body: Obj): { status: number; body: Obj } {
    let m: RegExpExecArray | null;
    if (method === "POST" && path === "/v1/customers") {
      const c = { id: newId("cus"), object: "customer", email: body.email ?? null, metadata: body.metadata ?? {}, created: now() };
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
      const data = [...state.sessions.values()].filter((x) =>
        (!query.customer || x.customer === query.customer) && (!query.status || x.status === query.status)
      ).reverse().slice(0, Number(query.limit ?? 10));
      return { status: 200, body: { object: "list", url: "/v1/checkout/sessions", has_more: false, data } };
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
    state.requests.push({ method: req.method ?? "GET", path: url.pathname });
    const key = req.headers["idempotency-key"];
    const replayKey = typeof key === "string" ? `${req.method} ${url.pathname} ${key}` : undefined;
    // As Stripe: a key replays its first answer, for the same parameters only.
    const sent = JSON.stringify(body);
    const first = replayKey ? state.idempotent.get(replayKey) : undefined;
    const answer = first && first.sent !== sent
      ? { status: 400, body: { error: { type: "idempotency_error",
        message: `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${key}' if you meant to execute a different request.` } } }
      : first ?? route(req.method ?? "GET", url.pathname, parseStripeForm(url.search.slice(1)), body);
    if (replayKey && !first && answer.status < 500) state.idempotent.set(replayKey, { ...answer, sent });
    res.writeHead(answer.status, { "content-type": "application/json", "request-id": newId("req") });
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
