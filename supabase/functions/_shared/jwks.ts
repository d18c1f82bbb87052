// Verifying Supabase Auth's access tokens inside a function, for projects on Supabase's JWT signing keys
// (asymmetric: ES256 or RS256, public keys published as a JWKS by Auth). The platform's verify_jwt check only
// knows the legacy shared secret, and rejects these tokens; such a project turns it off and sets
// SAASBASE_AUTH=jwks, and the functions check every token here (see auth.ts).
//
// Keys come from SAASBASE_JWKS_URL, else Auth's own endpoint under SUPABASE_URL, and are kept for 10 minutes;
// a token naming a key not seen yet refetches them (keys rotate), at most once a minute.

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

let cache: { url: string; keys: Jwk[]; at: number } | undefined;

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

async function keysFrom(url: string, fresh: boolean): Promise<Jwk[]> {
  const now = Date.now();
  const age = cache?.url === url ? now - cache.at : Infinity;
  if (cache && age < KEEP_MS && !(fresh && age > REFETCH_AFTER_MS)) return cache.keys;
  const res = await fetch(url, { signal: AbortSignal.timeout(5_000) });
  if (!res.ok) throw new Error(`JWKS ${url} answered ${res.status}`);
  const body = await res.json() as { keys?: Jwk[] };
  cache = { url, keys: Array.isArray(body.keys) ? body.keys : [], at: now };
  return cache.keys;
}

/** The token's claims when its signature verifies against a key of `jwksUrl`; undefined for any token that
 * does not (unsigned, HS256, unknown key, altered). Expiry is the caller's to check. */
export async function verifiedClaims(
  token: string,
  jwksUrl: string,
): Promise<Record<string, unknown> | undefined> {
  const parts = token.split(".");
  if (parts.length !== 3) return undefined;
  const header = json(parts[0]);
  const claims = json(parts[1]);
  const algorithm = typeof header?.alg === "string" ? ALGORITHMS[header.alg] : undefined;
  if (!header || !claims || !algorithm) return undefined;
  const pick = (keys: Jwk[]) => keys.find((k) => k.kid === header.kid && (!k.alg || k.alg === header.alg));
  const jwk = pick(await keysFrom(jwksUrl, false)) ?? pick(await keysFrom(jwksUrl, true));
  if (!jwk) return undefined;
  try {
    const key = await crypto.subtle.importKey("jwk", jwk, algorithm.import, false, ["verify"]);
    const signed = new TextEncoder().encode(`${parts[0]}.${parts[1]}`);
    return await crypto.subtle.verify(algorithm.verify, key, base64url(parts[2]), signed)
      ? claims
      : undefined;
  } catch {
    return undefined; // a key of another type than the token says, a malformed signature
  }
}
