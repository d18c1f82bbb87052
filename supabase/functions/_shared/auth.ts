// Who is calling, from the request's bearer JWT.
//
// Functions that use this run with verify_jwt on (config.toml), so the platform has already checked the
// token's signature and expiry before the request reached us: here its claims are only decoded (and expiry
// re-checked, which costs nothing). Never use it in a function with verify_jwt off.
import { UnauthorizedError } from "./errors.ts";

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

/** The caller's claims; 401 when the header is missing or the token unreadable, expired, of no API role, or a
 * signed-in user's without a user id. */
export function callerOf(req: Request): Caller {
  const match = /^Bearer\s+(\S+)$/i.exec(req.headers.get("authorization") ?? "");
  if (!match) throw new UnauthorizedError("Missing bearer token", "missing_token");
  let claims: Record<string, unknown>;
  try {
    const payload = decodeSegment(match[1].split(".")[1] ?? "");
    if (typeof payload !== "object" || payload === null) throw new Error("not an object");
    claims = payload as Record<string, unknown>;
  } catch {
    throw new UnauthorizedError("Malformed token", "invalid_token");
  }
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

/** A signed-in user (not the anon key, not the service role); 401 otherwise. */
export function requireUser(req: Request): Caller & { userId: string } {
  const caller = callerOf(req);
  if (caller.role !== "authenticated" || !caller.userId) {
    throw new UnauthorizedError("Sign in first: this needs a user's access token", "user_required");
  }
  return caller as Caller & { userId: string };
}
