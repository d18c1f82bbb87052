// Edge function `mcp` (verify_jwt = false: API keys are no JWTs; the handler verifies every caller itself):
// the product's MCP server over Streamable HTTP.
import { handler } from "./handler.ts";

Deno.serve(handler);
