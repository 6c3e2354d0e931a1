/**
 * The storage contract both drivers (S3 through the minio client, and a local directory) honour.
 * `test/integration/storage-contract.test.ts` runs one suite against each.
 */
import type { Readable } from 'node:stream';

/** Logical bucket names; the physical bucket is `${bucketPrefix}-${name}`. */
export const BUCKETS = ['uploads', 'originals', 'proxies', 'thumbnails', 'exports'] as const;
export type BucketName = (typeof BUCKETS)[number];

export function isBucketName(value: string): value is BucketName {
  return (BUCKETS as readonly string[]).includes(value);
}

export function physicalBucket(prefix: string, bucket: BucketName): string {
  return `${prefix}-${bucket}`;
}

export interface ObjectInfo {
  key: string;
  size: number;
  contentType?: string;
  lastModified: Date;
  etag?: string;
}

export interface PutOptions {
  contentType?: string;
  /** Expected length in bytes, when known; lets the S3 driver choose a single PUT. */
  size?: number;
}

export interface PresignGetOptions {
  /** Makes the download answer `Content-Disposition: attachment; filename="…"`. */
  downloadFilename?: string;
}

export interface MultipartOptions {
  contentType?: string;
}

export interface CompleteMultipartOptions {
  /** The parts expected: exactly 1…partCount must have been uploaded. */
  partCount?: number;
}

export interface StorageDriver {
  readonly kind: 's3' | 'fs';
  /** Creates every logical bucket; idempotent. */
  ensureBuckets(): Promise<void>;
  /** Streams `body` into the object (never buffers a stream whole); replaces any existing object. */
  put(bucket: BucketName, key: string, body: Readable | Buffer, opts?: PutOptions): Promise<ObjectInfo>;
  /** Throws ObjectNotFoundError when the object does not exist. */
  get(bucket: BucketName, key: string): Promise<Readable>;
  /** Downloads the object to a local path (written whole, then renamed into place). Throws ObjectNotFoundError. */
  getToFile(bucket: BucketName, key: string, path: string): Promise<void>;
  stat(bucket: BucketName, key: string): Promise<ObjectInfo | null>;
  /** Idempotent: no error when the object is missing. */
  delete(bucket: BucketName, key: string): Promise<void>;
  /** Deletes every object whose key starts with `prefix`; returns how many were deleted. */
  deletePrefix(bucket: BucketName, prefix: string): Promise<number>;
  /** Every object whose key starts with `prefix`, in ascending key order. */
  list(bucket: BucketName, prefix: string): AsyncIterable<ObjectInfo>;
  presignGet(bucket: BucketName, key: string, expiresSeconds: number, opts?: PresignGetOptions): Promise<string>;
  presignPut(bucket: BucketName, key: string, expiresSeconds: number): Promise<string>;

  // Multipart uploads (the client uploads the parts itself, through presigned part URLs).
  // S3 rules apply to both drivers' callers: part numbers 1…10 000; every part but the last ≥ 5 MiB.

  /** Starts a multipart upload of `key`; returns its upload id. The object appears only on complete. */
  createMultipartUpload(bucket: BucketName, key: string, opts?: MultipartOptions): Promise<string>;
  /** A URL to which a plain HTTP `PUT` of the part's bytes uploads part `partNumber` (and only that part of that upload). */
  presignUploadPart(bucket: BucketName, key: string, uploadId: string, partNumber: number, expiresSeconds: number): Promise<string>;
  /**
   * Assembles the uploaded parts, in part-number order, into the object (the driver lists the
   * parts itself). Throws MultipartUploadError: NO_SUCH_UPLOAD (unknown, completed or aborted
   * upload), MISSING_PARTS (no part, a gap, or fewer than `opts.partCount`), INVALID_PARTS (the
   * store refused them, e.g. a part but the last under 5 MiB). The upload survives MISSING_PARTS.
   */
  completeMultipartUpload(bucket: BucketName, key: string, uploadId: string, opts?: CompleteMultipartOptions): Promise<ObjectInfo>;
  /** Discards the upload and its parts. Idempotent: an unknown, aborted or completed upload is no error. */
  abortMultipartUpload(bucket: BucketName, key: string, uploadId: string): Promise<void>;

  /** Cheap health check; throws when storage is unreachable or its buckets are missing. */
  ping(): Promise<void>;
}

export class ObjectNotFoundError extends Error {
  readonly bucket: BucketName;
  readonly key: string;
  constructor(bucket: BucketName, key: string, options: { cause?: unknown } = {}) {
    super(`Object not found: ${bucket}/${key}`, { cause: options.cause });
    this.name = 'ObjectNotFoundError';
    this.bucket = bucket;
    this.key = key;
  }
}

export type MultipartErrorCode = 'NO_SUCH_UPLOAD' | 'MISSING_PARTS' | 'INVALID_PARTS';

export class MultipartUploadError extends Error {
  readonly code: MultipartErrorCode;
  readonly bucket: BucketName;
  readonly key: string;
  /** MISSING_PARTS: the part numbers not uploaded (within 1…partCount, or the gaps). */
  readonly missingParts: number[];
  constructor(code: MultipartErrorCode, bucket: BucketName, key: string, message: string, options: { missingParts?: number[]; cause?: unknown } = {}) {
    super(`${bucket}/${key}: ${message}`, { cause: options.cause });
    this.name = 'MultipartUploadError';
    this.code = code;
    this.bucket = bucket;
    this.key = key;
    this.missingParts = options.missingParts ?? [];
  }
}

/** Part numbers 1…n missing from `uploaded` (n = partCount, else the highest uploaded). */
export function missingPartNumbers(uploaded: readonly number[], partCount?: number): number[] {
  const have = new Set(uploaded);
  const last = partCount ?? Math.max(0, ...uploaded);
  const missing: number[] = [];
  for (let n = 1; n <= last; n++) if (!have.has(n)) missing.push(n);
  if (last === 0) missing.push(1);
  return missing;
}

export const MAX_PARTS = 10_000;

export class InvalidKeyError extends Error {
  readonly key: string;
  constructor(key: string, reason: string) {
    super(`Invalid storage key ${JSON.stringify(key.slice(0, 100))}: ${reason}`);
    this.name = 'InvalidKeyError';
    this.key = key;
  }
}

export const MAX_KEY_LENGTH = 1024;

// C0 controls, DEL and C1 controls (NUL included).
const CONTROL_CHARS = /[\u0000-\u001f\u007f-\u009f]/;

/**
 * Rejects keys that are unsafe on a filesystem or ambiguous across drivers: empty, longer than
 * 1024 UTF-8 bytes, control characters, a leading `/`, empty segments (`a//b`, trailing `/`),
 * and `.` or `..` segments. Both drivers call it before touching anything.
 */
export function assertSafeKey(key: string): void {
  if (typeof key !== 'string' || key.length === 0) throw new InvalidKeyError(String(key), 'empty');
  if (Buffer.byteLength(key, 'utf8') > MAX_KEY_LENGTH) throw new InvalidKeyError(key, `longer than ${MAX_KEY_LENGTH} bytes`);
  if (CONTROL_CHARS.test(key)) throw new InvalidKeyError(key, 'contains control characters');
  if (key.includes('\\')) throw new InvalidKeyError(key, 'contains a backslash');
  if (key.startsWith('/')) throw new InvalidKeyError(key, 'starts with /');
  for (const segment of key.split('/')) {
    if (segment === '') throw new InvalidKeyError(key, 'has an empty path segment');
    if (segment === '.' || segment === '..') throw new InvalidKeyError(key, `has a "${segment}" segment`);
  }
}

/** Prefixes may be empty or end with `/`; otherwise the same rules as keys apply to their segments. */
export function assertSafePrefix(prefix: string): void {
  if (prefix === '') return;
  assertSafeKey(prefix.endsWith('/') ? prefix.slice(0, -1) : prefix);
}
