// npm run config:sync: writes the product config's catalog (plans, features, quotas, credit packs) into the
// database at SUPABASE_DB_URL (hosted: the connection string from the dashboard). Idempotent; run it after
// every change to saasbase.config.ts and after `supabase db push`.
import "dotenv/config";
import { syncProductConfig } from "../src/local/database.ts";

const url = process.env.SUPABASE_DB_URL || process.env.DATABASE_URL;
if (!url) {
  console.error("Set SUPABASE_DB_URL to the database to sync (npm run dev does this for the local one).");
  process.exit(1);
}
console.log("Synced:", await syncProductConfig(url));
