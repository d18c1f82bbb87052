// Who is calling, from the request's bearer token.
//
// By default the functions that use this run with verify_jwt on (config.toml): the platform has checked the
// token against the project's legacy JWT secret before the request reached us, and here its claims are only
// read (expiry re-checked). A project on Supabase's JWT signing keys, whose tokens that check refuses, turns
// verify_jwt off and sets SAASBASE_AUTH=jwks: then every token is verified here (jwks.ts), and the new API
// keys are understood. A project on the legacy secret may give it to the functions (SAASBASE_JWT_SECRET):
// then every token is verified here too, whatever verify_jwt says. Never turn verify_jwt off without one of
// the two: unchecked claims are anyone's.
//
// API keys of our own (sbk_live_..., api-keys.ts) are verified here in every mode, against the database: a
// caller with one is its member (role `authenticated`), with `apiKey` naming the key's account and scopes.
// The functions act for that account (account.ts's callerAccount) and refuse a key without the function's
// scope (403 api_key_scope). docs/api-keys.md says which headers reach a function under which deployment.
import { decodeJwt, errors, jwtVerify } from "jose";
import { type ApiKeyGrant, functionScope, presentedApiKey, verifyApiKey } from "./api-keys.ts";
import { ForbiddenError, ServiceUnavailableError, UnauthorizedError } from "./errors.ts";
import { JwksUnavailableError, verifiedClaims } from "./jwks.ts";

export type ApiRole = "anon" | "authenticated" | "service_role";

export interface Caller {
  role: ApiRole;
  /** The user's id (`sub`), for signed-in users. */
  userId?: string;
  email?: string;
  claims: Record<string, unknown>;
  /** Set when the caller presented an API key: the account it acts for and its scopes. */
  apiKey?: ApiKeyGrant;
}

export interface CallerOptions {
  /** The scope an API key needs here (default: the function's name, the path's first segment). */
  scope?: string;
  /** false: this route takes no API key (403 for one), e.g. a user's own payouts. */
  apiKeys?: boolean;
  /** false: this function runs with verify_jwt off (config.toml), so in the default mode nothing checked a
   * JWT before it: one is then refused unless SAASBASE_JWT_SECRET lets it be verified here. API keys are
   * unaffected (always verified here). */
  platformVerified?: boolean;
}

const API_ROLES: readonly string[] = ["anon", "authenticated", "service_role"];
// GoTrue's user ids; a signed-in caller's `sub` is one (the SQL API casts it to uuid).
const USER_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

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

/** SAASBASE_AUTH=jwks: every token checked here, against Auth's signing keys; unset (or "platform"): the
 * platform's verify_jwt has checked it (legacy JWT secret) and its claims are read. Any other value is a
 * deployment mistake, refused (503) rather than read as "trust the claims". */
function verifiesTokens(): boolean {
  const mode = Deno.env.get("SAASBASE_AUTH") ?? "";
  if (mode === "jwks") return true;
  if (mode === "" || mode === "platform") return false;
  throw new ServiceUnavailableError("SAASBASE_AUTH must be jwks, platform or unset", "service_unavailable");
}

/** The values of a JSON dictionary of keys, as the platform gives them (SUPABASE_SECRET_KEYS, ...). */
function keysIn(name: string): string[] {
  try {
    const value = JSON.parse(Deno.env.get(name) ?? "null");
    return value && typeof value === "object"
      ? Object.values(value).filter((k): k is string => typeof k === "string")
      : [];
  } catch {
    return [];
  }
}

async function digest(text: string): Promise<string> {
  const bytes = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
  return String.fromCharCode(...bytes);
}

/** Whether `key` is one of `known`, comparing digests (no early exit on the first differing character). */
async function oneOf(key: string, known: string[]): Promise<boolean> {
  const mine = await digest(key);
  let found = false;
  for (const k of known) found = (await digest(k) === mine) || found;
  return found;
}

/** The project's keys of a kind: the platform's dictionary `platform`, and our comma-separated list `ours`. */
const known = (platform: string, ours: string) => [
  ...keysIn(platform),
  ...(Deno.env.get(ours) ?? "").split(",").map((k) => k.trim()).filter(Boolean),
];

/** The new API keys: a publishable key is the anon caller, a secret key the service role, each only when it
 * is one of the project's (the platform's SUPABASE_PUBLISHABLE_KEYS / SUPABASE_SECRET_KEYS dictionaries, or
 * the comma-separated SAASBASE_PUBLISHABLE_KEYS / SAASBASE_SECRET_KEYS). Undefined for anything that is not
 * such a key. */
async function apiKeyCaller(token: string): Promise<Caller | undefined> {
  if (token.startsWith("sb_publishable_")) {
    if (!await oneOf(token, known("SUPABASE_PUBLISHABLE_KEYS", "SAASBASE_PUBLISHABLE_KEYS"))) {
      throw new UnauthorizedError("Unknown publishable key", "invalid_token");
    }
    return { role: "anon", claims: { role: "anon" } };
  }
  if (token.startsWith("sb_secret_")) {
    if (!await oneOf(token, known("SUPABASE_SECRET_KEYS", "SAASBASE_SECRET_KEYS"))) {
      throw new UnauthorizedError("Unknown secret key", "invalid_token");
    }
    return { role: "service_role", claims: { role: "service_role" } };
  }
  return undefined;
}

async function verifiedCaller(token: string): Promise<Caller> {
  const byKey = await apiKeyCaller(token);
  if (byKey) return byKey;
  const base = (Deno.env.get("SUPABASE_URL") ?? "").replace(/\/$/, "");
  const jwks = Deno.env.get("SUPABASE_JWKS");
  const url = Deno.env.get("SAASBASE_JWKS_URL") || (base && `${base}/auth/v1/.well-known/jwks.json`);
  if (!jwks && !url) {
    throw new ServiceUnavailableError(
      "No signing keys: SUPABASE_JWKS or SUPABASE_URL is needed",
      "service_unavailable",
    );
  }
  // Auth's access tokens always expire, and a user's is for the `authenticated` audience (the anon and
  // service_role keys have none). The issuer is compared only when SAASBASE_JWT_ISSUER names it: the keys are
  // the project's own, and the URL Auth signs in differs by where the function runs from.
  let role: unknown;
  try {
    role = decodeJwt(token).role; // which checks apply; the signature over it is verified next
  } catch {
    throw new UnauthorizedError("Malformed token", "invalid_token");
  }
  let claims: Record<string, unknown>;
  try {
    claims = await verifiedClaims(token, { jwks, url }, {
      requiredClaims: ["exp"],
      audience: role === "authenticated" ? "authenticated" : undefined,
      issuer: Deno.env.get("SAASBASE_JWT_ISSUER") || undefined,
    });
  } catch (err) {
    if (err instanceof JwksUnavailableError) {
      console.error(err.message); // the URL and the reason stay in the log: anyone can send a token
      throw new ServiceUnavailableError(
        "The signing keys could not be fetched; try again shortly",
        "service_unavailable",
      );
    }
    if (err instanceof errors.JWTExpired) throw new UnauthorizedError("Token expired", "token_expired");
    if (err instanceof errors.JOSEError) {
      throw new UnauthorizedError("The token's signature or claims do not verify", "invalid_token");
    }
    throw err;
  }
  return callerFrom(claims);
}

/** Verifies a legacy (HS256) token with the project's JWT secret, given to the functions as
 * SAASBASE_JWT_SECRET (the platform reserves SUPABASE_* names). */
async function verifiedLegacyClaims(token: string, secret: string): Promise<Record<string, unknown>> {
  try {
    const { payload } = await jwtVerify(token, new TextEncoder().encode(secret), {
      algorithms: ["HS256"],
      requiredClaims: ["exp"],
      issuer: Deno.env.get("SAASBASE_JWT_ISSUER") || undefined,
    });
    return payload as Record<string, unknown>;
  } catch (err) {
    if (err instanceof errors.JWTExpired) throw new UnauthorizedError("Token expired", "token_expired");
    throw new UnauthorizedError("The token's signature or claims do not verify", "invalid_token");
  }
}

/** The member an API key acts as: role `authenticated`, the claims PostgREST would give the member (so the SQL
 * API checks the member's rights as for their own session), and the key's grant. */
async function keyHolder(req: Request, key: string, opts: CallerOptions): Promise<Caller> {
  if (opts.apiKeys === false) {
    throw new ForbiddenError("This takes a signed-in session, not an API key", "api_key_scope");
  }
  const grant = await verifyApiKey(req, key);
  const scope = opts.scope ?? functionScope(req);
  if (grant.scopes && !grant.scopes.includes(scope)) {
    throw new ForbiddenError(`This API key's scopes do not include ${scope}`, "api_key_scope");
  }
  const apiKey = { id: grant.id, accountId: grant.accountId, scopes: grant.scopes };
  return {
    role: "authenticated",
    userId: grant.userId,
    claims: {
      role: "authenticated",
      aud: "authenticated",
      sub: grant.userId,
      is_anonymous: false,
      api_key_id: grant.id,
      api_key_account_id: grant.accountId,
    },
    apiKey,
  };
}

/** The caller; 401 when the header is missing or the token unreadable (or, with SAASBASE_AUTH=jwks, not
 * signed by the project's Auth), expired, of no API role, or a signed-in user's without a user id. With the
 * new API keys a key may come in the `apikey` header alone. */
export async function callerOf(req: Request, opts: CallerOptions = {}): Promise<Caller> {
  const key = presentedApiKey(req);
  if (key) return await keyHolder(req, key, opts);
  const match = /^Bearer\s+(\S+)$/i.exec(req.headers.get("authorization") ?? "");
  if (verifiesTokens()) {
    const token = match?.[1] ?? req.headers.get("apikey");
    if (!token) throw new UnauthorizedError("Missing bearer token", "missing_token");
    return await verifiedCaller(token);
  }
  if (!match) throw new UnauthorizedError("Missing bearer token", "missing_token");
  const secret = Deno.env.get("SAASBASE_JWT_SECRET");
  if (!secret && opts.platformVerified === false) {
    throw new UnauthorizedError(
      "This function takes an API key; a session token needs SAASBASE_JWT_SECRET (or SAASBASE_AUTH=jwks) here",
      "invalid_token",
    );
  }
  let claims: Record<string, unknown>;
  if (secret) {
    claims = await verifiedLegacyClaims(match[1], secret);
  } else {
    try {
      claims = decodeJwt(match[1]); // verified by the platform already
    } catch {
      throw new UnauthorizedError("Malformed token", "invalid_token");
    }
  }
  const caller = callerFrom(claims);
  // The service role's power does not rest on the platform's check alone: its token must be the project's
  // service key itself (which the platform gives every function), so a function deployed with verify_jwt off
  // by mistake cannot be driven by a forged service_role token.
  if (
    caller.role === "service_role" && Deno.env.get("SUPABASE_SERVICE_ROLE_KEY") && !await hasServiceKey(req)
  ) {
    throw new UnauthorizedError("A service_role token must be the project's service key", "invalid_token");
  }
  return caller;
}

/** Whether the request carries the project's service key itself (the legacy service_role key, or one of the
 * new secret keys), as bearer token or apikey: for what a public route shows only its operators. Compared
 * with the keys the platform gives the function, so it holds where verify_jwt is off. */
export async function hasServiceKey(req: Request): Promise<boolean> {
  const bearer = /^Bearer\s+(\S+)$/i.exec(req.headers.get("authorization") ?? "")?.[1];
  const keys = [
    Deno.env.get("SUPABASE_SERVICE_ROLE_KEY"),
    ...known("SUPABASE_SECRET_KEYS", "SAASBASE_SECRET_KEYS"),
  ]
    .filter((k): k is string => !!k);
  if (keys.length === 0) return false;
  // Either header: a gateway may put its own token in Authorization and leave the key in apikey.
  for (const token of [bearer, req.headers.get("apikey")]) {
    if (token && await oneOf(token, keys)) return true;
  }
  return false;
}

/** A signed-in user (not the anon key, not the service role), or an API key's member (`apiKey` set: act for
 * its account, callerAccount); 401 otherwise, 403 api_key_scope for a key without the scope. */
export async function requireUser(req: Request, opts: CallerOptions = {}): Promise<Caller & { userId: string }> {
  const caller = await callerOf(req, opts);
  if (caller.role !== "authenticated" || !caller.userId) {
    throw new UnauthorizedError("Sign in first: this needs a user's access token", "user_required");
  }
  return caller as Caller & { userId: string };
}
