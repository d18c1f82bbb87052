// npm run stripe:reconcile [-- --since <ISO time | Unix seconds | all>] [--margin <seconds>]: applies what
// Stripe has on record and the database misses (lost webhooks, events past Stripe's retries, a new
// deployment's backfill), through the webhook's own SQL; prints each change. Safe to run again: a second run
// changes nothing. Without --since: from the last run that failed nothing and left no gap behind it (a run
// given a later --since covers its own window only), else the last event stored, less the margin (an hour);
// `--since all` lists everything Stripe has. Uses STRIPE_SECRET_KEY (a live key needs SAASBASE_ALLOW_LIVE=1)
// and the database at SUPABASE_DB_URL (environment or .env), else `npm run dev`'s.
// Exits 1 when something could not be applied (listed at the end; run it again once the cause is fixed).
import "dotenv/config";
import { parseArgs } from "node:util";
import postgres from "postgres";
import { type Change, reconcile } from "../supabase/functions/_shared/billing/reconcile.ts";
import { createStripe } from "../supabase/functions/_shared/stripe-client.ts";
import { scriptStripeKey } from "../src/billing/stripe-key.ts";
import { onTargetDatabase } from "../src/local/target-database.ts";

function fail(message: string): never {
  console.error(message);
  process.exit(1);
}

const { values } = parseArgs({ options: { since: { type: "string" }, margin: { type: "string" } } });
const key = scriptStripeKey("reconcile the live account");
function since(value: string | undefined): number | null | undefined {
  if (value === undefined) return undefined;
  if (value === "all") return null;
  const at = /^\d+$/.test(value) ? Number(value) : Math.floor(Date.parse(value) / 1000);
  if (!Number.isSafeInteger(at) || at < 0 || at > Date.now() / 1000 + 60) {
    fail(`--since takes an ISO time, Unix seconds or "all", not in the future: ${value}`);
  }
  return at;
}
const margin = values.margin === undefined ? undefined : Number(values.margin);
if (margin !== undefined && !(Number.isInteger(margin) && margin >= 0)) fail(`--margin takes seconds: ${values.margin}`);

const line = (c: Pick<Change, "source" | "id" | "type">, what: string) =>
  console.log(`${what.padEnd(12)} ${c.source.padEnd(16)} ${c.id.padEnd(32)} ${c.type}`);

await onTargetDatabase(async (url) => {
  const sql = postgres(url, { max: 2, onnotice: () => {} });
  const client = createStripe(key, process.env.STRIPE_API_BASE);
  try {
    const report = await reconcile({ sql, stripe: () => client }, {
      since: since(values.since),
      marginSeconds: margin,
      onChange: (c) => line(c, c.outcome),
    });
    for (const u of report.unmatched) line(u, `(${u.outcome})`);
    for (const w of report.waiting) line(w, "(waiting)");
    for (const u of report.unlinkable) line(u, "UNLINKABLE");
    for (const f of report.failures) line(f, "FAILED"), console.log(`${"".padEnd(13)}${f.error}`);
    const listed = Object.entries(report.listed).filter(([, n]) => n > 0).map(([k, n]) => `${n} ${k}`).join(", ");
    console.log(`Reconciled with Stripe from ${report.since ?? "the beginning"} to ${report.started_at}.`);
    console.log(`Listed: ${listed || "nothing"}.`);
    if (report.unknown_at_stripe.length) {
      console.log(`Live here, unknown at Stripe (another account's?): ${report.unknown_at_stripe.join(", ")}`);
    }
    console.log(`${report.changes.length} changed, ${report.unmatched.length} without effect (not ours, or older than ` +
      `what we have), ${report.waiting.length} waiting for their customer's user, ${report.failures.length} failed.`);
    if (report.unlinkable.length) {
      console.log(`${report.unlinkable.length} name no user and no customer: no link can apply them; settle each by ` +
        `hand (admin_adjust_credits, or a refund). See docs/billing.md.`);
    }
    if (report.failures.length) process.exitCode = 1;
  } finally {
    await sql.end();
  }
});
