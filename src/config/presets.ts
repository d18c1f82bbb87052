// Product config presets: presets/<name>.ts, one per seed product, each a complete saasbase.config.ts.
// `npm run dev -- --preset <name>` (or SAASBASE_PRESET=<name>) runs the local stack with one: the config sync
// writes its catalog into the database (here), and the edge functions load it in place of saasbase.config.ts
// (src/local/preset-imports.ts). Deployed functions always bundle saasbase.config.ts: a fork copies a preset
// over it (`npm run config:preset -- <name>`).
import { existsSync, readdirSync } from "node:fs";
import { isAbsolute, join, sep } from "node:path";
import { pathToFileURL } from "node:url";
import { parseConfig, type ProductConfig } from "../../supabase/functions/_shared/config-schema.ts";
import { FUNCTIONS_DIR, ROOT } from "../local/paths.ts";

export const PRESETS_DIR = join(ROOT, "presets");
/** Configs of tests' own, run as presets by their test stacks. */
const FIXTURES_DIR = join(ROOT, "tests", "fixtures");
/** The config the functions import, and that deploy bundles. */
export const SHIPPED_CONFIG = join(FUNCTIONS_DIR, "_shared", "saasbase.config.ts");

/** The presets there are, by name (the file name without .ts). */
export function presetNames(): string[] {
  return readdirSync(PRESETS_DIR)
    .filter((f) => /^[a-z][a-z0-9-]*\.ts$/.test(f))
    .map((f) => f.slice(0, -3))
    .sort();
}

/** The file of a preset; an unknown name fails with the names there are. */
export function presetFile(name: string): string {
  // A test's own config (tests/fixtures/*.config.ts, by absolute path) runs as a preset does.
  if (isAbsolute(name) && name.startsWith(FIXTURES_DIR + sep) && name.endsWith(".config.ts") && existsSync(name)) {
    return name;
  }
  const file = join(PRESETS_DIR, `${name}.ts`);
  if (!/^[a-z][a-z0-9-]*$/.test(name) || !existsSync(file)) {
    throw new Error(`Unknown preset "${name}": one of ${presetNames().join(", ")} (files in presets/).`);
  }
  return file;
}

/** The preset named by SAASBASE_PRESET, if any (an empty value is none). */
export function presetFromEnv(env: NodeJS.ProcessEnv = process.env): string | undefined {
  return env.SAASBASE_PRESET || undefined;
}

/** The `--preset <name>` of a script's arguments, else SAASBASE_PRESET. */
export function presetFromArgs(argv: string[] = process.argv.slice(2)): string | undefined {
  const i = argv.findIndex((a) => a === "--preset" || a.startsWith("--preset="));
  if (i < 0) return presetFromEnv();
  const value = argv[i].includes("=") ? argv[i].slice("--preset=".length) : argv[i + 1];
  if (!value || value.startsWith("-")) throw new Error("--preset needs a name, e.g. --preset miky");
  return value;
}

/** For scripts: the preset their arguments or environment name, checked to exist; a bad name exits with why. */
export function presetOrExit(argv: string[] = process.argv.slice(2)): string | undefined {
  try {
    const preset = presetFromArgs(argv);
    if (preset !== undefined) presetFile(preset);
    return preset;
  } catch (err) {
    console.error((err as Error).message);
    process.exit(1);
  }
}

/** The validated product config: a preset's, or the shipped saasbase.config.ts without one. */
export async function loadProductConfig(preset?: string): Promise<ProductConfig> {
  const file = preset === undefined ? SHIPPED_CONFIG : presetFile(preset);
  return parseConfig((await import(pathToFileURL(file).href)).default);
}

/** A preset rewritten as saasbase.config.ts: the same file, its schema import made relative to _shared/. */
export function asShippedConfig(source: string): string {
  const from = /from "\.\.\/supabase\/functions\/_shared\/config-schema\.ts";/;
  if (!from.test(source)) throw new Error("a preset imports defineConfig from ../supabase/functions/_shared/config-schema.ts");
  return source.replace(from, 'from "./config-schema.ts";');
}
