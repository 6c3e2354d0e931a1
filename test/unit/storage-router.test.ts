/**
 * The fs driver's presigned-URL routes on a real HTTP server: signature, expiry, bucket and
 * object checks, and the upload size limit (413 with nothing stored).
 */
import Koa from 'koa';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createStorageRouter } from '../../api/routes/storage.ts';
import type { StorageConfig } from '../../lib/config.ts';
import { AppError } from '../../lib/errors.ts';
import { FsStorageDriver } from '../../lib/storage/fs.ts';
import { signedUrl } from '../../lib/storage/signing.ts';

const SECRET = 'router-test-signing-secret-0123456789abcd';
const MAX = 1000;

describe('storage router (fs presigned URLs)', () => {
  let root: string;
  let server: Server;
  let storage: FsStorageDriver;
  let config: StorageConfig;
  const serverErrors: Error[] = [];

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'moviola-router-'));
    server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    config = {
      driver: 'fs',
      bucketPrefix: 'rt',
      fsRoot: root,
      signingSecret: SECRET,
      publicUrl: `http://127.0.0.1:${port}`,
      s3: { endpoint: 'http://127.0.0.1:1', publicEndpoint: '', region: 'us-east-1', accessKey: 'x', secretKey: 'xxxxxxxx' },
    };
    storage = new FsStorageDriver(config);
    await storage.ensureBuckets();
    const app = new Koa();
    app.on('error', (err: Error) => serverErrors.push(err));
    app.use(async (ctx, next) => {
      try {
        await next();
      } catch (err) {
        if (!(err instanceof AppError)) throw err;
        ctx.status = err.status;
        for (const [name, value] of Object.entries(err.headers)) ctx.set(name, value);
        ctx.body = err.toBody();
      }
    });
    const router = createStorageRouter({ storage, config, maxUploadBytes: MAX });
    app.use(router.routes()).use(router.allowedMethods());
    server.on('request', app.callback());
    await storage.put('uploads', 'clips/a b.txt', Buffer.from('hello there'), { contentType: 'text/plain' });
  });

  after(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await rm(root, { recursive: true, force: true });
  });

  const url = (method: 'GET' | 'PUT', key: string, extra: { bucket?: 'uploads' | 'exports'; expiresSeconds?: number; now?: number; disposition?: string } = {}) =>
    signedUrl(config.publicUrl, SECRET, {
      method,
      bucket: extra.bucket ?? 'uploads',
      key,
      disposition: extra.disposition ?? '',
      expiresSeconds: extra.expiresSeconds ?? 60,
      now: extra.now,
    });

  async function errorCode(res: Response): Promise<string> {
    const body = (await res.json()) as { error: { code: string } };
    return body.error.code;
  }

  /** Objects and leftover temporary files in the uploads bucket. */
  async function tmpFiles(): Promise<string[]> {
    return readdir(join(storage.bucketDir('uploads'), '.moviola-tmp'));
  }

  it('serves a signed GET with type, length and ETag', async () => {
    const res = await fetch(url('GET', 'clips/a b.txt'));
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'text/plain');
    assert.equal(res.headers.get('content-length'), '11');
    assert.match(res.headers.get('etag') ?? '', /^"[0-9a-f]{32}"$/);
    assert.equal(res.headers.get('content-disposition'), null);
    assert.equal(await res.text(), 'hello there');
  });

  it('answers HEAD from the same GET signature without a body', async () => {
    const res = await fetch(url('GET', 'clips/a b.txt'), { method: 'HEAD' });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-length'), '11');
    assert.equal(await res.text(), '');
  });

  it('adds Content-Disposition only when it was signed for', async () => {
    const disposition = 'attachment; filename="x.txt"';
    const signed = await fetch(url('GET', 'clips/a b.txt', { disposition }));
    assert.equal(signed.headers.get('content-disposition'), disposition);
    await signed.arrayBuffer();
    const forged = new URL(url('GET', 'clips/a b.txt'));
    forged.searchParams.set('disposition', disposition);
    const res = await fetch(forged);
    assert.equal(res.status, 403);
    assert.equal(await errorCode(res), 'SIGNATURE_INVALID');
  });

  it('refuses a missing or wrong signature with 403 SIGNATURE_INVALID', async () => {
    const good = new URL(url('GET', 'clips/a b.txt'));
    const missing = new URL(good);
    missing.searchParams.delete('signature');
    const wrong = new URL(good);
    wrong.searchParams.set('signature', '0'.repeat(64));
    const otherKey = new URL(good);
    otherKey.pathname = otherKey.pathname.replace('a%20b', 'c');
    const putForGet = new URL(url('PUT', 'clips/a b.txt'));
    for (const u of [missing, wrong, otherKey, putForGet]) {
      const res = await fetch(u);
      assert.equal(res.status, 403, u.toString());
      assert.equal(await errorCode(res), 'SIGNATURE_INVALID');
    }
  });

  it('refuses an expired URL with 403 SIGNATURE_EXPIRED', async () => {
    const res = await fetch(url('GET', 'clips/a b.txt', { now: Date.now() - 120_000 }));
    assert.equal(res.status, 403);
    assert.equal(await errorCode(res), 'SIGNATURE_EXPIRED');
  });

  it('answers 404 for an unknown bucket and NOT_FOUND for a missing object', async () => {
    const unknown = new URL(url('GET', 'clips/a b.txt'));
    unknown.pathname = unknown.pathname.replace('/uploads/', '/secrets/');
    const res = await fetch(unknown);
    assert.equal(res.status, 404);
    assert.equal(await errorCode(res), 'NOT_FOUND');
    const missing = await fetch(url('GET', 'clips/nope.txt'));
    assert.equal(missing.status, 404);
    assert.equal(await errorCode(missing), 'NOT_FOUND');
    const head = await fetch(url('GET', 'clips/nope.txt'), { method: 'HEAD' });
    assert.equal(head.status, 404);
  });

  it('stores a signed PUT with its Content-Type', async () => {
    const res = await fetch(url('PUT', 'up/new.json'), { method: 'PUT', body: '{"a":1}', headers: { 'content-type': 'application/json' } });
    assert.equal(res.status, 200);
    const body = (await res.json()) as { size: number; key: string };
    assert.equal(body.size, 7);
    assert.equal(body.key, 'up/new.json');
    const info = await storage.stat('uploads', 'up/new.json');
    assert.equal(info?.contentType, 'application/json');
    assert.equal(info?.size, 7);
  });

  it('refuses a declared body over the limit with 413 and stores nothing', async () => {
    const res = await fetch(url('PUT', 'up/declared-too-big.bin'), { method: 'PUT', body: Buffer.alloc(MAX + 1) });
    assert.equal(res.status, 413);
    assert.equal(await errorCode(res), 'PAYLOAD_TOO_LARGE');
    assert.equal(await storage.stat('uploads', 'up/declared-too-big.bin'), null);
  });

  it('stops a chunked body that grows over the limit with 413 and stores nothing', async () => {
    const target = new URL(url('PUT', 'up/chunked-too-big.bin'));
    const { status, body } = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request(target, { method: 'PUT', headers: { 'transfer-encoding': 'chunked' } }, (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      });
      req.on('error', reject);
      // Keep sending well past the limit; the server answers as soon as it is crossed.
      let sent = 0;
      const pump = () => {
        while (sent < MAX * 20) {
          sent += 400;
          if (!req.write(Buffer.alloc(400, 1))) return void req.once('drain', pump);
        }
        req.end();
      };
      pump();
    });
    assert.equal(status, 413);
    assert.equal((JSON.parse(body) as { error: { code: string } }).error.code, 'PAYLOAD_TOO_LARGE');
    assert.equal(await storage.stat('uploads', 'up/chunked-too-big.bin'), null);
    assert.deepEqual(await tmpFiles(), []);
  });

  it('accepts a body of exactly the limit', async () => {
    const res = await fetch(url('PUT', 'up/exact.bin'), { method: 'PUT', body: Buffer.alloc(MAX, 7) });
    assert.equal(res.status, 200);
    assert.equal((await storage.stat('uploads', 'up/exact.bin'))?.size, MAX);
  });

  it('stores a part through a signed part URL, and only the part it was signed for', async () => {
    const uploadId = await storage.createMultipartUpload('uploads', 'up/multi.bin');
    const partUrl = await storage.presignUploadPart('uploads', 'up/multi.bin', uploadId, 1, 60);
    const ok = await fetch(partUrl, { method: 'PUT', body: 'part one' });
    assert.equal(ok.status, 200);
    assert.match(ok.headers.get('etag') ?? '', /^"[0-9a-f]{32}"$/);
    const body = (await ok.json()) as { part_number: number; upload_id: string; size: number };
    assert.deepEqual([body.part_number, body.upload_id, body.size], [1, uploadId, 8]);

    const halfNamed = new URL(partUrl);
    halfNamed.searchParams.delete('partNumber');
    const badNumber = new URL(partUrl);
    badNumber.searchParams.set('partNumber', '0');
    const otherKey = new URL(partUrl);
    otherKey.pathname = otherKey.pathname.replace('multi.bin', 'multi2.bin');
    for (const u of [halfNamed, badNumber, otherKey]) {
      const res = await fetch(u, { method: 'PUT', body: 'x' });
      assert.equal(res.status, 403, u.search);
      assert.equal(await errorCode(res), 'SIGNATURE_INVALID');
    }
    // A part URL never reads an object.
    const asGet = await fetch(partUrl);
    assert.equal(asGet.status, 403);
    await asGet.arrayBuffer();
    // A GET URL with a part named is refused too.
    const getWithPart = new URL(url('GET', 'clips/a b.txt'));
    getWithPart.searchParams.set('uploadId', uploadId);
    getWithPart.searchParams.set('partNumber', '1');
    assert.equal((await fetch(getWithPart)).status, 403);

    const info = await storage.completeMultipartUpload('uploads', 'up/multi.bin', uploadId);
    assert.equal(info.size, 8);
    const late = await fetch(partUrl, { method: 'PUT', body: 'again' });
    assert.equal(late.status, 404);
    assert.equal(await errorCode(late), 'NO_SUCH_UPLOAD');
  });

  it('refuses a part over the upload limit with 413 and stores no part', async () => {
    const uploadId = await storage.createMultipartUpload('uploads', 'up/big-part.bin');
    const res = await fetch(await storage.presignUploadPart('uploads', 'up/big-part.bin', uploadId, 1, 60), { method: 'PUT', body: Buffer.alloc(MAX + 1) });
    assert.equal(res.status, 413);
    assert.deepEqual(await readdir(join(storage.bucketDir('uploads'), '.moviola-multipart', uploadId)), ['upload.json']);
    await storage.abortMultipartUpload('uploads', 'up/big-part.bin', uploadId);
  });

  it('raised no unexpected server errors', () => {
    assert.deepEqual(serverErrors.map((e) => e.stack), []);
  });
});
