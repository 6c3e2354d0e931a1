/**
 * A warning that is logged at most once per interval: while a rate-limit store is down every
 * request would otherwise log the same line. The next line after a quiet spell says how many
 * were left out (`suppressed`).
 */
import type { Logger } from '../logger.ts';

export type ThrottledWarn = (err: unknown, message: string) => void;

export function throttledWarn(
  logger: Logger,
  options: { intervalMs?: number; now?: () => number; bindings?: Record<string, unknown> } = {},
): ThrottledWarn {
  const intervalMs = options.intervalMs ?? 30_000;
  const now = options.now ?? Date.now;
  let lastAt = -Infinity;
  let suppressed = 0;
  return (err, message) => {
    const at = now();
    if (at - lastAt < intervalMs) {
      suppressed++;
      return;
    }
    logger.warn({ ...options.bindings, err, suppressed }, message);
    lastAt = at;
    suppressed = 0;
  };
}
