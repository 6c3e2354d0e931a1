/**
 * encodeAssetVideoRenditions (heavy queue, one slot): the 480p/720p MP4 proxies and the HLS fMP4
 * ladder from one decode (see lib/ffmpeg/ingest/video-renditions.ts). HLS objects are replaced as a
 * set: the asset's hls/ prefix is cleared first, so a retried attempt (a killed worker) never leaves
 * segments of an earlier attempt behind.
 */
import { join } from 'node:path';
import type { RenditionRecord } from '../db/assets.ts';
import { renderVideoRenditions } from '../../lib/ffmpeg/ingest/video-renditions.ts';
import { withAssetWorkspace, type AssetMediaDeps, type AssetStepInput } from './asset-workspace.ts';

export interface EncodeVideoRenditionsInput extends AssetStepInput {
  want: { proxies: boolean; hls: boolean };
}

const HLS_CONTENT_TYPES: Record<string, string> = { '.m3u8': 'application/vnd.apple.mpegurl', '.mp4': 'video/mp4', '.m4s': 'video/iso.segment' };

export function createEncodeVideoRenditionActivities(deps: AssetMediaDeps) {
  return {
    async encodeAssetVideoRenditions(input: EncodeVideoRenditionsInput): Promise<RenditionRecord[]> {
      const steps = [...(input.want.proxies ? (['proxy'] as const) : []), ...(input.want.hls ? (['hls'] as const) : [])];
      return withAssetWorkspace(deps, input, [...steps], async (ws) => {
        const out = join(ws.dir, 'out');
        const rendered = await renderVideoRenditions(ws.source, out, input.want, ws.ffmpeg);
        const records: RenditionRecord[] = [];
        for (const proxy of rendered.proxies) {
          const stored = await ws.upload('proxies', 'proxy', `${proxy.height}p.mp4`, proxy.path, 'video/mp4');
          records.push({ name: proxy.name, storageKey: stored.key, contentType: 'video/mp4', sizeBytes: stored.sizeBytes, width: proxy.width, height: proxy.height, bitrate: proxy.bitrate });
        }
        if (rendered.hls) {
          const prefix = ws.keyOf('hls', 'x').slice(0, -1);
          await deps.storage.deletePrefix('proxies', prefix);
          let total = 0;
          // The master last: a player never sees a master whose variants are not all there.
          const files = [...rendered.hls.files.filter((f) => f !== rendered.hls!.master), rendered.hls.master];
          for (const file of files) {
            const type = HLS_CONTENT_TYPES[file.slice(file.lastIndexOf('.'))] ?? 'application/octet-stream';
            total += (await ws.upload('proxies', 'hls', file, join(rendered.hls.dir, file), type)).sizeBytes;
          }
          const top = rendered.hls.variants.reduce((a, b) => (b.height > a.height ? b : a), rendered.hls.variants[0]!);
          records.push({
            name: 'hls', storageKey: ws.keyOf('hls', rendered.hls.master), contentType: 'application/vnd.apple.mpegurl', sizeBytes: total,
            width: top.width, height: top.height, bitrate: top.bandwidth,
            metadata: { files: files.length, variants: rendered.hls.variants.map((v) => ({ name: v.name, playlist: v.playlist, width: v.width, height: v.height, bandwidth: v.bandwidth })) },
          });
        }
        return records;
      });
    },
  };
}

export type EncodeVideoRenditionActivities = ReturnType<typeof createEncodeVideoRenditionActivities>;
