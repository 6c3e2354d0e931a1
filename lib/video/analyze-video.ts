/**
 * Video analysis for clip jobs (issue 7): `analyzeVideoFile` turns an accepted upload into the
 * contract's VideoAnalysis (lib/clips/contract.ts).
 *
 * Two ffmpeg processes run side by side (one per core on the 2-core workers):
 * - pictures: lib/video/frames.ts samples SAMPLE_FPS small frames per second through one pipe;
 *   each frame is reduced at once to what the analysers need (scene features, luma, flags), so
 *   memory holds ~1 KB per sample, never pictures;
 * - sound (when the probe saw an audio stream): lib/audio/pcm.ts decodes mono 22.05 kHz PCM.
 *
 * Then, in pure functions (exported for tests):
 * - scene cuts (lib/video/scenes.ts);
 * - per second: motion energy (mean over the second's sample pairs, pairs at cuts and in and out
 *   of flashes left out: they are not motion; divided by MOTION_FULL_SCALE and capped at 1), black and frozen (more than half of the second's samples / pairs), the mean
 *   HSV histogram and the pHash of the sample at the middle of the second (lib/video/visual.ts);
 *   seconds past the last sample (a video stream shorter than the file) repeat the last picture,
 *   frozen, as a player shows it;
 * - audio: RMS energy per second relative to the loudest second, the onset envelope of
 *   lib/audio/onset.ts (spectral flux on a log-mel STFT, the music analysers' own front end) and
 *   its peaks (librosa's `onset_detect` peak picking). A file without an audio stream, with one
 *   that cannot be decoded, or with digital silence gets `hasAudio: false`, zeros and a reason;
 * - impacts on the sample grid: z-scored onset strength + loudness jump (momentary loudness of
 *   lib/audio/loudness.ts, the next 300 ms against the previous 300 ms) + motion energy, summed
 *   and z-scored again; local maxima ≥ 1.5, the strongest first, ≥ 1 s apart, at most one per 2 s.
 *   A cue that barely varies (spread under CUE_MIN_SPREAD: a still's encoder flicker, a steady
 *   tone) is left out rather than blown up by its z-score.
 *
 * A single-colour video, a still or a one-frame video analyses to no cuts, zero motion, frozen
 * seconds and no impacts; nothing divides by a zero spread.
 */
import type { VideoAnalysis } from '../clips/contract.ts';
import { VIDEO_ANALYZER_VERSION } from '../clips/contract.ts';
import { ANALYSIS_SAMPLE_RATE } from '../audio/analysis.ts';
import { analyzeLoudness, MOMENTARY_STEP_MS } from '../audio/loudness.ts';
import { onsetStrength } from '../audio/onset.ts';
import { decodePcm } from '../audio/pcm.ts';
import { stft } from '../audio/spectrogram.ts';
import { monotonicProgress, RenderError } from '../ffmpeg/ingest/run-ffmpeg.ts';
import { FRAME_HEIGHT, FRAME_WIDTH, SAMPLE_FPS, sampleFrames } from './frames.ts';
import { detectCuts, sceneFeatures, type SceneDetection, type SceneFeatures } from './scenes.ts';
import { FROZEN_MOTION, HSV_BINS, hsvHistogram, isBlackFrame, lumaOf, MOTION_FULL_SCALE, motionEnergy, perceptualHash } from './visual.ts';
import { zScore } from '../audio/impacts.ts';

export interface AnalyzeVideoOptions {
  ffmpegPath: string;
  /** The demuxer the probe detected (forced with `-f`). */
  demuxer: string;
  /** From the probe; null when unknown (then the sampled frames decide). */
  durationMs: number | null;
  width: number | null;
  height: number | null;
  /** The probe saw an audio stream. */
  hasAudio: boolean;
  /** Bounds each ffmpeg process. */
  timeoutMs: number;
  /** Aborting kills both ffmpeg processes; the promise rejects with RenderError CANCELLED. */
  signal?: AbortSignal;
  /** Percent done, 0–100, never decreasing, at most about twice a second, 100 once at the end. */
  onProgress?: (percent: number) => void;
  /** The probed video codec: for H.264 the decoder skips non-reference pictures (a third faster, samples at most one source frame early). */
  videoCodec?: string | null;
}

/** The analysis and what the scene detector saw (for tests and benches). */
export interface DetailedVideoAnalysis {
  analysis: VideoAnalysis;
  scenes: SceneDetection;
  frames: number;
  fps: number;
}

/** Streaming reduction of the sampled frames: a few numbers and small arrays per sample. */
export class FrameAccumulator {
  readonly fps: number;
  readonly width: number;
  readonly height: number;
  readonly features: SceneFeatures[] = [];
  /** motion[k]: energy from sample k − 1 to k (motion[0] = 0). */
  readonly motion: number[] = [];
  readonly black: boolean[] = [];
  /** Histograms of the samples (kept for the per-second means). */
  readonly hists: Float32Array[] = [];
  /** pHash per second, from the sample nearest the middle of that second. */
  readonly phashBySecond = new Map<number, { index: number; hash: string }>();
  private previousLuma: Float32Array | null = null;

  constructor(fps: number = SAMPLE_FPS, width: number = FRAME_WIDTH, height: number = FRAME_HEIGHT) {
    this.fps = fps;
    this.width = width;
    this.height = height;
  }

  get count(): number {
    return this.features.length;
  }

  push(rgb: Uint8Array): void {
    const index = this.features.length;
    const luma = lumaOf(rgb);
    const features = sceneFeatures(rgb, this.width, this.height, luma);
    this.features.push(features);
    this.hists.push(features.hist);
    this.motion.push(this.previousLuma ? motionEnergy(this.previousLuma, luma) : 0);
    this.black.push(isBlackFrame(luma));
    this.previousLuma = luma;
    // The sample nearest the middle of its second gets hashed (the first one seen, then any closer).
    const second = Math.floor(index / this.fps);
    const middle = (second + 0.5) * this.fps;
    const current = this.phashBySecond.get(second);
    if (!current || Math.abs(index - middle) < Math.abs(current.index - middle)) {
      this.phashBySecond.set(second, { index, hash: perceptualHash(luma, this.width, this.height) });
    }
  }
}

export interface VisualSeries {
  cutsMs: number[];
  motion: number[];
  black: boolean[];
  frozen: boolean[];
  hsv: number[][];
  phash: string[];
  /** Motion per sample pair with the cut and flash pairs zeroed (the impacts' motion cue). */
  pairMotion: number[];
  scenes: SceneDetection;
}

const round = (v: number, digits: number) => {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
};

/** Per-second visual series over `seconds` seconds from the accumulated samples. Pure. */
export function visualSeries(acc: FrameAccumulator, seconds: number): VisualSeries {
  const fps = acc.fps;
  const n = acc.count;
  const scenes = detectCuts(acc.features, { fps });
  // Cuts and flashes are not motion.
  const cutPairs = new Set([...scenes.candidates.filter((c) => c.verdict === 'cut').map((c) => c.index), ...scenes.flashPairs]);
  const pairMotion = acc.motion.map((m, k) => (k === 0 || cutPairs.has(k) ? 0 : m));
  const motion: number[] = [];
  const black: boolean[] = [];
  const frozen: boolean[] = [];
  const hsv: number[][] = [];
  const phash: string[] = [];
  let lastHash = perceptualHash(new Float32Array(acc.width * acc.height), acc.width, acc.height);
  let lastHsv: number[] = new Array(HSV_BINS).fill(0);
  let lastBlack = false;
  for (let s = 0; s < seconds; s++) {
    const from = Math.ceil(s * fps);
    const to = Math.min(n, Math.ceil((s + 1) * fps)); // samples [from, to)
    if (from >= n) {
      // Past the last picture: it stays on screen.
      motion.push(0);
      black.push(lastBlack);
      frozen.push(true);
      hsv.push(lastHsv);
      phash.push(lastHash);
      continue;
    }
    let mSum = 0, mCount = 0, still = 0, pairs = 0, dark = 0;
    const mean = new Float64Array(HSV_BINS);
    for (let i = from; i < to; i++) {
      if (acc.black[i]) dark++;
      const h = acc.hists[i];
      for (let b = 0; b < HSV_BINS; b++) mean[b] += h[b];
      if (i === 0) continue;
      pairs++;
      if (acc.motion[i] < FROZEN_MOTION) still++;
      if (!cutPairs.has(i)) {
        mSum += acc.motion[i];
        mCount++;
      }
    }
    const count = to - from;
    motion.push(mCount > 0 ? round(Math.min(1, mSum / mCount / MOTION_FULL_SCALE), 4) : 0);
    lastBlack = dark * 2 > count;
    black.push(lastBlack);
    frozen.push(pairs === 0 ? true : still * 2 > pairs);
    lastHsv = Array.from(mean, (v) => round(v / count, 4));
    hsv.push(lastHsv);
    lastHash = acc.phashBySecond.get(s)?.hash ?? lastHash;
    phash.push(lastHash);
  }
  return { cutsMs: scenes.cutsMs, motion, black, frozen, hsv, phash, pairMotion, scenes };
}

/** Onset-detection peak picking (librosa `onset_detect` defaults), frame indices. Pure. */
export function pickOnsetPeaks(values: ArrayLike<number>, frameRate: number): number[] {
  const n = values.length;
  if (n < 3) return [];
  let min = Infinity, max = -Infinity;
  for (let i = 0; i < n; i++) {
    if (values[i] < min) min = values[i];
    if (values[i] > max) max = values[i];
  }
  if (!(max - min > 1e-9)) return [];
  const x = new Float64Array(n);
  for (let i = 0; i < n; i++) x[i] = (values[i] - min) / (max - min);
  const preMax = Math.max(1, Math.floor(0.03 * frameRate));
  const postMax = 1;
  const preAvg = Math.max(1, Math.floor(0.1 * frameRate));
  const postAvg = Math.floor(0.1 * frameRate) + 1;
  const wait = Math.max(1, Math.floor(0.03 * frameRate));
  const delta = 0.07;
  const prefix = new Float64Array(n + 1);
  for (let i = 0; i < n; i++) prefix[i + 1] = prefix[i] + x[i];
  const peaks: number[] = [];
  let last = -Infinity;
  for (let i = 0; i < n; i++) {
    let isMax = true;
    for (let j = Math.max(0, i - preMax); j < Math.min(n, i + postMax) && isMax; j++) if (x[j] > x[i]) isMax = false;
    if (!isMax) continue;
    const a = Math.max(0, i - preAvg);
    const b = Math.min(n, i + postAvg);
    const avg = (prefix[b] - prefix[a]) / (b - a);
    if (x[i] < avg + delta) continue;
    if (i - last <= wait) continue;
    peaks.push(i);
    last = i;
  }
  return peaks;
}

export interface AudioSeries {
  audio: VideoAnalysis['audio'];
  /** Per sample-grid point: onset strength (max within ± half a step) and loudness jump; null without usable audio. */
  onsetCue: Float64Array | null;
  jumpCue: Float64Array | null;
}

/** Digital silence: every second's RMS below this (−80 dBFS). */
const SILENT_RMS = 1e-4;

/** The "no usable audio" answer. */
export function noAudio(seconds: number, reason: string): VideoAnalysis['audio'] {
  return { hasAudio: false, reason, energy: new Array(seconds).fill(0), onset: { frameRate: 0, values: [] }, onsetPeaksMs: [] };
}

/** The audio series and the impact cues of mono PCM, on a grid of `gridPoints` samples at `fps`. Pure. */
export function audioSeries(pcm: Float32Array, sampleRate: number, seconds: number, fps: number, gridPoints: number): AudioSeries {
  const energy: number[] = [];
  let loudest = 0;
  for (let s = 0; s < seconds; s++) {
    const from = Math.min(pcm.length, Math.round(s * sampleRate));
    const to = Math.min(pcm.length, Math.round((s + 1) * sampleRate));
    let sum = 0;
    for (let i = from; i < to; i++) sum += pcm[i] * pcm[i];
    const rms = to > from ? Math.sqrt(sum / (to - from)) : 0;
    energy.push(rms);
    if (rms > loudest) loudest = rms;
  }
  if (!(loudest > SILENT_RMS)) return { audio: noAudio(seconds, 'the audio track is silent'), onsetCue: null, jumpCue: null };

  const envelope = onsetStrength(stft(pcm, sampleRate));
  const frameRate = envelope.frameRate;
  const values = Array.from(envelope.values, (v) => round(v, 3));
  const onsetPeaksMs = pickOnsetPeaks(envelope.values, frameRate).map((i) => Math.round((i * 1000) / frameRate));

  // Impact cues on the sample grid.
  const onsetCue = new Float64Array(gridPoints);
  const half = frameRate / fps / 2;
  for (let g = 0; g < gridPoints; g++) {
    const centre = (g / fps) * frameRate;
    let best = 0;
    for (let i = Math.max(0, Math.floor(centre - half)); i <= Math.min(values.length - 1, Math.ceil(centre + half)); i++) {
      if (envelope.values[i] > best) best = envelope.values[i];
    }
    onsetCue[g] = best;
  }
  const lufs = analyzeLoudness(pcm, sampleRate).momentary.lufs;
  const jumpCue = new Float64Array(gridPoints);
  const span = Math.max(1, Math.round(300 / MOMENTARY_STEP_MS));
  const meanLufs = (a: number, b: number) => {
    let sum = 0, count = 0;
    for (let i = Math.max(0, a); i < Math.min(lufs.length, b); i++) {
      sum += lufs[i];
      count++;
    }
    return count > 0 ? sum / count : null;
  };
  for (let g = 0; g < gridPoints; g++) {
    const m = Math.round((g * 1000) / fps / MOMENTARY_STEP_MS);
    const before = meanLufs(m - span, m);
    const after = meanLufs(m, m + span);
    jumpCue[g] = before === null || after === null ? 0 : Math.max(0, after - before);
  }
  return {
    audio: {
      hasAudio: true,
      reason: null,
      energy: energy.map((e) => round(e / loudest, 4)),
      onset: { frameRate: round(frameRate, 4), values },
      onsetPeaksMs,
    },
    onsetCue,
    jumpCue,
  };
}

export interface ImpactOptions {
  /** Default 1000. */
  minSpacingMs?: number;
  /** Minimum combined z-score. Default 1.5. */
  minStrength?: number;
  /** At most one impact per this many ms on average. Default 2000. */
  maxDensityMs?: number;
}

/** One impact cue: its values on the grid and the smallest spread (standard deviation) that means something. */
export interface ImpactCue {
  values: ArrayLike<number>;
  /** A cue whose spread is below this is left out (a still's encoder flicker is not motion). Default 0. */
  minSpread?: number;
}

/** Spread floors of the cues analyzeVideoFile uses: motion energy, onset strength, loudness jump (LU). */
export const CUE_MIN_SPREAD = { motion: 0.003, onset: 0.05, jump: 0.5 } as const;

/**
 * Impact moments on a grid of `fps` points per second: the z-scores of the cues given (absent
 * cues, and cues whose spread is under their floor, are left out), summed, z-scored again; local
 * maxima ≥ minStrength, strongest first, no two closer than minSpacingMs, at most duration /
 * maxDensityMs. Pure.
 */
export function detectVideoImpacts(cues: ReadonlyArray<ImpactCue | null>, fps: number, options: ImpactOptions = {}): Array<{ timeMs: number; strength: number }> {
  const minSpacingMs = options.minSpacingMs ?? 1000;
  const minStrength = options.minStrength ?? 1.5;
  const maxDensityMs = options.maxDensityMs ?? 2000;
  const present = cues.filter((c): c is ImpactCue => c !== null && c.values.length > 0);
  if (present.length === 0) return [];
  const n = Math.min(...present.map((c) => c.values.length));
  if (n < 3) return [];
  const combined = new Float64Array(n);
  let varying = 0;
  for (const cue of present) {
    const z = Float64Array.from({ length: n }, (_, i) => cue.values[i]);
    if (spread(z) < (cue.minSpread ?? 0) || !zScore(z)) continue;
    varying++;
    for (let i = 0; i < n; i++) combined[i] += z[i];
  }
  if (varying === 0 || !zScore(combined)) return [];
  const candidates: number[] = [];
  for (let i = 1; i < n - 1; i++) {
    const v = combined[i];
    if (v >= minStrength && v >= combined[i - 1] && v > combined[i + 1]) candidates.push(i);
  }
  candidates.sort((a, b) => combined[b] - combined[a] || a - b);
  const stepMs = 1000 / fps;
  const cap = Math.max(1, Math.floor((n * stepMs) / maxDensityMs));
  const chosen: number[] = [];
  for (const i of candidates) {
    if (chosen.length >= cap) break;
    if (chosen.some((c) => Math.abs(c - i) * stepMs < minSpacingMs)) continue;
    chosen.push(i);
  }
  chosen.sort((a, b) => a - b);
  return chosen.map((i) => ({ timeMs: Math.round(i * stepMs), strength: round(combined[i], 2) }));
}

/** Population standard deviation. */
function spread(x: Float64Array): number {
  let s1 = 0, s2 = 0;
  for (let i = 0; i < x.length; i++) {
    s1 += x[i];
    s2 += x[i] * x[i];
  }
  const mean = s1 / x.length;
  return Math.sqrt(Math.max(0, s2 / x.length - mean * mean));
}

/** Analyses `path` (see the module comment); also returns what the scene detector saw. */
export async function analyzeVideoFileDetailed(path: string, options: AnalyzeVideoOptions): Promise<DetailedVideoAnalysis> {
  if (options.signal?.aborted) throw new RenderError('CANCELLED', 'The video analysis was cancelled', { retryable: false });
  const report = monotonicProgress(options.onProgress);
  // One failure stops the other process too.
  const inner = new AbortController();
  const onAbort = () => inner.abort();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  const acc = new FrameAccumulator();
  const expectedFrames = options.durationMs && options.durationMs > 0 ? (options.durationMs / 1000) * acc.fps : null;
  try {
    const video = sampleFrames(path, {
      ffmpegPath: options.ffmpegPath,
      demuxer: options.demuxer,
      timeoutMs: options.timeoutMs,
      signal: inner.signal,
      fps: acc.fps,
      width: acc.width,
      height: acc.height,
      skipNonReference: options.videoCodec?.toLowerCase() === 'h264',
      onFrame: (rgb) => {
        acc.push(rgb);
        if (expectedFrames) report(Math.min(95, (acc.count / expectedFrames) * 95));
      },
    });
    const audio: Promise<{ samples: Float32Array; sampleRate: number } | { failed: string } | null> = options.hasAudio
      ? decodePcm(path, { ffmpegPath: options.ffmpegPath, demuxer: options.demuxer, sampleRate: ANALYSIS_SAMPLE_RATE, timeoutMs: options.timeoutMs, signal: inner.signal })
          .catch((err: unknown) => {
            // An audio stream that cannot be decoded leaves the pictures to analyse.
            if (err instanceof RenderError && err.code === 'INVALID_MEDIA' && !inner.signal.aborted) return { failed: err.message };
            throw err;
          })
      : Promise.resolve(null);
    let sampled, pcm;
    try {
      [sampled, pcm] = await Promise.all([video, audio]);
    } catch (err) {
      inner.abort();
      if (options.signal?.aborted) throw new RenderError('CANCELLED', 'The video analysis was cancelled', { retryable: false, cause: err });
      throw err;
    }

    const fps = sampled.fps;
    const sampledMs = (acc.count * 1000) / fps;
    const durationMs = options.durationMs && options.durationMs > 0 ? Math.round(options.durationMs) : Math.round(sampledMs);
    const seconds = Math.max(1, Math.ceil(durationMs / 1000));
    const visual = visualSeries(acc, seconds);
    const gridPoints = acc.count;

    let audioPart: VideoAnalysis['audio'];
    let onsetCue: Float64Array | null = null;
    let jumpCue: Float64Array | null = null;
    if (pcm === null) audioPart = noAudio(seconds, 'the video has no audio stream');
    else if ('failed' in pcm) audioPart = noAudio(seconds, `the audio stream could not be decoded (${pcm.failed})`);
    else {
      const a = audioSeries(pcm.samples, pcm.sampleRate, seconds, fps, gridPoints);
      audioPart = a.audio;
      onsetCue = a.onsetCue;
      jumpCue = a.jumpCue;
    }
    const impacts = detectVideoImpacts(
      [
        onsetCue && { values: onsetCue, minSpread: CUE_MIN_SPREAD.onset },
        jumpCue && { values: jumpCue, minSpread: CUE_MIN_SPREAD.jump },
        { values: visual.pairMotion, minSpread: CUE_MIN_SPREAD.motion },
      ],
      fps,
    );
    report(100);
    return {
      analysis: {
        analyzerVersion: VIDEO_ANALYZER_VERSION,
        durationMs,
        width: options.width,
        height: options.height,
        sampleFps: fps,
        cutsMs: visual.cutsMs,
        motion: visual.motion,
        black: visual.black,
        frozen: visual.frozen,
        hsv: visual.hsv,
        phash: visual.phash,
        audio: audioPart,
        impacts,
      },
      scenes: visual.scenes,
      frames: acc.count,
      fps,
    };
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
  }
}

/**
 * The VideoAnalysis of an accepted upload. Rejects with RenderError: INVALID_MEDIA (no video
 * stream, undecodable, no frame), CANCELLED (signal), PROCESSING_ERROR (timeout, ffmpeg missing).
 */
export async function analyzeVideoFile(path: string, options: AnalyzeVideoOptions): Promise<VideoAnalysis> {
  return (await analyzeVideoFileDetailed(path, options)).analysis;
}
