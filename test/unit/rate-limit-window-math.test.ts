import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { estimate, evaluate, msUntilAllowed, msUntilEmpty, windowPosition, type WindowState } from '../../lib/rate-limit/window-math.ts';

const W = 60;
const state = (s: Partial<WindowState>): WindowState => ({ limit: 10, windowSeconds: W, elapsedMs: 0, previous: 0, current: 0, ...s });

describe('sliding-window arithmetic', () => {
  it('cuts time into fixed windows', () => {
    assert.deepEqual(windowPosition(0, 60), { index: 0, elapsedMs: 0 });
    assert.deepEqual(windowPosition(59_999, 60), { index: 0, elapsedMs: 59_999 });
    assert.deepEqual(windowPosition(61_000, 60), { index: 1, elapsedMs: 1000 });
  });

  it('weights the previous window by the part still inside the sliding window', () => {
    assert.equal(estimate(state({ previous: 10, current: 2, elapsedMs: 15_000 })), 10 * 0.75 + 2);
    assert.equal(estimate(state({ previous: 10, current: 0, elapsedMs: 0 })), 10);
    assert.equal(estimate(state({ previous: 10, current: 3, elapsedMs: 59_999 })), 3 + (10 * 1) / 60_000);
  });

  it('waits inside this window while the previous one decays', () => {
    // 10 × (60 − e)/60 + 0 + 1 ≤ 10  ⇔  e ≥ 6 s; at 1 s that is 5 s away
    assert.equal(msUntilAllowed(state({ previous: 10, elapsedMs: 1000 }), 1), 5000);
    // with 4 in this window: 10 × (60 − e)/60 ≤ 5 ⇔ e ≥ 30 s
    assert.equal(msUntilAllowed(state({ previous: 10, current: 4, elapsedMs: 10_000 }), 1), 20_000);
  });

  it('waits into the next window when this window alone is full', () => {
    // 10 now at 59 s: next window, 10 × (60 − e)/60 + 1 ≤ 10 ⇔ e ≥ 6 s; 1 s + 6 s
    assert.equal(msUntilAllowed(state({ current: 10, elapsedMs: 59_000 }), 1), 7000);
    // asking for the whole limit waits until the current count has fully decayed
    assert.equal(msUntilAllowed(state({ current: 3, elapsedMs: 0 }), 10), 120_000);
  });

  it('is 0 when the request fits, and refuses points above the limit', () => {
    assert.equal(msUntilAllowed(state({ previous: 5, current: 4 }), 1), 0);
    assert.throws(() => msUntilAllowed(state({}), 11), RangeError);
  });

  it('retry-after is exact: allowed then, refused one millisecond before', () => {
    let seed = 7;
    const random = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
    let checked = 0;
    for (let i = 0; i < 2000; i++) {
      const limit = 1 + Math.floor(random() * 20);
      const s = state({
        limit,
        elapsedMs: Math.floor(random() * W * 1000),
        previous: Math.floor(random() * (limit + 1)),
        current: Math.floor(random() * (limit + 1)),
      });
      const points = 1 + Math.floor(random() * limit);
      const wait = Math.ceil(msUntilAllowed(s, points));
      if (wait === 0) continue;
      checked++;
      // advance the clock by `wait` (crossing into the next window when needed), nothing else consumed
      const at = (ms: number) => {
        const e = s.elapsedMs + ms;
        const windowMs = W * 1000;
        if (e < windowMs) return { ...s, elapsedMs: e };
        if (e < 2 * windowMs) return { ...s, previous: s.current, current: 0, elapsedMs: e - windowMs };
        return { ...s, previous: 0, current: 0, elapsedMs: e - 2 * windowMs };
      };
      assert.equal(evaluate(at(wait), points, { consume: true }).allowed, true, JSON.stringify({ s, points, wait }));
      assert.equal(evaluate(at(wait - 1), points, { consume: true }).allowed, false, JSON.stringify({ s, points, wait }));
    }
    assert.ok(checked > 500, `only ${checked} refused states were checked`);
  });

  it('full quota returns once nothing weighs any more', () => {
    assert.equal(msUntilEmpty(state({ current: 1, elapsedMs: 10_000 })), 110_000);
    assert.equal(msUntilEmpty(state({ previous: 4, elapsedMs: 10_000 })), 50_000);
    assert.equal(msUntilEmpty(state({})), 0);
  });

  it('evaluate: remaining after a consumed request, as it stands for a peek', () => {
    const s = state({ previous: 6, current: 2, elapsedMs: 30_000 }); // 3 + 2 = 5 used
    assert.deepEqual(evaluate(s, 1, { consume: true }), { allowed: true, remaining: 4, resetMs: 90_000, retryAfterMs: 0 });
    assert.deepEqual(evaluate(s, 1, { consume: false }), { allowed: true, remaining: 5, resetMs: 90_000, retryAfterMs: 0 });
    const full = state({ previous: 10, elapsedMs: 1000 });
    assert.deepEqual(evaluate(full, 1, { consume: true }), { allowed: false, remaining: 0, resetMs: 5000, retryAfterMs: 5000 });
  });
});
