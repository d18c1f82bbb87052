// npm run stripe:sync: creates or updates the config's products and prices in Stripe (STRIPE_SECRET_KEY,
// a test-mode key, from .env) and mirrors them into the database at SUPABASE_DB_URL, or by default the one
// `npm run dev` runs. Safe to run again. `-- --preset <name>` (or SAASBASE_PRESET) syncs presets/<name>.ts's
// plans and packs, for a database that runs that preset.
import "dotenv/config";
import postgres from "postgres";
import { scriptStripeKey } from "../src/billing/stripe-key.ts";
import { syncStripeCatalog } from "../src/billing/stripe-sync.ts";
import { stripeCatalog } from "../supabase/functions/_shared/billing-catalog.ts";
import { createStripe } from "../supabase/functions/_shared/stripe-client.ts";
import { onTargetDatabase } from "../src/local/target-database.ts";
import { loadProductConfig, presetOrExit } from "../src/config/presets.ts";

const preset = presetOrExit();
const config = await loadProductConfig(preset);
if (preset) console.log(`Config: presets/${preset}.ts`);

const key = scriptStripeKey("sync the live catalog");
await onTargetDatabase(async (url) => {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    // One sync at a time per database (two at once could each create a price and archive the other's); the
    // lock is the session's (one connection), released when it ends.
    const [{ locked }] = await sql`select pg_try_advisory_lock(hashtextextended('saasbase:stripe-sync', 0)) as locked`;
    if (!locked) {
      console.error("Another stripe:sync is running against this database; try again when it is done.");
      process.exitCode = 1;
      return;
    }
    const summary = await syncStripeCatalog(createStripe(key, process.env.STRIPE_API_BASE), sql, stripeCatalog(config), config.currency);
    console.log("Stripe catalog in sync:", summary);
  } finally {
    await sql.end();
  }
});
