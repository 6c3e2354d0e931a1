/**
 * `npm start`: provisions what is missing, starts Temporal (dev server, state in .data/temporal),
 * PostgreSQL, object storage, runs the migrations, then the API and the workers (main, heavy, AI); prints the URLs.
 * Ctrl-C (SIGINT/SIGTERM) stops everything it started. Run through scripts/moviola.sh.
 */
import fs from 'node:fs';
import path from 'node:path';
import { DEV_SECRETS } from '../lib/config.ts';
import { Lifecycle } from './stack/lifecycle.ts';
import { info, seconds, StackError } from './stack/log.ts';
import { DATA_DIR, ROOT, shown } from './stack/paths.ts';
import { canBind, httpStatus, preferredOrFreePort, waitUntil } from './stack/ports.ts';
import { describeExit, logTail, type ServiceSpec } from './stack/processes.ts';
import { DEFAULT_DATABASE, ensureDatabase, providePostgres, withDatabase } from './stack/postgres.ts';
import { provisionTools } from './stack/provision.ts';
import { startMailCatcher } from './stack/mail-catcher.ts';
import { startStorage, type WeedPorts } from './stack/storage.ts';
import { startTemporal } from './stack/temporal.ts';

const env = process.env;
const started = Date.now();
const LOG_DIR = path.join(DATA_DIR, 'logs');
const TEMPORAL_PORT = 7233;
const TEMPORAL_UI_PORT = 8233;
const S3_PORT = 8333;
const PG_CLUSTER_PORT = 54329;
const API_PORT = Number(env.API_PORT ?? 3000);
const METRICS = { main: '127.0.0.1:9464', heavy: '127.0.0.1:9465', ai: '127.0.0.1:9466' };
const READY_TIMEOUT_MS = Number(env.MOVIOLA_READY_TIMEOUT_MS ?? 180_000);
const credentials = {
  accessKey: env.S3_ACCESS_KEY ?? DEV_SECRETS.S3_ACCESS_KEY,
  secretKey: env.S3_SECRET_KEY ?? DEV_SECRETS.S3_SECRET_KEY,
};

const lifecycle = new Lifecycle();
const { supervisor } = lifecycle;
supervisor.onUnexpectedExit((service, exit) => {
  const log = service.spec.logFile ? `\n${logTail(service.spec.logFile)}\n(log: ${shown(service.spec.logFile)})` : '';
  process.stderr.write(`[stack] ${service.spec.name} ${describeExit(exit)} unexpectedly; stopping the stack${log}\n`);
  void lifecycle.shutdown(1);
});

/** Fails before anything starts when a fixed port is taken (typically: another `npm start`). */
async function preflight(): Promise<void> {
  const ports: [number, string][] = [[API_PORT, 'API_PORT']];
  if (!env.TEMPORAL_ADDRESS) ports.push([TEMPORAL_PORT, 'Temporal'], [TEMPORAL_UI_PORT, 'Temporal UI']);
  if (!env.S3_ENDPOINT) ports.push([S3_PORT, 'S3']);
  ports.push([Number(METRICS.main.split(':')[1]), 'main worker metrics'], [Number(METRICS.heavy.split(':')[1]), 'heavy worker metrics'], [Number(METRICS.ai.split(':')[1]), 'AI worker metrics']);
  const taken: string[] = [];
  for (const [port, what] of ports) if (!(await canBind(port))) taken.push(`${port} (${what})`);
  if (taken.length > 0) {
    throw new StackError(`port(s) already in use: ${taken.join(', ')}. Is another stack running?`);
  }
  const missing = ['api/server.ts', 'workers/main.ts', 'workers/heavy.ts', 'workers/ai.ts', 'scripts/migrate.ts'].filter(
    (file) => !fs.existsSync(path.join(ROOT, file)),
  );
  if (missing.length > 0) throw new StackError(`missing entry point(s): ${missing.join(', ')}`);
}

async function weedPorts(s3: number): Promise<WeedPorts> {
  const [master, volume, filer] = [await preferredOrFreePort(9333), await preferredOrFreePort(8080), await preferredOrFreePort(8888)];
  const grpc = async (port: number) => preferredOrFreePort(port + 10000);
  return {
    master, masterGrpc: await grpc(master), volume, volumeGrpc: await grpc(volume),
    filer, filerGrpc: await grpc(filer), s3, s3Grpc: await grpc(s3),
  };
}

function redactPassword(url: string): string {
  const parsed = new URL(url);
  if (parsed.password) parsed.password = '***';
  return parsed.toString();
}

async function bringUp(): Promise<void> {
  await preflight();
  fs.mkdirSync(LOG_DIR, { recursive: true });
  const tools = provisionTools({ testServer: false });
  const database = (async () => {
    const server = await providePostgres(supervisor, {
      dir: path.join(DATA_DIR, 'pg'),
      port: PG_CLUSTER_PORT,
      sharedClusterPort: PG_CLUSTER_PORT,
      logFile: path.join(LOG_DIR, 'postgres.log'),
      ephemeral: false,
    });
    const url = env.DATABASE_URL ?? withDatabase(server.url, DEFAULT_DATABASE);
    const outcome = await ensureDatabase(url);
    info(`database ${new URL(url).pathname.slice(1)} ${outcome === 'created' ? 'created' : 'exists'}`);
    return url;
  })();
  const temporal = (async () => {
    if (env.TEMPORAL_ADDRESS) {
      info(`Temporal: ${env.TEMPORAL_ADDRESS} (TEMPORAL_ADDRESS)`);
      return env.TEMPORAL_ADDRESS;
    }
    const t = Date.now();
    fs.mkdirSync(path.join(DATA_DIR, 'temporal'), { recursive: true });
    const { address } = await startTemporal(supervisor, (await tools).temporalCli, {
      port: TEMPORAL_PORT,
      uiPort: TEMPORAL_UI_PORT,
      dbFile: path.join(DATA_DIR, 'temporal', 'dev.sqlite'),
      logFile: path.join(LOG_DIR, 'temporal.log'),
      graceMs: 10_000,
    });
    info(`Temporal dev server on ${address}, state in .data/temporal/dev.sqlite (${seconds(t)})`);
    return address;
  })();
  const storage = (async () => {
    const { storage: plan, weed } = await tools;
    return startStorage(supervisor, {
      plan,
      weed,
      credentials,
      dir: path.join(DATA_DIR, plan.kind === 'minio' ? 'minio' : 'seaweed'),
      logFile: path.join(LOG_DIR, plan.kind === 'minio' ? 'minio.log' : 'seaweedfs.log'),
      ports: weedPorts,
      s3Port: S3_PORT,
      graceMs: 1500, // its filer stalls 15 s on the S3 gateway's stream; volumes and metadata survive a kill
    });
  })();
  // Wait for every pipeline, so that a failure does not leave another one starting processes.
  const settled = await Promise.allSettled([tools, database, temporal, storage]);
  const failure = settled.find((r) => r.status === 'rejected');
  if (failure) throw failure.reason;
  const { ffmpeg, temporalCli } = await tools;
  // No SMTP server given: catch the stack's e-mails locally.
  const mail = env.SMTP_HOST
    ? null
    : await startMailCatcher({ port: await preferredOrFreePort(1025), dir: path.join(DATA_DIR, 'mail'), log: (line) => info(line) });
  if (mail) lifecycle.onCleanup(() => mail.stop());

  const appEnv: NodeJS.ProcessEnv = {
    ...env,
    NODE_ENV: env.NODE_ENV ?? 'development',
    DATABASE_URL: await database,
    TEMPORAL_ADDRESS: await temporal,
    TEMPORAL_CLI_PATH: temporalCli,
    S3_ENDPOINT: (await storage).endpoint,
    S3_ACCESS_KEY: credentials.accessKey,
    S3_SECRET_KEY: credentials.secretKey,
    FFMPEG_PATH: ffmpeg.ffmpeg,
    FFPROBE_PATH: ffmpeg.ffprobe,
    ...(mail ? { SMTP_HOST: '127.0.0.1', SMTP_PORT: String(mail.port) } : {}),
  };

  const migrate = supervisor.start({
    name: 'migrate', command: process.execPath, args: ['scripts/migrate.ts'], cwd: ROOT, env: appEnv, tier: 2, oneShot: true, raw: true,
  });
  const migrated = await migrate.exited;
  if (migrated.code !== 0) throw new StackError(`migrations failed (${describeExit(migrated)})`);

  const workerGrace = Number(env.WORKER_SHUTDOWN_GRACE_MS ?? 30_000) + 5000;
  const apps: ServiceSpec[] = [
    { name: 'api', command: process.execPath, args: ['api/server.ts'], graceMs: Number(env.SHUTDOWN_GRACE_MS ?? 10_000) + 5000 },
    { name: 'worker', command: process.execPath, args: ['workers/main.ts'], graceMs: workerGrace,
      env: { ...appEnv, WORKER_METRICS_ADDRESS: METRICS.main } },
    { name: 'heavy', command: process.execPath, args: ['workers/heavy.ts'], graceMs: workerGrace,
      env: { ...appEnv, WORKER_METRICS_ADDRESS: METRICS.heavy } },
    { name: 'ai', command: process.execPath, args: ['workers/ai.ts'], graceMs: workerGrace,
      env: { ...appEnv, WORKER_METRICS_ADDRESS: METRICS.ai } },
  ];
  for (const app of apps) supervisor.start({ env: appEnv, ...app, cwd: ROOT, tier: 1 });

  const readyUrl = `http://127.0.0.1:${API_PORT}/api/v1/ready`;
  await waitUntil(async () => (await httpStatus(readyUrl)) === 200, {
    what: `GET ${readyUrl}`,
    timeoutMs: READY_TIMEOUT_MS,
    intervalMs: 300,
    abort: () => (lifecycle.isShuttingDown ? 'the stack is stopping' : undefined),
  });

  const publicUrl = (env.PUBLIC_URL ?? `http://localhost:${API_PORT}`).replace(/\/+$/, '');
  const lines = [
    `Moviola is up (${seconds(started)}):`,
    `  API           ${publicUrl}/api/v1`,
    `  API docs      ${publicUrl}/docs`,
    `  OpenAPI       ${publicUrl}/openapi.json`,
    env.TEMPORAL_ADDRESS ? `  Temporal      ${env.TEMPORAL_ADDRESS}` : `  Temporal UI   http://localhost:${TEMPORAL_UI_PORT}`,
    `  S3 endpoint   ${appEnv.S3_ENDPOINT} (access key ${credentials.accessKey})`,
    `  PostgreSQL    ${redactPassword(appEnv.DATABASE_URL ?? '')}`,
    mail ? `  e-mail        smtp://127.0.0.1:${mail.port}, caught in ${shown(path.join(DATA_DIR, 'mail'))}/` : `  e-mail        SMTP ${env.SMTP_HOST}:${env.SMTP_PORT ?? 1025}`,
    `  logs          ${shown(LOG_DIR)}/ (temporal, postgres, object storage)`,
    'Press Ctrl-C to stop.',
  ];
  info(lines.join('\n'));
}

bringUp().catch((err: unknown) => lifecycle.fail(err));
