/**
 * Music sync (issue 7): where does the chosen track sit inside the performance's own audio?
 *
 * Both onset envelopes (lib/audio/onset.ts, or any envelope at a known frame rate) are brought to
 * the video's frame rate (linear interpolation when the rates differ), compressed (log1p: a loud
 * drum hit must not outweigh ten quieter note onsets) and detrended (a centred 1-second moving
 * average removed, so loudness changes and the noise floor do not count, only the onsets standing
 * out of them). They are then cross-correlated with one FFT, the cross-spectrum partially whitened
 * (GCC-PHAT with β = 0.8): a steady beat otherwise makes every shift by a beat or a bar correlate
 * almost as well as the true position. Lags are allowed while the two overlap over at least half
 * of the shorter envelope (and ≥ 3 s): a track longer than the video (the video holds only part of
 * it) and a track that started before the recording both give negative offsets.
 *
 * - offset: the lag of the correlation peak, refined to a fraction of a frame by a parabola through
 *   the peak and its two neighbours;
 * - confidence: the peak's z-score against the correlation at every other allowed lag (lags within
 *   ±100 ms of the peak, its own main lobe, left out);
 * - found: confidence ≥ SYNC_FOUND_Z (7). Calibration: ten fluidsynth-rendered reference tracks
 *   (six genres) embedded at known offsets in 14–90 s AAC mixes with pink noise (amplitude
 *   0.2–0.4) and a wandering tone, the track at gain 0.5–0.7: true matches z = 7.6–21 (the lowest,
 *   a 14 s video holding a stretch of a 29 s track), every one within 50 ms
 *   of the true offset; tracks of another genre z ≤ 6.3 (median 3.6). Two generated tracks of the
 *   same genre share one drum loop at one tempo and can match each other (z up to 12): onsets alone
 *   cannot tell two recordings of one drum part apart. test/unit/music-sync.test.ts reports its own
 *   figures (offset errors of a few ms, true z ≥ 12, absent tracks z < 5).
 *
 * Pure, deterministic, no I/O: usable from activities and tests alike.
 */
import type { MusicSync } from './contract.ts';

/** The correlation peak's z-score from which the track counts as found in the video. */
export const SYNC_FOUND_Z = 7;
/** The exponent of the cross-spectrum whitening (0: plain correlation, 1: full GCC-PHAT). */
export const SYNC_PHAT_BETA = 0.8;
/** The shortest overlap allowed between the two envelopes (s). */
export const SYNC_MIN_OVERLAP_S = 3;
/** The overlap must also cover this fraction of the shorter envelope. */
export const SYNC_MIN_OVERLAP_FRACTION = 0.5;
/** Lags this close to the peak are its main lobe, not "other lags" (ms). */
export const SYNC_PEAK_EXCLUSION_MS = 100;
/** The moving average removed from each envelope before correlating (ms). */
export const SYNC_DETREND_MS = 1000;

export interface OnsetSeries {
  /** Frames per second. */
  frameRate: number;
  /** Onset strength per frame, frame t at t / frameRate s. */
  values: ArrayLike<number>;
}

export interface SyncOptions {
  /** Default SYNC_FOUND_Z. */
  foundZ?: number;
  /** Default SYNC_MIN_OVERLAP_S. */
  minOverlapS?: number;
  /** Default SYNC_MIN_OVERLAP_FRACTION. */
  minOverlapFraction?: number;
}

/** Finds the track's t=0 in the video's time line. See the module comment. */
export function syncMusic(video: OnsetSeries, track: OnsetSeries, opts: SyncOptions = {}): MusicSync {
  const foundZ = opts.foundZ ?? SYNC_FOUND_Z;
  const minOverlapS = opts.minOverlapS ?? SYNC_MIN_OVERLAP_S;
  const minOverlapFraction = opts.minOverlapFraction ?? SYNC_MIN_OVERLAP_FRACTION;
  const rate = video.frameRate;
  if (!(rate > 0) || !Number.isFinite(rate) || !(track.frameRate > 0) || !Number.isFinite(track.frameRate)) {
    return notFound(0, 'music not synced: an onset envelope has no valid frame rate (low confidence)');
  }
  const v = prepare(toFinite(video.values), rate);
  const t = prepare(resample(toFinite(track.values), track.frameRate, rate), rate);
  const nV = v.length;
  const nT = t.length;
  const minOverlap = Math.max(Math.ceil(minOverlapS * rate), Math.ceil(minOverlapFraction * Math.min(nV, nT)));
  if (nV < minOverlap || nT < minOverlap) {
    const which = nV < minOverlap ? "the video's audio" : 'the track';
    return notFound(0, `music not synced: ${which} is shorter than the ${minOverlapS} s needed to match (low confidence)`);
  }
  if (!varies(v)) return notFound(0, "music not synced: the video's audio has no onsets to match (silent or constant; low confidence)");
  if (!varies(t)) return notFound(0, 'music not synced: the track has no onsets to match (silent or constant; low confidence)');

  // Lag L: track frame i sits at video frame i + L.
  const lagMin = -(nT - minOverlap);
  const lagMax = nV - minOverlap;
  const r = whitenedCrossCorrelation(v, t, lagMin, lagMax);
  const count = r.length;
  let best = 0;
  for (let k = 1; k < count; k++) if (r[k] > r[best]) best = k;

  const exclusion = Math.max(1, Math.round((SYNC_PEAK_EXCLUSION_MS / 1000) * rate));
  let n = 0, s1 = 0, s2 = 0;
  for (let k = 0; k < count; k++) {
    if (Math.abs(k - best) <= exclusion) continue;
    n++;
    s1 += r[k];
    s2 += r[k] * r[k];
  }
  if (n < 10) return notFound(0, 'music not synced: too few alternative positions to judge the match (low confidence)');
  const mean = s1 / n;
  const sd = Math.sqrt(Math.max(0, s2 / n - mean * mean));
  const z = sd > 1e-12 ? (r[best] - mean) / sd : 0;
  const confidence = Math.round(z * 100) / 100;

  let delta = 0;
  if (best > 0 && best < count - 1) {
    const a = r[best - 1], b = r[best], c = r[best + 1];
    const den = a - 2 * b + c;
    if (den < 0) delta = Math.max(-0.5, Math.min(0.5, (0.5 * (a - c)) / den));
  }
  const offsetMs = Math.round(((lagMin + best + delta) / rate) * 1000);
  if (z < foundZ) {
    return notFound(confidence, `music not found in the video's audio: low confidence (correlation peak z = ${confidence.toFixed(1)} < ${foundZ})`);
  }
  const where = offsetMs >= 0 ? `the track starts ${seconds(offsetMs)} into the video` : `the video starts ${seconds(-offsetMs)} into the track`;
  return { offsetMs, confidence, found: true, reason: `music found: ${where} (correlation peak z = ${confidence.toFixed(1)} ≥ ${foundZ})` };
}

function notFound(confidence: number, reason: string): MusicSync {
  return { offsetMs: null, confidence, found: false, reason };
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(2)} s`;
}

function toFinite(values: ArrayLike<number>): Float64Array {
  const out = new Float64Array(values.length);
  for (let i = 0; i < out.length; i++) {
    const x = values[i];
    out[i] = Number.isFinite(x) ? x : 0;
  }
  return out;
}

/** Linear interpolation from one frame rate to another (same time origin). */
export function resample(x: Float64Array, fromRate: number, toRate: number): Float64Array {
  if (fromRate === toRate || x.length === 0) return x;
  const n = Math.floor(((x.length - 1) * toRate) / fromRate) + 1;
  const out = new Float64Array(n);
  for (let j = 0; j < n; j++) {
    const pos = (j * fromRate) / toRate;
    const i = Math.floor(pos);
    const f = pos - i;
    out[j] = i + 1 < x.length ? x[i] * (1 - f) + x[i + 1] * f : x[x.length - 1];
  }
  return out;
}

/** log1p(max(0, x)) minus its centred moving average (SYNC_DETREND_MS wide, shrinking at the edges). */
function prepare(raw: Float64Array, rate: number): Float64Array {
  const n = raw.length;
  const x = new Float64Array(n);
  for (let i = 0; i < n; i++) x[i] = Math.log1p(Math.max(0, raw[i]));
  const half = Math.max(1, Math.round(((SYNC_DETREND_MS / 1000) * rate) / 2));
  const prefix = new Float64Array(n + 1);
  for (let i = 0; i < n; i++) prefix[i + 1] = prefix[i] + x[i];
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const a = Math.max(0, i - half);
    const b = Math.min(n, i + half + 1);
    out[i] = x[i] - (prefix[b] - prefix[a]) / (b - a);
  }
  return out;
}

function varies(x: Float64Array): boolean {
  let lo = Infinity, hi = -Infinity;
  for (let i = 0; i < x.length; i++) {
    if (x[i] < lo) lo = x[i];
    if (x[i] > hi) hi = x[i];
  }
  return hi - lo > 1e-9;
}

/**
 * The phase-weighted cross-correlation of t against v for every lag L in [lagMin, lagMax] (index
 * L − lagMin of the result): Σ_i t[i] · v[i + L] computed through one zero-padded FFT, with each
 * frequency of the cross-spectrum divided by |V·T̄|^SYNC_PHAT_BETA (GCC-PHAT, partially). Whitening
 * flattens the strong spectral lines of a steady beat, so a track shifted by a beat or a bar no
 * longer correlates almost as well as the true position: the peak stands alone.
 */
export function whitenedCrossCorrelation(v: Float64Array, t: Float64Array, lagMin: number, lagMax: number, beta = SYNC_PHAT_BETA): Float64Array {
  const nV = v.length;
  const nT = t.length;
  let size = 1;
  while (size < nV + nT) size <<= 1;
  const vr = new Float64Array(size), vi = new Float64Array(size);
  const tr = new Float64Array(size), ti = new Float64Array(size);
  vr.set(v);
  tr.set(t);
  fft(vr, vi, false);
  fft(tr, ti, false);
  // V · conj(T) → circular cross-correlation c[L mod size] = Σ_i v[i + L] t[i].
  for (let k = 0; k < size; k++) {
    const re = vr[k] * tr[k] + vi[k] * ti[k];
    const im = vi[k] * tr[k] - vr[k] * ti[k];
    const weight = beta > 0 ? Math.pow(Math.sqrt(re * re + im * im) + 1e-12, beta) : 1;
    vr[k] = re / weight;
    vi[k] = im / weight;
  }
  fft(vr, vi, true);
  const out = new Float64Array(lagMax - lagMin + 1);
  for (let lag = lagMin; lag <= lagMax; lag++) out[lag - lagMin] = vr[((lag % size) + size) % size] / size;
  return out;
}

/** In-place iterative radix-2 complex FFT (inverse unscaled). re.length must be a power of two. */
function fft(re: Float64Array, im: Float64Array, inverse: boolean): void {
  const n = re.length;
  for (let i = 1, j = 0; i < n; i++) {
    let bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) {
      let tmp = re[i]; re[i] = re[j]; re[j] = tmp;
      tmp = im[i]; im[i] = im[j]; im[j] = tmp;
    }
  }
  const sign = inverse ? 1 : -1;
  for (let len = 2; len <= n; len <<= 1) {
    const angle = (sign * 2 * Math.PI) / len;
    const wr = Math.cos(angle), wi = Math.sin(angle);
    const halfLen = len >> 1;
    for (let start = 0; start < n; start += len) {
      let cr = 1, ci = 0;
      for (let k = 0; k < halfLen; k++) {
        const a = start + k, b = a + halfLen;
        const xr = re[b] * cr - im[b] * ci;
        const xi = re[b] * ci + im[b] * cr;
        re[b] = re[a] - xr;
        im[b] = im[a] - xi;
        re[a] += xr;
        im[a] += xi;
        const nr = cr * wr - ci * wi;
        ci = cr * wi + ci * wr;
        cr = nr;
      }
    }
  }
}
