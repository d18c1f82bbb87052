// npm run secrets:rotate: re-encrypts every user secret under the current key id (SAASBASE_SECRETS_KEY_ID), in
// the database at SUPABASE_DB_URL (hosted: the dashboard's connection string) or by default the one `npm run dev`
// runs. The keys: SAASBASE_SECRETS_KEYS / SAASBASE_SECRETS_KEY_ID from the environment, else from
// supabase/functions/.env, else the local stack's key file. Without downtime (a row at a time, each a
// compare-and-swap: a value stored meanwhile is kept), idempotent; prints the report and exits 1 while secrets
// remain under another key (run it again once every function has the new keys; see docs/secrets.md).
// `-- --batch-size N` (default 100). The same runs in the function: POST /secrets/rotate (service role).
import "dotenv/config";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { parse as parseDotenv } from "dotenv";
import postgres from "postgres";
import { FUNCTIONS_DIR } from "../src/local/paths.ts";
import { localSecretsKeys } from "../src/local/secrets-key.ts";
import { stateDir } from "../src/local/state-dir.ts";
import { onTargetDatabase } from "../src/local/target-database.ts";
import { AppError } from "../supabase/functions/_shared/errors.ts";
import { keyringFrom } from "../supabase/functions/_shared/secrets/keyring.ts";
import { rotateSecrets } from "../supabase/functions/_shared/secrets/rotate.ts";

const { values: args } = parseArgs({ options: { "batch-size": { type: "string", default: "100" } } });
const batchSize = Number(args["batch-size"]);
if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 10_000) {
  console.error("--batch-size must be an integer from 1 to 10000");
  process.exit(2);
}

function keySource(): { env: Record<string, string | undefined>; from: string } {
  if (process.env.SAASBASE_SECRETS_KEYS) return { env: process.env, from: "the environment" };
  const file = join(FUNCTIONS_DIR, ".env");
  const dotenv = existsSync(file) ? parseDotenv(readFileSync(file)) : {};
  if (dotenv.SAASBASE_SECRETS_KEYS) return { env: dotenv, from: "supabase/functions/.env" };
  const local = join(stateDir().dir, "secrets-keys.json");
  if (existsSync(local)) return { env: { ...localSecretsKeys(local) }, from: local };
  return { env: {}, from: "nowhere" };
}

const source = keySource();
let keyring;
try {
  keyring = await keyringFrom((name) => source.env[name]);
} catch (err) {
  if (!(err instanceof AppError)) throw err;
  console.error(`${err.message} (keys from ${source.from}).`);
  process.exit(1);
}
console.log(`Keys: ${[...keyring.keys.keys()].join(", ")} from ${source.from}; current: ${keyring.currentId}`);

const report = await onTargetDatabase(async (url) => {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    return await rotateSecrets(sql, keyring, { batchSize });
  } finally {
    await sql.end();
  }
});
console.log(JSON.stringify(report, null, 2));
if (report.remaining > 0) {
  console.error(`${report.remaining} secret(s) are not under ${report.key_id} yet` +
    (report.failed.length ? ` (${report.failed.length} could not be read: their keys are missing or wrong)` : "") +
    ": run again once every function has the new keys.");
  process.exit(1);
}
