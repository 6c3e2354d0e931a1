/** What the API answers about a track: its status and, once analysed, the analysis (issue 6's shape). */
import { z } from 'zod';
import { MUSIC_STATUSES, type IMusicAsset } from '../../entities/index.ts';

const Transcription = z.object({
  status: z.enum(['done', 'unavailable', 'failed']),
  language: z.string().nullable(),
  text: z.string().nullable(),
  segments: z.array(z.object({ start_ms: z.number().int(), end_ms: z.number().int(), text: z.string() })),
  reason: z.string().nullable(),
});

export const AnalysisViewSchema = z.object({
  analyzer_version: z.string(),
  tempo_bpm: z.number().nullable(),
  tempo_confidence: z.number().nullable(),
  tempo_reason: z.string().nullable(),
  beats_ms: z.array(z.number().int()),
  downbeats_ms: z.array(z.number().int()),
  impacts_ms: z.array(z.number().int()),
  loudness_lufs: z.number().nullable(),
  loudness_curve: z.object({ step_ms: z.number().int(), lufs: z.array(z.number()) }).nullable(),
  sections: z.array(z.object({ start_ms: z.number().int(), end_ms: z.number().int() })),
  genre: z.object({ declared: z.string().nullable(), inferred: z.string().nullable(), score: z.number().nullable() }),
  transcription: Transcription,
});

export const MusicViewSchema = z.object({
  music_id: z.uuid(),
  status: z.enum(MUSIC_STATUSES),
  title: z.string(),
  artist_id: z.uuid(),
  declared_genre: z.string().nullable(),
  original_filename: z.string(),
  size_bytes: z.number().int(),
  sha256: z.string(),
  duration_ms: z.number().int().nullable(),
  analysis: AnalysisViewSchema.nullable(),
  error: z.object({ code: z.string(), message: z.string() }).nullable(),
  created_at: z.iso.datetime(),
  updated_at: z.iso.datetime(),
});

/** The row of `music_analysis` joined with `music_beats`, as read by SQL. */
export interface AnalysisRow {
  analyzer_version: string;
  tempo_bpm: number | null;
  tempo_confidence: number | null;
  tempo_reason: string | null;
  loudness_lufs: number | null;
  features: {
    sections?: Array<{ startMs: number; endMs: number }>;
    loudness_curve?: { stepMs: number; lufs: number[] };
    genre?: { inferred: string | null; score: number | null };
    transcription?: { status: 'done' | 'unavailable' | 'failed'; language?: string | null; text?: string; segments?: Array<{ startMs: number; endMs: number; text: string }>; reason?: string };
  };
  beats_ms: number[] | null;
  downbeats_ms: number[] | null;
  onset_peaks_ms: number[] | null;
}

export function musicView(m: IMusicAsset, analysis: AnalysisRow | null): z.infer<typeof MusicViewSchema> {
  const f = analysis?.features;
  const t = f?.transcription;
  return {
    music_id: m.id,
    status: m.status,
    title: m.title,
    artist_id: m.artistId,
    declared_genre: m.declaredGenre ?? null,
    original_filename: m.originalFilename,
    size_bytes: m.sizeBytes,
    sha256: m.sha256,
    duration_ms: m.durationMs ?? null,
    analysis: analysis ? {
      analyzer_version: analysis.analyzer_version,
      tempo_bpm: analysis.tempo_bpm === null ? null : Number(analysis.tempo_bpm),
      tempo_confidence: analysis.tempo_confidence === null ? null : Number(analysis.tempo_confidence),
      tempo_reason: analysis.tempo_reason,
      beats_ms: (analysis.beats_ms ?? []).map(Number),
      downbeats_ms: (analysis.downbeats_ms ?? []).map(Number),
      impacts_ms: (analysis.onset_peaks_ms ?? []).map(Number),
      loudness_lufs: analysis.loudness_lufs === null ? null : Number(analysis.loudness_lufs),
      loudness_curve: f?.loudness_curve ? { step_ms: f.loudness_curve.stepMs, lufs: f.loudness_curve.lufs } : null,
      sections: (f?.sections ?? []).map((s) => ({ start_ms: s.startMs, end_ms: s.endMs })),
      genre: { declared: m.declaredGenre ?? null, inferred: f?.genre?.inferred ?? null, score: f?.genre?.score ?? null },
      transcription: {
        status: t?.status ?? 'unavailable',
        language: t?.language ?? null,
        text: t?.status === 'done' ? (t.text ?? '') : null,
        segments: (t?.segments ?? []).map((s) => ({ start_ms: s.startMs, end_ms: s.endMs, text: s.text })),
        reason: t && t.status !== 'done' ? (t.reason ?? null) : null,
      },
    } : null,
    error: m.errorCode ? { code: m.errorCode, message: m.errorMessage ?? '' } : null,
    created_at: m.createdAt.toISOString(),
    updated_at: m.updatedAt.toISOString(),
  };
}
