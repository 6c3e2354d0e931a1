/**
 * validateAssetOriginal — the ingest's first step: the stored original is sniffed (extension vs
 * magic bytes, playlists refused, image dimensions from the header before any decode), its size and
 * SHA-256 checked against the asset row, and media probed by ffprobe with only allowed demuxers.
 * Limits (pixels, duration) are checked here, before any rendering. Every refusal is a
 * non-retryable failure with a stable code.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { AssetType } from '../../lib/assets/catalogue.ts';
import { SNIFF_BYTES, sniffAsset } from '../../lib/assets/sniff.ts';
import { IMAGE_DEMUXERS, MEDIA_DEMUXERS } from '../../lib/ffmpeg/formats.ts';
import type { MediaMetadata } from '../../lib/ffmpeg/metadata.ts';
import { probeMedia } from '../../lib/ffmpeg/probe.ts';
import type { AssetSourceInfo } from '../db/assets.ts';
import { withDownloadedOriginal, type AssetMediaDeps } from './asset-workspace.ts';

export interface ValidateAssetInput {
  assetId: string;
  tenantId: string;
  originalKey: string;
  filename: string;
  sizeBytes: number;
  sha256: string;
  limits: { maxImagePixels: number; maxDurationMs: number };
}

export interface ValidatedAsset {
  source: AssetSourceInfo;
  probe: MediaMetadata | null;
  videoCodec: string | null;
  audioCodec: string | null;
}

/** Cover art (an attached picture) does not make an audio file a video. */
const STILL_CODECS = new Set(['mjpeg', 'png', 'bmp', 'gif', 'webp']);

async function readHead(path: string): Promise<Buffer> {
  const handle = await open(path, 'r');
  try {
    const buffer = Buffer.alloc(SNIFF_BYTES);
    const { bytesRead } = await handle.read(buffer, 0, SNIFF_BYTES, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

async function sha256Of(path: string): Promise<{ sha256: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(path)) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { sha256: hash.digest('hex'), size };
}

const refuse = (code: string, message: string) => ApplicationFailure.nonRetryable(message, code);

export function createValidateAssetActivities(deps: AssetMediaDeps) {
  return {
    async validateAssetOriginal(input: ValidateAssetInput): Promise<ValidatedAsset> {
      const ctx = Context.current();
      return withDownloadedOriginal(deps, input, 'validate', async (path) => {
        ctx.heartbeat({ stage: 'downloaded' });
        const stored = await sha256Of(path);
        if (stored.size !== input.sizeBytes || stored.sha256 !== input.sha256) {
          throw refuse('UPLOAD_MISMATCH', `The stored original (${stored.size} bytes, sha256 ${stored.sha256}) differs from the upload (${input.sizeBytes} bytes, sha256 ${input.sha256})`);
        }
        if (stored.size === 0) throw refuse('EMPTY_FILE', 'The file is empty');
        const sniffed = sniffAsset(await readHead(path), input.filename, { maxImagePixels: input.limits.maxImagePixels });
        if (!sniffed.ok) throw refuse(sniffed.code, sniffed.message);

        if (sniffed.family === 'document') {
          return { source: blankSource('document'), probe: null, videoCodec: null, audioCodec: null };
        }
        const probeOptions = { ffprobePath: deps.ffprobePath, timeoutMs: deps.probeTimeoutMs, signal: ctx.cancellationSignal };
        if (sniffed.family === 'image') {
          const { demuxer, metadata } = await probeMedia(path, { ...probeOptions, allowedDemuxers: IMAGE_DEMUXERS });
          const video = metadata.streams.find((s) => s.type === 'video');
          return {
            source: { ...blankSource('image'), demuxer, width: sniffed.image?.width ?? video?.width ?? null, height: sniffed.image?.height ?? video?.height ?? null, hasVideo: true },
            probe: metadata,
            videoCodec: video?.codec ?? null,
            audioCodec: null,
          };
        }
        const { demuxer, metadata } = await probeMedia(path, { ...probeOptions, allowedDemuxers: MEDIA_DEMUXERS });
        const video = metadata.streams.find((s) => s.type === 'video' && !(sniffed.type === 'audio' && STILL_CODECS.has(s.codec ?? '')));
        const audio = metadata.streams.find((s) => s.type === 'audio');
        const type: AssetType = video ? 'video' : 'audio';
        if (!video && !audio) throw refuse('INVALID_MEDIA', 'The file has no audio or video stream');
        if (metadata.duration_ms !== null && metadata.duration_ms > input.limits.maxDurationMs) {
          throw refuse('MEDIA_TOO_LONG', `The media lasts ${Math.round(metadata.duration_ms / 1000)} s; the limit is ${Math.round(input.limits.maxDurationMs / 1000)} s`);
        }
        if (video?.width && video.height && video.width * video.height > input.limits.maxImagePixels) {
          throw refuse('IMAGE_TOO_LARGE', `Video frames are ${video.width}×${video.height} pixels; the limit is ${input.limits.maxImagePixels}`);
        }
        ctx.log.info('asset validated', { assetId: input.assetId, type, demuxer });
        return {
          source: {
            type,
            demuxer,
            durationMs: metadata.duration_ms,
            width: video?.width ?? null,
            height: video?.height ?? null,
            fps: video?.fps ?? null,
            hasAudio: Boolean(audio),
            hasVideo: Boolean(video),
          },
          probe: metadata,
          videoCodec: video?.codec ?? null,
          audioCodec: audio?.codec ?? null,
        };
      });
    },
  };
}

function blankSource(type: AssetType): AssetSourceInfo {
  return { type, demuxer: null, durationMs: null, width: null, height: null, fps: null, hasAudio: false, hasVideo: false };
}

export type ValidateAssetActivities = ReturnType<typeof createValidateAssetActivities>;
