/**
 * /api/v1/clip-jobs — clip suggestions for an artist's performance video (workflow `clipJob`, id
 * `clip-<id>`; its child `analyzeVideo`). The video is an ingested asset (`video_asset_id`, JSON)
 * or a file sent with the request (multipart `video`); it is probed before the job exists, so a
 * file that is not a video, or is shorter than the minimum clip, is refused at once and nothing is
 * kept.
 */
import { randomUUID } from 'node:crypto';
import Router from '@koa/router';
import { z } from 'zod';
import type { EntityManager } from '@mikro-orm/core';
import { CLIP_JOB_STATUSES, ClipJob, ClipRender, VideoIngest, type IClipJob } from '../../entities/index.ts';
import { withDependency } from '../../lib/dependencies.ts';
import { AppError, notFound, validationFailed } from '../../lib/errors.ts';
import type { BucketName } from '../../lib/storage/index.ts';
import { VIDEO_EXTENSIONS } from '../../lib/ffmpeg/formats.ts';
import { JobKindKey, OwnerIdKey, StageKey, StageSinceKey, TenantIdKey } from '../../lib/temporal/search-attributes.ts';
import type { clipJob } from '../../workflows/clip-job.ts';
import { currentUser } from '../auth/authenticate.ts';
import { clipJobView, type ClipJobView, ClipJobViewSchema, findTenantClipJob, isTerminal, loadRenders, loadSuggestions } from '../clips/clip-job-view.ts';
import { clipUploadKey, clipVideoFromAsset, clipVideoFromUpload, type ClipVideo } from '../clips/clip-video.ts';
import type { ApiDeps } from '../context.ts';
import { findTenantArtist } from '../music/find-artist.ts';
import { findTenantMusic } from '../music/find-music.ts';
import type { ApiRegistry } from '../openapi/registry.ts';
import { afterCursor, decodeCursor, PageQuerySchema, pageOf } from '../pagination.ts';
import { enforceLimit, type Limiter } from '../rate-limits.ts';
import { streamSnapshots } from '../sse.ts';
import { receiveFiles, type ReceivedFile } from '../uploads/receive-file.ts';

/** Longest clip a job may ask for (s). */
export const MAX_CLIP_LENGTH_S = 600;
const START_DEADLINE_MS = 5_000;
const IdParams = z.object({ id: z.string().max(64) });
const RenderParams = z.object({ id: z.string().max(64), index: z.coerce.number().int().min(0).max(99) });

const Length = z.coerce.number().positive('must be greater than 0').max(MAX_CLIP_LENGTH_S, `at most ${MAX_CLIP_LENGTH_S} s`);
const Flag = z.union([z.boolean(), z.enum(['true', 'false']).transform((v) => v === 'true')]);
const CreateSchema = z
  .strictObject({
    video_asset_id: z.uuid().optional(),
    music_id: z.uuid().nullable().optional(),
    artist_id: z.uuid(),
    min_length_s: Length.default(15),
    max_length_s: Length.default(60),
    vertical: Flag.default(false),
    experimental: Flag.default(false),
  })
  .refine((b) => b.min_length_s <= b.max_length_s, { path: ['min_length_s'], message: 'must not exceed max_length_s' });
type CreateFields = z.infer<typeof CreateSchema>;

const CREATE_PROPERTIES = {
  video_asset_id: { type: 'string', format: 'uuid', description: 'An ingested video asset (JSON body), or send the file as multipart `video`' },
  video: { type: 'string', format: 'binary', description: `multipart only: the video (${VIDEO_EXTENSIONS.join(' ')})` },
  music_id: { type: 'string', format: 'uuid', description: 'An analysed track: clips are synced to it and cut on its beats (3 variants instead of 2)' },
  artist_id: { type: 'string', format: 'uuid' },
  min_length_s: { type: 'number', default: 15, exclusiveMinimum: 0, maximum: MAX_CLIP_LENGTH_S },
  max_length_s: { type: 'number', default: 60, exclusiveMinimum: 0, maximum: MAX_CLIP_LENGTH_S },
  vertical: { type: 'boolean', default: false },
  experimental: { type: 'boolean', default: false },
};

export function createClipJobsRouter(deps: ApiDeps, registry: ApiRegistry, clipJobsLimiter: Limiter | null, downloadsLimiter: Limiter | null): Router {
  const router = new Router();
  const { config, orm, storage, temporal } = deps;

  registry.addRoute(router, {
    method: 'post', path: '/api/v1/clip-jobs', operationId: 'createClipJob', tags: ['Clip jobs'], auth: 'user',
    summary: 'Suggest clips of a performance video (optionally synced to a track); runs the clipJob workflow',
    description: `JSON \`{"video_asset_id", "artist_id", "music_id"?, "min_length_s"?: 15, "max_length_s"?: 60, "vertical"?, "experimental"?}\`, or multipart with a \`video\` file part (at most CLIP_MAX_UPLOAD_MB = ${config.clips.maxUploadBytes / 1048576} MB) and the same fields. Lengths in seconds, 0 < min ≤ max ≤ ${MAX_CLIP_LENGTH_S}. At most RATE_LIMIT_CLIP_JOBS_PER_USER_PER_MINUTE jobs per user per minute.`,
    rawBody: { contentType: ['application/json', 'multipart/form-data'], schema: { type: 'object', required: ['artist_id'], properties: CREATE_PROPERTIES } },
    responses: {
      202: { description: 'Queued', schema: z.object({ clip_job_id: z.uuid(), status: z.literal('queued') }) },
      400: { description: 'VIDEO_REQUIRED, INVALID_JSON, INVALID_MULTIPART' },
      404: { description: "NOT_FOUND: the artist, track or video asset (also another tenant's)" },
      409: { description: 'MUSIC_NOT_ANALYZED, ASSET_NOT_READY' },
      413: { description: 'PAYLOAD_TOO_LARGE; nothing kept' },
      415: { description: 'UNSUPPORTED_FORMAT, UNSUPPORTED_MEDIA_TYPE' },
      422: { description: 'VALIDATION_FAILED (lengths, ids), VIDEO_TOO_SHORT, VIDEO_TOO_LONG, NOT_A_VIDEO, NO_VIDEO_STREAM, INVALID_MEDIA, EMPTY_FILE; nothing kept' },
      429: { description: 'RATE_LIMITED' },
    },
  }, async (ctx) => {
    const user = currentUser(ctx);
    await enforceLimit(ctx, clipJobsLimiter, user.id);
    const clipJobId = randomUUID();
    let file: ReceivedFile | undefined;
    let raw: unknown;
    if (ctx.is('multipart/form-data')) {
      const received = await receiveFiles(ctx, {
        storage, bucket: 'originals', maxBytes: config.clips.maxUploadBytes, maxFiles: 1, fieldName: 'video',
        keyFor: (_index, filename) => clipUploadKey(user.tenantId, clipJobId, filename),
      }).catch((err: unknown) => {
        // A multipart request without its "video" part has no video either: the same answer as JSON without video_asset_id.
        if (err instanceof AppError && err.code === 'FILE_REQUIRED') throw videoRequired();
        throw err;
      });
      file = received.files[0];
      raw = received.fields;
    } else {
      raw = (ctx.request as { body?: unknown }).body ?? {};
    }
    try {
      const parsed = CreateSchema.safeParse(raw);
      if (!parsed.success) throw validationFailed(parsed.error.issues.map((i) => ({ in: file ? 'form' : 'body', path: i.path.join('.'), message: i.message })));
      const fields = parsed.data;
      if (file && fields.video_asset_id) throw new AppError(422, 'VALIDATION_FAILED', 'Send either video_asset_id or a video file, not both');
      if (!file && !fields.video_asset_id) throw videoRequired();

      const em = orm.em.fork();
      const artist = await findTenantArtist(em, user.tenantId, fields.artist_id);
      if (fields.music_id) {
        const music = await findTenantMusic(em, user.tenantId, fields.music_id);
        if (music.status !== 'done') throw new AppError(409, 'MUSIC_NOT_ANALYZED', `The track is ${music.status}; a clip job can use it once it is analysed`);
      }
      const video = file
        ? await clipVideoFromUpload({ storage, temporal, taskQueue: config.temporal.taskQueue, maxImagePixels: config.assets.maxImagePixels }, file, { tenantId: user.tenantId, userId: user.id, clipJobId })
        : await clipVideoFromAsset(em, user.tenantId, fields.video_asset_id!);
      checkVideoLength(video, fields, config.clips.maxDurationMs);

      await insertClipJob(clipJobId, user, artist.id, fields, video);
      try {
        await startClipJob(clipJobId, user, artist.id, fields, video, ctx.state);
      } catch (err) {
        await orm.em.fork().nativeDelete(ClipJob, { id: clipJobId, tenantId: user.tenantId }).catch(() => undefined);
        throw err;
      }
      ctx.state.log.info({ clipJobId, artistId: artist.id, musicId: fields.music_id ?? null, video: video.origin, durationMs: video.source.durationMs }, 'clip job accepted');
      ctx.status = 202;
      ctx.set('Location', `/api/v1/clip-jobs/${clipJobId}`);
      ctx.body = { clip_job_id: clipJobId, status: 'queued' };
    } catch (err) {
      if (file) await storage.delete(file.bucket, file.key).catch(() => undefined);
      throw err;
    }
  });

  async function insertClipJob(clipJobId: string, user: { id: string; tenantId: string }, artistId: string, fields: CreateFields, video: ClipVideo): Promise<void> {
    const now = new Date();
    await withDependency('postgresql', () => orm.em.fork().transactional(async (tx) => {
      await tx.insert(ClipJob, {
        id: clipJobId, tenantId: user.tenantId, artistId, musicId: fields.music_id ?? null, videoAssetId: video.assetId,
        status: 'queued', stage: 'queued', progress: 0, minLengthMs: Math.round(fields.min_length_s * 1000), maxLengthMs: Math.round(fields.max_length_s * 1000),
        vertical: fields.vertical, experimental: fields.experimental, musicOffsetMs: null, musicSync: null, errorCode: null, errorMessage: null,
        createdBy: user.id, createdAt: now, updatedAt: now, completedAt: null,
      });
      await tx.insert(VideoIngest, {
        id: randomUUID(), tenantId: user.tenantId, clipJobId, source: video.origin, assetId: video.assetId, bucket: 'originals',
        storageKey: video.source.storageKey, originalFilename: video.filename, sha256: video.source.sha256, sizeBytes: video.sizeBytes,
        demuxer: video.source.demuxer, durationMs: video.source.durationMs, width: video.source.width, height: video.source.height,
        hasAudio: video.source.hasAudio, analysisId: null, createdAt: now,
      });
    }));
  }

  async function startClipJob(
    clipJobId: string, user: { id: string; tenantId: string }, artistId: string, fields: CreateFields, video: ClipVideo,
    request: { traceparent?: string; requestId?: string },
  ): Promise<void> {
    await withDependency('temporal', () => temporal.withDeadline(Date.now() + START_DEADLINE_MS, () =>
      temporal.workflow.start<typeof clipJob>('clipJob', {
        workflowId: `clip-${clipJobId}`,
        taskQueue: config.temporal.taskQueue,
        args: [{
          clipJobId, tenantId: user.tenantId, ownerId: user.id, artistId, musicId: fields.music_id ?? null, video: video.source,
          minLengthMs: Math.round(fields.min_length_s * 1000), maxLengthMs: Math.round(fields.max_length_s * 1000),
          vertical: fields.vertical, experimental: fields.experimental, heavyTaskQueue: config.temporal.heavyTaskQueue,
          intermediateRetentionMs: config.clips.intermediateRetentionMs, traceparent: request.traceparent,
        }],
        memo: { summary: `Clips of ${video.filename} (${Math.round(video.source.durationMs / 1000)} s)${fields.music_id ? ' with music' : ''}`, traceparent: request.traceparent, requestId: request.requestId },
        staticSummary: `Suggest clips of ${video.filename}`,
        typedSearchAttributes: [
          { key: TenantIdKey, value: user.tenantId },
          { key: OwnerIdKey, value: user.id },
          { key: JobKindKey, value: 'clip' },
          { key: StageKey, value: 'queued' },
          { key: StageSinceKey, value: new Date() },
        ],
      }),
    ));
  }

  registry.addRoute(router, {
    method: 'get', path: '/api/v1/clip-jobs', operationId: 'listClipJobs', tags: ['Clip jobs'], auth: 'user',
    summary: "The tenant's clip jobs, newest first, with their suggestions",
    query: PageQuerySchema.extend({ artist_id: z.uuid().optional(), status: z.enum(CLIP_JOB_STATUSES).optional() }),
    responses: { 200: { description: 'A page', schema: z.object({ items: z.array(ClipJobViewSchema), next_cursor: z.string().nullable() }) } },
  }, async (ctx, { query }) => {
    const user = currentUser(ctx);
    const cursor = decodeCursor(query.cursor);
    const em = orm.em.fork();
    const rows = await withDependency('postgresql', () => em.find(
      ClipJob,
      { tenantId: user.tenantId, ...(query.artist_id ? { artistId: query.artist_id } : {}), ...(query.status ? { status: query.status } : {}), ...afterCursor(cursor) },
      { orderBy: { createdAt: 'desc', id: 'desc' }, limit: query.limit + 1 },
    ));
    const page = pageOf(rows, query.limit);
    const ids = page.items.map((j) => j.id);
    const [suggestions, rendered] = await Promise.all([loadSuggestions(em, user.tenantId, ids), loadRenders(em.fork(), user.tenantId, ids)]);
    ctx.body = { items: page.items.map((j) => clipJobView(j, suggestions.get(j.id) ?? [], rendered.get(j.id) ?? [])), next_cursor: page.nextCursor };
  });

  registry.addRoute(router, {
    method: 'get', path: '/api/v1/clip-jobs/:id', operationId: 'getClipJob', tags: ['Clip jobs'], auth: 'user',
    summary: 'A clip job: status, stage, progress, music sync and the suggested clips with their scores, sub-scores and reasons',
    params: IdParams,
    responses: { 200: { description: 'The job', schema: ClipJobViewSchema }, 404: { description: "NOT_FOUND (also another tenant's)" } },
  }, async (ctx, { params }) => {
    const user = currentUser(ctx);
    const em = orm.em.fork();
    ctx.body = await fullView(em, user.tenantId, await findTenantClipJob(em, user.tenantId, params.id));
  });

  registry.addRoute(router, {
    method: 'post', path: '/api/v1/clip-jobs/:id/cancel', operationId: 'cancelClipJob', tags: ['Clip jobs'], auth: 'user',
    summary: 'Cancel a clip job: its analysis stops (ffmpeg is killed) and the job ends `cancelled`',
    params: IdParams,
    responses: {
      202: { description: 'Cancellation requested; the job turns `cancelled` shortly', schema: ClipJobViewSchema },
      404: { description: 'NOT_FOUND' },
      409: { description: 'JOB_FINISHED: the job is done, failed or cancelled' },
    },
  }, async (ctx, { params }) => {
    const user = currentUser(ctx);
    const em = orm.em.fork();
    const job = await findTenantClipJob(em, user.tenantId, params.id);
    if (isTerminal(job)) throw new AppError(409, 'JOB_FINISHED', `The job is ${job.status}; only queued, analyzing or rendering jobs can be cancelled`);
    await withDependency('temporal', () => temporal.workflow.getHandle(`clip-${job.id}`).cancel());
    ctx.state.log.info({ clipJobId: job.id }, 'clip job cancellation requested');
    ctx.status = 202;
    ctx.body = await fullView(em, user.tenantId, job);
  });

  registry.addRoute(router, {
    method: 'get', path: '/api/v1/clip-jobs/:id/events', operationId: 'streamClipJobEvents', tags: ['Clip jobs'], auth: 'user',
    summary: 'Server-sent events: a `status` event (the job as GET returns it) at each change, until the job ends',
    params: IdParams,
    responses: { 200: { description: 'text/event-stream of `event: status`', contentType: 'text/event-stream', schema: z.string() } },
  }, async (ctx, { params }) => {
    const user = currentUser(ctx);
    const read = async () => {
      const em = orm.em.fork();
      const job = await findTenantClipJob(em, user.tenantId, params.id);
      return { data: await fullView(em, user.tenantId, job), id: String(job.updatedAt.getTime()), final: isTerminal(job) };
    };
    streamSnapshots(ctx, 'status', await read(), read);
  });

  registry.addRoute(router, {
    method: 'get', path: '/api/v1/clip-jobs/:id/renders/:index/download', operationId: 'downloadClipRender', tags: ['Clip jobs'], auth: 'user',
    summary: 'A presigned URL of a rendered variant (MP4)',
    params: RenderParams,
    responses: {
      200: { description: 'The URL', schema: z.object({ download_url: z.url(), expires_in: z.number().int() }) },
      404: { description: "NOT_FOUND: the job (also another tenant's) or a variant it does not have" },
      409: { description: 'RENDER_NOT_READY: the variant is not rendered (yet), or failed' },
      429: { description: 'RATE_LIMITED: at most RATE_LIMIT_DOWNLOADS_PER_USER_PER_MINUTE per minute' },
    },
  }, async (ctx, { params }) => {
    const user = currentUser(ctx);
    await enforceLimit(ctx, downloadsLimiter, user.id);
    const em = orm.em.fork();
    const job = await findTenantClipJob(em, user.tenantId, params.id);
    const render = await withDependency('postgresql', () => em.findOne(ClipRender, { tenantId: user.tenantId, clipJobId: job.id, index: params.index }));
    if (!render) {
      const suggested = (await loadSuggestions(em, user.tenantId, [job.id])).get(job.id) ?? [];
      if (!suggested.some((s) => s.index === params.index)) throw notFound('Render');
      throw new AppError(409, 'RENDER_NOT_READY', `Variant ${params.index} is not rendered yet (the job is ${job.status})`);
    }
    if (render.status !== 'done' || !render.storageKey || !render.bucket) {
      throw new AppError(409, 'RENDER_NOT_READY', `Variant ${params.index} is ${render.status}; only rendered variants can be downloaded`);
    }
    const ttl = config.assets.urlTtlSeconds;
    const url = await withDependency('storage', () => storage.presignGet(render.bucket as BucketName, render.storageKey!, ttl));
    ctx.body = { download_url: url, expires_in: ttl };
  });

  async function fullView(em: EntityManager, tenantId: string, job: IClipJob): Promise<ClipJobView> {
    const [suggestions, rendered] = await Promise.all([loadSuggestions(em, tenantId, [job.id]), loadRenders(em.fork(), tenantId, [job.id])]);
    return clipJobView(job, suggestions.get(job.id) ?? [], rendered.get(job.id) ?? []);
  }

  return router;
}

const videoRequired = () => new AppError(400, 'VIDEO_REQUIRED', 'Send video_asset_id (JSON) or a "video" file part (multipart)');

function checkVideoLength(video: ClipVideo, fields: CreateFields, maxDurationMs: number): void {
  const { durationMs } = video.source;
  if (durationMs < fields.min_length_s * 1000) {
    throw new AppError(422, 'VIDEO_TOO_SHORT', `The video lasts ${(durationMs / 1000).toFixed(1)} s; clips of at least min_length_s = ${fields.min_length_s} s need a longer one`, {
      details: { duration_ms: durationMs, min_length_s: fields.min_length_s },
    });
  }
  if (durationMs > maxDurationMs) {
    throw new AppError(422, 'VIDEO_TOO_LONG', `The video lasts ${Math.round(durationMs / 1000)} s; the limit is CLIP_MAX_DURATION_MINUTES = ${maxDurationMs / 60_000} min`);
  }
}
