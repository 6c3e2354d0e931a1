/**
 * Asset ingest: wall time of Moviola's video ingest renders against the baseline measured
 * in the same run. Not a test: numbers only.
 *
 *   node bench/ingest.ts [--rounds N]
 *
 * Clip: 60 s, 1280×720, 25 fps, H.264 + AAC (testsrc2 + sine), made once into .data/bench/.
 *
 * - baseline: the naive sequence of separate ffmpeg commands producing the same outputs —
 *   ffprobe; poster (one frame at 10 %); 480p proxy; 720p proxy; HLS 360p + 720p (one command,
 *   two outputs) — with the same x264/AAC settings as Moviola's builders.
 * - moviola: what the ingest's media activities run, through the same library functions —
 *   ffprobe, then in parallel: the heavy encode (proxies + HLS from one decode, the 720p encode
 *   shared by proxy_720 and the 720p rung) ‖ poster (black/blank frames skipped) ‖ sprite ‖
 *   scene detection. Moviola does more (sprite, scenes, a chosen poster) in the same time budget.
 *   Storage, PostgreSQL and Temporal overheads are not in this figure.
 *
 * Prints the per-step times of both and `moviola / baseline` (goal ≤ 0.75).
 */
import { execFile } from 'node:child_process';
import { mkdir, rm, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { parseArgs } from 'node:util';
import { renderPoster } from '../lib/ffmpeg/ingest/poster.ts';
import type { FfmpegRunOptions, SourceMedia } from '../lib/ffmpeg/ingest/run-ffmpeg.ts';
import { detectScenes } from '../lib/ffmpeg/ingest/scenes.ts';
import { renderSprite } from '../lib/ffmpeg/ingest/sprite.ts';
import { encoderArgs, hlsOutputArgs, HLS_RUNGS, PROXY_SETTINGS, renderVideoRenditions, scaleFilter } from '../lib/ffmpeg/ingest/video-renditions.ts';
import { probeMedia } from '../lib/ffmpeg/probe.ts';

const run = promisify(execFile);
const { values: flags } = parseArgs({ options: { rounds: { type: 'string', default: '1' } } });
const rounds = Math.max(1, Number(flags.rounds));
const FFMPEG = process.env.FFMPEG_PATH ?? 'ffmpeg';
const FFPROBE = process.env.FFPROBE_PATH ?? 'ffprobe';
const root = resolve(import.meta.dirname, '..', '.data', 'bench');
const clip = join(root, 'ingest-60s-720p25-h264.mp4');

async function ensureClip(): Promise<void> {
  try {
    await stat(clip);
    return;
  } catch {
    await mkdir(root, { recursive: true });
  }
  process.stdout.write('making the 60 s 720p clip…\n');
  await run(FFMPEG, [
    '-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=1280x720:rate=25', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
    '-t', '60', '-c:v', 'libx264', '-preset', 'veryfast', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-shortest', '-movflags', '+faststart', clip,
  ]);
}

async function timed<T>(times: Record<string, number>, name: string, work: () => Promise<T>): Promise<T> {
  const started = performance.now();
  const result = await work();
  times[name] = (performance.now() - started) / 1000;
  return result;
}

async function baseline(dir: string): Promise<Record<string, number>> {
  const t: Record<string, number> = {};
  const ff = (args: string[]) => run(FFMPEG, ['-v', 'error', '-y', '-i', clip, ...args], { maxBuffer: 1 << 24 });
  const all = performance.now();
  await timed(t, 'probe', () => run(FFPROBE, ['-v', 'error', '-show_format', '-show_streams', '-of', 'json', clip]));
  await timed(t, 'poster', () => run(FFMPEG, ['-v', 'error', '-y', '-ss', '6', '-i', clip, '-frames:v', '1', '-q:v', '3', join(dir, 'poster.jpg')]));
  for (const [name, height] of [['proxy_480', 480], ['proxy_720', 720]] as const) {
    await timed(t, name, () => ff(['-vf', scaleFilter(height), ...encoderArgs({ ...PROXY_SETTINGS[name], keyframes: false, audio: true }), '-movflags', '+faststart', join(dir, `${name}.mp4`)]));
  }
  const rungs = HLS_RUNGS.filter((r) => r.height <= 720);
  await timed(t, 'hls_360_720', () => ff(rungs.flatMap((r) => ['-map', '0:v:0', '-map', '0:a:0', '-vf', scaleFilter(r.height), ...encoderArgs({ ...r, profile: 'high', keyframes: true, audio: true }), ...hlsOutputArgs(dir, r.name)])));
  t.total = (performance.now() - all) / 1000;
  return t;
}

async function moviola(dir: string): Promise<Record<string, number>> {
  const t: Record<string, number> = {};
  const options: FfmpegRunOptions = { ffmpegPath: FFMPEG, timeoutMs: 30 * 60_000 };
  const all = performance.now();
  const probed = await timed(t, 'probe', () => probeMedia(clip, { ffprobePath: FFPROBE, timeoutMs: 30_000 }));
  const video = probed.metadata.streams.find((s) => s.type === 'video')!;
  const source: SourceMedia = {
    path: clip, demuxer: probed.demuxer, durationMs: probed.metadata.duration_ms, width: video.width, height: video.height, fps: video.fps,
    hasAudio: probed.metadata.streams.some((s) => s.type === 'audio'), hasVideo: true,
  };
  await Promise.all([
    timed(t, 'heavy: proxies + hls', () => renderVideoRenditions(source, join(dir, 'renditions'), { proxies: true, hls: true }, options)),
    timed(t, 'poster', () => renderPoster(source, join(dir, 'poster.jpg'), options)),
    timed(t, 'sprite', () => renderSprite(source, join(dir, 'sprite.jpg'), options)),
    timed(t, 'scenes', () => detectScenes(source, options)),
  ]);
  t.total = (performance.now() - all) / 1000;
  return t;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

await ensureClip();
const results: Record<'baseline' | 'moviola', Array<Record<string, number>>> = { baseline: [], moviola: [] };
for (let round = 1; round <= rounds; round++) {
  for (const which of ['baseline', 'moviola'] as const) {
    const dir = join(root, `ingest-run-${process.pid}-${which}`);
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true });
    try {
      results[which].push(await (which === 'baseline' ? baseline(dir) : moviola(dir)));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    process.stdout.write(`round ${round} ${which}: ${results[which].at(-1)!.total!.toFixed(1)} s\n`);
  }
}
for (const which of ['baseline', 'moviola'] as const) {
  const keys = Object.keys(results[which][0]!);
  process.stdout.write(`\n${which} (median of ${rounds}):\n`);
  for (const key of keys) process.stdout.write(`  ${key.padEnd(24)} ${median(results[which].map((r) => r[key]!)).toFixed(2)} s\n`);
}
const ratio = median(results.moviola.map((r) => r.total!)) / median(results.baseline.map((r) => r.total!));
process.stdout.write(`\nmoviola / baseline (wall time): ${ratio.toFixed(2)}  (goal ≤ 0.75)\n`);
