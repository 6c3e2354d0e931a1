/**
 * The clip renderer (lib/ffmpeg/clips/render-clip.ts) and the motion centre
 * (lib/video/motion-centre.ts) with the real ffmpeg on tiny generated clips (≤ 640×360, a few
 * seconds), each output checked with ffprobe / ffmpeg: the accurate cut (length of both streams,
 * the first and last pictures from inside the cut), codecs and the index before the media data;
 * the vertical crop following a moving object; the loudness of a music overlay; a music track that
 * starts inside the clip; cancellation mid-render.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { renderClip, type ClipRenderPlan } from '../../lib/ffmpeg/clips/render-clip.ts';
import { RenderError } from '../../lib/ffmpeg/ingest/run-ffmpeg.ts';
import { motionCentreKeyframes } from '../../lib/video/motion-centre.ts';
import { makeSegmentedClip, tempDir } from '../support/media.ts';

const run = promisify(execFile);
const FFMPEG = process.env.FFMPEG_PATH ?? 'ffmpeg';
const FFPROBE = process.env.FFPROBE_PATH ?? 'ffprobe';
const OPTIONS = { ffmpegPath: FFMPEG, timeoutMs: 60_000 };

let dir: string;
let cuts: string; // 8 s 320×180: red 2 s | blue 4 s | green 2 s; sine AAC
let box: string; // 4 s 640×360: black, a white 60×60 box moving on the right half; sine AAC
let quiet: string; // 5 s 320×180 testsrc2, a quiet 440 Hz sine
let music: string; // 8 s WAV: a soft 220 Hz tone over a peaky 120 BPM beat
/** Peaky: at -14 LUFS by gain alone its peaks would pass -1 dBTP. */
const BEAT = '0.1*sin(2*PI*220*t)+0.7*sin(2*PI*90*t)*exp(-20*mod(t,0.5))';
let long: string; // 30 s 640×360 testsrc2 + sine (for cancelling mid-render)

async function ffmpeg(args: string[]): Promise<void> {
  await run(FFMPEG, ['-v', 'error', '-y', ...args]);
}

interface Probe {
  streams: Array<{ codec_type: string; codec_name: string; width?: number; height?: number; duration?: string; sample_rate?: string; channels?: number }>;
}

async function ffprobe(path: string): Promise<Probe> {
  const { stdout } = await run(FFPROBE, ['-v', 'error', '-show_streams', '-of', 'json', path]);
  return JSON.parse(stdout) as Probe;
}

function stream(probe: Probe, type: 'video' | 'audio'): Probe['streams'][number] {
  const s = probe.streams.find((x) => x.codec_type === type);
  assert.ok(s, `no ${type} stream`);
  return s;
}

/** Top-level MP4 box offsets by type (first occurrence). */
function topLevelBoxes(bytes: Buffer): Map<string, number> {
  const boxes = new Map<string, number>();
  let at = 0;
  while (at + 8 <= bytes.length) {
    let size = bytes.readUInt32BE(at);
    const type = bytes.toString('latin1', at + 4, at + 8);
    if (!boxes.has(type)) boxes.set(type, at);
    if (size === 1) size = Number(bytes.readBigUInt64BE(at + 8));
    if (size === 0) break;
    if (size < 8) throw new Error(`bad box size ${size} at ${at}`);
    at += size;
  }
  return boxes;
}

/** Every picture of a video as its mean RGB (decoded through a 4×4 downscale). */
async function meanColours(path: string): Promise<Array<[number, number, number]>> {
  const { stdout } = await run(FFMPEG, ['-v', 'error', '-i', path, '-vf', 'scale=4:4', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-'], { encoding: 'buffer', maxBuffer: 16 * 1024 * 1024 });
  const bytes = stdout as unknown as Buffer;
  const frames: Array<[number, number, number]> = [];
  for (let f = 0; f + 48 <= bytes.length; f += 48) {
    const sum = [0, 0, 0];
    for (let p = 0; p < 16; p++) for (let c = 0; c < 3; c++) sum[c]! += bytes[f + p * 3 + c]!;
    frames.push([sum[0]! / 16, sum[1]! / 16, sum[2]! / 16]);
  }
  return frames;
}

/** Share of bright pixels (luma > 200) of the picture at `atS` seconds. */
async function brightShare(path: string, atS: number): Promise<number> {
  const { stdout } = await run(FFMPEG, ['-v', 'error', '-ss', String(atS), '-i', path, '-frames:v', '1', '-f', 'rawvideo', '-pix_fmt', 'gray', '-'], { encoding: 'buffer', maxBuffer: 16 * 1024 * 1024 });
  const bytes = stdout as unknown as Buffer;
  assert.ok(bytes.length > 0, 'no picture decoded');
  let bright = 0;
  for (const b of bytes) if (b > 200) bright++;
  return bright / bytes.length;
}

/** Integrated loudness (LUFS) and true peak (dBTP) by ffmpeg's ebur128 filter (its Summary). */
async function ebur128(path: string): Promise<{ integrated: number; truePeak: number }> {
  const { stderr } = await run(FFMPEG, ['-nostats', '-hide_banner', '-i', path, '-map', '0:a:0', '-filter:a', 'ebur128=peak=true', '-f', 'null', '-']);
  const summary = stderr.slice(stderr.lastIndexOf('Summary:'));
  const integrated = /I:\s+(-?[\d.]+|-inf) LUFS/.exec(summary)?.[1];
  const peak = /True peak:\s+Peak:\s+(-?[\d.]+|-inf) dBFS/.exec(summary)?.[1];
  assert.ok(integrated && peak, `no ebur128 summary in:\n${summary}`);
  return { integrated: Number(integrated), truePeak: Number(peak) };
}

/** RMS (dBFS) of the mono mix over [fromS, toS). */
async function rmsDb(path: string, fromS: number, toS: number): Promise<number> {
  const { stdout } = await run(FFMPEG, ['-v', 'error', '-i', path, '-map', '0:a:0', '-ac', '1', '-ar', '8000', '-f', 'f32le', '-'], { encoding: 'buffer', maxBuffer: 16 * 1024 * 1024 });
  const bytes = stdout as unknown as Buffer;
  const pcm = new Float32Array(bytes.buffer, bytes.byteOffset, Math.floor(bytes.length / 4));
  let sum = 0;
  let n = 0;
  for (let i = Math.floor(fromS * 8000); i < Math.min(pcm.length, Math.floor(toS * 8000)); i++, n++) sum += pcm[i]! * pcm[i]!;
  assert.ok(n > 0, 'no samples in the span');
  return 10 * Math.log10(sum / n + 1e-20);
}

function source(path: string, width: number, height: number, hasAudio = true): ClipRenderPlan['source'] {
  return { path, demuxer: 'mov', hasAudio, width, height };
}

before(async () => {
  dir = await tempDir('moviola-clip-');
  box = join(dir, 'box.mp4');
  quiet = join(dir, 'quiet.mp4');
  music = join(dir, 'music.wav');
  [cuts] = await Promise.all([
    makeSegmentedClip(dir, 'cuts.mp4', [{ source: 'color=c=red', seconds: 2 }, { source: 'color=c=blue', seconds: 4 }, { source: 'color=c=green', seconds: 2 }], { size: '320x180' }),
    ffmpeg([
      '-f', 'lavfi', '-i', 'color=c=black:s=640x360:r=25:d=4',
      '-f', 'lavfi', '-i', 'color=c=white:s=60x60:r=25:d=4',
      '-f', 'lavfi', '-i', 'sine=frequency=330:sample_rate=48000:duration=4',
      '-filter_complex', "[0:v][1:v]overlay=x='480+40*sin(2*PI*t/2)':y=150:shortest=1[v]",
      '-map', '[v]', '-map', '2:a', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-ac', '1', '-t', '4', box,
    ]),
    ffmpeg([
      '-f', 'lavfi', '-i', 'testsrc2=size=320x180:rate=25:duration=5',
      '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000:duration=5',
      '-filter_complex', '[1:a]volume=0.3[a]', '-map', '0:v', '-map', '[a]',
      '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-ac', '1', quiet,
    ]),
    ffmpeg(['-f', 'lavfi', '-i', `aevalsrc='${BEAT}|${BEAT}':s=44100:d=8`, music]),
  ]);
});

after(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('renderClip', () => {
  it('(a) horizontal cut of [2.0 s, 6.0 s): both streams 4.0 s, only pictures from inside the cut, H.264 + AAC, moov before mdat', async () => {
    const out = join(dir, 'a.mp4');
    const percents: number[] = [];
    const result = await renderClip(
      { source: source(cuts, 320, 180), startMs: 2000, endMs: 6000, vertical: null, music: null, fadeMs: 0, output: { path: out } },
      { ...OPTIONS, onProgress: (p) => percents.push(p) },
    );
    assert.ok(result.measured && Number.isFinite(result.measured.inputI), 'pass 1 measured the performance audio');
    const probe = await ffprobe(out);
    const v = stream(probe, 'video');
    const a = stream(probe, 'audio');
    assert.equal(v.codec_name, 'h264');
    assert.equal(a.codec_name, 'aac');
    assert.deepEqual([v.width, v.height], [320, 180]);
    assert.deepEqual([a.sample_rate, a.channels], ['48000', 2]);
    for (const s of [v, a]) assert.ok(Math.abs(Number(s.duration) - 4.0) <= 0.04, `${s.codec_type} lasts ${s.duration} s`);
    // Accurate cut: every picture is the blue segment (no red from before 2 s, no green from 6 s).
    const colours = await meanColours(out);
    assert.ok(Math.abs(colours.length - 100) <= 1, `${colours.length} pictures`);
    for (const [i, [r, g, b]] of colours.entries()) assert.ok(b > 150 && r < 60 && g < 60, `picture ${i} is not blue: ${r},${g},${b}`);
    // +faststart: the index (moov) comes before the media data (mdat).
    const boxes = topLevelBoxes(await readFile(out));
    assert.ok(boxes.has('moov') && boxes.has('mdat'), `boxes: ${[...boxes.keys()]}`);
    assert.ok(boxes.get('moov')! < boxes.get('mdat')!, 'moov after mdat');
    assert.equal(percents.at(-1), 100);
    assert.ok(percents.every((p, i) => i === 0 || p >= percents[i - 1]!), `progress decreased: ${percents}`);
  });

  it('(b) vertical: the crop centre follows a white box moving on the right half; 9:16 output showing the box', async () => {
    const keyframes = await motionCentreKeyframes(box, { ffmpegPath: FFMPEG, demuxer: 'mov', startMs: 0, endMs: 4000, timeoutMs: 60_000 });
    assert.equal(keyframes.length, 8);
    assert.deepEqual(keyframes.map((k) => k.timeMs), [250, 750, 1250, 1750, 2250, 2750, 3250, 3750]);
    for (const k of keyframes) assert.ok(k.centerX > 0.65 && k.centerX < 0.95, `centre ${k.centerX} at ${k.timeMs} ms`);
    const out = join(dir, 'b.mp4');
    await renderClip({ source: source(box, 640, 360), startMs: 0, endMs: 4000, vertical: { keyframes }, music: null, output: { path: out } }, OPTIONS);
    const v = stream(await ffprobe(out), 'video');
    assert.ok(v.width! < v.height!, 'not vertical');
    assert.ok(Math.abs(v.width! / v.height! - 9 / 16) < 0.01, `${v.width}×${v.height} is not 9:16`);
    assert.equal(v.height, 360, 'never taller than the source');
    // A centred crop (x 219–421) would show none of the box (x ≥ 440): the crop followed it.
    for (const at of [1, 2, 3]) assert.ok((await brightShare(out, at)) > 0.02, `no box in the crop at ${at} s`);
  });

  it('(c) music overlay: integrated loudness within ±1 LU of -14 and true peak ≤ -1 dBTP', async () => {
    const out = join(dir, 'c.mp4');
    const { measured } = await renderClip(
      { source: source(quiet, 320, 180), startMs: 0, endMs: 5000, vertical: null, music: { path: music, demuxer: 'wav', trackStartMs: 1000 }, output: { path: out } },
      OPTIONS,
    );
    assert.ok(measured, 'no measurement');
    // The premises: the mix is off the target, and a plain gain to -14 would push its peaks over -1 dBTP.
    assert.ok(Math.abs(measured.inputI + 14) > 1, `the mix was already at the target (${measured.inputI})`);
    assert.ok(measured.inputTp + (-14 - measured.inputI) > -1, `the peaks needed no control (${measured.inputTp} dBTP at ${measured.inputI} LUFS)`);
    const { integrated, truePeak } = await ebur128(out);
    assert.ok(Math.abs(integrated + 14) <= 1, `integrated ${integrated} LUFS`);
    assert.ok(truePeak <= -1, `true peak ${truePeak} dBTP`);
    const a = stream(await ffprobe(out), 'audio');
    assert.ok(Math.abs(Number(a.duration) - 5) <= 0.04, `audio lasts ${a.duration} s`);
  });

  it('a track that starts 2 s into the clip: the ducked performance before it, the music after', async () => {
    const out = join(dir, 'late.mp4');
    await renderClip(
      { source: source(quiet, 320, 180), startMs: 0, endMs: 5000, vertical: null, music: { path: music, demuxer: 'wav', trackStartMs: -2000 }, fadeMs: 0, output: { path: out } },
      OPTIONS,
    );
    const before = await rmsDb(out, 0.2, 1.8);
    const afterStart = await rmsDb(out, 2.2, 4.8);
    assert.ok(before > -60, `the performance is not heard before the music (${before} dB)`);
    assert.ok(afterStart - before > 10, `music not heard from 2 s: ${before.toFixed(1)} dB before, ${afterStart.toFixed(1)} dB after`);
  });

  it('(d) cancel: aborting mid-render rejects with CANCELLED and leaves no output file', async () => {
    long = join(dir, 'long.mp4');
    await ffmpeg([
      '-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=25:duration=30',
      '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000:duration=30',
      '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-ac', '1', long,
    ]);
    const out = join(dir, 'd.mp4');
    const controller = new AbortController();
    let existedAtAbort = false;
    let abortedAt = 0;
    let timer: NodeJS.Timeout | undefined;
    const started = renderClip(
      { source: source(long, 640, 360), startMs: 0, endMs: 30_000, vertical: null, music: null, output: { path: out } },
      {
        ...OPTIONS,
        signal: controller.signal,
        onProgress: (p) => {
          // Pass 1 done (30 %): abort pass 2 once it is writing.
          if (p >= 30 && !timer) {
            timer = setTimeout(() => {
              existedAtAbort = existsSync(out);
              abortedAt = performance.now();
              controller.abort();
            }, 400);
          }
        },
      },
    );
    await assert.rejects(started, (err: unknown) => {
      assert.ok(err instanceof RenderError, String(err));
      assert.equal(err.code, 'CANCELLED');
      return true;
    });
    assert.ok(abortedAt > 0, 'rejected before the abort');
    assert.ok(performance.now() - abortedAt < 3000, 'ffmpeg was not stopped promptly');
    assert.ok(existedAtAbort, 'pass 2 had not started writing when aborted');
    assert.equal(existsSync(out), false, 'the partial output remains');
  });
});
