/**
 * /api/v1/artists — the tenant's artists, whose tracks (POST /api/v1/music) are analysed and whose
 * taste the learning layers follow. Delete is soft: the artist disappears from the API, their
 * tracks and analyses stay.
 */
import { randomUUID } from 'node:crypto';
import Router from '@koa/router';
import { z } from 'zod';
import { Artist, type IArtist } from '../../entities/index.ts';
import { normalizeGenre } from '../../lib/audio/genre.ts';
import { withDependency } from '../../lib/dependencies.ts';
import { currentUser } from '../auth/authenticate.ts';
import type { ApiDeps } from '../context.ts';
import { findTenantArtist } from '../music/find-artist.ts';
import type { ApiRegistry } from '../openapi/registry.ts';
import { afterCursor, decodeCursor, PageQuerySchema, pageOf } from '../pagination.ts';

const IdParams = z.object({ id: z.string().max(64) });
const GenresSchema = z.array(z.string().trim().min(1).max(64)).max(20)
  .transform((genres) => [...new Set(genres.map(normalizeGenre).filter((g): g is string => Boolean(g)))]);

const ArtistSchema = z.object({
  id: z.uuid(),
  name: z.string(),
  genres: z.array(z.string()),
  created_at: z.iso.datetime(),
  updated_at: z.iso.datetime(),
});

function artistView(a: IArtist): z.infer<typeof ArtistSchema> {
  return { id: a.id, name: a.name, genres: a.genres ?? [], created_at: a.createdAt.toISOString(), updated_at: a.updatedAt.toISOString() };
}

export function createArtistsRouter(deps: ApiDeps, registry: ApiRegistry): Router {
  const router = new Router();
  const { orm } = deps;

  registry.addRoute(router, {
    method: 'post', path: '/api/v1/artists', operationId: 'createArtist', tags: ['Music'], auth: 'user',
    summary: 'Create an artist (genres are free text, normalized)',
    body: z.strictObject({ name: z.string().trim().min(1).max(200), genres: GenresSchema.optional() }),
    responses: { 201: { description: 'The artist', schema: ArtistSchema }, 422: { description: 'VALIDATION_FAILED' } },
  }, async (ctx, { body }) => {
    const user = currentUser(ctx);
    const now = new Date();
    const artist = { id: randomUUID(), tenantId: user.tenantId, name: body.name, genres: body.genres ?? [], createdBy: user.id, createdAt: now, updatedAt: now, deletedAt: null };
    await withDependency('postgresql', () => orm.em.fork().insert(Artist, artist));
    ctx.status = 201;
    ctx.set('Location', `/api/v1/artists/${artist.id}`);
    ctx.body = artistView(artist as IArtist);
  });

  registry.addRoute(router, {
    method: 'get', path: '/api/v1/artists', operationId: 'listArtists', tags: ['Music'], auth: 'user',
    summary: "The tenant's artists, newest first",
    query: PageQuerySchema.extend({ q: z.string().trim().min(1).max(100).optional() }),
    responses: { 200: { description: 'A page', schema: z.object({ items: z.array(ArtistSchema), next_cursor: z.string().nullable() }) } },
  }, async (ctx, { query }) => {
    const user = currentUser(ctx);
    const cursor = decodeCursor(query.cursor);
    const rows = await withDependency('postgresql', () => orm.em.fork().find(
      Artist,
      { tenantId: user.tenantId, deletedAt: null, ...(query.q ? { name: { $ilike: `%${query.q.replace(/[\\%_]/g, (c) => `\\${c}`)}%` } } : {}), ...afterCursor(cursor) },
      { orderBy: { createdAt: 'desc', id: 'desc' }, limit: query.limit + 1 },
    ));
    const page = pageOf(rows, query.limit);
    ctx.body = { items: page.items.map(artistView), next_cursor: page.nextCursor };
  });

  registry.addRoute(router, {
    method: 'get', path: '/api/v1/artists/:id', operationId: 'getArtist', tags: ['Music'], auth: 'user',
    summary: 'An artist',
    params: IdParams,
    responses: { 200: { description: 'The artist', schema: ArtistSchema }, 404: { description: "NOT_FOUND (also another tenant's)" } },
  }, async (ctx, { params }) => {
    ctx.body = artistView(await findTenantArtist(orm.em.fork(), currentUser(ctx).tenantId, params.id));
  });

  registry.addRoute(router, {
    method: 'patch', path: '/api/v1/artists/:id', operationId: 'updateArtist', tags: ['Music'], auth: 'user',
    summary: "Rename an artist or replace their genres",
    params: IdParams,
    body: z.strictObject({ name: z.string().trim().min(1).max(200).optional(), genres: GenresSchema.optional() })
      .refine((v) => v.name !== undefined || v.genres !== undefined, 'send name or genres'),
    responses: { 200: { description: 'The artist', schema: ArtistSchema }, 404: { description: 'NOT_FOUND' } },
  }, async (ctx, { params, body }) => {
    const user = currentUser(ctx);
    const em = orm.em.fork();
    const artist = await findTenantArtist(em, user.tenantId, params.id);
    await withDependency('postgresql', () => em.nativeUpdate(Artist, { id: artist.id, tenantId: user.tenantId }, {
      ...(body.name !== undefined ? { name: body.name } : {}),
      ...(body.genres !== undefined ? { genres: body.genres } : {}),
      updatedAt: new Date(),
    }));
    ctx.body = artistView(await findTenantArtist(orm.em.fork(), user.tenantId, artist.id));
  });

  registry.addRoute(router, {
    method: 'delete', path: '/api/v1/artists/:id', operationId: 'deleteArtist', tags: ['Music'], auth: ['admin', 'manager', 'editor'],
    summary: 'Delete an artist (soft: their tracks and analyses stay)',
    params: IdParams,
    responses: { 204: { description: 'Deleted' }, 404: { description: 'NOT_FOUND' } },
  }, async (ctx, { params }) => {
    const user = currentUser(ctx);
    const em = orm.em.fork();
    const artist = await findTenantArtist(em, user.tenantId, params.id);
    await withDependency('postgresql', () => em.nativeUpdate(Artist, { id: artist.id, tenantId: user.tenantId }, { deletedAt: new Date(), updatedAt: new Date() }));
    ctx.status = 204;
  });

  return router;
}
