// `npm run dev`: starts the local backend and prints its status like `supabase status`; Ctrl-C stops it all.
//   npm run dev               keep the data of the last run
//   npm run dev -- --reset    start from an empty database
//   npm run dev -- --preset miky   with presets/miky.ts as the product config (or SAASBASE_PRESET=miky)
// Environment: SUPABASE_DB_URL or DATABASE_URL (use that database instead of a local cluster),
// SAASBASE_API_PORT, SAASBASE_DB_PORT, SAASBASE_STATE_DIR, SAASBASE_EMAIL_INTERVAL_MS (the outbox worker's timer);
// function secrets in supabase/functions/.env.
import "dotenv/config";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { presetOrExit } from "../config/presets.ts";
import { PostgresNotFoundError } from "./postgres.ts";
import { startStack, statusTable, type Stack } from "./stack.ts";
import { stateDir } from "./state-dir.ts";

const { values: args } = parseArgs({
  options: {
    reset: { type: "boolean", default: false },
    preset: { type: "string" },
    help: { type: "boolean", short: "h", default: false },
  },
});

if (args.help) {
  console.log("usage: npm run dev [-- [--reset] [--preset <name>]]");
  process.exit(0);
}
// --preset wins over SAASBASE_PRESET; an unknown name stops here, with the names there are.
const preset = presetOrExit(args.preset === undefined ? [] : ["--preset", args.preset]);

const envPort = (name: string) => (process.env[name] ? Number(process.env[name]) : undefined);
const started = Date.now();
const state = stateDir();
if (state.note) console.log(state.note);

// Ctrl-C is handled from the first moment: during the start it waits for the start to finish (or fail: a
// terminal's Ctrl-C also reaches the functions, which then exit) and stops what did start.
let stack: Stack | undefined;
let stopping: string | undefined;
async function shutdown(signal: string) {
  if (stopping) return;
  stopping = signal;
  console.log(`\n${signal}: stopping…`);
  if (!stack) return; // the start below stops it when it finishes
  await stack.stop();
  console.log("Stopped.");
  process.exit(0);
}
process.on("SIGINT", () => void shutdown("SIGINT"));
process.on("SIGTERM", () => void shutdown("SIGTERM"));

try {
  stack = await startStack({
    dbUrl: process.env.SUPABASE_DB_URL || process.env.DATABASE_URL || undefined,
    dataDir: join(state.dir, "db"),
    apiPort: envPort("SAASBASE_API_PORT"),
    dbPort: envPort("SAASBASE_DB_PORT"),
    reset: args.reset,
    watch: process.env.SAASBASE_WATCH !== "0",
    preset,
    // The outbox is drained every 5 s (SAASBASE_EMAIL_INTERVAL_MS; 0: never, call send-email yourself).
    emailTimerMs: envPort("SAASBASE_EMAIL_INTERVAL_MS") ?? 5000,
  });
} catch (err) {
  if (stopping) {
    console.log("Stopped."); // startStack stopped what it had started
    process.exit(0);
  }
  console.error(err instanceof PostgresNotFoundError ? err.message : `Could not start the local stack:\n${(err as Error).message}`);
  process.exit(1);
}
if (stopping) {
  await stack.stop();
  console.log("Stopped.");
  process.exit(0);
}

console.log(`\nSaaSbase local backend started in ${((Date.now() - started) / 1000).toFixed(1)} s.\n`);
console.log(statusTable(stack));
console.log("\nPress Ctrl-C to stop.");
