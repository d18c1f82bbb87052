// Root starting the stack from a folder only root can enter (mktemp -d, /root/...): PostgreSQL refuses to run
// as root, so it runs as another account, which cannot enter that folder. `npm run dev` then keeps the
// database in a folder that account can reach and says where; a state folder it cannot reach is refused in
// one line saying what to do.
import { spawn, spawnSync } from "node:child_process";
import {
  chmodSync,
  chownSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { connect } from "../src/local/database.ts";
import { freePort } from "../src/local/functions.ts";
import { assertOwnFolder } from "../src/local/own-folder.ts";
import { ROOT } from "../src/local/paths.ts";
import { EMBEDDED_PACKAGE, findPostgres } from "../src/local/postgres-binaries.ts";
import { LocalCluster, serverUser } from "../src/local/postgres.ts";
import { tempDir } from "../src/local/throwaway.ts";

async function withNpm<T>(fn: () => T): Promise<T> {
  const saved = process.env.SAASBASE_POSTGRES;
  process.env.SAASBASE_POSTGRES = "npm";
  try {
    return fn();
  } finally {
    if (saved === undefined) delete process.env.SAASBASE_POSTGRES;
    else process.env.SAASBASE_POSTGRES = saved;
  }
}

const asRoot = process.getuid?.() === 0;
// mkdtemp makes the folder private to its owner: root alone may enter it.
const privateDir = mkdtempSync(join(tmpdir(), "saasbase-private-"));
const cleanups: (() => void)[] = [() => rmSync(privateDir, { recursive: true, force: true })];
afterAll(() => cleanups.forEach((c) => c()));

describe.skipIf(!asRoot)("root in a folder only root can enter", () => {
  it("refuses a state folder the server's account cannot reach, in one line saying what to do", async () => {
    const cluster = new LocalCluster({ dataDir: join(privateDir, "state", "db"), port: await freePort(), durable: false });
    const err = await cluster.start().catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    const message = (err as Error).message;
    expect(message.split("\n")).toHaveLength(1);
    expect(message).toBe(
      `PostgreSQL runs as the ${serverUser()!.name} account (it refuses root), which cannot enter ` +
        `${join(privateDir, "state")}: set SAASBASE_STATE_DIR to a folder it can reach (e.g. /var/tmp/saasbase).`,
    );
  });

  it("runs npm's PostgreSQL from there as a copy the server's account can reach", async () => {
    // The project's node_modules seen through the private folder, as a checkout there has it.
    symlinkSync(join(ROOT, "node_modules"), join(privateDir, "node_modules"));
    const npm = await withNpm(() => findPostgres());
    const inside = { ...npm, dir: join(privateDir, "node_modules", EMBEDDED_PACKAGE, "native", "bin") };
    const dataDir = join(tempDir("saasbase-private-db-"), "db");
    cleanups.push(() => rmSync(dirname(dataDir), { recursive: true, force: true }));
    const cluster = new LocalCluster({ dataDir, port: await freePort(), durable: false, binaries: inside });
    expect(cluster.binaries.dir).toBe(`/var/tmp/saasbase-postgresql-${npm.version}-${process.platform}-${process.arch}/bin`);
    await cluster.start();
    try {
      const sql = connect(cluster.url);
      const [{ version }] = await sql`select current_setting('server_version') as version`;
      await sql.end();
      expect(version).toBe(npm.version);
    } finally {
      await cluster.stop();
    }
  });

  it("npm run dev from a checkout there: the database lives where the server can reach it, and health answers", async () => {
    // The project's files (tracked and new, as a commit of this tree would have them), with its dependencies.
    const checkout = join(privateDir, "saasbase");
    const files = spawnSync("git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard"], { cwd: ROOT, encoding: "utf8" }).stdout.split("\0").filter(Boolean);
    for (const f of files) {
      mkdirSync(dirname(join(checkout, f)), { recursive: true });
      try {
        copyFileSync(join(ROOT, f), join(checkout, f));
      } catch {
        // a tracked file deleted in this working tree
      }
    }
    symlinkSync(join(ROOT, "node_modules"), join(checkout, "node_modules"));
    chmodSync(privateDir, 0o700);

    const apiPort = await freePort();
    const env: Record<string, string | undefined> = {
      ...process.env,
      SAASBASE_API_PORT: String(apiPort),
      SAASBASE_DB_PORT: String(await freePort()),
      SAASBASE_WATCH: "0",
      SUPABASE_DB_URL: "",
      DATABASE_URL: "",
    };
    delete env.SAASBASE_STATE_DIR;
    const child = spawn(process.execPath, ["--import", "tsx", "src/local/dev.ts"], { cwd: checkout, env, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout!.on("data", (d) => (out += d));
    child.stderr!.on("data", (d) => (out += d));
    const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
    cleanups.unshift(() => child.exitCode === null && child.kill("SIGKILL"));
    while (!out.includes("Press Ctrl-C to stop.")) {
      if (child.exitCode !== null) throw new Error(`dev exited:\n${out}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const dataDir = /^\s*DB data: (.+)$/m.exec(out)![1];
    cleanups.push(() => rmSync(dirname(dataDir), { recursive: true, force: true }));
    expect(dataDir).toMatch(/^\/var\/tmp\/saasbase-saasbase-[0-9a-f]{8}\/db$/);
    expect(out).toContain(`which cannot enter ${checkout}: the database lives in ${dirname(dataDir)}`);
    expect((await fetch(`http://127.0.0.1:${apiPort}/functions/v1/health`)).status).toBe(200);

    child.kill("SIGINT");
    expect(await exited).toBe(0);
    expect(out).toContain("Stopped.");
  }, 120_000);
});

describe.skipIf(!asRoot)("root does not trust what another account can change", () => {
  const foreign = (mode = 0o755, owner = serverUser()!) => {
    const dir = mkdtempSync("/var/tmp/saasbase-foreign-");
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    chmodSync(dir, mode);
    chownSync(dir, owner.uid, owner.gid);
    return dir;
  };

  it("refuses a state folder under /var/tmp that another account made, or that others may write to, and writes nothing in it", async () => {
    const root = { name: "root", uid: 0, gid: 0 };
    const made = foreign();
    const writable = foreign(0o777, root);
    const link = join(foreign(0o755, root), "link");
    symlinkSync(tempDir("saasbase-link-target-"), link);
    for (const dir of [made, writable, link]) {
      expect(() => assertOwnFolder(dir)).toThrow(/is not a folder of this account's alone/);
      const cluster = new LocalCluster({ dataDir: join(dir, "db"), port: await freePort(), durable: false });
      const err = await cluster.start().catch((e: Error) => e);
      expect((err as Error).message).toBe(
        `${dir} is not a folder of this account's alone (another account made it, may write to it, or it is a ` +
          `link): remove it, or set SAASBASE_STATE_DIR to a folder of your own.`,
      );
      expect(existsSync(join(dir, "db"))).toBe(false);
    }
    expect(() => assertOwnFolder(tempDir("saasbase-own-"))).not.toThrow();
    expect(() => assertOwnFolder(join(made, "missing"))).not.toThrow();
  });

  it("does not follow a server.log the server's account replaced by a link: the file it names keeps its owner and text", async () => {
    // A cluster the server's account owns (as any after its first start), whose log it made a link to a file of
    // root's (it may: the data directory is its own, and trust auth lets any local user run programs as it).
    const runAs = serverUser()!;
    const dataDir = join(tempDir("saasbase-linked-log-"), "db");
    cleanups.push(() => rmSync(dirname(dataDir), { recursive: true, force: true }));
    mkdirSync(dataDir, { mode: 0o700 });
    writeFileSync(join(dataDir, "PG_VERSION"), "15\n");
    const victim = join(tempDir("saasbase-victim-"), "secret");
    cleanups.push(() => rmSync(dirname(victim), { recursive: true, force: true }));
    writeFileSync(victim, "root's own\n", { mode: 0o600 });
    symlinkSync(victim, join(dataDir, "server.log"));
    chownSync(dataDir, runAs.uid, runAs.gid);

    const cluster = new LocalCluster({ dataDir, port: await freePort(), durable: false });
    await expect(cluster.start()).rejects.toMatchObject({ code: "ELOOP" });
    expect(statSync(victim).uid).toBe(0);
    expect(readFileSync(victim, "utf8")).toBe("root's own\n");
  });
});
