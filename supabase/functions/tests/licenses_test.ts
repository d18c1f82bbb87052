// Units of the licenses function: the signing key read from its secret (PEM or base64 DER; missing or not an
// Ed25519 key: 503), license files signed and verified (any change to the payload, the signature or the format,
// or another key, refused; an outlived file refused), and the validation's answer shape.
import assert from "node:assert/strict";
import { AppError } from "../_shared/errors.ts";
import {
  base64urlDecode,
  base64urlEncode,
  type LicenseFilePayload,
  signLicenseFile,
  verifyLicenseFile,
} from "../_shared/licenses/file.ts";
import { importSigningKey, licenseSigningKey } from "../_shared/licenses/signing.ts";
import { validationBody } from "../licenses/handler.ts";

async function newSecret(): Promise<{ der: string; pem: string }> {
  const pair = await crypto.subtle.generateKey({ name: "Ed25519" }, true, ["sign", "verify"]) as CryptoKeyPair;
  const der = new Uint8Array(await crypto.subtle.exportKey("pkcs8", pair.privateKey));
  const b64 = btoa(String.fromCharCode(...der));
  return { der: b64, pem: `-----BEGIN PRIVATE KEY-----\n${b64}\n-----END PRIVATE KEY-----\n` };
}

const payload = (fileExpires = new Date(Date.now() + 86_400_000)): LicenseFilePayload => ({
  license_id: crypto.randomUUID(),
  product_id: "forge",
  product_name: "Forge",
  status: "active",
  entitlements: ["pro"],
  expires_at: "2027-01-01T00:00:00.000Z",
  grace_until: "2027-01-15T00:00:00.000Z",
  floating: true,
  max_machines: 3,
  max_major_version: null,
  machine: { fingerprint: "fp" },
  issued_at: new Date().toISOString(),
  file_expires_at: fileExpires.toISOString(),
});

Deno.test("the signing key reads as PEM or base64 DER, with the same public key and key id", async () => {
  const { der, pem } = await newSecret();
  const a = await importSigningKey(der);
  const b = await importSigningKey(pem);
  assert.equal(a.publicKey, b.publicKey);
  assert.equal(a.kid, b.kid);
  assert.match(a.kid, /^[0-9a-f]{16}$/);
  assert.equal(base64urlDecode(a.publicKey).length, 32);
});

Deno.test("no signing key, or one that is not Ed25519: 503 license_signing_not_configured", async () => {
  const before = Deno.env.get("SAASBASE_LICENSE_SIGNING_KEY");
  try {
    Deno.env.delete("SAASBASE_LICENSE_SIGNING_KEY");
    await assert.rejects(licenseSigningKey(), (e) => e instanceof AppError && e.status === 503 && e.code === "license_signing_not_configured");
    Deno.env.set("SAASBASE_LICENSE_SIGNING_KEY", btoa("not a key at all"));
    await assert.rejects(licenseSigningKey(), (e) => e instanceof AppError && e.code === "license_signing_not_configured");
    const { der } = await newSecret();
    Deno.env.set("SAASBASE_LICENSE_SIGNING_KEY", der);
    assert.equal((await licenseSigningKey()).publicKey, (await importSigningKey(der)).publicKey);
  } finally {
    if (before === undefined) Deno.env.delete("SAASBASE_LICENSE_SIGNING_KEY");
    else Deno.env.set("SAASBASE_LICENSE_SIGNING_KEY", before);
  }
});

Deno.test("a signed file verifies with its public key; every change and every other key is refused", async () => {
  const key = await importSigningKey((await newSecret()).der);
  const p = payload();
  const file = await signLicenseFile(p, key);
  assert.deepEqual(await verifyLicenseFile(JSON.stringify(file), key.publicKey), { valid: true, payload: p });
  assert.deepEqual(await verifyLicenseFile(file, key.publicKey), { valid: true, payload: p });

  const changedPayload = base64urlEncode(new TextEncoder().encode(JSON.stringify({ ...p, max_machines: 300 })));
  assert.deepEqual(await verifyLicenseFile({ ...file, payload: changedPayload }, key.publicKey), { valid: false, reason: "bad_signature" });
  const sig = base64urlDecode(file.signature);
  sig[10] ^= 1;
  assert.deepEqual(await verifyLicenseFile({ ...file, signature: base64urlEncode(sig) }, key.publicKey), { valid: false, reason: "bad_signature" });
  const other = await importSigningKey((await newSecret()).der);
  assert.deepEqual(await verifyLicenseFile(file, other.publicKey), { valid: false, reason: "bad_signature" });
  assert.deepEqual(await verifyLicenseFile({ ...file, format: "saasbase-license/2" }, key.publicKey), { valid: false, reason: "malformed" });
  assert.deepEqual(await verifyLicenseFile({ ...file, signature: "!!" }, key.publicKey), { valid: false, reason: "malformed" });
  assert.deepEqual(await verifyLicenseFile("{", key.publicKey), { valid: false, reason: "malformed" });
  assert.deepEqual(await verifyLicenseFile(null, key.publicKey), { valid: false, reason: "malformed" });
  await assert.rejects(verifyLicenseFile(file, "c2hvcnQ"), /32 bytes/);

  const old = await signLicenseFile(payload(new Date(Date.now() - 1000)), key);
  assert.equal((await verifyLicenseFile(old, key.publicKey)).valid, false);
  assert.equal((await verifyLicenseFile(old, key.publicKey, { now: new Date(0) })).valid, true);
});

Deno.test("the validation's answer: the seats for a license, none for NOT_FOUND", () => {
  assert.deepEqual(
    validationBody({ valid: false, code: "NOT_FOUND", license_id: null, account_id: null, product_id: null, expires_at: null,
      entitlements: [], machines_used: null, machines_max: null }),
    { valid: false, code: "NOT_FOUND", license_id: null, product: null, expires_at: null, entitlements: [], machines: null },
  );
  const id = crypto.randomUUID();
  assert.deepEqual(
    validationBody({ valid: true, code: "VALID", license_id: id, account_id: id, product_id: "forge", expires_at: null,
      entitlements: ["pro"], machines_used: 2, machines_max: null }),
    { valid: true, code: "VALID", license_id: id, product: "forge", expires_at: null, entitlements: ["pro"], machines: { used: 2, max: null } },
  );
});
