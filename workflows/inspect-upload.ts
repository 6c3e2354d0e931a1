/**
 * The body shared by the inspect* workflows: search attributes for the Web UI, then one probe of
 * the uploaded object (ffprobe with only allowed demuxers). Not a workflow type itself.
 */
import { proxyActivities, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { ProbedMedia, ProbeMediaActivities, ProbeUploadedMediaInput } from '../activities/media/probe-uploaded-media.ts';
import { JobKindKey, OwnerIdKey, StageKey, StageSinceKey, TenantIdKey } from '../lib/temporal/search-attributes.ts';

const media = proxyActivities<ProbeMediaActivities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', maximumAttempts: 3, nonRetryableErrorTypes: ['INVALID_MEDIA', 'PROBE_TIMEOUT', 'UPLOAD_MISSING'] },
});

export async function inspectUploadedObject(
  input: { tenantId: string; ownerId: string; storageKey: string },
  probe: Pick<ProbeUploadedMediaInput, 'accept' | 'bucket'>,
): Promise<ProbedMedia> {
  upsertSearchAttributes([
    { key: TenantIdKey, value: input.tenantId },
    { key: OwnerIdKey, value: input.ownerId },
    { key: JobKindKey, value: 'inspect' },
    { key: StageKey, value: 'probing' },
    { key: StageSinceKey, value: new Date() }, // workflow time: deterministic
  ]);
  return media.probeUploadedMedia({ tenantId: input.tenantId, storageKey: input.storageKey, workflowId: workflowInfo().workflowId, ...probe });
}
