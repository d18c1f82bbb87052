// Where the local Storage keeps object bytes: `<root>/<bucket>/<object name>/<version>`, as Storage's file
// backend lays them out (supabase/storage src/storage/backend/file.ts), one file per uploaded version so that
// an upsert never overwrites bytes a reader may be streaming. Names are checked first as Storage checks them
// (src/storage/limits.ts, backend/secure-path.ts): S3-safe characters only, no `.` or `..` segment, never a
// path outside the root.
import { createHash } from "node:crypto";
import { createReadStream, type ReadStream } from "node:fs";
import { mkdir, rm, rmdir, stat, writeFile } from "node:fs/promises";
import { dirname, isAbsolute, join, normalize, resolve, sep } from "node:path";
import { errors } from "./storage-errors.ts";

// Storage's own patterns (hyphen last so that it stays a literal).
const VALID_OBJECT_KEY = /^[A-Za-z0-9_/!.*'() &$=@;:+,?-]*$/;
const VALID_BUCKET_NAME = /^[A-Za-z0-9_!.*'() &$=@;:+,?-]*$/;

export function mustBeValidKey(key: string): void {
  if (!key || !VALID_OBJECT_KEY.test(key)) throw errors.invalidKey(key);
  if (key.split("/").some((segment) => segment === "." || segment === "..")) {
    throw errors.invalidKey(key, "contains dot path segment");
  }
}

export function mustBeValidBucketName(name: string): void {
  if (!name || name.length > 100 || !VALID_BUCKET_NAME.test(name)) throw errors.invalidBucketName();
}

export class FileStore {
  constructor(readonly root: string) {}

  /** The file of one version of an object, under the root whatever the name says. */
  path(bucket: string, name: string, version: string): string {
    const relative = join(bucket, name, version);
    if (relative.includes("\0") || isAbsolute(relative)) throw errors.invalidKey(name);
    const root = normalize(resolve(this.root));
    const full = normalize(resolve(root, relative));
    if (!full.startsWith(root.endsWith(sep) ? root : root + sep)) throw errors.invalidKey(name, "resolves outside storage directory");
    return full;
  }

  /** Writes a version's bytes; returns the metadata Storage records in storage.objects.metadata. */
  async write(bucket: string, name: string, version: string, bytes: Uint8Array, mimetype: string, cacheControl: string) {
    const file = this.path(bucket, name, version);
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, bytes);
    const lastModified = (await stat(file)).mtime.toISOString();
    return {
      eTag: `"${createHash("md5").update(bytes).digest("hex")}"`,
      size: bytes.byteLength,
      mimetype,
      cacheControl,
      lastModified,
      contentLength: bytes.byteLength,
      httpStatusCode: 200,
    };
  }

  /** The version's size, and a reader of its bytes (`from` to `to` inclusive, or all of them). */
  async open(bucket: string, name: string, version: string)
    : Promise<{ size: number; read: (range?: { from: number; to: number }) => ReadStream } | undefined> {
    const file = this.path(bucket, name, version);
    try {
      const { size } = await stat(file);
      return { size, read: (range) => createReadStream(file, range && { start: range.from, end: range.to }) };
    } catch {
      return undefined;
    }
  }

  /** Removes a version's file and the folders it leaves empty (up to the bucket's). */
  async remove(bucket: string, name: string, version: string): Promise<void> {
    const file = this.path(bucket, name, version);
    await rm(file, { force: true });
    const stop = this.path(bucket, "", "");
    for (let dir = dirname(file); dir.startsWith(stop) && dir !== stop; dir = dirname(dir)) {
      try {
        await rmdir(dir);
      } catch {
        break; // not empty (another version or object below it)
      }
    }
  }
}
