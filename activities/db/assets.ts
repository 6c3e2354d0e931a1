/**
 * The asset catalogue's projection, written by the ingestAsset workflow: the asset's status and
 * technical metadata, one row per ingest step, the renditions (upserted by name: a retried or
 * re-run step replaces its rendition, never adds a second) and the detected scene markers.
 * Every write is idempotent.
 */
import { randomUUID } from 'node:crypto';
import { Asset, AssetIngestStep, AssetMarker } from '../../entities/index.ts';
import {
  RENDER_STEPS,
  RENDITIONS,
  type AssetStatus,
  type AssetType,
  type IngestStep,
  type RenditionName,
  type StepStatus,
} from '../../lib/assets/catalogue.ts';
import type { Orm } from '../../lib/db/orm.ts';
import type { MediaMetadata } from '../../lib/ffmpeg/metadata.ts';

export interface AssetRef {
  assetId: string;
  tenantId: string;
}

export interface StepError {
  code: string;
  message: string;
}

/** What the renderers need to know about the original (from validate, or from the row on reprocess). */
export interface AssetSourceInfo {
  type: AssetType;
  demuxer: string | null;
  durationMs: number | null;
  width: number | null;
  height: number | null;
  fps: number | null;
  hasAudio: boolean;
  hasVideo: boolean;
}

export interface RenditionRecord {
  name: RenditionName;
  storageKey: string;
  contentType: string;
  sizeBytes: number;
  width?: number | null;
  height?: number | null;
  bitrate?: number | null;
  metadata?: Record<string, unknown> | null;
}

export interface AssetMetadataRecord extends AssetRef {
  source: AssetSourceInfo;
  /** Normalized ffprobe output (null for documents). */
  probe: MediaMetadata | null;
  videoCodec: string | null;
  audioCodec: string | null;
}

export function createAssetDbActivities(deps: { orm: Orm }) {
  const em = () => deps.orm.em.fork();

  return {
    async recordAssetStatus(input: AssetRef & { status: AssetStatus; error?: StepError | null }): Promise<void> {
      await em().nativeUpdate(Asset, { id: input.assetId, tenantId: input.tenantId }, {
        status: input.status,
        ...(input.error !== undefined ? { errorCode: input.error?.code ?? null, errorMessage: input.error?.message ?? null } : {}),
        updatedAt: new Date(),
      });
    },

    /** Upserts the steps' rows: running counts an attempt and restarts the clock; done/failed stop it. */
    async recordIngestSteps(input: AssetRef & { steps: IngestStep[]; status: StepStatus; error?: StepError | null }): Promise<void> {
      const connection = deps.orm.em.getConnection();
      for (const step of input.steps) {
        const running = input.status === 'running';
        const finished = input.status === 'done' || input.status === 'failed' || input.status === 'skipped';
        await connection.execute(
          `insert into asset_ingest_steps (tenant_id, asset_id, step, status, progress, attempts, started_at, finished_at, duration_ms, error_code, error_message, updated_at)
           values (?, ?, ?, ?, ?, ?, ${running ? 'now()' : 'null'}, ${finished ? 'now()' : 'null'}, null, ?, ?, now())
           on conflict (asset_id, step) do update set
             status = excluded.status,
             progress = case when excluded.status = 'done' then 100 when excluded.status in ('pending', 'running') then 0 else asset_ingest_steps.progress end,
             attempts = asset_ingest_steps.attempts + ${running ? 1 : 0},
             started_at = case when excluded.status = 'running' then now() when excluded.status = 'pending' then null else asset_ingest_steps.started_at end,
             finished_at = excluded.finished_at,
             duration_ms = case when excluded.finished_at is not null and asset_ingest_steps.started_at is not null
                                then (extract(epoch from (now() - asset_ingest_steps.started_at)) * 1000)::bigint end,
             error_code = excluded.error_code,
             error_message = excluded.error_message,
             updated_at = now()
           where asset_ingest_steps.tenant_id = excluded.tenant_id`,
          [input.tenantId, input.assetId, step, input.status, input.status === 'done' ? 100 : 0, running ? 1 : 0, input.error?.code ?? null, input.error?.message?.slice(0, 2000) ?? null],
        );
      }
    },

    async recordAssetMetadata(input: AssetMetadataRecord): Promise<void> {
      const { source } = input;
      await em().nativeUpdate(Asset, { id: input.assetId, tenantId: input.tenantId }, {
        type: source.type,
        durationMs: source.durationMs,
        width: source.width,
        height: source.height,
        fps: source.fps,
        videoCodec: input.videoCodec?.slice(0, 32) ?? null,
        audioCodec: input.audioCodec?.slice(0, 32) ?? null,
        technicalMetadata: { ...(input.probe ?? {}), demuxer: source.demuxer, has_audio: source.hasAudio, has_video: source.hasVideo },
        updatedAt: new Date(),
      });
    },

    /** The source info saved by a previous ingest (reprocess runs only the asked steps). */
    async loadAssetSource(input: AssetRef): Promise<AssetSourceInfo | null> {
      const asset = await em().findOne(Asset, { id: input.assetId, tenantId: input.tenantId });
      if (!asset || !asset.technicalMetadata) return null;
      const tech = asset.technicalMetadata as { demuxer?: string | null; has_audio?: boolean; has_video?: boolean };
      return {
        type: asset.type,
        demuxer: tech.demuxer ?? null,
        durationMs: asset.durationMs ?? null,
        width: asset.width ?? null,
        height: asset.height ?? null,
        fps: asset.fps ?? null,
        hasAudio: tech.has_audio ?? false,
        hasVideo: tech.has_video ?? false,
      };
    },

    async saveRenditions(input: AssetRef & { renditions: RenditionRecord[] }): Promise<void> {
      const connection = deps.orm.em.getConnection();
      for (const r of input.renditions) {
        const spec = RENDITIONS[r.name];
        await connection.execute(
          `insert into asset_renditions (id, tenant_id, asset_id, name, purpose, bucket, storage_key, content_type, size_bytes, width, height, bitrate, metadata, created_at)
           values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, now())
           on conflict (asset_id, name) do update set
             purpose = excluded.purpose, bucket = excluded.bucket, storage_key = excluded.storage_key, content_type = excluded.content_type,
             size_bytes = excluded.size_bytes, width = excluded.width, height = excluded.height, bitrate = excluded.bitrate,
             metadata = excluded.metadata, created_at = now()
           where asset_renditions.tenant_id = excluded.tenant_id`,
          [randomUUID(), input.tenantId, input.assetId, r.name, spec.purpose, spec.bucket, r.storageKey, r.contentType, r.sizeBytes,
            r.width ?? null, r.height ?? null, r.bitrate ?? null, r.metadata ? JSON.stringify(r.metadata) : null],
        );
      }
    },

    /** Replaces the scene markers of the scene-detection step (manual markers are never touched). */
    async replaceSceneMarkers(input: AssetRef & { scenes: Array<{ inMs: number; outMs: number }> }): Promise<{ count: number }> {
      await em().transactional(async (tx) => {
        await tx.nativeDelete(AssetMarker, { tenantId: input.tenantId, assetId: input.assetId, type: 'scene', source: 'detection' });
        const now = new Date();
        for (const [i, scene] of input.scenes.entries()) {
          await tx.insert(AssetMarker, {
            id: randomUUID(),
            tenantId: input.tenantId,
            assetId: input.assetId,
            type: 'scene',
            timecodeInMs: scene.inMs,
            timecodeOutMs: scene.outMs,
            title: `Scene ${i + 1}`,
            notes: null,
            source: 'detection',
            createdBy: null,
            createdAt: now,
            updatedAt: now,
          });
        }
      });
      return { count: input.scenes.length };
    },

    /**
     * Settles the asset after its rendering steps: available when every step of its type is done,
     * otherwise failed with the first failed step's error.
     */
    async finishIngest(input: AssetRef): Promise<{ status: AssetStatus; error: StepError | null }> {
      const store = em();
      const asset = await store.findOne(Asset, { id: input.assetId, tenantId: input.tenantId });
      if (!asset) return { status: 'failed', error: { code: 'ASSET_MISSING', message: 'The asset no longer exists' } };
      const rows = await store.find(AssetIngestStep, { assetId: input.assetId, tenantId: input.tenantId });
      const byStep = new Map(rows.map((r) => [r.step, r]));
      const needed: IngestStep[] = ['validate', 'metadata', ...RENDER_STEPS[asset.type]];
      const failed = needed.map((s) => byStep.get(s)).find((r) => r?.status === 'failed');
      const missing = needed.find((s) => byStep.get(s)?.status !== 'done');
      const status: AssetStatus = missing === undefined ? 'available' : 'failed';
      const error = status === 'available' ? null : failed
        ? { code: failed.errorCode ?? 'PROCESSING_ERROR', message: `${failed.step}: ${failed.errorMessage ?? 'failed'}` }
        : { code: 'PROCESSING_ERROR', message: `${missing}: did not complete` };
      await store.nativeUpdate(Asset, { id: input.assetId, tenantId: input.tenantId }, { status, errorCode: error?.code ?? null, errorMessage: error?.message ?? null, updatedAt: new Date() });
      return { status, error };
    },
  };
}

export type AssetDbActivities = ReturnType<typeof createAssetDbActivities>;
