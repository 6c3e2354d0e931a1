/** API process: `node api/server.ts`. Connects lazily so it starts (and answers /ready 503) while a dependency is down. */
import type { Server } from 'node:http';
import { Client, Connection } from '@temporalio/client';
import { loadConfigOrExit } from '../lib/config.ts';
import { openOrm } from '../lib/db/orm.ts';
import { createLogger } from '../lib/logger.ts';
import { createRateLimitBackend } from '../lib/rate-limit/store.ts';
import { createStorage, type StorageDriver } from '../lib/storage/index.ts';
import type { Logger } from '../lib/logger.ts';
import { createApp } from './app.ts';

/** Creates the buckets, retrying in the background while storage is down. */
function ensureBucketsEventually(storage: StorageDriver, logger: Logger): void {
  const attempt = () =>
    storage.ensureBuckets().then(
      () => logger.info('storage buckets ready'),
      (err: Error) => {
        logger.warn({ err: err.message }, 'storage not reachable; retrying bucket creation in 5 s');
        setTimeout(attempt, 5_000).unref();
      },
    );
  void attempt();
}

const config = loadConfigOrExit();
const logger = createLogger({ level: config.logLevel, name: 'api' });
const orm = await openOrm(config.database);
const storage = createStorage(config.storage);
const connection = Connection.lazy({ address: config.temporal.address });
const temporal = new Client({ connection, namespace: config.temporal.namespace });
ensureBucketsEventually(storage, logger);

const rateLimitBackend = createRateLimitBackend({ redisUrl: config.rateLimit.redisUrl, databaseUrl: config.database.url, logger });
const app = createApp({ config, logger, orm, storage, temporal, rateLimitBackend });
const server: Server = app.koa.listen(config.api.port, config.api.host, () => {
  logger.info({ url: config.api.publicUrl, docs: `${config.api.publicUrl}/docs` }, 'API listening');
});
server.requestTimeout = 0; // uploads may be long; idle sockets are still reaped by keepAliveTimeout
server.headersTimeout = 60_000;

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  logger.info({ signal }, 'shutting down: no new connections, finishing in-flight requests');
  const force = setTimeout(() => {
    logger.warn('grace period over; closing remaining connections');
    server.closeAllConnections();
  }, config.api.shutdownGraceMs);
  force.unref();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  await Promise.allSettled([connection.close(), orm.close(), rateLimitBackend.close()]);
  logger.info('stopped');
  process.exit(0);
}
process.on('unhandledRejection', (err) => logger.error({ err }, 'unhandled rejection (bug): the process keeps serving'));
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));
