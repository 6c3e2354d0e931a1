/**
 * Test edits for the video analysers (issue 7): videos cut together from distinct ffmpeg sources
 * (`testsrc2`, `smptebars`, `mandelbrot`, `cellauto`, `life`, `gradients`, stills held or moved
 * with `zoompan`, …) at known frames, with dissolves and fades through black, one-frame white
 * flashes and static shots, muxed with a synthesized drum track. Every transition is placed on a
 * frame, so the truth is exact: a hard cut at frame F (the first frame of the new shot) is at
 * F / fps s.
 *
 * One ffmpeg run per edit: every shot is a source filter inside the filter graph (no input files
 * but the audio), trimmed to its frame count; shots are joined left to right by `concat` (hard
 * cut) or `xfade` (dissolve, fade through black); the video is H.264 (x264 `veryfast`, B-frames as
 * in real uploads) + AAC in MP4.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { drumTrack, wavBytes } from './audio-truth.ts';

const run = promisify(execFile);

/** Where a shot's pictures come from. `graph` is a source filter (`mandelbrot`, `cellauto=rule=110`, …); size and rate are added. */
export type ShotSource =
  | { kind: 'lavfi'; graph: string }
  /** Frame `at` (default 25) of the source, held for the whole shot (`zoom`: false) or slowly zoomed into with `zoompan`. */
  | { kind: 'still'; graph: string; at?: number; zoom?: boolean }
  /** Real footage: a video file from `startS` seconds (the `movie` source filter; its pictures resampled to the edit's rate). */
  | { kind: 'movie'; path: string; startS: number };

export interface EditShot {
  source: ShotSource;
  /** Length in frames (including the part under a transition into the next shot). */
  frames: number;
  /**
   * How this shot begins (ignored for the first): a hard cut (default); a dissolve (`xfade`) over
   * `transitionFrames` (the shots overlap that long); or a fade through black: the previous shot
   * fades out over its last ⌈transitionFrames / 2⌉ frames, this one fades in over the rest (the
   * `fade` filter, linear), black meeting black where they join.
   */
  transition?: 'cut' | 'dissolve' | 'fadeblack';
  /** Default: fps (1 s). */
  transitionFrames?: number;
  /** A one-frame white flash at this frame of the shot. */
  flashAt?: number;
  /** Extra filters after the source (e.g. `hue=h=120`). */
  filters?: string;
  /** The picture never changes (default: true for a held still, false otherwise). */
  static?: boolean;
}

export interface EditSpec {
  name: string;
  shots: EditShot[];
  /** Default 25. */
  fps?: number;
  /** Default 640×360. */
  width?: number;
  height?: number;
  /** Drum track at this tempo (default 112 BPM), or no audio stream at all with `false`. */
  audio?: false | { bpm?: number; seed?: number; /** Silence the track in [fromMs, toMs): its end is a loudness jump (an entry). */ gapMs?: [number, number] };
}

export interface TimeSpan {
  startMs: number;
  endMs: number;
}

export interface BuiltEdit {
  name: string;
  path: string;
  fps: number;
  width: number;
  height: number;
  frames: number;
  durationMs: number;
  /** Hard cuts (ms): the time of the first frame of each new shot. */
  cutsMs: number[];
  /** The same as frame numbers. */
  cutFrames: number[];
  /** Dissolves and fades through black (from the first frame of the transition to the first frame after it). */
  gradual: TimeSpan[];
  /** One-frame flashes (ms). */
  flashesMs: number[];
  /** Shots whose picture does not change. */
  staticShots: TimeSpan[];
  hasAudio: boolean;
  /** Beat times of the drum track (ms), and the entry after its gap. */
  beatsMs: number[];
  entryMs: number | null;
}

const FFMPEG = () => process.env.FFMPEG_PATH ?? 'ffmpeg';
const FFPROBE = () => process.env.FFPROBE_PATH ?? 'ffprobe';

function withGeometry(graph: string, width: number, height: number, fps: number): string {
  return `${graph}${graph.includes('=') ? ':' : '='}size=${width}x${height}:rate=${fps}`;
}

/** The filter chain of one shot, ending in `[label]`; `fades`: frames faded in from / out to black. Pure. */
export function shotChain(shot: EditShot, label: string, width: number, height: number, fps: number, fades: { in: number; out: number } = { in: 0, out: 0 }): string {
  const n = shot.frames;
  const src = shot.source;
  let chain: string;
  if (src.kind === 'lavfi') {
    chain = `${withGeometry(src.graph, width, height, fps)},trim=end_frame=${n},setpts=PTS-STARTPTS`;
  } else if (src.kind === 'movie') {
    // Filter-graph escaping is layered; plain paths need none, so only those are accepted.
    if (!/^[\w./-]+$/.test(src.path)) throw new RangeError(`movie path ${JSON.stringify(src.path)} has characters a filter graph would need escaped`);
    chain = `movie=filename=${src.path}:seek_point=${src.startS},setpts=PTS-STARTPTS,fps=${fps},trim=end_frame=${n},setpts=PTS-STARTPTS`;
  } else {
    const at = src.at ?? 25;
    const still = `${withGeometry(src.graph, width, height, fps)},trim=start_frame=${at}:end_frame=${at + 1},setpts=PTS-STARTPTS`;
    chain = src.zoom
      ? // zoompan emits d − 1 frames for a one-frame input (ffmpeg 5.1): ask for one more, trim to n.
        `${still},zoompan=z='min(zoom+0.0025\\,1.8)':x='iw/2-(iw/zoom/2)':y='ih/2-(ih/zoom/2)':d=${n + 1}:s=${width}x${height}:fps=${fps},trim=end_frame=${n}`
      : `${still},loop=loop=${n - 1}:size=1:start=0,setpts=N/${fps}/TB`;
  }
  if (shot.filters) chain += `,${shot.filters}`;
  chain += `,fps=${fps},scale=${width}:${height},setsar=1,format=yuv420p,settb=1/${fps},setpts=N`;
  if (fades.in > 0) chain += `,fade=t=in:s=0:n=${fades.in}`;
  if (fades.out > 0) chain += `,fade=t=out:s=${n - fades.out}:n=${fades.out}`;
  if (shot.flashAt !== undefined) chain += `,drawbox=x=0:y=0:w=iw:h=ih:color=white:t=fill:enable='eq(n\\,${shot.flashAt})'`;
  return `${chain}[${label}]`;
}

/** The whole filter graph and the truth of an edit (no ffmpeg run). Pure. */
export function planEdit(spec: EditSpec): {
  graph: string;
  frames: number;
  cutFrames: number[];
  gradualFrames: Array<[number, number]>;
  flashFrames: number[];
  staticFrames: Array<[number, number]>;
} {
  const fps = spec.fps ?? 25;
  const width = spec.width ?? 640;
  const height = spec.height ?? 360;
  if (spec.shots.length === 0) throw new RangeError('an edit needs at least one shot');
  const parts: string[] = [];
  const cutFrames: number[] = [];
  const gradualFrames: Array<[number, number]> = [];
  const flashFrames: number[] = [];
  const staticFrames: Array<[number, number]> = [];
  let acc = 0;
  let accLabel = '';
  const fadeOf = (shot: EditShot | undefined) => {
    if (!shot || shot.transition !== 'fadeblack') return { in: 0, out: 0 };
    const d = shot.transitionFrames ?? fps;
    return { out: Math.ceil(d / 2), in: d - Math.ceil(d / 2) };
  };
  const overlapOf = (shot: EditShot | undefined) => (shot && shot.transition === 'dissolve' ? (shot.transitionFrames ?? fps) : 0);
  spec.shots.forEach((shot, i) => {
    if (!Number.isInteger(shot.frames) || shot.frames < 2) throw new RangeError(`shot ${i} needs at least 2 frames`);
    const fadeIn = i > 0 ? fadeOf(shot).in : 0;
    const fadeOut = fadeOf(spec.shots[i + 1]).out;
    if (fadeIn + fadeOut >= shot.frames) throw new RangeError(`shot ${i}: its fades are longer than the shot`);
    parts.push(shotChain(shot, `s${i}`, width, height, fps, { in: fadeIn, out: fadeOut }));
    let start: number;
    if (i === 0) {
      start = 0;
      accLabel = 's0';
      acc = shot.frames;
    } else {
      const kind = shot.transition ?? 'cut';
      const out = `a${i}`;
      if (kind === 'dissolve') {
        const d = overlapOf(shot);
        if (d >= shot.frames || d >= acc) throw new RangeError(`shot ${i}: the transition is longer than a shot`);
        start = acc - d;
        gradualFrames.push([acc - d, acc]);
        parts.push(`[${accLabel}][s${i}]xfade=transition=fade:duration=${(d / fps).toFixed(4)}:offset=${((acc - d) / fps).toFixed(4)},settb=1/${fps},setpts=N[${out}]`);
        acc += shot.frames - d;
      } else {
        start = acc;
        if (kind === 'cut') cutFrames.push(acc);
        else gradualFrames.push([acc - fadeOf(shot).out, acc + fadeIn]);
        parts.push(`[${accLabel}][s${i}]concat=n=2:v=1:a=0,settb=1/${fps},setpts=N[${out}]`);
        acc += shot.frames;
      }
      accLabel = out;
    }
    if (shot.flashAt !== undefined) flashFrames.push(start + shot.flashAt);
    if (shot.static ?? (shot.source.kind === 'still' && !shot.source.zoom)) {
      const lead = Math.max(i > 0 ? overlapOf(shot) : 0, fadeIn);
      const tail = Math.max(overlapOf(spec.shots[i + 1]), fadeOut);
      staticFrames.push([start + lead, start + shot.frames - tail]);
    }
  });
  parts.push(`[${accLabel}]null[v]`);
  return { graph: parts.join(';'), frames: acc, cutFrames, gradualFrames, flashFrames, staticFrames };
}

/**
 * Renders `spec` into `dir/<name>.mp4` and returns it with its truth. With `reuseExisting`, an
 * existing file of that name is taken as this edit's rendering (edits render deterministically:
 * the random sources are seeded and x264 is deterministic) and only the truth is computed.
 */
export async function buildEdit(dir: string, spec: EditSpec, options: { reuseExisting?: boolean } = {}): Promise<BuiltEdit> {
  const fps = spec.fps ?? 25;
  const width = spec.width ?? 640;
  const height = spec.height ?? 360;
  const plan = planEdit(spec);
  const durationS = plan.frames / fps;
  const path = join(dir, `${spec.name}.mp4`);
  const ms = (frame: number) => Math.round((frame * 1000) / fps);
  const args = ['-v', 'error', '-y', '-nostdin'];
  let beatsMs: number[] = [];
  let entryMs: number | null = null;
  const hasAudio = spec.audio !== false;
  if (spec.audio !== false) {
    const bpm = spec.audio?.bpm ?? 112;
    const bars = Math.ceil((durationS * bpm) / 240) + 1;
    const track = drumTrack({ sections: [{ bpm, bars }], sampleRate: 44_100, seed: spec.audio?.seed ?? 7 });
    const gap = spec.audio?.gapMs;
    if (gap) {
      const from = Math.round((gap[0] / 1000) * track.sampleRate);
      const to = Math.min(track.samples.length, Math.round((gap[1] / 1000) * track.sampleRate));
      track.samples.fill(0, from, to);
      entryMs = gap[1];
    }
    beatsMs = track.beatsS.map((s) => Math.round(s * 1000)).filter((t) => t < durationS * 1000 && !(gap && t >= gap[0] && t < gap[1]));
    const wav = join(dir, `${spec.name}.wav`);
    args.push('-i', wav);
    if (!(options.reuseExisting && existsSync(path))) await writeFile(wav, wavBytes(track.samples, track.sampleRate));
  }
  args.push('-filter_complex', plan.graph, '-map', '[v]');
  if (hasAudio) args.push('-map', '0:a', '-c:a', 'aac', '-b:a', '128k', '-ac', '1');
  args.push(
    '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '23', '-pix_fmt', 'yuv420p',
    '-t', durationS.toFixed(4), '-movflags', '+faststart', path,
  );
  if (!(options.reuseExisting && existsSync(path))) {
    await run(FFMPEG(), args, { maxBuffer: 16 * 1024 * 1024 });
    // The truth holds only if every shot got exactly its frames: check the total from the MP4 header.
    const { stdout } = await run(FFPROBE(), ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream=nb_frames', '-of', 'csv=p=0', path]);
    if (Number(stdout.trim()) !== plan.frames) throw new Error(`edit ${spec.name}: ${stdout.trim()} frames rendered, ${plan.frames} planned`);
  }
  return {
    name: spec.name,
    path,
    fps,
    width,
    height,
    frames: plan.frames,
    durationMs: ms(plan.frames),
    cutsMs: plan.cutFrames.map(ms),
    cutFrames: plan.cutFrames,
    gradual: plan.gradualFrames.map(([a, b]) => ({ startMs: ms(a), endMs: ms(b) })),
    flashesMs: plan.flashFrames.map(ms),
    staticShots: plan.staticFrames.map(([a, b]) => ({ startMs: ms(a), endMs: ms(b) })),
    hasAudio,
    beatsMs,
    entryMs,
  };
}

const lavfi = (graph: string): ShotSource => ({ kind: 'lavfi', graph });
const still = (graph: string, zoom = false, at = 25): ShotSource => ({ kind: 'still', graph, zoom, at });

/** The random sources (`life`, `cellauto`, `sierpinski`, `gradients`) seeded, so that an edit renders the same every time. */
function seeded(graph: string, seed: number): string {
  const name = graph.split('=')[0];
  const key = name === 'cellauto' ? 'random_seed' : ['life', 'sierpinski', 'gradients'].includes(name) ? 'seed' : null;
  if (!key) return graph;
  const rest = graph.includes('=') ? graph.slice(graph.indexOf('=') + 1).split(':').filter((kv) => !kv.startsWith(`${key}=`)) : [];
  return `${name}=${[...rest, `${key}=${seed}`].join(':')}`;
}

/** Seeds every random source of `shots` (seed + shot index). */
function seedShots(shots: EditShot[], seed: number): EditShot[] {
  return shots.map((shot, i) => (shot.source.kind === 'movie' ? shot : { ...shot, source: { ...shot.source, graph: seeded(shot.source.graph, seed * 100 + i) } }));
}

const DEEP_MANDELBROT = 'mandelbrot=start_x=-0.743643887037151:start_y=0.131825904205330:start_scale=0.01:outer=normalized_iteration_count';
const LIFE_GREEN = 'life=mold=10:ratio=0.1:death_color=#C83232:life_color=#00ff00';
const LIFE_BLUE = 'life=mold=25:ratio=0.3:death_color=#202080:life_color=#ffff40';

/**
 * The mixed edit (~50 s, 25 fps): 20 hard cuts between distinct sources at irregular frame counts
 * (so cuts fall at every phase of a 10 fps sampling grid), a 0.8 s dissolve, a 1 s fade through
 * black, a one-frame white flash inside a moving shot, two static shots (colour bars; a held
 * still) and a still moved by zoompan; a drum track with a 2 s gap whose end is an entry.
 */
export function mixedEdit(seed = 1): EditSpec {
  return {
    name: seed === 1 ? 'mixed' : `mixed-${seed}`,
    audio: { bpm: 112, gapMs: [50_800, 52_800] },
    shots: seedShots([
      { source: lavfi('testsrc2'), frames: 87 },
      { source: lavfi('mandelbrot'), frames: 63 },
      { source: lavfi('smptebars'), frames: 101, static: true },
      { source: lavfi('cellauto=rule=30'), frames: 71 },
      { source: still(DEEP_MANDELBROT, true, 10), frames: 92 },
      { source: lavfi(LIFE_GREEN), frames: 58 },
      { source: lavfi('gradients=c0=0x3050ff:c1=0xff8020:nb_colors=2:speed=0.02'), frames: 81 },
      { source: lavfi('sierpinski'), frames: 66, transition: 'dissolve', transitionFrames: 20 },
      { source: lavfi('testsrc'), frames: 96, flashAt: 47 },
      { source: lavfi('rgbtestsrc'), frames: 52 },
      { source: lavfi('mandelbrot=start_x=-0.75:start_y=0.1:start_scale=0.3:end_scale=0.05'), frames: 77 },
      { source: lavfi('cellauto=rule=110:random_fill_ratio=0.3'), frames: 61, transition: 'fadeblack', transitionFrames: 25 },
      { source: still('testsrc2'), frames: 104 },
      { source: lavfi('pal100bars'), frames: 44, static: true },
      { source: lavfi(LIFE_BLUE), frames: 73 },
      { source: lavfi('yuvtestsrc'), frames: 50 },
      { source: lavfi('gradients=seed=7:nb_colors=5:type=radial:speed=0.05'), frames: 69 },
      { source: lavfi('testsrc2'), frames: 57, filters: 'hue=h=150' },
      { source: still('mandelbrot', true, 5), frames: 88 },
      { source: lavfi('sierpinski=type=triangle'), frames: 47 },
      { source: lavfi('smptehdbars'), frames: 39 },
      { source: lavfi('cellauto=rule=90'), frames: 66 },
      { source: lavfi('testsrc2'), frames: 75, filters: 'negate' },
    ], seed),
  };
}

/**
 * The fast edit (~26 s): 22 hard cuts, shots of 0.7–1.6 s, several between look-alikes (two
 * mandelbrot views, two gradients, testsrc and testsrc2, the same pattern recoloured), a flash
 * in a short shot; no transitions.
 */
export function fastEdit(seed = 1): EditSpec {
  return {
    name: seed === 1 ? 'fast' : `fast-${seed}`,
    audio: { bpm: 128, seed: 3 },
    shots: seedShots([
      { source: lavfi('mandelbrot'), frames: 31 },
      { source: lavfi('mandelbrot=start_x=-0.75:start_y=0.1:start_scale=0.3:end_scale=0.05'), frames: 27 },
      { source: lavfi('testsrc'), frames: 36 },
      { source: lavfi('testsrc2'), frames: 22 },
      { source: lavfi('gradients=c0=0x3050ff:c1=0xff8020:nb_colors=2:speed=0.02'), frames: 29 },
      { source: lavfi('gradients=seed=7:nb_colors=5:type=radial:speed=0.05'), frames: 34 },
      { source: lavfi('cellauto=rule=30'), frames: 25, flashAt: 12 },
      { source: lavfi('smptebars'), frames: 18 },
      { source: lavfi(LIFE_GREEN), frames: 38 },
      { source: lavfi('testsrc2'), frames: 26, filters: 'hue=h=90' },
      { source: lavfi('testsrc2'), frames: 33 },
      { source: still(DEEP_MANDELBROT, true, 3), frames: 24 },
      { source: lavfi('sierpinski'), frames: 30 },
      { source: lavfi('rgbtestsrc'), frames: 21 },
      { source: lavfi('yuvtestsrc'), frames: 28 },
      { source: lavfi(LIFE_BLUE), frames: 35 },
      { source: still('testsrc'), frames: 40 },
      { source: lavfi('pal75bars'), frames: 23 },
      { source: lavfi('mandelbrot=start_x=-0.743643887037151:start_y=0.131825904205330:start_scale=0.05'), frames: 32 },
      { source: lavfi('cellauto=rule=110:random_fill_ratio=0.3'), frames: 27 },
      { source: lavfi('smptehdbars'), frames: 19 },
      { source: lavfi('testsrc2'), frames: 37, filters: 'negate' },
      { source: lavfi('sierpinski=type=triangle'), frames: 29 },
    ], seed),
  };
}

/** A single-colour video (no cut, no motion), with audio unless told. */
export function singleColourEdit(options: { seconds?: number; audio?: boolean; colour?: string } = {}): EditSpec {
  return {
    name: `colour-${options.colour ?? 'slate'}`,
    audio: options.audio === false ? false : { bpm: 100 },
    shots: [{ source: lavfi(`color=c=${options.colour ?? '0x405060'}`), frames: Math.round((options.seconds ?? 5) * 25) }],
  };
}

/** A still picture held for the whole video (a still image sequence), without audio. */
export function stillEdit(seconds = 5): EditSpec {
  return { name: 'still', audio: false, shots: [{ source: still('testsrc2'), frames: Math.round(seconds * 25) }] };
}

export interface CutScore {
  matches: number;
  precision: number;
  recall: number;
  f1: number;
  /** Estimated − true (ms) of each match. */
  errorsMs: number[];
  /** True cuts without a match, and reported cuts without one. */
  missedMs: number[];
  falseMs: number[];
}

/**
 * Scene-cut precision / recall / F1 with one-to-one matching within ±toleranceMs (greedy in time
 * order, a maximum matching for events on a line, as mir_eval.util.match_events). Both empty: 1.
 */
export function scoreCuts(referenceMs: readonly number[], estimatedMs: readonly number[], toleranceMs: number): CutScore {
  const ref = [...referenceMs].sort((a, b) => a - b);
  const est = [...estimatedMs].sort((a, b) => a - b);
  const errorsMs: number[] = [];
  const hitRef = new Set<number>();
  const hitEst = new Set<number>();
  let i = 0;
  let j = 0;
  while (i < ref.length && j < est.length) {
    const d = est[j] - ref[i];
    if (Math.abs(d) <= toleranceMs + 1e-6) {
      errorsMs.push(d);
      hitRef.add(i++);
      hitEst.add(j++);
    } else if (d < 0) j++;
    else i++;
  }
  const matches = errorsMs.length;
  const precision = est.length === 0 ? (ref.length === 0 ? 1 : 0) : matches / est.length;
  const recall = ref.length === 0 ? (est.length === 0 ? 1 : 0) : matches / ref.length;
  const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
  return {
    matches,
    precision,
    recall,
    f1,
    errorsMs,
    missedMs: ref.filter((_, k) => !hitRef.has(k)),
    falseMs: est.filter((_, k) => !hitEst.has(k)),
  };
}
