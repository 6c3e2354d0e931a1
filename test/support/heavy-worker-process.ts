/**
 * The heavy worker as a separate process (workers/heavy.ts), for tests that kill it: its temp
 * dirs (tmpdir()) live under `workRoot`. Plus the process and file checks those tests make.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestStack } from './stack.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export function startHeavyWorkerProcess(stack: TestStack, workRoot: string): ChildProcess {
  return spawn(process.execPath, ['workers/heavy.ts'], {
    cwd: ROOT,
    env: {
      ...process.env,
      TEMPORAL_TASK_QUEUE: stack.config.temporal.taskQueue,
      TEMPORAL_HEAVY_TASK_QUEUE: stack.config.temporal.heavyTaskQueue,
      WORKER_METRICS_ADDRESS: '',
      TMPDIR: workRoot,
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

/** Pids of the processes whose command line mentions `pattern` (pgrep -f), never this process. */
export function processesMatching(pattern: string): number[] {
  try {
    return execFileSync('pgrep', ['-f', pattern], { encoding: 'utf8' }).trim().split('\n').filter(Boolean).map(Number).filter((pid) => pid !== process.pid);
  } catch {
    return []; // pgrep exits 1 when nothing matches
  }
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Every file under `dir`, recursively; [] when it does not exist. */
export function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => !e.isDirectory()).map((e) => join(e.parentPath, e.name));
}
