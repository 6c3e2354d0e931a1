/**
 * Beat tracking by dynamic programming (Ellis 2007, as librosa.beat.beat_track) and downbeats.
 *
 * - Local score: the onset envelope plus its low-frequency part (LOW_BAND_WEIGHT), divided by its
 *   standard deviation, convolved with a Gaussian of σ = period / 32 (±1 period).
 * - DP: cumulative[t] = local[t] + max over the previous beat p in [t − 2P, t − P/2] of
 *   cumulative[p] − tightness · log((t − p) / P)², P the local beat period at t (from the tempo
 *   path, so a tempo change is followed), tightness 100 (librosa's default).
 * - The last beat is the last local maximum of the cumulative score above half the median of
 *   those maxima; beats are read back through the back-links, then weak beats at the start and the
 *   end (local score below half the RMS of the beats' smoothed score) are trimmed.
 * - Each beat is placed to a fraction of a frame by a parabola through the local score.
 *
 * Downbeats: for 4 and 3 beats per bar, every bar phase is scored by the mean accent of its beats
 * minus the mean accent of the other beats. A beat's accent: its low-frequency flux (kick drums,
 * bass notes), half its full-band flux, and the harmonic change into it (chords change on bar
 * lines), each relative to its mean over the track. 3/4 is chosen only when its best phase stands
 * out clearly more (×1.5) than 4/4's.
 */
import type { OnsetEnvelope } from './onset.ts';

export const TIGHTNESS = 100;
/**
 * The low-frequency flux added to the onset envelope the tracker follows (scaled to its mean):
 * kick drums and bass notes fall on beats far more often than guitars and hi-hats, which keeps
 * the tracker off the off-beats of syncopated sections. On the bench's real songs, weight 1 moves
 * one song from the off-beat to the beat (F against its chart 0.51 → 0.98) and changes no other;
 * weight 2 sends another to the off-beat.
 */
export const LOW_BAND_WEIGHT = 1;

export interface BeatTrackOptions {
  tightness?: number;
  /** Trim weak leading and trailing beats. Default true. */
  trim?: boolean;
  /** Weight of the low-frequency flux added to the onset envelope (scaled to the same mean). */
  lowWeight?: number;
}

/** values + w · low · (mean(values) / mean(low)). */
function withLowBand(env: OnsetEnvelope, weight: number): Float32Array {
  const n = env.values.length;
  let sv = 0;
  let sl = 0;
  for (let i = 0; i < n; i++) {
    sv += env.values[i];
    sl += env.low[i];
  }
  const scale = sl > 0 ? (weight * sv) / sl : 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = env.values[i] + scale * env.low[i];
  return out;
}

/** Beat positions in (fractional) frames. */
export function trackBeats(env: OnsetEnvelope, localPeriods: Float64Array, options: BeatTrackOptions = {}): number[] {
  const tightness = options.tightness ?? TIGHTNESS;
  const n = env.values.length;
  const lowWeight = options.lowWeight ?? LOW_BAND_WEIGHT;
  const onset = lowWeight > 0 ? withLowBand(env, lowWeight) : env.values;
  if (n === 0 || localPeriods.length !== n) return [];
  // Normalize by the standard deviation (ddof 1).
  let mean = 0;
  for (let i = 0; i < n; i++) mean += onset[i];
  mean /= n;
  let variance = 0;
  for (let i = 0; i < n; i++) variance += (onset[i] - mean) ** 2;
  const std = Math.sqrt(variance / Math.max(1, n - 1));
  if (!(std > 0)) return [];
  // Local score with the median period's Gaussian.
  const sortedPeriods = Float64Array.from(localPeriods).sort();
  const period0 = sortedPeriods[Math.floor(n / 2)];
  const radius = Math.max(1, Math.round(period0));
  const kernel = new Float64Array(2 * radius + 1);
  const sigma = period0 / 32;
  for (let i = -radius; i <= radius; i++) kernel[i + radius] = Math.exp(-0.5 * (i / sigma) ** 2);
  const local = new Float64Array(n);
  for (let t = 0; t < n; t++) {
    let sum = 0;
    const lo = Math.max(0, t - radius);
    const hi = Math.min(n - 1, t + radius);
    for (let s = lo; s <= hi; s++) sum += kernel[s - t + radius] * onset[s];
    local[t] = sum / std;
  }
  let localMax = 0;
  for (let t = 0; t < n; t++) if (local[t] > localMax) localMax = local[t];

  const cumulative = new Float64Array(n);
  const backlink = new Int32Array(n).fill(-1);
  let firstBeat = true;
  for (let t = 0; t < n; t++) {
    const P = localPeriods[t];
    const from = t - Math.round(2 * P);
    const to = t - Math.round(P / 2);
    let best = -Infinity;
    let arg = -1;
    for (let p = Math.max(0, from); p <= to; p++) {
      const r = Math.log((t - p) / P);
      const s = cumulative[p] - tightness * r * r;
      if (s > best) {
        best = s;
        arg = p;
      }
    }
    // Before the first full window (librosa pads with zero scores): the transition alone.
    if (from < 0 && to >= 0) {
      // A beat at t may be the first one: compare with starting fresh.
      if (best < 0) {
        best = 0;
        arg = -1;
      }
    }
    if (arg < 0 || !Number.isFinite(best)) best = 0;
    cumulative[t] = local[t] + best;
    if (firstBeat && local[t] < 0.01 * localMax) {
      backlink[t] = -1;
    } else {
      backlink[t] = arg;
      firstBeat = false;
    }
  }

  // The last beat: the last local maximum above half the median of the local maxima.
  const maxima: number[] = [];
  for (let t = 1; t < n - 1; t++) {
    if (cumulative[t] > cumulative[t - 1] && cumulative[t] >= cumulative[t + 1]) maxima.push(t);
  }
  if (maxima.length === 0) return [];
  const values = maxima.map((t) => cumulative[t]).sort((a, b) => a - b);
  const medianScore = values[Math.floor(values.length / 2)];
  let last = maxima[maxima.length - 1];
  for (let i = maxima.length - 1; i >= 0; i--) {
    if (cumulative[maxima[i]] > 0.5 * medianScore) {
      last = maxima[i];
      break;
    }
  }
  const beats: number[] = [];
  for (let t = last; t >= 0; t = backlink[t]) {
    beats.push(t);
    if (backlink[t] >= t) break;
  }
  beats.reverse();

  let kept = beats;
  if (options.trim ?? true) kept = trimWeakBeats(local, beats);
  // Sub-frame placement: vertex of the parabola through the local score around each beat.
  return kept.map((t) => {
    if (t <= 0 || t >= n - 1) return t;
    const a = local[t - 1], b = local[t], c = local[t + 1];
    const denom = a - 2 * b + c;
    if (!(denom < 0)) return t;
    return t + Math.max(-0.5, Math.min(0.5, (0.5 * (a - c)) / denom));
  });
}

/** librosa __trim_beats: drops leading/trailing beats whose smoothed local score is below half its RMS. */
function trimWeakBeats(local: Float64Array, beats: number[]): number[] {
  if (beats.length < 3) return beats;
  const raw = beats.map((t) => local[t]);
  // Hann window of 5 (scipy hann(5, sym=True) = [0, .5, 1, .5, 0]) → effectively [.5, 1, .5].
  const smoothed = raw.map((_, i) => 0.5 * (raw[i - 1] ?? 0) + raw[i] + 0.5 * (raw[i + 1] ?? 0));
  const rms = Math.sqrt(smoothed.reduce((s, v) => s + v * v, 0) / smoothed.length);
  const threshold = 0.5 * rms;
  let start = 0;
  while (start < beats.length && smoothed[start] <= threshold) start++;
  let end = beats.length - 1;
  while (end >= start && smoothed[end] <= threshold) end--;
  return beats.slice(start, end + 1);
}

export interface Downbeats {
  beatsPerBar: 3 | 4;
  /** Index in `beats` of the first downbeat (0 … beatsPerBar − 1). */
  phase: number;
  /** Downbeat positions (same unit as the beats given). */
  downbeats: number[];
  /** How much the chosen phase's accent stands out (≥ 0; 0 means no evidence). */
  strength: number;
}

/** The largest value of a within ±1 of a fractional position. */
function peakNear(a: Float32Array, position: number): number {
  const c = Math.round(position);
  let best = 0;
  for (let t = c - 1; t <= c + 1; t++) if (t >= 0 && t < a.length && a[t] > best) best = a[t];
  return best;
}

/**
 * Harmonic change at each beat on the scale of a bar: the cosine distance between the average mel
 * amplitude spectrum (bands between 60 Hz and 4 kHz) of the `beatsPerBar` beats that start there
 * and of the `beatsPerBar` beats before. Averaging over a bar hides the melody's note-to-note
 * changes; chords change on bar lines, so the difference peaks at downbeats.
 */
export function harmonicChange(env: OnsetEnvelope, beatFrames: readonly number[], beatsPerBar: number): number[] {
  const { logMel, nMels } = env;
  const frames = env.values.length;
  const count = beatFrames.length;
  // Band range from the Slaney mel scale (the filterbank's edges are evenly spaced in mel).
  const melOf = (hz: number) => (hz < 1000 ? hz / (200 / 3) : 15 + Math.log(hz / 1000) / (Math.log(6.4) / 27));
  const top = melOf(env.sampleRate / 2);
  const lo = Math.max(0, Math.floor((melOf(60) / top) * (nMels + 1)) - 1);
  const hi = Math.min(nMels, Math.ceil((melOf(4000) / top) * (nMels + 1)));
  const width = Math.max(1, hi - lo);
  // Per beat: the sum of each band over the beat's frames, and the frame count.
  const sums = new Float64Array(count * width);
  const counts = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    const from = Math.max(0, Math.round(beatFrames[i]));
    const to = Math.min(frames, i + 1 < count ? Math.round(beatFrames[i + 1]) : from + 1);
    for (let t = from; t < to; t++) {
      const row = t * nMels + lo;
      // Band amplitude (√power) from the dB values: the loud, harmonic content weighs most.
      for (let m = 0; m < width; m++) sums[i * width + m] += Math.pow(10, logMel[row + m] / 20);
    }
    counts[i] = Math.max(0, to - from);
  }
  const after = new Float64Array(width);
  const before = new Float64Array(width);
  const mean = (out: Float64Array, from: number, to: number): boolean => {
    out.fill(0);
    let n = 0;
    for (let i = from; i < to; i++) {
      for (let m = 0; m < width; m++) out[m] += sums[i * width + m];
      n += counts[i];
    }
    if (n === 0) return false;
    for (let m = 0; m < width; m++) out[m] /= n;
    return true;
  };
  const change: number[] = [];
  for (let i = 0; i < count; i++) {
    if (i < beatsPerBar || i + beatsPerBar > count || !mean(after, i, i + beatsPerBar) || !mean(before, i - beatsPerBar, i)) {
      change.push(NaN);
      continue;
    }
    // Cosine distance between the two bars' average spectra.
    let dot = 0, na = 0, nb = 0;
    for (let m = 0; m < width; m++) {
      dot += after[m] * before[m];
      na += after[m] * after[m];
      nb += before[m] * before[m];
    }
    change.push(na > 0 && nb > 0 ? 1 - dot / Math.sqrt(na * nb) : 0);
  }
  return change;
}

/** Downbeats among `beatFrames` (see the module comment). */
export function estimateDownbeats(env: OnsetEnvelope, beatFrames: readonly number[]): Downbeats {
  const count = beatFrames.length;
  if (count < 4) return { beatsPerBar: 4, phase: 0, downbeats: count > 0 ? [beatFrames[0]] : [], strength: 0 };
  const meanOf = (a: number[]) => a.reduce((s, v) => s + v, 0) / Math.max(1, a.length);
  const unit = (a: number[]) => {
    const m = meanOf(a);
    return m > 0 ? a.map((v) => v / m) : a.map(() => 0);
  };
  const low = unit(beatFrames.map((f) => peakNear(env.low, f)));
  const full = unit(beatFrames.map((f) => peakNear(env.values, f)));
  const best = (meter: 3 | 4) => {
    const rawChange = harmonicChange(env, beatFrames, meter);
    const known = rawChange.filter((v) => Number.isFinite(v));
    const typical = meanOf(known);
    const change = rawChange.map((v) => (Number.isFinite(v) && typical > 0 ? v / typical : 1));
    const accent = beatFrames.map((_, i) => 0.5 * low[i] + 0.25 * full[i] + change[i]);
    let spread = 0;
    const mean = meanOf(accent);
    for (const a of accent) spread += (a - mean) ** 2;
    spread = Math.sqrt(spread / count) || 1;
    let phase = 0;
    let score = -Infinity;
    for (let p = 0; p < meter; p++) {
      let inSum = 0, inCount = 0, outSum = 0, outCount = 0;
      for (let i = 0; i < count; i++) {
        if (((i - p) % meter + meter) % meter === 0) {
          inSum += accent[i];
          inCount++;
        } else {
          outSum += accent[i];
          outCount++;
        }
      }
      const s = (inSum / Math.max(1, inCount) - outSum / Math.max(1, outCount)) / spread;
      if (s > score) {
        score = s;
        phase = p;
      }
    }
    return { phase, score };
  };
  const four = best(4);
  const three = best(3);
  const useThree = three.score > 0 && three.score > 1.5 * Math.max(0, four.score);
  const chosen = useThree ? three : four;
  const meter: 3 | 4 = useThree ? 3 : 4;
  const downbeats: number[] = [];
  for (let i = chosen.phase; i < count; i += meter) downbeats.push(beatFrames[i]);
  return { beatsPerBar: meter, phase: chosen.phase, downbeats, strength: Math.max(0, chosen.score) };
}

export interface PulseRatios {
  /** Median onset strength half-way between consecutive beats ÷ median strength on the beats. */
  mid: number;
  /** Weaker ÷ stronger of the median strengths of even and odd beats. */
  alternate: number;
}

function median(values: number[]): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const m = sorted.length >> 1;
  return sorted.length % 2 ? sorted[m] : 0.5 * (sorted[m - 1] + sorted[m]);
}

/**
 * What the pulses around the tracked beats say about the metrical level: `mid` near 1 means
 * onsets half-way between the beats are as strong as the beats (the beat is probably twice as
 * fast); `alternate` near 0 means every other beat is weak (the beat is probably half as fast).
 */
export function pulseRatios(env: OnsetEnvelope, beatFrames: readonly number[]): PulseRatios {
  if (beatFrames.length < 8) return { mid: 0, alternate: 1 };
  const on = beatFrames.map((f) => peakNear(env.values, f));
  const mids: number[] = [];
  for (let i = 0; i + 1 < beatFrames.length; i++) mids.push(peakNear(env.values, (beatFrames[i] + beatFrames[i + 1]) / 2));
  const onMedian = median(on);
  const even = median(on.filter((_, i) => i % 2 === 0));
  const odd = median(on.filter((_, i) => i % 2 === 1));
  return {
    mid: onMedian > 0 ? median(mids) / onMedian : 0,
    alternate: Math.max(even, odd) > 0 ? Math.min(even, odd) / Math.max(even, odd) : 1,
  };
}
