// The errors a frontend gets from SaaSbase, whichever way it called: an edge function answers
// `{ error: { code, message, details? } }` with an HTTP status; the SQL API (RPC through PostgREST) raises
// SQLSTATE `PT<status>` with the code in DETAIL, which PostgREST answers with that HTTP status and supabase-js
// hands over as a PostgrestError `{ code: "PT402", details: "insufficient_credits", message }`.
// Both become one SaasbaseError { status, code, message }.

import { ERROR_CODES as BACKEND_ERROR_CODES } from "../../supabase/functions/_shared/error-codes.ts";

/** The stable codes, by the HTTP status they come with: the backend's own list, and the two this client
 * adds (status 0: the request never got an answer; 502: an answer that was not what the call returns).
 * Match on these, not on messages. */
export const ERROR_CODES = { ...BACKEND_ERROR_CODES, network_error: 0, bad_response: 502 } as const;

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

/** The code for a platform answer without our error body (a function not deployed, the platform's rate
 * limit, an outage), by its status. */
const PLATFORM_CODES: Record<number, KnownErrorCode> = {
  403: "forbidden",
  404: "not_found",
  405: "method_not_allowed",
  429: "rate_limited",
  503: "service_unavailable",
};

/** Postgres errors by SQLSTATE: a refusal by RLS or grants, a duplicate, a value a constraint or a type
 * refuses. */
const POSTGRES_CLASSES: [RegExp, number, KnownErrorCode][] = [
  [/^42501$/, 403, "forbidden"],
  [/^23505$/, 409, "conflict"],
  [/^(23|22)/, 422, "validation_failed"],
];

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
    // The platform's own answers, { code, message }: a missing or invalid (expired) JWT is a 401 to answer by
    // refreshing the session; anything else without our error body is not an answer of ours.
    if (context.status === 401) return new SaasbaseError(401, "invalid_token", body?.message ?? context.statusText);
    return new SaasbaseError(context.status, PLATFORM_CODES[context.status] ?? (context.status >= 500 ? "internal_error" : "bad_request"),
      body?.message ?? context.statusText);
  }
  if (isPostgrestError(err)) {
    const m = /^PT(\d{3})$/.exec(err.code);
    if (m) return new SaasbaseError(Number(m[1]), err.details ?? "error", err.message);
    // postgrest-js reports a failed fetch as an error without a code.
    if (err.code === "") return new SaasbaseError(0, "network_error", err.message);
    // PostgREST's own: PGRST301-303 the JWT (401; PGRST300 is its own misconfiguration, left as it is),
    // PGRST202/PGRST205 no such function or table (404).
    if (/^PGRST30[1-3]$/.test(err.code)) return new SaasbaseError(401, "invalid_token", err.message, err.details ?? undefined);
    if (/^PGRST20[25]$/.test(err.code)) return new SaasbaseError(404, "not_found", err.message, err.details ?? undefined);
    // Postgres's own, from a table written through PostgREST (RLS, constraints): one of our codes by class,
    // Postgres's code kept in `details`.
    const [status, code] = POSTGRES_CLASSES.find(([pattern]) => pattern.test(err.code))?.slice(1) as
        | [number, KnownErrorCode]
        | undefined ?? [400, "bad_request"];
    return new SaasbaseError(status, code, err.message, { postgres_code: err.code, details: err.details });
  }
  return new SaasbaseError(0, "network_error", err instanceof Error ? err.message : String(err));
}

/** What every client helper answers: supabase-js's `{ data, error }`, with `error` a SaasbaseError. */
export type Result<T> = { data: T; error: null } | { data: null; error: SaasbaseError };

/** An `.rpc()` call's answer as a Result: its error as a SaasbaseError, and no result at all (which the SQL API
 * never answers for these calls) as 502 bad_response. */
export async function rpcResult<T>(call: PromiseLike<{ data: unknown; error: unknown }>): Promise<Result<T>> {
  const { data, error } = await call;
  if (error) return { data: null, error: await toSaasbaseError(error) };
  if (data === null || data === undefined) {
    return { data: null, error: new SaasbaseError(502, "bad_response", "The API answered with no result") };
  }
  return { data: data as T, error: null };
}
