/** /api/v1/assets — the catalogue (being built). */
import Router from '@koa/router';
import type { ApiDeps } from '../context.ts';
import type { ApiRegistry } from '../openapi/registry.ts';
import type { ApiLimiters } from '../rate-limits.ts';

export function createAssetsRouter(_deps: ApiDeps, _registry: ApiRegistry, _limiters: ApiLimiters | null): Router {
  return new Router();
}
