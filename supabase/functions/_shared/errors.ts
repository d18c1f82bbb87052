// Typed errors with a stable code (one of ERROR_CODES) and HTTP status. Handlers throw them; `errorResponse`
// turns any thrown value into `{ error: { code, message } }`, and never leaks an unexpected error's text to
// the caller.
import type { ErrorCode } from "./error-codes.ts";

export class AppError extends Error {
  constructor(
    readonly status: number,
    readonly code: ErrorCode,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** 400: the request is malformed (bad JSON, wrong method). */
export class BadRequestError extends AppError {
  constructor(message: string, code: ErrorCode = "bad_request") {
    super(400, code, message);
  }
}

/** 401: no valid credentials. */
export class UnauthorizedError extends AppError {
  constructor(message = "Authentication required", code: ErrorCode = "unauthorized") {
    super(401, code, message);
  }
}

/** 403: authenticated, but not allowed. */
export class ForbiddenError extends AppError {
  constructor(message = "Not allowed", code: ErrorCode = "forbidden") {
    super(403, code, message);
  }
}

/** 404: no such resource or route. */
export class NotFoundError extends AppError {
  constructor(message = "Not found", code: ErrorCode = "not_found") {
    super(404, code, message);
  }
}

/** 405: the route exists, the method does not. */
export class MethodNotAllowedError extends AppError {
  constructor(method: string) {
    super(405, "method_not_allowed", `Method ${method} is not allowed here`);
  }
}

/** 413: the body is larger than the route takes. */
export class PayloadTooLargeError extends AppError {
  constructor(message: string) {
    super(413, "payload_too_large", message);
  }
}

/** 422: well-formed but invalid input; details lists the bad fields. */
export class ValidationError extends AppError {
  constructor(message: string, details?: unknown) {
    super(422, "validation_failed", message, details);
  }
}

/** 409: the request conflicts with the current state (an idempotency key reused, a subscription held). */
export class ConflictError extends AppError {
  constructor(message: string, code: ErrorCode = "conflict") {
    super(409, code, message);
  }
}

/** 503: a dependency is not configured or not reachable; retrying later may work. */
export class ServiceUnavailableError extends AppError {
  constructor(message: string, code: ErrorCode = "service_unavailable") {
    super(503, code, message);
  }
}

export function errorBody(code: ErrorCode, message: string, details?: unknown) {
  return { error: details === undefined ? { code, message } : { code, message, details } };
}

/** The JSON response for a thrown value; unexpected errors are logged and answered as a bare 500. */
export function errorResponse(err: unknown, headers: HeadersInit = {}): Response {
  if (err instanceof AppError) {
    return Response.json(errorBody(err.code, err.message, err.details), { status: err.status, headers });
  }
  console.error(err);
  return Response.json(errorBody("internal_error", "Internal server error"), { status: 500, headers });
}
