// bench/api-keys: verified requests per second through the real `credits` function (GET /credits: the wallet,
// on Deno behind the local gateway) with an API key, against the same requests with the user's JWT, measured
// in the same run, interleaved level by level, at 1 and 16 concurrent clients. The ratio is what a key's
// verification costs on top of a session: one more round trip (service_role_verify_api_key: the client IP's
// rate-limit count, the hash's index probe, the key's count). Each request has an address of its own in
// x-forwarded-for and the keys are spread over many users, so the limits count every request (their cost is
// in the figure) without refusing any: a refused request would be no verified request. Every answer must be
// 200 with the wallet (its balance) of the user the credential names.
//   npm run bench:api-keys            (BENCH_REQUESTS=2000 per run)
import { Agent, request } from "node:http";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { connect } from "../src/local/database.ts";
import { apiKeys, userToken } from "../src/local/jwt.ts";
import { tempDir } from "../src/local/throwaway.ts";
import { startService } from "./support/service.ts";
import type { StackInfo, StackServiceOptions } from "./support/stack-service.ts";

const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 2000);
const CLIENTS = [1, 16];
const USERS = 200;

const dir = tempDir("saasbase-bench-keys-");
const stackService = await startService<StackInfo>(join(import.meta.dirname, "support/stack-service.ts"), {
  dataDir: join(dir, "db"),
  functions: ["credits"],
  functionEnv: { SAASBASE_DB_POOL_SIZE: "20" },
  functionsLogFile: join(dir, "functions.log"),
} satisfies StackServiceOptions);
const stack = stackService.info;
const sql = connect(stack.dbUrl, 4);
// A plain keep-alive HTTP client: on two cores, the load generator's own CPU counts (fetch costs more).
const agent = new Agent({ keepAlive: true, maxSockets: Math.max(...CLIENTS) });

try {
  const users = (await sql`
    insert into auth.users (id, aud, role, email, raw_app_meta_data, raw_user_meta_data, created_at, updated_at)
    select gen_random_uuid(), 'authenticated', 'authenticated', 'key' || n || '@bench.local', '{}', '{}', now(), now()
    from generate_series(1, ${USERS}) n
    returning id`).map((r) => r.id as string);
  // A balance of each user's own (1 to USERS credits more than sign-up gave): an answer shows whose wallet it is.
  await sql`select public.service_role_grant_credits(u.id, u.n::integer, 'grant', 'bench')
    from unnest(${users}::uuid[]) with ordinality u(id, n)`;
  const balances = new Map((await sql`select account_id, balance::int from public.wallets where account_id = any(${users}::uuid[])`)
    .map((w) => [w.account_id as string, w.balance as number]));
  const { anonKey } = await apiKeys(stack.jwtSecret);
  const creds = await Promise.all(users.map(async (id) => {
    const [{ key }] = await sql.begin(async (tx) => {
      await tx`select set_config('request.jwt.claims', ${JSON.stringify({ role: "authenticated", sub: id })}, true)`;
      return tx`select key from public.create_api_key('bench')`;
    });
    return { id, key: key as string, token: await userToken({ id }, stack.jwtSecret) };
  }));

  const target = new URL(`${stack.functionsUrl}/credits`);
  let seq = 0;
  const mismatches: string[] = [];
  function send(mode: "jwt" | "key") {
    const n = seq++;
    const c = creds[n % USERS];
    const ip = `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;
    const headers: Record<string, string> = mode === "key"
      ? { authorization: `Bearer ${anonKey}`, "x-api-key": c.key, "x-forwarded-for": ip }
      : { authorization: `Bearer ${c.token}`, "x-forwarded-for": ip };
    return new Promise<void>((resolve, reject) => {
      const req = request({ agent, host: target.hostname, port: target.port, path: target.pathname, method: "GET", headers },
        (res) => {
          let body = "";
          res.setEncoding("utf8");
          res.on("data", (d) => (body += d));
          res.on("end", () => {
            if (res.statusCode !== 200) return reject(new Error(`${mode}: credits answered ${res.statusCode} ${body}`));
            if (JSON.parse(body).balance !== balances.get(c.id) && mismatches.length < 5) mismatches.push(`${mode}: ${body.slice(0, 200)}`);
            resolve();
          });
        });
      req.on("error", reject);
      req.end();
    });
  }
  async function run(mode: "jwt" | "key", clients: number, count: number) {
    let left = count;
    const started = performance.now();
    await Promise.all(Array.from({ length: clients }, async () => {
      while (left-- > 0) await send(mode);
    }));
    return count / ((performance.now() - started) / 1000);
  }

  // Warm up both paths (Deno's JIT, the pool's connections, the prepared statements).
  await run("jwt", 16, 500);
  await run("key", 16, 500);

  console.log(`bench/api-keys: GET /credits, ${REQUESTS} requests per run, ${USERS} users (a JWT and an API key each)\n`);
  console.log("clients   JWT req/s   API key req/s   key/JWT");
  for (const clients of CLIENTS) {
    // Interleaved halves, so a slower spell of the machine falls on both sides.
    let jwt = 0;
    let key = 0;
    for (let round = 0; round < 2; round++) {
      jwt += await run("jwt", clients, REQUESTS / 2) / 2;
      key += await run("key", clients, REQUESTS / 2) / 2;
    }
    console.log(`${String(clients).padStart(7)} ${jwt.toFixed(0).padStart(11)} ${key.toFixed(0).padStart(15)} ${(key / jwt).toFixed(2).padStart(9)}`);
  }
  const [{ used }] = await sql`select count(*)::int as used from public.api_keys where last_used_at is not null`;
  console.log(`\nanswers with another user's wallet: ${mismatches.length}; keys with last_used_at set: ${used} of ${USERS}`);
  for (const m of mismatches) console.log(`  ${m}`);
  if (mismatches.length || used !== USERS) process.exitCode = 1;
} finally {
  agent.destroy();
  await sql.end();
  await stackService.stop();
  rmSync(dir, { recursive: true, force: true });
}
