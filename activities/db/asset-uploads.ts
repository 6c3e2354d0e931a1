/**
 * Direct-upload sessions (`asset_uploads`) left pending past their expiry: their multipart upload
 * is aborted and any stored object deleted, then the session is marked `expired`. Idempotent and
 * safe to run at any time (a scheduled workflow calls it).
 */
import { Asset, AssetUpload, type IAssetUpload } from '../../entities/index.ts';
import type { Orm } from '../../lib/db/orm.ts';
import type { StorageDriver } from '../../lib/storage/index.ts';

/**
 * A session is swept this long after its expires_at, not at once: `complete` refuses an expired
 * session, so by then no complete that began in time can still be creating its asset.
 */
export const EXPIRY_GRACE_MS = 15 * 60_000;
export const DEFAULT_EXPIRY_BATCH = 500;
const MAX_EXPIRY_BATCH = 5_000;

export interface AssetUploadDeps {
  orm: Orm;
  storage: StorageDriver;
}

type UploadRef = Pick<IAssetUpload, 'tenantId' | 'assetId' | 'storageKey' | 'multipartUploadId'>;

/** True when an asset was made from the session (a complete got that far): its object is the asset's original. */
async function assetExists(orm: Orm, upload: UploadRef): Promise<boolean> {
  return Boolean(await orm.em.fork().findOne(Asset, { id: upload.assetId, tenantId: upload.tenantId }, { fields: ['id'] }));
}

/**
 * Removes what a session stored: its multipart upload (parts) and the object, unless an asset was
 * made from it. Idempotent. Returns false when it left things alone because the asset exists.
 */
export async function discardUploadedObject(deps: AssetUploadDeps, upload: UploadRef): Promise<boolean> {
  if (upload.multipartUploadId) await deps.storage.abortMultipartUpload('originals', upload.storageKey, upload.multipartUploadId);
  if (await assetExists(deps.orm, upload)) return false;
  await deps.storage.delete('originals', upload.storageKey);
  return true;
}

export function createAssetUploadActivities(deps: AssetUploadDeps) {
  return {
    /**
     * Expires up to `limit` pending sessions whose expires_at is more than EXPIRY_GRACE_MS before
     * `now` (ISO; default the current time), oldest first. A session whose asset exists (a complete
     * that got that far) is marked completed instead. Returns how many were expired.
     */
    async abortExpiredAssetUploads(input: { now?: string; limit?: number } = {}): Promise<{ aborted: number }> {
      const now = input.now ? new Date(input.now) : new Date();
      if (Number.isNaN(now.getTime())) throw new TypeError(`now is not a date: ${JSON.stringify(input.now)}`);
      const limit = Math.min(Math.max(1, Math.floor(input.limit ?? DEFAULT_EXPIRY_BATCH)), MAX_EXPIRY_BATCH);
      const cutoff = new Date(now.getTime() - EXPIRY_GRACE_MS);
      const due = await deps.orm.em.fork().find(
        AssetUpload,
        { status: 'pending', expiresAt: { $lt: cutoff } },
        { orderBy: { expiresAt: 'asc', id: 'asc' }, limit, fields: ['id', 'tenantId', 'assetId', 'storageKey', 'multipartUploadId'] },
      );
      let aborted = 0;
      for (const upload of due) {
        const em = deps.orm.em.fork();
        if (!(await discardUploadedObject(deps, upload))) {
          await em.nativeUpdate(AssetUpload, { id: upload.id, status: 'pending' }, { status: 'completed', completedAt: now });
          continue;
        }
        aborted += await em.nativeUpdate(AssetUpload, { id: upload.id, status: 'pending' }, { status: 'expired' });
      }
      return { aborted };
    },
  };
}

export type AssetUploadActivities = ReturnType<typeof createAssetUploadActivities>;
