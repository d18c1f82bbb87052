// Verifying Supabase Auth's access tokens inside a function, for projects on Supabase's JWT signing keys
// (asymmetric: ES256 or RS256). Such a project deploys its functions with the platform's verify_jwt check off
// and SAASBASE_AUTH=jwks, and every token is checked here (see auth.ts). The signature, the algorithm
// allow-list, the key's choice by `kid` and the time claims are jose's; what is ours is where the keys come
// from and what happens when they cannot be had.
//
// The keys: the JWKS the platform gives every function (SUPABASE_JWKS), else fetched from SAASBASE_JWKS_URL or
// Auth's own endpoint under SUPABASE_URL (jose's remote set: kept 10 minutes, refetched for a key not seen yet
// at most once a minute, one fetch at a time). When Auth cannot be reached the keys already known stay in use,
// and the next attempt waits a minute.
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  errors,
  type JSONWebKeySet,
  jwtVerify,
  type JWTVerifyGetKey,
  type JWTVerifyOptions,
} from "jose";

/** The algorithms Auth signs access tokens with; anything else (HS256, none) is refused before any key. */
const ALGORITHMS = ["ES256", "RS256"];
const KEEP_MS = 10 * 60_000;
const RETRY_AFTER_MS = 60_000;

/** Auth's signing keys could not be had (and none are known yet). */
export class JwksUnavailableError extends Error {
  constructor(reason: string) {
    super(`The signing keys could not be fetched: ${reason}`);
    this.name = "JwksUnavailableError";
  }
}

/** The keys of a JWKS: `{ keys: [...] }`, or the bare array some tools give. */
function keySetOf(text: string): JSONWebKeySet {
  try {
    const set = JSON.parse(text);
    const keys = Array.isArray(set) ? set : set?.keys;
    return { keys: Array.isArray(keys) ? keys.filter((k) => typeof k === "object" && k !== null) : [] };
  } catch {
    return { keys: [] }; // not JSON: no keys
  }
}

// SUPABASE_JWKS read into a key set once (it is read on every request), and one remote set per URL.
let given: { text: string; keys: JWTVerifyGetKey } | undefined;
const remotes = new Map<string, { keys: ReturnType<typeof createRemoteJWKSet>; failedAt: number }>();

/** A fetch of the keys that failed (network, timeout, an answer that is no key set), as opposed to a token
 * that names no known key or a key of another kind. */
const fetchFailed = (err: unknown) =>
  !(err instanceof errors.JOSEError) || ["ERR_JOSE_GENERIC", "ERR_JWKS_TIMEOUT", "ERR_JWKS_INVALID"].includes(err.code);

/** The key for a token from the keys at `url`, falling back on those already known when Auth is unreachable. */
function remoteKey(url: string): JWTVerifyGetKey {
  let remote = remotes.get(url);
  if (!remote) {
    remote = {
      keys: createRemoteJWKSet(new URL(url), {
        timeoutDuration: 5_000,
        cacheMaxAge: KEEP_MS,
        cooldownDuration: RETRY_AFTER_MS,
      }),
      failedAt: -Infinity,
    };
    remotes.set(url, remote);
  }
  const r = remote;
  return async (header, token) => {
    const known = r.keys.jwks();
    if (known && Date.now() - r.failedAt < RETRY_AFTER_MS) return await createLocalJWKSet(known)(header, token);
    try {
      return await r.keys(header, token);
    } catch (err) {
      if (!fetchFailed(err)) throw err;
      r.failedAt = Date.now();
      if (!known) throw new JwksUnavailableError(String(err)); // nothing known to fall back on
      console.error(`JWKS refresh failed; keeping the keys known: ${err}`);
      return await createLocalJWKSet(known)(header, token);
    }
  };
}

/** The signing keys: `jwks` as given (the platform's SUPABASE_JWKS), or those at `url`. */
function signingKeys(source: { jwks?: string; url: string }): JWTVerifyGetKey {
  if (!source.jwks) return remoteKey(source.url);
  if (given?.text !== source.jwks) given = { text: source.jwks, keys: createLocalJWKSet(keySetOf(source.jwks)) };
  return given.keys;
}

/** The token's claims when its signature verifies against one of the signing keys and its time claims hold;
 * jose's error otherwise (JWTExpired for an expired one), JwksUnavailableError when no keys can be had.
 * `checks` adds what the caller requires (exp, the audience, the issuer). */
export async function verifiedClaims(
  token: string,
  source: { jwks?: string; url: string },
  checks: Pick<JWTVerifyOptions, "audience" | "issuer" | "requiredClaims"> = {},
): Promise<Record<string, unknown>> {
  const { payload } = await jwtVerify(token, signingKeys(source), { algorithms: ALGORITHMS, ...checks });
  return payload;
}
