/**
 * The shared core of the ingest renderers: how an uploaded file is opened (only the `file`
 * protocol, the probed demuxer forced with `-f`, never stdin), one ffmpeg run with its progress
 * (`-progress pipe:3`, key=value blocks on a side pipe so that stderr keeps only messages), and
 * what a failed run means (RenderError with a stable code).
 *
 * Builders elsewhere in this directory are pure: they return argument arrays that start with
 * `globalArgs()` and open every input through `inputArgs()`. `runFfmpeg` adds the progress flags.
 */
import { classifyFfmpegFailure, percentDone } from '../extract-frames.ts';
import { FORBIDDEN_DEMUXERS, IMAGE_DEMUXERS, MEDIA_DEMUXERS } from '../formats.ts';
import { ToolNotFoundError } from '../run-tool.ts';
import { spawnStreaming, type StreamingExit } from '../spawn-streaming.ts';

/** How to run ffmpeg. `timeoutMs` bounds each ffmpeg process of a render (not the whole render). */
export interface FfmpegRunOptions {
  ffmpegPath: string;
  timeoutMs: number;
  /** Aborting kills ffmpeg (SIGKILL) at once; the render rejects with RenderError CANCELLED. */
  signal?: AbortSignal;
  /** Percent done, 0–100, never decreasing, at most about twice a second, 100 once at the end. */
  onProgress?: (percent: number) => void;
}

/** The uploaded file as the probe saw it. */
export interface SourceMedia {
  path: string;
  /** The demuxer the probe detected (forced with `-f`); never a playlist or concat demuxer. */
  demuxer: string;
  durationMs: number | null;
  /** Coded size of the first video stream (before rotation). */
  width: number | null;
  height: number | null;
  fps: number | null;
  hasAudio: boolean;
  hasVideo: boolean;
  /**
   * Display rotation in degrees from the stream's side data (e.g. 90 for portrait phone video).
   * ffmpeg applies it while decoding, so 90/270 swap the displayed width and height. Default 0.
   */
  rotation?: number | null;
}

export type RenderErrorCode = 'INVALID_MEDIA' | 'PROCESSING_ERROR' | 'CANCELLED';

/** Why a render failed. INVALID_MEDIA (the input cannot be decoded) and CANCELLED are never retryable. */
export class RenderError extends Error {
  readonly code: RenderErrorCode;
  readonly retryable: boolean;
  /** ffmpeg's last stderr lines (for logs; may contain temp paths). */
  readonly stderrTail: string;
  constructor(code: RenderErrorCode, message: string, options: { retryable?: boolean; stderrTail?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'RenderError';
    this.code = code;
    this.retryable = options.retryable ?? code === 'PROCESSING_ERROR';
    this.stderrTail = options.stderrTail ?? '';
  }
}

export { IMAGE_DEMUXERS };

/** Every demuxer a renderer accepts: the media containers of formats.ts plus the image demuxers. */
export const RENDER_DEMUXERS: readonly string[] = [...MEDIA_DEMUXERS, ...IMAGE_DEMUXERS];

/** Throws RangeError unless `demuxer` is an accepted, non-playlist demuxer name. */
export function assertDemuxer(demuxer: string, allowed: readonly string[] = RENDER_DEMUXERS): void {
  if (!/^[a-z0-9_]+$/.test(demuxer) || (FORBIDDEN_DEMUXERS as readonly string[]).includes(demuxer) || !allowed.includes(demuxer)) {
    throw new RangeError(`demuxer ${JSON.stringify(demuxer)} is not allowed`);
  }
}

/**
 * The runners' guard: a source whose demuxer is not accepted (or whose path is empty) is rejected
 * as RenderError INVALID_MEDIA (not retryable) before any ffmpeg run.
 */
export function assertRenderable(source: Pick<SourceMedia, 'path' | 'demuxer'>, allowed: readonly string[] = RENDER_DEMUXERS): void {
  try {
    assertDemuxer(source.demuxer, allowed);
  } catch {
    throw new RenderError('INVALID_MEDIA', `The container ${JSON.stringify(source.demuxer)} is not accepted for rendering`, { retryable: false });
  }
  if (!source.path) throw new RenderError('INVALID_MEDIA', 'The source path is empty', { retryable: false });
}

/** Leading options of every ffmpeg run: no stdin, no banner, no stats line, errors only, overwrite (retries are idempotent). */
export function globalArgs(): string[] {
  return ['-nostdin', '-hide_banner', '-nostats', '-v', 'error', '-y'];
}

/**
 * Opens one input safely: `-protocol_whitelist file`, then input options (e.g. `-ss`), then the
 * forced demuxer and `-i file:<path>` (the `file:` prefix stops a path being read as a URL). Pure.
 */
export function inputArgs(source: Pick<SourceMedia, 'path' | 'demuxer'>, inputOptions: readonly string[] = []): string[] {
  assertDemuxer(source.demuxer);
  if (!source.path) throw new RangeError('source path is empty');
  return ['-protocol_whitelist', 'file', ...inputOptions, '-f', source.demuxer, '-i', `file:${source.path}`];
}

/** An output path for ffmpeg: `file:` prefixed, so `:` or a leading `-` in it is never misread. */
export function outputArg(path: string): string {
  return `file:${path}`;
}

/** Milliseconds as ffmpeg seconds ("12.345"). */
export function seconds(ms: number): string {
  return (Math.max(0, Math.round(ms)) / 1000).toFixed(3);
}

/** The picture size as displayed (rotation 90/270 swaps width and height); null when unknown. Pure. */
export function displaySize(source: Pick<SourceMedia, 'width' | 'height' | 'rotation'>): { width: number; height: number } | null {
  const { width, height } = source;
  if (!width || !height || width <= 0 || height <= 0) return null;
  const quarter = Math.round((((source.rotation ?? 0) % 360) + 360) % 360 / 90) % 4;
  return quarter % 2 === 1 ? { width: height, height: width } : { width, height };
}

/** One line of `-progress` output: the output time (µs), or a block end (`progress=continue|end`). */
export type ProgressLine = { outTimeUs: number } | { progress: 'continue' | 'end' };

/**
 * Parses one `-progress` line. `out_time_us` and `out_time_ms` both carry microseconds in
 * ffmpeg 5.1; `N/A` and negative values (before the first frame) give null, as do other keys. Pure.
 */
export function parseProgressLine(line: string): ProgressLine | null {
  const eq = line.indexOf('=');
  if (eq <= 0) return null;
  const key = line.slice(0, eq).trim();
  const value = line.slice(eq + 1).trim();
  if (key === 'out_time_us' || key === 'out_time_ms') {
    if (!/^\d+$/.test(value)) return null;
    return { outTimeUs: Number(value) };
  }
  if (key === 'progress' && (value === 'continue' || value === 'end')) return { progress: value };
  return null;
}

/**
 * Wraps a percent callback: never decreasing, at most one call per `minIntervalMs` (100 always
 * passes), values clamped to 0–100 and rounded to one decimal.
 */
export function monotonicProgress(onProgress: ((percent: number) => void) | undefined, minIntervalMs = 500): (percent: number) => void {
  let last = -1;
  let lastAt = 0;
  return (percent) => {
    if (!onProgress || !Number.isFinite(percent)) return;
    const p = Math.min(100, Math.max(0, Math.floor(percent * 10) / 10));
    if (p <= last) return;
    const now = Date.now();
    if (p < 100 && now - lastAt < minIntervalMs) return;
    last = p;
    lastAt = now;
    onProgress(p);
  };
}

/** Maps 0–100 of one step onto [from, to] of an overall percent. */
export function progressSpan(report: (percent: number) => void, from: number, to: number): (percent: number) => void {
  return (percent) => report(from + ((to - from) * Math.min(100, Math.max(0, percent))) / 100);
}

export interface FfmpegRunResult {
  /** What ffmpeg wrote on stdout (bounded by maxStdoutBytes). */
  stdout: Buffer;
  /** ffmpeg's messages (errors it survived), at most the last 64 KiB. */
  stderr: string;
  /** The last output time ffmpeg reported, in µs (0 if none): the output's duration when the input's is unknown. */
  outTimeUs: number;
}

/** Output-side failures: retrying (elsewhere, later) may help, whatever the input stderr says. */
const OUTPUT_FAILURE_PATTERNS = [/No space left on device/i, /Cannot allocate memory/i, /Permission denied/i, /Read-only file system/i];

/** What a finished ffmpeg run means: null when it succeeded. Pure (exposed for tests). */
export function renderFailure(exit: Pick<StreamingExit, 'exitCode' | 'signal' | 'timedOut' | 'aborted' | 'stderrTail'>, timeoutMs: number): RenderError | null {
  const tail = exit.stderrTail.split(/\r?\n/).filter(Boolean).slice(-20).join('\n');
  if (exit.aborted) return new RenderError('CANCELLED', 'The render was cancelled', { stderrTail: tail, retryable: false });
  if (exit.timedOut) return new RenderError('PROCESSING_ERROR', `ffmpeg did not finish within ${timeoutMs} ms`, { stderrTail: tail });
  if (exit.exitCode !== 0) {
    if (exit.signal) return new RenderError('PROCESSING_ERROR', `ffmpeg was killed by ${exit.signal}`, { stderrTail: tail });
    const output = tail.split('\n').find((line) => OUTPUT_FAILURE_PATTERNS.some((p) => p.test(line)));
    if (output) return new RenderError('PROCESSING_ERROR', `ffmpeg could not write its output (${output.slice(0, 200)})`, { stderrTail: tail });
    // A stream the caller expected (from the probe) is not there: a verdict on the file.
    const missing = tail.split('\n').find((line) => /matches no streams/.test(line));
    if (missing) return new RenderError('INVALID_MEDIA', `The file lacks a stream to render (${missing.slice(0, 200)})`, { stderrTail: tail });
    const verdict = classifyFfmpegFailure(exit.stderrTail)!;
    if (verdict.code === 'PROCESSING_ERROR') return new RenderError('PROCESSING_ERROR', verdict.message, { stderrTail: tail });
    return new RenderError('INVALID_MEDIA', verdict.message, { stderrTail: tail });
  }
  // Exit 0 after reading a truncated file: the outputs are short; the file is what is wrong.
  const truncated = classifyFfmpegFailure(exit.stderrTail, { truncatedOnly: true });
  return truncated ? new RenderError('INVALID_MEDIA', truncated.message, { stderrTail: tail }) : null;
}

export interface RunFfmpegExtra {
  /** Maximum stdout bytes kept; more kills ffmpeg (PROCESSING_ERROR). Default 16 MiB. */
  maxStdoutBytes?: number;
}

/**
 * Runs ffmpeg with `args` (from a pure builder), reporting progress from `-progress pipe:3`
 * against `durationMs` (no progress until the end when it is null). Resolves with stdout when
 * ffmpeg exited 0 and read the input whole; rejects with RenderError otherwise.
 */
export async function runFfmpeg(args: readonly string[], durationMs: number | null, options: FfmpegRunOptions, extra: RunFfmpegExtra = {}): Promise<FfmpegRunResult> {
  if (options.signal?.aborted) throw new RenderError('CANCELLED', 'The render was cancelled', { retryable: false });
  const maxStdout = extra.maxStdoutBytes ?? 16 * 1024 * 1024;
  const report = monotonicProgress(options.onProgress);
  let outTimeUs = 0;
  const chunks: Buffer[] = [];
  let stdoutBytes = 0;
  let overflow = false;

  let tool;
  try {
    tool = spawnStreaming(options.ffmpegPath, ['-progress', 'pipe:3', '-stats_period', '0.5', ...args], {
      timeoutMs: options.timeoutMs,
      signal: options.signal,
      extraPipes: 1,
      dieWithParent: true,
      onPipeLine: (_pipe, line) => {
        const parsed = parseProgressLine(line);
        if (!parsed) return;
        if ('outTimeUs' in parsed) {
          if (parsed.outTimeUs > outTimeUs) outTimeUs = parsed.outTimeUs;
        } else if (parsed.progress === 'continue') {
          // 100 is reported only once ffmpeg exited 0.
          report(Math.min(99.9, percentDone(outTimeUs, durationMs)));
        }
      },
    });
  } catch (err) {
    throw new RenderError('PROCESSING_ERROR', 'ffmpeg could not be started', { cause: err });
  }
  const running = tool;
  running.stdout.on('data', (chunk: Buffer) => {
    if (overflow) return;
    stdoutBytes += chunk.length;
    if (stdoutBytes > maxStdout) {
      overflow = true;
      chunks.length = 0;
      running.kill();
      return;
    }
    chunks.push(chunk);
  });
  running.stdout.on('error', () => {});

  let exit: StreamingExit;
  try {
    exit = await running.exited;
  } catch (err) {
    throw new RenderError('PROCESSING_ERROR', err instanceof ToolNotFoundError ? err.message : 'ffmpeg could not be started', { cause: err });
  }
  if (overflow && !exit.aborted) {
    throw new RenderError('PROCESSING_ERROR', `ffmpeg wrote more than ${maxStdout} bytes on stdout`, { stderrTail: exit.stderrTail.slice(-2000) });
  }
  const failure = renderFailure(exit, options.timeoutMs);
  if (failure) throw failure;
  report(100);
  return { stdout: Buffer.concat(chunks), stderr: exit.stderrTail, outTimeUs };
}
