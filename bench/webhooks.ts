// bench/webhooks: signed Stripe events per second through the real stripe-webhook function (Deno, behind the
// local gateway) into Postgres, at 1, 16 and 64 concurrent senders, against a baseline measured in the same
// run on the same database: the statement the function sends for such an event (store the event, record the
// purchase and its credits), run by pgbench with as many clients. Each event is a paid credit checkout
// (verify, store, purchase row, ledger grant). Then one in ten is delivered again, as Stripe redelivers: the
// duplicates are timed and reported apart (they store nothing, so they would flatter the rate). Afterwards it
// checks that every event, the baseline's included, was applied exactly once. Target: >= 1,000 events/s.
//   npm run bench:webhooks            (BENCH_EVENTS=3000 per level, BENCH_SECONDS=5 per baseline run)
import Stripe from "stripe";
import { spawnSync } from "node:child_process";
import { Agent, request } from "node:http";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { connect } from "../src/local/database.ts";
import { findPostgres } from "../src/local/postgres-binaries.ts";
import { tempDir } from "../src/local/throwaway.ts";
import { startService } from "./support/service.ts";
import type { StackInfo, StackServiceOptions } from "./support/stack-service.ts";

const EVENTS = Number(process.env.BENCH_EVENTS ?? 3000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
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
        metadata: { account_id: user, kind: "credits", credits: "1" },
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

  // The baseline: what processEvent (_shared/billing/stripe-events.ts) sends for a paid credit checkout, one
  // statement per event, with a fresh event of a random user each time. Keep it in step with that module.
  await sql`create table bench_hook_users (n int primary key, id uuid not null)`;
  await sql`insert into bench_hook_users select row_number() over (), id from unnest(${users}::uuid[]) id`;
  const baselineScript = join(dir, "baseline.sql");
  writeFileSync(baselineScript, `\\set u random(1, ${USERS})
select case when public.service_role_store_stripe_event(e.id, 'checkout.session.completed', to_timestamp(e.created), e.payload, null)
    then (select 'applied'::text from public.service_role_record_credit_purchase(
      public.service_role_stripe_account(e.user_id::text, null), 'cs_' || e.key, 'pi_' || e.key, null, 1, 100, 'usd', 0) as effect)
    else 'duplicate' end as outcome,
  null::text is not null and exists (select from public.stripe_events w
    where w.customer_id = null and w.processed_at is null and w.id <> e.id) as waiting
from (
  select 'evt_' || k.key as id, k.key, extract(epoch from now())::bigint as created, u.id as user_id,
    jsonb_build_object('id', 'evt_' || k.key, 'object', 'event', 'type', 'checkout.session.completed',
      'created', extract(epoch from now())::bigint, 'api_version', '2026-10-28.endive', 'livemode', false,
      'data', jsonb_build_object('object', jsonb_build_object('id', 'cs_' || k.key, 'object', 'checkout.session',
        'mode', 'payment', 'payment_status', 'paid', 'amount_total', 100, 'currency', 'usd', 'customer', null,
        'client_reference_id', u.id, 'payment_intent', 'pi_' || k.key,
        'metadata', jsonb_build_object('account_id', u.id, 'kind', 'credits', 'credits', '1')))) as payload
  from (select 'base_' || gen_random_uuid() as key) k, bench_hook_users u where u.n = :u
) e;
`);
  const db = new URL(stack.dbUrl);
  /** pgbench's rate for the baseline at `clients`, and the events it completed (each stored and applied). */
  function baseline(clients: number): { perSecond: number; events: number } {
    const out = spawnSync(
      join(findPostgres().dir, "pgbench"),
      ["-h", db.hostname, "-p", db.port, "-U", decodeURIComponent(db.username), "-n", "-M", "prepared", "-f", baselineScript,
        "-c", String(clients), "-j", String(Math.min(clients, 2)), "-T", String(SECONDS), decodeURIComponent(db.pathname.slice(1))],
      { encoding: "utf8", env: { ...process.env, PGSSLMODE: "disable", PGPASSWORD: decodeURIComponent(db.password) } },
    );
    const tps = /tps = ([\d.]+)/.exec(out.stdout);
    const done = /number of transactions actually processed: (\d+)/.exec(out.stdout);
    const failed = Number(/number of failed transactions: (\d+)/.exec(out.stdout)?.[1] ?? 0);
    if (out.status !== 0 || !tps || !done || failed) throw new Error(`pgbench failed:\n${out.stderr}${out.stdout}`);
    return { perSecond: Number(tps[1]), events: Number(done[1]) };
  }

  // Warm up (Deno's JIT, every connection of the function's pool): these events count in the check below.
  const warmUp = Array.from({ length: 500 }, signedEvent);
  await deliverAll(warmUp, Math.max(...SENDERS));
  let unique = warmUp.length;

  const applied = async () =>
    (await sql`select (select count(*)::int from public.stripe_events where processed_at is not null) as events,
      (select count(*)::int from public.purchases) as purchases,
      (select count(*)::int from public.credit_ledger where kind = 'purchase') as grants`)[0];
  let baselineEvents = 0;
  const duplicatesChanged: string[] = [];

  console.log(`bench/webhooks: ${EVENTS} new events per level, then ${EVENTS / 10} of them again; ${USERS} users; ` +
    `baseline: the same SQL through pgbench, ${SECONDS} s per level\n`);
  console.log("senders   events/s   target          baseline/s   ratio   duplicates/s");
  for (const senders of SENDERS) {
    const base = baseline(senders);
    baselineEvents += base.events;
    const batch = Array.from({ length: EVENTS }, signedEvent);
    unique += batch.length;
    let started = performance.now();
    await deliverAll(batch, senders);
    const perSecond = batch.length / ((performance.now() - started) / 1000);
    // Redeliveries, apart: each is answered 200 and changes nothing.
    const before = await applied();
    const again = batch.filter((_, i) => i % 10 === 0);
    started = performance.now();
    await deliverAll(again, senders);
    const duplicatesPerSecond = again.length / ((performance.now() - started) / 1000);
    const after = await applied();
    if (JSON.stringify(after) !== JSON.stringify(before)) {
      duplicatesChanged.push(`${senders} senders: ${JSON.stringify(before)} became ${JSON.stringify(after)}`);
    }
    console.log(`${String(senders).padStart(7)} ${perSecond.toFixed(0).padStart(10)}   >= ${TARGET} ${perSecond >= TARGET ? "met   " : "MISSED"} ` +
      `${base.perSecond.toFixed(0).padStart(12)} ${(perSecond / base.perSecond).toFixed(2).padStart(7)} ` +
      `${duplicatesPerSecond.toFixed(0).padStart(14)}`);
  }
  console.log(`\nduplicates that changed anything: ${duplicatesChanged.length}`);
  for (const d of duplicatesChanged) console.log(`  ${d}`);
  if (duplicatesChanged.length) process.exitCode = 1;

  const [check] = await sql`
    select (select count(*)::int from public.stripe_events where processed_at is not null) as events,
           (select count(*)::int from public.purchases) as purchases,
           (select count(*)::int from public.credit_ledger where kind = 'purchase') as grants`;
  const total = unique + baselineEvents;
  const exact = check.events === total && check.purchases === total && check.grants === total;
  console.log(`applied exactly once: ${exact ? "yes" : "NO"} (${unique} events sent and ${baselineEvents} of the baseline; ` +
    `stored ${check.events}, purchases ${check.purchases}, grants ${check.grants})`);
  if (!exact) process.exitCode = 1;
} finally {
  agent.destroy();
  await sql.end();
  await stackService.stop();
  rmSync(dir, { recursive: true, force: true });
}
