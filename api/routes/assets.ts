/**
 * /api/v1/assets — the tenant's media catalogue. An upload (multipart here, or a direct upload
 * session in asset-uploads.ts) becomes an asset and its `ingestAsset` workflow (id `ingest-<id>`);
 * this router lists, reads, edits, deletes (soft; a scheduled purge removes the objects later),
 * downloads, re-runs ingest steps and streams an asset's progress.
 */
import { randomUUID } from 'node:crypto';
import { extname } from 'node:path';
import Router from '@koa/router';
import { WorkflowNotFoundError } from '@temporalio/client';
import type { EntityManager } from '@mikro-orm/core';
import { z } from 'zod';
import { Asset, AssetIngestStep, AssetRendition, type IAsset } from '../../entities/index.ts';
import {
  ASSET_STATUSES,
  ASSET_TYPES,
  DEFAULT_ASSET_PRIORITY,
  INGEST_STEPS,
  ingestWorkflowId,
  MAX_ASSET_PRIORITY,
  MIN_ASSET_PRIORITY,
  RENDER_STEPS,
  RENDITION_NAMES,
  RENDITIONS,
  type IngestStep,
} from '../../lib/assets/catalogue.ts';
import { ASSET_EXTENSIONS, SNIFF_BYTES, sniffAsset } from '../../lib/assets/sniff.ts';
import { withDependency } from '../../lib/dependencies.ts';
import { AppError, validationFailed } from '../../lib/errors.ts';
import { assetKey, sanitizeFilename, type BucketName } from '../../lib/storage/index.ts';
import { acceptAsset, startIngestWorkflow } from '../assets/accept-asset.ts';
import { assetSummary, AssetSummarySchema, assetView, AssetViewSchema, renditionView, RenditionViewSchema } from '../assets/asset-view.ts';
import { AssetIdParams, findTenantAsset } from '../assets/find-asset.ts';
import { currentUser } from '../auth/authenticate.ts';
import type { ApiDeps } from '../context.ts';
import type { ApiRegistry } from '../openapi/registry.ts';
import { enforceLimit, type ApiLimiters } from '../rate-limits.ts';
import { streamSnapshots } from '../sse.ts';
import { readStoredHead } from '../uploads/read-head.ts';
import { receiveFiles } from '../uploads/receive-file.ts';

const EDITORS = ['admin', 'manager', 'editor'] as const;

const boolField = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');
const AssetFieldsSchema = z.strictObject({
  title: z.string().trim().min(1).max(300).optional(),
  description: z.string().max(10_000).optional(),
  code: z.string().trim().min(1).max(64).regex(/^[\p{L}\p{N}._\-/ ]+$/u, 'letters, digits, space and . _ - /').optional(),
  priority: z.coerce.number().int().min(MIN_ASSET_PRIORITY).max(MAX_ASSET_PRIORITY).optional(),
  allow_duplicate: boolField.optional(),
});

/** PATCH: only these fields; anything else (status, tenant_id, sha256, size_bytes …) is 422. */
const AssetPatchSchema = z.strictObject({
  title: z.string().trim().min(1).max(300).optional(),
  description: z.string().max(10_000).nullable().optional(),
  code: z.string().trim().min(1).max(64).regex(/^[\p{L}\p{N}._\-/ ]+$/u, 'letters, digits, space and . _ - /').nullable().optional(),
  priority: z.number().int().min(MIN_ASSET_PRIORITY).max(MAX_ASSET_PRIORITY).optional(),
}).refine((v) => Object.keys(v).length > 0, 'send at least one of title, description, code, priority');

const SORTS = ['-created_at', 'created_at', 'title', '-title', 'priority', '-priority'] as const;
type Sort = (typeof SORTS)[number];
const SORT_FIELDS = { created_at: 'createdAt', title: 'title', priority: 'priority' } as const;

const ListQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().max(600).optional(),
  type: z.enum(ASSET_TYPES).optional(),
  status: z.enum(ASSET_STATUSES).optional(),
  created_from: z.iso.datetime({ offset: true }).optional(),
  created_to: z.iso.datetime({ offset: true }).optional(),
  q: z.string().trim().min(1).max(100).optional().describe('Text searched in title and code (case-insensitive)'),
  sort: z.enum(SORTS).default('-created_at'),
});

const DOWNLOAD_PURPOSES = ['original', ...RENDITION_NAMES.filter((n) => n !== 'hls')] as const;

function encodeListCursor(sort: Sort, asset: IAsset): string {
  const field = SORT_FIELDS[sort.replace('-', '') as keyof typeof SORT_FIELDS];
  const value = asset[field];
  return Buffer.from(JSON.stringify([sort, value instanceof Date ? value.toISOString() : value, asset.id])).toString('base64url');
}

function decodeListCursor(sort: Sort, cursor: string | undefined): { value: string | number | Date; id: string } | null {
  if (!cursor) return null;
  try {
    const [cursorSort, value, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as [string, string | number, string];
    if (cursorSort !== sort || !z.uuid().safeParse(id).success) throw new Error('mismatch');
    if (sort.endsWith('created_at')) {
      const date = new Date(String(value));
      if (Number.isNaN(date.getTime())) throw new Error('date');
      return { value: date, id };
    }
    if (sort.endsWith('priority') && typeof value !== 'number') throw new Error('number');
    if (sort.endsWith('title') && typeof value !== 'string') throw new Error('string');
    return { value, id };
  } catch {
    throw new AppError(422, 'INVALID_CURSOR', 'The cursor is not valid for this sort; start again without it');
  }
}

const escapeLike = (text: string) => text.replace(/[\\%_]/g, (c) => `\\${c}`);

async function loadView(em: EntityManager, asset: IAsset) {
  const [steps, renditions] = await withDependency('postgresql', () => Promise.all([
    em.find(AssetIngestStep, { assetId: asset.id, tenantId: asset.tenantId }),
    em.find(AssetRendition, { assetId: asset.id, tenantId: asset.tenantId }),
  ]));
  return assetView(asset, steps, renditions);
}

function downloadName(asset: IAsset, purpose: (typeof DOWNLOAD_PURPOSES)[number], storageKey: string): string {
  if (purpose === 'original') return asset.originalFilename;
  const stem = asset.originalFilename.replace(/\.[^.]*$/, '') || 'asset';
  return sanitizeFilename(`${stem}-${purpose}${extname(storageKey)}`);
}

export function createAssetsRouter(deps: ApiDeps, registry: ApiRegistry, limiters: ApiLimiters | null): Router {
  const router = new Router();
  const { config, orm, storage, temporal } = deps;

  registry.addRoute(router, {
    method: 'post', path: '/api/v1/assets', operationId: 'uploadAsset', tags: ['Assets'], auth: 'user',
    summary: 'Upload one file (video, audio, image or document); it becomes an asset and is ingested',
    description: `Multipart with one \`file\` part (at most ASSET_MAX_UPLOAD_MB = ${config.assets.maxUploadBytes / 1048576} MB; accepted: ${Object.keys(ASSET_EXTENSIONS).join(' ')}) and optional fields title, description, code, priority (${MIN_ASSET_PRIORITY}–${MAX_ASSET_PRIORITY}, lower = sooner, default ${DEFAULT_ASSET_PRIORITY}), allow_duplicate. Streamed to storage with its SHA-256 computed on the way; the content must match the extension. For large files use POST /api/v1/assets/uploads (direct to storage).`,
    rawBody: {
      contentType: 'multipart/form-data',
      schema: {
        type: 'object', required: ['file'],
        properties: { file: { type: 'string', format: 'binary' }, title: { type: 'string' }, description: { type: 'string' }, code: { type: 'string' }, priority: { type: 'integer' }, allow_duplicate: { type: 'boolean' } },
      },
    },
    responses: {
      202: { description: 'Accepted: the asset (status pending) and its ingest started; see Location', schema: AssetViewSchema },
      400: { description: 'FILE_REQUIRED, TOO_MANY_FILES, INVALID_MULTIPART' },
      409: { description: 'DUPLICATE_ASSET: the tenant has this content already (details.existing_asset_id); nothing kept' },
      413: { description: 'PAYLOAD_TOO_LARGE; nothing kept' },
      415: { description: 'UNSUPPORTED_FORMAT (extension) or UNSUPPORTED_MEDIA_TYPE (not multipart)' },
      422: { description: 'EMPTY_FILE, INVALID_MEDIA (content does not match, playlist, unknown), IMAGE_TOO_LARGE (pixel limit, from the header), VALIDATION_FAILED (fields); nothing kept' },
    },
  }, async (ctx) => {
    const user = currentUser(ctx);
    await enforceLimit(ctx, limiters?.uploads ?? null, user.id);
    const assetId = randomUUID();
    const createdAt = new Date();
    const { files: [file], fields: formFields } = await receiveFiles(ctx, {
      storage,
      bucket: 'originals',
      maxBytes: config.assets.maxUploadBytes,
      maxFiles: 1,
      keyFor: (_index, filename) => {
        const extension = extname(filename).toLowerCase();
        if (!ASSET_EXTENSIONS[extension]) {
          throw new AppError(415, 'UNSUPPORTED_FORMAT', `${sanitizeFilename(filename)}: accepted formats are ${Object.keys(ASSET_EXTENSIONS).join(' ')}`, {
            details: { filename: sanitizeFilename(filename), accepted: Object.keys(ASSET_EXTENSIONS) },
          });
        }
        return assetKey({ tenantId: user.tenantId, date: createdAt, assetId, purpose: 'original', filename: `original${extension}` });
      },
    });
    if (!file) throw new AppError(400, 'FILE_REQUIRED', 'A "file" part is required');
    const discard = () => storage.delete(file.bucket, file.key).catch(() => undefined);
    const filename = sanitizeFilename(file.filename);
    try {
      if (file.sizeBytes === 0) throw new AppError(422, 'EMPTY_FILE', `${filename} is empty`, { details: { filename } });
      const fields = AssetFieldsSchema.safeParse(formFields);
      if (!fields.success) throw validationFailed(fields.error.issues.map((i) => ({ in: 'form', path: i.path.join('.'), message: i.message })));
      const sniffed = sniffAsset(await readStoredHead(storage, file.bucket, file.key, SNIFF_BYTES), filename, { maxImagePixels: config.assets.maxImagePixels });
      if (!sniffed.ok) throw new AppError(sniffed.status, sniffed.code, `${filename}: ${sniffed.message}`, { details: { filename } });
      const asset = await acceptAsset(deps, user, {
        id: assetId,
        createdAt,
        type: sniffed.type,
        title: fields.data.title ?? (filename.replace(/\.[^.]*$/, '') || filename),
        description: fields.data.description ?? null,
        code: fields.data.code ?? null,
        priority: fields.data.priority ?? DEFAULT_ASSET_PRIORITY,
        originalFilename: filename,
        originalKey: file.key,
        contentType: file.contentType?.slice(0, 255) ?? null,
        sizeBytes: file.sizeBytes,
        sha256: file.sha256,
      }, { allowDuplicate: fields.data.allow_duplicate ?? false, trace: { traceparent: ctx.state.traceparent, requestId: ctx.state.requestId } });
      ctx.state.log.info({ assetId, type: asset.type, sizeBytes: asset.sizeBytes }, 'asset accepted');
      ctx.status = 202;
      ctx.set('Location', `/api/v1/assets/${assetId}`);
      ctx.body = await loadView(orm.em.fork(), asset);
    } catch (err) {
      await discard();
      throw err;
    }
  });

  registry.addRoute(router, {
    method: 'get', path: '/api/v1/assets', operationId: 'listAssets', tags: ['Assets'], auth: 'user',
    summary: "The tenant's assets, filtered and sorted, a page at a time (cursor)",
    query: ListQuerySchema,
    responses: {
      200: { description: 'A page', schema: z.object({ items: z.array(AssetSummarySchema), next_cursor: z.string().nullable() }) },
      422: { description: 'VALIDATION_FAILED, INVALID_CURSOR' },
    },
  }, async (ctx, { query }) => {
    const user = currentUser(ctx);
    const field = SORT_FIELDS[query.sort.replace('-', '') as keyof typeof SORT_FIELDS];
    const descending = query.sort.startsWith('-');
    const cursor = decodeListCursor(query.sort, query.cursor);
    const and: object[] = [{ tenantId: user.tenantId, deletedAt: null }];
    if (query.type) and.push({ type: query.type });
    if (query.status) and.push({ status: query.status });
    if (query.created_from) and.push({ createdAt: { $gte: new Date(query.created_from) } });
    if (query.created_to) and.push({ createdAt: { $lt: new Date(query.created_to) } });
    if (query.q) {
      const like = `%${escapeLike(query.q)}%`;
      and.push({ $or: [{ title: { $ilike: like } }, { code: { $ilike: like } }] });
    }
    if (cursor) {
      const op = descending ? '$lt' : '$gt';
      and.push({ $or: [{ [field]: { [op]: cursor.value } }, { [field]: cursor.value, id: { [op]: cursor.id } }] });
    }
    const direction = descending ? 'desc' : 'asc';
    const rows = await withDependency('postgresql', () => orm.em.fork().find(Asset, { $and: and } as never, {
      orderBy: { [field]: direction, id: direction } as never,
      limit: query.limit + 1,
    }));
    const items = rows.slice(0, query.limit);
    ctx.body = {
      items: items.map(assetSummary),
      next_cursor: rows.length > query.limit ? encodeListCursor(query.sort, items[items.length - 1]!) : null,
    };
  });

  registry.addRoute(router, {
    method: 'get', path: '/api/v1/assets/:id', operationId: 'getAsset', tags: ['Assets'], auth: 'user',
    summary: 'An asset with its ingest steps (status, progress, duration, error) and renditions',
    params: AssetIdParams,
    responses: { 200: { description: 'The asset', schema: AssetViewSchema }, 404: { description: "NOT_FOUND (also another tenant's or a deleted asset)" } },
  }, async (ctx, { params }) => {
    const em = orm.em.fork();
    ctx.body = await loadView(em, await findTenantAsset(em, currentUser(ctx).tenantId, params.id));
  });

  registry.addRoute(router, {
    method: 'patch', path: '/api/v1/assets/:id', operationId: 'updateAsset', tags: ['Assets'], auth: 'user',
    summary: 'Edit title, description, code or priority (nothing else can be changed)',
    params: AssetIdParams,
    body: AssetPatchSchema,
    responses: { 200: { description: 'The asset', schema: AssetViewSchema }, 404: { description: 'NOT_FOUND' }, 422: { description: 'VALIDATION_FAILED: unknown or read-only fields (status, tenant_id, sha256, size_bytes …)' } },
  }, async (ctx, { params, body }) => {
    const user = currentUser(ctx);
    const em = orm.em.fork();
    const asset = await findTenantAsset(em, user.tenantId, params.id);
    await withDependency('postgresql', () => em.nativeUpdate(Asset, { id: asset.id, tenantId: user.tenantId }, {
      ...(body.title !== undefined ? { title: body.title } : {}),
      ...(body.description !== undefined ? { description: body.description } : {}),
      ...(body.code !== undefined ? { code: body.code } : {}),
      ...(body.priority !== undefined ? { priority: body.priority } : {}),
      updatedAt: new Date(),
    }));
    const fresh = orm.em.fork();
    ctx.body = await loadView(fresh, await findTenantAsset(fresh, user.tenantId, asset.id));
  });

  registry.addRoute(router, {
    method: 'delete', path: '/api/v1/assets/:id', operationId: 'deleteAsset', tags: ['Assets'], auth: EDITORS,
    summary: 'Delete an asset (soft): it disappears at once; a running ingest is cancelled; its objects are purged after ASSET_RETENTION_DAYS by the asset-cleanup schedule',
    params: AssetIdParams,
    responses: { 204: { description: 'Deleted' }, 404: { description: 'NOT_FOUND' } },
  }, async (ctx, { params }) => {
    const user = currentUser(ctx);
    const em = orm.em.fork();
    const asset = await findTenantAsset(em, user.tenantId, params.id);
    const now = new Date();
    await withDependency('postgresql', () => em.nativeUpdate(Asset, { id: asset.id, tenantId: user.tenantId }, {
      deletedAt: now,
      purgeAfter: new Date(now.getTime() + config.assets.retentionDays * 86_400_000),
      updatedAt: now,
    }));
    if (asset.status === 'pending' || asset.status === 'ingesting' || asset.status === 'processing') {
      try {
        await temporal.workflow.getHandle(ingestWorkflowId(asset.id)).cancel();
      } catch (err) {
        if (!(err instanceof WorkflowNotFoundError)) ctx.state.log.warn({ err, assetId: asset.id }, 'ingest of a deleted asset not cancelled');
      }
    }
    ctx.state.log.info({ assetId: asset.id }, 'asset deleted (soft)');
    ctx.status = 204;
  });

  registry.addRoute(router, {
    method: 'get', path: '/api/v1/assets/:id/renditions', operationId: 'listAssetRenditions', tags: ['Assets'], auth: 'user',
    summary: "An asset's renditions (poster, sprite, proxies, HLS, waveform, thumbnails)",
    params: AssetIdParams,
    responses: { 200: { description: 'The renditions', schema: z.object({ items: z.array(RenditionViewSchema) }) }, 404: { description: 'NOT_FOUND' } },
  }, async (ctx, { params }) => {
    const user = currentUser(ctx);
    const em = orm.em.fork();
    const asset = await findTenantAsset(em, user.tenantId, params.id);
    const rows = await withDependency('postgresql', () => em.find(AssetRendition, { assetId: asset.id, tenantId: user.tenantId }, { orderBy: { name: 'asc' } }));
    ctx.body = { items: rows.map(renditionView) };
  });

  registry.addRoute(router, {
    method: 'get', path: '/api/v1/assets/:id/download', operationId: 'downloadAsset', tags: ['Assets'], auth: 'user',
    summary: 'A presigned URL of the original or of a rendition',
    params: AssetIdParams,
    query: z.object({ purpose: z.enum(DOWNLOAD_PURPOSES).default('original') }),
    responses: {
      200: { description: 'The URL', schema: z.object({ download_url: z.url(), expires_in: z.number().int() }) },
      404: { description: 'NOT_FOUND' },
      409: { description: 'RENDITION_NOT_READY: that rendition does not exist (yet, or for this type)' },
      429: { description: 'RATE_LIMITED: RATE_LIMIT_DOWNLOADS_PER_USER_PER_MINUTE' },
    },
  }, async (ctx, { params, query }) => {
    const user = currentUser(ctx);
    const em = orm.em.fork();
    const asset = await findTenantAsset(em, user.tenantId, params.id);
    await enforceLimit(ctx, limiters?.downloads ?? null, user.id);
    let bucket: BucketName = 'originals';
    let key = asset.originalKey;
    if (query.purpose !== 'original') {
      const rendition = await withDependency('postgresql', () => em.findOne(AssetRendition, { assetId: asset.id, tenantId: user.tenantId, name: query.purpose }));
      if (!rendition) throw new AppError(409, 'RENDITION_NOT_READY', `The asset has no ${query.purpose} rendition (it is ${asset.status})`);
      bucket = RENDITIONS[query.purpose].bucket;
      key = rendition.storageKey;
    }
    if (!key) throw new AppError(409, 'RENDITION_NOT_READY', 'The original is not stored yet');
    const ttl = config.assets.urlTtlSeconds;
    const url = await withDependency('storage', () => storage.presignGet(bucket, key!, ttl, { downloadFilename: downloadName(asset, query.purpose, key!) }));
    ctx.body = { download_url: url, expires_in: ttl };
  });

  registry.addRoute(router, {
    method: 'post', path: '/api/v1/assets/:id/reprocess', operationId: 'reprocessAsset', tags: ['Assets'], auth: 'user',
    summary: 'Re-run some ingest steps alone (e.g. a failed one): {"steps":["proxy","hls"]}',
    params: AssetIdParams,
    body: z.strictObject({ steps: z.array(z.enum(INGEST_STEPS)).min(1).max(INGEST_STEPS.length) }),
    responses: {
      202: { description: 'Started; the asset with those steps pending', schema: AssetViewSchema },
      404: { description: 'NOT_FOUND' },
      409: { description: 'INGEST_RUNNING: wait for the current run to finish' },
      422: { description: 'STEP_NOT_APPLICABLE: a step that does not exist for this type of asset; VALIDATION_FAILED' },
    },
  }, async (ctx, { params, body }) => {
    const user = currentUser(ctx);
    const em = orm.em.fork();
    const asset = await findTenantAsset(em, user.tenantId, params.id);
    const steps = [...new Set(body.steps)] as IngestStep[];
    const applicable: readonly IngestStep[] = ['validate', 'metadata', ...RENDER_STEPS[asset.type]];
    const wrong = steps.filter((s) => !applicable.includes(s));
    if (wrong.length > 0) {
      throw new AppError(422, 'STEP_NOT_APPLICABLE', `${wrong.join(', ')}: not a step of a ${asset.type} asset; its steps are ${applicable.join(', ')}`, { details: { steps: wrong, applicable } });
    }
    const running = await withDependency('temporal', async () => {
      try {
        return (await temporal.workflow.getHandle(ingestWorkflowId(asset.id)).describe()).status.name === 'RUNNING';
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) return false;
        throw err;
      }
    });
    if (running) throw new AppError(409, 'INGEST_RUNNING', 'An ingest of this asset is still running; wait for it to finish');
    await startIngestWorkflow(deps, { ...asset, originalKey: asset.originalKey ?? '' }, { steps, trace: { traceparent: ctx.state.traceparent, requestId: ctx.state.requestId } });
    ctx.state.log.info({ assetId: asset.id, steps }, 'asset reprocess started');
    ctx.status = 202;
    const fresh = orm.em.fork();
    ctx.body = await loadView(fresh, await findTenantAsset(fresh, user.tenantId, asset.id));
  });

  registry.addRoute(router, {
    method: 'get', path: '/api/v1/assets/:id/events', operationId: 'streamAssetEvents', tags: ['Assets'], auth: 'user',
    summary: 'Server-sent events: an `asset` event (the asset with its steps and progress) at each change, until it is available or failed',
    params: AssetIdParams,
    responses: { 200: { description: 'text/event-stream of `event: asset` with the asset JSON', contentType: 'text/event-stream', schema: z.string() }, 404: { description: 'NOT_FOUND' } },
  }, async (ctx, { params }) => {
    const user = currentUser(ctx);
    const read = async () => {
      const em = orm.em.fork();
      const view = await loadView(em, await findTenantAsset(em, user.tenantId, params.id));
      const stamp = Math.max(Date.parse(view.updated_at), ...view.steps.map((s) => Date.parse(s.finished_at ?? s.started_at ?? view.updated_at)));
      return { data: view, id: String(stamp), final: view.status === 'available' || view.status === 'failed' };
    };
    streamSnapshots(ctx, 'asset', await read(), read);
  });

  return router;
}
