/**
 * Beats and tempo: Moviola's rhythm analysis (decodePcm + analyzeRhythm, in process) side by side
 * with aubio (`aubio beat`, `aubio tempo` from Debian's aubio-tools, run here on the same files).
 *
 *   node bench/beats.ts [--rounds N] [--only substring] [--no-real]
 *
 * - Ground truth (test/support/audio-truth.ts: click tracks, drum patterns, MIDI songs rendered
 *   by fluidsynth): beat F-measure (mir_eval: ±70 ms, beats before 5 s ignored) and tempo
 *   Accuracy2 (±4 %, ×1 ×2 ×½ ×3 ×⅓) for both.
 * - Real recorded music we did not make: the songs of Debian's fretsonfire-songs-muldjord and
 *   fretsonfire-songs-sectoid (Ogg Vorbis; backing + guitar stems mixed into one Ogg once, cached
 *   in .data/bench/beats/real/). No annotated beats; each song's Frets on Fire chart (notes.mid)
 *   has a tempo map: tempo Accuracy1/2 is reported against it, beat F-measure against its beat
 *   grid from 0 s (an approximation: a charter aligns notes, not beats, and a grid may be offset),
 *   and the agreement with aubio (F-measure of our beats against aubio's as the reference).
 * - Runtime per minute of audio: ours is decode + analysis in this process; aubio's is the wall
 *   time of its command (Python start-up included; "aubio net" subtracts the time of the same
 *   command on a 1-second file). The ratio is ours / aubio beat. Medians over --rounds.
 *
 * aubio-tools is installed with apt-get when missing (root on Debian), else the bench stops with
 * what to install. Not a test: numbers only.
 */
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { decodePcm } from '../lib/audio/pcm.ts';
import { analyzeRhythm } from '../lib/audio/rhythm.ts';
import { provideFluidsynth } from '../scripts/stack/fluidsynth.ts';
import { aptInstall, isDebian, isRoot, which } from '../scripts/stack/tools.ts';
import {
  beatFMeasure,
  makeGroundTruth,
  makeLongDrumTrack,
  parseMidiTempoMap,
  tempoAccuracy1,
  tempoAccuracy2,
  tempoMapBeats,
  wavBytes,
} from '../test/support/audio-truth.ts';
import { exec, median } from './support.ts';

const { values: flags } = parseArgs({
  options: {
    rounds: { type: 'string', default: '1' },
    only: { type: 'string' },
    'no-real': { type: 'boolean', default: false },
  },
});
const rounds = Math.max(1, Number(flags.rounds) || 1);
const ROOT = resolve(import.meta.dirname, '..');
const DIR = join(ROOT, '.data', 'bench', 'beats');
const FFMPEG = process.env.FFMPEG_PATH ?? 'ffmpeg';
const FOF_PACKAGES = ['fretsonfire-songs-muldjord', 'fretsonfire-songs-sectoid'];


async function provideAubio(): Promise<string> {
  let aubio = which('aubio');
  if (!aubio) {
    if (!isRoot() || !isDebian()) {
      throw new Error('aubio not found: install Debian/Ubuntu aubio-tools (sudo apt-get install aubio-tools), then run the bench again');
    }
    process.stdout.write('[bench] installing aubio-tools with apt-get …\n');
    await aptInstall(['aubio-tools']);
    aubio = which('aubio');
    if (!aubio) throw new Error('apt-get install aubio-tools did not provide the aubio command');
  }
  return aubio;
}

interface Track {
  name: string;
  group: 'truth' | 'real';
  path: string;
  demuxer: string;
  durationS: number;
  /** Reference beats: the ground truth, or a real song's chart grid (its tempo map from 0 s). */
  beatsS: number[] | null;
  /** Reference tempo: the true tempo, or a real song's chart tempo. */
  tempoBpm: number | null;
}

async function durationOf(path: string): Promise<number> {
  const probe = await exec(process.env.FFPROBE_PATH ?? 'ffprobe', ['-v', 'error', '-show_entries', 'format=duration', '-of', 'csv=p=0', path]);
  return Number(probe.stdout.trim());
}

/** Debian's Frets on Fire song packages → one mixed Ogg per song (cached) with its chart tempo. */
async function realMusic(): Promise<Track[]> {
  const realDir = join(DIR, 'real');
  const pkgDir = join(DIR, 'pkg');
  const songsRoot = join(pkgDir, 'usr', 'share', 'games', 'fretsonfire', 'data', 'songs');
  if (!existsSync(songsRoot)) {
    const debDir = join(DIR, 'debs');
    await mkdir(debDir, { recursive: true });
    process.stdout.write(`[bench] apt-get download ${FOF_PACKAGES.join(' ')} …\n`);
    const download = await exec('apt-get', ['download', ...FOF_PACKAGES], { cwd: debDir });
    if (download.code !== 0) throw new Error(`apt-get download failed (is this Debian with its mirrors?):\n${download.stderr.slice(-2000)}`);
    for (const deb of await readdir(debDir)) {
      if (!deb.endsWith('.deb')) continue;
      const extracted = await exec('dpkg', ['-x', join(debDir, deb), pkgDir]);
      if (extracted.code !== 0) throw new Error(`dpkg -x ${deb} failed: ${extracted.stderr}`);
    }
  }
  await mkdir(realDir, { recursive: true });
  const tracks: Track[] = [];
  for (const author of (await readdir(songsRoot)).sort()) {
    const authorDir = join(songsRoot, author);
    if (!existsSync(join(authorDir, 'library.ini')) && !(await readdir(authorDir)).length) continue;
    for (const song of (await readdir(authorDir)).sort()) {
      const songDir = join(authorDir, song);
      const backing = join(songDir, 'song.ogg');
      if (!existsSync(backing)) continue;
      const name = `${author}-${song}`.toLowerCase().replace(/[^a-z0-9]+/g, '-');
      const out = join(realDir, `${name}.ogg`);
      if (!existsSync(out)) {
        const guitar = join(songDir, 'guitar.ogg');
        const args = existsSync(guitar)
          ? ['-i', backing, '-i', guitar, '-filter_complex', 'amix=inputs=2:normalize=0', '-c:a', 'libvorbis', '-q:a', '5', out]
          : ['-i', backing, '-c:a', 'copy', out];
        const mixed = await exec(FFMPEG, ['-v', 'error', '-y', '-nostdin', ...args]);
        if (mixed.code !== 0) throw new Error(`ffmpeg could not mix ${songDir}: ${mixed.stderr.slice(-1000)}`);
      }
      let tempoBpm: number | null = null;
      let beatsS: number[] | null = null;
      const durationS = await durationOf(out);
      const chart = join(songDir, 'notes.mid');
      if (existsSync(chart)) {
        const { ppq, tempoMap } = parseMidiTempoMap(await readFile(chart));
        tempoBpm = tempoMap.length === 1 ? tempoMap[0].bpm : null;
        beatsS = tempoMapBeats(tempoMap, durationS, ppq);
      }
      tracks.push({ name, group: 'real', path: out, demuxer: 'ogg', durationS, beatsS, tempoBpm });
    }
  }
  return tracks;
}

interface Result {
  tempoBpm: number | null;
  beatsS: number[];
  ms: number;
}

async function ours(track: Track): Promise<Result> {
  const started = performance.now();
  const pcm = await decodePcm(track.path, { ffmpegPath: FFMPEG, demuxer: track.demuxer, timeoutMs: 300_000 });
  const rhythm = analyzeRhythm(pcm.samples, pcm.sampleRate);
  return { tempoBpm: rhythm.tempoBpm, beatsS: rhythm.beatsMs.map((ms) => ms / 1000), ms: performance.now() - started };
}

async function aubioBeat(aubio: string, path: string): Promise<Result> {
  const run = await exec(aubio, ['beat', path]);
  if (run.code !== 0) throw new Error(`aubio beat ${path} failed: ${run.stderr.slice(-1000)}`);
  const beatsS = run.stdout.split('\n').map((l) => Number(l.trim())).filter((v) => Number.isFinite(v) && v > 0);
  return { tempoBpm: null, beatsS, ms: run.ms };
}

async function aubioTempo(aubio: string, path: string): Promise<Result> {
  const run = await exec(aubio, ['tempo', path]);
  if (run.code !== 0) throw new Error(`aubio tempo ${path} failed: ${run.stderr.slice(-1000)}`);
  const match = /([\d.]+)\s*bpm/.exec(run.stdout);
  return { tempoBpm: match ? Number(match[1]) : null, beatsS: [], ms: run.ms };
}

const pad = (s: string, n: number) => (s.length >= n ? s : s + ' '.repeat(n - s.length));
const lpad = (s: string, n: number) => (s.length >= n ? s : ' '.repeat(n - s.length) + s);
const f3 = (x: number) => x.toFixed(3);
const acc = (est: number | null, ref: number | null) =>
  ref === null ? '–' : tempoAccuracy1(est, ref) ? 'A1' : tempoAccuracy2(est, ref) ? 'A2' : 'no';

async function main(): Promise<void> {
  const aubio = await provideAubio();
  const fluid = await provideFluidsynth();
  await rm(join(DIR, 'truth'), { recursive: true, force: true });
  await mkdir(join(DIR, 'truth'), { recursive: true });
  const only = flags.only;
  const truth = await makeGroundTruth(join(DIR, 'truth'), { fluidsynthPath: fluid.fluidsynth, soundfontPath: fluid.soundfont });
  const long = await makeLongDrumTrack(join(DIR, 'truth'), 180);
  const tracks: Track[] = [...truth, long].map((t) => ({
    name: t.name, group: 'truth' as const, path: t.path, demuxer: 'wav', durationS: t.durationS, beatsS: t.beatsS, tempoBpm: t.tempoBpm,
  }));
  if (!flags['no-real']) tracks.push(...(await realMusic()));
  const selected = only ? tracks.filter((t) => t.name.includes(only)) : tracks;

  // aubio's start-up: the same commands on a 1-second file.
  const tiny = join(DIR, 'tiny.wav');
  await writeFile(tiny, wavBytes(new Float32Array(44_100), 44_100));
  const startup = { beat: [] as number[], tempo: [] as number[] };
  for (let r = 0; r < Math.max(3, rounds); r++) {
    startup.beat.push((await aubioBeat(aubio, tiny)).ms);
    startup.tempo.push((await aubioTempo(aubio, tiny)).ms);
  }
  const aubioStartup = { beat: median(startup.beat), tempo: median(startup.tempo) };

  console.log(`aubio ${aubio} (start-up: beat ${aubioStartup.beat.toFixed(0)} ms, tempo ${aubioStartup.tempo.toFixed(0)} ms); ${rounds} round(s); machine: ${process.arch}, node ${process.version}`);
  console.log('');
  console.log(
    `${pad('track', 34)}${lpad('dur s', 7)}${lpad('ref bpm', 9)}${lpad('ours bpm', 10)}${lpad('aubio bpm', 10)}  acc(o/a)  ${lpad('F ours', 7)}${lpad('F aubio', 8)}${lpad('agree', 7)}${lpad('ours ms/min', 12)}${lpad('aubio ms/min', 13)}${lpad('ratio', 7)}`,
  );
  const summary = {
    truth: { n: 0, fOurs: 0, fAubio: 0, a2Ours: 0, a2Aubio: 0, a1Ours: 0, a1Aubio: 0, agree: 0, oursMs: 0, aubioMs: 0, aubioNetMs: 0, minutes: 0 },
    real: { n: 0, fOurs: 0, fAubio: 0, a2Ours: 0, a2Aubio: 0, a1Ours: 0, a1Aubio: 0, agree: 0, oursMs: 0, aubioMs: 0, aubioNetMs: 0, minutes: 0 },
  };
  let longLine = '';
  for (const track of selected) {
    const oursRuns: Result[] = [];
    const beatRuns: Result[] = [];
    const tempoRuns: Result[] = [];
    for (let r = 0; r < rounds; r++) {
      oursRuns.push(await ours(track));
      beatRuns.push(await aubioBeat(aubio, track.path));
      tempoRuns.push(await aubioTempo(aubio, track.path));
    }
    const o = oursRuns[0];
    const ab = beatRuns[0];
    const at = tempoRuns[0];
    const oursMs = median(oursRuns.map((r) => r.ms));
    const aubioMs = median(beatRuns.map((r) => r.ms));
    const minutes = track.durationS / 60;
    const fo = track.beatsS ? beatFMeasure(track.beatsS, o.beatsS).fMeasure : NaN;
    const fa = track.beatsS ? beatFMeasure(track.beatsS, ab.beatsS).fMeasure : NaN;
    const agree = beatFMeasure(ab.beatsS, o.beatsS).fMeasure;
    const s = summary[track.group];
    s.n++;
    if (track.beatsS) {
      s.fOurs += fo;
      s.fAubio += fa;
    }
    if (tempoAccuracy2(o.tempoBpm, track.tempoBpm ?? NaN)) s.a2Ours++;
    if (tempoAccuracy2(at.tempoBpm, track.tempoBpm ?? NaN)) s.a2Aubio++;
    if (tempoAccuracy1(o.tempoBpm, track.tempoBpm ?? NaN)) s.a1Ours++;
    if (tempoAccuracy1(at.tempoBpm, track.tempoBpm ?? NaN)) s.a1Aubio++;
    s.agree += agree;
    s.oursMs += oursMs;
    s.aubioMs += aubioMs;
    s.aubioNetMs += Math.max(1, aubioMs - aubioStartup.beat);
    s.minutes += minutes;
    console.log(
      `${pad(track.name, 34)}${lpad(track.durationS.toFixed(1), 7)}${lpad(track.tempoBpm === null ? '–' : track.tempoBpm.toFixed(1), 9)}` +
        `${lpad(o.tempoBpm === null ? 'null' : o.tempoBpm.toFixed(1), 10)}${lpad(at.tempoBpm === null ? 'null' : at.tempoBpm.toFixed(1), 10)}` +
        `  ${pad(`${acc(o.tempoBpm, track.tempoBpm)}/${acc(at.tempoBpm, track.tempoBpm)}`, 8)}` +
        `${lpad(Number.isNaN(fo) ? '–' : f3(fo), 7)}${lpad(Number.isNaN(fa) ? '–' : f3(fa), 8)}${lpad(f3(agree), 7)}` +
        `${lpad((oursMs / minutes).toFixed(0), 12)}${lpad((aubioMs / minutes).toFixed(0), 13)}${lpad((oursMs / aubioMs).toFixed(2), 7)}`,
    );
    if (track === selected.find((t) => t.name === basename(long.path, '.wav'))) {
      longLine = `3-minute track (${track.name}): ours ${(oursMs / 1000).toFixed(2)} s (decode + analysis), aubio beat ${(aubioMs / 1000).toFixed(2)} s, aubio tempo ${(median(tempoRuns.map((r) => r.ms)) / 1000).toFixed(2)} s`;
    }
  }
  console.log('');
  for (const group of ['truth', 'real'] as const) {
    const s = summary[group];
    if (s.n === 0) continue;
    const label = group === 'truth' ? `ground truth (${s.n} tracks)` : `real music (${s.n} songs; reference: each song's chart — its tempo, and its beat grid from 0 s)`;
    console.log(label);
    console.log(`  mean beat F-measure${group === 'real' ? ' against the chart grid' : ''}: ours ${f3(s.fOurs / s.n)}, aubio ${f3(s.fAubio / s.n)}`);
    console.log(`  tempo Accuracy2: ours ${s.a2Ours}/${s.n}, aubio ${s.a2Aubio}/${s.n}; Accuracy1: ours ${s.a1Ours}/${s.n}, aubio ${s.a1Aubio}/${s.n}`);
    console.log(`  agreement with aubio (F of ours vs aubio's beats): ${f3(s.agree / s.n)}`);
    console.log(
      `  runtime per minute of audio: ours ${(s.oursMs / s.minutes).toFixed(0)} ms, aubio beat ${(s.aubioMs / s.minutes).toFixed(0)} ms ` +
        `(net of start-up ${(s.aubioNetMs / s.minutes).toFixed(0)} ms); ours / aubio = ${(s.oursMs / s.aubioMs).toFixed(2)} (net ${(s.oursMs / s.aubioNetMs).toFixed(2)})`,
    );
  }
  if (longLine) console.log(longLine);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench/beats: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
