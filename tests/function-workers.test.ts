// The Deno processes of the local stack: what of our environment they get, and the one dependency fetch that
// runs before the functions start (whose failure names the package and what the network answered).
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:https";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { denoProcessEnv } from "../src/local/deno-env.ts";
import { DependencyFetchError, fetchFunctionDependencies } from "../src/local/function-deps.ts";
import { FunctionWorkers, freePort } from "../src/local/functions.ts";
import { FUNCTIONS_DIR, SUPABASE_DIR } from "../src/local/paths.ts";
import { readProjectConfig } from "../src/local/supabase-config.ts";
import { tempDir } from "../src/local/throwaway.ts";

const dir = tempDir("saasbase-workers-");
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// What a TLS-inspecting network and a proxy put in the environment, and secrets of ours that must stay out.
const NETWORK_ENV = {
  NODE_EXTRA_CA_CERTS: "/etc/corp/ca.pem",
  DENO_CERT: "/etc/corp/deno-ca.pem",
  DENO_TLS_CA_STORE: "system,mozilla",
  SSL_CERT_FILE: "/etc/corp/bundle.pem",
  HTTP_PROXY: "http://proxy.corp:3128",
  https_proxy: "http://proxy.corp:3129",
  NO_PROXY: "127.0.0.1,localhost",
  no_proxy: "127.0.0.1",
  ALL_PROXY: "socks5://proxy.corp:1080",
};
const OURS = {
  SUPABASE_DB_URL: "postgresql://postgres:secret@db.example:5432/postgres",
  DATABASE_URL: "postgresql://x:y@z/w",
  STRIPE_SECRET_KEY: "sk_live_not_for_functions",
  SAASBASE_API_PORT: "1",
};

describe("the environment of Deno processes", () => {
  it("keeps the toolchain, CA and proxy variables in both cases, and nothing else of ours", () => {
    const env = denoProcessEnv({ PATH: "/usr/bin", HOME: "/home/me", DENO_DIR: "/cache/deno", ...NETWORK_ENV, ...OURS });
    expect(env).toEqual({ PATH: "/usr/bin", HOME: "/home/me", DENO_DIR: "/cache/deno", ...NETWORK_ENV });
  });

  it("is what a function worker sees, besides the platform's variables and its secrets", async () => {
    const functionDir = join(dir, "env-echo");
    mkdirSync(functionDir);
    writeFileSync(join(functionDir, "index.ts"), "Deno.serve(() => Response.json(Deno.env.toObject()));\n");
    const saved = { ...process.env };
    Object.assign(process.env, NETWORK_ENV, OURS);
    const workers = new FunctionWorkers(
      [{ name: "env-echo", entrypoint: join(functionDir, "index.ts"), verifyJwt: false, importMap: join(FUNCTIONS_DIR, "import_map.json") }],
      { env: { SUPABASE_URL: "http://127.0.0.1:1", MY_SECRET: "s" }, logFile: join(dir, "workers.log") },
    );
    try {
      await workers.start();
    } finally {
      process.env = saved;
    }
    try {
      const seen = await (await fetch(`http://127.0.0.1:${workers.target("env-echo")!.port}/`)).json();
      expect(seen).toMatchObject({ ...NETWORK_ENV, SUPABASE_URL: "http://127.0.0.1:1", MY_SECRET: "s", NO_COLOR: "1" });
      for (const name of Object.keys(OURS)) expect(seen).not.toHaveProperty(name);
    } finally {
      await workers.stop();
    }
  });
});

/** A certificate authority and a certificate it signed for 127.0.0.1, made with openssl. */
function makeCertificates() {
  const run = (...args: string[]) => {
    const out = spawnSync("openssl", args, { cwd: dir, encoding: "utf8" });
    if (out.status !== 0) throw new Error(`openssl ${args[0]} failed: ${out.stderr}`);
  };
  run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "1", "-subj", "/CN=Corp Test CA");
  run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "leaf.key", "-out", "leaf.csr", "-subj", "/CN=127.0.0.1");
  writeFileSync(join(dir, "leaf.ext"), "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n");
  run("x509", "-req", "-in", "leaf.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", "leaf.pem", "-days", "1", "-extfile", "leaf.ext");
  return { ca: join(dir, "ca.pem"), key: readFileSync(join(dir, "leaf.key")), cert: readFileSync(join(dir, "leaf.pem")) };
}

describe("the functions' dependency fetch", () => {
  const specs = readProjectConfig(SUPABASE_DIR).functions;
  const defaultMap = join(FUNCTIONS_DIR, "import_map.json");
  const emptyCache = () => tempDir("saasbase-deno-dir-");

  it("names the package and the network's refusal when the registry cannot be reached", async () => {
    const registry = `http://127.0.0.1:${await freePort()}/`; // nobody listens there
    const err = await fetchFunctionDependencies(specs, { ...process.env, DENO_DIR: emptyCache(), NPM_CONFIG_REGISTRY: registry })
      .catch((e) => e);
    expect(err).toBeInstanceOf(DependencyFetchError);
    const imports = Object.keys(JSON.parse(readFileSync(defaultMap, "utf8")).imports);
    expect(imports).toContain(err.pkg);
    expect(err.cause).toMatch(/Connection refused/);
    expect(err.message.split("\n")[0]).toBe(`Could not download the npm package "${err.pkg}" for the edge functions: ${err.cause}`);
    expect(err.message).toContain("HTTPS_PROXY");
  }, 60_000);

  it("passes the certificate authority in NODE_EXTRA_CA_CERTS on to Deno, and says what to set without it", async () => {
    // A registry behind a TLS-inspecting proxy: its certificate is signed by a CA only the environment names.
    const { ca, key, cert } = makeCertificates();
    const requests: string[] = [];
    const server = createServer({ key, cert }, (req, res) => {
      requests.push(req.url!);
      res.writeHead(503).end("{}");
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const registry = `https://127.0.0.1:${(server.address() as { port: number }).port}/`;
    const base = { ...process.env, NPM_CONFIG_REGISTRY: registry, NODE_EXTRA_CA_CERTS: "", DENO_CERT: "", SSL_CERT_FILE: "" };
    try {
      const untrusted = await fetchFunctionDependencies(specs, { ...base, DENO_DIR: emptyCache() }).catch((e) => e);
      expect(untrusted).toBeInstanceOf(DependencyFetchError);
      expect(untrusted.cause).toMatch(/certificate/i);
      expect(untrusted.message).toContain("NODE_EXTRA_CA_CERTS");
      expect(requests).toEqual([]); // the TLS handshake failed: no request reached the registry

      const trusted = await fetchFunctionDependencies(specs, { ...base, DENO_DIR: emptyCache(), NODE_EXTRA_CA_CERTS: ca })
        .catch((e) => e);
      expect(trusted).toBeInstanceOf(DependencyFetchError); // the registry answers 503, but over trusted TLS
      expect(trusted.cause).not.toMatch(/certificate/i);
      expect(requests).toContain(`/${trusted.pkg}`); // the package the error names is one Deno asked for
      expect(trusted.cause).toMatch(/503/);
    } finally {
      server.close();
    }
  }, 60_000);
});
