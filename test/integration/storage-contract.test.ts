/**
 * One storage contract, run against both drivers: the local-directory driver (with the API's
 * storage router on a real HTTP server answering its presigned URLs) and the S3 driver against
 * the stack's S3 endpoint (S3_ENDPOINT… exported by `npm test`). Presigned URLs are fetched with
 * plain `curl`, as a client outside Node would.
 */
import Koa from 'koa';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { createStorageRouter } from '../../api/routes/storage.ts';
import type { StorageConfig } from '../../lib/config.ts';
import { AppError } from '../../lib/errors.ts';
import { S3_PART_SIZE } from '../../lib/storage/s3.ts';
import {
  attachmentDisposition,
  createStorage,
  InvalidKeyError,
  ObjectNotFoundError,
  type ObjectInfo,
  type StorageDriver,
} from '../../lib/storage/index.ts';
import { MultipartUploadError } from '../../lib/storage/types.ts';

const SIGNING_SECRET = 'contract-test-signing-secret-0123456789';

interface Harness {
  storage: StorageDriver;
  /** The same backend under a bucket prefix whose buckets were never created. */
  withoutBuckets: () => StorageDriver;
  /** Errors the presigned-URL server (if any) raised while answering. */
  serverErrors: () => Error[];
  close: () => Promise<void>;
}

function baseConfig(overrides: Partial<StorageConfig>): StorageConfig {
  return {
    driver: 'fs',
    bucketPrefix: 'contract',
    fsRoot: '',
    signingSecret: SIGNING_SECRET,
    publicUrl: 'http://127.0.0.1:1',
    s3: { endpoint: 'http://127.0.0.1:1', publicEndpoint: '', region: 'us-east-1', accessKey: 'x', secretKey: 'xxxxxxxx' },
    ...overrides,
  };
}

/** fs driver + a real Koa server with the storage router (and a minimal error shape). */
async function fsHarness(): Promise<Harness> {
  const root = await mkdtemp(join(tmpdir(), 'moviola-contract-'));
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const config = baseConfig({ driver: 'fs', fsRoot: root, publicUrl: `http://127.0.0.1:${port}` });
  const storage = createStorage(config);
  const app = new Koa();
  // A client that closes its connection once it has every byte can beat the response's 'finish'
  // (Koa then reports ERR_STREAM_PREMATURE_CLOSE); any other server-side error fails the suite.
  const serverErrors: Error[] = [];
  app.on('error', (err: Error & { code?: string }) => {
    if (err.code !== 'ERR_STREAM_PREMATURE_CLOSE' && err.code !== 'ECONNRESET') serverErrors.push(err);
  });
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
  const router = createStorageRouter({ storage, config, maxUploadBytes: 64 * 1024 * 1024 });
  app.use(router.routes()).use(router.allowedMethods());
  server.on('request', app.callback());
  return {
    storage,
    serverErrors: () => serverErrors,
    withoutBuckets: () => createStorage({ ...config, fsRoot: join(root, 'never-created') }),
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(root, { recursive: true, force: true });
    },
  };
}

/** S3 driver against the stack's endpoint; without it the suite fails (never skips). */
async function s3Harness(): Promise<Harness> {
  const endpoint = process.env.S3_ENDPOINT;
  if (!endpoint) {
    throw new Error(
      'S3_ENDPOINT is not set: the S3 storage contract needs the real stack that `npm test` starts ' +
        '(S3_ENDPOINT, S3_ACCESS_KEY, S3_SECRET_KEY, STORAGE_BUCKET_PREFIX). Run the suite with `npm test`.',
    );
  }
  const config = baseConfig({
    driver: 's3',
    bucketPrefix: process.env.STORAGE_BUCKET_PREFIX || 'moviola-test',
    s3: {
      endpoint,
      publicEndpoint: process.env.S3_PUBLIC_ENDPOINT ?? '',
      region: process.env.S3_REGION || 'us-east-1',
      accessKey: process.env.S3_ACCESS_KEY ?? '',
      secretKey: process.env.S3_SECRET_KEY ?? '',
    },
  });
  return {
    storage: createStorage(config),
    serverErrors: () => [],
    withoutBuckets: () => createStorage({ ...config, bucketPrefix: `absent-${randomUUID().slice(0, 8)}` }),
    close: async () => {},
  };
}

const harnesses: Array<{ kind: 'fs' | 's3'; create: () => Promise<Harness> }> = [
  { kind: 'fs', create: fsHarness },
  { kind: 's3', create: s3Harness },
];

// --- helpers -------------------------------------------------------------------------------

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** A deterministic-length stream of random bytes in odd-sized chunks, with its expected hash. */
function randomStream(size: number): { stream: Readable; sha256: Promise<string> } {
  const hash = createHash('sha256');
  let resolveHash: (hex: string) => void = () => {};
  const digest = new Promise<string>((resolve) => (resolveHash = resolve));
  let sent = 0;
  const stream = new Readable({
    read() {
      if (sent >= size) {
        resolveHash(hash.digest('hex'));
        this.push(null);
        return;
      }
      const chunk = randomBytes(Math.min(size - sent, 65_521));
      sent += chunk.length;
      hash.update(chunk);
      this.push(chunk);
    },
  });
  return { stream, sha256: digest };
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function collect(iterable: AsyncIterable<ObjectInfo>): Promise<ObjectInfo[]> {
  const out: ObjectInfo[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

function run(command: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

/** Response headers from a `curl -D` dump, names lower-cased (last response only). */
function parseHeaders(dump: string): Map<string, string> {
  const blocks = dump.split(/\r?\n\r?\n/).filter((b) => b.trim() !== '');
  const headers = new Map<string, string>();
  for (const line of (blocks.at(-1) ?? '').split(/\r?\n/).slice(1)) {
    const colon = line.indexOf(':');
    if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  return headers;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** S3's smallest part (every part but the last). */
const MIN_PART = 5 * 1024 * 1024;

/** A plain HTTP PUT of `body` to a presigned URL, as a browser or curl would. */
async function putTo(url: string, body: Buffer): Promise<{ status: number; etag: string | null; text: string }> {
  const res = await fetch(url, { method: 'PUT', body });
  return { status: res.status, etag: res.headers.get('etag'), text: await res.text() };
}

function isMultipartError(code: string, check: (err: MultipartUploadError) => void = () => {}) {
  return (err: unknown) => {
    assert.ok(err instanceof MultipartUploadError, `expected MultipartUploadError ${code}, got ${String(err)}`);
    assert.equal(err.code, code);
    check(err);
    return true;
  };
}

// --- the contract --------------------------------------------------------------------------

for (const { kind, create } of harnesses) {
  describe(`storage contract: ${kind}`, { timeout: 120_000 }, () => {
    let h: Harness;
    let storage: StorageDriver;
    let work: string;
    // Every key of this run lives under its own namespace: runs never see each other's objects.
    const ns = `contract-${randomUUID()}`;
    const big = { key: `${ns}/big/video.bin`, size: 5 * 1024 * 1024 + 321, sha256: '' };

    before(async () => {
      h = await create();
      storage = h.storage;
      work = await mkdtemp(join(tmpdir(), `moviola-contract-${kind}-`));
      await storage.ensureBuckets();
    });

    after(async () => {
      await storage?.deletePrefix('uploads', `${ns}/`).catch(() => undefined);
      await storage?.deletePrefix('exports', `${ns}/`).catch(() => undefined);
      if (work) await rm(work, { recursive: true, force: true });
      await h?.close();
    });

    it('reports its kind', () => {
      assert.equal(storage.kind, kind);
    });

    it('ensureBuckets is idempotent, and ping succeeds only once buckets exist', async () => {
      await storage.ensureBuckets();
      await storage.ensureBuckets();
      await storage.ping();
      await assert.rejects(h.withoutBuckets().ping());
    });

    it('puts a ~5 MB stream and gets back identical bytes', async () => {
      const { stream, sha256: expected } = randomStream(big.size);
      const info = await storage.put('uploads', big.key, stream, { contentType: 'video/mp4' });
      big.sha256 = await expected;
      assert.equal(info.key, big.key);
      assert.equal(info.size, big.size);
      assert.equal(info.contentType, 'video/mp4');
      assert.ok(info.lastModified instanceof Date && !Number.isNaN(info.lastModified.getTime()));
      const back = await readAll(await storage.get('uploads', big.key));
      assert.equal(back.length, big.size);
      assert.equal(sha256(back), big.sha256);
    });

    it('puts a stream longer than one S3 multipart part', async () => {
      const size = S3_PART_SIZE + 12_345;
      const { stream, sha256: expected } = randomStream(size);
      const key = `${ns}/multipart.bin`;
      const info = await storage.put('uploads', key, stream, { contentType: 'video/quicktime' });
      assert.equal(info.size, size);
      assert.equal(info.contentType, 'video/quicktime');
      assert.equal(sha256(await readAll(await storage.get('uploads', key))), await expected);
      await storage.delete('uploads', key);
    });

    it('a put whose source stream fails rejects with that error and stores nothing', async () => {
      // Within the first part, and after it (S3: mid multipart upload).
      for (const [i, failAfter] of [100_000, S3_PART_SIZE + 1024 * 1024].entries()) {
        const key = `${ns}/broken-${i}.bin`;
        let sent = 0;
        const source = new Readable({
          read() {
            if (sent >= failAfter) {
              this.destroy(new Error('source broke'));
              return;
            }
            sent += 64 * 1024;
            this.push(randomBytes(64 * 1024));
          },
        });
        await assert.rejects(storage.put('uploads', key, source), /source broke/);
        assert.equal(await storage.stat('uploads', key), null);
      }
    });

    it('puts a stream whose size is declared', async () => {
      const data = randomBytes(70_000);
      const key = `${ns}/sized.bin`;
      const info = await storage.put('uploads', key, Readable.from([data.subarray(0, 1000), data.subarray(1000)]), { size: data.length });
      assert.equal(info.size, data.length);
      assert.equal(sha256(await readAll(await storage.get('uploads', key))), sha256(data));
    });

    it('puts a Buffer; stat reports size and content type; overwrite replaces', async () => {
      const key = `${ns}/notes/hello.txt`;
      await storage.put('uploads', key, Buffer.from('first version, longer'), { contentType: 'text/plain' });
      const info = await storage.put('uploads', key, Buffer.from('héllo wörld'), { contentType: 'text/plain; charset=utf-8' });
      assert.equal(info.size, Buffer.byteLength('héllo wörld'));
      const s = await storage.stat('uploads', key);
      assert.ok(s);
      assert.equal(s.key, key);
      assert.equal(s.size, Buffer.byteLength('héllo wörld'));
      assert.equal(s.contentType, 'text/plain; charset=utf-8');
      assert.equal((await readAll(await storage.get('uploads', key))).toString('utf8'), 'héllo wörld');
    });

    it('puts empty objects, from a Buffer and from a stream', async () => {
      for (const [name, body] of [
        ['empty-buffer', Buffer.alloc(0)],
        ['empty-stream', Readable.from([])],
      ] as const) {
        const key = `${ns}/${name}`;
        const info = await storage.put('uploads', key, body);
        assert.equal(info.size, 0, name);
        assert.equal((await readAll(await storage.get('uploads', key))).length, 0, name);
      }
    });

    it('defaults the content type to application/octet-stream', async () => {
      const key = `${ns}/untyped`;
      await storage.put('uploads', key, Buffer.from([1, 2, 3]));
      assert.equal((await storage.stat('uploads', key))?.contentType, 'application/octet-stream');
    });

    it('keeps buckets apart', async () => {
      const key = `${ns}/only-in-exports.txt`;
      await storage.put('exports', key, Buffer.from('x'));
      assert.equal(await storage.stat('uploads', key), null);
      assert.equal((await storage.stat('exports', key))?.size, 1);
    });

    it('stat of a missing object is null; get of one throws ObjectNotFoundError', async () => {
      assert.equal(await storage.stat('uploads', `${ns}/missing.bin`), null);
      await assert.rejects(storage.get('uploads', `${ns}/missing.bin`), (err: unknown) => {
        assert.ok(err instanceof ObjectNotFoundError, `expected ObjectNotFoundError, got ${String(err)}`);
        assert.equal(err.bucket, 'uploads');
        assert.equal(err.key, `${ns}/missing.bin`);
        return true;
      });
    });

    it('getToFile downloads identical bytes, and creates nothing for a missing object', async () => {
      const path = join(work, 'download.bin');
      await storage.getToFile('uploads', big.key, path);
      assert.equal(sha256(await readFile(path)), big.sha256);
      const missing = join(work, 'missing.bin');
      await assert.rejects(storage.getToFile('uploads', `${ns}/missing.bin`, missing), ObjectNotFoundError);
      await assert.rejects(stat(missing), { code: 'ENOENT' });
    });

    it('delete removes the object and is idempotent', async () => {
      const key = `${ns}/to-delete.txt`;
      await storage.put('uploads', key, Buffer.from('bye'));
      await storage.delete('uploads', key);
      assert.equal(await storage.stat('uploads', key), null);
      await assert.rejects(storage.get('uploads', key), ObjectNotFoundError);
      await storage.delete('uploads', key);
      await storage.delete('uploads', `${ns}/never-existed/at-all.txt`);
    });

    it('lists by prefix, in key order, and nothing else', async () => {
      const base = `${ns}/list`;
      const keys = [`${base}/b/1.txt`, `${base}/a/2.txt`, `${base}/ab.txt`, `${base}/a/1.txt`, `${ns}/lister.txt`];
      for (const [i, key] of keys.entries()) await storage.put('uploads', key, Buffer.alloc(i + 1, 0x61));

      const inA = await collect(storage.list('uploads', `${base}/a/`));
      assert.deepEqual(inA.map((o) => o.key), [`${base}/a/1.txt`, `${base}/a/2.txt`]);
      assert.deepEqual(inA.map((o) => o.size), [4, 2]);
      assert.ok(inA.every((o) => o.lastModified instanceof Date));

      const partial = await collect(storage.list('uploads', `${base}/a`));
      assert.deepEqual(partial.map((o) => o.key), [`${base}/a/1.txt`, `${base}/a/2.txt`, `${base}/ab.txt`]);

      const all = await collect(storage.list('uploads', `${base}/`));
      assert.deepEqual(all.map((o) => o.key), [`${base}/a/1.txt`, `${base}/a/2.txt`, `${base}/ab.txt`, `${base}/b/1.txt`]);

      assert.deepEqual(await collect(storage.list('uploads', `${ns}/nothing-here/`)), []);
    });

    it('deletePrefix deletes exactly the objects under the prefix and counts them', async () => {
      const base = `${ns}/purge`;
      for (const key of [`${base}/x/1`, `${base}/x/2`, `${base}/x/deep/3`, `${base}/xy`, `${base}/y/1`]) {
        await storage.put('uploads', key, Buffer.from(key));
      }
      assert.equal(await storage.deletePrefix('uploads', `${base}/x/`), 3);
      const left = await collect(storage.list('uploads', `${base}/`));
      assert.deepEqual(left.map((o) => o.key), [`${base}/xy`, `${base}/y/1`]);
      assert.equal(await storage.deletePrefix('uploads', `${base}/x/`), 0);
    });

    it('rejects unsafe keys before touching storage', async () => {
      for (const key of ['../escape', `${ns}/../../escape`, '/absolute', `${ns}/nul\u0000byte`, `${ns}/a//b`, 'k'.repeat(1025)]) {
        await assert.rejects(storage.put('uploads', key, Buffer.from('x')), InvalidKeyError, key.slice(0, 40));
        await assert.rejects(storage.presignGet('uploads', key, 60), InvalidKeyError);
      }
    });

    it('a presigned GET works with plain curl, with Content-Disposition when asked', async () => {
      const plain = join(work, 'curl-plain.bin');
      const url = await storage.presignGet('uploads', big.key, 300);
      const res = await run('curl', ['-sS', '-f', '-D', join(work, 'plain.headers'), '-o', plain, url]);
      assert.equal(res.code, 0, res.stderr);
      assert.equal(sha256(await readFile(plain)), big.sha256);
      const plainHeaders = parseHeaders(await readFile(join(work, 'plain.headers'), 'utf8'));
      assert.equal(plainHeaders.get('content-type'), 'video/mp4');
      assert.equal(plainHeaders.get('content-length'), String(big.size));
      assert.equal(plainHeaders.get('content-disposition'), undefined);

      const named = join(work, 'curl-named.bin');
      const filename = 'Résumé "final" cut.mp4';
      const namedUrl = await storage.presignGet('uploads', big.key, 300, { downloadFilename: filename });
      const res2 = await run('curl', ['-sS', '-f', '-D', join(work, 'named.headers'), '-o', named, namedUrl]);
      assert.equal(res2.code, 0, res2.stderr);
      assert.equal(sha256(await readFile(named)), big.sha256);
      const headers = parseHeaders(await readFile(join(work, 'named.headers'), 'utf8'));
      assert.equal(headers.get('content-disposition'), attachmentDisposition(filename));
    });

    it('a presigned PUT with curl -T stores the object, even under an awkward key', async () => {
      const file = join(work, 'upload.bin');
      const data = randomBytes(1_500_000);
      await writeFile(file, data);
      const key = `${ns}/curl/up+loaded 100% ção (1)&x=y;#.bin`;
      const url = await storage.presignPut('uploads', key, 300);
      const res = await run('curl', ['-sS', '-f', '-T', file, url]);
      assert.equal(res.code, 0, res.stderr);
      const s = await storage.stat('uploads', key);
      assert.equal(s?.size, data.length);
      assert.equal(sha256(await readAll(await storage.get('uploads', key))), sha256(data));
      const back = join(work, 'curl-back.bin');
      const got = await run('curl', ['-sS', '-f', '-o', back, await storage.presignGet('uploads', key, 300)]);
      assert.equal(got.code, 0, got.stderr);
      assert.equal(sha256(await readFile(back)), sha256(data));
    });

    it('a tampered presigned URL is refused with 403', async () => {
      const url = new URL(await storage.presignGet('uploads', big.key, 300));
      url.pathname = url.pathname.replace('video.bin', 'other.bin');
      const res = await run('curl', ['-sS', '-o', '/dev/null', '-w', '%{http_code}', url.toString()]);
      assert.equal(res.stdout, '403');
    });

    it('an expired presigned URL is refused with 403', async () => {
      const getUrl = await storage.presignGet('uploads', big.key, 1);
      const putUrl = await storage.presignPut('uploads', `${ns}/late.bin`, 1);
      await sleep(2100);
      const get = await run('curl', ['-sS', '-o', '/dev/null', '-w', '%{http_code}', getUrl]);
      assert.equal(get.stdout, '403');
      const file = join(work, 'late.bin');
      await writeFile(file, 'too late');
      const put = await run('curl', ['-sS', '-o', '/dev/null', '-w', '%{http_code}', '-T', file, putUrl]);
      assert.equal(put.stdout, '403');
      assert.equal(await storage.stat('uploads', `${ns}/late.bin`), null);
    });

    describe('multipart uploads through presigned part URLs', () => {
      const parts = [randomBytes(MIN_PART + 17), randomBytes(MIN_PART), randomBytes(123_457)];
      const whole = Buffer.concat(parts);

      it('parts PUT with plain fetch in any order complete into byte-identical content', async () => {
        const key = `${ns}/multi/clip (1).mov`;
        const uploadId = await storage.createMultipartUpload('uploads', key, { contentType: 'video/quicktime' });
        assert.ok(uploadId.length > 0);
        for (const n of [3, 1, 2]) {
          const res = await putTo(await storage.presignUploadPart('uploads', key, uploadId, n, 300), parts[n - 1]!);
          assert.equal(res.status, 200, res.text);
          assert.ok(res.etag, 'a part PUT answers its ETag');
        }
        assert.equal(await storage.stat('uploads', key), null, 'no object before complete');
        const info = await storage.completeMultipartUpload('uploads', key, uploadId, { partCount: 3 });
        assert.equal(info.key, key);
        assert.equal(info.size, whole.length);
        const s = await storage.stat('uploads', key);
        assert.equal(s?.size, whole.length);
        assert.equal(s?.contentType, 'video/quicktime');
        assert.equal(sha256(await readAll(await storage.get('uploads', key))), sha256(whole));
        assert.deepEqual((await collect(storage.list('uploads', `${ns}/multi/`))).map((o) => o.key), [key]);
        // The upload is finished: completing it again is NO_SUCH_UPLOAD, aborting it is no error.
        await assert.rejects(storage.completeMultipartUpload('uploads', key, uploadId), isMultipartError('NO_SUCH_UPLOAD'));
        await storage.abortMultipartUpload('uploads', key, uploadId);
        assert.equal((await storage.stat('uploads', key))?.size, whole.length);
      });

      it('a missing part refuses complete with MISSING_PARTS and the upload survives it', async () => {
        const key = `${ns}/multi/gappy.bin`;
        const uploadId = await storage.createMultipartUpload('uploads', key);
        await assert.rejects(storage.completeMultipartUpload('uploads', key, uploadId), isMultipartError('MISSING_PARTS', (e) => assert.deepEqual(e.missingParts, [1])));
        for (const n of [1, 3]) {
          assert.equal((await putTo(await storage.presignUploadPart('uploads', key, uploadId, n, 300), parts[n - 1]!)).status, 200);
        }
        await assert.rejects(storage.completeMultipartUpload('uploads', key, uploadId), isMultipartError('MISSING_PARTS', (e) => assert.deepEqual(e.missingParts, [2])));
        assert.equal(await storage.stat('uploads', key), null);
        assert.equal((await putTo(await storage.presignUploadPart('uploads', key, uploadId, 2, 300), parts[1]!)).status, 200);
        await assert.rejects(
          storage.completeMultipartUpload('uploads', key, uploadId, { partCount: 4 }),
          isMultipartError('MISSING_PARTS', (e) => assert.deepEqual(e.missingParts, [4])),
        );
        const info = await storage.completeMultipartUpload('uploads', key, uploadId, { partCount: 3 });
        assert.equal(info.size, whole.length);
        assert.equal(sha256(await readAll(await storage.get('uploads', key))), sha256(whole));
      });

      it('a part re-uploaded replaces the earlier upload of that part', async () => {
        const key = `${ns}/multi/redo.bin`;
        const uploadId = await storage.createMultipartUpload('uploads', key);
        const url1 = await storage.presignUploadPart('uploads', key, uploadId, 1, 300);
        assert.equal((await putTo(url1, randomBytes(MIN_PART))).status, 200);
        assert.equal((await putTo(url1, parts[0]!)).status, 200);
        assert.equal((await putTo(await storage.presignUploadPart('uploads', key, uploadId, 2, 300), parts[2]!)).status, 200);
        const info = await storage.completeMultipartUpload('uploads', key, uploadId);
        assert.equal(info.size, parts[0]!.length + parts[2]!.length);
        assert.equal(sha256(await readAll(await storage.get('uploads', key))), sha256(Buffer.concat([parts[0]!, parts[2]!])));
      });

      it('abort removes the upload and its parts, and is idempotent', async () => {
        const key = `${ns}/multi/aborted.bin`;
        const uploadId = await storage.createMultipartUpload('uploads', key);
        assert.equal((await putTo(await storage.presignUploadPart('uploads', key, uploadId, 1, 300), parts[0]!)).status, 200);
        await storage.abortMultipartUpload('uploads', key, uploadId);
        assert.equal(await storage.stat('uploads', key), null);
        await assert.rejects(storage.completeMultipartUpload('uploads', key, uploadId), isMultipartError('NO_SUCH_UPLOAD'));
        // A part URL of the aborted upload stores nothing.
        const late = await putTo(await storage.presignUploadPart('uploads', key, uploadId, 2, 300), parts[2]!);
        assert.equal(late.status, 404, late.text);
        await storage.abortMultipartUpload('uploads', key, uploadId);
        assert.deepEqual(await collect(storage.list('uploads', `${ns}/multi/aborted`)), []);
      });

      it('a part URL is good for its own upload and part only', async () => {
        const key = `${ns}/multi/guarded.bin`;
        const uploadId = await storage.createMultipartUpload('uploads', key);
        const other = await storage.createMultipartUpload('uploads', key);
        const url = await storage.presignUploadPart('uploads', key, uploadId, 1, 300);
        const otherPart = new URL(url);
        otherPart.searchParams.set('partNumber', '2');
        const otherUpload = new URL(url);
        otherUpload.searchParams.set('uploadId', other);
        const asPlainPut = new URL(url);
        asPlainPut.searchParams.delete('partNumber');
        asPlainPut.searchParams.delete('uploadId');
        for (const tampered of [otherPart, otherUpload, asPlainPut]) {
          const res = await putTo(tampered.toString(), parts[2]!);
          assert.equal(res.status, 403, `${tampered.search}: ${res.text}`);
        }
        assert.equal(await storage.stat('uploads', key), null);
        await assert.rejects(storage.completeMultipartUpload('uploads', key, other), isMultipartError('MISSING_PARTS'));
        assert.equal((await putTo(url, parts[2]!)).status, 200);
        assert.equal((await storage.completeMultipartUpload('uploads', key, uploadId)).size, parts[2]!.length);
        await storage.abortMultipartUpload('uploads', key, other);
      });

      it('an upload id is bound to its key', async () => {
        const key = `${ns}/multi/bound.bin`;
        const uploadId = await storage.createMultipartUpload('uploads', key);
        assert.equal((await putTo(await storage.presignUploadPart('uploads', key, uploadId, 1, 300), parts[2]!)).status, 200);
        await assert.rejects(storage.completeMultipartUpload('uploads', `${ns}/multi/elsewhere.bin`, uploadId), isMultipartError('NO_SUCH_UPLOAD'));
        await storage.abortMultipartUpload('uploads', key, uploadId);
      });

      it('rejects unsafe keys and part numbers outside 1…10000', async () => {
        await assert.rejects(storage.createMultipartUpload('uploads', '../escape'), InvalidKeyError);
        const key = `${ns}/multi/numbers.bin`;
        const uploadId = await storage.createMultipartUpload('uploads', key);
        for (const n of [0, -1, 10_001, 1.5]) {
          await assert.rejects(storage.presignUploadPart('uploads', key, uploadId, n, 60), RangeError, String(n));
        }
        await storage.abortMultipartUpload('uploads', key, uploadId);
      });
    });

    it('the presigned-URL server raised no errors', () => {
      assert.deepEqual(h.serverErrors().map((e) => e.stack), []);
    });
  });
}
