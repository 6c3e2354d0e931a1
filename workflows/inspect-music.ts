/**
 * inspectMusic (id `inspect-music-<musicId>`): probes an uploaded track before it is accepted, so
 * the API answers 422 (INVALID_MEDIA, NO_AUDIO_STREAM, AUDIO_TOO_SHORT, AUDIO_TOO_LONG) at once
 * without running ffprobe itself.
 */
import { proxyActivities, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { ProbedMedia, ProbeMediaActivities } from '../activities/media/probe-uploaded-media.ts';
import { JobKindKey, OwnerIdKey, StageKey, StageSinceKey, TenantIdKey } from '../lib/temporal/search-attributes.ts';

export interface InspectMusicInput {
  tenantId: string;
  ownerId: string;
  storageKey: string;
}

const media = proxyActivities<ProbeMediaActivities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', maximumAttempts: 3, nonRetryableErrorTypes: ['INVALID_MEDIA', 'PROBE_TIMEOUT', 'UPLOAD_MISSING'] },
});

export async function inspectMusic(input: InspectMusicInput): Promise<ProbedMedia> {
  upsertSearchAttributes([
    { key: TenantIdKey, value: input.tenantId },
    { key: OwnerIdKey, value: input.ownerId },
    { key: JobKindKey, value: 'inspect' },
    { key: StageKey, value: 'probing' },
    { key: StageSinceKey, value: new Date() }, // workflow time: deterministic
  ]);
  return media.probeUploadedMedia({ tenantId: input.tenantId, storageKey: input.storageKey, workflowId: workflowInfo().workflowId, accept: 'media', bucket: 'originals' });
}
