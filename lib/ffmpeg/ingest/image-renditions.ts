/**
 * Image renditions: JPEG thumbnails fitting 256×256 and 1024×1024, never upscaled, from one
 * ffmpeg run (decode once, `split`, one scale per size). Transparent pictures are flattened on
 * white (JPEG has no alpha). Animated GIFs give their first frame. EXIF orientation is not applied
 * (ffmpeg 5.1 does not read it).
 */
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { jpegSize } from './image-size.ts';
import { assertRenderable, globalArgs, inputArgs, outputArg, RenderError, runFfmpeg, type FfmpegRunOptions, type SourceMedia } from './run-ffmpeg.ts';

export type ImageThumbnailName = 'thumbnail_256' | 'thumbnail_1024';

/** The thumbnails made for an image, by box size. */
export const IMAGE_THUMBNAILS: ReadonlyArray<{ name: ImageThumbnailName; box: number }> = [
  { name: 'thumbnail_256', box: 256 },
  { name: 'thumbnail_1024', box: 1024 },
];

/** The size fitting `width`×`height` in box×box, aspect kept (rounded), never upscaled, at least 1×1. Pure. */
export function thumbnailSize(width: number, height: number, box: number): { width: number; height: number } {
  if (![width, height, box].every((n) => Number.isFinite(n) && n > 0)) throw new RangeError('sizes must be positive');
  const scale = Math.min(1, box / Math.max(width, height));
  return { width: Math.max(1, Math.round(width * scale)), height: Math.max(1, Math.round(height * scale)) };
}

/** Where thumbnail `name` is written in `outDir`. */
export function thumbnailPath(outDir: string, name: ImageThumbnailName): string {
  return join(outDir, `${name}.jpg`);
}

/**
 * The thumbnails command: one decode split into one scale per thumbnail, each flattened on white
 * when the source size is known (else fitted with `force_original_aspect_ratio=decrease`, never
 * above the source size), one JPEG each. Pure.
 */
export function imageThumbnailArgs(source: SourceMedia, outDir: string): string[] {
  const n = IMAGE_THUMBNAILS.length;
  const chains = IMAGE_THUMBNAILS.map(({ box }, i) => {
    if (source.width && source.height) {
      const { width, height } = thumbnailSize(source.width, source.height, box);
      return (
        `[s${i}]scale=${width}:${height}:flags=lanczos,format=rgba[f${i}];` +
        `color=c=white:s=${width}x${height},format=rgba[b${i}];` +
        `[b${i}][f${i}]overlay=shortest=1,format=yuvj420p[t${i}]`
      );
    }
    return `[s${i}]scale=w='min(iw,${box})':h='min(ih,${box})':force_original_aspect_ratio=decrease:flags=lanczos,format=yuvj420p[t${i}]`;
  });
  const graph = `[0:v:0]split=${n}${IMAGE_THUMBNAILS.map((_, i) => `[s${i}]`).join('')};${chains.join(';')}`;
  const outputs = IMAGE_THUMBNAILS.flatMap(({ name }, i) => [
    '-map', `[t${i}]`,
    '-frames:v', '1',
    '-c:v', 'mjpeg', '-q:v', '3',
    '-update', '1',
    '-f', 'image2',
    outputArg(thumbnailPath(outDir, name)),
  ]);
  return [...globalArgs(), ...inputArgs(source), '-filter_complex', graph, ...outputs];
}

/** Writes `thumbnail_256.jpg` and `thumbnail_1024.jpg` into `outDir`; their sizes as written. */
export async function renderImageThumbnails(
  source: SourceMedia,
  outDir: string,
  options: FfmpegRunOptions,
): Promise<Array<{ name: ImageThumbnailName; path: string; width: number; height: number; sizeBytes: number }>> {
  assertRenderable(source);
  if (!source.hasVideo) throw new RenderError('INVALID_MEDIA', 'The file has no picture', { retryable: false });
  await runFfmpeg(imageThumbnailArgs(source, outDir), null, options);
  const results = [];
  for (const { name } of IMAGE_THUMBNAILS) {
    const path = thumbnailPath(outDir, name);
    const bytes = await readFile(path).catch(() => Buffer.alloc(0));
    const dims = jpegSize(bytes);
    if (!dims) throw new RenderError('INVALID_MEDIA', 'The image could not be decoded', { retryable: false });
    results.push({ name, path, ...dims, sizeBytes: (await stat(path)).size });
  }
  return results;
}
