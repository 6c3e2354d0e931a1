/**
 * Frames job core: one ffmpeg process decodes the video, keeps one frame per second (`fps=1`),
 * encodes each as JPEG and writes them back to back on stdout (`image2pipe`); the JPEG stream is
 * split image by image and each image appended to a STORED ZIP (`frame_00001.jpg`, … in time
 * order) that the caller streams on, typically into `storage.put`. No frame files on disk, no
 * second zipping pass, never a whole ZIP in memory: a slow consumer pauses ffmpeg's stdout.
 *
 * The ZIP stream ends cleanly only after ffmpeg exited 0 and at least one frame was written;
 * otherwise it errors (FramesError, or an AbortError on cancellation), so an upload reading it
 * fails instead of storing a truncated archive.
 *
 * Frames are byte-identical to the baseline `ffmpeg -i clip -vf fps=1 frames/%05d.jpg`: same
 * filter, same mjpeg encoder with its default rate control (no `-q:v`), unless `quality` is given.
 * For H.264 input, non-reference frames are not decoded (`-skip_frame noref`, see
 * `skipsNonRefFramesFor`): decoding is the whole cost of the job, and the only effect is that an
 * output frame whose source would have been a non-reference frame is taken from the frame just
 * before it (one frame earlier, as x264 and most encoders never put two non-reference frames in a
 * row; see bench/README.md). `exactFrames: true` turns this off.
 */
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { StoredZipWriter } from '../zip/stored-zip.ts';
import { FORBIDDEN_DEMUXERS } from './formats.ts';
import { JpegSplitter } from './jpeg-splitter.ts';
import { ToolNotFoundError } from './run-tool.ts';
import { spawnStreaming, type StreamingExit } from './spawn-streaming.ts';

export type FramesErrorCode = 'INVALID_MEDIA' | 'UNSUPPORTED_CODEC' | 'PROCESSING_ERROR';

/** Why frame extraction failed. INVALID_MEDIA and UNSUPPORTED_CODEC are never retryable. */
export class FramesError extends Error {
  readonly code: FramesErrorCode;
  readonly retryable: boolean;
  /** The last lines ffmpeg wrote on stderr (for logs; may contain the temp path). */
  readonly stderrTail: string;
  constructor(code: FramesErrorCode, message: string, options: { retryable?: boolean; stderrTail?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'FramesError';
    this.code = code;
    this.retryable = options.retryable ?? code === 'PROCESSING_ERROR';
    this.stderrTail = options.stderrTail ?? '';
  }
}

/** The error the ZIP stream and the result carry when the AbortSignal fired (`name === 'AbortError'`). */
export function framesAbortError(reason?: unknown): Error {
  const err = new Error('Frame extraction was cancelled', reason === undefined ? undefined : { cause: reason });
  err.name = 'AbortError';
  return Object.assign(err, { code: 'ABORT_ERR' });
}

/** Codecs whose non-reference frames are skipped unless `exactFrames`: see the module comment. */
const SKIP_NONREF_CODECS = new Set(['h264']);

/**
 * True for H.264 only. H.264 marks a non-reference picture with nal_ref_idc = 0, which nothing
 * may reference, so skipping it never alters another picture. HEVC's "sub-layer non-reference"
 * pictures can still be referenced by higher temporal sub-layers, so HEVC is decoded whole;
 * MPEG-2/MPEG-4 Part 2 streams usually carry two non-reference B-frames in a row, which could
 * move a picked frame by two frames.
 */
export function skipsNonRefFramesFor(videoCodec: string | null | undefined): boolean {
  return videoCodec != null && SKIP_NONREF_CODECS.has(videoCodec.toLowerCase());
}

export interface FramesArgsInput {
  inputPath: string;
  /** ffmpeg demuxer to force (from probeMedia). */
  demuxer: string;
  /** Frames per second to keep. Default 1. */
  fps?: number;
  /** `-skip_frame noref` on the decoder. Default false. */
  skipNonRefFrames?: boolean;
  /** Fixed JPEG quantizer (`-q:v`, 2 = best … 31). Default: none, the mjpeg encoder's defaults (the baseline's). */
  quality?: number;
  /** File descriptor for `-progress` (key=value blocks). Default 3. */
  progressFd?: number;
}

/** The ffmpeg arguments for one extraction, in order. Pure. */
export function extractFramesArgs(input: FramesArgsInput): string[] {
  const fps = input.fps ?? 1;
  if (!Number.isFinite(fps) || fps <= 0 || fps > 120) throw new RangeError(`fps must be in (0, 120], got ${fps}`);
  if (!/^[a-z0-9_]+$/.test(input.demuxer) || (FORBIDDEN_DEMUXERS as readonly string[]).includes(input.demuxer)) {
    throw new RangeError(`demuxer ${JSON.stringify(input.demuxer)} is not allowed`);
  }
  if (!input.inputPath) throw new RangeError('inputPath is empty');
  const progressFd = input.progressFd ?? 3;
  if (!Number.isInteger(progressFd) || progressFd < 2) throw new RangeError(`progressFd must be an integer ≥ 2, got ${progressFd}`);
  const quality = input.quality;
  if (quality !== undefined && (!Number.isInteger(quality) || quality < 2 || quality > 31)) {
    throw new RangeError(`quality must be an integer in [2, 31], got ${quality}`);
  }
  return [
    '-nostdin',
    '-hide_banner',
    '-nostats',
    '-v', 'error',
    '-progress', `pipe:${progressFd}`,
    '-stats_period', '0.5',
    '-protocol_whitelist', 'file',
    ...(input.skipNonRefFrames ? ['-skip_frame', 'noref'] : []),
    '-f', input.demuxer,
    '-i', `file:${input.inputPath}`,
    '-map', '0:v:0',
    '-vf', `fps=${fps}`,
    '-c:v', 'mjpeg',
    ...(quality === undefined ? [] : ['-q:v', String(quality)]),
    '-f', 'image2pipe',
    'pipe:1',
  ];
}

/** `frame_00001.jpg` for the first frame (1-based; more digits past 99 999). */
export function frameEntryName(index: number): string {
  return `frame_${String(index).padStart(5, '0')}.jpg`;
}

/** Percent done (0–100, one decimal) from ffmpeg's output time; 0 when the duration is unknown. */
export function percentDone(outTimeUs: number, durationMs: number | null): number {
  if (!durationMs || durationMs <= 0 || !Number.isFinite(outTimeUs) || outTimeUs <= 0) return 0;
  return Math.min(100, Math.floor((outTimeUs / 1000 / durationMs) * 1000) / 10);
}

/** Reads `-progress` key=value lines; returns the output time (µs) at each block's `progress=` line. */
export function progressLineReader(): (line: string) => { outTimeUs: number; end: boolean } | null {
  let outTimeUs = 0;
  return (line) => {
    const eq = line.indexOf('=');
    if (eq <= 0) return null;
    const key = line.slice(0, eq).trim();
    const value = line.slice(eq + 1).trim();
    if (key === 'out_time_us' || key === 'out_time_ms') {
      // ffmpeg writes microseconds under both keys; N/A before the first frame.
      const us = Number(value);
      if (Number.isFinite(us) && us > outTimeUs) outTimeUs = us;
      return null;
    }
    if (key === 'progress') return { outTimeUs, end: value === 'end' };
    return null;
  };
}

const UNSUPPORTED_PATTERNS = [
  /Decoder \([^)]*\) not found/i,
  /no decoder found/i,
  /Unsupported codec/i,
  /codec (?:is )?not (?:currently )?supported/i,
  /Error while opening decoder/i,
  /is not implemented/i,
];

const TRUNCATED_PATTERNS = [/partial file/i, /File ended prematurely/i];

const INVALID_PATTERNS = [
  /Invalid data found when processing input/i,
  /moov atom not found/i,
  /EBML header parsing failed/i,
  /could not find codec parameters/i,
  /Error while decoding stream/i,
  /Error splitting the input into NAL units/i,
  /Invalid NAL unit/i,
  /no frame!/i,
  /corrupt/i,
];

/** One stderr line without the `[demuxer @ 0x…]` prefix nor a `file:/path:` prefix (no temp paths in user-facing messages). */
function cleanLine(line: string): string {
  return line
    .replace(/^\[[^\]]*@ 0x[0-9a-f]+\]\s*/i, '')
    .replace(/^file:[^:]*:\s*/, '')
    .trim()
    .slice(0, 200);
}

/** The first stderr line matching any pattern (ffmpeg's first error is the most specific). */
function findLine(lines: readonly string[], patterns: readonly RegExp[]): string | undefined {
  return lines.find((line) => patterns.some((pattern) => pattern.test(line)));
}

/**
 * What an ffmpeg failure means for the job, from its stderr. Exit ≠ 0 lands here; so does a run
 * that exited 0 but read a truncated file (`truncatedOnly`: only the truncation markers count).
 */
export function classifyFfmpegFailure(stderr: string, options: { truncatedOnly?: boolean } = {}): FramesError | null {
  const lines = stderr.split(/\r?\n/).filter(Boolean);
  const tail = lines.slice(-20).join('\n');
  const truncated = findLine(lines, TRUNCATED_PATTERNS);
  if (options.truncatedOnly) {
    return truncated
      ? new FramesError('INVALID_MEDIA', `The video file is truncated (${cleanLine(truncated)})`, { stderrTail: tail })
      : null;
  }
  if (lines.some((line) => /Stream map '0:v:0' matches no streams/.test(line))) {
    return new FramesError('INVALID_MEDIA', 'The file has no video stream', { stderrTail: tail });
  }
  const unsupported = findLine(lines, UNSUPPORTED_PATTERNS);
  if (unsupported) {
    return new FramesError('UNSUPPORTED_CODEC', `The video codec is not supported (${cleanLine(unsupported)})`, { stderrTail: tail });
  }
  if (truncated) return new FramesError('INVALID_MEDIA', `The video file is truncated (${cleanLine(truncated)})`, { stderrTail: tail });
  const invalid = findLine(lines, INVALID_PATTERNS);
  if (invalid) return new FramesError('INVALID_MEDIA', `The file is not a readable video (${cleanLine(invalid)})`, { stderrTail: tail });
  const last = lines.length > 0 ? cleanLine(lines[lines.length - 1]!) : 'no message';
  return new FramesError('PROCESSING_ERROR', `ffmpeg failed (${last})`, { stderrTail: tail });
}

export interface ExtractFramesOptions {
  ffmpegPath: string;
  inputPath: string;
  /** The demuxer probeMedia detected; forced with `-f`. */
  demuxer: string;
  /** Container duration, for percent done; null when unknown (percent stays 0 until the end). */
  durationMs: number | null;
  /** The video stream's codec from the probe (e.g. `h264`); decides `-skip_frame noref`. */
  videoCodec?: string | null;
  /** Decode every frame even where skipping non-reference frames is possible. Default false. */
  exactFrames?: boolean;
  fps?: number;
  /** `-q:v` for the JPEGs; default: the encoder's defaults, as the baseline. */
  quality?: number;
  /** Whole run, from spawn until ffmpeg exits (a slow consumer counts). */
  timeoutMs: number;
  signal?: AbortSignal;
  /** About twice a second while running (ffmpeg's -stats_period), then once with 100; percent never decreases. */
  onProgress?: (p: { percent: number; frames: number }) => void;
  /** Modification time written in the ZIP entries. Default: now. */
  mtime?: Date;
}

export interface ExtractFramesResult {
  frameCount: number;
  zipBytes: number;
  /** ffmpeg's stderr lines (errors it survived, e.g. a damaged packet), at most 20. */
  warnings: string[];
}

export interface ExtractFramesRun {
  /** The ZIP bytes. Errors instead of ending when extraction fails. */
  zip: Readable;
  /** Resolves once the ZIP has been read to its end; rejects with the error the ZIP stream got. Never unhandled. */
  result: Promise<ExtractFramesResult>;
  /** ffmpeg's process id (undefined when it could not be started). */
  pid: number | undefined;
}

/** If ffmpeg exits 0 after decode errors with fewer than this share of the expected frames, the file is treated as truncated. */
const EARLY_STOP_SHARE = 0.5;

export function extractFramesToZip(o: ExtractFramesOptions): ExtractFramesRun {
  if (o.signal?.aborted) {
    // Cancelled before it started: no ffmpeg at all.
    const err = framesAbortError(o.signal.reason);
    const zip = new Readable({ read() {} });
    zip.on('error', () => {}); // the caller may attach its own listener later
    zip.destroy(err);
    const result = Promise.reject(err);
    result.catch(() => {});
    return { zip, result, pid: undefined };
  }
  const fps = o.fps ?? 1;
  const args = extractFramesArgs({
    inputPath: o.inputPath,
    demuxer: o.demuxer,
    fps,
    skipNonRefFrames: !o.exactFrames && skipsNonRefFramesFor(o.videoCodec),
    quality: o.quality,
    progressFd: 3,
  });

  const warnings: string[] = [];
  const writer = new StoredZipWriter({ mtime: o.mtime });
  const splitter = new JpegSplitter();
  const readProgress = progressLineReader();
  let frames = 0;
  let percent = 0;
  let failed: Error | null = null;

  const report = (next: number) => {
    if (next > percent) percent = next;
    o.onProgress?.({ percent, frames });
  };

  const tool = spawnStreaming(o.ffmpegPath, args, {
    timeoutMs: o.timeoutMs,
    signal: o.signal,
    extraPipes: 1,
    onStderrLine: (line) => {
      if (warnings.length < 20) warnings.push(line);
    },
    onPipeLine: (_pipe, line) => {
      const block = readProgress(line);
      // 100 is reported only once the ZIP is complete.
      if (block && !failed) report(Math.min(99.9, percentDone(block.outTimeUs, o.durationMs)));
    },
  });

  /** null when ffmpeg succeeded; the error to fail the ZIP with otherwise. */
  const verdict: Promise<Error | null> = tool.exited.then(
    (exit: StreamingExit): Error | null => {
      if (exit.aborted) return framesAbortError(o.signal?.reason);
      if (exit.timedOut) {
        return new FramesError('PROCESSING_ERROR', `ffmpeg did not finish within ${o.timeoutMs} ms`, { retryable: true, stderrTail: exit.stderrTail });
      }
      if (exit.killed) return new Error('ffmpeg was stopped because the ZIP stream was closed');
      if (exit.exitCode !== 0) {
        const err = classifyFfmpegFailure(exit.stderrTail)!;
        if (exit.signal) {
          return new FramesError('PROCESSING_ERROR', `ffmpeg was killed by ${exit.signal}`, { stderrTail: exit.stderrTail });
        }
        return err;
      }
      return classifyFfmpegFailure(exit.stderrTail, { truncatedOnly: true });
    },
    (err: unknown) => new FramesError('PROCESSING_ERROR', err instanceof ToolNotFoundError ? err.message : 'ffmpeg could not be started', { cause: err }),
  );

  const zip = new Transform({
    readableHighWaterMark: 256 * 1024, // plus the pipe and stdout buffers: about half a MiB ahead of a slow consumer
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      try {
        for (const image of splitter.push(chunk)) {
          frames++;
          for (const part of writer.addEntry(frameEntryName(frames), image)) this.push(part);
        }
      } catch (err) {
        callback(new FramesError('PROCESSING_ERROR', `ffmpeg wrote an unreadable JPEG stream: ${(err as Error).message}`, { cause: err }));
        return;
      }
      callback();
    },
    flush(callback: TransformCallback) {
      verdict.then((err) => {
        if (err) return callback(err);
        try {
          splitter.end();
        } catch (cause) {
          return callback(new FramesError('PROCESSING_ERROR', `ffmpeg's output ended inside a frame`, { cause }));
        }
        if (frames === 0) return callback(new FramesError('INVALID_MEDIA', 'No frame could be decoded from the video'));
        const expected = o.durationMs ? Math.floor((o.durationMs / 1000) * fps) : 0;
        if (warnings.length > 0 && frames < expected * EARLY_STOP_SHARE) {
          const reason = warnings.map(cleanLine).find(Boolean) ?? 'decode errors';
          return callback(new FramesError('INVALID_MEDIA', `Decoding stopped early: ${frames} of about ${expected} frames (${reason})`));
        }
        this.push(writer.finish());
        report(100);
        callback();
      }, callback);
    },
  });

  const fail = (err: Error) => {
    if (failed) return;
    failed = err;
    tool.kill();
    tool.stdout.unpipe(zip);
    tool.stdout.destroy();
    if (!zip.destroyed) zip.destroy(err);
  };

  let resolveResult!: (r: ExtractFramesResult) => void;
  let rejectResult!: (err: Error) => void;
  const result = new Promise<ExtractFramesResult>((resolve, reject) => {
    resolveResult = resolve;
    rejectResult = reject;
  });
  result.catch(() => {});

  zip.on('error', (err: Error) => {
    fail(err);
    rejectResult(failed ?? err);
  });
  zip.on('end', () => resolveResult({ frameCount: frames, zipBytes: writer.size, warnings }));
  zip.on('close', () => {
    // Destroyed by the consumer (e.g. the upload failed) before the end: stop ffmpeg.
    if (!zip.readableEnded) {
      const err = failed ?? new Error('The ZIP stream was closed before it ended');
      fail(err);
      rejectResult(err);
    }
  });

  // A failed run fails the ZIP at once, without waiting for buffered frames to drain.
  verdict.then((err) => {
    if (err) fail(err);
  });
  if (o.signal) {
    const onAbort = () => fail(framesAbortError(o.signal?.reason));
    if (o.signal.aborted) onAbort();
    else {
      o.signal.addEventListener('abort', onAbort, { once: true });
      tool.exited.finally(() => o.signal?.removeEventListener('abort', onAbort)).catch(() => {});
    }
  }

  tool.stdout.on('error', (err) => fail(new FramesError('PROCESSING_ERROR', `reading ffmpeg's output failed: ${err.message}`, { cause: err })));
  tool.stdout.pipe(zip);
  return { zip, result, pid: tool.pid };
}
