/**
 * Serving a private HLS rendition to a standard player with no extra headers: the API answers the
 * playlists itself, under a signed query token, and rewrites every URI in them — variant playlists
 * to their API URL (same token), init segments and media segments to presigned storage URLs. The
 * objects stay private; a URL is good until the token expires. Pure functions, unit-tested.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

/** A bare file name as written by our HLS packager; anything else in a playlist is refused. */
const BARE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

export function hlsToken(secret: string, assetId: string, expires: number): string {
  return createHmac('sha256', secret).update(`hls\n${assetId}\n${expires}`, 'utf8').digest('base64url');
}

export function hlsQuery(secret: string, assetId: string, expires: number): string {
  return new URLSearchParams({ expires: String(expires), token: hlsToken(secret, assetId, expires) }).toString();
}

export type HlsTokenCheck = 'ok' | 'invalid' | 'expired';

/** Authenticity first (constant time), then expiry: `expired` only for a token this server signed. */
export function verifyHlsToken(secret: string, assetId: string, expires: string | undefined, token: string | undefined, nowSeconds: number): HlsTokenCheck {
  if (!expires || !token || !/^\d{1,12}$/.test(expires)) return 'invalid';
  const expected = Buffer.from(hlsToken(secret, assetId, Number(expires)));
  const given = Buffer.from(token);
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) return 'invalid';
  return Number(expires) < nowSeconds ? 'expired' : 'ok';
}

/** Every URI a playlist references (media lines and URI="…" attributes), in order, deduplicated. */
export function playlistUris(text: string): string[] {
  const uris = new Set<string>();
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '') continue;
    if (line.startsWith('#')) {
      for (const match of line.matchAll(/URI="([^"]*)"/g)) uris.add(match[1]!);
    } else {
      uris.add(line);
    }
  }
  for (const uri of uris) {
    if (!BARE_NAME.test(uri) || uri.includes('..')) throw new RangeError(`unexpected URI in playlist: ${JSON.stringify(uri.slice(0, 100))}`);
  }
  return [...uris];
}

/** The playlist with each URI replaced by `urls.get(uri)` (every URI must have one). */
export function rewritePlaylist(text: string, urls: ReadonlyMap<string, string>): string {
  const resolve = (uri: string) => {
    const url = urls.get(uri);
    if (url === undefined) throw new RangeError(`no URL for ${uri}`);
    return url;
  };
  return text
    .split(/\r?\n/)
    .map((raw) => {
      const line = raw.trim();
      if (line === '') return raw;
      if (line.startsWith('#')) return raw.replace(/URI="([^"]*)"/g, (_m, uri: string) => `URI="${resolve(uri)}"`);
      return resolve(line);
    })
    .join('\n');
}

export const isPlaylistName = (name: string) => BARE_NAME.test(name) && name.endsWith('.m3u8');
