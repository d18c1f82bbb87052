// Signed license files, for apps that must run offline: the license's payload (JSON, base64url) signed with
// Ed25519 by the licenses function, and verified by the app with the project's public key alone. WebCrypto
// only (Deno, Node 20+, current browsers), so the same module signs here and verifies in src/client.
//
//   { "format": "saasbase-license/1", "alg": "Ed25519", "kid": "<key id>", "payload": "<base64url JSON>",
//     "signature": "<base64url Ed25519 signature of `saasbase-license/1.` + payload>" }
//
// The format is in the signed bytes, so a signature cannot be replayed under another format.

export const LICENSE_FILE_FORMAT = "saasbase-license/1";

/** What a license file says (the license as of its signing). */
export interface LicenseFilePayload {
  license_id: string;
  product_id: string;
  product_name: string;
  status: string;
  entitlements: string[];
  /** null: perpetual. */
  expires_at: string | null;
  /** Until when an expired license still runs (expires_at + the grace period); null: perpetual. */
  grace_until: string | null;
  floating: boolean;
  max_machines: number | null;
  max_major_version: number | null;
  /** The machine the file was made for (its fingerprint), or null: the license alone. */
  machine: { fingerprint: string } | null;
  issued_at: string;
  /** After this the app should fetch a fresh file (GET /licenses/:key/file) before trusting it. */
  file_expires_at: string;
}

export interface LicenseFile {
  format: typeof LICENSE_FILE_FORMAT;
  alg: "Ed25519";
  kid: string;
  payload: string;
  signature: string;
}

export type LicenseFileCheck =
  | { valid: true; payload: LicenseFilePayload }
  | { valid: false; reason: "malformed" | "bad_signature" | "file_expired"; payload?: LicenseFilePayload };

export function base64urlEncode(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

/** base64url or base64, padded or not; throws on anything else. */
export function base64urlDecode(text: string): Uint8Array<ArrayBuffer> {
  if (!/^[A-Za-z0-9_+/-]*={0,2}$/.test(text)) throw new Error("not base64");
  const b64 = text.replaceAll("-", "+").replaceAll("_", "/").replace(/=+$/, "");
  const bin = atob(b64 + "=".repeat((4 - (b64.length % 4)) % 4));
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}

const signedBytes = (payload: string) => new TextEncoder().encode(`${LICENSE_FILE_FORMAT}.${payload}`);

/** Signs a payload into a license file with an Ed25519 private key. */
export async function signLicenseFile(
  payload: LicenseFilePayload,
  key: { privateKey: CryptoKey; kid: string },
): Promise<LicenseFile> {
  const encoded = base64urlEncode(new TextEncoder().encode(JSON.stringify(payload)));
  const signature = new Uint8Array(await crypto.subtle.sign("Ed25519", key.privateKey, signedBytes(encoded)));
  return { format: LICENSE_FILE_FORMAT, alg: "Ed25519", kid: key.kid, payload: encoded, signature: base64urlEncode(signature) };
}

/** The public key (its 32 raw bytes, base64url as GET /licenses/public-key answers it, or base64) as a CryptoKey. */
export async function importLicensePublicKey(publicKey: string): Promise<CryptoKey> {
  const raw = base64urlDecode(publicKey.trim());
  if (raw.length !== 32) throw new Error("An Ed25519 public key is 32 bytes");
  return await crypto.subtle.importKey("raw", raw, { name: "Ed25519" }, false, ["verify"]);
}

/**
 * Verifies a license file (its JSON text or the parsed object) against the project's public key: the signature
 * over the exact payload, then that the file has not outlived its file_expires_at (against `now`). Any change to
 * the payload, the signature or the format, or another key, is `bad_signature`; text that is no license file is
 * `malformed`. A valid file's license may still be expired: the app reads payload.expires_at / grace_until.
 */
export async function verifyLicenseFile(
  file: string | LicenseFile | unknown,
  publicKey: string | CryptoKey,
  opts: { now?: Date } = {},
): Promise<LicenseFileCheck> {
  let parsed: Partial<LicenseFile>;
  try {
    parsed = (typeof file === "string" ? JSON.parse(file) : file) as Partial<LicenseFile>;
  } catch {
    return { valid: false, reason: "malformed" };
  }
  if (
    !parsed || typeof parsed !== "object" || parsed.format !== LICENSE_FILE_FORMAT || parsed.alg !== "Ed25519" ||
    typeof parsed.payload !== "string" || typeof parsed.signature !== "string"
  ) {
    return { valid: false, reason: "malformed" };
  }
  let signature: Uint8Array<ArrayBuffer>;
  try {
    signature = base64urlDecode(parsed.signature);
  } catch {
    return { valid: false, reason: "malformed" };
  }
  const key = typeof publicKey === "string" ? await importLicensePublicKey(publicKey) : publicKey;
  const ok = signature.length === 64 &&
    await crypto.subtle.verify("Ed25519", key, signature, signedBytes(parsed.payload));
  if (!ok) return { valid: false, reason: "bad_signature" };
  let payload: LicenseFilePayload;
  try {
    payload = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(base64urlDecode(parsed.payload)));
  } catch {
    return { valid: false, reason: "malformed" };
  }
  if (Date.parse(payload.file_expires_at) <= (opts.now ?? new Date()).getTime()) {
    return { valid: false, reason: "file_expired", payload };
  }
  return { valid: true, payload };
}
