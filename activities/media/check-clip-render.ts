/**
 * checkClipRender (heavy queue): the A/V sync check of a rendered variant. The render is read back
 * from storage: its audio and video streams must start together and last as long as each other
 * (and as the cut) within 40 ms; when the track was placed by music sync, the render's audio is
 * cross-correlated with the track and must put it at the expected offset within 40 ms. Also reports
 * the render's integrated loudness and true peak (ebur128). Read-only: retrying is safe.
 */
import { mkdir, rm, rmdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { ApplicationFailure, Context } from '@temporalio/activity';
import { judgeRender, measureLoudness, musicDeviationMs, probeRender, RENDER_SYNC_TOLERANCE_MS } from '../../lib/clips/check-render.ts';
import type { Orm } from '../../lib/db/orm.ts';
import { MEDIA_DEMUXERS } from '../../lib/ffmpeg/formats.ts';
import { probeMedia } from '../../lib/ffmpeg/probe.ts';
import { ObjectNotFoundError, type StorageDriver } from '../../lib/storage/index.ts';
import { asTemporalFailure } from './asset-workspace.ts';
import { asClipRenderFailure } from './render-clip-variant.ts';

export interface CheckClipRenderDeps {
  orm: Orm;
  storage: StorageDriver;
  ffmpegPath: string;
  ffprobePath: string;
  probeTimeoutMs: number;
  timeoutMs: number;
  workDir?: string;
}

export interface CheckClipRenderInput {
  tenantId: string;
  clipJobId: string;
  index: number;
  storageKey: string;
  expectedDurationMs: number;
  /** Only when the track was placed by music sync. */
  syncedMusic: { musicId: string; expectedTrackStartMs: number } | null;
}

export interface ClipRenderCheck {
  ok: boolean;
  deviationMs: number;
  reason: string;
  durationMs: number;
  loudnessLufs: number | null;
  truePeakDb: number | null;
}

export function createCheckClipRenderActivities(deps: CheckClipRenderDeps) {
  return {
    async checkClipRender(input: CheckClipRenderInput): Promise<ClipRenderCheck> {
      const ctx = Context.current();
      const signal = ctx.cancellationSignal;
      const dir = join(deps.workDir ?? tmpdir(), 'moviola-clips', input.clipJobId, `check-${input.index}`);
      await rm(dir, { recursive: true, force: true });
      await mkdir(dir, { recursive: true });
      try {
        const path = join(dir, 'render.mp4');
        await download('exports', input.storageKey, path, 'RENDER_MISSING');
        ctx.heartbeat({ stage: 'probing' });
        const tools = { ffmpegPath: deps.ffmpegPath, ffprobePath: deps.ffprobePath, timeoutMs: deps.timeoutMs, signal };
        const render = await probeRender(path, tools);
        const loudness = await measureLoudness(path, { ...tools, demuxer: render.demuxer });
        let music: number | null | undefined;
        let musicReason = '';
        if (input.syncedMusic) {
          ctx.heartbeat({ stage: 'music' });
          const rows = (await deps.orm.em.getConnection().execute('select storage_key from music_assets where id = ? and tenant_id = ?', [input.syncedMusic.musicId, input.tenantId])) as Array<{ storage_key: string }>;
          if (!rows[0]) throw ApplicationFailure.nonRetryable('The track of the clip job no longer exists', 'MUSIC_MISSING');
          const track = join(dir, 'track');
          await download('originals', rows[0].storage_key, track, 'MUSIC_MISSING');
          const { demuxer } = await probeMedia(track, { ffprobePath: deps.ffprobePath, timeoutMs: deps.probeTimeoutMs, signal, allowedDemuxers: MEDIA_DEMUXERS });
          const check = await musicDeviationMs(path, { path: track, demuxer, expectedTrackStartMs: input.syncedMusic.expectedTrackStartMs }, { ...tools, render });
          music = check.deviationMs;
          musicReason = check.reason;
        }
        const verdict = judgeRender({ streams: render.streams, musicDeviationMs: music });
        const lengthDelta = Math.abs(render.streams.formatDurationMs - input.expectedDurationMs);
        const lengthOk = lengthDelta <= RENDER_SYNC_TOLERANCE_MS;
        const reason = [verdict.reason, ...(musicReason ? [musicReason] : []), ...(lengthOk ? [] : [`the render lasts ${Math.round(lengthDelta)} ms more or less than the cut`])].join('; ');
        return {
          ok: verdict.ok && lengthOk,
          deviationMs: Math.round(Math.max(verdict.deviationMs, lengthOk ? 0 : lengthDelta) * 10) / 10,
          reason,
          durationMs: Math.round(render.streams.formatDurationMs),
          loudnessLufs: loudness.integratedLufs,
          truePeakDb: loudness.truePeakDb,
        };
      } catch (err) {
        if (signal.aborted) throw signal.reason ?? err;
        throw asClipRenderFailure(asTemporalFailure(err));
      } finally {
        await rm(dir, { recursive: true, force: true });
        await rmdir(dirname(dir)).catch(() => undefined); // the job's directory, once empty
      }
    },
  };

  async function download(bucket: 'exports' | 'originals', key: string, path: string, missingCode: string): Promise<void> {
    try {
      await deps.storage.getToFile(bucket, key, path);
    } catch (err) {
      if (err instanceof ObjectNotFoundError) throw ApplicationFailure.nonRetryable(`${bucket}/${key} is missing from storage`, missingCode);
      throw err;
    }
  }
}

export type CheckClipRenderActivities = ReturnType<typeof createCheckClipRenderActivities>;
