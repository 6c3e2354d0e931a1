/**
 * Receives one multipart file and streams it straight into storage while counting its bytes and
 * computing its SHA-256: never buffered whole in memory, never written to a temp file by the API.
 * Over the limit → 413 PAYLOAD_TOO_LARGE and the partial object is deleted; no file → 400 FILE_REQUIRED.
 */
import { createHash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import busboy from 'busboy';
import type { Context } from 'koa';
import { AppError, payloadTooLarge } from '../../lib/errors.ts';
import { withDependency } from '../../lib/dependencies.ts';
import type { BucketName, StorageDriver } from '../../lib/storage/index.ts';

export interface ReceivedFile {
  filename: string;
  contentType: string | null;
  sizeBytes: number;
  sha256: string;
  bucket: BucketName;
  key: string;
  /** Non-file form fields sent before or after the file. */
  fields: Record<string, string>;
}

export interface ReceiveFileOptions {
  storage: StorageDriver;
  bucket: BucketName;
  maxBytes: number;
  /** The storage key for the file, from its (client-supplied) filename. */
  keyFor: (filename: string) => string;
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

export async function receiveFile(ctx: Context, options: ReceiveFileOptions): Promise<ReceivedFile> {
  const fieldName = options.fieldName ?? 'file';
  if (!ctx.is('multipart/form-data')) {
    throw new AppError(415, 'UNSUPPORTED_MEDIA_TYPE', `Send multipart/form-data with a "${fieldName}" file part`);
  }
  const declared = Number(ctx.get('content-length') || NaN);
  if (Number.isFinite(declared) && declared > options.maxBytes + MULTIPART_OVERHEAD) throw payloadTooLarge(options.maxBytes);

  return new Promise<ReceivedFile>((resolve, reject) => {
    let parser: busboy.Busboy;
    try {
      parser = busboy({
        headers: ctx.req.headers,
        limits: { files: 1, fileSize: options.maxBytes, fields: 32, fieldSize: 64 * 1024, parts: 64 },
      });
    } catch (err) {
      reject(new AppError(400, 'INVALID_MULTIPART', (err as Error).message));
      return;
    }
    const fields: Record<string, string> = {};
    let upload: Promise<ReceivedFile | null> | null = null;
    let failure: AppError | null = null;

    parser.on('field', (name, value) => {
      fields[name] = value;
    });
    parser.on('file', (name, file, info) => {
      if (name !== fieldName || upload) {
        file.resume();
        return;
      }
      const meter = new Meter();
      let key: string;
      try {
        key = options.keyFor(info.filename ?? 'file');
      } catch (err) {
        failure = new AppError(400, 'INVALID_FILENAME', (err as Error).message);
        file.resume();
        return;
      }
      file.on('limit', () => {
        failure = payloadTooLarge(options.maxBytes);
        // Unpipe first: an unpiped source pauses, and the rest of the body must still be drained.
        file.unpipe(meter);
        meter.destroy(failure);
        file.resume();
      });
      file.pipe(meter);
      upload = withDependency('storage', () =>
        options.storage.put(options.bucket, key, meter, { contentType: info.mimeType || undefined }),
      ).then(
        () => ({
          filename: info.filename || 'file',
          contentType: info.mimeType || null,
          sizeBytes: meter.bytes,
          sha256: meter.hash.digest('hex'),
          bucket: options.bucket,
          key,
          fields,
        }),
        async (err: unknown) => {
          // Nothing half-written is left behind.
          await options.storage.delete(options.bucket, key).catch(() => undefined);
          throw failure ?? err;
        },
      );
      // Settled in 'close' below; until then a rejection must not count as unhandled.
      upload.catch(() => undefined);
    });
    parser.on('error', (err: Error) => {
      failure ??= new AppError(400, 'INVALID_MULTIPART', `Malformed multipart body: ${err.message}`);
      reject(failure);
    });
    parser.on('close', () => {
      if (!upload) {
        reject(failure ?? new AppError(400, 'FILE_REQUIRED', `A "${fieldName}" file part is required`));
        return;
      }
      upload.then((received) => (received ? resolve(received) : reject(failure)), reject);
    });
    ctx.req.on('aborted', () => parser.destroy(new Error('client aborted the upload')));
    ctx.req.pipe(parser);
  });
}
