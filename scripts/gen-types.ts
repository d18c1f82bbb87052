// npm run gen:types: regenerates supabase/functions/_shared/database.types.ts from the migrations, on a throwaway database (or on
// SUPABASE_DB_URL when set). Commit the result; `npm test` fails while it is stale.
import "dotenv/config";
import { writeFileSync } from "node:fs";
import { throwawayDatabase } from "../src/local/throwaway.ts";
import { generateTypes, TYPES_FILE } from "../src/local/types.ts";

const given = process.env.SUPABASE_DB_URL;
const db = given ? undefined : await throwawayDatabase({ seed: false });
try {
  writeFileSync(TYPES_FILE, await generateTypes(given ?? db!.url));
  console.log(`Wrote ${TYPES_FILE}`);
} finally {
  await db?.destroy();
}
