/**
 * Clip rendering (issue 8): one 30 s vertical variant with music rendered by Moviola's renderClip
 * (two passes: loudness measured, then rendered with linear loudnorm) against ONE hand-written
 * ffmpeg command doing the same cut, a static centre crop, the music overlay and single-pass
 * loudnorm to −14 LUFS, run in the same script on the same files. Not a test: numbers only.
 *
 *   node bench/render.ts [--rounds N]      # default 3 rounds, interleaved; medians printed
 *
 * Inputs, made once into .data/bench/render/: a 40 s 1920×1080 25 fps H.264 (`-preset veryfast`)
 * + AAC source (testsrc2 with a white box crossing the right half; a 440 Hz "performance" whose
 * level swells) and two 40 s AAC music tracks:
 *
 * - the main track: reference track rock-501 (scripts/genre-reference-set.ts, the track the
 *   clip-job integration test uses) rendered as the tests render it, by makeReferenceTrackWav
 *   (test/support/clips.ts: fluidsynth + the FluidR3 GM soundfont), composed 42 s long and encoded
 *   to its first 40 s. fluidsynth and the soundfont are found as the test stack finds them
 *   (scripts/stack/fluidsynth.ts: FLUIDSYNTH_PATH / SOUNDFONT_PATH, else PATH and Debian's
 *   soundfont, else apt-get as root on Debian); the bench stops with a message if they are missing.
 * - adversarial: a strictly periodic kick (a 220/330 Hz chord over a 120 BPM kick, ffmpeg
 *   `aevalsrc`). Every beat looks like every other, so the music check's ±1 s search
 *   (MUSIC_CHECK_MARGIN_MS, calibrated on rendered reference tracks) holds positions one and two
 *   beats away that correlate almost as well as the true one. Kept to show that limit.
 *
 * Each round times the motion analysis once, then for each track moviola and baseline:
 *
 * - moviola: `renderClip` of [5 s, 35 s) with `vertical` keyframes from `motionCentreKeyframes`
 *   (timed apart: the analysis runs once per variant window, before rendering) and the music at
 *   track time 3 s; default fades (250 ms), −14 LUFS / −1 dBTP / LRA 11.
 * - baseline: `ffmpeg -ss 5 -t 30 -i source -ss 3 -t 30 -i music -filter_complex "crop (centre),
 *   scale, fades; performance −12 dB + music, fades, loudnorm=I=-14:TP=-1:LRA=11" …` with the same
 *   x264/AAC settings (`-preset veryfast -crf 20`, AAC 192k 48 kHz stereo, `+faststart`).
 *
 * Printed per track: wall time of each (median of the rounds), `moviola / baseline`, the integrated
 * loudness and true peak of both outputs measured by ffmpeg's `ebur128=peak=true`, and the A/V
 * sync deviation of both outputs measured as checkClipRender measures a render
 * (lib/clips/check-render.ts: probeRender → streamDeviationMs; musicDeviationMs against the track at
 * track time 3 s; the length against the 30 s cut; judgeRender's verdict within 40 ms).
 */
import { execFile } from 'node:child_process';
import { mkdir, readFile, rm, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { judgeRender, musicDeviationMs, probeRender, RENDER_SYNC_TOLERANCE_MS, streamDeviationMs } from '../lib/clips/check-render.ts';
import { clipGeometry, renderClip, type ClipRenderPlan } from '../lib/ffmpeg/clips/render-clip.ts';
import { motionCentreKeyframes } from '../lib/video/motion-centre.ts';
import type { ReferenceTrack } from '../scripts/genre-reference-set.ts';
import { provideFluidsynth } from '../scripts/stack/fluidsynth.ts';
import { makeReferenceTrackWav } from '../test/support/clips.ts';
import { exec, median } from './support.ts';

const run = promisify(execFile);
const { values: flags } = parseArgs({ options: { rounds: { type: 'string', default: '3' } } });
const rounds = Math.max(1, Number(flags.rounds) || 3);
const FFMPEG = process.env.FFMPEG_PATH ?? 'ffmpeg';
const FFPROBE = process.env.FFPROBE_PATH ?? 'ffprobe';
const DIR = resolve(import.meta.dirname, '..', '.data', 'bench', 'render');
const SOURCE = join(DIR, 'source-40s-1080p25.mp4');
/** The main track: the clip-job integration test's rock reference track, composed a little longer than the 40 s kept. */
const REFERENCE: ReferenceTrack = { genre: 'rock', id: 'rock-501', seed: 501, seconds: 42 };

interface Music {
  key: string;
  /** The first cell of its rows. */
  label: string;
  path: string;
}
const MUSIC: Music[] = [
  { key: 'rock-501', label: 'rock-501 (fluidsynth + FluidR3 GM)', path: join(DIR, 'music-rock-501-40s.m4a') },
  { key: 'kick', label: 'adversarial: strictly periodic kick', path: join(DIR, 'music-kick-120bpm-40s.m4a') },
];
const START_MS = 5_000;
const END_MS = 35_000;
const TRACK_START_MS = 3_000;

/** CPU seconds (user + system) of this process's finished, reaped children so far: /proc/self/stat cutime + cstime. */
async function childCpuS(): Promise<number> {
  const text = await readFile('/proc/self/stat', 'utf8');
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // After the command name: field 3 is state, so cutime (16) and cstime (17) are at 13 and 14 here.
  return (Number(fields[13]) + Number(fields[14])) / CLOCK_TICKS;
}
const CLOCK_TICKS = 100;

async function exists(path: string): Promise<boolean> {
  return stat(path).then((s) => s.size > 0, () => false);
}

async function ensureInputs(): Promise<void> {
  await mkdir(DIR, { recursive: true });
  if (!(await exists(SOURCE))) {
    process.stdout.write('[bench] making the 40 s 1080p source …\n');
    await run(FFMPEG, [
      '-v', 'error', '-y',
      '-f', 'lavfi', '-i', 'testsrc2=size=1920x1080:rate=25:duration=40',
      '-f', 'lavfi', '-i', 'color=c=white:size=180x180:rate=25:duration=40',
      '-f', 'lavfi', '-i', "aevalsrc='0.25*(0.6+0.4*sin(2*PI*t/7))*sin(2*PI*440*t)':s=48000:d=40",
      '-filter_complex', "[0:v][1:v]overlay=x='1300+300*sin(2*PI*t/8)':y=450[v]",
      '-map', '[v]', '-map', '2:a',
      '-c:v', 'libx264', '-preset', 'veryfast', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-ac', '1', '-movflags', '+faststart', SOURCE,
    ]);
  }
  const [reference, kick] = MUSIC;
  if (!(await exists(reference!.path))) {
    process.stdout.write(`[bench] rendering reference track ${REFERENCE.id} with fluidsynth …\n`);
    let fluid: Awaited<ReturnType<typeof provideFluidsynth>>;
    try {
      fluid = await provideFluidsynth();
    } catch (err) {
      throw new Error(
        `bench/render.ts renders its music track (${REFERENCE.id}) with fluidsynth and a General MIDI soundfont, as the tests do, ` +
          `and could not find them: ${(err as Error).message}`,
      );
    }
    // makeReferenceTrackWav reads the paths from the environment the test stack sets.
    process.env.FLUIDSYNTH_PATH = fluid.fluidsynth;
    process.env.SOUNDFONT_PATH = fluid.soundfont;
    const { wav, seconds } = await makeReferenceTrackWav(DIR, REFERENCE);
    if (seconds < 40) throw new Error(`${REFERENCE.id} rendered ${seconds.toFixed(2)} s, shorter than the 40 s the bench needs`);
    await run(FFMPEG, ['-v', 'error', '-y', '-i', wav, '-t', '40', '-ac', '2', '-c:a', 'aac', '-b:a', '192k', '-movflags', '+faststart', reference!.path]);
    await rm(wav, { force: true });
  }
  if (!(await exists(kick!.path))) {
    process.stdout.write('[bench] making the 40 s strictly periodic kick track …\n');
    const beat = '0.12*sin(2*PI*220*t)+0.1*sin(2*PI*330*t)+0.6*sin(2*PI*60*t)*exp(-14*mod(t,0.5))';
    await run(FFMPEG, ['-v', 'error', '-y', '-f', 'lavfi', '-i', `aevalsrc='${beat}|${beat}':s=44100:d=40`, '-c:a', 'aac', '-b:a', '192k', '-movflags', '+faststart', kick!.path]);
  }
}

function plan(keyframes: Array<{ timeMs: number; centerX: number }>, music: string, out: string): ClipRenderPlan {
  return {
    source: { path: SOURCE, demuxer: 'mov', hasAudio: true, width: 1920, height: 1080 },
    startMs: START_MS,
    endMs: END_MS,
    vertical: { keyframes },
    music: { path: music, demuxer: 'mov', trackStartMs: TRACK_START_MS },
    output: { path: out },
  };
}

/** The baseline: one command, static centre crop, single-pass loudnorm. */
function baselineArgs(music: string, out: string): string[] {
  const geo = clipGeometry(plan([], music, out));
  const len = (END_MS - START_MS) / 1000;
  const fmt = 'aformat=sample_fmts=fltp:sample_rates=48000:channel_layouts=stereo';
  const graph = [
    `[0:v:0]crop=${geo.crop!.width}:${geo.crop!.height},scale=${geo.width}:${geo.height},setsar=1,fade=t=in:st=0:d=0.25,fade=t=out:st=${len - 0.25}:d=0.25,format=yuv420p[v]`,
    `[0:a:0]${fmt},volume=-12dB[p]`,
    `[1:a:0]${fmt}[m]`,
    `[p][m]amix=inputs=2:duration=longest:dropout_transition=0:normalize=0,afade=t=in:st=0:d=0.25,afade=t=out:st=${len - 0.25}:d=0.25,loudnorm=I=-14:TP=-1:LRA=11,aresample=48000[a]`,
  ].join(';');
  return [
    '-nostdin', '-hide_banner', '-nostats', '-v', 'error', '-y',
    '-ss', String(START_MS / 1000), '-t', String(len), '-i', SOURCE,
    '-ss', String(TRACK_START_MS / 1000), '-t', String(len), '-i', music,
    '-filter_complex', graph, '-map', '[v]', '-map', '[a]',
    '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '20', '-pix_fmt', 'yuv420p',
    '-c:a', 'aac', '-b:a', '192k', '-ar', '48000', '-ac', '2', '-t', String(len), '-movflags', '+faststart', out,
  ];
}

async function loudness(path: string): Promise<{ integrated: number; truePeak: number }> {
  const r = await exec(FFMPEG, ['-nostats', '-hide_banner', '-i', path, '-map', '0:a:0', '-filter:a', 'ebur128=peak=true', '-f', 'null', '-']);
  const summary = r.stderr.slice(r.stderr.lastIndexOf('Summary:'));
  return {
    integrated: Number(/I:\s+(-?[\d.]+) LUFS/.exec(summary)?.[1] ?? NaN),
    truePeak: Number(/True peak:\s+Peak:\s+(-?[\d.]+) dBFS/.exec(summary)?.[1] ?? NaN),
  };
}

/** The A/V sync of an output as checkClipRender measures it (the same functions, the track at TRACK_START_MS). */
async function sync(path: string, track: string): Promise<string> {
  const tools = { ffmpegPath: FFMPEG, ffprobePath: FFPROBE, timeoutMs: 600_000 };
  const render = await probeRender(path, tools);
  const music = await musicDeviationMs(path, { path: track, demuxer: 'mov', expectedTrackStartMs: TRACK_START_MS }, { ...tools, render });
  const verdict = judgeRender({ streams: render.streams, musicDeviationMs: music.deviationMs });
  const lengthDelta = Math.abs(render.streams.formatDurationMs - (END_MS - START_MS));
  const lengthOk = lengthDelta <= RENDER_SYNC_TOLERANCE_MS;
  // Combined as checkClipRender combines them (its reported deviation_ms).
  const deviation = Math.max(verdict.deviationMs, lengthOk ? 0 : lengthDelta);
  const ok = verdict.ok && lengthOk;
  const ms = (x: number) => `${(Math.round(x * 10) / 10).toFixed(1)} ms`;
  const musicText = music.deviationMs === null ? `music not measured (z = ${music.confidence.toFixed(1)})` : `music ${ms(music.deviationMs)} (z = ${music.confidence.toFixed(1)})`;
  return `**${ms(deviation)}** ${ok ? 'ok' : 'FAILS'} (streams ${ms(streamDeviationMs(render.streams))}, ${musicText}, length Δ ${ms(lengthDelta)})`;
}

async function describe(path: string): Promise<string> {
  const { stdout } = await run(FFPROBE, ['-v', 'error', '-show_entries', 'stream=codec_type,width,height,duration', '-of', 'json', path]);
  const streams = (JSON.parse(stdout) as { streams: Array<{ codec_type: string; width?: number; height?: number; duration?: string }> }).streams;
  const v = streams.find((s) => s.codec_type === 'video');
  const a = streams.find((s) => s.codec_type === 'audio');
  return `${v?.width}×${v?.height}, video ${Number(v?.duration).toFixed(3)} s, audio ${Number(a?.duration).toFixed(3)} s`;
}

async function main(): Promise<void> {
  await ensureInputs();
  const out = (contender: 'moviola' | 'baseline', m: Music) => join(DIR, `${contender}-${m.key}.mp4`);
  const analysis: number[] = [];
  const analysisCpu: number[] = [];
  const times = new Map(MUSIC.map((m) => [m.key, { moviola: [] as number[], baseline: [] as number[], cpuMoviola: [] as number[], cpuBaseline: [] as number[] }]));
  let keyframes: Array<{ timeMs: number; centerX: number }> = [];
  for (let r = 0; r < rounds; r++) {
    let t = performance.now();
    let c = await childCpuS();
    keyframes = await motionCentreKeyframes(SOURCE, { ffmpegPath: FFMPEG, demuxer: 'mov', startMs: START_MS, endMs: END_MS, timeoutMs: 600_000, videoCodec: 'h264' });
    analysis.push(performance.now() - t);
    analysisCpu.push((await childCpuS()) - c);
    const parts = [`analysis ${(analysis.at(-1)! / 1000).toFixed(2)} s (${analysisCpu.at(-1)!.toFixed(1)} CPU-s)`];
    for (const m of MUSIC) {
      const tm = times.get(m.key)!;
      t = performance.now();
      c = await childCpuS();
      await renderClip(plan(keyframes, m.path, out('moviola', m)), { ffmpegPath: FFMPEG, timeoutMs: 600_000 });
      tm.moviola.push(performance.now() - t);
      tm.cpuMoviola.push((await childCpuS()) - c);
      c = await childCpuS();
      const b = await exec(FFMPEG, baselineArgs(m.path, out('baseline', m)));
      if (b.code !== 0) throw new Error(`baseline ffmpeg failed: ${b.stderr.slice(-1000)}`);
      tm.baseline.push(b.ms);
      tm.cpuBaseline.push((await childCpuS()) - c);
      parts.push(
        `${m.key}: moviola ${(tm.moviola.at(-1)! / 1000).toFixed(2)} s (${tm.cpuMoviola.at(-1)!.toFixed(1)} CPU-s), ` +
          `baseline ${(tm.baseline.at(-1)! / 1000).toFixed(2)} s (${tm.cpuBaseline.at(-1)!.toFixed(1)} CPU-s)`,
      );
    }
    process.stdout.write(`[bench] round ${r + 1}/${rounds}: ${parts.join('; ')}\n`);
  }
  const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
  const cs = (v: number[]) => `${median(v).toFixed(1)} s`;
  const line = (cells: Array<string | number>) => `| ${cells.join(' | ')} |`;
  console.log(`\n## 30 s vertical variant with music, 1080p source (${rounds} round${rounds > 1 ? 's' : ''}, median wall time)\n`);
  console.log(line(['music', 'contender', 'wall (median)', 'ffmpeg CPU (median)', 'integrated', 'true peak', `A/V sync deviation (tolerance ${RENDER_SYNC_TOLERANCE_MS} ms)`, 'output']));
  console.log(line(['---', '---', '---:', '---:', '---:', '---:', '---', '---']));
  for (const m of MUSIC) {
    const tm = times.get(m.key)!;
    const [mo, bo] = [out('moviola', m), out('baseline', m)];
    const [ml, bl] = [await loudness(mo), await loudness(bo)];
    const [moviolaSync, baselineSync] = [await sync(mo, m.path), await sync(bo, m.path)];
    console.log(line([m.label, 'baseline: one ffmpeg, centre crop, single-pass loudnorm', s(median(tm.baseline)), cs(tm.cpuBaseline), `${bl.integrated} LUFS`, `${bl.truePeak} dBTP`, baselineSync, await describe(bo)]));
    console.log(line([m.label, 'moviola: renderClip (2 passes), crop following the motion', s(median(tm.moviola)), cs(tm.cpuMoviola), `${ml.integrated} LUFS`, `${ml.truePeak} dBTP`, moviolaSync, await describe(mo)]));
    console.log(line([m.label, '**moviola / baseline**', `**${(median(tm.moviola) / median(tm.baseline)).toFixed(2)}**`, `${(median(tm.cpuMoviola) / median(tm.cpuBaseline)).toFixed(2)}`, '', '', '', '']));
  }
  const centres = keyframes.map((k) => k.centerX);
  console.log(
    `\nmotionCentreKeyframes over the 30 s window (not in the ratios; H.264 non-reference pictures skipped): ${s(median(analysis))} wall, ${cs(analysisCpu)} CPU; ` +
      `${keyframes.length} keyframes, centre ${Math.min(...centres).toFixed(3)}–${Math.max(...centres).toFixed(3)}`,
  );
}

await main();
