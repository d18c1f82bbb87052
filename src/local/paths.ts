// Where the project and the local stack's state live on disk.
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root (this file is src/local/paths.ts). */
export const ROOT = fileURLToPath(new URL("../..", import.meta.url));
export const SUPABASE_DIR = join(ROOT, "supabase");
export const FUNCTIONS_DIR = join(SUPABASE_DIR, "functions");
/** Gitignored: the dev cluster's data directory and logs (see state-dir.ts for root in a private folder). */
export const STATE_DIR = join(ROOT, ".saasbase");
/** Deno and Supabase CLI from node_modules, so no global install is needed. */
export const DENO_BIN = join(ROOT, "node_modules", ".bin", "deno");
export const SUPABASE_BIN = join(ROOT, "node_modules", ".bin", "supabase");
