/**
 * cleanUpAssets: run hourly by the Temporal Schedule `asset-cleanup`. Purges the assets whose
 * retention after a soft delete is over, and aborts direct uploads left incomplete past their
 * expiry (their multipart parts or partial objects would otherwise stay in storage forever).
 */
import { proxyActivities, upsertSearchAttributes } from '@temporalio/workflow';
import type { AssetUploadActivities } from '../activities/db/asset-uploads.ts';
import type { PurgeDeletedAssetActivities } from '../activities/storage/purge-deleted-assets.ts';
import { JobKindKey, StageKey, StageSinceKey, TenantIdKey } from '../lib/temporal/search-attributes.ts';

const cleanup = proxyActivities<PurgeDeletedAssetActivities & AssetUploadActivities>({
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '2 minutes',
  retry: { initialInterval: '10 seconds', maximumInterval: '10 minutes', maximumAttempts: 10 },
});

export interface CleanUpAssetsResult {
  purgedAssets: number;
  deletedObjects: number;
  expiredUploads: number;
}

export async function cleanUpAssets(): Promise<CleanUpAssetsResult> {
  const now = new Date(); // workflow time: deterministic
  upsertSearchAttributes([
    { key: TenantIdKey, value: 'system' },
    { key: JobKindKey, value: 'maintenance' },
    { key: StageKey, value: 'asset-cleanup' },
    { key: StageSinceKey, value: now },
  ]);
  const purged = await cleanup.purgeDeletedAssets({ now: now.toISOString() });
  const uploads = await cleanup.abortExpiredAssetUploads({ now: now.toISOString() });
  return { purgedAssets: purged.purged, deletedObjects: purged.objects, expiredUploads: uploads.aborted };
}
