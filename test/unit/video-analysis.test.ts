/**
 * Unit tests of the video analysers' pure parts (issue 7): the adaptive threshold, cut detection on
 * synthetic picture sequences (hard cuts, one- and two-sample flashes, linear dissolves and fades
 * through black, noisy static shots, busy shots, minimum shot length), the perceptual hash, the
 * HSV histogram, the per-second series, onset peak picking, audio series and impacts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  audioSeries,
  CUE_MIN_SPREAD,
  detectVideoImpacts,
  FrameAccumulator,
  noAudio,
  pickOnsetPeaks,
  visualSeries,
} from '../../lib/video/analyze-video.ts';
import { sampleFramesArgs } from '../../lib/video/frames.ts';
import { adaptiveThresholds, collinearity, detectCuts, median, sceneFeatures, type SceneFeatures } from '../../lib/video/scenes.ts';
import {
  hammingDistance,
  histogramDistance,
  HSV_BINS,
  hsvBinIndex,
  hsvHistogram,
  isBlackFrame,
  lumaOf,
  motionEnergy,
  perceptualHash,
} from '../../lib/video/visual.ts';
import { prng } from '../support/audio-truth.ts';

const W = 64;
const H = 36;
const FPS = 10;

type Rgb = [number, number, number];

function picture(fn: (x: number, y: number) => Rgb, width = W, height = H): Uint8Array {
  const out = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const [r, g, b] = fn(x, y);
      const p = (y * width + x) * 3;
      out[p] = clamp(r);
      out[p + 1] = clamp(g);
      out[p + 2] = clamp(b);
    }
  }
  return out;
}

const clamp = (v: number) => Math.max(0, Math.min(255, Math.round(v)));
const solid = (c: Rgb) => picture(() => c);
/** Distinct test pictures: colour bars, a diagonal gradient, a checkerboard, a radial blob. */
const BARS = picture((x) => [[255, 255, 0], [0, 255, 255], [0, 255, 0], [255, 0, 255], [255, 0, 0], [0, 0, 255], [240, 240, 240], [20, 20, 20]][Math.floor((x / W) * 8)] as Rgb);
const GRADIENT = picture((x, y) => [x * 4, 60 + y * 3, 200 - x * 2]);
const CHECKER = picture((x, y) => ((Math.floor(x / 8) + Math.floor(y / 6)) % 2 ? [230, 200, 40] : [30, 40, 120]));
const BLOB = picture((x, y) => {
  const d = Math.hypot(x - 40, y - 15);
  return d < 12 ? [250, 120, 60] : [40, 90, 50];
});

/** A natural-looking picture: a few random low-frequency waves per channel (seeded). */
function field(seed: number): Uint8Array {
  const rnd = prng(seed);
  const waves = Array.from({ length: 3 }, () => Array.from({ length: 5 }, () => ({ fx: rnd() * 3, fy: rnd() * 3, phase: rnd() * 2 * Math.PI, amp: 20 + rnd() * 30 })));
  return picture((x, y) => waves.map((ws) => 128 + ws.reduce((sum, w) => sum + w.amp * Math.cos(2 * Math.PI * ((w.fx * x) / W + (w.fy * y) / H) + w.phase), 0)) as Rgb);
}

function blend(a: Uint8Array, b: Uint8Array, t: number): Uint8Array {
  return a.map((v, i) => clamp(v * (1 - t) + b[i] * t));
}

function noisy(p: Uint8Array, amount: number, random: () => number): Uint8Array {
  return p.map((v) => clamp(v + (random() * 2 - 1) * amount));
}

/** A shifted copy (moving content): x offset in pixels, wrapping. */
function shifted(p: Uint8Array, dx: number): Uint8Array {
  const out = new Uint8Array(p.length);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const sx = (((x - dx) % W) + W) % W;
      for (let c = 0; c < 3; c++) out[(y * W + x) * 3 + c] = p[(y * W + sx) * 3 + c];
    }
  }
  return out;
}

/** `seconds` of a shot: each sample from `frame(i)`. */
function shot(seconds: number, frame: (i: number) => Uint8Array): Uint8Array[] {
  return Array.from({ length: Math.round(seconds * FPS) }, (_, i) => frame(i));
}

function features(pictures: Uint8Array[]): SceneFeatures[] {
  return pictures.map((p) => sceneFeatures(p, W, H));
}

const random = prng(11);
/** A shot with a little compression-like noise. */
const still = (p: Uint8Array, seconds: number) => shot(seconds, () => noisy(p, 2, random));
/** A shot whose content moves (a pan of `speed` pixels per sample). */
const moving = (p: Uint8Array, seconds: number, speed = 2) => shot(seconds, (i) => noisy(shifted(p, i * speed), 2, random));

describe('adaptive threshold', () => {
  it('is the floor on a quiet series, median + k·MAD on a busy one, and ignores the pair and its neighbours', () => {
    const quiet = new Array(60).fill(0.01);
    const t = adaptiveThresholds(quiet, 20, 6, 0.12);
    assert.equal(t[0], Infinity);
    for (let i = 1; i < 60; i++) assert.ok(Math.abs(t[i] - 0.12) < 1e-6);

    const busy = Array.from({ length: 60 }, (_, i) => 0.2 + 0.05 * Math.sin(i));
    const tb = adaptiveThresholds(busy, 20, 6, 0.12);
    const m = median(busy.slice(10, 51));
    assert.ok(tb[30] > m + 0.1, `busy threshold ${tb[30]} should be well above the median ${m}`);

    // A spike does not raise its own threshold (it is left out), nor its neighbours'.
    const spiky = [...quiet];
    spiky[30] = 0.9;
    const ts = adaptiveThresholds(spiky, 20, 6, 0.12);
    assert.ok(Math.abs(ts[30] - 0.12) < 1e-6);
    assert.ok(Math.abs(ts[31] - 0.12) < 1e-6);
  });

  it('median of even and odd counts', () => {
    assert.equal(median([3, 1, 2]), 2);
    assert.equal(median([4, 1, 2, 3]), 2.5);
    assert.equal(median([]), 0);
  });
});

describe('cut detection on synthetic sequences', () => {
  it('finds hard cuts at the first sample of each new shot, with and without motion', () => {
    const pics = [...still(BARS, 3), ...moving(GRADIENT, 2.5), ...still(CHECKER, 2), ...moving(BLOB, 3, 3)];
    const det = detectCuts(features(pics), { fps: FPS });
    assert.deepEqual(det.cutsMs, [3000, 5500, 7500]);
  });

  it('rejects a one-sample flash (A → white → A) and a two-sample one, and reports them as flashes', () => {
    const white = solid([255, 255, 255]);
    const a = still(BARS, 3);
    const pics = [...a.slice(0, 15), white, ...a.slice(16), ...moving(GRADIENT, 3).map((p, i) => (i === 12 || i === 13 ? white : p))];
    const det = detectCuts(features(pics), { fps: FPS });
    assert.deepEqual(det.cutsMs, [3000]);
    assert.ok(det.candidates.some((c) => c.verdict === 'flash' && c.timeMs === 1500));
    assert.ok(det.candidates.some((c) => c.verdict === 'flash' && c.timeMs >= 4200 && c.timeMs <= 4400));
  });

  it('reports no cut inside a linear dissolve or a fade through black', () => {
    const black = solid([0, 0, 0]);
    const dissolve = Array.from({ length: 8 }, (_, i) => blend(BARS, CHECKER, (i + 1) / 9));
    const fadeOut = Array.from({ length: 5 }, (_, i) => blend(CHECKER, black, (i + 1) / 5));
    const fadeIn = Array.from({ length: 5 }, (_, i) => blend(black, BLOB, (i + 1) / 5));
    const pics = [...still(BARS, 2), ...dissolve, ...still(CHECKER, 2), ...fadeOut, ...fadeIn, ...still(BLOB, 2)];
    const det = detectCuts(features(pics), { fps: FPS });
    assert.deepEqual(det.cutsMs, []);
  });

  it('reports no cut inside a dissolve sampled with jitter (uneven steps, as when pictures are skipped)', () => {
    const progress = [0.04, 0.1, 0.3, 0.34, 0.56, 0.6, 0.82, 0.86, 1];
    const pics = [...still(GRADIENT, 2), ...progress.map((t) => blend(GRADIENT, BLOB, t)), ...still(BLOB, 2)];
    const det = detectCuts(features(pics), { fps: FPS });
    assert.deepEqual(det.cutsMs, []);
    assert.ok(det.candidates.every((c) => c.verdict === 'gradual'));
  });

  it('reports nothing inside a static shot, a noisy static shot or a busy shot, but the cut out of the busy shot', () => {
    const quiet = detectCuts(features([...still(GRADIENT, 5)]), { fps: FPS });
    assert.deepEqual(quiet.cutsMs, []);
    assert.deepEqual(quiet.candidates, []);
    const grainy = detectCuts(features(shot(5, () => noisy(GRADIENT, 12, random))), { fps: FPS });
    assert.deepEqual(grainy.cutsMs, []);
    // Busy: a checkerboard panning 5 px per sample (large changes on every pair), then a cut.
    const busy = detectCuts(features([...moving(CHECKER, 4, 5), ...still(BLOB, 3)]), { fps: FPS });
    assert.deepEqual(busy.cutsMs, [4000]);
  });

  it('keeps the stronger of two cuts closer than the minimum shot, and none in the first or last half second', () => {
    const pics = [...still(BARS, 2), ...still(GRADIENT, 0.3), ...still(CHECKER, 2), ...still(BLOB, 0.3)];
    const det = detectCuts(features(pics), { fps: FPS });
    assert.equal(det.cutsMs.length, 1);
    assert.ok(det.cutsMs[0] === 2000 || det.cutsMs[0] === 2300);
    assert.ok(det.candidates.some((c) => c.verdict === 'short' && c.timeMs === 4300));
  });

  it('handles empty, one-sample and single-colour sequences', () => {
    assert.deepEqual(detectCuts([], { fps: FPS }).cutsMs, []);
    assert.deepEqual(detectCuts(features([BARS]), { fps: FPS }).cutsMs, []);
    assert.deepEqual(detectCuts(features(shot(3, () => solid([40, 80, 120]))), { fps: FPS }).cutsMs, []);
    assert.throws(() => detectCuts([], { fps: 0 }), RangeError);
  });

  it('collinearity is 1 for a blend between two pictures and large when the picture comes back', () => {
    const a = sceneFeatures(BARS, W, H).blocks;
    const b = sceneFeatures(blend(BARS, CHECKER, 0.4), W, H).blocks;
    const c = sceneFeatures(CHECKER, W, H).blocks;
    assert.ok(collinearity(a, b, c) < 1.01);
    assert.ok(collinearity(a, c, a) === Infinity || collinearity(a, c, a) > 10);
    assert.ok(collinearity(a, c, sceneFeatures(BLOB, W, H).blocks) > 1.3);
  });
});

describe('perceptual hash', () => {
  const hashOf = (p: Uint8Array, w = W, h = H) => perceptualHash(lumaOf(p), w, h);

  it('is 16 hex digits, equal for identical pictures, near for small changes, far for different pictures', () => {
    const scenes = Array.from({ length: 6 }, (_, i) => field(100 + i));
    for (const [i, p] of scenes.entries()) {
      const h = hashOf(p);
      assert.match(h, /^[0-9a-f]{16}$/);
      assert.equal(hashOf(p), h);
      assert.ok(hammingDistance(h, hashOf(noisy(p, 8, prng(i)))) <= 4, 'noise keeps the hash');
      assert.ok(hammingDistance(h, hashOf(blend(p, solid([128, 128, 128]), 0.3))) <= 4, 'a contrast change keeps the hash');
      assert.ok(hammingDistance(h, hashOf(p.map((v) => clamp(v + 20)))) <= 2, 'a brightness change keeps the hash');
      for (let j = 0; j < i; j++) assert.ok(hammingDistance(h, hashOf(scenes[j])) >= 16, `scenes ${j} and ${i} are far apart`);
    }
  });

  it('depends on the picture, not on its sampled size', () => {
    const big = picture((x, y) => [x * 2, 60 + y * 1.5, 200 - x], 128, 72);
    assert.ok(hammingDistance(hashOf(big, 128, 72), hashOf(GRADIENT)) <= 4);
  });

  it('gives a flat picture a stable hash whatever its level (no bits from rounding noise)', () => {
    assert.equal(hashOf(solid([0, 0, 0])), '0000000000000000');
    assert.equal(hashOf(solid([90, 90, 90])), '8000000000000000');
    assert.equal(hashOf(solid([200, 30, 30])), '8000000000000000');
  });

  it('hamming distance counts differing bits and refuses other strings', () => {
    assert.equal(hammingDistance('0000000000000000', 'ffffffffffffffff'), 64);
    assert.equal(hammingDistance('8000000000000001', '0000000000000000'), 2);
    assert.throws(() => hammingDistance('abc', '0000000000000000'), RangeError);
  });
});

describe('HSV histogram', () => {
  const sum = (h: ArrayLike<number>) => Array.from(h).reduce((a, b) => a + b, 0);

  it('has 72 bins summing to 1 for any picture, grey/black/white in hue bin 0 of the lowest saturation', () => {
    for (const p of [BARS, GRADIENT, CHECKER, solid([0, 0, 0]), solid([255, 255, 255])]) {
      const h = hsvHistogram(p);
      assert.equal(h.length, HSV_BINS);
      assert.ok(Math.abs(sum(h) - 1) < 1e-5);
    }
    const black = hsvHistogram(solid([0, 0, 0]));
    assert.ok(Math.abs(black[hsvBinIndex(0, 0, 0)] - 1) < 1e-6);
    const white = hsvHistogram(solid([255, 255, 255]));
    assert.ok(Math.abs(white[hsvBinIndex(0, 0, 2)] - 1) < 1e-6);
    const grey = hsvHistogram(solid([128, 128, 128]));
    assert.ok(Math.abs(grey[hsvBinIndex(0, 0, 1)] - 1) < 0.02);
    assert.equal(sum(hsvHistogram(new Uint8Array(0))), 0);
  });

  it('puts a saturated colour in its hue and high saturation; dark colours count as grey', () => {
    const red = hsvHistogram(solid([255, 0, 0]));
    assert.ok(red[hsvBinIndex(0, 2, 2)] + red[hsvBinIndex(7, 2, 2)] > 0.99);
    const blue = hsvHistogram(solid([0, 0, 255]));
    assert.ok(blue[hsvBinIndex(5, 2, 2)] + blue[hsvBinIndex(4, 2, 2)] > 0.99);
    const darkGreen = hsvHistogram(solid([0, 20, 0]));
    assert.ok(darkGreen[hsvBinIndex(0, 0, 0)] > 0.9, 'a near-black pixel has no reliable hue');
  });

  it('moves smoothly under a fade (soft bins) and far under a cut', () => {
    // A fade to black in 10 steps: no step much larger than the others, each far below a cut.
    const steps = Array.from({ length: 11 }, (_, i) => hsvHistogram(blend(CHECKER, solid([0, 0, 0]), i / 10)));
    const d = steps.slice(1).map((h, i) => histogramDistance(steps[i], h));
    for (const [i, step] of d.entries()) assert.ok(step <= 0.25 && step <= 1.5 * median(d.filter((v) => v > 0.05)), `fade step ${i + 1}: ${step}`);
    assert.ok(histogramDistance(hsvHistogram(BARS), hsvHistogram(BLOB)) > 0.5);
    assert.equal(histogramDistance(hsvHistogram(BARS), hsvHistogram(BARS)), 0);
  });
});

describe('frame measures', () => {
  it('motion energy, black and frozen', () => {
    const a = lumaOf(GRADIENT);
    assert.equal(motionEnergy(a, a), 0);
    assert.ok(Math.abs(motionEnergy(lumaOf(solid([0, 0, 0])), lumaOf(solid([255, 255, 255]))) - 1) < 1e-6);
    assert.ok(isBlackFrame(lumaOf(solid([10, 10, 10]))));
    assert.ok(!isBlackFrame(lumaOf(solid([60, 60, 60]))));
    assert.ok(!isBlackFrame(lumaOf(BARS)));
  });

  it('per-second series: lengths, motion without the cut pair, frozen and black seconds, seconds past the last sample', () => {
    const acc = new FrameAccumulator(FPS, W, H);
    const pics = [...moving(GRADIENT, 2, 3), ...shot(2, () => solid([5, 5, 5])), ...shot(1.5, () => BARS)];
    for (const p of pics) acc.push(p);
    const v = visualSeries(acc, 7);
    assert.deepEqual(v.cutsMs, [2000, 4000]);
    for (const series of [v.motion, v.black, v.frozen, v.hsv, v.phash]) assert.equal(series.length, 7);
    assert.ok(v.motion[0] > 0.01 && v.motion[1] > 0.01, 'the panning seconds move');
    assert.ok(v.motion[2] < 0.001, 'the cut into black is not motion');
    assert.deepEqual(v.black, [false, false, true, true, false, false, false]);
    assert.deepEqual(v.frozen, [false, false, true, true, true, true, true]);
    assert.ok(v.hsv.every((h) => h.length === HSV_BINS && Math.abs(h.reduce((a, b) => a + b, 0) - 1) < 1e-3));
    assert.equal(v.phash[6], v.phash[5], 'past the last sample the last picture stays');
    assert.equal(v.phash[0], v.phash[0].toLowerCase());
    assert.ok(hammingDistance(v.phash[4], perceptualHash(lumaOf(BARS), W, H)) <= 4);
  });

  it('a flash is not motion: the steps into and out of it are left out of the motion series', () => {
    const acc = new FrameAccumulator(FPS, W, H);
    const pics = shot(3, () => BARS);
    pics[15] = solid([255, 255, 255]);
    for (const p of pics) acc.push(p);
    const v = visualSeries(acc, 3);
    assert.deepEqual(v.cutsMs, []);
    assert.deepEqual(v.scenes.flashPairs, [15, 16]);
    assert.deepEqual(v.motion, [0, 0, 0]);
    assert.deepEqual(v.frozen, [true, true, true]);
    assert.ok(v.pairMotion.every((m) => m === 0));
  });

  it('a single sample makes one frozen second with no cut', () => {
    const acc = new FrameAccumulator(FPS, W, H);
    acc.push(BLOB);
    const v = visualSeries(acc, 1);
    assert.deepEqual(v.cutsMs, []);
    assert.deepEqual(v.motion, [0]);
    assert.deepEqual(v.frozen, [true]);
  });
});

describe('sampling command', () => {
  it('opens the file like an upload and scales to small RGB frames at the sampling rate', () => {
    const args = sampleFramesArgs('/tmp/in.mp4', 'mov', { skipNonReference: true });
    const joined = args.join(' ');
    assert.ok(joined.includes('-protocol_whitelist file -skip_frame noref -f mov -i file:/tmp/in.mp4'));
    assert.ok(joined.includes('-map 0:v:0'));
    assert.ok(joined.includes('fps=10:start_time=0:eof_action=pass,scale=64:36:flags=area,format=rgb24'));
    assert.ok(joined.endsWith('-f rawvideo -pix_fmt rgb24 pipe:1'));
    assert.ok(!sampleFramesArgs('/tmp/in.mp4', 'mov').includes('-skip_frame'));
    assert.throws(() => sampleFramesArgs('/tmp/in.mp4', 'concat'), RangeError);
    assert.throws(() => sampleFramesArgs('/tmp/in.mp4', 'mov', { width: 63 }), RangeError);
    assert.throws(() => sampleFramesArgs('/tmp/in.mp4', 'mov', { fps: 0 }), RangeError);
  });
});

describe('audio series and impacts', () => {
  const SR = 22_050;

  function clicks(timesS: number[], seconds: number, gain = 0.8): Float32Array {
    const pcm = new Float32Array(Math.round(seconds * SR));
    for (const t of timesS) {
      const at = Math.round(t * SR);
      for (let i = 0; i < 0.03 * SR && at + i < pcm.length; i++) pcm[at + i] += gain * Math.sin((2 * Math.PI * 1000 * i) / SR) * Math.exp(-i / (0.008 * SR));
    }
    return pcm;
  }

  it('silence has no usable audio, with a reason', () => {
    const a = audioSeries(new Float32Array(3 * SR), SR, 3, FPS, 30);
    assert.equal(a.audio.hasAudio, false);
    assert.equal(a.audio.reason, 'the audio track is silent');
    assert.deepEqual(a.audio.energy, [0, 0, 0]);
    assert.equal(a.onsetCue, null);
    const none = noAudio(2, 'the video has no audio stream');
    assert.deepEqual(none, { hasAudio: false, reason: 'the video has no audio stream', energy: [0, 0], onset: { frameRate: 0, values: [] }, onsetPeaksMs: [] });
  });

  it('energy is relative to the loudest second; onset peaks land on the clicks', () => {
    const times = Array.from({ length: 7 }, (_, i) => 0.5 + i * 0.5);
    const pcm = clicks(times, 5);
    for (let i = 4 * SR; i < 5 * SR; i++) pcm[i] *= 0.25; // last second quieter
    const a = audioSeries(pcm, SR, 5, FPS, 50);
    assert.equal(a.audio.hasAudio, true);
    assert.equal(Math.max(...a.audio.energy), 1);
    assert.equal(a.audio.energy[4], 0, 'no click in the last second');
    assert.ok(a.audio.onset.frameRate > 40 && a.audio.onset.frameRate < 45);
    assert.equal(a.audio.onset.values.length, Math.floor(pcm.length / 512) + 1);
    for (const t of times) assert.ok(a.audio.onsetPeaksMs.some((p) => Math.abs(p - t * 1000) <= 30), `a peak near ${t} s`);
    assert.ok(a.audio.onsetPeaksMs.length <= times.length + 1);
  });

  it('peak picking: none on a flat envelope, one per bump, spaced', () => {
    assert.deepEqual(pickOnsetPeaks(new Float32Array(100), 43), []);
    const env = new Float32Array(200);
    for (const c of [20, 60, 61, 140]) env[c] = 1;
    env[100] = 0.02; // below delta
    assert.deepEqual(pickOnsetPeaks(env, 43), [20, 60, 140]);
  });

  it('impacts: none for constant cues, the spike for a spiky cue, ≥ 1 s apart, the strongest kept', () => {
    assert.deepEqual(detectVideoImpacts([{ values: new Float64Array(100).fill(0.3) }, null], FPS), []);
    assert.deepEqual(detectVideoImpacts([], FPS), []);
    const onset = new Float64Array(300);
    const motion = new Float64Array(300);
    onset[50] = 5;
    onset[55] = 4; // 0.5 s after a stronger one: dropped
    onset[200] = 3;
    motion[200] = 3; // agreeing cues make the strongest impact
    const impacts = detectVideoImpacts([{ values: onset }, null, { values: motion }], FPS);
    assert.deepEqual(impacts.map((i) => i.timeMs), [5000, 20000]);
    assert.ok(impacts[1].strength > impacts[0].strength);
    for (let i = 1; i < impacts.length; i++) assert.ok(impacts[i].timeMs - impacts[i - 1].timeMs >= 1000);
    // A cue that barely varies is left out: a still's first-frame flicker makes no impact.
    const flicker = new Float64Array(50);
    flicker[1] = 0.004;
    assert.deepEqual(detectVideoImpacts([{ values: flicker, minSpread: CUE_MIN_SPREAD.motion }], FPS), []);
    assert.equal(detectVideoImpacts([{ values: flicker }], FPS).length, 1);
  });
});
