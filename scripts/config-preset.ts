// npm run config:preset -- <name>: makes presets/<name>.ts the product config, by writing it over
// supabase/functions/_shared/saasbase.config.ts (what `supabase functions deploy` bundles) with its schema
// import made relative to _shared/. Validated first; commit the result like any edit of the config.
import { readFileSync, writeFileSync } from "node:fs";
import { relative } from "node:path";
import { ConfigError } from "../supabase/functions/_shared/config-schema.ts";
import { asShippedConfig, loadProductConfig, presetFile, presetNames, SHIPPED_CONFIG } from "../src/config/presets.ts";
import { ROOT } from "../src/local/paths.ts";

const name = process.argv[2];
if (!name) {
  console.error(`usage: npm run config:preset -- <name>   (one of ${presetNames().join(", ")})`);
  process.exit(1);
}
try {
  const config = await loadProductConfig(name);
  writeFileSync(SHIPPED_CONFIG, asShippedConfig(readFileSync(presetFile(name), "utf8")));
  console.log(`${relative(ROOT, SHIPPED_CONFIG)} is now presets/${name}.ts (${config.product.name}).`);
  console.log("Next: npm run config:sync and npm run stripe:sync against your database, then supabase functions deploy.");
} catch (err) {
  console.error(err instanceof ConfigError ? err.message : (err as Error).message);
  process.exit(1);
}
