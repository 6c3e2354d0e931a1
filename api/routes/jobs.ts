/**
 * /api/v1/jobs/{id} — a frames job's live status, server-sent events until it ends, the signed
 * download of its ZIP, and retry of a FAILED job (a new run of `frames-<id>`).
 */
import Router from '@koa/router';
import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import { z } from 'zod';
import { TERMINAL_JOB_STATUSES, User, type IJob } from '../../entities/index.ts';
import { withDependency } from '../../lib/dependencies.ts';
import { AppError } from '../../lib/errors.ts';
import { transitionJob } from '../../lib/jobs/projection.ts';
import { currentUser } from '../auth/authenticate.ts';
import type { ApiDeps } from '../context.ts';
import { jobStatusView, JobStatusSchema, jobView, JobViewSchema } from '../frames/job-view.ts';
import { startFramesWorkflow } from '../frames/start-frames-job.ts';
import type { ApiRegistry } from '../openapi/registry.ts';
import { enforceLimit, type Limiter } from '../rate-limits.ts';
import { streamSnapshots } from '../sse.ts';
import { findOwnJob } from './videos.ts';

export const DOWNLOAD_URL_TTL_SECONDS = 900;
const IdParams = z.object({ id: z.string().max(64) });
const RETRY_WAIT_FOR_CLOSE_MS = 10_000;

/** Waits up to `ms` for the workflow's current run to close (its outcome does not matter here). */
async function waitForRunToClose(temporal: Client, workflowId: string, ms: number): Promise<void> {
  const handle = temporal.workflow.getHandle(workflowId);
  const deadline = Date.now() + ms;
  while ((await handle.describe()).status.name === 'RUNNING' && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
  }
}

export function createJobsRouter(deps: ApiDeps, registry: ApiRegistry, downloads: Limiter | null): Router {
  const router = new Router();
  const { orm, storage, temporal, config } = deps;

  registry.addRoute(router, {
    method: 'get', path: '/api/v1/jobs/:id/status', operationId: 'getJobStatus', tags: ['Frames'], auth: 'user',
    summary: "A job's status, stage and progress",
    params: IdParams,
    responses: { 200: { description: 'Status', schema: JobStatusSchema }, 404: { description: 'NOT_FOUND' } },
  }, async (ctx, { params }) => {
    ctx.body = jobStatusView(await findOwnJob(orm.em.fork(), currentUser(ctx), params.id));
  });

  registry.addRoute(router, {
    method: 'get', path: '/api/v1/jobs/:id/events', operationId: 'streamJobEvents', tags: ['Frames'], auth: 'user',
    summary: 'Server-sent events: a `status` event at each change of status, stage or progress, until the job ends',
    params: IdParams,
    responses: { 200: { description: 'text/event-stream of `event: status` with the status JSON', contentType: 'text/event-stream', schema: z.string() } },
  }, async (ctx, { params }) => {
    const user = currentUser(ctx);
    const snapshot = (job: IJob) => ({ data: jobStatusView(job), id: String(job.updatedAt.getTime()), final: TERMINAL_JOB_STATUSES.includes(job.status) });
    const first = await findOwnJob(orm.em.fork(), user, params.id);
    streamSnapshots(ctx, 'status', snapshot(first), async () => snapshot(await findOwnJob(orm.em.fork(), user, params.id)));
  });

  registry.addRoute(router, {
    method: 'get', path: '/api/v1/jobs/:id/download', operationId: 'downloadJobZip', tags: ['Frames'], auth: 'user',
    summary: 'A presigned URL of the frames ZIP (valid 15 minutes)',
    params: IdParams,
    responses: {
      200: { description: 'The URL', schema: z.object({ download_url: z.url(), expires_in: z.literal(DOWNLOAD_URL_TTL_SECONDS) }) },
      409: { description: 'JOB_NOT_READY unless DONE' },
      410: { description: 'JOB_EXPIRED after the retention period' },
      429: { description: 'RATE_LIMITED: at most RATE_LIMIT_DOWNLOADS_PER_USER_PER_MINUTE (10) per minute' },
    },
  }, async (ctx, { params }) => {
    const user = currentUser(ctx);
    const job = await findOwnJob(orm.em.fork(), user, params.id);
    await enforceLimit(ctx, downloads, user.id);
    if (job.status === 'EXPIRED') throw new AppError(410, 'JOB_EXPIRED', 'The frames of this job have expired and were deleted');
    if (job.status !== 'DONE' || !job.zipKey) throw new AppError(409, 'JOB_NOT_READY', `The job is ${job.status}; the ZIP is available once it is DONE`);
    const url = await withDependency('storage', () => storage.presignGet('exports', job.zipKey!, DOWNLOAD_URL_TTL_SECONDS, { downloadFilename: 'frames.zip' }));
    ctx.body = { download_url: url, expires_in: DOWNLOAD_URL_TTL_SECONDS };
  });

  registry.addRoute(router, {
    method: 'post', path: '/api/v1/jobs/:id/retry', operationId: 'retryJob', tags: ['Frames'], auth: 'user',
    summary: 'Retry a FAILED job: a new run of its workflow, same job id',
    params: IdParams,
    responses: {
      202: { description: 'Queued again', schema: JobViewSchema },
      409: { description: 'JOB_NOT_FAILED (only FAILED jobs), JOB_BUSY (its last run is still finishing)' },
    },
  }, async (ctx, { params }) => {
    const user = currentUser(ctx);
    const em = orm.em.fork();
    const job = await findOwnJob(em, user, params.id);
    if (job.status !== 'FAILED') throw new AppError(409, 'JOB_NOT_FAILED', `The job is ${job.status}; only FAILED jobs can be retried`);
    const owner = await withDependency('postgresql', () => em.findOneOrFail(User, { id: job.ownerId, tenantId: job.tenantId }));
    // The failed run records FAILED, then e-mails, then closes: give it a moment to close.
    await withDependency('temporal', () => waitForRunToClose(temporal, job.workflowId, RETRY_WAIT_FOR_CLOSE_MS));
    // QUEUED before the new run starts, so its PROCESSING can never be overwritten.
    await withDependency('postgresql', () => transitionJob(orm.em.fork(), {
      jobId: job.id, tenantId: job.tenantId, to: 'QUEUED',
      fields: { stage: 'queued', progress: 0, errorCode: null, errorMessage: null, completedAt: null, runCount: job.runCount + 1 },
      metadata: { retry: job.runCount + 1, previous_error: job.errorCode },
    }));
    try {
      await startFramesWorkflow({ temporal, config }, job, { email: owner.email, name: owner.name }, ctx.state);
    } catch (err) {
      // Not restarted: the job is FAILED with its reason, as before.
      await transitionJob(orm.em.fork(), {
        jobId: job.id, tenantId: job.tenantId, to: 'FAILED',
        fields: { stage: 'failed', errorCode: job.errorCode, errorMessage: job.errorMessage, completedAt: job.completedAt, runCount: job.runCount },
        metadata: { retry_not_started: true },
      }).catch(() => undefined);
      if (err instanceof WorkflowExecutionAlreadyStartedError) throw new AppError(409, 'JOB_BUSY', 'The last run of this job is still finishing; retry in a moment');
      throw err;
    }
    ctx.status = 202;
    ctx.body = jobView(await findOwnJob(orm.em.fork(), user, job.id));
  });

  return router;
}
