/**
 * /api/v1/assets/uploads — direct-to-storage upload sessions, for files too large to stream
 * through the API.
 *
 * 1. `POST /assets/uploads` declares the file (name, size, optional SHA-256) and answers presigned
 *    URLs: one `PUT` up to 64 MiB, else one `PUT` per part (64 MiB parts, larger for huge files so
 *    there are at most 10 000). Both are S3 multipart uploads underneath (a single PUT is a
 *    one-part upload), so once the upload is completed no URL can overwrite the verified original.
 * 2. The client PUTs the bytes straight to storage.
 * 3. `POST /assets/uploads/{id}/complete` assembles the parts, checks the stored size and SHA-256
 *    (always computed: the asset records it), sniffs the first bytes, and creates the asset and its
 *    ingest (`acceptAsset`). A refused upload is removed from storage and the session aborted.
 *    Completing a completed session answers the same asset again.
 *
 * Sessions are the caller's own (another user's or tenant's id is 404); a session still pending
 * at expires_at is aborted by the `abortExpiredAssetUploads` activity.
 */
import { createHash, randomUUID } from 'node:crypto';
import { extname } from 'node:path';
import Router from '@koa/router';
import type { EntityManager } from '@mikro-orm/core';
import { z } from 'zod';
import { discardUploadedObject } from '../../activities/db/asset-uploads.ts';
import { Asset, AssetUpload, ASSET_UPLOAD_STATUSES, type IAssetUpload } from '../../entities/index.ts';
import { ASSET_STATUSES, DEFAULT_ASSET_PRIORITY, MAX_ASSET_PRIORITY, MIN_ASSET_PRIORITY } from '../../lib/assets/catalogue.ts';
import { ASSET_EXTENSIONS, SNIFF_BYTES, sniffAsset } from '../../lib/assets/sniff.ts';
import { withDependency } from '../../lib/dependencies.ts';
import { AppError, notFound, payloadTooLarge } from '../../lib/errors.ts';
import { assetKey, sanitizeFilename, type ObjectInfo, type StorageDriver } from '../../lib/storage/index.ts';
import { MultipartUploadError } from '../../lib/storage/types.ts';
import { acceptAsset, duplicateAsset, findDuplicate } from '../assets/accept-asset.ts';
import { currentUser } from '../auth/authenticate.ts';
import type { ApiDeps, AuthUser } from '../context.ts';
import type { ApiContext, ApiRegistry } from '../openapi/registry.ts';
import { enforceLimit, type Limiter } from '../rate-limits.ts';

const MiB = 1024 * 1024;
/** Files over this size are uploaded in parts (the 64 MB). */
export const MULTIPART_THRESHOLD_BYTES = 64 * MiB;
/** S3's smallest part (every part but the last). */
export const MIN_PART_BYTES = 5 * MiB;
/** S3's largest part. */
export const MAX_PART_BYTES = 5 * 1024 * MiB;
export const DEFAULT_PART_BYTES = 64 * MiB;
export const MAX_UPLOAD_PARTS = 10_000;

export interface PlanOptions {
  /** Sizes up to this are one PUT. */
  threshold?: number;
  /** The preferred part size; grown (in whole MiB) when the file would need more than 10 000 parts. */
  partSize?: number;
}

export type UploadPlan =
  | { multipart: false; partCount: 1; partSize: number; parts: Array<{ partNumber: number; sizeBytes: number }> }
  | { multipart: true; partCount: number; partSize: number; parts: Array<{ partNumber: number; sizeBytes: number }> };

/**
 * How a file of `sizeBytes` is uploaded: one PUT up to the threshold, else parts of `partSize`
 * (the last one shorter), at most 10 000 of them. Throws RangeError for sizes or part sizes S3
 * cannot take.
 */
export function planUpload(sizeBytes: number, options: PlanOptions = {}): UploadPlan {
  const threshold = options.threshold ?? MULTIPART_THRESHOLD_BYTES;
  const preferred = options.partSize ?? DEFAULT_PART_BYTES;
  if (!Number.isSafeInteger(sizeBytes) || sizeBytes < 1) throw new RangeError('sizeBytes must be a positive integer');
  if (!Number.isSafeInteger(preferred) || preferred < MIN_PART_BYTES || preferred > MAX_PART_BYTES) {
    throw new RangeError(`partSize must be between ${MIN_PART_BYTES} and ${MAX_PART_BYTES} bytes`);
  }
  if (sizeBytes <= threshold) {
    if (sizeBytes > MAX_PART_BYTES) throw new RangeError(`a single PUT holds at most ${MAX_PART_BYTES} bytes`);
    return { multipart: false, partCount: 1, partSize: sizeBytes, parts: [{ partNumber: 1, sizeBytes }] };
  }
  const partSize = Math.max(preferred, Math.ceil(sizeBytes / MAX_UPLOAD_PARTS / MiB) * MiB);
  if (partSize > MAX_PART_BYTES) throw new RangeError(`${sizeBytes} bytes need parts over ${MAX_PART_BYTES} bytes`);
  const partCount = Math.ceil(sizeBytes / partSize);
  const parts = Array.from({ length: partCount }, (_, i) => ({
    partNumber: i + 1,
    sizeBytes: i < partCount - 1 ? partSize : sizeBytes - partSize * (partCount - 1),
  }));
  return { multipart: true, partCount, partSize, parts };
}

// --- schemas -------------------------------------------------------------------------------

const CreateUploadSchema = z.strictObject({
  filename: z.string().trim().min(1).max(255),
  size_bytes: z.number().int().positive().max(Number.MAX_SAFE_INTEGER),
  content_type: z.string().trim().min(1).max(255).regex(/^[\x21-\x7e][\x20-\x7e]*$/, 'printable ASCII').optional(),
  sha256: z.string().regex(/^[0-9a-fA-F]{64}$/, '64 hexadecimal digits').optional(),
  title: z.string().trim().min(1).max(300).optional(),
  description: z.string().max(10_000).optional(),
  code: z.string().trim().min(1).max(64).regex(/^[\p{L}\p{N}._\-/ ]+$/u, 'letters, digits, space and . _ - /').optional(),
  priority: z.number().int().min(MIN_ASSET_PRIORITY).max(MAX_ASSET_PRIORITY).default(DEFAULT_ASSET_PRIORITY),
  allow_duplicate: z.boolean().default(false),
});

const UploadParams = z.object({ id: z.string().max(64) });

const PartSchema = z.object({ part_number: z.number().int(), url: z.url(), size_bytes: z.number().int() });

const CreatedSchema = z.object({
  upload_id: z.uuid(),
  asset_id: z.uuid(),
  method: z.literal('PUT'),
  url: z.url().optional().describe('Single PUT (files up to 64 MiB): PUT the whole file here'),
  parts: z.array(PartSchema).optional().describe('Multipart: PUT each part (bytes [(n-1)·part_size, n·part_size)) to its URL, in any order'),
  part_size: z.number().int().optional(),
  expires_at: z.iso.datetime(),
}).meta({ id: 'AssetUploadCreated' });

const UploadViewSchema = z.object({
  upload_id: z.uuid(),
  asset_id: z.uuid(),
  status: z.enum(ASSET_UPLOAD_STATUSES),
  filename: z.string(),
  content_type: z.string().nullable(),
  size_bytes: z.number().int(),
  sha256: z.string().nullable(),
  multipart: z.boolean(),
  part_size: z.number().int().nullable(),
  part_count: z.number().int().nullable(),
  expires_at: z.iso.datetime(),
  created_at: z.iso.datetime(),
  completed_at: z.iso.datetime().nullable(),
}).meta({ id: 'AssetUpload' });

const CompletedSchema = z.object({ asset_id: z.uuid(), status: z.enum([...ASSET_STATUSES, 'deleted']) });

// --- helpers -------------------------------------------------------------------------------

const isExpired = (upload: IAssetUpload, now = new Date()) => upload.status === 'expired' || (upload.status === 'pending' && upload.expiresAt.getTime() <= now.getTime());

function uploadView(upload: IAssetUpload): z.infer<typeof UploadViewSchema> {
  return {
    upload_id: upload.id,
    asset_id: upload.assetId,
    status: isExpired(upload) ? 'expired' : upload.status,
    filename: upload.filename,
    content_type: upload.contentType ?? null,
    size_bytes: upload.sizeBytes,
    sha256: upload.sha256 ?? null,
    multipart: upload.partCount !== null && upload.partCount !== undefined,
    part_size: upload.partSize ?? null,
    part_count: upload.partCount ?? null,
    expires_at: upload.expiresAt.toISOString(),
    created_at: upload.createdAt.toISOString(),
    completed_at: upload.completedAt?.toISOString() ?? null,
  };
}

/** The caller's own session; anything else (another user's or tenant's, malformed id) is 404. */
async function findOwnUpload(em: EntityManager, user: AuthUser, id: string): Promise<IAssetUpload> {
  if (!z.uuid().safeParse(id).success) throw notFound('Upload');
  const upload = await withDependency('postgresql', () => em.findOne(AssetUpload, { id, tenantId: user.tenantId, userId: user.id }));
  if (!upload) throw notFound('Upload');
  return upload;
}

/** SHA-256, byte count and the first SNIFF_BYTES of a stored object, in one streaming pass. */
async function digestObject(storage: StorageDriver, key: string): Promise<{ sha256: string; size: number; head: Buffer }> {
  const hash = createHash('sha256');
  const headChunks: Buffer[] = [];
  let headBytes = 0;
  let size = 0;
  const stream = await storage.get('originals', key);
  try {
    for await (const data of stream) {
      const chunk = data as Buffer;
      hash.update(chunk);
      size += chunk.length;
      if (headBytes < SNIFF_BYTES) {
        const take = chunk.subarray(0, SNIFF_BYTES - headBytes);
        headChunks.push(take);
        headBytes += take.length;
      }
    }
  } finally {
    stream.destroy();
  }
  return { sha256: hash.digest('hex'), size, head: Buffer.concat(headChunks) };
}

const uploadMismatch = (message: string, details: Record<string, unknown>) => new AppError(422, 'UPLOAD_MISMATCH', message, { details });

export function createAssetUploadsRouter(deps: ApiDeps, registry: ApiRegistry, uploads: Limiter | null): Router {
  const router = new Router();
  const { config, orm, storage } = deps;
  const expirySeconds = config.assets.uploadExpiryHours * 3600;
  const accepted = Object.keys(ASSET_EXTENSIONS);

  /** Refuses the upload for good: the stored bytes go, the session is aborted, `err` is thrown. */
  async function refuse(ctx: ApiContext, upload: IAssetUpload, err: AppError): Promise<never> {
    await withDependency('storage', () => discardUploadedObject({ orm, storage }, upload));
    await withDependency('postgresql', () => orm.em.fork().nativeUpdate(AssetUpload, { id: upload.id, status: 'pending' }, { status: 'aborted' }));
    ctx.state.log.info({ uploadId: upload.id, assetId: upload.assetId, code: err.code }, 'direct upload refused');
    throw err;
  }

  /** What a completed session answers: its asset and that asset's status now. */
  async function completedAnswer(ctx: ApiContext, upload: IAssetUpload): Promise<void> {
    const asset = await withDependency('postgresql', () => orm.em.fork().findOne(Asset, { id: upload.assetId, tenantId: upload.tenantId }, { fields: ['status', 'deletedAt'] }));
    ctx.status = 202;
    ctx.set('Location', `/api/v1/assets/${upload.assetId}`);
    ctx.body = { asset_id: upload.assetId, status: !asset || asset.deletedAt ? 'deleted' : asset.status };
  }

  registry.addRoute(router, {
    method: 'post', path: '/api/v1/assets/uploads', operationId: 'createAssetUpload', tags: ['Assets'], auth: 'user',
    summary: 'Start a direct-to-storage upload: presigned URL(s) for the bytes, then call complete',
    description: `Up to ${MULTIPART_THRESHOLD_BYTES / MiB} MiB: one presigned \`PUT\` (\`url\`). Larger: one presigned \`PUT\` per part (\`parts\`, ${DEFAULT_PART_BYTES / MiB} MiB each but the last; larger parts when more than ${MAX_UPLOAD_PARTS} would be needed). At most ASSET_MAX_DIRECT_UPLOAD_MB = ${config.assets.maxDirectUploadBytes / MiB} MiB; accepted: ${accepted.join(' ')}. The URLs and the session expire after ASSET_UPLOAD_EXPIRY_HOURS = ${config.assets.uploadExpiryHours} h. With \`sha256\`, content the tenant already has is refused at once (409 DUPLICATE_ASSET) unless \`allow_duplicate\`, and complete verifies it.`,
    body: CreateUploadSchema,
    responses: {
      201: { description: 'The session, with the URL(s) to PUT the bytes to', schema: CreatedSchema },
      409: { description: 'DUPLICATE_ASSET (details.existing_asset_id)' },
      413: { description: 'PAYLOAD_TOO_LARGE: size_bytes over the direct-upload limit' },
      415: { description: 'UNSUPPORTED_FORMAT: the extension is not accepted' },
      422: { description: 'VALIDATION_FAILED' },
      429: { description: 'RATE_LIMITED (uploads per user)' },
    },
  }, async (ctx, { body }) => {
    const user = currentUser(ctx);
    await enforceLimit(ctx, uploads, user.id);
    if (body.size_bytes > config.assets.maxDirectUploadBytes) throw payloadTooLarge(config.assets.maxDirectUploadBytes);
    const filename = sanitizeFilename(body.filename);
    const extension = extname(filename).toLowerCase();
    if (!ASSET_EXTENSIONS[extension]) {
      throw new AppError(415, 'UNSUPPORTED_FORMAT', `${filename}: accepted formats are ${accepted.join(' ')}`, { details: { filename, accepted } });
    }
    const sha256 = body.sha256?.toLowerCase() ?? null;
    const em = orm.em.fork();
    if (sha256 && !body.allow_duplicate) {
      const existing = await withDependency('postgresql', () => findDuplicate(em, user.tenantId, sha256));
      if (existing) throw duplicateAsset(existing);
    }
    let plan: UploadPlan;
    try {
      plan = planUpload(body.size_bytes);
    } catch (err) {
      if (err instanceof RangeError) throw payloadTooLarge(config.assets.maxDirectUploadBytes);
      throw err;
    }

    const id = randomUUID();
    const assetId = randomUUID();
    const createdAt = new Date();
    const expiresAt = new Date(createdAt.getTime() + expirySeconds * 1000);
    const key = assetKey({ tenantId: user.tenantId, date: createdAt, assetId, purpose: 'original', filename: `original${extension}` });
    const contentType = body.content_type ?? null;
    const multipartUploadId = await withDependency('storage', () => storage.createMultipartUpload('originals', key, contentType ? { contentType } : {}));
    try {
      await withDependency('postgresql', () => em.insert(AssetUpload, {
        id,
        tenantId: user.tenantId,
        userId: user.id,
        assetId,
        filename,
        contentType,
        sizeBytes: body.size_bytes,
        sha256,
        title: body.title ?? (filename.replace(/\.[^.]*$/, '') || filename),
        description: body.description ?? null,
        code: body.code ?? null,
        priority: body.priority,
        allowDuplicate: body.allow_duplicate,
        storageKey: key,
        multipartUploadId,
        partSize: plan.multipart ? plan.partSize : null,
        partCount: plan.multipart ? plan.partCount : null,
        status: 'pending',
        expiresAt,
        createdAt,
        completedAt: null,
      }));
    } catch (err) {
      await storage.abortMultipartUpload('originals', key, multipartUploadId).catch(() => undefined);
      throw err;
    }
    const urls = await withDependency('storage', () => Promise.all(
      plan.parts.map((part) => storage.presignUploadPart('originals', key, multipartUploadId, part.partNumber, expirySeconds)),
    ));
    ctx.state.log.info({ uploadId: id, assetId, sizeBytes: body.size_bytes, parts: plan.partCount }, 'direct upload started');
    ctx.status = 201;
    ctx.set('Location', `/api/v1/assets/uploads/${id}`);
    ctx.body = plan.multipart
      ? {
        upload_id: id, asset_id: assetId, method: 'PUT',
        parts: plan.parts.map((part, i) => ({ part_number: part.partNumber, url: urls[i]!, size_bytes: part.sizeBytes })),
        part_size: plan.partSize,
        expires_at: expiresAt.toISOString(),
      }
      : { upload_id: id, asset_id: assetId, method: 'PUT', url: urls[0]!, expires_at: expiresAt.toISOString() };
  });

  registry.addRoute(router, {
    method: 'get', path: '/api/v1/assets/uploads/:id', operationId: 'getAssetUpload', tags: ['Assets'], auth: 'user',
    summary: 'A direct upload session of the caller',
    params: UploadParams,
    responses: { 200: { description: 'The session (status expired once expires_at has passed while pending)', schema: UploadViewSchema }, 404: { description: "NOT_FOUND (also another user's or tenant's session)" } },
  }, async (ctx, { params }) => {
    ctx.body = uploadView(await findOwnUpload(orm.em.fork(), currentUser(ctx), params.id));
  });

  registry.addRoute(router, {
    method: 'post', path: '/api/v1/assets/uploads/:id/complete', operationId: 'completeAssetUpload', tags: ['Assets'], auth: 'user',
    summary: 'Finish a direct upload: verify the stored bytes and create the asset (ingest starts)',
    description: 'Assembles the parts, then checks the stored size against size_bytes and the SHA-256 of the stored bytes against sha256 (when declared), and the content against the extension. A refused upload is deleted and the session aborted. Calling it again on a completed session answers the same asset.',
    params: UploadParams,
    responses: {
      202: { description: 'The asset (status pending) exists and its ingest has started; see Location', schema: CompletedSchema },
      404: { description: "NOT_FOUND (also another user's or tenant's session)" },
      409: { description: 'UPLOAD_INCOMPLETE: the bytes (or some parts, details.missing_parts) are not uploaded yet; upload them and call again. DUPLICATE_ASSET: the tenant has this content (details.existing_asset_id); the upload is deleted' },
      410: { description: 'UPLOAD_EXPIRED, UPLOAD_ABORTED: the session is over; start a new one' },
      415: { description: 'UNSUPPORTED_FORMAT; the upload is deleted' },
      422: { description: 'UPLOAD_MISMATCH (size or SHA-256; details.field, expected, actual), INVALID_MEDIA, IMAGE_TOO_LARGE; the upload is deleted' },
    },
  }, async (ctx, { params }) => {
    const user = currentUser(ctx);
    const first = await findOwnUpload(orm.em.fork(), user, params.id);
    if (first.status === 'completed') return completedAnswer(ctx, first);
    // One complete of a session at a time (a per-session advisory lock held for the duration):
    // concurrent calls wait, then find the session completed and answer the same asset.
    await withDependency('postgresql', () => orm.em.fork().transactional(async (tx) => {
      await tx.getConnection().execute('select pg_advisory_xact_lock(hashtextextended(?, 0))', [`asset-upload-complete:${first.id}`], 'run', tx.getTransactionContext());
      const upload = await findOwnUpload(tx.fork(), user, params.id);
      if (upload.status === 'completed') return completedAnswer(ctx, upload);
      if (upload.status === 'aborted') throw new AppError(410, 'UPLOAD_ABORTED', 'The upload was aborted; start a new one');
      if (isExpired(upload)) throw new AppError(410, 'UPLOAD_EXPIRED', `The upload expired at ${upload.expiresAt.toISOString()}; start a new one`);
      return completeSession(ctx, user, upload);
    }));
  });

  /** Assembles, verifies and accepts a pending session (under its complete lock). */
  async function completeSession(ctx: ApiContext, user: AuthUser, upload: IAssetUpload): Promise<void> {
    // Assemble the parts. NO_SUCH_UPLOAD after an earlier complete got this far: the object is there.
    let info: ObjectInfo | null = null;
    if (upload.multipartUploadId) {
      try {
        info = await withDependency('storage', () => storage.completeMultipartUpload('originals', upload.storageKey, upload.multipartUploadId!, { partCount: upload.partCount ?? 1 }));
      } catch (err) {
        if (!(err instanceof MultipartUploadError)) throw err;
        if (err.code === 'MISSING_PARTS') {
          throw new AppError(409, 'UPLOAD_INCOMPLETE', upload.partCount ? `Parts not uploaded yet: ${err.missingParts.slice(0, 50).join(', ')}` : 'The file has not been uploaded yet', {
            details: { missing_parts: err.missingParts },
          });
        }
        if (err.code === 'INVALID_PARTS') {
          return refuse(ctx, upload, uploadMismatch(`The uploaded parts do not make up the declared file: ${err.message}`, { field: 'parts' }));
        }
        info = await withDependency('storage', () => storage.stat('originals', upload.storageKey));
        if (!info) return refuse(ctx, upload, new AppError(410, 'UPLOAD_ABORTED', 'The storage no longer knows this upload; start a new one'));
      }
    } else {
      info = await withDependency('storage', () => storage.stat('originals', upload.storageKey));
      if (!info) throw new AppError(409, 'UPLOAD_INCOMPLETE', 'The file has not been uploaded yet');
    }

    if (info.size !== upload.sizeBytes) {
      return refuse(ctx, upload, uploadMismatch(`The stored file has ${info.size} bytes, ${upload.sizeBytes} were declared`, { field: 'size_bytes', expected: upload.sizeBytes, actual: info.size }));
    }
    const digest = await withDependency('storage', () => digestObject(storage, upload.storageKey));
    if (digest.size !== upload.sizeBytes) {
      return refuse(ctx, upload, uploadMismatch(`The stored file has ${digest.size} bytes, ${upload.sizeBytes} were declared`, { field: 'size_bytes', expected: upload.sizeBytes, actual: digest.size }));
    }
    if (upload.sha256 && digest.sha256 !== upload.sha256) {
      return refuse(ctx, upload, uploadMismatch('The SHA-256 of the stored file is not the one declared', { field: 'sha256', expected: upload.sha256, actual: digest.sha256 }));
    }
    const sniffed = sniffAsset(digest.head, upload.filename, { maxImagePixels: config.assets.maxImagePixels });
    if (!sniffed.ok) {
      return refuse(ctx, upload, new AppError(sniffed.status, sniffed.code, `${upload.filename}: ${sniffed.message}`, { details: { filename: upload.filename } }));
    }

    const madeByAnother = async () => Boolean(await orm.em.fork().findOne(Asset, { id: upload.assetId, tenantId: upload.tenantId }, { fields: ['id'] }));
    try {
      await acceptAsset(deps, user, {
        id: upload.assetId,
        createdAt: upload.createdAt,
        type: sniffed.type,
        title: upload.title,
        description: upload.description ?? null,
        code: upload.code ?? null,
        priority: upload.priority,
        originalFilename: upload.filename,
        originalKey: upload.storageKey,
        contentType: upload.contentType ?? (info.contentType && info.contentType !== 'application/octet-stream' ? info.contentType.slice(0, 255) : null),
        sizeBytes: digest.size,
        sha256: digest.sha256,
      }, { allowDuplicate: upload.allowDuplicate, trace: { traceparent: ctx.state.traceparent, requestId: ctx.state.requestId } });
    } catch (err) {
      // A concurrent complete of the same session created the asset first: that is success.
      if (await madeByAnother().catch(() => false)) {
        // fall through to mark the session completed
      } else if (err instanceof AppError && err.code === 'DUPLICATE_ASSET') {
        return refuse(ctx, upload, err);
      } else {
        // Dependency trouble: the stored bytes stay and the session stays pending; complete can be retried.
        throw err;
      }
    }
    const now = new Date();
    await withDependency('postgresql', () => orm.em.fork().nativeUpdate(AssetUpload, { id: upload.id, status: { $ne: 'completed' } }, { status: 'completed', completedAt: now }));
    ctx.state.log.info({ uploadId: upload.id, assetId: upload.assetId, sizeBytes: digest.size }, 'direct upload completed');
    return completedAnswer(ctx, { ...upload, status: 'completed', completedAt: now });
  }

  registry.addRoute(router, {
    method: 'delete', path: '/api/v1/assets/uploads/:id', operationId: 'abortAssetUpload', tags: ['Assets'], auth: 'user',
    summary: 'Abort a direct upload: the uploaded bytes and parts are removed',
    params: UploadParams,
    responses: {
      204: { description: 'Aborted (also when it already was, or had expired)' },
      404: { description: "NOT_FOUND (also another user's or tenant's session)" },
      409: { description: 'UPLOAD_COMPLETED: the upload became an asset; delete the asset instead' },
    },
  }, async (ctx, { params }) => {
    const user = currentUser(ctx);
    const upload = await findOwnUpload(orm.em.fork(), user, params.id);
    if (upload.status === 'completed') {
      throw new AppError(409, 'UPLOAD_COMPLETED', 'The upload is complete and became an asset; delete the asset instead', { details: { asset_id: upload.assetId } });
    }
    if (upload.status === 'pending') {
      await withDependency('storage', () => discardUploadedObject({ orm, storage }, upload));
      await withDependency('postgresql', () => orm.em.fork().nativeUpdate(AssetUpload, { id: upload.id, status: 'pending' }, { status: 'aborted' }));
      ctx.state.log.info({ uploadId: upload.id }, 'direct upload aborted');
    }
    ctx.status = 204;
  });

  return router;
}
