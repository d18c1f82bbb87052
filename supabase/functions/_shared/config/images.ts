// The config section `images`: image generation (the generate-image function, docs/images.md). Which feature a
// generation is metered as (its plan quotas are the free allowance, e.g. 3 lifetime pages), the image providers
// in the order they are tried, each with its model and its price in credits per size, the sizes and styles a
// request may ask for, and the bounds of a prompt and of a reference image. Absent: no image generation.
import { z } from "zod";

/** Lower-case identifiers (as the config's other ids). */
const id = z.string().regex(/^[a-z][a-z0-9_-]{0,62}$/, "must be a lower-case id (a-z, 0-9, _ or -)");
const envName = z.string().regex(/^[A-Z][A-Z0-9_]*$/, "must be an environment variable name");
/** `WIDTHxHEIGHT` in pixels, as OpenAI's images API names sizes. */
const size = z.string().regex(/^[1-9][0-9]{1,4}x[1-9][0-9]{1,4}$/, "must be WIDTHxHEIGHT, e.g. 1024x1024");

const imageProviderSchema = z.object({
  id,
  /** `gemini`: the Gemini API's generateContent with an image model (inline image data in the answer);
   * `openai`: OpenAI's images API (generate, or edit with a reference image); `openai-compatible`: any server
   * speaking OpenAI's images API (baseUrl or baseUrlEnv required). */
  kind: z.enum(["gemini", "openai", "openai-compatible"]),
  baseUrl: z.url().optional(),
  /** Overrides baseUrl when set in the environment (self-hosted models, tests). */
  baseUrlEnv: envName.optional(),
  apiKeyEnv: envName.optional(),
  /** The model asked for (gemini-2.5-flash-image, gpt-image-1, ...). */
  model: z.string().min(1).max(200),
  /** Credits one image of each size costs with this provider's model (synced into public.image_prices; the
   * charge is saasbase.image_price(model, size)). Every allowed size needs a price. */
  prices: z.record(size, z.number().int().nonnegative().max(2_147_483_647)),
  /** One attempt's limit: an image takes seconds to tens of seconds; under the edge runtime's 150 s. */
  timeoutMs: z.number().int().positive().max(120_000).default(60_000),
  /** Retries on 429, 5xx and network errors (with backoff) before the next provider is tried. */
  maxRetries: z.number().int().min(0).max(10).default(2),
});

const styleSchema = z.object({
  id,
  name: z.string().min(1),
  /** Added to the user's prompt: what the style means to the model. */
  prompt: z.string().min(1).max(2000),
});

export const imagesSchema = z.object({
  /** The feature each image is metered as: its plans' quotas are the free allowance (the coloringbook's 3
   * lifetime pages), then each image costs its price in credits. The feature's own `credits` is a floor: keep
   * it at or below the cheapest image price (checked). */
  feature: id,
  providers: z.array(imageProviderSchema).min(1),
  /** Provider ids tried in order when one fails (after its retries); a safety refusal is never retried
   * elsewhere. */
  fallbackOrder: z.array(id).min(1),
  /** The sizes a request may ask for; the first is the default. */
  sizes: z.array(size).min(1),
  /** The styles a request may ask for (none: prompts are sent as written). */
  styles: z.array(styleSchema).default([]),
  /** A request's style when it names none. */
  defaultStyle: id.optional(),
  /** The longest prompt, in characters. */
  maxPromptChars: z.number().int().min(1).max(32_000).default(2000),
  /** A reference image (the edit path: "this drawing as a coloring page"): its largest size and its types.
   * maxBytes 0 turns reference images off. */
  reference: z.object({
    maxBytes: z.number().int().min(0).max(20 * 1024 * 1024).default(4 * 1024 * 1024),
    mimeTypes: z.array(z.enum(["image/png", "image/jpeg", "image/webp"])).min(1)
      .default(["image/png", "image/jpeg", "image/webp"]),
  }).prefault({}),
  /** How long a signed URL to an image stays valid, in seconds. */
  signedUrlSeconds: z.number().int().min(60).max(7 * 86_400).default(3600),
});

export type ImagesConfig = z.output<typeof imagesSchema>;
export type ImageProvider = ImagesConfig["providers"][number];

/** The checks that need the rest of the config (the feature) or span fields; called from configSchema's
 * superRefine. */
export function checkImages(
  images: ImagesConfig | undefined,
  features: Record<string, { credits: number }>,
  issue: (path: (string | number)[], message: string) => void,
) {
  if (!images) return;
  const feature = features[images.feature];
  if (!feature) issue(["images", "feature"], `unknown feature "${images.feature}"`);
  const ids = images.providers.map((p) => p.id);
  ids.forEach((p, i) => {
    if (ids.indexOf(p) !== i) issue(["images", "providers", i, "id"], `duplicate provider id "${p}"`);
  });
  images.fallbackOrder.forEach((p, i) => {
    if (!ids.includes(p)) issue(["images", "fallbackOrder", i], `unknown image provider "${p}"`);
  });
  images.providers.forEach((p, i) => {
    if (p.kind === "openai-compatible" && !p.baseUrl && !p.baseUrlEnv) {
      issue(["images", "providers", i, "baseUrl"], "an openai-compatible provider needs baseUrl or baseUrlEnv");
    }
    for (const s of images.sizes) {
      if (p.prices[s] === undefined) issue(["images", "providers", i, "prices"], `no price for size ${s}`);
    }
    // Two providers serving one model at different prices would make image_prices ambiguous.
    images.providers.slice(0, i).forEach((q) => {
      if (q.model === p.model && JSON.stringify(q.prices) !== JSON.stringify(p.prices)) {
        issue(["images", "providers", i, "prices"], `model ${p.model} has other prices with provider "${q.id}"`);
      }
    });
    // The reservation's floor is the feature's unit price (saasbase.reserve): above an image's price, the image
    // would cost the feature's price instead of its own.
    if (feature) {
      for (const s of images.sizes) {
        if (p.prices[s] !== undefined && p.prices[s] < feature.credits) {
          issue(["images", "providers", i, "prices"],
            `${s} costs ${p.prices[s]}, less than the feature "${images.feature}" (${feature.credits} credits)`);
        }
      }
    }
  });
  const styles = images.styles.map((s) => s.id);
  styles.forEach((s, i) => {
    if (styles.indexOf(s) !== i) issue(["images", "styles", i, "id"], `duplicate style id "${s}"`);
  });
  if (images.defaultStyle && !styles.includes(images.defaultStyle)) {
    issue(["images", "defaultStyle"], `unknown style "${images.defaultStyle}"`);
  }
}

/** The catalog rows of public.image_prices (service_role_sync_images): one per model and allowed size. */
export function imagePriceRows(images: ImagesConfig | undefined) {
  if (!images) return [];
  const rows = new Map<string, { model: string; size: string; credits: number }>();
  for (const p of images.providers) {
    for (const s of images.sizes) rows.set(`${p.model} ${s}`, { model: p.model, size: s, credits: p.prices[s] });
  }
  return [...rows.values()];
}
