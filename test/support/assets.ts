/** Asset rows for tests that need one without running an ingest (keywords, markers, listing). */
import { randomUUID } from 'node:crypto';
import { Asset } from '../../entities/index.ts';
import type { AssetStatus, AssetType } from '../../lib/assets/catalogue.ts';
import type { Orm } from '../../lib/db/orm.ts';

export interface TestAssetInput {
  tenantId: string;
  createdBy: string;
  type?: AssetType;
  status?: AssetStatus;
  title?: string;
  code?: string | null;
  durationMs?: number | null;
  sha256?: string;
  createdAt?: Date;
  /** Optional media fields (left unset unless given): an asset whose ingest has read the video. */
  originalKey?: string | null;
  originalFilename?: string;
  technicalMetadata?: Record<string, unknown> | null;
  width?: number | null;
  height?: number | null;
  videoCodec?: string | null;
  sizeBytes?: number;
}

export async function insertTestAsset(orm: Orm, input: TestAssetInput): Promise<string> {
  const id = randomUUID();
  const createdAt = input.createdAt ?? new Date();
  await orm.em.fork().insert(Asset, {
    id,
    partitionDate: createdAt.toISOString().slice(0, 10),
    tenantId: input.tenantId,
    code: input.code ?? null,
    title: input.title ?? `asset ${id.slice(0, 8)}`,
    type: input.type ?? 'video',
    status: input.status ?? 'available',
    originalFilename: input.originalFilename ?? 'clip.mp4',
    sizeBytes: input.sizeBytes ?? 1000,
    sha256: input.sha256 ?? randomUUID().replace(/-/g, '').padEnd(64, '0'),
    durationMs: input.durationMs === undefined ? 10_000 : input.durationMs,
    ...(input.originalKey !== undefined ? { originalKey: input.originalKey } : {}),
    ...(input.technicalMetadata !== undefined ? { technicalMetadata: input.technicalMetadata } : {}),
    ...(input.width !== undefined ? { width: input.width } : {}),
    ...(input.height !== undefined ? { height: input.height } : {}),
    ...(input.videoCodec !== undefined ? { videoCodec: input.videoCodec } : {}),
    createdBy: input.createdBy,
    createdAt,
    updatedAt: createdAt,
  });
  return id;
}
