/**
 * The rhythm side of music analysis: tempo, beats, downbeats and pulse clarity from mono PCM
 * (see lib/audio/onset.ts, tempo.ts, beats.ts for the methods). Deterministic, pure TypeScript,
 * never throws on silence or very short input: those answer `tempoBpm: null` with a reason.
 */
import type { RhythmAnalysis } from './analysis.ts';
import { estimateDownbeats, pulseRatios, trackBeats } from './beats.ts';
import { onsetStrength } from './onset.ts';
import { stft, type Spectrogram } from './spectrogram.ts';
import { estimateTempo, MAX_BEAT_BPM, MIN_BEAT_BPM, MIN_BPM, rescaleTempo, type TempoEstimate } from './tempo.ts';

/** Peak level under which the input counts as silent (−80 dBFS). */
export const SILENCE_PEAK = 1e-4;
/** Shortest input given a tempo. */
export const MIN_DURATION_S = 3;
/**
 * Pulse clarity under which onsets are not considered periodic (noise, free rhythm): 0.11, or
 * 6/√frames for shorter inputs, on which the autocorrelation of noise fluctuates more (its best
 * lag reaches ~5/√frames: 0.36 on 5 s, 0.10 on 30 s, 0.04 on 3 min of white, pink or brown
 * noise). The least periodic real song of the bench (dense metal) measures 0.155 over 3.7 min;
 * 5-second excerpts of such songs may be answered null.
 */
export const MIN_PULSE_CLARITY = 0.11;
/**
 * Metrical-level thresholds (beats.ts pulseRatios), set on the ground truth: at the right level the
 * median onset half-way between beats is at most 0.44 of the beats' (reggae off-beat chords), at
 * half the tempo 0.60–0.93 (a snare backbeat, a metronome); every other beat is at least 0.8 of
 * the others at the right level, 0.42 at double the tempo (hi-hat eighths).
 */
export const DOUBLE_IF_MID = 0.55;
export const HALVE_IF_ALTERNATE = 0.6;

function noPulse(reason: string, pulseClarity = 0): RhythmAnalysis {
  return { tempoBpm: null, tempoConfidence: 0, tempoReason: reason, beatsMs: [], downbeatsMs: [], pulseClarity };
}

const round1 = (x: number) => Math.round(x * 10) / 10;

/**
 * Analyses the rhythm of mono PCM at `sampleRate` (normally ANALYSIS_SAMPLE_RATE). `spec`, when
 * given, must be the STFT of this PCM (`stft(pcm, sampleRate)`, any nFft/hop): it is reused
 * instead of computed again.
 */
export function analyzeRhythm(pcm: Float32Array, sampleRate: number, spec?: Spectrogram): RhythmAnalysis {
  if (!(sampleRate > 0)) throw new RangeError(`sampleRate must be positive, got ${sampleRate}`);
  let peak = 0;
  let finite = true;
  for (let i = 0; i < pcm.length; i++) {
    const a = Math.abs(pcm[i]);
    if (a > peak) peak = a;
    else if (!(a >= 0)) finite = false; // NaN; ±Infinity is caught below
  }
  if (!finite || peak === Infinity) {
    // decodePcm never returns these; a direct caller might. Treat them as silence.
    pcm = pcm.map((v) => (Number.isFinite(v) ? v : 0));
    if (spec) spec = undefined;
    peak = 0;
    for (let i = 0; i < pcm.length; i++) peak = Math.max(peak, Math.abs(pcm[i]));
  }
  if (!(peak >= SILENCE_PEAK)) return noPulse('no pulse: the audio is silent');
  const durationS = pcm.length / sampleRate;
  if (durationS < MIN_DURATION_S) return noPulse(`no pulse: the audio is too short (${durationS.toFixed(1)} s; at least ${MIN_DURATION_S} s)`);
  if (spec && spec.sampleRate !== sampleRate) throw new RangeError(`spectrogram at ${spec.sampleRate} Hz for PCM at ${sampleRate} Hz`);
  const spectrogram = spec ?? stft(pcm, sampleRate);
  const env = onsetStrength(spectrogram);
  // A tempo needs about three periods: short inputs raise the slowest tempo considered.
  let tempo = estimateTempo(env, { minBpm: Math.max(MIN_BPM, Math.ceil(180 / durationS)) });
  if (tempo.bpm === null || !(tempo.bpm > 0)) return noPulse(tempo.reason ?? 'no pulse', Math.round(tempo.pulseClarity * 1000) / 1000);
  const minClarity = Math.max(MIN_PULSE_CLARITY, 6 / Math.sqrt(env.values.length));
  const aperiodic = (clarity: number) => noPulse('no pulse: the onsets are not periodic (noise or free rhythm)', Math.round(clarity * 1000) / 1000);
  if (tempo.pulseClarity < minClarity) return aperiodic(tempo.pulseClarity);
  const firstClarity = tempo.pulseClarity;
  const track = (estimate: TempoEstimate) =>
    trackBeats(env, estimate.localPeriods.length === env.values.length ? estimate.localPeriods : new Float64Array(env.values.length).fill(estimate.periodFrames));
  let beatFrames = track(tempo);
  // Metrical level (at most two steps, one direction): strong onsets half-way between the beats
  // double the tempo; every other beat weak halves it.
  let direction = 0;
  for (let step = 0; step < 2; step++) {
    const bpm = tempo.bpm ?? 0;
    const ratios = pulseRatios(env, beatFrames);
    let factor = 0;
    if (direction >= 0 && ratios.mid >= DOUBLE_IF_MID && bpm * 2 <= MAX_BEAT_BPM) factor = 0.5;
    else if (direction <= 0 && ratios.alternate < HALVE_IF_ALTERNATE && bpm / 2 >= MIN_BEAT_BPM) factor = 2;
    if (factor === 0) break;
    direction = factor < 1 ? 1 : -1;
    tempo = rescaleTempo(tempo, factor, env.frameRate);
    beatFrames = track(tempo);
  }
  if (Math.max(firstClarity, tempo.pulseClarity) < minClarity || beatFrames.length < 2) return aperiodic(tempo.pulseClarity);
  const downbeats = estimateDownbeats(env, beatFrames);
  const toMs = (frame: number) => round1((frame * env.hop * 1000) / sampleRate);
  return {
    tempoBpm: Math.round((tempo.bpm ?? 0) * 100) / 100,
    tempoConfidence: Math.round(tempo.confidence * 1000) / 1000,
    tempoReason: null,
    beatsMs: beatFrames.map(toMs),
    downbeatsMs: downbeats.downbeats.map(toMs),
    pulseClarity: Math.round(tempo.pulseClarity * 1000) / 1000,
  };
}
