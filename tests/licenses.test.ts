// Licenses end to end through the real `licenses` function (verify_jwt off: the key is the credential) on the
// throwaway stack: validation codes over HTTP, 20 activations racing for a 3-machine license, the per-IP and
// per-license limits (429 with Retry-After, an unknown key told nothing but NOT_FOUND), licenses issued and renewed
// by signed Stripe webhooks (a replayed invoice extends once), signed license files verified with
// verifyLicenseFile (tampered payloads and other keys refused), owners' routes and bad input.
import { generateKeyPairSync } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { syncStripeCatalog } from "../src/billing/stripe-sync.ts";
import { verifyLicenseFile } from "../src/client/index.ts";
import { planLookupKey, stripeCatalog } from "../supabase/functions/_shared/billing-catalog.ts";
import { config } from "../supabase/functions/_shared/config.ts";
import { createStripe } from "../supabase/functions/_shared/stripe-client.ts";
import { callFunction, connectDb, createUser, stack } from "./support/stack.ts";
import { deliverEvent, stripeEvent } from "./support/stripe-webhook.ts";

type Obj = Record<string, any>;

const sql = connectDb();
const tag = crypto.randomUUID().slice(0, 8);
// Products of this file's own (deactivated after), so nothing depends on the shipped config.
const FLOATING = `lt-float-${tag}`;
const YEARLY = `lt-yearly-${tag}`;
let ipSeq = 0;
/** A client address of its own per call site, so the per-IP limit counts only what a test means it to. */
const freshIp = () => `10.77.${(++ipSeq >> 8) & 255}.${ipSeq & 255}`;

const call = (path: string, init: RequestInit & { ip?: string; json?: unknown } = {}) =>
  callFunction(`licenses${path}`, {
    ...init,
    headers: {
      ...(init.json !== undefined ? { "content-type": "application/json" } : {}),
      "x-forwarded-for": init.ip ?? freshIp(),
      ...init.headers as Record<string, string>,
    },
    body: init.json !== undefined ? JSON.stringify(init.json) : init.body,
  });
const post = (path: string, json: unknown, ip?: string) => call(path, { method: "POST", json, ip });
const service = { authorization: `Bearer ${stack().serviceRoleKey}` };

/** A license issued by the admin API (the service role), with its key. */
async function issue(account: string, product = FLOATING, expiresAt?: string) {
  const res = await call("", { method: "POST", headers: service, json: { account_id: account, product, expires_at: expiresAt } });
  const body = await res.json();
  expect(res.status, JSON.stringify(body)).toBe(201);
  return body as { license_id: string; key: string; expires_at: string | null };
}

let owner: { id: string; token: string };

beforeAll(async () => {
  await sql`insert into public.license_products (id, name, duration_days, floating, max_machines, grace_days,
      entitlements, max_major_version, plan_ids, price_cents)
    values (${FLOATING}, 'Forge Desktop', 365, true, 3, 14, '{editor,ai}', 2, '{}', 9900),
      (${YEARLY}, 'Forge Yearly', 365, true, 3, 14, '{editor}', null, '{plus}', null)`;
  owner = await createUser(sql, `lic-owner-${tag}@test.local`);
});
afterAll(async () => {
  await sql`update public.license_products set active = false where id in (${FLOATING}, ${YEARLY})`;
  await sql.end();
});

describe("validation", () => {
  it("answers 200 with the code, the expiry, the entitlements and the seats; an unknown or malformed key NOT_FOUND alike", async () => {
    const { key, license_id, expires_at } = await issue(owner.id);
    const res = await post("/validate", { key });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      valid: true, code: "VALID", license_id, product: FLOATING, expires_at,
      entitlements: ["editor", "ai"], machines: { used: 0, max: 3 },
    });
    // Typed loosely: lower case, spaces, O for 0 and I/L for 1 still name it.
    const loose = key.toLowerCase().replaceAll("-", " ").replaceAll("0", "o").replaceAll("1", "l");
    expect((await (await post("/validate", { key: loose })).json()).code).toBe("VALID");
    const byCode = async (body: Obj) => (await (await post("/validate", { key, ...body })).json()).code;
    expect(await byCode({ product: "another-product" })).toBe("PRODUCT_MISMATCH");
    expect(await byCode({ version: "2.9.1" })).toBe("VALID");
    expect(await byCode({ version: "3.0.0" })).toBe("VERSION_NOT_ALLOWED");
    expect(await byCode({ fingerprint: "fp-none" })).toBe("NO_MACHINE");

    // One character changed (the check character catches it), a key nobody has, and text that is no key: the
    // same answer, nothing more.
    const swapped = key.slice(0, 2) + (key[2] === "A" ? "B" : "A") + key.slice(3);
    for (const other of [swapped, "ABCDE-FGHJK-MNPQR-STVWX", "not a key"]) {
      const r = await post("/validate", { key: other });
      expect([r.status, await r.json()]).toEqual([200, {
        valid: false, code: "NOT_FOUND", license_id: null, product: null, expires_at: null, entitlements: [], machines: null,
      }]);
    }
  });

  it("suspended, revoked and expired (valid in the grace period, not after) through the owner's routes and time", async () => {
    const { key, license_id } = await issue(owner.id);
    const code = async () => (await (await post("/validate", { key })).json()) as Obj;
    expect((await call(`/${key}/suspend`, { method: "POST", headers: service })).status).toBe(200);
    expect(await code()).toMatchObject({ valid: false, code: "SUSPENDED" });
    expect((await call(`/${key}/reinstate`, { method: "POST", headers: service })).status).toBe(200);
    expect((await code()).code).toBe("VALID");
    // Expired yesterday: the grace period (14 days) keeps it valid with code EXPIRED; 15 days ago, not.
    await sql`update public.licenses set expires_at = now() - interval '1 day' where id = ${license_id}`;
    expect(await code()).toMatchObject({ valid: true, code: "EXPIRED" });
    await sql`update public.licenses set expires_at = now() - interval '15 days' where id = ${license_id}`;
    expect(await code()).toMatchObject({ valid: false, code: "EXPIRED" });
    const renewed = await call(`/${key}/renew`, { method: "PUT", headers: service, json: {} });
    expect(renewed.status).toBe(200);
    expect(Date.parse((await renewed.json()).expires_at)).toBeGreaterThan(Date.now() + 364 * 86_400_000);
    expect((await code()).code).toBe("VALID");
    const revoked = await call(`/${key}`, { method: "DELETE", headers: service });
    expect([revoked.status, (await revoked.json()).status]).toEqual([200, "revoked"]);
    expect(await code()).toMatchObject({ valid: false, code: "REVOKED" });
  });
});

describe("machines", () => {
  it("20 activations at once on a 3-machine license: exactly 3 get in, 17 are refused 409 machine_limit_reached", async () => {
    const { key, license_id } = await issue(owner.id);
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) =>
      post("/activate", { key, fingerprint: `race-${i}`, name: `Machine ${i}`, platform: "linux" })));
    const statuses = answers.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 201)).toHaveLength(3);
    expect(statuses.filter((s) => s === 409)).toHaveLength(17);
    const refused = await Promise.all(answers.filter((r) => r.status === 409).map((r) => r.json()));
    expect(new Set(refused.map((b) => b.error.code))).toEqual(new Set(["machine_limit_reached"]));
    const [{ n }] = await sql`select count(*)::int as n from public.license_machines where license_id = ${license_id}`;
    expect(n).toBe(3);

    // An activated machine validates with its fingerprint; another does not; deactivating frees the seat.
    const [{ fingerprint }] = await sql`select fingerprint from public.license_machines where license_id = ${license_id} limit 1`;
    expect((await (await post("/validate", { key, fingerprint })).json())).toMatchObject({ code: "VALID", machines: { used: 3, max: 3 } });
    expect((await (await post("/validate", { key, fingerprint: "race-stranger" })).json()).code).toBe("FINGERPRINT_MISMATCH");
    const again = await post("/activate", { key, fingerprint });
    expect([again.status, (await again.json()).machine.fingerprint]).toEqual([200, fingerprint]);
    const off = await post("/deactivate", { key, fingerprint });
    expect([off.status, (await off.json()).machines]).toEqual([200, { used: 2, max: 3 }]);
    expect((await post("/deactivate", { key, fingerprint })).status).toBe(404);
    expect((await post("/activate", { key, fingerprint: "race-late" })).status).toBe(201);
    expect((await post("/heartbeat", { key, fingerprint: "race-late" })).status).toBe(200);
  });

  it("a suspended license takes no machine (403 license_not_valid), an unknown key 404 license_not_found", async () => {
    const { key } = await issue(owner.id);
    await call(`/${key}/suspend`, { method: "POST", headers: service });
    const res = await post("/activate", { key, fingerprint: "fp" });
    expect([res.status, (await res.json()).error.code]).toEqual([403, "license_not_valid"]);
    const unknown = await post("/activate", { key: "ABCDE-FGHJK-MNPQR-STVWX", fingerprint: "fp" });
    expect([unknown.status, (await unknown.json()).error.code]).toEqual([404, "license_not_found"]);
  });
});

describe("rate limits", () => {
  it("guessing keys from one address: 429 with Retry-After once the per-IP limit is spent, NOT_FOUND before it", async () => {
    const ip = freshIp();
    const limit = config.licensing.rateLimits.perIp!.max;
    const codes: string[] = [];
    for (let i = 0; i < limit; i++) {
      const r = await post("/validate", { key: `GUESS-${String(i).padStart(5, "0")}-AAAAA-AAAAA` }, ip);
      codes.push(r.status === 200 ? (await r.json()).code : String(r.status));
    }
    expect(new Set(codes)).toEqual(new Set(["NOT_FOUND"]));
    const refused = await post("/validate", { key: "GUESS-LAST0-AAAAA-AAAAA" }, ip);
    expect(refused.status).toBe(429);
    expect((await refused.json()).error.code).toBe("rate_limited");
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
    // A real key from that address is refused too: the address is spent, whatever it asks.
    const { key } = await issue(owner.id);
    expect((await post("/validate", { key }, ip)).status).toBe(429);
    expect((await post("/validate", { key })).status).toBe(200);
  });

  it("one license asked from many addresses: 429 past the per-license limit", async () => {
    const { key } = await issue(owner.id);
    const limit = config.licensing.rateLimits.perKey!.max;
    const statuses = [];
    for (let i = 0; i <= limit; i++) statuses.push((await post("/validate", { key })).status);
    expect(statuses.slice(0, limit).every((s) => s === 200)).toBe(true);
    expect(statuses[limit]).toBe(429);
  });
});

describe("issued by payments", () => {
  beforeAll(async () => {
    await syncStripeCatalog(createStripe("sk_test_saasbase_local", stack().stripeUrl), sql, stripeCatalog(config),
      config.currency);
  });

  it("a subscription to a licensed plan: its first paid invoice issues the license, each renewal extends it once, replays change nothing", async () => {
    const buyer = await createUser(sql, `lic-buyer-${tag}@test.local`);
    const [{ id: price }] = await sql`select id from public.prices where lookup_key = ${planLookupKey("plus", "month")} and active`;
    const now = Math.floor(Date.now() / 1000);
    const sub = {
      id: `sub_lic_${tag}`, object: "subscription", status: "active", customer: `cus_lic_${tag}`,
      metadata: { account_id: buyer.id }, cancel_at_period_end: false, canceled_at: null, created: now,
      items: { object: "list", data: [{ id: `si_lic_${tag}`, object: "subscription_item", quantity: 1, price: { id: price },
        current_period_start: now, current_period_end: now + 30 * 86_400 }] },
    };
    const invoice = (n: number, reason: string) => ({
      id: `in_lic_${tag}_${n}`, object: "invoice", customer: sub.customer, status: "paid", currency: "usd",
      billing_reason: reason, amount_paid: 1900, amount_due: 1900, created: now,
      parent: { type: "subscription_details", subscription_details: { subscription: sub.id, metadata: sub.metadata } },
      lines: { object: "list", has_more: false, data: [] },
    });
    const deliver = async (evt: object) => {
      const res = await deliverEvent(stack().functionsUrl, evt);
      expect(res.status).toBe(200);
      return (await res.json()).outcome;
    };
    // The invoice before its subscription (Stripe's order is not ours): applied once the subscription arrives.
    const first = stripeEvent("invoice.paid", invoice(1, "subscription_create"));
    expect(await deliver(first)).toBe("applied");
    expect(await sql`select 1 from public.licenses where subscription_id = ${sub.id}`).toHaveLength(0);
    expect(await deliver(stripeEvent("customer.subscription.created", sub))).toBe("applied");
    const licenses = await sql`select id, product_id, account_id, source, expires_at from public.licenses where subscription_id = ${sub.id}`;
    expect(licenses.map((l) => [l.product_id, l.account_id, l.source])).toEqual([[YEARLY, buyer.id, "subscription"]]);
    const issuedUntil = licenses[0].expires_at as Date;
    expect(issuedUntil.getTime()).toBeGreaterThan(Date.now() + 364 * 86_400_000);

    // The account claims the key once (the payment made it; nobody saw it), and it validates.
    const [{ key }] = await sql.begin(async (tx) => {
      await tx`select set_config('request.jwt.claims', ${JSON.stringify({ role: "authenticated", sub: buyer.id })}, true),
        set_config('role', 'authenticated', true)`;
      return tx`select key from public.claim_license_key(${licenses[0].id})`;
    });
    expect((await (await post("/validate", { key, product: YEARLY })).json()).code).toBe("VALID");

    // The renewal, a year on as the license expires: once, however often the event comes.
    await sql`update public.licenses set expires_at = now() + interval '1 hour' where subscription_id = ${sub.id}`;
    const [{ expires_at: due }] = await sql`select expires_at from public.licenses where subscription_id = ${sub.id}`;
    const renewal = stripeEvent("invoice.paid", invoice(2, "subscription_cycle"));
    expect(await deliver(renewal)).toBe("applied");
    expect(await deliver(renewal)).toBe("duplicate");
    expect(await deliver(stripeEvent("invoice.paid", invoice(2, "subscription_cycle")))).toBe("applied"); // a new event id
    expect(await deliver(first)).toBe("duplicate");
    const [{ expires_at }] = await sql`select expires_at from public.licenses where subscription_id = ${sub.id}`;
    // A year from the payment (now): past the old expiry by a year less the hour it had left, once.
    const gained = (expires_at as Date).getTime() - (due as Date).getTime();
    expect(gained).toBeGreaterThan(365 * 86_400_000 - 3_600_000 - 60_000);
    expect(gained).toBeLessThan(365 * 86_400_000);
    expect(issuedUntil.getTime()).toBeGreaterThan(0);
    expect(await sql`select 1 from public.licenses where subscription_id = ${sub.id}`).toHaveLength(1);
  });
});

describe("sold once", () => {
  it("a checkout { license } and its signed webhook issue one license, once; a full refund revokes it", async () => {
    const buyer = await createUser(sql, `lic-once-${tag}@test.local`);
    const res = await callFunction("checkout", {
      method: "POST", token: buyer.token, headers: { "content-type": "application/json" },
      body: JSON.stringify({ license: FLOATING }),
    });
    const made = await res.json();
    expect(res.status, JSON.stringify(made)).toBe(200);
    const state = await (await fetch(`${stack().stripeUrl}/_test/state`)).json();
    const session = state.sessions[made.id];
    expect(session.mode).toBe("payment");
    expect(session.metadata).toMatchObject({ account_id: buyer.id, kind: "license", license_product: FLOATING });
    expect(Number(session.line_items_params[0].price_data.unit_amount)).toBe(9900);

    const paid = stripeEvent("checkout.session.completed", {
      ...session, status: "complete", payment_status: "paid", amount_total: 9900, currency: "usd",
      payment_intent: `pi_once_${tag}`,
    });
    expect((await (await deliverEvent(stack().functionsUrl, paid)).json()).outcome).toBe("applied");
    expect((await (await deliverEvent(stack().functionsUrl, paid)).json()).outcome).toBe("duplicate");
    const rows = await sql`select l.id, l.status, l.source, p.credits, p.amount_cents from public.licenses l
      join public.purchases p on p.id = l.purchase_id where p.checkout_session_id = ${session.id}`;
    expect(rows.map((r) => [r.status, r.source, r.credits, r.amount_cents])).toEqual([["active", "purchase", 0, 9900]]);

    // Not a pack: no credits came with it. Refunded in full: the license goes.
    const refund = stripeEvent("charge.refunded", { id: `ch_once_${tag}`, object: "charge", payment_intent: `pi_once_${tag}`,
      amount: 9900, amount_refunded: 9900, refunded: true });
    expect((await (await deliverEvent(stack().functionsUrl, refund)).json()).outcome).toBe("applied");
    expect((await sql`select status from public.licenses where id = ${rows[0].id}`)[0].status).toBe("revoked");

    // A product not sold once (or unknown) is refused before anything is made at Stripe.
    const refused = await callFunction("checkout", {
      method: "POST", token: buyer.token, headers: { "content-type": "application/json" },
      body: JSON.stringify({ license: YEARLY }),
    });
    expect([refused.status, (await refused.json()).error.code]).toEqual([404, "license_product_not_found"]);
  });
});

describe("signed license files", () => {
  it("round trip: the file verifies with the function's public key; a tampered payload, another key, a changed signature do not", async () => {
    const { key } = await issue(owner.id);
    const pk = await call("/public-key");
    const { public_key: publicKey, alg } = await pk.json();
    expect([pk.status, alg]).toEqual([200, "Ed25519"]);
    await post("/activate", { key, fingerprint: "file-machine" });
    const res = await call(`/${key}/file?fingerprint=file-machine`);
    expect(res.status).toBe(200);
    const text = await res.text();
    const checked = await verifyLicenseFile(text, publicKey);
    expect(checked.valid).toBe(true);
    if (!checked.valid) return;
    expect(checked.payload).toMatchObject({ product_id: FLOATING, entitlements: ["editor", "ai"], machine: { fingerprint: "file-machine" } });

    const file = JSON.parse(text);
    const payload = JSON.parse(Buffer.from(file.payload, "base64url").toString());
    const tampered = { ...file, payload: Buffer.from(JSON.stringify({ ...payload, expires_at: "2999-01-01T00:00:00Z" })).toString("base64url") };
    expect(await verifyLicenseFile(tampered, publicKey)).toEqual({ valid: false, reason: "bad_signature" });
    const other = generateKeyPairSync("ed25519").publicKey.export({ format: "jwk" }).x!;
    expect(await verifyLicenseFile(text, other)).toEqual({ valid: false, reason: "bad_signature" });
    const flipped = { ...file, signature: (file.signature[0] === "A" ? "B" : "A") + file.signature.slice(1) };
    expect(await verifyLicenseFile(flipped, publicKey)).toEqual({ valid: false, reason: "bad_signature" });
    expect(await verifyLicenseFile("not json", publicKey)).toEqual({ valid: false, reason: "malformed" });
    expect(await verifyLicenseFile(text, publicKey, { now: new Date(Date.now() + 31 * 86_400_000) }))
      .toMatchObject({ valid: false, reason: "file_expired" });

    // No file for a machine that is not activated, nor for a license that cannot be used.
    const stranger = await call(`/${key}/file?fingerprint=someone-else`);
    expect([stranger.status, (await stranger.json()).error.code]).toEqual([403, "license_not_valid"]);
    expect((await call(`/ABCDE-FGHJK-MNPQR-STVWX/file`)).status).toBe(404);
  });
});

describe("owners' routes and bad input", () => {
  it("GET by key shows the license and its machines; owners' routes need a verified caller; strangers' keys are 404", async () => {
    const { key, license_id } = await issue(owner.id);
    await post("/activate", { key, fingerprint: "seen", name: "Laptop", platform: "macos" });
    const got = await (await call(`/${key}`)).json();
    expect(got).toMatchObject({ license_id, product: FLOATING, status: "active", policy: { floating: true, max_machines: 3 } });
    expect(got.machines.map((m: Obj) => [m.fingerprint, m.name, m.platform, m.alive])).toEqual([["seen", "Laptop", "macos", true]]);
    expect(got.key_prefix).toBe(key.slice(0, 5));

    // No caller: 401. A user's session is no verified caller here (no SAASBASE_JWT_SECRET in this stack): 401.
    expect((await call(`/${key}`, { method: "DELETE" })).status).toBe(401);
    expect((await call(`/${key}`, { method: "DELETE", headers: { authorization: `Bearer ${owner.token}` } })).status).toBe(401);
    // A stranger's API key: the license is not theirs to see.
    const stranger = await createUser(sql, `lic-stranger-${tag}@test.local`);
    const [{ key: apiKey }] = await sql.begin(async (tx) => {
      await tx`select set_config('request.jwt.claims', ${JSON.stringify({ role: "authenticated", sub: stranger.id })}, true)`;
      return tx`select key from public.create_api_key('licenses')`;
    });
    const denied = await call(`/${key}`, { method: "DELETE", headers: { "x-api-key": apiKey } });
    expect([denied.status, (await denied.json()).error.code]).toEqual([404, "license_not_found"]);
    // Nor may they issue one.
    const issueDenied = await call("", { method: "POST", headers: { "x-api-key": apiKey }, json: { account_id: stranger.id, product: FLOATING } });
    expect(issueDenied.status).toBe(403);
    // The owner's own API key revokes it (a personal account's owner manages its billing).
    const [{ key: ownerKey }] = await sql.begin(async (tx) => {
      await tx`select set_config('request.jwt.claims', ${JSON.stringify({ role: "authenticated", sub: owner.id })}, true)`;
      return tx`select key from public.create_api_key('licenses')`;
    });
    const revoked = await call(`/${key}`, { method: "DELETE", headers: { "x-api-key": ownerKey } });
    expect([revoked.status, (await revoked.json()).status]).toEqual([200, "revoked"]);
    const [{ n }] = await sql`select count(*)::int as n from public.license_machines where license_id = ${license_id}`;
    expect(n).toBe(0);
  });

  it("bad input is a 4xx with a JSON error, never a 500, and changes nothing", async () => {
    const { key, license_id } = await issue(owner.id);
    const cases: [string, RequestInit & { json?: unknown }, number, string][] = [
      ["/validate", { method: "POST", body: "{", headers: { "content-type": "application/json" } }, 400, "invalid_json"],
      ["/validate", { method: "POST", json: {} }, 422, "validation_failed"],
      ["/validate", { method: "POST", json: { key: 12345 } }, 422, "validation_failed"],
      ["/validate", { method: "POST", json: { key, version: "latest" } }, 422, "validation_failed"],
      ["/validate", { method: "POST", json: { key, product: "Not An Id" } }, 422, "validation_failed"],
      ["/validate", { method: "POST", json: { key: "x".repeat(65) } }, 422, "validation_failed"],
      ["/activate", { method: "POST", json: { key } }, 422, "validation_failed"],
      ["/activate", { method: "POST", json: { key, fingerprint: "f".repeat(256) } }, 422, "validation_failed"],
      ["/activate", { method: "POST", json: { key, fingerprint: "nul\u0000" } }, 422, "validation_failed"],
      ["/validate", { method: "POST", body: JSON.stringify({ key, pad: "x".repeat(300_000) }), headers: { "content-type": "application/json" } }, 413, "payload_too_large"],
      ["/nowhere/at/all", { method: "GET" }, 404, "route_not_found"],
      [`/${key}/file?fingerprint=${"f".repeat(300)}`, { method: "GET" }, 422, "validation_failed"],
      ["", { method: "POST", headers: service, json: { account_id: "nope", product: FLOATING } }, 422, "validation_failed"],
      ["", { method: "POST", headers: service, json: { account_id: crypto.randomUUID(), product: FLOATING } }, 404, "account_not_found"],
      ["", { method: "POST", headers: service, json: { account_id: owner.id, product: "no-such-product" } }, 404, "license_product_not_found"],
      [`/${key}/renew`, { method: "PUT", headers: service, json: { days: 0 } }, 422, "validation_failed"],
    ];
    for (const [path, init, status, code] of cases) {
      const res = await call(path, init);
      const body = await res.json();
      expect([path, res.status, body.error?.code]).toEqual([path, status, code]);
    }
    const [{ n }] = await sql`select count(*)::int as n from public.license_machines where license_id = ${license_id}`;
    expect(n).toBe(0);
    expect((await sql`select status from public.licenses where id = ${license_id}`)[0].status).toBe("active");
  });
});
