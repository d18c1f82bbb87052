// Edge function `secrets` (verify_jwt = true): an account's encrypted third-party keys (docs/secrets.md).
import { handler } from "./handler.ts";

Deno.serve(handler);
