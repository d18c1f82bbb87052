// CORS headers for browser callers (supabase-js sends authorization, apikey and x-client-info).
export const corsHeaders: Record<string, string> = {
  "Access-Control-Allow-Origin": "*",
  // x-region: supabase-js sends it when a function region is chosen; x-account-id names the team acted for;
  // x-api-key carries an API key (sbk_live_...); mcp-protocol-version is what MCP clients send the mcp function;
  // x-license-key, x-machine-fingerprint and x-content-sha256 are the releases function's (docs/releases.md).
  "Access-Control-Allow-Headers":
    "authorization, x-client-info, apikey, content-type, idempotency-key, x-region, x-account-id, x-api-key, " +
    "mcp-protocol-version, x-license-key, x-machine-fingerprint, x-content-sha256",
  // Headers of ours a browser's code may read.
  "Access-Control-Expose-Headers": "x-conversation-id, idempotent-replayed, retry-after",
  "Access-Control-Allow-Methods": "GET, POST, PUT, PATCH, DELETE, OPTIONS",
};
