import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { RateLimiterMemory } from 'rate-limiter-flexible';
import type { LimitRule } from '../../lib/config.ts';
import { SlidingWindowLimiter } from '../../lib/rate-limit/sliding-window.ts';
import { createMemoryBackend, type Counter, type RateLimitBackend } from '../../lib/rate-limit/store.ts';

/** A pino logger whose lines land in `lines`. */
function capturingLogger() {
  const lines: Array<Record<string, unknown>> = [];
  const logger = pino({ level: 'warn' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
  return { logger, lines };
}

/** A limiter on the in-memory backend with a clock the test moves (ms; 0 = start of window 0). */
function setup(rule: LimitRule = { points: 10, windowSeconds: 60 }, backend: RateLimitBackend = createMemoryBackend()) {
  const clock = { ms: 0 };
  const { logger, lines } = capturingLogger();
  const limiter = new SlidingWindowLimiter(backend, { name: 'user', rule, logger, now: () => clock.ms, timeoutMs: 20 });
  return { limiter, clock, lines };
}

async function burst(limiter: SlidingWindowLimiter, key: string, n: number): Promise<number> {
  let allowed = 0;
  for (let i = 0; i < n; i++) if ((await limiter.consume(key)).allowed) allowed++;
  return allowed;
}

describe('SlidingWindowLimiter on an in-memory store', () => {
  it('a burst at the end of one window and the start of the next does not double the limit', async () => {
    const { limiter, clock } = setup();
    clock.ms = 59_000;
    assert.equal(await burst(limiter, 'u1', 10), 10);
    clock.ms = 61_000;
    assert.equal(await burst(limiter, 'u1', 10), 0, 'the previous window still weighs 59/60');

    // The same traffic against the bare fixed-window counters the limiter is built on gets 20 through.
    const fixed = new RateLimiterMemory({ points: 10, duration: 60 });
    let fixedAllowed = 0;
    for (const windowIndex of [0, 1]) {
      for (let i = 0; i < 10; i++) {
        await fixed.consume(`u1:w${windowIndex}`).then(() => fixedAllowed++, () => undefined);
      }
    }
    assert.equal(fixedAllowed, 20);
  });

  it('holds the average rate under steady hammering (a request every 100 ms for 10 minutes)', async () => {
    const { limiter, clock } = setup();
    let allowed = 0;
    for (clock.ms = 0; clock.ms < 600_000; clock.ms += 100) if ((await limiter.consume('u1')).allowed) allowed++;
    assert.ok(allowed <= 10 * 11 && allowed >= 10 * 9, `allowed ${allowed} in 10 windows of 10`);
  });

  it('reports remaining, reset and retry-after', async () => {
    const { limiter, clock } = setup();
    clock.ms = 59_000;
    const first = await limiter.consume('u1');
    assert.deepEqual(first, {
      allowed: true, limit: 10, remaining: 9, resetSeconds: 61, retryAfterSeconds: 0, policy: 'user', windowSeconds: 60, degraded: false,
    });
    for (let i = 0; i < 9; i++) await limiter.consume('u1');
    const refused = await limiter.consume('u1');
    // next window: 10 × (60 − e)/60 + 1 ≤ 10 from e = 6 s; 1 s + 6 s away
    assert.deepEqual(refused, {
      allowed: false, limit: 10, remaining: 0, resetSeconds: 7, retryAfterSeconds: 7, policy: 'user', windowSeconds: 60, degraded: false,
    });
    clock.ms = 61_000;
    assert.equal((await limiter.consume('u1')).retryAfterSeconds, 5);
    clock.ms = 65_999;
    assert.equal((await limiter.consume('u1')).allowed, false);
    clock.ms = 66_000;
    const after = await limiter.consume('u1');
    assert.equal(after.allowed, true);
    assert.equal(after.remaining, 0);
  });

  it('does not count refused requests', async () => {
    const { limiter, clock } = setup({ points: 3, windowSeconds: 10 });
    assert.equal(await burst(limiter, 'u1', 3), 3);
    assert.equal(await burst(limiter, 'u1', 50), 0);
    // 3 at 0 s: allowed again once 3 × (10 − e)/10 + 1 ≤ 3 in the next window, e ≥ 10/3 s
    clock.ms = 13_334;
    assert.equal((await limiter.consume('u1')).allowed, true);
  });

  it('peek tells without counting', async () => {
    const { limiter } = setup({ points: 2, windowSeconds: 60 });
    for (let i = 0; i < 5; i++) assert.equal((await limiter.peek('u1')).remaining, 2);
    await limiter.consume('u1');
    assert.deepEqual(await limiter.peek('u1'), {
      allowed: true, limit: 2, remaining: 1, resetSeconds: 120, retryAfterSeconds: 0, policy: 'user', windowSeconds: 60, degraded: false,
    });
    await limiter.consume('u1');
    const full = await limiter.peek('u1');
    assert.equal(full.allowed, false);
    assert.equal(full.retryAfterSeconds, 90); // next window: 2 × (60 − e)/60 + 1 ≤ 2 from e = 30 s
    assert.equal((await limiter.peek('u1', 2)).retryAfterSeconds, 120);
  });

  it('consumes several points at once and rejects impossible amounts', async () => {
    const { limiter } = setup({ points: 5, windowSeconds: 60 });
    assert.equal((await limiter.consume('u1', 3)).remaining, 2);
    assert.equal((await limiter.consume('u1', 3)).allowed, false);
    assert.equal((await limiter.consume('u1', 2)).remaining, 0);
    await assert.rejects(limiter.consume('u1', 6), RangeError);
    await assert.rejects(limiter.consume('u1', 0), RangeError);
    await assert.rejects(limiter.peek('u1', 1.5), RangeError);
  });

  it('reset forgets the key, other keys are untouched', async () => {
    const { limiter, clock } = setup({ points: 2, windowSeconds: 60 });
    clock.ms = 50_000;
    await burst(limiter, 'a', 2);
    clock.ms = 70_000; // a's count is now in the previous window
    await burst(limiter, 'b', 2);
    await limiter.reset('a');
    assert.equal((await limiter.peek('a')).remaining, 2);
    assert.equal((await limiter.peek('b')).remaining, 0);
  });

  it('hashes long keys without mixing them up', async () => {
    const { limiter } = setup({ points: 1, windowSeconds: 60 });
    const long = (c: string) => `login:${c.repeat(300)}@example.com:203.0.113.7`;
    assert.equal((await limiter.consume(long('a'))).allowed, true);
    assert.equal((await limiter.consume(long('a'))).allowed, false);
    assert.equal((await limiter.consume(long('b'))).allowed, true);
  });

  it('refuses bad policy names and rules', () => {
    const { logger } = capturingLogger();
    const backend = createMemoryBackend();
    assert.throws(() => new SlidingWindowLimiter(backend, { name: 'User "x"', rule: { points: 1, windowSeconds: 1 }, logger }));
    assert.throws(() => new SlidingWindowLimiter(backend, { name: 'user', rule: { points: 0, windowSeconds: 1 }, logger }));
    assert.throws(() => new SlidingWindowLimiter(backend, { name: 'user', rule: { points: 1, windowSeconds: 0.5 }, logger }));
  });
});

describe('SlidingWindowLimiter fails open', () => {
  const down = new Error('connect ECONNREFUSED 127.0.0.1:6379');
  const failing: Counter = {
    consume: () => Promise.reject(down),
    get: () => Promise.reject(down),
    reward: () => Promise.reject(down),
    delete: () => Promise.reject(down),
  };
  const degraded = { allowed: true, limit: 10, remaining: 10, resetSeconds: 0, retryAfterSeconds: 0, policy: 'user', windowSeconds: 60, degraded: true };

  for (const [what, backend] of [
    ['the store throws', { kind: 'memory', counter: async () => failing, close: async () => undefined }],
    ['the store cannot be reached', { kind: 'memory', counter: () => Promise.reject(down), close: async () => undefined }],
    ['the store never answers', { kind: 'memory', counter: () => new Promise<Counter>(() => undefined), close: async () => undefined }],
  ] as const) {
    it(`allows with degraded: true when ${what}, warning once`, async () => {
      const { limiter, lines } = setup(undefined, backend as RateLimitBackend);
      for (let i = 0; i < 5; i++) {
        assert.deepEqual(await limiter.consume('u1'), degraded);
        assert.deepEqual(await limiter.peek('u1'), degraded);
      }
      await limiter.reset('u1'); // logged, not thrown
      const warnings = lines.filter((l) => l.level === 40);
      assert.equal(warnings.length, 1, JSON.stringify(lines));
      assert.match(String(warnings[0]?.msg), /fail-open/);
      assert.equal(warnings[0]?.policy, 'user');
    });
  }

  it('a failed refund keeps the refusal', async () => {
    const memory = createMemoryBackend();
    const backend: RateLimitBackend = {
      kind: 'memory',
      counter: async (spec) => {
        const real = await memory.counter(spec);
        return { consume: real.consume.bind(real), get: real.get.bind(real), delete: real.delete.bind(real), reward: () => Promise.reject(down) };
      },
      close: async () => undefined,
    };
    const { limiter } = setup({ points: 1, windowSeconds: 60 }, backend);
    assert.equal((await limiter.consume('u1')).allowed, true);
    const second = await limiter.consume('u1');
    assert.equal(second.allowed, false);
    assert.equal(second.degraded, false);
  });
});
