/**
 * Spawns and supervises the stack's processes. Each runs in its own process group (detached), so
 * that stopping it reaches everything it started: the stop signal to the group, then SIGKILL after
 * a grace period. Output goes to the console prefixed with the component name, or to a log file.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import type { Readable } from 'node:stream';
import { StackError, warn } from './log.ts';

export interface ServiceSpec {
  name: string;
  command: string;
  args: readonly string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** When set, stdout and stderr go to this file (truncated) instead of the console. */
  logFile?: string;
  /** Stopped in descending tier order, each tier at once: apps (1) before infrastructure (0). */
  tier?: number;
  /** Signal that asks for a clean stop (default SIGTERM). */
  stopSignal?: NodeJS.Signals;
  /** How long to wait for a clean stop before SIGKILL (default 5000 ms). */
  graceMs?: number;
  /** A command expected to finish (migrations, the test runner): its exit is not a failure of the stack. */
  oneShot?: boolean;
  /** Output straight to this terminal, unprefixed (for output that names itself, like test reporters). */
  raw?: boolean;
}

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface Service {
  readonly spec: ServiceSpec;
  readonly pid: number;
  /** Set once the process has exited. */
  exit: ExitInfo | undefined;
  readonly exited: Promise<ExitInfo>;
}

export type UnexpectedExitHandler = (service: Service, exit: ExitInfo) => void;

/** True while any process of the group still exists. */
export function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // the group is gone already
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits until the group is empty or the timeout passes; true when it is empty. */
async function groupGone(pgid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (groupAlive(pgid)) {
    if (Date.now() >= deadline) return false;
    await sleep(50);
  }
  return true;
}

export function describeExit(exit: ExitInfo): string {
  return exit.signal ? `killed by ${exit.signal}` : `exited with code ${exit.code}`;
}

function prefixLines(stream: Readable, prefix: string, out: NodeJS.WriteStream): void {
  readline.createInterface({ input: stream, crlfDelay: Infinity }).on('line', (line) => {
    out.write(`${prefix}${line}\n`);
  });
}

export class Supervisor {
  private readonly services: Service[] = [];
  /** Services whose whole group is known to be gone (their pgid may be reused: never signal it again). */
  private readonly reaped = new Set<Service>();
  private stopping = false;
  private unexpectedExit: UnexpectedExitHandler | undefined;

  constructor() {
    // Last resort when the script dies without a clean stop (uncaught error, process.exit).
    process.on('exit', () => {
      for (const service of this.services) if (!this.reaped.has(service)) signalGroup(service.pid, 'SIGKILL');
    });
  }

  /** Called when a service exits while the supervisor is not stopping. */
  onUnexpectedExit(handler: UnexpectedExitHandler): void {
    this.unexpectedExit = handler;
  }

  get isStopping(): boolean {
    return this.stopping;
  }

  start(spec: ServiceSpec): Service {
    if (this.stopping) throw new StackError(`not starting ${spec.name}: the stack is stopping`);
    let output: 'pipe' | 'inherit' | number = spec.raw ? 'inherit' : 'pipe';
    if (spec.logFile) {
      fs.mkdirSync(path.dirname(spec.logFile), { recursive: true });
      output = fs.openSync(spec.logFile, 'w');
    }
    const child: ChildProcess = spawn(spec.command, spec.args, {
      cwd: spec.cwd,
      env: spec.env ?? process.env,
      detached: true,
      stdio: ['ignore', output, output],
    });
    if (typeof output === 'number') fs.closeSync(output);
    const prefix = `[${spec.name}] `;
    if (child.stdout) prefixLines(child.stdout, prefix, process.stdout);
    if (child.stderr) prefixLines(child.stderr, prefix, process.stderr);

    let resolveExit: (exit: ExitInfo) => void = () => undefined;
    const exited = new Promise<ExitInfo>((resolve) => (resolveExit = resolve));
    const service: Service = { spec, pid: child.pid ?? -1, exit: undefined, exited };
    const finish = (exit: ExitInfo) => {
      if (service.exit) return;
      service.exit = exit;
      if (service.pid > 0 && !groupAlive(service.pid)) this.reaped.add(service);
      resolveExit(exit);
      if (!this.stopping && !spec.oneShot) this.unexpectedExit?.(service, exit);
    };
    child.on('error', (err) => {
      warn(`${spec.name}: ${err.message}`);
      finish({ code: 127, signal: null });
    });
    child.on('exit', (code, signal) => {
      // Let the last output lines through first (unless a descendant keeps the pipes open).
      const timer = setTimeout(() => finish({ code, signal }), 1000);
      child.once('close', () => {
        clearTimeout(timer);
        finish({ code, signal });
      });
    });
    if (child.pid !== undefined) this.services.push(service);
    return service;
  }

  /** Stops one service: its stop signal to the group, SIGKILL after the grace period. */
  async stop(service: Service): Promise<void> {
    if (service.pid <= 0 || this.reaped.has(service)) return;
    if (!service.exit || groupAlive(service.pid)) {
      signalGroup(service.pid, service.spec.stopSignal ?? 'SIGTERM');
      const clean = await groupGone(service.pid, service.spec.graceMs ?? 5000);
      if (!clean) {
        warn(`${service.spec.name} did not stop within ${service.spec.graceMs ?? 5000} ms: killing it (SIGKILL)`);
        signalGroup(service.pid, 'SIGKILL');
        await groupGone(service.pid, 5000);
      }
    }
    await service.exited;
    if (!groupAlive(service.pid)) this.reaped.add(service);
  }

  /** Stops everything, highest tier first; each tier's services at once. Idempotent. */
  async stopAll(): Promise<void> {
    this.stopping = true;
    const tiers = [...new Set(this.services.map((s) => s.spec.tier ?? 0))].sort((a, b) => b - a);
    for (const tier of tiers) {
      await Promise.all(this.services.filter((s) => (s.spec.tier ?? 0) === tier).map((s) => this.stop(s)));
    }
  }
}

/** The last lines of a log file, for the message when a service fails. */
export function logTail(file: string, lines = 20): string {
  try {
    const text = fs.readFileSync(file, 'utf8');
    return text.trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}
