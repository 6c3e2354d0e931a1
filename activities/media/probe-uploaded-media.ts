/** ffprobe on an uploaded object: downloaded to a per-attempt temp dir that is always removed. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApplicationFailure, Context } from '@temporalio/activity';
import { InvalidMediaError, probeMedia } from '../../lib/ffmpeg/probe.ts';
import type { MediaMetadata } from '../../lib/ffmpeg/metadata.ts';
import type { StorageDriver } from '../../lib/storage/index.ts';
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
}

export function createProbeMediaActivities(deps: ProbeMediaDeps) {
  return {
    async probeUploadedMedia(input: ProbeUploadedMediaInput): Promise<MediaMetadata> {
      const ctx = Context.current();
      const dir = await mkdtemp(join(tmpdir(), 'moviola-probe-'));
      try {
        const path = join(dir, 'input');
        try {
          await deps.storage.getToFile('uploads', input.storageKey, path);
        } catch (err) {
          if (err instanceof ObjectNotFoundError) {
            throw ApplicationFailure.nonRetryable(`Uploaded object ${input.storageKey} is missing`, 'UPLOAD_MISSING');
          }
          throw err;
        }
        ctx.heartbeat({ stage: 'downloaded' });
        const { metadata, demuxer } = await probeMedia(path, {
          ffprobePath: deps.ffprobePath,
          timeoutMs: deps.probeTimeoutMs,
          signal: ctx.cancellationSignal,
        });
        ctx.log.info('probed media', { workflowId: input.workflowId, tenantId: input.tenantId, demuxer, streams: metadata.streams.length });
        return metadata;
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
