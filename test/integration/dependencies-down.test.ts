/**
 * With Temporal, PostgreSQL or storage unreachable the API keeps running: /ready answers 503 naming
 * each failing component, and requests that need one answer 503 DEPENDENCY_UNAVAILABLE with
 * Retry-After. When only Temporal is down, an accepted upload is taken back: nothing is left behind.
 */
import '../support/quiet-runtime.ts';
import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import { createApp } from '../../api/app.ts';
import { ProbeJob } from '../../entities/index.ts';
import { loadConfig, type Config } from '../../lib/config.ts';
import { openOrm, type Orm } from '../../lib/db/orm.ts';
import { createLogger } from '../../lib/logger.ts';
import { signAccessToken } from '../../lib/auth/tokens.ts';
import { createRateLimitBackend, type RateLimitBackend } from '../../lib/rate-limit/store.ts';
import { registerTenant } from '../support/accounts.ts';
import { createStorage, type StorageDriver } from '../../lib/storage/index.ts';
import { requireEnv } from '../support/env.ts';

type ErrorBody = { error: { code: string; message: string; details?: { component?: string; unavailable?: string[] } } };

interface Api {
  baseUrl: string;
  orm: Orm;
  storage: StorageDriver;
  config: Config;
  backend: RateLimitBackend;
  close(): Promise<void>;
}

/** The real API app wired to the given addresses (a closed port stands for a dead dependency). */
async function startApi(env: Record<string, string>): Promise<Api> {
  const config = loadConfig({ ...process.env, ...env });
  const orm = await openOrm(config.database);
  const storage = createStorage(config.storage);
  const connection = Connection.lazy({ address: config.temporal.address });
  const temporal = new Client({ connection });
  const logger = createLogger({ level: 'silent', name: 'test' });
  const backend = createRateLimitBackend({ redisUrl: '', databaseUrl: config.database.url, logger });
  const app = createApp({ config, logger, orm, storage, temporal, rateLimitBackend: backend });
  const server: Server = await new Promise((resolve) => {
    const s = app.koa.listen(0, '127.0.0.1', () => resolve(s));
  });
  return {
    baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    orm, storage, config, backend,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await Promise.allSettled([connection.close(), orm.close(), backend.close()]);
    },
  };
}

function probeUpload(baseUrl: string, token: string) {
  const form = new FormData();
  form.append('file', new Blob([new Uint8Array(2048).fill(1)]), 'clip.mp4');
  return fetch(`${baseUrl}/api/v1/probe`, { method: 'POST', body: form, headers: { authorization: `Bearer ${token}` } });
}

/** A well-signed token for a user nobody can look up while PostgreSQL is down. */
function forgedToken(config: Config): string {
  return signAccessToken(config.auth, {
    userId: '00000000-0000-4000-8000-000000000001', tenantId: '00000000-0000-4000-8000-000000000002', role: 'admin', sessionId: '00000000-0000-4000-8000-000000000003',
  });
}

describe('every dependency down', () => {
  let api: Api;
  before(async () => {
    api = await startApi({
      DATABASE_URL: 'postgres://postgres@127.0.0.1:1/none',
      TEMPORAL_ADDRESS: '127.0.0.1:1',
      S3_ENDPOINT: 'http://127.0.0.1:1',
    });
  });
  after(async () => {
    await api?.close();
  });

  it('keeps answering /health', async () => {
    assert.equal((await fetch(`${api.baseUrl}/health`)).status, 200);
  });

  it('answers /ready 503 naming each failing component', async () => {
    const res = await fetch(`${api.baseUrl}/api/v1/ready`);
    assert.equal(res.status, 503);
    assert.ok(res.headers.get('retry-after'));
    const body = (await res.json()) as ErrorBody;
    assert.equal(body.error.code, 'NOT_READY');
    assert.deepEqual(body.error.details?.unavailable?.sort(), ['postgresql', 'storage', 'temporal']);
    assert.match(body.error.message, /postgresql/);
  });

  it('answers an upload 503 DEPENDENCY_UNAVAILABLE with Retry-After', async () => {
    const res = await probeUpload(api.baseUrl, forgedToken(api.config));
    assert.equal(res.status, 503);
    assert.equal(res.headers.get('retry-after'), '5');
    const body = (await res.json()) as ErrorBody;
    assert.equal(body.error.code, 'DEPENDENCY_UNAVAILABLE');
    assert.equal(body.error.details?.component, 'postgresql');
  });

  it('answers a login 503 naming PostgreSQL', async () => {
    const res = await fetch(`${api.baseUrl}/api/v1/auth/login`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ tenant: 'acme', email: 'a@acme.example', password: 'x' }),
    });
    assert.equal(res.status, 503);
    const body = (await res.json()) as ErrorBody;
    assert.equal(body.error.code, 'DEPENDENCY_UNAVAILABLE');
    assert.equal(body.error.details?.component, 'postgresql');
  });

  it('answers a read 503 naming PostgreSQL', async () => {
    const res = await fetch(`${api.baseUrl}/api/v1/probe/00000000-0000-4000-8000-000000000000`, { headers: { authorization: `Bearer ${forgedToken(api.config)}` } });
    assert.equal(res.status, 503);
    const body = (await res.json()) as ErrorBody;
    assert.equal(body.error.code, 'DEPENDENCY_UNAVAILABLE');
    assert.equal(body.error.details?.component, 'postgresql');
  });
});

describe('only Temporal down', () => {
  let api: Api;
  before(async () => {
    requireEnv('S3_ENDPOINT');
    api = await startApi({ TEMPORAL_ADDRESS: '127.0.0.1:1' });
    await api.storage.ensureBuckets();
  });
  after(async () => {
    await api?.close();
  });

  it('names only temporal in /ready', async () => {
    const body = (await (await fetch(`${api.baseUrl}/api/v1/ready`)).json()) as ErrorBody;
    assert.deepEqual(body.error.details?.unavailable, ['temporal']);
  });

  it('answers 503 and leaves neither a row nor an object behind', async () => {
    const session = await registerTenant(api.baseUrl);
    const em = api.orm.em.fork();
    const rowsBefore = await em.count(ProbeJob, {});
    const keysBefore: string[] = [];
    for await (const o of api.storage.list('uploads', `${session.tenantId}/probe/`)) keysBefore.push(o.key);

    const res = await probeUpload(api.baseUrl, session.access);
    assert.equal(res.status, 503);
    assert.equal(((await res.json()) as ErrorBody).error.details?.component, 'temporal');

    assert.equal(await em.fork().count(ProbeJob, {}), rowsBefore);
    const keysAfter: string[] = [];
    for await (const o of api.storage.list('uploads', `${session.tenantId}/probe/`)) keysAfter.push(o.key);
    assert.deepEqual(keysAfter, keysBefore);
  });
});
