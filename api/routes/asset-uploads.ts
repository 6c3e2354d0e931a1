/** /api/v1/assets/uploads — direct-to-storage upload sessions (being built). */
import Router from '@koa/router';
import type { ApiDeps } from '../context.ts';
import type { ApiRegistry } from '../openapi/registry.ts';
import type { Limiter } from '../rate-limits.ts';

export function createAssetUploadsRouter(_deps: ApiDeps, _registry: ApiRegistry, _uploads: Limiter | null): Router {
  return new Router();
}
