/** Projection writes of frames jobs: each workflow transition, recorded idempotently. */
import type { JobStatus } from '../../entities/index.ts';
import type { Orm } from '../../lib/db/orm.ts';
import { transitionJob, type JobFields } from '../../lib/jobs/projection.ts';

export interface RecordJobTransitionInput {
  jobId: string;
  tenantId: string;
  to: JobStatus;
  stage: string;
  /** ISO timestamps (workflow time), so retries write the same values. */
  startedAt?: string;
  completedAt?: string;
  expiresAt?: string;
  frameCount?: number;
  zipKey?: string;
  zipBytes?: number;
  progress?: number;
  error?: { code: string; message: string } | null;
  metadata?: Record<string, unknown>;
}

export function createFramesDbActivities(deps: { orm: Orm }) {
  return {
    async recordJobTransition(input: RecordJobTransitionInput): Promise<{ from: JobStatus | null; changed: boolean }> {
      const fields: JobFields = { stage: input.stage };
      if (input.startedAt) fields.startedAt = new Date(input.startedAt);
      if (input.completedAt) fields.completedAt = new Date(input.completedAt);
      if (input.expiresAt) fields.expiresAt = new Date(input.expiresAt);
      if (input.frameCount !== undefined) fields.frameCount = input.frameCount;
      if (input.zipKey !== undefined) fields.zipKey = input.zipKey;
      if (input.zipBytes !== undefined) fields.zipBytes = input.zipBytes;
      if (input.progress !== undefined) fields.progress = input.progress;
      if (input.error !== undefined) {
        fields.errorCode = input.error?.code ?? null;
        fields.errorMessage = input.error?.message.slice(0, 2000) ?? null;
      }
      return transitionJob(deps.orm.em.fork(), {
        jobId: input.jobId,
        tenantId: input.tenantId,
        to: input.to,
        fields,
        metadata: { stage: input.stage, ...(input.error ? { error_code: input.error.code } : {}), ...input.metadata },
      });
    },
  };
}

export type FramesDbActivities = ReturnType<typeof createFramesDbActivities>;
