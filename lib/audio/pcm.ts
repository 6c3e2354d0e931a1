/**
 * Decodes the first audio stream of an accepted file to mono 32-bit float PCM with ffmpeg, at the
 * analysis rate by default. The input is opened like every untrusted upload (file protocol only,
 * the probed demuxer forced with `-f`, never stdin); all channels are down-mixed to one (`-ac 1`,
 * swresample's standard matrix) and resampled (`-ar`), so mono 8 kHz, 5.1 at 96 kHz and VBR MP3
 * all arrive in the same shape. Samples stream from `pipe:1` into one growing Float32Array (no
 * Buffer.concat of the whole output).
 */
import { globalArgs, inputArgs, RenderError, renderFailure } from '../ffmpeg/ingest/run-ffmpeg.ts';
import { ToolNotFoundError } from '../ffmpeg/run-tool.ts';
import { spawnStreaming, type StreamingExit } from '../ffmpeg/spawn-streaming.ts';
import { ANALYSIS_SAMPLE_RATE } from './analysis.ts';

export interface DecodePcmOptions {
  ffmpegPath: string;
  /** The demuxer the probe detected (forced with `-f`); a playlist or unknown demuxer is INVALID_MEDIA. */
  demuxer: string;
  /** Output rate in Hz. Default ANALYSIS_SAMPLE_RATE (22 050). */
  sampleRate?: number;
  /** Bounds the ffmpeg run (SIGKILL after it). */
  timeoutMs: number;
  /** Aborting kills ffmpeg at once; the promise rejects with RenderError CANCELLED. */
  signal?: AbortSignal;
  /** Decode at most this much audio from the start (ffmpeg `-t`); default: the whole stream. */
  maxDurationMs?: number;
}

export interface DecodedPcm {
  /** Mono samples, nominally in [-1, 1]. */
  samples: Float32Array;
  sampleRate: number;
  /** samples.length / sampleRate, in ms. */
  durationMs: number;
}

/** The ffmpeg arguments of `decodePcm` (pure; exposed for tests). */
export function decodePcmArgs(path: string, demuxer: string, sampleRate: number, maxDurationMs?: number): string[] {
  if (!Number.isInteger(sampleRate) || sampleRate < 1000 || sampleRate > 384_000) {
    throw new RangeError(`sampleRate must be an integer in 1000–384000, got ${sampleRate}`);
  }
  const limit = maxDurationMs !== undefined && maxDurationMs > 0 ? ['-t', (maxDurationMs / 1000).toFixed(3)] : [];
  return [
    ...globalArgs(),
    ...inputArgs({ path, demuxer }),
    '-map', '0:a:0', '-vn', '-sn', '-dn',
    ...limit,
    '-ac', '1', '-ar', String(sampleRate),
    '-f', 'f32le', '-c:a', 'pcm_f32le', 'pipe:1',
  ];
}

/** Little-endian float32 stream → one Float32Array that doubles its capacity as needed. */
class SampleSink {
  private data = new Float32Array(1 << 18);
  private length = 0;
  private readonly carry = Buffer.alloc(4);
  private carried = 0;

  push(chunk: Buffer): void {
    let offset = 0;
    if (this.carried > 0) {
      const take = Math.min(4 - this.carried, chunk.length);
      chunk.copy(this.carry, this.carried, 0, take);
      this.carried += take;
      offset = take;
      if (this.carried < 4) return;
      this.append(this.carry, 0, 1);
      this.carried = 0;
    }
    const whole = Math.floor((chunk.length - offset) / 4);
    this.append(chunk, offset, whole);
    const rest = chunk.length - offset - whole * 4;
    if (rest > 0) {
      chunk.copy(this.carry, 0, offset + whole * 4);
      this.carried = rest;
    }
  }

  private append(buf: Buffer, byteOffset: number, count: number): void {
    if (count === 0) return;
    if (this.length + count > this.data.length) {
      let capacity = this.data.length * 2;
      while (capacity < this.length + count) capacity *= 2;
      const grown = new Float32Array(capacity);
      grown.set(this.data.subarray(0, this.length));
      this.data = grown;
    }
    const view = new DataView(buf.buffer, buf.byteOffset + byteOffset, count * 4);
    const data = this.data;
    let at = this.length;
    for (let i = 0; i < count; i++) {
      const v = view.getFloat32(i * 4, true);
      data[at++] = Number.isFinite(v) ? v : 0;
    }
    this.length = at;
  }

  result(): Float32Array {
    return this.data.slice(0, this.length);
  }
}

/**
 * Decodes `path` to mono Float32 PCM. Rejects with RenderError: INVALID_MEDIA when the file has no
 * audio stream or cannot be decoded, CANCELLED when `signal` aborts, PROCESSING_ERROR otherwise.
 */
export async function decodePcm(path: string, options: DecodePcmOptions): Promise<DecodedPcm> {
  const sampleRate = options.sampleRate ?? ANALYSIS_SAMPLE_RATE;
  let args: string[];
  try {
    args = decodePcmArgs(path, options.demuxer, sampleRate, options.maxDurationMs);
  } catch (err) {
    if (err instanceof RangeError && /demuxer|path/.test(err.message)) {
      throw new RenderError('INVALID_MEDIA', `The container ${JSON.stringify(options.demuxer)} is not accepted for audio analysis`, { retryable: false });
    }
    throw err;
  }
  if (options.signal?.aborted) throw new RenderError('CANCELLED', 'The decode was cancelled', { retryable: false });
  const tool = spawnStreaming(options.ffmpegPath, args, {
    timeoutMs: options.timeoutMs,
    signal: options.signal,
    dieWithParent: true,
  });
  const sink = new SampleSink();
  tool.stdout.on('data', (chunk: Buffer) => sink.push(chunk));
  tool.stdout.on('error', () => {});
  let exit: StreamingExit;
  try {
    exit = await tool.exited;
  } catch (err) {
    throw new RenderError('PROCESSING_ERROR', err instanceof ToolNotFoundError ? err.message : 'ffmpeg could not be started', { cause: err });
  }
  const failure = renderFailure(exit, options.timeoutMs);
  if (failure) throw failure;
  const samples = sink.result();
  return { samples, sampleRate, durationMs: (samples.length / sampleRate) * 1000 };
}
