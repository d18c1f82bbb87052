// Image providers behind one interface, next to the chat ones (../ai.ts, whose retry rule and backoff this
// shares): Gemini's image model over the Gemini API's REST format (gemini.ts), OpenAI's images API and any
// server speaking it through the openai SDK (openai.ts). Each provider is tried with its own timeout and its
// retries on 429, 5xx and network errors (with backoff), then the next of the config's fallback order. A
// timeout or an answer without an image moves on to the next provider at once (a slow provider stays slow); a
// safety refusal ends it all (the user's request is what was refused: asking elsewhere would be shopping for
// a laxer filter). All attempts together get IMAGE_BUDGET_MS, under the edge runtime's 150 s.
import { backoffMs, retryable } from "../ai.ts";
import type { ImagesConfig } from "../config/images.ts";
import type { EnvReader } from "../integrations.ts";
import { providerBaseUrl } from "../integrations.ts";
import { geminiImage } from "./gemini.ts";
import { openaiImage } from "./openai.ts";
import {
  type ImageCall,
  type ImageProvider,
  type ImageRequest,
  type ImageResult,
  NoImageError,
  NoImageProviderError,
  SafetyRefusalError,
} from "./types.ts";

export * from "./types.ts";
export { sniffImage } from "./mime.ts";

/** The most time all attempts of one image get together. */
export const IMAGE_BUDGET_MS = 120_000;

export const CALLS: Record<ImageProvider["kind"], ImageCall> = {
  gemini: geminiImage,
  openai: openaiImage,
  "openai-compatible": openaiImage,
};

/** The providers to try, in order: `order` (the runtime settings' provider order, when they give one) or the
 * config's fallbackOrder; ids the config does not know are skipped. */
export function imagePlan(images: ImagesConfig, order: string[] = images.fallbackOrder): ImageProvider[] {
  return order.flatMap((id, i) => {
    const provider = images.providers.find((p) => p.id === id);
    return provider && order.indexOf(id) === i ? [provider] : [];
  });
}

export interface GenerateOptions {
  sleep?: (ms: number) => Promise<unknown>;
  budgetMs?: number;
  /** The calls per provider kind (tests may count them); CALLS by default. */
  calls?: Record<ImageProvider["kind"], ImageCall>;
}

/** The image for `request` from the first provider of `plan` that makes it. Throws SafetyRefusalError (a
 * refusal), NoImageProviderError (none made it), or `signal`'s reason once it aborts (the client gone). */
export async function generateImage(
  plan: ImageProvider[],
  request: ImageRequest,
  env: EnvReader,
  signal: AbortSignal,
  opts: GenerateOptions = {},
): Promise<ImageResult> {
  const sleep = opts.sleep ?? ((ms: number) => new Promise((r) => setTimeout(r, ms)));
  const calls = opts.calls ?? CALLS;
  const giveUpAt = Date.now() + (opts.budgetMs ?? IMAGE_BUDGET_MS);
  const attempts: { provider: string; error: string }[] = [];
  let providerMs = 0;
  for (const provider of plan) {
    const apiKey = provider.apiKeyEnv ? env(provider.apiKeyEnv) : "not-needed";
    if (!apiKey) {
      attempts.push({ provider: provider.id, error: `${provider.apiKeyEnv} is not set` });
      continue;
    }
    const baseUrl = providerBaseUrl(provider, env);
    for (let attempt = 0; attempt <= provider.maxRetries; attempt++) {
      if (signal.aborted) throw signal.reason;
      const timeoutMs = Math.min(provider.timeoutMs, giveUpAt - Date.now());
      if (timeoutMs <= 0) throw new NoImageProviderError(attempts);
      const timer = AbortSignal.timeout(timeoutMs);
      const started = Date.now();
      try {
        const image = await calls[provider.kind](provider, request, apiKey, baseUrl, AbortSignal.any([signal, timer]));
        providerMs += Date.now() - started;
        return { ...image, provider: provider.id, model: provider.model, providerMs };
      } catch (err) {
        providerMs += Date.now() - started;
        if (signal.aborted) throw signal.reason;
        if (err instanceof SafetyRefusalError) throw err;
        const timedOut = timer.aborted;
        attempts.push({
          provider: provider.id,
          error: timedOut ? `no answer in ${timeoutMs} ms` : err instanceof Error ? err.message : String(err),
        });
        if (timedOut || err instanceof NoImageError || !retryable(err)) break;
        if (attempt < provider.maxRetries) await sleep(backoffMs(attempt));
      }
    }
  }
  throw new NoImageProviderError(attempts);
}
