/**
 * Where the action is, horizontally, over a window of a video: the centres a vertical (9:16) clip
 * crop follows (lib/ffmpeg/clips/render-clip.ts). Deterministic: the same file and window give the
 * same keyframes.
 *
 * 1. The window is sampled at MOTION_FPS small frames per second through lib/video/frames.ts
 *    (`-ss`/`-t` input options, an accurate seek; MOTION_WIDTH × MOTION_HEIGHT RGB).
 * 2. Per frame: the absolute luma change against the previous frame; pixels changing by less
 *    than NOISE_LUMA (encoder noise, grain) are ignored, the others weigh by how much more they
 *    changed. The frame's centre is the horizontal centroid of those weights (0–1 of the width).
 *    A frame with almost nothing moving (under MIN_MOVING_SHARE of the pixels) has no centre; nor
 *    has one where most of the picture changed (over MAX_MOVING_SHARE: a cut, a flash, a camera
 *    move — no subject to follow).
 * 3. One keyframe per KEYFRAME_MS (500 ms): the median of its frames' centres, at the middle of
 *    its span. A keyframe without any centre holds the previous one (the first ones take the first
 *    centre found); with no motion anywhere in the window every keyframe is 0.5.
 * 4. `smoothCentres`: a centred moving average over ~2 s, then a pan speed limit (at most
 *    MAX_PAN_PER_S of the width per second), applied forwards and backwards and averaged, so the
 *    crop neither jitters nor lags behind a move.
 */
import { RenderError } from '../ffmpeg/ingest/run-ffmpeg.ts';
import { sampleFrames } from './frames.ts';
import { lumaOf } from './visual.ts';

export const MOTION_FPS = 10;
export const MOTION_WIDTH = 96;
export const MOTION_HEIGHT = 54;
export const KEYFRAME_MS = 500;
/** Luma change (0–255) under which a pixel is taken as still. */
export const NOISE_LUMA = 8;
/** Share of the pixels that must move for a frame to have a centre. */
export const MIN_MOVING_SHARE = 0.002;
/** Above this share of moving pixels the change is global (cut, flash, camera move): no centre. */
export const MAX_MOVING_SHARE = 0.6;
export const SMOOTH_WINDOW_MS = 2000;
/** Maximum pan speed of the crop centre, in source widths per second. */
export const MAX_PAN_PER_S = 0.25;

/**
 * The horizontal centroid (0–1) of the luma change from `previous` to `current` (width × height
 * planes, 0–255), or null when too little or too much of the picture moved (see the module
 * comment). Pure.
 */
export function motionCentroid(previous: Float32Array, current: Float32Array, width: number, height: number): number | null {
  const n = width * height;
  if (previous.length < n || current.length < n) throw new RangeError('luma planes smaller than width × height');
  let total = 0;
  let weighted = 0;
  let moving = 0;
  for (let y = 0; y < height; y++) {
    const row = y * width;
    for (let x = 0; x < width; x++) {
      const d = Math.abs(current[row + x]! - previous[row + x]!) - NOISE_LUMA;
      if (d <= 0) continue;
      moving++;
      total += d;
      weighted += d * ((x + 0.5) / width);
    }
  }
  if (moving < MIN_MOVING_SHARE * n || moving > MAX_MOVING_SHARE * n || total <= 0) return null;
  return weighted / total;
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/**
 * Per-frame centres (sample k at k / fps s; null: no centre) → one raw centre per `stepMs` over
 * `lengthMs`: the median of the span's centres, gaps holding the previous value (leading gaps the
 * first value; all gaps: 0.5). Pure.
 */
export function bucketCentres(centres: ReadonlyArray<number | null>, fps: number, lengthMs: number, stepMs = KEYFRAME_MS): number[] {
  if (!(fps > 0) || !(stepMs > 0) || !(lengthMs > 0)) throw new RangeError('fps, stepMs and lengthMs must be > 0');
  const count = Math.max(1, Math.ceil(lengthMs / stepMs));
  const spans: number[][] = Array.from({ length: count }, () => []);
  centres.forEach((c, k) => {
    if (c === null || !Number.isFinite(c)) return;
    const span = Math.min(count - 1, Math.floor((k * 1000) / fps / stepMs));
    spans[span]!.push(c);
  });
  const raw = spans.map((s) => (s.length > 0 ? median(s) : null));
  const first = raw.find((v) => v !== null);
  if (first === undefined || first === null) return raw.map(() => 0.5);
  let last = first;
  return raw.map((v) => (v === null ? last : (last = v)));
}

export interface SmoothOptions {
  /** Time between centres (ms). Default 500. */
  stepMs?: number;
  /** Width of the centred moving average (ms). Default 2000. */
  windowMs?: number;
  /** Maximum change per second (0–1 of the width). Default 0.25. */
  maxSpeedPerS?: number;
}

/**
 * Smooths a series of centres (0–1, one every `stepMs`): a centred moving average over
 * `windowMs` (truncated at the ends), then a speed limit applied forwards and backwards and the
 * two averaged (no lag, |change| ≤ maxSpeedPerS · stepMs / 1000 between neighbours); clamped to
 * [0, 1]. Pure and deterministic.
 */
export function smoothCentres(centres: readonly number[], options: SmoothOptions = {}): number[] {
  const stepMs = options.stepMs ?? KEYFRAME_MS;
  const windowMs = options.windowMs ?? SMOOTH_WINDOW_MS;
  const maxSpeed = options.maxSpeedPerS ?? MAX_PAN_PER_S;
  if (!(stepMs > 0) || !(windowMs >= 0) || !(maxSpeed > 0)) throw new RangeError('stepMs and maxSpeedPerS must be > 0, windowMs ≥ 0');
  const n = centres.length;
  if (n === 0) return [];
  const values = centres.map((c) => (Number.isFinite(c) ? Math.min(1, Math.max(0, c)) : 0.5));
  const half = Math.floor(windowMs / 2 / stepMs);
  const averaged = values.map((_, i) => {
    let sum = 0;
    let count = 0;
    for (let j = Math.max(0, i - half); j <= Math.min(n - 1, i + half); j++) {
      sum += values[j]!;
      count++;
    }
    return sum / count;
  });
  const step = (maxSpeed * stepMs) / 1000;
  const limit = (from: number, to: number) => Math.min(from + step, Math.max(from - step, to));
  const forward = [...averaged];
  for (let i = 1; i < n; i++) forward[i] = limit(forward[i - 1]!, averaged[i]!);
  const backward = [...averaged];
  for (let i = n - 2; i >= 0; i--) backward[i] = limit(backward[i + 1]!, averaged[i]!);
  return forward.map((f, i) => Math.min(1, Math.max(0, (f + backward[i]!) / 2)));
}

export interface MotionCentreOptions {
  ffmpegPath: string;
  /** The demuxer the probe detected (forced with `-f`). */
  demuxer: string;
  /** The window [startMs, endMs) of the source. */
  startMs: number;
  endMs: number;
  /** Bounds the ffmpeg run. */
  timeoutMs: number;
  /** Aborting kills ffmpeg; the promise rejects with RenderError CANCELLED. */
  signal?: AbortSignal;
  /**
   * The probed video codec: for H.264 the decoder skips non-reference pictures (about a third
   * less decoding; a sample may show the picture one source frame earlier). Default: every picture.
   */
  videoCodec?: string | null;
}

/**
 * The crop keyframes of the window [startMs, endMs) of `path`: one per 500 ms, `timeMs` relative
 * to `startMs` (the middle of each 500 ms span), `centerX` 0–1 of the source width, smoothed —
 * what ClipRenderPlan.vertical takes. Rejects with RenderError like sampleFrames.
 */
export async function motionCentreKeyframes(path: string, options: MotionCentreOptions): Promise<Array<{ timeMs: number; centerX: number }>> {
  const { startMs, endMs } = options;
  if (!Number.isFinite(startMs) || !Number.isFinite(endMs) || startMs < 0 || endMs <= startMs) {
    throw new RenderError('PROCESSING_ERROR', `bad window [${startMs}, ${endMs})`, { retryable: false });
  }
  const lengthMs = Math.round(endMs - startMs);
  const plane = MOTION_WIDTH * MOTION_HEIGHT;
  let previous = new Float32Array(plane);
  let current = new Float32Array(plane);
  let havePrevious = false;
  const centres: Array<number | null> = [];
  await sampleFrames(path, {
    ffmpegPath: options.ffmpegPath,
    demuxer: options.demuxer,
    timeoutMs: options.timeoutMs,
    signal: options.signal,
    fps: MOTION_FPS,
    width: MOTION_WIDTH,
    height: MOTION_HEIGHT,
    startMs,
    durationMs: lengthMs,
    skipNonReference: options.videoCodec?.toLowerCase() === 'h264',
    onFrame: (rgb) => {
      lumaOf(rgb, current);
      centres.push(havePrevious ? motionCentroid(previous, current, MOTION_WIDTH, MOTION_HEIGHT) : null);
      [previous, current] = [current, previous];
      havePrevious = true;
    },
  });
  const smoothed = smoothCentres(bucketCentres(centres, MOTION_FPS, lengthMs));
  return smoothed.map((centerX, k) => ({
    timeMs: Math.round((k * KEYFRAME_MS + Math.min(lengthMs, (k + 1) * KEYFRAME_MS)) / 2),
    centerX: Math.round(centerX * 10_000) / 10_000,
  }));
}
