/**
 * Telling "a dependency is down" apart from other failures, so the API answers 503
 * DEPENDENCY_UNAVAILABLE (with Retry-After) instead of a 500 when Temporal, PostgreSQL or storage
 * cannot be reached.
 */
import { dependencyUnavailable } from './errors.ts';

export type Component = 'temporal' | 'postgresql' | 'storage';

const NETWORK_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE',
  // PostgreSQL: cannot connect / admin shutdown / too many connections
  '57P01', '57P02', '57P03', '53300', '08001', '08006',
]);

/** True when `err` (or one of its causes) says the remote end could not be reached. */
export function isUnavailableError(err: unknown, depth = 0): boolean {
  if (!err || typeof err !== 'object' || depth > 6) return false;
  const e = err as { code?: unknown; name?: unknown; message?: unknown; cause?: unknown; errors?: unknown };
  if (typeof e.code === 'string' && NETWORK_CODES.has(e.code)) return true;
  // gRPC status 14 UNAVAILABLE / 4 DEADLINE_EXCEEDED (Temporal client)
  if (typeof e.code === 'number' && (e.code === 14 || e.code === 4)) return true;
  if (typeof e.name === 'string' && /ConnectionException|ServiceError|TransportError/.test(e.name) && /connect|unavailable|deadline|refused/i.test(String(e.message))) return true;
  if (typeof e.message === 'string' && /ECONNREFUSED|connection refused|Connection terminated|timeout exceeded when trying to connect/i.test(e.message)) return true;
  if (Array.isArray(e.errors) && e.errors.some((inner) => isUnavailableError(inner, depth + 1))) return true;
  return isUnavailableError(e.cause, depth + 1);
}

/** Runs `fn`; a connectivity failure becomes 503 DEPENDENCY_UNAVAILABLE naming `component`. */
export async function withDependency<T>(component: Component, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (isUnavailableError(err)) throw dependencyUnavailable(component, err);
    throw err;
  }
}
