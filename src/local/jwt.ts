// HS256 JWTs signed with the project's JWT secret, as GoTrue and Supabase's local stack sign them. The local
// stack mints its anon and service_role keys here and the gateway verifies bearer tokens with the same secret.
import { createHmac, timingSafeEqual } from "node:crypto";

/** The JWT secret of every `supabase start` stack, so keys minted here match the CLI's own. */
export const LOCAL_JWT_SECRET = "super-secret-jwt-token-with-at-least-32-characters-long";

export type JwtClaims = Record<string, unknown> & { role?: string; sub?: string; exp?: number };

const b64url = (data: string | Buffer) => Buffer.from(data).toString("base64url");

export function signJwt(claims: JwtClaims, secret: string): string {
  const head = b64url(JSON.stringify({ alg: "HS256", typ: "JWT" }));
  const body = b64url(JSON.stringify(claims));
  const sig = createHmac("sha256", secret).update(`${head}.${body}`).digest("base64url");
  return `${head}.${body}.${sig}`;
}

/** The claims of a token signed with `secret` and not expired, or null for anything else. */
export function verifyJwt(token: string, secret: string, nowSeconds = Date.now() / 1000): JwtClaims | null {
  const parts = token.split(".");
  if (parts.length !== 3) return null;
  const [head, body, sig] = parts;
  try {
    const header = JSON.parse(Buffer.from(head, "base64url").toString("utf8"));
    if (header?.alg !== "HS256") return null;
    const expected = createHmac("sha256", secret).update(`${head}.${body}`).digest();
    const given = Buffer.from(sig, "base64url");
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
    const claims = JSON.parse(Buffer.from(body, "base64url").toString("utf8"));
    if (typeof claims !== "object" || claims === null) return null;
    if (typeof claims.exp === "number" && claims.exp <= nowSeconds) return null;
    return claims as JwtClaims;
  } catch {
    return null;
  }
}

/** The anon and service_role API keys: the claims and expiry `supabase start` uses for its legacy keys. */
export function apiKeys(secret: string) {
  const exp = 1983812996; // 2032-11-12, as in the CLI's keys
  return {
    anonKey: signJwt({ iss: "supabase-demo", role: "anon", exp }, secret),
    serviceRoleKey: signJwt({ iss: "supabase-demo", role: "service_role", exp }, secret),
  };
}

/** A user's access token as GoTrue issues it after sign-in. */
export function userToken(
  user: { id: string; email?: string; appMetadata?: Record<string, unknown> },
  secret: string,
  ttlSeconds = 3600,
): string {
  const now = Math.floor(Date.now() / 1000);
  return signJwt(
    {
      aud: "authenticated",
      sub: user.id,
      email: user.email ?? "",
      role: "authenticated",
      app_metadata: { provider: "email", providers: ["email"], ...user.appMetadata },
      user_metadata: {},
      aal: "aal1",
      amr: [{ method: "password", timestamp: now }],
      session_id: crypto.randomUUID(),
      is_anonymous: false,
      iat: now,
      exp: now + ttlSeconds,
    },
    secret,
  );
}
