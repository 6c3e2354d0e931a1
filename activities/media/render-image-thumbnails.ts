/** Image assets: 256 px and 1024 px JPEG thumbnails (never upscaled). */
import { renderImageThumbnails } from '../../lib/ffmpeg/ingest/image-renditions.ts';
import type { RenditionRecord } from '../db/assets.ts';
import { withAssetWorkspace, type AssetMediaDeps, type AssetStepInput } from './asset-workspace.ts';

export function createImageThumbnailActivities(deps: AssetMediaDeps) {
  return {
    async renderAssetThumbnails(input: AssetStepInput): Promise<RenditionRecord[]> {
      return withAssetWorkspace(deps, input, ['thumbnails'], async (ws) => {
        const thumbnails = await renderImageThumbnails(ws.source, ws.dir, ws.ffmpeg);
        const records: RenditionRecord[] = [];
        for (const t of thumbnails) {
          const size = t.name === 'thumbnail_256' ? 256 : 1024;
          const stored = await ws.upload('thumbnails', 'thumbnail', `${size}.jpg`, t.path, 'image/jpeg');
          records.push({ name: t.name, storageKey: stored.key, contentType: 'image/jpeg', sizeBytes: stored.sizeBytes, width: t.width, height: t.height });
        }
        return records;
      });
    },
  };
}

export type ImageThumbnailActivities = ReturnType<typeof createImageThumbnailActivities>;
