/**
 * S3 storage through the minio client (MinIO, SeaweedFS's S3 gateway, any S3). Path-style
 * requests, region fixed from config so no call ever asks the server for a bucket's region.
 * Presigned URLs are signed for `s3.publicEndpoint` when set (the host is part of the signature).
 */
import { Client } from 'minio';
import type { Readable } from 'node:stream';
import { finished } from 'node:stream';
import type { StorageConfig } from '../config.ts';
import { writeFileAtomically } from './atomic-file.ts';
import { attachmentDisposition } from './disposition.ts';
import { readHead } from './stream-head.ts';
import {
  assertSafeKey,
  assertSafePrefix,
  BUCKETS,
  MAX_PARTS,
  missingPartNumbers,
  MultipartUploadError,
  ObjectNotFoundError,
  physicalBucket,
  type BucketName,
  type CompleteMultipartOptions,
  type MultipartOptions,
  type ObjectInfo,
  type PresignGetOptions,
  type PutOptions,
  type StorageDriver,
} from './types.ts';

const DEFAULT_CONTENT_TYPE = 'application/octet-stream';
/** Multipart part size: bounds the memory one streamed upload holds to a few parts (max object 160 GiB). */
export const S3_PART_SIZE = 16 * 1024 * 1024;
const MAX_PRESIGN_SECONDS = 7 * 24 * 3600;
const PING_TIMEOUT_MS = 5000;
const DELETE_BATCH = 1000;

const NOT_FOUND_CODES = new Set(['NoSuchKey', 'NotFound', 'NoSuchObject']);
/** What S3 answers to a multipart call on an upload id it does not know (or no longer knows). */
const NO_SUCH_UPLOAD_CODES = new Set(['NoSuchUpload']);
/** What S3 answers to a CompleteMultipartUpload whose parts it will not assemble. */
const INVALID_PARTS_CODES = new Set(['EntityTooSmall', 'InvalidPart', 'InvalidPartOrder']);

interface UploadedPart {
  part: number;
  etag: string;
  size: number;
}
/** minio's listParts is protected (and complete, across pages); this is its shape. */
type PartLister = { listParts(bucket: string, key: string, uploadId: string): Promise<UploadedPart[]> };
const errorCode = (err: unknown): string | undefined => (err as { code?: unknown })?.code as string | undefined;

export function s3ClientFor(endpoint: string, config: StorageConfig['s3']): Client {
  const url = new URL(endpoint);
  const useSSL = url.protocol === 'https:';
  return new Client({
    endPoint: url.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: url.port ? Number(url.port) : useSSL ? 443 : 80,
    useSSL,
    pathStyle: true,
    region: config.region,
    accessKey: config.accessKey,
    secretKey: config.secretKey,
    partSize: S3_PART_SIZE,
  });
}

function assertExpiry(seconds: number): void {
  if (!Number.isInteger(seconds) || seconds < 1 || seconds > MAX_PRESIGN_SECONDS) {
    throw new RangeError(`expiresSeconds must be an integer between 1 and ${MAX_PRESIGN_SECONDS}`);
  }
}

function assertPartNumber(partNumber: number): void {
  if (!Number.isInteger(partNumber) || partNumber < 1 || partNumber > MAX_PARTS) {
    throw new RangeError(`partNumber must be an integer between 1 and ${MAX_PARTS}`);
  }
}

export class S3StorageDriver implements StorageDriver {
  readonly kind = 's3' as const;
  readonly client: Client;
  readonly #presigner: Client;
  readonly #config: StorageConfig;

  constructor(config: StorageConfig) {
    this.#config = config;
    this.client = s3ClientFor(config.s3.endpoint, config.s3);
    this.#presigner = config.s3.publicEndpoint ? s3ClientFor(config.s3.publicEndpoint, config.s3) : this.client;
  }

  bucketName(bucket: BucketName): string {
    return physicalBucket(this.#config.bucketPrefix, bucket);
  }

  async ensureBuckets(): Promise<void> {
    for (const bucket of BUCKETS) {
      const name = this.bucketName(bucket);
      if (await this.client.bucketExists(name)) continue;
      try {
        await this.client.makeBucket(name, this.#config.s3.region);
      } catch (err) {
        // Another process created it in between.
        if (!['BucketAlreadyOwnedByYou', 'BucketAlreadyExists'].includes(errorCode(err) ?? '')) throw err;
      }
    }
  }

  async put(bucket: BucketName, key: string, body: Readable | Buffer, opts: PutOptions = {}): Promise<ObjectInfo> {
    assertSafeKey(key);
    const name = this.bucketName(bucket);
    const meta = { 'Content-Type': opts.contentType || DEFAULT_CONTENT_TYPE };
    if (Buffer.isBuffer(body)) {
      await this.client.putObject(name, key, body, body.length, meta);
    } else {
      await this.#putStream(name, key, body, opts.size, meta);
    }
    const info = await this.stat(bucket, key);
    if (!info) throw new Error(`Object vanished right after it was written: ${bucket}/${key}`);
    return info;
  }

  /**
   * A stream that ends within one part is sent as a single PUT (minio would otherwise start a
   * multipart upload, which fails outright for an empty stream). Longer ones go multipart.
   * minio pipes the body without listening for its errors, so a source that fails (client
   * disconnect, size limit) would crash the process or leave the upload waiting forever: race the
   * upload with the source's own end, and abort the multipart upload when the source fails.
   */
  async #putStream(name: string, key: string, body: Readable, size: number | undefined, meta: Record<string, string>): Promise<void> {
    const { head, ended } = await readHead(body, S3_PART_SIZE);
    if (ended) {
      await this.client.putObject(name, key, head, head.length, meta);
      return;
    }
    const upload = this.client.putObject(name, key, body, size, meta);
    const sourceFailed = new Promise<never>((_, reject) => {
      finished(body, { writable: false }, (err) => {
        if (err) reject(err);
      });
    });
    upload.catch(() => {});
    sourceFailed.catch(() => {});
    try {
      await Promise.race([upload, sourceFailed]);
    } catch (err) {
      await this.client.removeIncompleteUpload(name, key).catch(() => {});
      throw err;
    }
  }

  async get(bucket: BucketName, key: string): Promise<Readable> {
    assertSafeKey(key);
    try {
      return await this.client.getObject(this.bucketName(bucket), key);
    } catch (err) {
      if (NOT_FOUND_CODES.has(errorCode(err) ?? '')) throw new ObjectNotFoundError(bucket, key, { cause: err });
      throw err;
    }
  }

  async getToFile(bucket: BucketName, key: string, path: string): Promise<void> {
    await writeFileAtomically(await this.get(bucket, key), path);
  }

  async stat(bucket: BucketName, key: string): Promise<ObjectInfo | null> {
    assertSafeKey(key);
    try {
      const s = await this.client.statObject(this.bucketName(bucket), key);
      const contentType = s.metaData['content-type'];
      return {
        key,
        size: s.size,
        contentType: typeof contentType === 'string' ? contentType : undefined,
        lastModified: s.lastModified,
        etag: s.etag || undefined,
      };
    } catch (err) {
      if (NOT_FOUND_CODES.has(errorCode(err) ?? '')) return null;
      throw err;
    }
  }

  async delete(bucket: BucketName, key: string): Promise<void> {
    assertSafeKey(key);
    try {
      await this.client.removeObject(this.bucketName(bucket), key);
    } catch (err) {
      if (!NOT_FOUND_CODES.has(errorCode(err) ?? '')) throw err;
    }
  }

  async deletePrefix(bucket: BucketName, prefix: string): Promise<number> {
    const keys: string[] = [];
    for await (const object of this.list(bucket, prefix)) keys.push(object.key);
    for (let i = 0; i < keys.length; i += DELETE_BATCH) {
      const results = await this.client.removeObjects(this.bucketName(bucket), keys.slice(i, i + DELETE_BATCH));
      const failures = results.filter((r) => r?.Error && !NOT_FOUND_CODES.has(r.Error.Code ?? ''));
      if (failures.length > 0) {
        const first = failures[0]?.Error;
        throw new Error(`deletePrefix ${bucket}/${prefix}: ${failures.length} objects not deleted (${first?.Key}: ${first?.Code} ${first?.Message})`);
      }
    }
    return keys.length;
  }

  async *list(bucket: BucketName, prefix: string): AsyncIterable<ObjectInfo> {
    assertSafePrefix(prefix);
    for await (const item of this.client.listObjectsV2(this.bucketName(bucket), prefix, true)) {
      const entry = item as { name?: string; size: number; lastModified?: Date; etag?: string };
      if (entry.name === undefined) continue;
      yield { key: entry.name, size: entry.size, lastModified: entry.lastModified ?? new Date(0), etag: entry.etag || undefined };
    }
  }

  async presignGet(bucket: BucketName, key: string, expiresSeconds: number, opts: PresignGetOptions = {}): Promise<string> {
    assertSafeKey(key);
    assertExpiry(expiresSeconds);
    const params: Record<string, string> = {};
    if (opts.downloadFilename) params['response-content-disposition'] = attachmentDisposition(opts.downloadFilename);
    return this.#presigner.presignedGetObject(this.bucketName(bucket), key, expiresSeconds, params);
  }

  async presignPut(bucket: BucketName, key: string, expiresSeconds: number): Promise<string> {
    assertSafeKey(key);
    assertExpiry(expiresSeconds);
    return this.#presigner.presignedPutObject(this.bucketName(bucket), key, expiresSeconds);
  }

  async createMultipartUpload(bucket: BucketName, key: string, opts: MultipartOptions = {}): Promise<string> {
    assertSafeKey(key);
    return this.client.initiateNewMultipartUpload(this.bucketName(bucket), key, { 'Content-Type': opts.contentType || DEFAULT_CONTENT_TYPE });
  }

  async presignUploadPart(bucket: BucketName, key: string, uploadId: string, partNumber: number, expiresSeconds: number): Promise<string> {
    assertSafeKey(key);
    assertExpiry(expiresSeconds);
    assertPartNumber(partNumber);
    if (!uploadId) throw new TypeError('uploadId is empty');
    return this.#presigner.presignedUrl('PUT', this.bucketName(bucket), key, expiresSeconds, { partNumber: String(partNumber), uploadId });
  }

  async completeMultipartUpload(bucket: BucketName, key: string, uploadId: string, opts: CompleteMultipartOptions = {}): Promise<ObjectInfo> {
    assertSafeKey(key);
    const name = this.bucketName(bucket);
    let parts: UploadedPart[];
    try {
      parts = await (this.client as unknown as PartLister).listParts(name, key, uploadId);
    } catch (err) {
      throw this.#multipartError(err, bucket, key);
    }
    parts.sort((a, b) => a.part - b.part);
    const missing = missingPartNumbers(parts.map((p) => p.part), opts.partCount);
    if (missing.length > 0) {
      throw new MultipartUploadError('MISSING_PARTS', bucket, key, `parts not uploaded: ${missing.slice(0, 20).join(', ')}${missing.length > 20 ? ', …' : ''}`, { missingParts: missing });
    }
    if (opts.partCount !== undefined && parts.length > opts.partCount) {
      throw new MultipartUploadError('INVALID_PARTS', bucket, key, `${parts.length} parts uploaded, ${opts.partCount} expected`);
    }
    try {
      await this.client.completeMultipartUpload(name, key, uploadId, parts.map((p) => ({ part: p.part, etag: p.etag })));
    } catch (err) {
      throw this.#multipartError(err, bucket, key);
    }
    const info = await this.stat(bucket, key);
    if (!info) throw new Error(`Object missing right after its multipart upload completed: ${bucket}/${key}`);
    return info;
  }

  async abortMultipartUpload(bucket: BucketName, key: string, uploadId: string): Promise<void> {
    assertSafeKey(key);
    try {
      await this.client.abortMultipartUpload(this.bucketName(bucket), key, uploadId);
    } catch (err) {
      if (!NO_SUCH_UPLOAD_CODES.has(errorCode(err) ?? '')) throw err;
    }
  }

  #multipartError(err: unknown, bucket: BucketName, key: string): unknown {
    const code = errorCode(err) ?? '';
    if (NO_SUCH_UPLOAD_CODES.has(code)) return new MultipartUploadError('NO_SUCH_UPLOAD', bucket, key, 'no such multipart upload', { cause: err });
    if (INVALID_PARTS_CODES.has(code)) {
      return new MultipartUploadError('INVALID_PARTS', bucket, key, `the parts were refused (${code}: ${(err as Error).message})`, { cause: err });
    }
    return err;
  }

  async ping(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`S3 at ${this.#config.s3.endpoint} did not answer within ${PING_TIMEOUT_MS} ms`)), PING_TIMEOUT_MS);
    });
    const check = Promise.all(
      BUCKETS.map(async (bucket) => {
        if (!(await this.client.bucketExists(this.bucketName(bucket)))) {
          throw new Error(`S3 bucket ${this.bucketName(bucket)} does not exist`);
        }
      }),
    );
    check.catch(() => {});
    try {
      await Promise.race([check, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }
}
