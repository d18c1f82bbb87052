// A generation request's body, checked before anything is held or stored: the prompt (1 to the config's
// maxPromptChars, no NUL: readJson refuses those), a size and a style from the config's lists, and a reference
// image as base64 (or a data: URL) whose bytes are a PNG, JPEG or WebP the config takes, within its size.
import { z } from "zod";
import type { ImagesConfig } from "../_shared/config/images.ts";
import { AppError } from "../_shared/errors.ts";
import { fromBase64, sniffImage } from "../_shared/images/mime.ts";
import type { ImageMime } from "../_shared/images/index.ts";

export function generateBody(images: ImagesConfig) {
  const styles = images.styles.map((s) => s.id);
  return z.object({
    prompt: z.string().trim().min(1, "a prompt is required").max(images.maxPromptChars),
    size: z.enum(images.sizes as [string, ...string[]]).default(images.sizes[0]),
    style: (styles.length ? z.enum(styles as [string, ...string[]]) : z.never()).optional(),
    /** Base64, or a data: URL (data:image/png;base64,...). */
    reference_image: z.string().min(1).optional(),
  }).strict();
}

/** The largest body a generation request may have: the reference image as base64 (4/3 of its bytes, and a
 * data: URL's prefix) and a prompt of the longest, every character escaped. */
export function maxBodyBytes(images: ImagesConfig): number {
  return Math.ceil(images.reference.maxBytes * 4 / 3) + images.maxPromptChars * 6 + 4096;
}

const refused = (message: string) => new AppError(422, "invalid_reference_image", message);

/** The reference image's bytes and type; 422 invalid_reference_image when it is not base64 of an image the
 * config takes, or larger than it takes. */
export function referenceImage(images: ImagesConfig, value: string): { bytes: Uint8Array; mimeType: ImageMime } {
  if (images.reference.maxBytes === 0) throw refused("This product takes no reference images");
  const data = /^data:([a-z/+.-]+)?(;[a-z0-9=-]+)*;base64,/i.exec(value);
  const bytes = fromBase64(data ? value.slice(data[0].length) : value);
  if (!bytes || bytes.length === 0) throw refused("reference_image must be base64 (or a data: URL) of an image");
  if (bytes.length > images.reference.maxBytes) {
    throw refused(`The reference image may be at most ${images.reference.maxBytes} bytes`);
  }
  const mimeType = sniffImage(bytes);
  if (!mimeType || !images.reference.mimeTypes.includes(mimeType)) {
    throw refused(`The reference image must be one of ${images.reference.mimeTypes.join(", ")}`);
  }
  return { bytes, mimeType };
}

/** The prompt as the provider gets it: the user's, then what the style means. */
export function styledPrompt(images: ImagesConfig, prompt: string, style: string | undefined): string {
  const s = images.styles.find((x) => x.id === style);
  return s ? `${prompt}\n\nStyle: ${s.prompt}` : prompt;
}
