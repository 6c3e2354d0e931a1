/**
 * Small frames for the video analysers, sampled through one ffmpeg pipe: the first video stream is
 * decoded, resampled to a fixed rate (`fps`, default 10 per second), scaled down to a fixed small
 * picture (default 64×36, aspect ignored: the analysers compare frames with each other, never
 * measure shapes) and written as packed RGB24 back to back on stdout. Frames are handed to the
 * caller one at a time as they arrive: no frame files, no whole video in memory.
 *
 * Timing: the `fps` filter rounds each decoded frame's timestamp to the nearest output tick and
 * emits, at tick k, the latest frame whose rounded time is ≤ k; `start_time=0` numbers the ticks
 * from t = 0 (a stream whose first picture comes later is padded with that picture), and
 * `eof_action=pass` keeps the last picture (a single image, or a one-frame stream, gives one
 * sample instead of none). Sample k
 * therefore shows what was on screen at k / fps s (± half a tick), and the first sample after a
 * hard cut at T is the one at round(T · fps): reporting the cut at that sample's time is off by at
 * most 1 / (2 · fps) s (50 ms at 10 fps, a frame and a quarter of 25 fps video).
 *
 * Cost: decoding dominates (scaling a decoded 720p picture to 64×36 is a small fraction of its
 * decode; the `fps` filter drops frames before the scaler). For H.264 the decoder may skip
 * non-reference pictures (`-skip_frame noref`, as the frames job does): a sample whose source
 * would have been such a picture shows the picture just before it (one source frame earlier),
 * which saves about a third of the decode. Callers decide (`skipNonReference`).
 *
 * Input is opened like every upload (`inputArgs`: file protocol only, the probed demuxer forced).
 */
import { globalArgs, inputArgs, RenderError, renderFailure, seconds } from '../ffmpeg/ingest/run-ffmpeg.ts';
import { ToolNotFoundError } from '../ffmpeg/run-tool.ts';
import { spawnStreaming, type StreamingExit } from '../ffmpeg/spawn-streaming.ts';

/** Frames sampled per second of video. */
export const SAMPLE_FPS = 10;
/** Size of the sampled pictures. */
export const FRAME_WIDTH = 64;
export const FRAME_HEIGHT = 36;

export interface FrameGeometry {
  fps: number;
  width: number;
  height: number;
}

export interface SampleFramesArgsOptions extends Partial<FrameGeometry> {
  /** `-skip_frame noref` on the decoder (meant for H.264 only). Default false. */
  skipNonReference?: boolean;
  /**
   * A window of the video instead of all of it: `-ss startMs` / `-t durationMs` as input options
   * (an accurate seek: timestamps then start at 0, so sample k is at startMs + k / fps s of the
   * source). Default: the whole video.
   */
  startMs?: number;
  durationMs?: number;
}

/** The ffmpeg arguments of `sampleFrames` (pure; exposed for tests). Throws RangeError on a bad demuxer, path or geometry. */
export function sampleFramesArgs(path: string, demuxer: string, options: SampleFramesArgsOptions = {}): string[] {
  const { fps, width, height } = geometry(options);
  return [
    ...globalArgs(),
    ...inputArgs({ path, demuxer }, [...windowArgs(options), ...(options.skipNonReference ? ['-skip_frame', 'noref'] : [])]),
    '-map', '0:v:0', '-an', '-sn', '-dn',
    '-vf', `fps=${fps}:start_time=0:eof_action=pass,scale=${width}:${height}:flags=area,format=rgb24`,
    '-f', 'rawvideo', '-pix_fmt', 'rgb24',
    'pipe:1',
  ];
}

/** `-ss`/`-t` input options of a window (none by default). Throws RangeError on a bad window. */
function windowArgs(options: Pick<SampleFramesArgsOptions, 'startMs' | 'durationMs'>): string[] {
  const args: string[] = [];
  if (options.startMs !== undefined) {
    if (!Number.isFinite(options.startMs) || options.startMs < 0) throw new RangeError(`startMs must be ≥ 0, got ${options.startMs}`);
    if (options.startMs > 0) args.push('-ss', seconds(options.startMs));
  }
  if (options.durationMs !== undefined) {
    if (!Number.isFinite(options.durationMs) || options.durationMs <= 0) throw new RangeError(`durationMs must be > 0, got ${options.durationMs}`);
    args.push('-t', seconds(options.durationMs));
  }
  return args;
}

function geometry(options: Partial<FrameGeometry>): FrameGeometry {
  const fps = options.fps ?? SAMPLE_FPS;
  const width = options.width ?? FRAME_WIDTH;
  const height = options.height ?? FRAME_HEIGHT;
  if (!Number.isFinite(fps) || fps <= 0 || fps > 60) throw new RangeError(`fps must be in (0, 60], got ${fps}`);
  for (const [name, v] of [['width', width], ['height', height]] as const) {
    if (!Number.isInteger(v) || v < 8 || v > 1024 || v % 2 !== 0) throw new RangeError(`${name} must be an even integer in 8–1024, got ${v}`);
  }
  return { fps, width, height };
}

export interface SampleFramesOptions extends SampleFramesArgsOptions {
  ffmpegPath: string;
  /** The demuxer the probe detected (forced with `-f`). */
  demuxer: string;
  /** Bounds the ffmpeg run (SIGKILL after it). */
  timeoutMs: number;
  /** Aborting kills ffmpeg at once; the promise rejects with RenderError CANCELLED. */
  signal?: AbortSignal;
  /**
   * Called for each frame in order, synchronously: `rgb` is width × height × 3 bytes, row-major,
   * and is reused for the next frame (copy what you keep). Sample `index` is at index / fps s.
   */
  onFrame: (rgb: Uint8Array, index: number) => void;
}

export interface SampledFrames extends FrameGeometry {
  /** How many frames were delivered. */
  frames: number;
}

/**
 * Decodes `path` and delivers its sampled frames to `onFrame`. Rejects with RenderError:
 * INVALID_MEDIA (no video stream, undecodable, truncated, a demuxer that is not accepted, or no
 * frame at all), CANCELLED (signal), PROCESSING_ERROR (timeout, ffmpeg missing or killed, or an
 * exception thrown by `onFrame`, which also kills ffmpeg).
 */
export async function sampleFrames(path: string, options: SampleFramesOptions): Promise<SampledFrames> {
  const geo = geometry(options);
  let args: string[];
  try {
    args = sampleFramesArgs(path, options.demuxer, options);
  } catch (err) {
    if (err instanceof RangeError && /demuxer|path/.test(err.message)) {
      throw new RenderError('INVALID_MEDIA', `The container ${JSON.stringify(options.demuxer)} is not accepted for video analysis`, { retryable: false });
    }
    throw err;
  }
  if (options.signal?.aborted) throw new RenderError('CANCELLED', 'The video analysis was cancelled', { retryable: false });

  const frameBytes = geo.width * geo.height * 3;
  const frame = new Uint8Array(frameBytes);
  let filled = 0;
  let index = 0;
  let callbackError: unknown = null;

  const tool = spawnStreaming(options.ffmpegPath, args, { timeoutMs: options.timeoutMs, signal: options.signal, dieWithParent: true });
  tool.stdout.on('data', (chunk: Buffer) => {
    if (callbackError !== null) return;
    let offset = 0;
    try {
      while (offset < chunk.length) {
        const take = Math.min(frameBytes - filled, chunk.length - offset);
        frame.set(chunk.subarray(offset, offset + take), filled);
        filled += take;
        offset += take;
        if (filled === frameBytes) {
          options.onFrame(frame, index++);
          filled = 0;
        }
      }
    } catch (err) {
      callbackError = err;
      tool.kill();
    }
  });
  tool.stdout.on('error', () => {});

  let exit: StreamingExit;
  try {
    exit = await tool.exited;
  } catch (err) {
    throw new RenderError('PROCESSING_ERROR', err instanceof ToolNotFoundError ? err.message : 'ffmpeg could not be started', { cause: err });
  }
  if (callbackError !== null && !exit.aborted) {
    throw new RenderError('PROCESSING_ERROR', `The frame analysis failed: ${callbackError instanceof Error ? callbackError.message : String(callbackError)}`, { cause: callbackError });
  }
  const failure = renderFailure(exit, options.timeoutMs);
  if (failure) throw failure;
  if (index === 0) throw new RenderError('INVALID_MEDIA', 'No video frame could be decoded', { retryable: false, stderrTail: exit.stderrTail.slice(-2000) });
  return { ...geo, frames: index };
}
