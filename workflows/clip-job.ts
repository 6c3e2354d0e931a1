/**
 * clipJob (id `clip-<clipJobId>`): an artist's performance video, optionally with a track, turned
 * into clip suggestions. The seed's states: queued → analyzing → rendering → done | failed, plus
 * cancelled. Rendering arrives with the renders issue; until then the job is done once suggested.
 *
 *   analyzing  child analyzeVideo (cached by video SHA-256 + analyzer version) → link to the job
 *        ▼
 *   analyzing  [heavy] syncClipMusic — only with a track: where it sits in the video's audio
 *        ▼
 *   analyzing  suggestClipsForJob: 2 variants (3 with music), stored in video_clip_models
 *        ▼
 *   done
 *
 * Cancel (POST /clip-jobs/{id}/cancel): the child and its heavy activity are cancelled and awaited
 * (ffmpeg killed), then the job is recorded `cancelled`.
 */
import {
  ActivityCancellationType,
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  ChildWorkflowFailure,
  defineQuery,
  executeChild,
  isCancellation,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { SuggestClipsActivities } from '../activities/analysis/suggest-clips-for-job.ts';
import type { ClipJobDbActivities } from '../activities/db/clip-jobs.ts';
import type { ClipVideoSource } from '../activities/media/analyze-video-original.ts';
import type { SyncClipMusicActivities } from '../activities/media/sync-clip-music.ts';
import type { ClipJobStatus } from '../entities/clip-job.ts';
import type { MusicSync } from '../lib/clips/contract.ts';
import { JobKindKey, OwnerIdKey, StageKey, StageSinceKey, TenantIdKey } from '../lib/temporal/search-attributes.ts';
import { analyzeVideo } from './analyze-video.ts';

export interface ClipJobInput {
  clipJobId: string;
  tenantId: string;
  ownerId: string;
  artistId: string;
  musicId: string | null;
  video: ClipVideoSource;
  minLengthMs: number;
  maxLengthMs: number;
  vertical: boolean;
  experimental: boolean;
  heavyTaskQueue: string;
  traceparent?: string;
}

export interface ClipJobState {
  status: ClipJobStatus;
  stage: string;
  progress: number;
  analysisId: string | null;
  /** The video analysis came from the cache. */
  cachedAnalysis: boolean;
  musicSync: MusicSync | null;
  suggestions: number;
  error: { code: string; message: string } | null;
}

export const clipJobStateQuery = defineQuery<ClipJobState>('clipJobState');

/** The job's progress when each stage starts (the analysis reports its own share in between). */
export const CLIP_JOB_PROGRESS = { analyzing: 0, syncing: 80, suggesting: 90, done: 100 } as const;

const NON_RETRYABLE = ['INVALID_MEDIA', 'ORIGINAL_MISSING', 'MUSIC_MISSING', 'ANALYSIS_MISSING', 'CANCELLED'];

const db = proxyActivities<ClipJobDbActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds', maximumAttempts: 20 },
});
const scoring = proxyActivities<SuggestClipsActivities>({
  startToCloseTimeout: '5 minutes',
  retry: { initialInterval: '2 seconds', maximumInterval: '1 minute', maximumAttempts: 5, nonRetryableErrorTypes: NON_RETRYABLE },
});

export async function clipJob(input: ClipJobInput): Promise<ClipJobState> {
  const ref = { clipJobId: input.clipJobId, tenantId: input.tenantId };
  const heavy = proxyActivities<SyncClipMusicActivities>({
    taskQueue: input.heavyTaskQueue,
    startToCloseTimeout: '15 minutes',
    heartbeatTimeout: '1 minute',
    retry: { initialInterval: '10 seconds', backoffCoefficient: 2, maximumInterval: '2 minutes', maximumAttempts: 3, nonRetryableErrorTypes: NON_RETRYABLE },
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  });

  const state: ClipJobState = { status: 'queued', stage: 'queued', progress: 0, analysisId: null, cachedAnalysis: false, musicSync: null, suggestions: 0, error: null };
  setHandler(clipJobStateQuery, () => state);
  upsertSearchAttributes([
    { key: TenantIdKey, value: input.tenantId },
    { key: OwnerIdKey, value: input.ownerId },
    { key: JobKindKey, value: 'clip' },
  ]);
  async function enter(status: ClipJobStatus, stage: string, progress: number, error?: ClipJobState['error']) {
    Object.assign(state, { status, stage, progress });
    if (error !== undefined) state.error = error;
    upsertSearchAttributes([{ key: StageKey, value: stage }, { key: StageSinceKey, value: new Date() }]); // workflow time
    await db.recordClipJobStatus({ ...ref, status, stage, progress, ...(error !== undefined ? { error } : {}) });
  }

  try {
    await enter('analyzing', 'analyzing video', CLIP_JOB_PROGRESS.analyzing);
    const analysed = await executeChild(analyzeVideo, {
      workflowId: `analyze-video-${input.clipJobId}`,
      taskQueue: workflowInfo().taskQueue,
      args: [{ tenantId: input.tenantId, ownerId: input.ownerId, clipJobId: input.clipJobId, video: input.video, heavyTaskQueue: input.heavyTaskQueue }],
    });
    state.analysisId = analysed.analysisId;
    state.cachedAnalysis = analysed.cached;
    await db.linkVideoAnalysis({ ...ref, analysisId: analysed.analysisId });

    let music: { musicId: string; sync: MusicSync } | null = null;
    if (input.musicId) {
      await enter('analyzing', 'syncing music', CLIP_JOB_PROGRESS.syncing);
      const sync = await heavy.syncClipMusic({ ...ref, musicId: input.musicId, analysisId: analysed.analysisId });
      state.musicSync = sync;
      music = { musicId: input.musicId, sync };
    }

    await enter('analyzing', 'suggesting', CLIP_JOB_PROGRESS.suggesting);
    const suggestions = await scoring.suggestClipsForJob({
      ...ref, analysisId: analysed.analysisId, music, minLengthMs: input.minLengthMs, maxLengthMs: input.maxLengthMs,
    });
    state.suggestions = suggestions.length;
    if (suggestions.length === 0) {
      throw ApplicationFailure.nonRetryable(`The analysed video is shorter than the minimum clip length (${input.minLengthMs} ms)`, 'VIDEO_TOO_SHORT');
    }
    await enter('done', 'done', CLIP_JOB_PROGRESS.done);
    return state;
  } catch (err) {
    if (isCancellation(err)) {
      await CancellationScope.nonCancellable(() => enter('cancelled', 'cancelled', state.progress));
      throw err;
    }
    const error = describe(err);
    // Recorded even when a cancel request arrived meanwhile: the row must not stay non-terminal.
    await CancellationScope.nonCancellable(() => enter('failed', 'failed', state.progress, error));
    throw ApplicationFailure.nonRetryable(error.message, error.code);
  }
}

function describe(err: unknown): { code: string; message: string } {
  let cause = err;
  while (cause instanceof ActivityFailure || cause instanceof ChildWorkflowFailure) cause = cause.cause;
  if (cause instanceof ApplicationFailure && cause.type) return { code: cause.type, message: cause.message };
  return { code: 'PROCESSING_ERROR', message: cause instanceof Error ? cause.message : 'The clip job failed' };
}
