// _shared/storage.ts's mapping of Storage's errors (as storage-js reports them: Storage's own status in
// `statusCode`, sent with HTTP 400) to our codes. The helpers themselves run against the local Storage in
// tests/storage.test.ts.
import assert from "node:assert/strict";
import { storageError } from "../_shared/storage.ts";

const quiet = <T>(fn: () => T): T => {
  const original = console.error;
  console.error = () => {};
  try {
    return fn();
  } finally {
    console.error = original;
  }
};
const mapped = (error: unknown) => {
  const e = quiet(() => storageError(error, "upload of b/p.png"));
  return [e.status, e.code];
};

Deno.test("Storage's statusCode decides, not the HTTP 400 it came with", () => {
  assert.deepStrictEqual(mapped({ status: 400, statusCode: "404", message: "Object not found" }), [404, "object_not_found"]);
  assert.deepStrictEqual(mapped({ status: 400, statusCode: "409", message: "The resource already exists" }), [409, "conflict"]);
  assert.deepStrictEqual(mapped({ status: 400, statusCode: "413", message: "The object exceeded the maximum allowed size" }), [413, "payload_too_large"]);
  assert.deepStrictEqual(mapped({ status: 400, statusCode: "415", message: "mime type text/plain is not supported" }), [415, "unsupported_media_type"]);
  assert.deepStrictEqual(mapped({ status: 400, statusCode: "403", message: "new row violates row-level security policy" }), [403, "forbidden"]);
});

Deno.test("a missing bucket, a fault or no answer at all is storage_unavailable, the message not passed on", () => {
  assert.deepStrictEqual(mapped({ status: 400, statusCode: "404", message: "Bucket not found" }), [503, "storage_unavailable"]);
  assert.deepStrictEqual(mapped({ status: 500, statusCode: "500", message: "Internal server error" }), [503, "storage_unavailable"]);
  assert.deepStrictEqual(mapped(new TypeError("fetch failed: connect ECONNREFUSED 10.0.0.5")), [503, "storage_unavailable"]);
  assert.deepStrictEqual(mapped(undefined), [503, "storage_unavailable"]);
  const e = quiet(() => storageError({ statusCode: "500", message: "password=hunter2" }, "upload of b/p.png"));
  assert.ok(!e.message.includes("hunter2"));
  // Only the status is read: a numeric HTTP status without statusCode counts too (another client's error).
  assert.deepStrictEqual(mapped({ status: 404 }), [404, "object_not_found"]);
});
