// What tests know of the throwaway stack, and helpers to talk to it as clients do.
import { inject } from "vitest";
import postgres from "postgres";
import { userToken } from "../../src/local/jwt.ts";
import type { Stack } from "../../src/local/stack.ts";

/** The stack's endpoints and keys (what crosses from the global setup to the test files). */
export type StackInfo = Pick<Stack, "apiUrl" | "functionsUrl" | "storageUrl" | "storageDir" | "dbUrl" | "jwtSecret" | "anonKey"
  | "serviceRoleKey"> & {
  functionsLog: string;
  /** The local Stripe API server the functions' stripe SDK talks to (tests/support/stripe-server.ts). */
  stripeUrl: string;
  /** The local OpenAI-compatible server behind both AI providers (tests/support/openai-server.ts). */
  aiUrl: string;
  /** The local Gemini + OpenAI images server behind the image providers (tests/support/image-servers.ts). */
  imagesUrl: string;
  /** The local mail provider servers the functions send through (tests/support/email-servers.ts). */
  emailUrl: string;
  /** The key file of user secrets the stack made in its temp folder, as `npm run dev` does in .saasbase. */
  secretsKeyFile: string;
};

/** Secrets the test stack's functions get (base URLs of the local servers are added by the global setup). */
export const TEST_FUNCTION_ENV: Record<string, string> = {
  STRIPE_SECRET_KEY: "sk_test_saasbase_local",
  STRIPE_WEBHOOK_SECRET: "whsec_saasbase_local",
  POLAR_ACCESS_TOKEN: "polar_oat_saasbase_local",
  // Standard Webhooks' form: whsec_ and the base64 of the key.
  POLAR_WEBHOOK_SECRET: `whsec_${Buffer.from("saasbase-local-polar-webhook-key").toString("base64")}`,
  OPENAI_API_KEY: "sk-test-openai-local",
  GEMINI_API_KEY: "test-gemini-local",
  // Supabase Auth's Send Email hook secret (the auth-email-hook function; tests sign their calls with it).
  SEND_EMAIL_HOOK_SECRET: `v1,whsec_${Buffer.from("saasbase local send email hook secret").toString("base64")}`,
  // The functions' runtime settings cache bound (15 s by default): tests wait it out after a change.
  SAASBASE_RUNTIME_CACHE_SECONDS: "2",
};

export function stack(): StackInfo {
  return inject("stack");
}

/** A `postgres` connection to the test database, with hosted Supabase's privileges (tests switch roles per
 * transaction as PostgREST does). */
export function connectDb(max = 4) {
  return postgres(stack().dbUrl, { max, onnotice: () => {} });
}

/** GoTrue's own connection (supabase_auth_admin) to the database `sql` is connected to, one per database. */
const authAdmins = new Map<string, postgres.Sql>();
function authAdmin(sql: postgres.Sql): postgres.Sql {
  const { host, port, database } = sql.options;
  const key = `${host[0]}:${port[0]}/${database}`;
  if (!authAdmins.has(key)) {
    authAdmins.set(key, postgres({ host: host[0], port: port[0], database, username: "supabase_auth_admin",
      password: "postgres", ssl: false, max: 2, idle_timeout: 1, onnotice: () => {} }));
  }
  return authAdmins.get(key)!;
}

/** Creates a user as GoTrue does on sign-up: inserted as supabase_auth_admin, which holds no privilege on the
 * app's tables (the triggers on auth.users must do their work as their owner). Returns its id and an access
 * token for it. */
export async function createUser(sql: postgres.Sql, email: string, appMetadata: Record<string, unknown> = {}) {
  const [{ id }] = await authAdmin(sql)`
    insert into auth.users (instance_id, id, aud, role, email, encrypted_password, email_confirmed_at,
      raw_app_meta_data, raw_user_meta_data, created_at, updated_at)
    values ('00000000-0000-0000-0000-000000000000', gen_random_uuid(), 'authenticated', 'authenticated', ${email}, '',
      now(), ${sql.json({ provider: "email", providers: ["email"], ...appMetadata } as postgres.JSONValue)}, '{}', now(), now())
    returning id`;
  return { id: id as string, token: await userToken({ id, email, appMetadata }, stack().jwtSecret) };
}

export function callFunction(name: string, init: RequestInit & { token?: string } = {}) {
  const headers = new Headers(init.headers);
  if (init.token) headers.set("authorization", `Bearer ${init.token}`);
  return fetch(`${stack().functionsUrl}/${name}`, { ...init, headers });
}

/** Runs `fn` in a transaction as the user, exactly as PostgREST runs a request for their access token (whose
 * claims GoTrue builds from the user's row: app_metadata carries the role). */
export function asUser<T>(sql: postgres.Sql, userId: string, fn: (tx: postgres.TransactionSql) => Promise<T>): Promise<T> {
  return sql.begin(async (tx) => {
    await tx`select set_config('request.jwt.claims', jsonb_build_object('sub', id, 'role', 'authenticated',
        'aud', 'authenticated', 'email', email, 'app_metadata', raw_app_meta_data)::text, true),
      set_config('role', 'authenticated', true)
      from auth.users where id = ${userId}`;
    return fn(tx);
  }) as Promise<T>;
}

/** A metered feature of the test's own (no quota on any plan), so tests do not depend on the shipped config. */
export async function createFeature(sql: postgres.Sql, credits: number): Promise<string> {
  const id = `t_${crypto.randomUUID().replaceAll("-", "").slice(0, 12)}`;
  await sql`insert into public.features (id, name, credits) values (${id}, 'Test feature', ${credits})`;
  return id;
}

/** Sets a wallet to exactly `credits` through the API (claw back everything, then grant). */
export async function setBalance(sql: postgres.Sql, userId: string, credits: number) {
  await sql`select public.service_role_debit_credits(${userId}, 1000000000, 'adjustment', 'test reset', null, true)`;
  if (credits > 0) await sql`select public.service_role_grant_credits(${userId}, ${credits}, 'grant', 'test')`;
}

/** Waits out the last 30 s of a UTC day: tests of daily allowances must not straddle midnight (a use after it
 * counts against the next day's). */
export async function awayFromMidnight(): Promise<void> {
  const left = 86_400_000 - (Date.now() % 86_400_000);
  if (left < 30_000) await new Promise((r) => setTimeout(r, left + 1_000));
}
