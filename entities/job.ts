/**
 * Projection of a frames job (workflow `extractFrames`, id `frames-<id>`). The workflow is the
 * state machine; its activities write this row and append each transition to `job_events`.
 */
import { defineEntity, p, type InferEntity } from '@mikro-orm/core';

export const JOB_STATUSES = ['UPLOADED', 'QUEUED', 'PROCESSING', 'DONE', 'FAILED', 'CANCELLED', 'EXPIRED'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];
export const TERMINAL_JOB_STATUSES: readonly JobStatus[] = ['DONE', 'FAILED', 'CANCELLED', 'EXPIRED'];

export const Job = defineEntity({
  name: 'Job',
  tableName: 'jobs',
  properties: {
    id: p.uuid().primary(),
    tenantId: p.uuid(),
    ownerId: p.uuid(),
    kind: p.string().length(32),
    filename: p.string().length(255),
    contentType: p.string().length(255).nullable(),
    sizeBytes: p.bigint('number'),
    sha256: p.string().length(64),
    originalKey: p.string().length(1024),
    demuxer: p.string().length(32),
    durationMs: p.bigint('number').nullable(),
    videoCodec: p.string().length(32).nullable(),
    zipKey: p.string().length(1024).nullable(),
    zipBytes: p.bigint('number').nullable(),
    status: p.enum(JOB_STATUSES),
    stage: p.string().length(64),
    progress: p.integer().default(0),
    frameCount: p.integer().nullable(),
    errorCode: p.string().length(64).nullable(),
    errorMessage: p.text().nullable(),
    workflowId: p.string().length(255),
    runCount: p.integer().default(1),
    createdAt: p.datetime().onCreate(() => new Date()),
    updatedAt: p.datetime().onCreate(() => new Date()).onUpdate(() => new Date()),
    startedAt: p.datetime().nullable(),
    completedAt: p.datetime().nullable(),
    expiresAt: p.datetime().nullable(),
  },
});

export type IJob = InferEntity<typeof Job>;

export const JobEvent = defineEntity({
  name: 'JobEvent',
  tableName: 'job_events',
  properties: {
    id: p.uuid().primary(),
    jobId: p.uuid(),
    tenantId: p.uuid(),
    eventType: p.string().length(64),
    oldStatus: p.enum(JOB_STATUSES).nullable(),
    newStatus: p.enum(JOB_STATUSES).nullable(),
    metadata: p.json<Record<string, unknown>>().nullable(),
    createdAt: p.datetime().onCreate(() => new Date()),
  },
});

export type IJobEvent = InferEntity<typeof JobEvent>;
