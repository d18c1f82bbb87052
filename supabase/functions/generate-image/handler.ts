// Image generation (issue 16), for a signed-in member or an API key with the `generate-image` scope, acting for
// the account named in X-Account-Id (default: the personal account; a key's own account):
//   POST   /generate-image  { prompt, size?, style?, reference_image? }  the image: { generation, usage }
//   GET    /generate-image?limit=&before=   the account's generations, newest first, each with a fresh signed URL
//   GET    /generate-image/:id              one generation, with a fresh signed URL
//   DELETE /generate-image/:id              { deleted: true, id }: the row and its image
//
// The money path (generate.ts): the request is checked first (bad input is a 4xx and holds nothing), then its
// price is held in SQL (the plan's free allowance first), the providers asked, the image stored in the private
// bucket `generations` at <account_id>/<generation_id>.<ext>, and the hold settled at
// saasbase.image_price(model, size). A refusal (422 content_refused), no provider answering (502
// ai_unavailable), Storage failing (503 storage_unavailable) or the client hanging up release the hold:
// nothing is charged. An Idempotency-Key makes a retry of a made image answer it again, charged once.
import { z } from "zod";
import { callerAccount } from "../_shared/account.ts";
import { requireUser } from "../_shared/auth.ts";
import { config } from "../_shared/config.ts";
import { asCaller, db } from "../_shared/db.ts";
import { dbCall } from "../_shared/db-errors.ts";
import { AppError, MethodNotAllowedError, NotFoundError, ValidationError } from "../_shared/errors.ts";
import { json, withHttp } from "../_shared/http.ts";
import { queryTime } from "../_shared/request.ts";
import { withMaintenance } from "../_shared/runtime-settings.ts";
import { removeObjects } from "../_shared/storage.ts";
import { BUCKET, generate, type GenerationRow, withUrls } from "./generate.ts";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const listQuery = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  before: queryTime.optional(),
});

function imagesConfig() {
  if (!config.images) {
    throw new AppError(503, "images_not_configured", "This product has no image generation (config: images)");
  }
  return config.images;
}

const COLUMNS = `id, account_id, user_id, prompt, style, size, provider, model, status, held, cost, free, storage_path,
  mime_type, bytes, error, provider_ms, duration_ms, created_at, completed_at`;

async function list(req: Request): Promise<Response> {
  const images = imagesConfig();
  const caller = await requireUser(req);
  const account = callerAccount(req, caller) ?? caller.userId;
  const params = listQuery.safeParse(Object.fromEntries(new URL(req.url).searchParams));
  if (!params.success) {
    throw new ValidationError("Invalid query: limit is 1 to 100, before an ISO time",
      params.error.issues.map((i) => ({ path: i.path.join("."), message: i.message })));
  }
  const { limit, before } = params.data;
  const rows = await dbCall(asCaller(caller, (tx) =>
    tx<GenerationRow[]>`select ${tx.unsafe(COLUMNS)} from public.generations
      where account_id = ${account} and (${before ?? null}::timestamptz is null or created_at < ${before ?? null})
      order by created_at desc, id desc limit ${limit}`));
  return json({ generations: await withUrls(images, rows) });
}

async function one(req: Request, id: string): Promise<Response> {
  const images = imagesConfig();
  const caller = await requireUser(req);
  const account = callerAccount(req, caller) ?? caller.userId;
  if (!UUID.test(id)) throw new NotFoundError("No such generation", "generation_not_found");
  const [row] = await dbCall(asCaller(caller, (tx) =>
    tx<GenerationRow[]>`select ${tx.unsafe(COLUMNS)} from public.generations
      where id = ${id} and account_id = ${account}`));
  if (!row) throw new NotFoundError("No such generation", "generation_not_found");
  const [generation] = await withUrls(images, [row]);
  return json({ generation });
}

async function remove(req: Request, id: string): Promise<Response> {
  imagesConfig();
  const caller = await requireUser(req);
  const account = callerAccount(req, caller);
  if (!UUID.test(id)) throw new NotFoundError("No such generation", "generation_not_found");
  // The row and the object go together: a removal Storage refuses rolls the delete back.
  await dbCall(db().begin(async (tx) => {
    const [row] = await tx<{ storage_path: string | null }[]>`
      select storage_path from public.service_role_delete_generation(${account}, ${caller.userId}, ${id})`;
    if (row.storage_path) await removeObjects(BUCKET, [row.storage_path]);
  }));
  return json({ deleted: true, id });
}

export const handler = withHttp(withMaintenance(config, async (req) => {
  const route = new URL(req.url).pathname.replace(/^.*?\/generate-image/, "").replace(/\/$/, "");
  if (route === "") {
    if (req.method === "POST") {
      const images = imagesConfig();
      const caller = await requireUser(req);
      return json(await generate(req, images, caller, callerAccount(req, caller)));
    }
    if (req.method === "GET") return await list(req);
    throw new MethodNotAllowedError(req.method);
  }
  const m = /^\/([^/]+)$/.exec(route);
  if (!m) throw new NotFoundError(`No route ${route}`, "route_not_found");
  if (req.method === "GET") return await one(req, m[1]);
  if (req.method === "DELETE") return await remove(req, m[1]);
  throw new MethodNotAllowedError(req.method);
}));
