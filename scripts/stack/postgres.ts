/**
 * PostgreSQL >= 15: DATABASE_URL when set; else a server on 127.0.0.1:5432; else a throwaway
 * cluster from the system binaries (apt-get install postgresql when root on Debian and missing).
 * Also creates and drops the databases the stack uses.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { provision, seconds, StackError, warn } from './log.ts';
import { shown } from './paths.ts';
import { isListening, waitUntil } from './ports.ts';
import { describeExit, type Service, type Supervisor } from './processes.ts';
import { aptInstall, isDebian, isExecutable, isRoot, run, tail, which } from './tools.ts';

export const MIN_POSTGRES_VERSION_NUM = 150000;
export const DEFAULT_DATABASE = 'moviola';

/** The same server URL pointing at another database. */
export function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${encodeURIComponent(database)}`;
  return parsed.toString();
}

/** The database a URL names ('postgres' when it names none). */
export function databaseOf(url: string): string {
  const name = decodeURIComponent(new URL(url).pathname.replace(/^\//, ''));
  return name || 'postgres';
}

export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

async function withClient<T>(url: string, body: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return await body(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Connects and checks the version; an error message when the server is not usable. */
async function probe(url: string): Promise<string | undefined> {
  try {
    const versionNum = await withClient(url, async (client) => {
      const result = await client.query<{ server_version_num: string }>('SHOW server_version_num');
      return Number(result.rows[0]?.server_version_num);
    });
    if (versionNum < MIN_POSTGRES_VERSION_NUM) return `PostgreSQL ${versionNum} is older than 15`;
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

/** Creates the database the URL names unless it exists. */
export async function ensureDatabase(url: string): Promise<'created' | 'exists'> {
  const name = databaseOf(url);
  try {
    await withClient(url, async () => undefined);
    return 'exists';
  } catch (err) {
    if ((err as { code?: string }).code !== '3D000') throw err; // anything but "database does not exist"
  }
  try {
    await withClient(withDatabase(url, 'postgres'), (client) => client.query(`CREATE DATABASE ${quoteIdent(name)}`));
  } catch (err) {
    if ((err as { code?: string }).code !== '42P04') throw err; // created concurrently
  }
  return 'created';
}

/** Drops the database the URL names, disconnecting its sessions. */
export async function dropDatabase(url: string): Promise<void> {
  const name = databaseOf(url);
  await withClient(withDatabase(url, 'postgres'), (client) =>
    client.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`),
  );
}

/** Test database names carry the creating pid: `moviola_test_<unix seconds>_<pid>`. */
export function testDatabaseName(pid: number = process.pid, now: Date = new Date()): string {
  return `moviola_test_${Math.floor(now.getTime() / 1000)}_${pid}`;
}

export function parseTestDatabaseName(name: string): { createdAt: Date; pid: number } | undefined {
  const match = /^moviola_test_(\d+)_(\d+)$/.exec(name);
  return match ? { createdAt: new Date(Number(match[1]) * 1000), pid: Number(match[2]) } : undefined;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Drops test databases left by runs that died before cleaning up: on a loopback server those whose
 * pid is gone, elsewhere (a shared DATABASE_URL) only those older than a day.
 */
export async function dropStaleTestDatabases(serverUrl: string): Promise<void> {
  const host = new URL(serverUrl).hostname;
  const local = host === '127.0.0.1' || host === 'localhost' || host === '[::1]';
  const names = await withClient(withDatabase(serverUrl, 'postgres'), async (client) => {
    const result = await client.query<{ datname: string }>("SELECT datname FROM pg_database WHERE datname LIKE 'moviola_test_%'");
    return result.rows.map((row) => row.datname);
  });
  for (const name of names) {
    const parsed = parseTestDatabaseName(name);
    if (!parsed || parsed.pid === process.pid) continue;
    const stale = local ? !processAlive(parsed.pid) : Date.now() - parsed.createdAt.getTime() > 86_400_000;
    if (stale) await dropDatabase(withDatabase(serverUrl, name)).catch(() => undefined);
  }
}

interface PostgresBinaries {
  initdb: string;
  postgres: string;
  version: string;
}

async function findBinaries(): Promise<PostgresBinaries | undefined> {
  const base = '/usr/lib/postgresql';
  const dirs: string[] = [];
  if (fs.existsSync(base)) {
    const versions = fs
      .readdirSync(base)
      .filter((v) => /^\d+$/.test(v) && Number(v) >= 15)
      .sort((a, b) => Number(b) - Number(a));
    dirs.push(...versions.map((v) => path.join(base, v, 'bin')));
  }
  const initdbOnPath = which('initdb');
  if (initdbOnPath) dirs.push(path.dirname(fs.realpathSync(initdbOnPath)));
  for (const dir of dirs) {
    const initdb = path.join(dir, 'initdb');
    const postgres = path.join(dir, 'postgres');
    if (!isExecutable(initdb) || !isExecutable(postgres)) continue;
    const out = await run(postgres, ['--version']); // "postgres (PostgreSQL) 15.20 (Debian 15.20-0+deb12u1)"
    const version = /\(PostgreSQL\) (\d+)(\.\d+)?/.exec(out.stdout);
    if (out.code === 0 && version && Number(version[1]) >= 15) return { initdb, postgres, version: `${version[1]}${version[2] ?? ''}` };
  }
  return undefined;
}

/** As root, the cluster runs as the `postgres` OS user (initdb refuses root). */
const CLUSTER_USER = 'postgres';

function asClusterUser(command: string, args: readonly string[]): [string, string[]] {
  return isRoot() ? ['runuser', ['-u', CLUSTER_USER, '--', command, ...args]] : [command, [...args]];
}

/** Makes `dir` usable by the cluster user; falls back to a temp dir when the repo is not reachable by it. */
async function prepareClusterDir(dir: string): Promise<string> {
  fs.mkdirSync(dir, { recursive: true });
  if (!isRoot()) return dir;
  if ((await run('id', ['-u', CLUSTER_USER])).code !== 0) {
    const created = await run('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', CLUSTER_USER]);
    if (created.code !== 0) throw new StackError(`cannot create the ${CLUSTER_USER} OS user:\n${tail(created.stderr)}`);
  }
  fs.chmodSync(dir, 0o700);
  await run('chown', ['-R', `${CLUSTER_USER}:`, dir]);
  if ((await run('runuser', ['-u', CLUSTER_USER, '--', 'test', '-w', dir])).code === 0) return dir;
  const fallback = path.join(os.tmpdir(), `moviola-${CLUSTER_USER}-${path.basename(path.dirname(dir))}-${path.basename(dir)}`);
  warn(`${shown(dir)} is not reachable by the ${CLUSTER_USER} user; the cluster lives in ${fallback}`);
  fs.mkdirSync(fallback, { recursive: true, mode: 0o700 });
  await run('chown', ['-R', `${CLUSTER_USER}:`, fallback]);
  return fallback;
}

export interface ClusterOptions {
  dir: string;
  port: number;
  logFile: string;
  /** Throwaway test clusters trade durability for speed (fsync off). */
  ephemeral: boolean;
}

async function startCluster(supervisor: Supervisor, bin: PostgresBinaries, options: ClusterOptions): Promise<Service> {
  const dir = await prepareClusterDir(options.dir);
  if (!fs.existsSync(path.join(dir, 'PG_VERSION'))) {
    const [cmd, args] = asClusterUser(bin.initdb, ['-D', dir, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--no-locale', '--no-sync']);
    const init = await run(cmd, args);
    if (init.code !== 0) throw new StackError(`initdb failed:\n${tail(init.stdout + init.stderr)}`);
  }
  const settings = ['listen_addresses=127.0.0.1', 'unix_socket_directories=', 'max_connections=200'];
  if (options.ephemeral) settings.push('fsync=off', 'synchronous_commit=off', 'full_page_writes=off');
  const [cmd, args] = asClusterUser(bin.postgres, ['-D', dir, '-p', String(options.port), ...settings.flatMap((s) => ['-c', s])]);
  const service = supervisor.start({
    name: 'postgres',
    command: cmd,
    args,
    logFile: options.logFile,
    stopSignal: 'SIGINT', // "fast" shutdown: SIGTERM would wait for clients to disconnect
    graceMs: 10_000,
  });
  const url = `postgres://postgres@127.0.0.1:${options.port}/postgres`;
  await waitUntil(async () => (await probe(url)) === undefined, {
    what: `PostgreSQL cluster on port ${options.port}`,
    timeoutMs: 60_000,
    intervalMs: 100,
    abort: () => (service.exit ? `${describeExit(service.exit)} (log: ${shown(options.logFile)})` : undefined),
  });
  return service;
}

export interface PostgresServer {
  /** URL of the server (its `postgres` database); name databases with withDatabase(). */
  url: string;
  /** The cluster process when this run started one. */
  service?: Service;
}

const LOCAL_SERVER = 'postgres://postgres@127.0.0.1:5432/postgres';

/**
 * DATABASE_URL → server on 127.0.0.1:5432 → an already running cluster on `sharedClusterPort`
 * → a cluster started here.
 */
export async function providePostgres(
  supervisor: Supervisor,
  cluster: ClusterOptions & { sharedClusterPort: number },
): Promise<PostgresServer> {
  const started = Date.now();
  const explicit = process.env.DATABASE_URL;
  if (explicit) {
    const problem = await probe(withDatabase(explicit, 'postgres'));
    if (problem) throw new StackError(`DATABASE_URL server is not usable: ${problem}`);
    provision(`PostgreSQL: ${new URL(explicit).host} (DATABASE_URL)`);
    return { url: withDatabase(explicit, 'postgres') };
  }
  if (await isListening(5432)) {
    const problem = await probe(LOCAL_SERVER);
    if (!problem) {
      provision('PostgreSQL: 127.0.0.1:5432 (running server, user postgres)');
      return { url: LOCAL_SERVER };
    }
    warn(`a server answers on 127.0.0.1:5432 but is not usable as user postgres (${problem}); using a cluster`);
  }
  const shared = `postgres://postgres@127.0.0.1:${cluster.sharedClusterPort}/postgres`;
  if (await isListening(cluster.sharedClusterPort)) {
    const problem = await probe(shared);
    if (!problem) {
      provision(`PostgreSQL: 127.0.0.1:${cluster.sharedClusterPort} (cluster already running)`);
      return { url: shared };
    }
    if (cluster.port === cluster.sharedClusterPort) {
      throw new StackError(`port ${cluster.port} is taken by something that is not a usable PostgreSQL (${problem})`);
    }
  }
  let binaries = await findBinaries();
  let how = 'system binaries';
  if (!binaries) {
    if (!isRoot() || !isDebian()) {
      throw new StackError(
        'PostgreSQL >= 15 not found: set DATABASE_URL, run a server on 127.0.0.1:5432, ' +
          'or install the server binaries (Debian: apt-get install postgresql)',
      );
    }
    await aptInstall(['postgresql']);
    if (await isListening(5432)) {
      // Debian's package may start its own cluster on 5432.
      if (!(await probe(LOCAL_SERVER))) {
        provision('PostgreSQL: 127.0.0.1:5432 (installed with apt-get)');
        return { url: LOCAL_SERVER };
      }
    }
    binaries = await findBinaries();
    if (!binaries) throw new StackError('apt-get install postgresql did not provide initdb and postgres >= 15');
    how = 'installed with apt-get';
  }
  const service = await startCluster(supervisor, binaries, cluster);
  provision(
    `PostgreSQL ${binaries.version}: cluster in ${shown(cluster.dir)} on 127.0.0.1:${cluster.port} (${how}, ${seconds(started)})`,
  );
  return { url: `postgres://postgres@127.0.0.1:${cluster.port}/postgres`, service };
}
