/**
 * Presigned URLs of the local-directory storage driver (`STORAGE_DRIVER=fs`), the counterpart of
 * S3's: `GET|HEAD|PUT /api/v1/storage/{bucket}/{key}?expires=…&disposition=…&signature=…`,
 * authorised by `lib/storage/signing.ts`. Mounted only when the driver is fs.
 * A PUT whose query names `uploadId` and `partNumber` uploads one part of a multipart upload; the
 * signature covers both, so the URL is good for that part of that upload only.
 * Must see the raw request body: no body parser may run before it on PUT.
 */
import { Router, type RouterContext } from '@koa/router';
import { finished, Transform, type TransformCallback } from 'node:stream';
import type { StorageConfig } from '../../lib/config.ts';
import { AppError, notFound, payloadTooLarge } from '../../lib/errors.ts';
import { parsePartTarget, PART_NUMBER_PARAM, STORAGE_ROUTE_PREFIX, UPLOAD_ID_PARAM, verifySignature, type PartTarget, type SignedMethod } from '../../lib/storage/signing.ts';
import { FsStorageDriver, InvalidKeyError, isBucketName, ObjectNotFoundError, type BucketName, type ObjectInfo, type StorageDriver } from '../../lib/storage/index.ts';
import { MultipartUploadError } from '../../lib/storage/types.ts';

export interface StorageRouterDeps {
  storage: StorageDriver;
  config: StorageConfig;
  maxUploadBytes: number;
}

/** Uploaded content must never run as a page of the API's origin. */
const OBJECT_CSP = "default-src 'none'; sandbox";

class TooLarge extends Error {}

/**
 * Passes bytes through until more than `limit` have gone by, then fails once with TooLarge.
 * Its errors reach whoever consumes it (the driver's pipeline); none is ever left unhandled.
 */
function byteLimit(limit: number): Transform {
  let seen = 0;
  let failed = false;
  const limiter = new Transform({
    transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback) {
      if (failed) return done();
      seen += chunk.length;
      if (seen <= limit) return done(null, chunk);
      failed = true;
      done(new TooLarge(`more than ${limit} bytes`));
    },
  });
  limiter.on('error', () => {});
  return limiter;
}

function queryValue(ctx: RouterContext, name: string): string | undefined {
  const value = ctx.query[name];
  return typeof value === 'string' ? value : undefined;
}

const signatureInvalid = () => new AppError(403, 'SIGNATURE_INVALID', 'The URL signature is missing or does not match');

/**
 * Checks the bucket, then the signature (over the part too, when the query names one; only PUT
 * URLs may), then the expiry; returns what was signed.
 */
function authorize(ctx: RouterContext, secret: string, method: SignedMethod): { bucket: BucketName; key: string; disposition: string; part: PartTarget | null } {
  const bucket = String(ctx.params.bucket ?? '');
  if (!isBucketName(bucket)) throw new AppError(404, 'NOT_FOUND', `Unknown bucket ${JSON.stringify(bucket.slice(0, 64))}`);
  const key = String(ctx.params.key ?? '');
  const disposition = queryValue(ctx, 'disposition') ?? '';
  const part = parsePartTarget(queryValue(ctx, UPLOAD_ID_PARAM), queryValue(ctx, PART_NUMBER_PARAM));
  if (part === 'invalid' || (part && method !== 'PUT')) throw signatureInvalid();
  const verdict = verifySignature(secret, {
    method,
    bucket,
    key,
    disposition,
    ...(part ? { part } : {}),
    expires: queryValue(ctx, 'expires'),
    signature: queryValue(ctx, 'signature'),
  });
  if (verdict === 'invalid') throw signatureInvalid();
  if (verdict === 'expired') throw new AppError(403, 'SIGNATURE_EXPIRED', 'The presigned URL has expired');
  return { bucket, key, disposition, part };
}

function setObjectHeaders(ctx: RouterContext, info: ObjectInfo, disposition: string): void {
  ctx.set('Content-Type', info.contentType ?? 'application/octet-stream');
  ctx.set('Content-Length', String(info.size));
  ctx.set('Last-Modified', info.lastModified.toUTCString());
  ctx.set('Content-Security-Policy', OBJECT_CSP);
  ctx.set('X-Content-Type-Options', 'nosniff');
  ctx.set('Cache-Control', 'private, no-cache');
  if (info.etag) ctx.set('ETag', `"${info.etag}"`);
  if (disposition) ctx.set('Content-Disposition', disposition);
}

function rethrow(err: unknown): never {
  if (err instanceof ObjectNotFoundError) throw notFound('Object');
  if (err instanceof InvalidKeyError) throw new AppError(400, 'INVALID_KEY', err.message);
  if (err instanceof MultipartUploadError && err.code === 'NO_SUCH_UPLOAD') {
    throw new AppError(404, 'NO_SUCH_UPLOAD', 'The multipart upload does not exist, or was completed or aborted');
  }
  throw err;
}

export function createStorageRouter(deps: StorageRouterDeps): Router {
  const { storage, config, maxUploadBytes } = deps;
  const router = new Router({ prefix: STORAGE_ROUTE_PREFIX });

  // GET also answers HEAD (the router adds it); HEAD reads only the metadata.
  router.get('/:bucket/*key', async (ctx) => {
    const { bucket, key, disposition } = authorize(ctx, config.signingSecret, 'GET');
    const info = await storage.stat(bucket, key).catch(rethrow);
    if (!info) throw notFound('Object');
    if (ctx.method === 'HEAD') {
      ctx.status = 200;
      setObjectHeaders(ctx, info, disposition);
      return;
    }
    const body = await storage.get(bucket, key).catch(rethrow);
    ctx.body = body;
    setObjectHeaders(ctx, info, disposition);
  });

  router.put('/:bucket/*key', async (ctx) => {
    const { bucket, key, part } = authorize(ctx, config.signingSecret, 'PUT');
    if (part && !(storage instanceof FsStorageDriver)) throw new AppError(404, 'NO_SUCH_UPLOAD', 'Multipart uploads are not served here');
    const declared = ctx.get('Content-Length') ? Number(ctx.get('Content-Length')) : undefined;
    if (declared !== undefined && declared > maxUploadBytes) {
      ctx.set('Connection', 'close');
      throw payloadTooLarge(maxUploadBytes);
    }
    if (ctx.req.readableDidRead || ctx.req.readableEnded) {
      throw new AppError(500, 'BODY_ALREADY_CONSUMED', 'A body parser read the upload before the storage route');
    }
    const limited = byteLimit(maxUploadBytes);
    finished(ctx.req, { writable: false }, (err) => {
      if (err) limited.destroy(err);
    });
    ctx.req.pipe(limited);
    let info: ObjectInfo | { size: number; etag: string };
    try {
      info = part
        ? await (storage as FsStorageDriver).uploadPart(bucket, key, part.uploadId, part.partNumber, limited)
        : await storage.put(bucket, key, limited, { contentType: ctx.get('Content-Type') || undefined, size: declared });
    } catch (err) {
      if (err instanceof TooLarge) {
        ctx.req.unpipe(limited);
        ctx.set('Connection', 'close');
        throw payloadTooLarge(maxUploadBytes);
      }
      rethrow(err);
    }
    if (info.etag) ctx.set('ETag', `"${info.etag}"`);
    ctx.status = 200;
    ctx.body = part
      ? { bucket, key, upload_id: part.uploadId, part_number: part.partNumber, size: info.size, etag: info.etag }
      : { bucket, key, size: info.size, content_type: 'contentType' in info ? info.contentType ?? null : null, etag: info.etag ?? null };
  });

  return router;
}
