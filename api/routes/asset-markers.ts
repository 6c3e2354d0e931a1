/** /api/v1/assets/{id}/markers (being built). */
import Router from '@koa/router';
import type { ApiDeps } from '../context.ts';
import type { ApiRegistry } from '../openapi/registry.ts';

export function createAssetMarkersRouter(_deps: ApiDeps, _registry: ApiRegistry): Router {
  return new Router();
}
