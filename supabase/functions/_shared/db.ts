// One Postgres pool per function instance, over SUPABASE_DB_URL (set by the platform on hosted Supabase and
// by the local stack). Prepared statements stay off because the hosted URL may point at the transaction
// pooler, which cannot keep them.
import postgres from "postgres";
import { requireEnv } from "./env.ts";

export type Sql = postgres.Sql;

let pool: Sql | undefined;

export function db(): Sql {
  pool ??= postgres(requireEnv("SUPABASE_DB_URL"), {
    max: Number(Deno.env.get("SAASBASE_DB_POOL_SIZE") ?? 5),
    prepare: false,
    idle_timeout: 20,
    connect_timeout: 5,
    onnotice: () => {},
  });
  return pool;
}
