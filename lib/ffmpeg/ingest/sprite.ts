/**
 * The thumbnail sprite (timeline scrubbing previews): one JPEG of up to 10×10 tiles, 160 px wide
 * each, tile k showing the frame at k × intervalMs. One ffmpeg run: `fps` keeps one frame per
 * interval, `scale` makes the tile, `tile` lays them out row by row.
 */
import { readFile } from 'node:fs/promises';
import { jpegSize } from './image-size.ts';
import { assertRenderable, globalArgs, inputArgs, outputArg, RenderError, runFfmpeg, type FfmpegRunOptions, type SourceMedia } from './run-ffmpeg.ts';

export const SPRITE_COLUMNS = 10;
export const SPRITE_MAX_ROWS = 10;
export const SPRITE_TILE_WIDTH = 160;
/** Shortest interval between tiles: a short clip gets fewer tiles, not repeated frames. */
export const SPRITE_MIN_INTERVAL_MS = 1000;

export interface SpriteLayout {
  columns: number;
  rows: number;
  /** Time between two tiles; tile k shows the frame at k × intervalMs. */
  intervalMs: number;
  tileWidth: number;
}

export interface SpriteResult extends SpriteLayout {
  tileHeight: number;
  /** The sprite's size (columns × tileWidth by rows × tileHeight). */
  width: number;
  height: number;
}

/**
 * The layout for a duration: at most 10×10 tiles, at least SPRITE_MIN_INTERVAL_MS apart (rounded
 * up to 100 ms); fewer columns only when there are fewer than 10 tiles, as few rows as needed. Pure.
 */
export function spriteLayout(durationMs: number): SpriteLayout {
  const maxTiles = SPRITE_COLUMNS * SPRITE_MAX_ROWS;
  const duration = Number.isFinite(durationMs) && durationMs > 0 ? durationMs : SPRITE_MIN_INTERVAL_MS;
  const intervalMs = Math.max(SPRITE_MIN_INTERVAL_MS, Math.ceil(duration / maxTiles / 100) * 100);
  const tiles = Math.min(maxTiles, Math.max(1, Math.ceil(duration / intervalMs)));
  const columns = Math.min(SPRITE_COLUMNS, tiles);
  return { columns, rows: Math.ceil(tiles / columns), intervalMs, tileWidth: SPRITE_TILE_WIDTH };
}

/** The sprite command: one frame per interval, tiles `tileWidth` wide (height from the aspect, even), one JPEG. Pure. */
export function spriteArgs(source: SourceMedia, outPath: string, layout: SpriteLayout): string[] {
  const { columns, rows, intervalMs, tileWidth } = layout;
  if (![columns, rows, intervalMs, tileWidth].every((n) => Number.isInteger(n) && n > 0)) throw new RangeError('bad sprite layout');
  return [
    ...globalArgs(),
    ...inputArgs(source),
    '-map', '0:v:0',
    '-an', '-sn', '-dn',
    '-vf', `fps=1000/${intervalMs},scale=w=${tileWidth}:h='max(2,round(ow/dar/2)*2)':flags=area,setsar=1,tile=${columns}x${rows}`,
    '-frames:v', '1',
    '-c:v', 'mjpeg', '-pix_fmt', 'yuvj420p', '-q:v', '4',
    '-update', '1',
    '-f', 'image2',
    outputArg(outPath),
  ];
}

/** Writes the sprite of `source` to `outPath` (JPEG); the layout and the sizes actually written. */
export async function renderSprite(source: SourceMedia, outPath: string, options: FfmpegRunOptions): Promise<SpriteResult> {
  assertRenderable(source);
  if (!source.hasVideo) throw new RenderError('INVALID_MEDIA', 'The file has no video stream', { retryable: false });
  const layout = spriteLayout(source.durationMs ?? 0);
  await runFfmpeg(spriteArgs(source, outPath, layout), source.durationMs, options);
  const dims = jpegSize(await readFile(outPath).catch(() => Buffer.alloc(0)));
  if (!dims) throw new RenderError('INVALID_MEDIA', 'No frame could be decoded for the sprite', { retryable: false });
  return { ...layout, tileHeight: Math.floor(dims.height / layout.rows), width: dims.width, height: dims.height };
}
