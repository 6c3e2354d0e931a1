/**
 * The jobs projection: one row per job plus an append-only `job_events` trail. Writes are
 * idempotent: recording the status a job already has changes nothing and appends no event, so a
 * retried activity never duplicates a transition.
 */
import { randomUUID } from 'node:crypto';
import { LockMode, type EntityManager } from '@mikro-orm/core';
import { Job, JobEvent, type IJob, type JobStatus } from '../../entities/index.ts';

export type JobFields = Partial<Pick<IJob,
  'stage' | 'progress' | 'frameCount' | 'zipKey' | 'zipBytes' | 'errorCode' | 'errorMessage' | 'startedAt' | 'completedAt' | 'expiresAt' | 'runCount'>>;

export interface Transition {
  jobId: string;
  tenantId: string;
  to: JobStatus;
  fields?: JobFields;
  metadata?: Record<string, unknown>;
}

/** Moves the job to `to` (with `fields`) and appends the event; returns the status it had. */
export async function transitionJob(em: EntityManager, t: Transition): Promise<{ from: JobStatus | null; changed: boolean }> {
  return em.transactional(async (tx) => {
    const job = await tx.findOne(Job, { id: t.jobId, tenantId: t.tenantId }, { lockMode: LockMode.PESSIMISTIC_WRITE });
    if (!job) return { from: null, changed: false };
    const from = job.status;
    if (from === t.to) {
      if (t.fields) await tx.nativeUpdate(Job, { id: t.jobId, tenantId: t.tenantId }, { ...t.fields, updatedAt: new Date() });
      return { from, changed: false };
    }
    await tx.nativeUpdate(Job, { id: t.jobId, tenantId: t.tenantId }, { status: t.to, ...t.fields, updatedAt: new Date() });
    await tx.insert(JobEvent, {
      id: randomUUID(),
      jobId: t.jobId,
      tenantId: t.tenantId,
      eventType: 'status_changed',
      oldStatus: from,
      newStatus: t.to,
      metadata: t.metadata ?? null,
    });
    return { from, changed: true };
  });
}

/** Progress of a running job (no event: progress is not a transition). */
export async function recordJobProgress(em: EntityManager, p: { jobId: string; tenantId: string; progress: number; frameCount: number; stage?: string }): Promise<void> {
  await em.nativeUpdate(
    Job,
    { id: p.jobId, tenantId: p.tenantId, status: 'PROCESSING' },
    { progress: Math.max(0, Math.min(100, Math.round(p.progress))), frameCount: p.frameCount, ...(p.stage ? { stage: p.stage } : {}), updatedAt: new Date() },
  );
}
