// Dev Forge (seed 002, presets/devforge.ts) end to end, as its customers, its desktop app and its operators drive
// it: an admin publishes the editor's releases (files uploaded through the releases function, sha256 computed
// there); a developer buys the yearly license (Pro, yearly, through Checkout and Stripe's signed webhooks), claims
// its key, activates the editor on two machines, and a third over the license's limit of 3 is refused after a
// third fits; the app's update check offers the newest stable release (not the beta, not the yanked one), and the
// download's bytes match the sha256 it was offered; a year on, the license has expired: validation says EXPIRED
// but valid within the 14 days of grace (the app keeps working and asks for a renewal), and EXPIRED, not valid,
// after them, when downloads are refused too.
import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { syncStripeCatalog } from "../../src/billing/stripe-sync.ts";
import { planLookupKey, stripeCatalog } from "../../supabase/functions/_shared/billing-catalog.ts";
import { createStripe } from "../../supabase/functions/_shared/stripe-client.ts";
import { TEST_FUNCTION_ENV } from "../support/stack.ts";
import { type Scenario, startScenario, type User } from "./harness.ts";

let s: Scenario;
beforeAll(async () => {
  s = await startScenario("devforge", ["checkout", "stripe-webhook", "licenses", "releases"]);
  // What the operator runs once before launch: `npm run stripe:sync -- --preset devforge`.
  await syncStripeCatalog(createStripe(TEST_FUNCTION_ENV.STRIPE_SECRET_KEY, s.stripeUrl), s.sql, stripeCatalog(s.config), s.config.currency);
}, 180_000);
afterAll(() => s?.stop());

type Row = Record<string, any>;
const tag = crypto.randomUUID().slice(0, 8);
const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");
/** A build of the editor: a few hundred KB of bytes of its own. */
const build = (version: string) => {
  const bytes = new Uint8Array(300_000 + version.length);
  for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 31 + version.charCodeAt(i % version.length)) & 255;
  return bytes;
};

/** The desktop app's calls: the license key is the credential (licenses: verify_jwt off; releases: with the
 * project's anon key, as supabase-js sends it). */
const app = {
  licenses: (path: string, body: unknown) =>
    s.call(`licenses/${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) }),
  releases: (path: string, key?: string) =>
    s.call(`releases/${path}`, { token: s.stack.anonKey, headers: key ? { "x-license-key": key } : {} }),
};

describe("Dev Forge: a yearly desktop license, its machines, updates and downloads", () => {
  const product = "forge-desktop";
  let admin: User;
  let dev: User;
  let key: string;
  const files: Record<string, Uint8Array<ArrayBuffer>> = {};

  it("sells the editor as a yearly license for 3 machines with 14 days of grace, and the CLI for free", () => {
    const license = s.config.licensing.products.find((p) => p.id === product)!;
    expect(license).toMatchObject({ durationDays: 365, machines: { floating: true, max: 3 }, graceDays: 14, plans: ["pro"] });
    expect(s.config.plans.find((p) => p.id === "pro")).toMatchObject({ priceYearlyCents: 14_900 });
    expect(s.config.releases.freeProducts.map((p) => p.id)).toEqual(["forge-cli"]);
  });

  it("an admin publishes the editor's releases through the releases function", async () => {
    admin = await s.signUp(`ops-${tag}@devforge.test`, { confirmed: true, appMetadata: { role: "admin" } });
    const publish = async (version: string, channel: "stable" | "beta", yank = false) => {
      const created = await s.post("releases/admin/releases", admin.token, { product, version, channel, notes: `Dev Forge ${version}` });
      expect(created.status).toBe(201);
      const { id } = await created.json();
      files[version] = build(version);
      const up = await s.call(`releases/admin/releases/${id}/artifacts/windows-x64?filename=DevForge-${version}.exe`, {
        method: "PUT", token: admin.token, body: files[version],
        headers: { "content-type": "application/vnd.microsoft.portable-executable", "x-content-sha256": sha256(files[version]) },
      });
      expect(up.status).toBe(201);
      expect(await up.json()).toMatchObject({ sha256: sha256(files[version]), size: files[version].byteLength });
      expect((await s.post(`releases/admin/releases/${id}/publish`, admin.token, {})).status).toBe(200);
      if (yank) expect((await s.post(`releases/admin/releases/${id}/yank`, admin.token, { reason: "crash on start" })).status).toBe(200);
    };
    await publish("1.0.0", "stable");
    await publish("1.1.0", "stable");
    await publish("1.2.0", "stable", true); // a broken build, rolled back
    await publish("2.0.0-beta.1", "beta");
  });

  it("a developer buys the yearly license through Checkout and the signed webhooks, and receives its key", async () => {
    dev = await s.signUp(`dev-${tag}@devforge.test`, { confirmed: true });
    const res = await s.post("checkout", dev.token, { price: planLookupKey("pro", "year") });
    expect(res.status).toBe(200);
    const { answers } = await s.completeSubscriptionCheckout((await res.json()).id);
    expect(answers.completed).toMatchObject({ status: 200, body: { outcome: "applied" } });
    expect(answers.invoicePaid).toMatchObject({ status: 200, body: { outcome: "applied" } });
    // The license, read as the developer (RLS: their account's), a year long.
    const [license] = await s.sql`select id, product_id, account_id, source, expires_at, max_machines from public.licenses
      where account_id = ${dev.id}`;
    expect(license).toMatchObject({ product_id: product, account_id: dev.id, source: "subscription", max_machines: 3 });
    expect((license.expires_at as Date).getTime()).toBeGreaterThan(Date.now() + 364 * 86_400_000);
    const claimed = await s.rpc(dev, "claim_license_key", [license.id]);
    expect(claimed.key).toMatch(/^[0-9A-HJKMNP-TV-Z]{5}(-[0-9A-HJKMNP-TV-Z]{5}){3}$/);
    key = claimed.key;
    // Shown once.
    expect(await s.rpc(dev, "claim_license_key", [license.id])).toMatchObject({ error: { code: "license_key_claimed" } });
  });

  it("activates the editor on two machines, a third fits, a fourth over the limit of 3 is refused", async () => {
    for (const [i, name] of ["Desktop", "Laptop"].entries()) {
      const res = await app.licenses("activate", { key, fingerprint: `fp-${tag}-${i}`, name, platform: "windows" });
      expect(res.status).toBe(201);
      expect((await res.json()).machines).toMatchObject({ used: i + 1, max: 3 });
    }
    const valid = await (await app.licenses("validate", { key, fingerprint: `fp-${tag}-1`, product })).json();
    expect(valid).toMatchObject({ valid: true, code: "VALID", machines: { used: 2, max: 3 } });
    expect((await app.licenses("activate", { key, fingerprint: `fp-${tag}-2`, name: "Studio" })).status).toBe(201);
    const refused = await app.licenses("activate", { key, fingerprint: `fp-${tag}-3`, name: "One too many" });
    expect(refused.status).toBe(409);
    expect((await refused.json()).error.code).toBe("machine_limit_reached");
    const [{ n }] = await s.sql`select count(*)::int as n from public.license_machines m join public.licenses l on l.id = m.license_id
      where l.account_id = ${dev.id}`;
    expect(n).toBe(3);
  });

  it("the update check offers the newest stable release, and the download's bytes match its sha256", async () => {
    const check = await app.releases(`latest?product=${product}&platform=windows-x64&current_version=1.0.0`, key);
    expect(check.status).toBe(200);
    const { release } = await check.json();
    // 1.2.0 was yanked and 2.0.0-beta.1 is a beta: 1.1.0 is the newest stable.
    expect(release).toMatchObject({ version: "1.1.0", channel: "stable", rollback: false,
      artifact: { filename: "DevForge-1.1.0.exe", sha256: sha256(files["1.1.0"]), size: files["1.1.0"].byteLength } });
    // Current: nothing to install.
    expect((await app.releases(`latest?product=${product}&platform=windows-x64&current_version=1.1.0`, key)).status).toBe(204);

    const dl = await app.releases(`download?product=${product}&platform=windows-x64&version=${release.version}`, key);
    expect(dl.status).toBe(200);
    const { url, sha256: offered, download_id } = await dl.json();
    const got = await fetch(url);
    expect(got.status).toBe(200);
    const bytes = new Uint8Array(await got.arrayBuffer());
    expect(sha256(bytes)).toBe(offered);
    expect(bytes).toEqual(files["1.1.0"]);
    // Recorded for the license's account, for the admins' analytics.
    const [row] = await s.sql`select account_id, license_id, version from public.downloads where id = ${download_id}`;
    expect(row).toMatchObject({ account_id: dev.id, version: "1.1.0" });
    expect(row.license_id).not.toBeNull();
    const today = new Date().toISOString().slice(0, 10);
    const stats = await s.call(`releases/admin/downloads?product=${product}&from=${today}&to=${today}`, { token: admin.token });
    expect((await stats.json()).per_release).toEqual([{ release_id: release.id, version: "1.1.0", downloads: 1 }]);
    // Without the license, no download.
    const anonymous = await app.releases(`download?product=${product}&platform=windows-x64&version=1.1.0`);
    expect(anonymous.status).toBe(403);
  });

  it("a year on, the license has expired: EXPIRED but valid within the 14 days of grace, not valid after them", async () => {
    // The year passes (no renewal was paid): the license's expiry is behind us by 3 days.
    await s.sql`update public.licenses set expires_at = now() - interval '3 days' where account_id = ${dev.id}`;
    const inGrace = await (await app.licenses("validate", { key, fingerprint: `fp-${tag}-0`, product })).json();
    expect(inGrace).toMatchObject({ valid: true, code: "EXPIRED" });
    // The app keeps working, and updating, while it asks for a renewal.
    expect((await app.releases(`download?product=${product}&platform=windows-x64&version=1.1.0`, key)).status).toBe(200);

    // Past the grace period.
    await s.sql`update public.licenses set expires_at = now() - interval '15 days' where account_id = ${dev.id}`;
    const expired = await (await app.licenses("validate", { key, fingerprint: `fp-${tag}-0`, product })).json();
    expect(expired).toMatchObject({ valid: false, code: "EXPIRED" });
    const refused = await app.releases(`download?product=${product}&platform=windows-x64&version=1.1.0`, key);
    expect(refused.status).toBe(403);
    expect((await refused.json()).error).toMatchObject({ code: "license_not_valid", message: expect.stringContaining("EXPIRED") });
    expect((await app.releases(`latest?product=${product}&platform=windows-x64`, key)).status).toBe(403);
  });

  it("the free CLI downloads without a license", async () => {
    const created = await s.post("releases/admin/releases", admin.token, { product: "forge-cli", version: "0.9.0", channel: "stable" });
    const { id } = await created.json();
    const cli = new TextEncoder().encode("#!/bin/sh\necho forge\n");
    expect((await s.call(`releases/admin/releases/${id}/artifacts/linux-x64?filename=forge`, { method: "PUT", token: admin.token, body: cli })).status).toBe(201);
    expect((await s.post(`releases/admin/releases/${id}/publish`, admin.token, {})).status).toBe(200);
    const dl = await app.releases("download?product=forge-cli&platform=linux-x64");
    expect(dl.status).toBe(200);
    const body: Row = await dl.json();
    expect(new Uint8Array(await (await fetch(body.url)).arrayBuffer())).toEqual(cli);
  });
});
