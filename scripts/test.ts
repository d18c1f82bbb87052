// npm test: every check of the project, in one command, against real Postgres and real Deno.
// Exits non-zero on any failure and ends with `N passed, M failed, K skipped` (tests counted inside each
// runner, and each whole-project check counted as one). Work that did not run (it.skip, it.todo, ignored Deno
// tests, pgTAP skip and todo) is counted and named under the summary, so a green run shows what it left out.
import { spawn } from "node:child_process";
import { readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { supabaseCli } from "../src/local/database.ts";
import { DENO_BIN, FUNCTIONS_DIR, ROOT } from "../src/local/paths.ts";
import {
  createExtension,
  describeMissing,
  dropExtension,
  missingForLint,
  missingForPgTap,
  type MissingTool,
} from "../src/local/test-tools.ts";
import { throwawayDatabase, type ThrowawayDatabase } from "../src/local/throwaway.ts";
import { generateTypes, TYPES_FILE } from "../src/local/types.ts";
import { type Counted, denoCounts, tap, vitestFailures, vitestSkipped } from "./test-report.ts";

interface StepResult {
  name: string;
  passed: number;
  failed: number;
  seconds: number;
  /** Names and first message lines of failed tests, repeated under the summary (CI shows only the tail). */
  failures?: string[];
  /** Tests that did not run or do not count (skipped, todo, ignored), named as `where > name (why)`. */
  skipped?: string[];
}


const results: StepResult[] = [];
const bin = (name: string) => join(ROOT, "node_modules", ".bin", name);

function run(cmd: string, args: string[], env: Record<string, string> = {}): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    const tee = (d: Buffer) => {
      output += d;
      process.stdout.write(d);
    };
    child.stdout.on("data", tee);
    child.stderr.on("data", tee);
    child.on("error", (err) => resolve({ code: 127, output: String(err) }));
    child.on("close", (code) => resolve({ code: code ?? 1, output }));
  });
}

/** Runs one step; `count` reads (passed, failed) from its output, else the step counts as one check. */
async function step(
  name: string,
  body: () => Promise<{ code: number; output: string; failures?: string[] }>,
  count?: (output: string) => Counted | undefined,
) {
  console.log(`\n━━ ${name}`);
  const started = Date.now();
  let result: { code: number; output: string; failures?: string[] };
  try {
    result = await body();
  } catch (err) {
    console.error(err);
    result = { code: 1, output: String(err) };
  }
  const counted = count?.(result.output);
  let { passed, failed } = counted ?? (result.code === 0 ? { passed: 1, failed: 0 } : { passed: 0, failed: 1 });
  // A runner that exits non-zero with every test passing (a crash, a bad plan) still fails.
  if (result.code !== 0 && failed === 0) failed = 1;
  results.push({
    name,
    passed,
    failed,
    seconds: (Date.now() - started) / 1000,
    failures: counted?.failures ?? result.failures,
    skipped: counted?.skipped,
  });
}

/** A step that cannot run for want of tools: fails, naming each with the command that installs it. */
function refuse(missing: MissingTool[]): { code: number; output: string; failures: string[] } {
  const output = describeMissing(missing);
  console.error(output);
  return { code: 1, output, failures: output.split("\n") };
}

let db: ThrowawayDatabase | undefined;
const started = Date.now();
try {
  await step("typecheck (tsc, Node code)", () => run(bin("tsc"), ["-p", "."]));
  await step("typecheck (deno check, functions)", () =>
    run(DENO_BIN, ["check", "--config", join(FUNCTIONS_DIR, "deno.json"), FUNCTIONS_DIR, "src/local/deno", "presets"]));
  await step("lint (deno lint, functions)", () =>
    run(DENO_BIN, ["lint", "--config", join(FUNCTIONS_DIR, "deno.json"), FUNCTIONS_DIR, "src/local/deno", "presets"]));

  await step("throwaway database (bootstrap, supabase db push, config sync)", async () => {
    db = await throwawayDatabase();
    return { code: 0, output: db.url };
  });

  if (db) {
    const url = db.url;
    const adminUrl = db.cluster.adminUrl;
    await step("supabase db lint (plpgsql_check)", async () => {
      const missing = await missingForLint(adminUrl);
      if (missing.length) return refuse(missing);
      await createExtension(adminUrl, "plpgsql_check");
      try {
        return await run(bin("supabase"), ["db", "lint", `--remote=${url}`, "--level", "warning", "--fail-on", "warning"]);
      } finally {
        await dropExtension(adminUrl, "plpgsql_check");
      }
    });
    await step("supabase db advisors (security)", () =>
      run(bin("supabase"), ["db", "advisors", `--remote=${url}`, "--type", "security", "--level", "info", "--fail-on", "info"]));
    await step("supabase db advisors (performance: WARN and up, unindexed foreign keys)", async () => {
      // INFO also lists `unused_index` for every index of a fresh database (no traffic yet): only the
      // unindexed foreign keys of that level are findings here.
      const out = await supabaseCli(
        ["db", "advisors", `--remote=${url}`, "--type", "performance", "--level", "info", "--output-format", "json"],
        { quiet: true },
      );
      const found = (JSON.parse(out).results ?? []) as { name: string; level: string; detail: string }[];
      const findings = found.filter((f) => f.level !== "INFO" || f.name === "unindexed_foreign_keys");
      for (const f of findings) console.error(`${f.level} ${f.name}: ${f.detail}`);
      return { code: findings.length ? 1 : 0, output: findings.length ? `${findings.length} findings` : "No issues found" };
    });
    await step("generated types are fresh (_shared/database.types.ts)", async () => {
      const fresh = await generateTypes(url);
      if (fresh === readFileSync(TYPES_FILE, "utf8")) return { code: 0, output: "fresh" };
      console.error("supabase/functions/_shared/database.types.ts is stale: run `npm run gen:types` and commit the result.");
      return { code: 1, output: "stale" };
    });
    const tests = readdirSync(join(ROOT, "supabase/tests")).filter((f) => f.endsWith(".sql")).sort();
    const u = new URL(url);
    await step("pgTAP (pg_prove supabase/tests)", async () => {
      const missing = await missingForPgTap(adminUrl);
      if (missing.length) return refuse(missing);
      await createExtension(adminUrl, "pgtap");
      return run("pg_prove", ["-h", u.hostname, "-p", u.port, "-U", "postgres", "-d", "postgres", "--directives",
        ...tests.map((t) => join("supabase/tests", t))], {
        PGSSLMODE: "disable",
      });
    }, tap);
    await step("deno test (function units)", () =>
      run(DENO_BIN, ["test", "--allow-all", "--config", join(FUNCTIONS_DIR, "deno.json"), join(FUNCTIONS_DIR, "tests")], {
        SUPABASE_DB_URL: url,
        NO_COLOR: "1",
      }), denoCounts);
    await db.destroy();
    db = undefined;
  }

  const report = join(tmpdir(), `saasbase-vitest-${process.pid}.json`);
  await step("vitest (integration, throwaway local stack)", () =>
    run(bin("vitest"), ["run", "--reporter=default", "--reporter=json", `--outputFile.json=${report}`]), () => {
    try {
      const r = JSON.parse(readFileSync(report, "utf8"));
      return {
        passed: r.numPassedTests,
        failed: r.numFailedTests + (r.numRuntimeErrorTests ?? 0),
        failures: vitestFailures(r),
        skipped: vitestSkipped(r),
      };
    } catch {
      return undefined;
    } finally {
      rmSync(report, { force: true });
    }
  });
} finally {
  await db?.destroy();
}

console.log("\n━━ summary");
for (const r of results) {
  const mark = r.failed ? "FAIL" : "ok  ";
  const skipped = r.skipped?.length ?? 0;
  console.log(`${mark} ${r.name.padEnd(62)} ${String(r.passed).padStart(4)} passed ${String(r.failed).padStart(3)} failed ` +
    `${String(skipped).padStart(3)} skipped ${r.seconds.toFixed(1).padStart(6)} s`);
  for (const f of r.failures ?? []) console.log(`       ✗ ${f}`);
  for (const k of r.skipped ?? []) console.log(`       - ${k}`);
}
const passed = results.reduce((n, r) => n + r.passed, 0);
const failed = results.reduce((n, r) => n + r.failed, 0);
const skipped = results.reduce((n, r) => n + (r.skipped?.length ?? 0), 0);
console.log(`total time ${((Date.now() - started) / 1000).toFixed(0)} s`);
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed ? 1 : 0);
