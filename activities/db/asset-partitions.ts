/** Creates the monthly partitions of `assets` ahead of time (idempotent). */
import type { Orm } from '../../lib/db/orm.ts';
import { ensurePartitions, partitionsAhead } from '../../lib/db/asset-partitions.ts';

export function createAssetPartitionActivities(deps: { orm: Orm }) {
  return {
    /** `from` is an ISO date (workflow time); creates its month's partition and `monthsAhead` more. */
    async ensureAssetPartitions(input: { from: string; monthsAhead: number }): Promise<string[]> {
      return ensurePartitions(deps.orm.em.fork(), partitionsAhead(new Date(input.from), input.monthsAhead));
    },
  };
}

export type AssetPartitionActivities = ReturnType<typeof createAssetPartitionActivities>;
