// Installations of the product's MCP server in an editor (the seed's track-installation and validate-mcp):
//   POST /installations/track     { client, version?, mcp_config? }
//        201 the installation, attempted
//   POST /installations/validate  { installation_id?, client, version?, mcp_config }
//        200 the installation, validated or failed with error_message saying why (a config that does not work is
//        an outcome, not a bad request); without installation_id a new installation is tracked first
// Both act for the account named in X-Account-Id (a team the caller belongs to; default: their personal account),
// or, called with an API key (scope `installations`), for the key's account:
// 404 account_not_found for one they are not in; 404 installation_not_found for an installation_id that is not
// theirs in it; 422 for a body out of shape, 429 rate_limited past 60 new installations an hour. Bad input
// changes nothing. The config is stored with its header and env values redacted and our API keys cut to their
// prefix (the database refuses a raw key).
import { z } from "zod";
import { callerAccount } from "../_shared/account.ts";
import { sha256Hex } from "../_shared/api-keys.ts";
import { requireUser } from "../_shared/auth.ts";
import { db } from "../_shared/db.ts";
import { dbCall } from "../_shared/db-errors.ts";
import { MethodNotAllowedError, NotFoundError } from "../_shared/errors.ts";
import { json, withHttp } from "../_shared/http.ts";
import { readJson } from "../_shared/request.ts";
import type { Database } from "../_shared/database.types.ts";
import { MCP_CLIENTS, redactConfig } from "../_shared/installations/mcp-config.ts";
import { probeInitialize } from "../_shared/installations/mcp-probe.ts";
import { type ValidationOutcome, validateMcpConfig, type VerifiedKey } from "../_shared/installations/validate.ts";
import { config } from "../_shared/config.ts";
import { withMaintenance } from "../_shared/runtime-settings.ts";

type Installation = Database["public"]["Tables"]["installations"]["Row"];

/** An MCP config file's JSON: an object of at most 16 KB (an editor's is a few hundred bytes). */
const mcpConfig = z.record(z.string(), z.unknown()).refine(
  (c) => new TextEncoder().encode(JSON.stringify(c)).byteLength <= 16_384,
  "at most 16 KB of JSON",
);
const trackBody = z.object({
  client: z.enum(MCP_CLIENTS),
  version: z.string().min(1).max(64).optional(),
  mcp_config: mcpConfig.optional(),
});
const validateBody = trackBody.extend({
  installation_id: z.uuid().optional(),
  mcp_config: mcpConfig,
});

/** The product's MCP server: SAASBASE_MCP_URL (comma-separated for more than one), else this project's `mcp`
 * function. */
function mcpServerUrls(): string[] {
  const configured = (Deno.env.get("SAASBASE_MCP_URL") ?? "").split(",").map((u) => u.trim()).filter(Boolean);
  if (configured.length > 0) return configured;
  return [`${(Deno.env.get("SUPABASE_URL") ?? "").replace(/\/$/, "")}/functions/v1/mcp`];
}

/** The key's owner through the API keys' verification (one indexed lookup by hash); null for an unknown, revoked
 * or expired key, a removed member's or a deleted user's. */
async function verifyKey(key: string): Promise<VerifiedKey | null> {
  const [row] = await db()<VerifiedKey[]>`select id, account_id, user_id, scopes
    from public.service_role_verify_api_key(${await sha256Hex(key)})`;
  return row ?? null;
}

async function track(
  userId: string,
  account: string | null,
  body: z.output<typeof trackBody>,
): Promise<Installation> {
  const [{ i }] = await dbCall(db()`select to_jsonb(public.service_role_track_installation(${account}, ${userId},
    ${body.client}, ${body.version ?? null}, ${body.mcp_config ? db().json(redactConfig(body.mcp_config) as never) : null})) as i`);
  return i as Installation;
}

async function record(
  id: string,
  userId: string,
  account: string | null,
  body: z.output<typeof validateBody>,
  outcome: ValidationOutcome,
): Promise<Installation> {
  const sql = db();
  const [{ i }] = await dbCall(sql`select to_jsonb(public.service_role_record_installation_outcome(${id}, ${account},
    ${userId}, ${outcome.status}, ${outcome.error ?? null}, ${sql.json(redactConfig(body.mcp_config) as never)},
    ${outcome.serverUrl ?? null}, ${outcome.apiKeyPrefix ?? null},
    ${outcome.serverInfo ? sql.json(outcome.serverInfo as never) : null}, ${body.version ?? null})) as i`);
  return i as Installation;
}

export const handler = withHttp(withMaintenance(config, async (req) => {
  const route = new URL(req.url).pathname.replace(/^.*?\/installations/, "").replace(/\/$/, "");
  if (route !== "/track" && route !== "/validate") throw new NotFoundError(`No route ${route}`, "route_not_found");
  if (req.method !== "POST") throw new MethodNotAllowedError(req.method);
  const caller = await requireUser(req);
  // An API key acts for its own account (an X-Account-Id naming another is 403), a session for X-Account-Id's.
  const account = callerAccount(req, caller);

  if (route === "/track") {
    const body = await readJson(req, trackBody);
    return json(await track(caller.userId, account, body), 201);
  }

  const body = await readJson(req, validateBody);
  // The installation first: a non-member's or a stranger's installation is refused before any probe is sent.
  let id = body.installation_id;
  if (id) {
    const [found] = await db()`select 1 from public.installations
      where id = ${id} and user_id = ${caller.userId} and account_id = ${account ?? caller.userId}`;
    if (!found) throw new NotFoundError("No such installation of yours in this account", "installation_not_found");
  } else {
    id = (await track(caller.userId, account, body)).id;
  }
  const outcome = await validateMcpConfig(body.client, body.mcp_config, {
    userId: caller.userId,
    accountId: account ?? caller.userId,
  }, {
    serverUrls: mcpServerUrls(),
    verifyKey,
    probe: (url, headers) => probeInitialize(url, headers),
  });
  return json(await record(id, caller.userId, account, body, outcome));
}));
