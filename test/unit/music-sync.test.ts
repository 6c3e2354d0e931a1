/**
 * syncMusic (issue 7): where a track sits inside the performance's audio.
 *
 * Synthetic onset envelopes first (known sub-frame offsets, other frame rates, a track longer than
 * the video, unrelated and degenerate input), then real audio: fluidsynth-rendered tracks embedded
 * at known offsets in performance videos (testsrc2 picture, AAC audio mixed with pink noise and a
 * wandering tone), decoded with decodePcm like uploads, onsetStrength, syncMusic.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { onsetStrength } from '../../lib/audio/onset.ts';
import { decodePcm } from '../../lib/audio/pcm.ts';
import { stft } from '../../lib/audio/spectrogram.ts';
import { SYNC_FOUND_Z, syncMusic, type OnsetSeries } from '../../lib/clips/music-sync.ts';
import { probeMedia } from '../../lib/ffmpeg/probe.ts';
import { renderTrack, type ReferenceTrack } from '../../scripts/genre-reference-set.ts';
import { prng, wavBytes } from '../support/audio-truth.ts';
import { tempDir } from '../support/media.ts';

const run = promisify(execFile);
const FFMPEG = process.env.FFMPEG_PATH ?? 'ffmpeg';
const FFPROBE = process.env.FFPROBE_PATH ?? 'ffprobe';
const ONSET_RATE = 22_050 / 512;

/** Poisson onsets: [time s, strength]. */
function events(random: () => number, seconds: number, perSecond: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let t = 0; ; ) {
    t += -Math.log(1 - random()) / perSecond;
    if (t >= seconds) return out;
    out.push([t, 0.3 + random()]);
  }
}

/** An onset envelope: a 15 ms Gaussian bump per event over a random floor, sampled at `rate`. */
function envelope(ev: ReadonlyArray<[number, number]>, seconds: number, rate: number, floor: number, random: () => number): number[] {
  const n = Math.round(seconds * rate);
  const v = Array.from({ length: n }, () => floor * random());
  for (const [t, a] of ev) {
    const c = t * rate;
    for (let i = Math.max(0, Math.floor(c - 4)); i <= Math.min(n - 1, Math.ceil(c + 4)); i++) v[i] += a * Math.exp(-0.5 * ((i / rate - t) / 0.015) ** 2);
  }
  return v;
}

describe('syncMusic on synthetic onset envelopes', () => {
  it('finds a track embedded at a known sub-frame offset within ±50 ms (40 random cases, two frame rates)', (t) => {
    let maxErr = 0, minZ = Infinity, negative = 0, maxUnrelated = -Infinity;
    for (let seed = 1; seed <= 40; seed++) {
      const random = prng(seed);
      const trackS = 20 + 30 * random();
      const videoS = 30 + 90 * random();
      // From "the video starts 30 % into the track" to "the track ends 60 % past the video's end".
      const offsetS = -trackS * 0.3 + (videoS - trackS * 0.4) * random();
      if (offsetS < 0) negative++;
      const trackEvents = events(random, trackS, 4);
      const videoEvents = events(random, videoS, 3).concat(
        trackEvents.map(([time, a]): [number, number] => [time + offsetS, 0.7 * a]).filter(([time]) => time >= 0 && time < videoS),
      );
      const trackRate = seed % 2 === 0 ? 50 : ONSET_RATE;
      const video: OnsetSeries = { frameRate: ONSET_RATE, values: envelope(videoEvents, videoS, ONSET_RATE, 0.3, random) };
      const sync = syncMusic(video, { frameRate: trackRate, values: envelope(trackEvents, trackS, trackRate, 0.1, random) });
      assert.ok(sync.found, `seed ${seed}: ${sync.reason}`);
      assert.ok(sync.offsetMs !== null);
      const err = Math.abs(sync.offsetMs - offsetS * 1000);
      assert.ok(err <= 50, `seed ${seed}: offset ${sync.offsetMs} ms, true ${(offsetS * 1000).toFixed(1)} ms`);
      assert.match(sync.reason, /^music found: the (track starts [\d.]+ s into the video|video starts [\d.]+ s into the track) \(correlation peak z = [\d.]+ ≥ 7\)$/);
      maxErr = Math.max(maxErr, err);
      minZ = Math.min(minZ, sync.confidence);

      const unrelated = syncMusic(video, { frameRate: trackRate, values: envelope(events(random, trackS, 4), trackS, trackRate, 0.1, random) });
      assert.equal(unrelated.found, false, `seed ${seed}: an unrelated envelope is not found (z = ${unrelated.confidence})`);
      assert.equal(unrelated.offsetMs, null);
      assert.match(unrelated.reason, /low confidence/);
      maxUnrelated = Math.max(maxUnrelated, unrelated.confidence);
    }
    assert.ok(negative >= 5, `${negative} cases with the video starting inside the track`);
    t.diagnostic(`max offset error ${maxErr.toFixed(1)} ms; lowest true z ${minZ}; highest unrelated z ${maxUnrelated} (threshold ${SYNC_FOUND_Z})`);
  });

  it('is deterministic and accepts typed arrays', () => {
    const random = prng(99);
    const trackEvents = events(random, 25, 4);
    const video = envelope(events(random, 60, 3).concat(trackEvents.map(([time, a]): [number, number] => [time + 12.345, a])), 60, ONSET_RATE, 0.2, random);
    const track = envelope(trackEvents, 25, ONSET_RATE, 0.1, random);
    const a = syncMusic({ frameRate: ONSET_RATE, values: video }, { frameRate: ONSET_RATE, values: track });
    const b = syncMusic({ frameRate: ONSET_RATE, values: Float32Array.from(video) }, { frameRate: ONSET_RATE, values: Float32Array.from(track) });
    assert.deepEqual(syncMusic({ frameRate: ONSET_RATE, values: video }, { frameRate: ONSET_RATE, values: track }), a);
    assert.ok(a.found && b.found);
    assert.ok(Math.abs((a.offsetMs as number) - (b.offsetMs as number)) <= 1);
    assert.ok(Math.abs((a.offsetMs as number) - 12_345) <= 50);
  });

  it('answers "not found" with a reason for silent, constant, empty, too short or invalid input', () => {
    const random = prng(5);
    const real = { frameRate: ONSET_RATE, values: envelope(events(random, 30, 4), 30, ONSET_RATE, 0.1, random) };
    const cases: Array<[OnsetSeries, OnsetSeries, RegExp]> = [
      [{ frameRate: ONSET_RATE, values: new Float32Array(3000) }, real, /video's audio has no onsets to match/],
      [real, { frameRate: ONSET_RATE, values: new Array(1000).fill(0.4) }, /track has no onsets to match/],
      [{ frameRate: ONSET_RATE, values: [] }, real, /video's audio is shorter than the 3 s needed/],
      [real, { frameRate: ONSET_RATE, values: real.values.slice(0, 50) }, /track is shorter than the 3 s needed/],
      [{ frameRate: 0, values: real.values }, real, /no valid frame rate/],
      [real, { frameRate: Number.NaN, values: real.values }, /no valid frame rate/],
      [{ frameRate: ONSET_RATE, values: real.values.map((x, i) => (i % 7 === 0 ? Number.NaN : x)) }, { frameRate: ONSET_RATE, values: new Array(1000).fill(0) }, /no onsets/],
    ];
    for (const [video, track, reason] of cases) {
      const sync = syncMusic(video, track);
      assert.equal(sync.found, false);
      assert.equal(sync.offsetMs, null);
      assert.match(sync.reason, reason);
      assert.match(sync.reason, /low confidence/);
      assert.ok(Number.isFinite(sync.confidence));
    }
  });
});

describe('syncMusic on real audio', () => {
  let dir: string;
  const tracks: Record<string, { wav: string; seconds: number }> = {};
  const spec: Array<[string, ReferenceTrack]> = [
    ['rock', { genre: 'rock', id: 'rock-501', seed: 501, seconds: 24 }],
    ['samba', { genre: 'samba', id: 'samba-777', seed: 777, seconds: 24 }],
    ['electronic', { genre: 'electronic', id: 'electronic-42', seed: 42, seconds: 24 }],
  ];

  before(async () => {
    dir = await tempDir('moviola-music-sync-');
    await Promise.all(
      spec.map(async ([name, track]) => {
        const samples = await renderTrack(track, {
          sampleRate: 44_100,
          fluidsynthPath: process.env.FLUIDSYNTH_PATH,
          soundfont: process.env.SOUNDFONT_PATH,
          ffmpegPath: FFMPEG,
        });
        const wav = join(dir, `${name}.wav`);
        await writeFile(wav, wavBytes(samples, 44_100));
        tracks[name] = { wav, seconds: samples.length / 44_100 };
      }),
    );
  });
  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** A performance video: testsrc2 picture, audio = pink noise + a wandering tone + the track placed at offsetS. */
  async function performance(name: string, track: string, offsetS: number, seconds: number, noise: number): Promise<string> {
    const path = join(dir, `${name}.mp4`);
    const place = offsetS >= 0 ? `adelay=${Math.round(offsetS * 1000)}` : `atrim=start=${-offsetS},asetpts=PTS-STARTPTS`;
    await run(FFMPEG, [
      '-v', 'error', '-y',
      '-f', 'lavfi', '-i', `testsrc2=size=160x120:rate=25:duration=${seconds}`,
      '-f', 'lavfi', '-i', `anoisesrc=color=pink:amplitude=${noise}:seed=7:duration=${seconds}`,
      '-f', 'lavfi', '-i', `aevalsrc=0.2*sin(2*PI*(300+200*sin(0.3*t))*t)*lt(mod(t\\,1.7)\\,0.4):s=44100:d=${seconds}`,
      '-i', tracks[track].wav,
      '-filter_complex', `[3:a]${place},volume=0.6[m];[1:a][2:a][m]amix=inputs=3:duration=first:normalize=0[a]`,
      '-map', '0:v', '-map', '[a]', '-t', String(seconds),
      '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-ar', '48000', path,
    ]);
    return path;
  }

  /** Upload-like path: ffprobe picks the demuxer, decodePcm decodes, onsetStrength. */
  async function onsets(path: string): Promise<OnsetSeries> {
    const { demuxer } = await probeMedia(path, { ffprobePath: FFPROBE, timeoutMs: 30_000 });
    const pcm = await decodePcm(path, { ffmpegPath: FFMPEG, demuxer, timeoutMs: 60_000 });
    const env = onsetStrength(stft(pcm.samples, pcm.sampleRate));
    return { frameRate: env.frameRate, values: env.values };
  }

  it('finds a track embedded at a known offset within ±50 ms, and not an unrelated one', async (t) => {
    const video = await onsets(await performance('perf-rock', 'rock', 17.3, 60, 0.2));
    const sync = syncMusic(video, await onsets(tracks.rock.wav));
    assert.ok(sync.found, sync.reason);
    assert.ok(sync.offsetMs !== null && Math.abs(sync.offsetMs - 17_300) <= 50, `offset ${sync.offsetMs} ms, true 17 300 ms`);
    assert.match(sync.reason, /^music found: the track starts 17\.[23]\d s into the video/);

    const unrelated = syncMusic(video, await onsets(tracks.electronic.wav));
    assert.equal(unrelated.found, false, `electronic track in the rock performance: z = ${unrelated.confidence}`);
    assert.equal(unrelated.offsetMs, null);
    assert.match(unrelated.reason, /^music not found in the video's audio: low confidence \(correlation peak z = [\d.]+ < 7\)$/);
    t.diagnostic(`rock at 17.300 s: found at ${(sync.offsetMs as number) / 1000} s, z = ${sync.confidence}; electronic (absent): z = ${unrelated.confidence}`);
  });

  it('finds a track longer than the video: the video starts 8 s into it (negative offset)', async (t) => {
    const video = await onsets(await performance('perf-samba', 'samba', -8, 20, 0.15));
    const sync = syncMusic(video, await onsets(tracks.samba.wav));
    assert.ok(tracks.samba.seconds > 20 + 8 - 1, `the track (${tracks.samba.seconds} s) runs past the video's end`);
    assert.ok(sync.found, sync.reason);
    assert.ok(sync.offsetMs !== null && Math.abs(sync.offsetMs + 8_000) <= 50, `offset ${sync.offsetMs} ms, true −8 000 ms`);
    assert.match(sync.reason, /^music found: the video starts [78]\.\d\d s into the track/);
    const unrelated = syncMusic(video, await onsets(tracks.rock.wav));
    assert.equal(unrelated.found, false, `rock track in the samba performance: z = ${unrelated.confidence}`);
    t.diagnostic(`samba from −8.000 s: found at ${(sync.offsetMs as number) / 1000} s, z = ${sync.confidence}; rock (absent): z = ${unrelated.confidence}`);
  });
});
