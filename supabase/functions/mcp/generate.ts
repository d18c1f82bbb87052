// generate_component's model call: the config's component model (v0's Model API, OpenAI's chat-completions
// format) through the shared provider layer (_shared/ai.ts: retries before the first token, a stall timeout),
// with the user's own key.
import { type Attempt, openStream } from "../_shared/ai.ts";
import type { ProductConfig } from "../_shared/config-schema.ts";

export type ComponentSpec = NonNullable<ProductConfig["mcp"]["components"]>;

/** The model's whole answer to `prompt`, asked with `apiKey`. Throws NoProviderError when the model does not
 * answer (after the provider's retries), or what broke the answer off. */
export async function generateComponent(
  config: ProductConfig,
  spec: ComponentSpec,
  apiKey: string,
  prompt: string,
  signal: AbortSignal,
): Promise<string> {
  const served = spec.provider.models.find((m) => m.id === spec.model)!;
  const attempt: Attempt = { provider: spec.provider, model: served.id, served, maxTokens: served.maxOutputTokens, apiKey };
  const stream = await openStream(
    config,
    (name) => Deno.env.get(name),
    spec.model,
    [{ role: "system", content: spec.systemPrompt }, { role: "user", content: prompt }],
    served.maxOutputTokens,
    signal,
    undefined,
    undefined,
    [attempt],
  );
  let text = stream.first;
  for await (const piece of stream.rest) text += piece;
  return text;
}
