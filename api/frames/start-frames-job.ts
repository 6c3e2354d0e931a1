/**
 * Starting a frames job's workflow, shared by the upload route (first run) and the retry route
 * (a new run with the same workflow id `frames-<jobId>`).
 */
import type { Client } from '@temporalio/client';
import type { IJob } from '../../entities/index.ts';
import type { Config } from '../../lib/config.ts';
import { withDependency } from '../../lib/dependencies.ts';
import { framesZipKey } from '../../lib/storage/index.ts';
import { JobKindKey, OwnerIdKey, StageKey, StageSinceKey, TenantIdKey } from '../../lib/temporal/search-attributes.ts';
import type { extractFrames } from '../../workflows/extract-frames.ts';

const START_DEADLINE_MS = 5_000;

export const framesWorkflowId = (jobId: string) => `frames-${jobId}`;

export async function startFramesWorkflow(
  deps: { temporal: Client; config: Config },
  job: Pick<IJob, 'id' | 'tenantId' | 'ownerId' | 'filename' | 'originalKey' | 'demuxer' | 'durationMs' | 'videoCodec' | 'sizeBytes'>,
  owner: { email: string; name: string },
  trace: { traceparent: string; requestId: string },
): Promise<void> {
  const { temporal, config } = deps;
  await withDependency('temporal', () => temporal.withDeadline(Date.now() + START_DEADLINE_MS, () =>
    temporal.workflow.start<typeof extractFrames>('extractFrames', {
      workflowId: framesWorkflowId(job.id),
      taskQueue: config.temporal.taskQueue,
      args: [{
        jobId: job.id,
        tenantId: job.tenantId,
        ownerId: job.ownerId,
        owner,
        filename: job.filename,
        originalKey: job.originalKey,
        zipKey: framesZipKey(job.tenantId, job.id),
        demuxer: job.demuxer,
        durationMs: job.durationMs ?? null,
        videoCodec: job.videoCodec ?? null,
        retentionDays: config.frames.retentionDays,
        appUrl: config.api.publicUrl,
        heavyTaskQueue: config.temporal.heavyTaskQueue,
        extractTimeoutMinutes: config.frames.timeoutMinutes,
        traceparent: trace.traceparent,
      }],
      memo: { summary: `Frames of "${job.filename}" (${job.sizeBytes} bytes)`, traceparent: trace.traceparent, requestId: trace.requestId },
      staticSummary: `Frames of ${job.filename}`,
      typedSearchAttributes: [
        { key: TenantIdKey, value: job.tenantId },
        { key: OwnerIdKey, value: job.ownerId },
        { key: JobKindKey, value: 'frames' },
        { key: StageKey, value: 'queued' },
        { key: StageSinceKey, value: new Date() },
      ],
    }),
  ));
}
