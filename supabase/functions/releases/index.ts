// Edge function `releases` (verify_jwt = true: the anon key is enough for apps): update checks, licensed
// downloads, and the admins' publishing (docs/releases.md).
import { handler } from "./handler.ts";

Deno.serve(handler);
