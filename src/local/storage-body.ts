// An upload's bytes, read from the request the way Storage reads them (supabase/storage src/storage/uploader.ts
// fileUploadFromRequest): a raw body whose type is the Content-Type header, or multipart/form-data as
// storage-js sends a Blob or FormData (the file part, `cacheControl`, `contentType` and `metadata` fields).
// Bounded by the limit: a body over it is read to its end and dropped, so the client gets the 413 answer
// on a connection it can still use.
import type { IncomingMessage } from "node:http";
import { errors } from "./storage-errors.ts";

export interface UploadBody {
  bytes: Uint8Array;
  mimeType: string;
  cacheControl: string;
  userMetadata?: Record<string, unknown>;
}

// Room for the multipart framing and fields around a file of the limit's size.
const MULTIPART_SLACK = 64 * 1024;
const MAX_USER_METADATA = 1024 * 1024;

/** The whole body, or undefined when it exceeded `limit` bytes (the rest is read and dropped). */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  return new Promise((resolvePromise, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        over = true;
        chunks.length = 0;
      }
      if (!over) chunks.push(chunk);
    });
    req.on("end", () => resolvePromise(over ? undefined : Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

function parseUserMetadata(value: string): Record<string, unknown> | undefined {
  try {
    const parsed = JSON.parse(value);
    return parsed && typeof parsed === "object" ? parsed : undefined;
  } catch {
    return undefined;
  }
}

export async function readUpload(req: IncomingMessage, maxFileSize: number): Promise<UploadBody> {
  const contentType = req.headers["content-type"] ?? "";
  if (contentType.startsWith("multipart/form-data")) {
    const raw = await readBody(req, maxFileSize + MULTIPART_SLACK);
    if (!raw) throw errors.entityTooLarge();
    let form: FormData;
    try {
      form = await new Response(new Uint8Array(raw), { headers: { "content-type": contentType } }).formData();
    } catch {
      throw errors.noContent();
    }
    let file: File | undefined;
    for (const [, value] of form.entries()) {
      if (typeof value !== "string") {
        file = value;
        break;
      }
    }
    if (!file) throw errors.noContent();
    const bytes = new Uint8Array(await file.arrayBuffer());
    if (bytes.byteLength > maxFileSize) throw errors.entityTooLarge();
    const cacheTime = form.get("cacheControl");
    const contentTypeField = form.get("contentType");
    const metadata = form.get("metadata") ?? form.get("userMetadata");
    if (typeof metadata === "string" && Buffer.byteLength(metadata) > MAX_USER_METADATA) {
      throw errors.entityTooLarge("user_metadata");
    }
    return {
      bytes,
      mimeType: (typeof contentTypeField === "string" && contentTypeField) || file.type || "text/plain;charset=UTF-8",
      cacheControl: typeof cacheTime === "string" && cacheTime ? `max-age=${cacheTime}` : "no-cache",
      userMetadata: typeof metadata === "string" ? parseUserMetadata(metadata) : undefined,
    };
  }

  const declared = Number(req.headers["content-length"]);
  const raw = await readBody(req, maxFileSize);
  if (!raw || (Number.isFinite(declared) && declared > maxFileSize)) throw errors.entityTooLarge();
  const xMetadata = req.headers["x-metadata"];
  return {
    bytes: new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength),
    mimeType: contentType || "application/octet-stream",
    cacheControl: typeof req.headers["cache-control"] === "string" ? req.headers["cache-control"] : "no-cache",
    userMetadata: typeof xMetadata === "string"
      ? parseUserMetadata(Buffer.from(xMetadata, "base64").toString("utf8"))
      : undefined,
  };
}

/** Storage's check of a type against a bucket's allowed_mime_types (`image/*` allows every image type). */
export function validateMimeType(mimeType: string, allowed: string[]): void {
  const [type, ext] = mimeType.split("/");
  if (ext === undefined) throw errors.invalidMimeType(mimeType);
  for (const entry of allowed) {
    const [allowedType, allowedExt] = entry.split("/");
    if (allowedType === type && (allowedExt === "*" || allowedExt === ext)) return;
  }
  throw errors.invalidMimeType(mimeType);
}
