// A project-local PostgreSQL cluster run with the machine's own binaries (no Docker): created with initdb
// on first use, started as a child process, stopped with the stack. Postgres refuses to run as root, so
// when we are root the cluster is owned and run by the unprivileged `postgres` account (or `nobody`).
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { chownSync, existsSync, mkdirSync, openSync, readdirSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";

export const MIN_PG_MAJOR = 15;

export class PostgresNotFoundError extends Error {
  constructor() {
    super(
      `No PostgreSQL ${MIN_PG_MAJOR}+ server binaries (initdb, postgres) were found on PATH, via pg_config, ` +
        `or under /usr/lib/postgresql/*/bin.\n` +
        `Install them (Debian/Ubuntu: sudo apt-get install postgresql-15; macOS: brew install postgresql@15),\n` +
        `set PG_BIN_DIR to their folder, point SUPABASE_DB_URL at a database you have,\n` +
        `or use Docker with \`npx supabase start\`.`,
    );
    this.name = "PostgresNotFoundError";
  }
}

function majorVersion(binDir: string): number | null {
  const out = spawnSync(join(binDir, "postgres"), ["--version"], { encoding: "utf8" });
  const m = /(\d+)(?:\.\d+)?/.exec(out.stdout ?? "");
  return out.status === 0 && m ? Number(m[1]) : null;
}

/** The folder holding initdb, postgres and pg_ctl of a PostgreSQL >= 15, or throws PostgresNotFoundError. */
export function findPostgresBinDir(): string {
  const candidates: string[] = [];
  if (process.env.PG_BIN_DIR) candidates.push(process.env.PG_BIN_DIR);
  const pgConfig = spawnSync("pg_config", ["--bindir"], { encoding: "utf8" });
  if (pgConfig.status === 0) candidates.push(pgConfig.stdout.trim());
  for (const dir of (process.env.PATH ?? "").split(":")) if (dir) candidates.push(dir);
  if (existsSync("/usr/lib/postgresql")) {
    const versions = readdirSync("/usr/lib/postgresql").filter((v) => /^\d+$/.test(v)).sort((a, b) => +b - +a);
    for (const v of versions) candidates.push(`/usr/lib/postgresql/${v}/bin`);
  }
  for (const dir of candidates) {
    if (!existsSync(join(dir, "initdb")) || !existsSync(join(dir, "postgres"))) continue;
    const major = majorVersion(dir);
    if (major !== null && major >= MIN_PG_MAJOR) return dir;
  }
  throw new PostgresNotFoundError();
}

interface RunAs {
  uid: number;
  gid: number;
}

/** Whom the server runs as: ourselves, or an unprivileged account when we are root. */
function serverUser(): RunAs | undefined {
  if (process.getuid?.() !== 0) return undefined;
  for (const name of ["postgres", "nobody"]) {
    const uid = spawnSync("id", ["-u", name], { encoding: "utf8" });
    const gid = spawnSync("id", ["-g", name], { encoding: "utf8" });
    if (uid.status === 0 && gid.status === 0) return { uid: Number(uid.stdout), gid: Number(gid.stdout) };
  }
  throw new Error("Running as root, and no unprivileged account (postgres, nobody) to run PostgreSQL as.");
}

export interface ClusterOptions {
  dataDir: string;
  port: number;
  /** Throwaway clusters (tests) trade durability for speed: no fsync. */
  durable?: boolean;
  binDir?: string;
}

export class LocalCluster {
  readonly dataDir: string;
  readonly port: number;
  readonly binDir: string;
  private readonly durable: boolean;
  private readonly runAs = serverUser();
  private server?: ChildProcess;
  private exited?: Promise<void>;

  constructor(opts: ClusterOptions) {
    this.dataDir = opts.dataDir;
    this.port = opts.port;
    this.durable = opts.durable ?? true;
    this.binDir = opts.binDir ?? findPostgresBinDir();
  }

  /** Superuser URL as Supabase's local stack gives it (trust auth on loopback; the cluster has no TLS). */
  get url(): string {
    return `postgresql://postgres:postgres@127.0.0.1:${this.port}/postgres?sslmode=disable`;
  }

  get initialized(): boolean {
    return existsSync(join(this.dataDir, "PG_VERSION"));
  }

  private bin(name: string) {
    return join(this.binDir, name);
  }

  /** Creates the cluster when the data directory is empty; returns whether it did. */
  init(): boolean {
    if (this.initialized) return false;
    // The parent stays traversable for the server account; the data directory is private to it.
    mkdirSync(dirname(this.dataDir), { recursive: true, mode: 0o755 });
    mkdirSync(this.dataDir, { recursive: true, mode: 0o700 });
    if (this.runAs) chownSync(this.dataDir, this.runAs.uid, this.runAs.gid);
    const out = spawnSync(
      this.bin("initdb"),
      ["-D", this.dataDir, "-U", "postgres", "--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync"],
      { encoding: "utf8", ...this.runAs },
    );
    if (out.status !== 0) throw new Error(`initdb failed:\n${out.stderr || out.stdout}`);
    return true;
  }

  /** Starts the server as a child process and waits until it accepts connections. */
  async start(): Promise<void> {
    this.init();
    this.assertPortFree();
    const settings = [
      `port=${this.port}`,
      "listen_addresses=127.0.0.1",
      `unix_socket_directories=${this.dataDir}`,
      "max_connections=200",
      "shared_buffers=128MB",
      ...(this.durable ? [] : ["fsync=off", "synchronous_commit=off", "full_page_writes=off"]),
    ];
    const log = openSync(join(this.dataDir, "server.log"), "a");
    if (this.runAs) chownSync(join(this.dataDir, "server.log"), this.runAs.uid, this.runAs.gid);
    const server = spawn(this.bin("postgres"), ["-D", this.dataDir, ...settings.flatMap((s) => ["-c", s])], {
      stdio: ["ignore", log, log],
      ...this.runAs,
    });
    this.server = server;
    this.exited = new Promise((resolve) => server.once("exit", () => resolve()));
    await this.waitReady();
  }

  /** Another server on our port would answer our health checks and take our migrations: refuse early.
   * (A postmaster.pid left by a hard kill is fine: postgres replaces it when its pid is gone.) */
  private assertPortFree() {
    const ready = spawnSync(this.bin("pg_isready"), ["-h", "127.0.0.1", "-p", String(this.port), "-q"]);
    if (ready.status === 0) {
      throw new Error(
        `Port ${this.port} already has a PostgreSQL server (another \`npm run dev\`?). Stop it, or set ` +
          `SAASBASE_DB_PORT to another port.`,
      );
    }
  }

  private async waitReady(timeoutMs = 30_000) {
    const deadline = Date.now() + timeoutMs;
    let exited = false;
    void this.exited?.then(() => (exited = true));
    while (Date.now() < deadline) {
      if (exited) throw new Error(`PostgreSQL exited during start; see ${join(this.dataDir, "server.log")}`);
      const ready = spawnSync(this.bin("pg_isready"), ["-h", "127.0.0.1", "-p", String(this.port), "-q"]);
      if (ready.status === 0) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`PostgreSQL did not accept connections within ${timeoutMs} ms`);
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
