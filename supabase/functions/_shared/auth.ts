// Who is calling, from the request's bearer token.
//
// By default the functions that use this run with verify_jwt on (config.toml): the platform has checked the
// token against the project's legacy JWT secret before the request reached us, and here its claims are only
// read (expiry re-checked). A project on Supabase's JWT signing keys, whose tokens that check refuses, turns
// verify_jwt off and sets SAASBASE_AUTH=jwks: then every token is verified here (jwks.ts), and the new API
// keys are understood. Never turn verify_jwt off without SAASBASE_AUTH=jwks: unchecked claims are anyone's.
import { requireEnv } from "./env.ts";
import { UnauthorizedError } from "./errors.ts";
import { verifiedClaims } from "./jwks.ts";

export type ApiRole = "anon" | "authenticated" | "service_role";

export interface Caller {
  role: ApiRole;
  /** The user's id (`sub`), for signed-in users. */
  userId?: string;
  email?: string;
  claims: Record<string, unknown>;
}

const API_ROLES: readonly string[] = ["anon", "authenticated", "service_role"];
// GoTrue's user ids; a signed-in caller's `sub` is one (the SQL API casts it to uuid).
const USER_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function decodeSegment(segment: string): unknown {
  const base64 = segment.replace(/-/g, "+").replace(/_/g, "/").padEnd(Math.ceil(segment.length / 4) * 4, "=");
  return JSON.parse(new TextDecoder().decode(Uint8Array.from(atob(base64), (c) => c.charCodeAt(0))));
}

/** The caller from verified claims; 401 when expired, of no API role, or a signed-in user's without a user id. */
function callerFrom(claims: Record<string, unknown>): Caller {
  if (typeof claims.exp === "number" && claims.exp * 1000 <= Date.now()) {
    throw new UnauthorizedError("Token expired", "token_expired");
  }
  const role = claims.role;
  if (typeof role !== "string" || !API_ROLES.includes(role)) {
    throw new UnauthorizedError("Token has no API role", "invalid_token");
  }
  if (role === "authenticated" && (typeof claims.sub !== "string" || !USER_ID.test(claims.sub))) {
    throw new UnauthorizedError("A signed-in user's token must name the user (sub)", "invalid_token");
  }
  return {
    role: role as ApiRole,
    userId: typeof claims.sub === "string" ? claims.sub : undefined,
    email: typeof claims.email === "string" ? claims.email : undefined,
    claims,
  };
}

/** SAASBASE_AUTH=jwks: every token checked here, against Auth's signing keys; otherwise the platform's
 * verify_jwt has checked it (legacy JWT secret) and its claims are read. */
function verifiesTokens(): boolean {
  return Deno.env.get("SAASBASE_AUTH") === "jwks";
}

/** With the new API keys, a publishable key is the anon caller and a secret key the service role: secret keys
 * are recognized only when listed in SAASBASE_SECRET_KEYS (comma-separated), never by their prefix alone. */
function apiKeyCaller(token: string): Caller | undefined {
  if (token.startsWith("sb_publishable_")) return { role: "anon", claims: { role: "anon" } };
  if (token.startsWith("sb_secret_")) {
    const known = (Deno.env.get("SAASBASE_SECRET_KEYS") ?? "").split(",").map((k) => k.trim()).filter(
      Boolean,
    );
    if (!known.includes(token)) throw new UnauthorizedError("Unknown secret key", "invalid_token");
    return { role: "service_role", claims: { role: "service_role" } };
  }
  return undefined;
}

async function verifiedCaller(token: string): Promise<Caller> {
  const byKey = apiKeyCaller(token);
  if (byKey) return byKey;
  const jwksUrl = Deno.env.get("SAASBASE_JWKS_URL") ||
    `${requireEnv("SUPABASE_URL").replace(/\/$/, "")}/auth/v1/.well-known/jwks.json`;
  const claims = await verifiedClaims(token, jwksUrl);
  if (!claims) throw new UnauthorizedError("The token's signature does not verify", "invalid_token");
  return callerFrom(claims);
}

/** The caller; 401 when the header is missing or the token unreadable (or, with SAASBASE_AUTH=jwks, not
 * signed by the project's Auth), expired, of no API role, or a signed-in user's without a user id. */
export async function callerOf(req: Request): Promise<Caller> {
  const match = /^Bearer\s+(\S+)$/i.exec(req.headers.get("authorization") ?? "");
  if (!match) throw new UnauthorizedError("Missing bearer token", "missing_token");
  if (verifiesTokens()) return await verifiedCaller(match[1]);
  let claims: Record<string, unknown>;
  try {
    const payload = decodeSegment(match[1].split(".")[1] ?? "");
    if (typeof payload !== "object" || payload === null) throw new Error("not an object");
    claims = payload as Record<string, unknown>;
  } catch {
    throw new UnauthorizedError("Malformed token", "invalid_token");
  }
  return callerFrom(claims);
}

/** A signed-in user (not the anon key, not the service role); 401 otherwise. */
export async function requireUser(req: Request): Promise<Caller & { userId: string }> {
  const caller = await callerOf(req);
  if (caller.role !== "authenticated" || !caller.userId) {
    throw new UnauthorizedError("Sign in first: this needs a user's access token", "user_required");
  }
  return caller as Caller & { userId: string };
}
