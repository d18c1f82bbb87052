// Edge function `installations` (verify_jwt = true): track an MCP installation and validate its config.
import { handler } from "./handler.ts";

Deno.serve(handler);
