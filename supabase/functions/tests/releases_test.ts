// The releases function's pure parts (_shared/releases/artifact.ts): a file's bytes read under a bound, its sha256
// as sha256sum prints it, a declared sha256 checked against the bytes, and where the file goes in the bucket.
import assert from "node:assert/strict";
import { AppError } from "../_shared/errors.ts";
import { artifactPath, checkDeclaredSha256, readBodyBytes, sha256Hex } from "../_shared/releases/artifact.ts";

const put = (body: BodyInit | null, headers: Record<string, string> = {}) =>
  new Request("http://x/releases/admin/releases/x/artifacts/linux-x64", { method: "PUT", body, headers });
/** A body streamed in chunks, with no Content-Length to go by. */
const chunked = (sizes: number[]) =>
  new ReadableStream<Uint8Array>({
    start(c) {
      for (const n of sizes) c.enqueue(new Uint8Array(n).fill(7));
      c.close();
    },
  });
const status = async (p: Promise<unknown>) => {
  try {
    await p;
    return 0;
  } catch (err) {
    assert.ok(err instanceof AppError, String(err));
    return err.status;
  }
};

Deno.test("sha256Hex: the digest sha256sum prints", async () => {
  assert.equal(await sha256Hex(new Uint8Array()), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  assert.equal(await sha256Hex(new TextEncoder().encode("abc")),
    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
});

Deno.test("readBodyBytes: the bytes whole; 413 past the bound (declared or streamed), 400 for none", async () => {
  const bytes = await readBodyBytes(put(chunked([3, 4, 5])), 12);
  assert.deepEqual(bytes, new Uint8Array(12).fill(7));
  assert.equal(await status(readBodyBytes(put(chunked([8, 8])), 12)), 413);
  assert.equal(await status(readBodyBytes(put("x".repeat(20), { "content-length": "20" }), 12)), 413);
  assert.equal(await status(readBodyBytes(put(null), 12)), 400);
  assert.equal(await status(readBodyBytes(put(chunked([])), 12)), 400);
});

Deno.test("checkDeclaredSha256: none, or the bytes' own (any case); 422 otherwise, naming what was received", () => {
  const actual = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
  checkDeclaredSha256(null, actual);
  checkDeclaredSha256(actual.toUpperCase(), actual);
  assert.throws(() => checkDeclaredSha256("0".repeat(64), actual), (e: AppError) => e.status === 422 && e.message.includes(actual));
  assert.throws(() => checkDeclaredSha256("sha256:abc", actual), (e: AppError) => e.status === 422 && e.code === "validation_failed");
});

Deno.test("artifactPath: product / version / platform / file name", () => {
  assert.equal(artifactPath("forge-desktop", "1.2.0-beta.1", "windows-x64", "DevForge.exe"),
    "forge-desktop/1.2.0-beta.1/windows-x64/DevForge.exe");
});
