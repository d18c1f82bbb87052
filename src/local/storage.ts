// The local Storage API: the part of Supabase Storage (supabase/storage `src/http/routes/object`, `bucket`)
// the project uses, served by the gateway at /storage/v1 so that supabase-js `storage` works against
// `SUPABASE_URL` here as on hosted Supabase. What it does as Storage does:
// - the caller is the request's bearer JWT (verified with the project's JWT secret; `apikey` when there is no
//   Authorization header); every read and write of storage.objects runs in a transaction as that role, with
//   `request.jwt.claims` and the other settings Storage sets per request (src/internal/database/postgres/
//   scope.ts), so the project's policies on storage.objects decide; service_role bypasses RLS as on hosted.
// - an upload is checked first by inserting its row as the caller and rolling back (Storage's
//   testPermission), its bytes written, then its row upserted as the service role; an upsert (x-upsert: true)
//   needs the policies an `insert ... on conflict do update` needs.
// - signed URLs are HS256 JWTs signed with the project's JWT secret: `{ url: "<bucket>/<name>", scope:
//   "download", iat, exp }` (upload URLs: `{ owner, url, upsert, scope: "upload" }`, two hours).
// - bucket limits (file_size_limit, allowed_mime_types) and the project's [storage] file_size_limit apply.
// What it does not do: docs/storage.md ("What the local emulation does not do").
import type { IncomingMessage, ServerResponse } from "node:http";
import postgres from "postgres";
import { SignJWT, jwtVerify, type JWTPayload } from "jose";
import { randomUUID } from "node:crypto";
import { readUpload, validateMimeType } from "./storage-body.ts";
import { errors, fromPgError, StorageApiError } from "./storage-errors.ts";
import { FileStore, mustBeValidBucketName, mustBeValidKey } from "./storage-files.ts";

export interface LocalStorageOptions {
  /** A connection as supabase_storage_admin (the role Storage logs in as). */
  dbUrl: string;
  jwtSecret: string;
  /** The folder of object files (under the stack's state folder). */
  root: string;
  /** The project's upload limit in bytes (config.toml [storage] file_size_limit). */
  fileSizeLimit: number;
}

interface Caller {
  role: string;
  claims: JWTPayload & { role?: string };
  jwt: string;
  /** Whether a valid JWT came with the request. */
  authenticated: boolean;
}

interface ObjectRow {
  id: string;
  bucket_id: string;
  name: string;
  owner: string | null;
  owner_id: string | null;
  version: string | null;
  metadata: Record<string, unknown> | null;
  user_metadata: Record<string, unknown> | null;
  created_at: Date;
  updated_at: Date;
  last_accessed_at: Date;
}

interface BucketRow {
  id: string;
  public: boolean;
  file_size_limit: number | null;
  allowed_mime_types: string[] | null;
}

/** Seconds a signed upload URL lives (Storage's UPLOAD_SIGNED_URL_EXPIRATION_TIME default). */
const UPLOAD_URL_EXPIRY_S = 2 * 60 * 60;
const BEARER = /^Bearer\s+/i;
const CORS_HEADERS = {
  "access-control-allow-origin": "*",
  "access-control-allow-methods": "GET, POST, PUT, DELETE, HEAD, OPTIONS",
  "access-control-allow-headers": "authorization, x-client-info, apikey, content-type, x-upsert, cache-control, x-metadata",
};

const isUuid = (v: string | undefined) => !!v && /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(v);

export class LocalStorage {
  private readonly sql: postgres.Sql;
  private readonly files: FileStore;
  private readonly key: Uint8Array;
  private serviceCaller?: Caller;

  constructor(private readonly opts: LocalStorageOptions) {
    this.sql = postgres(opts.dbUrl, { max: 4, onnotice: () => {}, idle_timeout: 60, connect_timeout: 10 });
    this.files = new FileStore(opts.root);
    this.key = new TextEncoder().encode(opts.jwtSecret);
  }

  async close(): Promise<void> {
    await this.sql.end({ timeout: 5 });
  }

  /** Answers a request whose path is `rest` (after /storage/v1). */
  async handle(req: IncomingMessage, res: ServerResponse, rest: string, search: string): Promise<void> {
    try {
      if (req.method === "OPTIONS") {
        res.writeHead(200, CORS_HEADERS);
        res.end();
        return;
      }
      await this.route(req, res, rest, new URLSearchParams(search));
    } catch (err) {
      const e = err instanceof StorageApiError ? err : (console.error("local storage:", err), errors.internal());
      if (!req.complete) req.resume();
      if (res.headersSent) {
        res.destroy();
        return;
      }
      send(res, e.httpStatus, e.render());
    }
  }

  private async route(req: IncomingMessage, res: ServerResponse, rest: string, query: URLSearchParams): Promise<void> {
    const method = req.method ?? "GET";
    const parts = rest.replace(/^\/+/, "").split("/");
    const decode = (segments: string[]) => {
      try {
        return segments.map(decodeURIComponent).join("/");
      } catch {
        throw errors.invalidKey(segments.join("/"));
      }
    };

    if (parts[0] === "bucket") {
      if (method === "GET" && parts.length === 1) return this.listBuckets(req, res);
      if (method === "GET" && parts.length === 2 && parts[1]) return this.getBucket(req, res, decode([parts[1]]));
      throw errors.notFound(`Route ${method}:/bucket not supported by the local Storage emulation`);
    }
    if (parts[0] !== "object") throw errors.notFound(`Route ${method}:/${rest} not supported by the local Storage emulation`);

    const [, first, second] = parts;
    const body = () => readJson(req);
    // /object/sign/<bucket>[/<name>]
    if (first === "sign") {
      const bucket = decode([second ?? ""]);
      const name = decode(parts.slice(3));
      if (method === "POST" && parts.length === 3) return this.signMany(req, res, bucket, await body());
      if (method === "POST") return this.sign(req, res, bucket, name, await body());
      if (method === "GET") return this.getSigned(req, res, bucket, name, query);
    }
    if (first === "upload" && second === "sign") {
      const bucket = decode([parts[3] ?? ""]);
      const name = decode(parts.slice(4));
      if (method === "POST") return this.signUpload(req, res, bucket, name);
      if (method === "PUT") return this.uploadSigned(req, res, bucket, name, query);
    }
    if (first === "list" && method === "POST") return this.list(req, res, decode([second ?? ""]), await body());
    if ((first === "authenticated" || first === "public") && (method === "GET" || method === "HEAD")) {
      return this.download(req, res, decode([second ?? ""]), decode(parts.slice(3)), query, first);
    }
    if (first && !["sign", "upload", "list", "authenticated", "public", "info", "move", "copy"].includes(first)) {
      const bucket = decode([first]);
      const name = decode(parts.slice(2));
      if (method === "DELETE" && parts.length === 2) return this.removeMany(req, res, bucket, await body());
      if (method === "DELETE") return this.removeOne(req, res, bucket, name);
      if (method === "POST" || method === "PUT") return this.upload(req, res, bucket, name, method === "PUT");
      if (method === "GET" || method === "HEAD") return this.download(req, res, bucket, name, query, "object");
    }
    throw errors.notFound(`Route ${method}:/${rest} not supported by the local Storage emulation`);
  }

  // ---- who is calling, and their SQL -------------------------------------------------------------

  private async caller(req: IncomingMessage, opts: { allowAnon: boolean }): Promise<Caller> {
    const header = req.headers.authorization;
    const apikey = req.headers.apikey;
    const jwt = header ? header.replace(BEARER, "") : typeof apikey === "string" ? apikey : "";
    if (!jwt && opts.allowAnon) return { role: "anon", claims: { role: "anon" }, jwt: "", authenticated: false };
    try {
      const { payload } = await jwtVerify(jwt, this.key, { algorithms: ["HS256"] });
      return { role: typeof payload.role === "string" ? payload.role : "anon", claims: payload, jwt, authenticated: true };
    } catch (err) {
      if (opts.allowAnon) return { role: "anon", claims: { role: "anon" }, jwt: "", authenticated: false };
      throw errors.accessDenied((err as Error).message || "Invalid JWT");
    }
  }

  /** The service role, as Storage's own "super user" (the project's service key). */
  private service(): Caller {
    this.serviceCaller ??= { role: "service_role", claims: { role: "service_role" }, jwt: "", authenticated: true };
    return this.serviceCaller;
  }

  /** Runs `fn` in a transaction as `caller`, with the settings Storage sets for a request. */
  private async as<T>(caller: Caller, req: IncomingMessage, operation: string, fn: (tx: postgres.TransactionSql) => Promise<T>): Promise<T> {
    try {
      return await this.sql.begin(async (tx) => {
        const headers = JSON.stringify(Object.fromEntries(Object.entries(req.headers).filter(([k]) => k !== "authorization")));
        await tx`select
          set_config('role', ${caller.role}, true),
          set_config('request.jwt.claim.role', ${caller.role}, true),
          set_config('request.jwt', ${caller.jwt}, true),
          set_config('request.jwt.claim.sub', ${typeof caller.claims.sub === "string" ? caller.claims.sub : ""}, true),
          set_config('request.jwt.claims', ${JSON.stringify(caller.claims)}, true),
          set_config('request.headers', ${headers}, true),
          set_config('request.method', ${req.method ?? ""}, true),
          set_config('request.path', ${(req.url ?? "").split("?")[0]}, true),
          set_config('storage.operation', ${operation}, true),
          set_config('storage.allow_delete_query', 'true', true)`;
        return await fn(tx);
      }) as T;
    } catch (err) {
      if (err instanceof StorageApiError || err === ROLLBACK) throw err;
      throw fromPgError(err);
    }
  }

  private async bucket(req: IncomingMessage, id: string): Promise<BucketRow> {
    mustBeValidBucketName(id);
    const [row] = await this.as(this.service(), req, "storage.bucket.get", (tx) =>
      tx<BucketRow[]>`select id, public, file_size_limit, allowed_mime_types from storage.buckets where id = ${id}`);
    if (!row) throw errors.noSuchBucket();
    return row;
  }

  // ---- upload ------------------------------------------------------------------------------------

  /** Storage's testPermission: the row the upload would write, inserted as the caller and rolled back. */
  private async canUpload(caller: Caller, req: IncomingMessage, bucket: string, name: string, owner: string | undefined,
    upsert: boolean, metadata: Record<string, unknown>) {
    await this.as(caller, req, "storage.object.upload", async (tx) => {
      const row = {
        bucket_id: bucket, name, owner: isUuid(owner) ? owner! : null, owner_id: owner ?? null, version: "1",
        metadata: metadata as postgres.JSONValue,
      };
      if (upsert) {
        await tx`insert into storage.objects ${tx(row)} on conflict (name, bucket_id) do update
          set metadata = excluded.metadata, version = excluded.version, owner = excluded.owner, owner_id = excluded.owner_id`;
      } else {
        await tx`insert into storage.objects ${tx(row)}`;
      }
      throw ROLLBACK;
    }).catch((err) => {
      if (err !== ROLLBACK) throw err;
    });
  }

  private async store(req: IncomingMessage, caller: Caller, bucketId: string, name: string, owner: string | undefined,
    upsert: boolean) {
    mustBeValidKey(name);
    const bucket = await this.bucket(req, bucketId);
    const limit = bucket.file_size_limit ? Math.min(Number(bucket.file_size_limit), this.opts.fileSizeLimit) : this.opts.fileSizeLimit;
    const upload = await readUpload(req, limit);
    if (bucket.allowed_mime_types?.length) validateMimeType(upload.mimeType, bucket.allowed_mime_types);
    await this.canUpload(caller, req, bucketId, name, owner, upsert, {
      mimetype: upload.mimeType, contentLength: upload.bytes.byteLength,
    });

    const version = randomUUID();
    const metadata = await this.files.write(bucketId, name, version, upload.bytes, upload.mimeType, upload.cacheControl);
    let previous: string | null = null;
    let row: ObjectRow;
    try {
      row = await this.as(this.service(), req, "storage.object.upload", async (tx) => {
        // One writer of a name at a time (Storage's waitObjectLock): the version replaced is then the one this
        // transaction saw, so its file is the one to remove, and two creates of one name cannot both win.
        await tx`select pg_advisory_xact_lock(hashtextextended(${`${bucketId}/${name}`}, 0))`;
        const [current] = await tx<{ version: string | null }[]>`select version from storage.objects
          where bucket_id = ${bucketId} and name = ${name} for update`;
        if (current && !upsert) throw errors.keyAlreadyExists();
        previous = current?.version ?? null;
        const values = {
          bucket_id: bucketId, name, owner: isUuid(owner) ? owner! : null, owner_id: owner ?? null, version,
          metadata: metadata as postgres.JSONValue, user_metadata: (upload.userMetadata ?? null) as postgres.JSONValue,
        };
        const [saved] = await tx<ObjectRow[]>`insert into storage.objects ${tx(values)} on conflict (name, bucket_id) do update
          set metadata = excluded.metadata, user_metadata = excluded.user_metadata, version = excluded.version,
            owner = excluded.owner, owner_id = excluded.owner_id
          returning *`;
        return saved;
      });
    } catch (err) {
      await this.files.remove(bucketId, name, version);
      throw err;
    }
    if (previous && previous !== version) await this.files.remove(bucketId, name, previous);
    return row;
  }

  private async upload(req: IncomingMessage, res: ServerResponse, bucket: string, name: string, isUpdate: boolean) {
    const caller = await this.caller(req, { allowAnon: false });
    const upsert = isUpdate || req.headers["x-upsert"] === "true";
    const owner = typeof caller.claims.sub === "string" ? caller.claims.sub : undefined;
    const row = await this.store(req, caller, bucket, name, owner, upsert);
    send(res, 200, { Id: row.id, Key: `${bucket}/${name}` });
  }

  private async signUpload(req: IncomingMessage, res: ServerResponse, bucket: string, name: string) {
    const caller = await this.caller(req, { allowAnon: false });
    mustBeValidKey(name);
    await this.bucket(req, bucket);
    const owner = typeof caller.claims.sub === "string" ? caller.claims.sub : undefined;
    const upsert = req.headers["x-upsert"] === "true";
    await this.canUpload(caller, req, bucket, name, owner, upsert, {});
    const url = `${bucket}/${name}`;
    const token = await this.signToken({ owner, url, upsert, scope: "upload" }, UPLOAD_URL_EXPIRY_S);
    send(res, 200, { url: `/object/upload/sign/${url}?token=${token}`, token });
  }

  private async uploadSigned(req: IncomingMessage, res: ServerResponse, bucket: string, name: string, query: URLSearchParams) {
    const payload = await this.verifyToken(query.get("token"), bucket, name, "upload");
    const owner = typeof payload.owner === "string" ? payload.owner : undefined;
    await this.store(req, this.service(), bucket, name, owner, payload.upsert === true);
    send(res, 200, { Key: `${bucket}/${name}` });
  }

  // ---- signed URLs -------------------------------------------------------------------------------

  private signToken(payload: JWTPayload, expiresIn: number): Promise<string> {
    return new SignJWT(payload).setIssuedAt().setExpirationTime(`${expiresIn}s`).setProtectedHeader({ alg: "HS256" }).sign(this.key);
  }

  /** Storage's verifyObjectSignature: signature and expiry (jose), scope, and the token's object. */
  private async verifyToken(token: string | null, bucket: string, name: string, scope: "download" | "upload") {
    if (!token) throw errors.invalidRequest("querystring must have required property 'token'");
    let payload: JWTPayload & { url?: string; scope?: string; upsert?: boolean; owner?: string };
    try {
      ({ payload } = await jwtVerify(token, this.key, { algorithms: ["HS256"] }));
    } catch (err) {
      throw errors.invalidJwt((err as Error).message);
    }
    const scoped = scope === "upload"
      ? payload.scope === "upload" || (payload.scope === undefined && "upsert" in payload)
      : payload.scope === "download" || (payload.scope === undefined && !("upsert" in payload));
    if (!scoped) throw errors.invalidSignature(`Token is not scoped for ${scope}`);
    if (payload.url !== `${bucket}/${name}`) throw errors.invalidSignature();
    return payload;
  }

  private expiresIn(body: Record<string, unknown>): number {
    const v = body.expiresIn;
    if (v === undefined) throw errors.invalidRequest("body must have required property 'expiresIn'");
    if (typeof v !== "number" || !Number.isInteger(v) || v < 1) throw errors.invalidRequest("body/expiresIn must be an integer >= 1");
    if (v > 60 * 60 * 24 * 365 * 100) throw errors.invalidParameter("expiresIn");
    return v;
  }

  private async sign(req: IncomingMessage, res: ServerResponse, bucket: string, name: string, body: Record<string, unknown>) {
    const caller = await this.caller(req, { allowAnon: false });
    const expiresIn = this.expiresIn(body);
    mustBeValidBucketName(bucket);
    mustBeValidKey(name);
    await this.findObject(caller, req, bucket, name, "storage.object.sign");
    const url = `${bucket}/${name}`;
    const token = await this.signToken({ url, scope: "download" }, expiresIn);
    send(res, 200, { signedURL: `/object/sign/${url}?token=${token}` });
  }

  private async signMany(req: IncomingMessage, res: ServerResponse, bucket: string, body: Record<string, unknown>) {
    const caller = await this.caller(req, { allowAnon: false });
    const expiresIn = this.expiresIn(body);
    const paths = body.paths;
    if (!Array.isArray(paths) || paths.some((p) => typeof p !== "string")) {
      throw errors.invalidRequest("body must have required property 'paths'");
    }
    mustBeValidBucketName(bucket);
    const found = await this.as(caller, req, "storage.object.sign_many", (tx) =>
      tx<{ name: string }[]>`select name from storage.objects where bucket_id = ${bucket} and name = any(${paths as string[]}::text[])`);
    const names = new Set(found.map((r) => r.name));
    const out = await Promise.all((paths as string[]).map(async (path) => {
      if (!names.has(path)) {
        return { error: "Either the object does not exist or you do not have access to it", path, signedURL: null };
      }
      const url = `${bucket}/${path}`;
      const token = await this.signToken({ url, scope: "download" }, expiresIn);
      return { error: null, path, signedURL: `/object/sign/${url}?token=${token}` };
    }));
    send(res, 200, out);
  }

  private async getSigned(req: IncomingMessage, res: ServerResponse, bucket: string, name: string, query: URLSearchParams) {
    const payload = await this.verifyToken(query.get("token"), bucket, name, "download");
    const row = await this.findObject(this.service(), req, bucket, name, "storage.object.get_signed");
    await this.serve(req, res, row, query, typeof payload.exp === "number" ? new Date(payload.exp * 1000) : undefined);
  }

  // ---- download ----------------------------------------------------------------------------------

  private async findObject(caller: Caller, req: IncomingMessage, bucket: string, name: string, operation: string): Promise<ObjectRow> {
    const [row] = await this.as(caller, req, operation, (tx) =>
      tx<ObjectRow[]>`select * from storage.objects where name = ${name} and bucket_id = ${bucket} limit 1`);
    if (!row) throw errors.noSuchKey();
    return row;
  }

  private async download(req: IncomingMessage, res: ServerResponse, bucketId: string, name: string, query: URLSearchParams,
    route: "object" | "authenticated" | "public") {
    const caller = route === "public" ? undefined : await this.caller(req, { allowAnon: route === "object" });
    mustBeValidBucketName(bucketId);
    mustBeValidKey(name);
    const [bucket] = await this.as(this.service(), req, "storage.bucket.get", (tx) =>
      tx<BucketRow[]>`select id, public from storage.buckets where id = ${bucketId}`);
    if (!bucket || ((route === "public" || !caller?.authenticated) && !bucket.public)) throw errors.noSuchBucket();
    const row = await this.findObject(bucket.public ? this.service() : caller!, req, bucketId, name, "storage.object.get");
    await this.serve(req, res, row, query);
  }

  private async serve(req: IncomingMessage, res: ServerResponse, row: ObjectRow, query: URLSearchParams, expires?: Date) {
    const file = row.version ? await this.files.open(row.bucket_id, row.name, row.version) : undefined;
    if (!file) throw errors.noSuchKey();
    const meta = row.metadata ?? {};
    // One byte range (`bytes=0-99`, `bytes=100-`, `bytes=-100`), as Storage serves them: 206 with Content-Range.
    const range = typeof req.headers.range === "string" ? parseRange(req.headers.range, file.size) : undefined;
    const headers: Record<string, string> = {
      ...CORS_HEADERS,
      "accept-ranges": "bytes",
      "content-type": String(meta.mimetype ?? "application/octet-stream"),
      "content-length": String(range ? range.to - range.from + 1 : file.size),
      "cache-control": String(meta.cacheControl ?? "no-cache"),
      "last-modified": new Date(String(meta.lastModified ?? row.updated_at)).toUTCString(),
    };
    if (meta.eTag) headers.etag = String(meta.eTag);
    if (expires) headers.expires = expires.toUTCString();
    const download = query.get("download");
    if (download !== null) {
      const filename = download || row.name.split("/").pop() || "download";
      headers["content-disposition"] = `attachment; filename=${encodeURIComponent(filename)};`;
    }
    if (range) headers["content-range"] = `bytes ${range.from}-${range.to}/${file.size}`;
    res.writeHead(range ? 206 : 200, headers);
    if (req.method === "HEAD") {
      res.end();
      return;
    }
    const stream = file.read(range);
    await new Promise<void>((resolvePromise) => {
      stream.on("error", () => {
        res.destroy();
        resolvePromise();
      });
      res.on("close", () => {
        stream.destroy();
        resolvePromise();
      });
      stream.pipe(res);
    });
  }

  // ---- remove and list ---------------------------------------------------------------------------

  private async removeMany(req: IncomingMessage, res: ServerResponse, bucket: string, body: Record<string, unknown>) {
    const caller = await this.caller(req, { allowAnon: false });
    const prefixes = body.prefixes;
    if (!Array.isArray(prefixes) || prefixes.length < 1 || prefixes.some((p) => typeof p !== "string")) {
      throw errors.invalidRequest("body/prefixes must NOT have fewer than 1 items");
    }
    if (prefixes.length > 1000) throw errors.invalidRequest("Bulk object requests are limited to 1000 objects per request.");
    mustBeValidBucketName(bucket);
    const deleted = await this.as(caller, req, "storage.object.delete_many", (tx) =>
      tx<ObjectRow[]>`delete from storage.objects where bucket_id = ${bucket} and name = any(${prefixes as string[]}::text[])
        returning *`);
    for (const row of deleted) if (row.version) await this.files.remove(row.bucket_id, row.name, row.version);
    send(res, 200, deleted);
  }

  private async removeOne(req: IncomingMessage, res: ServerResponse, bucket: string, name: string) {
    const caller = await this.caller(req, { allowAnon: false });
    mustBeValidBucketName(bucket);
    mustBeValidKey(name);
    await this.findObject(this.service(), req, bucket, name, "storage.object.delete");
    const [deleted] = await this.as(caller, req, "storage.object.delete", (tx) =>
      tx<ObjectRow[]>`delete from storage.objects where bucket_id = ${bucket} and name = ${name} returning *`);
    if (!deleted) throw errors.accessDenied("Access denied");
    if (deleted.version) await this.files.remove(deleted.bucket_id, deleted.name, deleted.version);
    send(res, 200, { message: "Successfully deleted" });
  }

  /** One level of a folder, as storage.search answers it: sub-folders (name only) and the objects in it. */
  private async list(req: IncomingMessage, res: ServerResponse, bucket: string, body: Record<string, unknown>) {
    const caller = await this.caller(req, { allowAnon: false });
    mustBeValidBucketName(bucket);
    let prefix = typeof body.prefix === "string" ? body.prefix : "";
    if (prefix && !prefix.endsWith("/")) prefix += "/";
    const search = typeof body.search === "string" ? body.search : "";
    const limit = Math.min(Math.max(Number(body.limit ?? 100) || 100, 1), 1500);
    const offset = Math.max(Number(body.offset ?? 0) || 0, 0);
    const sortBy = (body.sortBy ?? {}) as { column?: string; order?: string };
    const column = ["name", "updated_at", "created_at", "last_accessed_at"].includes(sortBy.column ?? "") ? sortBy.column! : "name";
    const desc = String(sortBy.order ?? "asc").toLowerCase() === "desc";
    const rows = await this.as(caller, req, "storage.object.list", (tx) =>
      tx<ObjectRow[]>`select * from storage.objects where bucket_id = ${bucket}
        and starts_with(lower(name), lower(${prefix + search}))`);
    const folders = new Map<string, Record<string, unknown>>();
    const objects: Record<string, unknown>[] = [];
    for (const row of rows) {
      const rel = row.name.slice(prefix.length);
      const slash = rel.indexOf("/");
      if (slash >= 0) {
        const name = rel.slice(0, slash);
        folders.set(name, { name, id: null, updated_at: null, created_at: null, last_accessed_at: null, metadata: null });
      } else {
        objects.push({ name: rel, id: row.id, updated_at: row.updated_at, created_at: row.created_at,
          last_accessed_at: row.last_accessed_at, metadata: row.metadata });
      }
    }
    const key = (e: Record<string, unknown>) => (column === "name" ? String(e.name) : String((e[column] as Date | null)?.toISOString() ?? ""));
    const sorted = [...folders.values(), ...objects].sort((a, b) => {
      const c = key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0;
      return desc ? -c : c;
    });
    send(res, 200, sorted.slice(offset, offset + limit));
  }

  // ---- buckets (read only: buckets are created by migrations) ------------------------------------

  private async listBuckets(req: IncomingMessage, res: ServerResponse) {
    const caller = await this.caller(req, { allowAnon: false });
    const rows = await this.as(caller, req, "storage.bucket.list", (tx) => tx`select * from storage.buckets order by name`);
    send(res, 200, rows);
  }

  private async getBucket(req: IncomingMessage, res: ServerResponse, id: string) {
    const caller = await this.caller(req, { allowAnon: false });
    mustBeValidBucketName(id);
    const [row] = await this.as(caller, req, "storage.bucket.get", (tx) => tx`select * from storage.buckets where id = ${id}`);
    if (!row) throw errors.noSuchBucket();
    send(res, 200, row);
  }
}

const ROLLBACK = Symbol("rollback");

/** Storage's parseRangeHeader: a single range within the file, else 416. */
export function parseRange(header: string, size: number): { from: number; to: number } {
  const m = /^bytes=(\d*)-(\d*)$/.exec(header);
  if (!m || size <= 0 || (!m[1] && !m[2])) throw errors.invalidRange();
  if (!m[1]) {
    const suffix = Number(m[2]);
    if (!Number.isSafeInteger(suffix) || suffix <= 0) throw errors.invalidRange();
    return { from: Math.max(size - suffix, 0), to: size - 1 };
  }
  const from = Number(m[1]);
  const to = m[2] ? Number(m[2]) : size - 1;
  if (!Number.isSafeInteger(from) || !Number.isSafeInteger(to) || from < 0 || to < from || from >= size) {
    throw errors.invalidRange();
  }
  return { from, to: Math.min(to, size - 1) };
}

function send(res: ServerResponse, status: number, body: unknown) {
  const text = JSON.stringify(body);
  res.writeHead(status, { ...CORS_HEADERS, "content-type": "application/json; charset=utf-8", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > 1024 * 1024) throw errors.entityTooLarge("request body");
    chunks.push(chunk as Buffer);
  }
  if (!size) return {};
  try {
    const parsed = JSON.parse(Buffer.concat(chunks).toString("utf8"));
    if (parsed && typeof parsed === "object" && !Array.isArray(parsed)) return parsed;
  } catch {
    // answered below
  }
  throw errors.invalidRequest("Body is not valid JSON");
}
