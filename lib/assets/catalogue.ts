/**
 * The asset catalogue's vocabulary, shared by the API, the ingest workflow and its activities
 * (pure constants and types: safe to import from workflow code).
 */

export const ASSET_TYPES = ['video', 'audio', 'image', 'document'] as const;
export type AssetType = (typeof ASSET_TYPES)[number];

/** pending (stored, ingest not started) → ingesting (validate, metadata) → processing (renditions) → available | failed. */
export const ASSET_STATUSES = ['pending', 'ingesting', 'processing', 'available', 'failed'] as const;
export type AssetStatus = (typeof ASSET_STATUSES)[number];

export const RENDITION_PURPOSES = ['poster', 'thumbnail', 'sprite', 'proxy', 'hls', 'waveform'] as const;
export type RenditionPurpose = (typeof RENDITION_PURPOSES)[number];

/**
 * Every rendition an ingest can produce, by its stable name (unique per asset). The purpose is
 * the catalogue's column; the bucket is where its objects live.
 */
export const RENDITIONS = {
  poster: { purpose: 'poster', bucket: 'thumbnails' },
  sprite: { purpose: 'sprite', bucket: 'thumbnails' },
  proxy_480: { purpose: 'proxy', bucket: 'proxies' },
  proxy_720: { purpose: 'proxy', bucket: 'proxies' },
  hls: { purpose: 'hls', bucket: 'proxies' },
  audio_proxy: { purpose: 'proxy', bucket: 'proxies' },
  waveform: { purpose: 'waveform', bucket: 'thumbnails' },
  thumbnail_256: { purpose: 'thumbnail', bucket: 'thumbnails' },
  thumbnail_1024: { purpose: 'thumbnail', bucket: 'thumbnails' },
} as const satisfies Record<string, { purpose: RenditionPurpose; bucket: 'thumbnails' | 'proxies' }>;
export type RenditionName = keyof typeof RENDITIONS;
export const RENDITION_NAMES = Object.keys(RENDITIONS) as RenditionName[];

/** The recorded steps of an ingest, in the order they run. */
export const INGEST_STEPS = ['validate', 'metadata', 'poster', 'sprite', 'proxy', 'hls', 'scenes', 'audio_proxy', 'waveform', 'thumbnails'] as const;
export type IngestStep = (typeof INGEST_STEPS)[number];
export const STEP_STATUSES = ['pending', 'running', 'done', 'failed', 'skipped'] as const;
export type StepStatus = (typeof STEP_STATUSES)[number];

/** The rendering steps of each type (validate and metadata always run first). */
export const RENDER_STEPS: Record<AssetType, readonly IngestStep[]> = {
  video: ['poster', 'sprite', 'proxy', 'hls', 'scenes'],
  audio: ['audio_proxy', 'waveform'],
  image: ['thumbnails'],
  document: [],
};

/** Which renditions each step produces (a re-run replaces exactly these). */
export const STEP_RENDITIONS: Partial<Record<IngestStep, readonly RenditionName[]>> = {
  poster: ['poster'],
  sprite: ['sprite'],
  proxy: ['proxy_480', 'proxy_720'],
  hls: ['hls'],
  audio_proxy: ['audio_proxy'],
  waveform: ['waveform'],
  thumbnails: ['thumbnail_256', 'thumbnail_1024'],
};

export const MARKER_TYPES = ['chapter', 'segment', 'highlight', 'comment', 'scene'] as const;
export type MarkerType = (typeof MARKER_TYPES)[number];
/** `detection`: written by the ingest's scene-cut step (replaced when the step re-runs). */
export const MARKER_SOURCES = ['manual', 'ai', 'import', 'detection'] as const;
export type MarkerSource = (typeof MARKER_SOURCES)[number];

export const KEYWORD_SOURCES = ['manual', 'ai', 'import'] as const;
export type KeywordSource = (typeof KEYWORD_SOURCES)[number];

/** Asset priority: lower = sooner; mapped onto Temporal's priority keys 1 (first) … 5 (last). */
export const DEFAULT_ASSET_PRIORITY = 100;
export const MIN_ASSET_PRIORITY = 0;
export const MAX_ASSET_PRIORITY = 1000;
export function temporalPriorityKey(priority: number): number {
  if (priority < 50) return 1;
  if (priority < 100) return 2;
  if (priority < 150) return 3;
  if (priority < 300) return 4;
  return 5;
}

export const ingestWorkflowId = (assetId: string) => `ingest-${assetId}`;
