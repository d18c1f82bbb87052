// bench/webhooks: signed Stripe events per second through the real stripe-webhook function (Deno, behind the
// local gateway) into Postgres, at 1, 16 and 64 concurrent senders. Each event is a paid credit checkout
// (store, verify, purchase row, ledger grant); one in ten is sent twice, as Stripe redelivers. Afterwards it
// checks that every event was applied exactly once. Target: >= 1,000 events/s.
//   npm run bench:webhooks            (BENCH_EVENTS=3000 per level by default)
import Stripe from "stripe";
import { Agent, request } from "node:http";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { connect } from "../src/local/database.ts";
import { tempDir } from "../src/local/throwaway.ts";
import { startService } from "./support/service.ts";
import type { StackInfo, StackServiceOptions } from "./support/stack-service.ts";

const EVENTS = Number(process.env.BENCH_EVENTS ?? 3000);
const SENDERS = [1, 16, 64];
const TARGET = 1000;
const USERS = 200;
const SECRET = "whsec_bench";

const dir = tempDir("saasbase-bench-hooks-");
// The load generator (this process) and the stack run in processes of their own.
const stackService = await startService<StackInfo>(join(import.meta.dirname, "support/stack-service.ts"), {
  dataDir: join(dir, "db"),
  functions: ["stripe-webhook"],
  functionEnv: { STRIPE_SECRET_KEY: "sk_test_bench", STRIPE_WEBHOOK_SECRET: SECRET, SAASBASE_DB_POOL_SIZE: "20" },
  functionsLogFile: join(dir, "functions.log"),
} satisfies StackServiceOptions);
const stack = stackService.info;
const sql = connect(stack.dbUrl, 4);
const signer = new Stripe("sk_test_bench");
const url = `${stack.functionsUrl}/stripe-webhook`;
// A plain keep-alive HTTP client: on two cores, the load generator's own CPU counts (fetch costs more).
const agent = new Agent({ keepAlive: true, maxSockets: Math.max(...SENDERS) });

try {
  const users = (await sql`
    insert into auth.users (id, aud, role, email, raw_app_meta_data, raw_user_meta_data, created_at, updated_at)
    select gen_random_uuid(), 'authenticated', 'authenticated', 'hook' || n || '@bench.local', '{}', '{}', now(), now()
    from generate_series(1, ${USERS}) n
    returning id`).map((r) => r.id as string);

  let seq = 0;
  function signedEvent() {
    const user = users[seq % USERS];
    const id = `bench_${++seq}`;
    const payload = JSON.stringify({
      id: `evt_${id}`, object: "event", type: "checkout.session.completed", created: Math.floor(Date.now() / 1000),
      api_version: "2026-10-28.endive", livemode: false,
      data: { object: {
        id: `cs_${id}`, object: "checkout.session", mode: "payment", payment_status: "paid", amount_total: 100,
        currency: "usd", customer: null, client_reference_id: user, payment_intent: `pi_${id}`,
        metadata: { user_id: user, kind: "credits", credits: "1" },
      } },
    });
    return { payload, signature: signer.webhooks.generateTestHeaderString({ payload, secret: SECRET }) };
  }

  const target = new URL(url);
  function send(e: { payload: string; signature: string }) {
    return new Promise<void>((resolve, reject) => {
      const req = request(
        { agent, host: target.hostname, port: target.port, path: target.pathname, method: "POST",
          headers: { "stripe-signature": e.signature, "content-type": "application/json", "content-length": Buffer.byteLength(e.payload) } },
        (res) => {
          res.resume();
          res.on("end", () => (res.statusCode === 200 ? resolve() : reject(new Error(`webhook answered ${res.statusCode}`))));
        },
      );
      req.on("error", reject);
      req.end(e.payload);
    });
  }

  async function deliverAll(queue: { payload: string; signature: string }[], senders: number) {
    let next = 0;
    await Promise.all(Array.from({ length: senders }, async () => {
      while (next < queue.length) await send(queue[next++]);
    }));
  }

  // Warm up (Deno's JIT, every connection of the function's pool): these events count in the check below.
  const warmUp = Array.from({ length: 500 }, signedEvent);
  await deliverAll(warmUp, Math.max(...SENDERS));
  let unique = warmUp.length;

  console.log(`bench/webhooks: ${EVENTS} events per level (+10 % redeliveries), ${USERS} users\n`);
  console.log("senders   events/s   target");
  for (const senders of SENDERS) {
    const batch = Array.from({ length: EVENTS }, signedEvent);
    unique += batch.length;
    const queue = [...batch, ...batch.filter((_, i) => i % 10 === 0)]; // redeliveries
    const started = performance.now();
    await deliverAll(queue, senders);
    const perSecond = queue.length / ((performance.now() - started) / 1000);
    console.log(`${String(senders).padStart(7)} ${perSecond.toFixed(0).padStart(10)}   >= ${TARGET} ${perSecond >= TARGET ? "met" : "MISSED"}`);
  }

  const [check] = await sql`
    select (select count(*)::int from public.stripe_events where processed_at is not null) as events,
           (select count(*)::int from public.purchases) as purchases,
           (select count(*)::int from public.credit_ledger where kind = 'purchase') as grants`;
  const exact = check.events === unique && check.purchases === unique && check.grants === unique;
  console.log(`\napplied exactly once: ${exact ? "yes" : "NO"} (${unique} events; stored ${check.events}, purchases ${check.purchases}, grants ${check.grants})`);
  if (!exact) process.exitCode = 1;
} finally {
  agent.destroy();
  await sql.end();
  await stackService.stop();
  rmSync(dir, { recursive: true, force: true });
}
