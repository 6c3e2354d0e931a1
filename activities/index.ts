/**
 * createActivities(deps): every activity function, with its dependencies injected by the worker.
 * Grouped by concern: media/ (ffprobe, ffmpeg), analysis/ (pure CPU scoring), db/ (projections), storage/,
 * notify/ (e-mail), ai/ (provider calls).
 */
import type { Config } from '../lib/config.ts';
import type { Orm } from '../lib/db/orm.ts';
import type { Logger } from '../lib/logger.ts';
import type { Mailer } from '../lib/notify/mailer.ts';
import type { StorageDriver } from '../lib/storage/index.ts';
import { createTranscriptionActivities } from './ai/transcribe-music.ts';
import { createSuggestClipsActivities } from './analysis/suggest-clips-for-job.ts';
import { createClipJobDbActivities } from './db/clip-jobs.ts';
import { createClipRenderDbActivities } from './db/clip-renders.ts';
import { createInterpretFeedbackActivities } from './learning/interpret-feedback.ts';
import { createSaveLearningCenterActivities } from './learning/save-learning-center.ts';
import { createAssetPartitionActivities } from './db/asset-partitions.ts';
import { createAssetUploadActivities } from './db/asset-uploads.ts';
import { createAssetDbActivities } from './db/assets.ts';
import { createMusicDbActivities } from './db/music.ts';
import { createFramesDbActivities } from './db/frames-jobs.ts';
import { createProbeDbActivities } from './db/probe-jobs.ts';
import { createAnalyzeMusicActivities } from './media/analyze-music-audio.ts';
import { createAnalyzeVideoActivities } from './media/analyze-video-original.ts';
import { createCheckClipRenderActivities } from './media/check-clip-render.ts';
import { createRenderClipVariantActivities } from './media/render-clip-variant.ts';
import { createSyncClipMusicActivities } from './media/sync-clip-music.ts';
import type { AssetMediaDeps } from './media/asset-workspace.ts';
import { createEncodeVideoRenditionActivities } from './media/encode-video-renditions.ts';
import { createExtractVideoFramesActivities } from './media/extract-video-frames.ts';
import { createAudioRenditionActivities } from './media/render-audio-renditions.ts';
import { createImageThumbnailActivities } from './media/render-image-thumbnails.ts';
import { createVideoPreviewActivities } from './media/render-video-previews.ts';
import { createValidateAssetActivities } from './media/validate-asset-original.ts';
import { createProbeMediaActivities } from './media/probe-uploaded-media.ts';
import { createNotifyActivities } from './notify/send-email.ts';
import { createStorageActivities } from './storage/delete-objects.ts';
import { createPurgeDeletedAssetActivities } from './storage/purge-deleted-assets.ts';

export interface ActivityDeps {
  orm: Orm;
  storage: StorageDriver;
  mailer: Mailer;
  logger: Logger;
  media: Config['media'];
  frames: Pick<Config['frames'], 'timeoutMinutes'>;
  assets: Pick<Config['assets'], 'ingestTimeoutMinutes'>;
  ai: Config['ai'];
  clips: Pick<Config['clips'], 'baselineWeights'>;
  /** Where heavy activities make their per-job temp dirs (default: the OS temp dir). */
  workDir?: string;
}

export function createActivities(deps: ActivityDeps) {
  const assetMedia: AssetMediaDeps = {
    orm: deps.orm,
    storage: deps.storage,
    ffmpegPath: deps.media.ffmpegPath,
    ffprobePath: deps.media.ffprobePath,
    probeTimeoutMs: deps.media.probeTimeoutMs,
    renderTimeoutMs: deps.assets.ingestTimeoutMinutes * 60_000,
    workDir: deps.workDir,
  };
  const clipMedia = {
    orm: deps.orm,
    storage: deps.storage,
    ffmpegPath: deps.media.ffmpegPath,
    ffprobePath: deps.media.ffprobePath,
    probeTimeoutMs: deps.media.probeTimeoutMs,
    timeoutMs: assetMedia.renderTimeoutMs,
    workDir: deps.workDir,
  };
  return {
    ...createProbeDbActivities({ orm: deps.orm }),
    ...createFramesDbActivities({ orm: deps.orm }),
    ...createAssetPartitionActivities({ orm: deps.orm }),
    ...createProbeMediaActivities({ storage: deps.storage, ffprobePath: deps.media.ffprobePath, probeTimeoutMs: deps.media.probeTimeoutMs }),
    ...createExtractVideoFramesActivities({
      orm: deps.orm,
      storage: deps.storage,
      ffmpegPath: deps.media.ffmpegPath,
      timeoutMs: deps.frames.timeoutMinutes * 60_000,
      workDir: deps.workDir,
    }),
    ...createAssetDbActivities({ orm: deps.orm }),
    ...createAssetUploadActivities({ orm: deps.orm, storage: deps.storage }),
    ...createValidateAssetActivities(assetMedia),
    ...createVideoPreviewActivities(assetMedia),
    ...createEncodeVideoRenditionActivities(assetMedia),
    ...createAudioRenditionActivities(assetMedia),
    ...createImageThumbnailActivities(assetMedia),
    ...createMusicDbActivities({ orm: deps.orm }),
    ...createTranscriptionActivities({ orm: deps.orm, storage: deps.storage, ai: deps.ai, logger: deps.logger, workDir: deps.workDir }),
    ...createAnalyzeMusicActivities({ orm: deps.orm, storage: deps.storage, ffmpegPath: deps.media.ffmpegPath, timeoutMs: 10 * 60_000, workDir: deps.workDir }),
    ...createClipJobDbActivities({ orm: deps.orm }),
    ...createAnalyzeVideoActivities({ orm: deps.orm, storage: deps.storage, ffmpegPath: deps.media.ffmpegPath, timeoutMs: assetMedia.renderTimeoutMs, workDir: deps.workDir }),
    ...createSyncClipMusicActivities({ ...clipMedia, timeoutMs: 10 * 60_000 }),
    ...createSuggestClipsActivities({ orm: deps.orm, baselineWeights: deps.clips.baselineWeights }),
    ...createClipRenderDbActivities({ orm: deps.orm }),
    ...createSaveLearningCenterActivities({ orm: deps.orm }),
    ...createInterpretFeedbackActivities({ orm: deps.orm, ai: deps.ai, logger: deps.logger }),
    ...createRenderClipVariantActivities(clipMedia),
    ...createCheckClipRenderActivities(clipMedia),
    ...createStorageActivities({ storage: deps.storage }),
    ...createPurgeDeletedAssetActivities({ orm: deps.orm, storage: deps.storage }),
    ...createNotifyActivities({ mailer: deps.mailer, logger: deps.logger }),
  };
}

export type Activities = ReturnType<typeof createActivities>;

/**
 * The AI worker's activities (workers/ai.ts, task queue AI_TASK_QUEUE): the paid provider calls
 * only — transcribeMusic and interpretFeedbackWithAi — so the queue's rate limit is the provider's.
 */
export function createAiActivities(deps: Pick<ActivityDeps, 'orm' | 'storage' | 'ai' | 'logger' | 'workDir'>) {
  const { interpretFeedbackWithAi } = createInterpretFeedbackActivities({ orm: deps.orm, ai: deps.ai, logger: deps.logger });
  return {
    ...createTranscriptionActivities({ orm: deps.orm, storage: deps.storage, ai: deps.ai, logger: deps.logger, workDir: deps.workDir }),
    interpretFeedbackWithAi,
  };
}

export type AiActivities = ReturnType<typeof createAiActivities>;
