// `npm run dev`: starts the local backend and prints its status like `supabase status`; Ctrl-C stops it all.
//   npm run dev               keep the data of the last run
//   npm run dev -- --reset    start from an empty database
// Environment: SUPABASE_DB_URL or DATABASE_URL (use that database instead of a local cluster),
// SAASBASE_API_PORT, SAASBASE_DB_PORT, SAASBASE_STATE_DIR; function secrets in supabase/functions/.env.
import "dotenv/config";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { PostgresNotFoundError } from "./postgres.ts";
import { STATE_DIR } from "./paths.ts";
import { startStack, statusTable, type Stack } from "./stack.ts";

const { values: args } = parseArgs({
  options: { reset: { type: "boolean", default: false }, help: { type: "boolean", short: "h", default: false } },
});

if (args.help) {
  console.log("usage: npm run dev [-- --reset]");
  process.exit(0);
}

const envPort = (name: string) => (process.env[name] ? Number(process.env[name]) : undefined);
const started = Date.now();
const stateDir = process.env.SAASBASE_STATE_DIR ?? STATE_DIR;

let stack: Stack;
try {
  stack = await startStack({
    dbUrl: process.env.SUPABASE_DB_URL || process.env.DATABASE_URL || undefined,
    dataDir: join(stateDir, "db"),
    apiPort: envPort("SAASBASE_API_PORT"),
    dbPort: envPort("SAASBASE_DB_PORT"),
    reset: args.reset,
    watch: process.env.SAASBASE_WATCH !== "0",
  });
} catch (err) {
  console.error(err instanceof PostgresNotFoundError ? err.message : `Could not start the local stack:\n${(err as Error).message}`);
  process.exit(1);
}

console.log(`\nSaaSbase local backend started in ${((Date.now() - started) / 1000).toFixed(1)} s.\n`);
console.log(statusTable(stack));
console.log("\nPress Ctrl-C to stop.");

let stopping = false;
async function shutdown(signal: string) {
  if (stopping) return;
  stopping = true;
  console.log(`\n${signal}: stopping…`);
  await stack.stop();
  console.log("Stopped.");
  process.exit(0);
}
process.on("SIGINT", () => void shutdown("SIGINT"));
process.on("SIGTERM", () => void shutdown("SIGTERM"));
