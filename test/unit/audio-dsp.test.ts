/**
 * The audio DSP building blocks (issue 6) on signals whose answer is known: the FFT against a naive
 * DFT, the STFT's framing and scale, the Slaney mel filterbank's shape, the onset envelope on
 * clicks, the tempo prior and estimator, the DP beat tracker, the mir_eval scores and the MIDI
 * writer used by the ground truth, and analyzeRhythm's answers for silence and short input.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodePcmArgs } from '../../lib/audio/pcm.ts';
import { RealFft, realFft } from '../../lib/audio/fft.ts';
import { estimateDownbeats, pulseRatios, trackBeats } from '../../lib/audio/beats.ts';
import { onsetStrength, type OnsetEnvelope } from '../../lib/audio/onset.ts';
import { analyzeRhythm } from '../../lib/audio/rhythm.ts';
import {
  fftFrequencies,
  frameCount,
  hannWindow,
  hzToMel,
  logMelSpectrogram,
  melFilterbank,
  melSpectrogram,
  melToHz,
  powerToDb,
  stft,
} from '../../lib/audio/spectrogram.ts';
import { autocorrelation, estimateTempo, tempoPrior } from '../../lib/audio/tempo.ts';
import {
  beatFMeasure,
  clickTrack,
  drumTrack,
  matchEvents,
  midiFileBytes,
  parseMidiTempoMap,
  prng,
  songBeats,
  songEvents,
  SONGS,
  tempoAccuracy1,
  tempoAccuracy2,
  tempoMapBeats,
  tickToSeconds,
  trimBeats,
} from '../support/audio-truth.ts';

const SR = 22_050;

function naiveDft(x: ArrayLike<number>): { re: Float64Array; im: Float64Array } {
  const n = x.length;
  const re = new Float64Array(n / 2 + 1);
  const im = new Float64Array(n / 2 + 1);
  for (let k = 0; k <= n / 2; k++) {
    let sr = 0;
    let si = 0;
    for (let t = 0; t < n; t++) {
      sr += x[t] * Math.cos((2 * Math.PI * k * t) / n);
      si -= x[t] * Math.sin((2 * Math.PI * k * t) / n);
    }
    re[k] = sr;
    im[k] = si;
  }
  return { re, im };
}

function sine(hz: number, seconds: number, sampleRate = SR, amplitude = 1): Float32Array {
  const out = new Float32Array(Math.round(seconds * sampleRate));
  for (let i = 0; i < out.length; i++) out[i] = amplitude * Math.sin((2 * Math.PI * hz * i) / sampleRate);
  return out;
}

/** A synthetic onset envelope: unit impulses at the given frames (low band = the same). */
function impulseEnvelope(frames: number, impulses: number[], frameRate = SR / 512): OnsetEnvelope {
  const values = new Float32Array(frames);
  for (const f of impulses) if (f >= 0 && f < frames) values[Math.round(f)] = 1;
  return { sampleRate: SR, hop: 512, frameRate, values, low: values.slice(), peakDb: 0, logMel: new Float32Array(frames * 4), nMels: 4 };
}

describe('RealFft', () => {
  it('matches a naive DFT for every power-of-two size from 4 to 2048', () => {
    const random = prng(42);
    for (let n = 4; n <= 2048; n *= 2) {
      const x = Float64Array.from({ length: n }, () => random() * 2 - 1);
      const fft = new RealFft(n);
      const re = new Float64Array(fft.bins);
      const im = new Float64Array(fft.bins);
      fft.forward(x, re, im);
      const ref = naiveDft(x);
      let err = 0;
      for (let k = 0; k < fft.bins; k++) err = Math.max(err, Math.abs(re[k] - ref.re[k]), Math.abs(im[k] - ref.im[k]));
      assert.ok(err < 1e-9 * n, `size ${n}: max error ${err}`);
    }
  });

  it('magnitudes(): windowed, at any offset (samples outside the input read as zeros)', () => {
    const n = 64;
    const fft = realFft(n);
    const random = prng(7);
    const x = Float32Array.from({ length: 100 }, () => random() - 0.5);
    const window = hannWindow(n);
    for (const offset of [-40, -1, 0, 17, 36, 60, 99]) {
      const framed = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        const s = offset + i;
        framed[i] = s >= 0 && s < x.length ? x[s] * window[i] : 0;
      }
      const ref = naiveDft(framed);
      const mags = new Float32Array(fft.bins + 3);
      fft.magnitudes(x, mags, 3, offset, window);
      for (let k = 0; k < fft.bins; k++) {
        assert.ok(Math.abs(mags[3 + k] - Math.hypot(ref.re[k], ref.im[k])) < 1e-5, `offset ${offset} bin ${k}`);
      }
    }
  });

  it('rejects sizes that are not powers of two', () => {
    for (const n of [0, 2, 3, 100, 1000, 2.5]) assert.throws(() => new RealFft(n), RangeError);
  });
});

describe('stft', () => {
  it('centred frames: 1 + ⌊samples / hop⌋, a 1 kHz sine peaks at its bin with magnitude nFft / 4', () => {
    const pcm = sine(1000, 2);
    const spec = stft(pcm, SR);
    assert.equal(spec.nFft, 2048);
    assert.equal(spec.hop, 512);
    assert.equal(spec.bins, 1025);
    assert.equal(spec.frames, frameCount(pcm.length, 512));
    assert.equal(spec.magnitudes.length, spec.frames * spec.bins);
    const t = 20;
    let best = 0;
    for (let k = 0; k < spec.bins; k++) if (spec.magnitudes[t * spec.bins + k] > spec.magnitudes[t * spec.bins + best]) best = k;
    assert.equal(best, Math.round((1000 * 2048) / SR));
    // A Hann window's coherent gain is 1/2: |X| = A · N / 4 for a sine on a bin.
    assert.ok(Math.abs(spec.magnitudes[t * spec.bins + best] / 512 - 1) < 0.05);
  });

  it('frame t is centred on sample t·hop: an impulse lights the frames within half a window', () => {
    const pcm = new Float32Array(SR);
    pcm[20 * 256] = 1;
    const spec = stft(pcm, SR, { nFft: 1024, hop: 256 });
    const energy = (t: number) => spec.magnitudes[t * spec.bins + 10];
    const centre = 20;
    assert.ok(energy(centre) > 0.9, 'the frame centred on the impulse sees it at full window weight');
    assert.equal(energy(centre + 3), 0, '3 hops away (768 > 512 samples) the window does not reach it');
    assert.equal(energy(centre - 3), 0);
  });

  it('empty input gives one silent frame', () => {
    const spec = stft(new Float32Array(0), SR);
    assert.equal(spec.frames, 1);
    assert.ok(spec.magnitudes.every((v) => v === 0));
  });
});

describe('mel filterbank (Slaney, librosa defaults)', () => {
  it('mel scale: linear below 1 kHz (15 mel at 1 kHz), logarithmic above, invertible', () => {
    assert.equal(hzToMel(0), 0);
    assert.ok(Math.abs(hzToMel(1000) - 15) < 1e-12);
    assert.ok(Math.abs(hzToMel(500) - 7.5) < 1e-12);
    assert.ok(Math.abs(hzToMel(6400) - 42) < 1e-9, 'a factor 6.4 above 1 kHz is 27 mel');
    for (const hz of [0, 50, 440, 999, 1000, 4000, 11025]) assert.ok(Math.abs(melToHz(hzToMel(hz)) - hz) < 1e-6);
  });

  it('triangles: non-negative, one peak at the centre edge, unit area (Slaney normalization)', () => {
    const bank = melFilterbank(SR, 2048, 128);
    const freqs = fftFrequencies(SR, 2048);
    const binHz = SR / 2048;
    assert.equal(bank.weights.length, 128 * 1025);
    for (let m = 0; m < 128; m++) {
      const row = bank.weights.subarray(m * 1025, (m + 1) * 1025);
      assert.ok(row.every((w) => w >= 0));
      assert.ok(bank.end[m] > bank.start[m], `band ${m} is empty`);
      for (let k = 0; k < 1025; k++) if (row[k] > 0) assert.ok(k >= bank.start[m] && k < bank.end[m]);
      // Rising up to the centre frequency, falling after it.
      const centre = bank.edgesHz[m + 1];
      for (let k = bank.start[m] + 1; k < bank.end[m]; k++) {
        if (freqs[k] <= centre) assert.ok(row[k] >= row[k - 1] - 1e-7);
        else if (freqs[k - 1] >= centre) assert.ok(row[k] <= row[k - 1] + 1e-7);
      }
      // Wide bands (≥ 8 bins) integrate to ~1: area of a triangle of height 2 / width.
      const width = bank.edgesHz[m + 2] - bank.edgesHz[m];
      if (width >= 8 * binHz) {
        const area = row.reduce((s, w) => s + w, 0) * binHz;
        assert.ok(Math.abs(area - 1) < 0.05, `band ${m}: area ${area}`);
      }
    }
    // Band edges evenly spaced in mel from 0 to the Nyquist frequency.
    assert.equal(bank.edgesHz[0], 0);
    assert.ok(Math.abs(bank.edgesHz[129] - SR / 2) < 1e-6);
    const step = hzToMel(bank.edgesHz[1]) - hzToMel(bank.edgesHz[0]);
    for (let i = 1; i < 130; i++) assert.ok(Math.abs(hzToMel(bank.edgesHz[i]) - hzToMel(bank.edgesHz[i - 1]) - step) < 1e-9);
  });

  it('melSpectrogram puts a sine into the band around its frequency; log-mel is dB with an 80 dB range', () => {
    const spec = stft(sine(440, 1), SR);
    const mel = melSpectrogram(spec, 64);
    assert.equal(mel.frames, spec.frames);
    assert.equal(mel.values.length, spec.frames * 64);
    const t = 10;
    let best = 0;
    for (let m = 0; m < 64; m++) if (mel.values[t * 64 + m] > mel.values[t * 64 + best]) best = m;
    const bank = melFilterbank(SR, 2048, 64);
    assert.ok(bank.edgesHz[best] < 440 && 440 < bank.edgesHz[best + 2], `band ${best} does not cover 440 Hz`);
    const db = logMelSpectrogram(spec, 64);
    let max = -Infinity;
    let min = Infinity;
    for (const v of db.values) {
      max = Math.max(max, v);
      min = Math.min(min, v);
    }
    assert.ok(Math.abs(max - 10 * Math.log10(mel.values[t * 64 + best])) < 0.5);
    assert.ok(max - min <= 80 + 1e-3);
  });

  it('powerToDb: ref, amin, top_db', () => {
    const out = powerToDb(Float32Array.from([1, 10, 100, 0]), { ref: 'max', topDb: 15 });
    assert.deepEqual(Array.from(out, (v) => Math.round(v * 1000) / 1000), [-15, -10, 0, -15]);
    const raw = powerToDb(Float32Array.from([1, 0]), { topDb: null });
    assert.deepEqual(Array.from(raw), [0, -100]);
  });
});

describe('onset strength', () => {
  it('peaks on each click (within one frame) and is quiet in between', () => {
    const track = clickTrack({ bpm: 100, seconds: 12, sampleRate: SR });
    const env = onsetStrength(stft(track.samples, SR));
    assert.equal(env.values.length, stft(track.samples, SR).frames);
    assert.ok(Math.abs(env.frameRate - SR / 512) < 1e-9);
    let max = 0;
    for (const v of env.values) max = Math.max(max, v);
    for (const beat of track.beatsS) {
      const frame = Math.round(beat * env.frameRate);
      // An onset between two frames splits its flux over both.
      const near = env.values[frame - 1] + env.values[frame] + env.values[frame + 1];
      assert.ok(near > 0.5 * max, `click at ${beat.toFixed(2)} s: ${near} of max ${max}`);
      const between = Math.round((beat + 0.3) * env.frameRate);
      assert.ok(env.values[between] < 0.05 * max, `between clicks at ${(beat + 0.3).toFixed(2)} s`);
    }
  });

  it('digital silence has no onsets', () => {
    const env = onsetStrength(stft(new Float32Array(SR * 2), SR));
    assert.ok(env.values.every((v) => v === 0));
    assert.equal(env.peakDb, -100);
  });
});

describe('tempo', () => {
  it('the prior is log-normal around 120 BPM, one octave wide', () => {
    assert.equal(tempoPrior(120), 1);
    assert.ok(Math.abs(tempoPrior(60) - Math.exp(-0.5)) < 1e-12);
    assert.ok(Math.abs(tempoPrior(240) - tempoPrior(60)) < 1e-12);
    assert.ok(tempoPrior(100) > tempoPrior(80) && tempoPrior(80) > tempoPrior(50));
  });

  it('autocorrelation of an impulse train peaks at its period and multiples', () => {
    const x = new Float64Array(1000);
    for (let i = 0; i < 1000; i += 25) x[i] = 1;
    const ac = autocorrelation(x, 100);
    assert.equal(ac[0], 1);
    assert.ok(ac[25] > 0.9 && ac[50] > 0.9 && ac[75] > 0.9);
    assert.ok(ac[12] === 0 && ac[30] === 0);
  });

  it('estimates the tempo of a pulse train to a fraction of a percent, at the right level', () => {
    const frameRate = SR / 512;
    for (const bpm of [72, 96, 128, 150]) {
      const period = (60 * frameRate) / bpm;
      const impulses: number[] = [];
      for (let t = 10; t < 60 * frameRate; t += period) impulses.push(t);
      const estimate = estimateTempo(impulseEnvelope(Math.ceil(62 * frameRate), impulses));
      assert.ok(estimate.bpm !== null && Math.abs(estimate.bpm / bpm - 1) < 0.01, `${bpm} BPM estimated as ${estimate.bpm}`);
      assert.ok(estimate.pulseClarity > 0.5);
      assert.equal(estimate.tempoVaries, false);
    }
  });

  it('answers null (too short) when fewer than three periods fit', () => {
    const estimate = estimateTempo(impulseEnvelope(100, [10, 50, 90]));
    assert.equal(estimate.bpm, null);
    assert.match(estimate.reason ?? '', /too short/);
  });
});

describe('beat tracking (DP) and downbeats', () => {
  it('puts a beat on every pulse of a pulse train, none in between', () => {
    const frameRate = SR / 512;
    const period = (60 * frameRate) / 110;
    const impulses: number[] = [];
    for (let t = 5; t < 40 * frameRate; t += period) impulses.push(Math.round(t));
    const env = impulseEnvelope(Math.ceil(41 * frameRate), impulses);
    const beats = trackBeats(env, new Float64Array(env.values.length).fill(period));
    assert.ok(beats.length >= impulses.length - 2, `${beats.length} beats for ${impulses.length} pulses`);
    for (const b of beats) assert.ok(impulses.some((i) => Math.abs(i - b) <= 1), `beat at frame ${b} is not on a pulse`);
    const ratios = pulseRatios(env, beats);
    assert.ok(ratios.mid < 0.1 && ratios.alternate > 0.9);
  });

  it('finds the accented phase as the downbeat', () => {
    const frameRate = SR / 512;
    const period = 20;
    const frames = Math.ceil(30 * frameRate);
    const env = impulseEnvelope(frames, []);
    const beats: number[] = [];
    for (let i = 0, t = 8; t < frames; i++, t += period) {
      beats.push(t);
      env.values[t] = i % 4 === 1 ? 1 : 0.4;
      env.low[t] = i % 4 === 1 ? 1 : 0.2;
    }
    const downbeats = estimateDownbeats(env, beats);
    assert.equal(downbeats.beatsPerBar, 4);
    assert.equal(downbeats.phase, 1);
    assert.deepEqual(downbeats.downbeats.slice(0, 3), [beats[1], beats[5], beats[9]]);
  });
});

describe('analyzeRhythm', () => {
  it('digital silence: tempo null with a reason, no beats, no crash', () => {
    const result = analyzeRhythm(new Float32Array(SR * 10), SR);
    assert.equal(result.tempoBpm, null);
    assert.match(result.tempoReason ?? '', /no pulse: the audio is silent/);
    assert.deepEqual(result.beatsMs, []);
    assert.deepEqual(result.downbeatsMs, []);
    assert.equal(result.pulseClarity, 0);
  });

  it('empty, very short and non-finite input: null with a reason', () => {
    assert.match(analyzeRhythm(new Float32Array(0), SR).tempoReason ?? '', /silent/);
    assert.match(analyzeRhythm(sine(440, 0.5), SR).tempoReason ?? '', /too short/);
    const broken = new Float32Array(SR * 4).fill(Number.NaN);
    assert.match(analyzeRhythm(broken, SR).tempoReason ?? '', /silent/);
  });

  it('a steady tone has no pulse; white noise has no pulse', () => {
    assert.equal(analyzeRhythm(sine(440, 20, SR, 0.5), SR).tempoBpm, null);
    const random = prng(3);
    const noise = Float32Array.from({ length: SR * 30 }, () => 0.3 * (random() * 2 - 1));
    const result = analyzeRhythm(noise, SR);
    assert.equal(result.tempoBpm, null);
    assert.match(result.tempoReason ?? '', /not periodic/);
  });

  it('a click track at 120 BPM (in memory, no decode): tempo, beats on the clicks, accented downbeats', () => {
    const track = clickTrack({ bpm: 120, seconds: 20, sampleRate: SR });
    const result = analyzeRhythm(track.samples, SR);
    assert.ok(tempoAccuracy1(result.tempoBpm, 120), `tempo ${result.tempoBpm}`);
    assert.ok(beatFMeasure(track.beatsS, result.beatsMs.map((ms) => ms / 1000)).fMeasure >= 0.95);
    assert.ok(beatFMeasure(track.downbeatsS, result.downbeatsMs.map((ms) => ms / 1000)).fMeasure >= 0.9);
    assert.ok(result.tempoConfidence > 0.5 && result.tempoConfidence <= 1);
    assert.ok(result.pulseClarity > 0.5 && result.pulseClarity <= 1);
    assert.equal(result.tempoReason, null);
  });

  it('reuses a given spectrogram and gives the same answer', () => {
    const track = drumTrack({ sections: [{ bpm: 110, bars: 8 }], sampleRate: SR, seed: 5 });
    const spec = stft(track.samples, SR);
    assert.deepEqual(analyzeRhythm(track.samples, SR, spec), analyzeRhythm(track.samples, SR));
  });
});

describe('evaluation (mir_eval rules) and ground-truth helpers', () => {
  it('beat F-measure: ±70 ms window, beats before 5 s ignored, one-to-one matching', () => {
    const ref = Array.from({ length: 20 }, (_, i) => i * 0.5);
    assert.equal(beatFMeasure(ref, ref).fMeasure, 1);
    assert.equal(beatFMeasure(ref, ref.map((b) => b + 0.069)).fMeasure, 1);
    assert.equal(beatFMeasure(ref, ref.map((b) => b + 0.071)).fMeasure, 0);
    // Errors before 5 s do not count.
    const early = ref.map((b) => (b < 5 ? b + 0.2 : b));
    assert.equal(beatFMeasure(ref, early).fMeasure, 1);
    // Double tempo: precision ½, recall 1.
    const doubled = ref.flatMap((b) => [b, b + 0.25]);
    const score = beatFMeasure(ref, doubled);
    assert.equal(score.recall, 1);
    assert.ok(Math.abs(score.precision - 0.5) < 0.03);
    assert.equal(beatFMeasure(ref, []).fMeasure, 0);
    assert.deepEqual(trimBeats([1, 4.99, 5, 6]), [5, 6]);
    assert.equal(matchEvents([1, 2], [1.05, 1.06, 2.5], 0.07), 1);
  });

  it('tempo Accuracy1 and Accuracy2 (±4 %, ×2 ×½ ×3 ×⅓)', () => {
    assert.ok(tempoAccuracy1(123, 120));
    assert.ok(!tempoAccuracy1(125, 120));
    for (const bpm of [120, 240, 60, 360, 40, 244, 58]) assert.ok(tempoAccuracy2(bpm, 120), String(bpm));
    for (const bpm of [90, 180, 150, null]) assert.ok(!tempoAccuracy2(bpm, 120), String(bpm));
  });

  it('MIDI files written here read back with their tempo map; beat times follow it', () => {
    const song = SONGS.find((s) => s.tempoMap.length > 1)!;
    const bytes = midiFileBytes(songEvents(song));
    const parsed = parseMidiTempoMap(bytes);
    assert.equal(parsed.ppq, 480);
    assert.equal(parsed.tempoMap.length, song.tempoMap.length);
    parsed.tempoMap.forEach((t, i) => {
      assert.equal(t.atBeat, song.tempoMap[i].atBeat);
      assert.ok(Math.abs(t.bpm - song.tempoMap[i].bpm) < 0.01);
    });
    const { beatsS } = songBeats(song);
    const change = song.tempoMap[1].atBeat;
    assert.ok(Math.abs(beatsS[1] - 60 / song.tempoMap[0].bpm) < 1e-9);
    assert.ok(Math.abs(beatsS[change + 1] - beatsS[change] - 60 / song.tempoMap[1].bpm) < 1e-9);
    assert.ok(Math.abs(tickToSeconds(change * 480, song.tempoMap) - (change * 60) / song.tempoMap[0].bpm) < 1e-9);
    assert.deepEqual(tempoMapBeats(song.tempoMap, beatsS[10] + 1e-9).length, 11);
  });
});

describe('decodePcmArgs', () => {
  it('opens the file like every upload and writes mono f32le at the asked rate', () => {
    const args = decodePcmArgs('/tmp/in put.ogg', 'ogg', 22_050);
    const joined = args.join(' ');
    assert.ok(args.includes('-nostdin') && args.includes('-hide_banner'));
    assert.match(joined, /-protocol_whitelist file -f ogg -i file:\/tmp\/in put\.ogg/);
    assert.match(joined, /-map 0:a:0 .*-ac 1 -ar 22050 -f f32le -c:a pcm_f32le pipe:1$/);
    assert.ok(!args.includes('-t'));
    assert.match(decodePcmArgs('/a.wav', 'wav', 8000, 90_000).join(' '), /-t 90\.000/);
  });

  it('refuses playlists, unknown demuxers and absurd rates', () => {
    for (const demuxer of ['hls', 'concat', 'lavfi', 'image2', 'nope']) assert.throws(() => decodePcmArgs('/a', demuxer, 22_050), RangeError);
    assert.throws(() => decodePcmArgs('/a.wav', 'wav', 100), RangeError);
  });
});
