/**
 * S3 driver behaviour that needs no server: presigning is offline (region fixed, public host),
 * and ping fails fast when the endpoint is unreachable. The driver against a real S3 endpoint is
 * covered by test/integration/storage-contract.test.ts.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { describe, it } from 'node:test';
import type { StorageConfig } from '../../lib/config.ts';
import { attachmentDisposition } from '../../lib/storage/disposition.ts';
import { createStorage } from '../../lib/storage/index.ts';
import { S3StorageDriver } from '../../lib/storage/s3.ts';

/** A port on which nothing listens. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function config(endpoint: string, publicEndpoint = ''): StorageConfig {
  return {
    driver: 's3',
    bucketPrefix: 'unit',
    fsRoot: '.data/unused',
    signingSecret: 'unused-unused-unused-unused-unused-0000',
    publicUrl: 'http://localhost:3000',
    s3: { endpoint, publicEndpoint, region: 'eu-central-1', accessKey: 'AKIDEXAMPLE', secretKey: 'secret-secret' },
  };
}

describe('S3 storage driver (offline)', () => {
  it('is what createStorage picks for driver s3', () => {
    assert.ok(createStorage(config('http://127.0.0.1:9000')) instanceof S3StorageDriver);
    assert.equal(createStorage(config('http://127.0.0.1:9000')).kind, 's3');
  });

  it('presigns without any network call, for the public endpoint, with the configured region', async () => {
    const port = await closedPort();
    const storage = createStorage(config(`http://127.0.0.1:${port}`, 'https://media.example.com'));
    const get = new URL(await storage.presignGet('proxies', 'acme/2024/01/a1/proxy/clip 1.mp4', 600, { downloadFilename: 'Clip 1.mp4' }));
    assert.equal(get.origin, 'https://media.example.com');
    assert.equal(get.pathname, '/unit-proxies/acme/2024/01/a1/proxy/clip%201.mp4');
    assert.equal(get.searchParams.get('X-Amz-Expires'), '600');
    assert.match(get.searchParams.get('X-Amz-Credential') ?? '', /^AKIDEXAMPLE\/\d{8}\/eu-central-1\/s3\/aws4_request$/);
    assert.equal(get.searchParams.get('response-content-disposition'), attachmentDisposition('Clip 1.mp4'));
    assert.match(get.searchParams.get('X-Amz-Signature') ?? '', /^[0-9a-f]{64}$/);

    const put = new URL(await storage.presignPut('uploads', 'acme/probe/p1/x.bin', 60));
    assert.equal(put.host, 'media.example.com');
    assert.equal(put.pathname, '/unit-uploads/acme/probe/p1/x.bin');
    assert.equal(put.searchParams.has('response-content-disposition'), false);
  });

  it('presigns part URLs offline for the public endpoint, with the upload id and part number signed in', async () => {
    const port = await closedPort();
    const storage = createStorage(config(`http://127.0.0.1:${port}`, 'https://media.example.com'));
    const url = new URL(await storage.presignUploadPart('originals', 'acme/2024/01/a1/original/clip.mp4', 'upl~id.1', 3, 900));
    assert.equal(url.origin, 'https://media.example.com');
    assert.equal(url.pathname, '/unit-originals/acme/2024/01/a1/original/clip.mp4');
    assert.equal(url.searchParams.get('partNumber'), '3');
    assert.equal(url.searchParams.get('uploadId'), 'upl~id.1');
    assert.equal(url.searchParams.get('X-Amz-Expires'), '900');
    assert.match(url.searchParams.get('X-Amz-Signature') ?? '', /^[0-9a-f]{64}$/);
    const other = new URL(await storage.presignUploadPart('originals', 'acme/2024/01/a1/original/clip.mp4', 'upl~id.1', 4, 900));
    assert.notEqual(other.searchParams.get('X-Amz-Signature'), url.searchParams.get('X-Amz-Signature'));
    for (const n of [0, 10_001, 2.5]) {
      await assert.rejects(storage.presignUploadPart('originals', 'k', 'u', n, 60), RangeError);
    }
    await assert.rejects(storage.presignUploadPart('originals', 'k', 'u', 1, 7 * 24 * 3600 + 1), RangeError);
  });

  it('signs for the internal endpoint when no public one is set', async () => {
    const storage = createStorage(config('http://10.1.2.3:8333'));
    const url = new URL(await storage.presignGet('uploads', 'k', 60));
    assert.equal(url.host, '10.1.2.3:8333');
  });

  it('refuses presign expiries S3 would not accept', async () => {
    const storage = createStorage(config('http://127.0.0.1:9000'));
    for (const seconds of [0, -5, 1.5, 7 * 24 * 3600 + 1]) {
      await assert.rejects(storage.presignGet('uploads', 'k', seconds), RangeError);
    }
    assert.ok(await storage.presignGet('uploads', 'k', 7 * 24 * 3600));
  });

  it('ping rejects when the endpoint is unreachable', async () => {
    const storage = createStorage(config(`http://127.0.0.1:${await closedPort()}`));
    await assert.rejects(storage.ping(), { code: 'ECONNREFUSED' });
  });
});
