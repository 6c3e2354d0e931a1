/**
 * Turning a stored original into an asset: the duplicate check (same SHA-256 in the tenant →
 * 409 DUPLICATE_ASSET unless allowed), the row, and the `ingestAsset` workflow (id `ingest-<id>`).
 * Shared by the multipart route and the direct-upload `complete` route.
 */
import type { Client } from '@temporalio/client';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import type { EntityManager } from '@mikro-orm/core';
import { Asset, type IAsset } from '../../entities/index.ts';
import { ingestWorkflowId, temporalPriorityKey, type AssetType, type IngestStep } from '../../lib/assets/catalogue.ts';
import type { Config } from '../../lib/config.ts';
import { withDependency } from '../../lib/dependencies.ts';
import { AppError } from '../../lib/errors.ts';
import { JobKindKey, OwnerIdKey, StageKey, StageSinceKey, TenantIdKey } from '../../lib/temporal/search-attributes.ts';
import type { ingestAsset } from '../../workflows/ingest-asset.ts';
import type { ApiDeps, AuthUser } from '../context.ts';

const START_DEADLINE_MS = 5_000;

export interface NewAsset {
  id: string;
  createdAt: Date;
  type: AssetType;
  title: string;
  description: string | null;
  code: string | null;
  priority: number;
  originalFilename: string;
  originalKey: string;
  contentType: string | null;
  sizeBytes: number;
  sha256: string;
}

export interface Trace {
  traceparent: string;
  requestId: string;
}

/** The id of a live asset of the tenant with this content, if any. */
export async function findDuplicate(em: EntityManager, tenantId: string, sha256: string): Promise<string | null> {
  const existing = await em.findOne(Asset, { tenantId, sha256, deletedAt: null }, { fields: ['id'] });
  return existing?.id ?? null;
}

export function duplicateAsset(existingId: string): AppError {
  return new AppError(409, 'DUPLICATE_ASSET', 'The tenant already has an asset with the same content; send allow_duplicate=true to keep both', {
    details: { existing_asset_id: existingId },
  });
}

/**
 * Inserts the asset (status pending) and starts its ingest. The duplicate check and the insert
 * run under one advisory lock per (tenant, sha256), so two concurrent uploads of the same content
 * cannot both pass. When the workflow cannot be started the row is removed again (the caller
 * removes the stored original).
 */
export async function acceptAsset(deps: ApiDeps, user: AuthUser, asset: NewAsset, options: { allowDuplicate: boolean; trace: Trace }): Promise<IAsset> {
  const em = deps.orm.em.fork();
  const row = {
    id: asset.id,
    partitionDate: asset.createdAt.toISOString().slice(0, 10),
    tenantId: user.tenantId,
    code: asset.code,
    title: asset.title,
    description: asset.description,
    type: asset.type,
    status: 'pending' as const,
    originalFilename: asset.originalFilename,
    originalKey: asset.originalKey,
    contentType: asset.contentType,
    sizeBytes: asset.sizeBytes,
    sha256: asset.sha256,
    priority: asset.priority,
    createdBy: user.id,
    createdAt: asset.createdAt,
    updatedAt: asset.createdAt,
  };
  await withDependency('postgresql', () => em.transactional(async (tx) => {
    await tx.getConnection().execute('select pg_advisory_xact_lock(hashtextextended(?, 0))', [`asset-sha256:${user.tenantId}:${asset.sha256}`], 'run', tx.getTransactionContext());
    if (!options.allowDuplicate) {
      const existing = await findDuplicate(tx, user.tenantId, asset.sha256);
      if (existing) throw duplicateAsset(existing);
    }
    await tx.insert(Asset, row);
  }));
  try {
    await startIngestWorkflow(deps, { ...asset, tenantId: user.tenantId, createdBy: user.id }, { trace: options.trace });
  } catch (err) {
    await em.nativeDelete(Asset, { id: asset.id, tenantId: user.tenantId }).catch(() => undefined);
    throw err;
  }
  const created = await withDependency('postgresql', () => em.fork().findOneOrFail(Asset, { id: asset.id, tenantId: user.tenantId }));
  return created;
}

export interface IngestTarget {
  id: string;
  tenantId: string;
  createdBy: string;
  type: AssetType;
  originalKey: string;
  originalFilename: string;
  sizeBytes: number;
  sha256: string;
  createdAt: Date;
  priority: number;
}

/**
 * Starts `ingest-<assetId>`: the whole ingest, or only `steps` (reprocess). A run still going
 * answers 409 INGEST_RUNNING.
 */
export async function startIngestWorkflow(
  deps: { temporal: Client; config: Config },
  asset: IngestTarget,
  options: { steps?: IngestStep[]; trace: Trace },
): Promise<void> {
  const { temporal, config } = deps;
  try {
    await withDependency('temporal', () => temporal.withDeadline(Date.now() + START_DEADLINE_MS, () =>
      temporal.workflow.start<typeof ingestAsset>('ingestAsset', {
        workflowId: ingestWorkflowId(asset.id),
        taskQueue: config.temporal.taskQueue,
        args: [{
          assetId: asset.id,
          tenantId: asset.tenantId,
          ownerId: asset.createdBy,
          type: asset.type,
          originalKey: asset.originalKey,
          filename: asset.originalFilename,
          sizeBytes: asset.sizeBytes,
          sha256: asset.sha256,
          createdAt: asset.createdAt.toISOString(),
          ...(options.steps ? { steps: options.steps } : {}),
          heavyTaskQueue: config.temporal.heavyTaskQueue,
          renderTimeoutMinutes: config.assets.ingestTimeoutMinutes,
          limits: { maxImagePixels: config.assets.maxImagePixels, maxDurationMs: config.assets.maxDurationMs },
          traceparent: options.trace.traceparent,
        }],
        priority: { priorityKey: temporalPriorityKey(asset.priority) },
        memo: {
          summary: `${options.steps ? `Reprocess ${options.steps.join(', ')} of` : 'Ingest'} ${asset.type} "${asset.originalFilename}" (${asset.sizeBytes} bytes)`,
          traceparent: options.trace.traceparent,
          requestId: options.trace.requestId,
        },
        staticSummary: `${options.steps ? 'Reprocess' : 'Ingest'} ${asset.originalFilename}`,
        typedSearchAttributes: [
          { key: TenantIdKey, value: asset.tenantId },
          { key: OwnerIdKey, value: asset.createdBy },
          { key: JobKindKey, value: 'ingest' },
          { key: StageKey, value: 'queued' },
          { key: StageSinceKey, value: new Date() },
        ],
      }),
    ));
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) {
      throw new AppError(409, 'INGEST_RUNNING', 'An ingest of this asset is still running; wait for it to finish');
    }
    throw err;
  }
}
