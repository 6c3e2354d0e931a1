/**
 * Sliding-window limits on top of rate-limiter-flexible's fixed-window counters (the
 * sliding-window-counter method, see window-math.ts). Each fixed window has its own key,
 * `<key>:w<index>`, living 2 × W so that it is still there as the previous window; the counters'
 * own limit is never reached, this class decides.
 *
 * A request is counted first (an atomic increment) and refunded when the estimate says no, so
 * concurrent requests cannot slip past the limit together; refused requests do not count.
 *
 * Fail-open: when the store errors or does not answer within `timeoutMs`, the request is allowed
 * with `degraded: true` and a warning is logged (at most one per interval).
 */
import { createHash } from 'node:crypto';
import type { LimitRule } from '../config.ts';
import type { Logger } from '../logger.ts';
import type { Counter, RateLimitBackend } from './store.ts';
import { throttledWarn, type ThrottledWarn } from './throttled-warn.ts';
import { evaluate, windowPosition, type Evaluation } from './window-math.ts';

export interface LimitDecision {
  allowed: boolean;
  /** the rule's points per window */
  limit: number;
  /** whole units still available (after this request when it was consumed and allowed) */
  remaining: number;
  /** seconds until the whole quota is back; when refused, equal to retryAfterSeconds */
  resetSeconds: number;
  /** 0 when allowed, else seconds until the same request would be allowed */
  retryAfterSeconds: number;
  /** the limiter's name, e.g. "login-ip" */
  policy: string;
  windowSeconds: number;
  /** the store could not be used: the request was let through without counting */
  degraded: boolean;
}

export interface SlidingWindowOptions {
  /** Policy name: lower-case letters, digits and dashes (it appears in headers and store keys). */
  name: string;
  rule: LimitRule;
  logger: Logger;
  /** Bound on the store's answer before failing open (default 1500 ms). */
  timeoutMs?: number;
  /** Clock in milliseconds (tests). */
  now?: () => number;
}

const NAME = /^[a-z0-9][a-z0-9-]{0,39}$/;
/** Longer keys (an e-mail address with an IP…) are hashed to keep stored keys short and uniform. */
const MAX_PLAIN_KEY = 100;

class StoreTimeout extends Error {
  constructor(ms: number) {
    super(`rate-limit store did not answer within ${ms} ms`);
    this.name = 'StoreTimeout';
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new StoreTimeout(ms)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export class SlidingWindowLimiter {
  readonly name: string;
  readonly rule: LimitRule;
  private readonly backend: RateLimitBackend;
  private readonly timeoutMs: number;
  private readonly now: () => number;
  private readonly warn: ThrottledWarn;

  constructor(backend: RateLimitBackend, options: SlidingWindowOptions) {
    if (!NAME.test(options.name)) throw new Error(`rate-limit policy name ${JSON.stringify(options.name)} must match ${NAME}`);
    const { points, windowSeconds } = options.rule;
    if (!Number.isInteger(points) || points < 1) throw new Error(`rate limit ${options.name}: points must be a positive integer`);
    if (!Number.isInteger(windowSeconds) || windowSeconds < 1) throw new Error(`rate limit ${options.name}: windowSeconds must be a positive integer`);
    this.backend = backend;
    this.name = options.name;
    this.rule = { points, windowSeconds };
    this.timeoutMs = options.timeoutMs ?? 1500;
    this.now = options.now ?? Date.now;
    this.warn = throttledWarn(options.logger, { bindings: { component: 'rate-limit', policy: options.name, store: backend.kind } });
  }

  /** Counts `points` for `key` when they fit the sliding window; refused requests are not counted. */
  async consume(key: string, points = 1): Promise<LimitDecision> {
    this.checkPoints(points);
    const { index, elapsedMs } = windowPosition(this.now(), this.rule.windowSeconds);
    const currentKey = this.storeKey(key, index);
    try {
      return await withTimeout(
        (async () => {
          const counter = await this.counter();
          const [counted, previous] = await Promise.all([counter.consume(currentKey, points), counter.get(this.storeKey(key, index - 1))]);
          const state = { ...this.stateBase(elapsedMs), previous: previous?.consumedPoints ?? 0, current: counted.consumedPoints - points };
          const result = evaluate(state, points, { consume: true });
          // The refund failing leaves the count one request high (stricter), never lets this one through.
          if (!result.allowed) await counter.reward(currentKey, points).catch((err: unknown) => this.warn(err, 'rate-limit store: refund of a refused request failed'));
          return this.decision(result);
        })(),
        this.timeoutMs,
      );
    } catch (err) {
      return this.failOpen(err);
    }
  }

  /** Whether `points` would fit now, without counting anything (e.g. login failures before the password check). */
  async peek(key: string, points = 1): Promise<LimitDecision> {
    this.checkPoints(points);
    const { index, elapsedMs } = windowPosition(this.now(), this.rule.windowSeconds);
    try {
      return await withTimeout(
        (async () => {
          const counter = await this.counter();
          const [current, previous] = await Promise.all([counter.get(this.storeKey(key, index)), counter.get(this.storeKey(key, index - 1))]);
          const state = { ...this.stateBase(elapsedMs), previous: previous?.consumedPoints ?? 0, current: current?.consumedPoints ?? 0 };
          return this.decision(evaluate(state, points, { consume: false }));
        })(),
        this.timeoutMs,
      );
    } catch (err) {
      return this.failOpen(err);
    }
  }

  /** Forgets `key` (e.g. its login failures after a successful login). A store failure is logged, not thrown. */
  async reset(key: string): Promise<void> {
    const { index } = windowPosition(this.now(), this.rule.windowSeconds);
    try {
      await withTimeout(
        (async () => {
          const counter = await this.counter();
          await Promise.all([counter.delete(this.storeKey(key, index)), counter.delete(this.storeKey(key, index - 1))]);
        })(),
        this.timeoutMs,
      );
    } catch (err) {
      this.warn(err, 'rate-limit store unavailable: could not reset a key');
    }
  }

  private counter(): Promise<Counter> {
    return this.backend.counter({ keyPrefix: `rl:${this.name}`, durationSeconds: 2 * this.rule.windowSeconds });
  }

  private storeKey(key: string, index: number): string {
    const plain = key.length <= MAX_PLAIN_KEY ? key : `sha256:${createHash('sha256').update(key).digest('base64url')}`;
    return `${plain}:w${index}`;
  }

  private stateBase(elapsedMs: number) {
    return { limit: this.rule.points, windowSeconds: this.rule.windowSeconds, elapsedMs };
  }

  private checkPoints(points: number): void {
    if (!Number.isInteger(points) || points < 1 || points > this.rule.points) {
      throw new RangeError(`rate limit ${this.name}: points must be an integer from 1 to ${this.rule.points}, got ${points}`);
    }
  }

  private decision(result: Evaluation): LimitDecision {
    const retryAfterSeconds = result.allowed ? 0 : Math.max(1, Math.ceil(result.retryAfterMs / 1000));
    return {
      allowed: result.allowed,
      limit: this.rule.points,
      remaining: result.remaining,
      // Refused: the effective window ends when the request would be allowed (RateLimit t = Retry-After).
      resetSeconds: result.allowed ? Math.ceil(result.resetMs / 1000) : retryAfterSeconds,
      retryAfterSeconds,
      policy: this.name,
      windowSeconds: this.rule.windowSeconds,
      degraded: false,
    };
  }

  private failOpen(err: unknown): LimitDecision {
    this.warn(err, 'rate-limit store unavailable: allowing requests without limits (fail-open)');
    return {
      allowed: true,
      limit: this.rule.points,
      remaining: this.rule.points,
      resetSeconds: 0,
      retryAfterSeconds: 0,
      policy: this.name,
      windowSeconds: this.rule.windowSeconds,
      degraded: true,
    };
  }
}
