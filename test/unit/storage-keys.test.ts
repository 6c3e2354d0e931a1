import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { attachmentDisposition } from '../../lib/storage/disposition.ts';
import { assetKey, assetPrefix, MAX_FILENAME_BYTES, MAX_FILENAME_LENGTH, probeUploadKey, sanitizeFilename } from '../../lib/storage/keys.ts';
import { assertSafeKey, assertSafePrefix, InvalidKeyError, isBucketName, physicalBucket } from '../../lib/storage/types.ts';

describe('sanitizeFilename', () => {
  it('keeps an ordinary name as it is', () => {
    assert.equal(sanitizeFilename('clip 01 (final).mp4'), 'clip 01 (final).mp4');
    assert.equal(sanitizeFilename('vídeo-ação.mov'), 'vídeo-ação.mov');
  });

  it('keeps only the basename, after either separator', () => {
    assert.equal(sanitizeFilename('../../etc/passwd'), 'passwd');
    assert.equal(sanitizeFilename('C:\\Users\\ana\\Desktop\\take.wav'), 'take.wav');
    assert.equal(sanitizeFilename('/abs/path/x.png'), 'x.png');
  });

  it('strips control characters and bidi overrides', () => {
    assert.equal(sanitizeFilename('a\u0000b\nc\r\u001bd.txt'), 'abcd.txt');
    assert.equal(sanitizeFilename('invoice\u202Egpj.exe'), 'invoicegpj.exe');
    assert.equal(sanitizeFilename('x\u007f\u0085y'), 'xy');
  });

  it('falls back to "file" when nothing usable is left', () => {
    for (const name of ['', '   ', '.', '..', '...', 'dir/', 'a/..', '\u0000\u0001', 'dir\\']) {
      assert.equal(sanitizeFilename(name), 'file', JSON.stringify(name));
    }
  });

  it('limits length to 200 characters and keeps the extension', () => {
    const out = sanitizeFilename(`${'a'.repeat(500)}.mp4`);
    assert.equal(out.length, MAX_FILENAME_LENGTH);
    assert.ok(out.endsWith('.mp4'));
    assert.equal(out, `${'a'.repeat(196)}.mp4`);
  });

  it('limits multi-byte names to 240 UTF-8 bytes without splitting a character', () => {
    const out = sanitizeFilename(`${'ç'.repeat(150)}.mkv`);
    assert.ok(Buffer.byteLength(out) <= MAX_FILENAME_BYTES);
    assert.ok(out.endsWith('.mkv'));
    assert.equal(out, `${'ç'.repeat(118)}.mkv`);
    const emoji = sanitizeFilename(`${'🎬'.repeat(100)}.mp4`);
    assert.ok(Buffer.byteLength(emoji) <= MAX_FILENAME_BYTES);
    assert.ok(!emoji.includes('\ufffd'));
    assert.equal(emoji, `${'🎬'.repeat(59)}.mp4`);
  });

  it('treats an over-long "extension" as part of the name', () => {
    const out = sanitizeFilename(`name.${'x'.repeat(300)}`);
    assert.equal(out.length, MAX_FILENAME_LENGTH);
    assert.ok(out.startsWith('name.'));
  });

  it('produces names that are valid key segments', () => {
    for (const name of ['a/b/c.txt', '..\\..\\x', '\u0000', 'ok.mp4', ' spaced .txt ']) {
      assert.doesNotThrow(() => assertSafeKey(`t/${sanitizeFilename(name)}`), name);
    }
  });
});

describe('probeUploadKey', () => {
  it('is {tenant}/probe/{probeId}/{sanitized filename}', () => {
    assert.equal(probeUploadKey('acme', 'p-123', '../../evil/clip.mp4'), 'acme/probe/p-123/clip.mp4');
    assert.equal(probeUploadKey('acme', 'p-123', ''), 'acme/probe/p-123/file');
  });

  it('is deterministic', () => {
    assert.equal(probeUploadKey('t', 'id', 'a b.mov'), probeUploadKey('t', 'id', 'a b.mov'));
  });

  it('refuses tenant or probe ids that are not one safe segment', () => {
    assert.throws(() => probeUploadKey('a/b', 'p', 'f'), /tenantId/);
    assert.throws(() => probeUploadKey('..', 'p', 'f'), /tenantId/);
    assert.throws(() => probeUploadKey('t', '', 'f'), /probeId/);
    assert.throws(() => probeUploadKey('t', 'p/../../x', 'f'), /probeId/);
  });
});

describe('assetKey', () => {
  const input = { tenantId: 'acme', date: new Date('2024-03-31T23:30:00-03:00'), assetId: 'a1b2', purpose: 'proxy-720p', filename: 'Take 3.MOV' };

  it('is {tenant}/{yyyy}/{mm}/{assetId}/{purpose}/{filename}, year and month in UTC', () => {
    // 23:30 on 31 March in UTC-3 is already April in UTC.
    assert.equal(assetKey(input), 'acme/2024/04/a1b2/proxy-720p/Take 3.MOV');
    assert.equal(assetKey({ ...input, date: new Date('2025-01-05T00:00:00Z') }), 'acme/2025/01/a1b2/proxy-720p/Take 3.MOV');
  });

  it('sanitizes the filename and checks the other segments', () => {
    assert.equal(assetKey({ ...input, filename: '../x/../y.png' }), 'acme/2024/04/a1b2/proxy-720p/y.png');
    assert.throws(() => assetKey({ ...input, purpose: '../up' }), /purpose/);
    assert.throws(() => assetKey({ ...input, assetId: '' }), /assetId/);
    assert.throws(() => assetKey({ ...input, date: new Date('nope') }), /date/);
  });

  it('has a prefix that covers every purpose of the asset and nothing else', () => {
    const prefix = assetPrefix(input);
    assert.equal(prefix, 'acme/2024/04/a1b2/');
    assert.ok(assetKey({ ...input, purpose: 'thumbnail' }).startsWith(prefix));
    assert.ok(!assetKey({ ...input, assetId: 'a1b2c' }).startsWith(prefix));
  });
});

describe('assertSafeKey', () => {
  it('accepts ordinary keys', () => {
    for (const key of ['a', 'acme/2024/04/id/original/clip.mp4', 'x/.hidden', 'spaces are fine.txt', 'ünï/cødé', 'a..b/c']) {
      assert.doesNotThrow(() => assertSafeKey(key), key);
    }
  });

  it('rejects traversal, absolute, empty segments, control characters and over-long keys', () => {
    const bad = ['', '..', '../x', 'a/../b', 'a/..', '.', 'a/./b', '/a', 'a//b', 'a/', 'a\\b', 'a\u0000b', 'a\nb', 'a\u007fb', 'a\u0085b', 'k'.repeat(1025), 'é'.repeat(513)];
    for (const key of bad) {
      assert.throws(() => assertSafeKey(key), InvalidKeyError, JSON.stringify(key.slice(0, 20)));
    }
    assert.doesNotThrow(() => assertSafeKey('k'.repeat(1024)));
  });

  it('allows empty and slash-terminated prefixes', () => {
    assert.doesNotThrow(() => assertSafePrefix(''));
    assert.doesNotThrow(() => assertSafePrefix('acme/2024/'));
    assert.doesNotThrow(() => assertSafePrefix('acme/20'));
    assert.throws(() => assertSafePrefix('../'), InvalidKeyError);
    assert.throws(() => assertSafePrefix('/'), InvalidKeyError);
  });
});

describe('buckets', () => {
  it('knows the logical buckets and their physical names', () => {
    assert.ok(isBucketName('uploads'));
    assert.ok(isBucketName('thumbnails'));
    assert.ok(!isBucketName('secrets'));
    assert.ok(!isBucketName('toString'));
    assert.equal(physicalBucket('moviola', 'exports'), 'moviola-exports');
  });
});

describe('attachmentDisposition', () => {
  it('quotes a plain ASCII name', () => {
    assert.equal(attachmentDisposition('clip.mp4'), 'attachment; filename="clip.mp4"');
  });

  it('adds an RFC 5987 filename* for non-ASCII names and never lets quotes through', () => {
    assert.equal(
      attachmentDisposition('Résumé "v2".mp4'),
      `attachment; filename="R_sum_ _v2_.mp4"; filename*=UTF-8''R%C3%A9sum%C3%A9%20%22v2%22.mp4`,
    );
    assert.equal(attachmentDisposition('a\r\nSet-Cookie: x=1'), 'attachment; filename="aSet-Cookie: x=1"');
    assert.equal(attachmentDisposition('../../x.zip'), 'attachment; filename="x.zip"');
  });
});
