/**
 * clipJob (id `clip-<clipJobId>`): an artist's performance video, optionally with a track, turned
 * into clip suggestions and rendered clips. The seed's states: queued → analyzing → rendering →
 * done | failed, plus cancelled.
 *
 *   analyzing  child analyzeVideo (cached by video SHA-256 + analyzer version) → link to the job
 *        ▼
 *   analyzing  [heavy] syncClipMusic — only with a track: where it sits in the video's audio
 *        ▼
 *   analyzing  suggestClipsForJob: 2 variants (3 with music), stored in video_clip_models
 *        ▼
 *   rendering  for each variant, one after another on the heavy queue (one slot per heavy worker):
 *              [heavy] renderClipVariant → [heavy] checkClipRender (A/V sync); a failed check
 *              renders once more, then the variant is `failed_sync`; a render whose retries are
 *              spent is `failed`; the others go on
 *        ▼
 *   done (at least one variant rendered) | failed (none)
 *        ▼
 *   after CLIP_INTERMEDIATE_RETENTION_HOURS: the objects of failed variants are deleted
 *
 * Cancel (POST /clip-jobs/{id}/cancel): the child or the heavy activity is cancelled and awaited
 * (ffmpeg killed, a partial render removed), then the job is recorded `cancelled`. Jobs started
 * before rendering existed replay without it (patch `clip-renders`).
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
  patched,
  proxyActivities,
  setHandler,
  sleep,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { SuggestClipsActivities } from '../activities/analysis/suggest-clips-for-job.ts';
import type { ClipJobDbActivities } from '../activities/db/clip-jobs.ts';
import type { ClipRenderDbActivities } from '../activities/db/clip-renders.ts';
import type { CheckClipRenderActivities } from '../activities/media/check-clip-render.ts';
import type { RenderClipVariantActivities } from '../activities/media/render-clip-variant.ts';
import type { StorageActivities } from '../activities/storage/delete-objects.ts';
import type { ClipVideoSource } from '../activities/media/analyze-video-original.ts';
import type { SyncClipMusicActivities } from '../activities/media/sync-clip-music.ts';
import type { ClipJobStatus, ClipRenderStatus } from '../entities/clip-job.ts';
import type { MusicSync, Suggestion } from '../lib/clips/contract.ts';
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
  /** How long the objects of failed variants are kept for inspection (ms; default 24 h). */
  intermediateRetentionMs?: number;
  traceparent?: string;
}

export interface ClipRenderState {
  index: number;
  status: ClipRenderStatus;
  attempts: number;
  syncDeviationMs: number | null;
  reason: string | null;
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
  /** Rendering: the variant being rendered, how many are finished, percent of the current one. */
  renderingVariant: number | null;
  completedVariants: number;
  variantProgress: number;
  renders: ClipRenderState[];
  error: { code: string; message: string } | null;
}

export const clipJobStateQuery = defineQuery<ClipJobState>('clipJobState');

/** The job's progress when each stage starts (the analysis reports its own share in between). */
export const CLIP_JOB_PROGRESS = { analyzing: 0, syncing: 40, suggesting: 45, rendering: 50, done: 100 } as const;

const NON_RETRYABLE = ['INVALID_MEDIA', 'ORIGINAL_MISSING', 'MUSIC_MISSING', 'ANALYSIS_MISSING', 'RENDER_MISSING', 'CANCELLED'];
/** A variant whose A/V sync check fails is rendered this many times in all before it is `failed_sync`. */
export const RENDER_ATTEMPTS_PER_VARIANT = 2;
const DEFAULT_INTERMEDIATE_RETENTION_MS = 24 * 3_600_000;

const db = proxyActivities<ClipJobDbActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds', maximumAttempts: 20 },
});
const renders = proxyActivities<ClipRenderDbActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds', maximumAttempts: 20 },
});
const objects = proxyActivities<StorageActivities>({
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '5 seconds', maximumInterval: '5 minutes', maximumAttempts: 10 },
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

  const rendering = proxyActivities<RenderClipVariantActivities & CheckClipRenderActivities>({
    taskQueue: input.heavyTaskQueue,
    startToCloseTimeout: '2 hours',
    heartbeatTimeout: '1 minute',
    retry: { initialInterval: '10 seconds', backoffCoefficient: 2, maximumInterval: '2 minutes', maximumAttempts: 3, nonRetryableErrorTypes: NON_RETRYABLE },
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  });

  const state: ClipJobState = {
    status: 'queued', stage: 'queued', progress: 0, analysisId: null, cachedAnalysis: false, musicSync: null, suggestions: 0,
    renderingVariant: null, completedVariants: 0, variantProgress: 0, renders: [], error: null,
  };
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

  const renderKeys = new Map<number, string>();

  /** One variant: render, check, render again once if the check fails. Never throws but for cancellation. */
  async function renderVariant(
    suggestion: Suggestion, progress: { base: number; span: number }, analysisId: string, music: { musicId: string; sync: MusicSync } | null,
  ): Promise<ClipRenderState> {
    const outcome: ClipRenderState = { index: suggestion.index, status: 'rendering', attempts: 0, syncDeviationMs: null, reason: null };
    const record = renders.recordClipRender;
    for (let attempt = 1; attempt <= RENDER_ATTEMPTS_PER_VARIANT; attempt++) {
      outcome.attempts = attempt;
      await record({ ...ref, index: suggestion.index, status: 'rendering', attempts: attempt });
      try {
        const rendered = await rendering.renderClipVariant({
          ...ref, index: suggestion.index, analysisId, video: input.video, startMs: suggestion.startMs, endMs: suggestion.endMs,
          vertical: input.vertical, music, progress,
        });
        renderKeys.set(suggestion.index, rendered.storageKey);
        await record({ ...ref, index: suggestion.index, status: 'checking' });
        const check = await rendering.checkClipRender({
          ...ref, index: suggestion.index, storageKey: rendered.storageKey, expectedDurationMs: suggestion.endMs - suggestion.startMs,
          syncedMusic: music && rendered.musicSynced && rendered.trackStartMs !== null ? { musicId: music.musicId, expectedTrackStartMs: rendered.trackStartMs } : null,
        });
        outcome.syncDeviationMs = check.deviationMs;
        outcome.reason = check.reason;
        const output = {
          bucket: rendered.bucket, storageKey: rendered.storageKey, durationMs: check.durationMs, sizeBytes: rendered.sizeBytes,
          loudnessLufs: check.loudnessLufs, truePeakDb: check.truePeakDb, syncDeviationMs: check.deviationMs,
        };
        if (check.ok) {
          outcome.status = 'done';
          await record({ ...ref, index: suggestion.index, status: 'done', output, error: null });
          return outcome;
        }
        if (attempt === RENDER_ATTEMPTS_PER_VARIANT) {
          outcome.status = 'failed_sync';
          await record({ ...ref, index: suggestion.index, status: 'failed_sync', output, error: { code: 'SYNC_CHECK_FAILED', message: check.reason } });
          return outcome;
        }
      } catch (err) {
        if (isCancellation(err)) {
          await CancellationScope.nonCancellable(() => record({ ...ref, index: suggestion.index, status: 'cancelled' }));
          throw err;
        }
        const error = describe(err);
        outcome.status = 'failed';
        outcome.reason = error.message;
        await record({ ...ref, index: suggestion.index, status: 'failed', error });
        return outcome;
      }
    }
    return outcome;
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
    if (!patched('clip-renders')) {
      await enter('done', 'done', CLIP_JOB_PROGRESS.done);
      return state;
    }

    await enter('rendering', 'rendering', CLIP_JOB_PROGRESS.rendering);
    for (const suggestion of suggestions) {
      state.renderingVariant = suggestion.index;
      state.variantProgress = 0;
      const span = (CLIP_JOB_PROGRESS.done - CLIP_JOB_PROGRESS.rendering) / suggestions.length;
      const base = CLIP_JOB_PROGRESS.rendering + span * state.completedVariants;
      state.progress = Math.round(base);
      await renders.recordRenderingProgress({ ...ref, renderingVariant: suggestion.index, completedVariants: state.completedVariants, variantProgress: 0, progress: state.progress });
      state.renders.push(await renderVariant(suggestion, { base, span }, analysed.analysisId, music));
      state.completedVariants++;
    }
    state.renderingVariant = null;
    state.variantProgress = 100;
    await renders.recordRenderingProgress({ ...ref, renderingVariant: null, completedVariants: state.completedVariants, variantProgress: 100, progress: CLIP_JOB_PROGRESS.done });
    const delivered = state.renders.filter((r) => r.status === 'done').length;
    if (delivered === 0) {
      throw ApplicationFailure.nonRetryable(`No variant could be rendered: ${state.renders.map((r) => `#${r.index} ${r.status}${r.reason ? ` (${r.reason})` : ''}`).join('; ')}`, 'RENDER_FAILED');
    }
    await enter('done', delivered === state.renders.length ? 'done' : 'done (partial)', CLIP_JOB_PROGRESS.done);

    // Delivered: only metadata, the original and the final renders stay; failed variants' objects go after the retention.
    const leftovers = state.renders.filter((r) => r.status !== 'done').map((r) => r.index);
    if (leftovers.length > 0) {
      await sleep(input.intermediateRetentionMs ?? DEFAULT_INTERMEDIATE_RETENTION_MS);
      await objects.deleteObjects({ objects: leftovers.flatMap((index) => (renderKeys.has(index) ? [{ bucket: 'exports' as const, key: renderKeys.get(index)! }] : [])) });
    }
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
