/**
 * Projection of a `probeMedia` workflow: written by its activities so lists and tenant filters are
 * cheap. The workflow is the state machine; this row never drives a transition.
 */
import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import type { MediaMetadata } from '../lib/ffmpeg/metadata.ts';

export const PROBE_STATUSES = ['QUEUED', 'RUNNING', 'DONE', 'FAILED'] as const;
export type ProbeStatus = (typeof PROBE_STATUSES)[number];

export const ProbeJob = defineEntity({
  name: 'ProbeJob',
  tableName: 'probe_jobs',
  properties: {
    id: p.uuid().primary(),
    tenantId: p.string().length(64).index(),
    ownerId: p.string().length(64),
    filename: p.string().length(255),
    contentType: p.string().length(255).nullable(),
    sizeBytes: p.bigint('number'),
    sha256: p.string().length(64),
    storageKey: p.string().length(1024),
    workflowId: p.string().length(255),
    status: p.enum(PROBE_STATUSES).default('QUEUED'),
    stage: p.string().length(64).default('queued'),
    result: p.json<MediaMetadata>().nullable(),
    errorCode: p.string().length(64).nullable(),
    errorMessage: p.text().nullable(),
    traceparent: p.string().length(64).nullable(),
    createdAt: p.datetime().onCreate(() => new Date()),
    updatedAt: p.datetime().onCreate(() => new Date()).onUpdate(() => new Date()),
    startedAt: p.datetime().nullable(),
    completedAt: p.datetime().nullable(),
  },
});

export type IProbeJob = InferEntity<typeof ProbeJob>;
