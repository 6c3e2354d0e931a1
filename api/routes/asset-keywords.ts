/** /api/v1/assets/{id}/keywords and /api/v1/keywords (being built). */
import Router from '@koa/router';
import type { ApiDeps } from '../context.ts';
import type { ApiRegistry } from '../openapi/registry.ts';

export function createAssetKeywordsRouter(_deps: ApiDeps, _registry: ApiRegistry): Router {
  return new Router();
}
