/**
 * The sliding-window-counter estimate, as pure arithmetic. Time is cut into fixed windows of W
 * seconds; the usage of the sliding window ending now is estimated as
 *
 *   previous × (W − elapsed) / W + current
 *
 * where `previous` is the count of the fixed window before this one, `current` the count of this
 * one and `elapsed` how far into this one we are: the previous window's requests are assumed
 * spread evenly, and the part of it still inside the sliding window counts.
 */

export interface WindowPosition {
  /** floor(now / W): the suffix of the current window's key */
  index: number;
  /** milliseconds into the current window */
  elapsedMs: number;
}

export function windowPosition(nowMs: number, windowSeconds: number): WindowPosition {
  const windowMs = windowSeconds * 1000;
  const index = Math.floor(nowMs / windowMs);
  return { index, elapsedMs: nowMs - index * windowMs };
}

export interface WindowState {
  limit: number;
  windowSeconds: number;
  elapsedMs: number;
  /** count of the previous fixed window */
  previous: number;
  /** count of the current fixed window, without the request being decided */
  current: number;
}

export interface Evaluation {
  allowed: boolean;
  /** whole units still available after this request (when allowed) */
  remaining: number;
  /** when allowed: until the whole quota is back; when refused: same as retryAfterMs */
  resetMs: number;
  /** 0 when allowed, else until a request of these points would be allowed (if nothing else is consumed) */
  retryAfterMs: number;
}

/** Floating-point slack: 10 × 59/60 + 1 must not come out as 10.000000000000002 > 10. */
const EPSILON = 1e-9;

export function estimate(state: Pick<WindowState, 'windowSeconds' | 'elapsedMs' | 'previous' | 'current'>): number {
  const windowMs = state.windowSeconds * 1000;
  return (state.previous * (windowMs - state.elapsedMs)) / windowMs + state.current;
}

/** Milliseconds from now until `points` more fit, assuming no other consumption meanwhile. */
export function msUntilAllowed(state: WindowState, points: number): number {
  const { limit, previous, current, elapsedMs } = state;
  const windowMs = state.windowSeconds * 1000;
  if (points > limit) throw new RangeError(`${points} points can never fit a limit of ${limit}`);
  if (estimate(state) + points <= limit + EPSILON) return 0;
  if (current + points <= limit) {
    // Still in this window: wait until the previous window's weight has decayed enough.
    // previous × (W − e) / W ≤ limit − current − points  ⇔  e ≥ W − (limit − current − points) × W / previous
    const elapsedNeeded = windowMs - ((limit - current - points) * windowMs) / previous;
    return Math.max(0, elapsedNeeded - elapsedMs);
  }
  // Only in the next window, where today's count becomes the decaying previous one.
  const elapsedNeeded = windowMs - ((limit - points) * windowMs) / current;
  return windowMs - elapsedMs + Math.max(0, elapsedNeeded);
}

/** Milliseconds until nothing of the given counts weighs in the estimate any more. */
export function msUntilEmpty(state: Pick<WindowState, 'windowSeconds' | 'elapsedMs' | 'previous' | 'current'>): number {
  const windowMs = state.windowSeconds * 1000;
  if (state.current > 0) return windowMs - state.elapsedMs + windowMs;
  if (state.previous > 0) return windowMs - state.elapsedMs;
  return 0;
}

/**
 * Decides a request of `points` against the state. `consume: false` (a peek) reports the quota as it
 * stands; `consume: true` reports it after the request when the request is allowed.
 */
export function evaluate(state: WindowState, points: number, options: { consume: boolean }): Evaluation {
  const used = estimate(state);
  const allowed = used + points <= state.limit + EPSILON;
  if (!allowed) {
    const retryAfterMs = msUntilAllowed(state, points);
    return { allowed, remaining: Math.max(0, Math.floor(state.limit - used + EPSILON)), resetMs: retryAfterMs, retryAfterMs };
  }
  const counted = options.consume ? points : 0;
  return {
    allowed,
    remaining: Math.max(0, Math.floor(state.limit - used - counted + EPSILON)),
    resetMs: msUntilEmpty({ ...state, current: state.current + counted }),
    retryAfterMs: 0,
  };
}
