/**
 * extractFrames (id `frames-<jobId>`): the frames job's state machine (the seed's):
 *   UPLOADED → QUEUED → PROCESSING → DONE | FAILED | CANCELLED, and DONE → EXPIRED after the
 *   retention period (a durable timer), which deletes the ZIP and the original.
 * Order: PROCESSING → extract + zip (heavy queue) → DONE → e-mail → wait retention → delete → EXPIRED.
 * On failure: FAILED with the reason → e-mail → the workflow fails (POST /jobs/{id}/retry starts a
 * new run with the same id). On cancellation: CANCELLED, the partial ZIP removed.
 */
import {
  ActivityCancellationType,
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  defineQuery,
  isCancellation,
  log,
  proxyActivities,
  setHandler,
  sleep,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type { FramesDbActivities } from '../activities/db/frames-jobs.ts';
import type { ExtractVideoFramesActivities } from '../activities/media/extract-video-frames.ts';
import type { NotifyActivities } from '../activities/notify/send-email.ts';
import type { StorageActivities } from '../activities/storage/delete-objects.ts';
import type { JobStatus } from '../entities/job.ts';
import { JobKindKey, OwnerIdKey, StageKey, StageSinceKey, TenantIdKey } from '../lib/temporal/search-attributes.ts';

export interface ExtractFramesInput {
  jobId: string;
  tenantId: string;
  ownerId: string;
  owner: { email: string; name: string };
  filename: string;
  originalKey: string;
  zipKey: string;
  demuxer: string;
  durationMs: number | null;
  /** The video stream's codec from the upload probe (lets H.264 skip decoding non-reference frames). */
  videoCodec: string | null;
  retentionDays: number;
  appUrl: string;
  /** The heavy worker's task queue (one slot per heavy worker). */
  heavyTaskQueue: string;
  /** FRAMES_TIMEOUT_MINUTES: ffmpeg's limit per attempt; the activity gets 5 minutes more for download and upload. */
  extractTimeoutMinutes: number;
  traceparent?: string;
}

export interface FramesJobState {
  status: JobStatus;
  stage: string;
  frameCount: number | null;
  error: { code: string; message: string } | null;
}

export const framesJobStateQuery = defineQuery<FramesJobState>('framesJobState');

/** Codes a frames job can fail with; the first two are never retried. */
export const FRAMES_NON_RETRYABLE = ['INVALID_MEDIA', 'UNSUPPORTED_CODEC', 'UPLOAD_MISSING'];

/** Transient failures: the first attempt plus three retries after 30 s, 60 s and 120 s (the seed's). */
export const EXTRACT_RETRY = {
  initialInterval: '30 seconds',
  backoffCoefficient: 2,
  maximumInterval: '120 seconds',
  maximumAttempts: 4,
  nonRetryableErrorTypes: FRAMES_NON_RETRYABLE,
} as const;

const db = proxyActivities<FramesDbActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds', maximumAttempts: 20 },
});

const storage = proxyActivities<StorageActivities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '5 seconds', maximumInterval: '5 minutes' }, // unlimited: deleting is always worth finishing
});

const notify = proxyActivities<NotifyActivities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '10 seconds', backoffCoefficient: 2, maximumInterval: '5 minutes', maximumAttempts: 5 },
});

export async function extractFrames(input: ExtractFramesInput): Promise<FramesJobState> {
  const { jobId, tenantId } = input;
  const heavy = proxyActivities<ExtractVideoFramesActivities>({
    taskQueue: input.heavyTaskQueue,
    startToCloseTimeout: `${input.extractTimeoutMinutes + 5} minutes`,
    heartbeatTimeout: '20 seconds',
    retry: EXTRACT_RETRY,
    // CANCELLED is recorded only once ffmpeg is dead and the attempt has cleaned up.
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  });
  const state: FramesJobState = { status: 'QUEUED', stage: 'queued', frameCount: null, error: null };
  setHandler(framesJobStateQuery, () => state);
  upsertSearchAttributes([
    { key: TenantIdKey, value: tenantId },
    { key: OwnerIdKey, value: input.ownerId },
    { key: JobKindKey, value: 'frames' },
  ]);

  // Workflow time (new Date()) is deterministic inside the sandbox.
  async function enter(status: JobStatus, stage: string, extra: Omit<Parameters<FramesDbActivities['recordJobTransition']>[0], 'jobId' | 'tenantId' | 'to' | 'stage'> = {}) {
    state.status = status;
    state.stage = stage;
    upsertSearchAttributes([
      { key: StageKey, value: stage },
      { key: StageSinceKey, value: new Date() },
    ]);
    await db.recordJobTransition({ jobId, tenantId, to: status, stage, ...extra });
  }

  async function sendEmail(kind: 'done' | 'failed', expiresAt?: string) {
    try {
      await notify.sendFramesEmail({
        kind, to: input.owner.email, name: input.owner.name, filename: input.filename, jobId, appUrl: input.appUrl,
        ...(kind === 'done' ? { frameCount: state.frameCount ?? 0, expiresAt } : { errorCode: state.error?.code, errorMessage: state.error?.message }),
      });
    } catch (err) {
      // An e-mail never fails the job: its retries are spent, the failure is in the history and the log.
      log.warn('frames e-mail not delivered', { jobId, kind, error: err instanceof Error ? err.message : String(err) });
    }
  }

  try {
    await enter('PROCESSING', 'extracting', { startedAt: new Date().toISOString(), progress: 0, error: null });
    const extracted = await heavy.extractVideoFrames({
      jobId, tenantId, originalKey: input.originalKey, zipKey: input.zipKey, demuxer: input.demuxer, durationMs: input.durationMs, videoCodec: input.videoCodec,
    });
    state.frameCount = extracted.frameCount;
    const expiresAt = new Date(Date.now() + input.retentionDays * 86_400_000).toISOString();
    await enter('DONE', 'done', {
      completedAt: new Date().toISOString(), expiresAt, frameCount: extracted.frameCount, zipKey: input.zipKey, zipBytes: extracted.zipBytes, progress: 100,
    });
    await sendEmail('done', expiresAt);
  } catch (err) {
    if (isCancellation(err)) {
      await CancellationScope.nonCancellable(async () => {
        await enter('CANCELLED', 'cancelled', { completedAt: new Date().toISOString() });
        await storage.deleteObjects({ objects: [{ bucket: 'exports', key: input.zipKey }] });
      });
      throw err;
    }
    const cause = err instanceof ActivityFailure ? err.cause : err;
    const code = cause instanceof ApplicationFailure && cause.type && FRAMES_NON_RETRYABLE.includes(cause.type) ? cause.type : 'PROCESSING_ERROR';
    const message = cause instanceof Error ? cause.message : 'Frame extraction failed';
    state.error = { code, message };
    await enter('FAILED', 'failed', { completedAt: new Date().toISOString(), error: state.error });
    await sendEmail('failed');
    throw ApplicationFailure.nonRetryable(message, code);
  }

  // Retention: a durable timer; then the ZIP and the original are deleted.
  await sleep(`${input.retentionDays} days`);
  await storage.deleteObjects({ objects: [{ bucket: 'exports', key: input.zipKey }, { bucket: 'uploads', key: input.originalKey }] });
  await enter('EXPIRED', 'expired');
  return state;
}
