/** The scripts' own console lines: `[provision] …` for each provisioning step, `[stack] …` otherwise. */

export function provision(message: string): void {
  process.stdout.write(`[provision] ${message}\n`);
}

export function info(message: string): void {
  process.stdout.write(`[stack] ${message}\n`);
}

export function warn(message: string): void {
  process.stderr.write(`[stack] ${message}\n`);
}

/** An error whose message is meant for the user as is (no stack trace). */
export class StackError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StackError';
  }
}

export function seconds(sinceMs: number): string {
  return `${((Date.now() - sinceMs) / 1000).toFixed(1)}s`;
}
