/**
 * renderClipVariant (heavy queue): one suggested clip rendered from the job's original — the cut
 * [start, end), the optional 9:16 crop following the motion centre, the track placed at its synced
 * offset (or on a downbeat lined up with the clip's first impact), short fades, two-pass loudnorm to
 * −14 LUFS / −1 dBTP, H.264 + AAC with faststart — and uploaded under the variant's deterministic
 * key (a retry overwrites it). Everything happens in a per-(job, variant) temp dir, cleared at the
 * start of every attempt and removed at the end; progress is heartbeated and written to the job.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { MusicSync } from '../../lib/clips/contract.ts';
import { placeTrackInClip } from '../../lib/clips/plan-music.ts';
import type { Orm } from '../../lib/db/orm.ts';
import { renderClip } from '../../lib/ffmpeg/clips/render-clip.ts';
import { MEDIA_DEMUXERS } from '../../lib/ffmpeg/formats.ts';
import { RenderError } from '../../lib/ffmpeg/ingest/run-ffmpeg.ts';
import { probeMedia } from '../../lib/ffmpeg/probe.ts';
import { clipRenderKey, ObjectNotFoundError, type StorageDriver } from '../../lib/storage/index.ts';
import { motionCentreKeyframes } from '../../lib/video/motion-centre.ts';
import { clampPercent } from '../db/clip-renders.ts';
import type { ClipVideoSource } from './analyze-video-original.ts';
import { withDownloadedOriginal } from './asset-workspace.ts';

export interface RenderClipVariantDeps {
  orm: Orm;
  storage: StorageDriver;
  ffmpegPath: string;
  ffprobePath: string;
  probeTimeoutMs: number;
  timeoutMs: number;
  workDir?: string;
}

export interface RenderClipVariantInput {
  tenantId: string;
  clipJobId: string;
  index: number;
  analysisId: string;
  video: ClipVideoSource;
  startMs: number;
  endMs: number;
  vertical: boolean;
  music: { musicId: string; sync: MusicSync } | null;
  /** The job's progress while this variant renders: base + span × percent / 100. */
  progress: { base: number; span: number };
}

export interface RenderedClipVariant {
  bucket: 'exports';
  storageKey: string;
  sizeBytes: number;
  /** The track time heard at the clip's start (null without music). */
  trackStartMs: number | null;
  musicSynced: boolean;
  placement: string | null;
}

const PROGRESS_WRITE_INTERVAL_MS = 1_000;

export function createRenderClipVariantActivities(deps: RenderClipVariantDeps) {
  return {
    async renderClipVariant(input: RenderClipVariantInput): Promise<RenderedClipVariant> {
      const ctx = Context.current();
      const connection = deps.orm.em.getConnection();
      const signal = ctx.cancellationSignal;
      let lastWrite = 0;
      const onProgress = (percent: number) => {
        ctx.heartbeat({ percent });
        const now = Date.now();
        if (now - lastWrite < PROGRESS_WRITE_INTERVAL_MS) return;
        lastWrite = now;
        connection.execute(
          `update clip_jobs set variant_progress = ?, progress = ?, updated_at = now() where id = ? and tenant_id = ? and status = 'rendering'`,
          [clampPercent(percent), clampPercent(input.progress.base + (input.progress.span * percent) / 100), input.clipJobId, input.tenantId],
        ).catch((err: unknown) => ctx.log.warn('progress not recorded', { error: String(err) }));
      };
      ctx.heartbeat({ percent: 0 });
      const storageKey = clipRenderKey(input.tenantId, input.clipJobId, input.index);
      try {
        return await withDownloadedOriginal(deps, { assetId: input.clipJobId, originalKey: input.video.storageKey }, `render-${input.index}`, async (path, dir) => {
          const size = input.video.width && input.video.height
            ? { width: input.video.width, height: input.video.height }
            : await probedSize(path, input.video.demuxer);
          const keyframes = input.vertical
            ? await motionCentreKeyframes(path, {
              ffmpegPath: deps.ffmpegPath, demuxer: input.video.demuxer, startMs: input.startMs, endMs: input.endMs,
              timeoutMs: deps.timeoutMs, signal, videoCodec: input.video.videoCodec,
            })
            : null;
          const music = input.music ? await prepareTrack(input, join(dir, 'track')) : null;
          const output = join(dir, `variant-${input.index}.mp4`);
          await renderClip({
            source: { path, demuxer: input.video.demuxer, hasAudio: input.video.hasAudio, width: size.width, height: size.height },
            startMs: input.startMs,
            endMs: input.endMs,
            vertical: keyframes ? { keyframes } : null,
            music: music ? { path: music.path, demuxer: music.demuxer, trackStartMs: music.trackStartMs } : null,
            output: { path: output },
          }, { ffmpegPath: deps.ffmpegPath, timeoutMs: deps.timeoutMs, signal, onProgress });
          const { size: sizeBytes } = await stat(output);
          await deps.storage.put('exports', storageKey, createReadStream(output), { contentType: 'video/mp4', size: sizeBytes });
          ctx.log.info('clip variant rendered', { clipJobId: input.clipJobId, index: input.index, sizeBytes, trackStartMs: music?.trackStartMs ?? null });
          return {
            bucket: 'exports' as const, storageKey, sizeBytes,
            trackStartMs: music?.trackStartMs ?? null, musicSynced: music?.synced ?? false, placement: music?.reason ?? null,
          };
        });
      } catch (err) {
        // Cancelled (ffmpeg killed): no partial object stays, and the cancellation itself is reported.
        if (signal.aborted) {
          await deps.storage.delete('exports', storageKey).catch(() => undefined);
          throw signal.reason ?? err;
        }
        throw asClipRenderFailure(err);
      }

      async function probedSize(path: string, demuxer: string): Promise<{ width: number; height: number }> {
        const { metadata } = await probeMedia(path, { ffprobePath: deps.ffprobePath, timeoutMs: deps.probeTimeoutMs, signal, allowedDemuxers: [demuxer] });
        const video = metadata.streams.find((s) => s.type === 'video');
        if (!video?.width || !video.height) throw ApplicationFailure.nonRetryable('The video has no picture size', 'INVALID_MEDIA');
        return { width: video.width, height: video.height };
      }
    },
  };

  /** Downloads the track, probes its demuxer and places it in the clip. */
  async function prepareTrack(input: RenderClipVariantInput, path: string) {
    const music = input.music!;
    const connection = deps.orm.em.getConnection();
    const rows = (await connection.execute(
      `select m.storage_key, b.beats_ms, b.downbeats_ms, (select a.analysis->'impacts' from video_analysis a where a.id = ? and a.tenant_id = m.tenant_id) as impacts
       from music_assets m left join music_beats b on b.analysis_id = m.analysis_id and b.tenant_id = m.tenant_id
       where m.id = ? and m.tenant_id = ?`,
      [input.analysisId, music.musicId, input.tenantId],
    )) as Array<{ storage_key: string; beats_ms: number[] | null; downbeats_ms: number[] | null; impacts: Array<{ timeMs: number }> | null }>;
    const row = rows[0];
    if (!row) throw ApplicationFailure.nonRetryable('The track of the clip job no longer exists', 'MUSIC_MISSING');
    try {
      await deps.storage.getToFile('originals', row.storage_key, path);
    } catch (err) {
      if (err instanceof ObjectNotFoundError) throw ApplicationFailure.nonRetryable('The track is missing from storage', 'MUSIC_MISSING');
      throw err;
    }
    const { demuxer } = await probeMedia(path, { ffprobePath: deps.ffprobePath, timeoutMs: deps.probeTimeoutMs, signal: Context.current().cancellationSignal, allowedDemuxers: MEDIA_DEMUXERS });
    const placement = placeTrackInClip({
      startMs: input.startMs, endMs: input.endMs, sync: music.sync,
      downbeatsMs: (row.downbeats_ms ?? []).map(Number), beatsMs: (row.beats_ms ?? []).map(Number), impactsMs: (row.impacts ?? []).map((i) => i.timeMs),
    });
    return { path, demuxer, ...placement };
  }
}

/**
 * A retryable ffmpeg/ffprobe failure (RenderError PROCESSING_ERROR) as a retryable ApplicationFailure
 * typed with its stable code: otherwise Temporal types it with the class name, and the variant's
 * recorded error code would read `RenderError`. Anything else is returned unchanged.
 */
export function asClipRenderFailure(err: unknown): unknown {
  if (err instanceof RenderError && err.retryable) return ApplicationFailure.create({ message: err.message, type: err.code, nonRetryable: false, cause: err });
  return err;
}

export type RenderClipVariantActivities = ReturnType<typeof createRenderClipVariantActivities>;
