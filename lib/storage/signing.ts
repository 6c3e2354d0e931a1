/**
 * Presigned URLs for the local-directory driver, served by `api/routes/storage.ts`:
 * `${publicUrl}/api/v1/storage/{bucket}/{key}?expires=<unix s>&disposition=<optional>&signature=<hex>`
 * where signature = HMAC-SHA256(secret, `${method}\n${bucket}\n${key}\n${expires}\n${disposition}`).
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
}

export function computeSignature(secret: string, input: SignatureInput): string {
  const payload = [input.method, input.bucket, input.key, String(input.expires), input.disposition].join('\n');
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
  const query = new URLSearchParams({ expires: String(expires) });
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
