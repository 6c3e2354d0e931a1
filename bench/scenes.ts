/**
 * Scene cuts: Moviola's video analysis (analyzeVideoFile, lib/video) side by side with ffmpeg's
 * scene score (`-vf "select='gt(scene,0.3)',showinfo"`, the issue's baseline) and with the ingest
 * pipeline's `scdet` command (lib/ffmpeg/ingest/scenes.ts), run in the same script on the same files.
 *
 *   node bench/scenes.ts [--rounds N] [--seeds 1,2,3] [--no-real]
 *
 * - Built edits (test/support/edits.ts, cached in .data/bench/scenes/edits): the mixed and the fast
 *   edit for each seed (the random sources differ per seed), the mixed edit at 1280×720 (timing of
 *   a 1-minute 720p video), and an edit cut from the real footage below at known frames. Truth by
 *   construction; the dissolves, fades and flashes are not cuts.
 * - Real videos we did not make: the sample clips of Debian's opencv-doc (apt-get download +
 *   dpkg -x into .data/bench/scenes/real): Megamind.avi (a trailer excerpt, 3 hard cuts labelled
 *   by hand from a contact sheet, at frames 98, 154 and 200 — their presentation times are read
 *   with ffprobe), its re-encoded twin Megamind_bugy.avi (the same cuts at its own frame times),
 *   and four single-shot clips (vtest.avi: a fixed camera over walking people, 80 s; tree.avi: a
 *   handheld tree and a hand; box.mp4 and cup.mp4: handheld object tracking), where every
 *   reported cut is false. Megamind opens on one black frame: a cut in the first 0.1 s counts for
 *   nobody.
 * - F1 / precision / recall with cuts matched one-to-one within ±2 frames of each video's rate;
 *   runtime per minute of video (median wall time over --rounds; ours = the whole analysis:
 *   pictures, audio, series, impacts).
 *
 * Not a test: numbers only.
 */
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readdir, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { sceneDetectArgs, parseSceneCuts } from '../lib/ffmpeg/ingest/scenes.ts';
import { probeMedia } from '../lib/ffmpeg/probe.ts';
import { analyzeVideoFileDetailed } from '../lib/video/analyze-video.ts';
import { buildEdit, fastEdit, mixedEdit, scoreCuts, type BuiltEdit, type EditSpec, type TimeSpan } from '../test/support/edits.ts';
import { exec, median } from './support.ts';

const { values: flags } = parseArgs({
  options: {
    rounds: { type: 'string', default: '1' },
    seeds: { type: 'string', default: '1,2,3' },
    'no-real': { type: 'boolean', default: false },
  },
});
const rounds = Math.max(1, Number(flags.rounds) || 1);
const seeds = flags.seeds.split(',').map(Number).filter((n) => Number.isInteger(n) && n > 0);
const ROOT = resolve(import.meta.dirname, '..');
const DIR = join(ROOT, '.data', 'bench', 'scenes');
const FFMPEG = process.env.FFMPEG_PATH ?? 'ffmpeg';
const FFPROBE = process.env.FFPROBE_PATH ?? 'ffprobe';
const DEB = 'opencv-doc';
const REAL_FILES = ['Megamind.avi', 'Megamind_bugy.avi', 'vtest.avi', 'tree.avi', 'box.mp4', 'cup.mp4'];
/** Hand-labelled hard cuts of the Megamind excerpt (frame indices of the first frame of each new shot). */
const MEGAMIND_CUT_FRAMES = [98, 154, 200];


/** One video of the bench and its truth. */
interface Case {
  name: string;
  group: 'built' | 'footage' | 'real';
  path: string;
  durationMs: number;
  fps: number;
  cutsMs: number[];
  /** Spans where a reported cut is false for a reason worth naming (transitions, flashes). */
  gradual: TimeSpan[];
  flashesMs: number[];
  /** Cuts reported before this are ignored (Megamind's black first frame). */
  ignoreBeforeMs: number;
}

function fromEdit(edit: BuiltEdit, group: Case['group'] = 'built'): Case {
  return { name: edit.name, group, path: edit.path, durationMs: edit.durationMs, fps: edit.fps, cutsMs: edit.cutsMs, gradual: edit.gradual, flashesMs: edit.flashesMs, ignoreBeforeMs: 0 };
}

async function cachedEdit(spec: EditSpec): Promise<BuiltEdit> {
  const dir = join(DIR, 'edits');
  await mkdir(dir, { recursive: true });
  if (!existsSync(join(dir, `${spec.name}.mp4`))) process.stdout.write(`[bench] building ${spec.name} …\n`);
  return buildEdit(dir, spec, { reuseExisting: true });
}

async function realVideos(): Promise<string[]> {
  const dir = join(DIR, 'real');
  if (REAL_FILES.every((f) => existsSync(join(dir, f)))) return REAL_FILES.map((f) => join(dir, f));
  const debDir = join(DIR, 'deb');
  await mkdir(debDir, { recursive: true });
  await mkdir(dir, { recursive: true });
  process.stdout.write(`[bench] apt-get download ${DEB} …\n`);
  const download = await exec('apt-get', ['download', DEB], { cwd: debDir });
  if (download.code !== 0) throw new Error(`apt-get download failed (is this Debian with its mirrors?):\n${download.stderr.slice(-2000)}`);
  const deb = (await readdir(debDir)).find((f) => f.startsWith(`${DEB}_`) && f.endsWith('.deb'));
  if (!deb) throw new Error(`apt-get download left no ${DEB} package`);
  const root = join(debDir, 'x');
  const extracted = await exec('dpkg', ['-x', join(debDir, deb), root]);
  if (extracted.code !== 0) throw new Error(`dpkg -x ${deb} failed: ${extracted.stderr}`);
  const data = join(root, 'usr/share/doc/opencv-doc/examples/data');
  for (const f of REAL_FILES.filter((f) => f.endsWith('.avi'))) await copyFile(join(data, f), join(dir, f));
  for (const f of REAL_FILES.filter((f) => f.endsWith('.mp4'))) {
    const gz = await exec('sh', ['-c', `gunzip -c "${join(root, 'usr/share/doc/opencv-doc/opencv4/html', `${f}.gz`)}" > "${join(dir, f)}"`]);
    if (gz.code !== 0) throw new Error(`gunzip ${f}.gz failed: ${gz.stderr}`);
  }
  await rm(root, { recursive: true, force: true });
  return REAL_FILES.map((f) => join(dir, f));
}

/** Presentation time (ms) of every video frame, in order. */
async function frameTimesMs(path: string): Promise<number[]> {
  const r = await exec(FFPROBE, ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'frame=best_effort_timestamp_time', '-of', 'csv=p=0', path]);
  return r.stdout.split('\n').filter((l) => l.trim() !== '').map((l) => Number(l.trim()) * 1000).filter((v) => Number.isFinite(v));
}

async function realCase(path: string): Promise<Case> {
  const name = path.split('/').pop()!;
  const { metadata } = await probeMedia(path, { ffprobePath: FFPROBE, timeoutMs: 60_000 });
  const times = await frameTimesMs(path);
  const fps = times.length > 1 ? (times.length - 1) / ((times[times.length - 1] - times[0]) / 1000) : 25;
  const cutsMs = name.startsWith('Megamind') ? MEGAMIND_CUT_FRAMES.map((f) => Math.round(times[f])) : [];
  return { name, group: 'real', path, durationMs: metadata.duration_ms ?? Math.round((times.length / fps) * 1000), fps, cutsMs, gradual: [], flashesMs: [], ignoreBeforeMs: name.startsWith('Megamind') ? 100 : 0 };
}

/** The real-footage edit: shots of the opencv clips cut together at known frames. */
function footageEdit(dir: string): EditSpec {
  const f = (name: string) => join(dir, name);
  return {
    name: 'footage',
    audio: { bpm: 96, seed: 5 },
    shots: [
      { source: { kind: 'movie', path: f('vtest.avi'), startS: 10 }, frames: 130 },
      { source: { kind: 'movie', path: f('box.mp4'), startS: 2 }, frames: 96 },
      { source: { kind: 'movie', path: f('Megamind.avi'), startS: 4.3 }, frames: 48 },
      { source: { kind: 'movie', path: f('cup.mp4'), startS: 1 }, frames: 102 },
      { source: { kind: 'movie', path: f('tree.avi'), startS: 3 }, frames: 87 },
      { source: { kind: 'movie', path: f('Megamind.avi'), startS: 8.6 }, frames: 61 },
      { source: { kind: 'movie', path: f('vtest.avi'), startS: 50 }, frames: 75 },
      { source: { kind: 'movie', path: f('box.mp4'), startS: 9 }, frames: 69 },
      { source: { kind: 'movie', path: f('Megamind.avi'), startS: 0.5 }, frames: 83 },
      { source: { kind: 'movie', path: f('tree.avi'), startS: 20 }, frames: 58 },
      { source: { kind: 'movie', path: f('cup.mp4'), startS: 5 }, frames: 64 },
      { source: { kind: 'movie', path: f('vtest.avi'), startS: 70 }, frames: 90, transition: 'dissolve', transitionFrames: 20 },
    ],
  };
}

interface Outcome {
  cutsMs: number[];
  ms: number;
}

async function ours(c: Case, fastPath: boolean): Promise<Outcome> {
  const { demuxer, metadata } = await probeMedia(c.path, { ffprobePath: FFPROBE, timeoutMs: 60_000 });
  const video = metadata.streams.find((s) => s.type === 'video');
  const analysisStarted = performance.now();
  const r = await analyzeVideoFileDetailed(c.path, {
    ffmpegPath: FFMPEG,
    demuxer,
    durationMs: metadata.duration_ms,
    width: video?.width ?? null,
    height: video?.height ?? null,
    hasAudio: metadata.streams.some((s) => s.type === 'audio'),
    timeoutMs: 600_000,
    videoCodec: fastPath ? (video?.codec ?? null) : null,
  });
  return { cutsMs: r.analysis.cutsMs, ms: performance.now() - analysisStarted };
}

async function ffmpegSelect(c: Case): Promise<Outcome> {
  const r = await exec(FFMPEG, ['-nostdin', '-hide_banner', '-nostats', '-v', 'info', '-i', c.path, '-an', '-sn', '-vf', "select='gt(scene,0.3)',showinfo", '-f', 'null', '-']);
  if (r.code !== 0) throw new Error(`ffmpeg select failed on ${c.name}: ${r.stderr.slice(-500)}`);
  const lines = r.stderr.split('\n').filter((l) => l.includes('Parsed_showinfo'));
  return { cutsMs: parseSceneCuts(lines.join('\n')), ms: r.ms };
}

async function ingestScdet(c: Case): Promise<Outcome> {
  const { demuxer, metadata } = await probeMedia(c.path, { ffprobePath: FFPROBE, timeoutMs: 60_000 });
  const args = sceneDetectArgs({ path: c.path, demuxer, durationMs: metadata.duration_ms, width: null, height: null, fps: null, hasAudio: false, hasVideo: true });
  const r = await exec(FFMPEG, args);
  if (r.code !== 0) throw new Error(`ffmpeg scdet failed on ${c.name}: ${r.stderr.slice(-500)}`);
  return { cutsMs: parseSceneCuts(r.stdout), ms: r.ms };
}

const CONTENDERS: Array<{ name: string; run: (c: Case) => Promise<Outcome> }> = [
  { name: 'ours (H.264 fast path)', run: (c) => ours(c, true) },
  { name: 'ours (every picture)', run: (c) => ours(c, false) },
  { name: "ffmpeg select='gt(scene,0.3)'", run: ffmpegSelect },
  { name: 'ingest scdet=10 @160 px', run: ingestScdet },
];

interface Row {
  contender: string;
  c: Case;
  cutsMs: number[];
  ms: number;
}

function fmt(v: number, digits = 3): string {
  return Number.isFinite(v) ? v.toFixed(digits) : '—';
}

async function main(): Promise<void> {
  const cases: Case[] = [];
  for (const seed of seeds) {
    cases.push(fromEdit(await cachedEdit(mixedEdit(seed))));
    cases.push(fromEdit(await cachedEdit(fastEdit(seed))));
  }
  cases.push(fromEdit(await cachedEdit({ ...mixedEdit(1), name: 'mixed-720p', width: 1280, height: 720 })));
  if (!flags['no-real']) {
    const real = await realVideos();
    cases.push(fromEdit(await cachedEdit(footageEdit(join(DIR, 'real'))), 'footage'));
    for (const path of real) cases.push(await realCase(path));
  }

  const rows: Row[] = [];
  for (const c of cases) {
    for (const contender of CONTENDERS) {
      const times: number[] = [];
      let cuts: number[] = [];
      for (let r = 0; r < rounds; r++) {
        const out = await contender.run(c);
        times.push(out.ms);
        cuts = out.cutsMs.filter((t) => t >= c.ignoreBeforeMs);
      }
      rows.push({ contender: contender.name, c, cutsMs: cuts, ms: median(times) });
    }
    process.stdout.write(`[bench] ${c.name} done\n`);
  }

  const line = (cells: Array<string | number>) => `| ${cells.join(' | ')} |`;
  console.log(`\n## Per video (±2 frames; ${rounds} round${rounds > 1 ? 's' : ''}, median wall time)\n`);
  console.log(line(['video', 'length', 'true cuts', 'contender', 'reported', 'F1', 'P', 'R', 'false in transitions / at flashes', 'worst error', 'ms per min']));
  console.log(line(['---', '---:', '---:', '---', '---:', '---:', '---:', '---:', '---:', '---:', '---:']));
  for (const row of rows) {
    const tol = (2 * 1000) / row.c.fps;
    const s = scoreCuts(row.c.cutsMs, row.cutsMs, tol);
    const inTransitions = s.falseMs.filter((t) => row.c.gradual.some((g) => t > g.startMs - tol && t < g.endMs + tol)).length;
    const atFlashes = s.falseMs.filter((t) => row.c.flashesMs.some((f) => Math.abs(t - f) <= 300)).length;
    const worst = s.errorsMs.length ? Math.max(...s.errorsMs.map(Math.abs)) : NaN;
    const noCuts = row.c.cutsMs.length === 0;
    console.log(line([
      row.c.name, `${(row.c.durationMs / 1000).toFixed(1)} s`, row.c.cutsMs.length, row.contender, row.cutsMs.length,
      noCuts ? (row.cutsMs.length === 0 ? '(none)' : `${row.cutsMs.length} false`) : fmt(s.f1), noCuts ? '' : fmt(s.precision), noCuts ? '' : fmt(s.recall),
      `${inTransitions} / ${atFlashes}`, Number.isFinite(worst) ? `${Math.round(worst)} ms` : '—', Math.round(row.ms / (row.c.durationMs / 60_000)),
    ]));
  }

  console.log('\n## Pooled\n');
  console.log(line(['set', 'contender', 'true cuts', 'reported', 'F1', 'P', 'R', 'false cuts on single-shot videos', 'ms per min (all videos of the set)']));
  console.log(line(['---', '---', '---:', '---:', '---:', '---:', '---:', '---:', '---:']));
  const groupNames = { built: 'built edits', footage: 'edit of real footage', real: 'real videos (opencv-doc)' } as const;
  for (const group of ['built', 'footage', 'real'] as const) {
    for (const contender of CONTENDERS) {
      const mine = rows.filter((r) => r.contender === contender.name && r.c.group === group);
      if (mine.length === 0) continue;
      let matches = 0, truth = 0, reported = 0, singleShotFalse = 0, ms = 0, minutes = 0;
      for (const r of mine) {
        const s = scoreCuts(r.c.cutsMs, r.cutsMs, (2 * 1000) / r.c.fps);
        matches += s.matches;
        truth += r.c.cutsMs.length;
        reported += r.cutsMs.length;
        if (r.c.cutsMs.length === 0) singleShotFalse += r.cutsMs.length;
        ms += r.ms;
        minutes += r.c.durationMs / 60_000;
      }
      const p = reported ? matches / reported : 1;
      const rc = truth ? matches / truth : 1;
      const f1 = p + rc ? (2 * p * rc) / (p + rc) : 0;
      console.log(line([groupNames[group], contender.name, truth, reported, fmt(f1), fmt(p), fmt(rc), singleShotFalse, Math.round(ms / minutes)]));
    }
  }
}

await main();
