// A project-local PostgreSQL cluster run with the machine's own binaries (no Docker): created with initdb
// on first use, started as a child process, stopped with the stack. Postgres refuses to run as root, so
// when we are root the cluster is owned and run by the unprivileged `postgres` account (or `nobody`).
// As in Supabase's image, the cluster's bootstrap superuser is `supabase_admin`; `postgres` is created as a
// plain superuser here (a plain Postgres), and the local stack then gives it hosted Supabase's privileges
// (src/local/hosted.ts).
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import {
  chmodSync,
  chownSync,
  constants,
  cpSync,
  existsSync,
  fchownSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  renameSync,
  rmSync,
} from "node:fs";
import { connect as tcpConnect } from "node:net";
import { dirname, join } from "node:path";
import postgres from "postgres";
import { assertOwnFolder } from "./own-folder.ts";
import { findPostgres, type PostgresBinaries } from "./postgres-binaries.ts";

export { PostgresNotFoundError } from "./postgres-binaries.ts";

/** The cluster's bootstrap superuser, as on Supabase (initdb's user there too). */
export const ADMIN_ROLE = "supabase_admin";

interface RunAs {
  name: string;
  uid: number;
  gid: number;
}

/** Whom the server runs as: ourselves, or an unprivileged account when we are root. */
export function serverUser(): RunAs | undefined {
  if (process.getuid?.() !== 0) return undefined;
  for (const name of ["postgres", "nobody"]) {
    const uid = spawnSync("id", ["-u", name], { encoding: "utf8" });
    const gid = spawnSync("id", ["-g", name], { encoding: "utf8" });
    if (uid.status === 0 && gid.status === 0) return { name, uid: Number(uid.stdout), gid: Number(gid.stdout) };
  }
  throw new Error("Running as root, and no unprivileged account (postgres, nobody) to run PostgreSQL as.");
}

/** npm's binaries inside a folder the server's account cannot enter (root in `mktemp -d`, /root/...): a copy
 * of them where it can, under /var/tmp, made once per version and shared by every project and run. */
function reachableBinaries(b: PostgresBinaries, runAs: RunAs | undefined): PostgresBinaries {
  if (!runAs || b.source !== "npm" || serverCanReach(join(b.dir, "postgres"), runAs)) return b;
  const target = join("/var/tmp", `saasbase-postgresql-${b.version}-${process.platform}-${process.arch}`);
  assertOwnFolder(target); // found there, it is run for every project: it must be the copy root made
  if (!existsSync(join(target, "bin", "postgres"))) {
    // Copied aside, then renamed into place: a run racing this one finds the copy whole or not at all.
    const staging = mkdtempSync(`${target}.copy-`);
    cpSync(dirname(b.dir), staging, { recursive: true, verbatimSymlinks: true });
    chmodSync(staging, 0o755);
    try {
      renameSync(staging, target);
    } catch {
      rmSync(staging, { recursive: true, force: true }); // the racing run's copy is in place
    }
  }
  return { ...b, dir: join(target, "bin") };
}

/** Whether the server's account can reach `path` (search every folder on the way): root may start from a
 * folder only root can enter (mktemp -d, /root/...), where the server, running as another account, cannot. */
export function serverCanReach(path: string, runAs = serverUser()): boolean {
  if (!runAs) return true;
  return spawnSync("test", ["-x", path], { uid: runAs.uid, gid: runAs.gid }).status === 0;
}

export interface ClusterOptions {
  dataDir: string;
  port: number;
  /** Throwaway clusters (tests) trade durability for speed: no fsync. */
  durable?: boolean;
  /** Which server binaries (default: findPostgres(), the machine's or npm's). */
  binaries?: PostgresBinaries;
}

export class LocalCluster {
  readonly dataDir: string;
  readonly port: number;
  readonly binaries: PostgresBinaries;
  private readonly durable: boolean;
  private readonly runAs = serverUser();
  /** For spawn: the server's account when we are root. Its working folder is the data's parent too, since
   * initdb returns to the folder it started in and fails ("could not change directory") when it cannot. */
  private get runAsIds() {
    return this.runAs ? { uid: this.runAs.uid, gid: this.runAs.gid } : {};
  }
  private server?: ChildProcess;
  private exited?: Promise<void>;

  constructor(opts: ClusterOptions) {
    this.dataDir = opts.dataDir;
    this.port = opts.port;
    this.durable = opts.durable ?? true;
    this.binaries = reachableBinaries(opts.binaries ?? findPostgres(), this.runAs);
  }

  get binDir(): string {
    return this.binaries.dir;
  }

  /** The `postgres` role's URL as Supabase's local stack gives it (trust auth on loopback; no TLS). */
  get url(): string {
    return this.urlFor("postgres");
  }

  /** The bootstrap superuser's URL: for what only the platform may do (its bootstrap, test extensions). */
  get adminUrl(): string {
    return this.urlFor(ADMIN_ROLE);
  }

  urlFor(role: string): string {
    return `postgresql://${role}:postgres@127.0.0.1:${this.port}/postgres?sslmode=disable`;
  }

  get initialized(): boolean {
    return existsSync(join(this.dataDir, "PG_VERSION"));
  }

  private bin(name: string) {
    return join(this.binDir, process.platform === "win32" ? `${name}.exe` : name);
  }

  /** Creates the cluster when the data directory is empty; returns whether it did. */
  init(): boolean {
    if (this.initialized) return false;
    // The parent stays traversable for the server account; the data directory is private to it.
    this.ensureParent();
    if (this.runAs && !serverCanReach(dirname(this.dataDir), this.runAs)) {
      throw new Error(
        `PostgreSQL runs as the ${this.runAs.name} account (it refuses root), which cannot enter ` +
          `${dirname(this.dataDir)}: set SAASBASE_STATE_DIR to a folder it can reach (e.g. /var/tmp/saasbase).`,
      );
    }
    if (this.runAs && !serverCanReach(this.bin("postgres"), this.runAs)) {
      throw new Error(
        `PostgreSQL runs as the ${this.runAs.name} account (it refuses root), which cannot reach ${this.binDir}: ` +
          `install PostgreSQL (sudo apt-get install postgresql-${this.binaries.version.split(".")[0]}) or move ` +
          `the project to a folder it can enter.`,
      );
    }
    mkdirSync(this.dataDir, { recursive: true, mode: 0o700 });
    if (this.runAs) chownSync(this.dataDir, this.runAs.uid, this.runAs.gid);
    const out = spawnSync(
      this.bin("initdb"),
      ["-D", this.dataDir, "-U", ADMIN_ROLE, "--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync"],
      { encoding: "utf8", cwd: dirname(this.dataDir), ...this.runAsIds },
    );
    if (out.status !== 0) throw new Error(`initdb failed:\n${out.stderr || out.stdout}`);
    return true;
  }

  /** The data's parent folder, made if missing. As root, it must be root's alone (see own-folder.ts): root
   * creates and chowns the data directory and the server's log in it. */
  private ensureParent() {
    mkdirSync(dirname(this.dataDir), { recursive: true, mode: 0o755 });
    if (this.runAs) assertOwnFolder(dirname(this.dataDir));
  }

  /** Starts the server as a child process and waits until it accepts connections. */
  async start(): Promise<void> {
    this.ensureParent();
    this.init();
    await this.assertPortFree();
    const settings = [
      `port=${this.port}`,
      "listen_addresses=127.0.0.1",
      `unix_socket_directories=${this.dataDir}`,
      "max_connections=200",
      "shared_buffers=128MB",
      ...(this.durable ? [] : ["fsync=off", "synchronous_commit=off", "full_page_writes=off"]),
    ];
    // The data directory is the server account's: a server.log it replaced by a link is not followed (root would
    // append to, and chown, whatever file the link names).
    const log = openSync(
      join(this.dataDir, "server.log"),
      constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW,
      0o600,
    );
    if (this.runAs) fchownSync(log, this.runAs.uid, this.runAs.gid);
    const server = spawn(this.bin("postgres"), ["-D", this.dataDir, ...settings.flatMap((s) => ["-c", s])], {
      stdio: ["ignore", log, log],
      cwd: dirname(this.dataDir),
      ...this.runAsIds,
    });
    this.server = server;
    this.exited = new Promise((resolve) => server.once("exit", () => resolve()));
    await this.waitReady();
    await this.ensureRoles();
  }

  /** Another server on our port would answer our health checks and take our migrations: refuse early.
   * (A postmaster.pid left by a hard kill is fine: postgres replaces it when its pid is gone.) */
  private async assertPortFree() {
    const taken = await new Promise<boolean>((resolve) => {
      const sock = tcpConnect({ host: "127.0.0.1", port: this.port });
      sock.once("connect", () => (sock.destroy(), resolve(true)));
      sock.once("error", () => resolve(false));
    });
    if (taken) {
      throw new Error(
        `Port ${this.port} is taken (another \`npm run dev\`?). Stop what listens there, or set ` +
          `SAASBASE_DB_PORT to another port.`,
      );
    }
  }

  /** Runs one query as `role`; for the cluster's own set-up. */
  private async query(role: string, text: string) {
    const sql = postgres(this.urlFor(role), { max: 1, onnotice: () => {}, connect_timeout: 5 });
    try {
      return await sql.unsafe(text);
    } finally {
      await sql.end();
    }
  }

  /** Waits until the server answers a query (it accepts connections before it can serve them while it
   * starts up or recovers). Not pg_isready: the binaries from npm ship without it. */
  private async waitReady(timeoutMs = 30_000) {
    const deadline = Date.now() + timeoutMs;
    let exited = false;
    void this.exited?.then(() => (exited = true));
    let last: unknown;
    while (Date.now() < deadline) {
      if (exited) throw new Error(`PostgreSQL exited during start; see ${join(this.dataDir, "server.log")}`);
      try {
        // Any role will do to learn that the server serves: a cluster made before supabase_admin existed
        // answers "role does not exist", which is an answer.
        await this.query(ADMIN_ROLE, "select 1");
        return;
      } catch (err) {
        if ((err as { code?: string }).code === "28000") return;
        last = err;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`PostgreSQL did not accept connections within ${timeoutMs} ms: ${(last as Error)?.message}`);
  }

  /** supabase_admin (the bootstrap superuser) and `postgres` exist. A cluster initialised by an earlier
   * version with `postgres` as its bootstrap superuser gets supabase_admin, then is treated like any other. */
  private async ensureRoles() {
    try {
      await this.query(ADMIN_ROLE, "select 1");
    } catch (err) {
      if ((err as { code?: string }).code !== "28000") throw err;
      await this.query("postgres", `create role ${ADMIN_ROLE} superuser createdb createrole replication bypassrls login`);
    }
    // As Supabase's image does before its init scripts: `postgres` a superuser owning the database (and so
    // the public schema); the stack demotes it once the platform is bootstrapped.
    await this.query(ADMIN_ROLE, `do $$ begin
      if not exists (select from pg_roles where rolname = 'postgres') then
        create role postgres superuser login password 'postgres';
        alter database postgres owner to postgres;
      end if;
    end $$`);
  }

  /** Fast shutdown: rolls back open transactions, keeps committed data. */
  async stop(): Promise<void> {
    if (!this.server || this.server.exitCode !== null) return;
    this.server.kill("SIGINT");
    const killed = setTimeout(() => this.server?.kill("SIGKILL"), 10_000);
    await this.exited;
    clearTimeout(killed);
  }

  /** Stops the server and deletes its data. */
  async destroy(): Promise<void> {
    await this.stop();
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}
