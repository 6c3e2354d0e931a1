/** Storage: pick the driver from config; everything callers need is re-exported here. */
import type { StorageConfig } from '../config.ts';
import { FsStorageDriver } from './fs.ts';
import { S3StorageDriver } from './s3.ts';
import type { StorageDriver } from './types.ts';

export function createStorage(config: StorageConfig): StorageDriver {
  switch (config.driver) {
    case 's3':
      return new S3StorageDriver(config);
    case 'fs':
      return new FsStorageDriver(config);
    default:
      throw new Error(`Unknown storage driver: ${String((config as { driver: unknown }).driver)}`);
  }
}

export { FsStorageDriver } from './fs.ts';
export { S3StorageDriver } from './s3.ts';
export { attachmentDisposition } from './disposition.ts';
export { assetKey, assetPrefix, framesOriginalKey, framesZipKey, musicOriginalKey, musicSpeechKey, clipVideoKey, clipRenderKey, probeUploadKey, sanitizeFilename, type AssetKeyInput } from './keys.ts';
export {
  assertSafeKey,
  assertSafePrefix,
  BUCKETS,
  InvalidKeyError,
  isBucketName,
  ObjectNotFoundError,
  physicalBucket,
  type BucketName,
  type ObjectInfo,
  type PresignGetOptions,
  type PutOptions,
  type StorageDriver,
} from './types.ts';
