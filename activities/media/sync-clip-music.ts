/**
 * syncClipMusic (heavy queue): where does the chosen track sit inside the performance's audio?
 * The track's original is downloaded, probed (allowed demuxers only), decoded to mono PCM and
 * turned into an onset envelope; lib/clips/music-sync cross-correlates it with the envelope the
 * video analysis stored. The result (offset or null, confidence, reason) is written to the job's
 * row; retrying gives the same answer.
 */
import { ApplicationFailure, Context } from '@temporalio/activity';
import { ANALYSIS_SAMPLE_RATE } from '../../lib/audio/analysis.ts';
import { onsetStrength } from '../../lib/audio/onset.ts';
import { decodePcm } from '../../lib/audio/pcm.ts';
import { stft } from '../../lib/audio/spectrogram.ts';
import type { MusicSync, VideoAnalysis } from '../../lib/clips/contract.ts';
import { syncMusic } from '../../lib/clips/music-sync.ts';
import type { Orm } from '../../lib/db/orm.ts';
import { MEDIA_DEMUXERS } from '../../lib/ffmpeg/formats.ts';
import { probeMedia } from '../../lib/ffmpeg/probe.ts';
import type { StorageDriver } from '../../lib/storage/index.ts';
import { withDownloadedOriginal } from './asset-workspace.ts';

export interface SyncClipMusicDeps {
  orm: Orm;
  storage: StorageDriver;
  ffmpegPath: string;
  ffprobePath: string;
  probeTimeoutMs: number;
  timeoutMs: number;
  workDir?: string;
}

export interface SyncClipMusicInput {
  tenantId: string;
  clipJobId: string;
  musicId: string;
  analysisId: string;
}

export function createSyncClipMusicActivities(deps: SyncClipMusicDeps) {
  return {
    async syncClipMusic(input: SyncClipMusicInput): Promise<MusicSync> {
      const ctx = Context.current();
      const connection = deps.orm.em.getConnection();
      const music = (await connection.execute(
        'select storage_key from music_assets where id = ? and tenant_id = ?',
        [input.musicId, input.tenantId],
      )) as Array<{ storage_key: string }>;
      if (!music[0]) throw ApplicationFailure.nonRetryable('The track of the clip job no longer exists', 'MUSIC_MISSING');
      const rows = (await connection.execute(
        `select analysis->'audio' as audio from video_analysis where id = ? and tenant_id = ?`,
        [input.analysisId, input.tenantId],
      )) as Array<{ audio: VideoAnalysis['audio'] }>;
      if (!rows[0]) throw ApplicationFailure.nonRetryable('The video analysis is missing', 'ANALYSIS_MISSING');
      const audio = rows[0].audio;

      let sync: MusicSync;
      if (!audio.hasAudio) {
        sync = { offsetMs: null, confidence: 0, found: false, reason: `music not synced: ${audio.reason ?? 'the video has no usable audio'}; clips are cut on the track's beats (low confidence)` };
      } else {
        ctx.heartbeat({ stage: 'decoding the track' });
        const track = await withDownloadedOriginal(deps, { assetId: input.clipJobId, originalKey: music[0].storage_key }, 'music-sync', async (path) => {
          const { demuxer } = await probeMedia(path, { ffprobePath: deps.ffprobePath, timeoutMs: deps.probeTimeoutMs, signal: ctx.cancellationSignal, allowedDemuxers: MEDIA_DEMUXERS });
          const pcm = await decodePcm(path, { ffmpegPath: deps.ffmpegPath, demuxer, sampleRate: ANALYSIS_SAMPLE_RATE, timeoutMs: deps.timeoutMs, signal: ctx.cancellationSignal });
          return onsetStrength(stft(pcm.samples, pcm.sampleRate));
        }).catch((err: unknown) => {
          // Cancelled (ffmpeg killed): the cancellation itself, not a CANCELLED failure (see analyzeVideoOriginal).
          if (ctx.cancellationSignal.aborted) throw ctx.cancellationSignal.reason ?? err;
          throw err;
        });
        ctx.heartbeat({ stage: 'correlating' });
        sync = syncMusic(audio.onset, { frameRate: track.frameRate, values: track.values });
      }
      await connection.execute(
        'update clip_jobs set music_offset_ms = ?, music_sync = ?, updated_at = now() where id = ? and tenant_id = ?',
        [sync.offsetMs, JSON.stringify(sync), input.clipJobId, input.tenantId],
      );
      ctx.log.info('music synced', { clipJobId: input.clipJobId, found: sync.found, offsetMs: sync.offsetMs, confidence: sync.confidence });
      return sync;
    },
  };
}

export type SyncClipMusicActivities = ReturnType<typeof createSyncClipMusicActivities>;
