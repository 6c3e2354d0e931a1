/** What the API's routes are handed (dependency injection) and what middleware puts on ctx.state. */
import type { Client } from '@temporalio/client';
import type { Role } from '../entities/index.ts';
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

/** The authenticated caller. `tenantId` is the tenant acted in (a superuser's X-Tenant-Id, else their own). */
export interface AuthUser {
  id: string;
  email: string;
  name: string;
  role: Role;
  isSuperuser: boolean;
  homeTenantId: string;
  tenantId: string;
  /** The session (refresh-token family) the access token belongs to. */
  sessionId: string;
}

export interface RequestState {
  requestId: string;
  traceparent: string;
  log: Logger;
  /** Set by `authenticate` on routes that require a user. */
  user?: AuthUser;
}
