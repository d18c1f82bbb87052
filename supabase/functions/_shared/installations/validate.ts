// validate-mcp: whether an editor's MCP config will work, checked on the server in the order an editor would
// fail: the config's shape for that client, a server entry pointing at this product's MCP server, the API key in
// it being a live key of this user (for this account, allowed to use the MCP server), and the server answering
// `initialize` with that entry's headers. The first check that fails says why, in a sentence for the user.
import { apiKeyIn, findProductServer, type McpClient, type McpServerEntry, parseMcpConfig } from "./mcp-config.ts";
import type { ProbeResult } from "./mcp-probe.ts";

/** A live API key's owner (service_role_verify_api_key's row). */
export interface VerifiedKey {
  id: string;
  account_id: string;
  user_id: string;
  scopes: string[] | null;
}

export interface ValidationDeps {
  /** The product's MCP server URL(s). */
  serverUrls: string[];
  /** The key's owner, null for an unknown, revoked or expired key. */
  verifyKey(key: string): Promise<VerifiedKey | null>;
  probe(url: string, headers: Record<string, string>): Promise<ProbeResult>;
}

export interface ValidationOutcome {
  status: "validated" | "failed";
  error?: string;
  serverUrl?: string;
  apiKeyPrefix?: string;
  serverInfo?: { protocolVersion: string; serverInfo: { name?: string; version?: string } };
}

/** The prefix a key is listed by (its first 12 characters), with an ellipsis. */
export const keyLabel = (key: string) => `${key.slice(0, 12)}…`;

/** Headers a bridge command passes on (`mcp-remote <url> --header "Name: value"`). */
function bridgeHeaders(args: string[]): Record<string, string> {
  const headers: Record<string, string> = {};
  args.forEach((arg, i) => {
    if (arg === "--header" && i + 1 < args.length) {
      const m = /^([^:\s]+):\s*(.*)$/.exec(args[i + 1]);
      if (m) headers[m[1]] = m[2];
    }
  });
  return headers;
}

/** The headers the editor would send to the server: the entry's own, or a bridge command's, with `${NAME}`
 * filled from the entry's env (mcp-remote's documented `--header "Authorization:${AUTH_HEADER}"`). */
export function headersOf(entry: McpServerEntry): Record<string, string> {
  const fill = (v: string) => v.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (m, name) => entry.env[name] ?? m);
  return Object.fromEntries(
    Object.entries({ ...bridgeHeaders(entry.args), ...entry.headers }).map(([k, v]) => [k, fill(v)]),
  );
}

export async function validateMcpConfig(
  client: McpClient,
  config: unknown,
  who: { userId: string; accountId: string },
  deps: ValidationDeps,
): Promise<ValidationOutcome> {
  const fail = (error: string, found: Partial<ValidationOutcome> = {}): ValidationOutcome => ({
    status: "failed",
    error,
    ...found,
  });
  const parsed = parseMcpConfig(client, config);
  if (!parsed.ok) return fail(parsed.error);

  const entry = findProductServer(parsed.servers, deps.serverUrls);
  if (!entry) {
    const seen = parsed.servers.slice(0, 5).map((s) => `"${s.name}" (${s.url ?? "a local command"})`).join(", ");
    return fail(`No server in the config points at ${deps.serverUrls[0]}; it has ${seen}`);
  }
  const serverUrl = entry.url!;

  const key = apiKeyIn(entry);
  if (!key) {
    return fail(
      `The server "${entry.name}" carries no API key (sbk_live_…): put one in its headers ` +
        `(Authorization: Bearer <key>)${client === "vscode" ? " rather than an ${input:...} the check cannot see" : ""}`,
      { serverUrl },
    );
  }
  const found = { serverUrl, apiKeyPrefix: key.slice(0, 12) };
  const owner = await deps.verifyKey(key);
  if (!owner) return fail(`The API key ${keyLabel(key)} is unknown, revoked or expired: create a new one`, found);
  if (owner.user_id !== who.userId) return fail(`The API key ${keyLabel(key)} belongs to another user`, found);
  if (owner.account_id !== who.accountId) {
    return fail(`The API key ${keyLabel(key)} is another account's than this installation's`, found);
  }
  if (owner.scopes && owner.scopes.length > 0 && !owner.scopes.includes("mcp")) {
    return fail(`The API key ${keyLabel(key)} may not use the MCP server (its scopes: ${owner.scopes.join(", ")})`, found);
  }

  const probe = await deps.probe(serverUrl, headersOf(entry));
  if (!probe.ok) return fail(probe.error, found);
  return {
    status: "validated",
    ...found,
    serverInfo: { protocolVersion: probe.protocolVersion, serverInfo: probe.serverInfo },
  };
}
