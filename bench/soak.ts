// bench/soak: the fault-injection soak that proves the ledger. 10,000 operations from many concurrent clients
// (charges, client and server reservations settled, released or abandoned, chats read to the end, stopped or
// broken off, credit-pack and subscription events delivered twice and out of order, refunds, chargebacks,
// referral sign-ups, cash-outs paid through Stripe) against a throwaway local stack, while faults are injected:
// Postgres backends terminated, function processes killed mid-request and restarted, the AI provider and Stripe
// failing, resetting, losing answers, cutting streams, answering slowly or not at all. Then it checks the ledger
// (bench/support/soak-checks.ts) and prints `N operations, M faults injected, V violations`; exits 1 on any.
//   npm run soak                 SOAK_OPERATIONS=10000 SOAK_CLIENTS=24 SOAK_USERS=48 SOAK_SEED=1
import { FULL_MIX, runSoak } from "./support/soak-run.ts";

const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const options = {
  operations: env("SOAK_OPERATIONS", 10_000),
  clients: env("SOAK_CLIENTS", 24),
  users: env("SOAK_USERS", 48),
  seed: env("SOAK_SEED", 1),
  mix: FULL_MIX,
  dbKillsPerSecond: 2,
  functionKillsPerSecond: 0.5,
  providerFaults: { error: 0.04, reset: 0.02, cut_stream: 0.04, slow: 0.04, timeout: 0.003 },
  stripeFaults: { error: 0.04, reset: 0.02, lost_answer: 0.03, slow: 0.04, timeout: 0.003 },
  log: (line: string) => console.log(`  ${line}`),
};

console.log(`bench/soak: ${options.operations} operations, ${options.clients} clients, ${options.users} users, seed ${options.seed}\n`);
const result = await runSoak(options);

const table = (title: string, rows: Record<string, number>) => {
  console.log(`\n${title}`);
  for (const [k, v] of Object.entries(rows).sort(([a], [b]) => a.localeCompare(b))) console.log(`  ${String(v).padStart(6)}  ${k}`);
};
table("operations", result.operationsByKind);
table("outcomes", result.outcomes);
table("faults injected", result.faultsByKind);
console.log(`\nfunction processes that died by themselves (restarted): ${result.findings.functionCrashes}; postgres.js nextWrite crashes in their output: ${result.findings.driverNextWriteErrors}`);
for (const out of result.findings.crashOutput) console.log(out.replace(/^/gm, "    "));
console.log("\nchecks");
for (const c of result.checks) console.log(`  ${c.violations ? "FAIL" : "ok  "} ${c.name.padEnd(58)} ${String(c.checked).padStart(6)} checked, ${c.violations} violations`);
console.log("\nthe checks, tested: violations planted after the run (rolled back), each caught by its check?");
for (const t of result.selfTest) console.log(`  ${!t.planted ? "n/a " : t.caught ? "ok  " : "FAIL"} ${t.name}${t.planted ? "" : " (nothing to plant it on in this run)"}`);
const blind = result.selfTest.filter((t) => t.planted && !t.caught);
for (const v of result.violations.slice(0, 50)) console.log(`  ✗ ${v.check}: ${v.detail}`);
if (result.violations.length > 50) console.log(`  … and ${result.violations.length - 50} more`);
console.log(`\n${result.operations} operations, ${result.faults} faults injected, ${result.violations.length} violations (${result.seconds.toFixed(0)} s)`);
if (blind.length) console.log(`${blind.length} planted violations went unnoticed: the checks are blind to them`);
process.exit(result.violations.length || blind.length ? 1 : 0);
