/**
 * analyzeVideoOriginal (heavy queue): the clip job's video is downloaded into a per-attempt temp
 * dir and described by lib/video (scene cuts, motion, black/frozen, per-second embedding, the
 * performance's own audio, impacts). The analysis is stored here, once per (tenant, SHA-256,
 * analyzer version), and only its id goes back to the workflow: the per-second series of a long
 * video do not belong in a workflow history. Progress is heartbeated and written to the job's row;
 * cancellation kills both ffmpeg processes.
 */
import { randomUUID } from 'node:crypto';
import { ApplicationFailure, Context } from '@temporalio/activity';
import { VIDEO_ANALYZER_VERSION, type VideoAnalysis } from '../../lib/clips/contract.ts';
import type { Orm } from '../../lib/db/orm.ts';
import type { StorageDriver } from '../../lib/storage/index.ts';
import { analyzeVideoFile } from '../../lib/video/analyze-video.ts';
import { withDownloadedOriginal } from './asset-workspace.ts';

export interface AnalyzeVideoOriginalDeps {
  orm: Orm;
  storage: StorageDriver;
  ffmpegPath: string;
  timeoutMs: number;
  workDir?: string;
}

export interface ClipVideoSource {
  /** In the originals bucket. */
  storageKey: string;
  sha256: string;
  demuxer: string;
  durationMs: number;
  width: number | null;
  height: number | null;
  hasAudio: boolean;
  videoCodec: string | null;
}

export interface AnalyzeVideoOriginalInput {
  tenantId: string;
  clipJobId: string;
  video: ClipVideoSource;
}

export interface AnalyzedVideoSummary {
  analysisId: string;
  durationMs: number;
  cuts: number;
  impacts: number;
  hasAudio: boolean;
}

/** The job's progress while its video is analysed (the rest: sync and suggestions). */
export const ANALYSIS_PROGRESS_SHARE = 40;
const PROGRESS_WRITE_INTERVAL_MS = 1_000;

export function createAnalyzeVideoActivities(deps: AnalyzeVideoOriginalDeps) {
  return {
    async analyzeVideoOriginal(input: AnalyzeVideoOriginalInput): Promise<AnalyzedVideoSummary> {
      const ctx = Context.current();
      const { video } = input;
      const connection = deps.orm.em.getConnection();
      let lastWrite = 0;
      const onProgress = (percent: number) => {
        ctx.heartbeat({ percent });
        const now = Date.now();
        if (now - lastWrite < PROGRESS_WRITE_INTERVAL_MS) return;
        lastWrite = now;
        connection.execute(
          `update clip_jobs set progress = ?, updated_at = now() where id = ? and tenant_id = ? and status = 'analyzing'`,
          [Math.round((percent * ANALYSIS_PROGRESS_SHARE) / 100), input.clipJobId, input.tenantId],
        ).catch((err: unknown) => ctx.log.warn('progress not recorded', { error: String(err) }));
      };
      ctx.heartbeat({ percent: 0 });
      const analysis = await withDownloadedOriginal(deps, { assetId: input.clipJobId, originalKey: video.storageKey }, 'video-analysis', (path) =>
        analyzeVideoFile(path, {
          ffmpegPath: deps.ffmpegPath,
          demuxer: video.demuxer,
          durationMs: video.durationMs,
          width: video.width,
          height: video.height,
          hasAudio: video.hasAudio,
          videoCodec: video.videoCodec,
          timeoutMs: deps.timeoutMs,
          signal: ctx.cancellationSignal,
          onProgress,
        })).catch((err: unknown) => {
          // Cancelled (ffmpeg killed): report the cancellation itself, not a failure, so that the
          // workflow sees a cancelled activity (and the clip job ends `cancelled`, not stuck).
          if (ctx.cancellationSignal.aborted) throw ctx.cancellationSignal.reason ?? err;
          throw err;
        });
      const analysisId = await saveVideoAnalysis(deps.orm, input.tenantId, video.sha256, analysis);
      ctx.log.info('video analysed', { clipJobId: input.clipJobId, analysisId, cuts: analysis.cutsMs.length, impacts: analysis.impacts.length });
      return { analysisId, durationMs: analysis.durationMs, cuts: analysis.cutsMs.length, impacts: analysis.impacts.length, hasAudio: analysis.audio.hasAudio };
    },
  };
}

/** Stores the analysis once per (tenant, sha256, version): a retried or concurrent save returns the same id. */
async function saveVideoAnalysis(orm: Orm, tenantId: string, sha256: string, analysis: VideoAnalysis): Promise<string> {
  if (analysis.analyzerVersion !== VIDEO_ANALYZER_VERSION) throw ApplicationFailure.nonRetryable(`unexpected analyzer version ${analysis.analyzerVersion}`, 'PROCESSING_ERROR');
  const connection = orm.em.getConnection();
  const inserted = (await connection.execute(
    `insert into video_analysis (id, tenant_id, sha256, analyzer_version, duration_ms, analysis) values (?, ?, ?, ?, ?, ?)
     on conflict (tenant_id, sha256, analyzer_version) do nothing returning id`,
    [randomUUID(), tenantId, sha256, analysis.analyzerVersion, analysis.durationMs, JSON.stringify(analysis)],
  )) as Array<{ id: string }>;
  if (inserted[0]) return inserted[0].id;
  const existing = (await connection.execute(
    'select id from video_analysis where tenant_id = ? and sha256 = ? and analyzer_version = ?',
    [tenantId, sha256, analysis.analyzerVersion],
  )) as Array<{ id: string }>;
  return existing[0]!.id;
}

export type AnalyzeVideoActivities = ReturnType<typeof createAnalyzeVideoActivities>;
