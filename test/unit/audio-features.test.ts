import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { ANALYSIS_SAMPLE_RATE, ANALYZER_VERSION, type GenreProfile } from '../../lib/audio/analysis.ts';
import { analyzeMusicPcm } from '../../lib/audio/analyze-music.ts';
import { buildEmbedding, EMBEDDING_FEATURES, EMBEDDING_LENGTH } from '../../lib/audio/embedding.ts';
import { computeFrameFeatures, N_MFCC, summarizeFeatures, type FrameFeatures } from '../../lib/audio/features.ts';
import { emptyProfile, GENRE_MAX_LENGTH, inferGenre, normalizeGenre, updateProfile } from '../../lib/audio/genre.ts';
import { detectImpacts } from '../../lib/audio/impacts.ts';
import { analyzeLoudness, MOMENTARY_STEP_MS, SILENCE_LUFS } from '../../lib/audio/loudness.ts';
import { detectSections } from '../../lib/audio/sections.ts';
import { stft } from '../../lib/audio/spectrogram.ts';
import { accuracy, analyseTracks, PROFILES_PATH, type GenreReferenceProfiles } from '../../scripts/build-genre-profiles.ts';
import { fluidsynthAvailable, referenceTracks, renderTrack, REFERENCE_GENRES } from '../../scripts/genre-reference-set.ts';

const SR = ANALYSIS_SAMPLE_RATE;

function sine(freq: number, amplitude: number, seconds: number, sampleRate = SR): Float32Array {
  const out = new Float32Array(Math.round(seconds * sampleRate));
  for (let i = 0; i < out.length; i++) out[i] = amplitude * Math.sin((2 * Math.PI * freq * i) / sampleRate);
  return out;
}

/** Deterministic uniform white noise in [-amplitude, amplitude]. */
function noise(amplitude: number, seconds: number, seed = 1): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(Math.round(seconds * SR));
  for (let i = 0; i < out.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = amplitude * ((s / 2 ** 32) * 2 - 1);
  }
  return out;
}

function concat(...parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function features(pcm: Float32Array): FrameFeatures {
  return computeFrameFeatures(pcm, stft(pcm, SR));
}

/** Mean of a per-frame feature over the frames whose window lies inside the signal. */
function interiorMean(x: Float32Array): number {
  let sum = 0;
  let n = 0;
  for (let t = 4; t < x.length - 4; t++) {
    sum += x[t];
    n++;
  }
  return sum / n;
}

const norm = (v: number[]) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));
const dot = (a: number[], b: number[]) => a.reduce((s, x, i) => s + x * b[i], 0);

describe('frame features', () => {
  it('puts the chroma energy of a pure A4 on A', () => {
    const s = summarizeFeatures(features(sine(440, 0.5, 3)));
    const total = s.chromaMean.reduce((a, b) => a + b, 0);
    const top = s.chromaMean.indexOf(Math.max(...s.chromaMean));
    assert.equal(top, 9, `chroma ${s.chromaMean.map((c) => c.toFixed(2)).join(' ')}`);
    assert.ok(s.chromaMean[9] / total > 0.8, `A holds ${(s.chromaMean[9] / total).toFixed(2)} of the chroma`);
  });

  it('puts a C major triad on C, E and G', () => {
    const pcm = sine(261.63, 0.3, 3);
    const e = sine(329.63, 0.3, 3);
    const g = sine(392.0, 0.3, 3);
    for (let i = 0; i < pcm.length; i++) pcm[i] += e[i] + g[i];
    const chroma = summarizeFeatures(features(pcm)).chromaMean;
    const ranked = chroma.map((v, c) => [v, c] as const).sort((a, b) => b[0] - a[0]).slice(0, 3).map(([, c]) => c).sort((a, b) => a - b);
    assert.deepEqual(ranked, [0, 4, 7]);
  });

  it('computes MFCCs whose coefficients above 0 ignore the gain (c0 moves by √128 × the dB change)', () => {
    const loud = features(sine(440, 0.5, 2)).mfcc;
    const quiet = features(sine(440, 0.05, 2)).mfcc;
    const t = 20 * N_MFCC; // an interior frame
    assert.ok(Math.abs(quiet[t] - loud[t] - Math.sqrt(128) * -20) < 0.05, `c0 ${loud[t]} → ${quiet[t]}`);
    for (let k = 1; k < N_MFCC; k++) assert.ok(Math.abs(quiet[t + k] - loud[t + k]) < 1e-2, `c${k}`);
    // A steady tone: away from the zero-padded edges the coefficients do not move from frame to frame.
    const f = features(sine(440, 0.5, 2));
    for (let k = 0; k < N_MFCC; k++) {
      for (let frame = 4; frame < f.frames - 4; frame++) assert.ok(Math.abs(f.mfcc[frame * N_MFCC + k] - f.mfcc[4 * N_MFCC + k]) < 0.1, `c${k} frame ${frame}`);
    }
  });

  it('places the spectral centroid and rolloff of white noise far above those of a low tone', () => {
    const white = features(noise(0.5, 3));
    const low = features(sine(200, 0.5, 3));
    const whiteCentroid = interiorMean(white.centroid);
    const lowCentroid = interiorMean(low.centroid);
    assert.ok(whiteCentroid > 4500 && whiteCentroid < 6500, `white-noise centroid ${whiteCentroid} (≈ sr/4)`);
    assert.ok(lowCentroid > 150 && lowCentroid < 260, `200 Hz centroid ${lowCentroid}`);
    const whiteRolloff = interiorMean(white.rolloff);
    assert.ok(Math.abs(whiteRolloff - 0.85 * (SR / 2)) < 500, `white-noise rolloff ${whiteRolloff}`);
    assert.ok(interiorMean(low.rolloff) < 300);
    assert.ok(interiorMean(white.flux) > 10 * interiorMean(low.flux), 'noise changes from frame to frame, a tone does not');
  });

  it('measures RMS and zero-crossing rate of known signals', () => {
    const f = features(sine(1000, 0.5, 2));
    assert.ok(Math.abs(interiorMean(f.rms) - 0.5 / Math.SQRT2) < 1e-3, `rms ${interiorMean(f.rms)}`);
    assert.ok(Math.abs(interiorMean(f.zcr) - (2 * 1000) / SR) < 2e-3, `zcr ${interiorMean(f.zcr)}`);
    const square = new Float32Array(SR * 2).map((_, i) => (Math.floor(i / 50) % 2 ? -0.25 : 0.25));
    const q = features(square);
    assert.ok(Math.abs(interiorMean(q.rms) - 0.25) < 1e-6);
    assert.ok(Math.abs(interiorMean(q.zcr) - 1 / 50) < 1e-3);
    const dc = features(new Float32Array(SR).fill(0.3));
    assert.equal(interiorMean(dc.zcr), 0);
  });

  it('summarizes digital silence without NaN', () => {
    const s = summarizeFeatures(features(new Float32Array(SR * 2)));
    assert.equal(s.activeFrames, 0);
    for (const v of [...s.mfccMean, ...s.mfccStd, ...s.chromaMean, s.centroidMean, s.rolloffMean, s.zcrMean, s.rmsDbStd, s.onsetMean]) assert.ok(Number.isFinite(v));
    assert.equal(s.rmsDbMean, -100);
  });
});

describe('loudness (EBU R128 / BS.1770)', () => {
  it('reads a full-scale 997 Hz sine as −3.01 LUFS (48 kHz and the analysis rate)', () => {
    assert.ok(Math.abs(analyzeLoudness(sine(997, 1, 5, 48_000), 48_000).integratedLufs! - -3.01) < 0.02);
    assert.ok(Math.abs(analyzeLoudness(sine(997, 1, 5), SR).integratedLufs! - -3.01) < 0.1);
  });

  it('reads a −20 dBFS 1 kHz sine as ≈ −23 LUFS, with a flat momentary curve', () => {
    const l = analyzeLoudness(sine(1000, 0.1, 10), SR);
    assert.ok(Math.abs(l.integratedLufs! - -23.01) < 0.1, `integrated ${l.integratedLufs}`);
    assert.equal(l.momentary.stepMs, MOMENTARY_STEP_MS);
    assert.equal(l.momentary.lufs.length, 100);
    for (const v of l.momentary.lufs.slice(3, -3)) assert.ok(Math.abs(v - -23.01) < 0.15, `momentary ${v}`);
  });

  it('gates out a much quieter half (relative gate −10 LU) and follows it in the momentary curve', () => {
    const l = analyzeLoudness(concat(sine(1000, 0.1, 10), sine(1000, 0.01, 10)), SR);
    assert.ok(Math.abs(l.integratedLufs! - -23.01) < 0.2, `integrated ${l.integratedLufs}`);
    assert.ok(Math.abs(l.momentary.lufs[50] - -23) < 0.2);
    assert.ok(Math.abs(l.momentary.lufs[150] - -43) < 0.2);
  });

  it('answers null for digital silence, with the momentary curve at −70', () => {
    const l = analyzeLoudness(new Float32Array(SR * 3), SR);
    assert.equal(l.integratedLufs, null);
    assert.equal(l.momentary.lufs.length, 30);
    assert.ok(l.momentary.lufs.every((v) => v === SILENCE_LUFS));
    assert.deepEqual(analyzeLoudness(new Float32Array(0), SR), { integratedLufs: null, momentary: { stepMs: MOMENTARY_STEP_MS, lufs: [] } });
  });

  it('measures an input shorter than one 400 ms block', () => {
    const l = analyzeLoudness(sine(1000, 0.1, 0.2), SR);
    assert.ok(l.integratedLufs !== null && Math.abs(l.integratedLufs - -23) < 0.5);
  });
});

describe('sections', () => {
  // Three distinct 10 s parts: a two-note chord, noise, a pulsing low tone with a high whistle.
  const threeParts = concat(
    (() => {
      const a = sine(220, 0.3, 10);
      const b = sine(330, 0.2, 10);
      return a.map((v, i) => v + b[i]);
    })(),
    noise(0.3, 10),
    new Float32Array(SR * 10).map((_, i) => {
      const t = i / SR;
      return 0.6 * Math.exp(-(t % 0.5) * 20) * Math.sin(2 * Math.PI * 60 * t) + 0.1 * Math.sin(2 * Math.PI * 880 * t);
    }),
  );

  it('finds the boundaries of three distinct 10 s parts near 10 s and 20 s', () => {
    const sections = detectSections(features(threeParts), 30_000);
    assert.equal(sections.length, 3, JSON.stringify(sections));
    assert.equal(sections[0].startMs, 0);
    assert.equal(sections[2].endMs, 30_000);
    assert.ok(Math.abs(sections[0].endMs - 10_000) <= 1000, JSON.stringify(sections));
    assert.ok(Math.abs(sections[1].endMs - 20_000) <= 1000, JSON.stringify(sections));
    for (let i = 1; i < sections.length; i++) assert.equal(sections[i].startMs, sections[i - 1].endMs);
  });

  it('answers one section for a steady signal, silence and short input; none for empty input', () => {
    assert.deepEqual(detectSections(features(sine(440, 0.5, 30)), 30_000), [{ startMs: 0, endMs: 30_000 }]);
    assert.deepEqual(detectSections(features(new Float32Array(SR * 30)), 30_000), [{ startMs: 0, endMs: 30_000 }]);
    assert.deepEqual(detectSections(features(noise(0.3, 5)), 5000), [{ startMs: 0, endMs: 5000 }]);
    assert.deepEqual(detectSections(features(new Float32Array(0)), 0), []);
  });
});

describe('impacts', () => {
  it('finds a loud hit in a quiet pad, strongest, and keeps impacts apart', () => {
    const pcm = sine(220, 0.05, 12);
    const hit = Math.round(5 * SR);
    for (let i = 0; i < SR / 4; i++) pcm[hit + i] += 0.8 * Math.exp(-i / 2000) * Math.sin((2 * Math.PI * 80 * i) / SR) + 0.3 * Math.exp(-i / 300) * (((i * 7919) % 200) / 100 - 1);
    const impacts = detectImpacts(features(pcm));
    assert.ok(impacts.length >= 1);
    const strongest = impacts.reduce((a, b) => (b.strength > a.strength ? b : a));
    assert.ok(Math.abs(strongest.timeMs - 5000) <= 60, `strongest impact at ${strongest.timeMs} ms`);
    for (let i = 1; i < impacts.length; i++) assert.ok(impacts[i].timeMs - impacts[i - 1].timeMs >= 1000);
  });

  it('finds none in silence or a steady tone', () => {
    assert.deepEqual(detectImpacts(features(new Float32Array(SR * 5))), []);
    assert.deepEqual(detectImpacts(features(new Float32Array(0))), []);
    assert.ok(detectImpacts(features(sine(440, 0.5, 10))).every((i) => i.timeMs < 200 || i.timeMs > 9800));
  });
});

describe('embedding', () => {
  const rhythm = { tempoBpm: 120, pulseClarity: 0.6 };

  it('has a fixed length, unit norm, and is deterministic', () => {
    assert.equal(EMBEDDING_FEATURES.length, EMBEDDING_LENGTH);
    assert.equal(new Set(EMBEDDING_FEATURES).size, EMBEDDING_LENGTH);
    const pcm = concat(sine(330, 0.3, 4), noise(0.2, 4));
    const a = buildEmbedding(summarizeFeatures(features(pcm)), rhythm);
    const b = buildEmbedding(summarizeFeatures(features(pcm)), rhythm);
    assert.equal(a.length, EMBEDDING_LENGTH);
    assert.ok(Math.abs(norm(a) - 1) < 1e-4);
    assert.deepEqual(a, b);
    const silent = buildEmbedding(summarizeFeatures(features(new Float32Array(SR * 3))), { tempoBpm: null, pulseClarity: 0 });
    assert.equal(silent.length, EMBEDDING_LENGTH);
    assert.ok(silent.every(Number.isFinite) && Math.abs(norm(silent) - 1) < 1e-4);
  });

  it('ignores the gain and separates different sounds', () => {
    const pcm = concat(sine(330, 0.3, 4), noise(0.2, 4));
    const a = buildEmbedding(summarizeFeatures(features(pcm)), rhythm);
    const quieter = buildEmbedding(summarizeFeatures(features(pcm.map((v) => v * 0.2))), rhythm);
    assert.ok(dot(a, quieter) > 0.999, `cos ${dot(a, quieter)}`);
    const other = buildEmbedding(summarizeFeatures(features(sine(110, 0.5, 8))), rhythm);
    assert.ok(dot(a, other) < 0.9, `cos ${dot(a, other)}`);
  });
});

describe('analyzeMusicPcm', () => {
  it('analyses digital silence without crashing', () => {
    const r = analyzeMusicPcm(new Float32Array(SR * 10), SR);
    assert.equal(r.analyzerVersion, ANALYZER_VERSION);
    assert.equal(r.durationMs, 10_000);
    assert.equal(r.loudness.integratedLufs, null);
    assert.equal(r.rhythm.tempoBpm, null);
    assert.deepEqual(r.sections, [{ startMs: 0, endMs: 10_000 }]);
    assert.deepEqual(r.impacts, []);
    assert.equal(r.embedding.length, EMBEDDING_LENGTH);
    assert.ok(r.embedding.every(Number.isFinite));
  });

  it('analyses very short, empty and non-finite input', () => {
    for (const pcm of [new Float32Array(0), new Float32Array(1), sine(440, 0.5, 0.05), new Float32Array(2048).fill(Number.NaN)]) {
      const r = analyzeMusicPcm(pcm, SR);
      assert.equal(r.embedding.length, EMBEDDING_LENGTH);
      assert.ok(r.embedding.every(Number.isFinite));
      assert.ok(r.loudness.momentary.lufs.every(Number.isFinite));
      assert.ok(r.sections.length <= 1);
    }
  });
});

describe('genre', () => {
  it('normalizes any declared genre as free text', () => {
    assert.equal(normalizeGenre('  Forró   Pé-de-Serra '), 'forró pé-de-serra');
    assert.equal(normalizeGenre('FORRO\u0301'), 'forró'); // decomposed accent → NFC
    assert.equal(normalizeGenre('Hip\tHop\n'), 'hip hop');
    assert.equal(normalizeGenre('Música Popular Brasileira'), 'música popular brasileira');
    assert.equal(normalizeGenre('nu-disco / italo 🎹'), 'nu-disco / italo 🎹');
    assert.equal(normalizeGenre('   '), null);
    assert.equal(normalizeGenre(''), null);
    assert.equal(normalizeGenre(null), null);
    const long = normalizeGenre('x'.repeat(63) + '🎸🎸');
    assert.equal(Array.from(long!).length, GENRE_MAX_LENGTH);
    assert.ok(long!.endsWith('🎸'), 'never splits a surrogate pair');
  });

  const profile = (genre: string, mean: number[], variance: number[], sampleCount = 10): GenreProfile => ({ genre, mean, variance, sampleCount });

  it('answers null without profiles, and ignores profiles of another dimension', () => {
    assert.deepEqual(inferGenre([1, 0], []), { inferred: null, score: null, ranking: [] });
    assert.deepEqual(inferGenre([1, 0], [profile('rock', [1, 0, 0], [1, 1, 1]), profile('samba', [1, 0], [1, 1], 0)]), { inferred: null, score: null, ranking: [] });
  });

  it('picks the nearest profile by variance-scaled distance, with softmax scores', () => {
    const profiles = [profile('a', [0, 0], [0.01, 1]), profile('b', [0.3, 3], [0.01, 100])];
    // Nearer to a in plain distance; nearer to b once each dimension is scaled by its variance.
    const g = inferGenre([0.28, 1], profiles);
    assert.equal(g.inferred, 'b');
    assert.equal(g.ranking.length, 2);
    assert.ok(Math.abs(g.ranking.reduce((s, r) => s + r.score, 0) - 1) < 1e-3);
    assert.ok(g.score! > 0.5 && g.score === g.ranking[0].score);
    assert.deepEqual(inferGenre([0.28, 1], profiles), g);
    const tie = inferGenre([0, 0], [profile('zouk', [1, 0], [1, 1]), profile('axé', [-1, 0], [1, 1])]);
    assert.equal(tie.inferred, 'axé', 'ties go to the first genre name');
  });

  it('updates a profile with Welford (mean and population variance of the vectors)', () => {
    const vectors = [[1, 2], [3, 2], [5, 8], [7, 0]];
    let p = emptyProfile('rock', 2);
    for (const v of vectors) p = updateProfile(p, v);
    assert.equal(p.sampleCount, 4);
    assert.deepEqual(p.mean, [4, 3]);
    assert.ok(Math.abs(p.variance[0] - 5) < 1e-12 && Math.abs(p.variance[1] - 9) < 1e-12);
    assert.throws(() => updateProfile(p, [1, 2, 3]), RangeError);
  });
});

describe('genre reference profiles', () => {
  const doc = JSON.parse(readFileSync(PROFILES_PATH, 'utf8')) as GenreReferenceProfiles;

  it('match the analyser version and the embedding layout', () => {
    assert.equal(doc.analyzerVersion, ANALYZER_VERSION);
    assert.deepEqual(doc.features, EMBEDDING_FEATURES);
    assert.deepEqual(doc.profiles.map((p) => p.genre), [...REFERENCE_GENRES]);
    for (const p of doc.profiles) {
      assert.equal(normalizeGenre(p.genre), p.genre);
      assert.equal(p.mean.length, EMBEDDING_LENGTH);
      assert.equal(p.variance.length, EMBEDDING_LENGTH);
      assert.ok(p.sampleCount >= 5);
      assert.ok([...p.mean, ...p.variance].every(Number.isFinite) && p.variance.every((v) => v >= 0));
    }
  });

  // npm test provisions fluidsynth and the soundfont; without them these tests fail, never skip.
  it('have fluidsynth and the GM soundfont to render the reference tracks', () => {
    assert.ok(fluidsynthAvailable(), 'needs fluidsynth and /usr/share/sounds/sf2/FluidR3_GM.sf2 (npm test installs them with apt)');
  });

  it('are up to date: the check track still analyses to the stored embedding', async () => {
    const [again] = await analyseTracks([{ genre: doc.check.genre as (typeof REFERENCE_GENRES)[number], id: doc.check.trackId, seed: doc.check.seed, seconds: doc.check.seconds }]);
    const cos = dot(again.embedding, doc.check.embedding);
    assert.ok(cos > 0.999, `cosine ${cos}: an analyser changed; run node scripts/build-genre-profiles.ts and bump ANALYZER_VERSION`);
  });

  it('infer the genre of held-out reference tracks (never used for the profiles)', async (t) => {
    const heldOut = referenceTracks('heldout');
    const analysed = await analyseTracks(heldOut);
    const { accuracy: acc, misses } = accuracy(analysed, doc.profiles);
    t.diagnostic(`held-out top-1 accuracy ${acc.toFixed(3)} over ${heldOut.length} tracks${misses.length ? `; misses: ${misses.join(', ')}` : ''}`);
    assert.ok(acc >= 0.8, `accuracy ${acc}: ${misses.join(', ')}`);
  });
});
