/**
 * Frame-level timbre and pitch features on the shared STFT grid (lib/audio/spectrogram.ts: frame t
 * at t·hop / sampleRate), and their summary statistics for the embedding.
 *
 * Per frame: MFCC (DCT-II, orthonormal, of the 128-band log-mel power in dB, librosa's `mfcc`),
 * chroma (12 pitch classes, C = 0 … B = 11, from the STFT power through a Gaussian pitch-class
 * filterbank, max-normalized per frame), spectral centroid and 85 % rolloff (Hz, on magnitudes),
 * spectral flux (L2 norm of the positive change of the L2-normalized magnitude spectrum: timbre
 * change, level-independent), onset strength (mean positive log-mel difference, in dB: level
 * aware, for impacts), zero-crossing rate and RMS (time domain, the STFT's centred nFft frames).
 *
 * Per-frame loops write into preallocated typed arrays; the only per-call allocations are the
 * output arrays and the (cached) filterbanks.
 */
import { logMelSpectrogram, type Spectrogram } from './spectrogram.ts';

export const N_MELS = 128;
export const N_MFCC = 20;
export const CHROMA_BINS = 12;
export const ROLLOFF_PERCENT = 0.85;
/** Chroma uses the STFT bins between these frequencies (below, 10.8 Hz bins are wider than a semitone). */
export const CHROMA_MIN_HZ = 60;
export const CHROMA_MAX_HZ = 5000;
/** Summary statistics ignore frames quieter than this below the loudest frame… */
export const ACTIVE_RANGE_DB = 40;
/** …and frames below this absolute RMS (−100 dBFS): digital silence has no active frame. */
export const ACTIVE_MIN_RMS = 1e-5;
const SILENT_DB = -100;

export interface FrameFeatures {
  sampleRate: number;
  hop: number;
  frames: number;
  nMfcc: number;
  /** frames × nMfcc, row-major. */
  mfcc: Float32Array;
  /** frames × 12, row-major, each frame max-normalized (all zero for a silent frame). */
  chroma: Float32Array;
  /** Hz; 0 for a silent frame. */
  centroid: Float32Array;
  /** Hz; 0 for a silent frame. */
  rolloff: Float32Array;
  /** 0 … √2. */
  flux: Float32Array;
  /** Onset strength (dB, ≥ 0): mean over mel bands of the positive log-mel difference from the previous frame. */
  onset: Float32Array;
  /** Fraction of sign changes in the frame. */
  zcr: Float32Array;
  /** Linear RMS of the frame. */
  rms: Float32Array;
}

const dctCache = new Map<string, Float64Array>();

/** Orthonormal DCT-II matrix (nOut × nIn, row-major), scipy `dct(type=2, norm='ortho')`. */
function dctMatrix(nIn: number, nOut: number): Float64Array {
  const key = `${nIn}/${nOut}`;
  const cached = dctCache.get(key);
  if (cached) return cached;
  const m = new Float64Array(nOut * nIn);
  for (let k = 0; k < nOut; k++) {
    const s = k === 0 ? Math.sqrt(1 / nIn) : Math.sqrt(2 / nIn);
    for (let n = 0; n < nIn; n++) m[k * nIn + n] = s * Math.cos((Math.PI * k * (2 * n + 1)) / (2 * nIn));
  }
  dctCache.set(key, m);
  return m;
}

interface ChromaBank {
  /** First and one-past-last STFT bin used. */
  from: number;
  to: number;
  /** (to − from) × 12 weights, each bin's weights summing to 1. */
  weights: Float32Array;
}

const chromaCache = new Map<string, ChromaBank>();

/**
 * Each bin's power is spread over the pitch classes by a Gaussian on the circular distance (in
 * semitones) between the bin's pitch and the class, as wide as the bin (at least ¼ semitone):
 * a bin spanning several semitones contributes an almost flat, uninformative share.
 */
export function chromaFilterbank(sampleRate: number, nFft: number): ChromaBank {
  const key = `${sampleRate}/${nFft}`;
  const cached = chromaCache.get(key);
  if (cached) return cached;
  const df = sampleRate / nFft;
  const bins = (nFft >>> 1) + 1;
  const from = Math.max(1, Math.ceil(CHROMA_MIN_HZ / df));
  const to = Math.min(bins, Math.floor(Math.min(CHROMA_MAX_HZ, sampleRate / 2) / df) + 1);
  const weights = new Float32Array(Math.max(0, to - from) * CHROMA_BINS);
  for (let k = from; k < to; k++) {
    const f = k * df;
    const midi = 69 + 12 * Math.log2(f / 440);
    const pc = ((midi % 12) + 12) % 12;
    const width = 12 * Math.log2((f + df / 2) / (f - df / 2));
    const sigma = Math.max(0.25, width / 2);
    let total = 0;
    const row = (k - from) * CHROMA_BINS;
    for (let c = 0; c < CHROMA_BINS; c++) {
      let d = pc - c;
      d -= 12 * Math.round(d / 12);
      const w = Math.exp((-d * d) / (2 * sigma * sigma));
      weights[row + c] = w;
      total += w;
    }
    for (let c = 0; c < CHROMA_BINS; c++) weights[row + c] /= total;
  }
  const bank = { from, to, weights };
  chromaCache.set(key, bank);
  return bank;
}

/** Every frame feature of `pcm` on the grid of `spec` (which must be the STFT of that `pcm`). */
export function computeFrameFeatures(pcm: Float32Array, spec: Spectrogram): FrameFeatures {
  const { sampleRate, nFft, hop, frames, bins, magnitudes } = spec;

  // MFCC and onset strength from the log-mel spectrogram (dB, ref 1, top 80 dB below the peak).
  const logMel = logMelSpectrogram(spec, N_MELS).values;
  const dct = dctMatrix(N_MELS, N_MFCC);
  const mfcc = new Float32Array(frames * N_MFCC);
  const onset = new Float32Array(frames);
  for (let t = 0; t < frames; t++) {
    const row = t * N_MELS;
    for (let k = 0; k < N_MFCC; k++) {
      const d = k * N_MELS;
      let acc = 0;
      for (let m = 0; m < N_MELS; m++) acc += dct[d + m] * logMel[row + m];
      mfcc[t * N_MFCC + k] = acc;
    }
    if (t > 0) {
      const prev = row - N_MELS;
      let acc = 0;
      for (let m = 0; m < N_MELS; m++) {
        const diff = logMel[row + m] - logMel[prev + m];
        if (diff > 0) acc += diff;
      }
      onset[t] = acc / N_MELS;
    }
  }

  // Spectral shape, flux and chroma from the magnitudes.
  const centroid = new Float32Array(frames);
  const rolloff = new Float32Array(frames);
  const flux = new Float32Array(frames);
  const chroma = new Float32Array(frames * CHROMA_BINS);
  const df = sampleRate / nFft;
  const bank = chromaFilterbank(sampleRate, nFft);
  let prevNorm = 0;
  for (let t = 0; t < frames; t++) {
    const row = t * bins;
    let sum = 0, weighted = 0, sq = 0;
    for (let k = 0; k < bins; k++) {
      const a = magnitudes[row + k];
      sum += a;
      weighted += k * a;
      sq += a * a;
    }
    const norm = Math.sqrt(sq);
    if (sum > 0) {
      centroid[t] = (weighted / sum) * df;
      const target = ROLLOFF_PERCENT * sum;
      let cum = 0, k = 0;
      for (; k < bins - 1; k++) {
        cum += magnitudes[row + k];
        if (cum >= target) break;
      }
      rolloff[t] = k * df;
    }
    if (t > 0 && norm > 0 && prevNorm > 0) {
      const prev = row - bins;
      let acc = 0;
      for (let k = 0; k < bins; k++) {
        const d = magnitudes[row + k] / norm - magnitudes[prev + k] / prevNorm;
        if (d > 0) acc += d * d;
      }
      flux[t] = Math.sqrt(acc);
    }
    prevNorm = norm;

    const c0 = t * CHROMA_BINS;
    for (let k = bank.from; k < bank.to; k++) {
      const a = magnitudes[row + k];
      const p = a * a;
      if (p === 0) continue;
      const w = (k - bank.from) * CHROMA_BINS;
      for (let c = 0; c < CHROMA_BINS; c++) chroma[c0 + c] += bank.weights[w + c] * p;
    }
    let max = 0;
    for (let c = 0; c < CHROMA_BINS; c++) if (chroma[c0 + c] > max) max = chroma[c0 + c];
    if (max > 0) for (let c = 0; c < CHROMA_BINS; c++) chroma[c0 + c] /= max;
  }

  // Time-domain ZCR and RMS over the same centred frames (zero outside the signal).
  const zcr = new Float32Array(frames);
  const rms = new Float32Array(frames);
  const n = pcm.length;
  const half = nFft >>> 1;
  for (let t = 0; t < frames; t++) {
    const start = t * hop - half;
    const lo = Math.max(0, start);
    const hi = Math.min(n, start + nFft);
    let sq = 0, crossings = 0;
    let prevPositive = lo > 0 ? pcm[lo - 1] >= 0 : true;
    for (let i = lo; i < hi; i++) {
      const x = pcm[i];
      sq += x * x;
      const positive = x >= 0;
      if (i > lo && positive !== prevPositive) crossings++;
      prevPositive = positive;
    }
    rms[t] = Math.sqrt(sq / nFft);
    zcr[t] = crossings / nFft;
  }

  return { sampleRate, hop, frames, nMfcc: N_MFCC, mfcc, chroma, centroid, rolloff, flux, onset, zcr, rms };
}

/** Which frames count for summary statistics: within 40 dB of the loudest frame and above −100 dBFS. */
export function activeFrames(features: FrameFeatures): Uint8Array {
  const { frames, rms } = features;
  let max = 0;
  for (let t = 0; t < frames; t++) if (rms[t] > max) max = rms[t];
  const threshold = Math.max(ACTIVE_MIN_RMS, max * Math.pow(10, -ACTIVE_RANGE_DB / 20));
  const active = new Uint8Array(frames);
  for (let t = 0; t < frames; t++) active[t] = rms[t] >= threshold && rms[t] > 0 ? 1 : 0;
  return active;
}

export interface FeatureSummary {
  /** Number of active frames the statistics were taken over (0 for digital silence: every statistic 0). */
  activeFrames: number;
  mfccMean: number[];
  mfccStd: number[];
  /** Mean chroma over active frames, max-normalized (C = 0 … B = 11). */
  chromaMean: number[];
  centroidMean: number;
  centroidStd: number;
  rolloffMean: number;
  rolloffStd: number;
  fluxMean: number;
  fluxStd: number;
  zcrMean: number;
  zcrStd: number;
  /** RMS in dBFS (frames floored at −100; −100 for digital silence). */
  rmsDbMean: number;
  rmsDbStd: number;
  /** Fraction of the active frames whose RMS is below the mean RMS of the active frames (0–1). */
  lowEnergyRatio: number;
  /** Onset strength (dB): how percussive. */
  onsetMean: number;
  onsetStd: number;
}

/** Mean and (population) standard deviation of each feature over the active frames. */
export function summarizeFeatures(features: FrameFeatures, active: Uint8Array = activeFrames(features)): FeatureSummary {
  const { frames, nMfcc } = features;
  let count = 0;
  for (let t = 0; t < frames; t++) count += active[t];

  const mfccMean = new Array<number>(nMfcc).fill(0);
  const mfccStd = new Array<number>(nMfcc).fill(0);
  const chromaMean = new Array<number>(CHROMA_BINS).fill(0);
  if (count > 0) {
    const s1 = new Float64Array(nMfcc);
    const s2 = new Float64Array(nMfcc);
    const cs = new Float64Array(CHROMA_BINS);
    for (let t = 0; t < frames; t++) {
      if (!active[t]) continue;
      for (let k = 0; k < nMfcc; k++) {
        const v = features.mfcc[t * nMfcc + k];
        s1[k] += v;
        s2[k] += v * v;
      }
      for (let c = 0; c < CHROMA_BINS; c++) cs[c] += features.chroma[t * CHROMA_BINS + c];
    }
    for (let k = 0; k < nMfcc; k++) {
      const m = s1[k] / count;
      mfccMean[k] = m;
      mfccStd[k] = Math.sqrt(Math.max(0, s2[k] / count - m * m));
    }
    let max = 0;
    for (let c = 0; c < CHROMA_BINS; c++) max = Math.max(max, cs[c]);
    if (max > 0) for (let c = 0; c < CHROMA_BINS; c++) chromaMean[c] = cs[c] / max;
  }
  const stats = (x: Float32Array, transform?: (v: number) => number): [number, number] => {
    if (count === 0) return [0, 0];
    let s1 = 0, s2 = 0;
    for (let t = 0; t < frames; t++) {
      if (!active[t]) continue;
      const v = transform ? transform(x[t]) : x[t];
      s1 += v;
      s2 += v * v;
    }
    const m = s1 / count;
    return [m, Math.sqrt(Math.max(0, s2 / count - m * m))];
  };
  const [centroidMean, centroidStd] = stats(features.centroid);
  const [rolloffMean, rolloffStd] = stats(features.rolloff);
  const [fluxMean, fluxStd] = stats(features.flux);
  const [zcrMean, zcrStd] = stats(features.zcr);
  const [rmsDbMean, rmsDbStd] = count > 0 ? stats(features.rms, (v) => 20 * Math.log10(Math.max(1e-5, v))) : [SILENT_DB, 0];
  const [rmsMean] = stats(features.rms);
  const [onsetMean, onsetStd] = stats(features.onset);
  let low = 0;
  for (let t = 0; t < frames; t++) if (active[t] && features.rms[t] < rmsMean) low++;
  const lowEnergyRatio = count > 0 ? low / count : 0;
  return {
    activeFrames: count,
    mfccMean,
    mfccStd,
    chromaMean,
    centroidMean,
    centroidStd,
    rolloffMean,
    rolloffStd,
    fluxMean,
    fluxStd,
    zcrMean,
    zcrStd,
    rmsDbMean,
    rmsDbStd,
    lowEnergyRatio,
    onsetMean,
    onsetStd,
  };
}
