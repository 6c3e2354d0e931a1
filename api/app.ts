/**
 * The Koa application: thin. It authenticates, validates, stores uploads, starts and queries
 * workflows, and reads projections; it never runs ffmpeg. Middleware order (outer → inner):
 * request context, metrics, security headers, CORS, error shape, JSON body, routes (each route
 * declares whether it needs a user and which roles).
 */
import cors from '@koa/cors';
import Koa from 'koa';
import { koaBody } from 'koa-body';
import { collectDefaultMetrics, Registry } from 'prom-client';
import type { RateLimitBackend } from '../lib/rate-limit/store.ts';
import { createAuthenticate, requireRole } from './auth/authenticate.ts';
import type { ApiDeps, RequestState } from './context.ts';
import { errorHandler } from './middleware/error-handler.ts';
import { httpMetrics } from './middleware/http-metrics.ts';
import { rateLimit } from './middleware/rate-limit.ts';
import { requestContext } from './middleware/request-context.ts';
import { securityHeaders } from './middleware/security-headers.ts';
import { ApiRegistry, openApiDocument } from './openapi/registry.ts';
import { createApiLimiters, type ApiLimiters } from './rate-limits.ts';
import { createAssetHlsRouter } from './routes/asset-hls.ts';
import { createAssetKeywordsRouter } from './routes/asset-keywords.ts';
import { createAssetMarkersRouter } from './routes/asset-markers.ts';
import { createAssetUploadsRouter } from './routes/asset-uploads.ts';
import { createAssetsRouter } from './routes/assets.ts';
import { createArtistsRouter } from './routes/artists.ts';
import { createAuthRouter } from './routes/auth.ts';
import { createClipJobsRouter } from './routes/clip-jobs.ts';
import { createDocsRouter } from './routes/docs.ts';
import { createFeedbackRouter } from './routes/feedback.ts';
import { createHealthRouter } from './routes/health.ts';
import { createJobsRouter } from './routes/jobs.ts';
import { createLearningCentersRouter } from './routes/learning-centers.ts';
import { createMusicRouter } from './routes/music.ts';
import { createProbeRouter } from './routes/probe.ts';
import { createStorageRouter } from './routes/storage.ts';
import { createUsageRouter } from './routes/usage.ts';
import { createUsersRouter } from './routes/users.ts';
import { createVideosRouter } from './routes/videos.ts';

export interface App {
  koa: Koa<RequestState>;
  metrics: Registry;
  openApi: () => object;
  limiters: ApiLimiters | null;
}

const EXPOSED_HEADERS = ['X-Request-Id', 'traceparent', 'Retry-After', 'RateLimit', 'RateLimit-Policy', 'X-RateLimit-Limit', 'X-RateLimit-Remaining', 'X-RateLimit-Reset', 'Location'];

export function createApp(deps: ApiDeps & { rateLimitBackend: RateLimitBackend }): App {
  const { config } = deps;
  const koa = new Koa<RequestState>({ proxy: config.api.trustProxy });
  const metrics = new Registry();
  collectDefaultMetrics({ register: metrics });
  const limiters = createApiLimiters(deps.rateLimitBackend, config, deps.logger);
  const registry = new ApiRegistry({
    authenticate: [
      createAuthenticate({ orm: deps.orm, auth: config.auth }),
      ...(limiters ? [rateLimit<RequestState>({ limiter: limiters.requests, key: (ctx) => ctx.state.user?.id ?? null })] : []),
    ],
    requireRole,
  });

  const allowedOrigins = new Set(config.cors.origins);
  koa.use(requestContext({ logger: deps.logger }));
  koa.use(httpMetrics(metrics));
  koa.use(securityHeaders({ hsts: config.env === 'production' }));
  koa.use(cors({
    // An allowlist, never a wildcard; bearer tokens travel in a header, so no credentials mode.
    origin: (ctx) => (allowedOrigins.has(ctx.get('origin')) ? ctx.get('origin') : ''),
    allowMethods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
    allowHeaders: ['Authorization', 'Content-Type', 'X-Request-Id', 'X-Tenant-Id', 'traceparent'],
    exposeHeaders: EXPOSED_HEADERS,
    maxAge: 600,
  }));
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

  const routers = [
    createHealthRouter(deps, registry, metrics),
    createAuthRouter(deps, registry, limiters?.login ?? null),
    createUsersRouter(deps, registry),
    createProbeRouter(deps, registry, limiters?.uploads ?? null),
    createVideosRouter(deps, registry, limiters?.uploads ?? null),
    createJobsRouter(deps, registry, limiters?.downloads ?? null),
    createAssetUploadsRouter(deps, registry, limiters?.uploads ?? null),
    createAssetsRouter(deps, registry, limiters),
    createAssetHlsRouter(deps, registry),
    createAssetKeywordsRouter(deps, registry),
    createAssetMarkersRouter(deps, registry),
    createArtistsRouter(deps, registry),
    createMusicRouter(deps, registry, limiters?.uploads ?? null),
    createClipJobsRouter(deps, registry, limiters?.clipJobs ?? null, limiters?.downloads ?? null),
    createFeedbackRouter(deps, registry),
    createLearningCentersRouter(deps, registry),
    createUsageRouter(deps, registry),
  ];
  if (deps.storage.kind === 'fs') {
    routers.push(createStorageRouter({ storage: deps.storage, config: config.storage, maxUploadBytes: config.api.maxUploadBytes }));
  }
  const openApi = () =>
    openApiDocument(registry, {
      title: 'Moviola API',
      version: '0.1.0',
      description: 'Media-processing backend: every long-running job is a Temporal workflow. Authenticate with POST /api/v1/auth/login and send `Authorization: Bearer <access_token>`.',
      serverUrl: config.api.publicUrl,
    });
  routers.push(createDocsRouter(openApi, { docsEnabled: config.api.docsEnabled }));
  for (const router of routers) koa.use(router.routes()).use(router.allowedMethods());
  return { koa, metrics, openApi, limiters };
}
