// The docker-free local Supabase stack: Postgres (a project-local cluster, or SUPABASE_DB_URL), the schema
// applied with the real Supabase CLI, and the edge functions on real Deno behind a gateway on the API port.
// `npm run dev` runs it for people; the vitest suite runs a throwaway one on ports of its own.
import { existsSync, readFileSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { parse as parseDotenv } from "dotenv";
import type { Server } from "node:http";
import { prepareDatabase } from "./database.ts";
import { FunctionWorkers } from "./functions.ts";
import { prepareHostedCluster } from "./hosted.ts";
import { createGateway, listen } from "./gateway.ts";
import { apiKeys } from "./jwt.ts";
import { FUNCTIONS_DIR, STATE_DIR, SUPABASE_DIR } from "./paths.ts";
import { LocalCluster } from "./postgres.ts";
import { describePostgres } from "./postgres-binaries.ts";
import { localLicenseSigningKey } from "./license-signing-key.ts";
import { localSecretsKeys } from "./secrets-key.ts";
import { LocalStorage } from "./storage.ts";
import { readProjectConfig, type FunctionSpec } from "./supabase-config.ts";

export interface StackOptions {
  /** Use this database instead of a project-local cluster. */
  dbUrl?: string;
  /** Folder for the local cluster's data (default .saasbase/db). */
  dataDir?: string;
  apiPort?: number;
  dbPort?: number;
  /** Delete the local cluster's data before starting. */
  reset?: boolean;
  /** false for throwaway clusters: no fsync. */
  durable?: boolean;
  /** Extra function secrets (besides supabase/functions/.env). */
  functionEnv?: Record<string, string>;
  /** Read supabase/functions/.env (default true; tests pass their own secrets instead). */
  loadFunctionsEnvFile?: boolean;
  watch?: boolean;
  functionsLogFile?: string;
  /** Restrict which functions run (default: all in config.toml / supabase/functions). */
  functions?: (spec: FunctionSpec) => boolean;
  /** Run with presets/<name>.ts as the product config (the config sync and the functions alike). */
  preset?: string;
  /** Where the local key for user secrets is kept (default: secrets-keys.json beside the data folder), used
   * when the function secrets set no SAASBASE_SECRETS_KEYS of their own. */
  secretsKeyFile?: string;
  /** Where the local license signing key is kept (default: license-signing-key.json beside the data folder), used
   * when the function secrets set no SAASBASE_LICENSE_SIGNING_KEY of their own. */
  licenseKeyFile?: string;
  /** Drain the mail outbox every so many ms by calling the send-email function (npm run dev: 5 s; tests drain
   * it themselves). 0 or undefined: no timer. */
  emailTimerMs?: number;
  /** Where the `console` mail provider writes (default: mail/ beside the data folder). */
  mailSink?: string;
}

export interface Stack {
  apiUrl: string;
  functionsUrl: string;
  /** The local Storage API (src/local/storage.ts), what supabase-js `storage` talks to. */
  storageUrl: string;
  /** Where the local Storage keeps object files. */
  storageDir: string;
  dbUrl: string;
  jwtSecret: string;
  anonKey: string;
  serviceRoleKey: string;
  functions: { name: string; verifyJwt: boolean }[];
  /** Which PostgreSQL the local cluster runs (the machine's or npm's); undefined on a database one gave. */
  postgres?: string;
  /** The local cluster's data folder; undefined on a database one gave. */
  dataDir?: string;
  /** The preset the stack runs (presets/<name>.ts), or undefined for saasbase.config.ts. */
  preset?: string;
  /** The local key file of user secrets, when the functions use it (no SAASBASE_SECRETS_KEYS was given). */
  secretsKeyFile?: string;
  /** The public key license files are signed for (base64url, as GET /licenses/public-key answers it), when the
   * functions use the local key file (no SAASBASE_LICENSE_SIGNING_KEY was given). */
  licensePublicKey?: string;
  /** The folder the `console` mail provider writes each mail to (index.html lists them). */
  mailSink: string;
  /** The mail provider the functions send through (SAASBASE_EMAIL_PROVIDER: console unless the secrets say). */
  emailProvider: string;
  /** Whether the database was bootstrapped (plain Postgres) on this start. */
  bootstrapped: boolean;
  catalog: Record<string, number>;
  /** Kills a function's process mid-whatever and starts it again (fault injection: bench/soak.ts). */
  restartFunction(name: string): Promise<void>;
  stop(): Promise<void>;
}

/** The stack's endpoints and keys, laid out like `supabase status`. */
export function statusTable(stack: Stack): string {
  const rows: [string, string][] = [
    ["API URL", stack.apiUrl],
    ["Functions URL", stack.functionsUrl],
    ["Storage URL", `${stack.storageUrl} (local emulation: docs/storage.md)`],
    ["DB URL", stack.dbUrl],
    ["Postgres", stack.postgres ?? "the database you gave (SUPABASE_DB_URL)"],
    ...(stack.dataDir ? [["DB data", stack.dataDir] as [string, string]] : []),
    ["Storage files", stack.storageDir],
    ["JWT secret", stack.jwtSecret],
    ["anon key", stack.anonKey],
    ["service_role key", stack.serviceRoleKey],
    ["Secrets key", stack.secretsKeyFile ?? "SAASBASE_SECRETS_KEYS (function secrets)"],
    ["License public key", stack.licensePublicKey ?? "of SAASBASE_LICENSE_SIGNING_KEY (GET /licenses/public-key)"],
    ["Mail", stack.emailProvider === "console"
      ? `${join(stack.mailSink, "index.html")} (console provider: every mail sent, newest first)`
      : `sent through ${stack.emailProvider} (SAASBASE_EMAIL_PROVIDER)`],
    ["Functions", stack.functions.map((f) => `${f.name}${f.verifyJwt ? "" : " (verify_jwt off)"}`).join(", ")],
    ["Product config", stack.preset ? `presets/${stack.preset}.ts` : "supabase/functions/_shared/saasbase.config.ts"],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padStart(width)}: ${v}`).join("\n");
}

function functionsEnvFile(): Record<string, string> {
  const path = join(FUNCTIONS_DIR, ".env");
  return existsSync(path) ? parseDotenv(readFileSync(path)) : {};
}

/** The local stack's stand-in for pg_cron: runs the outbox worker every `ms` (never two runs at once). Answers
 * its stop. */
function emailTimer(url: string, serviceRoleKey: string, ms: number): () => Promise<void> {
  let running: Promise<void> | undefined;
  const tick = () => {
    if (running) return;
    running = fetch(url, {
      method: "POST",
      headers: { authorization: `Bearer ${serviceRoleKey}`, "content-type": "application/json" },
      body: "{}",
    }).then((res) => res.body?.cancel()).catch(() => {}).finally(() => (running = undefined));
  };
  const timer = setInterval(tick, ms);
  timer.unref();
  return async () => {
    clearInterval(timer);
    await running;
  };
}

export async function startStack(opts: StackOptions = {}): Promise<Stack> {
  const project = readProjectConfig(SUPABASE_DIR);
  const apiPort = opts.apiPort ?? project.apiPort;
  const cleanups: (() => Promise<void>)[] = [];
  const stop = async () => {
    while (cleanups.length) await cleanups.pop()!().catch((err) => console.error(err));
  };

  try {
    let dbUrl = opts.dbUrl;
    let postgresDescription: string | undefined;
    if (dbUrl) {
      if (opts.reset) {
        throw new Error("--reset only resets the project-local cluster; for your own database use `supabase db reset --remote=<url>`.");
      }
    } else {
      const cluster = new LocalCluster({
        dataDir: opts.dataDir ?? join(STATE_DIR, "db"),
        port: opts.dbPort ?? project.dbPort,
        durable: opts.durable,
      });
      if (opts.reset) {
        await cluster.destroy();
        // The objects' files go with the rows that described them.
        rmSync(join(opts.dataDir ? dirname(opts.dataDir) : STATE_DIR, "storage"), { recursive: true, force: true });
      }
      await cluster.start();
      cleanups.push(() => cluster.stop());
      await prepareHostedCluster(cluster);
      dbUrl = cluster.url;
      postgresDescription = describePostgres(cluster.binaries);
    }

    // The seed's demo users (an admin with a known password) only go into the cluster this stack owns, never
    // into a database it was pointed at.
    const { bootstrapped, catalog } = await prepareDatabase(dbUrl, { seed: !opts.dbUrl, preset: opts.preset });

    const keys = await apiKeys(project.jwtSecret);
    const apiUrl = `http://127.0.0.1:${apiPort}`;
    const specs = project.functions.filter(opts.functions ?? (() => true));
    const secrets = { ...(opts.loadFunctionsEnvFile === false ? {} : functionsEnvFile()), ...opts.functionEnv };
    // User secrets work out of the box: a key of the state folder's own unless the secrets name theirs.
    const stateRoot = opts.dataDir ? dirname(opts.dataDir) : STATE_DIR;
    const secretsKeyFile = secrets.SAASBASE_SECRETS_KEYS
      ? undefined
      : (opts.secretsKeyFile ?? join(stateRoot, "secrets-keys.json"));
    // License files are signed out of the box too: a key of the state folder's own unless the secrets name theirs.
    const licenseKey = secrets.SAASBASE_LICENSE_SIGNING_KEY ? undefined : localLicenseSigningKey(
      opts.licenseKeyFile ?? join(stateRoot, "license-signing-key.json"),
    );
    // Mail: the console provider into a folder of the state's, unless the secrets name a provider (docs/email.md).
    const mailSink = opts.mailSink ?? join(stateRoot, "mail");
    const emailProvider = secrets.SAASBASE_EMAIL_PROVIDER || "console";
    const workers = new FunctionWorkers(specs, {
      env: {
        ...(secretsKeyFile ? localSecretsKeys(secretsKeyFile) : {}),
        ...(licenseKey ? { SAASBASE_LICENSE_SIGNING_KEY: licenseKey.SAASBASE_LICENSE_SIGNING_KEY } : {}),
        SAASBASE_MAIL_SINK: mailSink,
        ...secrets,
        SAASBASE_EMAIL_PROVIDER: emailProvider,
        // The platform's own variables win over any secret of the same name, as on Supabase.
        SUPABASE_URL: apiUrl,
        SUPABASE_ANON_KEY: keys.anonKey,
        SUPABASE_SERVICE_ROLE_KEY: keys.serviceRoleKey,
        SUPABASE_DB_URL: dbUrl,
      },
      watch: opts.watch,
      logFile: opts.functionsLogFile,
      preset: opts.preset,
    });
    cleanups.push(() => workers.stop());

    // The API port is taken before the workers ask the OS for free ports: it lies in Linux's ephemeral range
    // (54321 does), so a worker could otherwise be handed it. Until the workers listen, the gateway answers
    // 404 for every function, and nobody has the URL yet.
    // Storage logs in as its own role (supabase_storage_admin, which the platform bootstrap makes) and takes
    // each request's role from its JWT.
    const storageDir = join(stateRoot, "storage");
    const storageDbUrl = new URL(dbUrl);
    storageDbUrl.username = "supabase_storage_admin";
    storageDbUrl.password = "postgres";
    const storage = new LocalStorage({
      dbUrl: storageDbUrl.toString(),
      jwtSecret: project.jwtSecret,
      root: storageDir,
      fileSizeLimit: project.storageFileSizeLimit,
    });
    cleanups.push(() => storage.close());
    const gateway: Server = createGateway(workers, project.jwtSecret, storage);
    await listen(gateway, apiPort);
    cleanups.push(
      () => new Promise<void>((resolve) => {
        gateway.close(() => resolve());
        gateway.closeAllConnections();
      }),
    );
    await workers.start();
    if (opts.emailTimerMs && specs.some((s) => s.name === "send-email")) {
      cleanups.push(emailTimer(`${apiUrl}/functions/v1/send-email`, keys.serviceRoleKey, opts.emailTimerMs));
    }

    return {
      apiUrl,
      functionsUrl: `${apiUrl}/functions/v1`,
      storageUrl: `${apiUrl}/storage/v1`,
      storageDir,
      dbUrl,
      jwtSecret: project.jwtSecret,
      ...keys,
      functions: specs.map((s) => ({ name: s.name, verifyJwt: s.verifyJwt })),
      postgres: postgresDescription,
      dataDir: opts.dbUrl ? undefined : (opts.dataDir ?? join(STATE_DIR, "db")),
      preset: opts.preset,
      secretsKeyFile,
      licensePublicKey: licenseKey?.publicKey,
      mailSink,
      emailProvider,
      bootstrapped,
      catalog,
      restartFunction: (name) => workers.restart(name),
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
