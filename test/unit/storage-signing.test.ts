import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, it } from 'node:test';
import { computeSignature, encodeKeyPath, parsePartTarget, signedUrl, verifySignature } from '../../lib/storage/signing.ts';

const SECRET = 'unit-test-signing-secret-0123456789abcdef';
const NOW = Date.UTC(2025, 0, 1, 12, 0, 0);

function parse(url: string) {
  const u = new URL(url);
  return {
    u,
    expires: u.searchParams.get('expires') ?? undefined,
    signature: u.searchParams.get('signature') ?? undefined,
    disposition: u.searchParams.get('disposition') ?? '',
  };
}

describe('storage URL signing', () => {
  it('signs method, bucket, key, expiry and disposition with HMAC-SHA256', () => {
    const input = { method: 'GET' as const, bucket: 'uploads' as const, key: 'a/b.mp4', expires: 1_700_000_000, disposition: 'attachment; filename="b.mp4"' };
    const expected = createHmac('sha256', SECRET)
      .update('GET\nuploads\na/b.mp4\n1700000000\nattachment; filename="b.mp4"')
      .digest('hex');
    assert.equal(computeSignature(SECRET, input), expected);
  });

  it('builds a URL under the public base with an encoded key and the expiry in seconds', () => {
    const url = signedUrl('http://example.test:3000/', SECRET, {
      method: 'GET',
      bucket: 'uploads',
      key: 'acme/probe/1/my clip?#%.mp4',
      disposition: '',
      expiresSeconds: 600,
      now: NOW,
    });
    const { u, expires, signature } = parse(url);
    assert.equal(u.origin, 'http://example.test:3000');
    assert.equal(u.pathname, '/api/v1/storage/uploads/acme/probe/1/my%20clip%3F%23%25.mp4');
    assert.equal(expires, String(NOW / 1000 + 600));
    assert.equal(u.searchParams.has('disposition'), false);
    assert.match(signature ?? '', /^[0-9a-f]{64}$/);
  });

  it('verifies its own URL until it expires, then answers expired', () => {
    const key = 'k/ü.bin';
    const url = signedUrl('http://h', SECRET, { method: 'PUT', bucket: 'exports', key, disposition: '', expiresSeconds: 60, now: NOW });
    const { expires, signature } = parse(url);
    const check = (now: number) => verifySignature(SECRET, { method: 'PUT', bucket: 'exports', key, disposition: '', expires, signature, now });
    assert.equal(check(NOW), 'ok');
    assert.equal(check(NOW + 60_000), 'ok');
    assert.equal(check(NOW + 61_000), 'expired');
  });

  it('refuses anything that was not signed exactly so', () => {
    const base = { method: 'GET' as const, bucket: 'uploads' as const, key: 'a/b', disposition: 'attachment; filename="b"' };
    const { expires, signature } = parse(signedUrl('http://h', SECRET, { ...base, expiresSeconds: 60, now: NOW }));
    const verify = (over: Partial<Parameters<typeof verifySignature>[1]>, secret = SECRET) =>
      verifySignature(secret, { ...base, expires, signature, now: NOW, ...over });
    assert.equal(verify({}), 'ok');
    assert.equal(verify({ method: 'PUT' }), 'invalid');
    assert.equal(verify({ bucket: 'exports' }), 'invalid');
    assert.equal(verify({ key: 'a/c' }), 'invalid');
    assert.equal(verify({ disposition: '' }), 'invalid');
    assert.equal(verify({ expires: String(Number(expires) + 3600) }), 'invalid');
    assert.equal(verify({ expires: `0${expires}` }), 'invalid');
    assert.equal(verify({}, `${SECRET}x`), 'invalid');
    assert.equal(verify({ signature: undefined }), 'invalid');
    assert.equal(verify({ signature: 'zz' }), 'invalid');
    assert.equal(verify({ signature: (signature ?? '').toUpperCase() }), 'invalid');
    assert.equal(verify({ signature: `${signature}00` }), 'invalid');
    assert.equal(verify({ expires: undefined }), 'invalid');
    assert.equal(verify({ expires: 'soon' }), 'invalid');
  });

  it('answers invalid rather than expired for a forged expired URL', () => {
    const forged = verifySignature(SECRET, {
      method: 'GET',
      bucket: 'uploads',
      key: 'a',
      disposition: '',
      expires: '1000',
      signature: 'a'.repeat(64),
      now: NOW,
    });
    assert.equal(forged, 'invalid');
  });

  it('refuses non-positive expiry durations', () => {
    for (const expiresSeconds of [0, -1, 1.5, Number.NaN]) {
      assert.throws(() => signedUrl('http://h', SECRET, { method: 'GET', bucket: 'uploads', key: 'a', disposition: '', expiresSeconds }), RangeError);
    }
  });

  it('encodes each key segment but keeps the separators', () => {
    assert.equal(encodeKeyPath('a b/c&d/é'), 'a%20b/c%26d/%C3%A9');
  });

  it('signs a part URL over its upload id and part number, apart from plain PUTs', () => {
    const part = { uploadId: 'abc123', partNumber: 7 };
    const expected = createHmac('sha256', SECRET).update('PUT-PART\nuploads\na/b.bin\n1700000000\nabc123\n7').digest('hex');
    assert.equal(computeSignature(SECRET, { method: 'PUT', bucket: 'uploads', key: 'a/b.bin', expires: 1_700_000_000, disposition: '', part }), expected);

    const url = new URL(signedUrl('http://h', SECRET, { method: 'PUT', bucket: 'uploads', key: 'a/b.bin', disposition: '', part, expiresSeconds: 60, now: NOW }));
    assert.equal(url.searchParams.get('uploadId'), 'abc123');
    assert.equal(url.searchParams.get('partNumber'), '7');
    const expires = url.searchParams.get('expires') ?? undefined;
    const signature = url.searchParams.get('signature') ?? undefined;
    const verify = (over: Partial<Parameters<typeof verifySignature>[1]>) =>
      verifySignature(SECRET, { method: 'PUT', bucket: 'uploads', key: 'a/b.bin', disposition: '', part, expires, signature, now: NOW, ...over });
    assert.equal(verify({}), 'ok');
    assert.equal(verify({ part: { uploadId: 'abc123', partNumber: 8 } }), 'invalid');
    assert.equal(verify({ part: { uploadId: 'abc124', partNumber: 7 } }), 'invalid');
    assert.equal(verify({ part: undefined }), 'invalid');
    assert.equal(verify({ key: 'a/c.bin' }), 'invalid');
    // A plain PUT URL is no part URL.
    const plain = new URL(signedUrl('http://h', SECRET, { method: 'PUT', bucket: 'uploads', key: 'a/b.bin', disposition: '', expiresSeconds: 60, now: NOW }));
    assert.equal(verify({ expires: plain.searchParams.get('expires') ?? undefined, signature: plain.searchParams.get('signature') ?? undefined }), 'invalid');
  });

  it('part URLs are PUT URLs without a disposition', () => {
    const part = { uploadId: 'u', partNumber: 1 };
    assert.throws(() => signedUrl('http://h', SECRET, { method: 'GET', bucket: 'uploads', key: 'a', disposition: '', part, expiresSeconds: 60 }), TypeError);
    assert.throws(() => signedUrl('http://h', SECRET, { method: 'PUT', bucket: 'uploads', key: 'a', disposition: 'attachment', part, expiresSeconds: 60 }), TypeError);
  });

  it('parses the part a query names, refusing half or malformed ones', () => {
    assert.equal(parsePartTarget(undefined, undefined), null);
    assert.deepEqual(parsePartTarget('0123abcd', '1'), { uploadId: '0123abcd', partNumber: 1 });
    assert.deepEqual(parsePartTarget('x', '10000'), { uploadId: 'x', partNumber: 10_000 });
    for (const [id, n] of [['x', undefined], [undefined, '1'], ['x', '0'], ['x', '10001'], ['x', '01'], ['x', '-1'], ['x', '1.5'], ['', '1'], ['a/b', '1'], ['a b', '1']] as const) {
      assert.equal(parsePartTarget(id, n), 'invalid', `${id} ${n}`);
    }
  });
});
