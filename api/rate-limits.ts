/**
 * The API's rate limits (sliding windows, counters in Redis or PostgreSQL): failed logins per
 * account+IP and per IP, a general budget per user, uploads, downloads and clip jobs per user.
 */
import type { Context } from 'koa';
import type { Config } from '../lib/config.ts';
import type { Logger } from '../lib/logger.ts';
import type { RateLimitBackend } from '../lib/rate-limit/store.ts';
import { SlidingWindowLimiter } from '../lib/rate-limit/sliding-window.ts';
import { rateLimited, setRateLimitHeaders } from './middleware/rate-limit.ts';

export type Limiter = Pick<SlidingWindowLimiter, 'consume' | 'peek' | 'reset'>;

export interface LoginLimiters {
  account: Limiter;
  ip: Limiter;
}

export interface ApiLimiters {
  login: LoginLimiters;
  requests: Limiter;
  uploads: Limiter;
  downloads: Limiter;
  clipJobs: Limiter;
}

/** null when RATE_LIMIT_ENABLED=false: nothing is counted and no rate-limit header is sent. */
export function createApiLimiters(backend: RateLimitBackend, config: Config, logger: Logger): ApiLimiters | null {
  const rules = config.rateLimit;
  if (!rules.enabled) return null;
  const make = (name: string, rule: Config['rateLimit']['requestsPerUser']): Limiter => new SlidingWindowLimiter(backend, { name, rule, logger });
  return {
    login: { account: make('login-account', rules.loginFailuresPerAccount), ip: make('login-ip', rules.loginFailuresPerIp) },
    requests: make('user', rules.requestsPerUser),
    uploads: make('uploads', rules.uploadsPerUser),
    downloads: make('downloads', rules.downloadsPerUser),
    clipJobs: make('clip-jobs', rules.clipJobsPerUser),
  };
}

/** Counts one request of `key` against `limiter` (null: limits are off), sets the headers, 429 when spent. */
export async function enforceLimit(ctx: Context, limiter: Limiter | null, key: string): Promise<void> {
  if (!limiter) return;
  const decision = await limiter.consume(key);
  setRateLimitHeaders(ctx, decision);
  if (!decision.allowed) throw rateLimited(decision);
}
