/**
 * Rate-limit answers: the IETF draft fields (draft-ietf-httpapi-ratelimit-headers, structured-field
 * lists) plus the customary X-RateLimit-* ones, on every response a limiter decided, and 429
 * RATE_LIMITED with Retry-After when it said no.
 *
 *   RateLimit-Policy: "user";q=100;w=60
 *   RateLimit: "user";r=37;t=12
 *   X-RateLimit-Limit: 100
 *   X-RateLimit-Remaining: 37
 *   X-RateLimit-Reset: 12          (seconds, like t)
 *
 * Several limiters on one request add one list item each to RateLimit-Policy / RateLimit; the
 * X-RateLimit-* fields (single-valued) show the policy with the fewest units left. A decision made
 * without the store (degraded, fail-open) only states its policy: its remaining quota is unknown.
 */
import type { DefaultState, Middleware, ParameterizedContext } from 'koa';
import { AppError } from '../../lib/errors.ts';
import type { LimitDecision } from '../../lib/rate-limit/sliding-window.ts';

/** What setRateLimitHeaders needs of a Koa context. */
export interface HeaderTarget {
  get(field: string): string;
  set(field: string, value: string): void;
}

/** A structured-field string (RFC 8941 §3.3.3): quotes and backslashes escaped. */
function sfString(value: string): string {
  return `"${value.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

export function policyItem(d: LimitDecision): string {
  return `${sfString(d.policy)};q=${d.limit};w=${d.windowSeconds}`;
}

export function limitItem(d: LimitDecision): string {
  return `${sfString(d.policy)};r=${d.remaining};t=${d.resetSeconds}`;
}

/** Adds `item` to a list field, replacing an item of the same policy. */
function withItem(list: string, policy: string, item: string): string {
  const name = sfString(policy);
  const items = list
    .split(/,(?=\s*")/)
    .map((i) => i.trim())
    .filter((i) => i && !i.startsWith(`${name};`) && i !== name);
  return [...items, item].join(', ');
}

/** Field name → value of one decision's headers (the 429 carries these too). */
export function rateLimitHeaders(d: LimitDecision): Record<string, string> {
  if (d.degraded) return { 'RateLimit-Policy': policyItem(d) };
  return {
    'RateLimit-Policy': policyItem(d),
    RateLimit: limitItem(d),
    'X-RateLimit-Limit': String(d.limit),
    'X-RateLimit-Remaining': String(d.remaining),
    'X-RateLimit-Reset': String(d.resetSeconds),
  };
}

export function setRateLimitHeaders(ctx: HeaderTarget, d: LimitDecision): void {
  ctx.set('RateLimit-Policy', withItem(ctx.get('RateLimit-Policy'), d.policy, policyItem(d)));
  if (d.degraded) return;
  ctx.set('RateLimit', withItem(ctx.get('RateLimit'), d.policy, limitItem(d)));
  const shown = ctx.get('X-RateLimit-Remaining');
  if (shown === '' || d.remaining <= Number(shown)) {
    ctx.set('X-RateLimit-Limit', String(d.limit));
    ctx.set('X-RateLimit-Remaining', String(d.remaining));
    ctx.set('X-RateLimit-Reset', String(d.resetSeconds));
  }
}

/** 429 RATE_LIMITED naming the policy, with Retry-After and the policy's rate-limit headers. */
export function rateLimited(d: LimitDecision): AppError {
  const retryAfter = Math.max(1, d.retryAfterSeconds);
  return new AppError(429, 'RATE_LIMITED', `Rate limit "${d.policy}" exceeded (${d.limit} per ${d.windowSeconds} s); retry in ${retryAfter} s`, {
    details: { policy: d.policy, limit: d.limit, window_seconds: d.windowSeconds, retry_after_seconds: retryAfter },
    headers: { ...rateLimitHeaders(d), 'Retry-After': String(retryAfter) },
  });
}

/** What the middleware needs of a limiter (SlidingWindowLimiter, or a fake in tests). */
export interface ConsumingLimiter {
  consume(key: string, points?: number): Promise<LimitDecision>;
}

export interface RateLimitOptions<StateT> {
  limiter: ConsumingLimiter;
  /** The partition key (user id, IP…); null lets the request through unlimited and unmarked. */
  key: (ctx: ParameterizedContext<StateT>) => string | null;
}

/** Counts each request against `limiter`; over the limit it answers 429 without calling the route. */
export function rateLimit<StateT = DefaultState>(options: RateLimitOptions<StateT>): Middleware<StateT> {
  return async (ctx, next) => {
    const key = options.key(ctx);
    if (key === null) return next();
    const decision = await options.limiter.consume(key);
    setRateLimitHeaders(ctx, decision);
    if (!decision.allowed) throw rateLimited(decision);
    await next();
  };
}
