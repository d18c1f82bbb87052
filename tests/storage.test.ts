// The local Storage API (src/local/storage.ts) through the real supabase-js client, as the functions and
// frontends use it against hosted Supabase: a private bucket and its policies made as a domain's migration
// makes them (by postgres), uploads as the service role, signed URLs and their expiry, a user's own session
// reading what the policy lets them read, removal, upsert, the bucket's limits, signed upload URLs, bad paths,
// and _shared/storage.ts's helpers run under Deno. Then the platform part: a cluster bootstrapped before the
// storage schema existed gets it on its next start.
import { spawnSync } from "node:child_process";
import { request } from "node:http";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { createClient, type SupabaseClient } from "@supabase/supabase-js";
import { decodeJwt } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect } from "../src/local/database.ts";
import { freePort } from "../src/local/functions.ts";
import { prepareHostedCluster } from "../src/local/hosted.ts";
import { signJwt, verifyJwt } from "../src/local/jwt.ts";
import { DENO_BIN, FUNCTIONS_DIR, ROOT } from "../src/local/paths.ts";
import { LocalCluster } from "../src/local/postgres.ts";
import { tempDir } from "../src/local/throwaway.ts";
import { denoProcessEnv } from "../src/local/deno-env.ts";
import { connectDb, createUser, stack } from "./support/stack.ts";

const PNG_BASE64 = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==";
const png = new Uint8Array(Buffer.from(PNG_BASE64, "base64"));
const png2 = new Uint8Array([...png.slice(0, -1), 0x83]); // other bytes, same type
const sql = connectDb();
const bucket = `t-${crypto.randomUUID().slice(0, 8)}`;
const open = `${bucket}-open`;
const LIMIT = 64 * 1024;
let admin: SupabaseClient;
let alice: { id: string; token: string };
let bob: { id: string; token: string };
let siteAdmin: { id: string; token: string };

/** A supabase-js client as a frontend has it: the anon key, and the user's access token when signed in. */
function client(token?: string): SupabaseClient {
  const s = stack();
  return createClient(s.apiUrl, s.anonKey, {
    auth: { persistSession: false, autoRefreshToken: false },
    global: token ? { headers: { Authorization: `Bearer ${token}` } } : undefined,
  });
}

async function rows(name: string) {
  return sql`select id, owner, owner_id, version, metadata from storage.objects where bucket_id = ${bucket} and name = ${name}`;
}

/** The version files kept for an object (storage dir / bucket / name / version). */
function files(name: string, b = bucket): string[] {
  const dir = join(stack().storageDir, b, name);
  return existsSync(dir) ? readdirSync(dir, { withFileTypes: true }).filter((d) => d.isFile()).map((d) => d.name) : [];
}

beforeAll(async () => {
  // As a domain's migration: the bucket and its policies, created by postgres (no superuser here, as on hosted).
  await sql`insert into storage.buckets (id, name, public, file_size_limit, allowed_mime_types)
    values (${bucket}, ${bucket}, false, ${LIMIT}, ${["image/png", "image/webp"]}), (${open}, ${open}, false, null, null)
    on conflict (id) do nothing`;
  await sql.unsafe(`create policy "${bucket} objects are readable by their account's members and admins"
    on storage.objects for select to authenticated
    using (bucket_id in ('${bucket}', '${open}')
      and ((storage.foldername(name))[1] in (select saasbase.my_accounts()::text) or saasbase.is_admin()))`);
  admin = createClient(stack().apiUrl, stack().serviceRoleKey, { auth: { persistSession: false } });
  alice = await createUser(sql, `alice-${crypto.randomUUID()}@storage.test`);
  bob = await createUser(sql, `bob-${crypto.randomUUID()}@storage.test`);
  siteAdmin = await createUser(sql, `admin-${crypto.randomUUID()}@storage.test`, { role: "admin" });
});
afterAll(async () => {
  await sql.unsafe(`drop policy if exists "${bucket} objects are readable by their account's members and admins" on storage.objects`);
  await sql.end();
});

describe("uploads and signed URLs", () => {
  it("stores a service-role upload and serves its exact bytes through a signed URL", async () => {
    const path = `${alice.id}/page.png`;
    const { data, error } = await admin.storage.from(bucket).upload(path, png, { contentType: "image/png" });
    expect(error).toBeNull();
    expect(data).toMatchObject({ path, fullPath: `${bucket}/${path}` });
    const [row] = await rows(path);
    expect(row).toMatchObject({ id: data!.id, owner: null, owner_id: null });
    expect(row.metadata).toMatchObject({ size: png.length, mimetype: "image/png", cacheControl: "max-age=3600" });
    expect(files(path)).toEqual([row.version]);

    const signed = await admin.storage.from(bucket).createSignedUrl(path, 60);
    expect(signed.error).toBeNull();
    const url = new URL(signed.data!.signedUrl);
    expect(url.origin + url.pathname).toBe(`${stack().storageUrl}/object/sign/${bucket}/${path}`);
    // Storage's token: an HS256 JWT of the project's secret, for this object, download only, living 60 s.
    const token = url.searchParams.get("token")!;
    const claims = await verifyJwt(token, stack().jwtSecret);
    expect(claims).toMatchObject({ url: `${bucket}/${path}`, scope: "download" });
    expect(claims!.exp! - claims!.iat!).toBe(60);

    const res = await fetch(url); // no apikey, no session: the token is the credential
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("image/png");
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(png);
  });

  it("refuses an expired token, another object's token and a token of another secret", async () => {
    const path = `${alice.id}/expiry.png`;
    await admin.storage.from(bucket).upload(path, png, { contentType: "image/png" });
    const at = (token: string, p = path) => fetch(`${stack().storageUrl}/object/sign/${bucket}/${p}?token=${token}`);
    const now = Math.floor(Date.now() / 1000);
    const expired = await signJwt({ url: `${bucket}/${path}`, scope: "download", iat: now - 120, exp: now - 60 }, stack().jwtSecret);
    const res = await at(expired);
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ statusCode: "400", error: "InvalidJWT", message: expect.stringContaining("exp") });

    // A token minted by Storage itself, expiring for real.
    const short = await admin.storage.from(bucket).createSignedUrl(path, 1);
    await new Promise((r) => setTimeout(r, 2100));
    const late = await fetch(short.data!.signedUrl);
    expect(late.status).toBe(400);
    expect((await late.json()).error).toBe("InvalidJWT");

    const other = await admin.storage.from(bucket).createSignedUrl(`${alice.id}/page.png`, 60);
    const otherToken = new URL(other.data!.signedUrl).searchParams.get("token")!;
    expect(await (await at(otherToken)).json()).toMatchObject({ statusCode: "400", error: "InvalidSignature" });

    const forged = await signJwt({ url: `${bucket}/${path}`, scope: "download", exp: now + 60 }, "another-secret-of-at-least-32-characters!!");
    expect(await (await at(forged)).json()).toMatchObject({ error: "InvalidJWT" });
    // An upload token is no download token.
    const upload = await signJwt({ url: `${bucket}/${path}`, scope: "upload", upsert: false, exp: now + 60 }, stack().jwtSecret);
    expect(await (await at(upload)).json()).toMatchObject({ error: "InvalidSignature" });
    expect((await at("")).status).toBe(400);
  });
});

describe("downloads", () => {
  it("serves byte ranges as Storage does (206 and Content-Range; 416 for one outside the file)", async () => {
    const path = `${alice.id}/ranged.png`;
    await admin.storage.from(bucket).upload(path, png, { contentType: "image/png" });
    const signed = await admin.storage.from(bucket).createSignedUrl(path, 60);
    const get = (range: string) => fetch(signed.data!.signedUrl, { headers: { range } });
    const first = await get("bytes=0-7");
    expect(first.status).toBe(206);
    expect(first.headers.get("content-range")).toBe(`bytes 0-7/${png.length}`);
    expect(new Uint8Array(await first.arrayBuffer())).toEqual(png.slice(0, 8));
    const rest = await get("bytes=8-");
    expect(new Uint8Array(await rest.arrayBuffer())).toEqual(png.slice(8));
    const tail = await get("bytes=-4");
    expect(new Uint8Array(await tail.arrayBuffer())).toEqual(png.slice(-4));
    const beyond = await get(`bytes=0-${png.length + 100}`);
    expect([beyond.status, (await beyond.arrayBuffer()).byteLength]).toEqual([206, png.length]);
    for (const bad of [`bytes=${png.length}-`, "bytes=5-2", "bytes=-0", "lines=0-1", "bytes=0-1,3-4"]) {
      const res = await get(bad);
      expect([bad, res.status]).toEqual([bad, 416]);
      expect(await res.json()).toMatchObject({ statusCode: "416", error: "invalid_range" });
    }
    // HEAD answers the headers alone (storage-js exists()).
    expect((await admin.storage.from(bucket).exists(path)).data).toBe(true);
    expect((await admin.storage.from(bucket).exists(`${alice.id}/nothing.png`)).data).toBe(false);
  });
});

describe("the policies decide (a user's own session)", () => {
  it("lets a user download and sign their own object, never another user's", async () => {
    await admin.storage.from(bucket).upload(`${alice.id}/mine.png`, png, { contentType: "image/png" });
    await admin.storage.from(bucket).upload(`${bob.id}/his.png`, png2, { contentType: "image/png" });
    const asAlice = client(alice.token).storage.from(bucket);

    const own = await asAlice.download(`${alice.id}/mine.png`);
    expect(own.error).toBeNull();
    expect(new Uint8Array(await own.data!.arrayBuffer())).toEqual(png);
    const ownUrl = await asAlice.createSignedUrl(`${alice.id}/mine.png`, 60);
    expect(new Uint8Array(await (await fetch(ownUrl.data!.signedUrl)).arrayBuffer())).toEqual(png);

    const his = await asAlice.download(`${bob.id}/his.png`);
    expect(his.data).toBeNull();
    expect(his.error).toMatchObject({ status: 400, statusCode: "404", message: "Object not found" });
    expect((await asAlice.createSignedUrl(`${bob.id}/his.png`, 60)).error).toMatchObject({ statusCode: "404" });
    const many = await asAlice.createSignedUrls([`${alice.id}/mine.png`, `${bob.id}/his.png`], 60);
    expect(many.data!.map((d) => [d.path, d.signedUrl !== null])).toEqual([[`${alice.id}/mine.png`, true], [`${bob.id}/his.png`, false]]);

    // Listing shows only what the policy lets through.
    const listed = await asAlice.list(alice.id);
    expect(listed.data!.map((o) => o.name)).toContain("mine.png");
    expect((await asAlice.list(bob.id)).data).toEqual([]);

    // Bob reads his, an admin reads both, anon (the bare anon key) nothing.
    expect((await client(bob.token).storage.from(bucket).download(`${bob.id}/his.png`)).error).toBeNull();
    const asAdmin = client(siteAdmin.token).storage.from(bucket);
    expect((await asAdmin.download(`${alice.id}/mine.png`)).error).toBeNull();
    expect((await asAdmin.download(`${bob.id}/his.png`)).error).toBeNull();
    expect((await client().storage.from(bucket).download(`${alice.id}/mine.png`)).error).toMatchObject({ statusCode: "404" });
    // Without any token the private bucket is not there at all.
    const bare = await fetch(`${stack().storageUrl}/object/${bucket}/${alice.id}/mine.png`);
    expect(await bare.json()).toMatchObject({ statusCode: "404", error: "Bucket not found" });
  });

  it("refuses a user's upload, removal and upsert (no policy lets them write), storing nothing", async () => {
    const asAlice = client(alice.token).storage.from(bucket);
    const put = await asAlice.upload(`${alice.id}/forged.png`, png, { contentType: "image/png" });
    expect(put.error).toMatchObject({ status: 400, statusCode: "403", message: "new row violates row-level security policy" });
    expect(await rows(`${alice.id}/forged.png`)).toHaveLength(0);
    expect(files(`${alice.id}/forged.png`)).toEqual([]);

    await admin.storage.from(bucket).upload(`${alice.id}/kept.png`, png, { contentType: "image/png" });
    const removed = await asAlice.remove([`${alice.id}/kept.png`]);
    expect(removed).toMatchObject({ data: [], error: null }); // RLS filtered the delete: nothing removed
    expect(await rows(`${alice.id}/kept.png`)).toHaveLength(1);
    const upsert = await asAlice.upload(`${alice.id}/kept.png`, png2, { contentType: "image/png", upsert: true });
    expect(upsert.error).toMatchObject({ statusCode: "403" });
    expect(new Uint8Array(await (await admin.storage.from(bucket).download(`${alice.id}/kept.png`)).data!.arrayBuffer())).toEqual(png);

    const badJwt = await fetch(`${stack().storageUrl}/object/${bucket}/${alice.id}/x.png`, {
      method: "POST", headers: { authorization: "Bearer not.a.jwt", "content-type": "image/png" }, body: png,
    });
    expect(badJwt.status).toBe(400);
    expect(await badJwt.json()).toMatchObject({ statusCode: "403", error: "Unauthorized" });
  });
});

describe("remove, upsert and the bucket's limits", () => {
  it("removes the row and the file", async () => {
    const path = `${alice.id}/gone.png`;
    await admin.storage.from(bucket).upload(path, png, { contentType: "image/png" });
    const [{ version }] = await rows(path);
    expect(files(path)).toEqual([version]);
    const { data, error } = await admin.storage.from(bucket).remove([path, `${alice.id}/never.png`]);
    expect(error).toBeNull();
    expect(data!.map((o) => o.name)).toEqual([path]);
    expect(await rows(path)).toHaveLength(0);
    expect(files(path)).toEqual([]);
    expect(existsSync(join(stack().storageDir, bucket, path))).toBe(false);
    expect((await admin.storage.from(bucket).download(path)).error).toMatchObject({ statusCode: "404" });
    // Storage's guard holds for SQL too: rows go only through the API.
    await expect(sql`delete from storage.objects where bucket_id = ${bucket}`).rejects.toMatchObject({ code: "42501" });
  });

  it("refuses an existing path without upsert, replaces it with upsert (same row, new bytes, old file gone)", async () => {
    const path = `${alice.id}/again.png`;
    const first = await admin.storage.from(bucket).upload(path, png, { contentType: "image/png" });
    const [before] = await rows(path);
    const dup = await admin.storage.from(bucket).upload(path, png2, { contentType: "image/png" });
    expect(dup.error).toMatchObject({ status: 400, statusCode: "409", message: "The resource already exists" });
    expect(await rows(path)).toEqual([before]);

    const up = await admin.storage.from(bucket).upload(path, png2, { contentType: "image/png", upsert: true });
    expect(up.error).toBeNull();
    const [after] = await rows(path);
    expect(after.id).toBe(first.data!.id);
    expect(after.version).not.toBe(before.version);
    expect(files(path)).toEqual([after.version]);
    expect(new Uint8Array(await (await admin.storage.from(bucket).download(path)).data!.arrayBuffer())).toEqual(png2);
    // update() is an upsert too.
    expect((await admin.storage.from(bucket).update(path, png, { contentType: "image/png" })).error).toBeNull();
    expect(new Uint8Array(await (await admin.storage.from(bucket).download(path)).data!.arrayBuffer())).toEqual(png);
  });

  it("keeps one row and one file when uploads of one path race: one create wins, the last upsert stays", async () => {
    const bodies = Array.from({ length: 8 }, (_, i) => new Uint8Array([...png, i]));
    const creates = await Promise.all(bodies.map((b) =>
      admin.storage.from(bucket).upload(`${alice.id}/race.png`, b, { contentType: "image/png" })));
    expect(creates.filter((r) => r.error === null)).toHaveLength(1);
    expect(creates.filter((r) => r.error?.statusCode === "409")).toHaveLength(7);
    let [row] = await rows(`${alice.id}/race.png`);
    expect(files(`${alice.id}/race.png`)).toEqual([row.version]);

    const upserts = await Promise.all(bodies.map((b) =>
      admin.storage.from(bucket).upload(`${alice.id}/race.png`, b, { contentType: "image/png", upsert: true })));
    expect(upserts.map((r) => r.error)).toEqual(bodies.map(() => null));
    const all = await rows(`${alice.id}/race.png`);
    expect(all).toHaveLength(1);
    [row] = all;
    expect(files(`${alice.id}/race.png`)).toEqual([row.version]);
    const served = new Uint8Array(await (await admin.storage.from(bucket).download(`${alice.id}/race.png`)).data!.arrayBuffer());
    expect(bodies.some((b) => b.length === served.length && b.every((x, i) => x === served[i]))).toBe(true);
  });

  it("holds the bucket's size and type limits, for raw and multipart bodies, storing nothing", async () => {
    const big = new Uint8Array(LIMIT + 1);
    const tooBig = await admin.storage.from(bucket).upload(`${alice.id}/big.png`, big, { contentType: "image/png" });
    expect(tooBig.error).toMatchObject({ status: 400, statusCode: "413" });
    const tooBigBlob = await admin.storage.from(bucket).upload(`${alice.id}/big2.png`, new Blob([big], { type: "image/png" }));
    expect(tooBigBlob.error).toMatchObject({ statusCode: "413" });
    const exact = await admin.storage.from(bucket).upload(`${alice.id}/exact.png`, new Uint8Array(LIMIT), { contentType: "image/png" });
    expect(exact.error).toBeNull();

    const text = await admin.storage.from(bucket).upload(`${alice.id}/note.txt`, png, { contentType: "text/plain" });
    expect(text.error).toMatchObject({ statusCode: "415", message: "mime type text/plain is not supported" });
    const textBlob = await admin.storage.from(bucket).upload(`${alice.id}/note2.txt`, new Blob([png], { type: "text/plain" }));
    expect(textBlob.error).toMatchObject({ statusCode: "415" });
    // A Blob goes as multipart/form-data, its type the object's.
    const blob = await admin.storage.from(bucket).upload(`${alice.id}/blob.webp`, new Blob([png], { type: "image/webp" }));
    expect(blob.error).toBeNull();
    expect((await rows(`${alice.id}/blob.webp`))[0].metadata).toMatchObject({ mimetype: "image/webp", size: png.length });

    for (const p of ["big.png", "big2.png", "note.txt", "note2.txt"]) {
      expect(await rows(`${alice.id}/${p}`)).toHaveLength(0);
      expect(files(`${alice.id}/${p}`)).toEqual([]);
    }
    // A bucket without limits of its own takes any type.
    expect((await admin.storage.from(open).upload(`${alice.id}/notes.txt`, "hello", { contentType: "text/plain" })).error).toBeNull();
  });
});

describe("signed upload URLs and bad input", () => {
  it("lets whoever holds a signed upload URL upload that one path, once", async () => {
    const path = `${bob.id}/release.png`;
    const signed = await admin.storage.from(bucket).createSignedUploadUrl(path);
    expect(signed.error).toBeNull();
    expect(decodeJwt(signed.data!.token)).toMatchObject({ url: `${bucket}/${path}`, scope: "upload", upsert: false });
    const up = await client().storage.from(bucket).uploadToSignedUrl(path, signed.data!.token, png, { contentType: "image/png" });
    expect(up.error).toBeNull();
    expect(new Uint8Array(await (await admin.storage.from(bucket).download(path)).data!.arrayBuffer())).toEqual(png);
    const again = await client().storage.from(bucket).uploadToSignedUrl(path, signed.data!.token, png2, { contentType: "image/png" });
    expect(again.error).toMatchObject({ statusCode: "409" });
    const elsewhere = await client().storage.from(bucket).uploadToSignedUrl(`${bob.id}/other.png`, signed.data!.token, png, { contentType: "image/png" });
    expect(elsewhere.error).toMatchObject({ statusCode: "400", message: "Invalid signature" });
    expect(await rows(`${bob.id}/other.png`)).toHaveLength(0);
    // A user the policies let write nothing gets no upload URL either.
    expect((await client(alice.token).storage.from(bucket).createSignedUploadUrl(`${alice.id}/u.png`)).error).toMatchObject({ statusCode: "403" });
  });

  it("answers bad paths, names and bodies with 4xx JSON, storing nothing", async () => {
    const before = await sql`select count(*)::int as n from storage.objects where bucket_id = ${bucket}`;
    // node:http, not fetch: a URL parser resolves `..` and `%2E%2E` segments before they leave the client, and a
    // client that does not must meet a refusal.
    const raw = (method: string, path: string) => new Promise<{ status: number; json: () => unknown }>((resolve, reject) => {
      const { hostname, port } = new URL(stack().apiUrl);
      const req = request({ host: hostname, port, method, path: `/storage/v1/object/${path}`,
        headers: { authorization: `Bearer ${stack().serviceRoleKey}`, "content-type": "image/png" } }, (res) => {
        let text = "";
        res.on("data", (d) => (text += d));
        res.on("end", () => resolve({ status: res.statusCode!, json: () => JSON.parse(text) }));
      });
      req.on("error", reject);
      req.end(method === "POST" ? Buffer.from(png) : undefined);
    });
    const post = (path: string) => raw("POST", path);
    for (const path of [`${bucket}/a/%2E%2E/b.png`, `${bucket}/..%2F..%2Fetc%2Fpasswd`, `${bucket}/a%00b.png`,
      `${bucket}/caf%C3%A9.png`, `${bucket}/a/./b.png`, `${bucket}/a/../b.png`, `${bucket}/`, `${bucket}/%ZZ.png`]) {
      const res = await post(path);
      expect([path, res.status]).toEqual([path, 400]);
      expect(res.json()).toMatchObject({ statusCode: "400", error: "InvalidKey" });
    }
    const noBucket = await post(`no-such-${bucket}/a.png`);
    expect(noBucket.json()).toMatchObject({ statusCode: "404", error: "Bucket not found" });
    const badBucket = await post(`bad%2Fbucket/a.png`);
    expect(badBucket.json()).toMatchObject({ statusCode: "400", error: "Invalid Input" });
    const get = await raw("GET", `authenticated/${bucket}/a/%2E%2E/%2E%2E/x`);
    expect(get.json()).toMatchObject({ statusCode: "400", error: "InvalidKey" });
    expect((await raw("DELETE", `${bucket}/a/../../x`)).json()).toMatchObject({ statusCode: "400", error: "InvalidKey" });
    const sign = await fetch(`${stack().storageUrl}/object/sign/${bucket}/${alice.id}/page.png`, {
      method: "POST", headers: { authorization: `Bearer ${stack().serviceRoleKey}`, "content-type": "application/json" },
      body: JSON.stringify({ expiresIn: -5 }),
    });
    expect(sign.status).toBe(400);
    const notJson = await fetch(`${stack().storageUrl}/object/${bucket}`, {
      method: "DELETE", headers: { authorization: `Bearer ${stack().serviceRoleKey}`, "content-type": "application/json" },
      body: "{nope",
    });
    expect(notJson.status).toBe(400);
    expect((await fetch(`${stack().storageUrl}/object/copy`, { method: "POST" })).status).toBe(404);
    expect(await sql`select count(*)::int as n from storage.objects where bucket_id = ${bucket}`).toEqual(before);
  });
});

describe("_shared/storage.ts (the functions' helpers, under Deno)", () => {
  it("uploads, signs, downloads and removes through supabase-js, mapping Storage's errors to ours", () => {
    const s = stack();
    const run = spawnSync(DENO_BIN, ["run", "--allow-all", "--config", join(FUNCTIONS_DIR, "deno.json"),
      join(FUNCTIONS_DIR, "tests/fixtures/storage_helpers.ts"), bucket, alice.id], {
      encoding: "utf8",
      env: { ...denoProcessEnv(), SUPABASE_URL: s.apiUrl, SUPABASE_SERVICE_ROLE_KEY: s.serviceRoleKey, PNG_BASE64, NO_COLOR: "1",
        PUBLIC_ORIGIN: s.apiUrl.replace("127.0.0.1", "localhost") },
      timeout: 120_000,
    });
    expect(run.status, run.stderr).toBe(0);
    const out = JSON.parse(run.stdout.trim().split("\n").at(-1)!);
    expect(out).toMatchObject({
      path: `${alice.id}/helper.png`,
      sameViaUrl: true,
      many: { [`${alice.id}/helper.png`]: true, [`${alice.id}/missing.png`]: false },
      sameDownloaded: true,
      contentType: "image/png",
      duplicate: "409 conflict",
      upserted: "ok",
      wrongType: "415 unsupported_media_type",
      removed: [`${alice.id}/helper.png`],
      missing: "404 object_not_found",
      missingUrl: "404 object_not_found",
      noBucket: "503 storage_unavailable",
    });
    expect(out.url.startsWith(`${s.storageUrl}/object/sign/${bucket}/`)).toBe(true);
    // SAASBASE_STORAGE_PUBLIC_URL swaps the origin only, and the URL works from there.
    const local = new URL(out.url);
    const pub = new URL(out.publicUrl);
    expect([pub.hostname, pub.port, pub.pathname]).toEqual(["localhost", local.port, local.pathname]);
    expect(out.viaPublicUrl).toBe(200);
  });
});

describe("the platform's storage part", () => {
  let cluster: LocalCluster;
  afterAll(async () => {
    await cluster?.destroy();
  });

  it("is added to a cluster bootstrapped before it existed, with hosted's privileges", async () => {
    cluster = new LocalCluster({ dataDir: `${tempDir("saasbase-storage-boot-")}/db`, port: await freePort(), durable: false });
    await cluster.start();
    // An earlier version's state: the platform without storage, postgres already demoted.
    const old = connect(cluster.url);
    await old.unsafe(readFileSync(join(ROOT, "src/local/platform.sql"), "utf8"));
    await old.end();
    const su = connect(cluster.adminUrl);
    await su`alter role postgres nosuperuser`;
    await su.end();

    await prepareHostedCluster(cluster);
    const db = connect(cluster.url);
    try {
      const [state] = await db`select
        (select tableowner::text from pg_tables where schemaname = 'storage' and tablename = 'objects') as owner,
        (select relrowsecurity from pg_class where oid = 'storage.objects'::regclass) as rls,
        pg_has_role('postgres', 'supabase_storage_admin', 'member') as member,
        has_table_privilege('postgres', 'storage.buckets', 'insert') as inserts,
        has_schema_privilege('postgres', 'storage', 'create') as creates`;
      expect({ ...state }).toEqual({ owner: "supabase_storage_admin", rls: true, member: false, inserts: true, creates: false });
      // Idempotent: the next start changes nothing and fails on nothing.
      await prepareHostedCluster(cluster);
    } finally {
      await db.end();
    }
  });
});
