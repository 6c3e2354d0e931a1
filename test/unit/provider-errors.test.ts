/** lib/ai/provider-errors.ts: what each provider failure means for its retries, and Retry-After parsing. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { APIConnectionError, APIConnectionTimeoutError, APIError } from 'openai';
import {
  BAD_RESPONSE_MAX_ATTEMPTS,
  classifyProviderError,
  MAX_RETRY_AFTER_MS,
  parseRetryAfter,
  providerApplicationFailure,
  ProviderBadResponseError,
  providerUnavailableFailure,
} from '../../lib/ai/provider-errors.ts';

const NOW = Date.parse('2026-03-01T12:00:00Z');

function apiError(status: number, headers: Record<string, string> = {}, body: Record<string, unknown> = { message: `status ${status}`, type: 'server_error' }) {
  return APIError.generate(status, { error: body }, undefined, new Headers(headers));
}

describe('parseRetryAfter', () => {
  it('reads delta-seconds (integer or decimal)', () => {
    assert.equal(parseRetryAfter(new Headers({ 'retry-after': '7' }), NOW), 7000);
    assert.equal(parseRetryAfter(new Headers({ 'retry-after': '1.5' }), NOW), 1500);
    assert.equal(parseRetryAfter(new Headers({ 'retry-after': ' 0 ' }), NOW), 0);
  });

  it('reads an HTTP date relative to now; a past date is 0', () => {
    assert.equal(parseRetryAfter(new Headers({ 'retry-after': 'Sun, 01 Mar 2026 12:00:30 GMT' }), NOW), 30_000);
    assert.equal(parseRetryAfter(new Headers({ 'retry-after': 'Sun, 01 Mar 2026 11:00:00 GMT' }), NOW), 0);
  });

  it('prefers retry-after-ms', () => {
    assert.equal(parseRetryAfter(new Headers({ 'retry-after-ms': '250', 'retry-after': '7' }), NOW), 250);
    assert.equal(parseRetryAfter(new Headers({ 'retry-after-ms': 'soon', 'retry-after': '7' }), NOW), 7000);
  });

  it('ignores garbage, negatives and absence; clamps huge values', () => {
    assert.equal(parseRetryAfter(new Headers({ 'retry-after': 'soon' }), NOW), null);
    assert.equal(parseRetryAfter(new Headers({ 'retry-after': '-5' }), NOW), null);
    assert.equal(parseRetryAfter(new Headers({ 'retry-after': '' }), NOW), null);
    assert.equal(parseRetryAfter(new Headers(), NOW), null);
    assert.equal(parseRetryAfter(null, NOW), null);
    assert.equal(parseRetryAfter(new Headers({ 'retry-after': '86400' }), NOW), MAX_RETRY_AFTER_MS);
  });

  it('accepts a plain header record, whatever the case of the names', () => {
    assert.equal(parseRetryAfter({ 'Retry-After': '3' }, NOW), 3000);
    assert.equal(parseRetryAfter({ 'retry-after': ['4', '5'] }, NOW), 4000);
  });
});

describe('classifyProviderError', () => {
  it('429 → PROVIDER_RATE_LIMITED, retryable, with the Retry-After delay and the request id', () => {
    const f = classifyProviderError(apiError(429, { 'retry-after': '7', 'x-request-id': 'req_1' }), { now: NOW });
    assert.equal(f.type, 'PROVIDER_RATE_LIMITED');
    assert.equal(f.retryable, true);
    assert.equal(f.retryAfterMs, 7000);
    assert.equal(f.httpStatus, 429);
    assert.equal(f.requestId, 'req_1');
  });

  it('429 without Retry-After leaves the delay to the retry policy', () => {
    const f = classifyProviderError(apiError(429), { now: NOW });
    assert.equal(f.retryable, true);
    assert.equal(f.retryAfterMs, null);
  });

  it('429 insufficient_quota is a refusal (retrying cannot help)', () => {
    const f = classifyProviderError(apiError(429, {}, { message: 'You exceeded your current quota', code: 'insufficient_quota' }), { now: NOW });
    assert.equal(f.type, 'PROVIDER_REJECTED');
    assert.equal(f.retryable, false);
    assert.match(f.message, /quota/);
  });

  for (const status of [500, 502, 503, 504, 409]) {
    it(`${status} → PROVIDER_ERROR, retryable`, () => {
      const f = classifyProviderError(apiError(status, { 'retry-after': '2' }), { now: NOW });
      assert.equal(f.type, 'PROVIDER_ERROR');
      assert.equal(f.retryable, true);
      assert.equal(f.retryAfterMs, 2000);
      assert.equal(f.httpStatus, status);
    });
  }

  it('408 → PROVIDER_TIMEOUT, retryable', () => {
    const f = classifyProviderError(apiError(408));
    assert.equal(f.type, 'PROVIDER_TIMEOUT');
    assert.equal(f.retryable, true);
  });

  for (const status of [400, 401, 403, 404, 413, 415, 422, 418]) {
    it(`${status} → PROVIDER_REJECTED, not retried`, () => {
      const f = classifyProviderError(apiError(status, { 'retry-after': '5' }));
      assert.equal(f.type, 'PROVIDER_REJECTED');
      assert.equal(f.retryable, false);
      assert.equal(f.retryAfterMs, null);
      assert.equal(f.httpStatus, status);
      assert.match(f.message, new RegExp(`${status}`));
    });
  }

  it("keeps the provider's error message", () => {
    const f = classifyProviderError(apiError(401, {}, { message: 'Incorrect API key provided', type: 'invalid_request_error' }));
    assert.match(f.message, /401 Unauthorized/);
    assert.match(f.message, /Incorrect API key provided/);
  });

  it('a client timeout (or an aborted TimeoutError) → PROVIDER_TIMEOUT, retryable, no HTTP status', () => {
    for (const err of [new APIConnectionTimeoutError(), new DOMException('The operation was aborted due to timeout', 'TimeoutError')]) {
      const f = classifyProviderError(err);
      assert.equal(f.type, 'PROVIDER_TIMEOUT');
      assert.equal(f.retryable, true);
      assert.equal(f.httpStatus, null);
    }
  });

  it('a connection error → PROVIDER_ERROR, retryable, no HTTP status, the cause in the message', () => {
    const cause = Object.assign(new TypeError('fetch failed'), { cause: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' }) });
    const f = classifyProviderError(new APIConnectionError({ cause }));
    assert.equal(f.type, 'PROVIDER_ERROR');
    assert.equal(f.retryable, true);
    assert.equal(f.httpStatus, null);
    assert.match(f.message, /ECONNREFUSED/);
  });

  it('invalid JSON / an unexpected shape → PROVIDER_BAD_RESPONSE, retried until the last allowed attempt', () => {
    const response = { status: 200, headers: new Headers({ 'x-request-id': 'req_2' }) };
    let invalid: unknown;
    try {
      JSON.parse('{"text": ');
    } catch (err) {
      invalid = err;
    }
    for (const err of [invalid, new ProviderBadResponseError('the answer has no "text"')]) {
      const first = classifyProviderError(err, { response, attempt: 1 });
      assert.equal(first.type, 'PROVIDER_BAD_RESPONSE');
      assert.equal(first.retryable, true);
      assert.equal(first.httpStatus, 200);
      assert.equal(first.requestId, 'req_2');
      const last = classifyProviderError(err, { response, attempt: BAD_RESPONSE_MAX_ATTEMPTS });
      assert.equal(last.retryable, false);
      assert.match(last.message, /gave up after/);
    }
  });

  it('anything else is treated as transient', () => {
    const f = classifyProviderError(new Error('socket hang up'));
    assert.equal(f.type, 'PROVIDER_ERROR');
    assert.equal(f.retryable, true);
  });
});

describe('providerApplicationFailure', () => {
  it('carries the type, retryability and Retry-After as nextRetryDelay', () => {
    const failure = providerApplicationFailure(classifyProviderError(apiError(429, { 'retry-after': '7' }), { now: NOW }));
    assert.equal(failure.type, 'PROVIDER_RATE_LIMITED');
    assert.equal(failure.nonRetryable, false);
    assert.equal(failure.nextRetryDelay, 7000);
    assert.deepEqual(failure.details, [{ httpStatus: 429, requestId: null, retryAfterMs: 7000 }]);
  });

  it('has no nextRetryDelay without Retry-After, and is non-retryable for refusals', () => {
    assert.equal(providerApplicationFailure(classifyProviderError(apiError(500))).nextRetryDelay, undefined);
    const rejected = providerApplicationFailure(classifyProviderError(apiError(401, { 'retry-after': '3' })));
    assert.equal(rejected.nonRetryable, true);
    assert.equal(rejected.nextRetryDelay, undefined);
  });

  it('PROVIDER_UNAVAILABLE is non-retryable', () => {
    const failure = providerUnavailableFailure();
    assert.equal(failure.type, 'PROVIDER_UNAVAILABLE');
    assert.equal(failure.nonRetryable, true);
  });
});
