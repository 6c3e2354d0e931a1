/**
 * Starts ffmpeg/ffprobe with its stdout handed to the caller as a stream (the streaming sibling of
 * `runTool`): bounded in time, killed with SIGKILL on timeout, on the caller's AbortSignal or on
 * `kill()`. stderr is split into lines for the caller and its last bytes kept for error messages;
 * extra pipes (fd 3, 4, …) can carry side channels such as `-progress pipe:3`.
 */
import { existsSync } from 'node:fs';
import { spawn, type ChildProcess } from 'node:child_process';
import type { Readable } from 'node:stream';
import { ToolNotFoundError } from './run-tool.ts';

export interface SpawnStreamingOptions {
  timeoutMs: number;
  signal?: AbortSignal;
  onStderrLine?: (line: string) => void;
  /** Lines of each extra pipe (index 0 is fd 3). */
  onPipeLine?: (pipe: number, line: string) => void;
  /** How many extra readable pipes to open after stderr (fd 3 …). Default 0. */
  extraPipes?: number;
  /** How many trailing stderr bytes to keep. Default 64 KiB. */
  stderrTailBytes?: number;
  /**
   * Kill the tool when this process dies, even by SIGKILL (Linux: `setpriv --pdeathsig KILL`, which
   * execs the tool in place). A tool writing files, not pipes, would otherwise outlive a killed
   * worker and race the retried attempt on the same paths.
   */
  dieWithParent?: boolean;
}

const SETPRIV = process.platform === 'linux' ? ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => existsSync(p)) : undefined;

export interface StreamingExit {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  aborted: boolean;
  /** Killed through `kill()` (not timeout, not abort). */
  killed: boolean;
  stderrTail: string;
}

export interface StreamingTool {
  child: ChildProcess;
  pid: number | undefined;
  stdout: Readable;
  /** Settles once the process has exited and all its pipes closed; rejects only with ToolNotFoundError. */
  exited: Promise<StreamingExit>;
  /** SIGKILL now, if still running (stdout is left to the caller). */
  kill(): void;
}

function lineSplitter(onLine: (line: string) => void): { push(chunk: string): void; flush(): void } {
  let pending = '';
  return {
    push(chunk) {
      const lines = (pending + chunk).split(/\r?\n|\r/);
      pending = lines.pop() ?? '';
      for (const line of lines) if (line) onLine(line);
    },
    flush() {
      if (pending) onLine(pending);
      pending = '';
    },
  };
}

export function spawnStreaming(command: string, args: readonly string[], options: SpawnStreamingOptions): StreamingTool {
  const extra = options.extraPipes ?? 0;
  const tailBytes = options.stderrTailBytes ?? 64 * 1024;
  const stdio: Array<'ignore' | 'pipe'> = ['ignore', 'pipe', 'pipe', ...Array.from({ length: extra }, () => 'pipe' as const)];
  const child = options.dieWithParent && SETPRIV
    ? spawn(SETPRIV, ['--pdeathsig', 'KILL', '--', command, ...args], { stdio })
    : spawn(command, args, { stdio });
  let timedOut = false;
  let aborted = false;
  let killed = false;
  let stderrTail = '';

  const killNow = () => {
    if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  // After a timeout or an abort the output is worthless: drop it, so that a consumer that stopped
  // reading cannot keep stdout (and so `exited`) open.
  const timer = setTimeout(() => {
    timedOut = true;
    killNow();
    child.stdout?.destroy();
  }, options.timeoutMs);
  const onAbort = () => {
    aborted = true;
    killNow();
    child.stdout?.destroy();
  };
  if (options.signal?.aborted) onAbort();
  else options.signal?.addEventListener('abort', onAbort, { once: true });

  const stderrLines = lineSplitter((line) => options.onStderrLine?.(line));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    stderrTail = (stderrTail + chunk).slice(-tailBytes);
    stderrLines.push(chunk);
  });
  const pipeFlushers: Array<() => void> = [];
  for (let p = 0; p < extra; p++) {
    const stream = child.stdio[3 + p] as Readable | null;
    if (!stream) continue;
    const lines = lineSplitter((line) => options.onPipeLine?.(p, line));
    pipeFlushers.push(() => lines.flush());
    stream.setEncoding('utf8').on('data', (chunk: string) => lines.push(chunk));
  }

  const exited = new Promise<StreamingExit>((resolve, reject) => {
    const done = () => {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
    };
    child.once('error', (err) => {
      done();
      reject(new ToolNotFoundError(command, err));
    });
    child.once('close', (exitCode, signal) => {
      done();
      stderrLines.flush();
      for (const flush of pipeFlushers) flush();
      resolve({ exitCode, signal, timedOut, aborted, killed, stderrTail });
    });
  });
  exited.catch(() => {}); // callers that only watch stdout must not see an unhandled rejection

  return {
    child,
    pid: child.pid,
    stdout: child.stdout!,
    exited,
    kill() {
      if (!timedOut && !aborted) killed = true;
      killNow();
    },
  };
}
