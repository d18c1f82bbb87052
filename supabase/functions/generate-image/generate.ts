// One generation, start to finish: checked input, a hold in SQL (service_role_start_generation: the free
// allowance first, else the dearest model the balance covers), the providers (_shared/images/, only those the
// hold covers), the image in Storage, then settled (service_role_finish_generation) — or released
// (service_role_fail_generation) when no image is made: a refusal, every provider failing, Storage failing, or
// the client hanging up before the image was stored. Once stored, the image is the user's and is paid for,
// even if the client has gone (it is in their list).
import type { Caller } from "../_shared/auth.ts";
import type { ImagesConfig } from "../_shared/config/images.ts";
import { config } from "../_shared/config.ts";
import { db } from "../_shared/db.ts";
import { dbCall } from "../_shared/db-errors.ts";
import { AppError } from "../_shared/errors.ts";
import {
  generateImage,
  type ImageResult,
  imagePlan,
  NoImageProviderError,
  SafetyRefusalError,
} from "../_shared/images/index.ts";
import { EXTENSION } from "../_shared/images/mime.ts";
import { idempotencyKeyHeader, readJson } from "../_shared/request.ts";
import { imageFallbackOrder, runtimeSettings } from "../_shared/runtime-settings.ts";
import { signedUrls, uploadObject } from "../_shared/storage.ts";
import { generateBody, maxBodyBytes, referenceImage, styledPrompt } from "./input.ts";

/** The private bucket the images are kept in (created by the images migration). */
export const BUCKET = "generations";

export interface GenerationRow {
  id: string;
  account_id: string;
  user_id: string | null;
  prompt: string;
  style: string | null;
  size: string;
  provider: string | null;
  model: string | null;
  status: string;
  held: number | string;
  cost: number | string;
  free: boolean;
  storage_path: string | null;
  mime_type: string | null;
  bytes: number | null;
  error: string | null;
  provider_ms: number | null;
  duration_ms: number | null;
  created_at: string;
  completed_at: string | null;
}

/** Generations as the API answers them: the storage path replaced by a fresh signed URL (and its expiry). */
export async function withUrls(images: ImagesConfig, rows: GenerationRow[]) {
  const paths = rows.map((r) => r.storage_path).filter((p): p is string => !!p);
  const urls = paths.length ? await signedUrls(BUCKET, paths, images.signedUrlSeconds) : new Map<string, string | null>();
  const expiresAt = new Date(Date.now() + images.signedUrlSeconds * 1000).toISOString();
  return rows.map(({ storage_path, held: _held, ...row }) => ({
    ...row,
    // bigint in SQL (credits), which the driver reads as a string: a number here, as the credits API answers.
    cost: Number(row.cost),
    image: storage_path && urls.get(storage_path)
      ? { url: urls.get(storage_path)!, expires_at: expiresAt, path: storage_path }
      : null,
  }));
}

interface Start {
  generation_id: string;
  status: string;
  replayed: boolean;
  held: number;
  free: boolean;
  balance: number;
  covered: boolean[];
}

interface Outcome {
  status: string;
  cost: number;
  free: boolean;
  balance: number;
  replayed: boolean;
}

const one = async <T>(q: Promise<{ r: T }[]>) => (await dbCall(q))[0].r;

function fail(id: string, status: "failed" | "refused" | "aborted", error: string, image?: Partial<ImageResult>,
  durationMs?: number) {
  return one<Outcome>(db()`select to_jsonb(public.service_role_fail_generation(${id}::uuid, ${status}, ${error},
    ${image?.provider ?? null}, ${image?.model ?? null}, ${image?.providerMs ?? null}, ${durationMs ?? null})) as r`);
}

async function readRow(id: string): Promise<GenerationRow> {
  const [row] = await db()<GenerationRow[]>`select * from public.generations where id = ${id}`;
  return row;
}

/** A 402 with what the client needs to offer a purchase: what a page of this size costs (the cheapest provider's
 * price in force), the account's balance, and the smallest deposit (config `purchase`: credits a dollar). */
async function withPricingHint(err: AppError, models: string[], size: string, account: string): Promise<AppError> {
  const [row] = await db()<{ price: number | null; balance: number | null }[]>`
    select (select min(p.credits) from public.image_prices p where p.model = any(${models}) and p.size = ${size}) as price,
      (select w.balance from public.wallets w where w.account_id = ${account})::int as balance`;
  const price = row?.price ?? null;
  const { minCents, creditsPerDollar } = config.purchase;
  const hint = price === null ? "" : ` A page costs ${price} credits; the smallest deposit, $${(minCents / 100).toFixed(2)}, ` +
    `buys ${Math.floor(minCents * creditsPerDollar / 100)}.`;
  return new AppError(402, "insufficient_credits", `${err.message}.${hint}`.replace(/\.\./, "."), {
    price_credits: price,
    balance: row?.balance ?? 0,
    min_deposit_cents: minCents,
    credits_per_dollar: creditsPerDollar,
  });
}

export async function generate(
  req: Request,
  images: ImagesConfig,
  caller: Caller & { userId: string },
  account: string | null,
) {
  const started = Date.now();
  const body = await readJson(req, generateBody(images), maxBodyBytes(images));
  const reference = body.reference_image === undefined ? undefined : referenceImage(images, body.reference_image);
  const style = body.style ?? images.defaultStyle;
  const key = idempotencyKeyHeader(req) ?? crypto.randomUUID();
  // The provider order in force (the runtime setting images.fallback_order: an admin routes around a failing
  // provider without a deploy).
  const plan = imagePlan(images, imageFallbackOrder(images, await runtimeSettings()));

  const start = await one<Start>(db()`select to_jsonb(public.service_role_start_generation(${account},
    ${caller.userId}, ${key}, ${images.feature}, ${body.prompt}, ${style ?? null}, ${body.size},
    ${plan.map((p) => p.model)})) as r`).catch(async (err) => {
    throw err instanceof AppError && err.code === "insufficient_credits"
      ? await withPricingHint(err, plan.map((p) => p.model), body.size, account ?? caller.userId)
      : err;
  });
  if (start.replayed) {
    const [generation] = await withUrls(images, [await readRow(start.generation_id)]);
    return { generation, usage: { free: start.free, credits_charged: 0, balance: start.balance, replayed: true } };
  }

  const id = start.generation_id;
  let image: ImageResult;
  try {
    image = await generateImage(
      plan.filter((_, i) => start.covered[i]),
      { prompt: styledPrompt(images, body.prompt, style), size: body.size, reference },
      (name) => Deno.env.get(name),
      req.signal,
    );
  } catch (err) {
    const ms = Date.now() - started;
    if (req.signal.aborted) {
      await fail(id, "aborted", "The client closed the request", undefined, ms);
      throw new AppError(503, "service_unavailable", "The request was closed before the image was made");
    }
    if (err instanceof SafetyRefusalError) {
      await fail(id, "refused", err.message, { provider: err.provider }, ms);
      throw new AppError(422, "content_refused",
        "The image provider refused this request on safety grounds; nothing was charged. Try another prompt.");
    }
    if (err instanceof NoImageProviderError) {
      console.error(err.message);
      await fail(id, "failed", err.message, undefined, ms);
      throw new AppError(502, "ai_unavailable", "No image provider made the image; nothing was charged. Try again.");
    }
    await fail(id, "failed", "Internal error", undefined, ms).catch(() => {});
    throw err;
  }
  if (req.signal.aborted) {
    await fail(id, "aborted", "The client closed the request", image, Date.now() - started);
    throw new AppError(503, "service_unavailable", "The request was closed before the image was stored");
  }

  const path = `${account ?? caller.userId}/${id}.${EXTENSION[image.mimeType]}`;
  try {
    await uploadObject(BUCKET, path, image.bytes, image.mimeType);
  } catch (err) {
    await fail(id, "failed", "The image could not be stored", image, Date.now() - started);
    throw err;
  }
  const outcome = await one<Outcome>(db()`select to_jsonb(public.service_role_finish_generation(${id}::uuid,
    ${image.provider}, ${image.model}, ${path}, ${image.mimeType}, ${image.bytes.length}, ${image.providerMs},
    ${Date.now() - started})) as r`);
  const [generation] = await withUrls(images, [await readRow(id)]);
  return {
    generation,
    usage: { free: outcome.free, credits_charged: outcome.cost, balance: outcome.balance, replayed: false },
  };
}
