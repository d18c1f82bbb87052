// A release file as the admin uploads it through the releases function: its bytes read under a size bound, its
// sha256 computed from the bytes themselves (never taken on the uploader's word: a sha256 they send is checked
// against it), and where it goes in the private bucket `releases`.
import { BadRequestError, PayloadTooLargeError, ValidationError } from "../errors.ts";

/** The bucket of release files (created by 20261207001100_releases.sql; no policy: the service role only). */
export const RELEASES_BUCKET = "releases";

/** A file name as the database takes it (release_artifacts.filename): no path, no spaces. */
export const FILENAME = /^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$/;
/** A platform as the database takes it: windows-x64, macos-arm64, linux-x64, ... */
export const PLATFORM = /^[a-z0-9][a-z0-9_-]{0,31}$/;
export const SHA256 = /^[0-9a-f]{64}$/;

/** The request body's bytes, refused with 413 past `maxBytes` (by Content-Length, or while it streams in) before
 * it is all in memory; 400 for an empty body. */
export async function readBodyBytes(req: Request, maxBytes: number): Promise<Uint8Array> {
  const tooLarge = () => new PayloadTooLargeError(`A release file may hold at most ${maxBytes} bytes`);
  if (Number(req.headers.get("content-length")) > maxBytes) throw tooLarge();
  const chunks: Uint8Array[] = [];
  let size = 0;
  if (req.body) {
    const reader = req.body.getReader();
    try {
      for (let r = await reader.read(); !r.done; r = await reader.read()) {
        size += r.value.byteLength;
        if (size > maxBytes) {
          await reader.cancel();
          throw tooLarge();
        }
        chunks.push(r.value);
      }
    } catch (err) {
      if (err instanceof PayloadTooLargeError) throw err;
      throw new BadRequestError("The body could not be read");
    }
  }
  if (size === 0) throw new BadRequestError("The body is the release file's bytes: it is empty");
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const c of chunks) (bytes.set(c, offset), offset += c.byteLength);
  return bytes;
}

/** The SHA-256 of `bytes`, as 64 lower-case hex digits (what `sha256sum` prints). */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** The sha256 the uploader says the file has (X-Content-Sha256), checked against what was received: 422
 * checksum_mismatch when they differ (a truncated or corrupted upload), nothing stored. */
export function checkDeclaredSha256(declared: string | null, actual: string): void {
  if (declared === null) return;
  const wanted = declared.trim().toLowerCase();
  if (!SHA256.test(wanted)) {
    throw new ValidationError("X-Content-Sha256 must be 64 hex digits", [{ path: "X-Content-Sha256", message: "64 hex digits" }]);
  }
  if (wanted !== actual) {
    throw new ValidationError(`The file received has sha256 ${actual}, not ${wanted}: nothing was stored`, [
      { path: "X-Content-Sha256", message: `received ${actual}` },
    ]);
  }
}

/** Where a release's file for a platform lives in the bucket: `<product>/<version>/<platform>/<filename>`. */
export function artifactPath(product: string, version: string, platform: string, filename: string): string {
  return `${product}/${version}/${platform}/${filename}`;
}
