// Standard Webhooks signatures (standardwebhooks.com), as Supabase Auth signs its HTTP hooks and Svix (Resend) its
// webhooks: the headers
// `webhook-id`, `webhook-timestamp` (Unix seconds) and `webhook-signature` (space-separated `v1,<base64>`
// entries), each entry an HMAC-SHA256 of `<id>.<timestamp>.<raw body>` under a secret given as `v1,whsec_<base64>`
// (the dashboard's form) or `whsec_<base64>`. WebCrypto only, so it runs on Deno and Supabase's edge runtime.

/** Why a request's signature was refused (the hook answers 401 for any of them). */
export class WebhookSignatureError extends Error {}

/** How old (or how far in the future) a signed timestamp may be: Standard Webhooks' recommended five minutes,
 * which bounds how long a captured request could be replayed. */
export const TOLERANCE_SECONDS = 5 * 60;

function base64Bytes(value: string): Uint8Array {
  const bin = atob(value);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

function bytesBase64(bytes: ArrayBuffer): string {
  let bin = "";
  for (const b of new Uint8Array(bytes)) bin += String.fromCharCode(b);
  return btoa(bin);
}

/** The key bytes of one secret (`v1,whsec_...` or `whsec_...`); a malformed secret is a configuration error. */
export function secretKey(secret: string): Uint8Array {
  const bare = secret.trim().replace(/^v1,/, "").replace(/^whsec_/, "");
  try {
    const key = base64Bytes(bare);
    if (key.length === 0) throw new Error("empty");
    return key;
  } catch {
    throw new Error("A webhook secret must be `v1,whsec_<base64>`");
  }
}

async function hmac(key: Uint8Array, content: string): Promise<string> {
  const k = await crypto.subtle.importKey("raw", key as BufferSource, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  return bytesBase64(await crypto.subtle.sign("HMAC", k, new TextEncoder().encode(content)));
}

/** Constant-time comparison of two signatures (same length strings of base64). */
function same(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

/** The `webhook-signature` header's value for a body (what a sender does; tests sign with it too). */
export async function sign(secret: string, id: string, timestamp: number, body: string): Promise<string> {
  return `v1,${await hmac(secretKey(secret), `${id}.${timestamp}.${body}`)}`;
}

export interface VerifiedWebhook {
  id: string;
  timestamp: number;
}

/**
 * Checks a request's Standard Webhooks signature on its raw body against any of `secrets` (several during a
 * rotation). Throws WebhookSignatureError when the headers are missing, the timestamp is outside the tolerance
 * or no signature matches.
 */
export async function verify(
  secrets: string[],
  headers: Headers,
  body: string,
  now: number = Date.now() / 1000,
): Promise<VerifiedWebhook> {
  // Svix (Resend's webhooks) sends the same scheme under its own header names.
  const id = headers.get("webhook-id") ?? headers.get("svix-id");
  const timestamp = headers.get("webhook-timestamp") ?? headers.get("svix-timestamp");
  const signatures = headers.get("webhook-signature") ?? headers.get("svix-signature");
  if (!id || !timestamp || !signatures) {
    throw new WebhookSignatureError("webhook-id, webhook-timestamp and webhook-signature headers are required");
  }
  const ts = Number(timestamp);
  if (!/^\d{1,12}$/.test(timestamp) || Math.abs(now - ts) > TOLERANCE_SECONDS) {
    throw new WebhookSignatureError("The webhook timestamp is too old or too new");
  }
  const offered = signatures.split(" ").filter((s) => s.startsWith("v1,")).map((s) => s.slice(3));
  for (const secret of secrets) {
    const expected = await hmac(secretKey(secret), `${id}.${timestamp}.${body}`);
    if (offered.some((s) => same(s, expected))) return { id, timestamp: ts };
  }
  throw new WebhookSignatureError("No webhook signature matches this payload");
}
