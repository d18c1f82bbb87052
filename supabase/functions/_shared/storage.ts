// Supabase Storage for the functions: supabase-js `storage` against SUPABASE_URL/storage/v1, exactly as on
// hosted Supabase (the local stack serves the same API: docs/storage.md). The functions write as the service
// role (buckets take writes from nobody else); clients read through signed URLs or their own session, and the
// bucket's policies on storage.objects decide.
//
//   const { path } = await uploadObject("generations", `${accountId}/${id}.png`, bytes, "image/png");
//   const url = await signedUrl("generations", path, 3600);   // absolute, a browser GETs it
//   await removeObjects("generations", [path]);
//
// Storage's refusals become AppErrors with our codes (object_not_found, conflict, payload_too_large,
// unsupported_media_type, forbidden; anything else storage_unavailable), so a handler may let them through.
import { createClient, type SupabaseClient } from "@supabase/supabase-js";
import { requireEnv, optionalEnv } from "./env.ts";
import { AppError, ConflictError, ForbiddenError, NotFoundError, PayloadTooLargeError, ServiceUnavailableError } from "./errors.ts";

let admin: SupabaseClient | undefined;

/** A supabase-js client with the service role key (one per function instance; it holds no session). */
export function storageAdmin(): SupabaseClient {
  admin ??= createClient(requireEnv("SUPABASE_URL"), requireEnv("SUPABASE_SERVICE_ROLE_KEY"), {
    auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
  });
  return admin;
}

/** What Storage answered, as storage-js reports it (`statusCode`: Storage's own status, as a string). */
interface StorageFailure {
  message?: string;
  status?: number;
  statusCode?: string;
}

/** Storage's error as one of ours. Storage sends most errors with HTTP 400 and the real status in the body's
 * `statusCode` ("404" for an object that is not there), which is what decides here. */
export function storageError(error: unknown, what: string): AppError {
  const e = (error ?? {}) as StorageFailure;
  const status = Number(e.statusCode ?? e.status);
  // A bucket that is not there is a deployment's fault (its migration not applied), not the caller's.
  if (status === 404 && e.message === "Bucket not found") {
    console.error(`storage: ${what}: the bucket does not exist (is its migration applied?)`);
    return new ServiceUnavailableError(`${what}: storage is unavailable`, "storage_unavailable");
  }
  switch (status) {
    case 404:
      return new NotFoundError(`${what}: not found`, "object_not_found");
    case 409:
      return new ConflictError(`${what}: already exists`);
    case 413:
      return new PayloadTooLargeError(`${what}: larger than its bucket takes`);
    case 415:
      return new AppError(415, "unsupported_media_type", `${what}: a type its bucket does not take`);
    case 403:
      return new ForbiddenError(`${what}: not allowed`);
    default:
      console.error(`storage: ${what} failed`, e.status, e.statusCode, e.message);
      return new ServiceUnavailableError(`${what}: storage is unavailable`, "storage_unavailable");
  }
}

/** Stores `bytes` at `path` in `bucket` (replacing what is there when `upsert`). Returns the path and
 * Storage's object id. */
export async function uploadObject(
  bucket: string,
  path: string,
  bytes: Uint8Array | ArrayBuffer | Blob,
  contentType: string,
  opts: { upsert?: boolean; cacheControl?: string } = {},
): Promise<{ path: string; id: string }> {
  const { data, error } = await storageAdmin().storage.from(bucket).upload(path, bytes, {
    contentType,
    upsert: opts.upsert ?? false,
    cacheControl: opts.cacheControl ?? "3600",
  });
  if (error || !data) throw storageError(error, `upload of ${bucket}/${path}`);
  return { path: data.path, id: data.id };
}

/** An absolute URL that GETs the object for `expiresIn` seconds, without a session. SAASBASE_STORAGE_PUBLIC_URL
 * (e.g. http://127.0.0.1:54321 under `supabase start`, whose functions reach Storage at http://kong:8000)
 * replaces the origin the functions see when the browser must use another one. */
export async function signedUrl(bucket: string, path: string, expiresIn: number, opts: { download?: string | boolean } = {}): Promise<string> {
  const { data, error } = await storageAdmin().storage.from(bucket).createSignedUrl(path, expiresIn, opts);
  if (error || !data) throw storageError(error, `signed URL of ${bucket}/${path}`);
  return publicOrigin(data.signedUrl);
}

/** Signed URLs of several objects at once; a path that is not there gets null. */
export async function signedUrls(bucket: string, paths: string[], expiresIn: number): Promise<Map<string, string | null>> {
  const out = new Map<string, string | null>();
  if (!paths.length) return out;
  const { data, error } = await storageAdmin().storage.from(bucket).createSignedUrls(paths, expiresIn);
  if (error || !data) throw storageError(error, `signed URLs in ${bucket}`);
  for (const item of data) if (item.path) out.set(item.path, item.signedUrl ? publicOrigin(item.signedUrl) : null);
  return out;
}

/** Removes the objects (those already gone are skipped, as Storage does); returns the paths removed. */
export async function removeObjects(bucket: string, paths: string[]): Promise<string[]> {
  if (!paths.length) return [];
  const { data, error } = await storageAdmin().storage.from(bucket).remove(paths);
  if (error || !data) throw storageError(error, `removal from ${bucket}`);
  return data.map((o) => o.name);
}

/** The object's bytes and type. */
export async function downloadObject(bucket: string, path: string): Promise<{ bytes: Uint8Array; contentType: string }> {
  const { data, error } = await storageAdmin().storage.from(bucket).download(path);
  if (error || !data) throw storageError(error, `download of ${bucket}/${path}`);
  return { bytes: new Uint8Array(await data.arrayBuffer()), contentType: data.type };
}

function publicOrigin(url: string): string {
  const origin = optionalEnv("SAASBASE_STORAGE_PUBLIC_URL");
  if (!origin) return url;
  const u = new URL(url);
  const base = new URL(origin);
  u.protocol = base.protocol;
  u.host = base.host;
  return u.toString();
}
