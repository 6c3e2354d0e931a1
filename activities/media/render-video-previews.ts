/**
 * The video's light steps (main queue, in parallel with the heavy encode): the poster (a
 * representative frame, never frame 0, black and blank frames skipped), the 10×10 thumbnail sprite,
 * and scene-cut detection (returned; the workflow stores them as `scene` markers).
 */
import { join } from 'node:path';
import { renderPoster } from '../../lib/ffmpeg/ingest/poster.ts';
import { detectScenes, scenesFromCuts } from '../../lib/ffmpeg/ingest/scenes.ts';
import { renderSprite } from '../../lib/ffmpeg/ingest/sprite.ts';
import type { RenditionRecord } from '../db/assets.ts';
import { withAssetWorkspace, type AssetMediaDeps, type AssetStepInput } from './asset-workspace.ts';

export function createVideoPreviewActivities(deps: AssetMediaDeps) {
  return {
    async renderAssetPoster(input: AssetStepInput): Promise<RenditionRecord> {
      return withAssetWorkspace(deps, input, ['poster'], async (ws) => {
        const out = join(ws.dir, 'poster.jpg');
        const poster = await renderPoster(ws.source, out, ws.ffmpeg);
        const stored = await ws.upload('thumbnails', 'poster', 'poster.jpg', out, 'image/jpeg');
        return { name: 'poster', storageKey: stored.key, contentType: 'image/jpeg', sizeBytes: stored.sizeBytes, width: poster.width, height: poster.height, metadata: { time_ms: poster.timeMs } };
      });
    },

    async renderAssetSprite(input: AssetStepInput): Promise<RenditionRecord> {
      return withAssetWorkspace(deps, input, ['sprite'], async (ws) => {
        const out = join(ws.dir, 'sprite.jpg');
        const sprite = await renderSprite(ws.source, out, ws.ffmpeg);
        const stored = await ws.upload('thumbnails', 'sprite', 'sprite.jpg', out, 'image/jpeg');
        return {
          name: 'sprite', storageKey: stored.key, contentType: 'image/jpeg', sizeBytes: stored.sizeBytes, width: sprite.width, height: sprite.height,
          metadata: { columns: sprite.columns, rows: sprite.rows, interval_ms: sprite.intervalMs, tile_width: sprite.tileWidth, tile_height: sprite.tileHeight },
        };
      });
    },

    async detectAssetScenes(input: AssetStepInput): Promise<Array<{ inMs: number; outMs: number }>> {
      return withAssetWorkspace(deps, input, ['scenes'], async (ws) => {
        const cuts = await detectScenes(ws.source, ws.ffmpeg);
        return input.source.durationMs ? scenesFromCuts(cuts, input.source.durationMs) : [];
      });
    },
  };
}

export type VideoPreviewActivities = ReturnType<typeof createVideoPreviewActivities>;
