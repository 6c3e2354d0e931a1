/**
 * The real stack for integration tests: config from the environment `npm test` exports, the API
 * app on an ephemeral port, and a main worker in this process on a task queue of its own.
 */
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, type Worker } from '@temporalio/worker';
import { createActivities, type Activities } from '../../activities/index.ts';
import { createApp, type App } from '../../api/app.ts';
import { loadConfig, type Config } from '../../lib/config.ts';
import { openOrm, type Orm } from '../../lib/db/orm.ts';
import { createLogger } from '../../lib/logger.ts';
import { createMailer } from '../../lib/notify/mailer.ts';
import { createRateLimitBackend } from '../../lib/rate-limit/store.ts';
import { createStorage, type StorageDriver } from '../../lib/storage/index.ts';
import { createWorker } from '../../workers/factory.ts';
import { requireEnv } from './env.ts';

export interface TestStack {
  config: Config;
  orm: Orm;
  storage: StorageDriver;
  temporal: Client;
  app: App;
  baseUrl: string;
  worker: Worker;
  stop(): Promise<void>;
}

export interface TestStackOptions {
  name: string;
  env?: Record<string, string>;
  /** Run a heavy worker (one slot) in this process too (default true). */
  heavyWorker?: boolean;
  /** Per-job temp dirs of heavy activities. */
  workDir?: string;
  /**
   * Wraps the activities the in-process workers register (default: unchanged), e.g. to inject a
   * fault at an activity boundary. Workers in other processes are not affected.
   */
  wrapActivities?: (activities: Activities) => Activities;
}

export async function startTestStack(options: TestStackOptions): Promise<TestStack> {
  for (const name of ['DATABASE_URL', 'TEMPORAL_ADDRESS', 'S3_ENDPOINT']) requireEnv(name);
  const taskQueue = `moviola-test-${options.name}-${process.pid}`;
  const config = loadConfig({
    ...process.env,
    TEMPORAL_TASK_QUEUE: taskQueue,
    TEMPORAL_HEAVY_TASK_QUEUE: `${taskQueue}-heavy`,
    WORKER_METRICS_ADDRESS: '',
    ...options.env,
  });
  const logger = createLogger({ level: process.env.LOG_LEVEL ?? 'warn', name: `test-${options.name}` });
  const orm = await openOrm(config.database);
  const storage = createStorage(config.storage);
  await storage.ensureBuckets();
  const connection = await Connection.connect({ address: config.temporal.address });
  const temporal = new Client({ connection, namespace: config.temporal.namespace });
  const rateLimitBackend = createRateLimitBackend({ redisUrl: config.rateLimit.redisUrl, databaseUrl: config.database.url, logger });
  const app = createApp({ config, logger, orm, storage, temporal, rateLimitBackend });
  const server: Server = await new Promise((resolve) => {
    const s = app.koa.listen(0, '127.0.0.1', () => resolve(s));
  });
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const mailer = createMailer(config.smtp, logger);
  const workerConnection = await NativeConnection.connect({ address: config.temporal.address });
  const created = createActivities({ orm, storage, mailer, logger, media: config.media, frames: config.frames, assets: config.assets, ai: config.ai, clips: config.clips, workDir: options.workDir });
  const activities = options.wrapActivities ? options.wrapActivities(created) : created;
  const worker = await createWorker({
    connection: workerConnection,
    namespace: config.temporal.namespace,
    taskQueue,
    activities,
    withWorkflows: true,
    shutdownGraceTimeMs: 1_000,
  });
  const heavy = options.heavyWorker === false ? null : await createWorker({
    connection: workerConnection,
    namespace: config.temporal.namespace,
    taskQueue: config.temporal.heavyTaskQueue,
    activities,
    withWorkflows: false,
    maxConcurrentActivityTaskExecutions: 1,
    shutdownGraceTimeMs: 1_000,
  });
  const running = Promise.all([worker.run(), heavy?.run()]);

  return {
    config, orm, storage, temporal, app, baseUrl, worker,
    async stop() {
      worker.shutdown();
      heavy?.shutdown();
      await running;
      await new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await workerConnection.close();
      await connection.close();
      mailer.close();
      await rateLimitBackend.close();
      await orm.close();
    },
  };
}

/** Polls `fn` until it returns a value (not undefined) or the deadline passes. */
export async function eventually<T>(fn: () => Promise<T | undefined>, options: { timeoutMs?: number; what?: string } = {}): Promise<T> {
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  for (;;) {
    const value = await fn();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${options.what ?? 'condition'}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
