// Verifying Supabase Auth's access tokens inside a function, for projects on Supabase's JWT signing keys
// (asymmetric: ES256 or RS256). Such a project deploys its functions with the platform's verify_jwt check off
// and SAASBASE_AUTH=jwks, and every token is checked here (see auth.ts).
//
// The keys: the JWKS the platform gives every function (SUPABASE_JWKS), else fetched from SAASBASE_JWKS_URL or
// Auth's own endpoint under SUPABASE_URL, kept 10 minutes; a token naming a key not seen yet refetches them
// (keys rotate), at most once a minute, one fetch at a time; when Auth cannot be reached the keys already
// known stay in use.

type Jwk = JsonWebKey & { kid?: string; alg?: string };

const ALGORITHMS: Record<
  string,
  { import: EcKeyImportParams | RsaHashedImportParams; verify: AlgorithmIdentifier | EcdsaParams }
> = {
  ES256: { import: { name: "ECDSA", namedCurve: "P-256" }, verify: { name: "ECDSA", hash: "SHA-256" } },
  RS256: { import: { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" }, verify: { name: "RSASSA-PKCS1-v1_5" } },
};

const KEEP_MS = 10 * 60_000;
const REFETCH_AFTER_MS = 60_000;

// SUPABASE_JWKS parsed once (it is read on every request), and the keys fetched from a URL.
let given: { text: string; keys: Jwk[] } | undefined;
let cache: { source: string; keys: Jwk[]; at: number } | undefined;
let lastAttempt = 0;
let inFlight: Promise<Jwk[]> | undefined;

function base64url(segment: string): Uint8Array<ArrayBuffer> {
  const base64 = segment.replace(/-/g, "+").replace(/_/g, "/").padEnd(Math.ceil(segment.length / 4) * 4, "=");
  return Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
}

function json(segment: string): Record<string, unknown> | undefined {
  try {
    const value = JSON.parse(new TextDecoder().decode(base64url(segment)));
    return typeof value === "object" && value !== null && !Array.isArray(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

/** The keys of a JWKS: `{ keys: [...] }`, or the bare array some tools give. */
const keysOf = (set: unknown): Jwk[] => {
  const keys = Array.isArray(set) ? set : (set as { keys?: unknown } | null)?.keys;
  return Array.isArray(keys) ? keys as Jwk[] : [];
};

async function fetchKeys(url: string): Promise<Jwk[]> {
  lastAttempt = Date.now();
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(5_000) });
    if (!res.ok) throw new Error(`JWKS ${url} answered ${res.status}`);
    cache = { source: url, keys: keysOf(await res.json()), at: Date.now() };
  } catch (err) {
    if (cache?.source !== url) throw new JwksUnavailableError(String(err)); // nothing known to fall back on
    console.error("JWKS refresh failed; keeping the keys known", err);
  }
  return cache.keys;
}

/** Auth's signing keys could not be had (and none are known yet). */
export class JwksUnavailableError extends Error {
  constructor(reason: string) {
    super(`The signing keys could not be fetched: ${reason}`);
    this.name = "JwksUnavailableError";
  }
}

/** The signing keys: `jwks` as given (the platform's SUPABASE_JWKS), or those at `url`. */
async function signingKeys(source: { jwks?: string; url: string }, fresh: boolean): Promise<Jwk[]> {
  if (source.jwks) {
    if (given?.text !== source.jwks) {
      let keys: Jwk[] = [];
      try {
        keys = keysOf(JSON.parse(source.jwks));
      } catch { /* not JSON: no keys */ }
      given = { text: source.jwks, keys };
    }
    return given.keys;
  }
  const known = cache?.source === source.url ? cache : undefined;
  const stale = !known || Date.now() - known.at >= KEEP_MS;
  // A refetch (stale keys, or a key not seen yet) at most once a minute, whether the last one worked or not.
  if (known && (!(stale || fresh) || Date.now() - lastAttempt < REFETCH_AFTER_MS)) return known.keys;
  inFlight ??= fetchKeys(source.url).finally(() => (inFlight = undefined));
  return await inFlight;
}

/** The token's claims when its signature verifies against one of the signing keys; undefined for any token
 * that does not (unsigned, HS256, unknown key, altered). The claims themselves are the caller's to check. */
export async function verifiedClaims(
  token: string,
  source: { jwks?: string; url: string },
): Promise<Record<string, unknown> | undefined> {
  const parts = token.split(".");
  if (parts.length !== 3) return undefined;
  const header = json(parts[0]);
  const claims = json(parts[1]);
  const alg = header?.alg;
  if (!header || !claims || typeof alg !== "string" || !Object.hasOwn(ALGORITHMS, alg)) return undefined;
  if (typeof header.kid !== "string" || !header.kid) return undefined;
  const pick = (keys: Jwk[]) => keys.find((k) => k.kid === header.kid && (!k.alg || k.alg === alg));
  const jwk = pick(await signingKeys(source, false)) ?? pick(await signingKeys(source, true));
  if (!jwk) return undefined;
  try {
    const key = await crypto.subtle.importKey("jwk", jwk, ALGORITHMS[alg].import, false, ["verify"]);
    const signed = new TextEncoder().encode(`${parts[0]}.${parts[1]}`);
    return await crypto.subtle.verify(ALGORITHMS[alg].verify, key, base64url(parts[2]), signed)
      ? claims
      : undefined;
  } catch {
    return undefined; // a key of another type than the token says, a malformed signature
  }
}
