/**
 * The poster: one representative frame of a video as a JPEG — not frame 0 (often black or a
 * logo), never a black or flat (fade, blank title) frame. One ffmpeg run seeks to a handful of
 * candidate times (one fast `-ss` seek per input, so a long video is not decoded whole) and writes
 * each candidate as a tiny gray raw frame; the most detailed acceptable candidate wins; a second
 * run writes that frame as a JPEG at most 1280 px wide, never upscaled.
 */
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jpegSize } from './image-size.ts';
import {
  assertRenderable,
  globalArgs,
  inputArgs,
  monotonicProgress,
  outputArg,
  progressSpan,
  RenderError,
  runFfmpeg,
  seconds,
  type FfmpegRunOptions,
  type SourceMedia,
} from './run-ffmpeg.ts';

/** Size of the gray samples the choice is made on. */
export const SAMPLE_WIDTH = 64;
export const SAMPLE_HEIGHT = 36;
/** Mean luma (0–255) below which a frame counts as black (video black is 16). */
export const BLACK_MEAN = 28;
/** Luma standard deviation below which a frame counts as flat (blank, fade, solid colour). */
export const FLAT_STDDEV = 8;
/** Widest poster written. */
export const POSTER_MAX_WIDTH = 1280;

/**
 * Candidate times (ms) spread evenly between 5 % and 95 % of the duration: `count` of them
 * (default 9), ascending, deduplicated, never 0. Empty when the duration is not positive. Pure.
 */
export function posterCandidateTimes(durationMs: number, count = 9): number[] {
  if (!Number.isFinite(durationMs) || durationMs <= 0) return [];
  if (!Number.isInteger(count) || count < 1) throw new RangeError(`count must be a positive integer, got ${count}`);
  const times = new Set<number>();
  for (let i = 0; i < count; i++) {
    const share = count === 1 ? 0.5 : 0.05 + (0.9 * i) / (count - 1);
    times.add(Math.max(1, Math.round(durationMs * share)));
  }
  return [...times].sort((a, b) => a - b);
}

/** Mean and (population) standard deviation of 8-bit gray samples; zeros for an empty buffer. Pure. */
export function lumaStats(gray: Buffer): { mean: number; stddev: number } {
  if (gray.length === 0) return { mean: 0, stddev: 0 };
  let sum = 0;
  let sumSquares = 0;
  for (const v of gray) {
    sum += v;
    sumSquares += v * v;
  }
  const mean = sum / gray.length;
  const variance = Math.max(0, sumSquares / gray.length - mean * mean);
  return { mean, stddev: Math.sqrt(variance) };
}

/**
 * The time of the best candidate: black (mean < BLACK_MEAN), flat (stddev < FLAT_STDDEV) and
 * time-0 candidates are rejected; among the rest the most detailed (highest stddev) wins, the
 * earlier on a tie. Null when every candidate is rejected. Pure.
 */
export function choosePosterTime(candidates: ReadonlyArray<{ timeMs: number; mean: number; stddev: number }>): number | null {
  let best: { timeMs: number; stddev: number } | null = null;
  for (const c of candidates) {
    if (!(c.timeMs > 0) || c.mean < BLACK_MEAN || c.stddev < FLAT_STDDEV) continue;
    if (!best || c.stddev > best.stddev || (c.stddev === best.stddev && c.timeMs < best.timeMs)) best = { timeMs: c.timeMs, stddev: c.stddev };
  }
  return best ? best.timeMs : null;
}

/** The path of candidate `index`'s raw gray frame in `dir`. */
export function candidatePath(dir: string, index: number): string {
  return join(dir, `candidate_${index}.gray`);
}

/**
 * One ffmpeg run sampling every candidate time: one input per time (each opened safely, seeked
 * with `-ss` before `-i`), each scaled to SAMPLE_WIDTH×SAMPLE_HEIGHT gray and written as one raw
 * frame to `candidatePath(dir, i)`. Pure.
 */
export function posterSampleArgs(source: SourceMedia, timesMs: readonly number[], dir: string): string[] {
  if (timesMs.length === 0) throw new RangeError('no candidate times');
  const inputs = timesMs.flatMap((t) => inputArgs(source, ['-ss', seconds(t)]));
  const graph = timesMs.map((_, i) => `[${i}:v:0]scale=${SAMPLE_WIDTH}:${SAMPLE_HEIGHT}:flags=area,format=gray[g${i}]`).join(';');
  const outputs = timesMs.flatMap((_, i) => ['-map', `[g${i}]`, '-frames:v', '1', '-f', 'rawvideo', outputArg(candidatePath(dir, i))]);
  return [...globalArgs(), ...inputs, '-filter_complex', graph, ...outputs];
}

/** The poster frame at `timeMs` as a JPEG, at most POSTER_MAX_WIDTH wide, never upscaled, aspect kept. Pure. */
export function posterArgs(source: SourceMedia, timeMs: number, outPath: string): string[] {
  return [
    ...globalArgs(),
    ...inputArgs(source, timeMs > 0 ? ['-ss', seconds(timeMs)] : []),
    '-map', '0:v:0',
    '-frames:v', '1',
    // Square pixels (anamorphic sources stretched to their display aspect); at most POSTER_MAX_WIDTH wide.
    '-vf', `scale=w='min(${POSTER_MAX_WIDTH},round(iw*sar))':h='max(1,round(ow/dar))',setsar=1`,
    '-c:v', 'mjpeg', '-pix_fmt', 'yuvj420p', '-q:v', '3',
    '-update', '1',
    '-f', 'image2',
    outputArg(outPath),
  ];
}

/**
 * Writes the poster of `source` to `outPath` (JPEG) and tells which time it shows and its size.
 * When every candidate is black or flat, the middle candidate is used; when the duration is
 * unknown, candidates are taken in the first 10 s.
 */
export async function renderPoster(source: SourceMedia, outPath: string, options: FfmpegRunOptions): Promise<{ timeMs: number; width: number; height: number }> {
  assertRenderable(source);
  if (!source.hasVideo) throw new RenderError('INVALID_MEDIA', 'The file has no video stream', { retryable: false });
  const report = monotonicProgress(options.onProgress, 0);
  const durationMs = source.durationMs && source.durationMs > 0 ? source.durationMs : null;
  const times = posterCandidateTimes(durationMs ?? 10_000);
  const dir = await mkdtemp(join(tmpdir(), 'moviola-poster-'));
  let timeMs: number;
  try {
    await runFfmpeg(posterSampleArgs(source, times, dir), null, { ...options, onProgress: undefined });
    report(60);
    const frameBytes = SAMPLE_WIDTH * SAMPLE_HEIGHT;
    const sampled: Array<{ timeMs: number; mean: number; stddev: number }> = [];
    for (const [i, t] of times.entries()) {
      const gray = await readFile(candidatePath(dir, i)).catch(() => null);
      // A seek past the end (unknown or wrong duration) writes nothing.
      if (gray && gray.length >= frameBytes) sampled.push({ timeMs: t, ...lumaStats(gray.subarray(0, frameBytes)) });
    }
    if (sampled.length === 0) {
      throw new RenderError('INVALID_MEDIA', 'No frame could be decoded for the poster', { retryable: false });
    }
    timeMs = choosePosterTime(sampled) ?? sampled[Math.floor((sampled.length - 1) / 2)]!.timeMs;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  await runFfmpeg(posterArgs(source, timeMs, outPath), null, { ...options, onProgress: progressSpan(report, 60, 100) });
  const size = (await stat(outPath).catch(() => null))?.size ?? 0;
  const dims = size > 0 ? jpegSize(await readFile(outPath)) : null;
  if (!dims) throw new RenderError('INVALID_MEDIA', 'No poster frame could be decoded', { retryable: false });
  report(100);
  return { timeMs, ...dims };
}
