/**
 * Entry point shared by workers/main.ts, workers/heavy.ts and workers/ai.ts: config, logging and metrics runtime,
 * dependencies, the worker, and a graceful stop on SIGINT/SIGTERM (in-flight activities get
 * WORKER_SHUTDOWN_GRACE_MS to finish before they are cancelled).
 */
import { hostname } from 'node:os';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Runtime } from '@temporalio/worker';
import { createActivities } from '../activities/index.ts';
import { loadConfigOrExit } from '../lib/config.ts';
import { openOrm, type Orm } from '../lib/db/orm.ts';
import { createLogger, type Logger } from '../lib/logger.ts';
import { createMailer } from '../lib/notify/mailer.ts';
import { createStorage, type StorageDriver } from '../lib/storage/index.ts';
import { assetCleanupSchedule, assetPartitionsSchedule, ensureSchedule } from '../lib/temporal/schedules.ts';
import { createWorker, type WorkerSpec } from './factory.ts';
import { temporalLoggerFrom } from './logger-adapter.ts';

type Config = ReturnType<typeof loadConfigOrExit>;

export interface WorkerProcessSpec {
  name: 'worker-main' | 'worker-heavy' | 'worker-ai';
  queue: (config: Config) => string;
  withWorkflows: boolean;
  maxConcurrentActivityTaskExecutions?: number;
  /** Rate limit of the whole task queue (enforced by the server across its workers). */
  maxTaskQueueActivitiesPerSecond?: (config: Config) => number;
  /** The activities to register; default: every one of createActivities. */
  activities?: (deps: { config: Config; orm: Orm; storage: StorageDriver; logger: Logger }) => WorkerSpec['activities'];
}

export async function runWorkerProcess(spec: WorkerProcessSpec): Promise<void> {
  const config = loadConfigOrExit();
  const logger = createLogger({ level: config.logLevel, name: spec.name });
  Runtime.install({
    logger: temporalLoggerFrom(logger),
    shutdownSignals: ['SIGINT', 'SIGTERM'],
    telemetryOptions: {
      logging: { forward: {}, filter: { core: 'WARN', other: 'WARN' } },
      ...(config.temporal.metricsAddress ? { metrics: { prometheus: { bindAddress: config.temporal.metricsAddress } } } : {}),
    },
  });

  const orm = await openOrm(config.database);
  const storage = createStorage(config.storage);
  const mailer = createMailer(config.smtp, logger);
  const connection = await NativeConnection.connect({ address: config.temporal.address });
  const taskQueue = spec.queue(config);
  try {
    const worker = await createWorker({
      connection,
      namespace: config.temporal.namespace,
      taskQueue,
      activities: spec.activities
        ? spec.activities({ config, orm, storage, logger })
        : createActivities({ orm, storage, mailer, logger, media: config.media, frames: config.frames, assets: config.assets, ai: config.ai, clips: config.clips }),
      withWorkflows: spec.withWorkflows,
      workflowBundlePath: config.temporal.workflowBundlePath,
      maxConcurrentActivityTaskExecutions: spec.maxConcurrentActivityTaskExecutions,
      maxTaskQueueActivitiesPerSecond: spec.maxTaskQueueActivitiesPerSecond?.(config),
      shutdownGraceTimeMs: config.temporal.shutdownGraceMs,
      identity: `${spec.name}@${hostname()}:${process.pid}`,
    });
    logger.info({ taskQueue, metrics: config.temporal.metricsAddress || null }, 'worker started');
    if (spec.withWorkflows) {
      // The main worker owns the schedules of the workflows it runs.
      const clientConnection = await Connection.connect({ address: config.temporal.address });
      const client = new Client({ connection: clientConnection, namespace: config.temporal.namespace });
      for (const schedule of [assetPartitionsSchedule(taskQueue), assetCleanupSchedule(taskQueue)]) {
        const outcome = await ensureSchedule(client, schedule, true);
        logger.info({ schedule: schedule.scheduleId, outcome }, 'schedule ready');
      }
      await clientConnection.close();
    }
    await worker.run();
    logger.info('worker stopped');
  } finally {
    mailer.close();
    await connection.close();
    await orm.close();
  }
}
