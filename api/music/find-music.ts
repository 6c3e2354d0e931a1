/** A track of the caller's tenant (another tenant's, deleted or a malformed id: 404). */
import type { EntityManager } from '@mikro-orm/core';
import { z } from 'zod';
import { MusicAsset, type IMusicAsset } from '../../entities/index.ts';
import { withDependency } from '../../lib/dependencies.ts';
import { notFound } from '../../lib/errors.ts';

export async function findTenantMusic(em: EntityManager, tenantId: string, id: string): Promise<IMusicAsset> {
  if (!z.uuid().safeParse(id).success) throw notFound('Music');
  const music = await withDependency('postgresql', () => em.findOne(MusicAsset, { id, tenantId, deletedAt: null }));
  if (!music) throw notFound('Music');
  return music;
}
