import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import Koa from 'koa';
import { pino } from 'pino';
import { errorHandler } from '../../api/middleware/error-handler.ts';
import { rateLimit, rateLimited, setRateLimitHeaders, type HeaderTarget } from '../../api/middleware/rate-limit.ts';
import { AppError } from '../../lib/errors.ts';
import { SlidingWindowLimiter, type LimitDecision } from '../../lib/rate-limit/sliding-window.ts';
import { createMemoryBackend } from '../../lib/rate-limit/store.ts';

const decision = (d: Partial<LimitDecision> = {}): LimitDecision => ({
  allowed: true, limit: 100, remaining: 37, resetSeconds: 12, retryAfterSeconds: 0, policy: 'user', windowSeconds: 60, degraded: false, ...d,
});

/** Response headers as Koa keeps them (case-insensitive names). */
function headers(): HeaderTarget & { all: Map<string, string> } {
  const all = new Map<string, string>();
  return { all, get: (f) => all.get(f.toLowerCase()) ?? '', set: (f, v) => void all.set(f.toLowerCase(), v) };
}

describe('rate-limit headers', () => {
  it('sets the IETF draft fields and the X-RateLimit ones', () => {
    const h = headers();
    setRateLimitHeaders(h, decision());
    assert.deepEqual(Object.fromEntries(h.all), {
      'ratelimit-policy': '"user";q=100;w=60',
      ratelimit: '"user";r=37;t=12',
      'x-ratelimit-limit': '100',
      'x-ratelimit-remaining': '37',
      'x-ratelimit-reset': '12',
    });
  });

  it('lists every policy of a request; X-RateLimit-* show the tightest', () => {
    const h = headers();
    setRateLimitHeaders(h, decision());
    setRateLimitHeaders(h, decision({ policy: 'upload', limit: 20, remaining: 3, resetSeconds: 70 }));
    setRateLimitHeaders(h, decision({ policy: 'download', limit: 10, remaining: 9, resetSeconds: 5 }));
    assert.equal(h.get('RateLimit-Policy'), '"user";q=100;w=60, "upload";q=20;w=60, "download";q=10;w=60');
    assert.equal(h.get('RateLimit'), '"user";r=37;t=12, "upload";r=3;t=70, "download";r=9;t=5');
    assert.equal(h.get('X-RateLimit-Limit'), '20');
    assert.equal(h.get('X-RateLimit-Remaining'), '3');
    assert.equal(h.get('X-RateLimit-Reset'), '70');
  });

  it('replaces the item of a policy decided twice', () => {
    const h = headers();
    setRateLimitHeaders(h, decision({ policy: 'login-ip', remaining: 5 }));
    setRateLimitHeaders(h, decision({ policy: 'login-ip', remaining: 4 }));
    assert.equal(h.get('RateLimit'), '"login-ip";r=4;t=12');
    assert.equal(h.get('RateLimit-Policy'), '"login-ip";q=100;w=60');
  });

  it('a degraded decision states only its policy', () => {
    const h = headers();
    setRateLimitHeaders(h, decision({ degraded: true }));
    assert.deepEqual(Object.fromEntries(h.all), { 'ratelimit-policy': '"user";q=100;w=60' });
  });

  it('429 RATE_LIMITED names the policy and carries Retry-After', () => {
    const err = rateLimited(decision({ allowed: false, policy: 'login-ip', limit: 30, windowSeconds: 900, remaining: 0, resetSeconds: 42, retryAfterSeconds: 42 }));
    assert.ok(err instanceof AppError);
    assert.equal(err.status, 429);
    assert.equal(err.code, 'RATE_LIMITED');
    assert.match(err.message, /"login-ip"/);
    assert.deepEqual(err.headers, {
      'Retry-After': '42',
      'RateLimit-Policy': '"login-ip";q=30;w=900',
      RateLimit: '"login-ip";r=0;t=42',
      'X-RateLimit-Limit': '30',
      'X-RateLimit-Remaining': '0',
      'X-RateLimit-Reset': '42',
    });
    assert.deepEqual(err.toBody().error.details, { policy: 'login-ip', limit: 30, window_seconds: 900, retry_after_seconds: 42 });
  });
});

describe('rateLimit middleware in a Koa app', () => {
  let baseUrl = '';
  let close = () => undefined as unknown;
  let routeCalls = 0;

  before(async () => {
    const limiter = new SlidingWindowLimiter(createMemoryBackend(), {
      name: 'user', rule: { points: 2, windowSeconds: 60 }, logger: pino({ level: 'silent' }), now: () => 30_000,
    });
    const app = new Koa();
    app.use(errorHandler());
    app.use(rateLimit({ limiter, key: (ctx) => ctx.get('x-user') || null }));
    app.use((ctx) => {
      routeCalls++;
      ctx.body = { ok: true };
    });
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    close = () => server.close();
  });
  after(() => close());

  it('lets requests through with headers, then answers 429 without calling the route', async () => {
    const get = () => fetch(baseUrl, { headers: { 'x-user': 'u1' } });
    const first = await get();
    assert.equal(first.status, 200);
    assert.equal(first.headers.get('ratelimit-policy'), '"user";q=2;w=60');
    assert.equal(first.headers.get('ratelimit'), '"user";r=1;t=90');
    assert.equal(first.headers.get('x-ratelimit-remaining'), '1');
    assert.equal((await get()).headers.get('x-ratelimit-remaining'), '0');
    const calls = routeCalls;

    const refused = await get();
    assert.equal(refused.status, 429);
    assert.equal(routeCalls, calls);
    // next window: 2 × (60 − e)/60 + 1 ≤ 2 from e = 30 s; 30 s + 30 s away
    assert.equal(refused.headers.get('retry-after'), '60');
    assert.equal(refused.headers.get('ratelimit'), '"user";r=0;t=60');
    assert.equal(refused.headers.get('x-ratelimit-limit'), '2');
    assert.equal(refused.headers.get('x-ratelimit-remaining'), '0');
    assert.equal(refused.headers.get('x-ratelimit-reset'), '60');
    const body = (await refused.json()) as { error: { code: string; message: string } };
    assert.equal(body.error.code, 'RATE_LIMITED');
    assert.match(body.error.message, /"user"/);
  });

  it('a null key skips the limiter and sets no headers', async () => {
    const res = await fetch(baseUrl);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('ratelimit'), null);
    assert.equal(res.headers.get('ratelimit-policy'), null);
  });
});
