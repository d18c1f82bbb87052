// npm run polar:sync: creates or updates the config's Polar products (what payments.provider has Polar sell:
// plans, credit packs, the custom-deposit product) with POLAR_ACCESS_TOKEN (an organization access token; the
// sandbox's when payments.polar.server is "sandbox"), and mirrors them into the database at SUPABASE_DB_URL, or by
// default the one `npm run dev` runs. Safe to run again. `-- --preset <name>` (or SAASBASE_PRESET) syncs
// presets/<name>.ts. POLAR_API_BASE points it at another server speaking Polar's API.
import "dotenv/config";
import postgres from "postgres";
import { syncPolarCatalog } from "../src/billing/polar-sync.ts";
import { polarCatalog } from "../supabase/functions/_shared/billing/polar/catalog.ts";
import { createPolarClient } from "../supabase/functions/_shared/billing/polar/client.ts";
import { onTargetDatabase } from "../src/local/target-database.ts";
import { loadProductConfig, presetOrExit } from "../src/config/presets.ts";

const preset = presetOrExit();
const config = await loadProductConfig(preset);
if (preset) console.log(`Config: presets/${preset}.ts`);

const catalog = polarCatalog(config);
if (catalog.length === 0) {
  console.log(`Polar sells nothing with payments.provider "${config.payments.provider}": nothing to sync.`);
  process.exit(0);
}
const tokenEnv = config.payments.polar.accessTokenEnv;
const token = process.env[tokenEnv];
if (!token) {
  console.error(`Set ${tokenEnv} (a Polar organization access token) in .env or the environment.`);
  process.exit(1);
}
const polar = createPolarClient(token, config.payments.polar.server, process.env.POLAR_API_BASE);
await onTargetDatabase(async (url) => {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    // One sync at a time per database (two at once could each create a product); released when the session ends.
    const [{ locked }] = await sql`select pg_try_advisory_lock(hashtextextended('saasbase:polar-sync', 0)) as locked`;
    if (!locked) {
      console.error("Another polar:sync is running against this database; try again when it is done.");
      process.exitCode = 1;
      return;
    }
    const summary = await syncPolarCatalog(polar, sql, catalog, config.currency);
    console.log("Polar catalog in sync:", summary);
  } finally {
    await sql.end();
  }
});
