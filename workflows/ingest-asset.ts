/**
 * ingestAsset (id `ingest-<assetId>`): every upload to the catalogue becomes one of these.
 *
 *   pending → ingesting: validate (sniff + ffprobe + limits) → metadata (persisted)
 *           → processing: the steps of the asset's type, independent ones in parallel —
 *               video: [heavy] proxy + hls (one decode) ‖ poster ‖ sprite ‖ scenes
 *               audio: [heavy] audio_proxy ‖ waveform
 *               image: thumbnails
 *               document: nothing more (checksum and size were checked by validate)
 *           → available, or failed with the first failed step's error.
 *
 * Each step's row (asset_ingest_steps) records status, attempts, duration, progress and error, so
 * a failed step is re-run alone: the API starts a new run with the same id and `steps`
 * (POST /assets/{id}/reprocess). Light steps run on the main queue, encodes on the heavy queue.
 * The workflow's priority (from the asset's) is inherited by its activities, so queued ingests are
 * served in priority order.
 */
import {
  ActivityCancellationType,
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  isCancellation,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type { AssetDbActivities, AssetSourceInfo, StepError } from '../activities/db/assets.ts';
import type { AudioRenditionActivities } from '../activities/media/render-audio-renditions.ts';
import type { EncodeVideoRenditionActivities } from '../activities/media/encode-video-renditions.ts';
import type { ImageThumbnailActivities } from '../activities/media/render-image-thumbnails.ts';
import type { ValidateAssetActivities } from '../activities/media/validate-asset-original.ts';
import type { VideoPreviewActivities } from '../activities/media/render-video-previews.ts';
import { RENDER_STEPS, type AssetStatus, type IngestStep } from '../lib/assets/catalogue.ts';
import { JobKindKey, OwnerIdKey, StageKey, StageSinceKey, TenantIdKey } from '../lib/temporal/search-attributes.ts';
import { ingestAssetStateQuery, type IngestAssetInput, type IngestAssetState } from './ingest-asset.types.ts';

export { ingestAssetStateQuery };
export type { IngestAssetInput, IngestAssetState };

/** Verdicts on the file or the upload: retrying cannot change them. */
export const INGEST_NON_RETRYABLE = ['INVALID_MEDIA', 'IMAGE_TOO_LARGE', 'MEDIA_TOO_LONG', 'UPLOAD_MISMATCH', 'EMPTY_FILE', 'ORIGINAL_MISSING', 'UNSUPPORTED_FORMAT'];

const db = proxyActivities<AssetDbActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds', maximumAttempts: 20 },
});

export async function ingestAsset(input: IngestAssetInput): Promise<IngestAssetState> {
  const ref = { assetId: input.assetId, tenantId: input.tenantId };
  const mediaOptions = {
    startToCloseTimeout: `${input.renderTimeoutMinutes + 5} minutes`,
    heartbeatTimeout: '20 seconds',
    retry: { initialInterval: '5 seconds', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 4, nonRetryableErrorTypes: INGEST_NON_RETRYABLE },
    // A cancelled step is recorded only once ffmpeg is dead and its temp dir is gone.
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  } as const;
  const light = proxyActivities<ValidateAssetActivities & VideoPreviewActivities & AudioRenditionActivities & ImageThumbnailActivities>(mediaOptions);
  const heavy = proxyActivities<EncodeVideoRenditionActivities & AudioRenditionActivities>({ ...mediaOptions, taskQueue: input.heavyTaskQueue });

  const state: IngestAssetState = { status: 'ingesting', type: input.type, steps: {}, error: null };
  setHandler(ingestAssetStateQuery, () => state);
  upsertSearchAttributes([
    { key: TenantIdKey, value: input.tenantId },
    { key: OwnerIdKey, value: input.ownerId },
    { key: JobKindKey, value: 'ingest' },
  ]);

  async function enter(status: AssetStatus, stage: string, error?: StepError | null) {
    state.status = status;
    if (error !== undefined) state.error = error;
    upsertSearchAttributes([
      { key: StageKey, value: stage },
      { key: StageSinceKey, value: new Date() }, // workflow time: deterministic
    ]);
    await db.recordAssetStatus({ ...ref, status, ...(error !== undefined ? { error } : {}) });
  }

  /** Runs one step (or steps produced together), recording running → done | failed. Returns undefined when it failed. */
  async function step<T>(steps: IngestStep[], work: () => Promise<T>): Promise<T | undefined> {
    for (const s of steps) state.steps[s] = { status: 'running', progress: 0, error: null };
    await db.recordIngestSteps({ ...ref, steps, status: 'running' });
    try {
      const result = await work();
      for (const s of steps) state.steps[s] = { status: 'done', progress: 100, error: null };
      await db.recordIngestSteps({ ...ref, steps, status: 'done' });
      return result;
    } catch (err) {
      if (isCancellation(err)) throw err;
      const error = describeFailure(err);
      for (const s of steps) state.steps[s] = { status: 'failed', progress: 0, error };
      await db.recordIngestSteps({ ...ref, steps, status: 'failed', error });
      return undefined;
    }
  }

  try {
    const full = !input.steps || input.steps.includes('validate') || input.steps.includes('metadata');
    let source: AssetSourceInfo | null;
    if (full) {
      await enter('ingesting', 'validating', null);
      const validated = await step(['validate'], () => light.validateAssetOriginal({
        ...ref, originalKey: input.originalKey, filename: input.filename, sizeBytes: input.sizeBytes, sha256: input.sha256, limits: input.limits,
      }));
      const saved = validated && await step(['metadata'], async () => {
        await db.recordAssetMetadata({ ...ref, source: validated.source, probe: validated.probe, videoCodec: validated.videoCodec, audioCodec: validated.audioCodec });
        return true;
      });
      source = saved ? validated.source : null;
    } else {
      source = await db.loadAssetSource(ref);
      if (!source) {
        await db.recordIngestSteps({ ...ref, steps: ['validate'], status: 'failed', error: { code: 'NOT_VALIDATED', message: 'The original was never validated; reprocess "validate" first' } });
      }
    }

    if (source) {
      state.type = source.type;
      await enter('processing', 'rendering');
      const ofType = RENDER_STEPS[source.type];
      const wanted = new Set(input.steps ? input.steps.filter((s) => ofType.includes(s)) : ofType);
      const stepInput = { ...ref, originalKey: input.originalKey, createdAt: input.createdAt, source };
      const save = async (renditions: Parameters<AssetDbActivities['saveRenditions']>[0]['renditions']) => db.saveRenditions({ ...ref, renditions });
      const work: Array<Promise<unknown>> = [];
      if (source.type === 'video') {
        const encodes: IngestStep[] = (['proxy', 'hls'] as const).filter((s) => wanted.has(s));
        if (encodes.length > 0) {
          work.push(step(encodes, async () => save(await heavy.encodeAssetVideoRenditions({ ...stepInput, want: { proxies: wanted.has('proxy'), hls: wanted.has('hls') } }))));
        }
        if (wanted.has('poster')) work.push(step(['poster'], async () => save([await light.renderAssetPoster(stepInput)])));
        if (wanted.has('sprite')) work.push(step(['sprite'], async () => save([await light.renderAssetSprite(stepInput)])));
        if (wanted.has('scenes')) work.push(step(['scenes'], async () => db.replaceSceneMarkers({ ...ref, scenes: await light.detectAssetScenes(stepInput) })));
      } else if (source.type === 'audio') {
        if (wanted.has('audio_proxy')) work.push(step(['audio_proxy'], async () => save([await heavy.encodeAssetAudioProxy(stepInput)])));
        if (wanted.has('waveform')) work.push(step(['waveform'], async () => save([await light.renderAssetWaveform(stepInput)])));
      } else if (source.type === 'image') {
        if (wanted.has('thumbnails')) work.push(step(['thumbnails'], async () => save(await light.renderAssetThumbnails(stepInput))));
      }
      await Promise.all(work);
    }

    const outcome = await db.finishIngest(ref);
    state.status = outcome.status;
    state.error = outcome.error;
    upsertSearchAttributes([{ key: StageKey, value: outcome.status }, { key: StageSinceKey, value: new Date() }]); // workflow time
    if (outcome.status === 'failed') {
      // Failed in the Web UI too; the asset row and its steps say which step and why.
      throw ApplicationFailure.nonRetryable(outcome.error?.message ?? 'Ingest failed', outcome.error?.code ?? 'PROCESSING_ERROR');
    }
    return state;
  } catch (err) {
    if (isCancellation(err)) {
      await CancellationScope.nonCancellable(async () => {
        const running = (Object.keys(state.steps) as IngestStep[]).filter((s) => state.steps[s]?.status === 'running');
        const error = { code: 'CANCELLED', message: 'The ingest was cancelled' };
        if (running.length > 0) await db.recordIngestSteps({ ...ref, steps: running, status: 'failed', error });
        await enter('failed', 'cancelled', error);
      });
    }
    throw err;
  }
}

function describeFailure(err: unknown): StepError {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  if (cause instanceof ApplicationFailure && cause.type && INGEST_NON_RETRYABLE.includes(cause.type)) {
    return { code: cause.type, message: cause.message };
  }
  return { code: 'PROCESSING_ERROR', message: cause instanceof Error ? cause.message : 'The step failed' };
}
