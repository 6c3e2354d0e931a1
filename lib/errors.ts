/**
 * One error shape for every 4xx/5xx answer:
 * `{ "error": { "code": "STABLE_CODE", "message": "…", "details"?: … } }`.
 */
export interface ErrorBody {
  error: { code: string; message: string; details?: unknown };
}

export class AppError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details?: unknown;
  readonly headers: Record<string, string>;

  constructor(status: number, code: string, message: string, options: { details?: unknown; headers?: Record<string, string>; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = 'AppError';
    this.status = status;
    this.code = code;
    this.details = options.details;
    this.headers = options.headers ?? {};
  }

  toBody(): ErrorBody {
    return {
      error: { code: this.code, message: this.message, ...(this.details === undefined ? {} : { details: this.details }) },
    };
  }
}

export const badRequest = (code: string, message: string, details?: unknown) => new AppError(400, code, message, { details });
export const notFound = (what = 'Resource') => new AppError(404, 'NOT_FOUND', `${what} not found`);
export const payloadTooLarge = (limitBytes: number) =>
  new AppError(413, 'PAYLOAD_TOO_LARGE', `Request body exceeds the limit of ${limitBytes} bytes`, { details: { limit_bytes: limitBytes } });
export const validationFailed = (details: unknown) =>
  new AppError(422, 'VALIDATION_FAILED', 'The request failed validation', { details });

/** A dependency (Temporal, PostgreSQL, storage) cannot be reached: the client should retry later. */
export const dependencyUnavailable = (component: string, cause?: unknown) =>
  new AppError(503, 'DEPENDENCY_UNAVAILABLE', `${component} is unavailable; retry later`, {
    details: { component },
    headers: { 'Retry-After': '5' },
    cause,
  });
