// Edge functions for the local stack: one real Deno process per function (src/local/deno/function-worker.ts),
// each on a loopback port of its own, with the environment the Supabase platform gives a function.
import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream, type WriteStream } from "node:fs";
import { createServer, connect as tcpConnect } from "node:net";
import { dirname, join } from "node:path";
import { denoProcessEnv } from "./deno-env.ts";
import { fetchFunctionDependencies, FUNCTION_WORKER, importMapArgs } from "./function-deps.ts";
import { DENO_BIN, FUNCTIONS_DIR } from "./paths.ts";
import { presetDenoConfig } from "./preset-imports.ts";
import type { FunctionSpec } from "./supabase-config.ts";

export interface WorkerOptions {
  /** Platform variables and secrets, passed to every function. */
  env: Record<string, string>;
  /** Restart a function when its files change (dev only). */
  watch?: boolean;
  /** Where worker output goes: the console with a `[name]` prefix, or a log file. */
  logFile?: string;
  /** Run with presets/<name>.ts in place of saasbase.config.ts. */
  preset?: string;
}

interface Worker {
  spec: FunctionSpec;
  port: number;
  process: ChildProcess;
  exited: Promise<number | null>;
}

/** A free loopback port, chosen by the kernel. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = tcpConnect({ host: "127.0.0.1", port });
    sock.once("connect", () => (sock.destroy(), resolve(true)));
    sock.once("error", () => resolve(false));
  });
}

export class FunctionWorkers {
  private readonly workers = new Map<string, Worker>();
  private log?: WriteStream;

  constructor(private readonly specs: FunctionSpec[], private readonly opts: WorkerOptions) {}

  get names(): string[] {
    return this.specs.map((s) => s.name);
  }

  /** Fetches the functions' dependencies (once, for all), then starts every function and waits until each
   * listens; fails with the function's output if one dies. */
  async start(timeoutMs = 60_000): Promise<void> {
    await fetchFunctionDependencies(this.specs);
    if (this.opts.logFile) this.log = createWriteStream(this.opts.logFile, { flags: "a" });
    await Promise.all(this.specs.map((spec) => this.startOne(spec, timeoutMs)));
  }

  private async startOne(spec: FunctionSpec, timeoutMs: number) {
    const port = await freePort();
    const config = this.opts.preset
      ? ["--config", presetDenoConfig(this.opts.preset, spec.importMap)]
      : ["--config", join(FUNCTIONS_DIR, "deno.json"), ...importMapArgs(spec.importMap)];
    const args = [
      "run",
      "--allow-all",
      "--no-prompt",
      ...config,
      ...(this.opts.watch ? [`--watch=${FUNCTIONS_DIR}`, "--no-clear-screen"] : []),
      FUNCTION_WORKER,
      spec.entrypoint,
      String(port),
    ];
    const child = spawn(DENO_BIN, args, {
      cwd: dirname(spec.entrypoint),
      env: { ...denoProcessEnv(), NO_COLOR: "1", ...this.opts.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    const forward = (chunk: Buffer) => {
      const text = chunk.toString();
      output = (output + text).slice(-8000);
      const lines = text.replace(/\n$/, "").split("\n").map((l) => `[${spec.name}] ${l}\n`).join("");
      if (this.log) this.log.write(lines);
      else process.stdout.write(lines);
    };
    child.stdout!.on("data", forward);
    child.stderr!.on("data", forward);
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    this.workers.set(spec.name, { spec, port, process: child, exited });

    let dead = false;
    void exited.then(() => (dead = true));
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (dead) throw new Error(`Edge function "${spec.name}" exited during start:\n${output}`);
      if (await accepts(port)) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`Edge function "${spec.name}" did not listen within ${timeoutMs} ms:\n${output}`);
  }

  /** Where the gateway sends a function's requests, or undefined for an unknown function. */
  target(name: string): { port: number; verifyJwt: boolean } | undefined {
    const w = this.workers.get(name);
    return w && { port: w.port, verifyJwt: w.spec.verifyJwt };
  }

  /** Kills a function's process outright (SIGKILL: requests in flight die with it, as when the platform
   * recycles a worker) and starts it again; until it listens the gateway answers 502. For bench/soak.ts. */
  async restart(name: string, timeoutMs = 60_000): Promise<void> {
    const w = this.workers.get(name);
    if (!w) throw new Error(`No function "${name}"`);
    w.process.kill("SIGKILL");
    await w.exited;
    await this.startOne(w.spec, timeoutMs);
  }

  async stop(): Promise<void> {
    await Promise.all(
      [...this.workers.values()].map(async (w) => {
        if (w.process.exitCode === null && w.process.signalCode === null) w.process.kill("SIGTERM");
        const timer = setTimeout(() => w.process.kill("SIGKILL"), 5_000);
        await w.exited;
        clearTimeout(timer);
      }),
    );
    this.workers.clear();
    await new Promise<void>((resolve) => (this.log ? this.log.end(resolve) : resolve()));
  }
}
