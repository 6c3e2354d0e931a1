/**
 * What only the local-directory driver has to get right: atomic writes (no partial object ever
 * visible, no temporary left after a failure), its bookkeeping kept out of listings, stale
 * sidecars ignored, and keys confined to their bucket. The shared behaviour is in the contract suite.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import type { StorageConfig } from '../../lib/config.ts';
import { FsStorageDriver } from '../../lib/storage/fs.ts';
import { createStorage, InvalidKeyError, type ObjectInfo } from '../../lib/storage/index.ts';

async function collect(iterable: AsyncIterable<ObjectInfo>): Promise<string[]> {
  const keys: string[] = [];
  for await (const item of iterable) keys.push(item.key);
  return keys;
}

describe('fs storage driver', { timeout: 30_000 }, () => {
  let root: string;
  let storage: FsStorageDriver;

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'moviola-fs-'));
    const config: StorageConfig = {
      driver: 'fs',
      bucketPrefix: 'unit',
      fsRoot: root,
      signingSecret: 'fs-unit-signing-secret-0123456789abcdef',
      publicUrl: 'http://localhost:3000',
      s3: { endpoint: 'http://127.0.0.1:1', publicEndpoint: '', region: 'us-east-1', accessKey: 'x', secretKey: 'xxxxxxxx' },
    };
    const created = createStorage(config);
    assert.ok(created instanceof FsStorageDriver);
    storage = created;
    await storage.ensureBuckets();
  });

  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  const tmpFiles = () => readdir(join(storage.bucketDir('uploads'), '.moviola-tmp'));

  it('lays objects out as {root}/{prefix}-{bucket}/{key}', async () => {
    await storage.put('thumbnails', 'acme/a1/thumb.jpg', Buffer.from('jpg'));
    assert.equal(await readFile(join(root, 'unit-thumbnails', 'acme', 'a1', 'thumb.jpg'), 'utf8'), 'jpg');
  });

  it('never shows a partly written object, and replaces the old one only when complete', async () => {
    const key = 'atomic/obj.bin';
    await storage.put('uploads', key, Buffer.from('old'));
    const source = new PassThrough();
    const writing = storage.put('uploads', key, source);
    source.write(Buffer.alloc(4096, 1));
    // Wait until the new bytes are on disk in the temporary file.
    const tmpDir = join(storage.bucketDir('uploads'), '.moviola-tmp');
    for (;;) {
      const [name] = await tmpFiles();
      if (name && (await stat(join(tmpDir, name)).catch(() => null))?.size === 4096) break;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    assert.equal((await storage.stat('uploads', key))?.size, 3, 'the old object stays while the new one streams in');
    assert.equal((await readFile(join(storage.bucketDir('uploads'), 'atomic', 'obj.bin'), 'utf8')), 'old');
    source.end(Buffer.alloc(4096, 2));
    const info = await writing;
    assert.equal(info.size, 8192);
    assert.deepEqual(await tmpFiles(), []);
  });

  it('removes the temporary file when the source fails, leaving the old object', async () => {
    const key = 'atomic/failing.bin';
    await storage.put('uploads', key, Buffer.from('keep me'));
    const source = new Readable({ read() {} });
    const writing = storage.put('uploads', key, source);
    source.push(Buffer.alloc(1000));
    setTimeout(() => source.destroy(new Error('client went away')), 20);
    await assert.rejects(writing, /client went away/);
    assert.equal((await storage.stat('uploads', key))?.size, 7);
    assert.deepEqual(await tmpFiles(), []);
  });

  it('keeps its bookkeeping out of listings and refuses reserved keys', async () => {
    await storage.put('uploads', 'visible.txt', Buffer.from('v'));
    const keys = await collect(storage.list('uploads', ''));
    assert.ok(keys.includes('visible.txt'));
    assert.ok(keys.every((k) => !k.startsWith('.moviola-')), keys.join(','));
    assert.deepEqual(await collect(storage.list('uploads', '.moviola-meta/')), []);
    await assert.rejects(storage.put('uploads', '.moviola-meta/x', Buffer.from('x')), InvalidKeyError);
    await assert.rejects(storage.get('uploads', '.moviola-tmp/x'), InvalidKeyError);
  });

  it('ignores a content-type sidecar that belongs to another version of the file', async () => {
    const key = 'sidecar/file.txt';
    await storage.put('uploads', key, Buffer.from('text'), { contentType: 'text/plain' });
    // Someone replaces the data file behind the driver's back (crash between the two renames).
    const dataPath = join(storage.bucketDir('uploads'), 'sidecar', 'file.txt');
    await rm(dataPath);
    await writeFile(dataPath, 'TEXT');
    const info = await storage.stat('uploads', key);
    assert.equal(info?.size, 4);
    assert.equal(info?.contentType, 'application/octet-stream');
    assert.equal(info?.etag, undefined);
  });

  it('reports an ETag equal to the MD5 of the content', async () => {
    const info = await storage.put('uploads', 'etag/x', Buffer.from('hello'));
    assert.equal(info.etag, '5d41402abc4b2a76b9719d911017c592');
  });

  it('deleting the last object of a folder removes the empty folders', async () => {
    await storage.put('uploads', 'prune/a/b/c.txt', Buffer.from('c'));
    await storage.delete('uploads', 'prune/a/b/c.txt');
    await assert.rejects(stat(join(storage.bucketDir('uploads'), 'prune')), { code: 'ENOENT' });
    await assert.rejects(stat(join(storage.bucketDir('uploads'), '.moviola-meta', 'prune')), { code: 'ENOENT' });
    await stat(join(storage.bucketDir('uploads'), '.moviola-meta'));
  });

  it('treats a folder as a missing object', async () => {
    await storage.put('uploads', 'folder/inner.txt', Buffer.from('i'));
    assert.equal(await storage.stat('uploads', 'folder'), null);
    await assert.rejects(storage.get('uploads', 'folder'), { name: 'ObjectNotFoundError' });
    await storage.delete('uploads', 'folder');
    assert.equal((await storage.stat('uploads', 'folder/inner.txt'))?.size, 1);
    // Unlike S3, a directory tree cannot hold both "folder" and "folder/inner.txt".
    await assert.rejects(storage.put('uploads', 'folder', Buffer.from('f')), /cannot coexist/);
    await assert.rejects(storage.put('uploads', 'folder/inner.txt/deeper', Buffer.from('f')), /cannot coexist/);
    assert.deepEqual(await tmpFiles(), []);
    assert.equal((await storage.stat('uploads', 'folder/inner.txt'))?.size, 1);
  });

  it('sweeps temporary files older than a day when buckets are ensured', async () => {
    const dir = join(storage.bucketDir('uploads'), '.moviola-tmp');
    await writeFile(join(dir, '.old.tmp'), 'x');
    await writeFile(join(dir, '.fresh.tmp'), 'x');
    const twoDaysAgo = new Date(Date.now() - 2 * 24 * 3600 * 1000);
    await utimes(join(dir, '.old.tmp'), twoDaysAgo, twoDaysAgo);
    await storage.ensureBuckets();
    assert.deepEqual(await readdir(dir), ['.fresh.tmp']);
    await rm(join(dir, '.fresh.tmp'));
  });

  it('keeps multipart uploads in a hidden per-upload directory, removed on complete', async () => {
    const uploadId = await storage.createMultipartUpload('uploads', 'mp/a.bin', { contentType: 'video/mp4' });
    assert.match(uploadId, /^[0-9a-f]{32}$/);
    const dir = join(storage.bucketDir('uploads'), '.moviola-multipart', uploadId);
    await storage.uploadPart('uploads', 'mp/a.bin', uploadId, 2, Buffer.from('world'));
    const first = await storage.uploadPart('uploads', 'mp/a.bin', uploadId, 1, Readable.from([Buffer.from('hello '), Buffer.from('there ')]));
    assert.equal(first.size, 12);
    assert.deepEqual((await readdir(dir)).sort(), ['part-00001', 'part-00002', 'upload.json']);
    assert.deepEqual(await collect(storage.list('uploads', '')), (await collect(storage.list('uploads', ''))).filter((k) => !k.includes('.moviola-')));
    const info = await storage.completeMultipartUpload('uploads', 'mp/a.bin', uploadId);
    assert.equal(info.size, 17);
    assert.equal(info.contentType, 'video/mp4');
    assert.equal(await readFile(join(storage.bucketDir('uploads'), 'mp', 'a.bin'), 'utf8'), 'hello there world');
    await assert.rejects(stat(dir), { code: 'ENOENT' });
    await assert.rejects(storage.uploadPart('uploads', 'mp/a.bin', uploadId, 3, Buffer.from('late')), { name: 'MultipartUploadError', code: 'NO_SUCH_UPLOAD' });
  });

  it('refuses parts for a malformed upload id or another key, and aborting those is a no-op', async () => {
    const uploadId = await storage.createMultipartUpload('uploads', 'mp/b.bin');
    for (const [key, id] of [['mp/other.bin', uploadId], ['mp/b.bin', '../../x'], ['mp/b.bin', 'f'.repeat(32)]] as const) {
      await assert.rejects(storage.uploadPart('uploads', key, id, 1, Buffer.from('x')), { code: 'NO_SUCH_UPLOAD' }, `${key} ${id}`);
      await storage.abortMultipartUpload('uploads', key, id);
    }
    await storage.uploadPart('uploads', 'mp/b.bin', uploadId, 1, Buffer.from('x'));
    await storage.abortMultipartUpload('uploads', 'mp/b.bin', uploadId);
    assert.deepEqual(await readdir(join(storage.bucketDir('uploads'), '.moviola-multipart')), []);
  });

  it('sweeps multipart uploads untouched for longer than any presigned URL lives', async () => {
    const stale = await storage.createMultipartUpload('uploads', 'mp/stale.bin');
    const fresh = await storage.createMultipartUpload('uploads', 'mp/fresh.bin');
    const dir = join(storage.bucketDir('uploads'), '.moviola-multipart');
    const longAgo = new Date(Date.now() - 9 * 24 * 3600 * 1000);
    await utimes(join(dir, stale), longAgo, longAgo);
    await storage.ensureBuckets();
    assert.deepEqual(await readdir(dir), [fresh]);
    await storage.abortMultipartUpload('uploads', 'mp/fresh.bin', fresh);
  });

  it('ping fails when a bucket directory is gone', async () => {
    await storage.ping();
    await rm(storage.bucketDir('exports'), { recursive: true });
    await assert.rejects(storage.ping(), /unit-exports/);
    await storage.ensureBuckets();
    await storage.ping();
  });
});
