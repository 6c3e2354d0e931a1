/**
 * The sliding-window limiter against the real stores `npm test` provides: PostgreSQL
 * (DATABASE_URL) and Redis (TEST_REDIS_URL). Without them these tests fail, they never skip.
 * Then fail-open against stores that are not there (closed ports): allowed, degraded, no hang.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import pg from 'pg';
import { pino } from 'pino';
import type { LimitRule } from '../../lib/config.ts';
import { SlidingWindowLimiter } from '../../lib/rate-limit/sliding-window.ts';
import { createRateLimitBackend, RATE_LIMIT_TABLE, type RateLimitBackend } from '../../lib/rate-limit/store.ts';
import { requireEnv } from '../support/env.ts';

function capturingLogger() {
  const lines: Array<Record<string, unknown>> = [];
  const logger = pino({ level: 'warn' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
  return { logger, lines };
}

const silent = pino({ level: 'silent' });

interface StoreCase {
  kind: 'postgres' | 'redis';
  backend: () => RateLimitBackend;
  /** Milliseconds the stored counter key has left to live. */
  ttlMs: (storeKey: string) => Promise<number>;
  cleanup: () => Promise<void>;
}

function postgresCase(): StoreCase {
  let pool: pg.Pool | undefined;
  const connect = () => (pool ??= new pg.Pool({ connectionString: requireEnv('DATABASE_URL'), max: 2 }));
  return {
    kind: 'postgres',
    backend: () => createRateLimitBackend({ redisUrl: '', databaseUrl: requireEnv('DATABASE_URL'), logger: silent }),
    ttlMs: async (storeKey) => {
      const { rows } = await connect().query<{ expire: string }>(`SELECT expire FROM ${RATE_LIMIT_TABLE} WHERE key = $1`, [storeKey]);
      assert.equal(rows.length, 1, `no row for ${storeKey}`);
      return Number(rows[0]!.expire) - Date.now();
    },
    cleanup: async () => void (await pool?.end()),
  };
}

function redisCase(): StoreCase {
  let client: Redis | undefined;
  const connect = () => (client ??= new Redis(requireEnv('TEST_REDIS_URL'), { maxRetriesPerRequest: 1 }));
  return {
    kind: 'redis',
    backend: () => createRateLimitBackend({ redisUrl: requireEnv('TEST_REDIS_URL'), databaseUrl: '', logger: silent }),
    ttlMs: async (storeKey) => connect().pttl(storeKey),
    cleanup: async () => void (await client?.quit()),
  };
}

for (const store of [postgresCase(), redisCase()]) {
  describe(`sliding-window limits stored in ${store.kind}`, () => {
    let backend: RateLimitBackend;
    const clock = { ms: 0 };
    const limiter = (rule: LimitRule, on: RateLimitBackend = backend) =>
      new SlidingWindowLimiter(on, { name: 'it-user', rule, logger: silent, now: () => clock.ms, timeoutMs: 3000 });

    before(() => {
      backend = store.backend();
      assert.equal(backend.kind, store.kind);
    });
    after(async () => {
      await backend?.close();
      await store.cleanup();
    });

    it('lets exactly the limit through, also for concurrent requests', async () => {
      clock.ms = Math.floor(Date.now() / 60_000) * 60_000 + 30_000;
      const key = randomUUID();
      const l = limiter({ points: 5, windowSeconds: 60 });
      const decisions = await Promise.all(Array.from({ length: 20 }, () => l.consume(key)));
      assert.equal(decisions.filter((d) => d.allowed).length, 5);
      assert.ok(decisions.every((d) => !d.degraded));
      const remaining = decisions.filter((d) => d.allowed).map((d) => d.remaining).sort();
      assert.deepEqual(remaining, [0, 1, 2, 3, 4]);
      // Refused requests were refunded: the store holds 5, not 20. With 5 at 30 s into the window,
      // one more fits 30 s + 12 s later (5 × (60 − e)/60 + 1 ≤ 5 from e = 12 s); with 20 it would be 30 s + 48 s.
      const next = await l.peek(key);
      assert.equal(next.allowed, false);
      assert.equal(next.remaining, 0);
      assert.equal(next.retryAfterSeconds, 42);
    });

    it('does not double the limit across a window boundary', async () => {
      const key = randomUUID();
      const l = limiter({ points: 10, windowSeconds: 60 });
      const base = Math.floor(Date.now() / 60_000) * 60_000;
      clock.ms = base + 59_000;
      for (let i = 0; i < 10; i++) assert.equal((await l.consume(key)).allowed, true);
      clock.ms = base + 61_000;
      const refused = await l.consume(key);
      assert.equal(refused.allowed, false);
      assert.equal(refused.retryAfterSeconds, 5);
      assert.equal(refused.resetSeconds, 5);
      clock.ms = base + 66_000;
      assert.equal((await l.consume(key)).allowed, true);
    });

    it('peek counts nothing; reset forgets the key', async () => {
      clock.ms = Date.now();
      const key = randomUUID();
      const l = limiter({ points: 3, windowSeconds: 900 });
      for (let i = 0; i < 3; i++) assert.equal((await l.peek(key)).remaining, 3);
      await l.consume(key);
      await l.consume(key);
      assert.equal((await l.peek(key)).remaining, 1);
      await l.reset(key);
      assert.equal((await l.peek(key)).remaining, 3);
    });

    it('keeps each fixed window two windows long, so it is still there as the previous one', async () => {
      clock.ms = Date.now();
      const key = randomUUID();
      await limiter({ points: 3, windowSeconds: 30 }).consume(key);
      const index = Math.floor(clock.ms / 30_000);
      const ttl = await store.ttlMs(`rl:it-user:${key}:w${index}`);
      assert.ok(ttl > 55_000 && ttl <= 60_000, `ttl ${ttl} ms`);
    });

    it('two backends on one store (two API processes) share the counts', async () => {
      clock.ms = Date.now();
      const key = randomUUID();
      const other = store.backend();
      try {
        const a = limiter({ points: 2, windowSeconds: 60 });
        const b = limiter({ points: 2, windowSeconds: 60 }, other);
        assert.equal((await a.consume(key)).allowed, true);
        assert.equal((await b.consume(key)).allowed, true);
        assert.equal((await a.consume(key)).allowed, false);
        assert.equal((await b.consume(key)).allowed, false);
      } finally {
        await other.close();
      }
    });
  });
}

describe('rate-limit stores that are down: fail-open', () => {
  for (const [what, options] of [
    ['Redis on a closed port', { redisUrl: 'redis://127.0.0.1:1', databaseUrl: '' }],
    ['PostgreSQL on a closed port', { redisUrl: '', databaseUrl: 'postgres://moviola:x@127.0.0.1:1/moviola' }],
  ] as const) {
    it(`${what}: requests are allowed, degraded, promptly, with one warning`, async () => {
      const { logger, lines } = capturingLogger();
      const backend = createRateLimitBackend({ ...options, logger, timeoutMs: 500 });
      try {
        const l = new SlidingWindowLimiter(backend, { name: 'login-ip', rule: { points: 1, windowSeconds: 60 }, logger, timeoutMs: 1000 });
        const started = Date.now();
        for (let i = 0; i < 5; i++) {
          const d = await l.consume('203.0.113.9');
          assert.equal(d.allowed, true);
          assert.equal(d.degraded, true);
          assert.equal(d.policy, 'login-ip');
        }
        assert.equal((await l.peek('203.0.113.9')).degraded, true);
        await l.reset('203.0.113.9');
        const elapsed = Date.now() - started;
        assert.ok(elapsed < 3000, `7 calls against a dead store took ${elapsed} ms`);
        const failOpen = lines.filter((line) => line.level === 40 && /fail-open/.test(String(line.msg)));
        assert.equal(failOpen.length, 1, JSON.stringify(lines));
      } finally {
        await backend.close();
      }
    });
  }
});
