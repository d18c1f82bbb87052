// What tests know of the throwaway stack, and helpers to talk to it as clients do.
import { inject } from "vitest";
import postgres from "postgres";
import { userToken } from "../../src/local/jwt.ts";

export interface StackInfo {
  apiUrl: string;
  functionsUrl: string;
  dbUrl: string;
  jwtSecret: string;
  anonKey: string;
  serviceRoleKey: string;
  functionsLog: string;
}

/** Secrets the test stack's functions get (Stripe configured, AI providers not). */
export const TEST_FUNCTION_ENV: Record<string, string> = {
  STRIPE_SECRET_KEY: "sk_test_saasbase_local",
  STRIPE_WEBHOOK_SECRET: "whsec_saasbase_local",
};

export function stack(): StackInfo {
  return inject("stack");
}

/** A superuser connection to the test database (tests switch roles per transaction as PostgREST does). */
export function connectDb(max = 4) {
  return postgres(stack().dbUrl, { max, onnotice: () => {} });
}

/** Creates a user as GoTrue does on sign-up; returns its id and an access token for it. */
export async function createUser(sql: postgres.Sql, email: string, appMetadata: Record<string, unknown> = {}) {
  const [{ id }] = await sql`
    insert into auth.users (instance_id, id, aud, role, email, encrypted_password, email_confirmed_at,
      raw_app_meta_data, raw_user_meta_data, created_at, updated_at)
    values ('00000000-0000-0000-0000-000000000000', gen_random_uuid(), 'authenticated', 'authenticated', ${email}, '',
      now(), ${sql.json({ provider: "email", providers: ["email"], ...appMetadata } as postgres.JSONValue)}, '{}', now(), now())
    returning id`;
  return { id: id as string, token: userToken({ id, email, appMetadata }, stack().jwtSecret) };
}

export function callFunction(name: string, init: RequestInit & { token?: string } = {}) {
  const headers = new Headers(init.headers);
  if (init.token) headers.set("authorization", `Bearer ${init.token}`);
  return fetch(`${stack().functionsUrl}/${name}`, { ...init, headers });
}
