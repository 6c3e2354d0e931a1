/**
 * The clip-render projection, written by the rendering stage of clipJob: one row per variant
 * (status, attempts, the output's key, duration, loudness, sync deviation, error) and the job's
 * rendering progress. Upserts: a retried write leaves one row per variant.
 */
import { randomUUID } from 'node:crypto';
import type { ClipRenderStatus } from '../../entities/index.ts';
import type { Orm } from '../../lib/db/orm.ts';
import type { ClipJobRef } from './clip-jobs.ts';

export interface RecordClipRenderInput extends ClipJobRef {
  index: number;
  status: ClipRenderStatus;
  attempts?: number;
  output?: { bucket: string; storageKey: string; durationMs: number; sizeBytes: number; loudnessLufs: number | null; truePeakDb: number | null; syncDeviationMs: number | null } | null;
  error?: { code: string; message: string } | null;
}

export function createClipRenderDbActivities(deps: { orm: Orm }) {
  return {
    async recordClipRender(input: RecordClipRenderInput): Promise<void> {
      const o = input.output;
      await deps.orm.em.getConnection().execute(
        `insert into clip_renders (id, tenant_id, clip_job_id, index, status, attempts, bucket, storage_key, duration_ms, size_bytes, loudness_lufs, true_peak_db, sync_deviation_ms, error_code, error_message)
         values (?, ?, ?, ?, ?, coalesce(?, 0), ?, ?, ?, ?, ?, ?, ?, ?, ?)
         on conflict (clip_job_id, index) do update set
           status = excluded.status,
           attempts = coalesce(?, clip_renders.attempts),
           bucket = case when ? then excluded.bucket else clip_renders.bucket end,
           storage_key = case when ? then excluded.storage_key else clip_renders.storage_key end,
           duration_ms = case when ? then excluded.duration_ms else clip_renders.duration_ms end,
           size_bytes = case when ? then excluded.size_bytes else clip_renders.size_bytes end,
           loudness_lufs = case when ? then excluded.loudness_lufs else clip_renders.loudness_lufs end,
           true_peak_db = case when ? then excluded.true_peak_db else clip_renders.true_peak_db end,
           sync_deviation_ms = case when ? then excluded.sync_deviation_ms else clip_renders.sync_deviation_ms end,
           error_code = case when ? then excluded.error_code else clip_renders.error_code end,
           error_message = case when ? then excluded.error_message else clip_renders.error_message end,
           updated_at = now()`,
        [
          randomUUID(), input.tenantId, input.clipJobId, input.index, input.status, input.attempts ?? null,
          o?.bucket ?? null, o?.storageKey ?? null, o?.durationMs ?? null, o?.sizeBytes ?? null, o?.loudnessLufs ?? null, o?.truePeakDb ?? null, o?.syncDeviationMs ?? null,
          input.error?.code.slice(0, 64) ?? null, input.error?.message.slice(0, 2000) ?? null,
          input.attempts ?? null,
          ...Array(7).fill(input.output !== undefined),
          input.error !== undefined, input.error !== undefined,
        ],
      );
    },

    async recordRenderingProgress(input: ClipJobRef & { renderingVariant: number | null; completedVariants: number; variantProgress: number; progress: number }): Promise<void> {
      await deps.orm.em.getConnection().execute(
        `update clip_jobs set rendering_variant = ?, completed_variants = ?, variant_progress = ?, progress = ?, updated_at = now()
         where id = ? and tenant_id = ? and status = 'rendering'`,
        [input.renderingVariant, input.completedVariants, clampPercent(input.variantProgress), clampPercent(input.progress), input.clipJobId, input.tenantId],
      );
    },
  };
}

export function clampPercent(value: number): number {
  return Math.max(0, Math.min(100, Math.round(value)));
}

export type ClipRenderDbActivities = ReturnType<typeof createClipRenderDbActivities>;
