/**
 * HLS playback of an asset's private rendition:
 * - `GET /api/v1/assets/{id}/hls` (bearer auth) → `{url, expires_in}`: the master playlist's URL
 *   under a signed query token;
 * - `GET /api/v1/assets/{id}/hls/{playlist}.m3u8?expires=&token=` (no auth header: the token is
 *   the credential) → the playlist, its variant playlists pointing back here (relative URLs) with the same token
 *   and its segments presigned in storage. A standard player (ffmpeg, hls.js, Safari) plays it end
 *   to end with no extra headers; nothing in the bucket is public.
 */
import { posix } from 'node:path';
import Router from '@koa/router';
import { z } from 'zod';
import { Asset, AssetRendition } from '../../entities/index.ts';
import { isPlaylistName, hlsQuery, playlistUris, rewritePlaylist, verifyHlsToken } from '../../lib/assets/hls-playlist.ts';
import { withDependency } from '../../lib/dependencies.ts';
import { AppError, notFound } from '../../lib/errors.ts';
import { ObjectNotFoundError } from '../../lib/storage/index.ts';
import { AssetIdParams, findTenantAsset } from '../assets/find-asset.ts';
import { currentUser } from '../auth/authenticate.ts';
import type { ApiDeps } from '../context.ts';
import type { ApiRegistry } from '../openapi/registry.ts';

/** A segment URL outlives the playlist that names it by at least this much (a player fetches segments later). */
const MIN_SEGMENT_URL_SECONDS = 300;

async function streamToString(stream: NodeJS.ReadableStream, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new AppError(502, 'PLAYLIST_TOO_LARGE', 'The stored playlist is larger than expected');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export function createAssetHlsRouter(deps: ApiDeps, registry: ApiRegistry): Router {
  const router = new Router();
  const { config, orm, storage } = deps;
  const secret = config.storage.signingSecret;
  const playlistUrl = (assetId: string, name: string, query: string) => `${config.api.publicUrl}/api/v1/assets/${assetId}/hls/${name}?${query}`;

  registry.addRoute(router, {
    method: 'get', path: '/api/v1/assets/:id/hls', operationId: 'getAssetHls', tags: ['Assets'], auth: 'user',
    summary: 'The URL of the HLS master playlist (signed; plays in any standard player with no extra headers)',
    params: AssetIdParams,
    responses: {
      200: { description: 'The URL', schema: z.object({ url: z.url(), expires_in: z.number().int() }) },
      404: { description: 'NOT_FOUND' },
      409: { description: 'RENDITION_NOT_READY: no HLS rendition (not a video, or not ingested yet)' },
    },
  }, async (ctx, { params }) => {
    const user = currentUser(ctx);
    const em = orm.em.fork();
    const asset = await findTenantAsset(em, user.tenantId, params.id);
    const hls = await withDependency('postgresql', () => em.findOne(AssetRendition, { assetId: asset.id, tenantId: user.tenantId, name: 'hls' }));
    if (!hls) throw new AppError(409, 'RENDITION_NOT_READY', `The asset has no HLS rendition (it is a ${asset.type}, ${asset.status})`);
    const ttl = config.assets.urlTtlSeconds;
    const expires = Math.floor(Date.now() / 1000) + ttl;
    ctx.body = { url: playlistUrl(asset.id, posix.basename(hls.storageKey), hlsQuery(secret, asset.id, expires)), expires_in: ttl };
  });

  registry.addRoute(router, {
    method: 'get', path: '/api/v1/assets/:id/hls/:playlist', operationId: 'getAssetHlsPlaylist', tags: ['Assets'],
    summary: 'An HLS playlist of the asset, authorised by the signed query (from GET /assets/{id}/hls)',
    params: z.object({ id: z.uuid(), playlist: z.string().max(128) }),
    query: z.object({ expires: z.string().max(16).optional(), token: z.string().max(128).optional() }),
    responses: {
      200: { description: 'The playlist, every URI absolute and signed', contentType: 'application/vnd.apple.mpegurl', schema: z.string() },
      403: { description: 'HLS_TOKEN_INVALID, HLS_TOKEN_EXPIRED' },
      404: { description: 'NOT_FOUND' },
    },
  }, async (ctx, { params, query }) => {
    const check = verifyHlsToken(secret, params.id, query.expires, query.token, Math.floor(Date.now() / 1000));
    if (check === 'invalid') throw new AppError(403, 'HLS_TOKEN_INVALID', 'The playlist URL is not valid; ask GET /api/v1/assets/{id}/hls for a new one');
    if (check === 'expired') throw new AppError(403, 'HLS_TOKEN_EXPIRED', 'The playlist URL has expired; ask GET /api/v1/assets/{id}/hls for a new one');
    if (!isPlaylistName(params.playlist)) throw notFound('Playlist');
    const em = orm.em.fork();
    const asset = await withDependency('postgresql', () => em.findOne(Asset, { id: params.id, deletedAt: null }));
    if (!asset) throw notFound('Asset');
    const hls = await withDependency('postgresql', () => em.findOne(AssetRendition, { assetId: asset.id, tenantId: asset.tenantId, name: 'hls' }));
    if (!hls) throw notFound('Playlist');
    const dir = posix.dirname(hls.storageKey);
    let text: string;
    try {
      text = await withDependency('storage', async () => streamToString(await storage.get('proxies', `${dir}/${params.playlist}`), 1024 * 1024));
    } catch (err) {
      if (err instanceof ObjectNotFoundError) throw notFound('Playlist');
      throw err;
    }
    const remaining = Number(query.expires) - Math.floor(Date.now() / 1000);
    const segmentTtl = Math.max(MIN_SEGMENT_URL_SECONDS, remaining);
    const urls = new Map<string, string>();
    await withDependency('storage', () => Promise.all(playlistUris(text).map(async (uri) => {
      urls.set(uri, isPlaylistName(uri)
        // Relative: resolved against this playlist's own URL, so it works behind any proxy or host name.
        ? `${uri}?${new URLSearchParams({ expires: query.expires!, token: query.token! }).toString()}`
        : await storage.presignGet('proxies', `${dir}/${uri}`, segmentTtl));
    })));
    ctx.set('Content-Type', 'application/vnd.apple.mpegurl');
    ctx.set('Cache-Control', 'private, max-age=60');
    ctx.body = rewritePlaylist(text, urls);
  });

  return router;
}
