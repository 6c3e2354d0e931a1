/** Audio assets: the AAC proxy (heavy queue: an encode) and the waveform PNG (main queue). */
import { join } from 'node:path';
import { renderAudioProxy, renderWaveform } from '../../lib/ffmpeg/ingest/audio-renditions.ts';
import type { RenditionRecord } from '../db/assets.ts';
import { withAssetWorkspace, type AssetMediaDeps, type AssetStepInput } from './asset-workspace.ts';

export function createAudioRenditionActivities(deps: AssetMediaDeps) {
  return {
    async encodeAssetAudioProxy(input: AssetStepInput): Promise<RenditionRecord> {
      return withAssetWorkspace(deps, input, ['audio_proxy'], async (ws) => {
        const out = join(ws.dir, 'audio.m4a');
        const proxy = await renderAudioProxy(ws.source, out, ws.ffmpeg);
        const stored = await ws.upload('proxies', 'proxy', 'audio.m4a', out, 'audio/mp4');
        return { name: 'audio_proxy', storageKey: stored.key, contentType: 'audio/mp4', sizeBytes: stored.sizeBytes, bitrate: proxy.bitrate, metadata: { duration_ms: proxy.durationMs } };
      });
    },

    async renderAssetWaveform(input: AssetStepInput): Promise<RenditionRecord> {
      return withAssetWorkspace(deps, input, ['waveform'], async (ws) => {
        const out = join(ws.dir, 'waveform.png');
        const waveform = await renderWaveform(ws.source, out, ws.ffmpeg);
        const stored = await ws.upload('thumbnails', 'waveform', 'waveform.png', out, 'image/png');
        return { name: 'waveform', storageKey: stored.key, contentType: 'image/png', sizeBytes: stored.sizeBytes, width: waveform.width, height: waveform.height };
      });
    },
  };
}

export type AudioRenditionActivities = ReturnType<typeof createAudioRenditionActivities>;
