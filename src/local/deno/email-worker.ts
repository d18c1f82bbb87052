// One run of the outbox worker from the command line, outside the edge runtime: what the send-email function
// does, with the lease, batch and concurrency given here rather than by the config (tests kill such a run
// mid-batch and watch another take its claims over; an operator may drain a backlog with it). Prints the run's
// report as JSON. Environment: SUPABASE_DB_URL, SUPABASE_URL and SUPABASE_SERVICE_ROLE_KEY (for the unsubscribe
// links), the provider's secrets as the functions have them.
//   deno run -A --config supabase/functions/deno.json src/local/deno/email-worker.ts [--lease s] [--batch n]
//     [--concurrency n] [--worker name] [--max-batches n]
import { parseArgs } from "node:util";
import { db } from "../../../supabase/functions/_shared/db.ts";
import { renderEmail } from "../../../supabase/functions/_shared/email/templates/index.ts";
import { drainOutbox } from "../../../supabase/functions/_shared/email/worker.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    lease: { type: "string" },
    batch: { type: "string" },
    concurrency: { type: "string" },
    worker: { type: "string" },
    "max-batches": { type: "string" },
  },
});
const num = (v: string | undefined) => (v === undefined ? undefined : Number(v));

const report = await drainOutbox({
  sql: db(),
  render: renderEmail,
  worker: values.worker,
  claimSeconds: num(values.lease),
  batchSize: num(values.batch),
  concurrency: num(values.concurrency),
  maxBatches: num(values["max-batches"]),
});
console.log(JSON.stringify(report));
await db().end();
