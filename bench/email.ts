// bench/email: mails per second through the real send-email function (Deno, behind the local gateway: claim a
// batch, render with the templates, send over Resend's API, record the message id) into a local Resend server,
// with 1 and 8 concurrent worker runs (pg_cron's minute, the kicks after commits and the local timer may
// overlap), against a baseline measured in the same run: the same provider server taking the same messages
// straight from this process at the same concurrency (config email.concurrency per run), so the ratio is what
// the worker's claim, render and bookkeeping leave of what the provider alone takes. Afterwards every mail is
// checked to have been sent exactly once. Seed 001 asks for 1,000+ mails an hour; the target here is >= 50 a
// second.
//   npm run bench:email        (BENCH_MAILS=600 per level, BENCH_LATENCY_MS=0: the provider's answer time)
import { Agent, request } from "node:http";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { connect } from "../src/local/database.ts";
import { tempDir } from "../src/local/throwaway.ts";
import { startEmailServers } from "../tests/support/email-servers.ts";
import { parseConfig } from "../supabase/functions/_shared/config-schema.ts";
import shipped from "../supabase/functions/_shared/saasbase.config.ts";
import { apiKeys } from "../src/local/jwt.ts";
import { startService } from "./support/service.ts";
import type { StackInfo, StackServiceOptions } from "./support/stack-service.ts";

const MAILS = Number(process.env.BENCH_MAILS ?? 600);
const LATENCY = Number(process.env.BENCH_LATENCY_MS ?? 0);
const WORKERS = [1, 8];
const TARGET = 50;
const LANES = parseConfig(shipped).email.concurrency;

const servers = await startEmailServers({ latencyMs: LATENCY });
const dir = tempDir("saasbase-bench-email-");
const stackService = await startService<StackInfo>(join(import.meta.dirname, "support/stack-service.ts"), {
  dataDir: join(dir, "db"),
  functions: ["send-email"],
  functionEnv: { ...servers.env, SAASBASE_EMAIL_PROVIDER: "resend", SAASBASE_DB_POOL_SIZE: "10" },
  functionsLogFile: join(dir, "functions.log"),
} satisfies StackServiceOptions);
const stack = stackService.info;
const sql = connect(stack.dbUrl, 4);
// The project's own service key (the functions take no other service_role token).
const serviceKey = (await apiKeys(stack.jwtSecret)).serviceRoleKey;
const agent = new Agent({ keepAlive: true, maxSockets: 64 });

function post(url: string, headers: Record<string, string>, body: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: "POST", agent, headers: { "content-type": "application/json", ...headers } }, (res) => {
      let text = "";
      res.on("data", (d) => (text += d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

let level = 0;
async function queue(n: number): Promise<string> {
  const tag = `l${++level}`;
  await sql`insert into public.email_outbox (template, dedupe_key, payload, to_email)
    select 'welcome', ${tag} || ':' || i, jsonb_build_object('display_name', 'Bench ' || i, 'signup_credits', 100),
      ${tag} || '-' || i || '@bench.local'
    from generate_series(1, ${n}) i`;
  return tag;
}

/** The worker: `workers` concurrent send-email runs until the outbox is empty. */
async function throughWorker(workers: number): Promise<number> {
  const tag = await queue(MAILS);
  const started = performance.now();
  const reports = await Promise.all(Array.from({ length: workers }, () =>
    post(`${stack.functionsUrl}/send-email`, { authorization: `Bearer ${serviceKey}` }, "{}")));
  const seconds = (performance.now() - started) / 1000;
  for (const r of reports) if (r.status !== 200) throw new Error(`send-email answered ${r.status}: ${r.body}`);
  const [{ sent }] = await sql`select count(*)::int as sent from public.email_outbox where dedupe_key like ${tag + ":%"}
    and status = 'sent'`;
  if (sent !== MAILS) throw new Error(`${sent} of ${MAILS} mails sent`);
  return MAILS / seconds;
}

/** The baseline: the same messages posted straight to the provider at the worker runs' concurrency. */
async function baseline(workers: number): Promise<number> {
  const lanes = workers * LANES;
  const body = (i: number) => JSON.stringify({ from: "Bench <bench@example.com>", to: [`base-${level}-${i}@bench.local`],
    subject: "Welcome to the bench", html: `<p>Hello Bench ${i}</p>`.repeat(20), text: `Hello Bench ${i}`.repeat(20) });
  level++;
  let next = 0;
  const started = performance.now();
  await Promise.all(Array.from({ length: lanes }, async () => {
    while (next < MAILS) {
      const i = next++;
      const r = await post(`${servers.env.RESEND_BASE_URL}/emails`, {
        authorization: `Bearer ${servers.env.RESEND_API_KEY}`, "idempotency-key": `base/${level}/${i}`,
      }, body(i));
      if (r.status !== 200) throw new Error(`provider answered ${r.status}`);
    }
  }));
  return MAILS / ((performance.now() - started) / 1000);
}

try {
  // Warm-up: the function's first run loads the templates and opens its pool.
  await queue(50);
  await post(`${stack.functionsUrl}/send-email`, { authorization: `Bearer ${serviceKey}` }, "{}");
  servers.reset();

  const rows: string[] = [];
  for (const w of WORKERS) {
    const base = await baseline(w);
    const rate = await throughWorker(w);
    rows.push(`| ${w} | ${Math.round(rate)} | ${rate >= TARGET ? "met" : "missed"} | ${Math.round(base)} | ` +
      `${(rate / base).toFixed(2)} |`);
  }
  // Exactly once: every mail the worker sent reached the provider once (the baseline's are apart).
  const delivered = servers.state.delivered.filter((d) => !d.to.startsWith("base-"));
  const distinct = new Set(delivered.map((d) => d.to)).size;
  if (delivered.length !== distinct || distinct !== MAILS * WORKERS.length) {
    throw new Error(`${delivered.length} deliveries for ${distinct} addresses, ${MAILS * WORKERS.length} expected`);
  }
  console.log(`\nbench:email — ${MAILS} welcome mails per level, provider latency ${LATENCY} ms, ` +
    `${LANES} sends at once per run (config email.concurrency)\n`);
  console.log("| worker runs | mails/s | target (>= 50/s) | baseline (provider alone) /s | ratio |");
  console.log("| --- | --- | --- | --- | --- |");
  for (const r of rows) console.log(r);
  console.log(`\nEvery one of the ${distinct} mails was delivered exactly once. Seed 001's 1,000 an hour is ` +
    `${(1000 / 3600).toFixed(2)}/s.`);
} finally {
  agent.destroy();
  await sql.end();
  await stackService.stop();
  await servers.close();
  rmSync(dir, { recursive: true, force: true });
}
