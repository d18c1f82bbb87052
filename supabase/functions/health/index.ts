// Edge function `health` (verify_jwt = false): a liveness and configuration probe for uptime checks.
import { handler } from "./handler.ts";

Deno.serve(handler);
