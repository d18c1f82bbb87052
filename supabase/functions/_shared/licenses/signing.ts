// The licenses function's Ed25519 signing key, from the function secret SAASBASE_LICENSE_SIGNING_KEY: a PKCS#8
// private key, as PEM (`openssl genpkey -algorithm ed25519`) or its DER in base64. The local stack makes one
// per state folder (src/local/license-signing-key.ts). Its public key (what apps verify files with) and key id
// are derived from it, so nothing else needs setting.
import { ServiceUnavailableError } from "../errors.ts";
import { base64urlDecode, base64urlEncode } from "./file.ts";

export interface LicenseSigningKey {
  privateKey: CryptoKey;
  /** The 32 raw bytes of the public key, base64url. */
  publicKey: string;
  /** The first 16 hex characters of the public key's SHA-256: which key signed a file, for rotations. */
  kid: string;
}

let cached: { secret: string; key: Promise<LicenseSigningKey> } | undefined;

export async function importSigningKey(secret: string): Promise<LicenseSigningKey> {
  const body = secret.replace(/-----(BEGIN|END) PRIVATE KEY-----/g, "").replace(/\s+/g, "");
  const der = base64urlDecode(body);
  // Extractable, for its public half (the JWK's x); the private key never leaves this process.
  const privateKey = await crypto.subtle.importKey("pkcs8", der, { name: "Ed25519" }, true, ["sign"]);
  const jwk = await crypto.subtle.exportKey("jwk", privateKey);
  if (!jwk.x) throw new Error("no public key in the signing key");
  const raw = base64urlDecode(jwk.x);
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", raw));
  const kid = [...digest.slice(0, 8)].map((b) => b.toString(16).padStart(2, "0")).join("");
  return { privateKey, publicKey: base64urlEncode(raw), kid };
}

/** The configured key; 503 license_signing_not_configured when the secret is missing or not an Ed25519 key. */
export async function licenseSigningKey(): Promise<LicenseSigningKey> {
  const secret = Deno.env.get("SAASBASE_LICENSE_SIGNING_KEY") ?? "";
  if (!secret) {
    throw new ServiceUnavailableError(
      "License files are not signed here: SAASBASE_LICENSE_SIGNING_KEY is not set",
      "license_signing_not_configured",
    );
  }
  if (cached?.secret !== secret) cached = { secret, key: importSigningKey(secret) };
  try {
    return await cached.key;
  } catch (err) {
    cached = undefined;
    console.error(`SAASBASE_LICENSE_SIGNING_KEY: ${(err as Error).message}`);
    throw new ServiceUnavailableError(
      "SAASBASE_LICENSE_SIGNING_KEY is not an Ed25519 private key (PKCS#8, PEM or base64)",
      "license_signing_not_configured",
    );
  }
}
