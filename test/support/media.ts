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
