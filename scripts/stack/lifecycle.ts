/**
 * One way out for both commands: on SIGINT/SIGTERM/SIGHUP or a failure, stop every supervised
 * process (apps first, then infrastructure), run the registered clean-ups, exit with the code.
 * A second signal kills whatever is left at once.
 */
import { info, StackError, warn } from './log.ts';
import { Supervisor } from './processes.ts';

const SIGNAL_EXIT_CODES: Partial<Record<NodeJS.Signals, number>> = { SIGHUP: 129, SIGINT: 130, SIGTERM: 143 };

export class Lifecycle {
  readonly supervisor = new Supervisor();
  private readonly cleanups: ((code: number) => Promise<void> | void)[] = [];
  private exiting: Promise<never> | undefined;

  constructor() {
    for (const signal of Object.keys(SIGNAL_EXIT_CODES) as NodeJS.Signals[]) {
      process.on(signal, () => {
        const code = SIGNAL_EXIT_CODES[signal] ?? 1;
        if (this.exiting) {
          warn(`${signal} again: killing everything now`);
          process.exit(code); // the supervisor's exit hook SIGKILLs every process group
        }
        info(`${signal}: stopping…`);
        void this.shutdown(code);
      });
    }
  }

  get isShuttingDown(): boolean {
    return this.exiting !== undefined;
  }

  /** Runs at shutdown after the processes are stopped, last registered first; gets the exit code. */
  onCleanup(cleanup: (code: number) => Promise<void> | void): void {
    this.cleanups.push(cleanup);
  }

  shutdown(code: number): Promise<never> {
    this.exiting ??= (async () => {
      await this.supervisor.stopAll();
      for (const cleanup of this.cleanups.reverse()) {
        try {
          await cleanup(code);
        } catch (err) {
          warn(`clean-up failed: ${(err as Error).message}`);
        }
      }
      process.exit(code);
    })();
    return this.exiting;
  }

  /** Reports a startup failure (unless a signal is already stopping the stack) and shuts down with 1. */
  fail(err: unknown): Promise<never> {
    if (!this.exiting) {
      const message = err instanceof StackError ? err.message : err instanceof Error ? (err.stack ?? err.message) : String(err);
      process.stderr.write(`[stack] failed: ${message}\n`);
    }
    return this.shutdown(1);
  }
}
