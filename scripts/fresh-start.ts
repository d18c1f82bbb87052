// The newcomer's path, as CI proves it before the test suite: `npm run dev` from this checkout with an empty
// Deno cache (and an empty state folder) must be up (its status table printed) and answer
// GET /functions/v1/health with 200 within 60 s of the command starting, then stop cleanly on Ctrl-C. Exits non-zero, printing dev's output, when it does not.
//   npx tsx scripts/fresh-start.ts
import { spawn } from "node:child_process";
import { rmSync } from "node:fs";
import { freePort } from "../src/local/functions.ts";
import { ROOT } from "../src/local/paths.ts";
import { tempDir } from "../src/local/throwaway.ts";

const LIMIT_MS = 60_000;
const denoDir = tempDir("saasbase-empty-deno-dir-");
const stateDir = tempDir("saasbase-fresh-state-");
const apiPort = await freePort();
const dbPort = await freePort();
const npm = process.platform === "win32" ? "npm.cmd" : "npm";

const started = Date.now();
// Its own process group, so that Ctrl-C reaches npm and everything under it, as from a terminal.
const dev = spawn(npm, ["run", "dev"], {
  cwd: ROOT,
  detached: true,
  env: {
    ...process.env,
    DENO_DIR: denoDir,
    SAASBASE_STATE_DIR: stateDir,
    SAASBASE_API_PORT: String(apiPort),
    SAASBASE_DB_PORT: String(dbPort),
    SUPABASE_DB_URL: "",
    DATABASE_URL: "",
  },
  stdio: ["ignore", "pipe", "pipe"],
});
let output = "";
dev.stdout!.on("data", (d) => (output += d));
dev.stderr!.on("data", (d) => (output += d));
const exited = new Promise<number | null>((resolve) => dev.once("exit", (code) => resolve(code)));

async function health(): Promise<number | undefined> {
  try {
    const res = await fetch(`http://127.0.0.1:${apiPort}/functions/v1/health`, { signal: AbortSignal.timeout(5_000) });
    await res.body?.cancel();
    return res.status;
  } catch {
    return undefined;
  }
}

let status: number | undefined;
while (Date.now() - started < LIMIT_MS && dev.exitCode === null) {
  status = await health();
  if (status === 200 && output.includes("Press Ctrl-C to stop.")) break;
  await new Promise((r) => setTimeout(r, 250));
}
const seconds = ((Date.now() - started) / 1000).toFixed(1);

const groupKill = (signal: NodeJS.Signals) => {
  try {
    process.kill(-dev.pid!, signal);
  } catch {
    // the group is gone already
  }
};
groupKill("SIGINT");
const killer = setTimeout(() => groupKill("SIGKILL"), 20_000);
const code = await exited;
clearTimeout(killer);
rmSync(denoDir, { recursive: true, force: true });
rmSync(stateDir, { recursive: true, force: true });

if (status !== 200 || !output.includes("Press Ctrl-C to stop.")) {
  console.error(`${output}\n\nFresh start FAILED: /functions/v1/health answered ${status ?? "nothing"} after ${seconds} s ` +
    `(limit ${LIMIT_MS / 1000} s) with an empty DENO_DIR.`);
  process.exit(1);
}
if (!output.includes("Stopped.")) {
  console.error(`${output}\n\nFresh start FAILED: npm run dev did not stop cleanly on Ctrl-C (exit ${code}).`);
  process.exit(1);
}
console.log(`Fresh start: npm run dev with an empty DENO_DIR answered /functions/v1/health 200 after ${seconds} s.`);
