import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hlsQuery, playlistUris, rewritePlaylist, verifyHlsToken } from '../../lib/assets/hls-playlist.ts';

const SECRET = 'a-test-secret-of-at-least-32-characters!';
const ASSET = '2b1f4a8e-0c1d-4a63-9a57-5d5f1d3c9e10';

describe('HLS playlists served under a signed token', () => {
  it('verifies its own token, refuses a forged or another asset’s one, and tells expiry apart', () => {
    const q = new URLSearchParams(hlsQuery(SECRET, ASSET, 2_000));
    const expires = q.get('expires')!;
    const token = q.get('token')!;
    assert.equal(verifyHlsToken(SECRET, ASSET, expires, token, 1_000), 'ok');
    assert.equal(verifyHlsToken(SECRET, ASSET, expires, token, 3_000), 'expired');
    assert.equal(verifyHlsToken(SECRET, '00000000-0000-4000-8000-000000000000', expires, token, 1_000), 'invalid');
    assert.equal(verifyHlsToken(SECRET, ASSET, '2001', token, 1_000), 'invalid');
    assert.equal(verifyHlsToken('another-secret-of-at-least-32-chars!!', ASSET, expires, token, 1_000), 'invalid');
    assert.equal(verifyHlsToken(SECRET, ASSET, undefined, token, 1_000), 'invalid');
  });

  it('rewrites every URI of a media playlist, the EXT-X-MAP init segment included', () => {
    const text = '#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-TARGETDURATION:4\n#EXT-X-MAP:URI="720p_init.mp4"\n#EXTINF:4.000,\n720p_00000.m4s\n#EXTINF:2.000,\n720p_00001.m4s\n#EXT-X-ENDLIST\n';
    assert.deepEqual(playlistUris(text), ['720p_init.mp4', '720p_00000.m4s', '720p_00001.m4s']);
    const urls = new Map(playlistUris(text).map((u) => [u, `https://s3.example/b/${u}?X-Amz-Signature=abc`]));
    const out = rewritePlaylist(text, urls);
    assert.match(out, /#EXT-X-MAP:URI="https:\/\/s3\.example\/b\/720p_init\.mp4\?X-Amz-Signature=abc"/);
    assert.match(out, /\nhttps:\/\/s3\.example\/b\/720p_00001\.m4s\?X-Amz-Signature=abc\n/);
    assert.doesNotMatch(out, /^720p_/m);
    assert.match(out, /#EXT-X-ENDLIST/);
  });

  it('refuses playlists naming anything but a bare file of the rendition', () => {
    for (const uri of ['../other/secret.m4s', 'http://evil.example/x.m4s', '/etc/passwd', 'sub/dir.m4s']) {
      assert.throws(() => playlistUris(`#EXTM3U\n#EXTINF:4,\n${uri}\n`), RangeError, uri);
    }
  });
});
