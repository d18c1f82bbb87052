// One Postgres pool per function instance, over SUPABASE_DB_URL (set by the platform on hosted Supabase and
// by the local stack: a direct connection), or SAASBASE_DB_URL when set (a secret of the project's own: the
// platform reserves SUPABASE_* names), e.g. the transaction pooler for many function instances.
import postgres from "postgres";
import type { Caller } from "./auth.ts";
import { requireEnv } from "./env.ts";

export type Sql = postgres.Sql;
export type Tx = postgres.TransactionSql;
export type Fragment = postgres.Fragment;

let pool: Sql | undefined;

/**
 * Whether to use named prepared statements. They halve the round trips: without them, postgres.js asks the
 * server for the parameter types of every query with parameters (Parse/Describe, wait, then Bind/Execute), a
 * second round trip each time. The transaction pooler (Supavisor or PgBouncer in transaction mode, port 6543
 * or `?pgbouncer=true`) cannot keep them, so they are off there; a direct connection or session mode keeps
 * them. SAASBASE_DB_PREPARE=true|false overrides the guess.
 */
export function usePreparedStatements(url: string, override: string | undefined): boolean {
  if (override === "true" || override === "false") return override === "true";
  try {
    const parsed = new URL(url.replace(/^postgres(ql)?:/, "http:"));
    return parsed.port !== "6543" && parsed.searchParams.get("pgbouncer") !== "true";
  } catch {
    return false; // unreadable here (postgres.js may still read it): the setting that works everywhere
  }
}

function connect(url: string): Sql {
  return postgres(url, {
    // Small: every instance of every function has a pool of its own against the database's connection limit.
    max: Number(Deno.env.get("SAASBASE_DB_POOL_SIZE") ?? 4),
    prepare: usePreparedStatements(url, Deno.env.get("SAASBASE_DB_PREPARE")),
    // A new connection is a new backend, which loads the catalogs and compiles the PL/pgSQL API afresh (tens
    // of milliseconds before its first call answers): connections stay open through quiet spells.
    idle_timeout: 120,
    connect_timeout: 5,
    onnotice: () => {},
  });
}

export function db(): Sql {
  pool ??= connect(Deno.env.get("SAASBASE_DB_URL") || requireEnv("SUPABASE_DB_URL"));
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
 * One SQL API call as the caller, in a single round trip where asCaller takes four (begin, the claims, the call,
 * commit): the caller's claims are set for the statement's own transaction, then `call` runs, and its composite
 * result comes back as JSON (bigints as numbers, as PostgREST sends them). Only for the SECURITY DEFINER API
 * (charge, reserve, settle, release), which reads the claims and not the role; for anything RLS must filter,
 * use asCaller. Deadlocks and serialization failures are retried, as asCaller retries them.
 */
export async function callAsCaller<T>(caller: Caller, call: (sql: Sql) => Fragment, attempts = 3): Promise<T> {
  for (let attempt = 1;; attempt++) {
    try {
      const sql = db();
      // The claims are set in a FROM subquery, which Postgres evaluates before the select list: a subquery
      // with a volatile function in it is never merged into its parent or dropped.
      const [row] = await sql`select to_jsonb(${call(sql)}) as result
        from (select set_config('request.jwt.claims', ${JSON.stringify(caller.claims)}, true)) as caller`;
      return row.result as T;
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (attempt >= attempts || !code || !RETRYABLE.has(code)) throw err;
    }
  }
}
