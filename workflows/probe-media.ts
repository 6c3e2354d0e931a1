/**
 * probeMedia (id `probe-<probeId>`): runs ffprobe on an uploaded file and records normalized metadata.
 * Order: mark running → probe → record result (or record failure and fail the workflow).
 */
import { ActivityFailure, ApplicationFailure, proxyActivities, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { ProbeDbActivities } from '../activities/db/probe-jobs.ts';
import type { ProbeMediaActivities } from '../activities/media/probe-uploaded-media.ts';
import type { MediaMetadata } from '../lib/ffmpeg/metadata.ts';
import { JobKindKey, OwnerIdKey, StageKey, StageSinceKey, TenantIdKey } from '../lib/temporal/search-attributes.ts';

export interface ProbeMediaInput {
  probeId: string;
  tenantId: string;
  ownerId: string;
  filename: string;
  storageKey: string;
  traceparent?: string;
}

/** Error codes the probe can end with; INVALID_MEDIA and PROBE_TIMEOUT are never retried. */
export const PROBE_NON_RETRYABLE = ['INVALID_MEDIA', 'PROBE_TIMEOUT', 'UPLOAD_MISSING'];

const db = proxyActivities<ProbeDbActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 10 },
});

const media = proxyActivities<ProbeMediaActivities>({
  startToCloseTimeout: '2 minutes',
  heartbeatTimeout: '30 seconds',
  retry: {
    initialInterval: '2 seconds',
    backoffCoefficient: 2,
    maximumAttempts: 3,
    nonRetryableErrorTypes: PROBE_NON_RETRYABLE,
  },
});

function enterStage(stage: string): void {
  // Workflow time (Date) is deterministic inside the sandbox.
  upsertSearchAttributes([
    { key: StageKey, value: stage },
    { key: StageSinceKey, value: new Date() },
  ]);
}

function failureOf(err: unknown): { code: string; message: string } {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  if (cause instanceof ApplicationFailure) {
    return { code: cause.type ?? 'PROBE_FAILED', message: cause.message };
  }
  return { code: 'PROBE_FAILED', message: cause instanceof Error ? cause.message : 'Probe failed' };
}

export async function probeMedia(input: ProbeMediaInput): Promise<MediaMetadata> {
  const { probeId, tenantId } = input;
  upsertSearchAttributes([
    { key: TenantIdKey, value: tenantId },
    { key: OwnerIdKey, value: input.ownerId },
    { key: JobKindKey, value: 'probe' },
  ]);
  enterStage('probing');
  await db.markProbeRunning({ probeId, tenantId });

  let metadata: MediaMetadata;
  try {
    metadata = await media.probeUploadedMedia({ tenantId, storageKey: input.storageKey, workflowId: workflowInfo().workflowId });
  } catch (err) {
    const failure = failureOf(err);
    enterStage('failed');
    await db.recordProbeFailure({ probeId, tenantId, ...failure });
    throw ApplicationFailure.nonRetryable(failure.message, failure.code);
  }

  await db.recordProbeResult({ probeId, tenantId, metadata });
  enterStage('done');
  return metadata;
}
