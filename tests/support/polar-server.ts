// A local HTTP server answering the Polar API routes SaaSbase uses (API version 2026-10), in Polar's wire format
// (JSON bodies, `{ items, pagination: { total_count, max_page } }` lists, 401 without the organization token,
// 404 `{ error: "ResourceNotFound", detail }`, 422 `{ detail: [{ loc, msg, type }] }`), so the real @polar-sh/sdk
// talks to it through its baseUrl option as to api.polar.sh:
//   GET/POST /v1/products/, GET/PATCH /v1/products/{id}   (prices: fixed or custom; an update's price list
//                                                         replaces the product's, archiving those left out)
//   POST /v1/checkouts/, GET /v1/checkouts/{id}           (products, ad-hoc prices, metadata, external customer)
//   POST /v1/customer-sessions/                           (a customer's portal URL)
// What Polar does on its side of a checkout is played by the test: completeCheckout(id) pays it (the customer by
// external id, the order with the checkout's metadata copied, a subscription for a recurring product) and
// answers the objects Polar's webhooks carry; refundOrder(id, cents) refunds on an order.
// Polar's webhooks themselves are signed and delivered by tests/support/polar-webhook.ts.
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server } from "node:http";
import { freePort } from "../../src/local/functions.ts";

type Obj = Record<string, any>;

export interface PolarState {
  products: Map<string, Obj>;
  checkouts: Map<string, Obj>;
  customers: Map<string, Obj>;
  orders: Map<string, Obj>;
  subscriptions: Map<string, Obj>;
  customerSessions: Obj[];
  requests: { method: string; path: string; body?: Obj; version: string | null }[];
  /** Answer the next N API requests 503 (Polar down). */
  failNext: number;
}

const iso = (d = new Date()) => d.toISOString();
const ORGANIZATION = "11111111-1111-4111-8111-111111111111";

function validation(loc: (string | number)[], msg: string) {
  return { status: 422, body: { detail: [{ loc: ["body", ...loc], msg, type: "value_error" }] } };
}
const notFound = () => ({ status: 404, body: { error: "ResourceNotFound", detail: "Not found" } });

/** A price Polar made of a create payload (fixed or custom), or the 422 for a bad one. */
function makePrice(productId: string, p: Obj, source: "catalog" | "ad_hoc", at: (string | number)[]) {
  const base = {
    id: randomUUID(),
    created_at: iso(),
    modified_at: null,
    source,
    price_currency: p.price_currency ?? "usd",
    tax_behavior: null,
    is_archived: false,
    product_id: productId,
  };
  if (p.amount_type === "fixed") {
    if (!Number.isInteger(p.price_amount) || p.price_amount < 0 || p.price_amount > 99_999_999) {
      return { error: validation([...at, "price_amount"], "Input should be a valid integer between 0 and 99999999") };
    }
    // Polar charges at least 50 cents (a free price is 0).
    if (p.price_amount > 0 && p.price_amount < 50) {
      return { error: validation([...at, "price_amount"], "Input should be greater than or equal to 50") };
    }
    return { price: { ...base, amount_type: "fixed", price_amount: p.price_amount } };
  }
  if (p.amount_type === "custom") {
    return {
      price: {
        ...base,
        amount_type: "custom",
        minimum_amount: p.minimum_amount ?? 50,
        maximum_amount: p.maximum_amount ?? null,
        preset_amount: p.preset_amount ?? null,
      },
    };
  }
  return { error: validation([...at, "amount_type"], "Input tag does not match any of the expected tags") };
}

export async function startPolarServer(opts: { accessToken: string }) {
  const state: PolarState = {
    products: new Map(),
    checkouts: new Map(),
    customers: new Map(),
    orders: new Map(),
    subscriptions: new Map(),
    customerSessions: [],
    requests: [],
    failNext: 0,
  };

  function createProduct(body: Obj): { status: number; body: Obj } {
    if (typeof body.name !== "string" || body.name.length < 3) return validation(["name"], "String should have at least 3 characters");
    if (!Array.isArray(body.prices) || body.prices.length === 0) return validation(["prices"], "List should have at least 1 item");
    const id = randomUUID();
    const prices = [];
    for (const [i, p] of body.prices.entries()) {
      const made = makePrice(id, p, "catalog", ["prices", i]);
      if (made.error) return made.error;
      prices.push(made.price);
    }
    const product = {
      id,
      created_at: iso(),
      modified_at: null,
      trial_interval: null,
      trial_interval_count: null,
      name: body.name,
      description: body.description ?? null,
      visibility: body.visibility ?? "public",
      recurring_interval: body.recurring_interval ?? null,
      recurring_interval_count: body.recurring_interval ? (body.recurring_interval_count ?? 1) : null,
      meter_interval: null,
      meter_interval_count: null,
      is_recurring: Boolean(body.recurring_interval),
      is_archived: false,
      organization_id: ORGANIZATION,
      metadata: body.metadata ?? {},
      is_deletable: true,
      prices,
      benefits: [],
      medias: [],
      attached_custom_fields: [],
    };
    state.products.set(id, product);
    return { status: 201, body: product };
  }

  function updateProduct(product: Obj, body: Obj): { status: number; body: Obj } {
    for (const key of ["name", "description", "is_archived", "metadata", "recurring_interval"]) {
      if (body[key] !== undefined) product[key] = body[key];
    }
    if (Array.isArray(body.prices)) {
      const keep = new Set<string>();
      const added = [];
      for (const [i, p] of body.prices.entries()) {
        if (typeof p.id === "string") {
          if (!product.prices.some((x: Obj) => x.id === p.id)) return validation(["prices", i, "id"], "Price does not exist");
          keep.add(p.id);
          continue;
        }
        const made = makePrice(product.id, p, "catalog", ["prices", i]);
        if (made.error) return made.error;
        added.push(made.price);
      }
      for (const x of product.prices) if (!keep.has(x.id)) x.is_archived = true;
      product.prices.push(...added);
    }
    product.modified_at = iso();
    return { status: 200, body: product };
  }

  function createCheckout(body: Obj): { status: number; body: Obj } {
    if (!Array.isArray(body.products) || body.products.length === 0) {
      return validation(["products"], "List should have at least 1 item");
    }
    const products = body.products.map((id: string) => state.products.get(id));
    const i = products.findIndex((p: Obj | undefined) => !p || p.is_archived);
    if (i >= 0) return validation(["products", i], "Product does not exist or is archived.");
    for (const [key, value] of Object.entries(body.metadata ?? {})) {
      if (key.length > 40) return validation(["metadata", key], "String should have at most 40 characters");
      if (typeof value === "string" && value.length > 500) return validation(["metadata", key], "String should have at most 500 characters");
    }
    if (body.success_url !== undefined && body.success_url !== null && !/^https?:\/\//.test(body.success_url)) {
      return validation(["success_url"], "Input should be a valid URL");
    }
    const product = products[0] as Obj;
    let price = product.prices.find((p: Obj) => !p.is_archived);
    const adHoc = body.prices?.[product.id];
    if (adHoc !== undefined) {
      if (!Array.isArray(adHoc) || adHoc.length === 0) return validation(["prices", product.id], "List should have at least 1 item");
      const made = makePrice(product.id, adHoc[0], "ad_hoc", ["prices", product.id, 0]);
      if (made.error) return made.error;
      price = made.price;
    }
    const amount = price.amount_type === "fixed" ? price.price_amount : (body.amount ?? price.minimum_amount);
    const id = randomUUID();
    const checkout = {
      id,
      created_at: iso(),
      modified_at: null,
      payment_processor: "stripe",
      status: "open",
      client_secret: `polar_c_${randomUUID().replaceAll("-", "")}`,
      url: `https://sandbox.polar.sh/checkout/polar_c_${id}`,
      expires_at: iso(new Date(Date.now() + 3_600_000)),
      success_url: body.success_url ?? "https://polar.sh",
      return_url: body.return_url ?? null,
      embed_origin: null,
      amount,
      discount_amount: 0,
      net_amount: amount,
      tax_amount: null,
      total_amount: amount,
      currency: price.price_currency,
      organization_id: ORGANIZATION,
      product_id: product.id,
      product_price_id: price.id,
      product,
      product_price: price,
      products,
      prices: adHoc !== undefined ? { [product.id]: [price] } : null,
      customer_id: null,
      customer_email: body.customer_email ?? null,
      customer_name: body.customer_name ?? null,
      external_customer_id: body.external_customer_id ?? null,
      metadata: body.metadata ?? {},
      customer_metadata: body.customer_metadata ?? {},
      subscription_id: null,
      is_payment_required: amount > 0,
    };
    state.checkouts.set(id, checkout);
    return { status: 201, body: checkout };
  }

  function customerFor(checkout: Obj): Obj {
    for (const c of state.customers.values()) {
      if (checkout.external_customer_id && c.external_id === checkout.external_customer_id) return c;
    }
    const customer = {
      id: randomUUID(),
      created_at: iso(),
      modified_at: null,
      metadata: checkout.customer_metadata ?? {},
      external_id: checkout.external_customer_id ?? null,
      email: checkout.customer_email ?? "buyer@example.com",
      email_verified: false,
      type: "individual",
      name: checkout.customer_name ?? null,
      billing_name: null,
      billing_address: null,
      tax_id: null,
      organization_id: ORGANIZATION,
      deleted_at: null,
      avatar_url: null,
    };
    state.customers.set(customer.id, customer);
    return customer;
  }

  /** Polar's side of a paid checkout: the customer, the order (the checkout's metadata copied), and for a
   * recurring product the subscription; the objects as Polar's webhooks carry them. */
  function completeCheckout(checkoutId: string): { order: Obj; subscription?: Obj; customer: Obj } {
    const checkout = state.checkouts.get(checkoutId);
    if (!checkout) throw new Error(`no checkout ${checkoutId}`);
    const customer = customerFor(checkout);
    checkout.status = "succeeded";
    checkout.customer_id = customer.id;
    const price = checkout.product_price;
    const now = new Date();
    let subscription: Obj | undefined;
    if (checkout.product.is_recurring) {
      const end = new Date(now);
      if (checkout.product.recurring_interval === "year") end.setUTCFullYear(end.getUTCFullYear() + 1);
      else end.setUTCMonth(end.getUTCMonth() + 1);
      subscription = {
        created_at: iso(now),
        modified_at: null,
        id: randomUUID(),
        amount: checkout.total_amount,
        currency: checkout.currency,
        recurring_interval: checkout.product.recurring_interval,
        recurring_interval_count: 1,
        status: "active",
        current_period_start: iso(now),
        current_period_end: iso(end),
        trial_start: null,
        trial_end: null,
        cancel_at_period_end: false,
        canceled_at: null,
        started_at: iso(now),
        ends_at: null,
        ended_at: null,
        customer_id: customer.id,
        product_id: checkout.product_id,
        discount_id: null,
        checkout_id: checkout.id,
        metadata: { ...checkout.metadata },
        customer,
        product: checkout.product,
        discount: null,
        prices: [price],
        meters: [],
        pending_update: null,
      };
      state.subscriptions.set(subscription.id, subscription);
      checkout.subscription_id = subscription.id;
    }
    const order = {
      id: randomUUID(),
      created_at: iso(now),
      modified_at: null,
      status: "paid",
      paid: true,
      subtotal_amount: checkout.amount,
      discount_amount: 0,
      net_amount: checkout.net_amount,
      tax_amount: 0,
      total_amount: checkout.total_amount,
      applied_balance_amount: 0,
      due_amount: 0,
      refunded_amount: 0,
      refunded_tax_amount: 0,
      currency: checkout.currency,
      billing_reason: subscription ? "subscription_create" : "purchase",
      billing_name: null,
      billing_address: null,
      invoice_number: `POLAR-${state.orders.size + 1}`,
      is_invoice_generated: false,
      receipt_number: null,
      customer_id: customer.id,
      product_id: checkout.product_id,
      discount_id: null,
      subscription_id: subscription?.id ?? null,
      checkout_id: checkout.id,
      metadata: { ...checkout.metadata },
      platform_fee_amount: 0,
      platform_fee_currency: null,
      customer,
      product: checkout.product,
      discount: null,
      subscription: subscription ? { ...subscription, customer: undefined, product: undefined, prices: undefined } : null,
      items: [{
        created_at: iso(now),
        modified_at: null,
        id: randomUUID(),
        label: checkout.product.name,
        amount: checkout.total_amount,
        tax_amount: 0,
        proration: false,
        product_price_id: price.id,
        start_timestamp: subscription?.current_period_start ?? null,
        end_timestamp: subscription?.current_period_end ?? null,
      }],
      description: checkout.product.name,
      refundable_amount: checkout.total_amount,
      refundable_tax_amount: 0,
    };
    state.orders.set(order.id, order);
    return { order, subscription, customer };
  }

  /** A refund of `cents` on an order (Polar refunds at most what is left): the order as order.refunded carries it. */
  function refundOrder(orderId: string, cents: number): Obj {
    const order = state.orders.get(orderId);
    if (!order) throw new Error(`no order ${orderId}`);
    order.refunded_amount = Math.min(order.total_amount, order.refunded_amount + cents);
    order.refundable_amount = order.total_amount - order.refunded_amount;
    order.status = order.refunded_amount >= order.total_amount ? "refunded" : "partially_refunded";
    order.modified_at = iso();
    return structuredClone(order);
  }

  async function route(method: string, path: string, query: URLSearchParams, body: Obj): Promise<{ status: number; body: Obj }> {
    let m: RegExpMatchArray | null;
    if (method === "GET" && path === "/v1/products/") {
      const page = Number(query.get("page") ?? 1);
      const limit = Number(query.get("limit") ?? 10);
      let items = [...state.products.values()].reverse();
      if (query.get("is_archived") !== null) items = items.filter((p) => String(p.is_archived) === query.get("is_archived"));
      return {
        status: 200,
        body: {
          items: items.slice((page - 1) * limit, page * limit),
          pagination: { total_count: items.length, max_page: Math.max(1, Math.ceil(items.length / limit)) },
        },
      };
    }
    if (method === "POST" && path === "/v1/products/") return createProduct(body);
    if ((m = path.match(/^\/v1\/products\/([^/]+)$/))) {
      const product = state.products.get(decodeURIComponent(m[1]));
      if (!product) return notFound();
      if (method === "GET") return { status: 200, body: product };
      if (method === "PATCH") return updateProduct(product, body);
    }
    if (method === "POST" && path === "/v1/checkouts/") return createCheckout(body);
    if (method === "GET" && (m = path.match(/^\/v1\/checkouts\/([^/]+)$/))) {
      const checkout = state.checkouts.get(decodeURIComponent(m[1]));
      return checkout ? { status: 200, body: checkout } : notFound();
    }
    if (method === "POST" && path === "/v1/customer-sessions/") {
      const customer = body.customer_id
        ? state.customers.get(body.customer_id)
        : [...state.customers.values()].find((c) => c.external_id === body.external_customer_id);
      if (!customer) return notFound();
      const token = `polar_cst_${randomUUID().replaceAll("-", "")}`;
      const session = {
        created_at: iso(),
        modified_at: null,
        id: randomUUID(),
        token,
        expires_at: iso(new Date(Date.now() + 3_600_000)),
        return_url: body.return_url ?? null,
        customer_portal_url: `https://sandbox.polar.sh/test-org/portal?customer_session_token=${token}`,
        customer_id: customer.id,
        customer,
      };
      state.customerSessions.push(session);
      return { status: 201, body: session };
    }
    return { status: 404, body: { detail: "Not Found" } };
  }

  const read = (req: IncomingMessage) =>
    new Promise<string>((resolve, reject) => {
      const chunks: Buffer[] = [];
      req.on("data", (c) => chunks.push(c));
      req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
      req.on("error", reject);
    });

  const server: Server = createServer(async (req, res) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    const text = await read(req);
    let body: Obj = {};
    const send = (status: number, out: Obj) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(out));
    };
    try {
      body = text ? JSON.parse(text) : {};
    } catch {
      return send(422, { detail: [{ loc: ["body"], msg: "JSON decode error", type: "json_invalid" }] });
    }
    state.requests.push({ method: req.method ?? "GET", path: url.pathname, body, version: req.headers["polar-version"] as string ?? null });
    if (req.headers.authorization !== `Bearer ${opts.accessToken}`) {
      return send(401, { error: "Unauthorized", detail: "Invalid or expired access token" });
    }
    if (state.failNext > 0) {
      state.failNext--;
      return send(503, { detail: "Service Unavailable" });
    }
    const out = await route(req.method ?? "GET", url.pathname, url.searchParams, body);
    send(out.status, out.body);
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${port}`,
    state,
    completeCheckout,
    refundOrder,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export type PolarServer = Awaited<ReturnType<typeof startPolarServer>>;
