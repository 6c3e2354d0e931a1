/**
 * EBU R128 / ITU-R BS.1770-4 loudness of mono PCM: integrated loudness (absolute gate −70 LUFS,
 * relative gate −10 LU over 400 ms blocks with 75 % overlap) and a momentary loudness curve.
 *
 * Computed from the PCM already in memory, not with ffmpeg's `ebur128` filter: the analysis has
 * decoded the file once to mono PCM at ANALYSIS_SAMPLE_RATE, so measuring here costs one pass of
 * two biquads (a few ms for a 3-minute track) instead of a second decode in a second process, it
 * is a pure deterministic function that unit tests can check on synthetic signals, and its
 * momentary curve lands on the same time grid as the other analysers.
 *
 * The K-weighting pre-filter (high shelf + RLB high-pass) is computed for the actual sample rate
 * from the analogue prototype parameters, as libebur128 (ffmpeg's ebur128 filter) and pyloudnorm
 * do, so it matches BS.1770's 48 kHz coefficients and stays correct at 22 050 Hz.
 *
 * What is measured is the mono downmix (one channel, weight 1.0): a 997 Hz full-scale sine reads
 * −3.01 LUFS. A stereo track whose channels are identical reads about 3 LU lower here than a
 * stereo BS.1770 meter (which sums the power of both channels); uncorrelated channels read the
 * same within the downmix's rounding. Good enough for comparing tracks and shaping cuts, not a
 * broadcast compliance meter.
 */
import type { LoudnessAnalysis } from './analysis.ts';

/** Momentary curve resolution. */
export const MOMENTARY_STEP_MS = 100;
/** Value standing for silence (and the absolute gate) in LUFS. */
export const SILENCE_LUFS = -70;

const BLOCK_MS = 400;
const RELATIVE_GATE_LU = -10;
/** Sub-block length: blocks (400 ms, hop 100 ms) and centred momentary windows are made of them. */
const SUB_MS = 50;
const SUBS_PER_BLOCK = BLOCK_MS / SUB_MS; // 8
const SUBS_PER_STEP = MOMENTARY_STEP_MS / SUB_MS; // 2

interface Biquad {
  b0: number;
  b1: number;
  b2: number;
  a1: number;
  a2: number;
}

/** The two K-weighting stages for `sampleRate` (libebur128's parameterization). */
export function kWeightingFilters(sampleRate: number): [Biquad, Biquad] {
  // Stage 1: high shelf (head effects), +4 dB above ~1.7 kHz.
  let f0 = 1681.974450955533;
  const G = 3.999843853973347;
  let Q = 0.7071752369554196;
  let K = Math.tan((Math.PI * f0) / sampleRate);
  const Vh = Math.pow(10, G / 20);
  const Vb = Math.pow(Vh, 0.4996667741545416);
  let a0 = 1 + K / Q + K * K;
  const shelf: Biquad = {
    b0: (Vh + (Vb * K) / Q + K * K) / a0,
    b1: (2 * (K * K - Vh)) / a0,
    b2: (Vh - (Vb * K) / Q + K * K) / a0,
    a1: (2 * (K * K - 1)) / a0,
    a2: (1 - K / Q + K * K) / a0,
  };
  // Stage 2: RLB high-pass at ~38 Hz.
  f0 = 38.13547087602444;
  Q = 0.5003270373238773;
  K = Math.tan((Math.PI * f0) / sampleRate);
  a0 = 1 + K / Q + K * K;
  const highPass: Biquad = {
    b0: 1,
    b1: -2,
    b2: 1,
    a1: (2 * (K * K - 1)) / a0,
    a2: (1 - K / Q + K * K) / a0,
  };
  return [shelf, highPass];
}

/**
 * Sums of the squared K-weighted signal per 50 ms sub-block (the last one may be shorter) and
 * the number of samples in each.
 */
function kWeightedSubBlockEnergy(pcm: Float32Array, sampleRate: number): { sums: Float64Array; counts: Float64Array } {
  const [s, h] = kWeightingFilters(sampleRate);
  const subLen = Math.max(1, Math.round((sampleRate * SUB_MS) / 1000));
  const nSubs = Math.ceil(pcm.length / subLen);
  const sums = new Float64Array(nSubs);
  const counts = new Float64Array(nSubs);
  // Direct form I, both stages in one pass, state in locals.
  let x1 = 0, x2 = 0, y1 = 0, y2 = 0, z1 = 0, z2 = 0;
  for (let sub = 0; sub < nSubs; sub++) {
    const start = sub * subLen;
    const end = Math.min(pcm.length, start + subLen);
    let acc = 0;
    for (let i = start; i < end; i++) {
      const x = pcm[i];
      const y = s.b0 * x + s.b1 * x1 + s.b2 * x2 - s.a1 * y1 - s.a2 * y2;
      x2 = x1; x1 = x;
      const z = h.b0 * y + h.b1 * y1 + h.b2 * y2 - h.a1 * z1 - h.a2 * z2;
      y2 = y1; y1 = y;
      z2 = z1; z1 = z;
      acc += z * z;
    }
    sums[sub] = acc;
    counts[sub] = end - start;
  }
  return { sums, counts };
}

/** BS.1770 loudness of a mean square (mono, channel weight 1); −Infinity for 0. */
function lufsOf(meanSquare: number): number {
  return meanSquare > 0 ? -0.691 + 10 * Math.log10(meanSquare) : -Infinity;
}

/**
 * Integrated loudness and the momentary curve of mono PCM in [-1, 1].
 *
 * - `integratedLufs`: gated over 400 ms blocks every 100 ms (only whole blocks; an input shorter
 *   than one block is measured as one block over what there is); null when no block passes the
 *   absolute gate (digital silence, or quieter than −70 LUFS throughout).
 * - `momentary.lufs[i]`: loudness of the 400 ms window centred on (i + 0.5) × 100 ms (clipped at
 *   both ends of the signal), floored at −70; one value per started 100 ms of signal.
 */
export function analyzeLoudness(pcm: Float32Array, sampleRate: number): LoudnessAnalysis {
  const { sums, counts } = kWeightedSubBlockEnergy(pcm, sampleRate);
  const nSubs = sums.length;
  const momentaryCount = Math.ceil(nSubs / SUBS_PER_STEP);
  const lufs: number[] = new Array(momentaryCount);
  for (let i = 0; i < momentaryCount; i++) {
    // Step i covers sub-blocks [2i, 2i+2); its centred 400 ms window is [2i-3, 2i+5).
    const from = Math.max(0, i * SUBS_PER_STEP - 3);
    const to = Math.min(nSubs, i * SUBS_PER_STEP + 5);
    let e = 0, n = 0;
    for (let j = from; j < to; j++) { e += sums[j]; n += counts[j]; }
    const l = n > 0 ? lufsOf(e / n) : -Infinity;
    lufs[i] = l > SILENCE_LUFS ? Math.round(l * 100) / 100 : SILENCE_LUFS;
  }

  // Gating blocks: 8 sub-blocks, starting every 2 sub-blocks, whole blocks only.
  const blockEnergies: number[] = [];
  const fullSubs = counts.length > 0 && counts[nSubs - 1] < counts[0] ? nSubs - 1 : nSubs;
  for (let b = 0; b + SUBS_PER_BLOCK <= fullSubs; b += SUBS_PER_STEP) {
    let e = 0, n = 0;
    for (let j = b; j < b + SUBS_PER_BLOCK; j++) { e += sums[j]; n += counts[j]; }
    blockEnergies.push(e / n);
  }
  if (blockEnergies.length === 0 && nSubs > 0) {
    let e = 0, n = 0;
    for (let j = 0; j < nSubs; j++) { e += sums[j]; n += counts[j]; }
    blockEnergies.push(e / n);
  }
  return { integratedLufs: gatedLoudness(blockEnergies), momentary: { stepMs: MOMENTARY_STEP_MS, lufs } };
}

/** BS.1770-4 two-stage gating over block mean squares. */
function gatedLoudness(blocks: number[]): number | null {
  let sum = 0, n = 0;
  for (const e of blocks) {
    if (lufsOf(e) > SILENCE_LUFS) { sum += e; n++; }
  }
  if (n === 0) return null;
  const relativeGate = lufsOf(sum / n) + RELATIVE_GATE_LU;
  let gSum = 0, gN = 0;
  for (const e of blocks) {
    const l = lufsOf(e);
    if (l > SILENCE_LUFS && l > relativeGate) { gSum += e; gN++; }
  }
  if (gN === 0) return null;
  return Math.round(lufsOf(gSum / gN) * 100) / 100;
}
