// AI providers behind one interface: OpenAI through the official SDK, Gemini through its OpenAI-compatible
// endpoint, and any OpenAI-compatible server (Ollama, vLLM, LM Studio). A stream is opened with retries
// (429 and 5xx, with backoff) before its first token, then the next provider of the config's fallback order
// is tried; once a token has arrived, the answer stays with that provider. A provider silent for its
// `timeoutMs` (before the first token or between two) counts as failed.
import OpenAI from "openai";
import type { ChatTurn } from "./chat-logic.ts";
import type { ProductConfig } from "./config-schema.ts";
import type { EnvReader } from "./integrations.ts";
import { providerBaseUrl } from "./integrations.ts";

type Provider = ProductConfig["ai"]["providers"][number];

export interface Usage {
  promptTokens: number;
  completionTokens: number;
}

/** An open answer: the first piece of content, then the rest as it comes, then the usage. */
export interface OpenStream {
  provider: string;
  model: string;
  first: string;
  rest: AsyncGenerator<string, Usage | undefined>;
}

export class NoProviderError extends Error {
  constructor(readonly attempts: { provider: string; error: string }[]) {
    super(`No AI provider answered: ${attempts.map((a) => `${a.provider}: ${a.error}`).join("; ")}`);
    this.name = "NoProviderError";
  }
}

const DEFAULT_BASE: Record<Provider["kind"], string | undefined> = {
  openai: undefined, // the SDK's default, api.openai.com
  gemini: "https://generativelanguage.googleapis.com/v1beta/openai/",
  "openai-compatible": undefined,
};

// One SDK client per provider setting, kept for the instance's life: a new one per request costs time before
// every first token for nothing.
const clients = new Map<string, OpenAI>();

function clientFor(provider: Provider, env: EnvReader, ownKey?: string): OpenAI {
  const apiKey = ownKey ?? ((provider.apiKeyEnv && env(provider.apiKeyEnv)) || "not-needed");
  const baseURL = providerBaseUrl(provider, env) ?? DEFAULT_BASE[provider.kind];
  const make = () =>
    new OpenAI({
      apiKey,
      baseURL,
      maxRetries: 0, // retries are ours: only before the first token
      timeout: provider.timeoutMs,
    });
  if (ownKey !== undefined) return make();
  const key = JSON.stringify([apiKey, baseURL, provider.timeoutMs]);
  let client = clients.get(key);
  if (!client) {
    client = make();
    clients.set(key, client);
  }
  return client;
}

type Model = Provider["models"][number];

/** One provider to try: the model it is asked for and the answer budget it is given (`max_tokens`). */
export interface Attempt {
  provider: Provider;
  model: string;
  served: Model;
  maxTokens: number;
  /** A key of the caller's own (a user's stored v0 key) instead of the provider's apiKeyEnv: its client is made
   * for this request and not kept, so no user's key outlives their call in the instance. */
  apiKey?: string;
}

/** The providers to try for a model: the one serving it first, then the fallback order (the config's, or the
 * runtime setting `ai.fallback_order` in force: _shared/runtime-settings.ts), each with the model it serves, or its
 * first model, and the answer budget: the one asked for, within what that model takes. */
export function providerPlan(
  config: ProductConfig,
  model: string,
  maxTokens = Infinity,
  fallbackOrder: string[] = config.ai.fallbackOrder,
): Attempt[] {
  const owner = config.ai.providers.find((p) => p.models.some((m) => m.id === model));
  const order = [owner?.id, ...fallbackOrder].filter((id, i, all): id is string =>
    !!id && all.indexOf(id) === i
  );
  return order.flatMap((id) => {
    // An id the config does not have (a runtime order naming a provider since removed) is no provider to try.
    const provider = config.ai.providers.find((p) => p.id === id);
    if (!provider) return [];
    const served = provider.models.find((m) => m.id === model) ?? provider.models[0];
    return [{ provider, model: served.id, served, maxTokens: Math.min(maxTokens, served.maxOutputTokens) }];
  });
}

/** Whether a provider's error is worth another try: 429, a 5xx, or no status at all (the network). Shared with
 * the image providers (images/index.ts). */
export const retryable = (err: unknown) => {
  const status = (err as { status?: number }).status;
  return status === 429 || (typeof status === "number" && status >= 500) || status === undefined;
};

/** The wait before retry number `attempt + 1` of a provider: 100 ms doubling, at most 2 s. */
export const backoffMs = (attempt: number) => Math.min(100 * 2 ** attempt, 2_000);

export class StreamBrokeOffError extends Error {
  constructor(message = "The provider's stream ended before the answer was finished") {
    super(message);
    this.name = "StreamBrokeOffError";
  }
}

/** The provider went quiet: no chunk for the provider's `timeoutMs`. (The SDK's own timeout stops counting
 * once the response headers arrive; a stream can stall after them.) */
export class StreamStalledError extends Error {
  constructor(ms: number) {
    super(`The provider sent nothing for ${ms} ms`);
    this.name = "StreamStalledError";
  }
}

type Chunks = AsyncIterator<OpenAI.Chat.Completions.ChatCompletionChunk>;

/** The next chunk, or StreamStalledError after `ms` of silence (which also aborts the request). */
async function nextChunk(iterator: Chunks, ms: number, stall: AbortController) {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const stalled = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const err = new StreamStalledError(ms);
      stall.abort(err);
      reject(err);
    }, ms);
  });
  try {
    return await Promise.race([iterator.next(), stalled]);
  } finally {
    clearTimeout(timer);
  }
}

/** The rest of an answer. A connection that closes without a finish reason or usage is an answer broken
 * off (the SDK ends iteration quietly then), not a finished one. */
async function* remainder(
  iterator: Chunks,
  ms: number,
  stall: AbortController,
  signal: AbortSignal,
): AsyncGenerator<string, Usage | undefined> {
  let usage: Usage | undefined;
  let finished = false;
  while (true) {
    const { value, done } = await nextChunk(iterator, ms, stall);
    if (done) break;
    if (value.usage) {
      usage = { promptTokens: value.usage.prompt_tokens, completionTokens: value.usage.completion_tokens };
    }
    if (value.choices[0]?.finish_reason) finished = true;
    const text = value.choices[0]?.delta?.content;
    if (text) yield text;
  }
  if (signal.aborted) throw signal.reason; // the SDK ends quietly when the client's abort stops it
  if (!finished && !usage) throw new StreamBrokeOffError();
  return usage;
}

/** The most time, all attempts together, before a first token: a caller waits no longer than this, and the
 * edge runtime (which ends a request after 150 s without a response) never cuts the function off first. */
export const FIRST_TOKEN_BUDGET_MS = 100_000;

/** Opens a streamed answer, retrying and falling back until a first token arrives (or `signal` aborts). Each
 * attempt has the provider's timeoutMs for its first content, however many empty chunks come meanwhile; all
 * attempts together have FIRST_TOKEN_BUDGET_MS. `plan` (providerPlan's by default) is the providers to try,
 * in order: the chat function leaves out those whose worst case its hold does not cover. */
export async function openStream(
  config: ProductConfig,
  env: EnvReader,
  model: string,
  messages: ChatTurn[],
  maxTokens: number,
  signal: AbortSignal,
  sleep = (ms: number) => new Promise((r) => setTimeout(r, ms)),
  budgetMs = FIRST_TOKEN_BUDGET_MS,
  plan: Attempt[] = providerPlan(config, model, maxTokens),
): Promise<OpenStream> {
  const attempts: { provider: string; error: string }[] = [];
  const giveUpAt = Date.now() + budgetMs;
  for (const { provider, model: providerModel, maxTokens: budget, apiKey } of plan) {
    const client = clientFor(provider, env, apiKey);
    for (let attempt = 0; attempt <= provider.maxRetries; attempt++) {
      if (signal.aborted) throw signal.reason;
      if (Date.now() >= giveUpAt) throw new NoProviderError(attempts);
      const firstBy = Math.min(Date.now() + provider.timeoutMs, giveUpAt);
      const stall = new AbortController();
      try {
        const stream = await client.chat.completions.create(
          {
            model: providerModel,
            messages,
            stream: true,
            stream_options: { include_usage: true },
            // A fallback provider's model may take fewer tokens than the one asked for (providerPlan).
            max_tokens: budget,
          },
          // The request itself (until the response's headers) is bounded by the same deadline.
          { signal: AbortSignal.any([signal, stall.signal]), timeout: Math.max(1, firstBy - Date.now()) },
        );
        const iterator = stream[Symbol.asyncIterator]();
        // Wait for the first content: errors until then are retried, after it they end the answer. A stream
        // that ends without any is no answer (nothing to pay for): retried too.
        while (true) {
          const { value, done } = await nextChunk(iterator, Math.max(1, firstBy - Date.now()), stall);
          if (done) {
            if (signal.aborted) throw signal.reason; // the SDK ends quietly when the client's abort stops it
            throw new StreamBrokeOffError("The provider's stream ended without any content");
          }
          const text = value.choices[0]?.delta?.content;
          if (text) {
            return {
              provider: provider.id,
              model: providerModel,
              first: text,
              rest: remainder(iterator, provider.timeoutMs, stall, signal),
            };
          }
        }
      } catch (err) {
        if (signal.aborted) throw signal.reason;
        attempts.push({ provider: provider.id, error: err instanceof Error ? err.message : String(err) });
        if (!retryable(err)) break;
        if (attempt < provider.maxRetries) await sleep(backoffMs(attempt));
      }
    }
  }
  throw new NoProviderError(attempts);
}
