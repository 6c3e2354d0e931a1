/**
 * Scene cuts, for the asset's `scene` markers. One ffmpeg run decodes the video, scales it down
 * (cut detection needs no detail), lets `scdet` pass only the frames that start a new scene and
 * prints their metadata (`metadata=print:file=-`) on stdout; nothing is encoded (`-f null`).
 */
import { assertRenderable, globalArgs, inputArgs, RenderError, runFfmpeg, type FfmpegRunOptions, type SourceMedia } from './run-ffmpeg.ts';

/** scdet's threshold (percent of frame difference) above which a frame starts a scene. */
export const SCENE_THRESHOLD = 10;
/** Scenes shorter than this are merged into a neighbour. */
export const MIN_SCENE_MS = 1000;

/** The scene-detection command: scaled to 160 px wide, scdet, cut frames' metadata printed on stdout. Pure. */
export function sceneDetectArgs(source: SourceMedia, threshold = SCENE_THRESHOLD): string[] {
  if (!Number.isFinite(threshold) || threshold <= 0 || threshold >= 100) throw new RangeError(`threshold must be in (0, 100), got ${threshold}`);
  return [
    ...globalArgs(),
    ...inputArgs(source),
    '-map', '0:v:0',
    '-an', '-sn', '-dn',
    '-vf', `scale=160:-2:flags=fast_bilinear,scdet=threshold=${threshold}:sc_pass=1,metadata=mode=print:file=-`,
    '-f', 'null',
    '-',
  ];
}

/**
 * Cut times (ms) from the printed metadata: `lavfi.scd.time=<s>` (scdet) or, for other detectors
 * printed the same way, each frame header's `pts_time:<s>` (used only when no scdet line is present). Ascending, deduplicated (within 1 ms),
 * cuts at 0 or before dropped. Pure.
 */
export function parseSceneCuts(output: string): number[] {
  const lines = output.split(/\r?\n/);
  const scdet = lines.map((line) => /^\s*lavfi\.scd\.time=(-?[\d.]+)\s*$/.exec(line)?.[1]).filter((v) => v !== undefined);
  const values = scdet.length > 0 ? scdet : lines.map((line) => /\bpts_time:(-?[\d.]+)/.exec(line)?.[1]).filter((v) => v !== undefined);
  const times = values.map((v) => Math.round(Number(v) * 1000)).filter((ms) => Number.isFinite(ms) && ms > 0);
  times.sort((a, b) => a - b);
  const cuts: number[] = [];
  for (const t of times) if (cuts.length === 0 || t - cuts[cuts.length - 1]! > 1) cuts.push(t);
  return cuts;
}

/**
 * Contiguous scenes covering [0, durationMs) from cut times: a cut closer than `minSceneMs` to the
 * previous kept boundary or to the end is dropped (the short scene joins its neighbour). Pure.
 */
export function scenesFromCuts(cutsMs: readonly number[], durationMs: number, minSceneMs = MIN_SCENE_MS): Array<{ inMs: number; outMs: number }> {
  if (!Number.isFinite(durationMs) || durationMs <= 0) return [];
  const sorted = [...cutsMs].filter((t) => Number.isFinite(t)).sort((a, b) => a - b);
  const boundaries = [0];
  for (const cut of sorted) {
    if (cut - boundaries[boundaries.length - 1]! < minSceneMs) continue;
    if (durationMs - cut < minSceneMs) break;
    boundaries.push(Math.round(cut));
  }
  boundaries.push(Math.round(durationMs));
  return boundaries.slice(0, -1).map((inMs, i) => ({ inMs, outMs: boundaries[i + 1]! }));
}

/** The cut times (ms, ascending) of `source`'s video; [] for a single-shot video. */
export async function detectScenes(source: SourceMedia, options: FfmpegRunOptions): Promise<number[]> {
  assertRenderable(source);
  if (!source.hasVideo) throw new RenderError('INVALID_MEDIA', 'The file has no video stream', { retryable: false });
  const { stdout } = await runFfmpeg(sceneDetectArgs(source), source.durationMs, options);
  return parseSceneCuts(stdout.toString('utf8'));
}
