// An account's third-party keys (a user's v0 key), stored encrypted; no route ever answers a value:
//   PUT    /secrets/:provider { value }  store or replace it (200 the secret as listed); a team's needs the
//                                        `manage_team` right (403 account_forbidden)
//   GET    /secrets                      { secrets: [{ provider, last4, created_by, created_at, updated_at }] }
//   DELETE /secrets/:provider            { deleted: true, provider }; 404 secret_not_found
//   POST   /secrets/rotate { batch_size? }  admins or the service role: every secret re-encrypted under the
//                                        current key id (the report of _shared/secrets/rotate.ts)
// The user's routes act for the account named in X-Account-Id (default: their personal account; an API key's:
// its own account, docs/api-keys.md), checked in SQL:
// 404 account_not_found for one they are not in. 503 secrets_not_configured when the function has no keys
// (SAASBASE_SECRETS_KEYS / SAASBASE_SECRETS_KEY_ID): nothing is stored unencrypted.
import { z } from "zod";
import { callerAccount } from "../_shared/account.ts";
import { requireAdmin } from "../_shared/admin.ts";
import { requireUser } from "../_shared/auth.ts";
import { asCaller, db } from "../_shared/db.ts";
import { dbCall } from "../_shared/db-errors.ts";
import { MethodNotAllowedError, NotFoundError, ValidationError } from "../_shared/errors.ts";
import { json, withHttp } from "../_shared/http.ts";
import { readJson } from "../_shared/request.ts";
import { PROVIDER, type SecretInfo, secretsKeyring, storeSecret } from "../_shared/secrets/index.ts";
import { rotateSecrets } from "../_shared/secrets/rotate.ts";
import { config } from "../_shared/config.ts";
import { withMaintenance } from "../_shared/runtime-settings.ts";

// Provider keys are visible ASCII (sk-..., v1:..., base64, hex); the 8-character minimum keeps the last 4 from
// being half of the value.
const putBody = z.object({
  value: z.string().min(8).max(4096).regex(/^[\x21-\x7e]+$/, "visible ASCII characters, without spaces"),
});
const rotateBody = z.object({ batch_size: z.number().int().min(1).max(1000).default(100) });

function providerOf(segment: string): string {
  if (!PROVIDER.test(segment)) {
    throw new ValidationError("The provider must be 1 to 63 of a-z 0-9 _ -, starting with a letter or digit", [
      { path: "provider", message: "1 to 63 of a-z 0-9 _ -" },
    ]);
  }
  return segment;
}

async function list(req: Request): Promise<Response> {
  const caller = await requireUser(req);
  const account = callerAccount(req, caller);
  const secrets = await dbCall(asCaller(caller, (tx) =>
    tx<SecretInfo[]>`select provider, last4, created_by, created_at, updated_at from public.list_user_secrets(${account})`));
  return json({ secrets });
}

async function put(req: Request, provider: string): Promise<Response> {
  const caller = await requireUser(req);
  const account = callerAccount(req, caller);
  const { value } = await readJson(req, putBody);
  return json(await storeSecret(caller.userId, account, provider, value));
}

async function remove(req: Request, provider: string): Promise<Response> {
  const caller = await requireUser(req);
  const account = callerAccount(req, caller);
  await dbCall(db()`select public.service_role_delete_user_secret(${account ?? caller.userId}, ${caller.userId}, ${provider})`);
  return json({ deleted: true, provider });
}

async function rotate(req: Request): Promise<Response> {
  await requireAdmin(req);
  const { batch_size } = await readJson(req, rotateBody);
  return json(await rotateSecrets(db(), await secretsKeyring(), { batchSize: batch_size }));
}

export const handler = withHttp(withMaintenance(config, async (req) => {
  const route = new URL(req.url).pathname.replace(/^.*?\/secrets/, "").replace(/\/$/, "");
  if (route === "") {
    if (req.method !== "GET") throw new MethodNotAllowedError(req.method);
    return await list(req);
  }
  if (route === "/rotate" && req.method === "POST") return await rotate(req);
  const m = /^\/([^/]+)$/.exec(route);
  if (!m) throw new NotFoundError(`No route ${route}`, "route_not_found");
  if (req.method === "PUT") return await put(req, providerOf(m[1]));
  if (req.method === "DELETE") return await remove(req, providerOf(m[1]));
  throw new MethodNotAllowedError(req.method);
}));
