/**
 * Video analysis against edits whose truth is known by construction (issue 7), through the
 * upload path (ffprobe picks the demuxer and reads the streams, analyzeVideoFile decodes):
 *
 * - two edits (test/support/edits.ts): ~64 s with 20 hard cuts between distinct sources, a
 *   dissolve, a fade through black, a one-frame white flash, static shots and zoompan stills; and
 *   ~27 s with 22 hard cuts, shots of 0.7–1.6 s, several between look-alike sources. Scene-cut
 *   F1 ≥ 0.95 with cuts matched within ±2 frames (80 ms at 25 fps), both with the H.264 fast
 *   path (non-reference pictures skipped) and decoding every picture; no cut inside a static
 *   shot, at the flash or within a transition; the flash seen and rejected as a flash;
 * - the per-second series and the audio of the performance: onset peaks on the drum hits, the
 *   drum entry after a silent gap found as an impact, the gap quiet in the energy series;
 * - bad inputs: a single-colour video, a black video without audio, a held still, a silent audio
 *   track, a single PNG, an audio-only file (INVALID_MEDIA), cancellation (CANCELLED).
 *
 * Analysis times are printed as diagnostics (never asserted). Needs ffmpeg/ffprobe (npm test).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import type { VideoAnalysis } from '../../lib/clips/contract.ts';
import { VIDEO_ANALYZER_VERSION } from '../../lib/clips/contract.ts';
import { RenderError } from '../../lib/ffmpeg/ingest/run-ffmpeg.ts';
import { probeMedia } from '../../lib/ffmpeg/probe.ts';
import { analyzeVideoFile, analyzeVideoFileDetailed, type DetailedVideoAnalysis } from '../../lib/video/analyze-video.ts';
import { HSV_BINS } from '../../lib/video/visual.ts';
import { buildEdit, fastEdit, mixedEdit, scoreCuts, singleColourEdit, stillEdit, type BuiltEdit } from '../support/edits.ts';
import { requireEnv } from '../support/env.ts';
import { tempDir } from '../support/media.ts';

const run = promisify(execFile);
const FFMPEG = requireEnv('FFMPEG_PATH');
const FFPROBE = requireEnv('FFPROBE_PATH');

let dir: string;
let mixed: BuiltEdit;
let fast: BuiltEdit;

before(async () => {
  dir = await tempDir('moviola-scenes-');
  [mixed, fast] = await Promise.all([buildEdit(dir, mixedEdit()), buildEdit(dir, fastEdit())]);
});

after(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Upload-like path: ffprobe, then analyzeVideoFile with what the probe found. */
async function analyze(path: string, options: { fastPath?: boolean; signal?: AbortSignal; onProgress?: (p: number) => void } = {}): Promise<DetailedVideoAnalysis & { ms: number }> {
  const { demuxer, metadata } = await probeMedia(path, { ffprobePath: FFPROBE, timeoutMs: 30_000 });
  const video = metadata.streams.find((s) => s.type === 'video');
  const started = performance.now();
  const result = await analyzeVideoFileDetailed(path, {
    ffmpegPath: FFMPEG,
    demuxer,
    durationMs: metadata.duration_ms,
    width: video?.width ?? null,
    height: video?.height ?? null,
    hasAudio: metadata.streams.some((s) => s.type === 'audio'),
    timeoutMs: 120_000,
    videoCodec: options.fastPath === false ? null : (video?.codec ?? null),
    signal: options.signal,
    onProgress: options.onProgress,
  });
  return { ...result, ms: performance.now() - started };
}

/** ±2 frames. */
const toleranceMs = (edit: BuiltEdit) => (2 * 1000) / edit.fps;
const inside = (t: number, span: { startMs: number; endMs: number }, margin: number) => t > span.startMs - margin && t < span.endMs + margin;

function assertSeries(a: VideoAnalysis, durationMs: number): void {
  const seconds = Math.ceil(durationMs / 1000);
  assert.equal(a.analyzerVersion, VIDEO_ANALYZER_VERSION);
  assert.equal(a.sampleFps, 10);
  for (const series of [a.motion, a.black, a.frozen, a.hsv, a.phash, a.audio.energy]) assert.equal(series.length, seconds);
  for (const h of a.hsv) {
    assert.equal(h.length, HSV_BINS);
    assert.ok(Math.abs(h.reduce((x, y) => x + y, 0) - 1) < 2e-3);
  }
  for (const p of a.phash) assert.match(p, /^[0-9a-f]{16}$/);
  for (const m of a.motion) assert.ok(m >= 0 && m <= 1);
  for (const e of a.audio.energy) assert.ok(e >= 0 && e <= 1);
  assert.deepEqual(a.cutsMs, [...a.cutsMs].sort((x, y) => x - y));
  for (let i = 1; i < a.impacts.length; i++) assert.ok(a.impacts[i].timeMs - a.impacts[i - 1].timeMs >= 1000);
}

describe('scene cuts on built edits', () => {
  for (const fastPath of [true, false]) {
    it(`F1 ≥ 0.95 within ±2 frames on both edits (${fastPath ? 'H.264 non-reference pictures skipped' : 'every picture decoded'})`, async () => {
      let matches = 0, truths = 0, reported = 0;
      for (const edit of [mixed, fast]) {
        const r = await analyze(edit.path, { fastPath });
        const score = scoreCuts(edit.cutsMs, r.analysis.cutsMs, toleranceMs(edit));
        const worst = Math.max(0, ...score.errorsMs.map(Math.abs));
        console.log(`# ${edit.name}${fastPath ? '' : ' (every picture)'}: F1 ${score.f1.toFixed(3)} (P ${score.precision.toFixed(3)} R ${score.recall.toFixed(3)}), worst error ${worst} ms, missed [${score.missedMs}], false [${score.falseMs}]; analysed ${(edit.durationMs / 1000).toFixed(1)} s in ${Math.round(r.ms)} ms`);
        assert.ok(score.f1 >= 0.95, `${edit.name}: F1 ${score.f1}`);
        matches += score.matches;
        truths += edit.cutsMs.length;
        reported += r.analysis.cutsMs.length;
      }
      const f1 = (2 * matches) / (truths + reported);
      assert.ok(f1 >= 0.95, `pooled F1 ${f1}`);
    });
  }

  it('reports no cut inside a static shot, at the flash or within a transition; the flash is seen and rejected', async () => {
    for (const fastPath of [true, false]) {
      for (const edit of [mixed, fast]) {
        const { analysis, scenes } = await analyze(edit.path, { fastPath });
        const tol = toleranceMs(edit);
        for (const span of edit.staticShots) {
          const within = analysis.cutsMs.filter((t) => t > span.startMs + tol && t < span.endMs - tol);
          assert.deepEqual(within, [], `${edit.name}: cut inside the static shot ${JSON.stringify(span)}`);
        }
        for (const flash of edit.flashesMs) {
          assert.deepEqual(analysis.cutsMs.filter((t) => Math.abs(t - flash) <= 300), [], `${edit.name}: cut at the flash ${flash}`);
          // Decoding every picture, the sampler sees the flash frame (the edits put it where a sample falls).
          if (!fastPath) assert.ok(scenes.candidates.some((c) => c.verdict === 'flash' && Math.abs(c.timeMs - flash) <= 150), `${edit.name}: the flash at ${flash} ms was not seen`);
        }
        for (const span of edit.gradual) {
          assert.deepEqual(analysis.cutsMs.filter((t) => inside(t, span, tol)), [], `${edit.name}: cut within the transition ${JSON.stringify(span)}`);
          assert.ok(scenes.candidates.some((c) => c.verdict === 'gradual' && inside(c.timeMs, span, tol)), `${edit.name}: the transition ${JSON.stringify(span)} was not examined`);
        }
      }
    }
  });
});

describe('per-second series and audio on the mixed edit', () => {
  it('series have one value per second; static shots are frozen; pictures repeat across a shot, not across cuts', async () => {
    const { analysis: a } = await analyze(mixed.path);
    assertSeries(a, mixed.durationMs);
    assert.equal(a.durationMs, mixed.durationMs);
    assert.equal(a.width, 640);
    assert.equal(a.height, 360);
    for (const span of mixed.staticShots) {
      for (let s = Math.ceil(span.startMs / 1000); s + 1 <= Math.floor(span.endMs / 1000); s++) {
        assert.equal(a.frozen[s], true, `second ${s} of a static shot`);
        assert.ok(a.motion[s] < 0.04, `second ${s} of a static shot moves ${a.motion[s]}`);
      }
    }
    const moving = a.frozen.filter((f) => !f).length;
    assert.ok(moving > a.frozen.length / 2, 'most seconds move');
    assert.ok(a.motion.filter((m) => m >= 0.2).length > a.motion.length / 3, 'the moving sources read well into the 0–1 scale');
    assert.ok(a.black.every((b) => !b), 'no black second (the fade through black is shorter than half a second)');
  });

  it('onset peaks fall on the drum hits; the entry after the silent gap is an impact; the gap is quiet', async () => {
    const { analysis: a } = await analyze(mixed.path);
    assert.equal(a.audio.hasAudio, true);
    assert.equal(a.audio.reason, null);
    assert.ok(a.audio.onset.frameRate > 43 && a.audio.onset.frameRate < 43.1);
    assert.ok(Math.abs(a.audio.onset.values.length / a.audio.onset.frameRate - mixed.durationMs / 1000) < 0.5);
    const beats = mixed.beatsMs;
    const hit = beats.filter((b) => a.audio.onsetPeaksMs.some((p) => Math.abs(p - b) <= 50)).length;
    console.log(`# onset peaks: ${a.audio.onsetPeaksMs.length}, beats with a peak within 50 ms: ${hit}/${beats.length}; impacts ${JSON.stringify(a.impacts.slice(0, 8))}…`);
    assert.ok(hit / beats.length >= 0.9, `only ${hit} of ${beats.length} beats have an onset peak`);
    // Every peak sits on the drum grid (hits on every eighth note, ±4 ms humanized).
    const eighth = (60_000 / 112) / 2;
    const onGrid = a.audio.onsetPeaksMs.filter((p) => {
      const phase = ((p - 500) % eighth + eighth) % eighth;
      return Math.min(phase, eighth - phase) <= 50;
    }).length;
    assert.ok(onGrid / a.audio.onsetPeaksMs.length >= 0.9, `${onGrid} of ${a.audio.onsetPeaksMs.length} peaks on the grid`);
    assert.ok(mixed.entryMs !== null);
    assert.ok(a.impacts.some((i) => Math.abs(i.timeMs - mixed.entryMs!) <= 300), `no impact at the entry ${mixed.entryMs} ms`);
    const gapSecond = Math.floor(mixed.entryMs! / 1000) - 1;
    assert.ok(a.audio.energy[gapSecond] < 0.05, `the gap's energy is ${a.audio.energy[gapSecond]}`);
    assert.ok(Math.max(...a.audio.energy) === 1);
  });

  it('reports progress up to 100, never decreasing', async () => {
    const seen: number[] = [];
    await analyze(fast.path, { onProgress: (p) => seen.push(p) });
    assert.ok(seen.length >= 2, `progress ${JSON.stringify(seen)}`);
    assert.equal(seen[seen.length - 1], 100);
    for (let i = 1; i < seen.length; i++) assert.ok(seen[i] > seen[i - 1]);
  });
});

describe('bad inputs', () => {
  it('a single-colour video: no cut, frozen, no motion, no impact from the picture', async () => {
    const edit = await buildEdit(dir, singleColourEdit({ seconds: 4 }));
    const { analysis: a } = await analyze(edit.path);
    assertSeries(a, edit.durationMs);
    assert.deepEqual(a.cutsMs, []);
    assert.ok(a.frozen.every(Boolean));
    assert.ok(a.motion.every((m) => m === 0));
    assert.ok(a.black.every((b) => !b));
    assert.equal(new Set(a.phash).size, 1);
    assert.equal(a.audio.hasAudio, true);
  });

  it('a black video without audio: black, frozen, no audio with the reason', async () => {
    const edit = await buildEdit(dir, singleColourEdit({ seconds: 3, audio: false, colour: 'black' }));
    const { analysis: a } = await analyze(edit.path);
    assertSeries(a, edit.durationMs);
    assert.deepEqual(a.cutsMs, []);
    assert.ok(a.black.every(Boolean));
    assert.ok(a.frozen.every(Boolean));
    assert.deepEqual(a.audio, { hasAudio: false, reason: 'the video has no audio stream', energy: [0, 0, 0], onset: { frameRate: 0, values: [] }, onsetPeaksMs: [] });
    assert.deepEqual(a.impacts, []);
  });

  it('a held still (an image sequence of one picture): no cut, frozen, no impact', async () => {
    const edit = await buildEdit(dir, stillEdit(4));
    const { analysis: a } = await analyze(edit.path);
    assertSeries(a, edit.durationMs);
    assert.deepEqual(a.cutsMs, []);
    assert.ok(a.frozen.every(Boolean));
    assert.deepEqual(a.impacts, []);
    assert.equal(a.audio.hasAudio, false);
  });

  it('a silent audio track: no usable audio, with the reason', async () => {
    const path = join(dir, 'silent.mp4');
    await run(FFMPEG, ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25:duration=3', '-f', 'lavfi', '-i', 'anullsrc=r=48000:cl=mono', '-t', '3', '-c:v', 'libx264', '-preset', 'ultrafast', '-c:a', 'aac', path]);
    const { analysis: a } = await analyze(path);
    assert.equal(a.audio.hasAudio, false);
    assert.equal(a.audio.reason, 'the audio track is silent');
    assert.deepEqual(a.audio.energy, [0, 0, 0]);
  });

  it('a single PNG analyses as one frozen second', async () => {
    const path = join(dir, 'one.png');
    await run(FFMPEG, ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=320x240', '-frames:v', '1', path]);
    const a = await analyzeVideoFile(path, { ffmpegPath: FFMPEG, demuxer: 'png_pipe', durationMs: null, width: 320, height: 240, hasAudio: false, timeoutMs: 30_000 });
    assert.equal(a.durationMs, 100);
    assert.deepEqual(a.cutsMs, []);
    assert.deepEqual(a.frozen, [true]);
    assert.deepEqual(a.motion, [0]);
  });

  it('an audio-only file is INVALID_MEDIA; a cancelled analysis is CANCELLED', async () => {
    const wav = join(dir, 'mixed.wav');
    await assert.rejects(
      analyzeVideoFile(wav, { ffmpegPath: FFMPEG, demuxer: 'wav', durationMs: 1000, width: null, height: null, hasAudio: true, timeoutMs: 30_000 }),
      (err: unknown) => err instanceof RenderError && err.code === 'INVALID_MEDIA' && !err.retryable,
    );
    // Cancelled while ffmpeg runs (at the first progress report).
    const controller = new AbortController();
    let reports = 0;
    const pending = analyze(mixed.path, { fastPath: false, signal: controller.signal, onProgress: () => (reports++ === 0 ? controller.abort() : undefined) });
    await assert.rejects(pending, (err: unknown) => err instanceof RenderError && err.code === 'CANCELLED' && !err.retryable);
    assert.equal(reports, 1);
  });
});
