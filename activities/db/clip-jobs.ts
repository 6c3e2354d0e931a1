/**
 * The clip-job projection, written by the clipJob and analyzeVideo workflows: the job's status,
 * stage and progress, the cached video analysis (tenant, video SHA-256, analyzer version) and the
 * link from the job's video to it. Every write is idempotent; a status never moves out of a
 * terminal one.
 */
import { ClipJob, type ClipJobStatus, TERMINAL_CLIP_JOB_STATUSES, VideoIngest } from '../../entities/index.ts';
import type { Orm } from '../../lib/db/orm.ts';

export interface ClipJobRef {
  clipJobId: string;
  tenantId: string;
}

export interface RecordClipJobStatusInput extends ClipJobRef {
  status: ClipJobStatus;
  stage: string;
  progress?: number;
  error?: { code: string; message: string } | null;
}

export function createClipJobDbActivities(deps: { orm: Orm }) {
  return {
    async recordClipJobStatus(input: RecordClipJobStatusInput): Promise<void> {
      const terminal = TERMINAL_CLIP_JOB_STATUSES.includes(input.status);
      await deps.orm.em.fork().nativeUpdate(
        ClipJob,
        { id: input.clipJobId, tenantId: input.tenantId, status: { $nin: [...TERMINAL_CLIP_JOB_STATUSES] } },
        {
          status: input.status,
          stage: input.stage.slice(0, 64),
          ...(input.progress !== undefined ? { progress: Math.max(0, Math.min(100, Math.round(input.progress))) } : {}),
          ...(input.error !== undefined ? { errorCode: input.error?.code.slice(0, 64) ?? null, errorMessage: input.error?.message.slice(0, 2000) ?? null } : {}),
          ...(terminal ? { completedAt: new Date() } : {}),
          updatedAt: new Date(),
        },
      );
    },

    /** The analysis of the same video in the tenant by this analyzer version, if there is one. */
    async findCachedVideoAnalysis(input: { tenantId: string; sha256: string; analyzerVersion: string }): Promise<{ analysisId: string } | null> {
      const rows = (await deps.orm.em.getConnection().execute(
        'select id from video_analysis where tenant_id = ? and sha256 = ? and analyzer_version = ?',
        [input.tenantId, input.sha256, input.analyzerVersion],
      )) as Array<{ id: string }>;
      return rows[0] ? { analysisId: rows[0].id } : null;
    },

    async linkVideoAnalysis(input: ClipJobRef & { analysisId: string }): Promise<void> {
      await deps.orm.em.fork().nativeUpdate(VideoIngest, { clipJobId: input.clipJobId, tenantId: input.tenantId }, { analysisId: input.analysisId });
    },
  };
}

export type ClipJobDbActivities = ReturnType<typeof createClipJobDbActivities>;
