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
