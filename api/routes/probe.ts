/**
 * POST /api/v1/probe — upload one media file; starts workflow `probeMedia` (id `probe-<id>`).
 * GET  /api/v1/probe/:id — the job's status, normalized metadata and error.
 */
import { randomUUID } from 'node:crypto';
import Router from '@koa/router';
import { z } from 'zod';
import { ProbeJob, PROBE_STATUSES, type IProbeJob } from '../../entities/index.ts';
import { withDependency } from '../../lib/dependencies.ts';
import { notFound } from '../../lib/errors.ts';
import { probeUploadKey } from '../../lib/storage/index.ts';
import { JobKindKey, OwnerIdKey, StageKey, StageSinceKey, TenantIdKey } from '../../lib/temporal/search-attributes.ts';
import type { probeMedia } from '../../workflows/probe-media.ts';
import type { ApiDeps } from '../context.ts';
import type { ApiRegistry } from '../openapi/registry.ts';
import { currentUser } from '../auth/authenticate.ts';
import { enforceLimit, type Limiter } from '../rate-limits.ts';
import { receiveFile } from '../uploads/receive-file.ts';

const TEMPORAL_START_DEADLINE_MS = 5_000;

const StreamSchema = z.object({
  type: z.enum(['video', 'audio', 'subtitle', 'data', 'attachment', 'unknown']),
  codec: z.string().nullable(),
  width: z.number().int().nullable(),
  height: z.number().int().nullable(),
  fps: z.number().nullable(),
  sample_rate: z.number().int().nullable(),
  channels: z.number().int().nullable(),
});

export const ProbeJobSchema = z
  .object({
    id: z.uuid(),
    status: z.enum(PROBE_STATUSES),
    workflow_id: z.string(),
    filename: z.string(),
    size_bytes: z.number().int(),
    sha256: z.string(),
    result: z
      .object({ container: z.string(), duration_ms: z.number().int().nullable(), bitrate: z.number().int().nullable(), streams: z.array(StreamSchema) })
      .nullable(),
    error: z.object({ code: z.string(), message: z.string() }).nullable(),
    created_at: z.iso.datetime(),
    completed_at: z.iso.datetime().nullable(),
  })
  .meta({ id: 'ProbeJob' });

const AcceptedSchema = z.object({ id: z.uuid(), status: z.literal('QUEUED'), workflow_id: z.string() }).meta({ id: 'ProbeAccepted' });

export function probeJobView(job: IProbeJob): z.infer<typeof ProbeJobSchema> {
  return {
    id: job.id,
    status: job.status,
    workflow_id: job.workflowId,
    filename: job.filename,
    size_bytes: job.sizeBytes,
    sha256: job.sha256,
    // Rebuilt field by field: JSONB does not keep key order.
    result: job.result
      ? {
          container: job.result.container,
          duration_ms: job.result.duration_ms,
          bitrate: job.result.bitrate,
          streams: job.result.streams.map((st) => ({
            type: st.type, codec: st.codec, width: st.width, height: st.height, fps: st.fps, sample_rate: st.sample_rate, channels: st.channels,
          })),
        }
      : null,
    error: job.errorCode ? { code: job.errorCode, message: job.errorMessage ?? '' } : null,
    created_at: job.createdAt.toISOString(),
    completed_at: job.completedAt ? job.completedAt.toISOString() : null,
  };
}

export function createProbeRouter(deps: ApiDeps, registry: ApiRegistry, uploads: Limiter | null): Router {
  const router = new Router();
  const { config, orm, storage, temporal } = deps;

  registry.addRoute(router, {
    method: 'post', path: '/api/v1/probe', operationId: 'createProbe', tags: ['Probe'], auth: 'user',
    summary: 'Upload a media file and probe it (ffprobe) in the background',
    description: `Multipart with one \`file\` part, streamed to storage (limit MAX_UPLOAD_MB = ${config.api.maxUploadBytes / 1048576} MB). Starts workflow \`probeMedia\` with id \`probe-<id>\`.`,
    rawBody: {
      contentType: 'multipart/form-data',
      schema: { type: 'object', required: ['file'], properties: { file: { type: 'string', format: 'binary' } } },
    },
    responses: {
      202: { description: 'Accepted; poll GET /api/v1/probe/{id}', schema: AcceptedSchema },
      400: { description: 'FILE_REQUIRED, INVALID_MULTIPART' },
      413: { description: 'PAYLOAD_TOO_LARGE; nothing is kept' },
      415: { description: 'UNSUPPORTED_MEDIA_TYPE: not multipart/form-data' },
      503: { description: 'DEPENDENCY_UNAVAILABLE (storage, postgresql or temporal); retry after Retry-After' },
    },
  }, async (ctx) => {
    const { traceparent, requestId } = ctx.state;
    const user = currentUser(ctx);
    const tenantId = user.tenantId;
    const ownerId = user.id;
    await enforceLimit(ctx, uploads, user.id);
    const id = randomUUID();
    const workflowId = `probe-${id}`;
    const file = await receiveFile(ctx, {
      storage,
      bucket: 'uploads',
      maxBytes: config.api.maxUploadBytes,
      keyFor: (filename) => probeUploadKey(tenantId, id, filename),
    });
    const em = orm.em.fork();
    const discardUpload = () => storage.delete(file.bucket, file.key).catch(() => undefined);
    try {
      await withDependency('postgresql', () =>
        em.insert(ProbeJob, {
          id, tenantId, ownerId,
          filename: file.filename.slice(0, 255),
          contentType: file.contentType?.slice(0, 255) ?? null,
          sizeBytes: file.sizeBytes,
          sha256: file.sha256,
          storageKey: file.key,
          workflowId,
          status: 'QUEUED',
          stage: 'queued',
          traceparent,
        }),
      );
    } catch (err) {
      await discardUpload();
      throw err;
    }
    try {
      // Bounded: with Temporal down the SDK would keep retrying; the client gets a 503 instead.
      await withDependency('temporal', () => temporal.withDeadline(Date.now() + TEMPORAL_START_DEADLINE_MS, () =>
        temporal.workflow.start<typeof probeMedia>('probeMedia', {
          workflowId,
          taskQueue: config.temporal.taskQueue,
          args: [{ probeId: id, tenantId, ownerId, filename: file.filename, storageKey: file.key, traceparent }],
          memo: { summary: `Probe of "${file.filename}" (${file.sizeBytes} bytes)`, traceparent, requestId },
          staticSummary: `Probe of ${file.filename}`,
          typedSearchAttributes: [
            { key: TenantIdKey, value: tenantId },
            { key: OwnerIdKey, value: ownerId },
            { key: JobKindKey, value: 'probe' },
            { key: StageKey, value: 'queued' },
            { key: StageSinceKey, value: new Date() },
          ],
        }),
      ));
    } catch (err) {
      // The job never started: take back what was written so a retry starts clean.
      await em.nativeDelete(ProbeJob, { id, tenantId }).catch(() => undefined);
      await discardUpload();
      throw err;
    }
    ctx.state.log.info({ probeId: id, workflowId, bytes: file.sizeBytes }, 'probe accepted');
    ctx.status = 202;
    ctx.set('Location', `/api/v1/probe/${id}`);
    ctx.body = { id, status: 'QUEUED', workflow_id: workflowId };
  });

  registry.addRoute(router, {
    method: 'get', path: '/api/v1/probe/:id', operationId: 'getProbe', tags: ['Probe'], auth: 'user',
    summary: 'A probe job: status, normalized metadata, error',
    params: z.object({ id: z.string().max(64) }),
    responses: {
      200: { description: 'The job', schema: ProbeJobSchema },
      404: { description: 'NOT_FOUND (also for another tenant\'s job)' },
    },
  }, async (ctx, { params }) => {
    if (!z.uuid().safeParse(params.id).success) throw notFound('Probe job');
    const job = await withDependency('postgresql', () =>
      orm.em.fork().findOne(ProbeJob, { id: params.id, tenantId: currentUser(ctx).tenantId }),
    );
    if (!job) throw notFound('Probe job');
    ctx.body = probeJobView(job);
  });

  return router;
}
