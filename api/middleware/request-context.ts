/**
 * Request id and W3C trace context: accepted when well-formed, created otherwise, echoed in the
 * response and carried into the request's logger (and from there into workflow memos).
 * `authenticate` later adds tenantId and userId to that logger.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { Middleware } from 'koa';
import type { Logger } from '../../lib/logger.ts';
import type { RequestState } from '../context.ts';

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** A traceparent for this request: same trace id as the caller's, a new span id; or a new trace. */
export function childTraceparent(incoming: string | undefined): string {
  const match = incoming ? TRACEPARENT.exec(incoming.trim().toLowerCase()) : null;
  const traceId = match && !/^0+$/.test(match[1]!) ? match[1]! : randomBytes(16).toString('hex');
  const flags = match ? match[3]! : '01';
  return `00-${traceId}-${randomBytes(8).toString('hex')}-${flags}`;
}

export function requestContext(options: { logger: Logger }): Middleware<RequestState> {
  return async (ctx, next) => {
    const incomingId = ctx.get('x-request-id');
    const requestId = REQUEST_ID.test(incomingId) ? incomingId : randomUUID();
    const traceparent = childTraceparent(ctx.get('traceparent') || undefined);
    ctx.state.requestId = requestId;
    ctx.state.traceparent = traceparent;
    ctx.state.log = options.logger.child({ requestId, traceparent });
    ctx.set('X-Request-Id', requestId);
    ctx.set('traceparent', traceparent);
    const started = process.hrtime.bigint();
    try {
      await next();
    } finally {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      ctx.state.log.info({ method: ctx.method, path: ctx.path, status: ctx.status, ms: Math.round(ms * 10) / 10 }, 'request');
    }
  };
}
