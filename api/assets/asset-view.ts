/** What the API answers about an asset: the row, its steps (with progress) and its renditions. */
import { z } from 'zod';
import type { IAsset, IAssetIngestStep, IAssetRendition } from '../../entities/index.ts';
import { ASSET_STATUSES, ASSET_TYPES, INGEST_STEPS, RENDITION_NAMES, RENDITION_PURPOSES, STEP_STATUSES } from '../../lib/assets/catalogue.ts';

const ErrorView = z.object({ code: z.string(), message: z.string() }).nullable();

export const AssetStepViewSchema = z.object({
  step: z.enum(INGEST_STEPS),
  status: z.enum(STEP_STATUSES),
  progress: z.number().int().min(0).max(100),
  attempts: z.number().int(),
  started_at: z.iso.datetime().nullable(),
  finished_at: z.iso.datetime().nullable(),
  duration_ms: z.number().int().nullable(),
  error: ErrorView,
});

export const RenditionViewSchema = z.object({
  id: z.uuid(),
  name: z.enum(RENDITION_NAMES as [string, ...string[]]),
  purpose: z.enum(RENDITION_PURPOSES),
  content_type: z.string().nullable(),
  size_bytes: z.number().int().nullable(),
  width: z.number().int().nullable(),
  height: z.number().int().nullable(),
  bitrate: z.number().int().nullable(),
  metadata: z.record(z.string(), z.unknown()).nullable(),
  created_at: z.iso.datetime(),
});

export const AssetSummarySchema = z.object({
  id: z.uuid(),
  code: z.string().nullable(),
  title: z.string(),
  description: z.string().nullable(),
  type: z.enum(ASSET_TYPES),
  status: z.enum(ASSET_STATUSES),
  original_filename: z.string(),
  content_type: z.string().nullable(),
  size_bytes: z.number().int(),
  sha256: z.string(),
  duration_ms: z.number().int().nullable(),
  width: z.number().int().nullable(),
  height: z.number().int().nullable(),
  fps: z.number().nullable(),
  video_codec: z.string().nullable(),
  audio_codec: z.string().nullable(),
  priority: z.number().int(),
  created_by: z.uuid(),
  created_at: z.iso.datetime(),
  updated_at: z.iso.datetime(),
  error: ErrorView,
});

export const AssetViewSchema = AssetSummarySchema.extend({
  technical_metadata: z.record(z.string(), z.unknown()).nullable(),
  /** Overall progress: the mean of the steps' percentages. */
  progress: z.number().int().min(0).max(100),
  steps: z.array(AssetStepViewSchema),
  renditions: z.array(RenditionViewSchema),
});

const iso = (d: Date | null | undefined) => (d ? d.toISOString() : null);

export function assetSummary(a: IAsset): z.infer<typeof AssetSummarySchema> {
  return {
    id: a.id,
    code: a.code ?? null,
    title: a.title,
    description: a.description ?? null,
    type: a.type,
    status: a.status,
    original_filename: a.originalFilename,
    content_type: a.contentType ?? null,
    size_bytes: a.sizeBytes,
    sha256: a.sha256,
    duration_ms: a.durationMs ?? null,
    width: a.width ?? null,
    height: a.height ?? null,
    fps: a.fps ?? null,
    video_codec: a.videoCodec ?? null,
    audio_codec: a.audioCodec ?? null,
    priority: a.priority,
    created_by: a.createdBy,
    created_at: a.createdAt.toISOString(),
    updated_at: a.updatedAt.toISOString(),
    error: a.errorCode ? { code: a.errorCode, message: a.errorMessage ?? '' } : null,
  };
}

export function stepView(s: IAssetIngestStep): z.infer<typeof AssetStepViewSchema> {
  return {
    step: s.step,
    status: s.status,
    progress: s.progress,
    attempts: s.attempts,
    started_at: iso(s.startedAt),
    finished_at: iso(s.finishedAt),
    duration_ms: s.durationMs ?? null,
    error: s.errorCode ? { code: s.errorCode, message: s.errorMessage ?? '' } : null,
  };
}

export function renditionView(r: IAssetRendition): z.infer<typeof RenditionViewSchema> {
  return {
    id: r.id,
    name: r.name,
    purpose: r.purpose,
    content_type: r.contentType ?? null,
    size_bytes: r.sizeBytes ?? null,
    width: r.width ?? null,
    height: r.height ?? null,
    bitrate: r.bitrate ?? null,
    metadata: r.metadata ?? null,
    created_at: r.createdAt.toISOString(),
  };
}

export function assetView(a: IAsset, steps: IAssetIngestStep[], renditions: IAssetRendition[]): z.infer<typeof AssetViewSchema> {
  const ordered = [...steps].sort((x, y) => INGEST_STEPS.indexOf(x.step) - INGEST_STEPS.indexOf(y.step));
  const progress = a.status === 'available' ? 100 : ordered.length === 0 ? 0 : Math.round(ordered.reduce((sum, s) => sum + (s.status === 'done' ? 100 : s.progress), 0) / ordered.length);
  return {
    ...assetSummary(a),
    technical_metadata: a.technicalMetadata ?? null,
    progress,
    steps: ordered.map(stepView),
    renditions: [...renditions].sort((x, y) => x.name.localeCompare(y.name)).map(renditionView),
  };
}
