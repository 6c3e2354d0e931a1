/**
 * The genre reference set: short tracks composed deterministically (a seeded generator per genre:
 * tempo range, groove, instrumentation, harmony, arrangement) as General MIDI, rendered by
 * fluidsynth with the FluidR3 GM soundfont and decoded by ffmpeg as uploads are. scripts/build-genre-profiles.ts analyses the
 * "profile" split into lib/audio/genre-reference-profiles.json; the unit tests render the
 * "heldout" split (other seeds, never used for the profiles) to measure inferGenre's accuracy.
 *
 * Every choice comes from the track's seed, so a track is the same MIDI file on every run; the
 * audio is the same for the same fluidsynth and soundfont.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

export const REFERENCE_GENRES = ['samba', 'rock', 'electronic', 'ballad', 'hip-hop', 'forró'] as const;
export type ReferenceGenre = (typeof REFERENCE_GENRES)[number];

export const DEFAULT_SOUNDFONT = '/usr/share/sounds/sf2/FluidR3_GM.sf2';

export interface ReferenceTrack {
  genre: ReferenceGenre;
  /** `<genre>-<seed>` */
  id: string;
  seed: number;
  /** Approximate length (whole bars). */
  seconds: number;
}

/** Tracks per genre in each split; the seeds of the splits never overlap. */
export const PROFILE_TRACKS_PER_GENRE = 10;
export const HELDOUT_TRACKS_PER_GENRE = 3;

export function referenceTracks(split: 'profile' | 'heldout', perGenre?: number, seconds = 24): ReferenceTrack[] {
  const count = perGenre ?? (split === 'profile' ? PROFILE_TRACKS_PER_GENRE : HELDOUT_TRACKS_PER_GENRE);
  const base = split === 'profile' ? 1 : 10_001;
  const out: ReferenceTrack[] = [];
  REFERENCE_GENRES.forEach((genre, g) => {
    for (let i = 0; i < count; i++) {
      const seed = base + g * 1000 + i;
      out.push({ genre, id: `${genre}-${seed}`, seed, seconds });
    }
  });
  return out;
}

// ---------------------------------------------------------------------------------------------
// Deterministic randomness

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class Rng {
  private readonly next: () => number;
  constructor(seed: number) {
    this.next = mulberry32(seed * 2654435761);
  }
  float(lo = 0, hi = 1): number {
    return lo + (hi - lo) * this.next();
  }
  int(lo: number, hi: number): number {
    return Math.floor(this.float(lo, hi + 1));
  }
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)];
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
}

// ---------------------------------------------------------------------------------------------
// A tiny score and its Standard MIDI File

interface Note {
  ch: number;
  /** In 16th notes from the start. */
  at: number;
  /** In 16th notes. */
  len: number;
  key: number;
  vel: number;
}

interface Score {
  bpm: number;
  bars: number;
  programs: Map<number, number>;
  volumes: Map<number, number>;
  notes: Note[];
}

const PPQ = 480;
const TICKS_PER_STEP = PPQ / 4;
const DRUMS = 9;

function vlq(n: number): number[] {
  const bytes = [n & 0x7f];
  n >>>= 7;
  while (n > 0) {
    bytes.unshift((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  return bytes;
}

/** Format 0 SMF of the score. */
export function scoreToMidi(score: Score): Uint8Array {
  type Ev = { tick: number; order: number; bytes: number[] };
  const events: Ev[] = [];
  const usPerQuarter = Math.round(60_000_000 / score.bpm);
  events.push({ tick: 0, order: 0, bytes: [0xff, 0x51, 0x03, (usPerQuarter >> 16) & 0xff, (usPerQuarter >> 8) & 0xff, usPerQuarter & 0xff] });
  for (const [ch, program] of score.programs) events.push({ tick: 0, order: 1, bytes: [0xc0 | ch, program & 0x7f] });
  for (const [ch, volume] of score.volumes) events.push({ tick: 0, order: 1, bytes: [0xb0 | ch, 7, volume & 0x7f] });
  for (const n of score.notes) {
    const on = Math.max(0, Math.round(n.at * TICKS_PER_STEP));
    const off = Math.max(on + 1, Math.round((n.at + n.len) * TICKS_PER_STEP));
    const key = Math.max(0, Math.min(127, Math.round(n.key)));
    const vel = Math.max(1, Math.min(127, Math.round(n.vel)));
    events.push({ tick: on, order: 3, bytes: [0x90 | n.ch, key, vel] });
    events.push({ tick: off, order: 2, bytes: [0x80 | n.ch, key, 0] });
  }
  events.sort((a, b) => a.tick - b.tick || a.order - b.order);
  const track: number[] = [];
  let last = 0;
  for (const e of events) {
    track.push(...vlq(e.tick - last), ...e.bytes);
    last = e.tick;
  }
  // One beat of tail so releases and reverb are rendered.
  track.push(...vlq(4 * TICKS_PER_STEP), 0xff, 0x2f, 0x00);
  const header = [0x4d, 0x54, 0x68, 0x64, 0, 0, 0, 6, 0, 0, 0, 1, (PPQ >> 8) & 0xff, PPQ & 0xff];
  const len = track.length;
  return Uint8Array.from([...header, 0x4d, 0x54, 0x72, 0x6b, (len >>> 24) & 0xff, (len >>> 16) & 0xff, (len >>> 8) & 0xff, len & 0xff, ...track]);
}

// ---------------------------------------------------------------------------------------------
// Harmony helpers

const MAJOR = [0, 2, 4, 5, 7, 9, 11];
const MINOR = [0, 2, 3, 5, 7, 8, 10];
const MIXOLYDIAN = [0, 2, 4, 5, 7, 9, 10];
const DORIAN = [0, 2, 3, 5, 7, 9, 10];

/** The triad (or 7th chord) on `degree` (0-based) of `scale` rooted at `tonic`. */
function chord(tonic: number, scale: readonly number[], degree: number, seventh = false): number[] {
  const pitch = (d: number) => tonic + scale[((d % 7) + 7) % 7] + 12 * Math.floor(d / 7);
  const notes = [pitch(degree), pitch(degree + 2), pitch(degree + 4)];
  if (seventh) notes.push(pitch(degree + 6));
  return notes;
}

function scaleNote(tonic: number, scale: readonly number[], degree: number): number {
  return tonic + scale[((degree % 7) + 7) % 7] + 12 * Math.floor(degree / 7);
}

class Composer {
  readonly rng: Rng;
  readonly notes: Note[] = [];
  readonly programs = new Map<number, number>();
  readonly volumes = new Map<number, number>();
  constructor(seed: number) {
    this.rng = new Rng(seed);
  }
  instrument(ch: number, program: number, volume = 100): void {
    this.programs.set(ch, program);
    this.volumes.set(ch, volume);
  }
  /** A note with a little deterministic timing and velocity humanization. */
  play(ch: number, at: number, len: number, key: number, vel: number, jitter = 0.04): void {
    this.notes.push({ ch, at: Math.max(0, at + this.rng.float(-jitter, jitter)), len, key, vel: vel + this.rng.float(-8, 8) });
  }
  hit(at: number, key: number, vel: number): void {
    this.play(DRUMS, at, 1, key, vel, 0.03);
  }
  chordAt(ch: number, at: number, len: number, notes: number[], vel: number, strum = 0): void {
    notes.forEach((k, i) => this.play(ch, at + i * strum, len, k, vel));
  }
  /** A melody by a bounded random walk over the scale, on the given rhythm (16th-step onsets per bar). */
  melody(ch: number, bar: number, rhythm: number[], tonic: number, scale: readonly number[], state: { degree: number }, vel: number, maxLen = 4): void {
    for (let i = 0; i < rhythm.length; i++) {
      const step = this.rng.pick([-2, -1, -1, 0, 1, 1, 2, 3, -3]);
      state.degree = Math.max(0, Math.min(11, state.degree + step));
      const next = i + 1 < rhythm.length ? rhythm[i + 1] : 16;
      const len = Math.min(maxLen, next - rhythm[i]);
      this.play(ch, bar * 16 + rhythm[i], len, scaleNote(tonic, scale, state.degree), vel);
    }
  }
}

// GM drum keys
const KICK = 36, KICK2 = 35, SIDE_STICK = 37, SNARE = 38, CLAP = 39, HAT = 42, PEDAL_HAT = 44, OPEN_HAT = 46;
const CRASH = 49, RIDE = 51, TAMBOURINE = 54, LOW_FLOOR_TOM = 41, HIGH_FLOOR_TOM = 43, LOW_TOM = 45;
const HIGH_AGOGO = 67, LOW_AGOGO = 68, CABASA = 69, MARACAS = 70, SHORT_WHISTLE = 71, MUTE_CUICA = 78, OPEN_CUICA = 79;
const MUTE_TRIANGLE = 80, OPEN_TRIANGLE = 81, HIGH_TIMBALE = 65;

function pattern(s: string): number[] {
  const out: number[] = [];
  for (let i = 0; i < s.length; i++) if (s[i] !== '.') out.push(i);
  return out;
}

type Genre = (c: Composer, bars: number) => number;

/** Each genre writes its bars and returns its tempo. */
const GENRES: Record<ReferenceGenre, Genre> = {
  samba(c, bars) {
    const r = c.rng;
    const bpm = r.int(92, 106);
    const tonic = 55 + r.int(0, 9);
    const minor = r.chance(0.3);
    const scale = minor ? MINOR : MAJOR;
    const progs = [[0, 5, 1, 4], [0, 3, 4, 0], [1, 4, 0, 5], [0, 1, 4, 0]];
    const prog = r.pick(progs);
    c.instrument(0, r.pick([105, 25, 24]), 95); // cavaquinho-ish
    c.instrument(1, 24, 100); // 7-string guitar (nylon)
    c.instrument(2, r.pick([32, 33]), 95);
    const brass = r.chance(0.5);
    if (brass) c.instrument(3, r.pick([61, 56, 65]), 85);
    const tamborim = r.pick(['x.xx.x.xx.xx.x.x', 'x.x.xx.x.x.xx.x.', 'xx.x.xx.x.xx.x.x']);
    const cavaco = r.pick(['x.xx.x.x.xx.x.x.', 'x..x.x.xx..x.x.x', '.x.xx.x..x.xx.x.']);
    const mel = { degree: 7 };
    for (let b = 0; b < bars; b++) {
      const at = b * 16;
      const deg = prog[b % prog.length];
      const intro = b < 1;
      // surdo: marcação on beat 2, answer on 1
      c.hit(at + 0, HIGH_FLOOR_TOM, 70);
      c.hit(at + 4, LOW_FLOOR_TOM, 118);
      c.hit(at + 8, HIGH_FLOOR_TOM, 70);
      c.hit(at + 12, LOW_FLOOR_TOM, 118);
      for (let s = 0; s < 16; s++) c.hit(at + s, TAMBOURINE, s % 4 === 3 ? 100 : 60); // pandeiro
      for (let s = 0; s < 16; s++) c.hit(at + s, r.chance(0.5) ? MARACAS : CABASA, s % 2 ? 55 : 75);
      if (intro) continue;
      for (const s of pattern(tamborim)) c.hit(at + s, HIGH_AGOGO, 95);
      if (r.chance(0.4)) for (const s of pattern('x...x..x')) c.hit(at + s * 2, r.chance(0.5) ? MUTE_CUICA : OPEN_CUICA, 80);
      if (r.chance(0.12)) c.hit(at + 14, SHORT_WHISTLE, 90);
      const ch = chord(tonic + 12, scale, deg, true);
      for (const s of pattern(cavaco)) c.chordAt(0, at + s, 1, ch, 85, 0.05);
      // baixaria: walking 8ths/16ths in the low register
      for (let s = 0; s < 16; s += r.pick([2, 2, 4, 1])) c.play(1, at + s, 2, scaleNote(tonic - 12, scale, deg + r.pick([0, 2, 4, 1, -1])), 80);
      c.play(2, at, 4, scaleNote(tonic - 24, scale, deg), 95);
      c.play(2, at + 8, 4, scaleNote(tonic - 24, scale, deg + 4), 90);
      if (brass && b >= bars / 2) c.melody(3, b, pattern(r.pick(['x..x..x.x..x.x..', 'x.x..x..x.x..x..'])), tonic, scale, mel, 90, 3);
    }
    return bpm;
  },

  rock(c, bars) {
    const r = c.rng;
    const bpm = r.int(108, 148);
    const tonic = 40 + r.int(0, 7); // E2 … B2
    const scale = r.chance(0.5) ? MINOR : MIXOLYDIAN;
    const prog = r.pick([[0, 5, 6, 4], [0, 3, 4, 3], [0, 6, 3, 4], [0, 4, 5, 3]]);
    c.instrument(0, r.pick([29, 30, 30]), 100);
    c.instrument(1, r.pick([33, 34]), 105);
    const lead = r.chance(0.6);
    if (lead) c.instrument(2, r.pick([30, 29, 27]), 90);
    if (r.chance(0.3)) c.instrument(3, r.pick([16, 17, 18]), 70); // organ
    const kick = r.pick(['x.......x.x.....', 'x.....x.x.......', 'x.......x..x....', 'x.x.....x.......']);
    const eighthGuitar = r.chance(0.7);
    const ride = r.chance(0.3);
    const mel = { degree: 9 };
    for (let b = 0; b < bars; b++) {
      const at = b * 16;
      const deg = prog[b % prog.length];
      const chorus = b >= bars / 2;
      for (const s of pattern(kick)) c.hit(at + s, KICK, 115);
      c.hit(at + 4, SNARE, 115);
      c.hit(at + 12, SNARE, 118);
      for (let s = 0; s < 16; s += 2) c.hit(at + s, ride || chorus ? (ride ? RIDE : OPEN_HAT) : HAT, s % 4 ? 70 : 90);
      if (b % 4 === 0) c.hit(at, CRASH, 110);
      if (b % 4 === 3 && r.chance(0.6)) for (let s = 12; s < 16; s++) c.hit(at + s, r.pick([LOW_TOM, HIGH_FLOOR_TOM, SNARE]), 100);
      const root = scaleNote(tonic, scale, deg);
      const power = [root + 12, root + 19, root + 24];
      if (eighthGuitar) for (let s = 0; s < 16; s += 2) c.chordAt(0, at + s, 2, power, chorus ? 110 : 95);
      else for (const s of pattern('x..x..x...x..x..')) c.chordAt(0, at + s, 3, power, 105, 0.03);
      for (let s = 0; s < 16; s += 2) c.play(1, at + s, 2, root, 100);
      if (lead && chorus) c.melody(2, b, pattern(r.pick(['x...x...x.x.x...', 'x.x.x...x...x.x.', 'x.....x.x...x...'])), tonic + 24, scale, mel, 95, 4);
      if (c.programs.has(3)) c.chordAt(3, at, 16, chord(tonic + 24, scale, deg), 70);
    }
    return bpm;
  },

  electronic(c, bars) {
    const r = c.rng;
    const bpm = r.int(118, 130);
    const tonic = 45 + r.int(0, 7);
    const scale = r.chance(0.7) ? MINOR : DORIAN;
    const prog = r.pick([[0, 5, 2, 6], [0, 0, 5, 4], [0, 3, 5, 4], [0, 6, 5, 6]]);
    c.instrument(0, r.pick([38, 39]), 110); // synth bass
    c.instrument(1, r.pick([89, 90, 91, 95]), 85); // pad
    c.instrument(2, r.pick([81, 80, 87]), 80); // saw / square lead stabs
    const arp = r.chance(0.6);
    if (arp) c.instrument(3, r.pick([80, 81, 84]), 70);
    const stab = r.pick(['..x...x...x..x..', '...x..x....x..x.', 'x..x..x...x..x..']);
    const bassPattern = r.pick(['..x...x...x...x.', '..xx..x...xx..x.', '.xx.x.x..xx.x.x.']);
    for (let b = 0; b < bars; b++) {
      const at = b * 16;
      const deg = prog[b % prog.length];
      const breakdown = b >= bars / 2 && b < bars / 2 + 2;
      if (!breakdown) for (let s = 0; s < 16; s += 4) c.hit(at + s, KICK, 122);
      c.hit(at + 4, CLAP, 105);
      c.hit(at + 12, CLAP, 105);
      for (let s = 2; s < 16; s += 4) c.hit(at + s, OPEN_HAT, 90);
      for (let s = 0; s < 16; s++) if (s % 4 !== 2) c.hit(at + s, HAT, 50);
      const root = scaleNote(tonic - 12, scale, deg);
      if (!breakdown) for (const s of pattern(bassPattern)) c.play(0, at + s, 1, root + (r.chance(0.15) ? 12 : 0), 105, 0.01);
      const ch = chord(tonic + 12, scale, deg, true);
      c.chordAt(1, at, 16, ch, 70);
      if (b >= 2) for (const s of pattern(stab)) c.chordAt(2, at + s, 1, chord(tonic + 12, scale, deg), 90, 0);
      if (arp && b >= 1) for (let s = 0; s < 16; s++) c.play(3, at + s, 1, ch[s % ch.length] + 12, 75, 0.005);
    }
    return bpm;
  },

  ballad(c, bars) {
    const r = c.rng;
    const bpm = r.int(58, 80);
    const tonic = 48 + r.int(0, 9);
    const scale = r.chance(0.6) ? MAJOR : MINOR;
    const prog = r.pick([[0, 4, 5, 3], [0, 5, 3, 4], [0, 2, 5, 4], [5, 3, 0, 4]]);
    c.instrument(0, r.pick([0, 0, 1]), 100); // piano
    const strings = r.chance(0.6);
    if (strings) c.instrument(1, r.pick([48, 49, 89]), 75);
    const drums = r.chance(0.4);
    const bass = r.chance(0.5);
    if (bass) c.instrument(2, r.pick([32, 33]), 85);
    const arpeggio = r.pick(['x.x.x.x.x.x.x.x.', 'x..x..x.x..x..x.', 'x...x...x...x...']);
    const mel = { degree: 7 };
    for (let b = 0; b < bars; b++) {
      const at = b * 16;
      const deg = prog[b % prog.length];
      const ch = chord(tonic, scale, deg, r.chance(0.3));
      const low = scaleNote(tonic - 12, scale, deg);
      const broken = [low, ...ch];
      pattern(arpeggio).forEach((s, i) => c.play(0, at + s, 4, broken[i % broken.length], 62, 0.06));
      if (b >= 1) c.melody(0, b, pattern(r.pick(['x...x...x.......', 'x.......x...x...', 'x.....x.x.......', 'x...........x...'])), tonic + 12, scale, mel, 82, 8);
      if (strings && b >= 2) c.chordAt(1, at, 16, chord(tonic, scale, deg), 60);
      if (bass) c.play(2, at, 8, low - 12, 75);
      if (drums && b >= 2) {
        c.hit(at, KICK, 70);
        c.hit(at + 8, SIDE_STICK, 65);
        for (let s = 0; s < 16; s += 4) c.hit(at + s, RIDE, 45);
      }
    }
    return bpm;
  },

  'hip-hop'(c, bars) {
    const r = c.rng;
    const bpm = r.int(80, 96);
    const tonic = 45 + r.int(0, 7);
    const scale = r.chance(0.7) ? MINOR : DORIAN;
    const prog = r.pick([[0, 5], [0, 3], [0, 6, 5, 4], [1, 0]]);
    c.instrument(0, r.pick([4, 5, 11, 0]), 85); // Rhodes / vibes / piano loop
    c.instrument(1, r.pick([38, 39, 33]), 115); // bass
    const strings = r.chance(0.35);
    if (strings) c.instrument(2, r.pick([48, 50]), 70);
    const lead = r.chance(0.4);
    if (lead) c.instrument(3, r.pick([80, 73, 82]), 65);
    const kick = r.pick(['x......x..x.....', 'x.........x..x..', 'x..x......x.....', 'x......xx.....x.']);
    const snare = r.chance(0.5) ? SNARE : CLAP;
    const swing = r.float(0.2, 0.6);
    const sixteenths = r.chance(0.4);
    const keys = r.pick(['x.......', 'x.....x.', 'x..x....']);
    const mel = { degree: 7 };
    for (let b = 0; b < bars; b++) {
      const at = b * 16;
      const deg = prog[b % prog.length];
      for (const s of pattern(kick)) c.hit(at + s, KICK, 120);
      c.hit(at + 4, snare, 112);
      c.hit(at + 12, snare, 115);
      for (let s = 0; s < 16; s += sixteenths ? 1 : 2) c.hit(at + s + (s % 4 === 2 ? swing : 0), s === 14 && r.chance(0.3) ? OPEN_HAT : HAT, s % 4 ? 60 : 80);
      const ch = chord(tonic, scale, deg, true);
      for (const s of pattern(keys)) c.chordAt(0, at + s * 2, 6, ch, 70, 0.04);
      c.play(1, at, 6, scaleNote(tonic - 24, scale, deg), 110, 0.01);
      c.play(1, at + 7, 3, scaleNote(tonic - 24, scale, deg), 95, 0.01);
      c.play(1, at + 10, 5, scaleNote(tonic - 24, scale, deg + r.pick([0, 4, -1])), 100, 0.01);
      if (strings && b % 2 === 0) c.chordAt(2, at, 32, chord(tonic + 12, scale, deg), 55);
      if (lead && b >= bars / 2) c.melody(3, b, pattern(r.pick(['x.....x.........', '..x.....x...x...'])), tonic + 12, scale, mel, 70, 6);
    }
    return bpm;
  },

  forró(c, bars) {
    const r = c.rng;
    const bpm = r.int(100, 132);
    const tonic = 50 + r.int(0, 9);
    const scale = r.chance(0.6) ? MIXOLYDIAN : MAJOR;
    const prog = r.pick([[0, 0, 4, 4], [0, 3, 4, 0], [0, 6, 3, 0], [0, 4, 0, 3]]);
    c.instrument(0, r.pick([21, 21, 23]), 105); // accordion (melody)
    c.instrument(1, r.pick([21, 23]), 75); // accordion (chords)
    c.instrument(2, r.pick([32, 33, 24]), 95);
    const zabumba = r.pick(['x..x..x.x..x..x.', 'x..x....x..x....', 'x..x..x...x.x...']);
    const bacalhau = r.pick(['....x.......x...', '..x...x...x...x.', '....x..x....x..x']);
    const mel = { degree: 8 };
    for (let b = 0; b < bars; b++) {
      const at = b * 16;
      const deg = prog[b % prog.length];
      for (const s of pattern(zabumba)) c.hit(at + s, r.chance(0.7) ? KICK2 : KICK, 112);
      for (const s of pattern(bacalhau)) c.hit(at + s, r.chance(0.5) ? SIDE_STICK : HIGH_TIMBALE, 85);
      for (let s = 0; s < 16; s++) c.hit(at + s, s % 4 === 2 ? OPEN_TRIANGLE : MUTE_TRIANGLE, s % 4 === 2 ? 100 : 70);
      if (r.chance(0.3)) c.hit(at + 6, LOW_AGOGO, 60);
      if (b >= 1) c.melody(0, b, pattern(r.pick(['x.xx.x.xx.x.x...', 'x.x.x.x.x.xx.x..', 'xx.x.x..x.x.xx.x'])), tonic + 12, scale, mel, 95, 2);
      for (const s of pattern('..x...x...x...x.')) c.chordAt(1, at + s, 2, chord(tonic, scale, deg), 70, 0);
      c.play(2, at, 3, scaleNote(tonic - 24, scale, deg), 95);
      c.play(2, at + 3, 3, scaleNote(tonic - 24, scale, deg + 4), 85);
      c.play(2, at + 8, 4, scaleNote(tonic - 24, scale, deg), 90);
      if (r.chance(0.2)) c.hit(at + 15, PEDAL_HAT, 40);
    }
    return bpm;
  },
};

/** The track's score: its genre's generator fills whole bars up to about `seconds`. */
export function composeTrack(track: ReferenceTrack): Score {
  const c = new Composer(track.seed);
  // The generator picks its tempo first; the bar count follows from it.
  const probe = new Composer(track.seed);
  const bpm = GENRES[track.genre](probe, 1);
  const bars = Math.max(2, Math.round((track.seconds * bpm) / 240));
  GENRES[track.genre](c, bars);
  return { bpm, bars, programs: c.programs, volumes: c.volumes, notes: c.notes };
}

export interface RenderOptions {
  /** Output rate (normally ANALYSIS_SAMPLE_RATE). */
  sampleRate: number;
  soundfont?: string;
  fluidsynthPath?: string;
  ffmpegPath?: string;
}

/** fluidsynth renders at this rate; ffmpeg then resamples, as uploads are decoded. */
export const RENDER_SAMPLE_RATE = 44_100;

function onPath(bin: string): boolean {
  if (bin.includes('/')) return existsSync(bin);
  return (process.env.PATH ?? '').split(':').some((dir) => dir && existsSync(join(dir, bin)));
}

export function fluidsynthAvailable(options: Partial<RenderOptions> = {}): boolean {
  return existsSync(options.soundfont ?? DEFAULT_SOUNDFONT) && onPath(options.fluidsynthPath ?? 'fluidsynth') && onPath(options.ffmpegPath ?? process.env.FFMPEG_PATH ?? 'ffmpeg');
}

/**
 * The track as an upload would reach the analysers: fluidsynth renders it at 44.1 kHz stereo
 * (reverb and chorus on, its defaults), ffmpeg down-mixes and resamples it to mono float PCM at
 * `sampleRate` exactly as lib/audio/pcm.ts decodes files (`-ac 1 -ar`), then it is
 * peak-normalized to 0.9.
 */
export async function renderTrack(track: ReferenceTrack, options: RenderOptions): Promise<Float32Array> {
  const dir = await mkdtemp(join(tmpdir(), 'moviola-genre-ref-'));
  try {
    const mid = join(dir, `${track.id}.mid`);
    const raw = join(dir, `${track.id}.f32`);
    await writeFile(mid, scoreToMidi(composeTrack(track)));
    await execFileAsync(
      options.fluidsynthPath ?? 'fluidsynth',
      ['-n', '-i', '-q', '-g', '0.5', '-r', String(RENDER_SAMPLE_RATE), '-O', 'float', '-T', 'raw', '-E', 'little', '-F', raw, options.soundfont ?? DEFAULT_SOUNDFONT, mid],
      { maxBuffer: 1 << 20 },
    );
    const { stdout } = await execFileAsync(
      options.ffmpegPath ?? process.env.FFMPEG_PATH ?? 'ffmpeg',
      ['-nostdin', '-v', 'error', '-f', 'f32le', '-ar', String(RENDER_SAMPLE_RATE), '-ac', '2', '-i', raw, '-ac', '1', '-ar', String(options.sampleRate), '-f', 'f32le', 'pipe:1'],
      { encoding: 'buffer', maxBuffer: 1 << 30 },
    );
    const mono = new Float32Array(stdout.buffer.slice(stdout.byteOffset, stdout.byteOffset + (stdout.byteLength & ~3)));
    let peak = 0;
    for (let i = 0; i < mono.length; i++) if (Math.abs(mono[i]) > peak) peak = Math.abs(mono[i]);
    if (peak > 0) {
      const g = 0.9 / peak;
      for (let i = 0; i < mono.length; i++) mono[i] *= g;
    }
    return mono;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
