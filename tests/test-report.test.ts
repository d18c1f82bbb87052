// npm test's summary (scripts/test.ts, read through scripts/test-report.ts): each runner's own output, from
// real runs of pg_prove, deno test and vitest over suites that leave work out and break a plan, is read into
// counts that say so, with the skipped tests and the failed file named.
import { spawnSync } from "node:child_process";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../src/local/functions.ts";
import { DENO_BIN, ROOT } from "../src/local/paths.ts";
import { LocalCluster } from "../src/local/postgres.ts";
import { requirePgTap } from "../src/local/test-tools.ts";
import { tempDir } from "../src/local/throwaway.ts";
import { denoCounts, tap, vitestSkipped } from "../scripts/test-report.ts";

const dir = tempDir("saasbase-test-report-");
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("pgTAP", () => {
  let cluster: LocalCluster;
  beforeAll(async () => {
    cluster = new LocalCluster({ dataDir: join(dir, "db"), port: await freePort(), durable: false });
    await cluster.start();
    // Without pgTAP (or pg_prove), fails naming what to install, as npm test's pgTAP step does.
    await requirePgTap(cluster.adminUrl);
  });
  afterAll(() => cluster?.destroy());

  it("names skipped and todo tests, and a file that broke its plan", () => {
    const files = {
      "a_left_out.sql": `begin; select plan(4); select pass('first'); select skip('not here yet', 2);
        select todo('coming', 1); select ok(false, 'a todo that fails'); select * from finish(); rollback;`,
      "b_bad_plan.sql": `begin; select plan(3); select pass('one'); select pass('two'); select * from finish(); rollback;`,
      "c_fine.sql": `begin; select plan(1); select pass('one'); select * from finish(); rollback;`,
    };
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
    const u = new URL(cluster.adminUrl);
    const out = spawnSync("pg_prove", ["-h", u.hostname, "-p", u.port, "-U", u.username, "-d", "postgres", "--directives",
      ...Object.keys(files).map((f) => join(dir, f))], { encoding: "utf8", env: { ...process.env, PGSSLMODE: "disable" } });
    expect(out.status).not.toBe(0);
    const counted = tap(out.stdout + out.stderr)!;
    const a = join(dir, "a_left_out.sql");
    expect(counted.skipped).toEqual([
      `${a} > test 2 (skip: not here yet)`,
      `${a} > test 3 (skip: not here yet)`,
      `${a} > test 4 a todo that fails (todo: coming)`,
    ]);
    expect(counted.failures).toEqual([`${join(dir, "b_bad_plan.sql")}: parse errors: Bad plan.  You planned 3 tests but ran 2.`]);
    // first, one, two and the fine file's one passed; the plan's missing test failed.
    expect([counted.passed, counted.failed]).toEqual([4, 1]);
  });
});

it("deno test: names ignored tests and steps", () => {
  const file = join(dir, "left_out_test.ts");
  writeFileSync(file, `
    Deno.test("runs", () => {});
    Deno.test.ignore("not yet", () => {});
    Deno.test("with steps", async (t) => {
      await t.step({ name: "inner ignored", ignore: true, fn: () => {} });
      await t.step("inner ok", () => {});
    });`);
  const out = spawnSync(DENO_BIN, ["test", "--no-check", "--no-config", file], { cwd: dir, encoding: "utf8", env: { ...process.env, NO_COLOR: "1" } });
  expect(out.status).toBe(0);
  const counted = denoCounts(out.stdout + out.stderr)!;
  expect(counted.skipped).toEqual(["left_out_test.ts > not yet (ignored)", "left_out_test.ts > inner ignored (step ignored)"]);
  expect([counted.passed, counted.failed]).toEqual([2, 0]);
});

it("vitest: names skipped and todo tests", () => {
  const report = join(dir, "vitest.json");
  const out = spawnSync(join(ROOT, "node_modules/.bin/vitest"),
    ["run", "--config", "tests/fixtures/skipped/vitest.config.ts", "--reporter=json", `--outputFile.json=${report}`],
    { cwd: ROOT, encoding: "utf8" });
  expect(out.status).toBe(0);
  const where = "tests/fixtures/skipped/left-out.fixture.ts";
  expect(vitestSkipped(JSON.parse(readFileSync(report, "utf8")))).toEqual([
    `${where} > is skipped (skipped)`,
    `${where} > is still to write (todo)`,
    `${where} > a skipped group inside it (skipped)`,
  ]);
});
