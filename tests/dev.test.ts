// `npm run dev` as a person runs it: from an empty state folder to a status table, health answering,
// Ctrl-C leaving nothing behind, data surviving a restart, and --reset starting clean.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { connect as tcpConnect } from "node:net";
import { join } from "node:path";
import postgres from "postgres";
import { afterAll, describe, expect, it } from "vitest";
import { freePort } from "../src/local/functions.ts";
import { LocalCluster } from "../src/local/postgres.ts";
import { ROOT } from "../src/local/paths.ts";
import { tempDir } from "../src/local/throwaway.ts";

// The anon key every `supabase start` prints (same JWT secret, same claims).
const CLI_ANON_KEY =
  "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJzdXBhYmFzZS1kZW1vIiwicm9sZSI6ImFub24iLCJleHAiOjE5ODM4MTI5OTZ9.CRXP1A7WOeoJeXxjNni43kdQwgnWNReilDMblYTn_I0";

const stateDir = tempDir("saasbase-dev-");
let apiPort: number;
let dbPort: number;
let running: ChildProcess | undefined;

afterAll(async () => {
  if (running && running.exitCode === null) running.kill("SIGKILL");
  rmSync(stateDir, { recursive: true, force: true });
});

interface Dev {
  child: ChildProcess;
  output: () => string;
  status: Record<string, string>;
  seconds: number;
}

const startDev = (...args: string[]) => startDevWith({}, ...args);

async function startDevWith(env: Record<string, string>, ...args: string[]): Promise<Dev> {
  const started = Date.now();
  // As package.json's dev script runs it: node with tsx as a loader, no tsx wrapper process (whose signal
  // relay SIGKILLs a child that does not answer Ctrl-C within 60 ms, as under load).
  const child = spawn(process.execPath, ["--import", "tsx", "src/local/dev.ts", ...args], {
    cwd: ROOT,
    env: {
      ...process.env,
      SAASBASE_STATE_DIR: stateDir,
      SAASBASE_API_PORT: String(apiPort),
      SAASBASE_DB_PORT: String(dbPort),
      SAASBASE_WATCH: "0",
      SUPABASE_DB_URL: "",
      DATABASE_URL: "",
      SAASBASE_PRESET: "", // the shipped config unless a test names a preset
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  running = child;
  let out = "";
  child.stdout!.on("data", (d) => (out += d));
  child.stderr!.on("data", (d) => (out += d));
  await new Promise<void>((resolve, reject) => {
    const timer = setInterval(() => {
      if (out.includes("Press Ctrl-C to stop.")) (clearInterval(timer), resolve());
      else if (child.exitCode !== null) (clearInterval(timer), reject(new Error(`dev exited:\n${out}`)));
    }, 50);
  });
  const status = Object.fromEntries(
    [...out.matchAll(/^\s*([\w ]+?): (.+)$/gm)].map((m) => [m[1].trim(), m[2].trim()]),
  );
  return { child, output: () => out, status, seconds: (Date.now() - started) / 1000 };
}

async function stopDev(dev: Dev) {
  const exited = new Promise<number | null>((r) => dev.child.once("exit", (code) => r(code)));
  dev.child.kill("SIGINT");
  expect(await exited).toBe(0);
  expect(dev.output()).toContain("Stopped.");
}

const portOpen = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = tcpConnect({ host: "127.0.0.1", port });
    s.once("connect", () => (s.destroy(), resolve(true)));
    s.once("error", () => resolve(false));
  });

async function query<T>(url: string, fn: (sql: postgres.Sql) => Promise<T>): Promise<T> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    return await fn(sql);
  } finally {
    await sql.end();
  }
}

const emails = (url: string) =>
  query(url, async (sql) => (await sql`select email from auth.users order by email`).map((r) => r.email as string));

describe("npm run dev", () => {
  it("bootstraps an empty machine state, restarts with its data, and --reset starts clean", async () => {
    apiPort = await freePort();
    dbPort = await freePort();

    // 1. First start: initdb, platform bootstrap, migrations, seed, functions.
    const first = await startDev();
    expect(first.status["API URL"]).toBe(`http://127.0.0.1:${apiPort}`);
    expect(first.status["Functions URL"]).toBe(`http://127.0.0.1:${apiPort}/functions/v1`);
    expect(first.status["anon key"]).toBe(CLI_ANON_KEY);
    expect(first.status["service_role key"]).toMatch(/^eyJ/);
    const dbUrl = first.status["DB URL"];
    expect(dbUrl).toContain(`:${dbPort}/`);

    const health = await fetch(`${first.status["Functions URL"]}/health`);
    expect(health.status).toBe(200);
    expect((await health.json()).database.ok).toBe(true);
    // User secrets work out of the box: a key made in the state folder, kept for the next run.
    const keyFile = join(stateDir, "secrets-keys.json");
    expect(first.status["Secrets key"]).toBe(keyFile);
    const key = readFileSync(keyFile, "utf8");
    expect(JSON.parse(key).current).toBe("local-1");

    expect(await emails(dbUrl)).toEqual(["admin@example.com", "customer@example.com"]); // seed.sql
    await query(dbUrl, (sql) => sql`
      insert into auth.users (id, aud, role, email, raw_app_meta_data, raw_user_meta_data, created_at, updated_at)
      values (gen_random_uuid(), 'authenticated', 'authenticated', 'kept@example.com', '{}', '{}', now(), now())`);
    // Storage: served at /storage/v1, files in the state folder, kept like the data.
    expect(first.status["Storage URL"]).toBe(`http://127.0.0.1:${apiPort}/storage/v1 (local emulation: docs/storage.md)`);
    expect(first.status["Storage files"]).toBe(join(stateDir, "storage"));
    await query(dbUrl, (sql) => sql`insert into storage.buckets (id, name) values ('dev-test', 'dev-test')`);
    const storage = `http://127.0.0.1:${apiPort}/storage/v1/object/dev-test/kept.txt`;
    const service = { authorization: `Bearer ${first.status["service_role key"]}` };
    const put = await fetch(storage, { method: "POST", headers: { ...service, "content-type": "text/plain" }, body: "kept" });
    expect(put.status).toBe(200);

    // 2. Ctrl-C stops everything: no listener on either port, no process left holding the state folder.
    await stopDev(first);
    expect(await portOpen(apiPort)).toBe(false);
    expect(await portOpen(dbPort)).toBe(false);
    expect(spawnSync("pgrep", ["-f", stateDir]).status).toBe(1); // pgrep: 1 = no process matched

    // 3. A restart keeps the data.
    const second = await startDev();
    expect(await emails(dbUrl)).toEqual(["admin@example.com", "customer@example.com", "kept@example.com"]);
    expect(readFileSync(keyFile, "utf8")).toBe(key);
    expect(await (await fetch(storage, { headers: service })).text()).toBe("kept");
    await stopDev(second);

    // 4. --reset starts from an empty database (seed only).
    const third = await startDev("--reset");
    expect(await emails(dbUrl)).toEqual(["admin@example.com", "customer@example.com"]);
    expect((await fetch(`${third.status["Functions URL"]}/health`)).status).toBe(200);
    expect(existsSync(join(stateDir, "storage", "dev-test"))).toBe(false); // the files went with the rows
    await stopDev(third);
  }, 180_000);

  it("--preset (or SAASBASE_PRESET) runs the functions and the config sync with presets/<name>.ts", async () => {
    apiPort = await freePort();
    dbPort ??= await freePort(); // run alone (-t), it makes the state folder's cluster itself
    await expect(startDevWith({ SAASBASE_PRESET: "nope" })).rejects.toThrow(/Unknown preset "nope": one of .*miky/);

    const product = async (dev: Dev) => (await (await fetch(`${dev.status["Functions URL"]}/health`)).json()).product;
    const plans = async (dev: Dev) =>
      query(dev.status["DB URL"], async (sql) => (await sql`select id from public.plans where active order by sort_order`).map((p) => p.id));
    const preset = await startDev("--preset", "nuggetwise");
    expect(preset.status["Product config"]).toBe("presets/nuggetwise.ts");
    expect(await product(preset)).toBe("Magic Nuggetwise"); // the functions import the preset
    expect(await plans(preset)).toEqual(["free", "pro", "enterprise"]); // the database has its catalog
    await stopDev(preset);

    // Without one, the same data runs the shipped config again: the preset's plans retired, the demo's back.
    const shipped = await startDev();
    expect(shipped.status["Product config"]).toBe("supabase/functions/_shared/saasbase.config.ts");
    expect(await product(shipped)).toBe("SaaSbase Demo");
    expect(await plans(shipped)).toEqual(["free", "plus", "business"]);
    await stopDev(shipped);
  }, 180_000);

  it("on a database it is given: bootstraps and migrates it, but puts no demo users in it", async () => {
    // Plain Postgres standing in for a database of one's own (a hosted one is never bootstrapped: it has auth.users).
    const own = new LocalCluster({ dataDir: join(stateDir, "own"), port: await freePort(), durable: false });
    await own.start();
    try {
      apiPort = await freePort();
      const dev = await startDevWith({ SUPABASE_DB_URL: own.url });
      expect(dev.status["DB URL"]).toBe(own.url);
      expect((await fetch(`${dev.status["Functions URL"]}/health`)).status).toBe(200);
      expect(await emails(own.url)).toEqual([]); // seed.sql's admin (known password) is the local cluster's only
      const [{ n }] = await query(own.url, (sql) => sql`select count(*)::int as n from public.plans`);
      expect(n).toBeGreaterThan(0); // migrated and the config synced
      await stopDev(dev);
    } finally {
      await own.destroy();
    }
  }, 120_000);
});
