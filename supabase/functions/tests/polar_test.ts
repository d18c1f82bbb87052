// Units of Polar as a payment provider: who sells what for each payments.provider, the config refusing what Polar
// cannot sell, the Polar catalog derived from the config, the SDK's errors as ours, and the webhook refusing
// unsigned or stale deliveries before it touches the database.
import assert from "node:assert/strict";
import { config } from "../_shared/config.ts";
import { ConfigError, parseConfig } from "../_shared/config-schema.ts";
import { sellerOf } from "../_shared/config/payments.ts";
import { AppError } from "../_shared/errors.ts";
import { polarCatalog } from "../_shared/billing/polar/catalog.ts";
import { fromPolar } from "../_shared/billing/polar/checkout.ts";
import { payloadShape } from "../_shared/billing/polar/events.ts";
import { handler as webhook } from "../polar-webhook/handler.ts";

Deno.test("payments.provider says who sells plans and who sells credits", () => {
  const plans = config.plans.filter((p) => !p.perSeat);
  const of = (provider: "stripe" | "polar" | "both") => {
    const p = parseConfig({ ...config, plans, payments: { provider } }).payments;
    return [sellerOf(p, "plans"), sellerOf(p, "credits")];
  };
  assert.deepEqual(of("stripe"), ["stripe", "stripe"]);
  assert.deepEqual(of("polar"), ["polar", "polar"]);
  assert.deepEqual(of("both"), ["stripe", "polar"]);
  // Absent: Stripe, as before the section existed.
  const { payments: _, ...without } = config;
  assert.equal(parseConfig(without).payments.provider, "stripe");
  assert.equal(parseConfig(without).payments.polar.accessTokenEnv, "POLAR_ACCESS_TOKEN");
});

Deno.test("the config refuses what Polar cannot sell, naming the field", () => {
  const issues = (input: unknown) => {
    try {
      parseConfig(input);
      return [];
    } catch (err) {
      assert.ok(err instanceof ConfigError);
      return err.issues.map((i) => `${i.path}: ${i.message}`);
    }
  };
  // The shipped config has a per-seat plan (business): Polar selling plans cannot keep its seats.
  const business = config.plans.findIndex((p) => p.perSeat);
  assert.ok(business >= 0);
  assert.deepEqual(issues({ ...config, payments: { provider: "polar" } }), [
    `plans[${business}].perSeat: per-seat plans are sold through Stripe: set payments.provider to "stripe" or "both"`,
  ]);
  assert.deepEqual(issues({ ...config, payments: { provider: "both" } }), []);
  assert.deepEqual(issues({ ...config, payments: { provider: "sometimes" } }).map((i) => i.split(":")[0]), ["payments.provider"]);
  assert.deepEqual(
    issues({ ...config, payments: { provider: "both", polar: { accessTokenEnv: "polar token" } } }),
    ["payments.polar.accessTokenEnv: must be an environment variable name"],
  );
});

Deno.test("the Polar catalog sells what Polar sells: credits alone with both, plans too with polar", () => {
  const both = polarCatalog(parseConfig({ ...config, payments: { provider: "both" } }));
  assert.deepEqual(both.map((p) => p.lookupKey), [...config.creditPacks.map((p) => `pack_${p.id}`), "deposit"]);
  assert.deepEqual(both.at(-1)!.price, { min: config.purchase.minCents, max: config.purchase.maxCents });
  assert.deepEqual(polarCatalog(config), [], "Stripe alone: nothing at Polar");
  const plans = config.plans.filter((p) => !p.perSeat);
  const polar = polarCatalog(parseConfig({ ...config, plans, payments: { provider: "polar" } }));
  const plus = polar.filter((p) => p.refId === "plus");
  assert.deepEqual(plus.map((p) => [p.lookupKey, p.interval, p.price]), [
    ["plan_plus_monthly", "month", { fixed: 1900 }],
    ["plan_plus_yearly", "year", { fixed: 19000 }],
  ]);
  assert.ok(!polar.some((p) => p.refId === "free"), "the free plan is not sold");
});

Deno.test("Polar's errors become ours: down is 503, a refused token is not configured, a refusal 502", () => {
  const net = Object.assign(new Error("x"), { name: "PolarNetworkError" });
  const server = Object.assign(new Error("x"), { name: "PolarServerError" });
  const invalid = Object.assign(new Error("x"), { name: "HTTPValidationError", statusCode: 422 });
  const token = Object.assign(new Error("x"), { name: "PolarClientError", statusCode: 401 });
  const limited = Object.assign(new Error("x"), { name: "PolarRateLimitError", statusCode: 429 });
  const code = (e: unknown) => {
    const out = fromPolar(e);
    assert.ok(out instanceof AppError);
    return `${out.status} ${out.code}`;
  };
  const log = console.error;
  console.error = () => {};
  try {
    assert.equal(code(net), "503 payment_provider_unavailable");
    assert.equal(code(server), "503 payment_provider_unavailable");
    assert.equal(code(limited), "503 payment_provider_unavailable");
    assert.equal(code(token), "503 billing_not_configured");
    assert.equal(code(invalid), "502 payment_provider_error");
  } finally {
    console.error = log;
  }
  const other = new TypeError("ours");
  assert.equal(fromPolar(other), other, "anything else is left alone");
});

Deno.test("a Polar payload needs a type, a timestamp and a data object", () => {
  assert.ok(payloadShape.safeParse({ type: "order.paid", timestamp: "2026-12-07T23:00:00.123456Z", data: {} }).success);
  assert.ok(!payloadShape.safeParse({ type: "order.paid", timestamp: "yesterday", data: {} }).success);
  assert.ok(!payloadShape.safeParse({ type: "order.paid", timestamp: "2026-12-07T23:00:00Z", data: "x" }).success);
});

Deno.test("the webhook refuses a delivery without its signature headers, or signed long ago, with 400", async () => {
  Deno.env.set("POLAR_WEBHOOK_SECRET", `whsec_${btoa("unit-key")}`);
  const body = JSON.stringify({ type: "order.paid", timestamp: new Date().toISOString(), data: {} });
  const missing = await webhook(new Request("http://x/polar-webhook", { method: "POST", body }));
  assert.equal(missing.status, 400);
  assert.equal((await missing.json()).error.code, "invalid_signature");
  const ts = Math.floor(Date.now() / 1000) - 3600;
  const key = await crypto.subtle.importKey("raw", new TextEncoder().encode("unit-key"), { name: "HMAC", hash: "SHA-256" },
    false, ["sign"]);
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(`msg_1.${ts}.${body}`)));
  const old = await webhook(new Request("http://x/polar-webhook", {
    method: "POST",
    body,
    headers: { "webhook-id": "msg_1", "webhook-timestamp": String(ts), "webhook-signature": `v1,${btoa(String.fromCharCode(...mac))}` },
  }));
  assert.equal(old.status, 400);
  assert.match((await old.json()).error.message, /too old/);
  const get = await webhook(new Request("http://x/polar-webhook"));
  assert.equal(get.status, 405);
});
