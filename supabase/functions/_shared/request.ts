// Reading a request body: bad JSON is a 400, a body that does not fit the schema a 422 listing each field.
// Text Postgres cannot store is refused here too, before any work: a NUL character (no `text` or `jsonb`
// value may hold one) and an unpaired UTF-16 surrogate (not Unicode: the driver would store U+FFFD in its
// place, so two different idempotency keys could become one).
import { z } from "zod";
import { BadRequestError, PayloadTooLargeError, ValidationError } from "./errors.ts";
import { formatPath } from "./config-schema.ts";

type Path = (string | number)[];

/** A page to send a browser back to (Stripe checkout, portal, onboarding): http(s) only, as Stripe takes. */
export const webUrl = z.url({ protocol: /^https?$/, error: "an http(s) URL" }).max(2048);

/** A time for a query, from 1970 on, as UTC (Postgres refuses offsets over 15:59 and years before 1 AD). */
export const queryTime = z.iso.datetime({ offset: true })
  .refine((v) => Date.parse(v) >= 0 && Date.parse(v) < Date.UTC(10000, 0, 1), "a time from 1970 to 9999")
  .transform((v) => new Date(v).toISOString());

/** Where in `value` (keys included) there is text Postgres cannot store. Iterative: JSON may nest deeper than
 * the call stack goes. */
export function unstorableText(value: unknown): Path[] {
  const bad = (s: string) => s.includes("\u0000") || !s.isWellFormed();
  type At = { key: string | number; parent: At } | null; // a path, rebuilt only where something is found
  const pathOf = (at: At): Path => {
    const path: Path = [];
    for (let a = at; a; a = a.parent) path.unshift(a.key);
    return path;
  };
  const found: Path[] = [];
  const todo: [unknown, At][] = [[value, null]];
  while (todo.length > 0) {
    const [v, at] = todo.pop()!;
    if (typeof v === "string") {
      if (bad(v)) found.push(pathOf(at));
    } else if (Array.isArray(v)) {
      v.forEach((item, i) => todo.push([item, { key: i, parent: at }]));
    } else if (v !== null && typeof v === "object") {
      for (const [k, item] of Object.entries(v)) {
        if (bad(k)) found.push(pathOf({ key: k, parent: at }));
        else todo.push([item, { key: k, parent: at }]);
      }
    }
  }
  return found;
}

/** The most a JSON body of ours may hold: a chat message of 32,000 characters, each escaped as \uXXXX. */
export const MAX_JSON_BYTES = 256 * 1024;

/** The body as text, refused with 413 past `maxBytes` (by its Content-Length, or while it streams in, for a
 * chunked one) before it is all in memory: a worker has little of it, and anyone can send a body. */
export async function readBodyText(req: Request, maxBytes: number): Promise<string> {
  const tooLarge = () => new PayloadTooLargeError(`The body may hold at most ${maxBytes} bytes`);
  const declared = Number(req.headers.get("content-length"));
  if (declared > maxBytes) throw tooLarge();
  if (!req.body) return "";
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for (let r = await reader.read(); !r.done; r = await reader.read()) {
      size += r.value.byteLength;
      if (size > maxBytes) {
        await reader.cancel();
        throw tooLarge();
      }
      chunks.push(r.value);
    }
  } catch (err) {
    if (err instanceof PayloadTooLargeError) throw err;
    throw new BadRequestError("The body could not be read", "invalid_json");
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const c of chunks) (bytes.set(c, offset), offset += c.byteLength);
  return new TextDecoder().decode(bytes);
}

/** The JSON body checked against `schema`. No body at all reads as `{}`, as supabase-js's `functions.invoke`
 * sends none for a call without one: routes whose fields are all optional take it, the others list what
 * is missing. `maxBytes`: a route taking more than MAX_JSON_BYTES (an image as base64). */
export async function readJson<S extends z.ZodType>(
  req: Request,
  schema: S,
  maxBytes = MAX_JSON_BYTES,
): Promise<z.output<S>> {
  const text = await readBodyText(req, maxBytes);
  let body: unknown;
  try {
    body = text.trim() === "" ? {} : JSON.parse(text);
  } catch {
    throw new BadRequestError("The body must be JSON", "invalid_json");
  }
  const unstorable = unstorableText(body);
  if (unstorable.length > 0) {
    const message = "NUL characters and unpaired surrogates are not allowed in text";
    throw new ValidationError(
      `Invalid request: ${message}`,
      unstorable.map((p) => ({ path: formatPath(p), message })),
    );
  }
  const result = schema.safeParse(body);
  if (!result.success) {
    const details = result.error.issues.map((i) => ({ path: formatPath(i.path), message: i.message }));
    throw new ValidationError(
      `Invalid request: ${details.map((d) => `${d.path}: ${d.message}`).join("; ")}`,
      details,
    );
  }
  return result.data;
}

/** The Idempotency-Key header, when sent: 1 to 200 visible ASCII characters (Stripe takes keys up to 255, and
 * ours add a prefix). */
export function idempotencyKeyHeader(req: Request): string | undefined {
  const key = req.headers.get("idempotency-key");
  if (key === null) return undefined;
  if (!/^[\x21-\x7e]{1,200}$/.test(key)) {
    throw new ValidationError("Idempotency-Key must be 1 to 200 visible ASCII characters", [
      { path: "Idempotency-Key", message: "1 to 200 visible ASCII characters" },
    ]);
  }
  return key;
}
