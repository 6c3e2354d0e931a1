/**
 * Genres: the declared one is free text, normalized; the inferred one is the nearest profile
 * (per-feature mean and variance over embeddings, `global_genre_profiles`) by a softmax over
 * negative variance-scaled squared distances. Pure and deterministic.
 */
import type { GenreGuess, GenreProfile } from './analysis.ts';

export const GENRE_MAX_LENGTH = 64;

/**
 * A declared genre as stored: NFC, trimmed, lower-case (accents kept: "Forró" → "forró"), runs of
 * whitespace and control characters → one space, at most 64 characters (code points, never a
 * split surrogate pair). Any text is accepted; null when nothing is left (empty or blank).
 */
export function normalizeGenre(text: string | null | undefined): string | null {
  if (text == null) return null;
  const s = text
    .normalize('NFC')
    .toLowerCase()
    .normalize('NFC')
    // eslint-disable-next-line no-control-regex
    .replace(/[\s\u0000-\u001f\u007f-\u009f]+/gu, ' ')
    .trim();
  const clipped = Array.from(s).slice(0, GENRE_MAX_LENGTH).join('').trim();
  return clipped.length > 0 ? clipped : null;
}

/**
 * Shrinkage of each profile's variance towards the variance pooled over all profiles, in
 * pseudo-observations: a profile built from a handful of tracks cannot claim a near-zero
 * variance on some dimension and let that dimension dominate every distance.
 */
export const VARIANCE_PRIOR_WEIGHT = 4;
/** Absolute floor on a (shrunk) variance. */
export const VARIANCE_FLOOR = 1e-4;
/**
 * Softmax temperature, per dimension: scores are softmax(−d² / (2 · T · D)) where d² is the
 * variance-scaled squared distance and D the dimension count, so that the scores' sharpness does
 * not depend on how many features the embedding has. With T = 0.5 the logit is minus the mean
 * squared z-distance per dimension. On the held-out reference tracks that is ~1–2 to their own
 * genre and ≥ 4 to the next: a clear track scores ≥ 0.9, one halfway between two genres ~0.5.
 */
export const SOFTMAX_TEMPERATURE = 0.5;

/**
 * The genre of the nearest profile. Profiles whose dimension differs from the vector's, or built
 * from no sample, are ignored; with none left, `inferred` and `score` are null and the ranking
 * empty. The ranking lists every usable profile, best first (ties by genre name).
 */
export function inferGenre(vector: readonly number[], profiles: readonly GenreProfile[]): GenreGuess {
  const dims = vector.length;
  const usable = profiles.filter((p) => p.sampleCount > 0 && p.mean.length === dims && p.variance.length === dims);
  if (usable.length === 0 || dims === 0) return { inferred: null, score: null, ranking: [] };

  const pooled = new Float64Array(dims);
  for (const p of usable) for (let i = 0; i < dims; i++) pooled[i] += finite(p.variance[i]) / usable.length;

  const logits = usable.map((p) => {
    let d2 = 0;
    for (let i = 0; i < dims; i++) {
      const v = Math.max(
        VARIANCE_FLOOR,
        (p.sampleCount * finite(p.variance[i]) + VARIANCE_PRIOR_WEIGHT * pooled[i]) / (p.sampleCount + VARIANCE_PRIOR_WEIGHT),
      );
      const diff = finite(vector[i]) - finite(p.mean[i]);
      d2 += (diff * diff) / v;
    }
    return -d2 / (2 * SOFTMAX_TEMPERATURE * dims);
  });
  const max = Math.max(...logits);
  const exps = logits.map((l) => Math.exp(l - max));
  const total = exps.reduce((a, b) => a + b, 0);
  const ranking = usable
    .map((p, k) => ({ genre: p.genre, score: exps[k] / total }))
    .sort((a, b) => b.score - a.score || (a.genre < b.genre ? -1 : a.genre > b.genre ? 1 : 0))
    .map((r) => ({ genre: r.genre, score: round4(r.score) }));
  return { inferred: ranking[0].genre, score: ranking[0].score, ranking };
}

/** A profile with no sample yet, to be grown with updateProfile. */
export function emptyProfile(genre: string, dims: number): GenreProfile {
  return { genre, mean: new Array<number>(dims).fill(0), variance: new Array<number>(dims).fill(0), sampleCount: 0 };
}

/**
 * The profile with one more vector (Welford's running mean and variance). `variance` is the
 * population variance (M2 / n), so it is 0 after one sample. Returns a new profile; the input is
 * not modified. Throws when the dimensions differ.
 */
export function updateProfile(profile: GenreProfile, vector: readonly number[]): GenreProfile {
  const dims = profile.mean.length;
  if (vector.length !== dims || profile.variance.length !== dims) {
    throw new RangeError(`genre profile "${profile.genre}" has ${dims} dimensions, the vector ${vector.length}`);
  }
  const n = profile.sampleCount + 1;
  const mean = new Array<number>(dims);
  const variance = new Array<number>(dims);
  for (let i = 0; i < dims; i++) {
    const x = finite(vector[i]);
    const m = profile.mean[i];
    const delta = x - m;
    const m2 = m + delta / n;
    const M2 = profile.variance[i] * profile.sampleCount + delta * (x - m2);
    mean[i] = m2;
    variance[i] = Math.max(0, M2 / n);
  }
  return { genre: profile.genre, mean, variance, sampleCount: n };
}

function finite(x: number): number {
  return Number.isFinite(x) ? x : 0;
}

function round4(x: number): number {
  return Math.round(x * 1e4) / 1e4;
}
