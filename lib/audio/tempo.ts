/**
 * Tempo from the onset envelope: autocorrelation weighted by a log-normal prior on the tempo,
 * a metrical-level check, and a local tempo path for music whose tempo changes.
 *
 * 1. The envelope is smoothed (Gaussian, σ = 1 frame, so that a period between two integer lags
 *    does not split its peak) and its 1.5 s moving average removed; its autocorrelation over the
 *    whole track (unbiased, normalized to 1 at lag 0) is the periodicity function.
 * 2. Global tempo: the lag that maximizes autocorrelation × prior, the prior being log-normal
 *    around 120 BPM with a standard deviation of one octave (librosa's `start_bpm`, `std_bpm`),
 *    over 30–300 BPM. The period is then refined to a fraction of a frame by maximizing the
 *    autocorrelation summed over its first multiples (up to 6 s), which pins the tempo to well
 *    under 1 %.
 * 3. Metrical level: an isochronous pulse (a metronome) correlates as well at 2 periods as at
 *    one, so the prior alone would report 90 for 180. `rescaleTempo` moves the estimate to
 *    another level; rhythm.ts decides from the tracked beats (beats.ts `pulseRatios`).
 * 4. Local tempo: autocorrelations of 8 s windows every second, scored on a log-period grid
 *    (1 % steps, ±0.8 octave around the global period), and a Viterbi path through them that pays
 *    for every change of period (squared log-ratio): it follows a real tempo change within a few
 *    seconds and ignores window-to-window jitter. The beat tracker follows this path.
 */
import type { OnsetEnvelope } from './onset.ts';

export const MIN_BPM = 30;
export const MAX_BPM = 300;
/** The fastest tempo the metrical-level check promotes to. */
export const MAX_BEAT_BPM = 200;
/** The slowest tempo the metrical-level check demotes to. */
export const MIN_BEAT_BPM = 50;
export const PRIOR_BPM = 120;
export const PRIOR_OCTAVES = 1;

/** Log-normal tempo prior (1 at `centerBpm`): exp(−½ (log2(bpm / center) / σ)²). */
export function tempoPrior(bpm: number, centerBpm = PRIOR_BPM, sigmaOctaves = PRIOR_OCTAVES): number {
  const z = Math.log2(bpm / centerBpm) / sigmaOctaves;
  return Math.exp(-0.5 * z * z);
}

/** Gaussian smoothing (σ in frames, kernel ±3σ), edges renormalized. */
export function smooth(values: ArrayLike<number>, sigma: number): Float64Array {
  const n = values.length;
  const out = new Float64Array(n);
  const radius = Math.max(1, Math.ceil(3 * sigma));
  const kernel = new Float64Array(2 * radius + 1);
  for (let i = -radius; i <= radius; i++) kernel[i + radius] = Math.exp(-0.5 * (i / sigma) ** 2);
  for (let t = 0; t < n; t++) {
    let sum = 0;
    let norm = 0;
    const lo = Math.max(0, t - radius);
    const hi = Math.min(n - 1, t + radius);
    for (let s = lo; s <= hi; s++) {
      const w = kernel[s - t + radius];
      sum += w * values[s];
      norm += w;
    }
    out[t] = sum / norm;
  }
  return out;
}

/** `values` minus its centred moving average over `width` frames (prefix sums, edges shrink). */
export function removeMovingAverage(values: Float64Array, width: number): Float64Array {
  const n = values.length;
  const prefix = new Float64Array(n + 1);
  for (let i = 0; i < n; i++) prefix[i + 1] = prefix[i] + values[i];
  const half = Math.max(1, Math.floor(width / 2));
  const out = new Float64Array(n);
  for (let t = 0; t < n; t++) {
    const lo = Math.max(0, t - half);
    const hi = Math.min(n, t + half + 1);
    out[t] = values[t] - (prefix[hi] - prefix[lo]) / (hi - lo);
  }
  return out;
}

/**
 * Unbiased autocorrelation of x[from … to) for lags 0 … maxLag, normalized to 1 at lag 0 (all 0
 * when the segment has no energy). Lags past the segment are 0.
 */
export function autocorrelation(x: Float64Array, maxLag: number, from = 0, to = x.length, out?: Float64Array): Float64Array {
  const result = out ?? new Float64Array(maxLag + 1);
  const n = to - from;
  let zero = 0;
  for (let t = from; t < to; t++) zero += x[t] * x[t];
  zero /= Math.max(1, n);
  for (let lag = 0; lag <= maxLag; lag++) {
    if (lag >= n || zero <= 0) {
      result[lag] = 0;
      continue;
    }
    let sum = 0;
    for (let t = from, e = to - lag; t < e; t++) sum += x[t] * x[t + lag];
    result[lag] = sum / (n - lag) / zero;
  }
  return result;
}

/** Linear interpolation of a at a fractional index (0 outside). */
export function interpolate(a: ArrayLike<number>, index: number): number {
  if (index < 0 || index > a.length - 1) return 0;
  const i = Math.floor(index);
  const f = index - i;
  return f === 0 ? a[i] : a[i] * (1 - f) + a[i + 1] * f;
}

export interface TempoOptions {
  minBpm?: number;
  maxBpm?: number;
  priorBpm?: number;
  priorOctaves?: number;
}

export interface TempoEstimate {
  /** The global (dominant) tempo; null when there is no usable pulse. */
  bpm: number | null;
  /** Global beat period in frames (fractional); NaN when bpm is null. */
  periodFrames: number;
  /** Beat period per frame (fractional frames) along the local tempo path. */
  localPeriods: Float64Array;
  /** Whether the local path moves away from the global period (a tempo change). */
  tempoVaries: boolean;
  /** Normalized autocorrelation at the beat period (0–1): how periodic the onsets are. */
  pulseClarity: number;
  /** 0–1: pulse clarity and how much the chosen period stands out from the other candidates. */
  confidence: number;
  reason: string | null;
  /** The periodicity signal and its autocorrelation (for rescaleTempo). */
  signal?: Float64Array;
  autocorrelation?: Float64Array;
  lagRange?: [number, number];
}

/** The prepared envelope the periodicity functions use: smoothed, slow trend removed. */
export function periodicitySignal(env: OnsetEnvelope): Float64Array {
  const smoothed = smooth(env.values, 1);
  return removeMovingAverage(smoothed, Math.round(1.5 * env.frameRate));
}

/** Σ_k w_k·a(kP) over the multiples of P up to maxLag (w_k = 1/√k). */
function combScore(ac: Float64Array, period: number, maxLag: number): number {
  let sum = 0;
  let norm = 0;
  for (let k = 1; k * period <= maxLag; k++) {
    const w = 1 / Math.sqrt(k);
    sum += w * interpolate(ac, k * period);
    norm += w;
  }
  return norm > 0 ? sum / norm : 0;
}

/** The period near `period` (±window, relative) that maximizes combScore, to 0.05 % steps. */
function refinePeriod(ac: Float64Array, period: number, maxLag: number, window = 0.04): number {
  let best = period;
  let bestScore = -Infinity;
  for (let r = -window; r <= window + 1e-9; r += 0.0005) {
    const p = period * (1 + r);
    const s = combScore(ac, p, maxLag);
    if (s > bestScore) {
      bestScore = s;
      best = p;
    }
  }
  return best;
}

/** The lag of the largest local maximum of ac·prior in [lo, hi], parabolic-refined; NaN if none. */
function bestPeak(ac: Float64Array, lo: number, hi: number, weight: (lag: number) => number): { lag: number; score: number } {
  let bestLag = NaN;
  let bestScore = -Infinity;
  for (let L = Math.max(1, Math.ceil(lo)); L <= Math.min(ac.length - 2, Math.floor(hi)); L++) {
    if (ac[L] >= ac[L - 1] && ac[L] >= ac[L + 1] && ac[L] > 0) {
      const denom = ac[L - 1] - 2 * ac[L] + ac[L + 1];
      const shift = denom < 0 ? Math.max(-0.5, Math.min(0.5, (0.5 * (ac[L - 1] - ac[L + 1])) / denom)) : 0;
      const lag = L + shift;
      const score = interpolate(ac, lag) * weight(lag);
      if (score > bestScore) {
        bestScore = score;
        bestLag = lag;
      }
    }
  }
  return { lag: bestLag, score: bestScore };
}

/** Local tempo path (see the module comment); returns one period per frame. */
function localTempoPath(x: Float64Array, frameRate: number, globalPeriod: number): { periods: Float64Array; varies: boolean } {
  const n = x.length;
  const periods = new Float64Array(n).fill(globalPeriod);
  const win = Math.round(8 * frameRate);
  const step = Math.round(frameRate);
  if (n < win + step) return { periods, varies: false };
  const octaves = 0.8;
  const binStep = Math.log2(1.01);
  const halfBins = Math.round(octaves / binStep);
  const nBins = 2 * halfBins + 1;
  const binPeriod = new Float64Array(nBins);
  for (let b = 0; b < nBins; b++) binPeriod[b] = globalPeriod * 2 ** ((b - halfBins) * binStep);
  const maxLag = Math.min(win - 1, Math.ceil(binPeriod[nBins - 1] * 2) + 1);
  const starts: number[] = [];
  for (let s = 0; s + win <= n; s += step) starts.push(s);
  const nWin = starts.length;
  const emission = new Float64Array(nWin * nBins);
  const ac = new Float64Array(maxLag + 1);
  for (let w = 0; w < nWin; w++) {
    autocorrelation(x, maxLag, starts[w], starts[w] + win, ac);
    let max = -Infinity;
    for (let b = 0; b < nBins; b++) {
      const p = binPeriod[b];
      // The period and its double both support a beat period (a bar-level correlation helps).
      const v = interpolate(ac, p) + 0.5 * interpolate(ac, 2 * p);
      emission[w * nBins + b] = v;
      if (v > max) max = v;
    }
    if (max > 0) for (let b = 0; b < nBins; b++) emission[w * nBins + b] /= max;
    // Keep near the global period unless the evidence is clear: prior σ = 0.4 octave.
    for (let b = 0; b < nBins; b++) {
      const z = ((b - halfBins) * binStep) / 0.4;
      emission[w * nBins + b] -= 0.5 * 0.25 * z * z;
    }
  }
  // Viterbi with a squared log-ratio transition cost; moves of at most ±12 bins per second.
  const maxMove = 12;
  const gamma = 20;
  const moveCost = new Float64Array(maxMove + 1);
  for (let d = 0; d <= maxMove; d++) moveCost[d] = gamma * (d * binStep) ** 2;
  let score = new Float64Array(nBins);
  let next = new Float64Array(nBins);
  const back = new Int16Array(nWin * nBins);
  for (let b = 0; b < nBins; b++) score[b] = emission[b];
  for (let w = 1; w < nWin; w++) {
    for (let b = 0; b < nBins; b++) {
      let best = -Infinity;
      let arg = b;
      for (let d = -maxMove; d <= maxMove; d++) {
        const pb = b + d;
        if (pb < 0 || pb >= nBins) continue;
        const s = score[pb] - moveCost[d < 0 ? -d : d];
        if (s > best) {
          best = s;
          arg = pb;
        }
      }
      next[b] = best + emission[w * nBins + b];
      back[w * nBins + b] = arg;
    }
    [score, next] = [next, score];
  }
  const path = new Int32Array(nWin);
  let last = 0;
  for (let b = 1; b < nBins; b++) if (score[b] > score[last]) last = b;
  path[nWin - 1] = last;
  for (let w = nWin - 1; w > 0; w--) path[w - 1] = back[w * nBins + path[w]];
  // Does the path leave the global period (beyond ±4 %) for more than 8 s in a row?
  let run = 0;
  let longest = 0;
  for (let w = 0; w < nWin; w++) {
    const off = Math.abs(binPeriod[path[w]] / globalPeriod - 1) > 0.04;
    run = off ? run + 1 : 0;
    longest = Math.max(longest, run);
  }
  const varies = longest * step >= 8 * frameRate;
  if (!varies) return { periods, varies };
  // Window centres → per-frame periods, linear in between.
  const centre = (w: number) => starts[w] + win / 2;
  for (let t = 0; t < n; t++) {
    if (t <= centre(0)) periods[t] = binPeriod[path[0]];
    else if (t >= centre(nWin - 1)) periods[t] = binPeriod[path[nWin - 1]];
    else {
      const w = Math.min(nWin - 2, Math.floor((t - centre(0)) / step));
      const f = (t - centre(w)) / step;
      periods[t] = binPeriod[path[w]] * (1 - f) + binPeriod[path[w + 1]] * f;
    }
  }
  return { periods, varies };
}

/** Estimates the tempo of an onset envelope (see the module comment). */
export function estimateTempo(env: OnsetEnvelope, options: TempoOptions = {}): TempoEstimate {
  const minBpm = options.minBpm ?? MIN_BPM;
  const maxBpm = options.maxBpm ?? MAX_BPM;
  const priorBpm = options.priorBpm ?? PRIOR_BPM;
  const priorOctaves = options.priorOctaves ?? PRIOR_OCTAVES;
  const fr = env.frameRate;
  const n = env.values.length;
  const none = (reason: string, clarity = 0): TempoEstimate => ({
    bpm: null, periodFrames: NaN, localPeriods: new Float64Array(0), tempoVaries: false, pulseClarity: clarity, confidence: 0, reason,
  });
  const minLag = (60 * fr) / maxBpm;
  const maxLag = (60 * fr) / minBpm;
  if (n < maxLag * 3) return none('no pulse: the audio is too short to measure a tempo');
  const x = periodicitySignal(env);
  const acMax = Math.min(n - 1, Math.ceil(Math.max(6 * fr, 3 * maxLag)));
  const ac = autocorrelation(x, acMax);
  if (ac[0] === 0 && x.every((v) => v === 0)) return none('no pulse: no onsets');

  const bpmOf = (lag: number) => (60 * fr) / lag;
  const peak = bestPeak(ac, minLag, maxLag, (lag) => tempoPrior(bpmOf(lag), priorBpm, priorOctaves));
  if (!Number.isFinite(peak.lag)) return none('no pulse: the onsets are not periodic');
  const period = refinePeriod(ac, peak.lag, acMax);

  return tempoAt(x, ac, fr, period, minLag, maxLag);
}

/** The estimate for a given global period: clarity, confidence, local path, dominant tempo. */
function tempoAt(x: Float64Array, ac: Float64Array, fr: number, period: number, minLag: number, maxLag: number): TempoEstimate {
  const acMax = ac.length - 1;
  const bpmOf = (lag: number) => (60 * fr) / lag;
  const clarity = Math.max(0, Math.min(1, Math.max(interpolate(ac, period), combScore(ac, period, acMax))));
  // How much the chosen period stands out: its correlation against the median over the range.
  const scores: number[] = [];
  for (let L = Math.ceil(minLag); L <= Math.floor(maxLag); L++) scores.push(ac[L]);
  scores.sort((a, b) => a - b);
  const median = scores[Math.floor(scores.length / 2)] ?? 0;
  const at = interpolate(ac, period);
  const salience = at > median ? (at - median) / (1 - median) : 0;
  const confidence = Math.max(0, Math.min(1, Math.sqrt(Math.max(0, salience) * clarity)));

  const local = localTempoPath(x, fr, period);
  let bpm = bpmOf(period);
  if (local.varies) {
    // The dominant tempo: the median of the local path (time-weighted), refined near it.
    const sorted = Float64Array.from(local.periods).sort();
    const mid = sorted[Math.floor(sorted.length / 2)];
    bpm = bpmOf(refinePeriod(ac, mid, Math.min(acMax, 4 * mid), 0.03));
  }
  return {
    bpm, periodFrames: period, localPeriods: local.periods, tempoVaries: local.varies, pulseClarity: clarity, confidence, reason: null,
    signal: x, autocorrelation: ac, lagRange: [minLag, maxLag],
  };
}

/**
 * The same estimate at another metrical level: the global period × `factor` (2: half the tempo,
 * 0.5: double), refined again, with its own clarity, confidence and local path.
 */
export function rescaleTempo(estimate: TempoEstimate, factor: number, frameRate: number): TempoEstimate {
  if (estimate.bpm === null || !estimate.signal || !estimate.autocorrelation) return estimate;
  const ac = estimate.autocorrelation;
  const target = estimate.periodFrames * factor;
  const period = target < ac.length - 1 ? refinePeriod(ac, target, ac.length - 1, 0.02) : target;
  const [minLag, maxLag] = estimate.lagRange ?? [period / 2, period * 2];
  return tempoAt(estimate.signal, ac, frameRate, period, Math.min(minLag, period), Math.max(maxLag, period));
}
