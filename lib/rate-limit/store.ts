/**
 * Where rate-limit counters live: Redis (rate-limiter-flexible's RateLimiterRedis over ioredis) when
 * a Redis URL is configured, else PostgreSQL (RateLimiterPostgres over a pg Pool of its own, one
 * shared table). A backend hands out plain fixed-window counters; the sliding window is built on
 * top of them (sliding-window.ts).
 *
 * Every failure is bounded and surfaces as a rejected promise (never a hang, never an unhandled
 * error event): short connect/command timeouts, no endless offline queue, and a PostgreSQL table
 * whose creation is retried at most once a second while the database is down.
 */
import { Redis } from 'ioredis';
import pg from 'pg';
import {
  RateLimiterMemory,
  RateLimiterPostgres,
  RateLimiterRedis,
  type RateLimiterAbstract,
} from 'rate-limiter-flexible';
import type { Logger } from '../logger.ts';
import { throttledWarn } from './throttled-warn.ts';

/** A fixed-window counter: consume/get/reward/delete of rate-limiter-flexible. */
export type Counter = Pick<RateLimiterAbstract, 'consume' | 'get' | 'reward' | 'delete'>;

export interface CounterSpec {
  /** Distinguishes the counters of one limiter from another's (stored keys are `<keyPrefix>:<key>`). */
  keyPrefix: string;
  /** How long a key lives after its first consumption. */
  durationSeconds: number;
}

export interface RateLimitBackend {
  readonly kind: 'redis' | 'postgres' | 'memory';
  /** A counter once the store is usable (PostgreSQL: its table exists); rejects while it is down. */
  counter(spec: CounterSpec): Promise<Counter>;
  close(): Promise<void>;
}

/**
 * The points of every counter: far above any limit, so rate-limiter-flexible never rejects by
 * itself (the sliding window decides), and within PostgreSQL's `integer` column.
 */
export const COUNTER_POINTS = 2_000_000_000;

/** The PostgreSQL table of the counters (created by rate-limiter-flexible, not by the migrations). */
export const RATE_LIMIT_TABLE = 'rate_limit_counters';

export interface BackendOptions {
  /** '' selects PostgreSQL. */
  redisUrl: string;
  databaseUrl: string;
  logger: Logger;
  /** Bound on connecting and on each command (default 1000 ms). */
  timeoutMs?: number;
  tableName?: string;
}

export function createRateLimitBackend(options: BackendOptions): RateLimitBackend {
  return options.redisUrl ? new RedisBackend(options) : new PostgresBackend(options);
}

/** Counters in this process's memory: for unit tests and single-process tools. */
export function createMemoryBackend(): RateLimitBackend {
  const counters = new Map<string, Counter>();
  return {
    kind: 'memory',
    async counter(spec) {
      const id = `${spec.keyPrefix}/${spec.durationSeconds}`;
      let counter = counters.get(id);
      if (!counter) {
        counter = new RateLimiterMemory({ keyPrefix: spec.keyPrefix, points: COUNTER_POINTS, duration: spec.durationSeconds });
        counters.set(id, counter);
      }
      return counter;
    },
    async close() {
      counters.clear();
    },
  };
}

class RedisBackend implements RateLimitBackend {
  readonly kind = 'redis';
  private readonly client: Redis;
  private readonly counters = new Map<string, Counter>();
  /** Settles after the first connection attempt (ready or failed), so start-up requests wait for it. */
  private readonly firstAttempt: Promise<void>;

  constructor(options: BackendOptions) {
    const timeoutMs = options.timeoutMs ?? 1000;
    const warn = throttledWarn(options.logger, { bindings: { component: 'rate-limit', store: 'redis' } });
    this.client = new Redis(options.redisUrl, {
      connectTimeout: timeoutMs,
      commandTimeout: timeoutMs,
      maxRetriesPerRequest: 1,
      // Reconnects forever, but at most every 2 s; commands meanwhile fail at once (see rejectIfRedisNotReady).
      retryStrategy: (times) => Math.min(times * 200, 2000),
      connectionName: 'moviola-rate-limit',
    });
    this.client.on('error', (err: unknown) => warn(err, 'rate-limit store (Redis) error'));
    this.firstAttempt = new Promise((resolve) => {
      const done = () => {
        this.client.off('ready', done);
        this.client.off('error', done);
        resolve();
      };
      this.client.once('ready', done);
      this.client.once('error', done);
    });
  }

  async counter(spec: CounterSpec): Promise<Counter> {
    await this.firstAttempt;
    const id = `${spec.keyPrefix}/${spec.durationSeconds}`;
    let counter = this.counters.get(id);
    if (!counter) {
      counter = new RateLimiterRedis({
        storeClient: this.client,
        keyPrefix: spec.keyPrefix,
        points: COUNTER_POINTS,
        duration: spec.durationSeconds,
        rejectIfRedisNotReady: true,
      });
      this.counters.set(id, counter);
    }
    return counter;
  }

  async close(): Promise<void> {
    this.counters.clear();
    if (this.client.status === 'ready') await this.client.quit().catch(() => this.client.disconnect());
    else this.client.disconnect();
  }
}

class PostgresBackend implements RateLimitBackend {
  readonly kind = 'postgres';
  private readonly pool: pg.Pool;
  private readonly tableName: string;
  private readonly counters = new Map<string, Counter>();
  private table: Promise<void> | undefined;
  private lastFailure: { at: number; err: unknown } | undefined;
  /** Kept for its hourly clean-up of expired rows (rate-limiter-flexible's clearExpiredByTimeout). */
  private tableOwner: RateLimiterPostgres | undefined;

  constructor(options: BackendOptions) {
    const timeoutMs = options.timeoutMs ?? 1000;
    const warn = throttledWarn(options.logger, { bindings: { component: 'rate-limit', store: 'postgres' } });
    this.tableName = options.tableName ?? RATE_LIMIT_TABLE;
    this.pool = new pg.Pool({
      connectionString: options.databaseUrl,
      max: 5,
      connectionTimeoutMillis: timeoutMs,
      query_timeout: timeoutMs,
      idleTimeoutMillis: 30_000,
      application_name: 'moviola-rate-limit',
    });
    // An idle client whose server went away emits here; unhandled, it would crash the process.
    this.pool.on('error', (err) => warn(err, 'rate-limit store (PostgreSQL) connection error'));
  }

  /** Creates the table once (rate-limiter-flexible's CREATE TABLE IF NOT EXISTS), retried at most once a second. */
  private ensureTable(): Promise<void> {
    if (this.table) return this.table;
    if (this.lastFailure && Date.now() - this.lastFailure.at < 1000) return Promise.reject(this.lastFailure.err);
    this.table = new Promise<void>((resolve, reject) => {
      const owner = new RateLimiterPostgres(
        {
          storeClient: this.pool,
          storeType: 'pool',
          tableName: this.tableName,
          keyPrefix: 'table-owner',
          points: 1,
          duration: 1,
          clearExpiredByTimeout: true,
        },
        (err) => {
          if (err) return reject(err);
          this.tableOwner = owner;
          resolve();
        },
      );
    }).catch((err: unknown) => {
      this.table = undefined;
      this.lastFailure = { at: Date.now(), err };
      throw err;
    });
    return this.table;
  }

  async counter(spec: CounterSpec): Promise<Counter> {
    await this.ensureTable();
    const id = `${spec.keyPrefix}/${spec.durationSeconds}`;
    let counter = this.counters.get(id);
    if (!counter) {
      counter = new RateLimiterPostgres({
        storeClient: this.pool,
        storeType: 'pool',
        tableName: this.tableName,
        tableCreated: true,
        clearExpiredByTimeout: false,
        keyPrefix: spec.keyPrefix,
        points: COUNTER_POINTS,
        duration: spec.durationSeconds,
      });
      this.counters.set(id, counter);
    }
    return counter;
  }

  async close(): Promise<void> {
    const owner = this.tableOwner as unknown as { _clearExpiredTimeoutId?: NodeJS.Timeout } | undefined;
    if (owner?._clearExpiredTimeoutId) clearTimeout(owner._clearExpiredTimeoutId);
    this.counters.clear();
    await this.pool.end();
  }
}
