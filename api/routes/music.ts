/**
 * /api/v1/music — artists' tracks and their analysis (workflow `analyzeMusic`, id `music-<id>`).
 * An upload is sniffed and probed (workflow `inspectMusic`) before it is accepted, so a file that
 * is not audio, has no audio stream, or is too short or too long is refused at once and nothing is
 * kept.
 */
import { randomUUID } from 'node:crypto';
import { extname } from 'node:path';
import Router from '@koa/router';
import type { EntityManager } from '@mikro-orm/core';
import { z } from 'zod';
import { MUSIC_STATUSES, MusicAsset, type IMusicAsset } from '../../entities/index.ts';
import { normalizeGenre } from '../../lib/audio/genre.ts';
import { ASSET_EXTENSIONS, SNIFF_BYTES, sniffAsset } from '../../lib/assets/sniff.ts';
import { withDependency } from '../../lib/dependencies.ts';
import { AppError, validationFailed } from '../../lib/errors.ts';
import { musicOriginalKey, sanitizeFilename } from '../../lib/storage/index.ts';
import { JobKindKey, OwnerIdKey, StageKey, StageSinceKey, TenantIdKey } from '../../lib/temporal/search-attributes.ts';
import type { analyzeMusic } from '../../workflows/analyze-music.ts';
import { currentUser } from '../auth/authenticate.ts';
import type { ApiDeps } from '../context.ts';
import { findTenantArtist } from '../music/find-artist.ts';
import { findTenantMusic } from '../music/find-music.ts';
import { musicView, MusicViewSchema, type AnalysisRow } from '../music/music-view.ts';
import type { ApiRegistry } from '../openapi/registry.ts';
import { afterCursor, decodeCursor, PageQuerySchema, pageOf } from '../pagination.ts';
import { enforceLimit, type Limiter } from '../rate-limits.ts';
import { readStoredHead } from '../uploads/read-head.ts';
import { inspectUpload } from '../uploads/inspect-upload.ts';
import { receiveFiles } from '../uploads/receive-file.ts';

export const MIN_AUDIO_MS = 2_000;
const START_DEADLINE_MS = 5_000;
const IdParams = z.object({ id: z.string().max(64) });
const MEDIA_EXTENSIONS = Object.entries(ASSET_EXTENSIONS).filter(([, v]) => v.family === 'media').map(([ext]) => ext);

const FieldsSchema = z.strictObject({
  title: z.string().trim().min(1).max(300).optional(),
  artist_id: z.uuid(),
  declared_genre: z.string().trim().min(1).max(200).optional(),
});

async function loadAnalysis(em: EntityManager, music: IMusicAsset): Promise<AnalysisRow | null> {
  if (!music.analysisId) return null;
  const rows = (await withDependency('postgresql', () => em.getConnection().execute(
    `select a.analyzer_version, a.tempo_bpm, a.tempo_confidence, a.tempo_reason, a.loudness_lufs, a.features, b.beats_ms, b.downbeats_ms, b.onset_peaks_ms
     from music_analysis a left join music_beats b on b.analysis_id = a.id
     where a.id = ? and a.tenant_id = ?`,
    [music.analysisId, music.tenantId],
  ))) as AnalysisRow[];
  return rows[0] ?? null;
}

export function createMusicRouter(deps: ApiDeps, registry: ApiRegistry, uploads: Limiter | null): Router {
  const router = new Router();
  const { config, orm, storage, temporal } = deps;

  registry.addRoute(router, {
    method: 'post', path: '/api/v1/music', operationId: 'uploadMusic', tags: ['Music'], auth: 'user',
    summary: 'Upload a track (audio, or a video with sound) of an artist; it is analysed by the analyzeMusic workflow',
    description: `Multipart: one \`file\` part (${MEDIA_EXTENSIONS.join(' ')}; at most MUSIC_MAX_UPLOAD_MB = ${config.music.maxUploadBytes / 1048576} MB, ${MIN_AUDIO_MS / 1000} s to MUSIC_MAX_DURATION_MINUTES = ${config.music.maxDurationMs / 60_000} min) and fields \`artist_id\` (required), \`title\`, \`declared_genre\` (free text, normalized).`,
    rawBody: {
      contentType: 'multipart/form-data',
      schema: { type: 'object', required: ['file', 'artist_id'], properties: { file: { type: 'string', format: 'binary' }, artist_id: { type: 'string', format: 'uuid' }, title: { type: 'string' }, declared_genre: { type: 'string' } } },
    },
    responses: {
      202: { description: 'Queued', schema: z.object({ music_id: z.uuid(), status: z.literal('queued') }) },
      400: { description: 'FILE_REQUIRED, INVALID_MULTIPART' },
      404: { description: "NOT_FOUND: the artist (also another tenant's)" },
      413: { description: 'PAYLOAD_TOO_LARGE; nothing kept' },
      415: { description: 'UNSUPPORTED_FORMAT, UNSUPPORTED_MEDIA_TYPE' },
      422: { description: 'EMPTY_FILE, INVALID_MEDIA (not audio), NO_AUDIO_STREAM, AUDIO_TOO_SHORT, AUDIO_TOO_LONG, VALIDATION_FAILED; nothing kept' },
    },
  }, async (ctx) => {
    const user = currentUser(ctx);
    await enforceLimit(ctx, uploads, user.id);
    const musicId = randomUUID();
    const { files: [file], fields } = await receiveFiles(ctx, {
      storage,
      bucket: 'originals',
      maxBytes: config.music.maxUploadBytes,
      maxFiles: 1,
      keyFor: (_index, filename) => {
        const extension = extname(filename).toLowerCase();
        if (!MEDIA_EXTENSIONS.includes(extension)) {
          throw new AppError(415, 'UNSUPPORTED_FORMAT', `${sanitizeFilename(filename)}: accepted formats are ${MEDIA_EXTENSIONS.join(' ')}`, { details: { accepted: MEDIA_EXTENSIONS } });
        }
        return musicOriginalKey(user.tenantId, musicId, extension);
      },
    });
    if (!file) throw new AppError(400, 'FILE_REQUIRED', 'A "file" part is required');
    const filename = sanitizeFilename(file.filename);
    try {
      if (file.sizeBytes === 0) throw new AppError(422, 'EMPTY_FILE', `${filename} is empty`);
      const parsed = FieldsSchema.safeParse(fields);
      if (!parsed.success) throw validationFailed(parsed.error.issues.map((i) => ({ in: 'form', path: i.path.join('.'), message: i.message })));
      const artist = await findTenantArtist(orm.em.fork(), user.tenantId, parsed.data.artist_id);
      const sniffed = sniffAsset(await readStoredHead(storage, file.bucket, file.key, SNIFF_BYTES), filename, { maxImagePixels: config.assets.maxImagePixels });
      if (!sniffed.ok) throw new AppError(sniffed.status, sniffed.code, `${filename}: ${sniffed.message}`);
      const probed = await inspectUpload(temporal, {
        workflowType: 'inspectMusic', workflowId: `inspect-music-${musicId}`, taskQueue: config.temporal.taskQueue,
        input: { tenantId: user.tenantId, ownerId: user.id, storageKey: file.key }, filename,
      });
      if (!probed.streams.some((s) => s.type === 'audio')) throw new AppError(422, 'NO_AUDIO_STREAM', `${filename} has no audio stream`);
      const durationMs = probed.duration_ms;
      if (durationMs !== null && durationMs < MIN_AUDIO_MS) throw new AppError(422, 'AUDIO_TOO_SHORT', `${filename} lasts ${durationMs} ms; at least ${MIN_AUDIO_MS} ms are needed`);
      if (durationMs !== null && durationMs > config.music.maxDurationMs) {
        throw new AppError(422, 'AUDIO_TOO_LONG', `${filename} lasts ${Math.round(durationMs / 1000)} s; the limit is ${config.music.maxDurationMs / 1000} s`);
      }

      const now = new Date();
      const row = {
        id: musicId, tenantId: user.tenantId, artistId: artist.id, title: parsed.data.title ?? (filename.replace(/\.[^.]*$/, '') || filename),
        declaredGenre: parsed.data.declared_genre ? normalizeGenre(parsed.data.declared_genre) : null,
        originalFilename: filename, contentType: file.contentType?.slice(0, 255) ?? null, sizeBytes: file.sizeBytes, sha256: file.sha256,
        storageKey: file.key, durationMs, status: 'queued' as const, analysisId: null, errorCode: null, errorMessage: null,
        createdBy: user.id, createdAt: now, updatedAt: now, deletedAt: null,
      };
      await withDependency('postgresql', () => orm.em.fork().insert(MusicAsset, row));
      try {
        await withDependency('temporal', () => temporal.withDeadline(Date.now() + START_DEADLINE_MS, () =>
          temporal.workflow.start<typeof analyzeMusic>('analyzeMusic', {
            workflowId: `music-${musicId}`,
            taskQueue: config.temporal.taskQueue,
            args: [{
              musicId, tenantId: user.tenantId, ownerId: user.id, storageKey: file.key, filename, demuxer: probed.demuxer, sha256: file.sha256,
              durationMs, transcribe: config.ai.apiKey !== '', heavyTaskQueue: config.temporal.heavyTaskQueue, aiTaskQueue: config.ai.taskQueue,
              traceparent: ctx.state.traceparent,
            }],
            memo: { summary: `Analyse "${row.title}" (${file.sizeBytes} bytes)`, traceparent: ctx.state.traceparent, requestId: ctx.state.requestId },
            staticSummary: `Analyse ${filename}`,
            typedSearchAttributes: [
              { key: TenantIdKey, value: user.tenantId },
              { key: OwnerIdKey, value: user.id },
              { key: JobKindKey, value: 'music' },
              { key: StageKey, value: 'queued' },
              { key: StageSinceKey, value: now },
            ],
          }),
        ));
      } catch (err) {
        await orm.em.fork().nativeDelete(MusicAsset, { id: musicId, tenantId: user.tenantId }).catch(() => undefined);
        throw err;
      }
      ctx.state.log.info({ musicId, artistId: artist.id, durationMs }, 'music accepted');
      ctx.status = 202;
      ctx.set('Location', `/api/v1/music/${musicId}`);
      ctx.body = { music_id: musicId, status: 'queued' };
    } catch (err) {
      await storage.delete(file.bucket, file.key).catch(() => undefined);
      throw err;
    }
  });

  registry.addRoute(router, {
    method: 'get', path: '/api/v1/music', operationId: 'listMusic', tags: ['Music'], auth: 'user',
    summary: "The tenant's tracks, newest first",
    query: PageQuerySchema.extend({ artist_id: z.uuid().optional(), status: z.enum(MUSIC_STATUSES).optional() }),
    responses: { 200: { description: 'A page (analysis omitted: GET /music/{id})', schema: z.object({ items: z.array(MusicViewSchema), next_cursor: z.string().nullable() }) } },
  }, async (ctx, { query }) => {
    const user = currentUser(ctx);
    const cursor = decodeCursor(query.cursor);
    const rows = await withDependency('postgresql', () => orm.em.fork().find(
      MusicAsset,
      { tenantId: user.tenantId, deletedAt: null, ...(query.artist_id ? { artistId: query.artist_id } : {}), ...(query.status ? { status: query.status } : {}), ...afterCursor(cursor) },
      { orderBy: { createdAt: 'desc', id: 'desc' }, limit: query.limit + 1 },
    ));
    const page = pageOf(rows, query.limit);
    ctx.body = { items: page.items.map((m) => musicView(m, null)), next_cursor: page.nextCursor };
  });

  registry.addRoute(router, {
    method: 'get', path: '/api/v1/music/:id', operationId: 'getMusic', tags: ['Music'], auth: 'user',
    summary: 'A track with its analysis: tempo, beats, downbeats, loudness, sections, genre (declared / inferred / score), transcription',
    params: IdParams,
    responses: { 200: { description: 'The track', schema: MusicViewSchema }, 404: { description: "NOT_FOUND (also another tenant's)" } },
  }, async (ctx, { params }) => {
    const em = orm.em.fork();
    const music = await findTenantMusic(em, currentUser(ctx).tenantId, params.id);
    ctx.body = musicView(music, await loadAnalysis(em, music));
  });

  registry.addRoute(router, {
    method: 'get', path: '/api/v1/music/:id/similar', operationId: 'similarMusic', tags: ['Music'], auth: 'user',
    summary: "The tenant's tracks that sound most like this one (cosine similarity of the audio embeddings)",
    params: IdParams,
    query: z.object({ limit: z.coerce.number().int().min(1).max(50).default(10) }),
    responses: {
      200: { description: 'Most similar first', schema: z.object({ items: z.array(z.object({ music_id: z.uuid(), title: z.string(), artist_id: z.uuid(), similarity: z.number() })) }) },
      404: { description: 'NOT_FOUND' },
      409: { description: 'MUSIC_NOT_ANALYZED: the track has no analysis yet' },
    },
  }, async (ctx, { params, query }) => {
    const user = currentUser(ctx);
    const em = orm.em.fork();
    const music = await findTenantMusic(em, user.tenantId, params.id);
    if (!music.analysisId) throw new AppError(409, 'MUSIC_NOT_ANALYZED', `The track is ${music.status}; similar tracks are found once it is analysed`);
    // Embeddings are L2-normalized: the cosine is the dot product. Another upload of the same audio shares the analysis; it is left out.
    const rows = (await withDependency('postgresql', () => em.getConnection().execute(
      `select m.id, m.title, m.artist_id,
              (select sum(x * y) from unnest(e.embedding, self.embedding) as t(x, y)) as similarity
       from music_assets m
       join music_embeddings e on e.analysis_id = m.analysis_id and e.tenant_id = m.tenant_id
       join music_embeddings self on self.analysis_id = ? and self.tenant_id = ?
       where m.tenant_id = ? and m.deleted_at is null and m.id <> ? and m.analysis_id <> ?
       order by similarity desc, m.id
       limit ?`,
      [music.analysisId, user.tenantId, user.tenantId, music.id, music.analysisId, query.limit],
    ))) as Array<{ id: string; title: string; artist_id: string; similarity: number }>;
    ctx.body = { items: rows.map((r) => ({ music_id: r.id, title: r.title, artist_id: r.artist_id, similarity: Math.round(Number(r.similarity) * 10_000) / 10_000 })) };
  });

  registry.addRoute(router, {
    method: 'delete', path: '/api/v1/music/:id', operationId: 'deleteMusic', tags: ['Music'], auth: ['admin', 'manager', 'editor'],
    summary: 'Delete a track (soft; its analysis stays cached for the same audio)',
    params: IdParams,
    responses: { 204: { description: 'Deleted' }, 404: { description: 'NOT_FOUND' } },
  }, async (ctx, { params }) => {
    const user = currentUser(ctx);
    const em = orm.em.fork();
    const music = await findTenantMusic(em, user.tenantId, params.id);
    await withDependency('postgresql', () => em.nativeUpdate(MusicAsset, { id: music.id, tenantId: user.tenantId }, { deletedAt: new Date(), updatedAt: new Date() }));
    ctx.status = 204;
  });

  return router;
}
