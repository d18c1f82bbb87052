// Supabase Storage's errors as its API answers them (supabase/storage src/internal/errors/codes.ts and
// src/http/error-handler.ts), so that storage-js reads here what it reads from Storage: a body
// `{ statusCode, code, error, message }` whose `statusCode` is the error's own status as a string, sent with
// HTTP 400 for every error but a 500 (Storage's long-standing `userStatusCode`: an object that is not there
// answers HTTP 400 with `"statusCode": "404"`).

export class StorageApiError extends Error {
  constructor(
    /** The error's own status (the body's `statusCode`). */
    readonly status: number,
    readonly code: string,
    message: string,
    /** The body's `error` (Storage's older name for the error), when it differs from the code. */
    readonly error?: string,
    /** The HTTP status, where Storage sends the error's own (a route it does not have: Fastify's 404). */
    private readonly sentWith?: number,
  ) {
    super(message);
  }

  /** The HTTP status Storage sends: 500 stays 500, every other error is a 400. */
  get httpStatus(): number {
    return this.sentWith ?? (this.status === 500 ? 500 : 400);
  }

  render() {
    return { statusCode: String(this.status), code: this.code, error: this.error ?? this.code, message: this.message };
  }
}

export const errors = {
  noSuchBucket: () => new StorageApiError(404, "NoSuchBucket", "Bucket not found", "Bucket not found"),
  noSuchKey: () => new StorageApiError(404, "NoSuchKey", "Object not found", "not_found"),
  invalidKey: (key: string, reason?: string) =>
    new StorageApiError(400, "InvalidKey", `Invalid key: ${key}${reason ? ` ${reason}` : ""}`),
  invalidBucketName: () => new StorageApiError(400, "InvalidBucketName", "Bucket name invalid", "Invalid Input"),
  invalidJwt: (message?: string) => new StorageApiError(400, "InvalidJWT", message || "Invalid JWT"),
  accessDenied: (message?: string) => new StorageApiError(403, "AccessDenied", message || "Access denied", "Unauthorized"),
  invalidSignature: (message?: string) => new StorageApiError(400, "InvalidSignature", message || "Invalid signature"),
  keyAlreadyExists: () => new StorageApiError(409, "KeyAlreadyExists", "The resource already exists", "Duplicate"),
  entityTooLarge: (entity = "object", limit = "the maximum allowed size") =>
    new StorageApiError(413, "EntityTooLarge", `The ${entity} exceeded ${limit}`, "Payload too large"),
  invalidMimeType: (mimeType: string) =>
    new StorageApiError(415, "InvalidMimeType", `mime type ${mimeType} is not supported`, "invalid_mime_type"),
  invalidParameter: (parameter: string, message?: string) =>
    new StorageApiError(400, "InvalidParameter", message || `Invalid Parameter ${parameter}`),
  invalidRequest: (message: string) => new StorageApiError(400, "InvalidRequest", message || "Invalid Request"),
  noContent: (message?: string) => new StorageApiError(400, "InvalidRequest", message || "No content provided"),
  notFound: (message = "Route not found") => new StorageApiError(404, "NotFound", message, "Not Found", 404),
  // Sent with its own status, 416 (src/storage/range.ts).
  invalidRange: () => new StorageApiError(416, "InvalidRange", "invalid range provided", "invalid_range", 416),
  internal: () => new StorageApiError(500, "InternalError", "Internal server error", "Internal"),
};

/** A Postgres error met while running a request's SQL as its caller, as Storage maps it
 * (src/storage/database/errors.ts): a policy's refusal is AccessDenied, a taken name a Duplicate. */
export function fromPgError(err: unknown): StorageApiError {
  const pg = err as { code?: string; message?: string };
  switch (pg.code) {
    case "42501":
      return errors.accessDenied(
        pg.message?.includes("row-level security") ? "new row violates row-level security policy" : pg.message,
      );
    case "23505":
      return errors.keyAlreadyExists();
    case "22P02":
      return errors.invalidParameter("value", pg.message || "Invalid value format or type conversion failed");
    // A token whose role the database does not know (`set role` refused).
    case "22023":
    case "42704":
      return errors.accessDenied(pg.message);
    default:
      return errors.internal();
  }
}
