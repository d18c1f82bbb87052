// npm run config:sync: writes the product config's catalog (plans, features, quotas, credit packs) into the
// database at SUPABASE_DB_URL (hosted: the connection string from the dashboard), or by default the one
// `npm run dev` runs (which syncs at every start anyway). Idempotent; run it after every change to
// saasbase.config.ts and after `supabase db push`. `-- --preset <name>` (or SAASBASE_PRESET) syncs
// presets/<name>.ts instead, as `npm run dev -- --preset <name>` does.
import "dotenv/config";
import { presetOrExit } from "../src/config/presets.ts";
import { syncProductConfig } from "../src/local/database.ts";
import { onTargetDatabase } from "../src/local/target-database.ts";

const preset = presetOrExit();
if (preset) console.log(`Config: presets/${preset}.ts`);
console.log("Synced:", await onTargetDatabase((url) => syncProductConfig(url, preset)));
