// The license API (verify_jwt = false: the desktop app holds a license key and nothing else; the key is the
// credential). Every request by key is counted per client IP and per license in SQL (429 rate_limited with
// Retry-After), and an unknown key is told apart from nothing but itself (validation: code NOT_FOUND; the other
// routes: 404 license_not_found).
//
//   POST   /licenses/validate    { key, fingerprint?, product?, version? }  200 { valid, code, expires_at,
//                                entitlements, machines: { used, max }, product, license_id }  (docs/licenses.md:
//                                the codes)
//   POST   /licenses/activate    { key, fingerprint, name?, platform? }  201 { machine, machines } (200 for a
//                                fingerprint activated already); 409 machine_limit_reached, 403 license_not_valid
//   POST   /licenses/deactivate  { key, fingerprint }  200 { machine, machines }; 404 machine_not_found
//   POST   /licenses/heartbeat   { key, fingerprint }  200 { machine, machines }; 404 machine_not_found (dead)
//   GET    /licenses/:key        the license (policy, expiry, machines, validation now)
//   GET    /licenses/:key/file?fingerprint=   a license file signed with Ed25519 (valid licenses only: 403
//                                license_not_valid; with a fingerprint, for that activated machine)
//   GET    /licenses/public-key  { alg, kid, public_key }: what apps verify license files with
// Owners and admins (the project's service key; or an API key with the `licenses` scope, or a session token
// where the function verifies them: SAASBASE_JWT_SECRET or SAASBASE_AUTH=jwks, docs/api-keys.md). The same
// operations are RPCs supabase-js calls directly (revoke_license, suspend_license, ...: docs/licenses.md):
//   POST   /licenses             { account_id, product, expires_at?, user_id? }  admins: 201 { license_id, key, ... }
//   PUT    /licenses/:key/renew  { days? }  admins
//   POST   /licenses/:key/suspend | /licenses/:key/reinstate   the account's billing managers, admins
//   DELETE /licenses/:key        revoke: the account's billing managers, admins
import { Hono } from "hono";
import { z } from "zod";
import { clientIp } from "../_shared/api-keys.ts";
import { type Caller, hasServiceKey, requireUser } from "../_shared/auth.ts";
import { config } from "../_shared/config.ts";
import { asCaller, db } from "../_shared/db.ts";
import { dbCall } from "../_shared/db-errors.ts";
import { errorResponse, ForbiddenError, NotFoundError, ValidationError } from "../_shared/errors.ts";
import { corsHeaders } from "../_shared/cors.ts";
import { json, withHttp } from "../_shared/http.ts";
import { queryTime, readJson } from "../_shared/request.ts";
import { type LicenseFilePayload, signLicenseFile } from "../_shared/licenses/file.ts";
import { licenseSigningKey } from "../_shared/licenses/signing.ts";
import type {
  LicenseDetails,
  LicenseIssued,
  LicenseMachineResult,
  LicenseValidation,
} from "../_shared/sql-results.ts";

// What a key field takes: anything up to 64 characters (SQL decides whether it is a key, and answers NOT_FOUND
// for text that is none, as for a key nobody has).
const key = z.string().min(1).max(64);
const fingerprint = z.string().min(1).max(255);
const semver = z.string().max(64).regex(/^v?\d{1,9}(\.\d{1,9}){0,2}([-+][0-9A-Za-z.+-]*)?$/, "a version like 1.2.3");
const productId = z.string().regex(/^[a-z][a-z0-9_-]{0,62}$/, "a product id");

const validateBody = z.object({
  key,
  fingerprint: fingerprint.optional(),
  product: productId.optional(),
  version: semver.optional(),
});
const activateBody = z.object({
  key,
  fingerprint,
  name: z.string().max(255).optional(),
  platform: z.string().max(100).optional(),
});
const machineBody = z.object({ key, fingerprint });
const issueBody = z.object({
  account_id: z.uuid(),
  product: productId,
  expires_at: queryTime.optional(),
  user_id: z.uuid().optional(),
});
const renewBody = z.object({ days: z.number().int().min(1).max(36_500).optional() });

/** The validation as the API answers it. */
export function validationBody(v: LicenseValidation) {
  return {
    valid: v.valid,
    code: v.code,
    license_id: v.license_id,
    product: v.product_id,
    expires_at: v.expires_at,
    entitlements: v.entitlements,
    machines: v.license_id === null ? null : { used: v.machines_used, max: v.machines_max },
  };
}

function machineBodyOf(m: LicenseMachineResult) {
  return {
    machine: {
      id: m.machine_id,
      license_id: m.license_id,
      fingerprint: m.fingerprint,
      name: m.name,
      platform: m.platform,
      last_heartbeat_at: m.last_heartbeat_at,
      created_at: m.created_at,
    },
    machines: { used: m.machines_used, max: m.machines_max },
  };
}

const ip = (req: Request) => clientIp(req) ?? null;

/** A key from the path (percent-decoded; at most 64 characters, as in a body). */
function pathKey(raw: string): string {
  let value: string;
  try {
    value = decodeURIComponent(raw);
  } catch {
    value = raw;
  }
  const parsed = key.safeParse(value);
  if (!parsed.success) {
    throw new ValidationError("A license key is 1 to 64 characters", [{ path: "key", message: "1 to 64 characters" }]);
  }
  return parsed.data;
}

async function details(req: Request, k: string): Promise<LicenseDetails> {
  const [row] = await dbCall(db()<LicenseDetails[]>`
    select * from public.service_role_license_details(${k}, ${ip(req)})`);
  return row;
}

/** Who runs an owner's or admin's route: the project's service key, or a verified user (see the head). */
async function manager(req: Request): Promise<Caller> {
  if (await hasServiceKey(req)) return { role: "service_role", claims: { role: "service_role" } };
  return await requireUser(req, { platformVerified: false });
}

/** Runs an owner's or admin's RPC on the license a key names, as the caller (404 license_not_found for a key
 * that is not theirs to see). */
async function onLicense(req: Request, k: string, call: string, extra?: number | null) {
  const caller = await manager(req);
  return await dbCall(asCaller(caller, async (tx) => {
    const id = tx`public.license_id_for_key(${k})`;
    const [row] = call === "renew_license"
      ? await tx`select * from public.renew_license(${id}, ${extra ?? null})`
      : await tx`select * from ${tx(`public.${call}`)}(${id})`;
    return row;
  }));
}

const app = new Hono({
  // The platform hands the function `/licenses/...` (and the local gateway the same): routes are below it.
  getPath: (req) => new URL(req.url).pathname.replace(/^.*?\/licenses(?=\/|$)/, "") || "/",
});

app.post("/validate", async (c) => {
  const body = await readJson(c.req.raw, validateBody);
  const [v] = await dbCall(db()<LicenseValidation[]>`
    select * from public.service_role_check_license(${body.key}, ${ip(c.req.raw)}, ${body.fingerprint ?? null},
      ${body.product ?? null}, ${body.version ?? null})`);
  return json(validationBody(v));
});

app.post("/activate", async (c) => {
  const body = await readJson(c.req.raw, activateBody);
  const [m] = await dbCall(db()<LicenseMachineResult[]>`
    select * from public.service_role_activate_machine(${body.key}, ${body.fingerprint}, ${body.name ?? null},
      ${body.platform ?? null}, ${ip(c.req.raw)})`);
  return json(machineBodyOf(m), m.activated ? 201 : 200);
});

for (const [route, fn] of [["/deactivate", "deactivate"], ["/heartbeat", "heartbeat"]] as const) {
  app.post(route, async (c) => {
    const body = await readJson(c.req.raw, machineBody);
    const [m] = fn === "deactivate"
      ? await dbCall(db()<LicenseMachineResult[]>`
          select * from public.service_role_deactivate_machine(${body.key}, ${body.fingerprint}, ${ip(c.req.raw)})`)
      : await dbCall(db()<LicenseMachineResult[]>`
          select * from public.service_role_machine_heartbeat(${body.key}, ${body.fingerprint}, ${ip(c.req.raw)})`);
    return json(machineBodyOf(m));
  });
}

app.get("/public-key", async () => {
  const k = await licenseSigningKey();
  return json({ alg: "Ed25519", kid: k.kid, public_key: k.publicKey });
});

app.post("/", async (c) => {
  const caller = await manager(c.req.raw);
  const body = await readJson(c.req.raw, issueBody);
  const issued = await dbCall(asCaller(caller, async (tx) => (await tx<LicenseIssued[]>`
    select * from public.admin_issue_license(${body.account_id}, ${body.product}, ${body.expires_at ?? null},
      ${body.user_id ?? null})`)[0]));
  return json(issued, 201);
});

app.get("/:key/file", async (c) => {
  const k = pathKey(c.req.param("key"));
  const fp = c.req.query("fingerprint");
  if (fp !== undefined && !fingerprint.safeParse(fp).success) {
    throw new ValidationError("fingerprint must be 1 to 255 characters", [{ path: "fingerprint" }]);
  }
  const signing = await licenseSigningKey(); // 503 before any work when files cannot be signed
  const d = await details(c.req.raw, k);
  const check = fp === undefined ? d.validation : (await db()<LicenseValidation[]>`
    select * from public.service_role_validate_license(${k}, ${fp})`)[0];
  if (!check.valid) {
    throw new ForbiddenError(`This license cannot be used: ${check.code}`, "license_not_valid");
  }
  const now = new Date();
  const payload: LicenseFilePayload = {
    license_id: d.license_id,
    product_id: d.product_id,
    product_name: d.product_name,
    status: d.status,
    entitlements: d.entitlements,
    expires_at: d.expires_at,
    grace_until: d.grace_until,
    floating: d.floating,
    max_machines: d.max_machines,
    max_major_version: d.max_major_version,
    machine: fp === undefined ? null : { fingerprint: fp },
    issued_at: now.toISOString(),
    file_expires_at: new Date(now.getTime() + config.licensing.fileTtlDays * 86_400_000).toISOString(),
  };
  return json(await signLicenseFile(payload, signing), 200, {
    "content-disposition": `attachment; filename="license-${d.key_prefix}.json"`,
  });
});

app.get("/:key", async (c) => {
  const d = await details(c.req.raw, pathKey(c.req.param("key")));
  return json({
    license_id: d.license_id,
    product: d.product_id,
    product_name: d.product_name,
    status: d.status,
    key_prefix: d.key_prefix,
    expires_at: d.expires_at,
    grace_until: d.grace_until,
    entitlements: d.entitlements,
    policy: {
      floating: d.floating,
      max_machines: d.max_machines,
      heartbeat_minutes: d.heartbeat_minutes,
      max_major_version: d.max_major_version,
    },
    machines: d.machines,
    created_at: d.created_at,
    validation: validationBody(d.validation),
  });
});

app.put("/:key/renew", async (c) => {
  const k = pathKey(c.req.param("key"));
  const { days } = await readJson(c.req.raw, renewBody);
  return json(await onLicense(c.req.raw, k, "renew_license", days));
});

for (const action of ["suspend", "reinstate"] as const) {
  app.post(`/:key/${action}`, async (c) => json(await onLicense(c.req.raw, pathKey(c.req.param("key")), `${action}_license`)));
}

app.delete("/:key", async (c) => json(await onLicense(c.req.raw, pathKey(c.req.param("key")), "revoke_license")));

app.notFound((c) =>
  errorResponse(new NotFoundError(`No route ${c.req.method} ${new URL(c.req.url).pathname}`, "route_not_found"), corsHeaders)
);
app.onError((err) => errorResponse(err, corsHeaders));

export const handler = withHttp((req) => app.fetch(req));
