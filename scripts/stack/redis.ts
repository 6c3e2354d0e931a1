/**
 * A throwaway redis-server for the tests of the Redis rate-limit store: no persistence, loopback
 * only. The binary comes from REDIS_SERVER_PATH, else PATH, else apt-get (root on Debian).
 */
import net from 'node:net';
import { provision, StackError } from './log.ts';
import { waitUntil } from './ports.ts';
import { describeExit, type Service, type Supervisor } from './processes.ts';
import { aptInstall, isDebian, isExecutable, isRoot, run, which } from './tools.ts';

export async function provideRedisServer(): Promise<string> {
  const explicit = process.env.REDIS_SERVER_PATH;
  if (explicit) {
    if (!isExecutable(explicit)) throw new StackError(`REDIS_SERVER_PATH=${explicit} is not an executable file`);
    return explicit;
  }
  let binary = which('redis-server');
  let how = 'PATH';
  if (!binary) {
    if (!isRoot() || !isDebian()) {
      throw new StackError('redis-server not found: install it (Debian/Ubuntu: sudo apt-get install redis-server) or set REDIS_SERVER_PATH');
    }
    await aptInstall(['redis-server']);
    binary = which('redis-server');
    how = 'installed with apt-get';
    if (!binary) throw new StackError('apt-get install redis-server did not provide redis-server');
  }
  const version = await run(binary, ['--version'], { timeoutMs: 60_000 });
  provision(`redis-server ${/v=(\S+)/.exec(version.stdout)?.[1] ?? 'unknown version'}: ${binary} (${how})`);
  return binary;
}

/** Arguments of a redis-server that keeps nothing on disk and listens on loopback only. */
export function redisServerArgs(options: { port: number; dir: string }): string[] {
  return ['--port', String(options.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', options.dir];
}

/** True when a Redis server on 127.0.0.1:port answers PING with PONG. */
export function redisAnswers(port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: '127.0.0.1' });
    let reply = '';
    const done = (answer: boolean) => {
      socket.destroy();
      resolve(answer);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      reply += chunk.toString('utf8');
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
    });
  });
}

export interface StartedRedis {
  url: string;
  service: Service;
}

export async function startRedis(
  supervisor: Supervisor,
  binary: string,
  options: { port: number; dir: string; logFile: string; graceMs: number; stopSignal?: NodeJS.Signals },
): Promise<StartedRedis> {
  const service = supervisor.start({
    name: 'redis',
    command: binary,
    args: redisServerArgs(options),
    logFile: options.logFile,
    graceMs: options.graceMs,
    stopSignal: options.stopSignal,
  });
  await waitUntil(() => redisAnswers(options.port), {
    what: `redis-server on 127.0.0.1:${options.port}`,
    timeoutMs: 20_000,
    abort: () => (service.exit ? `${describeExit(service.exit)} (log: ${options.logFile})` : undefined),
  });
  return { url: `redis://127.0.0.1:${options.port}`, service };
}
