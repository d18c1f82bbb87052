// npm run config:check [-- path/to/config.ts]: validates the product config (default: the shipped one) and
// prints a summary, or every bad field by path with exit code 1.
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { ConfigError, parseConfig } from "../supabase/functions/_shared/config-schema.ts";

const file = resolve(process.argv[2] ?? "supabase/functions/_shared/saasbase.config.ts");
try {
  const config = parseConfig((await import(pathToFileURL(file).href)).default);
  console.log(
    `${file}: valid (${config.plans.length} plans, ${Object.keys(config.features).length} features, ` +
      `${config.personas.length} personas, ${config.ai.providers.length} AI providers)`,
  );
} catch (err) {
  console.error(err instanceof ConfigError ? err.message : `Could not load ${file}: ${(err as Error).message}`);
  process.exit(1);
}
