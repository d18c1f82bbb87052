// Reading a request body: bad JSON is a 400, a body that does not fit the schema a 422 listing each field.
// Text Postgres cannot store is refused here too, before any work: a NUL character (no `text` or `jsonb`
// value may hold one) and an unpaired UTF-16 surrogate (not Unicode: the driver would store U+FFFD in its
// place, so two different idempotency keys could become one).
import { z } from "zod";
import { BadRequestError, ValidationError } from "./errors.ts";
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

export async function readJson<S extends z.ZodType>(req: Request, schema: S): Promise<z.output<S>> {
  let body: unknown;
  try {
    body = await req.json();
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
