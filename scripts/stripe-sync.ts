// npm run stripe:sync: creates or updates the config's products and prices in Stripe (STRIPE_SECRET_KEY,
// a test-mode key, from .env) and mirrors them into the database at SUPABASE_DB_URL. Safe to run again.
import "dotenv/config";
import postgres from "postgres";
import { syncStripeCatalog } from "../src/billing/stripe-sync.ts";
import { stripeCatalog } from "../supabase/functions/_shared/billing-catalog.ts";
import { config } from "../supabase/functions/_shared/config.ts";
import { createStripe } from "../supabase/functions/_shared/stripe-client.ts";

const key = process.env.STRIPE_SECRET_KEY;
const dbUrl = process.env.SUPABASE_DB_URL || process.env.DATABASE_URL;
if (!key || !dbUrl) {
  console.error("Set STRIPE_SECRET_KEY (a test-mode key) and SUPABASE_DB_URL in .env or the environment.");
  process.exit(1);
}
if (key.startsWith("sk_live_") && process.env.SAASBASE_ALLOW_LIVE !== "1") {
  console.error("Refusing a live key: set SAASBASE_ALLOW_LIVE=1 when you mean to sync the live catalog.");
  process.exit(1);
}
const sql = postgres(dbUrl, { max: 1, onnotice: () => {} });
try {
  const summary = await syncStripeCatalog(createStripe(key, process.env.STRIPE_API_BASE), sql, stripeCatalog(config), config.currency);
  console.log("Stripe catalog in sync:", summary);
} finally {
  await sql.end();
}
