// One Postgres pool per function instance, over SUPABASE_DB_URL (set by the platform on hosted Supabase and
// by the local stack). Prepared statements stay off because the hosted URL may point at the transaction
// pooler, which cannot keep them.
import postgres from "postgres";
import type { Caller } from "./auth.ts";
import { requireEnv } from "./env.ts";

export type Sql = postgres.Sql;
export type Tx = postgres.TransactionSql;

let pool: Sql | undefined;

export function db(): Sql {
  pool ??= postgres(requireEnv("SUPABASE_DB_URL"), {
    max: Number(Deno.env.get("SAASBASE_DB_POOL_SIZE") ?? 10),
    prepare: false,
    idle_timeout: 20,
    connect_timeout: 5,
    onnotice: () => {},
  });
  return pool;
}

// Deadlocks and serialization failures are the database asking for a retry, not errors to show anyone.
const RETRYABLE = new Set(["40P01", "40001"]);

/**
 * Runs `fn` in a transaction as the caller, exactly as PostgREST runs a request: the JWT's role
 * (`set_config('role', ...)`) and claims (`request.jwt.claims`), so RLS, auth.uid() and the SQL API's
 * checks apply as they would to a supabase-js call.
 */
export async function asCaller<T>(caller: Caller, fn: (tx: Tx) => Promise<T>, attempts = 3): Promise<T> {
  for (let attempt = 1;; attempt++) {
    try {
      return await db().begin(async (tx) => {
        await tx`select set_config('request.jwt.claims', ${JSON.stringify(caller.claims)}, true),
                        set_config('role', ${caller.role}, true)`;
        return await fn(tx);
      }) as T;
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (attempt >= attempts || !code || !RETRYABLE.has(code)) throw err;
    }
  }
}

/**
 * One SQL API call as the caller in a single round trip: the caller's claims are set for the statement's own
 * transaction, then `call` runs. Only for the SECURITY DEFINER API (charge, reserve, settle, release), which
 * reads the claims and not the role; for anything RLS must filter, use asCaller.
 */
export async function callAsCaller<T>(caller: Caller, call: (sql: Sql) => postgres.Fragment): Promise<T> {
  const sql = db();
  const [row] = await sql`select ${call(sql)} as result
    from (select set_config('request.jwt.claims', ${JSON.stringify(caller.claims)}, true)) as caller`;
  return row.result as T;
}
