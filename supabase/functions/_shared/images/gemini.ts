// Gemini's image models (gemini-2.5-flash-image) over the Gemini API's documented REST wire format, with
// plain fetch: POST {base}/models/{model}:generateContent, the key in x-goog-api-key, the prompt (and a
// reference image as inlineData) in `contents`, `generationConfig.responseModalities: ["IMAGE"]` and the size
// as `imageConfig.aspectRatio`. The image comes back as a part's inlineData (base64). A refusal is
// `promptFeedback.blockReason` (the prompt blocked: no candidates) or a candidate's safety `finishReason`
// (its image blocked: no content).
import { fromBase64, sniffImage, toBase64 } from "./mime.ts";
import { type ImageCall, NoImageError, ProviderHttpError, SafetyRefusalError } from "./types.ts";

export const GEMINI_API_BASE = "https://generativelanguage.googleapis.com/v1beta";

/** Finish reasons that are the model's safety filters at work, not a failure another try would mend. */
const REFUSING_FINISH = new Set([
  "SAFETY",
  "IMAGE_SAFETY",
  "PROHIBITED_CONTENT",
  "IMAGE_PROHIBITED_CONTENT",
  "BLOCKLIST",
  "SPII",
  "RECITATION",
  "IMAGE_RECITATION",
]);

const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));

/** WIDTHxHEIGHT as the aspect ratio Gemini takes (1024x1536 -> 2:3). */
export function aspectRatio(size: string): string {
  const [w, h] = size.split("x").map(Number);
  const d = gcd(w, h);
  return `${w / d}:${h / d}`;
}

interface GeminiPart {
  text?: string;
  inlineData?: { mimeType?: string; data?: string };
}
interface GeminiResponse {
  candidates?: { content?: { parts?: GeminiPart[] }; finishReason?: string }[];
  promptFeedback?: { blockReason?: string };
  error?: { code?: number; message?: string; status?: string };
}

export const geminiImage: ImageCall = async (provider, request, apiKey, baseUrl, signal) => {
  const base = (baseUrl ?? GEMINI_API_BASE).replace(/\/+$/, "");
  const parts: GeminiPart[] = [{ text: request.prompt }];
  if (request.reference) {
    parts.push({ inlineData: { mimeType: request.reference.mimeType, data: toBase64(request.reference.bytes) } });
  }
  const res = await fetch(`${base}/models/${encodeURIComponent(provider.model)}:generateContent`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-goog-api-key": apiKey },
    body: JSON.stringify({
      contents: [{ role: "user", parts }],
      generationConfig: { responseModalities: ["IMAGE"], imageConfig: { aspectRatio: aspectRatio(request.size) } },
    }),
    signal,
  });
  const text = await res.text();
  let body: GeminiResponse;
  try {
    body = JSON.parse(text);
  } catch {
    throw new ProviderHttpError(res.ok ? 502 : res.status, `Gemini answered ${res.status} without JSON`);
  }
  if (!res.ok) {
    throw new ProviderHttpError(res.status, `Gemini ${res.status}: ${body.error?.message ?? body.error?.status ?? "error"}`);
  }
  const blocked = body.promptFeedback?.blockReason;
  if (blocked) throw new SafetyRefusalError(provider.id, blocked);
  const candidate = body.candidates?.[0];
  if (candidate?.finishReason && REFUSING_FINISH.has(candidate.finishReason)) {
    throw new SafetyRefusalError(provider.id, candidate.finishReason);
  }
  for (const part of candidate?.content?.parts ?? []) {
    const data = part.inlineData?.data;
    if (!data) continue;
    const bytes = fromBase64(data);
    const mimeType = bytes && sniffImage(bytes);
    if (!bytes || !mimeType) throw new NoImageError("Gemini's inline data is not a PNG, JPEG or WebP image");
    return { bytes, mimeType };
  }
  throw new NoImageError(`Gemini answered no image (finishReason ${candidate?.finishReason ?? "none"})`);
};
