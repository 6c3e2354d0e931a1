/**
 * Audio renditions: the playable audio proxy (AAC 128 kb/s stereo in an M4A with the index at the
 * front, `+faststart`) and the waveform picture (`showwavespic`, one PNG).
 */
import { readFile, stat } from 'node:fs/promises';
import { pngSize } from './image-size.ts';
import { assertRenderable, globalArgs, inputArgs, outputArg, RenderError, runFfmpeg, type FfmpegRunOptions, type SourceMedia } from './run-ffmpeg.ts';

export const AUDIO_PROXY_KBPS = 128;
export const WAVEFORM_WIDTH = 1800;
export const WAVEFORM_HEIGHT = 280;
export const WAVEFORM_COLOR = '#3b82f6';

/** The audio proxy command: first audio stream → AAC 128k stereo, M4A, `+faststart`. Pure. */
export function audioProxyArgs(source: SourceMedia, outPath: string): string[] {
  return [
    ...globalArgs(),
    ...inputArgs(source),
    '-map', '0:a:0',
    '-vn', '-sn', '-dn',
    '-c:a', 'aac', '-b:a', `${AUDIO_PROXY_KBPS}k`, '-ac', '2',
    '-movflags', '+faststart',
    '-f', 'mp4',
    outputArg(outPath),
  ];
}

/** The waveform command: first audio stream downmixed to mono, drawn as one width×height PNG (transparent background). Pure. */
export function waveformArgs(source: SourceMedia, outPath: string, size: { width: number; height: number } = { width: WAVEFORM_WIDTH, height: WAVEFORM_HEIGHT }): string[] {
  if (![size.width, size.height].every((n) => Number.isInteger(n) && n > 0 && n <= 8192)) throw new RangeError('bad waveform size');
  return [
    ...globalArgs(),
    ...inputArgs(source),
    '-filter_complex', `[0:a:0]aformat=channel_layouts=mono,showwavespic=s=${size.width}x${size.height}:colors=${WAVEFORM_COLOR}:scale=sqrt[w]`,
    '-map', '[w]',
    '-frames:v', '1',
    '-c:v', 'png',
    '-update', '1',
    '-f', 'image2',
    outputArg(outPath),
  ];
}

function requireAudio(source: SourceMedia): void {
  assertRenderable(source);
  if (!source.hasAudio) throw new RenderError('INVALID_MEDIA', 'The file has no audio stream', { retryable: false });
}

/** Writes the audio proxy (`.m4a`); its size, overall bitrate (bits/s) and duration. */
export async function renderAudioProxy(source: SourceMedia, outPath: string, options: FfmpegRunOptions): Promise<{ bitrate: number; sizeBytes: number; durationMs: number }> {
  requireAudio(source);
  const { outTimeUs } = await runFfmpeg(audioProxyArgs(source, outPath), source.durationMs, options);
  const sizeBytes = (await stat(outPath)).size;
  const durationMs = outTimeUs > 0 ? Math.round(outTimeUs / 1000) : (source.durationMs ?? 0);
  if (sizeBytes === 0 || durationMs <= 0) throw new RenderError('INVALID_MEDIA', 'No audio could be decoded', { retryable: false });
  return { bitrate: Math.round((sizeBytes * 8 * 1000) / durationMs), sizeBytes, durationMs };
}

/** Writes the waveform PNG; its size. */
export async function renderWaveform(source: SourceMedia, outPath: string, options: FfmpegRunOptions): Promise<{ width: number; height: number }> {
  requireAudio(source);
  await runFfmpeg(waveformArgs(source, outPath), source.durationMs, options);
  const dims = pngSize(await readFile(outPath).catch(() => Buffer.alloc(0)));
  if (!dims) throw new RenderError('INVALID_MEDIA', 'No audio could be decoded for the waveform', { retryable: false });
  return dims;
}
