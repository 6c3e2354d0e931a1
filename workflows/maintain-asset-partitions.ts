/**
 * maintainAssetPartitions: run daily by the Temporal Schedule `asset-partitions`; makes sure the
 * monthly partitions of `assets` exist for this month and the next three, so a row is never
 * without a partition to land in.
 */
import { proxyActivities, upsertSearchAttributes } from '@temporalio/workflow';
import type { AssetPartitionActivities } from '../activities/db/asset-partitions.ts';
import { JobKindKey, StageKey, StageSinceKey, TenantIdKey } from '../lib/temporal/search-attributes.ts';

export const ASSET_PARTITION_MONTHS_AHEAD = 3;

const db = proxyActivities<AssetPartitionActivities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '10 seconds', maximumInterval: '10 minutes', maximumAttempts: 10 },
});

export async function maintainAssetPartitions(): Promise<string[]> {
  const now = new Date(); // workflow time: deterministic
  upsertSearchAttributes([
    { key: TenantIdKey, value: 'system' },
    { key: JobKindKey, value: 'maintenance' },
    { key: StageKey, value: 'asset-partitions' },
    { key: StageSinceKey, value: now },
  ]);
  return db.ensureAssetPartitions({ from: now.toISOString(), monthsAhead: ASSET_PARTITION_MONTHS_AHEAD });
}
