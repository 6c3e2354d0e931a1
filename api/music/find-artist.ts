/** An artist of the caller's tenant (another tenant's, deleted or a malformed id: 404). */
import type { EntityManager } from '@mikro-orm/core';
import { z } from 'zod';
import { Artist, type IArtist } from '../../entities/index.ts';
import { withDependency } from '../../lib/dependencies.ts';
import { notFound } from '../../lib/errors.ts';

export async function findTenantArtist(em: EntityManager, tenantId: string, id: string): Promise<IArtist> {
  if (!z.uuid().safeParse(id).success) throw notFound('Artist');
  const artist = await withDependency('postgresql', () => em.findOne(Artist, { id, tenantId, deletedAt: null }));
  if (!artist) throw notFound('Artist');
  return artist;
}
