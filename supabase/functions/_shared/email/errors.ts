// What a send can fail with. The worker reads `retryable` (and `retryAfterSeconds`): a provider's 429 or 5xx,
// a timeout or a missing key is tried again later with the same idempotency key; a refused message (a bad
// address, a recipient the provider itself suppresses) is not.
export class EmailSendError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
    readonly provider: string,
    /** The provider's HTTP status, when it answered. */
    readonly status?: number,
    /** How long the provider asked us to wait (a 429's Retry-After). */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** The provider is busy, failing or unreachable (429, 5xx, a network error, a timeout): try again later. */
export class RetryableEmailError extends EmailSendError {
  constructor(message: string, provider: string, status?: number, retryAfterSeconds?: number) {
    super(message, true, provider, status, retryAfterSeconds);
  }
}

/** The provider refused this message (a malformed address, a recipient it will not mail): sending it again
 * changes nothing. */
export class PermanentEmailError extends EmailSendError {
  constructor(message: string, provider: string, status?: number) {
    super(message, false, provider, status);
  }
}

/** The provider's key is not set, or the provider refuses it (401/403): a deployment mistake. Retryable, so
 * that the mail goes once the secret is fixed (within the retry window). */
export class EmailNotConfiguredError extends EmailSendError {
  constructor(message: string, provider: string, status?: number) {
    super(message, true, provider, status);
  }
}

/** The address is on the suppression list (it bounced hard, or its owner complained): not sent. */
export class SuppressedRecipientError extends EmailSendError {
  constructor(readonly email: string, readonly reason: string, provider: string) {
    super(`${email} is suppressed (${reason}): not sent`, false, provider);
  }
}

/** Seconds from a Retry-After header (seconds, or an HTTP date), or undefined. */
export function retryAfter(header: string | null): number | undefined {
  if (!header) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.ceil(seconds);
  const at = Date.parse(header);
  return Number.isFinite(at) ? Math.max(0, Math.ceil((at - Date.now()) / 1000)) : undefined;
}

/** The usual reading of a provider's HTTP failure: 429 and 5xx retryable, 401/403 not configured, the rest
 * (the message refused) permanent. */
export function httpFailure(provider: string, res: Response, detail: string): EmailSendError {
  const message = `${provider} answered ${res.status}: ${detail}`.slice(0, 1000);
  if (res.status === 429 || res.status >= 500 || res.status === 408) {
    return new RetryableEmailError(message, provider, res.status, retryAfter(res.headers.get("retry-after")));
  }
  if (res.status === 401 || res.status === 403) return new EmailNotConfiguredError(message, provider, res.status);
  return new PermanentEmailError(message, provider, res.status);
}

/** A fetch that failed before any answer (refused, reset, timed out): retryable. */
export function networkFailure(provider: string, err: unknown): EmailSendError {
  const what = err instanceof DOMException && err.name === "TimeoutError" ? "timed out" : String((err as Error)?.message ?? err);
  return new RetryableEmailError(`${provider} could not be reached: ${what}`.slice(0, 1000), provider);
}
