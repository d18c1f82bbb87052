// How the local stack's edge functions run a preset: a Deno config whose import map sends the functions'
// import of _shared/saasbase.config.ts to presets/<name>.ts. The functions' code is loaded unchanged, and what
// `supabase functions deploy` bundles stays the shipped file.
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { presetFile, SHIPPED_CONFIG } from "../config/presets.ts";
import { assertOwnFolder } from "./own-folder.ts";
import { FUNCTIONS_DIR } from "./paths.ts";

interface ImportMap {
  imports?: Record<string, string>;
  scopes?: Record<string, Record<string, string>>;
}

/** Relative addresses in an import map are relative to the map's own file: made absolute, so the map can be
 * written elsewhere. */
function absolute(map: ImportMap, base: string): ImportMap {
  const resolve = (s: string) => (/^\.{0,2}\//.test(s) ? new URL(s, base).href : s);
  const entries = (o: Record<string, string>) => Object.fromEntries(Object.entries(o).map(([k, v]) => [resolve(k), resolve(v)]));
  return {
    imports: entries(map.imports ?? {}),
    ...(map.scopes && { scopes: Object.fromEntries(Object.entries(map.scopes).map(([k, v]) => [resolve(k), entries(v)])) }),
  };
}

/** A Deno config file for a function started with `preset`: supabase/functions/deno.json with `importMap` (the
 * function's own, else the shared one) extended by the preset's redirect. Written once per content to a temp
 * folder; returns its path. */
export function presetDenoConfig(preset: string, importMapPath: string): string {
  const map = absolute(JSON.parse(readFileSync(importMapPath, "utf8")) as ImportMap, pathToFileURL(importMapPath).href);
  map.imports![pathToFileURL(SHIPPED_CONFIG).href] = pathToFileURL(presetFile(preset)).href;
  const denoJson = JSON.parse(readFileSync(join(FUNCTIONS_DIR, "deno.json"), "utf8"));
  const mapText = JSON.stringify(map, null, 2);
  // One folder per account: the functions run the import map found there, so no other account may have made
  // or be able to change it (see own-folder.ts).
  const base = join(tmpdir(), `saasbase-presets-${process.getuid?.() ?? "user"}`);
  const dir = join(base, createHash("sha256").update(mapText).digest("hex").slice(0, 16));
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  for (const d of [base, dir]) assertOwnFolder(d, "remove it (the functions' Deno config for a preset is written there)");
  // Written whole, then renamed into place: another stack starting at the same moment reads one or the other.
  // A file already there as it should be is left alone: a rewrite would restart every watching function.
  const write = (name: string, text: string) => {
    if (existsSync(join(dir, name)) && readFileSync(join(dir, name), "utf8") === text) return;
    const part = join(dir, `${name}.${process.pid}.part`);
    writeFileSync(part, text);
    renameSync(part, join(dir, name));
  };
  write("import_map.json", mapText);
  write("deno.json", JSON.stringify({ ...denoJson, importMap: "./import_map.json" }, null, 2));
  return join(dir, "deno.json");
}
