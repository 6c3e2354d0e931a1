/**
 * A direct-to-storage upload session (`POST /api/v1/assets/uploads`): the client PUTs the bytes to
 * presigned URLs (one, or one per part over 64 MB), then calls `complete`, which verifies the stored
 * object and creates the asset. Sessions left `pending` past expires_at are aborted by the cleanup.
 */
import { defineEntity, p, type InferEntity } from '@mikro-orm/core';

export const ASSET_UPLOAD_STATUSES = ['pending', 'completed', 'aborted', 'expired'] as const;
export type AssetUploadStatus = (typeof ASSET_UPLOAD_STATUSES)[number];

export const AssetUpload = defineEntity({
  name: 'AssetUpload',
  tableName: 'asset_uploads',
  properties: {
    id: p.uuid().primary(),
    tenantId: p.uuid(),
    userId: p.uuid(),
    assetId: p.uuid(),
    filename: p.string().length(255),
    contentType: p.string().length(255).nullable(),
    sizeBytes: p.bigint('number'),
    sha256: p.string().length(64).nullable(),
    title: p.string().length(300),
    description: p.text().nullable(),
    code: p.string().length(64).nullable(),
    priority: p.integer().default(100),
    allowDuplicate: p.boolean().default(false),
    storageKey: p.string().length(1024),
    multipartUploadId: p.string().length(1024).nullable(),
    partSize: p.bigint('number').nullable(),
    partCount: p.integer().nullable(),
    status: p.enum(ASSET_UPLOAD_STATUSES),
    expiresAt: p.datetime(),
    createdAt: p.datetime().onCreate(() => new Date()),
    completedAt: p.datetime().nullable(),
  },
});
export type IAssetUpload = InferEntity<typeof AssetUpload>;
