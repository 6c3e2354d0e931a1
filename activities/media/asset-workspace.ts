/**
 * Shared by the ingest's media activities: a per-(asset, step) temp dir holding the downloaded
 * original (cleared at the start of every attempt, so a killed worker leaves nothing for long, and
 * removed at the end), progress as heartbeats plus a throttled write to the step's row, uploads
 * under the asset's deterministic keys, and the mapping of ffmpeg failures onto Temporal failures.
 */
import { createReadStream } from 'node:fs';
import { mkdir, rm, rmdir, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { IngestStep } from '../../lib/assets/catalogue.ts';
import type { Orm } from '../../lib/db/orm.ts';
import { RenderError, type FfmpegRunOptions, type SourceMedia } from '../../lib/ffmpeg/ingest/run-ffmpeg.ts';
import { InvalidMediaError } from '../../lib/ffmpeg/probe.ts';
import { assetKey, ObjectNotFoundError, type BucketName, type StorageDriver } from '../../lib/storage/index.ts';
import type { AssetSourceInfo } from '../db/assets.ts';

export interface AssetMediaDeps {
  orm: Orm;
  storage: StorageDriver;
  ffmpegPath: string;
  ffprobePath: string;
  probeTimeoutMs: number;
  /** ffmpeg's limit per rendering attempt. */
  renderTimeoutMs: number;
  workDir?: string;
}

export interface AssetStepInput {
  assetId: string;
  tenantId: string;
  originalKey: string;
  /** The asset's creation time (ISO): year and month of its keys. */
  createdAt: string;
  source: AssetSourceInfo;
}

export interface Workspace {
  dir: string;
  source: SourceMedia;
  ffmpeg: FfmpegRunOptions;
  /** Uploads a local file as `{tenant}/{yyyy}/{mm}/{asset}/{purpose}/{filename}`; returns its key and size. */
  upload(bucket: BucketName, purpose: string, filename: string, path: string, contentType: string): Promise<{ key: string; sizeBytes: number }>;
  keyOf(purpose: string, filename: string): string;
}

const PROGRESS_WRITE_INTERVAL_MS = 1_000;

export async function withAssetWorkspace<T>(
  deps: AssetMediaDeps,
  input: AssetStepInput,
  steps: IngestStep[],
  work: (ws: Workspace) => Promise<T>,
): Promise<T> {
  const ctx = Context.current();
  return withDownloadedOriginal(deps, input, steps.join('+'), async (path, dir) => {
    ctx.heartbeat({ percent: 0 });
    let lastWrite = 0;
    const connection = deps.orm.em.getConnection();
    const onProgress = (percent: number) => {
      ctx.heartbeat({ percent });
      const now = Date.now();
      if (now - lastWrite < PROGRESS_WRITE_INTERVAL_MS) return;
      lastWrite = now;
      connection.execute(
        `update asset_ingest_steps set progress = ?, updated_at = now() where asset_id = ? and tenant_id = ? and step in (${steps.map(() => '?').join(', ')}) and status = 'running'`,
        [Math.max(0, Math.min(99, Math.round(percent))), input.assetId, input.tenantId, ...steps],
      ).catch((err: unknown) => ctx.log.warn('progress not recorded', { error: String(err) }));
    };
    const date = new Date(input.createdAt);
    const keyOf = (purpose: string, filename: string) => assetKey({ tenantId: input.tenantId, date, assetId: input.assetId, purpose, filename });
    const ws: Workspace = {
      dir,
      source: { path, ...input.source, demuxer: input.source.demuxer ?? '' },
      ffmpeg: { ffmpegPath: deps.ffmpegPath, timeoutMs: deps.renderTimeoutMs, signal: ctx.cancellationSignal, onProgress },
      keyOf,
      async upload(bucket, purpose, filename, localPath, contentType) {
        const key = keyOf(purpose, filename);
        const { size } = await stat(localPath);
        await deps.storage.put(bucket, key, createReadStream(localPath), { contentType, size });
        return { key, sizeBytes: size };
      },
    };
    return work(ws);
  });
}

/**
 * Runs `work` with the original downloaded into `<workDir>/moviola-ingest/<assetId>/<label>/original`.
 * The directory is cleared first (what a killed attempt left) and always removed after; ffmpeg
 * verdicts become non-retryable failures.
 */
export async function withDownloadedOriginal<T>(
  deps: Pick<AssetMediaDeps, 'storage' | 'workDir'>,
  input: { assetId: string; originalKey: string },
  label: string,
  work: (path: string, dir: string) => Promise<T>,
): Promise<T> {
  const dir = join(deps.workDir ?? tmpdir(), 'moviola-ingest', input.assetId, label);
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  try {
    const path = join(dir, 'original');
    try {
      await deps.storage.getToFile('originals', input.originalKey, path);
    } catch (err) {
      if (err instanceof ObjectNotFoundError) throw ApplicationFailure.nonRetryable('The original is missing from storage', 'ORIGINAL_MISSING');
      throw err;
    }
    return await work(path, dir);
  } catch (err) {
    throw asTemporalFailure(err);
  } finally {
    await rm(dir, { recursive: true, force: true });
    // The asset's own directory too, once its last step is done (another step may still use it).
    await rmdir(dirname(dir)).catch(() => undefined);
  }
}

/** Verdicts on the file (ffmpeg's INVALID_MEDIA, ffprobe's refusal or timeout) are never retried; anything else is. */
export function asTemporalFailure(err: unknown): unknown {
  if (err instanceof RenderError && !err.retryable) return ApplicationFailure.nonRetryable(err.message, err.code);
  if (err instanceof InvalidMediaError) return ApplicationFailure.nonRetryable(err.message, 'INVALID_MEDIA');
  return err;
}
