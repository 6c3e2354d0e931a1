/**
 * One clip variant rendered from the original video (issue 8): an accurate cut, an optional 9:16
 * crop that follows a moving centre, the performance audio mixed with the music, fades, and the
 * loudness brought to a target (−14 LUFS integrated, −1 dBTP) in two passes:
 *
 *   pass 1 (audio only, `-f null`): the clip's audio graph ending in `loudnorm … print_format=json`
 *          — what the clip measures (integrated, true peak, range, gate threshold);
 *   pass 2: the same graph with `loudnorm` in linear mode fed those measurements — one constant
 *          gain when the true-peak target allows it; when the gain would push the peaks over the
 *          target, loudnorm itself falls back to its dynamic mode — then a peak limiter 0.5 dB
 *          under the true-peak target (at loudnorm's 192 kHz, where sample peaks are close to true
 *          peaks; the headroom absorbs the AAC encode's overshoot), plus the video, encoded
 *          H.264 + AAC in an MP4 with the index at the front (`+faststart`).
 *
 * Accurate cut: `-ss <start> -t <length>` are input options of the source (ffmpeg decodes from the
 * keyframe before `start` and drops what precedes it; timestamps then start at 0), and `-t
 * <length>` again on the output, so the video (padded with its last picture if the stream ends
 * early) and the audio (padded with silence, cut to the exact sample count) end together.
 *
 * Music: the track time heard at clip t = 0 is `trackStartMs`; when ≥ 0 the track is opened with
 * `-ss trackStartMs` (and `-t length`), when negative it is delayed by `-trackStartMs` (`adelay`).
 * With music the performance is ducked by 12 dB (a constant gain: the music carries the clip, the
 * performance stays audible under it); without performance audio the music plays alone; without
 * music the performance plays alone; with neither, a silent stereo track is generated (`anullsrc`)
 * so every clip has an audio stream, and loudness normalisation is skipped.
 *
 * Every input is opened like every upload (`inputArgs`: file protocol only, the probed demuxer
 * forced with `-f`). Builders are pure and return argument arrays; `renderClip` runs them through
 * `runFfmpeg` (progress, timeout, cancellation: aborting kills ffmpeg) and removes a partial
 * output when a pass fails or is cancelled.
 */
import { rm, stat } from 'node:fs/promises';
import {
  assertRenderable,
  globalArgs,
  inputArgs,
  monotonicProgress,
  outputArg,
  progressSpan,
  RenderError,
  runFfmpeg,
  seconds,
  type FfmpegRunOptions,
} from '../ingest/run-ffmpeg.ts';

/** A centre of the vertical crop at a time of the clip. */
export interface CropKeyframe {
  /** Relative to the clip start (ms). */
  timeMs: number;
  /** Horizontal centre of interest, 0–1 of the source width. */
  centerX: number;
}

export interface ClipRenderPlan {
  source: {
    path: string;
    /** The demuxer the probe detected (forced with `-f`). */
    demuxer: string;
    hasAudio: boolean;
    /** The picture size as displayed (after rotation). */
    width: number;
    height: number;
  };
  /** The cut [startMs, endMs) of the source. */
  startMs: number;
  endMs: number;
  /** A 9:16 crop whose centre follows the keyframes (piecewise linear between them, held before the first and after the last); null: the whole picture. */
  vertical: null | { keyframes: CropKeyframe[] };
  /** `trackStartMs`: the track time heard at clip t = 0; negative: the track starts -trackStartMs into the clip. */
  music: null | { path: string; demuxer: string; trackStartMs: number };
  /** Video and audio fade in and out, ms (default 250; 0: none; at most half the clip). */
  fadeMs?: number;
  /** Loudness target (default −14 LUFS integrated, −1 dBTP, LRA 11). */
  loudness?: { integratedLufs: number; truePeakDb: number; lra: number };
  /**
   * `maxHeight` bounds the picture's short side (default 1080): a landscape clip at most 1080 high,
   * a vertical one at most 1080×1920. Never upscaled beyond the source (or its crop).
   */
  output: { path: string; maxHeight?: number };
}

/** What loudnorm's first pass measured (its JSON). Silence measures −Infinity. */
export interface LoudnormMeasurement {
  inputI: number;
  inputTp: number;
  inputLra: number;
  inputThresh: number;
  targetOffset: number;
}

export const DEFAULT_FADE_MS = 250;
export const DEFAULT_LOUDNESS = { integratedLufs: -14, truePeakDb: -1, lra: 11 } as const;
export const DEFAULT_MAX_HEIGHT = 1080;
/** Gain of the performance audio under music. */
export const PERFORMANCE_DUCK_DB = -12;
export const AUDIO_SAMPLE_RATE = 48_000;
export const AUDIO_KBPS = 192;
export const X264_PRESET = 'veryfast';
export const X264_CRF = 20;
/** The peak limiter after loudnorm sits this far under the true-peak target (AAC adds a little overshoot). */
export const LIMITER_HEADROOM_DB = 0.5;
/** Below this the measured audio is treated as silence: no gain can normalise it. */
const SILENCE_LUFS = -70;

/** Share of the overall progress taken by pass 1 (percent). */
const MEASURE_SHARE = 30;

function evenDown(n: number): number {
  return Math.max(2, Math.floor(n / 2) * 2);
}

function evenRound(n: number): number {
  return Math.max(2, Math.round(n / 2) * 2);
}

/** A number for a filter argument: at most `digits` decimals, no exponent, no trailing zeros. */
function num(v: number, digits = 3): string {
  const s = v.toFixed(digits);
  const t = s.includes('.') ? s.replace(/\.?0+$/, '') : s;
  return t === '-0' || t === '' ? '0' : t;
}

/** The clip length (ms). Throws RangeError on a bad cut. Pure. */
export function clipLengthMs(plan: Pick<ClipRenderPlan, 'startMs' | 'endMs'>): number {
  const { startMs, endMs } = plan;
  if (!Number.isFinite(startMs) || !Number.isFinite(endMs) || startMs < 0 || endMs - startMs < 100) {
    throw new RangeError(`bad cut [${startMs}, ${endMs}): at least 100 ms from a start ≥ 0`);
  }
  return Math.round(endMs) - Math.round(startMs);
}

function fadeMsOf(plan: ClipRenderPlan): number {
  const fade = plan.fadeMs ?? DEFAULT_FADE_MS;
  if (!Number.isFinite(fade) || fade < 0) throw new RangeError(`fadeMs must be ≥ 0, got ${fade}`);
  return Math.min(Math.round(fade), Math.floor(clipLengthMs(plan) / 2));
}

function loudnessOf(plan: ClipRenderPlan): { integratedLufs: number; truePeakDb: number; lra: number } {
  const l = plan.loudness ?? DEFAULT_LOUDNESS;
  if (!(l.integratedLufs >= -70 && l.integratedLufs <= -5)) throw new RangeError(`integratedLufs must be in [-70, -5], got ${l.integratedLufs}`);
  if (!(l.truePeakDb >= -9 && l.truePeakDb <= 0)) throw new RangeError(`truePeakDb must be in [-9, 0], got ${l.truePeakDb}`);
  if (!(l.lra >= 1 && l.lra <= 50)) throw new RangeError(`lra must be in [1, 50], got ${l.lra}`);
  return l;
}

/** The geometry of the picture: the crop (vertical only) and the output size. */
export interface ClipGeometry {
  crop: null | { width: number; height: number; y: number };
  width: number;
  height: number;
}

/**
 * The crop and output size of a plan. Landscape: the whole picture, short side min(maxHeight,
 * source height), even. Vertical: the tallest 9:16 window of the source (the whole height, or the
 * whole width of a source narrower than 9:16), scaled to min(maxHeight × 16/9, crop height) high,
 * 9:16, even — 1080×1920 from a 2160-line source, 608×1080 from a 1080p one. Pure.
 */
export function clipGeometry(plan: Pick<ClipRenderPlan, 'source' | 'vertical' | 'output'>): ClipGeometry {
  const { width: W, height: H } = plan.source;
  if (!Number.isInteger(W) || !Number.isInteger(H) || W < 16 || H < 16) throw new RangeError(`bad source size ${W}×${H}`);
  const maxSide = plan.output.maxHeight ?? DEFAULT_MAX_HEIGHT;
  if (!Number.isInteger(maxSide) || maxSide < 16) throw new RangeError(`maxHeight must be an integer ≥ 16, got ${maxSide}`);
  if (!plan.vertical) {
    const height = evenDown(Math.min(maxSide, H));
    const width = Math.min(evenDown(W), evenRound((height * W) / H));
    return { crop: null, width, height };
  }
  let cropW: number;
  let cropH: number;
  if (W * 16 >= H * 9) {
    cropH = evenDown(H);
    cropW = Math.min(evenDown(W), evenRound((cropH * 9) / 16));
  } else {
    cropW = evenDown(W);
    cropH = Math.min(evenDown(H), evenRound((cropW * 16) / 9));
  }
  const y = Math.floor((H - cropH) / 2);
  const height = evenDown(Math.min((maxSide * 16) / 9, cropH));
  const width = Math.min(cropW, evenRound((height * 9) / 16));
  return { crop: { width: cropW, height: cropH, y }, width, height };
}

/**
 * The crop's left edge (pixels) as an ffmpeg expression in `t` (seconds of the clip): the
 * keyframes' centres turned into left edges clamped to [0, sourceWidth − cropWidth], joined
 * linearly — `x0 + Σ (x_{i+1} − x_i) · clip((t − t_i) / (t_{i+1} − t_i), 0, 1)` (flat, no nesting,
 * so hundreds of keyframes stay cheap), held before the first keyframe and after the last — and
 * clamped once more into the frame. No keyframe: the centre. Pure.
 */
export function cropXExpression(keyframes: readonly CropKeyframe[], sourceWidth: number, cropWidth: number): string {
  const maxX = sourceWidth - cropWidth;
  if (maxX < 0) throw new RangeError(`crop width ${cropWidth} exceeds the source width ${sourceWidth}`);
  const edge = (centerX: number) => Math.min(maxX, Math.max(0, centerX * sourceWidth - cropWidth / 2));
  const points = keyframes
    .filter((k) => Number.isFinite(k.timeMs) && Number.isFinite(k.centerX))
    .map((k) => ({ t: Math.max(0, Math.round(k.timeMs)) / 1000, x: Math.round(edge(k.centerX) * 10) / 10 }))
    .sort((a, b) => a.t - b.t)
    .filter((p, i, all) => i === 0 || p.t > all[i - 1]!.t);
  if (points.length === 0) return num(Math.round(maxX / 2), 1);
  let expr = num(points[0]!.x, 1);
  for (let i = 1; i < points.length; i++) {
    const a = points[i - 1]!;
    const b = points[i]!;
    const dx = b.x - a.x;
    if (Math.abs(dx) < 0.05) continue;
    expr += `${dx < 0 ? '-' : '+'}${num(Math.abs(dx), 1)}*clip((t-${num(a.t)})/${num(b.t - a.t)},0,1)`;
  }
  return `clip(${expr},0,${maxX})`;
}

/** The video chain `[0:v:0] … [v]`: crop (vertical), scale, fades, padded with its last picture to the clip's end. Pure. */
export function clipVideoGraph(plan: ClipRenderPlan): string {
  const lengthMs = clipLengthMs(plan);
  const fade = fadeMsOf(plan);
  const geo = clipGeometry(plan);
  const filters: string[] = [];
  if (geo.crop) {
    const x = cropXExpression(plan.vertical?.keyframes ?? [], plan.source.width, geo.crop.width);
    filters.push(`crop=w=${geo.crop.width}:h=${geo.crop.height}:x='${x}':y=${geo.crop.y}`);
  }
  filters.push(`scale=${geo.width}:${geo.height}`, 'setsar=1');
  filters.push(`tpad=stop_mode=clone:stop_duration=${seconds(lengthMs)}`);
  if (fade > 0) {
    filters.push(`fade=t=in:st=0:d=${seconds(fade)}`, `fade=t=out:st=${seconds(lengthMs - fade)}:d=${seconds(fade)}`);
  }
  filters.push('format=yuv420p');
  return `[0:v:0]${filters.join(',')}[v]`;
}

/** Whether the clip has any audio to normalise (performance or music). Pure. */
export function clipHasAudio(plan: Pick<ClipRenderPlan, 'source' | 'music'>): boolean {
  return plan.source.hasAudio || plan.music !== null;
}

const AUDIO_FORMAT = `aformat=sample_fmts=fltp:sample_rates=${AUDIO_SAMPLE_RATE}:channel_layouts=stereo`;

/**
 * The audio chain ending in `[a]`: the mix (see the module comment), exactly the clip's length in
 * samples, faded in and out, then `tail` (loudnorm and what follows it). Pure.
 */
function clipAudioGraph(plan: ClipRenderPlan, tail: readonly string[]): string {
  const lengthMs = clipLengthMs(plan);
  const fade = fadeMsOf(plan);
  const samples = Math.round((lengthMs * AUDIO_SAMPLE_RATE) / 1000);
  const music = plan.music;
  if (music && -music.trackStartMs >= lengthMs) throw new RangeError(`the music starts at ${-music.trackStartMs} ms, after the clip's end (${lengthMs} ms)`);
  const chains: string[] = [];
  let mixed: string;
  if (plan.source.hasAudio && music) {
    chains.push(`[0:a:0]${AUDIO_FORMAT},volume=${PERFORMANCE_DUCK_DB}dB[perf]`);
    chains.push(`[1:a:0]${musicFilters(music.trackStartMs).join(',')}[music]`);
    mixed = '[perf][music]amix=inputs=2:duration=longest:dropout_transition=0:normalize=0,';
  } else if (music) {
    mixed = `[1:a:0]${musicFilters(music.trackStartMs).join(',')},`;
  } else if (plan.source.hasAudio) {
    mixed = `[0:a:0]${AUDIO_FORMAT},`;
  } else {
    mixed = `anullsrc=r=${AUDIO_SAMPLE_RATE}:cl=stereo,${AUDIO_FORMAT},`;
  }
  const filters = [`apad=whole_len=${samples}`, `atrim=end_sample=${samples}`, 'asetpts=N/SR/TB'];
  if (fade > 0) {
    filters.push(`afade=t=in:st=0:d=${seconds(fade)}`, `afade=t=out:st=${seconds(lengthMs - fade)}:d=${seconds(fade)}`);
  }
  filters.push(...tail);
  chains.push(`${mixed}${filters.join(',')}[a]`);
  return chains.join(';');
}

function musicFilters(trackStartMs: number): string[] {
  const filters = [AUDIO_FORMAT];
  if (trackStartMs < 0) {
    const delay = Math.round(-trackStartMs);
    filters.push(`adelay=delays=${delay}:all=1`);
  }
  return filters;
}

function loudnormTarget(plan: ClipRenderPlan): string {
  const l = loudnessOf(plan);
  return `loudnorm=I=${num(l.integratedLufs, 1)}:TP=${num(l.truePeakDb, 1)}:LRA=${num(l.lra, 1)}`;
}

/** Whether a measurement can drive the linear pass: finite values, audio above silence. Pure. */
export function isNormalisable(m: LoudnormMeasurement): boolean {
  return [m.inputI, m.inputTp, m.inputLra, m.inputThresh, m.targetOffset].every(Number.isFinite) && m.inputI > SILENCE_LUFS;
}

/** The pass-2 audio tail: linear loudnorm with the measurements (none when `measured` is null or silence), then 48 kHz stereo. */
function renderAudioTail(plan: ClipRenderPlan, measured: LoudnormMeasurement | null): string[] {
  const tail: string[] = [];
  if (measured && isNormalisable(measured)) {
    const c = (v: number, lo: number, hi: number) => num(Math.min(hi, Math.max(lo, v)), 2);
    tail.push(
      `${loudnormTarget(plan)}:measured_I=${c(measured.inputI, -99, 0)}:measured_TP=${c(measured.inputTp, -99, 99)}` +
        `:measured_LRA=${c(measured.inputLra, 0, 99)}:measured_thresh=${c(measured.inputThresh, -99, 0)}` +
        `:offset=${c(measured.targetOffset, -99, 99)}:linear=true:print_format=none`,
      // loudnorm works (and outputs) at 192 kHz, where sample peaks are close to true peaks: a
      // limiter there keeps the peaks under the target when loudnorm had to leave linear mode.
      `alimiter=limit=${num(10 ** ((loudnessOf(plan).truePeakDb - LIMITER_HEADROOM_DB) / 20), 4)}:attack=5:release=50:level=false:latency=true`,
      `aresample=${AUDIO_SAMPLE_RATE}`,
    );
  }
  tail.push(AUDIO_FORMAT);
  return tail;
}

/**
 * The whole `-filter_complex` of the render (pass 2 without loudness normalisation when
 * `measured` is omitted): the video chain to `[v]`, the audio chain to `[a]`. Pure.
 */
export function clipFilterGraph(plan: ClipRenderPlan, measured: LoudnormMeasurement | null = null): string {
  return `${clipVideoGraph(plan)};${clipAudioGraph(plan, renderAudioTail(plan, measured))}`;
}

/** The inputs: the source cut with `-ss`/`-t` (input 0), then the music (input 1) when there is some. Pure. */
function clipInputArgs(plan: ClipRenderPlan): string[] {
  const lengthMs = clipLengthMs(plan);
  const args = inputArgs(plan.source, ['-ss', seconds(plan.startMs), '-t', seconds(lengthMs)]);
  const music = plan.music;
  if (music) {
    if (!Number.isFinite(music.trackStartMs)) throw new RangeError(`bad trackStartMs ${music.trackStartMs}`);
    const options = music.trackStartMs >= 0
      ? ['-ss', seconds(music.trackStartMs), '-t', seconds(lengthMs)]
      : ['-t', seconds(lengthMs + music.trackStartMs)];
    args.push(...inputArgs(music, options));
  }
  return args;
}

/**
 * Pass 1: the clip's audio graph ending in `loudnorm=I=…:TP=…:LRA=…:print_format=json`, nothing
 * written (`-f null -`); its stderr carries the measurement (hence `-v info`). Throws RangeError
 * when the clip has no audio to measure. Pure.
 */
export function measureLoudnessArgs(plan: ClipRenderPlan): string[] {
  if (!clipHasAudio(plan)) throw new RangeError('the clip has no audio to measure');
  return [
    ...globalArgs(),
    '-v', 'info',
    ...clipInputArgs(plan),
    '-filter_complex', clipAudioGraph(plan, [`${loudnormTarget(plan)}:print_format=json`]),
    '-map', '[a]',
    '-vn', '-sn', '-dn',
    '-f', 'null',
    '-',
  ];
}

/**
 * Pass 2: the whole graph (linear loudnorm fed `measured`; none when null: no audio, or silence),
 * H.264 (`-preset veryfast -crf 20`, yuv420p) + AAC 192k 48 kHz stereo, exactly the clip's length
 * (`-t`), no source metadata, `+faststart`. Pure.
 */
export function renderClipArgs(plan: ClipRenderPlan, measured: LoudnormMeasurement | null): string[] {
  const lengthMs = clipLengthMs(plan);
  if (!plan.output.path) throw new RangeError('output path is empty');
  return [
    ...globalArgs(),
    ...clipInputArgs(plan),
    '-filter_complex', clipFilterGraph(plan, measured),
    '-map', '[v]',
    '-map', '[a]',
    '-sn', '-dn',
    '-map_metadata', '-1',
    '-map_chapters', '-1',
    '-c:v', 'libx264', '-preset', X264_PRESET, '-crf', String(X264_CRF), '-pix_fmt', 'yuv420p',
    '-c:a', 'aac', '-b:a', `${AUDIO_KBPS}k`, '-ar', String(AUDIO_SAMPLE_RATE), '-ac', '2',
    '-t', seconds(lengthMs),
    '-movflags', '+faststart',
    '-f', 'mp4',
    outputArg(plan.output.path),
  ];
}

function parseLoudnormValue(raw: unknown, key: string): number {
  const s = String(raw ?? '').trim().toLowerCase();
  if (s === '-inf') return -Infinity;
  if (s === 'inf' || s === '+inf') return Infinity;
  const v = s === '' ? NaN : Number(s);
  if (Number.isNaN(v)) throw new Error(`loudnorm's measurement has no numeric ${key} (${JSON.stringify(raw)})`);
  return v;
}

/**
 * The measurement loudnorm prints (`print_format=json`) in ffmpeg's stderr: the last `{ … }`
 * block with an `input_i` key. Silence measures `-inf` (−Infinity here). Throws an Error naming
 * what is missing when there is no such block or a value is not a number. Pure.
 */
export function parseLoudnormMeasurement(stderr: string): LoudnormMeasurement {
  const blocks = stderr.match(/\{[^{}]*"input_i"[^{}]*\}/g);
  if (!blocks || blocks.length === 0) throw new Error('loudnorm printed no JSON measurement (is the filter graph ending in loudnorm with print_format=json, at log level info?)');
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(blocks[blocks.length - 1]!) as Record<string, unknown>;
  } catch (err) {
    throw new Error('loudnorm printed a measurement that is not valid JSON', { cause: err });
  }
  return {
    inputI: parseLoudnormValue(json.input_i, 'input_i'),
    inputTp: parseLoudnormValue(json.input_tp, 'input_tp'),
    inputLra: parseLoudnormValue(json.input_lra, 'input_lra'),
    inputThresh: parseLoudnormValue(json.input_thresh, 'input_thresh'),
    targetOffset: parseLoudnormValue(json.target_offset, 'target_offset'),
  };
}

export interface RenderClipOptions {
  ffmpegPath: string;
  /** Bounds each ffmpeg process (each pass), not the whole render. */
  timeoutMs: number;
  /** Aborting kills the running pass at once; the render rejects with RenderError CANCELLED. */
  signal?: AbortSignal;
  /** Percent done, 0–100, never decreasing: pass 1 0–30, pass 2 30–100; 100 once at the end. */
  onProgress?: (percent: number) => void;
}

/**
 * Renders `plan` to `plan.output.path` in two passes (see the module comment). Resolves with the
 * pass-1 measurement — null when there was nothing to normalise (no audio at all, or digital
 * silence). Rejects with RenderError (INVALID_MEDIA, PROCESSING_ERROR, CANCELLED); the output
 * file is removed whenever the render does not complete.
 */
export async function renderClip(plan: ClipRenderPlan, options: RenderClipOptions): Promise<{ measured: LoudnormMeasurement | null }> {
  assertRenderable(plan.source);
  if (plan.music) assertRenderable(plan.music);
  let lengthMs: number;
  try {
    lengthMs = clipLengthMs(plan);
    renderClipArgs(plan, null); // validates the whole plan before any ffmpeg run
  } catch (err) {
    throw new RenderError('PROCESSING_ERROR', `The clip plan is not valid: ${err instanceof Error ? err.message : String(err)}`, { retryable: false, cause: err });
  }
  const report = monotonicProgress(options.onProgress);
  const run = (onProgress: (percent: number) => void): FfmpegRunOptions => ({ ffmpegPath: options.ffmpegPath, timeoutMs: options.timeoutMs, signal: options.signal, onProgress });
  const outPath = plan.output.path;
  try {
    let measured: LoudnormMeasurement | null = null;
    if (clipHasAudio(plan)) {
      const pass1 = await runFfmpeg(measureLoudnessArgs(plan), lengthMs, run(progressSpan(report, 0, MEASURE_SHARE)));
      try {
        measured = parseLoudnormMeasurement(pass1.stderr);
      } catch (err) {
        throw new RenderError('PROCESSING_ERROR', err instanceof Error ? err.message : String(err), { stderrTail: pass1.stderr.slice(-2000), cause: err });
      }
      if (!isNormalisable(measured)) measured = null;
    }
    report(MEASURE_SHARE);
    await runFfmpeg(renderClipArgs(plan, measured), lengthMs, run(progressSpan(report, MEASURE_SHARE, 100)));
    const size = await stat(outPath).then((s) => s.size, () => 0);
    if (size === 0) throw new RenderError('PROCESSING_ERROR', 'ffmpeg wrote no clip');
    report(100);
    return { measured };
  } catch (err) {
    await rm(outPath, { force: true }).catch(() => {});
    throw err;
  }
}
