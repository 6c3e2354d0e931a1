/** Tiny media files made by the real ffmpeg, for tests. */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export async function tempDir(prefix = 'moviola-test-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

/** A 320×240 25 fps H.264 + 48 kHz mono AAC MP4 (testsrc2 + sine), 2 s unless told, moov first. */
export async function makeTestClip(dir: string, name = 'clip.mp4', options: { seconds?: number; size?: string } = {}): Promise<string> {
  const path = join(dir, name);
  await run(process.env.FFMPEG_PATH ?? 'ffmpeg', [
    '-v', 'error', '-y',
    '-f', 'lavfi', '-i', `testsrc2=size=${options.size ?? '320x240'}:rate=25`,
    '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
    '-t', String(options.seconds ?? 2), '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-ac', '1', '-shortest',
    ...(name.endsWith('.mp4') || name.endsWith('.mov') ? ['-movflags', '+faststart'] : []),
    path,
  ]);
  return path;
}

/** A PNG image made by ffmpeg. */
export async function makePng(dir: string, name = 'image.png'): Promise<string> {
  const path = join(dir, name);
  await run(process.env.FFMPEG_PATH ?? 'ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=64x64', '-frames:v', '1', path]);
  return path;
}

/**
 * An MP4 that probes (its moov atom, at the front, is whole) but cannot be decoded: the file is
 * cut a few bytes into its media data.
 */
export async function makeUndecodableMp4(dir: string): Promise<string> {
  const source = await makeTestClip(dir, 'whole.mp4', { seconds: 3 });
  const bytes = await readFile(source);
  const mdat = bytes.indexOf(Buffer.from('mdat'));
  if (mdat < 0) throw new Error('no mdat atom');
  const path = join(dir, 'truncated.mp4');
  await writeFile(path, bytes.subarray(0, mdat + 64));
  return path;
}

/**
 * A clip made of consecutive lavfi video sources (e.g. `color=c=black`, `testsrc2`,
 * `color=c=red`), each for its seconds, joined with hard cuts: H.264 (ultrafast, yuv420p),
 * plus a 48 kHz sine AAC track unless `audio: false`. Default 320×240 at 25 fps.
 */
export async function makeSegmentedClip(
  dir: string,
  name: string,
  segments: ReadonlyArray<{ source: string; seconds: number }>,
  options: { size?: string; fps?: number; audio?: boolean; extraArgs?: string[] } = {},
): Promise<string> {
  const path = join(dir, name);
  const size = options.size ?? '320x240';
  const fps = options.fps ?? 25;
  const total = segments.reduce((sum, s) => sum + s.seconds, 0);
  const inputs = segments.flatMap((s) => ['-f', 'lavfi', '-i', `${s.source}${s.source.includes('=') ? ':' : '='}size=${size}:rate=${fps}:duration=${s.seconds}`]);
  const graph = `${segments.map((_, i) => `[${i}:v]setsar=1[c${i}]`).join(';')};${segments.map((_, i) => `[c${i}]`).join('')}concat=n=${segments.length}:v=1:a=0[v]`;
  const audio = options.audio ?? true;
  await run(process.env.FFMPEG_PATH ?? 'ffmpeg', [
    '-v', 'error', '-y',
    ...inputs,
    ...(audio ? ['-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=48000:duration=${total}`] : []),
    '-filter_complex', graph,
    '-map', '[v]', ...(audio ? ['-map', `${segments.length}:a`, '-c:a', 'aac', '-ac', '1'] : []),
    '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p',
    '-t', String(total),
    ...(options.extraArgs ?? []),
    ...(name.endsWith('.mp4') || name.endsWith('.mov') ? ['-movflags', '+faststart'] : []),
    path,
  ]);
  return path;
}

/** A PNG of `size` (default 600×300) made by ffmpeg: testsrc2, or fully transparent with `transparent: true`. */
export async function makeSizedPng(dir: string, name: string, options: { size?: string; transparent?: boolean } = {}): Promise<string> {
  const path = join(dir, name);
  const size = options.size ?? '600x300';
  const source = options.transparent ? `color=c=black@0.0:size=${size},format=rgba` : `testsrc2=size=${size}`;
  await run(process.env.FFMPEG_PATH ?? 'ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', source, '-frames:v', '1', '-update', '1', path]);
  return path;
}

/** Mean luma (0–255) of a picture's first frame (any format ffmpeg reads), through a 64×36 gray downscale. */
export async function meanLuma(path: string): Promise<number> {
  const { stdout } = await run(
    process.env.FFMPEG_PATH ?? 'ffmpeg',
    ['-v', 'error', '-i', path, '-frames:v', '1', '-vf', 'scale=64:36,format=gray', '-f', 'rawvideo', '-'],
    { encoding: 'buffer', maxBuffer: 1024 * 1024 },
  );
  const bytes = stdout as Buffer;
  let sum = 0;
  for (const b of bytes) sum += b;
  return bytes.length > 0 ? sum / bytes.length : 0;
}

/**
 * A 320×240 H.264 MP4 (no audio) displayed rotated by 90° (portrait 240×320): ffmpeg 5.1 no longer
 * writes a `rotate` tag, so the video track header's display matrix is patched in place
 * (ffprobe then reports rotation -90, as for portrait phone video).
 */
export async function makeRotatedClip(dir: string, name = 'rotated.mp4', options: { seconds?: number } = {}): Promise<string> {
  const path = join(dir, name);
  await run(process.env.FFMPEG_PATH ?? 'ffmpeg', [
    '-v', 'error', '-y', '-f', 'lavfi', '-i', `testsrc2=size=320x240:rate=25:duration=${options.seconds ?? 2}`,
    '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-movflags', '+faststart', path,
  ]);
  const bytes = await readFile(path);
  const tkhd = bytes.indexOf(Buffer.from('tkhd')) - 4;
  if (tkhd < 0 || bytes[tkhd + 8] !== 0) throw new Error('no version-0 tkhd box');
  const matrix = [0, 0x00010000, 0, 0xffff0000, 0, 0, 0, 0, 0x40000000];
  matrix.forEach((value, i) => bytes.writeUInt32BE(value >>> 0, tkhd + 48 + i * 4));
  await writeFile(path, bytes);
  return path;
}
