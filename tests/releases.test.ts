// The releases function through the local stack (its Storage API included): an admin publishes releases with
// their files (sha256 and size computed from the bytes), the update check's semantics (channels, platforms,
// current, yank and rollback), downloads (a signed URL whose bytes match the sha256; recorded for the right
// account, with the country), their gating, bad input answered 4xx with nothing changed, concurrent publishes of
// one version, and the analytics. The SQL rules are pgTAP's (supabase/tests/200-releases.sql).
import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigError, parseConfig } from "../supabase/functions/_shared/config-schema.ts";
import { ERROR_CODES } from "../supabase/functions/_shared/error-codes.ts";
import devforge from "../presets/devforge.ts";
import { asUser, callFunction, connectDb, createUser, stack } from "./support/stack.ts";

const sql = connectDb();
afterAll(() => sql.end());
const mail = () => `rel-${crypto.randomUUID()}@test.local`;
const tag = crypto.randomUUID().slice(0, 8);
const FREE = `free-${tag}`;
const LICENSED = `app-${tag}`;
const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");
const fileOf = (text: string) => new TextEncoder().encode(text.repeat(1000));

let admin: { id: string; token: string };
let customer: { id: string; token: string };

beforeAll(async () => {
  // Products as the config sync writes them (the shipped config has none).
  await sql`insert into public.release_products (id, name, license_required)
    values (${FREE}, 'Free tool', false), (${LICENSED}, 'Licensed app', true)`;
  admin = await createUser(sql, mail(), { role: "admin" });
  customer = await createUser(sql, mail());
});

type Init = { token?: string; headers?: Record<string, string>; body?: BodyInit; method?: string };
async function call(path: string, init: Init = {}) {
  const res = await callFunction(`releases/${path}`, {
    method: init.method ?? "GET",
    token: init.token ?? stack().anonKey,
    headers: init.headers,
    body: init.body,
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}
const post = (path: string, body: unknown, token = admin.token) =>
  call(path, { method: "POST", token, headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
const upload = (id: string, platform: string, bytes: Uint8Array<ArrayBuffer>, opts: { token?: string; sha?: string; filename?: string } = {}) =>
  call(`admin/releases/${id}/artifacts/${platform}${opts.filename ? `?filename=${opts.filename}` : ""}`, {
    method: "PUT",
    token: opts.token ?? admin.token,
    headers: { "content-type": "application/octet-stream", ...(opts.sha ? { "x-content-sha256": opts.sha } : {}) },
    body: bytes,
  });

/** Publishes `version` of `product` with a file per platform; answers the release and its files' bytes. */
async function publish(product: string, version: string, channel: "stable" | "beta", platforms = ["linux-x64"]) {
  const created = await post("admin/releases", { product, version, channel, notes: `Notes of ${version}` });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  const files: Record<string, Uint8Array<ArrayBuffer>> = {};
  for (const p of platforms) {
    files[p] = fileOf(`${product} ${version} ${p}\n`);
    const up = await upload(created.body.id, p, files[p]);
    expect(up.status, JSON.stringify(up.body)).toBe(201);
  }
  const published = await post(`admin/releases/${created.body.id}/publish`, {});
  expect(published.status).toBe(200);
  return { release: published.body, files };
}

const latest = (params: Record<string, string>) => call(`latest?${new URLSearchParams({ product: FREE, ...params })}`);

describe("releases: publishing", () => {
  it("an admin publishes a draft with a file; sha256 and size are computed from the bytes stored", async () => {
    const created = await post("admin/releases", { product: FREE, version: "0.1.0", channel: "stable", notes: "First" });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ product_id: FREE, version: "0.1.0", channel: "stable", published_at: null, created_by: admin.id });
    // A draft is offered to nobody.
    expect((await latest({ platform: "linux-x64" })).status).toBe(204);

    const bytes = fileOf("the first build\n");
    const up = await upload(created.body.id, "linux-x64", bytes, { sha: sha256(bytes), filename: "tool-0.1.0.tar.gz" });
    expect(up.status).toBe(201);
    expect(up.body).toMatchObject({ platform: "linux-x64", filename: "tool-0.1.0.tar.gz", sha256: sha256(bytes), size: bytes.byteLength,
      storage_path: `${FREE}/0.1.0/linux-x64/tool-0.1.0.tar.gz` });
    // Stored in the private bucket, as the row says.
    const [object] = await sql`select name from storage.objects where bucket_id = 'releases' and name = ${up.body.storage_path}`;
    expect(object).toBeDefined();

    const published = await post(`admin/releases/${created.body.id}/publish`, {});
    expect(published.status).toBe(200);
    expect(published.body.published_at).not.toBeNull();
    const offer = await latest({ platform: "linux-x64" });
    expect(offer).toMatchObject({ status: 200, body: { release: { version: "0.1.0", notes: "First", rollback: false,
      artifact: { sha256: sha256(bytes), size: bytes.byteLength, filename: "tool-0.1.0.tar.gz" } } } });
    const audit = await sql`select action from public.audit_log where target_id = ${created.body.id} order by id`;
    expect(audit.map((a) => a.action)).toEqual(["releases.create", "releases.add_artifact", "releases.publish"]);
  });

  it("a file whose sha256 is not the one declared is refused, and nothing is stored", async () => {
    const created = await post("admin/releases", { product: FREE, version: "0.1.1", channel: "stable" });
    const bytes = fileOf("corrupted\n");
    const up = await upload(created.body.id, "linux-x64", bytes, { sha: "0".repeat(64) });
    expect(up.status).toBe(422);
    expect(up.body.error.message).toContain(sha256(bytes));
    expect(await sql`select 1 from public.release_artifacts where release_id = ${created.body.id}`).toHaveLength(0);
    expect(await sql`select 1 from storage.objects where bucket_id = 'releases' and name like ${`${FREE}/0.1.1/%`}`).toHaveLength(0);
    // Nor is a release without a file published.
    expect(await post(`admin/releases/${created.body.id}/publish`, {})).toMatchObject({ status: 409, body: { error: { code: "release_has_no_artifacts" } } });
  });

  it("a published release's files do not change", async () => {
    const { release } = await publish(FREE, "0.1.2", "stable");
    const again = await upload(release.id, "linux-x64", fileOf("replacement\n"));
    expect(again).toMatchObject({ status: 409, body: { error: { code: "release_published" } } });
    const other = await upload(release.id, "windows-x64", fileOf("late\n"));
    expect(other).toMatchObject({ status: 409, body: { error: { code: "release_published" } } });
    expect(await sql`select platform from public.release_artifacts where release_id = ${release.id}`).toEqual([{ platform: "linux-x64" }]);
  });

  it("only admins publish: a customer, the anon key and an API-less stranger change nothing", async () => {
    const before = await sql`select count(*)::int as n from public.releases where product_id = ${FREE}`;
    for (const token of [customer.token, stack().anonKey]) {
      const res = await post("admin/releases", { product: FREE, version: "9.0.0", channel: "stable" }, token);
      expect(res.status).toBe(403);
      expect(res.body.error.code).toBe("admin_only");
    }
    const [draft] = await sql`select id from public.releases where product_id = ${FREE} and version = '0.1.1'`;
    expect((await upload(draft.id, "linux-x64", fileOf("x"), { token: customer.token })).status).toBe(403);
    expect((await call(`admin/downloads?product=${FREE}&from=2026-01-01&to=2026-01-02`, { token: customer.token })).status).toBe(403);
    expect(await sql`select count(*)::int as n from public.releases where product_id = ${FREE}`).toEqual(before);
  });

  it("concurrent publishes of one version: exactly one release, the others 409 release_exists", async () => {
    const answers = await Promise.all(Array.from({ length: 12 }, () =>
      post("admin/releases", { product: FREE, version: "0.5.0", channel: "stable" })));
    expect(answers.filter((a) => a.status === 201)).toHaveLength(1);
    expect(answers.filter((a) => a.status === 409 && a.body.error.code === "release_exists")).toHaveLength(11);
    const rows = await sql`select id from public.releases where product_id = ${FREE} and version_key = saasbase.semver_key('0.5.0')`;
    expect(rows).toHaveLength(1);
    // And concurrent uploads of its file for one platform: one file, one object.
    const id = answers.find((a) => a.status === 201)!.body.id;
    const ups = await Promise.all(Array.from({ length: 6 }, (_, i) => upload(id, "linux-x64", fileOf(`racer ${i}\n`))));
    expect(ups.filter((u) => u.status === 201)).toHaveLength(1);
    for (const u of ups.filter((u) => u.status !== 201)) expect([409]).toContain(u.status);
    const files = await sql`select storage_path, sha256 from public.release_artifacts where release_id = ${id}`;
    expect(files).toHaveLength(1);
    const objects = await sql`select name from storage.objects where bucket_id = 'releases' and name like ${`${FREE}/0.5.0/%`}`;
    expect(objects.map((o) => o.name)).toEqual([files[0].storage_path]);
    // What is stored is the winner's bytes: the download's sha256 is the row's.
    await post(`admin/releases/${id}/publish`, {});
    const d = await call(`download?product=${FREE}&version=0.5.0&platform=linux-x64`);
    const bytes = new Uint8Array(await (await fetch(d.body.url)).arrayBuffer());
    expect(sha256(bytes)).toBe(files[0].sha256);
  });
});

describe("releases: the update check", () => {
  const product = `upd-${tag}`;
  const check = (params: Record<string, string>) => call(`latest?${new URLSearchParams({ product, ...params })}`);
  let v110: string;

  beforeAll(async () => {
    await sql`insert into public.release_products (id, name, license_required) values (${product}, 'Updater', false)`;
    await publish(product, "1.0.0", "stable", ["linux-x64", "windows-x64"]);
    v110 = (await publish(product, "1.1.0", "stable")).release.id;
    await publish(product, "1.2.0-beta.2", "beta");
    await publish(product, "1.2.0-beta.10", "beta");
  });

  it("offers the newest release of the channel with a file for the platform, 204 when current", async () => {
    expect((await check({ platform: "linux-x64" })).body.release.version).toBe("1.1.0");
    expect((await check({ platform: "linux-x64", channel: "beta" })).body.release.version).toBe("1.2.0-beta.10");
    expect((await check({ platform: "windows-x64" })).body.release.version).toBe("1.0.0");
    expect((await check({ platform: "linux-x64", current_version: "1.0.0" })).body.release.version).toBe("1.1.0");
    expect((await check({ platform: "linux-x64", current_version: "1.1.0" })).status).toBe(204);
    expect((await check({ platform: "linux-x64", channel: "beta", current_version: "1.2.0-beta.2" })).body.release.version)
      .toBe("1.2.0-beta.10");
    expect((await check({ platform: "linux-x64", channel: "beta", current_version: "1.2.0-beta.10" })).status).toBe(204);
    expect((await check({ platform: "macos-arm64" })).status).toBe(204);
  });

  it("a yank rolls back: the release before is offered again, to the yanked release's users too", async () => {
    const yank = await post(`admin/releases/${v110}/yank`, { reason: "crashes on start" });
    expect(yank).toMatchObject({ status: 200, body: { yank_reason: "crashes on start", yanked_by: admin.id } });
    expect((await check({ platform: "linux-x64" })).body.release).toMatchObject({ version: "1.0.0", rollback: false });
    expect((await check({ platform: "linux-x64", current_version: "1.1.0" })).body.release)
      .toMatchObject({ version: "1.0.0", rollback: true });
    expect((await check({ platform: "linux-x64", current_version: "1.0.0" })).status).toBe(204);
    // A yanked release is downloaded no more.
    const gone = await call(`download?product=${product}&version=1.1.0&platform=linux-x64`);
    expect(gone).toMatchObject({ status: 410, body: { error: { code: "release_yanked" } } });
    // Restored: offered again.
    expect((await post(`admin/releases/${v110}/restore`, {})).body.yanked_at).toBeNull();
    expect((await check({ platform: "linux-x64" })).body.release.version).toBe("1.1.0");
  });
});

describe("releases: downloads", () => {
  it("a free product's file through a short-lived signed URL: its bytes match the sha256, the download recorded", async () => {
    const product = `dl-${tag}`;
    await sql`insert into public.release_products (id, name, license_required) values (${product}, 'Downloads', false)`;
    const { files } = await publish(product, "2.0.0", "stable", ["linux-x64", "windows-x64"]);
    // A desktop app with only the anon key, from Germany.
    const res = await call(`download?product=${product}&platform=windows-x64`, { headers: { "cf-ipcountry": "DE" } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ version: "2.0.0", platform: "windows-x64", sha256: sha256(files["windows-x64"]),
      size: files["windows-x64"].byteLength });
    expect(Date.parse(res.body.expires_at) - Date.now()).toBeLessThanOrEqual(300_000);
    const got = await fetch(res.body.url);
    expect(got.status).toBe(200);
    const bytes = new Uint8Array(await got.arrayBuffer());
    expect(sha256(bytes)).toBe(res.body.sha256);
    expect(bytes).toEqual(files["windows-x64"]);
    const [row] = await sql`select account_id, user_id, license_id, country, version, platform from public.downloads where id = ${res.body.download_id}`;
    expect(row).toEqual({ account_id: null, user_id: null, license_id: null, country: "DE", version: "2.0.0", platform: "windows-x64" });
    // The object itself is private: no public URL, no read with a customer's own session.
    const path = `${product}/2.0.0/windows-x64/${product}-2.0.0-windows-x64`;
    const open = await fetch(`${stack().apiUrl}/storage/v1/object/public/releases/${path}`);
    expect(open.status).toBeGreaterThanOrEqual(400);
    const asCustomer = await fetch(`${stack().apiUrl}/storage/v1/object/authenticated/releases/${path}`, {
      headers: { authorization: `Bearer ${customer.token}`, apikey: stack().anonKey },
    });
    expect(asCustomer.status).toBeGreaterThanOrEqual(400);

    // A signed-in customer's download is their account's, and they see it; a stranger does not.
    const mine = await call(`download?product=${product}&version=2.0.0&platform=linux-x64`, { token: customer.token });
    expect(mine.status).toBe(200);
    const seen = await asUser(sql, customer.id, (tx) => tx`select id::int, account_id, user_id from public.downloads where product_id = ${product}`);
    expect(seen).toEqual([{ id: mine.body.download_id, account_id: customer.id, user_id: customer.id }]);
    const stranger = await createUser(sql, mail());
    expect(await asUser(sql, stranger.id, (tx) => tx`select id from public.downloads where product_id = ${product}`)).toHaveLength(0);
  });

  it("a team member's download counts for the team named in X-Account-Id; a non-member's is refused", async () => {
    const product = `team-${tag}`;
    await sql`insert into public.release_products (id, name, license_required) values (${product}, 'Team tool', false)`;
    await publish(product, "1.0.0", "stable");
    const [{ id: team }] = await asUser(sql, customer.id, (tx) => tx`select id from public.create_team('Rel team', ${`rel-${tag}`})`);
    const res = await call(`download?product=${product}&platform=linux-x64`, { token: customer.token, headers: { "x-account-id": team } });
    expect(res.status).toBe(200);
    expect((await sql`select account_id from public.downloads where id = ${res.body.download_id}`)[0].account_id).toBe(team);
    const outsider = await createUser(sql, mail());
    const refused = await call(`download?product=${product}&platform=linux-x64`, { token: outsider.token, headers: { "x-account-id": team } });
    expect(refused).toMatchObject({ status: 404, body: { error: { code: "account_not_found" } } });
    expect(await sql`select 1 from public.downloads where product_id = ${product}`).toHaveLength(1);
  });

  it("gates: a licensed product needs a license, a draft and a missing platform are not found; nothing recorded", async () => {
    const before = (await sql`select count(*)::int as n from public.downloads`)[0].n;
    const created = await post("admin/releases", { product: LICENSED, version: "1.0.0", channel: "stable" });
    await upload(created.body.id, "linux-x64", fileOf("licensed\n"));
    await post(`admin/releases/${created.body.id}/publish`, {});
    const draft = await call(`download?product=${FREE}&version=0.1.1&platform=linux-x64`);
    expect(draft).toMatchObject({ status: 404, body: { error: { code: "release_not_found" } } });
    const unlicensed = await call(`download?product=${LICENSED}&version=1.0.0&platform=linux-x64`, { token: customer.token });
    expect(unlicensed).toMatchObject({ status: 403, body: { error: { code: "license_required" } } });
    const platform = await call(`download?product=${FREE}&version=0.1.0&platform=macos-arm64`);
    expect(platform).toMatchObject({ status: 404, body: { error: { code: "artifact_not_found" } } });
    expect(await sql`select 1 from public.downloads where product_id = ${LICENSED}`).toHaveLength(0);
    expect((await sql`select count(*)::int as n from public.downloads`)[0].n).toBe(before);
  });

  it("a licensed product's file with a valid license: counted for the license's account; what it does not cover is refused", async () => {
    // The licensed product's policy (the licenses domain's): the `editor` entitlement, majors up to 1.
    await sql`insert into public.license_products (id, name, duration_days, floating, max_machines, grace_days, entitlements, max_major_version)
      values (${LICENSED}, 'Licensed app', 365, true, 3, 14, '{editor}', 1)`;
    const buyer = await createUser(sql, mail());
    const [{ key, license_id }] = await sql.begin(async (tx) => {
      await tx`select set_config('request.jwt.claims', '{"role":"service_role"}', true), set_config('role', 'service_role', true)`;
      return tx`select key, license_id from public.admin_issue_license(${buyer.id}, ${LICENSED})`;
    });
    const pro = await post("admin/releases", { product: LICENSED, version: "1.1.0", channel: "stable", entitlements: ["pro"] });
    await upload(pro.body.id, "linux-x64", fileOf("pro build\n"));
    await post(`admin/releases/${pro.body.id}/publish`, {});
    await publish(LICENSED, "2.0.0", "stable");
    const withKey = (path: string, k = key as string) => call(path, { headers: { "x-license-key": k, "x-forwarded-for": "10.9.8.7" } });

    // The update check with the key: not 2.0.0 (a major the policy does not cover), not 1.1.0 (it asks for `pro`).
    expect((await call(`latest?product=${LICENSED}&platform=linux-x64`)).body.release.version).toBe("2.0.0");
    expect((await withKey(`latest?product=${LICENSED}&platform=linux-x64`)).body.release.version).toBe("1.0.0");
    const res = await withKey(`download?product=${LICENSED}&platform=linux-x64`);
    expect(res).toMatchObject({ status: 200, body: { version: "1.0.0" } });
    const [row] = await sql`select account_id, license_id, user_id from public.downloads where id = ${res.body.download_id}`;
    expect(row).toEqual({ account_id: buyer.id, license_id, user_id: null });
    expect(sha256(new Uint8Array(await (await fetch(res.body.url)).arrayBuffer()))).toBe(res.body.sha256);

    expect(await withKey(`download?product=${LICENSED}&platform=linux-x64&version=2.0.0`))
      .toMatchObject({ status: 403, body: { error: { code: "license_not_valid", message: expect.stringContaining("VERSION_NOT_ALLOWED") } } });
    expect(await withKey(`download?product=${LICENSED}&platform=linux-x64&version=1.1.0`))
      .toMatchObject({ status: 403, body: { error: { code: "release_not_allowed" } } });
    expect(await withKey(`download?product=${LICENSED}&platform=linux-x64`, "AAAAA-BBBBB-CCCCC-DDDDD"))
      .toMatchObject({ status: 403, body: { error: { code: "license_not_valid", message: expect.stringContaining("NOT_FOUND") } } });
    expect(await withKey(`latest?product=${LICENSED}&platform=linux-x64`, "not a key"))
      .toMatchObject({ status: 403, body: { error: { code: "license_not_valid" } } });
    expect(await sql`select 1 from public.downloads where license_id = ${license_id}`).toHaveLength(1);

    // Guessing keys from one address is throttled as at the licenses function (60 a minute an address): the counts
    // stand though every guess is refused. (Counted per fixed minute: within two minutes' worth of tries.)
    const ip = `10.${Math.floor(Math.random() * 200)}.${Math.floor(Math.random() * 200)}.9`;
    let throttled: Response | undefined;
    for (let i = 0; i < 130 && !throttled; i++) {
      const res = await callFunction(`releases/download?product=${LICENSED}&platform=linux-x64`, {
        headers: { authorization: `Bearer ${stack().anonKey}`, "x-license-key": `GUESS-${i}`, "x-forwarded-for": ip },
      });
      if (res.status === 429) throttled = res;
      else expect(res.status).toBe(403);
      await res.body?.cancel();
    }
    expect(throttled?.headers.get("retry-after")).toMatch(/^\d+$/);
  });

  it("an admin sees downloads per release and per day", async () => {
    const product = `stats-${tag}`;
    await sql`insert into public.release_products (id, name, license_required) values (${product}, 'Stats', false)`;
    await publish(product, "1.0.0", "stable");
    await publish(product, "1.1.0", "stable");
    for (const v of ["1.0.0", "1.1.0", "1.1.0"]) {
      expect((await call(`download?product=${product}&version=${v}&platform=linux-x64`)).status).toBe(200);
    }
    // One of 1.0.0's was yesterday.
    await sql`update public.downloads set created_at = created_at - interval '1 day' where product_id = ${product} and version = '1.0.0'`;
    const today = new Date().toISOString().slice(0, 10);
    const yesterday = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
    const res = await call(`admin/downloads?product=${product}&from=${yesterday}&to=${today}`, { token: admin.token });
    expect(res.status).toBe(200);
    expect(res.body.total).toBe(3);
    expect(res.body.per_release.map((r: { version: string; downloads: number }) => [r.version, r.downloads]))
      .toEqual([["1.1.0", 2], ["1.0.0", 1]]);
    expect(res.body.per_day).toEqual([{ day: yesterday, downloads: 1 }, { day: today, downloads: 2 }]);
  });
});

describe("releases: bad input is a 4xx with a known code, and changes nothing", () => {
  it("refuses malformed queries, bodies, ids and methods", async () => {
    const [draft] = await sql`select id from public.releases where product_id = ${FREE} and version = '0.1.1'`;
    const count = async () => (await sql`select (select count(*) from public.releases)::int as r,
      (select count(*) from public.release_artifacts)::int as a, (select count(*) from public.downloads)::int as d,
      (select count(*) from storage.objects where bucket_id = 'releases')::int as o`)[0];
    const before = await count();
    const json = (body: unknown) => ({ method: "POST", token: admin.token, headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
    const cases: [string, Init, number][] = [
      ["latest", {}, 422],
      ["latest?product=BAD!&platform=linux-x64", {}, 422],
      [`latest?product=${FREE}&platform=linux-x64&channel=nightly`, {}, 422],
      [`latest?product=${FREE}&platform=linux-x64&current_version=one.two`, {}, 422],
      [`latest?product=nope-${tag}&platform=linux-x64`, {}, 404],
      [`latest?product=${FREE}&platform=linux-x64`, { method: "POST" }, 405],
      [`download?product=${FREE}&platform=linux-x64&version=latest`, {}, 422],
      [`download?product=${FREE}`, {}, 422],
      ["admin/releases", json({ product: FREE, version: "1.2", channel: "stable" }), 422],
      ["admin/releases", json({ product: FREE, version: "1.3.0-rc.1", channel: "stable" }), 422],
      ["admin/releases", json({ product: FREE, version: "1.3.0", channel: "nightly" }), 422],
      ["admin/releases", json({ product: FREE, version: "1.3.0", channel: "stable", notes: "n".repeat(20_001) }), 422],
      ["admin/releases", json({ product: FREE, version: "1.3.0", channel: "stable", entitlements: ["A b"] }), 422],
      ["admin/releases", json({ product: `nope-${tag}`, version: "1.3.0", channel: "stable" }), 404],
      ["admin/releases", { ...json({}), body: "{not json" }, 400],
      ["admin/releases", json({ product: FREE, version: "1.3.0", channel: "stable", notes: "a\u0000b" }), 422],
      [`admin/releases/not-a-uuid/publish`, json({}), 422],
      [`admin/releases/${crypto.randomUUID()}/publish`, json({}), 404],
      [`admin/releases/${crypto.randomUUID()}/yank`, json({}), 404],
      [`admin/releases/${draft.id}/yank`, json({}), 409],
      [`admin/releases/${draft.id}/yank`, json({ reason: 7 }), 422],
      [`admin/releases/${draft.id}/artifacts/Linux x64`, { method: "PUT", token: admin.token, body: "x" }, 422],
      [`admin/releases/${draft.id}/artifacts/linux-x64?filename=../etc/passwd`, { method: "PUT", token: admin.token, body: "x" }, 422],
      [`admin/releases/${draft.id}/artifacts/linux-x64`, { method: "PUT", token: admin.token }, 400],
      [`admin/releases/${draft.id}/artifacts/linux-x64`, { method: "PUT", token: admin.token, body: "x", headers: { "x-content-sha256": "nope" } }, 422],
      [`admin/releases/${crypto.randomUUID()}/artifacts/linux-x64`, { method: "PUT", token: admin.token, body: "x" }, 404],
      [`admin/releases/${draft.id}/artifacts/linux-x64`, { method: "GET", token: admin.token }, 405],
      [`admin/downloads?product=${FREE}&from=2026-12-02&to=2026-12-01`, { token: admin.token }, 422],
      [`admin/downloads?product=${FREE}&from=yesterday&to=2026-12-01`, { token: admin.token }, 422],
      ["nowhere", {}, 404],
    ];
    for (const [path, init, status] of cases) {
      const res = await call(path, init);
      expect(res.status, `${init.method ?? "GET"} ${path}: ${JSON.stringify(res.body)}`).toBe(status);
      expect(Object.keys(ERROR_CODES), `${path}: ${JSON.stringify(res.body)}`).toContain(res.body?.error?.code);
    }
    expect(await count()).toEqual(before);
  });
});

describe("releases: the config", () => {
  it("a free product may be neither a licensed one nor listed twice", () => {
    expect(parseConfig(devforge).releases).toMatchObject({ freeProducts: [{ id: "forge-cli" }], downloadUrlSeconds: 300 });
    const free = (ids: string[]) => ({ ...devforge, releases: { freeProducts: ids.map((id) => ({ id, name: id })) } });
    expect(() => parseConfig(free(["forge-desktop"]))).toThrow(ConfigError);
    expect(() => parseConfig(free(["forge-desktop"]))).toThrow(/releases\.freeProducts\[0\]\.id.*licensed product/);
    expect(() => parseConfig(free(["cli", "cli"]))).toThrow(/duplicate free product "cli"/);
    expect(() => parseConfig({ ...devforge, releases: { downloadUrlSeconds: 5 } })).toThrow(/downloadUrlSeconds/);
  });
});
