// One-click unsubscribe links (RFC 8058). A notification mail carries
//   List-Unsubscribe: <https://<project>/functions/v1/email-webhook/unsubscribe?token=...>
//   List-Unsubscribe-Post: List-Unsubscribe=One-Click
// and the same link in its footer. The token is the address and an HMAC-SHA256 of it under a secret of the
// backend's (SAASBASE_EMAIL_UNSUBSCRIBE_SECRET, else one derived from the service role key): nobody can
// unsubscribe an address they were not mailed at, and no table of tokens is kept. A token has no expiry: an
// unsubscribe link must keep working as long as the mail is read (rotating the secret retires every link).
import { optionalEnv, requireEnv } from "../env.ts";

const enc = new TextEncoder();

function b64url(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function fromB64url(text: string): Uint8Array<ArrayBuffer> | undefined {
  if (!/^[A-Za-z0-9_-]*$/.test(text)) return undefined;
  try {
    const bin = atob(text.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - (text.length % 4)) % 4));
    return Uint8Array.from(bin, (c) => c.charCodeAt(0));
  } catch {
    return undefined;
  }
}

let keyPromise: Promise<CryptoKey> | undefined;
let keySecret: string | undefined;

/** The HMAC key: the dedicated secret, else HMAC(service role key, "saasbase email unsubscribe") so that the
 * service key itself never signs anything a user sees. */
function key(): Promise<CryptoKey> {
  const secret = optionalEnv("SAASBASE_EMAIL_UNSUBSCRIBE_SECRET") ?? `derived:${requireEnv("SUPABASE_SERVICE_ROLE_KEY")}`;
  if (keyPromise && keySecret === secret) return keyPromise;
  keySecret = secret;
  keyPromise = (async () => {
    let raw = enc.encode(secret);
    if (secret.startsWith("derived:")) {
      const base = await crypto.subtle.importKey("raw", raw, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
      raw = new Uint8Array(await crypto.subtle.sign("HMAC", base, enc.encode("saasbase email unsubscribe")));
    }
    return crypto.subtle.importKey("raw", raw, { name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"]);
  })();
  return keyPromise;
}

/** The token for an address (lower-cased). */
export async function unsubscribeToken(email: string): Promise<string> {
  const address = email.trim().toLowerCase();
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", await key(), enc.encode(`unsubscribe:${address}`)));
  return `${b64url(enc.encode(address))}.${b64url(mac)}`;
}

/** The address a token was made for, or undefined when it is not one of ours (HMAC verify: constant time). */
export async function verifyUnsubscribeToken(token: string | null | undefined): Promise<string | undefined> {
  if (!token || token.length > 1200) return undefined;
  const [addr, mac, extra] = token.split(".");
  if (extra !== undefined || !addr || !mac) return undefined;
  const addressBytes = fromB64url(addr);
  const macBytes = fromB64url(mac);
  if (!addressBytes || !macBytes) return undefined;
  const address = new TextDecoder().decode(addressBytes);
  const ok = await crypto.subtle.verify("HMAC", await key(), macBytes, enc.encode(`unsubscribe:${address}`));
  return ok ? address : undefined;
}

/** Where the email-webhook function answers: the project's URL (SUPABASE_URL on hosted and local alike). */
export function functionsUrl(): string {
  return `${requireEnv("SUPABASE_URL").replace(/\/+$/, "")}/functions/v1`;
}

export async function unsubscribeUrl(email: string): Promise<string> {
  return `${functionsUrl()}/email-webhook/unsubscribe?token=${await unsubscribeToken(email)}`;
}

/** The headers of RFC 8058's one-click unsubscribe, for non-transactional mail. */
export function listUnsubscribeHeaders(url: string): Record<string, string> {
  return { "List-Unsubscribe": `<${url}>`, "List-Unsubscribe-Post": "List-Unsubscribe=One-Click" };
}
