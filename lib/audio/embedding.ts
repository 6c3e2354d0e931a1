/**
 * The audio embedding: a fixed-length vector describing timbre, harmony, dynamics and rhythm,
 * compared by distance (genre profiles, similar tracks).
 *
 * Each raw feature (summary statistics of lib/audio/features.ts, tempo and pulse clarity of the
 * rhythm analysis) is standardized with a fixed centre and scale — about the mean and the spread
 * across the genre reference set (scripts/build-genre-profiles.ts), rounded, and frozen here so
 * that the embedding never depends on which tracks were analysed — clipped to ±5 so that one
 * extreme value cannot dominate, and the vector is L2-normalized.
 *
 * Level-independent by construction: absolute level (MFCC 0, mean RMS) is left out, being the
 * mastering's choice rather than the music's; dynamics stay (RMS spread, low-energy ratio).
 * Key-independent: the mean chroma, as a distribution over the 12 pitch classes, is rotated so
 * that its strongest class comes first (its share says how tonal the track is).
 * Changing a feature, a centre or a scale changes every vector: bump ANALYZER_VERSION and rebuild
 * the reference profiles.
 */
import type { RhythmAnalysis } from './analysis.ts';
import { CHROMA_BINS, type FeatureSummary } from './features.ts';

/** MFCC coefficients 1 … 12 (0, the level, is left out). */
const MFCC_DIMS = 12;
const CLIP = 5;

interface Dimension {
  name: string;
  center: number;
  scale: number;
}

/** [name, centre, scale] of every dimension, in order. */
const DIMENSIONS: readonly Dimension[] = (
  [
    // MFCC means 1–12, then standard deviations 1–12.
    ...[
      [81, 23.5],
      [1.6, 28],
      [33, 14.4],
      [6, 10.7],
      [12.7, 11],
      [2.6, 8.5],
      [1.3, 6.5],
      [-1, 8],
      [-0.8, 4.6],
      [0.9, 5.1],
      [0.1, 4.1],
      [-0.4, 4.2],
    ].map(([c, s], i) => [`mfcc_mean_${i + 1}`, c, s] as const),
    ...[
      [30.5, 6.9],
      [23.5, 5.3],
      [16.1, 4.3],
      [13, 3.3],
      [11.9, 3],
      [10.9, 2.4],
      [10.3, 2.2],
      [10.5, 1.5],
      [9.9, 1.8],
      [9.5, 1.4],
      [9.3, 2.2],
      [9.2, 2],
    ].map(([c, s], i) => [`mfcc_std_${i + 1}`, c, s] as const),
    // Mean chroma as a distribution (sum 1), rotated: the strongest pitch class first, then the 11 above it.
    ['chroma_rel_0', 0.149, 0.025],
    ...Array.from({ length: CHROMA_BINS - 1 }, (_, i) => [`chroma_rel_${i + 1}`, 0.078, 0.027] as const),
    ['centroid_mean', 2200, 660],
    ['centroid_std', 710, 260],
    ['rolloff_mean', 4500, 1370],
    ['rolloff_std', 1470, 510],
    ['flux_mean', 0.2, 0.056],
    ['flux_std', 0.12, 0.017],
    ['zcr_mean', 0.106, 0.054],
    ['zcr_std', 0.049, 0.02],
    ['rms_db_std', 5.3, 1.3],
    ['low_energy_ratio', 0.5, 0.046],
    ['onset_mean', 1.62, 0.36],
    ['onset_std', 2.6, 0.74],
    // log2(tempo / 120 BPM); no tempo → the centre.
    ['tempo_log2', -0.2, 0.39],
    ['pulse_clarity', 0.64, 0.19],
  ] as const
).map(([name, center, scale]) => ({ name, center, scale }));

/** Names of the embedding's dimensions, in order. */
export const EMBEDDING_FEATURES: readonly string[] = Object.freeze(DIMENSIONS.map((d) => d.name));
export const EMBEDDING_LENGTH = DIMENSIONS.length;

/** The raw (unstandardized) features in EMBEDDING_FEATURES order; NaN for "no value" (no tempo). */
export function rawEmbeddingFeatures(summary: FeatureSummary, rhythm: Pick<RhythmAnalysis, 'tempoBpm' | 'pulseClarity'>): number[] {
  const out: number[] = [];
  for (let k = 1; k <= MFCC_DIMS; k++) out.push(summary.mfccMean[k] ?? 0);
  for (let k = 1; k <= MFCC_DIMS; k++) out.push(summary.mfccStd[k] ?? 0);
  let top = 0;
  let total = 0;
  for (let c = 0; c < CHROMA_BINS; c++) {
    total += summary.chromaMean[c];
    if (summary.chromaMean[c] > summary.chromaMean[top]) top = c;
  }
  for (let i = 0; i < CHROMA_BINS; i++) out.push(total > 0 ? summary.chromaMean[(top + i) % CHROMA_BINS] / total : 1 / CHROMA_BINS);
  out.push(
    summary.centroidMean,
    summary.centroidStd,
    summary.rolloffMean,
    summary.rolloffStd,
    summary.fluxMean,
    summary.fluxStd,
    summary.zcrMean,
    summary.zcrStd,
    summary.rmsDbStd,
    summary.lowEnergyRatio,
    summary.onsetMean,
    summary.onsetStd,
    rhythm.tempoBpm !== null && rhythm.tempoBpm > 0 ? Math.log2(rhythm.tempoBpm / 120) : Number.NaN,
    rhythm.pulseClarity,
  );
  return out;
}

/**
 * The embedding: raw features standardized ((x − centre) / scale, clipped to ±5; a missing value
 * → 0), then L2-normalized. Always EMBEDDING_LENGTH finite numbers of unit norm (digital silence
 * included: its features are all at their silent values, which is a point like any other).
 */
export function buildEmbedding(summary: FeatureSummary, rhythm: Pick<RhythmAnalysis, 'tempoBpm' | 'pulseClarity'>): number[] {
  return standardizeEmbedding(rawEmbeddingFeatures(summary, rhythm));
}

/** Standardization and L2 normalization of raw features (EMBEDDING_FEATURES order). */
export function standardizeEmbedding(raw: readonly number[]): number[] {
  if (raw.length !== EMBEDDING_LENGTH) throw new RangeError(`expected ${EMBEDDING_LENGTH} raw features, got ${raw.length}`);
  const z = DIMENSIONS.map((d, i) => {
    const x = raw[i];
    if (!Number.isFinite(x)) return 0;
    return Math.max(-CLIP, Math.min(CLIP, (x - d.center) / d.scale));
  });
  let sq = 0;
  for (const v of z) sq += v * v;
  const norm = Math.sqrt(sq);
  if (norm === 0) {
    // Every feature exactly at its centre: the direction is arbitrary but must be a unit vector.
    return z.map(() => 1 / Math.sqrt(EMBEDDING_LENGTH));
  }
  return z.map((v) => Math.round((v / norm) * 1e6) / 1e6);
}
