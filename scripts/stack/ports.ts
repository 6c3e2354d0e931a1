/** Port probes, free-port allocation and polling. */
import net from 'node:net';
import { StackError } from './log.ts';

/** True when something accepts TCP connections on host:port. */
export function isListening(port: number, host = '127.0.0.1', timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host });
    const done = (answer: boolean) => {
      socket.destroy();
      resolve(answer);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** True when this process could bind host:port right now. */
export function canBind(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/**
 * Free ports are drawn from below the kernel's ephemeral range (32768–60999 on Linux), so that
 * the random ports other servers (temporal's internal services, outgoing connections) take in the
 * meantime cannot collide with the ones handed out here; and above 19999, clear of the ports
 * `npm start` prefers (7233, 8233, 8333, 9333, 18080, 19333…).
 */
export const FREE_PORT_RANGE = { min: 20000, max: 32000 } as const;

const handedOut = new Set<number>();

export interface PortRange {
  min: number;
  max: number;
}

/** A port that is bindable on 127.0.0.1 and was not handed out before by this process. */
export async function findFreePort(
  range: PortRange = FREE_PORT_RANGE,
  bindable: (port: number) => Promise<boolean> = canBind,
): Promise<number> {
  const size = range.max - range.min + 1;
  const start = Math.floor(Math.random() * size);
  for (let i = 0; i < Math.min(size, 2000); i++) {
    const port = range.min + ((start + i) % size);
    if (handedOut.has(port)) continue;
    handedOut.add(port);
    if (await bindable(port)) return port;
  }
  throw new StackError(`no free TCP port in ${range.min}-${range.max}`);
}

/** The preferred port when it is free, else any free port. */
export async function preferredOrFreePort(preferred: number): Promise<number> {
  if (!handedOut.has(preferred) && (await canBind(preferred))) {
    handedOut.add(preferred);
    return preferred;
  }
  return findFreePort();
}

export interface WaitOptions {
  /** what is awaited, for the timeout message */
  what: string;
  timeoutMs: number;
  intervalMs?: number;
  /** polled too: a non-undefined answer aborts the wait with that message (e.g. "exited with code 1") */
  abort?: () => string | undefined;
}

/** Polls `probe` until it answers true. */
export async function waitUntil(probe: () => Promise<boolean>, options: WaitOptions): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  const interval = options.intervalMs ?? 200;
  for (;;) {
    const aborted = options.abort?.();
    if (aborted) throw new StackError(`${options.what}: ${aborted}`);
    if (await probe()) return;
    if (Date.now() > deadline) {
      throw new StackError(`${options.what}: not ready after ${Math.round(options.timeoutMs / 1000)}s`);
    }
    await new Promise((resolve) => setTimeout(resolve, interval));
  }
}

/** The HTTP status of a GET, or 0 when the request fails. */
export async function httpStatus(url: string, timeoutMs = 2000): Promise<number> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    await response.body?.cancel();
    return response.status;
  } catch {
    return 0;
  }
}
