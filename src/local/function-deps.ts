// Fetches the edge functions' npm dependencies into Deno's cache once, in one process, before any function
// starts: on a machine whose Deno cache is empty, the function workers (each its own Deno process) would
// otherwise all download the same packages into one cache at once, and each fail on its own when the network
// refuses. Afterwards the workers start from the cache.
import { spawn } from "node:child_process";
import { join } from "node:path";
import { denoProcessEnv } from "./deno-env.ts";
import { DENO_BIN, FUNCTIONS_DIR, ROOT } from "./paths.ts";
import type { FunctionSpec } from "./supabase-config.ts";

export class DependencyFetchError extends Error {
  constructor(readonly pkg: string | undefined, readonly cause: string, readonly output: string) {
    super(
      `Could not download ${pkg ? `the npm package "${pkg}"` : "the edge functions' dependencies"} for the edge ` +
        `functions: ${cause}\n${hint(cause)}\n\n\`deno install\` said:\n${output.trim()}`,
    );
    this.name = "DependencyFetchError";
  }
}

/** What to try for the network cause Deno reported. */
function hint(cause: string): string {
  if (/certificate|UnknownIssuer|tls|ssl/i.test(cause)) {
    return "A proxy or firewall with its own certificate authority is in the way: point NODE_EXTRA_CA_CERTS (or " +
      "DENO_CERT) at its CA file, or set DENO_TLS_CA_STORE=system to trust the system's store.";
  }
  return "Check the connection to the npm registry (NPM_CONFIG_REGISTRY if you use a mirror); behind a proxy, " +
    "set HTTPS_PROXY (and NO_PROXY=127.0.0.1,localhost).";
}

/** Deno's failure, read for the package and the innermost cause it names:
 *   error: Failed loading https://registry.npmjs.org/zod for package "zod"
 *       0: error sending request for url (...): client error (Connect): invalid peer certificate: UnknownIssuer */
export function readDenoFailure(output: string): { pkg?: string; cause: string } {
  const pkg = /for package "([^"]+)"/.exec(output)?.[1] ?? /npm:(@?[^@\s"'/]+(?:\/[^@\s"'/]+)?)/.exec(output)?.[1];
  const causes = [...output.matchAll(/^\s*\d+: (.+)$/gm)].map((m) => m[1].trim());
  const error = /^error: (.+)$/m.exec(output)?.[1].trim();
  return { pkg, cause: causes.at(-1) ?? error ?? (output.trim().split("\n").at(-1) || "deno install failed") };
}

/** The shared import map, which deno.json names. */
export const DEFAULT_IMPORT_MAP = join(FUNCTIONS_DIR, "import_map.json");
/** What runs each function (src/local/deno/function-worker.ts <entrypoint> <port>). */
export const FUNCTION_WORKER = join(ROOT, "src/local/deno/function-worker.ts");

/** `--import-map` for a function with its own (config.toml); none for the shared one, which deno.json names. */
export function importMapArgs(importMap: string): string[] {
  return importMap === DEFAULT_IMPORT_MAP ? [] : ["--import-map", importMap];
}

function denoInstall(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(DENO_BIN, ["install", "--quiet", "--config", join(FUNCTIONS_DIR, "deno.json"), ...args], {
      cwd: ROOT,
      env: { ...denoProcessEnv(env), NO_COLOR: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (d) => (output += d));
    child.stderr.on("data", (d) => (output += d));
    child.on("error", (err) => resolve({ code: 127, output: String(err) }));
    child.on("close", (code) => resolve({ code: code ?? 1, output }));
  });
}

/** `deno install --entrypoint` over every function's entrypoint (one run per import map); throws DependencyFetchError naming the package and the network's answer when a download fails. */
export async function fetchFunctionDependencies(
  specs: FunctionSpec[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<void> {
  const byImportMap = new Map<string, string[]>();
  for (const s of specs) byImportMap.set(s.importMap, [...(byImportMap.get(s.importMap) ?? []), s.entrypoint]);
  for (const [importMap, entrypoints] of byImportMap) {
    const args = [...importMapArgs(importMap), "--entrypoint", FUNCTION_WORKER, ...entrypoints];
    const { code, output } = await denoInstall(args, env);
    if (code !== 0) {
      const { pkg, cause } = readDenoFailure(output);
      throw new DependencyFetchError(pkg, cause, output);
    }
  }
}
