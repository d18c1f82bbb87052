// bench/licenses: license validations per second through the real `licenses` function (POST /licenses/validate
// with a key and a machine's fingerprint, on Deno behind the local gateway) against the same validation SQL alone
// (public.service_role_check_license: the client IP's and the license's rate-limit counts, the key's lookup, the
// machines, the codes), run by pgbench in the same run on the same database at the same concurrency, and the p50
// latency of each at 1 client. The ratio at 16 clients is what HTTP, the gateway, JSON and Deno leave of what the
// SQL alone does (target >= 0.5). Each request names one of LICENSES licenses (one activated machine each) and an
// address of its own, with limits raised so that everything is counted and nothing refused: every answer must be
// 200 VALID with the license's id, every pgbench transaction must succeed.
//   npm run bench:licenses            (BENCH_REQUESTS=2000 per function run, BENCH_SECONDS=8 per pgbench run)
import { Agent, request } from "node:http";
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { connect } from "../src/local/database.ts";
import { findPostgres } from "../src/local/postgres-binaries.ts";
import { tempDir } from "../src/local/throwaway.ts";
import { startService } from "./support/service.ts";
import type { StackInfo, StackServiceOptions } from "./support/stack-service.ts";

const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 2000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const CLIENTS = [1, 16];
const LICENSES = 64;

const dir = tempDir("saasbase-bench-licenses-");
const stackService = await startService<StackInfo>(join(import.meta.dirname, "support/stack-service.ts"), {
  dataDir: join(dir, "db"),
  functions: ["licenses"],
  functionEnv: { SAASBASE_DB_POOL_SIZE: "20" },
  functionsLogFile: join(dir, "functions.log"),
} satisfies StackServiceOptions);
const stack = stackService.info;
const sql = connect(stack.dbUrl, 4);
const agent = new Agent({ keepAlive: true, maxSockets: Math.max(...CLIENTS) });

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};

try {
  // A product, LICENSES licenses of their own users, one machine each; limits raised so that every request is
  // counted (the counts' cost is in both figures) and none refused.
  await sql`insert into public.license_products (id, name, duration_days, floating, max_machines, price_cents)
    values ('bench-app', 'Bench', 365, true, 3, 500)`;
  await sql`update saasbase.licensing_settings set ip_max = 1000000000, key_max = 1000000000`;
  const users = (await sql`
    insert into auth.users (id, aud, role, email, raw_app_meta_data, raw_user_meta_data, created_at, updated_at)
    select gen_random_uuid(), 'authenticated', 'authenticated', 'lic' || n || '@bench.local', '{}', '{}', now(), now()
    from generate_series(1, ${LICENSES}) n
    returning id`).map((r) => r.id as string);
  const licenses = await sql.begin(async (tx) => {
    await tx`select set_config('request.jwt.claims', '{"role":"service_role"}', true)`;
    const out: { id: string; key: string }[] = [];
    for (const u of users) {
      const [l] = await tx`select license_id as id, key from public.admin_issue_license(${u}, 'bench-app')`;
      await tx`select from public.service_role_activate_machine(${l.key}, 'bench-machine')`;
      out.push({ id: l.id, key: l.key });
    }
    return out;
  });

  const target = new URL(`${stack.functionsUrl}/licenses/validate`);
  let seq = 0;
  const wrong: string[] = [];
  function send(latencies?: number[]) {
    const n = seq++;
    const l = licenses[n % LICENSES];
    const body = JSON.stringify({ key: l.key, fingerprint: "bench-machine", product: "bench-app", version: "1.2.3" });
    const headers = {
      "content-type": "application/json",
      "content-length": String(Buffer.byteLength(body)),
      "x-forwarded-for": `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`,
    };
    const started = performance.now();
    return new Promise<void>((resolve, reject) => {
      const req = request({ agent, host: target.hostname, port: target.port, path: target.pathname, method: "POST", headers },
        (res) => {
          let text = "";
          res.setEncoding("utf8");
          res.on("data", (d) => (text += d));
          res.on("end", () => {
            latencies?.push(performance.now() - started);
            if (res.statusCode !== 200) return reject(new Error(`validate answered ${res.statusCode} ${text}`));
            const v = JSON.parse(text);
            if ((v.code !== "VALID" || v.license_id !== l.id) && wrong.length < 5) wrong.push(text.slice(0, 200));
            resolve();
          });
        });
      req.on("error", reject);
      req.end(body);
    });
  }
  async function viaFunction(clients: number, count: number, latencies?: number[]) {
    let left = count;
    const started = performance.now();
    await Promise.all(Array.from({ length: clients }, async () => {
      while (left-- > 0) await send(latencies);
    }));
    return count / ((performance.now() - started) / 1000);
  }

  // pgbench: one script per license (chosen at random, equally), each the statement the function sends, from an
  // address of its own per transaction.
  const scripts = join(dir, "scripts");
  mkdirSync(scripts);
  const scriptArgs = licenses.flatMap((l, i) => {
    const file = join(scripts, `validate-${i}.sql`);
    writeFileSync(file, `\\set ip random(1, 16000000)
select valid, code from public.service_role_check_license('${l.key}', '10.' || :ip, 'bench-machine', 'bench-app', '1.2.3');
`);
    return ["-f", file];
  });
  const db = new URL(stack.dbUrl);
  function viaSql(clients: number, seconds: number, logDir?: string): number {
    const out = spawnSync(
      join(findPostgres().dir, "pgbench"),
      ["-h", db.hostname, "-p", db.port, "-U", decodeURIComponent(db.username), "-n", "-M", "prepared", ...scriptArgs,
        "-c", String(clients), "-j", String(Math.min(clients, 2)), "-T", String(seconds),
        ...(logDir ? ["-l", `--log-prefix=${join(logDir, "tx")}`] : []), decodeURIComponent(db.pathname.slice(1))],
      { encoding: "utf8", env: { ...process.env, PGSSLMODE: "disable", PGPASSWORD: decodeURIComponent(db.password) } },
    );
    const tps = /tps = ([\d.]+)/.exec(out.stdout);
    const failed = Number(/number of failed transactions: (\d+)/.exec(out.stdout)?.[1] ?? 0);
    if (out.status !== 0 || !tps || failed) throw new Error(`pgbench failed:\n${out.stderr}${out.stdout}`);
    return Number(tps[1]);
  }
  /** The p50 of pgbench's per-transaction log (its third column: the latency in microseconds), in ms. */
  function sqlP50(clients: number): number {
    const logs = join(dir, `log-${clients}`);
    mkdirSync(logs);
    viaSql(clients, Math.max(2, SECONDS / 2), logs);
    const micros = readdirSync(logs).flatMap((f) =>
      readFileSync(join(logs, f), "utf8").trim().split("\n").map((line) => Number(line.split(" ")[2]))
    );
    return median(micros) / 1000;
  }

  // Warm up both paths (Deno's JIT, the pool's connections, the prepared statements, the backends' plans).
  await viaFunction(16, 500);
  viaSql(16, 2);

  console.log(`bench/licenses: POST /licenses/validate (key + fingerprint + product + version), ${LICENSES} licenses,` +
    ` ${REQUESTS} requests per function run; baseline: service_role_check_license through pgbench, ${SECONDS} s per run\n`);
  console.log("clients   function/s   SQL (pgbench)/s   ratio");
  const ratios: Record<number, number> = {};
  for (const clients of CLIENTS) {
    // Interleaved halves, so a slower spell of the machine falls on both sides.
    let fn = 0;
    let base = 0;
    for (let round = 0; round < 2; round++) {
      fn += await viaFunction(clients, REQUESTS / 2) / 2;
      base += viaSql(clients, SECONDS / 2) / 2;
    }
    ratios[clients] = fn / base;
    console.log(`${String(clients).padStart(7)} ${fn.toFixed(0).padStart(12)} ${base.toFixed(0).padStart(17)} ${(fn / base).toFixed(2).padStart(7)}`);
  }
  const latencies: number[] = [];
  await viaFunction(1, Math.min(REQUESTS, 1000), latencies);
  const fnP50 = median(latencies);
  const baseP50 = sqlP50(1);
  console.log(`\np50 at 1 client: function ${fnP50.toFixed(2)} ms, SQL alone ${baseP50.toFixed(2)} ms`);
  console.log(`target at 16 clients: ratio >= 0.5: ${ratios[16] >= 0.5 ? "met" : "missed"}`);
  const [{ validated }] = await sql`select count(*)::int as validated from public.licenses where last_validated_at is not null
    and product_id = 'bench-app'`;
  console.log(`answers not VALID for their license: ${wrong.length}; licenses with last_validated_at: ${validated} of ${LICENSES}`);
  for (const w of wrong) console.log(`  ${w}`);
  if (wrong.length || validated !== LICENSES) process.exitCode = 1;
} finally {
  agent.destroy();
  await sql.end();
  await stackService.stop();
  rmSync(dir, { recursive: true, force: true });
}
