// The MCP config files of the editors an installation can be in, and what validation reads out of them: the
// server entry that points at this product's MCP server, and the API key it carries. Pure: no I/O.
//
//   cursor          ~/.cursor/mcp.json                 { "mcpServers": { name: { url, headers? } | { command, args?, env? } } }
//   claude-desktop  claude_desktop_config.json         { "mcpServers": { name: { command, args?, env? } } } (a remote
//                                                        server through a bridge: `npx mcp-remote <url> --header ...`)
//   vscode          .vscode/mcp.json                   { "servers": { name: { type: "http"|"sse", url, headers? }
//                                                        | { type?: "stdio", command, args?, env? } }, "inputs"? }
//   windsurf        ~/.codeium/windsurf/mcp_config.json { "mcpServers": { name: { serverUrl, headers? } | { command, ... } } }
//   other           any of the above
import { z } from "zod";
import { formatPath } from "../config-schema.ts";

export const MCP_CLIENTS = ["cursor", "claude-desktop", "vscode", "windsurf", "other"] as const;
export type McpClient = (typeof MCP_CLIENTS)[number];

const CLIENT_NAMES: Record<McpClient, string> = {
  cursor: "Cursor's mcp.json",
  "claude-desktop": "Claude Desktop's claude_desktop_config.json",
  vscode: "VS Code's mcp.json",
  windsurf: "Windsurf's mcp_config.json",
  other: "an MCP config",
};

const name = z.string().min(1).max(200);
const text = z.string().max(4096);
const stringMap = z.record(name, text);
// Fields the editors add that validation does not read (disabled, autoApprove, cwd, envFile, ...) are kept.
const stdio = z.looseObject({
  command: z.string().min(1).max(1024),
  args: z.array(text).max(100).optional(),
  env: stringMap.optional(),
  type: z.literal("stdio").optional(),
});
const remote = (field: "url" | "serverUrl") =>
  z.looseObject({
    [field]: z.string().min(1).max(2048),
    headers: stringMap.optional(),
    type: z.enum(["http", "sse", "streamable-http", "streamableHttp"]).optional(),
  });
const servers = (entry: z.ZodType, shape: string) =>
  z.record(name, entry, { error: `each server is ${shape}` }).refine((s) => Object.keys(s).length > 0, "no servers");

const eitherStdio = (field: "url" | "serverUrl", shape: string) =>
  z.union([remote(field), stdio], { error: `a server is ${shape}` });

const SCHEMAS = {
  cursor: z.looseObject({
    mcpServers: servers(
      eitherStdio("url", '{ "url", "headers"? } or { "command", "args"?, "env"? }'),
      "an object",
    ),
  }),
  "claude-desktop": z.looseObject({
    mcpServers: servers(
      z.looseObject({ ...stdio.shape }).refine((s) => typeof s.command === "string", {
        error: 'a server is { "command", "args"?, "env"? } (Claude Desktop starts remote servers through a ' +
          "bridge such as mcp-remote)",
      }),
      "an object",
    ),
  }),
  vscode: z.looseObject({
    servers: servers(
      z.union([
        z.looseObject({
          type: z.enum(["http", "sse"]),
          url: z.string().min(1).max(2048),
          headers: stringMap.optional(),
        }),
        stdio,
      ], { error: 'a server is { "type": "http", "url", "headers"? } or { "type": "stdio", "command", "args"? }' }),
      "an object",
    ),
    inputs: z.array(z.unknown()).max(100).optional(),
  }),
  windsurf: z.looseObject({
    mcpServers: servers(
      eitherStdio("serverUrl", '{ "serverUrl", "headers"? } or { "command", "args"?, "env"? } (Windsurf reads ' +
        'serverUrl, not url)'),
      "an object",
    ),
  }),
} as const;

/** One server entry, whatever the client's format. `url`: its URL, or for a command the first http(s) URL in its
 * arguments (a bridge such as mcp-remote). */
export interface McpServerEntry {
  name: string;
  url?: string;
  headers: Record<string, string>;
  args: string[];
  env: Record<string, string>;
}

export type ParsedConfig = { ok: true; servers: McpServerEntry[] } | { ok: false; error: string };

function isHttpUrl(value: string): boolean {
  try {
    const u = new URL(value);
    return u.protocol === "http:" || u.protocol === "https:";
  } catch {
    return false;
  }
}

function entriesOf(config: Record<string, unknown>): McpServerEntry[] {
  const map = (config.mcpServers ?? config.servers ?? {}) as Record<string, Record<string, unknown>>;
  return Object.entries(map).map(([name, s]) => {
    const args = (s.args as string[] | undefined) ?? [];
    const url = (s.url ?? s.serverUrl) as string | undefined;
    return {
      name,
      url: url ?? args.find(isHttpUrl),
      headers: (s.headers as Record<string, string> | undefined) ?? {},
      args,
      env: (s.env as Record<string, string> | undefined) ?? {},
    };
  });
}

function parseAs(client: Exclude<McpClient, "other">, config: unknown): ParsedConfig {
  const result = SCHEMAS[client].safeParse(config);
  if (!result.success) {
    const issues = result.error.issues.slice(0, 5).map((i) => `${formatPath(i.path) || "(the config)"}: ${i.message}`);
    return { ok: false, error: `Not ${CLIENT_NAMES[client]}: ${issues.join("; ")}` };
  }
  return { ok: true, servers: entriesOf(result.data as Record<string, unknown>) };
}

/** The config's servers, read as `client`'s format (`other`: the first format it fits), or why it is not one. */
export function parseMcpConfig(client: McpClient, config: unknown): ParsedConfig {
  if (client !== "other") return parseAs(client, config);
  for (const c of ["cursor", "vscode", "windsurf"] as const) {
    const parsed = parseAs(c, config);
    if (parsed.ok) return parsed;
  }
  return {
    ok: false,
    error: 'Not an MCP config: expected "mcpServers" (Cursor, Claude Desktop, Windsurf) or "servers" (VS Code)',
  };
}

/** A URL as compared: origin and path, without a trailing slash, query or fragment. */
export function normalizeUrl(value: string): string | undefined {
  try {
    const u = new URL(value);
    if (u.protocol !== "http:" && u.protocol !== "https:") return undefined;
    return `${u.origin}${u.pathname.replace(/\/+$/, "")}`;
  } catch {
    return undefined;
  }
}

/** Our API keys: `sbk_<mode>_` and base62 characters. */
export const API_KEY = /\bsbk_[a-z]+_[A-Za-z0-9]{16,}\b/;

/** The API key a server entry carries (its headers, environment or arguments), if any. */
export function apiKeyIn(entry: McpServerEntry): string | undefined {
  for (const value of [...Object.values(entry.headers), ...Object.values(entry.env), ...entry.args]) {
    const m = API_KEY.exec(value);
    if (m) return m[0];
  }
  return undefined;
}

/** The entry pointing at one of `serverUrls` (the product's MCP server), or undefined. */
export function findProductServer(servers: McpServerEntry[], serverUrls: string[]): McpServerEntry | undefined {
  const ours = new Set(serverUrls.map(normalizeUrl).filter(Boolean));
  return servers.find((s) => s.url !== undefined && ours.has(normalizeUrl(s.url)));
}

/** The config as stored: every header, environment and bridge `--header` value that is not one of our keys
 * replaced (an editor's config may hold other secrets, a v0 key in `env` say), and our keys left for the database
 * to cut to their prefix (saasbase.redact_api_keys). */
export function redactConfig(config: unknown): unknown {
  const redactValues = (map: unknown) =>
    map && typeof map === "object" && !Array.isArray(map)
      ? Object.fromEntries(
        Object.entries(map).map(([k, v]) => [k, typeof v === "string" && API_KEY.test(v) ? v : "[redacted]"]),
      )
      : map;
  // A bridge's `--header "Name: value"` argument is a header too.
  const redactArgs = (args: unknown) =>
    Array.isArray(args)
      ? args.map((a, i) =>
        i > 0 && args[i - 1] === "--header" && typeof a === "string" && !API_KEY.test(a)
          ? a.replace(/:.*$/s, ": [redacted]")
          : a
      )
      : args;
  const walk = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(walk);
    if (value && typeof value === "object") {
      return Object.fromEntries(
        Object.entries(value).map((
          [k, v],
        ) => [k, k === "headers" || k === "env" ? redactValues(v) : k === "args" ? redactArgs(v) : walk(v)]),
      );
    }
    return value;
  };
  return walk(config);
}
