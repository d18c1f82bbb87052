// The generated database types (`npm run gen:types`), which live with the edge functions: see src/local/types.ts.
export type * from "../supabase/functions/_shared/database.types.ts";
