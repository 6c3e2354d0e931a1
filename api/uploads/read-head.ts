/** The first bytes of a stored object (for sniffing what an upload really is), without reading the rest. */
import { withDependency } from '../../lib/dependencies.ts';
import type { BucketName, StorageDriver } from '../../lib/storage/index.ts';

export async function readStoredHead(storage: StorageDriver, bucket: BucketName, key: string, bytes: number): Promise<Buffer> {
  return withDependency('storage', async () => {
    const stream = await storage.get(bucket, key);
    const chunks: Buffer[] = [];
    let size = 0;
    try {
      for await (const chunk of stream) {
        chunks.push(chunk as Buffer);
        size += (chunk as Buffer).length;
        if (size >= bytes) break;
      }
    } finally {
      stream.destroy();
    }
    return Buffer.concat(chunks).subarray(0, bytes);
  });
}
