// The shared error mapping: typed errors keep their status and code; anything else is a bare 500. And the
// shared body reader's refusals.
import assert from "node:assert/strict";
import { AppError, errorResponse, NotFoundError, ValidationError } from "../_shared/errors.ts";
import { withHttp } from "../_shared/http.ts";
import { readJson, unstorableText } from "../_shared/request.ts";
import { z } from "zod";
import Stripe from "stripe";

Deno.test("typed errors become { error: { code, message } } with their status", async () => {
  const res = errorResponse(new ValidationError("quantity must be positive", [{ path: "quantity" }]));
  assert.deepStrictEqual(res.status, 422);
  assert.deepStrictEqual(await res.json(), {
    error: {
      code: "validation_failed",
      message: "quantity must be positive",
      details: [{ path: "quantity" }],
    },
  });
  const custom = errorResponse(new AppError(402, "insufficient_credits", "Not enough credits"));
  assert.deepStrictEqual([custom.status, (await custom.json()).error.code], [402, "insufficient_credits"]);
});

Deno.test("an unexpected error is a 500 that does not leak its message", async () => {
  const original = console.error;
  console.error = () => {};
  try {
    const res = await withHttp(() => {
      throw new Error("connection to 10.0.0.5 failed: password=hunter2");
    })(new Request("http://localhost/x"));
    assert.deepStrictEqual(res.status, 500);
    const text = await res.text();
    assert.deepStrictEqual(
      text,
      JSON.stringify({ error: { code: "internal_error", message: "Internal server error" } }),
    );
  } finally {
    console.error = original;
  }
});

Deno.test("withHttp adds CORS headers to handler responses and errors", async () => {
  const ok = await withHttp(() => new Response("hi"))(new Request("http://localhost/x"));
  assert.deepStrictEqual(ok.headers.get("access-control-allow-origin"), "*");
  const err = await withHttp(() => {
    throw new NotFoundError();
  })(new Request("http://localhost/x"));
  assert.deepStrictEqual([err.status, err.headers.get("access-control-allow-origin")], [404, "*"]);
});

Deno.test("readJson refuses text Postgres cannot store, naming where it is, at any depth", async () => {
  assert.deepStrictEqual(
    unstorableText({ a: "ok", b: ["x", "nul\u0000"], c: { "key\u0000": 1, d: "half \ud800" } }).sort(),
    [["b", 1], ["c", "d"], ["c", "key\u0000"]],
  );
  const deep = JSON.parse("[".repeat(50_000) + '"\\u0000"' + "]".repeat(50_000));
  assert.deepStrictEqual(unstorableText(deep)[0].length, 50_000);
  const req = (body: string) => new Request("http://localhost/x", { method: "POST", body });
  await assert.rejects(
    readJson(req('{"message": "a\\u0000b"}'), z.object({ message: z.string() })),
    (err: unknown) =>
      err instanceof ValidationError &&
      JSON.stringify(err.details) ===
        '[{"path":"message","message":"NUL characters and unpaired surrogates are not allowed in text"}]',
  );
  assert.deepStrictEqual(
    await readJson(req('{"message": "fine ✓"}'), z.object({ message: z.string() })),
    { message: "fine ✓" },
  );
});

Deno.test("Stripe's errors: unreachable, failing or rate-limiting is a 503 to retry, a refusal a 502", async () => {
  const original = console.error;
  console.error = () => {};
  try {
    const cases: [Error, number, string][] = [
      [
        new Stripe.errors.StripeConnectionError({ message: "ECONNRESET" }),
        503,
        "payment_provider_unavailable",
      ],
      [
        new Stripe.errors.StripeAPIError({ message: "boom", statusCode: 500 } as never),
        503,
        "payment_provider_unavailable",
      ],
      [
        new Stripe.errors.StripeRateLimitError({ message: "slow down", statusCode: 429 } as never),
        503,
        "payment_provider_unavailable",
      ],
      [
        new Stripe.errors.StripeAuthenticationError({ message: "Invalid API Key", statusCode: 401 } as never),
        503,
        "billing_not_configured",
      ],
      [
        new Stripe.errors.StripeInvalidRequestError(
          { message: "No such customer: 'cus_gone'", statusCode: 404 } as never,
        ),
        502,
        "payment_provider_error",
      ],
    ];
    for (const [err, status, code] of cases) {
      const res = errorResponse(err);
      const body = await res.json();
      assert.deepStrictEqual([res.status, body.error.code], [status, code]);
      assert.ok(!JSON.stringify(body).includes("cus_gone"), "Stripe's message stays in the log");
    }
  } finally {
    console.error = original;
  }
});
