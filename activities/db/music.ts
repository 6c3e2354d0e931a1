/**
 * The music projection, written by the analyzeMusic workflow: a track's status, the cache lookup
 * (tenant, audio SHA-256, analyzer version), the analysis with its beats and embedding, and the
 * genre profiles inference compares against. Every write is idempotent.
 */
import { randomUUID } from 'node:crypto';
import { MusicAsset, type MusicStatus } from '../../entities/index.ts';
import type { GenreGuess, GenreProfile, MusicAnalysisResult } from '../../lib/audio/analysis.ts';
import type { Orm } from '../../lib/db/orm.ts';

export interface MusicRef {
  musicId: string;
  tenantId: string;
}

export type TranscriptionOutcome =
  | { status: 'done'; language: string | null; text: string; segments: Array<{ startMs: number; endMs: number; text: string }> }
  | { status: 'unavailable' | 'failed'; reason: string };

export interface SaveMusicAnalysisInput {
  tenantId: string;
  sha256: string;
  result: MusicAnalysisResult;
  genre: GenreGuess;
  transcription: TranscriptionOutcome;
}

const toInts = (values: number[]) => `{${values.map((v) => Math.round(v)).join(',')}}`;
const toDoubles = (values: number[]) => `{${values.map((v) => (Number.isFinite(v) ? v : 0)).join(',')}}`;

export function createMusicDbActivities(deps: { orm: Orm }) {
  return {
    async recordMusicStatus(input: MusicRef & { status: MusicStatus; error?: { code: string; message: string } | null }): Promise<void> {
      await deps.orm.em.fork().nativeUpdate(MusicAsset, { id: input.musicId, tenantId: input.tenantId }, {
        status: input.status,
        ...(input.error !== undefined ? { errorCode: input.error?.code ?? null, errorMessage: input.error?.message?.slice(0, 2000) ?? null } : {}),
        updatedAt: new Date(),
      });
    },

    /** The analysis of the same audio in the tenant by this analyzer version, if there is one. */
    async findCachedMusicAnalysis(input: { tenantId: string; sha256: string; analyzerVersion: string }): Promise<{ analysisId: string; durationMs: number } | null> {
      const rows = (await deps.orm.em.getConnection().execute(
        'select id, duration_ms from music_analysis where tenant_id = ? and sha256 = ? and analyzer_version = ?',
        [input.tenantId, input.sha256, input.analyzerVersion],
      )) as Array<{ id: string; duration_ms: string | number }>;
      return rows[0] ? { analysisId: rows[0].id, durationMs: Number(rows[0].duration_ms) } : null;
    },

    async loadGenreProfiles(input: { analyzerVersion: string }): Promise<GenreProfile[]> {
      const rows = (await deps.orm.em.getConnection().execute(
        'select genre, feature_mean, feature_variance, sample_count from global_genre_profiles where analyzer_version = ? order by genre',
        [input.analyzerVersion],
      )) as Array<{ genre: string; feature_mean: number[]; feature_variance: number[]; sample_count: number }>;
      return rows.map((r) => ({ genre: r.genre, mean: r.feature_mean.map(Number), variance: r.feature_variance.map(Number), sampleCount: r.sample_count }));
    },

    /** Stores the analysis once per (tenant, sha256, version): a retried or concurrent save returns the same id. */
    async saveMusicAnalysis(input: SaveMusicAnalysisInput): Promise<{ analysisId: string }> {
      const { result } = input;
      return deps.orm.em.fork().transactional(async (tx) => {
        const connection = tx.getConnection();
        const ctx = tx.getTransactionContext();
        const features = {
          sections: result.sections,
          impacts: result.impacts,
          loudness_curve: result.loudness.momentary,
          pulse_clarity: result.rhythm.pulseClarity,
          genre: { inferred: input.genre.inferred, score: input.genre.score, ranking: input.genre.ranking.slice(0, 5) },
          transcription: input.transcription,
        };
        const inserted = (await connection.execute(
          `insert into music_analysis (id, tenant_id, sha256, analyzer_version, duration_ms, sample_rate, tempo_bpm, tempo_confidence, tempo_reason, loudness_lufs, features)
           values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
           on conflict (tenant_id, sha256, analyzer_version) do nothing
           returning id`,
          [randomUUID(), input.tenantId, input.sha256, result.analyzerVersion, result.durationMs, result.sampleRate, result.rhythm.tempoBpm,
            result.rhythm.tempoConfidence, result.rhythm.tempoReason, result.loudness.integratedLufs, JSON.stringify(features)],
          'all', ctx,
        )) as Array<{ id: string }>;
        if (!inserted[0]) {
          const existing = (await connection.execute('select id from music_analysis where tenant_id = ? and sha256 = ? and analyzer_version = ?',
            [input.tenantId, input.sha256, result.analyzerVersion], 'all', ctx)) as Array<{ id: string }>;
          return { analysisId: existing[0]!.id };
        }
        const analysisId = inserted[0].id;
        await connection.execute(
          'insert into music_beats (analysis_id, tenant_id, beats_ms, downbeats_ms, onset_peaks_ms) values (?, ?, ?::integer[], ?::integer[], ?::integer[])',
          [analysisId, input.tenantId, toInts(result.rhythm.beatsMs), toInts(result.rhythm.downbeatsMs), toInts(result.impacts.map((i) => i.timeMs))], 'run', ctx,
        );
        await connection.execute(
          'insert into music_embeddings (analysis_id, tenant_id, dimensions, embedding) values (?, ?, ?, ?::double precision[])',
          [analysisId, input.tenantId, result.embedding.length, toDoubles(result.embedding)], 'run', ctx,
        );
        return { analysisId };
      });
    },

    async linkMusicAnalysis(input: MusicRef & { analysisId: string; durationMs: number }): Promise<void> {
      await deps.orm.em.fork().nativeUpdate(MusicAsset, { id: input.musicId, tenantId: input.tenantId }, {
        analysisId: input.analysisId,
        durationMs: input.durationMs,
        updatedAt: new Date(),
      });
    },
  };
}

export type MusicDbActivities = ReturnType<typeof createMusicDbActivities>;
