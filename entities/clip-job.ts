/**
 * Clip jobs (workflow `clipJob`, id `clip-<id>`): the seed's state machine
 * queued → analyzing → rendering → done | failed, plus cancelled. The workflow owns the
 * transitions; its activities write this projection, the job's video (`video_ingests`) and the
 * suggested clips (`video_clip_models`).
 */
import { defineEntity, p, type InferEntity } from '@mikro-orm/core';

export const CLIP_JOB_STATUSES = ['queued', 'analyzing', 'rendering', 'done', 'failed', 'cancelled'] as const;
export type ClipJobStatus = (typeof CLIP_JOB_STATUSES)[number];
export const TERMINAL_CLIP_JOB_STATUSES: readonly ClipJobStatus[] = ['done', 'failed', 'cancelled'];

export const ClipJob = defineEntity({
  name: 'ClipJob',
  tableName: 'clip_jobs',
  properties: {
    id: p.uuid().primary(),
    tenantId: p.uuid(),
    artistId: p.uuid(),
    musicId: p.uuid().nullable(),
    videoAssetId: p.uuid().nullable(),
    status: p.enum(CLIP_JOB_STATUSES),
    stage: p.string().length(64),
    progress: p.integer().default(0),
    minLengthMs: p.integer(),
    maxLengthMs: p.integer(),
    vertical: p.boolean().default(false),
    experimental: p.boolean().default(false),
    musicOffsetMs: p.integer().nullable(),
    musicSync: p.json<Record<string, unknown>>().nullable(),
    errorCode: p.string().length(64).nullable(),
    errorMessage: p.text().nullable(),
    createdBy: p.uuid(),
    createdAt: p.datetime().onCreate(() => new Date()),
    updatedAt: p.datetime().onCreate(() => new Date()).onUpdate(() => new Date()),
    completedAt: p.datetime().nullable(),
    /** Rendering progress (issue 8): the variant being rendered, how many are finished, percent of the current one. */
    renderingVariant: p.integer().nullable(),
    completedVariants: p.integer().default(0),
    variantProgress: p.integer().default(0),
  },
});
export type IClipJob = InferEntity<typeof ClipJob>;

export const VideoIngest = defineEntity({
  name: 'VideoIngest',
  tableName: 'video_ingests',
  properties: {
    id: p.uuid().primary(),
    tenantId: p.uuid(),
    clipJobId: p.uuid(),
    source: p.enum(['asset', 'upload'] as const),
    assetId: p.uuid().nullable(),
    bucket: p.string().length(32),
    storageKey: p.string().length(1024),
    originalFilename: p.string().length(255),
    sha256: p.string().length(64),
    sizeBytes: p.bigint('number'),
    demuxer: p.string().length(32),
    durationMs: p.bigint('number'),
    width: p.integer().nullable(),
    height: p.integer().nullable(),
    hasAudio: p.boolean(),
    analysisId: p.uuid().nullable(),
    createdAt: p.datetime().onCreate(() => new Date()),
  },
});
export type IVideoIngest = InferEntity<typeof VideoIngest>;

export const VideoClipModel = defineEntity({
  name: 'VideoClipModel',
  tableName: 'video_clip_models',
  properties: {
    id: p.uuid().primary(),
    tenantId: p.uuid(),
    clipJobId: p.uuid(),
    index: p.integer(),
    startMs: p.integer(),
    endMs: p.integer(),
    score: p.double(),
    subscores: p.json<Record<string, number>>(),
    reasons: p.json<string[]>(),
    musicOffsetMs: p.integer().nullable(),
    weightsVersion: p.json<Record<string, string>>(),
    createdAt: p.datetime().onCreate(() => new Date()),
  },
});
export type IVideoClipModel = InferEntity<typeof VideoClipModel>;

export const CLIP_RENDER_STATUSES = ['pending', 'rendering', 'checking', 'done', 'failed', 'failed_sync', 'cancelled'] as const;
export type ClipRenderStatus = (typeof CLIP_RENDER_STATUSES)[number];

export const ClipRender = defineEntity({
  name: 'ClipRender',
  tableName: 'clip_renders',
  properties: {
    id: p.uuid().primary(),
    tenantId: p.uuid(),
    clipJobId: p.uuid(),
    index: p.integer(),
    status: p.enum(CLIP_RENDER_STATUSES),
    attempts: p.integer().default(0),
    bucket: p.string().length(32).nullable(),
    storageKey: p.string().length(1024).nullable(),
    durationMs: p.integer().nullable(),
    sizeBytes: p.bigint('number').nullable(),
    loudnessLufs: p.double().nullable(),
    truePeakDb: p.double().nullable(),
    syncDeviationMs: p.double().nullable(),
    errorCode: p.string().length(64).nullable(),
    errorMessage: p.text().nullable(),
    createdAt: p.datetime().onCreate(() => new Date()),
    updatedAt: p.datetime().onCreate(() => new Date()).onUpdate(() => new Date()),
  },
});
export type IClipRender = InferEntity<typeof ClipRender>;
