/**
 * Liveness, readiness and metrics. `/health` answers 200 while the process runs; `/ready` checks
 * Temporal, PostgreSQL and storage (503 naming each failing one); `/metrics` is Prometheus text.
 * Served at the root and under /api/v1.
 */
import Router from '@koa/router';
import type { Registry } from 'prom-client';
import { z } from 'zod';
import { AppError } from '../../lib/errors.ts';
import type { ApiDeps } from '../context.ts';
import type { ApiRegistry } from '../openapi/registry.ts';

const CHECK_TIMEOUT_MS = 2_000;

type CheckResult = { status: 'ok'; ms: number } | { status: 'down'; ms: number; error: string };

async function timed(check: () => Promise<unknown>): Promise<CheckResult> {
  const started = Date.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      check(),
      new Promise((_, reject) => {
        // A guard for checks that ignore their own deadline; the Temporal and SQL calls end by themselves first.
        timer = setTimeout(() => reject(new Error(`no answer within ${CHECK_TIMEOUT_MS} ms`)), CHECK_TIMEOUT_MS * 2);
      }),
    ]);
    return { status: 'ok', ms: Date.now() - started };
  } catch (err) {
    return { status: 'down', ms: Date.now() - started, error: (err as Error).message?.slice(0, 300) || 'unreachable' };
  } finally {
    clearTimeout(timer);
  }
}

export function readinessChecks(deps: Pick<ApiDeps, 'orm' | 'storage' | 'temporal'>) {
  return async (): Promise<Record<'temporal' | 'postgresql' | 'storage', CheckResult>> => {
    const connection = deps.temporal.connection;
    const [temporal, postgresql, storage] = await Promise.all([
      timed(() => connection.withDeadline(Date.now() + CHECK_TIMEOUT_MS, () => connection.workflowService.getSystemInfo({}))),
      timed(() => deps.orm.em.getConnection().execute('select 1')),
      timed(() => deps.storage.ping()),
    ]);
    return { temporal, postgresql, storage };
  };
}

const CheckSchema = z.object({ status: z.enum(['ok', 'down']), ms: z.number(), error: z.string().optional() });
const ReadySchema = z.object({ status: z.literal('ready'), checks: z.record(z.string(), CheckSchema) });

export function createHealthRouter(deps: ApiDeps, registry: ApiRegistry, metrics: Registry): Router {
  const router = new Router();
  const checks = readinessChecks(deps);
  for (const prefix of ['', '/api/v1']) {
    const tag = prefix ? '' : 'Root';
    registry.addRoute(router, {
      method: 'get', path: `${prefix}/health`, operationId: `health${tag}`, tags: ['Operations'],
      summary: 'Liveness: 200 while the process runs',
      responses: { 200: { description: 'Alive', schema: z.object({ status: z.literal('ok') }) } },
    }, async (ctx) => {
      ctx.body = { status: 'ok' };
    });
    registry.addRoute(router, {
      method: 'get', path: `${prefix}/ready`, operationId: `ready${tag}`, tags: ['Operations'],
      summary: 'Readiness: Temporal, PostgreSQL and storage answer',
      responses: {
        200: { description: 'Every dependency answers', schema: ReadySchema },
        503: { description: 'NOT_READY; details.checks names the failing components' },
      },
    }, async (ctx) => {
      const result = await checks();
      const down = Object.entries(result).filter(([, r]) => r.status === 'down').map(([name]) => name);
      if (down.length > 0) {
        throw new AppError(503, 'NOT_READY', `Not ready: ${down.join(', ')} unavailable`, {
          details: { unavailable: down, checks: result },
          headers: { 'Retry-After': '5' },
        });
      }
      ctx.body = { status: 'ready', checks: result };
    });
    registry.addRoute(router, {
      method: 'get', path: `${prefix}/metrics`, operationId: `metrics${tag}`, tags: ['Operations'],
      summary: 'Prometheus metrics (HTTP requests by route and status, process metrics)',
      responses: { 200: { description: 'Prometheus text exposition format', contentType: 'text/plain', schema: z.string() } },
    }, async (ctx) => {
      ctx.type = metrics.contentType;
      ctx.body = await metrics.metrics();
    });
  }
  return router;
}
