// The MCP server (issue 15): Streamable HTTP, stateless. Every POST is one JSON-RPC message, answered with one
// JSON response (enableJsonResponse): no session, no server-sent stream held open, nothing kept between
// requests, which is what an edge function can do (any instance may take the next request; a request ends
// within the platform's time limit). GET (a stream for server-initiated messages) and DELETE (ending a session)
// are 405, as the transport spec allows a server without them.
//
// Built on @modelcontextprotocol/sdk's low-level Server and its Web-standard transport
// (WebStandardStreamableHTTPServerTransport: Request in, Response out, which Deno.serve speaks), one of each per
// request. Around it, what the SDK leaves to us: who calls (an API key, `Authorization: Bearer sbk_...` or
// `x-api-key`, or a user's session token; _shared/auth.ts), which account (the key's; else X-Account-Id), a body
// size limit, and JSON-RPC checks before anything is charged: malformed JSON (-32700), batches (-32600: the
// protocol since 2025-06-18 has none, and a batch of generations would be one request charged many times),
// unknown tools and bad arguments (-32602).
import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import { WebStandardStreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js";
import {
  type CallToolRequest,
  CallToolRequestSchema,
  ErrorCode,
  ListToolsRequestSchema,
  McpError,
} from "@modelcontextprotocol/sdk/types.js";
import { z } from "zod";
import { callerAccount } from "../_shared/account.ts";
import { requireUser } from "../_shared/auth.ts";
import { config } from "../_shared/config.ts";
import { formatPath } from "../_shared/config-schema.ts";
import { AppError, MethodNotAllowedError } from "../_shared/errors.ts";
import { withHttp } from "../_shared/http.ts";
import { idempotencyKeyHeader, readBodyText, unstorableText } from "../_shared/request.ts";
import { toolsFor } from "./tools.ts";
import { withMaintenance } from "../_shared/runtime-settings.ts";

/** The largest JSON-RPC message taken: a prompt of the config's longest, escaped, and room for the rest. */
export const MAX_MESSAGE_BYTES = 64 * 1024 + (config.mcp.components?.maxPromptChars ?? 0) * 6;

const tools = toolsFor(config);

const rpcError = (status: number, code: number, message: string, id: unknown = null) =>
  Response.json({ jsonrpc: "2.0", id, error: { code, message } }, { status });

/** The public URL of the functions (what a message tells the user to call), from the request's own. */
function functionsUrl(req: Request): string {
  const url = new URL(req.url);
  const base = Deno.env.get("SUPABASE_URL");
  return base ? `${base.replace(/\/$/, "")}/functions/v1` : `${url.origin}/functions/v1`;
}

export const handler = withHttp(withMaintenance(config, async (req) => {
  if (req.method !== "POST") {
    const res = Response.json(
      { error: { code: "method_not_allowed", message: "This MCP server is stateless: POST JSON-RPC messages" } },
      { status: 405, headers: { allow: "POST, OPTIONS" } },
    );
    if (req.method === "GET" || req.method === "DELETE") return res;
    throw new MethodNotAllowedError(req.method);
  }
  const caller = await requireUser(req, { scope: "mcp", platformVerified: false });
  const account = callerAccount(req, caller);
  const clientKey = idempotencyKeyHeader(req);

  const body = await readBodyText(req, MAX_MESSAGE_BYTES);
  let message: unknown;
  try {
    message = JSON.parse(body);
  } catch {
    return rpcError(400, ErrorCode.ParseError, "Parse error: the body must be one JSON-RPC message");
  }
  if (Array.isArray(message)) {
    return rpcError(400, ErrorCode.InvalidRequest, "Batches are not supported: send one JSON-RPC message per request");
  }
  if (unstorableText(message).length > 0) {
    return rpcError(400, ErrorCode.InvalidRequest, "NUL characters and unpaired surrogates are not allowed in text");
  }

  const server = new Server(
    { name: config.product.name, version: "1.0.0" },
    { capabilities: { tools: {} } },
  );
  server.setRequestHandler(ListToolsRequestSchema, () => ({
    tools: Object.entries(tools).map(([name, tool]) => ({
      name,
      description: tool.description,
      inputSchema: z.toJSONSchema(tool.input, { io: "input" }) as { type: "object" },
    })),
  }));
  server.setRequestHandler(CallToolRequestSchema, async (request: CallToolRequest, extra: { requestId: string | number; signal: AbortSignal }) => {
    const tool = Object.hasOwn(tools, request.params.name) ? tools[request.params.name] : undefined;
    if (!tool) throw new McpError(ErrorCode.InvalidParams, `Unknown tool: ${request.params.name}`);
    const args = tool.input.safeParse(request.params.arguments ?? {});
    if (!args.success) {
      const issues = args.error.issues.map((i) => `${formatPath(i.path)}: ${i.message}`).join("; ");
      throw new McpError(ErrorCode.InvalidParams, `Invalid arguments for ${request.params.name}: ${issues}`);
    }
    try {
      return await tool.run(
        { config, caller, account, functionsUrl: functionsUrl(req), clientKey },
        args.data,
        extra.requestId,
        extra.signal,
      );
    } catch (err) {
      // A failure of ours (the database unreachable, a bug): logged, and a JSON-RPC error without its text.
      if (err instanceof AppError) throw new McpError(ErrorCode.InternalError, err.message);
      console.error(err);
      throw new McpError(ErrorCode.InternalError, "Internal error; nothing was charged for a call that failed");
    }
  });
  const transport = new WebStandardStreamableHTTPServerTransport({
    sessionIdGenerator: undefined,
    enableJsonResponse: true,
  });
  await server.connect(transport);
  try {
    return await transport.handleRequest(req, { parsedBody: message });
  } finally {
    await server.close();
  }
}));
