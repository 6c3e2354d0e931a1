/**
 * extractVideoFrames (heavy queue, one slot): the original is downloaded into a per-job temp dir
 * (cleared at the start of every attempt, so a killed worker leaves nothing behind for long, and
 * removed at the end), ffmpeg extracts 1 frame/s as JPEG and the frames are zipped while they
 * stream into storage. Heartbeats carry the percent done; cancellation kills ffmpeg (SIGKILL).
 */
import { mkdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { Orm } from '../../lib/db/orm.ts';
import { extractFramesToZip, FramesError } from '../../lib/ffmpeg/extract-frames.ts';
import { recordJobProgress } from '../../lib/jobs/projection.ts';
import type { StorageDriver } from '../../lib/storage/index.ts';
import { ObjectNotFoundError } from '../../lib/storage/index.ts';

export interface ExtractVideoFramesDeps {
  orm: Orm;
  storage: StorageDriver;
  ffmpegPath: string;
  timeoutMs: number;
  /** Where per-job temp dirs live (default: the OS temp dir). */
  workDir?: string;
}

export interface ExtractVideoFramesInput {
  jobId: string;
  tenantId: string;
  originalKey: string;
  zipKey: string;
  demuxer: string;
  durationMs: number | null;
  videoCodec: string | null;
}

const PROGRESS_WRITE_INTERVAL_MS = 1_000;

export function framesWorkDir(root: string, jobId: string): string {
  return join(root, 'moviola-frames', jobId);
}

export function createExtractVideoFramesActivities(deps: ExtractVideoFramesDeps) {
  return {
    async extractVideoFrames(input: ExtractVideoFramesInput): Promise<{ frameCount: number; zipBytes: number }> {
      const ctx = Context.current();
      const dir = framesWorkDir(deps.workDir ?? tmpdir(), input.jobId);
      await rm(dir, { recursive: true, force: true }); // what a killed attempt may have left
      await mkdir(dir, { recursive: true });
      try {
        const inputPath = join(dir, 'original');
        try {
          await deps.storage.getToFile('uploads', input.originalKey, inputPath);
        } catch (err) {
          if (err instanceof ObjectNotFoundError) throw ApplicationFailure.nonRetryable('The uploaded video is missing from storage', 'UPLOAD_MISSING');
          throw err;
        }
        ctx.heartbeat({ percent: 0 });

        let lastWrite = 0;
        const em = deps.orm.em.fork();
        const { zip, result } = extractFramesToZip({
          ffmpegPath: deps.ffmpegPath,
          inputPath,
          demuxer: input.demuxer,
          durationMs: input.durationMs,
          videoCodec: input.videoCodec,
          timeoutMs: deps.timeoutMs,
          signal: ctx.cancellationSignal,
          onProgress: ({ percent, frames }) => {
            ctx.heartbeat({ percent, frames });
            const now = Date.now();
            if (now - lastWrite < PROGRESS_WRITE_INTERVAL_MS) return;
            lastWrite = now;
            recordJobProgress(em, { jobId: input.jobId, tenantId: input.tenantId, progress: Math.min(99, percent), frameCount: frames }).catch(
              (err: unknown) => ctx.log.warn('progress not recorded', { error: String(err) }),
            );
          },
        });
        // Both sides must settle: the upload fails when extraction fails (the ZIP stream errors).
        const [uploaded, extracted] = await Promise.allSettled([
          deps.storage.put('exports', input.zipKey, zip, { contentType: 'application/zip' }),
          result,
        ]);
        if (extracted.status === 'rejected') throw extracted.reason;
        if (uploaded.status === 'rejected') throw uploaded.reason;
        ctx.log.info('frames extracted', { jobId: input.jobId, frames: extracted.value.frameCount, zipBytes: uploaded.value.size });
        return { frameCount: extracted.value.frameCount, zipBytes: uploaded.value.size };
      } catch (err) {
        if (err instanceof FramesError && !err.retryable) throw ApplicationFailure.nonRetryable(err.message, err.code);
        throw err;
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
  };
}

export type ExtractVideoFramesActivities = ReturnType<typeof createExtractVideoFramesActivities>;
