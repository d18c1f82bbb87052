// What the local stack reads from supabase/config.toml, the file `supabase start` reads too: ports, the JWT
// secret, and each edge function's settings (verify_jwt defaults to true, as on the platform).
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parse } from "smol-toml";
import { LOCAL_JWT_SECRET } from "./jwt.ts";

export interface FunctionSpec {
  name: string;
  entrypoint: string;
  verifyJwt: boolean;
  importMap: string;
}

export interface ProjectConfig {
  apiPort: number;
  dbPort: number;
  /** [db] major_version: the PostgreSQL hosted runs, and so the one npm's binaries must be. */
  dbMajorVersion: number;
  jwtSecret: string;
  /** [storage] file_size_limit in bytes (the local Storage's upload limit, as Storage's). */
  storageFileSizeLimit: number;
  functions: FunctionSpec[];
}

type Table = Record<string, unknown>;
const table = (v: unknown): Table => (v && typeof v === "object" ? (v as Table) : {});

export function readProjectConfig(supabaseDir: string): ProjectConfig {
  const toml = table(parse(readFileSync(join(supabaseDir, "config.toml"), "utf8")));
  const api = table(toml.api);
  const db = table(toml.db);
  const auth = table(toml.auth);
  const storage = table(toml.storage);
  const fnSettings = table(toml.functions);
  const functionsDir = join(supabaseDir, "functions");

  const functions: FunctionSpec[] = [];
  for (const name of readdirSync(functionsDir).sort()) {
    // `_shared` and dot-folders hold code, not functions (the CLI skips them the same way).
    if (name.startsWith("_") || name.startsWith(".")) continue;
    const settings = table(fnSettings[name]);
    if (settings.enabled === false) continue;
    const entrypoint = typeof settings.entrypoint === "string"
      ? resolve(supabaseDir, settings.entrypoint)
      : join(functionsDir, name, "index.ts");
    if (!existsSync(entrypoint)) continue;
    functions.push({
      name,
      entrypoint,
      verifyJwt: settings.verify_jwt !== false,
      importMap: typeof settings.import_map === "string"
        ? resolve(supabaseDir, settings.import_map)
        : join(functionsDir, "import_map.json"),
    });
  }

  return {
    apiPort: Number(api.port ?? 54321),
    dbPort: Number(db.port ?? 54322),
    dbMajorVersion: Number(db.major_version ?? 15),
    jwtSecret: typeof auth.jwt_secret === "string" && !auth.jwt_secret.startsWith("env(")
      ? auth.jwt_secret
      : LOCAL_JWT_SECRET,
    storageFileSizeLimit: parseSize(storage.file_size_limit),
    functions,
  };
}

/** `50MiB`, `5MB`, `500KB`, `3B` (as the CLI reads config.toml's [storage] file_size_limit) in bytes. */
export function parseSize(value: unknown, fallback = 50 * 1024 * 1024): number {
  if (typeof value === "number" && Number.isFinite(value)) return value;
  const m = typeof value === "string" ? /^\s*(\d+(?:\.\d+)?)\s*([KMGT]?)(i?B)?\s*$/i.exec(value) : null;
  if (!m) return fallback;
  const power = { "": 0, K: 1, M: 2, G: 3, T: 4 }[m[2].toUpperCase() as "" | "K" | "M" | "G" | "T"];
  return Math.floor(Number(m[1]) * 1024 ** power);
}
