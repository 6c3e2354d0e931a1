/** ffprobe on an uploaded object: downloaded to a per-attempt temp dir that is always removed. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApplicationFailure, Context } from '@temporalio/activity';
import { VIDEO_DEMUXERS } from '../../lib/ffmpeg/formats.ts';
import { InvalidMediaError, probeMedia } from '../../lib/ffmpeg/probe.ts';
import type { MediaMetadata } from '../../lib/ffmpeg/metadata.ts';
import type { BucketName, StorageDriver } from '../../lib/storage/index.ts';
import { ObjectNotFoundError } from '../../lib/storage/index.ts';

export interface ProbeMediaDeps {
  storage: StorageDriver;
  ffprobePath: string;
  probeTimeoutMs: number;
}

export interface ProbeUploadedMediaInput {
  tenantId: string;
  storageKey: string;
  workflowId: string;
  /** 'media' (default): any audio/video container; 'video': a video container with a video stream. */
  accept?: 'media' | 'video';
  /** Where the object is (default: uploads). */
  bucket?: BucketName;
}

export interface ProbedMedia extends MediaMetadata {
  demuxer: string;
}

export function createProbeMediaActivities(deps: ProbeMediaDeps) {
  return {
    async probeUploadedMedia(input: ProbeUploadedMediaInput): Promise<ProbedMedia> {
      const ctx = Context.current();
      const dir = await mkdtemp(join(tmpdir(), 'moviola-probe-'));
      try {
        const path = join(dir, 'input');
        try {
          await deps.storage.getToFile(input.bucket ?? 'uploads', input.storageKey, path);
        } catch (err) {
          if (err instanceof ObjectNotFoundError) {
            throw ApplicationFailure.nonRetryable(`Uploaded object ${input.storageKey} is missing`, 'UPLOAD_MISSING');
          }
          throw err;
        }
        ctx.heartbeat({ stage: 'downloaded' });
        const video = input.accept === 'video';
        const { metadata, demuxer } = await probeMedia(path, {
          ffprobePath: deps.ffprobePath,
          timeoutMs: deps.probeTimeoutMs,
          signal: ctx.cancellationSignal,
          ...(video ? { allowedDemuxers: VIDEO_DEMUXERS } : {}),
        });
        if (video && !metadata.streams.some((s) => s.type === 'video')) {
          throw new InvalidMediaError('INVALID_MEDIA', 'The file has no video stream');
        }
        ctx.log.info('probed media', { workflowId: input.workflowId, tenantId: input.tenantId, demuxer, streams: metadata.streams.length });
        return { ...metadata, demuxer };
      } catch (err) {
        // A verdict on the file is final; anything else (storage hiccup, cancellation) is retried or surfaced.
        if (err instanceof InvalidMediaError) throw ApplicationFailure.nonRetryable(err.message, err.code);
        throw err;
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
  };
}

export type ProbeMediaActivities = ReturnType<typeof createProbeMediaActivities>;
