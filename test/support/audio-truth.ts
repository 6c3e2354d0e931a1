/**
 * Ground truth for the rhythm analysers (issue 6): audio whose beat times are known by
 * construction, and the mir_eval scores used to judge an analysis against it.
 *
 * - Click tracks: a metronome (accented, higher-pitched downbeat) at a fixed BPM.
 * - Drum patterns: kick / snare / hi-hat synthesized sample by sample (a pitch-swept sine, tone +
 *   filtered noise, filtered noise) in a rock pattern with eighth-note hats, small velocity and
 *   timing humanization (±4 ms), at a fixed BPM or with a tempo change between sections.
 * - Music from MIDI: songs written here as Standard MIDI Files (chords, bass line, melody, GM
 *   drums on channel 10, a tempo map), rendered with fluidsynth and a General MIDI soundfont. The
 *   beat times come from the tempo map (one beat per quarter note).
 *
 * Synthesized tracks are written as 16-bit 44.1 kHz WAV, fluidsynth renders at 22.05 kHz stereo:
 * both go through the same ffmpeg decode (down-mix, resample) as an upload. Every generator is
 * deterministic (seeded PRNG).
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface GroundTruthTrack {
  name: string;
  kind: 'click' | 'drums' | 'midi';
  /** A WAV file (any rate/channels; decode it with decodePcm). */
  path: string;
  durationS: number;
  /** True beat times (s). */
  beatsS: number[];
  /** True downbeat times (s). */
  downbeatsS: number[];
  /** The tempo that lasts longest (the reference for tempo accuracy). */
  tempoBpm: number;
  /** Every tempo of the track, in order. */
  temposBpm: number[];
  beatsPerBar: number;
}

// ---------------------------------------------------------------------------------------------
// Evaluation (mir_eval.beat.f_measure and the tempo Accuracy2 of MIREX)

/** Beats before `minS` are ignored, as mir_eval.beat.trim_beats(min_beat_time=5.0). */
export function trimBeats(beatsS: readonly number[], minS = 5): number[] {
  return beatsS.filter((b) => b >= minS);
}

/**
 * Number of one-to-one matches between two sorted event lists within ±window (s). For events on a
 * line, matching greedily in order gives a maximum matching (mir_eval.util.match_events).
 */
export function matchEvents(reference: readonly number[], estimated: readonly number[], windowS: number): number {
  let i = 0;
  let j = 0;
  let matches = 0;
  const eps = 1e-9;
  while (i < reference.length && j < estimated.length) {
    const d = estimated[j] - reference[i];
    if (Math.abs(d) <= windowS + eps) {
      matches++;
      i++;
      j++;
    } else if (d < 0) {
      j++;
    } else {
      i++;
    }
  }
  return matches;
}

export interface BeatScore {
  fMeasure: number;
  precision: number;
  recall: number;
}

/** mir_eval.beat.f_measure: beats < 5 s trimmed from both lists, ±70 ms window. */
export function beatFMeasure(referenceS: readonly number[], estimatedS: readonly number[], options: { windowS?: number; minS?: number } = {}): BeatScore {
  const ref = trimBeats([...referenceS].sort((a, b) => a - b), options.minS ?? 5);
  const est = trimBeats([...estimatedS].sort((a, b) => a - b), options.minS ?? 5);
  if (ref.length === 0 || est.length === 0) return { fMeasure: 0, precision: 0, recall: 0 };
  const matches = matchEvents(ref, est, options.windowS ?? 0.07);
  const precision = matches / est.length;
  const recall = matches / ref.length;
  const fMeasure = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
  return { fMeasure, precision, recall };
}

/** Accuracy1: within `tolerance` (4 %) of the true tempo. */
export function tempoAccuracy1(estimatedBpm: number | null, trueBpm: number, tolerance = 0.04): boolean {
  return estimatedBpm !== null && Math.abs(estimatedBpm - trueBpm) <= tolerance * trueBpm;
}

/** Accuracy2: within 4 % of the true tempo or of its ×2, ×½, ×3, ×⅓. */
export function tempoAccuracy2(estimatedBpm: number | null, trueBpm: number, tolerance = 0.04): boolean {
  return [1, 2, 0.5, 3, 1 / 3].some((f) => tempoAccuracy1(estimatedBpm, trueBpm * f, tolerance));
}

// ---------------------------------------------------------------------------------------------
// Synthesis helpers

/** mulberry32: a small deterministic PRNG in [0, 1). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** 16-bit PCM WAV, mono or interleaved. Peak-normalizes to 0.9 when the signal would clip. */
export function wavBytes(samples: Float32Array, sampleRate: number, channels = 1): Buffer {
  let peak = 0;
  for (let i = 0; i < samples.length; i++) peak = Math.max(peak, Math.abs(samples[i]));
  const gain = peak > 0.99 ? 0.9 / peak : 1;
  const data = Buffer.alloc(samples.length * 2);
  for (let i = 0; i < samples.length; i++) {
    data.writeInt16LE(Math.max(-32768, Math.min(32767, Math.round(samples[i] * gain * 32767))), i * 2);
  }
  const header = Buffer.alloc(44);
  header.write('RIFF', 0, 'ascii');
  header.writeUInt32LE(36 + data.length, 4);
  header.write('WAVE', 8, 'ascii');
  header.write('fmt ', 12, 'ascii');
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20);
  header.writeUInt16LE(channels, 22);
  header.writeUInt32LE(sampleRate, 24);
  header.writeUInt32LE(sampleRate * channels * 2, 28);
  header.writeUInt16LE(channels * 2, 32);
  header.writeUInt16LE(16, 34);
  header.write('data', 36, 'ascii');
  header.writeUInt32LE(data.length, 40);
  return Buffer.concat([header, data]);
}

/** One tempo section: `bars` bars of `beatsPerBar` beats at `bpm`. */
export interface TempoSection {
  bpm: number;
  bars: number;
}

/** Beat and downbeat times (s) of consecutive tempo sections, starting at `startS`. */
export function sectionBeats(sections: readonly TempoSection[], beatsPerBar: number, startS = 0): { beatsS: number[]; downbeatsS: number[]; endS: number } {
  const beatsS: number[] = [];
  const downbeatsS: number[] = [];
  let t = startS;
  for (const section of sections) {
    const period = 60 / section.bpm;
    for (let bar = 0; bar < section.bars; bar++) {
      for (let beat = 0; beat < beatsPerBar; beat++) {
        if (beat === 0) downbeatsS.push(t);
        beatsS.push(t);
        t += period;
      }
    }
  }
  return { beatsS, downbeatsS, endS: t };
}

/** Adds `gain × sound` into `out` at sample `at` (clipped to out's length). */
function mixInto(out: Float32Array, sound: Float32Array, at: number, gain: number): void {
  const start = Math.max(0, at);
  const end = Math.min(out.length, at + sound.length);
  for (let i = start; i < end; i++) out[i] += gain * sound[i - at];
}

/** A metronome click: a 20 ms decaying sine burst (1 kHz, 1.6 kHz for the downbeat). */
function click(sampleRate: number, hz: number): Float32Array {
  const n = Math.round(0.03 * sampleRate);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const t = i / sampleRate;
    out[i] = Math.sin(2 * Math.PI * hz * t) * Math.exp(-t / 0.008);
  }
  return out;
}

export function synthKick(sampleRate: number): Float32Array {
  const n = Math.round(0.45 * sampleRate);
  const out = new Float32Array(n);
  let phase = 0;
  for (let i = 0; i < n; i++) {
    const t = i / sampleRate;
    const f = 48 + 110 * Math.exp(-t / 0.035);
    phase += (2 * Math.PI * f) / sampleRate;
    const attack = Math.min(1, t / 0.002);
    out[i] = attack * Math.sin(phase) * Math.exp(-t / 0.22) + (t < 0.004 ? 0.3 * (1 - t / 0.004) : 0);
  }
  return out;
}

export function synthSnare(sampleRate: number, random: () => number): Float32Array {
  const n = Math.round(0.3 * sampleRate);
  const out = new Float32Array(n);
  let lp = 0;
  let prev = 0;
  for (let i = 0; i < n; i++) {
    const t = i / sampleRate;
    const white = random() * 2 - 1;
    lp += 0.5 * (white - lp); // gentle low-pass
    const hp = lp - prev; // then high-pass: band-limited noise
    prev = lp;
    const attack = Math.min(1, t / 0.001);
    out[i] = attack * (1.6 * hp * Math.exp(-t / 0.09) + 0.5 * Math.sin(2 * Math.PI * 185 * t) * Math.exp(-t / 0.06));
  }
  return out;
}

export function synthHat(sampleRate: number, random: () => number): Float32Array {
  const n = Math.round(0.09 * sampleRate);
  const out = new Float32Array(n);
  let prev = 0;
  for (let i = 0; i < n; i++) {
    const t = i / sampleRate;
    const white = random() * 2 - 1;
    out[i] = (white - prev) * 0.5 * Math.exp(-t / 0.025);
    prev = white;
  }
  return out;
}

export interface SynthTrack {
  samples: Float32Array;
  sampleRate: number;
  beatsS: number[];
  downbeatsS: number[];
  durationS: number;
}

/** A metronome at `bpm` for about `seconds` (whole bars), downbeats accented; 0.5 s lead-in. */
export function clickTrack(options: { bpm: number; seconds: number; beatsPerBar?: number; sampleRate?: number }): SynthTrack {
  const sampleRate = options.sampleRate ?? 44_100;
  const beatsPerBar = options.beatsPerBar ?? 4;
  const bars = Math.max(1, Math.round((options.seconds * options.bpm) / 60 / beatsPerBar));
  const { beatsS, downbeatsS, endS } = sectionBeats([{ bpm: options.bpm, bars }], beatsPerBar, 0.5);
  const durationS = endS + 0.5;
  const samples = new Float32Array(Math.ceil(durationS * sampleRate));
  const normal = click(sampleRate, 1000);
  const accent = click(sampleRate, 1600);
  for (const b of beatsS) {
    const down = downbeatsS.includes(b);
    mixInto(samples, down ? accent : normal, Math.round(b * sampleRate), down ? 0.8 : 0.5);
  }
  return { samples, sampleRate, beatsS, downbeatsS, durationS };
}

/**
 * A rock drum pattern: kick on 1 and 3 (and the "and" of 3 every other bar), snare on 2 and 4,
 * closed hi-hat on every eighth note (accented on the beat); velocities ±10 %, timing ±4 ms.
 */
export function drumTrack(options: { sections: readonly TempoSection[]; sampleRate?: number; seed?: number }): SynthTrack {
  const sampleRate = options.sampleRate ?? 44_100;
  const random = prng(options.seed ?? 1);
  const { beatsS, downbeatsS, endS } = sectionBeats(options.sections, 4, 0.5);
  const durationS = endS + 1;
  const samples = new Float32Array(Math.ceil(durationS * sampleRate));
  const kick = synthKick(sampleRate);
  const snares = [synthSnare(sampleRate, random), synthSnare(sampleRate, random)];
  const hats = [synthHat(sampleRate, random), synthHat(sampleRate, random), synthHat(sampleRate, random)];
  const jitter = () => Math.round((random() * 2 - 1) * 0.004 * sampleRate);
  const vel = (v: number) => v * (0.9 + 0.2 * random());
  for (let i = 0; i < beatsS.length; i++) {
    const beat = i % 4;
    const bar = Math.floor(i / 4);
    const at = Math.round(beatsS[i] * sampleRate);
    const period = (i + 1 < beatsS.length ? beatsS[i + 1] : beatsS[i] + (beatsS[i] - beatsS[i - 1])) - beatsS[i];
    const half = Math.round((period / 2) * sampleRate);
    if (beat === 0 || beat === 2) mixInto(samples, kick, at + jitter(), vel(0.9));
    if (beat === 1 || beat === 3) mixInto(samples, snares[bar % 2], at + jitter(), vel(0.7));
    if (beat === 2 && bar % 2 === 1) mixInto(samples, kick, at + half + jitter(), vel(0.6));
    mixInto(samples, hats[i % 3], at + jitter(), vel(0.35));
    mixInto(samples, hats[(i + 1) % 3], at + half + jitter(), vel(0.22));
  }
  return { samples, sampleRate, beatsS, downbeatsS, durationS };
}

// ---------------------------------------------------------------------------------------------
// MIDI

export const PPQ = 480;

export interface MidiEvent {
  tick: number;
  /** Status byte and data (no running status). Meta events: [0xff, type, ...data] (the length is added). */
  data: number[];
  /** Sort key at equal ticks: meta < note-off < note-on. */
  order: number;
}

function vlq(value: number): number[] {
  const bytes = [value & 0x7f];
  value >>>= 7;
  while (value > 0) {
    bytes.unshift((value & 0x7f) | 0x80);
    value >>>= 7;
  }
  return bytes;
}

/** A format-0 Standard MIDI File from events on any channels (meta events included). */
export function midiFileBytes(events: readonly MidiEvent[], ppq = PPQ): Buffer {
  const sorted = [...events].sort((a, b) => a.tick - b.tick || a.order - b.order);
  const track: number[] = [];
  let last = 0;
  for (const e of sorted) {
    track.push(...vlq(e.tick - last));
    last = e.tick;
    if (e.data[0] === 0xff) track.push(0xff, e.data[1], ...vlq(e.data.length - 2), ...e.data.slice(2));
    else track.push(...e.data);
  }
  track.push(0x00, 0xff, 0x2f, 0x00);
  const header = Buffer.from([0x4d, 0x54, 0x68, 0x64, 0, 0, 0, 6, 0, 0, 0, 1, (ppq >> 8) & 0xff, ppq & 0xff]);
  const trackHeader = Buffer.from([0x4d, 0x54, 0x72, 0x6b, 0, 0, 0, 0]);
  trackHeader.writeUInt32BE(track.length, 4);
  return Buffer.concat([header, trackHeader, Buffer.from(track)]);
}

export interface TempoChange {
  /** Where the tempo starts, in beats (quarter notes) from the start. */
  atBeat: number;
  bpm: number;
}

/** Seconds at a given tick under a tempo map (sorted by atBeat, the first at beat 0). */
export function tickToSeconds(tick: number, tempoMap: readonly TempoChange[], ppq = PPQ): number {
  let seconds = 0;
  for (let i = 0; i < tempoMap.length; i++) {
    const start = tempoMap[i].atBeat * ppq;
    const end = i + 1 < tempoMap.length ? tempoMap[i + 1].atBeat * ppq : Infinity;
    if (tick <= start) break;
    const span = Math.min(tick, end) - start;
    seconds += (span / ppq) * (60 / tempoMap[i].bpm);
  }
  return seconds;
}

export interface SongSpec {
  name: string;
  tempoMap: TempoChange[];
  bars: number;
  beatsPerBar: 3 | 4;
  /** Chord roots (MIDI note numbers) per bar, cycled; minor when the name ends with 'm'. */
  progression: string[];
  drums: 'rock' | 'pop' | 'none';
  /** GM programs. */
  chordProgram: number;
  bassProgram: number;
  melodyProgram: number | null;
  /** 'block': one chord per beat; 'arpeggio': eighth-note broken chords; 'waltz': bass on 1, chord on 2 and 3. */
  comping: 'block' | 'arpeggio' | 'waltz' | 'offbeat';
  seed: number;
}

const NOTE_NAMES: Record<string, number> = { C: 0, 'C#': 1, D: 2, Eb: 3, E: 4, F: 5, 'F#': 6, G: 7, Ab: 8, A: 9, Bb: 10, B: 11 };

function chordNotes(symbol: string): { root: number; triad: number[] } {
  const minor = symbol.endsWith('m');
  const pc = NOTE_NAMES[minor ? symbol.slice(0, -1) : symbol];
  if (pc === undefined) throw new Error(`unknown chord ${symbol}`);
  const root = 48 + pc; // C3 …
  return { root, triad: [root + 12, root + 12 + (minor ? 3 : 4), root + 12 + 7] };
}

/** The events of a song (tempo map, programs, chords, bass, melody, drums). */
export function songEvents(spec: SongSpec): MidiEvent[] {
  const random = prng(spec.seed);
  const events: MidiEvent[] = [];
  const beat = PPQ;
  const note = (channel: number, pitch: number, velocity: number, start: number, length: number) => {
    events.push({ tick: Math.round(start), data: [0x90 | channel, pitch, Math.max(1, Math.min(127, Math.round(velocity)))], order: 2 });
    events.push({ tick: Math.round(start + length), data: [0x80 | channel, pitch, 0], order: 1 });
  };
  for (const change of spec.tempoMap) {
    const usPerBeat = Math.round(60_000_000 / change.bpm);
    events.push({ tick: change.atBeat * beat, data: [0xff, 0x51, (usPerBeat >> 16) & 0xff, (usPerBeat >> 8) & 0xff, usPerBeat & 0xff], order: 0 });
  }
  events.push({ tick: 0, data: [0xff, 0x58, spec.beatsPerBar, 2, 24, 8], order: 0 });
  events.push({ tick: 0, data: [0xc0, spec.chordProgram], order: 0 });
  events.push({ tick: 0, data: [0xc1, spec.bassProgram], order: 0 });
  if (spec.melodyProgram !== null) events.push({ tick: 0, data: [0xc2, spec.melodyProgram], order: 0 });
  const bpb = spec.beatsPerBar;
  const vel = (v: number) => v * (0.9 + 0.2 * random());
  const scale = [0, 2, 4, 5, 7, 9, 11];
  let melodyPitch = 72;
  for (let bar = 0; bar < spec.bars; bar++) {
    const { root, triad } = chordNotes(spec.progression[bar % spec.progression.length]);
    const barStart = bar * bpb * beat;
    // Chords
    for (let b = 0; b < bpb; b++) {
      const at = barStart + b * beat;
      if (spec.comping === 'block') {
        for (const p of triad) note(0, p, vel(b === 0 ? 88 : 72), at, beat * 0.9);
      } else if (spec.comping === 'arpeggio') {
        for (let e = 0; e < 2; e++) note(0, triad[(b * 2 + e) % 3] + (e === 1 ? 12 : 0), vel(e === 0 ? 84 : 62), at + e * beat / 2, beat * 0.45);
      } else if (spec.comping === 'offbeat') {
        for (const p of triad) note(0, p, vel(74), at + beat / 2, beat * 0.35);
        if (b % 2 === 1) for (const p of triad) note(0, p, vel(60), at, beat * 0.3);
      } else if (b > 0) {
        for (const p of triad) note(0, p, vel(b === 1 ? 78 : 70), at, beat * 0.7);
      }
    }
    // Bass: root on 1, fifth / octave on the other strong beats, eighth-note pickups.
    for (let b = 0; b < bpb; b++) {
      const at = barStart + b * beat;
      if (spec.comping === 'waltz') {
        if (b === 0) note(1, root - 12, vel(100), at, beat * 0.9);
        continue;
      }
      const pitch = b === 0 ? root - 12 : b % 2 === 0 ? root - 5 : root;
      note(1, pitch, vel(b === 0 ? 100 : 86), at, beat * 0.8);
      if (b === bpb - 1 && bar % 2 === 1) note(1, root - 10, vel(70), at + beat / 2, beat * 0.4);
    }
    // Melody: a stepwise line, mostly quarter notes, some eighths, held on the downbeat.
    if (spec.melodyProgram !== null) {
      let pos = 0;
      while (pos < bpb * 2) {
        const length = pos === 0 || random() < 0.55 ? 2 : 1; // in eighths
        const stepIndex = Math.floor(random() * 5) - 2;
        const degree = scale.findIndex((s) => s === (((melodyPitch % 12) + 12) % 12));
        const next = degree >= 0 ? scale[(degree + stepIndex + 7) % 7] : 0;
        melodyPitch = Math.min(84, Math.max(64, 60 + 12 * Math.floor((melodyPitch + stepIndex * 2 - 60) / 12) + next));
        note(2, melodyPitch, vel(pos % 2 === 0 ? 90 : 70), barStart + (pos * beat) / 2, (length * beat) / 2 * 0.95);
        pos += length;
      }
    }
    // Drums (channel 10): 36 kick, 38 snare, 42 closed hat, 49 crash.
    if (spec.drums !== 'none') {
      for (let b = 0; b < bpb; b++) {
        const at = barStart + b * beat;
        if (b === 0 || (spec.drums === 'rock' && b === 2)) note(9, 36, vel(108), at, beat / 4);
        if (spec.drums === 'pop' && b === 2 && bar % 2 === 0) note(9, 36, vel(96), at + beat / 2, beat / 4);
        if (b % 2 === 1) note(9, 38, vel(100), at, beat / 4);
        note(9, 42, vel(b % 2 === 0 ? 76 : 66), at, beat / 4);
        note(9, 42, vel(52), at + beat / 2, beat / 4);
      }
      if (bar % 8 === 0) note(9, 49, vel(90), barStart, beat);
    }
  }
  return events;
}

/** The tempo map's beat and downbeat times (s) for `bars` bars. */
export function songBeats(spec: Pick<SongSpec, 'tempoMap' | 'bars' | 'beatsPerBar'>): { beatsS: number[]; downbeatsS: number[]; endS: number } {
  const beatsS: number[] = [];
  const downbeatsS: number[] = [];
  const total = spec.bars * spec.beatsPerBar;
  for (let b = 0; b < total; b++) {
    const t = tickToSeconds(b * PPQ, spec.tempoMap);
    beatsS.push(t);
    if (b % spec.beatsPerBar === 0) downbeatsS.push(t);
  }
  return { beatsS, downbeatsS, endS: tickToSeconds(total * PPQ, spec.tempoMap) };
}

/** The tempo that covers the most time under a tempo map that ends after `totalBeats`. */
export function dominantTempo(tempoMap: readonly TempoChange[], totalBeats: number): number {
  let best = tempoMap[0].bpm;
  let bestS = -1;
  for (let i = 0; i < tempoMap.length; i++) {
    const end = i + 1 < tempoMap.length ? tempoMap[i + 1].atBeat : totalBeats;
    const s = ((end - tempoMap[i].atBeat) * 60) / tempoMap[i].bpm;
    if (s > bestS) {
      bestS = s;
      best = tempoMap[i].bpm;
    }
  }
  return best;
}

export interface FluidsynthSetup {
  fluidsynthPath: string;
  soundfontPath: string;
}

/** Renders a MIDI file with fluidsynth (no audio driver, no shell): stereo 16-bit WAV at `sampleRate`. */
export async function renderMidi(midiPath: string, wavPath: string, setup: FluidsynthSetup, sampleRate = 22_050): Promise<void> {
  if (!existsSync(setup.soundfontPath)) throw new Error(`soundfont not found: ${setup.soundfontPath}`);
  await run(setup.fluidsynthPath, ['-ni', '-q', '-F', wavPath, '-r', String(sampleRate), '-g', '0.6', setup.soundfontPath, midiPath], {
    timeout: 120_000,
  });
  if (!existsSync(wavPath)) throw new Error(`fluidsynth did not write ${wavPath}`);
}

// ---------------------------------------------------------------------------------------------
// The ground-truth set

export const CLICK_BPMS = [60, 90, 120, 150, 180] as const;
export const DRUM_BPMS = [64, 100, 124, 170] as const;
export const TEMPO_CHANGE_SECTIONS: TempoSection[] = [{ bpm: 96, bars: 10 }, { bpm: 132, bars: 24 }];

export const SONGS: SongSpec[] = [
  {
    name: 'midi-pop-96', tempoMap: [{ atBeat: 0, bpm: 96 }], bars: 20, beatsPerBar: 4,
    progression: ['C', 'G', 'Am', 'F'], drums: 'pop', chordProgram: 0, bassProgram: 33, melodyProgram: 73, comping: 'block', seed: 11,
  },
  {
    name: 'midi-rock-138', tempoMap: [{ atBeat: 0, bpm: 138 }], bars: 28, beatsPerBar: 4,
    progression: ['E', 'E', 'A', 'B'], drums: 'rock', chordProgram: 29, bassProgram: 34, melodyProgram: 30, comping: 'arpeggio', seed: 12,
  },
  {
    name: 'midi-ballad-72', tempoMap: [{ atBeat: 0, bpm: 72 }], bars: 14, beatsPerBar: 4,
    progression: ['D', 'Bm', 'G', 'A'], drums: 'none', chordProgram: 0, bassProgram: 32, melodyProgram: 40, comping: 'arpeggio', seed: 13,
  },
  {
    name: 'midi-reggae-80', tempoMap: [{ atBeat: 0, bpm: 80 }], bars: 16, beatsPerBar: 4,
    progression: ['Am', 'D', 'Am', 'E'], drums: 'rock', chordProgram: 16, bassProgram: 33, melodyProgram: null, comping: 'offbeat', seed: 14,
  },
  {
    name: 'midi-waltz-150', tempoMap: [{ atBeat: 0, bpm: 150 }], bars: 36, beatsPerBar: 3,
    progression: ['F', 'C', 'C', 'F', 'Bb', 'F', 'C', 'F'], drums: 'none', chordProgram: 0, bassProgram: 32, melodyProgram: 71, comping: 'waltz', seed: 15,
  },
  {
    name: 'midi-tempo-map-110-84', tempoMap: [{ atBeat: 0, bpm: 110 }, { atBeat: 48, bpm: 84 }], bars: 32, beatsPerBar: 4,
    progression: ['G', 'Em', 'C', 'D'], drums: 'pop', chordProgram: 4, bassProgram: 33, melodyProgram: 65, comping: 'block', seed: 16,
  },
];

export const TEMPO_CHANGE_NAME = `drums-tempo-change-${TEMPO_CHANGE_SECTIONS.map((s) => s.bpm).join('-')}`;

/** The names of the ground-truth tracks makeGroundTruth writes, in its order. */
export function groundTruthNames(): string[] {
  return [...CLICK_BPMS.map((b) => `click-${b}`), ...DRUM_BPMS.map((b) => `drums-${b}`), TEMPO_CHANGE_NAME, ...SONGS.map((s) => s.name)];
}

export interface GroundTruthOptions extends FluidsynthSetup {
  /** Only tracks whose name contains one of these strings. */
  only?: string[];
}

async function writeSynth(dir: string, name: string, kind: 'click' | 'drums', track: SynthTrack, temposBpm: number[], tempoBpm: number): Promise<GroundTruthTrack> {
  const path = join(dir, `${name}.wav`);
  await writeFile(path, wavBytes(track.samples, track.sampleRate));
  return { name, kind, path, durationS: track.durationS, beatsS: track.beatsS, downbeatsS: track.downbeatsS, tempoBpm, temposBpm, beatsPerBar: 4 };
}

/** Writes every ground-truth track into `dir` (click tracks, drum patterns, MIDI songs rendered by fluidsynth). */
export async function makeGroundTruth(dir: string, options: GroundTruthOptions): Promise<GroundTruthTrack[]> {
  const wanted = (name: string) => !options.only || options.only.some((s) => name.includes(s));
  const tracks: GroundTruthTrack[] = [];
  for (const bpm of CLICK_BPMS) {
    const name = `click-${bpm}`;
    if (wanted(name)) tracks.push(await writeSynth(dir, name, 'click', clickTrack({ bpm, seconds: 30 }), [bpm], bpm));
  }
  for (const bpm of DRUM_BPMS) {
    const name = `drums-${bpm}`;
    const bars = Math.round((40 * bpm) / 60 / 4);
    if (wanted(name)) tracks.push(await writeSynth(dir, name, 'drums', drumTrack({ sections: [{ bpm, bars }], seed: bpm }), [bpm], bpm));
  }
  {
    const name = TEMPO_CHANGE_NAME;
    if (wanted(name)) {
      const longest = [...TEMPO_CHANGE_SECTIONS].sort((a, b) => (b.bars * 4 * 60) / b.bpm - (a.bars * 4 * 60) / a.bpm)[0];
      const track = drumTrack({ sections: TEMPO_CHANGE_SECTIONS, seed: 7 });
      tracks.push(await writeSynth(dir, name, 'drums', track, TEMPO_CHANGE_SECTIONS.map((s) => s.bpm), longest.bpm));
    }
  }
  for (const song of SONGS) {
    if (!wanted(song.name)) continue;
    const midiPath = join(dir, `${song.name}.mid`);
    const wavPath = join(dir, `${song.name}.wav`);
    await writeFile(midiPath, midiFileBytes(songEvents(song)));
    await renderMidi(midiPath, wavPath, options);
    const { beatsS, downbeatsS, endS } = songBeats(song);
    tracks.push({
      name: song.name, kind: 'midi', path: wavPath, durationS: endS, beatsS, downbeatsS,
      tempoBpm: dominantTempo(song.tempoMap, song.bars * song.beatsPerBar),
      temposBpm: song.tempoMap.map((t) => t.bpm), beatsPerBar: song.beatsPerBar,
    });
  }
  return tracks;
}

/** A long track for timing the analysis: the drum pattern for `seconds` at `bpm`. */
export async function makeLongDrumTrack(dir: string, seconds: number, bpm = 117): Promise<GroundTruthTrack> {
  const bars = Math.round((seconds * bpm) / 60 / 4);
  const track = drumTrack({ sections: [{ bpm, bars }], seed: 99 });
  return writeSynth(dir, `drums-long-${bpm}`, 'drums', track, [bpm], bpm);
}

/**
 * The tempo map of a Standard MIDI File (format 0 or 1): tempo changes in beats (quarter notes)
 * and the file's resolution. Reads only what it needs (meta events); skips sysex and channel data.
 */
export function parseMidiTempoMap(bytes: Uint8Array): { ppq: number; tempoMap: TempoChange[] } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const text = (at: number) => String.fromCharCode(...bytes.subarray(at, at + 4));
  if (text(0) !== 'MThd') throw new Error('not a MIDI file');
  const tracks = view.getUint16(10);
  const ppq = view.getUint16(12);
  if (ppq & 0x8000) throw new Error('SMPTE time division is not supported');
  let pos = 8 + view.getUint32(4);
  const changes: Array<{ tick: number; bpm: number }> = [];
  for (let tr = 0; tr < tracks && pos + 8 <= bytes.length; tr++) {
    if (text(pos) !== 'MTrk') throw new Error(`bad track header at ${pos}`);
    const end = pos + 8 + view.getUint32(pos + 4);
    let p = pos + 8;
    let tick = 0;
    let running = 0;
    const readVlq = () => {
      let v = 0;
      for (;;) {
        const b = bytes[p++];
        v = (v << 7) | (b & 0x7f);
        if (b < 0x80) return v;
      }
    };
    while (p < end) {
      tick += readVlq();
      const status = bytes[p];
      if (status === 0xff) {
        const type = bytes[p + 1];
        p += 2;
        const length = readVlq();
        if (type === 0x51 && length === 3) changes.push({ tick, bpm: 60_000_000 / ((bytes[p] << 16) | (bytes[p + 1] << 8) | bytes[p + 2]) });
        p += length;
      } else if (status === 0xf0 || status === 0xf7) {
        p += 1;
        p += readVlq();
      } else {
        if (status & 0x80) {
          running = status;
          p += 1;
        }
        const kind = running & 0xf0;
        p += kind === 0xc0 || kind === 0xd0 ? 1 : 2;
      }
    }
    pos = end;
  }
  changes.sort((a, b) => a.tick - b.tick);
  const tempoMap: TempoChange[] = [];
  for (const c of changes) {
    const atBeat = c.tick / ppq;
    if (tempoMap.length > 0 && tempoMap[tempoMap.length - 1].atBeat === atBeat) tempoMap[tempoMap.length - 1].bpm = c.bpm;
    else tempoMap.push({ atBeat, bpm: c.bpm });
  }
  if (tempoMap.length === 0 || tempoMap[0].atBeat > 0) tempoMap.unshift({ atBeat: 0, bpm: 120 });
  return { ppq, tempoMap };
}

/** Beat times (s) of a tempo map up to `durationS`. */
export function tempoMapBeats(tempoMap: readonly TempoChange[], durationS: number, ppq = PPQ): number[] {
  const beats: number[] = [];
  for (let b = 0; ; b++) {
    const t = tickToSeconds(b * ppq, tempoMap, ppq);
    if (t > durationS) break;
    beats.push(t);
  }
  return beats;
}
