/** What the benchmarks share: running a command with its wall time, and medians. */
import { spawn } from 'node:child_process';

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

export function exec(command: string, args: string[], options: { cwd?: string } = {}): Promise<Run> {
  return new Promise((done) => {
    const started = performance.now();
    const child = spawn(command, args, { cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    child.on('error', (err) => done({ code: 127, stdout, stderr: String(err), ms: performance.now() - started }));
    child.on('close', (code) => done({ code: code ?? 1, stdout, stderr, ms: performance.now() - started }));
  });
}

export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}
