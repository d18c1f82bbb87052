// bench/chat: time to first token and total time of a streamed answer through the chat gateway (local API
// gateway, the chat function on Deno: auth, history, credit reservation, provider call, settlement,
// persistence) against the same local OpenAI-compatible upstream called directly, at 1 and 16 concurrent
// streams, p50 and p99. Target: added time to first token <= 5 ms at p50. Two upstream profiles: one that
// answers instantly (every stream is pure CPU, so 16 of them queue on the machine's cores) and one that
// takes 20 ms per token, as a model does (streams mostly wait, as in production). A stream counts only when
// it came whole: a first token and its end (`done` through the gateway, `[DONE]` direct); any other is a
// failure, reported and failing the run, never a 0 ms first token. After the run the books are checked:
// every wallet's loss is what its `done` events said was charged, the messages stored say the same, no
// reservation is left open, and every balance is its ledger's sum.
//   npm run bench:chat            (BENCH_STREAMS=300 per level by default)
import { Agent, request } from "node:http";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { connect } from "../src/local/database.ts";
import { userToken } from "../src/local/jwt.ts";
import { tempDir } from "../src/local/throwaway.ts";
import { startService } from "./support/service.ts";
import type { StackInfo, StackServiceOptions } from "./support/stack-service.ts";

const STREAMS = Number(process.env.BENCH_STREAMS ?? 300);
const LEVELS = [1, 16];
const TARGET_MS = 5;

const dir = tempDir("saasbase-bench-chat-");
// The load generator (this process), the stack and the upstream each run in a process of their own.
const upstreamService = await startService<{ url: string }>(join(import.meta.dirname, "support/openai-service.ts"), {});
const upstream = upstreamService.info;
const stackService = await startService<StackInfo>(join(import.meta.dirname, "support/stack-service.ts"), {
  dataDir: join(dir, "db"),
  functions: ["chat"],
  functionEnv: { OPENAI_API_KEY: "sk-bench", OPENAI_BASE_URL: `${upstream.url}/openai/v1`, SAASBASE_DB_POOL_SIZE: "20" },
  functionsLogFile: join(dir, "functions.log"),
} satisfies StackServiceOptions);
const stack = stackService.info;
const sql = connect(stack.dbUrl, 2);
const agent = new Agent({ keepAlive: true, maxSockets: 64 });

/** POSTs and resolves the time (ms) until `firstMarker` and until the end of the body, once the body has
 * shown `doneMarker`; rejects a stream that ends without either (an error event, a cut, a refusal). */
function timed(url: string, headers: Record<string, string>, body: string, firstMarker: string, doneMarker: string) {
  return new Promise<{ first: number; total: number; text: string }>((resolve, reject) => {
    const target = new URL(url);
    const started = performance.now();
    let first = 0;
    let text = "";
    const req = request(
      { agent, host: target.hostname, port: target.port, path: target.pathname, method: "POST",
        headers: { ...headers, "content-type": "application/json", "content-length": Buffer.byteLength(body) } },
      (res) => {
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          text += chunk;
          if (!first && text.includes(firstMarker)) first = performance.now() - started;
        });
        res.on("end", () => {
          const total = performance.now() - started;
          if (res.statusCode !== 200) reject(new Error(`${url} answered ${res.statusCode}: ${text.slice(0, 200)}`));
          else if (!first) reject(new Error(`${url}: a stream without a token: ${text.slice(0, 200)}`));
          else if (!text.includes(doneMarker)) reject(new Error(`${url}: a stream that never finished: ${text.slice(-200)}`));
          else resolve({ first, total, text });
        });
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

const pct = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
};

try {
  await sql`insert into public.plans (id, name, price_monthly_cents) values ('bench_paid', 'Bench', 100)`;
  const users = (await sql`
    insert into auth.users (id, aud, role, email, raw_app_meta_data, raw_user_meta_data, created_at, updated_at)
    select gen_random_uuid(), 'authenticated', 'authenticated', 'chat' || n || '@bench.local', '{}', '{}', now(), now()
    from generate_series(1, 16) n returning id, email`).map((r) => ({ id: r.id as string, email: r.email as string }));
  for (const u of users) {
    await sql`update public.accounts set plan_id = 'bench_paid' where id = ${u.id}`;
    await sql`select public.service_role_grant_credits(${u.id}, 100000000, 'grant', 'bench')`;
  }
  // Balances before any stream (the grant, and the sign-up credits on top).
  const startBalance = new Map((await sql`select account_id, balance from public.wallets
    where account_id = any(${users.map((u) => u.id)}::uuid[])`).map((w) => [w.account_id as string, Number(w.balance)]));
  const tokens = await Promise.all(users.map((u) => userToken(u, stack.jwtSecret, 24 * 3600)));
  const direct = () =>
    timed(`${upstream.url}/openai/v1/chat/completions`, { authorization: "Bearer sk-bench" },
      JSON.stringify({ model: "gpt-4o-mini", stream: true, stream_options: { include_usage: true }, messages: [{ role: "user", content: "Hi" }] }),
      '"content":"Hello"', "data: [DONE]");
  // What each user was told they paid (the done events' credits_charged), and how many answers came whole.
  const charged = users.map(() => 0);
  let answers = 0;
  const gateway = async (i: number) => {
    const r = await timed(`${stack.functionsUrl}/chat`, { authorization: `Bearer ${tokens[i % tokens.length]}` },
      JSON.stringify({ message: "Hi" }), "event: token", "event: done");
    const done = JSON.parse(/^event: done\ndata: (.*)$/m.exec(r.text)![1]) as { credits_charged: number };
    charged[i % tokens.length] += done.credits_charged;
    answers++;
    return r;
  };
  const failures: string[] = [];

  // Warm up both paths (Deno's JIT, and every connection of the function's pool, which opens as many as the
  // highest level keeps busy: opening one, with its SCRAM handshake, is not what a stream costs).
  for (let i = 0; i < 30; i++) await Promise.all([direct(), gateway(i)]);
  const widest = Math.max(...LEVELS);
  for (let round = 0; round < 5; round++) {
    await Promise.all(Array.from({ length: widest }, (_, i) => Promise.all([direct(), gateway(i)])));
  }

  console.log(`bench/chat: ${STREAMS} streams per level, 4-chunk answers from a local upstream`);
  for (const [delay, level] of [0, 20].flatMap((d) => LEVELS.map((l) => [d, l] as const))) {
    await upstreamService.send({ delayMs: delay });
    if (level === LEVELS[0]) {
      console.log(`\nupstream ${delay === 0 ? "instant" : `${delay} ms per token`}`);
      console.log("streams  path      TTFT p50   TTFT p99   total p50   total p99");
    }
    const results: Record<string, { first: number; total: number }[]> = { direct: [], gateway: [] };
    for (const [name, call] of [["direct", direct], ["gateway", gateway]] as const) {
      let next = 0;
      await Promise.all(Array.from({ length: level }, async () => {
        while (next < STREAMS) {
          try {
            results[name].push(await call(next++));
          } catch (err) {
            failures.push(`${name}, ${level} streams: ${(err as Error).message}`);
          }
        }
      }));
    }
    for (const name of ["direct", "gateway"]) {
      const r = results[name];
      const f = r.map((x) => x.first);
      const t = r.map((x) => x.total);
      console.log(`${String(level).padStart(7)}  ${name.padEnd(8)} ${pct(f, 50).toFixed(2).padStart(8)} ms ${pct(f, 99).toFixed(2).padStart(7)} ms ` +
        `${pct(t, 50).toFixed(2).padStart(8)} ms ${pct(t, 99).toFixed(2).padStart(8)} ms`);
    }
    const added = pct(results.gateway.map((x) => x.first), 50) - pct(results.direct.map((x) => x.first), 50);
    console.log(`         added TTFT p50: ${added.toFixed(2)} ms   target <= ${TARGET_MS} ms ${added <= TARGET_MS ? "met" : "MISSED"}`);
  }

  // Every stream came whole, and the books say what the streams said.
  console.log(`\nstreams that did not come whole (no token or no end): ${failures.length}`);
  for (const f of failures.slice(0, 10)) console.log(`  ${f}`);
  const ids = users.map((u) => u.id);
  const wallets = await sql`
    select w.account_id, w.balance, (select coalesce(sum(amount), 0) from public.credit_ledger l where l.account_id = w.account_id) as ledger
    from public.wallets w where w.account_id = any(${ids}::uuid[])`;
  const [stored] = await sql`
    select count(*)::int as answers, coalesce(sum(m.credits_consumed), 0)::bigint as credits,
      (select count(*)::int from public.credit_reservations r where r.account_id = any(${ids}::uuid[]) and r.status = 'open') as open
    from public.messages m join public.conversations c on c.id = m.conversation_id
    where c.user_id = any(${ids}::uuid[]) and m.role = 'assistant' and m.status = 'complete'`;
  const told = charged.reduce((a, b) => a + b, 0);
  const books = [
    ...wallets.filter((w) => Number(w.balance) !== Number(w.ledger)).map((w) => `${w.account_id}: balance ${w.balance}, ledger ${w.ledger}`),
    ...wallets.filter((w) => startBalance.get(w.account_id)! - Number(w.balance) !== charged[ids.indexOf(w.account_id)])
      .map((w) => `${w.account_id}: lost ${startBalance.get(w.account_id)! - Number(w.balance)}, told ${charged[ids.indexOf(w.account_id)]}`),
    ...(Number(stored.answers) !== answers ? [`${answers} answers done, ${stored.answers} stored complete`] : []),
    ...(Number(stored.credits) !== told ? [`${told} credits told, ${stored.credits} stored`] : []),
    ...(Number(stored.open) ? [`${stored.open} reservations left open`] : []),
  ];
  console.log(`books after ${answers} answers (${told} credits charged): ${books.length ? "WRONG" : "right"}`);
  for (const b of books) console.log(`  ${b}`);
  if (failures.length || books.length) process.exitCode = 1;
} finally {
  agent.destroy();
  await sql.end();
  await stackService.stop();
  await upstreamService.stop();
  rmSync(dir, { recursive: true, force: true });
}
