// OpenAI's images API (gpt-image-1), and any server speaking it (openai-compatible), through the official SDK:
// images.generate for a prompt, images.edit (multipart, the SDK's toFile) when a reference image is given. The
// image comes back as base64 (`b64_json`: always for gpt-image models; asked for with response_format from
// other servers, which may default to URLs). A refusal is a 400 whose code is `moderation_blocked` (gpt-image)
// or `content_policy_violation` (DALL-E).
import OpenAI, { toFile } from "openai";
import { EXTENSION, fromBase64, sniffImage } from "./mime.ts";
import { type ImageCall, type ImageProvider, NoImageError, SafetyRefusalError } from "./types.ts";

const REFUSAL_CODES = new Set(["moderation_blocked", "content_policy_violation"]);

// One client per provider setting for the instance's life, as ai.ts keeps its chat clients.
const clients = new Map<string, OpenAI>();

function clientFor(provider: ImageProvider, apiKey: string, baseUrl: string | null): OpenAI {
  const key = JSON.stringify([apiKey, baseUrl, provider.timeoutMs]);
  let client = clients.get(key);
  if (!client) {
    // Retries and timeouts are ours (images/index.ts): the SDK's own would multiply them.
    client = new OpenAI({ apiKey, baseURL: baseUrl ?? undefined, maxRetries: 0, timeout: provider.timeoutMs });
    clients.set(key, client);
  }
  return client;
}

export const openaiImage: ImageCall = async (provider, request, apiKey, baseUrl, signal) => {
  const client = clientFor(provider, apiKey, baseUrl);
  // The SDK's size type lists OpenAI's sizes; the config's are checked against the provider's prices instead.
  const size = request.size as OpenAI.Images.ImageGenerateParams["size"];
  const format = provider.kind === "openai-compatible" ? { response_format: "b64_json" as const } : {};
  let answer: OpenAI.Images.ImagesResponse;
  try {
    answer = request.reference
      ? await client.images.edit({
        model: provider.model,
        prompt: request.prompt,
        size: size as OpenAI.Images.ImageEditParams["size"],
        n: 1,
        image: await toFile(request.reference.bytes, `reference.${EXTENSION[request.reference.mimeType]}`, {
          type: request.reference.mimeType,
        }),
        ...format,
      }, { signal })
      : await client.images.generate({ model: provider.model, prompt: request.prompt, size, n: 1, ...format }, {
        signal,
      }) as OpenAI.Images.ImagesResponse;
  } catch (err) {
    if (err instanceof OpenAI.APIError && err.status === 400 && REFUSAL_CODES.has(String(err.code))) {
      throw new SafetyRefusalError(provider.id, String(err.code));
    }
    throw err;
  }
  const data = answer.data?.[0]?.b64_json;
  if (!data) throw new NoImageError("The images API answered no b64_json image");
  const bytes = fromBase64(data);
  const mimeType = bytes && sniffImage(bytes);
  if (!bytes || !mimeType) throw new NoImageError("The images API's b64_json is not a PNG, JPEG or WebP image");
  return { bytes, mimeType };
};
