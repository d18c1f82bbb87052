// The errors a frontend gets from SaaSbase, whichever way it called: an edge function answers
// `{ error: { code, message, details? } }` with an HTTP status; the SQL API (RPC through PostgREST) raises
// SQLSTATE `PT<status>` with the code in DETAIL, which PostgREST answers with that HTTP status and supabase-js
// hands over as a PostgrestError `{ code: "PT402", details: "insufficient_credits", message }`.
// Both become one SaasbaseError { status, code, message }.

/** The stable codes, by the HTTP status they come with. Match on these, not on messages. */
export const ERROR_CODES = {
  /** 400: malformed request (bad JSON, a bad webhook signature). */
  bad_request: 400,
  /** 401: not signed in (the SQL API), or only the anon key where a user's session is needed (functions). */
  not_authenticated: 401,
  user_required: 401,
  /** 401: the access token is missing, malformed or expired: refresh the session and retry. */
  missing_token: 401,
  invalid_token: 401,
  token_expired: 401,
  /** 401: the chat function needs a signed-in user, or the anon key plus a session_id. */
  user_or_session_required: 401,
  /** 402: the wallet cannot pay for this; buy credits or upgrade. */
  insufficient_credits: 402,
  /** 402: a cash-out above the referral cash available. */
  insufficient_cash: 402,
  /** 403: an admin-only call. */
  admin_only: 403,
  /** 404: the feature is unknown or retired. */
  unknown_feature: 404,
  /** 404: no such price (checkout) or pack. */
  unknown_price: 404,
  unknown_pack: 404,
  /** 404: the conversation does not exist or is not the caller's. */
  conversation_not_found: 404,
  /** 404: the portal needs a first checkout. */
  no_customer: 404,
  /** 409: the idempotency key was used for a different request. */
  idempotency_conflict: 409,
  /** 409: already subscribed; change plans in the billing portal. */
  already_subscribed: 409,
  /** 422: invalid input; `details` lists the fields. */
  validation_failed: 422,
  /** 422: a custom amount outside the configured bounds, or a checkout without an email. */
  amount_below_minimum: 422,
  amount_above_maximum: 422,
  email_required: 422,
  /** 429: the plan's (or the anonymous) allowance for this period is used up. */
  rate_limited: 429,
  /** 502: no AI provider answered; nothing was charged. */
  ai_unavailable: 502,
  /** 503: the backend is missing a secret (Stripe, AI). */
  billing_not_configured: 503,
} as const;

export type KnownErrorCode = keyof typeof ERROR_CODES;

export class SaasbaseError extends Error {
  constructor(
    readonly status: number,
    /** A KnownErrorCode, or another stable code of a newer backend. */
    readonly code: KnownErrorCode | (string & {}),
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = "SaasbaseError";
  }
}

interface PostgrestErrorLike {
  code: string;
  message: string;
  details: string | null;
}

const isPostgrestError = (err: unknown): err is PostgrestErrorLike =>
  typeof err === "object" && err !== null && typeof (err as PostgrestErrorLike).code === "string" &&
  "details" in err && "message" in err;

/** A SaasbaseError from what supabase-js returned as `error`: an edge function's error response, a
 * PostgrestError from the SQL API, or a network failure (status 0). */
export async function toSaasbaseError(err: unknown): Promise<SaasbaseError> {
  if (err instanceof SaasbaseError) return err;
  // FunctionsHttpError: the function's Response is its context.
  const context = (err as { context?: unknown })?.context;
  if (context instanceof Response) {
    const body = await context.clone().json().catch(() => undefined) as
      | { error?: { code?: string; message?: string; details?: unknown }; code?: unknown; message?: string }
      | undefined;
    if (body?.error?.code) {
      return new SaasbaseError(context.status, body.error.code, body.error.message ?? "", body.error.details);
    }
    // The platform's own answers (a missing or invalid JWT): { code, message }.
    return new SaasbaseError(context.status, context.status === 401 ? "not_authenticated" : String(body?.code ?? "error"),
      body?.message ?? context.statusText);
  }
  if (isPostgrestError(err)) {
    const m = /^PT(\d{3})$/.exec(err.code);
    if (m) return new SaasbaseError(Number(m[1]), err.details ?? "error", err.message);
    return new SaasbaseError(err.code === "42501" ? 403 : 400, err.code, err.message, err.details ?? undefined);
  }
  return new SaasbaseError(0, "network_error", err instanceof Error ? err.message : String(err));
}
