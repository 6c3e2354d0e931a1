/**
 * analyzeMusicAudio (heavy queue): the track is downloaded into a per-attempt temp dir, decoded by
 * ffmpeg to mono PCM at the analysis rate, and described by the local analysers (rhythm, loudness,
 * sections, impacts, embedding); the genre is inferred against the stored profiles. When a
 * transcription will follow, a small mono MP3 (16 kHz, 32 kb/s) is stored for the AI worker, so
 * the provider gets a few hundred kB instead of the original.
 */
import { createReadStream } from 'node:fs';
import { mkdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApplicationFailure, Context } from '@temporalio/activity';
import { ANALYSIS_SAMPLE_RATE, ANALYZER_VERSION, type GenreGuess, type MusicAnalysisResult } from '../../lib/audio/analysis.ts';
import { analyzeMusicPcm } from '../../lib/audio/analyze-music.ts';
import { inferGenre } from '../../lib/audio/genre.ts';
import { decodePcm } from '../../lib/audio/pcm.ts';
import type { Orm } from '../../lib/db/orm.ts';
import { globalArgs, inputArgs, outputArg, RenderError, runFfmpeg } from '../../lib/ffmpeg/ingest/run-ffmpeg.ts';
import { musicSpeechKey, ObjectNotFoundError, type StorageDriver } from '../../lib/storage/index.ts';
import { createMusicDbActivities } from '../db/music.ts';

export interface AnalyzeMusicAudioDeps {
  orm: Orm;
  storage: StorageDriver;
  ffmpegPath: string;
  timeoutMs: number;
  workDir?: string;
}

export interface AnalyzeMusicAudioInput {
  tenantId: string;
  musicId: string;
  storageKey: string;
  demuxer: string;
  durationMs: number | null;
  /** Store the speech-ready copy for a transcription. */
  prepareSpeech: boolean;
}

export interface AnalyzedMusic {
  result: MusicAnalysisResult;
  genre: GenreGuess;
  /** The speech-ready MP3 in the proxies bucket, when asked for. */
  speechKey: string | null;
}

export function createAnalyzeMusicActivities(deps: AnalyzeMusicAudioDeps) {
  const profiles = createMusicDbActivities({ orm: deps.orm });
  return {
    async analyzeMusicAudio(input: AnalyzeMusicAudioInput): Promise<AnalyzedMusic> {
      const ctx = Context.current();
      const dir = join(deps.workDir ?? tmpdir(), 'moviola-music', input.musicId);
      await rm(dir, { recursive: true, force: true });
      await mkdir(dir, { recursive: true });
      try {
        const path = join(dir, 'original');
        try {
          await deps.storage.getToFile('originals', input.storageKey, path);
        } catch (err) {
          if (err instanceof ObjectNotFoundError) throw ApplicationFailure.nonRetryable('The uploaded track is missing from storage', 'UPLOAD_MISSING');
          throw err;
        }
        ctx.heartbeat({ stage: 'decoding' });
        const run = { ffmpegPath: deps.ffmpegPath, timeoutMs: deps.timeoutMs, signal: ctx.cancellationSignal };
        const pcm = await decodePcm(path, { ...run, demuxer: input.demuxer, sampleRate: ANALYSIS_SAMPLE_RATE });
        ctx.heartbeat({ stage: 'analysing' });
        const result = analyzeMusicPcm(pcm.samples, pcm.sampleRate);
        // Digital silence has no genre to infer: its embedding is a unit vector of nothing.
        const genre: GenreGuess = result.loudness.integratedLufs === null
          ? { inferred: null, score: null, ranking: [] }
          : inferGenre(result.embedding, await profiles.loadGenreProfiles({ analyzerVersion: ANALYZER_VERSION }));

        let speechKey: string | null = null;
        if (input.prepareSpeech) {
          ctx.heartbeat({ stage: 'speech copy' });
          const speech = join(dir, 'speech.mp3');
          await runFfmpeg([...globalArgs(), ...inputArgs({ path, demuxer: input.demuxer }), '-vn', '-ac', '1', '-ar', '16000', '-c:a', 'libmp3lame', '-b:a', '32k', outputArg(speech)], input.durationMs, run);
          speechKey = musicSpeechKey(input.tenantId, input.musicId);
          await deps.storage.put('proxies', speechKey, createReadStream(speech), { contentType: 'audio/mpeg', size: (await stat(speech)).size });
        }
        ctx.log.info('music analysed', { musicId: input.musicId, tempoBpm: result.rhythm.tempoBpm, genre: genre.inferred });
        return { result, genre, speechKey };
      } catch (err) {
        if (err instanceof RenderError && !err.retryable) throw ApplicationFailure.nonRetryable(err.message, err.code);
        throw err;
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
  };
}

export type AnalyzeMusicActivities = ReturnType<typeof createAnalyzeMusicActivities>;
