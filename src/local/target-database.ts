// The database the project's scripts (config:sync, stripe:sync) work on: SUPABASE_DB_URL or DATABASE_URL when
// set (hosted: the dashboard's connection string), else the one `npm run dev` runs on this machine.
import { SUPABASE_DIR } from "./paths.ts";
import { readProjectConfig } from "./supabase-config.ts";

export function targetDatabase(): { url: string; description: string } {
  const given = process.env.SUPABASE_DB_URL || process.env.DATABASE_URL;
  if (given) {
    const u = new URL(given);
    return { url: given, description: `${u.hostname}:${u.port || 5432}${u.pathname} (SUPABASE_DB_URL)` };
  }
  const port = Number(process.env.SAASBASE_DB_PORT) || readProjectConfig(SUPABASE_DIR).dbPort;
  return {
    url: `postgresql://postgres:postgres@127.0.0.1:${port}/postgres?sslmode=disable`,
    description: `the local database of npm run dev (127.0.0.1:${port})`,
  };
}

/** Runs a script's work on the target database; a refused connection to the local one says how to start it. */
export async function onTargetDatabase<T>(work: (url: string) => Promise<T>): Promise<T> {
  const target = targetDatabase();
  console.log(`Database: ${target.description}`);
  try {
    return await work(target.url);
  } catch (err) {
    if ((err as { code?: string }).code === "ECONNREFUSED") {
      console.error(`Cannot reach ${target.description}: start it with \`npm run dev\`, or set SUPABASE_DB_URL.`);
      process.exit(1);
    }
    throw err;
  }
}
