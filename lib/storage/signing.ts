/**
 * Presigned URLs for the local-directory driver, served by `api/routes/storage.ts`:
 * `${publicUrl}/api/v1/storage/{bucket}/{key}?expires=<unix s>&disposition=<optional>&signature=<hex>`
 * where signature = HMAC-SHA256(secret, `${method}\n${bucket}\n${key}\n${expires}\n${disposition}`).
 *
 * A multipart part URL (like S3's) adds `uploadId` and `partNumber` to the query, and both are
 * signed: `PUT-PART\n${bucket}\n${key}\n${expires}\n${uploadId}\n${partNumber}`, so a part URL
 * is good for exactly one part of one upload, and never as a plain PUT (nor a PUT URL as a part).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { BucketName } from './types.ts';

export const STORAGE_ROUTE_PREFIX = '/api/v1/storage';

export type SignedMethod = 'GET' | 'PUT';

export interface SignatureInput {
  method: SignedMethod;
  bucket: BucketName;
  key: string;
  /** Unix time in seconds after which the URL is refused. */
  expires: number;
  /** The exact Content-Disposition to answer with; '' for none. */
  disposition: string;
  /** A multipart part upload (PUT only): which upload and which part the URL is good for. */
  part?: PartTarget;
}

export interface PartTarget {
  uploadId: string;
  partNumber: number;
}

/** The query parameters of a part URL, as S3 names them. */
export const UPLOAD_ID_PARAM = 'uploadId';
export const PART_NUMBER_PARAM = 'partNumber';
export const MAX_PART_NUMBER = 10_000;

export function computeSignature(secret: string, input: SignatureInput): string {
  const payload = input.part
    ? ['PUT-PART', input.bucket, input.key, String(input.expires), input.part.uploadId, String(input.part.partNumber)].join('\n')
    : [input.method, input.bucket, input.key, String(input.expires), input.disposition].join('\n');
  return createHmac('sha256', secret).update(payload, 'utf8').digest('hex');
}

/** Encodes each segment of a key for a URL path, keeping the `/` separators. */
export function encodeKeyPath(key: string): string {
  return key.split('/').map(encodeURIComponent).join('/');
}

export function signedUrl(
  publicUrl: string,
  secret: string,
  input: Omit<SignatureInput, 'expires'> & { expiresSeconds: number; now?: number },
): string {
  if (!Number.isInteger(input.expiresSeconds) || input.expiresSeconds < 1) {
    throw new RangeError('expiresSeconds must be a positive integer');
  }
  const expires = Math.floor((input.now ?? Date.now()) / 1000) + input.expiresSeconds;
  const signature = computeSignature(secret, { ...input, expires });
  if (input.part && (input.method !== 'PUT' || input.disposition !== '')) throw new TypeError('part URLs are PUT URLs without a disposition');
  const query = new URLSearchParams();
  if (input.part) {
    query.set(UPLOAD_ID_PARAM, input.part.uploadId);
    query.set(PART_NUMBER_PARAM, String(input.part.partNumber));
  }
  query.set('expires', String(expires));
  if (input.disposition !== '') query.set('disposition', input.disposition);
  query.set('signature', signature);
  const base = publicUrl.replace(/\/+$/, '');
  return `${base}${STORAGE_ROUTE_PREFIX}/${input.bucket}/${encodeKeyPath(input.key)}?${query.toString()}`;
}

export type VerifyResult = 'ok' | 'invalid' | 'expired';

/**
 * Checks a request against its signature, compared in constant time. Authenticity is checked
 * before expiry, so `expired` is only ever answered for a URL this server really signed.
 */
export function verifySignature(
  secret: string,
  input: Omit<SignatureInput, 'expires'> & { expires: string | undefined; signature: string | undefined; now?: number },
): VerifyResult {
  const { signature, expires } = input;
  if (!signature || !/^[0-9a-f]{64}$/.test(signature) || !expires || !/^[1-9]\d{0,11}$/.test(expires)) return 'invalid';
  const expected = Buffer.from(computeSignature(secret, { ...input, expires: Number(expires) }), 'hex');
  if (!timingSafeEqual(expected, Buffer.from(signature, 'hex'))) return 'invalid';
  const nowSeconds = Math.floor((input.now ?? Date.now()) / 1000);
  return Number(expires) < nowSeconds ? 'expired' : 'ok';
}

/**
 * The part a request's query names: null when it names none (a plain PUT/GET), 'invalid' when it
 * names one badly (only one of the two, a part number outside 1…10 000, a malformed upload id).
 */
export function parsePartTarget(uploadId: string | undefined, partNumber: string | undefined): PartTarget | null | 'invalid' {
  if (uploadId === undefined && partNumber === undefined) return null;
  if (uploadId === undefined || partNumber === undefined) return 'invalid';
  if (!/^[A-Za-z0-9._~-]{1,256}$/.test(uploadId) || !/^[1-9]\d{0,4}$/.test(partNumber)) return 'invalid';
  const n = Number(partNumber);
  return n <= MAX_PART_NUMBER ? { uploadId, partNumber: n } : 'invalid';
}
