// Brings a database to the project's schema the way a developer does against hosted Supabase: the platform
// bootstrap (plain Postgres only), then `supabase db push` with the real CLI (migrations and seed.sql), then
// the product config sync.
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import postgres from "postgres";
import { catalogRows } from "../config/catalog.ts";
import { loadProductConfig } from "../config/presets.ts";
import { ROOT, SUPABASE_BIN } from "./paths.ts";
import type { ConfigSyncSummary } from "../../supabase/functions/_shared/sql-results.ts";

export function connect(url: string, max = 1) {
  return postgres(url, { max, onnotice: () => {}, connect_timeout: 10 });
}

/** The platform bootstrap, part by part: each part runs unless the database already has it (a real Supabase
 * database, or one bootstrapped before that part existed: a dev state folder or cluster made by an earlier
 * version gets the parts added since). Returns whether any part ran. */
export const PLATFORM_PARTS: { file: string; present: string }[] = [
  // Roles, grants, the auth and extensions schemas.
  { file: "src/local/platform.sql", present: "auth.users" },
  // Storage's schema (storage.buckets, storage.objects, the policy helpers).
  { file: "src/local/platform-storage.sql", present: "storage.objects" },
];

export async function bootstrapPlatform(url: string): Promise<boolean> {
  const sql = connect(url);
  try {
    let ran = false;
    for (const part of PLATFORM_PARTS) {
      const [{ present }] = await sql`select to_regclass(${part.present}) is not null as present`;
      if (present) continue;
      await sql.unsafe(readFileSync(join(ROOT, part.file), "utf8"));
      ran = true;
    }
    return ran;
  } finally {
    await sql.end();
  }
}

/** Runs a Supabase CLI command from the project root; rejects with its output when it fails. */
export function supabaseCli(args: string[], opts: { quiet?: boolean } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(SUPABASE_BIN, args, {
      cwd: ROOT,
      env: { ...process.env, SUPABASE_TELEMETRY_DISABLED: "1", DO_NOT_TRACK: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (err += d));
    child.on("error", reject);
    child.on("close", (code) => {
      if (code === 0) {
        if (!opts.quiet && err.trim()) process.stderr.write(err);
        resolve(out);
      } else {
        reject(new Error(`supabase ${args[0]} ${args[1] ?? ""} failed (exit ${code}):\n${err}${out}`));
      }
    });
  });
}

/** Applies pending migrations, exactly as `supabase db push` does remotely. */
export async function pushMigrations(url: string) {
  await supabaseCli(["db", "push", `--remote=${url}`, "--include-all", "--yes"], { quiet: true });
}

/** Applies seed.sql once per content (the CLI records its hash), as `supabase db push --include-seed`. */
export async function pushSeed(url: string) {
  await supabaseCli(["db", "push", `--remote=${url}`, "--include-seed", "--yes"], { quiet: true });
}

/**
 * The domains whose config is written by a sync function of their own, `public.service_role_sync_<domain>(catalog
 * jsonb)` (service_role only), each reading its own keys of the same catalog payload (src/config/catalog.ts).
 * They run in the catalog sync's transaction, after public.service_role_sync_config and in this order, so a
 * domain never has to re-define the shared sync function (which every domain's migration would otherwise
 * replace in turn, each dropping what the others added).
 */
export const DOMAIN_SYNCS: string[] = [
  "service_role_sync_licensing",
  "service_role_sync_releases",
  "service_role_sync_notifications",
  "service_role_sync_images",
  // Last: records the config's values as the runtime settings' defaults and writes the overrides back over them.
  "service_role_sync_runtime_settings",
];

/** Writes the product config's catalog (plans, features, quotas, packs) into the database: saasbase.config.ts's,
 * or a preset's. */
export async function syncProductConfig(url: string, preset?: string) {
  const config = await loadProductConfig(preset);
  const sql = connect(url);
  try {
    const catalog = sql.json(catalogRows(config));
    return await sql.begin(async (tx) => {
      const [row] = await tx`select to_jsonb(public.service_role_sync_config(${catalog})) as summary`;
      for (const fn of DOMAIN_SYNCS) await tx`select ${tx(`public.${fn}`)}(${catalog})`;
      return row.summary as ConfigSyncSummary;
    });
  } finally {
    await sql.end();
  }
}

/** Bootstrap (when needed), migrations, config sync, then the seed (whose users the config's sign-up
 * credits apply to). */
export async function prepareDatabase(url: string, opts: { seed?: boolean; preset?: string } = {}) {
  const bootstrapped = await bootstrapPlatform(url);
  await pushMigrations(url);
  const catalog = await syncProductConfig(url, opts.preset);
  if (opts.seed !== false) await pushSeed(url);
  return { bootstrapped, catalog };
}
