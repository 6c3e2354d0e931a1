/** What the API's routes are handed (dependency injection) and what middleware puts on ctx.state. */
import type { Client } from '@temporalio/client';
import type { Config } from '../lib/config.ts';
import type { Orm } from '../lib/db/orm.ts';
import type { Logger } from '../lib/logger.ts';
import type { StorageDriver } from '../lib/storage/index.ts';

export interface ApiDeps {
  config: Config;
  logger: Logger;
  orm: Orm;
  storage: StorageDriver;
  temporal: Client;
}

export interface RequestState {
  requestId: string;
  traceparent: string;
  log: Logger;
  tenantId: string;
  ownerId: string;
}
