// Reading a request body: bad JSON is a 400, a body that does not fit the schema a 422 listing each field.
import type { z } from "zod";
import { BadRequestError, ValidationError } from "./errors.ts";
import { formatPath } from "./config-schema.ts";

export async function readJson<S extends z.ZodType>(req: Request, schema: S): Promise<z.output<S>> {
  let body: unknown;
  try {
    body = await req.json();
  } catch {
    throw new BadRequestError("The body must be JSON", "invalid_json");
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
