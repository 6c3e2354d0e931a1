/**
 * Rhythm analysis against ground truth (issue 6), through the real decode path (ffprobe detects
 * the container, ffmpeg decodes to mono 22.05 kHz, analyzeRhythm):
 *
 * - every ground-truth track (click tracks 60–180 BPM, synthesized drum patterns incl. a tempo
 *   change, songs written as MIDI and rendered by fluidsynth with a GM soundfont): tempo
 *   Accuracy2 (±4 %, ×1 ×2 ×½ ×3 ×⅓) and beat F-measure ≥ 0.9 (mir_eval: ±70 ms, beats before
 *   5 s ignored);
 * - bad inputs: digital silence and noise (tempo null with a reason), and a ground-truth song as
 *   mono 8 kHz WAV, 6-channel 96 kHz FLAC and VBR MP3 (resampled and down-mixed, same accuracy);
 * - a 3-minute track: accuracy, and the time of decode + analysis as a diagnostic (never asserted).
 *
 * Needs ffmpeg/ffprobe, fluidsynth and the soundfont from `npm test`'s provisioning; fails (never
 * skips) without them.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import type { RhythmAnalysis } from '../../lib/audio/analysis.ts';
import { decodePcm } from '../../lib/audio/pcm.ts';
import { analyzeRhythm } from '../../lib/audio/rhythm.ts';
import { probeMedia } from '../../lib/ffmpeg/probe.ts';
import {
  beatFMeasure,
  groundTruthNames,
  makeGroundTruth,
  makeLongDrumTrack,
  tempoAccuracy2,
  type GroundTruthTrack,
} from '../support/audio-truth.ts';
import { requireEnv } from '../support/env.ts';
import { tempDir } from '../support/media.ts';

const run = promisify(execFile);
const FFMPEG = requireEnv('FFMPEG_PATH');
const FFPROBE = requireEnv('FFPROBE_PATH');
const FLUIDSYNTH = requireEnv('FLUIDSYNTH_PATH');
const SOUNDFONT = requireEnv('SOUNDFONT_PATH');

let dir: string;
let truth: Promise<Map<string, GroundTruthTrack>>;

before(async () => {
  dir = await tempDir('moviola-beats-');
  truth = makeGroundTruth(dir, { fluidsynthPath: FLUIDSYNTH, soundfontPath: SOUNDFONT }).then((tracks) => new Map(tracks.map((t) => [t.name, t])));
  await truth;
});

after(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Upload-like path: ffprobe picks the demuxer, decodePcm decodes, analyzeRhythm analyses. */
async function analyzeFile(path: string): Promise<{ rhythm: RhythmAnalysis; ms: number; durationMs: number }> {
  const started = performance.now();
  const { demuxer } = await probeMedia(path, { ffprobePath: FFPROBE, timeoutMs: 60_000 });
  const pcm = await decodePcm(path, { ffmpegPath: FFMPEG, demuxer, timeoutMs: 120_000 });
  assert.equal(pcm.sampleRate, 22_050);
  const rhythm = analyzeRhythm(pcm.samples, pcm.sampleRate);
  return { rhythm, ms: performance.now() - started, durationMs: pcm.durationMs };
}

function score(track: GroundTruthTrack, rhythm: RhythmAnalysis) {
  const beats = beatFMeasure(track.beatsS, rhythm.beatsMs.map((ms) => ms / 1000));
  const downbeats = beatFMeasure(track.downbeatsS, rhythm.downbeatsMs.map((ms) => ms / 1000));
  return { beats, downbeats, accuracy2: tempoAccuracy2(rhythm.tempoBpm, track.tempoBpm) };
}

function assertAccurate(track: GroundTruthTrack, rhythm: RhythmAnalysis, label = track.name) {
  const { beats, accuracy2 } = score(track, rhythm);
  assert.ok(accuracy2, `${label}: tempo ${rhythm.tempoBpm} BPM is not within 4 % of ${track.tempoBpm} or its ×2 ×½ ×3 ×⅓`);
  assert.ok(beats.fMeasure >= 0.9, `${label}: beat F-measure ${beats.fMeasure.toFixed(3)} < 0.9 (P ${beats.precision.toFixed(2)}, R ${beats.recall.toFixed(2)})`);
  assert.equal(rhythm.tempoReason, null);
  assert.ok(rhythm.tempoConfidence > 0 && rhythm.tempoConfidence <= 1);
  assert.ok(rhythm.pulseClarity > 0 && rhythm.pulseClarity <= 1);
  // Beats are sorted and inside the audio; downbeats are beats.
  for (let i = 1; i < rhythm.beatsMs.length; i++) assert.ok(rhythm.beatsMs[i] > rhythm.beatsMs[i - 1]);
  const beatSet = new Set(rhythm.beatsMs);
  for (const d of rhythm.downbeatsMs) assert.ok(beatSet.has(d), `downbeat ${d} is not a beat`);
}

describe('beat and tempo accuracy on ground truth', () => {
  for (const name of groundTruthNames()) {
    it(`${name}: tempo Accuracy2 and beat F-measure ≥ 0.9`, async (t) => {
      const track = (await truth).get(name);
      assert.ok(track, `ground truth ${name} was not generated`);
      const { rhythm } = await analyzeFile(track.path);
      const s = score(track, rhythm);
      t.diagnostic(
        `${name}: true ${track.temposBpm.join('→')} BPM, estimated ${rhythm.tempoBpm} (Accuracy2 ${s.accuracy2 ? 'yes' : 'no'}), ` +
          `beat F ${s.beats.fMeasure.toFixed(3)} (P ${s.beats.precision.toFixed(3)}, R ${s.beats.recall.toFixed(3)}), downbeat F ${s.downbeats.fMeasure.toFixed(3)}`,
      );
      assertAccurate(track, rhythm);
    });
  }

  it('downbeats: the accented beat of every click track', async () => {
    for (const track of (await truth).values()) {
      if (track.kind !== 'click') continue;
      const { rhythm } = await analyzeFile(track.path);
      const f = score(track, rhythm).downbeats.fMeasure;
      assert.ok(f >= 0.9, `${track.name}: downbeat F-measure ${f.toFixed(3)}`);
    }
  });
});

describe('bad inputs', () => {
  it('digital silence → analysed, tempo null with the reason, no beats', async () => {
    const path = join(dir, 'silence.wav');
    await run(FFMPEG, ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'anullsrc=r=44100:cl=stereo', '-t', '12', path]);
    const { rhythm } = await analyzeFile(path);
    assert.equal(rhythm.tempoBpm, null);
    assert.equal(rhythm.tempoReason, 'no pulse: the audio is silent');
    assert.deepEqual(rhythm.beatsMs, []);
    assert.deepEqual(rhythm.downbeatsMs, []);
    assert.equal(rhythm.tempoConfidence, 0);
  });

  it('noise → tempo null: the onsets are not periodic', async () => {
    const path = join(dir, 'noise.ogg');
    await run(FFMPEG, ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'anoisesrc=color=pink:amplitude=0.4:seed=9', '-t', '40', '-c:a', 'libvorbis', path]);
    const { rhythm } = await analyzeFile(path);
    assert.equal(rhythm.tempoBpm, null);
    assert.match(rhythm.tempoReason ?? '', /^no pulse: the onsets are not periodic/);
    assert.deepEqual(rhythm.beatsMs, []);
  });

  const variants: Array<{ name: string; file: string; args: string[]; demuxer: string; check: (probe: string) => void }> = [
    {
      name: 'mono 8 kHz WAV', file: 'mono-8k.wav', args: ['-ac', '1', '-ar', '8000', '-c:a', 'pcm_s16le'], demuxer: 'wav',
      check: (p) => assert.match(p, /8000,1/),
    },
    {
      name: '6-channel 96 kHz FLAC', file: 'surround-96k.flac',
      // Both stereo channels spread over the 5.1 layout (centre and surrounds carry the music too).
      args: ['-af', 'pan=5.1|FL=c0|FR=c1|FC=0.5*c0+0.5*c1|LFE=0.5*c0+0.5*c1|BL=c0|BR=c1', '-ar', '96000', '-c:a', 'flac'], demuxer: 'flac',
      check: (p) => assert.match(p, /96000,6/),
    },
    {
      name: 'variable bitrate MP3', file: 'vbr.mp3', args: ['-c:a', 'libmp3lame', '-q:a', '5'], demuxer: 'mp3',
      check: () => undefined,
    },
  ];
  for (const variant of variants) {
    it(`${variant.name} of a ground-truth song → analysed correctly (down-mixed, resampled)`, async (t) => {
      const track = (await truth).get('midi-pop-96');
      assert.ok(track);
      const path = join(dir, variant.file);
      await run(FFMPEG, ['-v', 'error', '-y', '-i', track.path, ...variant.args, path]);
      const probe = await run(FFPROBE, ['-v', 'error', '-select_streams', 'a:0', '-show_entries', 'stream=sample_rate,channels', '-of', 'csv=p=0', path]);
      variant.check(probe.stdout.trim());
      const { demuxer } = await probeMedia(path, { ffprobePath: FFPROBE, timeoutMs: 60_000 });
      assert.equal(demuxer, variant.demuxer);
      const { rhythm } = await analyzeFile(path);
      const s = score(track, rhythm);
      t.diagnostic(`${variant.name}: ${rhythm.tempoBpm} BPM, beat F ${s.beats.fMeasure.toFixed(3)}`);
      assertAccurate(track, rhythm, variant.name);
    });
  }
});

describe('a 3-minute track', () => {
  it('is analysed accurately; decode + analysis time reported', async (t) => {
    const track = await makeLongDrumTrack(dir, 180);
    const { rhythm, ms, durationMs } = await analyzeFile(track.path);
    assert.ok(durationMs > 179_000);
    t.diagnostic(`3-minute track: probe + decode + analyzeRhythm ${(ms / 1000).toFixed(2)} s (goal ≤ 10 s); ${rhythm.beatsMs.length} beats, ${rhythm.tempoBpm} BPM`);
    assertAccurate(track, rhythm);
  });
});
