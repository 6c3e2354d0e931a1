/**
 * Hard scene cuts from the sampled small frames (lib/video/frames.ts), in pure TypeScript. The
 * parameters below are SCENE_DEFAULTS' (tuned on the test edits of test/support/edits.ts; checked
 * on real footage in bench/scenes.ts).
 *
 * 1. Content-change score of each pair of consecutive samples (0–1): the mean of
 *    - the colour change: half the L1 distance of their 72-bin HSV histograms (0 same colours,
 *      1 disjoint), blind to motion within the picture, and
 *    - the layout change: the mean absolute difference of their 4×4-pixel block means (a 16×9
 *      grid of the 64×36 picture) as a fraction of full scale, ×BLOCK_GAIN and capped at 1, which
 *      sees a cut between two shots of the same colours.
 * 2. Adaptive threshold: a pair is a candidate when its score is a local maximum (≥ both
 *    neighbours) above max(floor 0.12, median + 6 · 1.4826 · MAD) of the scores within 2 s before
 *    it or within 2 s after it, whichever is lower (see adaptiveThresholds). A busy shot (fast
 *    motion, a scrolling pattern) raises its own threshold; a static shot keeps the floor, so
 *    compression flicker never passes.
 * 3. Gradual changes are not cuts. Fades and dissolves are linear blends of pictures: when a
 *    neighbouring step is more than 1 / 1.6 of the candidate's and the three samples lie nearly on
 *    one line in pixel space (collinearity ≤ 1.25), the candidate is one step of a transition. So
 *    is a candidate across which the change keeps growing (the sample before it against the one
 *    two after it differs by more than 1.6 × its own score), and one that makes less than 55 % of
 *    the change from 3 samples before it to 2 after it along a nearly straight path (collinearity
 *    ≤ 1.3): the last test holds when sampling jitters and a dissolve's steps come out uneven.
 * 4. Flashes are not cuts: when the picture after a candidate step returns within 3 samples to
 *    what it was before it (A → B → A: a one-frame flash, a strobe, a flash frame), the step and
 *    its return are both dropped.
 * 5. Minimum shot length: of two cuts closer than 500 ms the weaker (score over threshold) goes,
 *    and so do cuts closer than that to the start or the end of the video.
 *
 * A cut is reported at the time of the first sample that shows the new shot (see frames.ts for
 * why that is within half a sample period of the true cut). Limits: a fade through black shorter
 * than ~2 samples (200 ms) is a cut to black and a cut from it; a cut between two shots of the
 * same colours and layout (the same scene from a nearby angle) may pass under the floor.
 */
import { blockMeans, histogramDistance, hsvHistogram, lumaOf } from './visual.ts';

/** The per-sample features the detector compares. */
export interface SceneFeatures {
  /** 72-bin HSV histogram (sum 1). */
  hist: Float32Array;
  /** Block means of the luma (0–255). */
  blocks: Float32Array;
}

export const BLOCK_SIZE = 4;
export const BLOCK_GAIN = 2.5;

export interface SceneOptions {
  /** Samples per second of the features. */
  fps: number;
  /** Half-width of the threshold window (s). Default 2. */
  windowS?: number;
  /** MAD multiplier. Default 6. */
  k?: number;
  /** Lowest threshold. Default 0.12. */
  floor?: number;
  /** A neighbouring step larger than score / sharpness is examined as part of a gradual change. Default 1.6. */
  sharpness?: number;
  /** …and it continues the change when the three samples are this collinear (see `collinearity`). Default 1.25. */
  collinear?: number;
  /** Largest change across a cut (sample before → two after) over the cut's own score. Default 1.6. */
  spread?: number;
  /** The window of the spread-out test: samples before and after the step. Defaults 3 and 2. */
  spanBefore?: number;
  spanAfter?: number;
  /** A step under this share of the window's change, on a path this straight, is part of a transition. Defaults 0.55 and 1.3. */
  spanShare?: number;
  spanCollinear?: number;
  /** Samples within which a picture that returns makes a flash. Default 3. */
  flashSpan?: number;
  /** The return of a flash: distance to the picture before it at most this share of the step. Default 0.4. */
  flashReturn?: number;
  /** Shortest shot (ms). Default 500. */
  minShotMs?: number;
}

export const SCENE_DEFAULTS = {
  windowS: 2,
  k: 6,
  floor: 0.12,
  sharpness: 1.6,
  collinear: 1.25,
  spread: 1.6,
  spanBefore: 3,
  spanAfter: 2,
  spanShare: 0.55,
  spanCollinear: 1.3,
  flashSpan: 3,
  flashReturn: 0.4,
  minShotMs: 500,
} as const;

export type CandidateVerdict = 'cut' | 'gradual' | 'flash' | 'short';

export interface SceneCandidate {
  /** Pair index k: the step from sample k − 1 to sample k. */
  index: number;
  timeMs: number;
  score: number;
  threshold: number;
  verdict: CandidateVerdict;
}

export interface SceneDetection {
  /** Accepted cuts (ms), ascending. */
  cutsMs: number[];
  /** scores[k]: change from sample k − 1 to k (scores[0] = 0). */
  scores: Float32Array;
  thresholds: Float32Array;
  /** Every local peak above its threshold, with what became of it. */
  candidates: SceneCandidate[];
  /** Pair indices from the step into each rejected flash to the step out of it. */
  flashPairs: number[];
}

/** The features of one sampled RGB24 picture. */
export function sceneFeatures(rgb: Uint8Array, width: number, height: number, luma?: Float32Array): SceneFeatures {
  const y = luma ?? lumaOf(rgb);
  return { hist: hsvHistogram(rgb), blocks: blockMeans(y, width, height, BLOCK_SIZE) };
}

/** Content-change score of two samples, 0–1 (see the module comment). */
export function changeScore(a: SceneFeatures, b: SceneFeatures): number {
  const colour = histogramDistance(a.hist, b.hist);
  const n = Math.min(a.blocks.length, b.blocks.length);
  let sum = 0;
  for (let i = 0; i < n; i++) sum += Math.abs(a.blocks[i] - b.blocks[i]);
  const layout = n > 0 ? Math.min(1, (BLOCK_GAIN * sum) / n / 255) : 0;
  return (colour + layout) / 2;
}

/** Euclidean distance of two block-mean vectors. */
export function blockDistance(a: Float32Array, b: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += (b[i] - a[i]) ** 2;
  return Math.sqrt(sum);
}

/**
 * How far three pictures are from lying in order on one line in pixel space (block means):
 * (|b − a| + |c − b|) / |c − a| (Euclidean), 1 when b is a blend of a and c between them, large
 * when c is back near a. Infinity when a and c are identical.
 */
export function collinearity(a: Float32Array, b: Float32Array, c: Float32Array): number {
  let ab = 0, bc = 0, ac = 0;
  for (let i = 0; i < a.length; i++) {
    ab += (b[i] - a[i]) ** 2;
    bc += (c[i] - b[i]) ** 2;
    ac += (c[i] - a[i]) ** 2;
  }
  const across = Math.sqrt(ac);
  return across > 1e-6 ? (Math.sqrt(ab) + Math.sqrt(bc)) / across : Infinity;
}

/** Median of a numeric array (0 for an empty one); does not modify it. */
export function median(values: ArrayLike<number>): number {
  const n = values.length;
  if (n === 0) return 0;
  const s = Float64Array.from(values as ArrayLike<number>).sort();
  return n % 2 ? s[n >> 1] : (s[(n >> 1) - 1] + s[n >> 1]) / 2;
}

/**
 * Per-pair thresholds: for each side of pair i, max(floor, median + k · 1.4826 · MAD) of the
 * scores from i ± 2 to i ± window (the pair and its two neighbours left out, so that a cut does
 * not raise its own threshold); the threshold is the lower of the two sides. A cut separates two
 * shots and must stand out from at least one of them: a window straddling a busy shot and a calm
 * one would otherwise get a spread that hides the cut between them. A side with fewer than 3
 * scores (the ends of the video) is ignored; with neither, the floor. Index 0 (no pair) gets +Infinity.
 */
export function adaptiveThresholds(scores: ArrayLike<number>, window: number, k: number, floor: number): Float32Array {
  const n = scores.length;
  const out = new Float32Array(n);
  const side = (from: number, to: number): number | null => {
    const buf: number[] = [];
    for (let j = Math.max(1, from); j <= Math.min(n - 1, to); j++) buf.push(scores[j]);
    if (buf.length < 3) return null;
    const m = median(buf);
    const dev = median(buf.map((v) => Math.abs(v - m)));
    return Math.max(floor, m + k * 1.4826 * dev);
  };
  for (let i = 0; i < n; i++) {
    if (i === 0) {
      out[i] = Infinity;
      continue;
    }
    const before = side(i - window, i - 2);
    const after = side(i + 2, i + window);
    out[i] = before === null ? (after ?? floor) : after === null ? before : Math.min(before, after);
  }
  return out;
}

/** Hard cuts of a sequence of sampled frames' features (see the module comment). */
export function detectCuts(frames: readonly SceneFeatures[], options: SceneOptions): SceneDetection {
  const o = { ...SCENE_DEFAULTS, ...options };
  const fps = o.fps;
  if (!Number.isFinite(fps) || fps <= 0) throw new RangeError(`fps must be positive, got ${fps}`);
  const n = frames.length;
  const scores = new Float32Array(n);
  for (let k = 1; k < n; k++) scores[k] = changeScore(frames[k - 1], frames[k]);
  const thresholds = adaptiveThresholds(scores, Math.max(2, Math.round(o.windowS * fps)), o.k, o.floor);
  const timeOf = (k: number) => Math.round((k * 1000) / fps);
  const candidates: SceneCandidate[] = [];
  const verdicts = new Map<number, CandidateVerdict>();
  const flashPairs = new Set<number>();

  const peaks: number[] = [];
  for (let k = 1; k < n; k++) {
    const s = scores[k];
    if (s <= thresholds[k]) continue;
    if (k > 1 && s < scores[k - 1]) continue;
    if (k + 1 < n && s < scores[k + 1]) continue;
    peaks.push(k);
  }
  const distance = (a: number, b: number) => changeScore(frames[a], frames[b]);

  for (const k of peaks) {
    const s = scores[k];
    // Flash: the picture before the step comes back within flashSpan samples (A → B → A), or the
    // step itself is the return of such a flash.
    let flash = false;
    for (let j = 1; j <= o.flashSpan && !flash; j++) {
      if (k + j < n && distance(k - 1, k + j) <= o.flashReturn * s) {
        flash = true;
        for (let p = k; p <= k + j; p++) flashPairs.add(p);
      } else if (k - 1 - j >= 0 && distance(k - 1 - j, k) <= o.flashReturn * s) {
        flash = true;
        for (let p = k - j; p <= k; p++) flashPairs.add(p);
      }
    }
    if (flash) {
      verdicts.set(k, 'flash');
      continue;
    }
    // Gradual: a neighbouring step nearly as large that continues the same change. Fades and
    // dissolves are linear blends of pictures, so three samples of one lie on a line in pixel
    // space; a cut followed (or preceded) by motion does not.
    let gradual = false;
    const left = k > 1 ? scores[k - 1] : 0;
    const right = k + 1 < n ? scores[k + 1] : 0;
    if (right * o.sharpness > s && collinearity(frames[k - 1].blocks, frames[k].blocks, frames[k + 1].blocks) <= o.collinear) gradual = true;
    if (left * o.sharpness > s && collinearity(frames[k - 2].blocks, frames[k - 1].blocks, frames[k].blocks) <= o.collinear) gradual = true;
    if (!gradual && k >= 2 && k + 1 < n) gradual = distance(k - 2, k + 1) > o.spread * s;
    // Over a wider window (3 samples before the step, 2 after): a transition spreads its change,
    // so this step is a small part of a nearly straight path from the first picture to the last;
    // a cut is most of it. This holds when the sampling jitters (non-reference pictures skipped,
    // variable frame rate) and the steps of a dissolve come out uneven.
    if (!gradual) {
      const a = frames[Math.max(0, k - o.spanBefore)].blocks;
      const z = frames[Math.min(n - 1, k + o.spanAfter)].blocks;
      const span = blockDistance(a, z);
      if (span > 0 && blockDistance(frames[k - 1].blocks, frames[k].blocks) < o.spanShare * span && collinearity(a, frames[k].blocks, z) <= o.spanCollinear) gradual = true;
    }
    verdicts.set(k, gradual ? 'gradual' : 'cut');
  }

  // Minimum shot length, strongest first.
  const minGap = (o.minShotMs / 1000) * fps;
  const endIndex = n; // a shot ends at the last sample's end
  const strength = (k: number) => scores[k] / Math.max(1e-6, thresholds[k]);
  const accepted: number[] = [];
  const cuts = peaks.filter((k) => verdicts.get(k) === 'cut').sort((a, b) => strength(b) - strength(a) || a - b);
  for (const k of cuts) {
    if (k < minGap || endIndex - k < minGap || accepted.some((c) => Math.abs(c - k) < minGap)) {
      verdicts.set(k, 'short');
      continue;
    }
    accepted.push(k);
  }
  accepted.sort((a, b) => a - b);
  for (const k of peaks) {
    candidates.push({ index: k, timeMs: timeOf(k), score: round4(scores[k]), threshold: round4(thresholds[k]), verdict: verdicts.get(k)! });
  }
  return { cutsMs: accepted.map(timeOf), scores, thresholds, candidates, flashPairs: [...flashPairs].sort((a, b) => a - b) };
}

function round4(v: number): number {
  return Number.isFinite(v) ? Math.round(v * 1e4) / 1e4 : v;
}
