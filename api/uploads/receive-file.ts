/**
 * Receives multipart files and streams each straight into storage while counting its bytes and
 * computing its SHA-256: never buffered whole in memory, never written to a temp file by the API.
 * All or nothing: when any part is refused (over the limit, a refused name, a client abort), every
 * object this request stored is deleted before the error is thrown.
 */
import { createHash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import busboy from 'busboy';
import type { Context } from 'koa';
import { AppError, payloadTooLarge } from '../../lib/errors.ts';
import { withDependency } from '../../lib/dependencies.ts';
import type { BucketName, StorageDriver } from '../../lib/storage/index.ts';

export interface ReceivedFile {
  /** The client's file name, as sent (sanitize before use). */
  filename: string;
  contentType: string | null;
  sizeBytes: number;
  sha256: string;
  bucket: BucketName;
  key: string;
}

export interface ReceiveFilesOptions {
  storage: StorageDriver;
  bucket: BucketName;
  /** Limit of each file. */
  maxBytes: number;
  maxFiles?: number;
  /** Where a file goes, from its position and (client-supplied) name; may throw an AppError to refuse it. */
  keyFor: (index: number, filename: string) => string;
  fieldName?: string;
}

class Meter extends Transform {
  readonly hash = createHash('sha256');
  bytes = 0;
  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.bytes += chunk.length;
    this.hash.update(chunk);
    done(null, chunk);
  }
}

const MULTIPART_OVERHEAD = 64 * 1024;

export async function receiveFiles(ctx: Context, options: ReceiveFilesOptions): Promise<{ files: ReceivedFile[]; fields: Record<string, string> }> {
  const fieldName = options.fieldName ?? 'file';
  const maxFiles = options.maxFiles ?? 1;
  if (!ctx.is('multipart/form-data')) {
    throw new AppError(415, 'UNSUPPORTED_MEDIA_TYPE', `Send multipart/form-data with ${maxFiles > 1 ? 'one or more' : 'a'} "${fieldName}" file part${maxFiles > 1 ? 's' : ''}`);
  }
  const declared = Number(ctx.get('content-length') || NaN);
  if (Number.isFinite(declared) && declared > maxFiles * (options.maxBytes + MULTIPART_OVERHEAD)) throw payloadTooLarge(options.maxBytes);

  const stored: Array<{ bucket: BucketName; key: string }> = [];
  const discard = () => Promise.all(stored.map((o) => options.storage.delete(o.bucket, o.key).catch(() => undefined)));

  try {
    return await new Promise((resolve, reject) => {
      let parser: busboy.Busboy;
      try {
        parser = busboy({
          headers: ctx.req.headers,
          limits: { files: maxFiles, fileSize: options.maxBytes, fields: 32, fieldSize: 64 * 1024, parts: 64 },
        });
      } catch (err) {
        reject(new AppError(400, 'INVALID_MULTIPART', (err as Error).message));
        return;
      }
      const fields: Record<string, string> = {};
      const uploads: Array<Promise<ReceivedFile>> = [];
      let failure: AppError | null = null;
      const fail = (err: AppError) => {
        failure ??= err;
      };

      parser.on('field', (name, value) => {
        fields[name] = value;
      });
      parser.on('filesLimit', () => fail(new AppError(400, 'TOO_MANY_FILES', `At most ${maxFiles} file(s) per request`)));
      parser.on('file', (name, file, info) => {
        if (name !== fieldName || failure) {
          file.resume();
          return;
        }
        let key: string;
        try {
          key = options.keyFor(uploads.length, info.filename ?? '');
        } catch (err) {
          fail(err instanceof AppError ? err : new AppError(400, 'INVALID_FILENAME', (err as Error).message));
          file.resume();
          return;
        }
        const meter = new Meter();
        file.on('limit', () => {
          fail(payloadTooLarge(options.maxBytes));
          // Unpipe first: an unpiped source pauses, and the rest of the body must still be drained.
          file.unpipe(meter);
          meter.destroy(failure ?? undefined);
          file.resume();
        });
        file.pipe(meter);
        stored.push({ bucket: options.bucket, key });
        const upload = withDependency('storage', () =>
          options.storage.put(options.bucket, key, meter, { contentType: info.mimeType || undefined }),
        ).then(() => ({
          filename: info.filename || 'file',
          contentType: info.mimeType || null,
          sizeBytes: meter.bytes,
          sha256: meter.hash.digest('hex'),
          bucket: options.bucket,
          key,
        }));
        // Settled after 'close' below; until then a rejection must not count as unhandled.
        upload.catch(() => undefined);
        uploads.push(upload);
      });
      parser.on('error', (err: Error) => {
        reject(failure ?? new AppError(400, 'INVALID_MULTIPART', `Malformed multipart body: ${err.message}`));
      });
      parser.on('close', () => {
        Promise.allSettled(uploads).then((results) => {
          const rejected = results.find((r) => r.status === 'rejected');
          if (failure) return reject(failure);
          if (rejected) return reject(rejected.reason);
          if (uploads.length === 0) return reject(new AppError(400, 'FILE_REQUIRED', `A "${fieldName}" file part is required`));
          resolve({ files: results.map((r) => (r as PromiseFulfilledResult<ReceivedFile>).value), fields });
        }, reject);
      });
      ctx.req.on('aborted', () => parser.destroy(new Error('client aborted the upload')));
      ctx.req.pipe(parser);
    });
  } catch (err) {
    await discard(); // nothing half-written, nothing of a refused request, is left behind
    throw err;
  }
}

/** One file (the first `file` part). */
export async function receiveFile(ctx: Context, options: Omit<ReceiveFilesOptions, 'keyFor' | 'maxFiles'> & { keyFor: (filename: string) => string }): Promise<ReceivedFile> {
  const { files } = await receiveFiles(ctx, { ...options, maxFiles: 1, keyFor: (_index, filename) => options.keyFor(filename) });
  return files[0]!;
}
