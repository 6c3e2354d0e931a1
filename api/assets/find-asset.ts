/** Looking up an asset of the caller's tenant: anything else (another tenant's, deleted, malformed id) is 404. */
import type { EntityManager } from '@mikro-orm/core';
import { z } from 'zod';
import { Asset, type IAsset } from '../../entities/index.ts';
import { withDependency } from '../../lib/dependencies.ts';
import { notFound } from '../../lib/errors.ts';

export const AssetIdParams = z.object({ id: z.string().max(64) });

export async function findTenantAsset(em: EntityManager, tenantId: string, id: string): Promise<IAsset> {
  if (!z.uuid().safeParse(id).success) throw notFound('Asset');
  const asset = await withDependency('postgresql', () => em.findOne(Asset, { id, tenantId, deletedAt: null }));
  if (!asset) throw notFound('Asset');
  return asset;
}
