// Units of billing: the Stripe catalog derived from the config, custom-amount pricing and bounds, and the
// webhook refusing bad signatures before it touches the database.
import assert from "node:assert/strict";
import Stripe from "stripe";
import { packLookupKey, planLookupKey, stripeCatalog } from "../_shared/billing-catalog.ts";
import { config } from "../_shared/config.ts";
import { AppError } from "../_shared/errors.ts";
import { checkAmount, creditsForAmount } from "../checkout/handler.ts";
import { handler as webhook } from "../stripe-webhook/handler.ts";

Deno.test("the Stripe catalog has a product per paid plan and pack, prices by stable lookup keys", () => {
  const catalog = stripeCatalog(config);
  const keys = catalog.flatMap((p) => p.prices.map((x) => x.lookupKey));
  assert.ok(!catalog.some((p) => p.refId === "free"), "the free plan is not sold");
  assert.ok(keys.includes(planLookupKey("plus", "month")) && keys.includes(planLookupKey("plus", "year")));
  assert.ok(keys.includes(packLookupKey("credits_500")));
  const plus = catalog.find((p) => p.refId === "plus")!;
  assert.deepEqual(plus.prices.map((p) => [p.interval, p.unitAmount]), [["month", 1900], ["year", 19000]]);
});

Deno.test("custom amounts: credits at the configured rate, bounds enforced with field details", () => {
  assert.equal(creditsForAmount(500), 500);
  assert.equal(creditsForAmount(1999), 1999);
  assert.throws(
    () => checkAmount(config.purchase.minCents - 1),
    (e: unknown) =>
      e instanceof AppError && e.status === 422 && JSON.stringify(e.details).includes("amount_below_minimum"),
  );
  assert.throws(
    () => checkAmount(config.purchase.maxCents + 1),
    (e: unknown) => e instanceof AppError && JSON.stringify(e.details).includes("amount_above_maximum"),
  );
  checkAmount(config.purchase.minCents);
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
