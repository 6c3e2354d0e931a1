/**
 * analyzeMusic (id `music-<musicId>`): describes an uploaded track so that clips can be cut on its
 * beats and matched to an artist's taste. The seed's states: queued → analyzing → done | failed.
 *
 *   cache lookup (tenant, audio SHA-256, analyzer version) ── hit ──► link → done
 *        │ miss
 *        ▼
 *   [heavy] analyzeMusicAudio: decode → rhythm, loudness, sections, impacts, embedding, genre
 *        ▼
 *   [ai] transcribeMusic (only with a provider; its failure marks only the transcription failed)
 *        ▼
 *   saveMusicAnalysis → link → done
 */
import {
  ActivityFailure,
  ApplicationFailure,
  defineQuery,
  isCancellation,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type { TranscriptionActivities } from '../activities/ai/transcribe-music.ts';
import type { MusicDbActivities, TranscriptionOutcome } from '../activities/db/music.ts';
import type { AnalyzeMusicActivities } from '../activities/media/analyze-music-audio.ts';
import type { MusicStatus } from '../entities/music.ts';
import { ANALYZER_VERSION } from '../lib/audio/analysis.ts';
import { JobKindKey, OwnerIdKey, StageKey, StageSinceKey, TenantIdKey } from '../lib/temporal/search-attributes.ts';

export interface AnalyzeMusicInput {
  musicId: string;
  tenantId: string;
  ownerId: string;
  storageKey: string;
  filename: string;
  demuxer: string;
  sha256: string;
  durationMs: number | null;
  /** A provider is configured: transcribe (otherwise the transcription is `unavailable`). */
  transcribe: boolean;
  heavyTaskQueue: string;
  aiTaskQueue: string;
  traceparent?: string;
}

export interface AnalyzeMusicState {
  status: MusicStatus;
  stage: string;
  cached: boolean;
  analysisId: string | null;
  transcription: TranscriptionOutcome['status'] | null;
  error: { code: string; message: string } | null;
}

export const analyzeMusicStateQuery = defineQuery<AnalyzeMusicState>('analyzeMusicState');

/** Verdicts on the file: retrying cannot change them. */
export const MUSIC_NON_RETRYABLE = ['INVALID_MEDIA', 'UPLOAD_MISSING', 'NO_AUDIO_STREAM'];

/** Provider errors that retrying cannot fix; 429/5xx/timeouts/bad responses are retried (Retry-After honoured by the activity). */
export const TRANSCRIPTION_NON_RETRYABLE = ['PROVIDER_REJECTED', 'PROVIDER_UNAVAILABLE'];

const db = proxyActivities<MusicDbActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds', maximumAttempts: 20 },
});

export async function analyzeMusic(input: AnalyzeMusicInput): Promise<AnalyzeMusicState> {
  const ref = { musicId: input.musicId, tenantId: input.tenantId };
  const heavy = proxyActivities<AnalyzeMusicActivities>({
    taskQueue: input.heavyTaskQueue,
    startToCloseTimeout: '15 minutes',
    retry: { initialInterval: '10 seconds', backoffCoefficient: 2, maximumInterval: '2 minutes', maximumAttempts: 3, nonRetryableErrorTypes: MUSIC_NON_RETRYABLE },
  });
  const ai = proxyActivities<TranscriptionActivities>({
    taskQueue: input.aiTaskQueue,
    startToCloseTimeout: '10 minutes',
    retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 4, nonRetryableErrorTypes: TRANSCRIPTION_NON_RETRYABLE },
  });

  const state: AnalyzeMusicState = { status: 'queued', stage: 'queued', cached: false, analysisId: null, transcription: null, error: null };
  setHandler(analyzeMusicStateQuery, () => state);
  upsertSearchAttributes([
    { key: TenantIdKey, value: input.tenantId },
    { key: OwnerIdKey, value: input.ownerId },
    { key: JobKindKey, value: 'music' },
  ]);
  async function enter(status: MusicStatus, stage: string, error?: AnalyzeMusicState['error']) {
    state.status = status;
    state.stage = stage;
    if (error !== undefined) state.error = error;
    upsertSearchAttributes([{ key: StageKey, value: stage }, { key: StageSinceKey, value: new Date() }]); // workflow time
    await db.recordMusicStatus({ ...ref, status, ...(error !== undefined ? { error } : {}) });
  }

  try {
    await enter('analyzing', 'cache');
    const cached = await db.findCachedMusicAnalysis({ tenantId: input.tenantId, sha256: input.sha256, analyzerVersion: ANALYZER_VERSION });
    if (cached) {
      state.cached = true;
      state.analysisId = cached.analysisId;
      await db.linkMusicAnalysis({ ...ref, analysisId: cached.analysisId, durationMs: cached.durationMs });
      await enter('done', 'done');
      return state;
    }

    await enter('analyzing', 'analyzing');
    const analysed = await heavy.analyzeMusicAudio({
      tenantId: input.tenantId, musicId: input.musicId, storageKey: input.storageKey, demuxer: input.demuxer, durationMs: input.durationMs, prepareSpeech: input.transcribe,
    });

    let transcription: TranscriptionOutcome = { status: 'unavailable', reason: 'No AI provider is configured (OPENAI_API_KEY)' };
    if (input.transcribe && analysed.speechKey) {
      await enter('analyzing', 'transcribing');
      try {
        const t = await ai.transcribeMusic({
          tenantId: input.tenantId, userId: input.ownerId, musicId: input.musicId, bucket: 'proxies', storageKey: analysed.speechKey,
          durationMs: analysed.result.durationMs, filename: 'speech.mp3',
        });
        transcription = { status: 'done', language: t.language, text: t.text, segments: t.segments };
      } catch (err) {
        if (isCancellation(err)) throw err;
        // Retries are spent: only the transcription fails, the analysis completes.
        transcription = { status: 'failed', reason: describe(err).message };
      }
    }
    state.transcription = transcription.status;

    const saved = await db.saveMusicAnalysis({ tenantId: input.tenantId, sha256: input.sha256, result: analysed.result, genre: analysed.genre, transcription });
    state.analysisId = saved.analysisId;
    await db.linkMusicAnalysis({ ...ref, analysisId: saved.analysisId, durationMs: analysed.result.durationMs });
    await enter('done', 'done');
    return state;
  } catch (err) {
    if (isCancellation(err)) throw err;
    const error = describe(err);
    await enter('failed', 'failed', error);
    throw ApplicationFailure.nonRetryable(error.message, error.code);
  }
}

function describe(err: unknown): { code: string; message: string } {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  if (cause instanceof ApplicationFailure && cause.type) return { code: cause.type, message: cause.message };
  return { code: 'PROCESSING_ERROR', message: cause instanceof Error ? cause.message : 'The analysis failed' };
}
