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
    /** Headers the error response carries (a 429's Retry-After). */
    readonly headers?: Record<string, string>,
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

/** A Stripe SDK error (its classes, told apart by `type`, without importing the SDK here) as ours: Stripe
 * unreachable, failing or rate-limiting is a 503 to retry; a request it refuses is a 502 (what we sent was
 * checked first, so a refusal is a state Stripe and we disagree on, e.g. a customer deleted in the
 * dashboard). Stripe's message stays in the log. */
function fromStripe(err: unknown): AppError | undefined {
  const e = err as { type?: unknown; statusCode?: unknown };
  if (typeof e?.type !== "string" || !e.type.startsWith("Stripe")) return undefined;
  const status = typeof e.statusCode === "number" ? e.statusCode : undefined;
  console.error(err);
  if (e.type === "StripeAuthenticationError" || e.type === "StripePermissionError") {
    return new ServiceUnavailableError("Stripe refused this backend's API key", "billing_not_configured");
  }
  if (
    ["StripeConnectionError", "StripeAPIError", "StripeRateLimitError"].includes(e.type) || !status ||
    status >= 500 || status === 429
  ) {
    return new ServiceUnavailableError(
      "Stripe is unreachable or busy; try again shortly",
      "payment_provider_unavailable",
    );
  }
  return new AppError(502, "payment_provider_error", "Stripe refused the request; nothing was changed here");
}

/** The JSON response for a thrown value; unexpected errors are logged and answered as a bare 500. */
export function errorResponse(err: unknown, headers: HeadersInit = {}): Response {
  err = fromStripe(err) ?? err;
  if (err instanceof AppError) {
    const res = Response.json(errorBody(err.code, err.message, err.details), { status: err.status, headers });
    for (const [k, v] of Object.entries(err.headers ?? {})) res.headers.set(k, v);
    return res;
  }
  console.error(err);
  return Response.json(errorBody("internal_error", "Internal server error"), { status: 500, headers });
}
