// bench/credits: charges per second through public.charge_credits, against raw pgbench single-row UPDATE
// TPS measured in the same run on the same cluster, for many wallets and for one hot wallet, at 1, 8 and 32
// clients. Both sides run under pgbench with prepared statements. "charge" is the function alone: one
// statement that sets the caller's JWT claims and calls it (the figure the targets apply to). "request" is
// the whole PostgREST-shaped request: BEGIN; set role and claims; the RPC; COMMIT (four round trips).
// "floor" is what any design writing an audit row per charge pays at least: a PL/pgSQL function doing only
// the wallet UPDATE and the ledger INSERT (no caller, quota or idempotency checks), on the same tables.
// Each run that charges is also counted: the ledger must have gained exactly one charge row per transaction
// pgbench says it completed (a rate of calls that charged nothing, or charged twice, is no rate of charges).
//   npm run bench:credits            (BENCH_SECONDS=10 for longer runs)
// The cluster is durable (fsync and synchronous_commit on), as a real database is.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect, prepareDatabase } from "../src/local/database.ts";
import { freePort } from "../src/local/functions.ts";
import { LocalCluster } from "../src/local/postgres.ts";
import { tempDir } from "../src/local/throwaway.ts";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const WALLETS = 1000;
const CLIENTS = [1, 8, 32];
const TARGET = { many: 0.6, hot: 0.4 } as const;

const dataRoot = tempDir("saasbase-bench-");
const cluster = new LocalCluster({ dataDir: join(dataRoot, "db"), port: await freePort(), durable: true });
const scripts = mkdtempSync(join(tmpdir(), "saasbase-bench-scripts-"));
try {
  await cluster.start();
  await prepareDatabase(cluster.url, { seed: false });
  const sql = connect(cluster.url);
  await sql`insert into public.features (id, name, credits) values ('bench_unit', 'Benchmark unit', 1)`;
  await sql`
    insert into auth.users (id, aud, role, email, raw_app_meta_data, raw_user_meta_data, created_at, updated_at)
    select ('00000000-0000-4000-8000-' || lpad(n::text, 12, '0'))::uuid, 'authenticated', 'authenticated',
      'bench' || n || '@bench.local', '{}', '{}', now(), now()
    from generate_series(1, ${WALLETS}) n`;
  await sql`select public.service_role_grant_credits(id, 100000000, 'grant', 'bench') from auth.users`;
  // The baseline: a plain table of balances, one row per wallet.
  await sql`create table bench_raw (id int primary key, balance bigint not null)`;
  await sql`insert into bench_raw select n, 100000000 from generate_series(1, ${WALLETS}) n`;
  await sql`
    create function bench_floor(n int) returns bigint language plpgsql as $$
    declare
      v_uid uuid := ('00000000-0000-4000-8000-' || lpad(n::text, 12, '0'))::uuid;
      v_balance bigint;
    begin
      update public.wallets set balance = balance - 1, updated_at = now() where account_id = v_uid
      returning balance into v_balance;
      insert into public.credit_ledger (account_id, kind, amount, balance_after, feature_id, quantity, free_units,
        idempotency_key)
      values (v_uid, 'charge', -1, v_balance, 'bench_unit', 1, 0, gen_random_uuid()::text);
      return v_balance;
    end $$`;
  await sql`vacuum analyze`;
  await sql.end();

  const script = (name: string, text: string) => {
    const path = join(scripts, name);
    writeFileSync(path, text);
    return path;
  };
  const pick = (hot: boolean) => (hot ? "\\set n 1\n" : `\\set n random(1, ${WALLETS})\n`);
  const raw = (hot: boolean) => script(`raw-${hot}.sql`, `${pick(hot)}update bench_raw set balance = balance - 1 where id = :n;\n`);
  const claims = `'{"role":"authenticated","sub":"00000000-0000-4000-8000-' || lpad(:n::text, 12, '0') || '"}'`;
  const charge = (hot: boolean) =>
    script(
      `charge-${hot}.sql`,
      `${pick(hot)}select public.charge_credits('bench_unit', 1, gen_random_uuid()::text) ` +
        `from (select set_config('request.jwt.claims', ${claims}, true)) as caller;\n`,
    );
  const floor = (hot: boolean) => script(`floor-${hot}.sql`, `${pick(hot)}select bench_floor(:n);\n`);
  const request = (hot: boolean) =>
    script(
      `request-${hot}.sql`,
      `${pick(hot)}begin;\n` +
        `select set_config('request.jwt.claims', ${claims}, true), set_config('role', 'authenticated', true);\n` +
        `select public.charge_credits('bench_unit', 1, gen_random_uuid()::text);\n` +
        `commit;\n`,
    );

  const url = new URL(cluster.url);
  /** pgbench's rate and its count of completed transactions. */
  function run(file: string, clients: number): { tps: number; transactions: number } {
    const out = spawnSync(
      join(cluster.binDir, "pgbench"),
      ["-h", url.hostname, "-p", url.port, "-U", "postgres", "-n", "-M", "prepared", "-f", file,
        "-c", String(clients), "-j", String(Math.min(clients, 2)), "-T", String(SECONDS), "postgres"],
      { encoding: "utf8", env: { ...process.env, PGSSLMODE: "disable" } },
    );
    const m = /tps = ([\d.]+)/.exec(out.stdout);
    if (out.status !== 0 || !m) throw new Error(`pgbench failed:\n${out.stderr}${out.stdout}`);
    const failed = /number of failed transactions: (\d+)/.exec(out.stdout);
    if (failed && Number(failed[1]) > 0) throw new Error(`pgbench: ${failed[1]} failed transactions\n${out.stdout}`);
    const done = /number of transactions actually processed: (\d+)/.exec(out.stdout);
    if (!done) throw new Error(`pgbench printed no transaction count:\n${out.stdout}`);
    return { tps: Number(m[1]), transactions: Number(done[1]) };
  }
  const books = connect(cluster.url, 1);
  const chargeRows = async () =>
    (await books`select count(*)::int as n from public.credit_ledger where kind = 'charge' and feature_id = 'bench_unit'`)[0]
      .n as number;
  const mismatches: string[] = [];
  /** A run that charges: its rate, once the ledger shows one new charge row per completed transaction. */
  async function charged(name: string, file: string, clients: number): Promise<number> {
    const before = await chargeRows();
    const r = run(file, clients);
    const rows = (await chargeRows()) - before;
    if (rows !== r.transactions) mismatches.push(`${name}, ${clients} clients: ${r.transactions} transactions, ${rows} charge rows`);
    return r.tps;
  }

  console.log(`bench/credits: ${SECONDS} s per run, ${WALLETS} wallets, durable cluster (fsync on)\n`);
  console.log(
    "wallets   clients   raw UPDATE/s   charge/s   ratio   target          request/s   ratio    floor/s   ratio",
  );
  for (const hot of [false, true]) {
    for (const clients of CLIENTS) {
      const where = hot ? "one hot wallet" : "many wallets";
      const baseline = run(raw(hot), clients).tps;
      const ours = await charged(`charge, ${where}`, charge(hot), clients);
      const viaRequest = await charged(`request, ${where}`, request(hot), clients);
      const atFloor = await charged(`floor, ${where}`, floor(hot), clients);
      const ratio = ours / baseline;
      const target = hot ? TARGET.hot : TARGET.many;
      console.log(
        `${(hot ? "one hot" : "many").padEnd(9)} ${String(clients).padStart(7)} ${baseline.toFixed(0).padStart(14)} ` +
          `${ours.toFixed(0).padStart(10)} ${ratio.toFixed(2).padStart(7)}   >= ${target} ${ratio >= target ? "met   " : "MISSED"} ` +
          `${viaRequest.toFixed(0).padStart(11)} ${(viaRequest / baseline).toFixed(2).padStart(7)} ` +
          `${atFloor.toFixed(0).padStart(10)} ${(atFloor / baseline).toFixed(2).padStart(7)}`,
      );
    }
  }

  // The run must also have kept the books: one charge row per transaction, every charge debited once,
  // ledger = balance.
  const [{ bad }] = await books`
    select count(*)::int as bad from public.wallets w
    where w.balance <> (select sum(amount) from public.credit_ledger l where l.account_id = w.account_id)`;
  await books.end();
  console.log(`\ncharge rows = pgbench's completed transactions in every charging run: ${mismatches.length ? "NO" : "yes"}`);
  for (const m of mismatches) console.log(`  ${m}`);
  console.log(`wallets whose balance differs from their ledger sum after the run: ${bad}`);
  if (bad || mismatches.length) process.exitCode = 1;
} finally {
  await cluster.destroy();
  rmSync(dataRoot, { recursive: true, force: true });
  rmSync(scripts, { recursive: true, force: true });
}
