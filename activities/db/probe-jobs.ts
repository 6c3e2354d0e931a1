/** Projection writes for probe jobs. Idempotent: each sets absolute values, scoped by tenant. */
import type { Orm } from '../../lib/db/orm.ts';
import { ProbeJob } from '../../entities/index.ts';
import type { MediaMetadata } from '../../lib/ffmpeg/metadata.ts';

export interface ProbeRef {
  probeId: string;
  tenantId: string;
}

export function createProbeDbActivities(deps: { orm: Orm }) {
  const update = (ref: ProbeRef, data: Partial<Record<string, unknown>>) =>
    deps.orm.em.fork().nativeUpdate(ProbeJob, { id: ref.probeId, tenantId: ref.tenantId }, data);

  return {
    async markProbeRunning(ref: ProbeRef): Promise<void> {
      await update(ref, { status: 'RUNNING', stage: 'probing', startedAt: new Date() });
    },
    async recordProbeResult(input: ProbeRef & { metadata: MediaMetadata }): Promise<void> {
      await update(input, { status: 'DONE', stage: 'done', result: input.metadata, errorCode: null, errorMessage: null, completedAt: new Date() });
    },
    async recordProbeFailure(input: ProbeRef & { code: string; message: string }): Promise<void> {
      await update(input, { status: 'FAILED', stage: 'failed', errorCode: input.code, errorMessage: input.message.slice(0, 2000), completedAt: new Date() });
    },
  };
}

export type ProbeDbActivities = ReturnType<typeof createProbeDbActivities>;
