// The encryption keys of user secrets, from the functions' secrets: SAASBASE_SECRETS_KEYS, a JSON object of key
// id -> base64 of 32 random bytes (AES-256), and SAASBASE_SECRETS_KEY_ID, the id new values are encrypted under.
// Older keys stay in the object while `npm run secrets:rotate` moves every secret onto the current one; then
// they can go. Anything missing or malformed is a 503 (secrets_not_configured): no secret is written or read
// without a key, never a plaintext fallback.
//
// WebCrypto and the environment reader given to it only: the same module runs in the functions (Deno) and in
// the rotation command (Node).
import { ServiceUnavailableError } from "../errors.ts";

export interface Keyring {
  /** The id new values are encrypted under. */
  currentId: string;
  keys: ReadonlyMap<string, CryptoKey>;
}

/** Key ids are stored with every ciphertext (public.user_secrets.key_id's check is the same). */
export const KEY_ID = /^[A-Za-z0-9._-]{1,64}$/;

const notConfigured = (why: string) =>
  new ServiceUnavailableError(`User secrets are not available: ${why}`, "secrets_not_configured");

export function base64ToBytes(text: string): Uint8Array<ArrayBuffer> {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

export function bytesToBase64(bytes: Uint8Array): string {
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary);
}

/** A new random key, as SAASBASE_SECRETS_KEYS holds it. */
export function newKeyBase64(): string {
  return bytesToBase64(crypto.getRandomValues(new Uint8Array(32)));
}

// One import per distinct configuration per process (the environment does not change under a running function).
const cache = new Map<string, Promise<Keyring>>();

/** The keyring the environment configures; 503 secrets_not_configured when it configures none, or a bad one. */
export function keyringFrom(env: (name: string) => string | undefined): Promise<Keyring> {
  const json = env("SAASBASE_SECRETS_KEYS") ?? "";
  const currentId = env("SAASBASE_SECRETS_KEY_ID") ?? "";
  const cacheKey = `${currentId}\n${json}`;
  let keyring = cache.get(cacheKey);
  if (!keyring) {
    keyring = importKeyring(json, currentId);
    cache.set(cacheKey, keyring);
    keyring.catch(() => cache.delete(cacheKey));
  }
  return keyring;
}

async function importKeyring(json: string, currentId: string): Promise<Keyring> {
  if (!json) throw notConfigured("SAASBASE_SECRETS_KEYS is not set");
  if (!currentId) throw notConfigured("SAASBASE_SECRETS_KEY_ID is not set");
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    throw notConfigured("SAASBASE_SECRETS_KEYS is not JSON");
  }
  if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) {
    throw notConfigured("SAASBASE_SECRETS_KEYS must be a JSON object of key id -> base64 key");
  }
  const keys = new Map<string, CryptoKey>();
  for (const [id, value] of Object.entries(parsed)) {
    if (!KEY_ID.test(id)) throw notConfigured(`key id ${JSON.stringify(id.slice(0, 70))} is not 1 to 64 of A-Z a-z 0-9 . _ -`);
    let bytes: Uint8Array<ArrayBuffer> | undefined;
    try {
      bytes = typeof value === "string" ? base64ToBytes(value) : undefined;
    } catch { /* reported below */ }
    if (bytes?.length !== 32) throw notConfigured(`key ${id} must be the base64 of 32 bytes`);
    keys.set(id, await crypto.subtle.importKey("raw", bytes, { name: "AES-GCM" }, false, ["encrypt", "decrypt"]));
  }
  if (!keys.has(currentId)) throw notConfigured(`SAASBASE_SECRETS_KEY_ID (${currentId}) is not in SAASBASE_SECRETS_KEYS`);
  return { currentId, keys };
}
