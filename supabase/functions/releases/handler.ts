// Releases and downloads (docs/releases.md). For apps and customers (any caller: the project's anon key is
// enough; a licensed product's routes take the license key in X-License-Key, and the machine's fingerprint in
// X-Machine-Fingerprint where its license is node-locked):
//   GET  /releases/latest?product&channel&platform&current_version   the update check: 200 { release } with the
//        newest release the app may install (rollback: true when it replaces a yanked one the app runs), 204 when
//        the app is current
//   GET  /releases/download?product&platform&version                  200 { url, expires_at, ... }: a short-lived
//        signed Storage URL of the file, the download recorded (for the license's account, or the signed-in
//        member's acting account: X-Account-Id)
// For admins (a signed-in admin, or the service role; audited):
//   POST /releases/admin/releases { product, version, channel, notes?, entitlements? }   (entitlements: what a
//        license must grant to have it)
//        201 a draft release; 409 release_exists for a version that has one
//   PUT  /releases/admin/releases/:id/artifacts/:platform?filename=   the file's bytes as the body (X-Content-Sha256
//        to have them checked): 201 the file with the sha256 and size computed here
//   POST /releases/admin/releases/:id/publish | /yank { reason? } | /restore
//   GET  /releases/admin/downloads?product&from&to                   downloads per release and per day
// Bad input is a 4xx that changes nothing.
import { Hono } from "hono";
import { z } from "zod";
import { callerAccount } from "../_shared/account.ts";
import { clientIp } from "../_shared/api-keys.ts";
import { requireAdmin } from "../_shared/admin.ts";
import { type Caller, callerOf } from "../_shared/auth.ts";
import { config } from "../_shared/config.ts";
import { db } from "../_shared/db.ts";
import { dbCall } from "../_shared/db-errors.ts";
import { AppError, errorResponse, MethodNotAllowedError, NotFoundError, ValidationError } from "../_shared/errors.ts";
import { json, withHttp } from "../_shared/http.ts";
import { readJson } from "../_shared/request.ts";
import { withMaintenance } from "../_shared/runtime-settings.ts";
import {
  artifactPath,
  checkDeclaredSha256,
  FILENAME,
  PLATFORM,
  readBodyBytes,
  RELEASES_BUCKET,
  sha256Hex,
} from "../_shared/releases/artifact.ts";
import type { ReleaseDownload, ReleaseDownloadCount, ReleaseOffer } from "../_shared/sql-results.ts";
import type { Database } from "../_shared/database.types.ts";
import { removeObjects, signedUrl, uploadObject } from "../_shared/storage.ts";

type Release = Database["public"]["Tables"]["releases"]["Row"];
type Artifact = Database["public"]["Tables"]["release_artifacts"]["Row"];

const product = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, "a product id");
const version = z.string().min(5).max(64);
const platform = z.string().regex(PLATFORM, "a platform such as windows-x64, macos-arm64, linux-x64");
const name = z.string().regex(/^[a-z][a-z0-9_.:-]{0,62}$/, "a lower-case entitlement name (a-z 0-9 _ . : -)");

const latestQuery = z.object({
  product,
  channel: z.enum(["stable", "beta"]).default("stable"),
  platform,
  current_version: version.optional(),
});
const downloadQuery = z.object({ product, platform, version: version.optional() });
const createBody = z.object({
  product,
  version,
  channel: z.enum(["stable", "beta"]),
  notes: z.string().max(20_000).default(""),
  entitlements: z.array(name).max(20).default([]),
});
const yankBody = z.object({ reason: z.string().min(1).max(2000).optional() });
const downloadsQuery = z.object({ product, from: z.iso.date(), to: z.iso.date() });
const artifactQuery = z.object({ filename: z.string().regex(FILENAME, "a file name without a path").optional() });
const uuid = z.uuid();

/** The query string checked against `schema`: 422 listing each bad field. */
function query<S extends z.ZodType>(req: Request, schema: S): z.output<S> {
  const params = Object.fromEntries(new URL(req.url).searchParams);
  const result = schema.safeParse(params);
  if (!result.success) {
    const details = result.error.issues.map((i) => ({ path: i.path.join("."), message: i.message }));
    throw new ValidationError(`Invalid request: ${details.map((d) => `${d.path}: ${d.message}`).join("; ")}`, details);
  }
  return result.data;
}

function releaseId(value: string): string {
  if (!uuid.safeParse(value).success) {
    throw new ValidationError("The release id is a uuid", [{ path: "id", message: "a uuid" }]);
  }
  return value;
}

/** The country the request comes from, as the platform's edge says (Cloudflare's cf-ipcountry on hosted
 * Supabase; x-country-code from a proxy of one's own); SQL keeps it only when it is two letters. */
function countryOf(req: Request): string | null {
  const value = req.headers.get("cf-ipcountry") ?? req.headers.get("x-country-code");
  return value && /^[A-Za-z]{2}$/.test(value.trim()) ? value.trim() : null;
}

/** The license key (X-License-Key) and the machine's fingerprint (X-Machine-Fingerprint) an app sends, bounded
 * (SQL answers NOT_FOUND for any text that is no key). */
function licenseOf(req: Request): { key: string | null; fingerprint: string | null } {
  const key = req.headers.get("x-license-key")?.trim() || null;
  const fingerprint = req.headers.get("x-machine-fingerprint")?.trim() || null;
  if (key !== null && key.length > 100) {
    throw new ValidationError("X-License-Key is a license key", [{ path: "X-License-Key", message: "at most 100 characters" }]);
  }
  if (fingerprint !== null && fingerprint.length > 256) {
    throw new ValidationError("X-Machine-Fingerprint is at most 256 characters", [
      { path: "X-Machine-Fingerprint", message: "at most 256 characters" },
    ]);
  }
  return { key, fingerprint };
}

/** Counts a request presenting a license key, as the licenses function counts its own (per client IP, then per
 * license: 429 rate_limited with Retry-After), in a statement of its own: the count stands whatever the request's
 * work then answers (a refused key included). */
async function countKeyedRequest(req: Request, key: string | null): Promise<void> {
  if (key === null) return;
  await dbCall(db()`select public.service_role_count_release_request(${key}, ${clientIp(req) ?? null})`);
}

/** The signed-in member downloading, when the caller is one (a desktop app with only the anon key is nobody). */
function memberOf(req: Request, caller: Caller): { userId: string | null; account: string | null } {
  if (caller.role !== "authenticated" || !caller.userId) return { userId: null, account: null };
  return { userId: caller.userId, account: callerAccount(req, caller) };
}

/** What an admin's action is recorded under: the admin, or nobody for the service role itself. */
const actorOf = (caller: Caller) => caller.role === "service_role" ? null : caller.userId ?? null;

const offerBody = (o: ReleaseOffer) => ({
  release: {
    id: o.release_id,
    product: o.product_id,
    version: o.version,
    channel: o.channel,
    notes: o.notes,
    published_at: o.published_at,
    rollback: o.rollback,
    artifact: { platform: o.platform, filename: o.filename, sha256: o.sha256, size: Number(o.size) },
  },
});

async function latest(req: Request): Promise<Response> {
  await callerOf(req);
  const q = query(req, latestQuery);
  const { key, fingerprint } = licenseOf(req);
  await countKeyedRequest(req, key);
  const [offer] = await dbCall(db()<ReleaseOffer[]>`select * from public.service_role_latest_release(
    ${q.product}, ${q.channel}, ${q.platform}, ${q.current_version ?? null}, ${key}, ${fingerprint})
    where release_id is not null`);
  if (!offer) return new Response(null, { status: 204 });
  return json(offerBody(offer));
}

async function download(req: Request): Promise<Response> {
  const caller = await callerOf(req);
  const q = query(req, downloadQuery);
  const { userId, account } = memberOf(req, caller);
  const { key, fingerprint } = licenseOf(req);
  await countKeyedRequest(req, key);
  const seconds = config.releases.downloadUrlSeconds;
  // The download is recorded in the transaction that signs its URL: one that gets no URL is not counted.
  const answer = await dbCall(db().begin(async (tx) => {
    const [d] = await tx<ReleaseDownload[]>`select * from public.service_role_authorize_download(${q.product},
      ${q.version ?? null}, ${q.platform}, ${userId}, ${account}, ${countryOf(req)}, ${key}, ${fingerprint})`;
    const url = await signedUrl(RELEASES_BUCKET, d.storage_path, seconds, { download: d.filename });
    return {
      url,
      expires_at: new Date(Date.now() + seconds * 1000).toISOString(),
      download_id: Number(d.download_id),
      release_id: d.release_id,
      product: d.product_id,
      version: d.version,
      platform: d.platform,
      filename: d.filename,
      sha256: d.sha256,
      size: Number(d.size),
    };
  }));
  return json(answer);
}

async function createRelease(req: Request): Promise<Response> {
  const caller = await requireAdmin(req);
  const b = await readJson(req, createBody);
  const [row] = await dbCall(db()<Release[]>`select * from public.service_role_create_release(${actorOf(caller)},
    ${b.product}, ${b.version}, ${b.channel}, ${b.notes}, ${b.entitlements})`);
  return json(row, 201);
}

async function addArtifact(req: Request, id: string, platformName: string): Promise<Response> {
  const caller = await requireAdmin(req);
  if (!PLATFORM.test(platformName)) {
    throw new ValidationError("Invalid platform", [{ path: "platform", message: "a platform such as windows-x64" }]);
  }
  const { filename: named } = query(req, artifactQuery);
  const [release] = await db()<Release[]>`select * from public.releases where id = ${id}`;
  if (!release) throw new NotFoundError("No such release", "release_not_found");
  if (release.published_at) {
    throw new AppError(409, "release_published", "A published release's files do not change: publish a new version");
  }
  const bytes = await readBodyBytes(req, config.releases.maxArtifactBytes);
  const sha256 = await sha256Hex(bytes);
  checkDeclaredSha256(req.headers.get("x-content-sha256"), sha256);
  const filename = named ?? `${release.product_id}-${release.version}-${platformName}`;
  const contentType = req.headers.get("content-type")?.split(";")[0].trim() || "application/octet-stream";
  const path = artifactPath(release.product_id, release.version, platformName, filename);

  // One upload per path at a time, in a transaction that records the file: while it holds the lock, an object at
  // the path that no row names is what an upload cut off before its row left behind, and is replaced (upsert);
  // one a row names is another upload's (409 artifact_exists, nothing touched). A refusal of the row (published
  // meanwhile, another file for the platform) removes what was stored.
  const row = await dbCall(db().begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(hashtextextended(${"releases:" + path}, 0))`;
    const [named] = await tx`select 1 from public.release_artifacts where storage_path = ${path}`;
    if (named) throw new AppError(409, "artifact_exists", `This release has a file for ${platformName} already`);
    await uploadObject(RELEASES_BUCKET, path, bytes, contentType, { upsert: true });
    try {
      const [artifact] = await tx<Artifact[]>`select * from public.service_role_add_release_artifact(${actorOf(caller)},
        ${id}, ${platformName}, ${filename}, ${path}, ${sha256}, ${bytes.byteLength}, ${contentType})`;
      return artifact;
    } catch (err) {
      await removeObjects(RELEASES_BUCKET, [path]).catch((e) => console.error("releases: cleanup failed", path, e));
      throw err;
    }
  }));
  return json({ ...row, size: Number(row.size) }, 201);
}

async function change(req: Request, id: string, action: "publish" | "yank" | "restore"): Promise<Response> {
  const caller = await requireAdmin(req);
  const actor = actorOf(caller);
  let row: Release[];
  if (action === "yank") {
    const { reason } = await readJson(req, yankBody);
    row = await dbCall(db()<Release[]>`select * from public.service_role_yank_release(${actor}, ${id}, ${reason ?? null})`);
  } else if (action === "publish") {
    row = await dbCall(db()<Release[]>`select * from public.service_role_publish_release(${actor}, ${id})`);
  } else {
    row = await dbCall(db()<Release[]>`select * from public.service_role_restore_release(${actor}, ${id})`);
  }
  return json(row[0]);
}

async function downloads(req: Request): Promise<Response> {
  await requireAdmin(req);
  const q = query(req, downloadsQuery);
  const rows = await dbCall(db()<ReleaseDownloadCount[]>`select day::text as day, release_id, version,
    downloads::int as downloads, accounts::int as accounts
    from public.service_role_release_downloads(${q.product}, ${q.from}, ${q.to})`);
  const perRelease = new Map<string, { release_id: string; version: string; downloads: number }>();
  const perDay = new Map<string, number>();
  for (const r of rows) {
    const entry = perRelease.get(r.release_id) ?? { release_id: r.release_id, version: r.version, downloads: 0 };
    entry.downloads += Number(r.downloads);
    perRelease.set(r.release_id, entry);
    perDay.set(String(r.day), (perDay.get(String(r.day)) ?? 0) + Number(r.downloads));
  }
  return json({
    product: q.product,
    from: q.from,
    to: q.to,
    total: rows.reduce((n, r) => n + Number(r.downloads), 0),
    per_release: [...perRelease.values()].sort((a, b) => b.downloads - a.downloads),
    per_day: [...perDay].map(([day, n]) => ({ day, downloads: n })),
    rows,
  });
}

const app = new Hono().basePath("/releases");
app.get("/latest", (c) => latest(c.req.raw));
app.get("/download", (c) => download(c.req.raw));
app.post("/admin/releases", (c) => createRelease(c.req.raw));
app.put("/admin/releases/:id/artifacts/:platform", (c) =>
  addArtifact(c.req.raw, releaseId(c.req.param("id")), c.req.param("platform")));
for (const action of ["publish", "yank", "restore"] as const) {
  app.post(`/admin/releases/:id/${action}`, (c) => change(c.req.raw, releaseId(c.req.param("id")), action));
}
app.get("/admin/downloads", (c) => downloads(c.req.raw));
// A known route with another method is a 405, anything else a 404 (registered last: Hono tries routes in order).
for (const path of ["/latest", "/download", "/admin/releases", "/admin/releases/:id/artifacts/:platform",
  "/admin/releases/:id/publish", "/admin/releases/:id/yank", "/admin/releases/:id/restore", "/admin/downloads"]) {
  app.all(path, (c) => {
    throw new MethodNotAllowedError(c.req.method);
  });
}
app.notFound((c) => errorResponse(new NotFoundError(`No route ${new URL(c.req.url).pathname}`, "route_not_found")));
app.onError((err) => errorResponse(err));

// In maintenance (runtime settings) every caller but the service role is answered 503, as by the other functions.
export const handler = withHttp(withMaintenance(config, (req) => {
  // The platform hands the function /releases/...; the local gateway may keep /functions/v1 in front.
  const url = new URL(req.url);
  url.pathname = url.pathname.replace(/^.*?\/releases(?=\/|$)/, "/releases").replace(/(.)\/$/, "$1");
  return app.fetch(new Request(url, req));
}));
