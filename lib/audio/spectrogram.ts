/**
 * Short-time Fourier transform magnitudes and the mel filterbank (librosa conventions), the common
 * front end of the rhythm analysers (lib/audio/onset.ts) and the timbre/pitch features.
 *
 * Defaults: `nFft` 2048 (93 ms at 22 050 Hz: 10.8 Hz bins, enough to separate kick, bass and the
 * low harmonics that carry the beat) and `hop` 512 (23.2 ms, 43 frames/s — librosa's defaults;
 * a beat is placed to within ±12 ms, far inside the ±70 ms evaluation window, and a 3-minute track
 * is ~7 750 FFTs ≈ 0.2 s). Frames are centred (`center=True`): frame t covers samples
 * [t·hop − nFft/2, t·hop + nFft/2), zero-padded at both ends, so frame t is at time t·hop / sampleRate.
 * The window is a periodic Hann window (scipy `get_window('hann', nFft)`).
 */
import { realFft } from './fft.ts';

export const DEFAULT_N_FFT = 2048;
export const DEFAULT_HOP = 512;
export const DEFAULT_N_MELS = 128;

export interface Spectrogram {
  sampleRate: number;
  nFft: number;
  hop: number;
  frames: number;
  /** nFft / 2 + 1 */
  bins: number;
  /** |STFT|, frames × bins, row-major (frame t's bins at t·bins … t·bins + bins − 1). */
  magnitudes: Float32Array;
}

export interface StftOptions {
  nFft?: number;
  hop?: number;
}

/** The periodic Hann window of length n. */
export function hannWindow(n: number): Float64Array {
  const w = new Float64Array(n);
  for (let i = 0; i < n; i++) w[i] = 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / n);
  return w;
}

/** Number of centred frames for `samples` samples: 1 + ⌊samples / hop⌋ (librosa, center=True). */
export function frameCount(samples: number, hop: number): number {
  return 1 + Math.floor(samples / hop);
}

/** |STFT| of mono PCM (Hann window, centred frames, zero padding). Empty input gives one silent frame. */
export function stft(pcm: Float32Array, sampleRate: number, options: StftOptions = {}): Spectrogram {
  const nFft = options.nFft ?? DEFAULT_N_FFT;
  const hop = options.hop ?? DEFAULT_HOP;
  if (!Number.isInteger(hop) || hop < 1) throw new RangeError(`hop must be a positive integer, got ${hop}`);
  const fft = realFft(nFft);
  const bins = fft.bins;
  const frames = frameCount(pcm.length, hop);
  const magnitudes = new Float32Array(frames * bins);
  const window = hannWindow(nFft);
  const halfWin = nFft >>> 1;
  for (let t = 0; t < frames; t++) {
    // Samples outside the signal read as zeros (centred frames, constant padding).
    fft.magnitudes(pcm, magnitudes, t * bins, t * hop - halfWin, window);
  }
  return { sampleRate, nFft, hop, frames, bins, magnitudes };
}

/** Centre frequency (Hz) of each of the nFft / 2 + 1 bins. */
export function fftFrequencies(sampleRate: number, nFft: number): Float64Array {
  const bins = (nFft >>> 1) + 1;
  const out = new Float64Array(bins);
  for (let k = 0; k < bins; k++) out[k] = (k * sampleRate) / nFft;
  return out;
}

// Slaney's auditory-toolbox mel scale (librosa `htk=False`): linear below 1 kHz, logarithmic above.
const F_SP = 200 / 3;
const MIN_LOG_HZ = 1000;
const MIN_LOG_MEL = MIN_LOG_HZ / F_SP;
const LOG_STEP = Math.log(6.4) / 27;

export function hzToMel(hz: number): number {
  return hz >= MIN_LOG_HZ ? MIN_LOG_MEL + Math.log(hz / MIN_LOG_HZ) / LOG_STEP : hz / F_SP;
}

export function melToHz(mel: number): number {
  return mel >= MIN_LOG_MEL ? MIN_LOG_HZ * Math.exp(LOG_STEP * (mel - MIN_LOG_MEL)) : F_SP * mel;
}

export interface MelFilterbank {
  sampleRate: number;
  nFft: number;
  nMels: number;
  bins: number;
  /** nMels × bins, row-major; Slaney area normalization (each triangle's weights × 2 / bandwidth in Hz). */
  weights: Float32Array;
  /** The non-zero bins of band m are [start[m], end[m]). */
  start: Uint32Array;
  end: Uint32Array;
  /** nMels + 2 band edges in Hz (band m: edges m, m+1, m+2). */
  edgesHz: Float64Array;
}

export interface MelOptions {
  fMin?: number;
  /** Defaults to sampleRate / 2. */
  fMax?: number;
}

const filterbankCache = new Map<string, MelFilterbank>();

/** librosa.filters.mel(sr, n_fft, n_mels, fmin, fmax, htk=False, norm='slaney'); cached per parameters. */
export function melFilterbank(sampleRate: number, nFft: number, nMels: number, options: MelOptions = {}): MelFilterbank {
  const fMin = options.fMin ?? 0;
  const fMax = options.fMax ?? sampleRate / 2;
  const key = `${sampleRate}/${nFft}/${nMels}/${fMin}/${fMax}`;
  const cached = filterbankCache.get(key);
  if (cached) return cached;
  const freqs = fftFrequencies(sampleRate, nFft);
  const bins = freqs.length;
  const melMin = hzToMel(fMin);
  const melMax = hzToMel(fMax);
  const edgesHz = new Float64Array(nMels + 2);
  for (let i = 0; i < nMels + 2; i++) edgesHz[i] = melToHz(melMin + ((melMax - melMin) * i) / (nMels + 1));
  const weights = new Float32Array(nMels * bins);
  const start = new Uint32Array(nMels);
  const end = new Uint32Array(nMels);
  for (let m = 0; m < nMels; m++) {
    const lo = edgesHz[m], mid = edgesHz[m + 1], hi = edgesHz[m + 2];
    const enorm = 2 / (hi - lo);
    let first = -1;
    let last = -1;
    for (let k = 0; k < bins; k++) {
      const lower = (freqs[k] - lo) / (mid - lo);
      const upper = (hi - freqs[k]) / (hi - mid);
      const w = Math.max(0, Math.min(lower, upper));
      if (w > 0) {
        weights[m * bins + k] = w * enorm;
        if (first < 0) first = k;
        last = k;
      }
    }
    start[m] = first < 0 ? 0 : first;
    end[m] = first < 0 ? 0 : last + 1;
  }
  const bank: MelFilterbank = { sampleRate, nFft, nMels, bins, weights, start, end, edgesHz };
  filterbankCache.set(key, bank);
  return bank;
}

export interface MelSpectrogram {
  sampleRate: number;
  hop: number;
  frames: number;
  nMels: number;
  /** Mel band power (|STFT|² through the filterbank), frames × nMels, row-major. */
  values: Float32Array;
}

/** librosa.feature.melspectrogram(S=|STFT|², n_mels) from a magnitude spectrogram (power 2). */
export function melSpectrogram(spec: Spectrogram, nMels: number = DEFAULT_N_MELS, options: MelOptions = {}): MelSpectrogram {
  const bank = melFilterbank(spec.sampleRate, spec.nFft, nMels, options);
  const { frames, bins, magnitudes } = spec;
  const { weights, start, end } = bank;
  const values = new Float32Array(frames * nMels);
  for (let t = 0; t < frames; t++) {
    const row = t * bins;
    for (let m = 0; m < nMels; m++) {
      const wRow = m * bins;
      let sum = 0;
      for (let k = start[m], e = end[m]; k < e; k++) {
        const a = magnitudes[row + k];
        sum += weights[wRow + k] * a * a;
      }
      values[t * nMels + m] = sum;
    }
  }
  return { sampleRate: spec.sampleRate, hop: spec.hop, frames, nMels, values };
}

export interface PowerToDbOptions {
  /** Reference power: a number, or 'max' for the largest value (librosa `ref=np.max`). Default 1. */
  ref?: number | 'max';
  /** Floor before the logarithm. Default 1e-10. */
  amin?: number;
  /** Clip to (max − topDb); null disables. Default 80. */
  topDb?: number | null;
}

/** librosa.power_to_db: 10·log10(max(amin, x)) − 10·log10(max(amin, ref)), clipped to topDb below the peak. */
export function powerToDb(values: Float32Array, options: PowerToDbOptions = {}): Float32Array {
  const amin = options.amin ?? 1e-10;
  const topDb = options.topDb === undefined ? 80 : options.topDb;
  let ref = 1;
  if (options.ref === 'max') {
    ref = 0;
    for (let i = 0; i < values.length; i++) if (values[i] > ref) ref = values[i];
  } else if (typeof options.ref === 'number') {
    ref = options.ref;
  }
  const offset = 10 * Math.log10(Math.max(amin, ref));
  const out = new Float32Array(values.length);
  let peak = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const db = 10 * Math.log10(Math.max(amin, values[i])) - offset;
    out[i] = db;
    if (db > peak) peak = db;
  }
  if (topDb !== null && Number.isFinite(peak)) {
    const floor = peak - topDb;
    for (let i = 0; i < out.length; i++) if (out[i] < floor) out[i] = floor;
  }
  return out;
}

/** Log-mel spectrogram: powerToDb(melSpectrogram(spec, nMels).values, db); same shape as melSpectrogram. */
export function logMelSpectrogram(
  spec: Spectrogram,
  nMels: number = DEFAULT_N_MELS,
  options: MelOptions & PowerToDbOptions = {},
): MelSpectrogram {
  const mel = melSpectrogram(spec, nMels, options);
  return { ...mel, values: powerToDb(mel.values, options) };
}
