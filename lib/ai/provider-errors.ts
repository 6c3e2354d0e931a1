/**
 * What a failed AI provider call means for its retries (pure; test/unit/provider-errors.test.ts).
 *
 * | what came back                                   | type                    | retried |
 * | ------------------------------------------------ | ----------------------- | ------- |
 * | 429 (rate limit)                                 | PROVIDER_RATE_LIMITED   | yes, after Retry-After when given |
 * | 429 `insufficient_quota` (billing)               | PROVIDER_REJECTED       | no      |
 * | 5xx, 409 (lock timeout), connection refused/reset | PROVIDER_ERROR          | yes, after Retry-After when given |
 * | 408, client timeout                              | PROVIDER_TIMEOUT        | yes     |
 * | 2xx with invalid JSON or an unexpected shape     | PROVIDER_BAD_RESPONSE   | yes, up to BAD_RESPONSE_MAX_ATTEMPTS attempts |
 * | 400, 401, 403, 404, 413, 415, 422 and other 4xx   | PROVIDER_REJECTED       | no      |
 * | no provider configured                           | PROVIDER_UNAVAILABLE    | no      |
 *
 * The delay the provider asks for (`retry-after-ms`, else `Retry-After` in seconds or as an HTTP
 * date) becomes the ApplicationFailure's `nextRetryDelay`, which Temporal uses instead of the
 * retry policy's backoff for the next attempt (still within the policy's maximum attempts).
 */
import { ApplicationFailure } from '@temporalio/common';
import { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from 'openai';

export const PROVIDER_ERROR_TYPES = [
  'PROVIDER_RATE_LIMITED',
  'PROVIDER_ERROR',
  'PROVIDER_TIMEOUT',
  'PROVIDER_BAD_RESPONSE',
  'PROVIDER_REJECTED',
  'PROVIDER_UNAVAILABLE',
] as const;
export type ProviderErrorType = (typeof PROVIDER_ERROR_TYPES)[number];

/** Error types a workflow should list as non-retryable (they are also thrown non-retryable). */
export const NON_RETRYABLE_PROVIDER_ERROR_TYPES: readonly ProviderErrorType[] = ['PROVIDER_REJECTED', 'PROVIDER_UNAVAILABLE'];

/** An answer that is no usable transcription (invalid JSON is retried this many attempts in all). */
export const BAD_RESPONSE_MAX_ATTEMPTS = 3;

/** A Retry-After beyond this is clamped (a provider asking for hours is treated as "a long while"). */
export const MAX_RETRY_AFTER_MS = 15 * 60_000;

/** The provider answered 2xx but the body is not what the API documents. */
export class ProviderBadResponseError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ProviderBadResponseError';
  }
}

/** Anything with a `get(name)` for headers: fetch's Headers, or a plain record (lower-case names). */
export type HeadersLike = { get(name: string): string | null } | Record<string, string | string[] | undefined>;

function header(headers: HeadersLike | null | undefined, name: string): string | null {
  if (!headers) return null;
  if (typeof (headers as { get?: unknown }).get === 'function') return (headers as { get(name: string): string | null }).get(name);
  const record = headers as Record<string, string | string[] | undefined>;
  const key = Object.keys(record).find((k) => k.toLowerCase() === name);
  const value = key === undefined ? undefined : record[key];
  return Array.isArray(value) ? (value[0] ?? null) : (value ?? null);
}

/**
 * The delay the provider asks for, in ms: `retry-after-ms` (OpenAI's), else `Retry-After` as
 * delta-seconds or an HTTP date (relative to `now`). null when absent or unparseable; a date in
 * the past is 0; clamped to MAX_RETRY_AFTER_MS.
 */
export function parseRetryAfter(headers: HeadersLike | null | undefined, now: number = Date.now()): number | null {
  const clamp = (ms: number) => Math.min(Math.max(0, Math.round(ms)), MAX_RETRY_AFTER_MS);
  const ms = header(headers, 'retry-after-ms')?.trim();
  if (ms && /^\d+(\.\d+)?$/.test(ms)) return clamp(Number(ms));
  const value = header(headers, 'retry-after')?.trim();
  if (!value) return null;
  if (/^\d+(\.\d+)?$/.test(value)) return clamp(Number(value) * 1000);
  // HTTP-date (IMF-fixdate, or the obsolete RFC 850 / asctime forms Date.parse also reads); a bare number is handled above.
  if (!/[a-z]/i.test(value)) return null;
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : clamp(at - now);
}

export interface ProviderFailure {
  type: ProviderErrorType;
  retryable: boolean;
  /** The delay the provider asked for (ms), or null: then the retry policy's backoff applies. */
  retryAfterMs: number | null;
  /** The HTTP status when the provider answered (such calls are recorded in ai_usage), else null. */
  httpStatus: number | null;
  requestId: string | null;
  message: string;
}

export interface ClassifyContext {
  /** The response whose body could not be used (a 2xx with invalid JSON or an unexpected shape). */
  response?: { status: number; headers: HeadersLike } | null;
  /** The activity attempt (1-based): bad responses stop being retried after BAD_RESPONSE_MAX_ATTEMPTS. */
  attempt?: number;
  now?: number;
}

const REJECTED_MESSAGES: Record<number, string> = {
  400: 'the provider refused the request (400 Bad Request)',
  401: 'the provider refused the API key (401 Unauthorized)',
  403: 'the API key may not use this model or endpoint (403 Forbidden)',
  404: 'the model or endpoint does not exist at the provider (404 Not Found)',
  413: 'the audio is larger than the provider accepts (413 Payload Too Large)',
  415: 'the provider does not accept this audio format (415 Unsupported Media Type)',
  422: 'the provider could not process the request (422 Unprocessable Entity)',
};

function providerMessage(err: APIError): string {
  const body = err.error as { message?: unknown } | undefined;
  const text = typeof body?.message === 'string' ? body.message : err.message;
  return text.slice(0, 500);
}

function isTimeoutError(err: unknown): boolean {
  return err instanceof Error && (err.name === 'TimeoutError' || err instanceof APIConnectionTimeoutError);
}

/** Classifies what an OpenAI client call threw. */
export function classifyProviderError(err: unknown, context: ClassifyContext = {}): ProviderFailure {
  const now = context.now ?? Date.now();

  if (err instanceof APIError && typeof err.status === 'number') {
    const status = err.status;
    const requestId = err.requestID ?? header(err.headers, 'x-request-id');
    const retryAfterMs = parseRetryAfter(err.headers, now);
    const detail = providerMessage(err);
    const base = { httpStatus: status, requestId };
    if (status === 429) {
      if (err.code === 'insufficient_quota') {
        return { ...base, type: 'PROVIDER_REJECTED', retryable: false, retryAfterMs: null, message: `the provider account has no quota left (429 insufficient_quota): ${detail}` };
      }
      return { ...base, type: 'PROVIDER_RATE_LIMITED', retryable: true, retryAfterMs, message: `rate limited by the provider (429): ${detail}` };
    }
    if (status >= 500 || status === 409) {
      return { ...base, type: 'PROVIDER_ERROR', retryable: true, retryAfterMs, message: `the provider failed (${status}): ${detail}` };
    }
    if (status === 408) {
      return { ...base, type: 'PROVIDER_TIMEOUT', retryable: true, retryAfterMs, message: `the provider timed out (408): ${detail}` };
    }
    const what = REJECTED_MESSAGES[status] ?? `the provider refused the request (${status})`;
    return { ...base, type: 'PROVIDER_REJECTED', retryable: false, retryAfterMs: null, message: `${what}: ${detail}` };
  }

  if (isTimeoutError(err)) {
    return { type: 'PROVIDER_TIMEOUT', retryable: true, retryAfterMs: null, httpStatus: context.response?.status ?? null, requestId: context.response ? header(context.response.headers, 'x-request-id') : null, message: 'the provider did not answer in time' };
  }

  if (err instanceof ProviderBadResponseError || err instanceof SyntaxError) {
    const attempt = context.attempt ?? 1;
    const retryable = attempt < BAD_RESPONSE_MAX_ATTEMPTS;
    const what = err instanceof ProviderBadResponseError
      ? `the provider's answer is not a transcription: ${err.message}`
      : `the provider answered invalid JSON (${(err as Error).message.slice(0, 200)})`;
    return {
      type: 'PROVIDER_BAD_RESPONSE',
      retryable,
      retryAfterMs: null,
      httpStatus: context.response?.status ?? null,
      requestId: context.response ? header(context.response.headers, 'x-request-id') : null,
      message: retryable ? what : `${what}; gave up after ${attempt} attempts`,
    };
  }

  if (err instanceof APIConnectionError && !(err instanceof APIUserAbortError)) {
    const first: unknown = err.cause;
    const second: unknown = first instanceof Error ? first.cause : undefined;
    const cause = first instanceof Error ? `: ${first.message}${second instanceof Error ? ` (${second.message})` : ''}` : '';
    return { type: 'PROVIDER_ERROR', retryable: true, retryAfterMs: null, httpStatus: null, requestId: null, message: `could not reach the provider${cause}` };
  }

  // Anything else (a network error while reading the body, a bug in a compatible server's
  // framing…) is treated as transient; Temporal's maximum attempts bound it.
  const message = err instanceof Error ? err.message : String(err);
  return { type: 'PROVIDER_ERROR', retryable: true, retryAfterMs: null, httpStatus: context.response?.status ?? null, requestId: null, message: `the provider call failed: ${message.slice(0, 500)}` };
}

/** The ApplicationFailure an activity throws for a failure: Temporal then honours retryable and Retry-After. */
export function providerApplicationFailure(failure: Omit<ProviderFailure, 'type'> & { type: string }, cause?: unknown): ApplicationFailure {
  return ApplicationFailure.create({
    message: failure.message,
    type: failure.type,
    nonRetryable: !failure.retryable,
    ...(failure.retryable && failure.retryAfterMs !== null ? { nextRetryDelay: failure.retryAfterMs } : {}),
    details: [{ httpStatus: failure.httpStatus, requestId: failure.requestId, retryAfterMs: failure.retryAfterMs }],
    ...(cause instanceof Error ? { cause } : {}),
  });
}

/** No provider configured: the caller should not have asked; never retried. `consequence` says what the caller does instead. */
export function providerUnavailableFailure(consequence = 'transcription is unavailable'): ApplicationFailure {
  return ApplicationFailure.create({
    message: `no AI provider is configured (OPENAI_API_KEY is empty): ${consequence}`,
    type: 'PROVIDER_UNAVAILABLE',
    nonRetryable: true,
  });
}
