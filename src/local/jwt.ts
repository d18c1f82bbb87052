// HS256 JWTs signed with the project's JWT secret, as GoTrue and Supabase's local stack sign them. The local
// stack mints its anon and service_role keys here and the gateway verifies bearer tokens with the same secret.
// Signing and verifying are jose's (an algorithm allow-list of HS256 alone, exp and nbf checked), not ours.
import { jwtVerify, SignJWT, type JWTPayload } from "jose";

/** The JWT secret of every `supabase start` stack, so keys minted here match the CLI's own. */
export const LOCAL_JWT_SECRET = "super-secret-jwt-token-with-at-least-32-characters-long";

export type JwtClaims = JWTPayload & { role?: string; sub?: string; exp?: number };

const hmacKey = (secret: string) => new TextEncoder().encode(secret);

/** A token of `claims` as given (their order kept, so the CLI's keys come out byte for byte). */
export async function signJwt(claims: JwtClaims, secret: string): Promise<string> {
  return await new SignJWT(claims).setProtectedHeader({ alg: "HS256", typ: "JWT" }).sign(hmacKey(secret));
}

/** The claims of a token signed with `secret` (HS256, nothing else) and not expired, or null for anything else. */
export async function verifyJwt(token: string, secret: string): Promise<JwtClaims | null> {
  try {
    const { payload } = await jwtVerify(token, hmacKey(secret), { algorithms: ["HS256"] });
    return payload as JwtClaims;
  } catch {
    return null;
  }
}

/** The anon and service_role API keys: the claims and expiry `supabase start` uses for its legacy keys. */
export async function apiKeys(secret: string) {
  const exp = 1983812996; // 2032-11-12, as in the CLI's keys
  return {
    anonKey: await signJwt({ iss: "supabase-demo", role: "anon", exp }, secret),
    serviceRoleKey: await signJwt({ iss: "supabase-demo", role: "service_role", exp }, secret),
  };
}

/** A user's access token as GoTrue issues it after sign-in. */
export async function userToken(
  user: { id: string; email?: string; appMetadata?: Record<string, unknown> },
  secret: string,
  ttlSeconds = 3600,
): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return await signJwt(
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
