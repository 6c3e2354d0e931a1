/** Every workflow type the main worker runs. One file per workflow. */
export { extractFrames } from './extract-frames.ts';
export { inspectVideo } from './inspect-video.ts';
export { maintainAssetPartitions } from './maintain-asset-partitions.ts';
export { probeMedia } from './probe-media.ts';
export { ingestAsset } from './ingest-asset.ts';
export { cleanUpAssets } from './clean-up-assets.ts';
export { inspectMusic } from './inspect-music.ts';
export { analyzeMusic } from './analyze-music.ts';
export { analyzeVideo } from './analyze-video.ts';
export { clipJob } from './clip-job.ts';
export { learningCenter } from './learning-center.ts';
