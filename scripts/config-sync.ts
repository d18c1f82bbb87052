// npm run config:sync: writes the product config's catalog (plans, features, quotas, credit packs) into the
// database at SUPABASE_DB_URL (hosted: the connection string from the dashboard), or by default the one
// `npm run dev` runs (which syncs at every start anyway). Idempotent; run it after every change to
// saasbase.config.ts and after `supabase db push`.
import "dotenv/config";
import { syncProductConfig } from "../src/local/database.ts";
import { onTargetDatabase } from "../src/local/target-database.ts";

console.log("Synced:", await onTargetDatabase(syncProductConfig));
