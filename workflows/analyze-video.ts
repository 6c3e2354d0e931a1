/**
 * analyzeVideo (child of clipJob, id `analyze-video-<clipJobId>`): the analysis of a clip job's
 * video, cached by (tenant, video SHA-256, analyzer version).
 *
 *   cache lookup ── hit ──► its id
 *        │ miss
 *        ▼
 *   [heavy] analyzeVideoOriginal: frames → cuts, motion, black/frozen, embedding; audio → energy,
 *           onsets; impacts — stored in video_analysis, its id returned
 *
 * Cancelling it (the parent's cancel does) waits until the heavy activity has killed ffmpeg.
 */
import { ActivityCancellationType, proxyActivities, upsertSearchAttributes } from '@temporalio/workflow';
import type { ClipJobDbActivities } from '../activities/db/clip-jobs.ts';
import type { AnalyzeVideoActivities, ClipVideoSource } from '../activities/media/analyze-video-original.ts';
import { VIDEO_ANALYZER_VERSION } from '../lib/clips/contract.ts';
import { JobKindKey, OwnerIdKey, StageKey, StageSinceKey, TenantIdKey } from '../lib/temporal/search-attributes.ts';

export interface AnalyzeVideoInput {
  tenantId: string;
  ownerId: string;
  clipJobId: string;
  video: ClipVideoSource;
  heavyTaskQueue: string;
}

export interface AnalyzeVideoResult {
  analysisId: string;
  cached: boolean;
  analyzerVersion: string;
}

/** Verdicts on the file or the job: retrying cannot change them. */
export const VIDEO_ANALYSIS_NON_RETRYABLE = ['INVALID_MEDIA', 'ORIGINAL_MISSING', 'CANCELLED'];

const db = proxyActivities<ClipJobDbActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds', maximumAttempts: 20 },
});

export async function analyzeVideo(input: AnalyzeVideoInput): Promise<AnalyzeVideoResult> {
  const heavy = proxyActivities<AnalyzeVideoActivities>({
    taskQueue: input.heavyTaskQueue,
    startToCloseTimeout: '2 hours',
    heartbeatTimeout: '30 seconds',
    retry: { initialInterval: '10 seconds', backoffCoefficient: 2, maximumInterval: '2 minutes', maximumAttempts: 3, nonRetryableErrorTypes: VIDEO_ANALYSIS_NON_RETRYABLE },
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  });
  const stage = (value: string) => upsertSearchAttributes([{ key: StageKey, value }, { key: StageSinceKey, value: new Date() }]); // workflow time
  upsertSearchAttributes([
    { key: TenantIdKey, value: input.tenantId },
    { key: OwnerIdKey, value: input.ownerId },
    { key: JobKindKey, value: 'video-analysis' },
  ]);

  stage('cache');
  const cached = await db.findCachedVideoAnalysis({ tenantId: input.tenantId, sha256: input.video.sha256, analyzerVersion: VIDEO_ANALYZER_VERSION });
  if (cached) {
    stage('done');
    return { analysisId: cached.analysisId, cached: true, analyzerVersion: VIDEO_ANALYZER_VERSION };
  }
  stage('analyzing');
  const analysed = await heavy.analyzeVideoOriginal({ tenantId: input.tenantId, clipJobId: input.clipJobId, video: input.video });
  stage('done');
  return { analysisId: analysed.analysisId, cached: false, analyzerVersion: VIDEO_ANALYZER_VERSION };
}
