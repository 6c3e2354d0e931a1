/**
 * The Koa application: thin. It validates, stores uploads, starts and queries workflows, and reads
 * projections; it never runs ffmpeg. Middleware order (outer → inner): request context, metrics,
 * security headers, error shape, JSON body, routes.
 */
import Koa from 'koa';
import { koaBody } from 'koa-body';
import { collectDefaultMetrics, Registry } from 'prom-client';
import type { ApiDeps, RequestState } from './context.ts';
import { errorHandler } from './middleware/error-handler.ts';
import { httpMetrics } from './middleware/http-metrics.ts';
import { requestContext } from './middleware/request-context.ts';
import { securityHeaders } from './middleware/security-headers.ts';
import { ApiRegistry, openApiDocument } from './openapi/registry.ts';
import { createDocsRouter } from './routes/docs.ts';
import { createHealthRouter } from './routes/health.ts';
import { createProbeRouter } from './routes/probe.ts';
import { createStorageRouter } from './routes/storage.ts';

export interface App {
  koa: Koa<RequestState>;
  metrics: Registry;
  openApi: () => object;
}

export function createApp(deps: ApiDeps): App {
  const { config } = deps;
  const koa = new Koa<RequestState>({ proxy: true });
  const metrics = new Registry();
  collectDefaultMetrics({ register: metrics });
  const registry = new ApiRegistry();

  koa.use(requestContext({ logger: deps.logger, tenantId: config.tenancy.defaultTenantId, ownerId: config.tenancy.defaultOwnerId }));
  koa.use(httpMetrics(metrics));
  koa.use(securityHeaders({ hsts: config.env === 'production' }));
  koa.use(errorHandler());
  const parseJson = koaBody({
    json: true,
    jsonStrict: true,
    multipart: false,
    urlencoded: false,
    text: false,
    jsonLimit: config.api.jsonLimitBytes,
    onError: (err) => {
      throw err;
    },
  });
  // Presigned storage PUTs stream their body to the driver whatever its content type.
  koa.use((ctx, next) => (ctx.path.startsWith('/api/v1/storage/') ? next() : parseJson(ctx, next)));
  // Clients that hang up mid-response are not server errors.
  koa.on('error', (err: NodeJS.ErrnoException) => {
    if (['ERR_STREAM_PREMATURE_CLOSE', 'ECONNRESET', 'EPIPE'].includes(err.code ?? '')) return;
    deps.logger.error({ err }, 'koa error');
  });

  const routers = [createHealthRouter(deps, registry, metrics), createProbeRouter(deps, registry)];
  if (deps.storage.kind === 'fs') {
    routers.push(createStorageRouter({ storage: deps.storage, config: config.storage, maxUploadBytes: config.api.maxUploadBytes }));
  }
  const openApi = () =>
    openApiDocument(registry, {
      title: 'Moviola API',
      version: '0.1.0',
      description: 'Media-processing backend: every long-running job is a Temporal workflow.',
      serverUrl: config.api.publicUrl,
    });
  routers.push(createDocsRouter(openApi, { docsEnabled: config.api.docsEnabled }));
  for (const router of routers) koa.use(router.routes()).use(router.allowedMethods());
  return { koa, metrics, openApi };
}
