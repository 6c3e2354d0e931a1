/**
 * The asset catalogue (table `assets`, partitioned by month on partition_date: the primary key is
 * (id, partition_date)). Workflow `ingestAsset` (id `ingest-<id>`) owns an asset's processing; its
 * activities write the status, the technical metadata, the renditions and one row per step.
 */
import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { ASSET_STATUSES, ASSET_TYPES, INGEST_STEPS, RENDITION_PURPOSES, STEP_STATUSES } from '../lib/assets/catalogue.ts';

export const Asset = defineEntity({
  name: 'Asset',
  tableName: 'assets',
  properties: {
    id: p.uuid().primary(),
    partitionDate: p.string().columnType('date').primary(),
    tenantId: p.uuid(),
    code: p.string().length(64).nullable(),
    title: p.string().length(300),
    description: p.text().nullable(),
    type: p.enum(ASSET_TYPES),
    status: p.enum(ASSET_STATUSES),
    originalFilename: p.string().length(255),
    originalKey: p.string().length(1024).nullable(),
    contentType: p.string().length(255).nullable(),
    sizeBytes: p.bigint('number'),
    sha256: p.string().length(64),
    durationMs: p.bigint('number').nullable(),
    width: p.integer().nullable(),
    height: p.integer().nullable(),
    fps: p.decimal('number').precision(8).scale(3).nullable(),
    videoCodec: p.string().length(32).nullable(),
    audioCodec: p.string().length(32).nullable(),
    technicalMetadata: p.json<Record<string, unknown>>().nullable(),
    priority: p.integer().default(100),
    errorCode: p.string().length(64).nullable(),
    errorMessage: p.text().nullable(),
    createdBy: p.uuid(),
    createdAt: p.datetime().onCreate(() => new Date()),
    updatedAt: p.datetime().onCreate(() => new Date()).onUpdate(() => new Date()),
    deletedAt: p.datetime().nullable(),
    purgeAfter: p.datetime().nullable(),
  },
});
export type IAsset = InferEntity<typeof Asset>;

export const AssetRendition = defineEntity({
  name: 'AssetRendition',
  tableName: 'asset_renditions',
  properties: {
    id: p.uuid().primary(),
    tenantId: p.uuid(),
    assetId: p.uuid(),
    name: p.string().length(64),
    purpose: p.enum(RENDITION_PURPOSES),
    bucket: p.string().length(32),
    storageKey: p.string().length(1024),
    contentType: p.string().length(255).nullable(),
    sizeBytes: p.bigint('number').nullable(),
    width: p.integer().nullable(),
    height: p.integer().nullable(),
    bitrate: p.bigint('number').nullable(),
    metadata: p.json<Record<string, unknown>>().nullable(),
    createdAt: p.datetime().onCreate(() => new Date()),
  },
});
export type IAssetRendition = InferEntity<typeof AssetRendition>;

export const AssetIngestStep = defineEntity({
  name: 'AssetIngestStep',
  tableName: 'asset_ingest_steps',
  properties: {
    assetId: p.uuid().primary(),
    step: p.enum(INGEST_STEPS).primary(),
    tenantId: p.uuid(),
    status: p.enum(STEP_STATUSES),
    progress: p.integer().default(0),
    attempts: p.integer().default(0),
    startedAt: p.datetime().nullable(),
    finishedAt: p.datetime().nullable(),
    durationMs: p.bigint('number').nullable(),
    errorCode: p.string().length(64).nullable(),
    errorMessage: p.text().nullable(),
    updatedAt: p.datetime().onCreate(() => new Date()).onUpdate(() => new Date()),
  },
});
export type IAssetIngestStep = InferEntity<typeof AssetIngestStep>;
