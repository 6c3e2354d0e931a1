/** Tiny media files made by the real ffmpeg, for tests. */
import { execFile } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export async function tempDir(prefix = 'moviola-test-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

/** A 2 s 320×240 25 fps H.264 + 48 kHz mono AAC MP4 (testsrc2 + sine). */
export async function makeTestClip(dir: string, name = 'clip.mp4'): Promise<string> {
  const path = join(dir, name);
  await run(process.env.FFMPEG_PATH ?? 'ffmpeg', [
    '-v', 'error', '-y',
    '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25',
    '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
    '-t', '2', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-ac', '1', '-shortest',
    path,
  ]);
  return path;
}
