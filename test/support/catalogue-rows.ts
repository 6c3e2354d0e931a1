/**
 * Rows the learning-center and feedback tests need without running the media pipeline: an artist
 * through the API, a track row and a clip job row inserted directly (their analyses are not used).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/core';
import { ClipJob, MusicAsset } from '../../entities/index.ts';
import { call, type Session } from './accounts.ts';

export async function createArtist(base: string, session: Session): Promise<string> {
  const res = await call(base, 'POST', '/api/v1/artists', { token: session.access, body: { name: `Artist ${randomUUID().slice(0, 6)}` } });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return String(res.body.id);
}

/** A track row (not analysed unless `analysisId` is given). */
export async function insertMusicRow(em: EntityManager, session: Session, artistId: string, options: { analysisId?: string } = {}): Promise<string> {
  const id = randomUUID();
  const now = new Date();
  await em.insert(MusicAsset, {
    id, tenantId: session.tenantId, artistId, title: 'Track', declaredGenre: null, originalFilename: 'track.wav', contentType: 'audio/wav',
    sizeBytes: 1000, sha256: 'c'.repeat(64), storageKey: `${session.tenantId}/music/${id}/original.wav`, durationMs: 10_000, status: 'done',
    analysisId: options.analysisId ?? null, errorCode: null, errorMessage: null, createdBy: session.userId, createdAt: now, updatedAt: now, deletedAt: null,
  });
  return id;
}

/** A clip job row of a track (`done`, unless told otherwise). */
export async function insertClipJobRow(
  em: EntityManager, session: Session, artistId: string, musicId: string | null, options: { experimental?: boolean; minLengthMs?: number; maxLengthMs?: number } = {},
): Promise<string> {
  const id = randomUUID();
  const now = new Date();
  await em.insert(ClipJob, {
    id, tenantId: session.tenantId, artistId, musicId, videoAssetId: null, status: 'done', stage: 'done', progress: 100,
    minLengthMs: options.minLengthMs ?? 5000, maxLengthMs: options.maxLengthMs ?? 10_000, vertical: false, experimental: options.experimental ?? false,
    musicOffsetMs: null, musicSync: null, errorCode: null, errorMessage: null, createdBy: session.userId,
    createdAt: now, updatedAt: now, completedAt: now, renderingVariant: null, completedVariants: 0, variantProgress: 0,
  });
  return id;
}
