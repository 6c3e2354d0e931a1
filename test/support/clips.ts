/**
 * Media for clip-job tests: a performance video whose picture is a chain of distinct generated
 * shots (hard cuts at known times) and whose sound is pink noise and a wandering tone with,
 * optionally, a rendered track placed at a known offset; and reference tracks rendered from MIDI.
 */
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { renderTrack, type ReferenceTrack } from '../../scripts/genre-reference-set.ts';
import { wavBytes } from './audio-truth.ts';

const run = promisify(execFile);
const FFMPEG = process.env.FFMPEG_PATH ?? 'ffmpeg';

const SHOTS = [
  'testsrc2=size=320x180:rate=25',
  'smptebars=size=320x180:rate=25',
  'mandelbrot=size=320x180:rate=25',
  'cellauto=size=320x180:rate=25:rule=110',
  'testsrc=size=320x180:rate=25',
  'rgbtestsrc=size=320x180:rate=25',
];

export interface PerformanceOptions {
  seconds: number;
  /** Length of each shot (s); the cuts are at its multiples. Default 8. */
  shotSeconds?: number;
  /** A WAV placed in the mix with its t=0 at offsetS into the video (negative: the video starts inside it). */
  track?: { wav: string; offsetS: number };
  /** false: a video without any audio stream. Default true. */
  audio?: boolean;
}

/** An H.264 + AAC MP4 at 320×180, 25 fps. Returns its path. */
export async function makePerformance(dir: string, name: string, options: PerformanceOptions): Promise<string> {
  const path = join(dir, name);
  const shot = options.shotSeconds ?? 8;
  const count = Math.ceil(options.seconds / shot);
  const inputs: string[] = [];
  for (let i = 0; i < count; i++) inputs.push('-f', 'lavfi', '-t', String(shot), '-i', `${SHOTS[i % SHOTS.length]},format=yuv420p`);
  const video = `${Array.from({ length: count }, (_, i) => `[${i}:v]`).join('')}concat=n=${count}:v=1:a=0[v]`;
  const args = ['-v', 'error', '-y', ...inputs];
  let filter = video;
  const maps = ['-map', '[v]'];
  if (options.audio !== false) {
    const s = options.seconds;
    args.push('-f', 'lavfi', '-i', `anoisesrc=color=pink:amplitude=0.2:seed=7:duration=${s}`);
    args.push('-f', 'lavfi', '-i', `aevalsrc=exprs='0.2*sin(2*PI*(300+200*sin(0.3*t))*t)*lt(mod(t,1.7),0.4)':s=44100:d=${s}`);
    const noise = count, tone = count + 1;
    if (options.track) {
      args.push('-i', options.track.wav);
      const offset = options.track.offsetS;
      const place = offset >= 0 ? `adelay=${Math.round(offset * 1000)}` : `atrim=start=${-offset},asetpts=PTS-STARTPTS`;
      filter += `;[${count + 2}:a]${place},volume=0.6[m];[${noise}:a][${tone}:a][m]amix=inputs=3:duration=first:normalize=0[a]`;
    } else {
      filter += `;[${noise}:a][${tone}:a]amix=inputs=2:duration=first:normalize=0[a]`;
    }
    maps.push('-map', '[a]');
  }
  args.push('-filter_complex', filter, ...maps, '-t', String(options.seconds), '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p');
  if (options.audio !== false) args.push('-c:a', 'aac', '-ar', '48000');
  args.push(path);
  await run(FFMPEG, args);
  return path;
}

/** A reference track (scripts/genre-reference-set.ts) rendered to a 44.1 kHz WAV. */
export async function makeReferenceTrackWav(dir: string, track: ReferenceTrack): Promise<{ wav: string; seconds: number }> {
  const samples = await renderTrack(track, {
    sampleRate: 44_100,
    fluidsynthPath: process.env.FLUIDSYNTH_PATH,
    soundfont: process.env.SOUNDFONT_PATH,
    ffmpegPath: FFMPEG,
  });
  const wav = join(dir, `${track.id}.wav`);
  await writeFile(wav, wavBytes(samples, 44_100));
  return { wav, seconds: samples.length / 44_100 };
}

/** A single-colour H.264 + AAC MP4 (lavfi `color`, a steady sine as its sound), 320×180 at 25 fps. */
export async function makeColourVideo(dir: string, name: string, options: { seconds: number; colour?: string }): Promise<string> {
  const path = join(dir, name);
  await run(FFMPEG, [
    '-v', 'error', '-y',
    '-f', 'lavfi', '-i', `color=c=${options.colour ?? 'blue'}:size=320x180:rate=25`,
    '-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=48000`,
    '-t', String(options.seconds), '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-ac', '1',
    '-movflags', '+faststart', path,
  ]);
  return path;
}

/** One PNG picture shown for `seconds` (`-loop 1`): a still image sequence as H.264 MP4 at 25 fps, without audio. */
export async function makeStillVideo(dir: string, name: string, options: { seconds: number }): Promise<string> {
  const png = join(dir, `${name}.png`);
  await run(FFMPEG, ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=320x180', '-frames:v', '1', '-update', '1', png]);
  const path = join(dir, name);
  await run(FFMPEG, [
    '-v', 'error', '-y', '-loop', '1', '-framerate', '25', '-i', png,
    '-t', String(options.seconds), '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-movflags', '+faststart', path,
  ]);
  return path;
}

/**
 * A long H.264 + AAC MP4 made quickly: a short segment (testsrc2 + sine; x264 `veryfast` without
 * B-frames, so every picture is a reference the analysis must decode) repeated with stream copy to
 * `seconds` (a multiple of the segment). A large `size` with a high `crf` gives a small file that is
 * slow to decode (4K at crf 51: ~90 KB and ~0.3 s of analysis per second on a 2-core machine).
 */
export async function makeLongVideo(dir: string, name: string, options: { seconds: number; size?: string; crf?: number; segmentSeconds?: number }): Promise<string> {
  const segmentSeconds = options.segmentSeconds ?? 2;
  const repeats = Math.round(options.seconds / segmentSeconds);
  if (repeats < 1 || repeats * segmentSeconds !== options.seconds) throw new RangeError(`seconds must be a multiple of ${segmentSeconds}`);
  const segment = join(dir, `${name}.segment.mp4`);
  await run(FFMPEG, [
    '-v', 'error', '-y',
    '-f', 'lavfi', '-i', `testsrc2=size=${options.size ?? '640x360'}:rate=25`, '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
    '-t', String(segmentSeconds), '-c:v', 'libx264', '-preset', 'veryfast', '-bf', '0', '-crf', String(options.crf ?? 23), '-pix_fmt', 'yuv420p',
    '-c:a', 'aac', '-ac', '1', '-shortest', segment,
  ]);
  const path = join(dir, name);
  await run(FFMPEG, ['-v', 'error', '-y', '-stream_loop', String(repeats - 1), '-i', segment, '-c', 'copy', '-movflags', '+faststart', path]);
  return path;
}

/** A click track (a 5 ms 1 kHz burst every 0.5 s) as a 44.1 kHz mono WAV. */
export async function makeClickTrackWav(dir: string, name: string, options: { seconds: number }): Promise<string> {
  const path = join(dir, name);
  await run(FFMPEG, [
    '-v', 'error', '-y', '-f', 'lavfi', '-i', `aevalsrc=exprs='0.8*sin(2*PI*1000*t)*lt(mod(t,0.5),0.005)':s=44100:d=${options.seconds}`,
    '-ac', '1', '-c:a', 'pcm_s16le', path,
  ]);
  return path;
}
