/** What the API shows of a frames job. */
import { z } from 'zod';
import { JOB_STATUSES, type IJob } from '../../entities/index.ts';

export const JobViewSchema = z
  .object({
    job_id: z.uuid(),
    status: z.enum(JOB_STATUSES),
    filename: z.string(),
    size_bytes: z.number().int(),
    frame_count: z.number().int().nullable(),
    progress: z.number().int().min(0).max(100),
    error: z.object({ code: z.string(), message: z.string() }).nullable(),
    created_at: z.iso.datetime(),
    started_at: z.iso.datetime().nullable(),
    completed_at: z.iso.datetime().nullable(),
    expires_at: z.iso.datetime().nullable(),
    download_available: z.boolean(),
  })
  .meta({ id: 'FramesJob' });

export const JobStatusSchema = z
  .object({ job_id: z.uuid(), status: z.enum(JOB_STATUSES), stage: z.string(), progress: z.number().int(), frame_count: z.number().int().nullable() })
  .meta({ id: 'FramesJobStatus' });

const iso = (d: Date | null | undefined) => (d ? d.toISOString() : null);

export function jobView(job: IJob): z.infer<typeof JobViewSchema> {
  return {
    job_id: job.id,
    status: job.status,
    filename: job.filename,
    size_bytes: job.sizeBytes,
    frame_count: job.frameCount ?? null,
    progress: job.progress,
    error: job.errorCode ? { code: job.errorCode, message: job.errorMessage ?? '' } : null,
    created_at: job.createdAt.toISOString(),
    started_at: iso(job.startedAt),
    completed_at: iso(job.completedAt),
    expires_at: iso(job.expiresAt),
    download_available: job.status === 'DONE' && !!job.zipKey,
  };
}

export function jobStatusView(job: IJob): z.infer<typeof JobStatusSchema> {
  return { job_id: job.id, status: job.status, stage: job.stage, progress: job.progress, frame_count: job.frameCount ?? null };
}
