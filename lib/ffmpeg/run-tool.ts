/**
 * Runs ffmpeg/ffprobe as a child process: bounded in time and output, killed (SIGKILL) on timeout or
 * when the caller's AbortSignal fires (activity cancellation). Never throws on a non-zero exit:
 * callers decide what an exit code means.
 */
import { spawn } from 'node:child_process';

export interface RunToolOptions {
  timeoutMs: number;
  signal?: AbortSignal;
  /** Called with each stderr line (progress parsing, logging). */
  onStderrLine?: (line: string) => void;
  maxOutputBytes?: number;
}

export interface RunToolResult {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  aborted: boolean;
}

export class ToolNotFoundError extends Error {
  readonly command: string;
  constructor(command: string, cause: unknown) {
    super(`${command} could not be started; install ffmpeg or set FFMPEG_PATH/FFPROBE_PATH`, { cause });
    this.name = 'ToolNotFoundError';
    this.command = command;
  }
}

export function runTool(command: string, args: readonly string[], options: RunToolOptions): Promise<RunToolResult> {
  const maxOutput = options.maxOutputBytes ?? 8 * 1024 * 1024;
  return new Promise((resolve, reject) => {
    if (options.signal?.aborted) {
      resolve({ exitCode: null, signal: null, stdout: '', stderr: '', timedOut: false, aborted: true });
      return;
    }
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let pendingLine = '';
    let timedOut = false;
    let aborted = false;

    const kill = () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    };
    const timer = setTimeout(() => {
      timedOut = true;
      kill();
    }, options.timeoutMs);
    const onAbort = () => {
      aborted = true;
      kill();
    };
    options.signal?.addEventListener('abort', onAbort, { once: true });

    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      if (stdout.length < maxOutput) stdout += chunk;
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      if (stderr.length < maxOutput) stderr += chunk;
      if (!options.onStderrLine) return;
      const lines = (pendingLine + chunk).split(/\r?\n|\r/);
      pendingLine = lines.pop() ?? '';
      for (const line of lines) if (line) options.onStderrLine(line);
    });
    child.once('error', (err) => {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      reject(new ToolNotFoundError(command, err));
    });
    child.once('close', (exitCode, signal) => {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      if (pendingLine && options.onStderrLine) options.onStderrLine(pendingLine);
      resolve({ exitCode, signal, stdout, stderr, timedOut, aborted });
    });
  });
}
