/**
 * /api/v1/usage — what the tenant's calls to paid AI providers used and cost (ai_usage), summed
 * per user or per music over [from, to).
 *
 * Who sees what: admins and managers (and superusers acting in the tenant) see the whole tenant;
 * every other role sees only the calls made for them (`user_id` = the caller). Calls without a
 * user or music are summed under `key: null`.
 */
import Router from '@koa/router';
import type { EntityManager } from '@mikro-orm/core';
import { z } from 'zod';
import type { Role } from '../../entities/index.ts';
import { summarizeAiUsage } from '../../lib/ai/usage.ts';
import { withDependency } from '../../lib/dependencies.ts';
import { AppError } from '../../lib/errors.ts';
import { currentUser } from '../auth/authenticate.ts';
import type { ApiDeps } from '../context.ts';
import type { ApiRegistry } from '../openapi/registry.ts';

const DAY_MS = 86_400_000;
export const USAGE_DEFAULT_DAYS = 30;
export const USAGE_MAX_DAYS = 366;
const TENANT_WIDE: readonly Role[] = ['admin', 'manager'];

const SumsSchema = z.object({
  calls: z.number().int(),
  ok_calls: z.number().int(),
  error_calls: z.number().int(),
  audio_seconds: z.number(),
  input_tokens: z.number().int(),
  output_tokens: z.number().int(),
  cost_usd: z.number().meta({ description: 'Estimate (USD), from the configured prices' }),
});

export const UsageSchema = z
  .object({
    from: z.string(),
    to: z.string(),
    group_by: z.enum(['user', 'music']),
    scope: z.enum(['tenant', 'own']).meta({ description: "`tenant` for admins and managers, `own` (the caller's calls) for the other roles" }),
    items: z.array(SumsSchema.extend({ key: z.string().nullable().meta({ description: 'User id or music id (null: calls for no user / no music)' }) })),
    total: SumsSchema,
  })
  .meta({ id: 'AiUsageSummary' });

const UsageQuerySchema = z.object({
  from: z.iso.datetime({ offset: true }).optional().describe(`Start (inclusive), ISO 8601; default: \`to\` minus ${USAGE_DEFAULT_DAYS} days`),
  to: z.iso.datetime({ offset: true }).optional().describe('End (exclusive), ISO 8601; default: now'),
  group_by: z.enum(['user', 'music']).default('user'),
});

export function createUsageRouter(deps: ApiDeps, registry: ApiRegistry): Router {
  const router = new Router();
  const db = <T>(fn: (em: EntityManager) => Promise<T>) => withDependency('postgresql', () => fn(deps.orm.em.fork()));

  registry.addRoute(router, {
    method: 'get', path: '/api/v1/usage', operationId: 'getAiUsage', tags: ['Usage'], auth: 'user',
    summary: 'AI provider usage and cost estimate, per user or per music',
    description: `Sums of ai_usage over [from, to) (at most ${USAGE_MAX_DAYS} days; default the last ${USAGE_DEFAULT_DAYS}). Admins and managers see the whole tenant; other roles only their own calls.`,
    query: UsageQuerySchema,
    responses: {
      200: { description: 'The sums, most expensive first', schema: UsageSchema },
      422: { description: 'VALIDATION_FAILED (not ISO datetimes), INVALID_RANGE (from ≥ to, or longer than 366 days)' },
    },
  }, async (ctx, { query }) => {
    const caller = currentUser(ctx);
    const to = query.to ? new Date(query.to) : new Date();
    const from = query.from ? new Date(query.from) : new Date(to.getTime() - USAGE_DEFAULT_DAYS * DAY_MS);
    if (from.getTime() >= to.getTime()) {
      throw new AppError(422, 'INVALID_RANGE', '`from` must be before `to`', { details: { from: from.toISOString(), to: to.toISOString() } });
    }
    if (to.getTime() - from.getTime() > USAGE_MAX_DAYS * DAY_MS) {
      throw new AppError(422, 'INVALID_RANGE', `The range may span at most ${USAGE_MAX_DAYS} days`, { details: { from: from.toISOString(), to: to.toISOString(), max_days: USAGE_MAX_DAYS } });
    }
    const tenantWide = caller.isSuperuser || TENANT_WIDE.includes(caller.role);
    const summary = await db((em) => summarizeAiUsage(em, {
      tenantId: caller.tenantId,
      from,
      to,
      groupBy: query.group_by,
      ...(tenantWide ? {} : { userId: caller.id }),
    }));
    ctx.body = {
      from: from.toISOString(),
      to: to.toISOString(),
      group_by: query.group_by,
      scope: tenantWide ? 'tenant' : 'own',
      items: summary.items,
      total: summary.total,
    };
  });

  return router;
}
