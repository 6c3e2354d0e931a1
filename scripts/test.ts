/**
 * `npm test [-- <paths…>] [--node-test-option…]`: provisions like `npm start`, but starts its own
 * components so it can run beside a running stack: Temporal (in memory, free port, headless), a
 * fresh database, SeaweedFS on free ports in .data/test-<pid>, a Redis without persistence for the
 * rate-limit store tests (TEST_REDIS_URL; the app itself keeps REDIS_URL unset, i.e. PostgreSQL); runs the migrations, then
 * `node --test` over test/**\/*.test.ts; stops and removes everything; exits with node --test's code.
 */
import fs from 'node:fs';
import path from 'node:path';
import { DEV_SECRETS } from '../lib/config.ts';
import { Lifecycle } from './stack/lifecycle.ts';
import { info, seconds, StackError } from './stack/log.ts';
import { DATA_DIR, ROOT, shown } from './stack/paths.ts';
import { findFreePort } from './stack/ports.ts';
import { describeExit, logTail } from './stack/processes.ts';
import {
  dropDatabase,
  dropStaleTestDatabases,
  ensureDatabase,
  providePostgres,
  testDatabaseName,
  withDatabase,
} from './stack/postgres.ts';
import { provideFluidsynth } from './stack/fluidsynth.ts';
import { provisionTools } from './stack/provision.ts';
import { provideRedisServer, startRedis } from './stack/redis.ts';
import { provideUnzip } from './stack/unzip.ts';
import { startStorage, type WeedPorts } from './stack/storage.ts';
import { startTemporal } from './stack/temporal.ts';
import { findTestFiles, selectTestFiles, splitTestArgs } from './stack/test-files.ts';

const env = process.env;
const started = Date.now();
const PG_SHARED_CLUSTER_PORT = 54329; // npm start's cluster, reused when it runs
const testDir = path.join(DATA_DIR, `test-${process.pid}`);
/** The components' logs: kept when the run fails, removed with everything else when it passes. */
const logDir = path.join(DATA_DIR, 'logs', `test-${process.pid}`);
const credentials = {
  accessKey: env.S3_ACCESS_KEY ?? DEV_SECRETS.S3_ACCESS_KEY,
  secretKey: env.S3_SECRET_KEY ?? DEV_SECRETS.S3_SECRET_KEY,
};

const lifecycle = new Lifecycle();
const { supervisor } = lifecycle;
supervisor.onUnexpectedExit((service, exit) => {
  const log = service.spec.logFile ? `\n${logTail(service.spec.logFile)}` : '';
  process.stderr.write(`[test] ${service.spec.name} ${describeExit(exit)} unexpectedly; stopping${log}\n`);
  void lifecycle.shutdown(1);
});

/** Removes .data/test-<pid> directories of runs that died without cleaning up. */
function removeStaleTestDirs(): void {
  if (!fs.existsSync(DATA_DIR)) return;
  for (const entry of fs.readdirSync(DATA_DIR)) {
    const pid = Number(/^test-(\d+)$/.exec(entry)?.[1]);
    if (!pid || pid === process.pid) continue;
    try {
      process.kill(pid, 0);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ESRCH') fs.rmSync(path.join(DATA_DIR, entry), { recursive: true, force: true });
    }
  }
}

async function weedPorts(s3: number): Promise<WeedPorts> {
  const free = async () => findFreePort();
  return {
    master: await free(), masterGrpc: await free(), volume: await free(), volumeGrpc: await free(),
    filer: await free(), filerGrpc: await free(), s3, s3Grpc: await free(),
  };
}

async function main(): Promise<void> {
  const { filters, nodeOptions } = splitTestArgs(process.argv.slice(2));
  let files: string[];
  try {
    files = selectTestFiles(findTestFiles(ROOT), filters, ROOT, env.INIT_CWD ?? process.cwd());
  } catch (err) {
    throw new StackError((err as Error).message);
  }
  if (files.length === 0) throw new StackError('no test files found (test/**/*.test.ts)');

  removeStaleTestDirs();
  fs.mkdirSync(logDir, { recursive: true });
  lifecycle.onCleanup((code) => {
    fs.rmSync(testDir, { recursive: true, force: true });
    if (code === 0) fs.rmSync(logDir, { recursive: true, force: true });
    else process.stderr.write(`[test] logs of the test stack kept in ${shown(logDir)}\n`);
  });

  const tools = provisionTools({ testServer: true });
  const unzip = provideUnzip();
  const fluidsynth = provideFluidsynth(); // MIDI ground truth of the beat-accuracy tests
  const database = (async () => {
    const server = await providePostgres(supervisor, {
      dir: path.join(testDir, 'pg'),
      port: await findFreePort(),
      sharedClusterPort: PG_SHARED_CLUSTER_PORT,
      logFile: path.join(logDir, 'postgres.log'),
      ephemeral: true,
    });
    if (!server.service) await dropStaleTestDatabases(server.url).catch(() => undefined);
    const url = withDatabase(server.url, testDatabaseName());
    await ensureDatabase(url);
    // A cluster of our own is deleted with the test directory; on a shared server, drop the database.
    if (!server.service) lifecycle.onCleanup(() => dropDatabase(url));
    return url;
  })();
  const temporal = (async () => {
    const t = Date.now();
    const { address } = await startTemporal(supervisor, (await tools).temporalCli, {
      port: await findFreePort(),
      logFile: path.join(logDir, 'temporal.log'),
      graceMs: 3000,
      stopSignal: 'SIGKILL', // in-memory state, nothing to save
    });
    info(`Temporal dev server on ${address} (in memory, ${seconds(t)})`);
    return address;
  })();
  const storage = (async () => {
    const { storage: plan, weed } = await tools;
    return startStorage(supervisor, {
      plan,
      weed,
      credentials,
      dir: path.join(testDir, plan.kind === 'minio' ? 'minio' : 'seaweed'),
      logFile: path.join(logDir, plan.kind === 'minio' ? 'minio.log' : 'seaweedfs.log'),
      ports: weedPorts,
      s3Port: await findFreePort(),
      graceMs: 1000,
      stopSignal: 'SIGKILL', // its data directory is deleted next
    });
  })();
  const redis = (async () => {
    const dir = path.join(testDir, 'redis');
    fs.mkdirSync(dir, { recursive: true });
    const server = await startRedis(supervisor, await provideRedisServer(), {
      port: await findFreePort(),
      dir,
      logFile: path.join(logDir, 'redis.log'),
      graceMs: 1000,
      stopSignal: 'SIGKILL', // nothing persisted
    });
    return server.url;
  })();
  const settled = await Promise.allSettled([tools, unzip, fluidsynth, database, temporal, storage, redis]);
  const failure = settled.find((r) => r.status === 'rejected');
  if (failure) throw failure.reason;
  const { ffmpeg, temporalCli, temporalTestServer } = await tools;

  const testEnv: NodeJS.ProcessEnv = {
    ...env,
    NODE_ENV: 'test',
    LOG_LEVEL: 'warn',
    MOVIOLA_TEST_STACK: '1',
    DATABASE_URL: await database,
    TEMPORAL_ADDRESS: await temporal,
    TEMPORAL_CLI_PATH: temporalCli,
    TEMPORAL_TEST_SERVER_PATH: temporalTestServer,
    S3_ENDPOINT: (await storage).endpoint,
    S3_ACCESS_KEY: credentials.accessKey,
    S3_SECRET_KEY: credentials.secretKey,
    STORAGE_BUCKET_PREFIX: `mtest${process.pid}`,
    FFMPEG_PATH: ffmpeg.ffmpeg,
    FFPROBE_PATH: ffmpeg.ffprobe,
    FLUIDSYNTH_PATH: (await fluidsynth).fluidsynth,
    SOUNDFONT_PATH: (await fluidsynth).soundfont,
    REDIS_URL: '', // the app's tests use the PostgreSQL store; the Redis store is tested through TEST_REDIS_URL
    TEST_REDIS_URL: await redis,
  };

  const migrate = supervisor.start({
    name: 'migrate', command: process.execPath, args: ['scripts/migrate.ts'], cwd: ROOT, env: testEnv, tier: 2, oneShot: true, raw: true,
  });
  const migrated = await migrate.exited;
  if (migrated.code !== 0) throw new StackError(`migrations failed (${describeExit(migrated)})`);

  info(`test stack ready in ${seconds(started)}; running ${files.length} test file(s)`);
  const runner = supervisor.start({
    name: 'node --test',
    command: process.execPath,
    args: ['--test', '--test-concurrency=1', '--test-reporter=spec', ...nodeOptions, ...files],
    cwd: ROOT,
    env: testEnv,
    tier: 2,
    oneShot: true,
    raw: true,
    graceMs: 10_000,
  });
  const result = await runner.exited;
  const code = result.code ?? 1;
  info(`node --test ${describeExit(result)} (${seconds(started)} in all); stopping the test stack`);
  await lifecycle.shutdown(code);
}

main().catch((err: unknown) => lifecycle.fail(err));
