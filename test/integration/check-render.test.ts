/**
 * The render A/V sync check (issue 8) on real media: tiny 8 s clips (160×120 testsrc2, AAC) whose
 * audio is a fluidsynth-rendered reference track from a known track time mixed with pink noise,
 * clips whose audio starts late or ends early, a Matroska clip (stream durations counted from
 * packets), and tones measured with ebur128.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import {
  judgeRender,
  measureLoudness,
  musicDeviationMs,
  probeRender,
  readRenderStreams,
  streamDeviationMs,
  type RenderProbe,
} from '../../lib/clips/check-render.ts';
import { RenderError } from '../../lib/ffmpeg/ingest/run-ffmpeg.ts';
import { makeReferenceTrackWav } from '../support/clips.ts';
import { tempDir } from '../support/media.ts';

const run = promisify(execFile);
const FFMPEG = process.env.FFMPEG_PATH ?? 'ffmpeg';
const FFPROBE = process.env.FFPROBE_PATH ?? 'ffprobe';
const TOOLS = { ffmpegPath: FFMPEG, ffprobePath: FFPROBE, timeoutMs: 30_000 };

/** Where the track starts in the clips (s) and how long the clips are (s). */
const TRACK_START_S = 7.3;
const CLIP_S = 8;
/** How late the audio stream of the "late" clip starts (s). */
const LATE_S = 0.2;

let dir: string;
let track: string;

/**
 * An 8 s H.264 + AAC clip whose audio is the track from TRACK_START_S with pink noise.
 * `audioS`: the audio stream is that long.
 */
async function clip(name: string, options: { audioS?: number; container?: 'mp4' | 'mkv' } = {}): Promise<string> {
  const path = join(dir, `${name}.${options.container ?? 'mp4'}`);
  const audioS = options.audioS ?? CLIP_S;
  await run(FFMPEG, [
    '-v', 'error', '-y',
    '-f', 'lavfi', '-i', `testsrc2=size=160x120:rate=25:duration=${CLIP_S}`,
    '-f', 'lavfi', '-i', `anoisesrc=color=pink:amplitude=0.25:seed=3:duration=${audioS}`,
    '-ss', String(TRACK_START_S), '-t', String(audioS), '-i', track,
    '-filter_complex', '[2:a]volume=0.7[m];[1:a][m]amix=inputs=2:duration=first:normalize=0[a]',
    '-map', '0:v', '-map', '[a]',
    '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-ar', '48000',
    path,
  ]);
  return path;
}

/** `source` with its audio stream starting `delayS` later (stream copy, `-itsoffset`: an edit list). */
async function delayAudio(source: string, name: string, delayS: number): Promise<string> {
  const path = join(dir, `${name}.mp4`);
  await run(FFMPEG, ['-v', 'error', '-y', '-i', source, '-itsoffset', String(delayS), '-i', source, '-map', '0:v', '-map', '1:a', '-c', 'copy', path]);
  return path;
}

/** A 1 kHz tone (6 s, AAC in M4A) at a low level, optionally normalised by loudnorm to −14 LUFS. */
async function tone(name: string, filter: string): Promise<string> {
  const path = join(dir, `${name}.m4a`);
  await run(FFMPEG, ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'sine=frequency=1000:sample_rate=48000:duration=6', '-af', filter, '-ar', '48000', '-c:a', 'aac', path]);
  return path;
}

const media: Record<string, string> = {};

before(async () => {
  dir = await tempDir('moviola-check-render-');
  track = (await makeReferenceTrackWav(dir, { genre: 'rock', id: 'rock-501', seed: 501, seconds: 24 })).wav;
  const made = await Promise.all([
    clip('clean').then(async (clean) => [clean, await delayAudio(clean, 'late', LATE_S)]),
    clip('short', { audioS: CLIP_S - 0.3 }),
    clip('clean-mkv', { container: 'mkv' }),
    tone('quiet', 'volume=0.1'),
    tone('normalised', 'volume=0.1,loudnorm=I=-14:TP=-1:LRA=11'),
    tone('silent', 'volume=0'),
  ]);
  for (const path of made.flat()) media[path.slice(dir.length + 1).replace(/\.\w+$/, '')] = path;
});

after(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('readRenderStreams and judgeRender', () => {
  it('pass a clean clip (MP4 and Matroska, whose stream durations are counted from packets)', async (t) => {
    const mp4 = await readRenderStreams(media.clean, TOOLS);
    assert.ok(Math.abs(mp4.videoDurationMs - CLIP_S * 1000) <= 50, `video ${mp4.videoDurationMs} ms`);
    assert.ok(Math.abs(mp4.audioDurationMs - CLIP_S * 1000) <= 50, `audio ${mp4.audioDurationMs} ms`);
    assert.ok(mp4.formatDurationMs >= mp4.videoDurationMs - 1);
    assert.ok(streamDeviationMs(mp4) <= 40, JSON.stringify(mp4));
    assert.equal(judgeRender({ streams: mp4, musicDeviationMs: undefined }).ok, true);

    const mkv = await probeRender(media['clean-mkv'], TOOLS);
    assert.equal(mkv.demuxer, 'matroska');
    assert.ok(Math.abs(mkv.streams.videoDurationMs - CLIP_S * 1000) <= 50, `mkv video ${mkv.streams.videoDurationMs} ms`);
    assert.ok(Math.abs(mkv.streams.audioDurationMs - CLIP_S * 1000) <= 50, `mkv audio ${mkv.streams.audioDurationMs} ms`);
    assert.ok(streamDeviationMs(mkv.streams) <= 40, JSON.stringify(mkv.streams));
    t.diagnostic(`clean mp4 ${JSON.stringify(mp4)}; mkv ${JSON.stringify(mkv.streams)}`);
  });

  it('fail a clip whose audio starts 200 ms late and one whose audio is 300 ms short', async (t) => {
    const late = await readRenderStreams(media.late, TOOLS);
    assert.ok(late.audioStartMs - late.videoStartMs > 150, JSON.stringify(late));
    assert.ok(streamDeviationMs(late) > 40);
    const lateVerdict = judgeRender({ streams: late, musicDeviationMs: undefined });
    assert.equal(lateVerdict.ok, false);
    assert.match(lateVerdict.reason, /audio and video start \d+(\.\d+)? ms apart/);

    const short = await readRenderStreams(media.short, TOOLS);
    assert.ok(Math.abs(short.videoDurationMs - short.audioDurationMs - 300) <= 50, JSON.stringify(short));
    assert.ok(streamDeviationMs(short) > 40);
    const shortVerdict = judgeRender({ streams: short, musicDeviationMs: undefined });
    assert.equal(shortVerdict.ok, false);
    assert.match(shortVerdict.reason, /durations differ by/);
    t.diagnostic(`late: deviation ${streamDeviationMs(late)} ms; short: deviation ${streamDeviationMs(short)} ms`);
  });

  it('reject what is not a media file with RenderError', async () => {
    const playlist = join(dir, 'render.m3u8');
    await writeFile(playlist, `#EXTM3U\n#EXTINF:1,\nfile:${media.clean}\n#EXT-X-ENDLIST\n`);
    await assert.rejects(readRenderStreams(playlist, TOOLS), (err: unknown) => err instanceof RenderError && err.code === 'PROCESSING_ERROR');
    await assert.rejects(readRenderStreams(media.quiet, TOOLS), (err: unknown) => err instanceof RenderError && /no video stream/.test(err.message));
  });
});

describe('musicDeviationMs', () => {
  it('finds the track at the expected time within 40 ms, and 300 ms away when the expectation is off by 300 ms', async (t) => {
    const render: RenderProbe = await probeRender(media.clean, TOOLS);
    const right = await musicDeviationMs(media.clean, { path: track, demuxer: 'wav', expectedTrackStartMs: TRACK_START_S * 1000 }, { ...TOOLS, render });
    assert.ok(right.deviationMs !== null, right.reason);
    assert.ok(right.deviationMs <= 40, right.reason);
    assert.match(right.reason, /^music heard from 7\.\d{3} s into the track at the render's start, expected 7\.300 s/);
    const verdict = judgeRender({ streams: render.streams, musicDeviationMs: right.deviationMs });
    assert.equal(verdict.ok, true, verdict.reason);

    const off = await musicDeviationMs(media.clean, { path: track, demuxer: 'wav', expectedTrackStartMs: TRACK_START_S * 1000 + 300 }, { ...TOOLS, render });
    assert.ok(off.deviationMs === null || off.deviationMs >= 150, off.reason);
    assert.equal(judgeRender({ streams: render.streams, musicDeviationMs: off.deviationMs }).ok, false);
    t.diagnostic(`expected 7.300 s: ${right.deviationMs} ms off (z ${right.confidence}); expected 7.600 s: ${off.deviationMs} ms off (z ${off.confidence})`);
  });

  it("counts an audio stream that starts late: the track time heard at the render's t=0 is earlier", async (t) => {
    // The clean clip's audio (the track from 7.3 s) starts 0.2 s into the render: at t=0 the track would be at 7.1 s.
    const render = await probeRender(media.late, TOOLS);
    const expectedMs = (TRACK_START_S - LATE_S) * 1000;
    const shifted = await musicDeviationMs(media.late, { path: track, demuxer: 'wav', expectedTrackStartMs: expectedMs }, { ...TOOLS, render });
    assert.ok(shifted.deviationMs !== null && shifted.deviationMs <= 40, shifted.reason);
    const naive = await musicDeviationMs(media.late, { path: track, demuxer: 'wav', expectedTrackStartMs: TRACK_START_S * 1000 }, { ...TOOLS, render });
    assert.ok(naive.deviationMs === null || naive.deviationMs >= 150, naive.reason);
    t.diagnostic(`audio stream start ${render.streams.audioStartMs} ms: ${shifted.deviationMs} ms off when expected at ${expectedMs} ms (z ${shifted.confidence}); ${naive.deviationMs} ms off when expected at 7300 ms`);
  });

  it('does not report a deviation for a render without the track', async (t) => {
    // The tone files have no video stream: the probe the check needs is given directly.
    const render: RenderProbe = { demuxer: 'mov', streams: { videoStartMs: 0, audioStartMs: 0, videoDurationMs: 6000, audioDurationMs: 6000, formatDurationMs: 6000 } };
    const absent = await musicDeviationMs(media.quiet, { path: track, demuxer: 'wav', expectedTrackStartMs: 5000 }, { ...TOOLS, render });
    assert.equal(absent.deviationMs, null);
    assert.match(absent.reason, /^music not verified in the render: /);
    const beyond = await musicDeviationMs(media.clean, { path: track, demuxer: 'wav', expectedTrackStartMs: 60_000 }, TOOLS);
    assert.equal(beyond.deviationMs, null);
    assert.match(beyond.reason, /ends before the render starts/);
    t.diagnostic(`tone against the track: z ${absent.confidence}`);
  });
});

describe('measureLoudness', () => {
  it('reads a tone normalised by loudnorm at −14 LUFS within 1 LU, a quiet one far below, silence as null', async (t) => {
    const normalised = await measureLoudness(media.normalised, TOOLS);
    assert.ok(normalised.integratedLufs !== null && Math.abs(normalised.integratedLufs + 14) <= 1, JSON.stringify(normalised));
    assert.ok(normalised.truePeakDb !== null && normalised.truePeakDb <= -0.5 && normalised.truePeakDb > -20, JSON.stringify(normalised));
    const quiet = await measureLoudness(media.quiet, { ...TOOLS, demuxer: 'mov' });
    assert.ok(quiet.integratedLufs !== null && quiet.integratedLufs < -30, JSON.stringify(quiet));
    assert.ok(quiet.truePeakDb !== null && normalised.truePeakDb - quiet.truePeakDb > 20);
    assert.deepEqual(await measureLoudness(media.silent, TOOLS), { integratedLufs: null, truePeakDb: null });
    t.diagnostic(`normalised ${JSON.stringify(normalised)}; quiet ${JSON.stringify(quiet)}`);
  });
});
