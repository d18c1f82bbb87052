// The shared error mapping: typed errors keep their status and code; anything else is a bare 500.
import assert from "node:assert/strict";
import { AppError, errorResponse, NotFoundError, ValidationError } from "../_shared/errors.ts";
import { withHttp } from "../_shared/http.ts";

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
