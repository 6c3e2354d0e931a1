/**
 * purgeDeletedAssets (run by the `asset-cleanup` schedule): assets soft-deleted more than
 * ASSET_RETENTION_DAYS ago lose their objects (original and every rendition, in every bucket) and
 * then their rows (renditions, steps, keywords, markers, the asset). Objects first, rows last, so
 * an interrupted purge is simply done again by the next run.
 */
import { Context } from '@temporalio/activity';
import { Asset, AssetIngestStep, AssetKeyword, AssetMarker, AssetRendition } from '../../entities/index.ts';
import type { Orm } from '../../lib/db/orm.ts';
import { assetPrefix, type BucketName, type StorageDriver } from '../../lib/storage/index.ts';

const ASSET_BUCKETS: BucketName[] = ['originals', 'proxies', 'thumbnails'];

export function createPurgeDeletedAssetActivities(deps: { orm: Orm; storage: StorageDriver }) {
  return {
    async purgeDeletedAssets(input: { now: string; limit?: number }): Promise<{ purged: number; objects: number }> {
      const ctx = Context.current();
      const em = deps.orm.em.fork();
      const due = await em.find(Asset, { deletedAt: { $ne: null }, purgeAfter: { $lte: new Date(input.now) } }, { limit: input.limit ?? 200, orderBy: { purgeAfter: 'asc' } });
      let objects = 0;
      for (const asset of due) {
        const prefix = assetPrefix({ tenantId: asset.tenantId, date: asset.createdAt, assetId: asset.id });
        for (const bucket of ASSET_BUCKETS) objects += await deps.storage.deletePrefix(bucket, prefix);
        // An original stored under another date (a direct upload completed the next month) is removed by its key.
        if (asset.originalKey) await deps.storage.delete('originals', asset.originalKey);
        await em.transactional(async (tx) => {
          const where = { assetId: asset.id, tenantId: asset.tenantId };
          await tx.nativeDelete(AssetRendition, where);
          await tx.nativeDelete(AssetIngestStep, where);
          await tx.nativeDelete(AssetKeyword, where);
          await tx.nativeDelete(AssetMarker, where);
          await tx.nativeDelete(Asset, { id: asset.id, tenantId: asset.tenantId });
        });
        ctx.heartbeat({ purged: asset.id });
      }
      if (due.length > 0) ctx.log.info('deleted assets purged', { purged: due.length, objects });
      return { purged: due.length, objects };
    },
  };
}

export type PurgeDeletedAssetActivities = ReturnType<typeof createPurgeDeletedAssetActivities>;
