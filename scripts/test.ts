// npm test: every check of the project, in one command, against real Postgres and real Deno.
// Exits non-zero on any failure and ends with `N passed, M failed` (tests counted inside each runner,
// and each whole-project check counted as one).
import { spawn } from "node:child_process";
import { readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
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

interface StepResult {
  name: string;
  passed: number;
  failed: number;
  seconds: number;
  /** Names and first message lines of failed tests, repeated under the summary (CI shows only the tail). */
  failures?: string[];
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
  count?: (output: string) => { passed: number; failed: number; failures?: string[] } | undefined,
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
  results.push({ name, passed, failed, seconds: (Date.now() - started) / 1000, failures: counted?.failures ?? result.failures });
}

const tap = (output: string) => {
  const m = /Files=\d+, Tests=(\d+)/.exec(output);
  const failedLines = [...output.matchAll(/Failed (\d+)\/\d+ subtests/g)].reduce((n, x) => n + Number(x[1]), 0);
  // pg_prove's "Test Summary Report": each failing file, then its failed test numbers.
  const report = output.split("Test Summary Report")[1] ?? "";
  const failures = [...report.matchAll(/^(\S+\.sql)\s.*\n(?:\s+.*\n)*?\s+Failed tests?:\s+(.+)$/gm)].map((x) => `${x[1]}: failed test ${x[2]}`);
  return m ? { passed: Number(m[1]) - failedLines, failed: failedLines, failures } : undefined;
};
const denoCounts = (output: string) => {
  const m = /(?:ok|FAILED) \| (\d+) passed(?: \(\d+ steps?\))? \| (\d+) failed/.exec(output);
  // deno test's FAILURES section: `name => file:line:col`.
  const failures = [...(output.split(/^ *(?:ERRORS|FAILURES) *$/m).at(-1) ?? "").matchAll(/^(.+ => \S+)$/gm)].map((x) => x[1]);
  return m ? { passed: Number(m[1]), failed: Number(m[2]), failures: Number(m[2]) ? failures : [] } : undefined;
};

/** `file > test: first line of the message` for each failed test (and each file that failed to run). */
function vitestFailures(report: {
  testResults?: { name: string; status: string; message?: string; assertionResults?: { fullName: string; status: string; failureMessages?: string[] }[] }[];
}): string[] {
  const out: string[] = [];
  for (const file of report.testResults ?? []) {
    const where = relative(ROOT, file.name);
    const failed = (file.assertionResults ?? []).filter((a) => a.status === "failed");
    for (const a of failed) out.push(`${where} > ${a.fullName}: ${firstLine(a.failureMessages?.[0])}`);
    if (!failed.length && file.status === "failed") out.push(`${where}: ${firstLine(file.message)}`);
  }
  return out;
}
const firstLine = (s?: string) => (s ?? "").split("\n").find((l) => l.trim())?.slice(0, 300) ?? "";

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
      return run("pg_prove", ["-h", u.hostname, "-p", u.port, "-U", "postgres", "-d", "postgres", ...tests.map((t) => join("supabase/tests", t))], {
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
      return { passed: r.numPassedTests, failed: r.numFailedTests + (r.numRuntimeErrorTests ?? 0), failures: vitestFailures(r) };
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
  console.log(`${mark} ${r.name.padEnd(62)} ${String(r.passed).padStart(4)} passed ${String(r.failed).padStart(3)} failed ${r.seconds.toFixed(1).padStart(6)} s`);
  for (const f of r.failures ?? []) console.log(`       ✗ ${f}`);
}
const passed = results.reduce((n, r) => n + r.passed, 0);
const failed = results.reduce((n, r) => n + r.failed, 0);
console.log(`total time ${((Date.now() - started) / 1000).toFixed(0)} s`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
