// API keys (sbk_live_...): reading one from a request and verifying it. A key reaches a function as
// `Authorization: Bearer sbk_live_...` or in `x-api-key` (with verify_jwt on, the platform's gate only lets
// the first through for functions deployed without it: docs/api-keys.md). Verification is one statement
// through the database's service-role API (public.service_role_verify_api_key): one probe of the hash's unique
// index, the client IP's and the key's rate limits counted in the same round trip.
//
// Constant behaviour: the key is hashed before anything else, and an unknown, revoked or expired key (or a
// removed member's, a deleted user's) takes the same statement and gets the same 401; what differs inside
// the database (an index hit whose row is filtered out, or a miss) is microseconds against a network round
// trip, and a key is 238 random bits: there is nothing to enumerate.
import { config } from "./config.ts";
import { db } from "./db.ts";
import { dbCall } from "./db-errors.ts";
import { UnauthorizedError } from "./errors.ts";

/** What a verified key grants: its account and scopes (null = every function). */
export interface ApiKeyGrant {
  id: string;
  accountId: string;
  scopes: string[] | null;
}

const PREFIX = "sbk_";

/** The API key a request presents, or undefined when it presents none. A key in the wrong place (the
 * `apikey` header, which is Supabase's own keys', or Authorization without `Bearer`), or something that is no
 * key in `x-api-key`, is a 401 invalid_api_key saying where keys go, rather than an anonymous request. */
export function presentedApiKey(req: Request): string | undefined {
  const header = req.headers.get("x-api-key");
  if (header !== null) {
    const key = /^(?:Bearer\s+)?(\S+)$/i.exec(header.trim())?.[1];
    if (!key?.startsWith(PREFIX)) {
      throw new UnauthorizedError("x-api-key takes an API key (sbk_live_...)", "invalid_api_key");
    }
    return key;
  }
  const authorization = req.headers.get("authorization") ?? "";
  const bearer = /^Bearer\s+(\S+)$/i.exec(authorization)?.[1];
  if (bearer?.startsWith(PREFIX)) return bearer;
  if ((!bearer && authorization.includes(PREFIX)) || req.headers.get("apikey")?.startsWith(PREFIX)) {
    throw new UnauthorizedError(
      "Send the API key as `Authorization: Bearer sbk_live_...` or in the `x-api-key` header",
      "invalid_api_key",
    );
  }
  return undefined;
}

export async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** The client's IP for the per-IP limit: the first address of `x-forwarded-for`, which Supabase's edge sets
 * for the function (the local stack passes the client's own header on). Whoever can send the function a
 * request without passing that edge could pick it; see docs/api-keys.md. Undefined when absent or not an
 * address (no per-IP count then; the per-key one still holds). */
export function clientIp(req: Request): string | undefined {
  const first = req.headers.get("x-forwarded-for")?.split(",")[0]?.trim();
  return first && /^[0-9A-Fa-f:.]{2,45}$/.test(first) ? first.toLowerCase() : undefined;
}

/** The key's grant, with its member; 401 invalid_api_key for any key that does not verify, 429 rate_limited
 * (Retry-After) past the IP's or the key's limit. */
export async function verifyApiKey(req: Request, key: string): Promise<ApiKeyGrant & { userId: string }> {
  const hash = await sha256Hex(key);
  const { perIp, perKey } = config.apiKeys;
  const rows = await dbCall(db()<{ id: string; account_id: string; user_id: string; scopes: string[] | null }[]>`
    select id, account_id, user_id, scopes from public.service_role_verify_api_key(${hash}, ${clientIp(req) ?? null},
      ${perIp?.max ?? null}, ${perIp?.windowSeconds ?? null}, ${perKey?.max ?? null}, ${perKey?.windowSeconds ?? null})`);
  const row = rows[0];
  if (!row) throw new UnauthorizedError("Unknown, revoked or expired API key", "invalid_api_key");
  return { id: row.id, accountId: row.account_id, userId: row.user_id, scopes: row.scopes };
}

/** The scope a request needs by default: the function's name (the first segment of the path the platform
 * gives it, `/<name>/...`). */
export function functionScope(req: Request): string {
  const segments = new URL(req.url).pathname.split("/").filter(Boolean);
  if (segments[0] === "functions" && segments[1] === "v1") segments.splice(0, 2);
  return segments[0] ?? "";
}
