import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sniffAsset } from '../../lib/assets/sniff.ts';

const limits = { maxImagePixels: 100_000_000 };

function png(width: number, height: number): Buffer {
  const b = Buffer.alloc(33);
  b.writeUInt32BE(0x89504e47, 0);
  b.writeUInt32BE(0x0d0a1a0a, 4);
  b.writeUInt32BE(13, 8);
  b.write('IHDR', 12, 'latin1');
  b.writeUInt32BE(width, 16);
  b.writeUInt32BE(height, 20);
  return b;
}

function jpeg(width: number, height: number): Buffer {
  const app1 = Buffer.concat([Buffer.from([0xff, 0xe1, 0x00, 0x10]), Buffer.alloc(14, 0x41)]);
  const sof = Buffer.from([0xff, 0xc2, 0x00, 0x11, 0x08, height >> 8, height & 0xff, width >> 8, width & 0xff, 0x03, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
  return Buffer.concat([Buffer.from([0xff, 0xd8]), app1, sof]);
}

const mp4Head = Buffer.concat([Buffer.from([0, 0, 0, 0x20]), Buffer.from('ftypisom'), Buffer.alloc(20)]);

describe('sniffAsset', () => {
  it('accepts media, images and documents whose content matches the name', () => {
    assert.deepEqual(sniffAsset(mp4Head, 'clip.MP4', limits), { ok: true, family: 'media', type: 'video', format: 'mp4' });
    assert.deepEqual(sniffAsset(mp4Head, 'song.m4a', limits), { ok: true, family: 'media', type: 'audio', format: 'mp4' });
    assert.deepEqual(sniffAsset(png(640, 480), 'a.png', limits), { ok: true, family: 'image', type: 'image', format: 'png', image: { width: 640, height: 480 } });
    assert.deepEqual(sniffAsset(jpeg(4000, 3000), 'photo.jpg', limits), { ok: true, family: 'image', type: 'image', format: 'jpeg', image: { width: 4000, height: 3000 } });
    assert.equal(sniffAsset(Buffer.from('%PDF-1.7\n...'), 'brief.pdf', limits).ok, true);
    assert.equal(sniffAsset(Buffer.from('Roteiro: cena 1, praia.\nFim.'), 'notes.txt', limits).ok, true);
  });

  it('refuses a pixel bomb from its header alone', () => {
    for (const [head, name] of [[png(30_000, 30_000), 'bomb.png'], [jpeg(30_000, 30_000), 'bomb.jpg']] as const) {
      const result = sniffAsset(head, name, limits);
      assert.equal(result.ok, false);
      assert.equal(!result.ok && result.code, 'IMAGE_TOO_LARGE');
      assert.equal(!result.ok && result.status, 422);
    }
  });

  it('refuses playlists and concat scripts whatever their name', () => {
    const cases = [
      ['#EXTM3U\n#EXTINF:10,\n/etc/passwd\n', 'clip.mp4'],
      ['#EXTM3U\n#EXT-X-VERSION:3\nseg.ts\n', 'notes.txt'],
      ["ffconcat version 1.0\nfile '/etc/passwd'\n", 'clip.mp4'],
      ["file '/var/secret.mp4'\n", 'list.txt'],
      ['<?xml version="1.0"?><MPD xmlns="urn:mpeg:dash:schema:mpd:2011"></MPD>', 'movie.mp4'],
    ];
    for (const [text, name] of cases) {
      const result = sniffAsset(Buffer.from(text!), name!, limits);
      assert.equal(result.ok, false, name);
      assert.equal(!result.ok && result.code, 'INVALID_MEDIA', text);
    }
  });

  it('refuses content that does not match the extension, and unknown extensions', () => {
    const pngAsVideo = sniffAsset(png(64, 64), 'clip.mp4', limits);
    assert.equal(!pngAsVideo.ok && pngAsVideo.code, 'INVALID_MEDIA');
    const textAsVideo = sniffAsset(Buffer.from('hello world'), 'clip.mp4', limits);
    assert.equal(!textAsVideo.ok && textAsVideo.code, 'INVALID_MEDIA');
    const exe = sniffAsset(Buffer.from('MZ\u0090\u0000'), 'setup.exe', limits);
    assert.equal(!exe.ok && exe.status, 415);
    assert.equal(!exe.ok && exe.code, 'UNSUPPORTED_FORMAT');
    const truncatedPng = sniffAsset(png(64, 64).subarray(0, 12), 'a.png', limits);
    assert.equal(!truncatedPng.ok && truncatedPng.code, 'INVALID_MEDIA');
  });
});
