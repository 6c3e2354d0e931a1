/**
 * Every failure leaves as `{"error":{"code","message","details"?}}`. Known errors keep their status;
 * body-parser errors become INVALID_JSON / PAYLOAD_TOO_LARGE; a dependency that cannot be reached
 * becomes 503 DEPENDENCY_UNAVAILABLE; anything else is logged and answered 500 INTERNAL.
 */
import type { Middleware } from 'koa';
import { AppError, dependencyUnavailable, notFound, payloadTooLarge } from '../../lib/errors.ts';
import { isUnavailableError } from '../../lib/dependencies.ts';
import type { RequestState } from '../context.ts';

function toAppError(err: unknown): AppError | null {
  if (err instanceof AppError) return err;
  const e = err as { status?: number; statusCode?: number; type?: string; message?: string; limit?: number } | null;
  const status = e?.status ?? e?.statusCode;
  if (e?.type === 'entity.too.large' || status === 413) return payloadTooLarge(e?.limit ?? 0);
  if (e?.type === 'entity.parse.failed' || (status === 400 && /json/i.test(e?.message ?? ''))) {
    return new AppError(400, 'INVALID_JSON', 'The request body is not valid JSON');
  }
  if (e?.type === 'encoding.unsupported' || status === 415) return new AppError(415, 'UNSUPPORTED_MEDIA_TYPE', e?.message ?? 'Unsupported content type');
  if (isUnavailableError(err)) return dependencyUnavailable('dependency', err);
  return null;
}

export function errorHandler(): Middleware<RequestState> {
  return async (ctx, next) => {
    try {
      await next();
      if (ctx.status === 404 && ctx.body === undefined) throw notFound(`Route ${ctx.method} ${ctx.path}`);
      if (ctx.status === 405 && ctx.body === undefined) throw new AppError(405, 'METHOD_NOT_ALLOWED', `Method ${ctx.method} is not allowed on ${ctx.path}`);
    } catch (err) {
      const known = toAppError(err);
      const appError = known ?? new AppError(500, 'INTERNAL', 'Internal server error');
      if (appError.status >= 500) {
        ctx.state.log?.error({ err }, appError.code === 'INTERNAL' ? 'unhandled error' : appError.message);
      }
      ctx.status = appError.status;
      for (const [name, value] of Object.entries(appError.headers)) ctx.set(name, value);
      ctx.body = appError.toBody();
    }
  };
}
