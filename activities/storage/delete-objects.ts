/** Deletes stored objects (idempotent: a missing object is not an error). */
import type { BucketName, StorageDriver } from '../../lib/storage/index.ts';

export interface ObjectRef {
  bucket: BucketName;
  key: string;
}

export function createStorageActivities(deps: { storage: StorageDriver }) {
  return {
    async deleteObjects(input: { objects: ObjectRef[] }): Promise<number> {
      for (const object of input.objects) await deps.storage.delete(object.bucket, object.key);
      return input.objects.length;
    },
  };
}

export type StorageActivities = ReturnType<typeof createStorageActivities>;
