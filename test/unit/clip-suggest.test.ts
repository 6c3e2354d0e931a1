/**
 * suggestClips and its weights (issue 7) on synthetic video analyses: determinism, the variant
 * rules, beat snapping, the no-audio / not-found / single-colour / too-short cases, the black and
 * frozen penalty, the reasons, the weight layers, and a property test over 300 random seeded
 * analyses with and without music.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  MAX_OVERLAP,
  MIN_START_GAP_MS,
  SUBSCORES,
  VARIANTS_WITH_MUSIC,
  VARIANTS_WITHOUT_MUSIC,
  type ClipMusic,
  type SuggestInput,
  type Suggestion,
  type VideoAnalysis,
  type Weights,
} from '../../lib/clips/contract.ts';
import { GRID_STEP_MS, suggestClips } from '../../lib/clips/suggest.ts';
import {
  combineWeightLayers,
  GLOBAL_BASELINE_VERSION,
  GLOBAL_BASELINE_WEIGHTS,
  loadBaselineWeights,
  SHRINKAGE_SAMPLES,
  WeightsError,
} from '../../lib/clips/weights.ts';
import { prng } from '../support/audio-truth.ts';
import { analysis } from '../support/video-analysis.ts';

function input(a: VideoAnalysis, music: ClipMusic | null, minLengthMs: number, maxLengthMs: number, weights: Weights = { ...GLOBAL_BASELINE_WEIGHTS }): SuggestInput {
  return { analysis: a, music, minLengthMs, maxLengthMs, weights, weightsVersion: { global: GLOBAL_BASELINE_VERSION } };
}

function music(options: { periodMs: number; durationMs: number; offsetMs: number | null; found?: boolean; confidence?: number; firstBeatMs?: number }): ClipMusic {
  const beatsMs: number[] = [];
  for (let t = options.firstBeatMs ?? 0; t <= options.durationMs; t += options.periodMs) beatsMs.push(Math.round(t));
  const found = options.found ?? options.offsetMs !== null;
  return {
    beatsMs,
    downbeatsMs: beatsMs.filter((_, i) => i % 4 === 0),
    durationMs: options.durationMs,
    sync: found
      ? { offsetMs: options.offsetMs, confidence: options.confidence ?? 15, found: true, reason: `music found (z = ${options.confidence ?? 15})` }
      : { offsetMs: null, confidence: options.confidence ?? 2.5, found: false, reason: `music not found in the video's audio: low confidence (correlation peak z = ${options.confidence ?? 2.5} < 7)` },
  };
}

/** The rules every answer obeys. */
function assertRules(out: Suggestion[], inp: SuggestInput, label = ''): void {
  const required = inp.music ? VARIANTS_WITH_MUSIC : VARIANTS_WITHOUT_MUSIC;
  assert.ok(out.length <= required, `${label}: at most ${required} variants, got ${out.length}`);
  out.forEach((s, i) => {
    assert.equal(s.index, i, label);
    assert.ok(Number.isInteger(s.startMs) && Number.isInteger(s.endMs), `${label}: integer times`);
    assert.ok(s.startMs >= 0 && s.endMs <= inp.analysis.durationMs, `${label}: [${s.startMs}, ${s.endMs}] inside the ${inp.analysis.durationMs} ms video`);
    const length = s.endMs - s.startMs;
    assert.ok(length >= inp.minLengthMs && length <= inp.maxLengthMs, `${label}: length ${length} within ${inp.minLengthMs}–${inp.maxLengthMs}`);
    assert.ok(s.score >= 0 && s.score <= 100, `${label}: score ${s.score}`);
    for (const k of SUBSCORES) assert.ok(s.subscores[k] >= 0 && s.subscores[k] <= 1, `${label}: sub-score ${k} = ${s.subscores[k]}`);
    assert.ok(s.reasons.length > 0 && s.reasons.every((r) => typeof r === 'string' && r.length > 0));
    assert.deepEqual(s.weightsVersion, inp.weightsVersion);
    if (i > 0) assert.ok(out[i - 1].score >= s.score, `${label}: best first`);
  });
  for (let i = 0; i < out.length; i++) {
    for (let j = i + 1; j < out.length; j++) {
      const a = out[i], b = out[j];
      assert.ok(Math.abs(a.startMs - b.startMs) >= MIN_START_GAP_MS, `${label}: starts ${a.startMs} and ${b.startMs} ≥ 5 s apart`);
      const inter = Math.max(0, Math.min(a.endMs, b.endMs) - Math.max(a.startMs, b.startMs));
      const shorter = Math.min(a.endMs - a.startMs, b.endMs - b.startMs);
      assert.ok(inter <= MAX_OVERLAP * shorter, `${label}: [${a.startMs}, ${a.endMs}] and [${b.startMs}, ${b.endMs}] overlap ${inter} ms > 50 % of ${shorter}`);
    }
  }
}

describe('suggestClips', () => {
  const base = analysis({
    durationMs: 90_000,
    motion: (s) => 0.1 + 0.3 * Math.abs(Math.sin(s / 7)),
    energy: (s) => 0.3 + 0.6 * Math.abs(Math.sin(s / 11)),
    look: (s) => Math.floor(s / 4) % 6,
    cutsMs: [4_020, 8_000, 12_510, 16_000, 24_000, 31_990, 40_000, 47_700, 56_000, 64_000, 72_000, 80_000],
    impacts: [{ timeMs: 21_200, strength: 5.1 }, { timeMs: 45_000, strength: 2.2 }, { timeMs: 60_400, strength: 3.6 }],
    onsetPeaksMs: Array.from({ length: 180 }, (_, i) => i * 500),
  });

  it('gives the same suggestions for the same inputs and weights, without touching the input', () => {
    const inp = input(base, music({ periodMs: 500, durationMs: 80_000, offsetMs: 3_000 }), 10_000, 20_000);
    const frozenCopy = structuredClone(inp);
    const a = suggestClips(inp);
    const b = suggestClips(structuredClone(inp));
    assert.deepEqual(a, b);
    assert.deepEqual(inp, frozenCopy);
    assert.equal(a.length, 3);
  });

  it('without music: 2 variants, ≥ 5 s apart, ≤ 50 % overlap, music fit not counted, offset null', () => {
    const inp = input(base, null, 15_000, 30_000);
    const out = suggestClips(inp);
    assert.equal(out.length, VARIANTS_WITHOUT_MUSIC);
    assertRules(out, inp);
    for (const s of out) {
      assert.equal(s.musicOffsetMs, null);
      assert.equal(s.subscores.music_fit, 0);
      assert.ok(s.reasons.includes('no music: music fit not counted'), s.reasons.join(' | '));
      assert.equal(s.startMs % GRID_STEP_MS, 0);
    }
    // The strongest impact (21.2 s) makes the best hook: the best clip starts within 3 s before it.
    assert.ok(out[0].startMs <= 21_200 && out[0].startMs > 18_200, `best start ${out[0].startMs}`);
    assert.ok(out[0].reasons.some((r) => /^strong hook: impact \d+(\.\d)? s into the clip/.test(r)), out[0].reasons.join(' | '));
    // Not counting music fit: the same clip scores the same whatever weight music fit has.
    const heavyMusic = suggestClips(input(base, null, 15_000, 30_000, { ...GLOBAL_BASELINE_WEIGHTS, music_fit: 5 }));
    assert.deepEqual(heavyMusic, out);
  });

  it('with synced music: 3 variants whose start and end are on the track beats placed at the offset', () => {
    const m = music({ periodMs: 480, durationMs: 70_000, offsetMs: 7_250, firstBeatMs: 120 });
    const inp = input(base, m, 10_000, 20_000);
    const out = suggestClips(inp);
    assert.equal(out.length, VARIANTS_WITH_MUSIC);
    assertRules(out, inp);
    const beats = new Set(m.beatsMs.map((b) => b + 7_250));
    for (const s of out) {
      assert.ok(beats.has(s.startMs) && beats.has(s.endMs), `[${s.startMs}, ${s.endMs}] on beats`);
      assert.equal(s.musicOffsetMs, 7_250);
      assert.ok(s.startMs >= 7_250 && s.endMs <= 77_250, 'inside the track');
      assert.ok(s.subscores.music_fit > 0.99, `music fit ${s.subscores.music_fit}`);
      assert.equal(s.reasons[0], m.sync.reason);
      assert.equal(s.reasons[1], "start and end on the track's beats");
    }
  });

  it('music not found: cut on the track beats as if it started at 0, offset null, a low-confidence reason', () => {
    const m = music({ periodMs: 500, durationMs: 60_000, offsetMs: null, confidence: 3.1 });
    const inp = input(base, m, 10_000, 20_000);
    const out = suggestClips(inp);
    assert.equal(out.length, 3);
    assertRules(out, inp);
    const beats = new Set(m.beatsMs);
    for (const s of out) {
      assert.equal(s.musicOffsetMs, null);
      assert.ok(beats.has(s.startMs) && beats.has(s.endMs) && s.endMs <= 60_000);
      assert.equal(s.subscores.music_fit, 0);
      assert.match(s.reasons[0], /^music not found in the video's audio: low confidence/);
      assert.match(s.reasons[1], /^start and end on the track's beats as if the track started at 0 s/);
      assert.ok(s.reasons.includes('music fit 0: the track was not found in the video'), s.reasons.join(' | '));
    }
  });

  it('music whose beats never span the lengths: grid windows, said in the reasons', () => {
    const m = music({ periodMs: 500, durationMs: 6_000, offsetMs: 1_000 });
    const inp = input(base, m, 10_000, 20_000);
    const out = suggestClips(inp);
    assert.equal(out.length, 3);
    assertRules(out, inp);
    assert.ok(out[0].reasons[1].startsWith('not snapped to beats'), out[0].reasons[1]);
  });

  it('counts the cuts that land on beats (±100 ms), and on onset peaks without music', () => {
    const a = analysis({ durationMs: 40_000, cutsMs: [2_050, 4_900, 6_300, 8_000], look: (s) => s % 3 });
    const m = music({ periodMs: 1_000, durationMs: 40_000, offsetMs: 0 });
    const out = suggestClips(input(a, m, 10_000, 10_000));
    const first = out.find((s) => s.startMs === 0);
    assert.ok(first, JSON.stringify(out.map((s) => [s.startMs, s.endMs])));
    assert.equal(first.subscores.cuts_on_beats, 0.75);
    assert.ok(first.reasons.includes('3 of 4 cuts land on beats'), first.reasons.join(' | '));

    const withPeaks = analysis({ durationMs: 40_000, cutsMs: [2_050, 4_900, 6_300, 8_000], onsetPeaksMs: [2_000, 8_000] });
    const noMusic = suggestClips(input(withPeaks, null, 10_000, 10_000)).find((s) => s.startMs === 0);
    assert.ok(noMusic);
    assert.ok(noMusic.reasons.includes('2 of 4 cuts land on onset peaks of the audio'), noMusic.reasons.join(' | '));
  });

  it('video without audio: accepted; energy and hook are 0 with the reason', () => {
    const a = analysis({ durationMs: 60_000, hasAudio: false, impacts: [{ timeMs: 5_000, strength: 6 }], look: (s) => s % 5 });
    const inp = input(a, null, 10_000, 15_000);
    const out = suggestClips(inp);
    assert.equal(out.length, 2);
    assertRules(out, inp);
    for (const s of out) {
      assert.equal(s.subscores.energy, 0);
      assert.equal(s.subscores.hook, 0);
      assert.ok(s.reasons.includes('no audio stream: energy and hook scores are 0 (the file has no audio stream)'), s.reasons.join(' | '));
    }
  });

  it('black and frozen stretches are penalized: the clips avoid them, and say so when they cannot', () => {
    // Seconds 0–39 black, 40–79 frozen, 80–119 fine; everything else identical.
    const a = analysis({ durationMs: 120_000, black: (s) => s < 40, frozen: (s) => s >= 40 && s < 80, look: (s) => s % 4 });
    const out = suggestClips(input(a, null, 10_000, 20_000));
    assert.equal(out.length, 2);
    for (const s of out) {
      assert.ok(s.startMs >= 80_000, `clip at ${s.startMs} avoids the black and frozen stretches`);
      assert.equal(s.subscores.frozen_penalty, 0);
    }
    const stuck = analysis({ durationMs: 30_000, frozen: (s) => s >= 10, look: (s) => s % 4 });
    const all = suggestClips(input(stuck, null, 20_000, 20_000));
    assert.ok(all.length >= 1);
    const worst = all[all.length - 1];
    assert.ok(worst.subscores.frozen_penalty > 0);
    assert.ok(worst.reasons.some((r) => /s of black or frozen picture \(penalty \d/.test(r)), worst.reasons.join(' | '));
    const same = analysis({ durationMs: 30_000, look: (s) => s % 4 });
    const clean = suggestClips(input(same, null, 20_000, 20_000)).find((s) => s.startMs === worst.startMs);
    assert.ok(clean && clean.score > worst.score, 'the frozen window scores lower than the same window without the freeze');
  });

  it('a single-colour / still-image video still gets suggestions, with low scores', () => {
    const a = analysis({ durationMs: 45_000, motion: () => 0, energy: () => 0, frozen: () => true, look: () => 3 });
    for (const m of [null, music({ periodMs: 500, durationMs: 45_000, offsetMs: null })]) {
      const inp = input(a, m, 10_000, 20_000);
      const out = suggestClips(inp);
      assert.equal(out.length, m ? 3 : 2);
      assertRules(out, inp);
      for (const s of out) {
        assert.ok(s.score < 5, `score ${s.score}`);
        assert.equal(s.subscores.visual_variety, 0);
        assert.ok(s.reasons.includes('a single look: visual variety 0'));
      }
    }
    const empty = analysis({ durationMs: 12_000, hasAudio: false, motion: () => 0 });
    empty.hsv = [];
    empty.phash = [];
    const out = suggestClips(input(empty, null, 5_000, 6_000));
    assert.equal(out.length, 2);
    assert.ok(out[0].reasons.includes('no visual data: visual variety 0'));
  });

  it('a video too short for the variants returns those that fit and says why; shorter than min returns none', () => {
    const a = analysis({ durationMs: 12_000 });
    const out = suggestClips(input(a, null, 10_000, 12_000));
    assert.equal(out.length, 1);
    assert.ok(out[0].reasons.some((r) => r.startsWith('only 1 of 2 variants fit: the video (12 s) is too short')), out[0].reasons.join(' | '));
    assert.deepEqual(suggestClips(input(analysis({ durationMs: 9_000 }), null, 10_000, 12_000)), []);
  });

  it('finds a full set when the greedy pass alone would not (best clip in the middle of a short video)', () => {
    // 20 s, 10 s clips, 3 variants: only starts 0, 5, 10 fit together; the best window starts at 3.
    const a = analysis({ durationMs: 20_000, energy: (s) => (s >= 3 && s < 13 ? 1 : 0.1), look: (s) => s % 4 });
    const m = music({ periodMs: 500, durationMs: 20_000, offsetMs: 0 });
    const inp = input(a, m, 10_000, 10_000);
    const out = suggestClips(inp);
    assertRules(out, inp);
    assert.deepEqual(out.map((s) => s.startMs).sort((x, y) => x - y), [0, 5_000, 10_000]);
  });

  it('rejects impossible lengths and invalid weights', () => {
    assert.throws(() => suggestClips(input(base, null, 20_000, 10_000)), RangeError);
    assert.throws(() => suggestClips(input(base, null, 0, 10_000)), RangeError);
    assert.throws(() => suggestClips(input(base, null, 10_000, 20_000, { ...GLOBAL_BASELINE_WEIGHTS, motion: -1 })), WeightsError);
  });

  it('property: 300 random analyses and length ranges, with and without music, always obey the rules', () => {
    let exact = 0, fewer = 0, withMusic = 0, snappedRuns = 0, longRuns = 0;
    for (let seed = 1; seed <= 300; seed++) {
      const random = prng(seed * 7919);
      const int = (lo: number, hi: number) => lo + Math.floor(random() * (hi - lo + 1));
      const durationMs = int(4_000, 180_000);
      const minLengthMs = int(3_000, 30_000);
      const maxLengthMs = minLengthMs + (random() < 0.2 ? 0 : int(0, 30_000));
      const n = Math.ceil(durationMs / 1000);
      const looks = Array.from({ length: n }, () => int(0, 9));
      const hasAudio = random() > 0.15;
      const a = analysis({
        durationMs,
        hasAudio,
        motion: () => random(),
        energy: () => random(),
        look: (s) => looks[s],
        black: () => random() < 0.05,
        frozen: () => random() < 0.1,
        cutsMs: Array.from({ length: int(0, 40) }, () => int(0, durationMs)),
        impacts: Array.from({ length: int(0, 20) }, () => ({ timeMs: int(0, durationMs), strength: 1.5 + 4 * random() })),
        onsetPeaksMs: Array.from({ length: int(0, 200) }, () => int(0, durationMs)),
      });
      let m: ClipMusic | null = null;
      if (random() < 0.5) {
        withMusic++;
        const periodMs = int(333, 1_000);
        const trackMs = int(5_000, 240_000);
        const found = random() < 0.7;
        m = music({ periodMs, durationMs: trackMs, offsetMs: found ? int(-trackMs, durationMs) : null, confidence: found ? 7 + 20 * random() : 5 * random() });
      }
      const inp = input(a, m, minLengthMs, maxLengthMs);
      const out = suggestClips(inp);
      const label = `seed ${seed} (${durationMs} ms, ${minLengthMs}–${maxLengthMs}, ${m ? 'music' : 'no music'})`;
      assertRules(out, inp, label);
      const required = m ? VARIANTS_WITH_MUSIC : VARIANTS_WITHOUT_MUSIC;
      if (out.length === required) exact++;
      else {
        fewer++;
        for (const s of out) assert.ok(s.reasons.some((r) => r.startsWith(`only ${out.length} of ${required} variants fit`)), label);
      }

      // Snapped: with music whose beats (in video time) span a window, every start and end is a beat.
      let snapped = false;
      let beats: number[] = [];
      if (m) {
        const offset = m.sync.found ? (m.sync.offsetMs as number) : 0;
        beats = m.beatsMs.map((b) => b + offset).filter((b) => b >= 0 && b <= durationMs);
        snapped = beats.some((b) => beats.some((e) => e - b >= minLengthMs && e - b <= maxLengthMs));
        if (snapped) {
          snappedRuns++;
          const set = new Set(beats);
          for (const s of out) assert.ok(set.has(s.startMs) && set.has(s.endMs), `${label}: snapped`);
        }
        for (const s of out) assert.equal(s.musicOffsetMs, m.sync.found ? m.sync.offsetMs : null);
      }

      // On the grid (starts every 0.5 s) a set of clips is valid iff its starts are ≥ G = max(5 s,
      // min/2) apart (a smaller gap makes clips of ≥ min overlap by more than half), so exactly
      // min(k, ⌊(duration − min) / G'⌋ + 1) fit, G' = G rounded up to 0.5 s: all of them are returned.
      // On beats of period p ≤ max − min spanning [b0, b1]: the shortest clip of each start is
      // < min + p long and a stride of max(5 s, min/2 + p) + p between starts keeps the rules, so k
      // fit when (k − 1)·(max(5 s, min/2 + p) + p) + min + p ≤ b1 − b0.
      if (!snapped) {
        const stride = Math.ceil(Math.max(MIN_START_GAP_MS, minLengthMs / 2) / GRID_STEP_MS) * GRID_STEP_MS;
        const fit = Math.min(required, Math.floor((durationMs - minLengthMs) / stride) + 1);
        assert.equal(out.length, Math.max(0, fit), `${label}: ${fit} fit on the grid`);
        if (fit === required) longRuns++;
      } else {
        const p = (m as ClipMusic).beatsMs[1] - (m as ClipMusic).beatsMs[0];
        const stride = Math.max(MIN_START_GAP_MS, minLengthMs / 2 + p) + p;
        if (p <= maxLengthMs - minLengthMs && (required - 1) * stride + minLengthMs + p <= beats[beats.length - 1] - beats[0]) {
          longRuns++;
          assert.equal(out.length, required, `${label}: beats long enough for ${required}`);
        }
      }
      if (seed % 25 === 0) assert.deepEqual(suggestClips(structuredClone(inp)), out, `${label}: deterministic`);
    }
    assert.ok(withMusic > 100 && withMusic < 200, `music in ${withMusic} of 300 runs`);
    assert.ok(exact > 200, `exactly the required count in ${exact} of 300 runs (${fewer} shorter videos)`);
    assert.ok(snappedRuns > 50, `snapped in ${snappedRuns} runs`);
    assert.ok(longRuns > 150, `long enough in ${longRuns} runs`);
  });
});

describe('clip weights', () => {
  it('the baseline: every sub-score, finite, ≥ 0, positive weights summing to 1', () => {
    for (const k of SUBSCORES) assert.ok(Number.isFinite(GLOBAL_BASELINE_WEIGHTS[k]) && GLOBAL_BASELINE_WEIGHTS[k] >= 0, k);
    const positive = SUBSCORES.filter((k) => k !== 'frozen_penalty').reduce((s, k) => s + GLOBAL_BASELINE_WEIGHTS[k], 0);
    assert.ok(Math.abs(positive - 1) < 1e-12);
    assert.deepEqual(loadBaselineWeights(), { weights: { ...GLOBAL_BASELINE_WEIGHTS }, version: GLOBAL_BASELINE_VERSION });
    assert.deepEqual(loadBaselineWeights('  '), { weights: { ...GLOBAL_BASELINE_WEIGHTS }, version: GLOBAL_BASELINE_VERSION });
  });

  it('config overrides are validated and named', () => {
    const full = { hook: 1, energy: 0, motion: 0.5, cuts_on_beats: 0.2, music_fit: 0.2, visual_variety: 0.1, frozen_penalty: 0.8 };
    const a = loadBaselineWeights(JSON.stringify(full));
    assert.deepEqual(a.weights, full);
    assert.match(a.version, /^global-config-[0-9a-f]{8}$/);
    assert.equal(loadBaselineWeights(JSON.stringify({ ...full })).version, a.version, 'stable name');
    assert.notEqual(loadBaselineWeights(JSON.stringify({ ...full, hook: 0.9 })).version, a.version);
    assert.deepEqual(loadBaselineWeights(JSON.stringify({ version: 'global-ops-2', weights: full })), { weights: full, version: 'global-ops-2' });
    const bad: Array<[string, RegExp]> = [
      ['not json', /not valid JSON/],
      ['[1,2]', /must be an object/],
      [JSON.stringify({ ...full, hook: undefined }), /missing the weight of hook/],
      [JSON.stringify({ ...full, motion: -0.1 }), /motion must be ≥ 0/],
      [JSON.stringify({ ...full, frozen_penalty: -1 }), /frozen_penalty is the size of a penalty/],
      [JSON.stringify({ ...full, energy: '0.5' }), /energy must be a finite number/],
      [JSON.stringify({ ...full, sparkle: 1 }), /unknown sub-score "sparkle"/],
      [JSON.stringify({ hook: 0, energy: 0, motion: 0, cuts_on_beats: 0, music_fit: 0, visual_variety: 0, frozen_penalty: 1 }), /needs a weight > 0/],
      [JSON.stringify({ version: 'has spaces', weights: full }), /version must be/],
    ];
    for (const [json, message] of bad) assert.throws(() => loadBaselineWeights(json), (err: unknown) => err instanceof WeightsError && message.test(err.message), json);
  });

  it('combines the layers global → genre → artist → music, the smaller shrunk toward the larger', () => {
    const only = combineWeightLayers([{ name: 'global', version: 'global-baseline-1', weights: GLOBAL_BASELINE_WEIGHTS }]);
    assert.deepEqual(only, { weights: { ...GLOBAL_BASELINE_WEIGHTS }, version: { global: 'global-baseline-1' } });
    assert.deepEqual(combineWeightLayers([]).version, { global: GLOBAL_BASELINE_VERSION });

    const k = SHRINKAGE_SAMPLES;
    const combined = combineWeightLayers([
      { name: 'music', version: 'music-v3', weights: { hook: 1 }, samples: k },
      { name: 'genre', version: 'samba-7', weights: { hook: 0.45, energy: 0.35 }, samples: 3 * k },
      { name: 'global', version: 'g-2', weights: { hook: 0.25 } },
    ]);
    // genre: hook (3k·0.45 + k·0.25) / 4k = 0.4; music: (k·1 + k·0.4) / 2k = 0.7.
    assert.ok(Math.abs(combined.weights.hook - 0.7) < 1e-12, String(combined.weights.hook));
    assert.ok(Math.abs(combined.weights.energy - (3 * 0.35 + 0.15) / 4) < 1e-12);
    assert.equal(combined.weights.motion, GLOBAL_BASELINE_WEIGHTS.motion);
    assert.deepEqual(combined.version, { global: 'g-2', genre: 'samba-7', music: 'music-v3' });

    const tiny = combineWeightLayers([{ name: 'artist', version: 'a1', weights: { motion: 1 }, samples: 1 }]);
    assert.ok(tiny.weights.motion > 0.15 && tiny.weights.motion < 0.2, 'one sample barely moves the weight');
    const manual = combineWeightLayers([{ name: 'artist', version: 'a-manual', weights: { motion: 1 } }]);
    assert.equal(manual.weights.motion, 1, 'a layer without samples is taken as it is');

    assert.throws(() => combineWeightLayers([{ name: 'global', version: 'a', weights: {} }, { name: 'global', version: 'b', weights: {} }]), /given twice/);
    assert.throws(() => combineWeightLayers([{ name: 'music', version: 'm', weights: { hook: Number.NaN } }]), /finite/);
    assert.throws(() => combineWeightLayers([{ name: 'music', version: 'm', weights: {}, samples: -1 }]), /samples/);
  });
});
