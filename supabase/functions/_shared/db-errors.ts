// The SQL API raises its refusals with SQLSTATE PT4xx — PostgREST's convention for "answer HTTP 4xx", so a
// supabase-js .rpc() call gets the same status — and a stable code in DETAIL; here they become AppErrors, so
// a function answers 402 insufficient_credits where SQL said so.
import type { ErrorCode } from "./error-codes.ts";
import { AppError } from "./errors.ts";

interface PgError {
  code?: string;
  detail?: string;
  hint?: string;
  message?: string;
}

/** The AppError for a PT4xx refusal, or undefined for any other error (a bug, an outage: a 500). */
export function appErrorFromDb(err: unknown): AppError | undefined {
  const e = err as PgError;
  const m = typeof e?.code === "string" ? /^PT4(\d\d)$/.exec(e.code) : null;
  if (!m) return undefined;
  // The codes SQL raises are in ERROR_CODES (tests/error-codes.test.ts reads them out of the migrations).
  const code = (e.detail || "bad_request") as ErrorCode;
  // A rate limit's refusal says when to retry in HINT (`retry_after=N`, saasbase.take_rate_limit).
  const retry = /^retry_after=(\d+)$/.exec(e.hint ?? "")?.[1];
  return new AppError(400 + Number(m[1]), code, e.message || "Request refused", undefined,
    retry ? { "Retry-After": retry } : undefined);
}

/** Awaits a database call, turning its PT4xx refusals into AppErrors and rethrowing anything else. */
export async function dbCall<T>(promise: Promise<T>): Promise<T> {
  try {
    return await promise;
  } catch (err) {
    throw appErrorFromDb(err) ?? err;
  }
}
