/**
 * The video of a new clip job, as the workflow needs it (ClipVideoSource): either an ingested video
 * asset of the tenant, or a file uploaded with the request — stored under a generated key in the
 * originals bucket, sniffed and probed by the inspectVideo workflow before anything is accepted.
 */
import { extname } from 'node:path';
import type { EntityManager } from '@mikro-orm/core';
import type { Client } from '@temporalio/client';
import type { ClipVideoSource } from '../../activities/media/analyze-video-original.ts';
import { SNIFF_BYTES, sniffAsset } from '../../lib/assets/sniff.ts';
import { AppError } from '../../lib/errors.ts';
import { VIDEO_EXTENSIONS } from '../../lib/ffmpeg/formats.ts';
import { clipVideoKey, sanitizeFilename, type StorageDriver } from '../../lib/storage/index.ts';
import { findTenantAsset } from '../assets/find-asset.ts';
import { inspectUpload } from '../uploads/inspect-upload.ts';
import { readStoredHead } from '../uploads/read-head.ts';
import type { ReceivedFile } from '../uploads/receive-file.ts';

export interface ClipVideo {
  source: ClipVideoSource;
  origin: 'asset' | 'upload';
  assetId: string | null;
  filename: string;
  sizeBytes: number;
}

/** The storage key of an uploaded clip video; refuses extensions that are not video (415). */
export function clipUploadKey(tenantId: string, clipJobId: string, filename: string): string {
  const extension = extname(filename).toLowerCase();
  if (!(VIDEO_EXTENSIONS as readonly string[]).includes(extension)) {
    throw new AppError(415, 'UNSUPPORTED_FORMAT', `${sanitizeFilename(filename)}: accepted formats are ${VIDEO_EXTENSIONS.join(' ')}`, { details: { accepted: VIDEO_EXTENSIONS } });
  }
  return clipVideoKey(tenantId, clipJobId, extension);
}

/** An ingested video asset of the tenant (404 otherwise); 422 NOT_A_VIDEO, 409 ASSET_NOT_READY before its metadata is known. */
export async function clipVideoFromAsset(em: EntityManager, tenantId: string, assetId: string): Promise<ClipVideo> {
  const asset = await findTenantAsset(em, tenantId, assetId);
  if (asset.type !== 'video') throw new AppError(422, 'NOT_A_VIDEO', `The asset is ${asset.type === 'image' ? 'an image' : `a ${asset.type}`}; a clip job needs a video`);
  const tech = (asset.technicalMetadata ?? {}) as { demuxer?: string | null; has_audio?: boolean; has_video?: boolean };
  if (!tech.demuxer || !asset.originalKey || asset.durationMs === null || asset.durationMs === undefined) {
    throw new AppError(409, 'ASSET_NOT_READY', `The asset is ${asset.status}; a clip job can start once its ingest has read the video's metadata`);
  }
  return {
    source: {
      storageKey: asset.originalKey,
      sha256: asset.sha256,
      demuxer: tech.demuxer,
      durationMs: Number(asset.durationMs),
      width: asset.width ?? null,
      height: asset.height ?? null,
      hasAudio: tech.has_audio ?? false,
      videoCodec: asset.videoCodec ?? null,
    },
    origin: 'asset',
    assetId: asset.id,
    filename: asset.originalFilename,
    sizeBytes: asset.sizeBytes,
  };
}

/** An uploaded file: sniffed (extension ↔ content), then probed on a worker (422 INVALID_MEDIA, NO_VIDEO_STREAM). */
export async function clipVideoFromUpload(
  deps: { storage: StorageDriver; temporal: Client; taskQueue: string; maxImagePixels: number },
  file: ReceivedFile,
  who: { tenantId: string; userId: string; clipJobId: string },
): Promise<ClipVideo> {
  const filename = sanitizeFilename(file.filename);
  if (file.sizeBytes === 0) throw new AppError(422, 'EMPTY_FILE', `${filename} is empty`);
  const sniffed = sniffAsset(await readStoredHead(deps.storage, file.bucket, file.key, SNIFF_BYTES), filename, { maxImagePixels: deps.maxImagePixels });
  if (!sniffed.ok) throw new AppError(sniffed.status, sniffed.code, `${filename}: ${sniffed.message}`);
  const probed = await inspectUpload(deps.temporal, {
    workflowType: 'inspectVideo', workflowId: `inspect-clip-${who.clipJobId}`, taskQueue: deps.taskQueue,
    input: { tenantId: who.tenantId, ownerId: who.userId, storageKey: file.key, bucket: 'originals' }, filename,
  });
  const video = probed.streams.find((s) => s.type === 'video');
  if (!video) throw new AppError(422, 'NO_VIDEO_STREAM', `${filename} has no video stream`);
  if (probed.duration_ms === null) throw new AppError(422, 'INVALID_MEDIA', `${filename}: the duration cannot be read`);
  return {
    source: {
      storageKey: file.key,
      sha256: file.sha256,
      demuxer: probed.demuxer,
      durationMs: probed.duration_ms,
      width: video.width ?? null,
      height: video.height ?? null,
      hasAudio: probed.streams.some((s) => s.type === 'audio'),
      videoCodec: video.codec?.slice(0, 32) ?? null,
    },
    origin: 'upload',
    assetId: null,
    filename,
    sizeBytes: file.sizeBytes,
  };
}
