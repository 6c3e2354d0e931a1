/** What the API answers about a clip job: its status, stage, progress, music sync and suggestions. */
import type { EntityManager } from '@mikro-orm/core';
import { z } from 'zod';
import { CLIP_JOB_STATUSES, CLIP_RENDER_STATUSES, ClipJob, ClipRender, TERMINAL_CLIP_JOB_STATUSES, type IClipJob, type IClipRender } from '../../entities/index.ts';
import { SUBSCORES, type MusicSync } from '../../lib/clips/contract.ts';
import { withDependency } from '../../lib/dependencies.ts';
import { notFound } from '../../lib/errors.ts';

export const SuggestionViewSchema = z.object({
  index: z.number().int(),
  start_ms: z.number().int(),
  end_ms: z.number().int(),
  score: z.number().min(0).max(100),
  subscores: z.object(Object.fromEntries(SUBSCORES.map((k) => [k, z.number()])) as Record<(typeof SUBSCORES)[number], z.ZodNumber>),
  reasons: z.array(z.string()),
  music_offset_ms: z.number().int().nullable(),
  weights_version: z.record(z.string(), z.string()),
});

export const RenderViewSchema = z.object({
  index: z.number().int(),
  status: z.enum(CLIP_RENDER_STATUSES),
  attempts: z.number().int(),
  duration_ms: z.number().int().nullable(),
  loudness_lufs: z.number().nullable(),
  true_peak_db: z.number().nullable(),
  sync_deviation_ms: z.number().nullable(),
  size_bytes: z.number().int().nullable(),
  error: z.object({ code: z.string(), message: z.string() }).nullable(),
});
type RenderView = z.infer<typeof RenderViewSchema>;

export const ClipJobViewSchema = z.object({
  clip_job_id: z.uuid(),
  status: z.enum(CLIP_JOB_STATUSES),
  stage: z.string(),
  progress: z.number().int().min(0).max(100),
  artist_id: z.uuid(),
  music_id: z.uuid().nullable(),
  video_asset_id: z.uuid().nullable(),
  min_length_s: z.number(),
  max_length_s: z.number(),
  vertical: z.boolean(),
  experimental: z.boolean(),
  music_sync: z.object({ found: z.boolean(), offset_ms: z.number().int().nullable(), confidence: z.number(), reason: z.string() }).nullable(),
  suggestions: z.array(SuggestionViewSchema),
  rendering: z.object({ rendering_variant: z.number().int().nullable(), completed_variants: z.number().int(), variant_progress: z.number().int() }),
  renders: z.array(RenderViewSchema),
  error: z.object({ code: z.string(), message: z.string() }).nullable(),
  created_at: z.iso.datetime(),
  updated_at: z.iso.datetime(),
  completed_at: z.iso.datetime().nullable(),
});
export type ClipJobView = z.infer<typeof ClipJobViewSchema>;
type SuggestionView = z.infer<typeof SuggestionViewSchema>;

export async function findTenantClipJob(em: EntityManager, tenantId: string, id: string): Promise<IClipJob> {
  if (!z.uuid().safeParse(id).success) throw notFound('Clip job');
  const job = await withDependency('postgresql', () => em.findOne(ClipJob, { id, tenantId }));
  if (!job) throw notFound('Clip job');
  return job;
}

/** The suggestions of each job, best first. */
export async function loadSuggestions(em: EntityManager, tenantId: string, jobIds: string[]): Promise<Map<string, SuggestionView[]>> {
  const byJob = new Map<string, SuggestionView[]>(jobIds.map((id) => [id, []]));
  if (jobIds.length === 0) return byJob;
  const rows = (await withDependency('postgresql', () => em.getConnection().execute(
    `select clip_job_id, index, start_ms, end_ms, score, subscores, reasons, music_offset_ms, weights_version
     from video_clip_models where tenant_id = ? and clip_job_id in (${jobIds.map(() => '?').join(', ')}) order by clip_job_id, index`,
    [tenantId, ...jobIds],
  ))) as Array<{ clip_job_id: string; index: number; start_ms: number; end_ms: number; score: number; subscores: Record<string, number>; reasons: string[]; music_offset_ms: number | null; weights_version: Record<string, string> }>;
  for (const r of rows) {
    byJob.get(r.clip_job_id)?.push({
      index: r.index, start_ms: r.start_ms, end_ms: r.end_ms, score: Number(r.score), subscores: r.subscores as SuggestionView['subscores'],
      reasons: r.reasons, music_offset_ms: r.music_offset_ms, weights_version: r.weights_version,
    });
  }
  return byJob;
}

/** The render rows of each job, by variant index. */
export async function loadRenders(em: EntityManager, tenantId: string, jobIds: string[]): Promise<Map<string, RenderView[]>> {
  const byJob = new Map<string, RenderView[]>(jobIds.map((id) => [id, []]));
  if (jobIds.length === 0) return byJob;
  const rows = await withDependency('postgresql', () => em.find(ClipRender, { tenantId, clipJobId: { $in: jobIds } }, { orderBy: { clipJobId: 'asc', index: 'asc' } }));
  for (const r of rows) byJob.get(r.clipJobId)?.push(renderView(r));
  return byJob;
}

export function renderView(r: IClipRender): RenderView {
  return {
    index: r.index, status: r.status, attempts: r.attempts, duration_ms: r.durationMs ?? null, loudness_lufs: numberOrNull(r.loudnessLufs),
    true_peak_db: numberOrNull(r.truePeakDb), sync_deviation_ms: numberOrNull(r.syncDeviationMs), size_bytes: r.sizeBytes ?? null,
    error: r.errorCode ? { code: r.errorCode, message: r.errorMessage ?? '' } : null,
  };
}

export function clipJobView(job: IClipJob, suggestions: SuggestionView[], renders: RenderView[]): ClipJobView {
  const sync = job.musicSync as MusicSync | null;
  return {
    clip_job_id: job.id,
    status: job.status,
    stage: job.stage,
    progress: job.progress,
    artist_id: job.artistId,
    music_id: job.musicId ?? null,
    video_asset_id: job.videoAssetId ?? null,
    min_length_s: job.minLengthMs / 1000,
    max_length_s: job.maxLengthMs / 1000,
    vertical: job.vertical,
    experimental: job.experimental,
    music_sync: sync ? { found: sync.found, offset_ms: sync.offsetMs, confidence: sync.confidence, reason: sync.reason } : null,
    suggestions,
    rendering: { rendering_variant: job.renderingVariant ?? null, completed_variants: job.completedVariants, variant_progress: job.variantProgress },
    renders,
    error: job.errorCode ? { code: job.errorCode, message: job.errorMessage ?? '' } : null,
    created_at: job.createdAt.toISOString(),
    updated_at: job.updatedAt.toISOString(),
    completed_at: job.completedAt?.toISOString() ?? null,
  };
}

export const isTerminal = (job: IClipJob) => TERMINAL_CLIP_JOB_STATUSES.includes(job.status);

const numberOrNull = (value: string | number | null | undefined): number | null => (value === null || value === undefined ? null : Number(value));
