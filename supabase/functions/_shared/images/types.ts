// What an image provider is asked and answers, and how it fails. A provider answers an image or throws: a
// SafetyRefusalError when it refuses the prompt (or its own image) on safety grounds (never retried, never
// tried elsewhere: the user's request is what was refused), a ProviderHttpError carrying the HTTP status
// (429 and 5xx are retried), or anything else (a network error, a timeout, an answer without an image).
import type { ImageProvider } from "../config/images.ts";

export type { ImageProvider };

export interface ImageRequest {
  /** The prompt as the provider gets it (the style's words added). */
  prompt: string;
  /** WIDTHxHEIGHT from the config's sizes. */
  size: string;
  /** An image to start from (the edit path), already checked (mime.ts). */
  reference?: { bytes: Uint8Array; mimeType: ImageMime };
}

export type ImageMime = "image/png" | "image/jpeg" | "image/webp";

export interface ImageBytes {
  bytes: Uint8Array;
  mimeType: ImageMime;
}

export interface ImageResult extends ImageBytes {
  provider: string;
  model: string;
  /** Time spent on providers, every attempt included. */
  providerMs: number;
}

/** A provider's safety refusal: 422 content_refused, nothing charged. */
export class SafetyRefusalError extends Error {
  constructor(readonly provider: string, readonly reason: string) {
    super(`${provider} refused the request on safety grounds (${reason})`);
    this.name = "SafetyRefusalError";
  }
}

/** A provider's HTTP error, its status kept so ai.ts's `retryable` can judge it. */
export class ProviderHttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
    this.name = "ProviderHttpError";
  }
}

/** An answer that holds no image (and no refusal): the provider failed, the next one may not. */
export class NoImageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "NoImageError";
  }
}

/** No provider made the image: each attempt's error, in order. */
export class NoImageProviderError extends Error {
  constructor(readonly attempts: { provider: string; error: string }[]) {
    super(`No image provider answered: ${attempts.map((a) => `${a.provider}: ${a.error}`).join("; ")}`);
    this.name = "NoImageProviderError";
  }
}

/** One provider's call: the image for `request`, or a throw (see above). `signal` aborts it (the client gone,
 * the attempt's time up). */
export type ImageCall = (
  provider: ImageProvider,
  request: ImageRequest,
  apiKey: string,
  baseUrl: string | null,
  signal: AbortSignal,
) => Promise<ImageBytes>;
