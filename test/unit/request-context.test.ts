import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { childTraceparent } from '../../api/middleware/request-context.ts';
import { isUnavailableError } from '../../lib/dependencies.ts';
import { AppError } from '../../lib/errors.ts';

describe('traceparent', () => {
  it('continues a valid incoming trace with a new span', () => {
    const incoming = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const out = childTraceparent(incoming);
    assert.match(out, /^00-4bf92f3577b34da6a3ce929d0e0e4736-[0-9a-f]{16}-01$/);
    assert.notEqual(out.split('-')[2], '00f067aa0ba902b7');
  });
  it('starts a new trace when the header is missing, malformed or all zeros', () => {
    for (const incoming of [undefined, 'garbage', '00-00000000000000000000000000000000-00f067aa0ba902b7-01']) {
      const out = childTraceparent(incoming);
      assert.match(out, /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
      assert.notEqual(out.split('-')[1], '00000000000000000000000000000000');
    }
  });
});

describe('error shape and dependency errors', () => {
  it('AppError renders the one error shape', () => {
    assert.deepEqual(new AppError(409, 'JOB_FINISHED', 'done already').toBody(), { error: { code: 'JOB_FINISHED', message: 'done already' } });
    assert.deepEqual(new AppError(422, 'X', 'y', { details: [1] }).toBody(), { error: { code: 'X', message: 'y', details: [1] } });
  });
  it('recognises connection failures through causes', () => {
    assert.equal(isUnavailableError(Object.assign(new Error('connect'), { code: 'ECONNREFUSED' })), true);
    assert.equal(isUnavailableError(new Error('wrapped', { cause: Object.assign(new Error('x'), { code: 14 }) })), true);
    assert.equal(isUnavailableError(new AggregateError([Object.assign(new Error('x'), { code: 'ECONNREFUSED' })])), true);
    assert.equal(isUnavailableError(new Error('syntax error at or near')), false);
    assert.equal(isUnavailableError(Object.assign(new Error('dup'), { code: '23505' })), false);
  });
});
