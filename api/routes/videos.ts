/**
 * /api/v1/videos — the caller's frames jobs (workflow `extractFrames`, id `frames-<jobId>`).
 * Upload: each file is checked by extension, streamed to storage (size and SHA-256 on the fly),
 * probed by the `inspectVideo` workflow, and only then becomes a job. All or nothing: a refused
 * file refuses the request and nothing is kept.
 */
import { randomUUID } from 'node:crypto';
import { extname } from 'node:path';
import Router from '@koa/router';
import type { EntityManager } from '@mikro-orm/core';
import { z } from 'zod';
import { Job, JobEvent, JOB_STATUSES, TERMINAL_JOB_STATUSES, type IJob } from '../../entities/index.ts';
import { VIDEO_EXTENSIONS } from '../../lib/ffmpeg/formats.ts';
import { withDependency } from '../../lib/dependencies.ts';
import { AppError, notFound } from '../../lib/errors.ts';
import { transitionJob } from '../../lib/jobs/projection.ts';
import { framesOriginalKey, sanitizeFilename } from '../../lib/storage/index.ts';
import type { ProbedMedia } from '../../activities/media/probe-uploaded-media.ts';
import { currentUser } from '../auth/authenticate.ts';
import type { ApiDeps, AuthUser } from '../context.ts';
import { framesWorkflowId, startFramesWorkflow } from '../frames/start-frames-job.ts';
import { jobView, JobViewSchema } from '../frames/job-view.ts';
import type { ApiRegistry } from '../openapi/registry.ts';
import { afterCursor, decodeCursor, PageQuerySchema, pageOf } from '../pagination.ts';
import { enforceLimit, type Limiter } from '../rate-limits.ts';
import { inspectUpload } from '../uploads/inspect-upload.ts';
import { receiveFiles } from '../uploads/receive-file.ts';

export const MAX_VIDEOS_PER_UPLOAD = 10;
const IdParams = z.object({ id: z.string().max(64) });

/** The caller's own job (another user's or tenant's is 404). */
export async function findOwnJob(em: EntityManager, user: AuthUser, id: string): Promise<IJob> {
  if (!z.uuid().safeParse(id).success) throw notFound('Job');
  const job = await withDependency('postgresql', () => em.findOne(Job, { id, tenantId: user.tenantId, ownerId: user.id }));
  if (!job) throw notFound('Job');
  return job;
}

export function createVideosRouter(deps: ApiDeps, registry: ApiRegistry, uploads: Limiter | null): Router {
  const router = new Router();
  const { config, orm, storage, temporal } = deps;

  registry.addRoute(router, {
    method: 'post', path: '/api/v1/videos/upload', operationId: 'uploadVideos', tags: ['Frames'], auth: 'user',
    summary: 'Upload one or more videos; each becomes a frames job (1 frame per second, zipped)',
    description: `Multipart with up to ${MAX_VIDEOS_PER_UPLOAD} \`file\` parts (${VIDEO_EXTENSIONS.join(' ')}; each at most MAX_VIDEO_SIZE_MB = ${config.frames.maxVideoBytes / 1048576} MB). Checked by extension and by probing the content before any job is created.`,
    rawBody: {
      contentType: 'multipart/form-data',
      schema: { type: 'object', required: ['file'], properties: { file: { type: 'array', items: { type: 'string', format: 'binary' } } } },
    },
    responses: {
      202: { description: 'One job per file, queued', schema: z.array(z.object({ job_id: z.uuid(), status: z.literal('QUEUED'), filename: z.string() })) },
      400: { description: 'FILE_REQUIRED, TOO_MANY_FILES, INVALID_MULTIPART' },
      413: { description: 'PAYLOAD_TOO_LARGE; nothing is kept' },
      415: { description: 'UNSUPPORTED_FORMAT (extension) or UNSUPPORTED_MEDIA_TYPE (not multipart)' },
      422: { description: 'EMPTY_FILE, INVALID_MEDIA; nothing is kept' },
    },
  }, async (ctx) => {
    const user = currentUser(ctx);
    await enforceLimit(ctx, uploads, user.id);
    const jobIds: string[] = [];
    const { files } = await receiveFiles(ctx, {
      storage,
      bucket: 'uploads',
      maxBytes: config.frames.maxVideoBytes,
      maxFiles: MAX_VIDEOS_PER_UPLOAD,
      keyFor: (index, filename) => {
        const extension = extname(filename).toLowerCase();
        if (!(VIDEO_EXTENSIONS as readonly string[]).includes(extension)) {
          throw new AppError(415, 'UNSUPPORTED_FORMAT', `${sanitizeFilename(filename)}: accepted formats are ${VIDEO_EXTENSIONS.join(' ')}`, {
            details: { filename: sanitizeFilename(filename), accepted: VIDEO_EXTENSIONS },
          });
        }
        jobIds[index] = randomUUID();
        return framesOriginalKey(user.tenantId, jobIds[index]!, extension);
      },
    });
    const discardAll = () => Promise.all(files.map((f) => storage.delete(f.bucket, f.key).catch(() => undefined)));

    let probed: ProbedMedia[];
    try {
      const empty = files.find((f) => f.sizeBytes === 0);
      if (empty) throw new AppError(422, 'EMPTY_FILE', `${sanitizeFilename(empty.filename)} is empty`, { details: { filename: sanitizeFilename(empty.filename) } });
      probed = await Promise.all(files.map((file, i) => inspectUpload(temporal, {
        workflowType: 'inspectVideo', workflowId: `inspect-${jobIds[i]!}`, taskQueue: config.temporal.taskQueue,
        input: { tenantId: user.tenantId, ownerId: user.id, storageKey: file.key }, filename: sanitizeFilename(file.filename),
      })));
    } catch (err) {
      await discardAll();
      throw err;
    }

    const accepted: Array<{ job_id: string; status: 'QUEUED'; filename: string }> = [];
    for (const [i, file] of files.entries()) {
      const job = {
        id: jobIds[i]!,
        tenantId: user.tenantId,
        ownerId: user.id,
        kind: 'frames',
        filename: sanitizeFilename(file.filename),
        contentType: file.contentType?.slice(0, 255) ?? null,
        sizeBytes: file.sizeBytes,
        sha256: file.sha256,
        originalKey: file.key,
        demuxer: probed[i]!.demuxer,
        durationMs: probed[i]!.duration_ms,
        videoCodec: probed[i]!.streams.find((st) => st.type === 'video')?.codec?.slice(0, 32) ?? null,
        status: 'UPLOADED' as const,
        stage: 'uploaded',
        workflowId: framesWorkflowId(jobIds[i]!),
      };
      const em = orm.em.fork();
      try {
        await withDependency('postgresql', async () => {
          await em.transactional(async (tx) => {
            await tx.insert(Job, job);
            await tx.insert(JobEvent, { id: randomUUID(), jobId: job.id, tenantId: job.tenantId, eventType: 'uploaded', oldStatus: null, newStatus: 'UPLOADED', metadata: { size_bytes: job.sizeBytes, sha256: job.sha256 } });
          });
          // QUEUED before the workflow starts, so its PROCESSING can never be overwritten.
          await transitionJob(em, { jobId: job.id, tenantId: job.tenantId, to: 'QUEUED', fields: { stage: 'queued' } });
        });
        await startFramesWorkflow({ temporal, config }, job, { email: user.email, name: user.name }, ctx.state);
      } catch (err) {
        // This file and the ones after it were not accepted: take them back so a retry starts clean.
        for (let j = i; j < files.length; j++) {
          await em.nativeDelete(Job, { id: jobIds[j]!, tenantId: user.tenantId }).catch(() => undefined);
          await storage.delete(files[j]!.bucket, files[j]!.key).catch(() => undefined);
        }
        if (accepted.length > 0) ctx.state.log.warn({ accepted: accepted.map((a) => a.job_id), err }, 'upload partly accepted before a dependency failed');
        throw err;
      }
      accepted.push({ job_id: job.id, status: 'QUEUED', filename: job.filename });
    }
    ctx.state.log.info({ jobs: accepted.map((a) => a.job_id) }, 'frames jobs accepted');
    ctx.status = 202;
    ctx.body = accepted;
  });

  registry.addRoute(router, {
    method: 'get', path: '/api/v1/videos', operationId: 'listVideos', tags: ['Frames'], auth: 'user',
    summary: "The caller's frames jobs, newest first",
    query: PageQuerySchema.extend({ status: z.enum(JOB_STATUSES).optional() }),
    responses: { 200: { description: 'A page', schema: z.object({ items: z.array(JobViewSchema), next_cursor: z.string().nullable() }) } },
  }, async (ctx, { query }) => {
    const user = currentUser(ctx);
    const cursor = decodeCursor(query.cursor);
    const rows = await withDependency('postgresql', () => orm.em.fork().find(
      Job,
      { tenantId: user.tenantId, ownerId: user.id, kind: 'frames', ...(query.status ? { status: query.status } : {}), ...afterCursor(cursor) },
      { orderBy: { createdAt: 'desc', id: 'desc' }, limit: query.limit + 1 },
    ));
    const page = pageOf(rows, query.limit);
    ctx.body = { items: page.items.map(jobView), next_cursor: page.nextCursor };
  });

  registry.addRoute(router, {
    method: 'get', path: '/api/v1/videos/:id', operationId: 'getVideo', tags: ['Frames'], auth: 'user',
    summary: 'A frames job',
    params: IdParams,
    responses: { 200: { description: 'The job', schema: JobViewSchema }, 404: { description: "NOT_FOUND (also another user's job)" } },
  }, async (ctx, { params }) => {
    ctx.body = jobView(await findOwnJob(orm.em.fork(), currentUser(ctx), params.id));
  });

  registry.addRoute(router, {
    method: 'delete', path: '/api/v1/videos/:id', operationId: 'cancelVideo', tags: ['Frames'], auth: 'user',
    summary: 'Cancel a QUEUED or PROCESSING job (ffmpeg is killed, partial output removed)',
    params: IdParams,
    responses: {
      202: { description: 'Cancellation requested; the job as it is now (CANCELLED once the workflow has recorded it)', schema: JobViewSchema },
      409: { description: 'JOB_FINISHED: the job is DONE, FAILED, CANCELLED or EXPIRED' },
    },
  }, async (ctx, { params }) => {
    const user = currentUser(ctx);
    const em = orm.em.fork();
    const job = await findOwnJob(em, user, params.id);
    if (TERMINAL_JOB_STATUSES.includes(job.status)) throw new AppError(409, 'JOB_FINISHED', `The job is ${job.status}; only QUEUED or PROCESSING jobs can be cancelled`);
    await withDependency('temporal', () => temporal.workflow.getHandle(job.workflowId).cancel());
    ctx.status = 202;
    ctx.body = jobView(await waitForStatus(em, user, job.id, ['CANCELLED', 'DONE', 'FAILED'], 5_000));
  });

  return router;
}

/** Polls the projection until the job reaches one of `statuses` or the time is up. */
async function waitForStatus(em: EntityManager, user: AuthUser, id: string, statuses: readonly string[], timeoutMs: number): Promise<IJob> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const job = await findOwnJob(em.fork(), user, id);
    if (statuses.includes(job.status) || Date.now() > deadline) return job;
    await new Promise((r) => setTimeout(r, 200));
  }
}
