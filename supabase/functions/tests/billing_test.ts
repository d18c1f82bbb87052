// Units of billing: the Stripe catalog derived from the config, custom-amount pricing and bounds, and the
// webhook refusing bad signatures before it touches the database.
import assert from "node:assert/strict";
import Stripe from "stripe";
import { packLookupKey, planLookupKey, stripeCatalog } from "../_shared/billing-catalog.ts";
import { config } from "../_shared/config.ts";
import { AppError } from "../_shared/errors.ts";
import { creditsOf } from "../checkout/handler.ts";
import { handler as webhook } from "../stripe-webhook/handler.ts";
import { eventShape } from "../_shared/billing/stripe-events.ts";
import { periodLines, subscriptionFields } from "../_shared/billing/stripe-objects.ts";

Deno.test("the Stripe catalog has a product per paid plan and pack, prices by stable lookup keys", () => {
  const catalog = stripeCatalog(config);
  const keys = catalog.flatMap((p) => p.prices.map((x) => x.lookupKey));
  assert.ok(!catalog.some((p) => p.refId === "free"), "the free plan is not sold");
  assert.ok(keys.includes(planLookupKey("plus", "month")) && keys.includes(planLookupKey("plus", "year")));
  assert.ok(keys.includes(packLookupKey("credits_500")));
  const plus = catalog.find((p) => p.refId === "plus")!;
  assert.deepEqual(plus.prices.map((p) => [p.interval, p.unitAmount]), [["month", 1900], ["year", 19000]]);
});

Deno.test("custom amounts: SQL's price is sold, and a missed bound is a field error naming it", () => {
  const quote = (amount_cents: number, credits: number | null) => ({ amount_cents, credits, min_cents: 500, max_cents: 100_000 });
  assert.equal(creditsOf(quote(1999, 499)), 499);
  assert.throws(
    () => creditsOf(quote(499, null)),
    (e: unknown) =>
      e instanceof AppError && e.status === 422 && JSON.stringify(e.details).includes("amount_below_minimum") &&
      e.message.includes("500 cents"),
  );
  assert.throws(
    () => creditsOf(quote(100_001, null)),
    (e: unknown) =>
      e instanceof AppError && e.status === 422 && JSON.stringify(e.details).includes("amount_above_maximum") &&
      e.message.includes("100000 cents"),
  );
});

Deno.test("the webhook answers 400 to a missing or forged signature", async () => {
  Deno.env.set("STRIPE_SECRET_KEY", "sk_test_unit");
  Deno.env.set("STRIPE_WEBHOOK_SECRET", "whsec_unit");
  const payload = JSON.stringify({
    id: "evt_unit",
    object: "event",
    type: "invoice.paid",
    data: { object: {} },
  });
  const forged = await new Stripe("sk_test_x").webhooks.generateTestHeaderStringAsync({
    payload,
    secret: "whsec_other",
  });
  for (const headers of [{}, { "stripe-signature": forged }] as Record<string, string>[]) {
    const res = await webhook(
      new Request("http://localhost/stripe-webhook", { method: "POST", headers, body: payload }),
    );
    assert.equal(res.status, 400);
    assert.equal((await res.json()).error.code, "invalid_signature");
  }
});

// Invoice lines as Stripe's API describes them (the SDK's InvoiceLineItem, API 2026-10-28.endive): what
// generated a line is in `parent`; before 2025-03-31 it was `type` and `proration` on the line itself.
const subscriptionLine = (price: string, start: number, proration: boolean) => ({
  id: `il_sub_${price}`,
  object: "line_item",
  amount: proration ? -950 : 1900,
  parent: {
    type: "subscription_item_details",
    invoice_item_details: null,
    subscription_item_details: {
      invoice_item: proration ? "ii_1" : null,
      proration,
      proration_details: { credited_items: null },
      subscription: "sub_1",
      subscription_item: "si_1",
    },
  },
  period: { start, end: start + 2_592_000 },
  pricing: {
    type: "price_details",
    price_details: { price, product: "prod_1" },
    unit_amount_decimal: "1900",
  },
});
const invoiceItemLine = (price: string, start: number, proration: boolean) => ({
  id: `il_ii_${price}`,
  object: "line_item",
  amount: 1200,
  parent: {
    type: "invoice_item_details",
    subscription_item_details: null,
    invoice_item_details: {
      invoice_item: "ii_2",
      proration,
      proration_details: { credited_items: null },
      subscription: "sub_1",
    },
  },
  period: { start, end: start + 1_000_000 },
  pricing: {
    type: "price_details",
    price_details: { price, product: "prod_2" },
    unit_amount_decimal: "1200",
  },
});
const invoiceOf = (...data: unknown[]) => ({ object: "invoice", lines: { object: "list", data } });

Deno.test("an invoice's period lines: subscription items that are no proration, whatever the other lines' parents", () => {
  // A renewal after a switch made with create_prorations: the prorations are invoice items.
  assert.deepEqual(
    periodLines(invoiceOf(
      invoiceItemLine("price_business", 1_801_000_000, true),
      invoiceItemLine("price_plus", 1_801_000_000, true),
      subscriptionLine("price_plus", 1_802_592_000, false),
    )),
    [{ price: "price_plus", period_start: 1_802_592_000 }],
  );
  // Prorations billed at once (always_invoice) are subscription items; an invoice item that is no proration
  // (a one-off charge) opens no period either.
  assert.deepEqual(
    periodLines(invoiceOf(
      subscriptionLine("price_business", 1_801_000_000, true),
      invoiceItemLine("price_setup", 1_801_000_000, false),
      subscriptionLine("price_plus", 1_802_592_000, false),
    )),
    [{ price: "price_plus", period_start: 1_802_592_000 }],
  );
  // Before API 2025-03-31: `type`, `proration` and an expanded `price` on the line.
  assert.deepEqual(
    periodLines(invoiceOf(
      { type: "invoiceitem", proration: true, price: { id: "price_business" }, period: { start: 1, end: 2 } },
      {
        type: "subscription",
        proration: true,
        price: { id: "price_business" },
        period: { start: 1, end: 2 },
      },
      { type: "subscription", proration: false, price: { id: "price_plus" }, period: { start: 3, end: 4 } },
    )),
    [{ price: "price_plus", period_start: 3 }],
  );
  assert.deepEqual(periodLines({ object: "invoice" }), []);
  assert.deepEqual(
    periodLines(invoiceOf({ period: { start: 1, end: 2 }, pricing: { price_details: { price: "p" } } })),
    [],
  );
});

Deno.test("a subscription's mirrored fields: period and price from the item since API 2025-03-31, from the subscription before; quantity and item id from the item", () => {
  const item = {
    id: "si_plus",
    quantity: 3,
    price: { id: "price_plus" },
    current_period_start: 1_800_000_000,
    current_period_end: 1_802_592_000,
  };
  assert.deepEqual(
    subscriptionFields({
      id: "sub_1",
      status: "active",
      cancel_at_period_end: true,
      items: { data: [item] },
    }),
    {
      status: "active",
      price: "price_plus",
      periodStart: 1_800_000_000,
      periodEnd: 1_802_592_000,
      cancelAtPeriodEnd: true,
      canceledAt: undefined,
      quantity: 3,
      itemId: "si_plus",
    },
  );
  assert.deepEqual(
    subscriptionFields({
      id: "sub_2",
      status: "canceled",
      current_period_start: 1_700_000_000,
      current_period_end: 1_702_592_000,
      canceled_at: 1_701_000_000,
      items: { data: [{ price: "price_business" }] },
    }),
    {
      status: "canceled",
      price: "price_business",
      periodStart: 1_700_000_000,
      periodEnd: 1_702_592_000,
      cancelAtPeriodEnd: false,
      canceledAt: 1_701_000_000,
      quantity: null,
      itemId: null,
    },
  );
  assert.equal(subscriptionFields({ id: "sub_3", status: "incomplete" }).price, null);
});

Deno.test("an event needs a created time Postgres can store", () => {
  const evt = (created: number) => ({ id: "evt_1", type: "probe.unknown", created, data: { object: {} } });
  assert.equal(eventShape.safeParse(evt(1_800_000_000)).success, true);
  assert.equal(eventShape.safeParse(evt(253_402_300_799)).success, true);
  for (const created of [9_007_199_254_740_991, 253_402_300_800, -1, 1.5]) {
    assert.equal(eventShape.safeParse(evt(created)).success, false, String(created));
  }
});
