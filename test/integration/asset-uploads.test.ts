/**
 * Direct-to-storage uploads on the real stack: the client PUTs to the presigned URL(s) with plain
 * `fetch`, then `complete` verifies the stored bytes and creates the asset and its ingest workflow.
 * Every refusal of the issue (size or checksum mismatch, duplicate, too large, bad extension,
 * content that is not what its name says) and the expiry sweep. The ingest itself is not asserted.
 */
import '../support/quiet-runtime.ts';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { createAssetUploadActivities } from '../../activities/db/asset-uploads.ts';
import { Asset, AssetUpload, type IAssetUpload } from '../../entities/index.ts';
import { call, createUser, registerTenant, type Session } from '../support/accounts.ts';
import { insertTestAsset } from '../support/assets.ts';
import { makePng, makeTestClip, tempDir } from '../support/media.ts';
import { startTestStack, type TestStack } from '../support/stack.ts';

type Body = Record<string, unknown>;
interface Part { part_number: number; url: string; size_bytes: number }

const MiB = 1024 * 1024;
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

async function readAll(stream: AsyncIterable<unknown>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Bytes an MP4 sniff accepts (`ftyp` box first), then random: unique content every call. */
function mp4Like(size: number): Buffer {
  const bytes = randomBytes(size);
  Buffer.from('000000186674797069736f6d0000020069736f6d69736f32', 'hex').copy(bytes, 0);
  return bytes;
}

describe('direct asset uploads on the real stack', { timeout: 300_000 }, () => {
  let stack: TestStack;
  let base: string;
  let alice: Session;
  let bob: Session;
  let clip: Buffer;
  let png: Buffer;

  before(async () => {
    stack = await startTestStack({
      name: 'asset-uploads',
      heavyWorker: false,
      env: { RATE_LIMIT_REQUESTS_PER_USER: '100000', RATE_LIMIT_UPLOADS_PER_USER_PER_MINUTE: '1000', ASSET_MAX_DIRECT_UPLOAD_MB: '100', ASSET_UPLOAD_EXPIRY_HOURS: '2' },
    });
    base = stack.baseUrl;
    alice = await registerTenant(base);
    bob = await registerTenant(base);
    const dir = await tempDir();
    clip = await readFile(await makeTestClip(dir, 'clip.mp4'));
    png = await readFile(await makePng(dir));
  });
  after(async () => {
    await stack?.stop();
  });

  const start = (body: Body, token = alice.access) => call(base, 'POST', '/api/v1/assets/uploads', { token, body });
  const complete = (id: string, token = alice.access) => call(base, 'POST', `/api/v1/assets/uploads/${id}/complete`, { token });
  const session = (id: string) => stack.orm.em.fork().findOneOrFail(AssetUpload, { id });
  const errorOf = (body: Body) => body.error as { code: string; message: string; details?: Record<string, unknown> };

  async function put(url: string, bytes: Buffer): Promise<void> {
    const res = await fetch(url, { method: 'PUT', body: bytes });
    assert.equal(res.status, 200, await res.text());
    await res.arrayBuffer().catch(() => undefined);
  }

  /** A session with the bytes PUT through its single URL; `declare` overrides what is declared. */
  async function uploaded(bytes: Buffer, declare: Body = {}, token = alice.access): Promise<{ id: string; assetId: string; row: IAssetUpload }> {
    const res = await start({ filename: 'clip.mp4', size_bytes: bytes.length, content_type: 'video/mp4', ...declare }, token);
    assert.equal(res.status, 201, JSON.stringify(res.body));
    await put(String(res.body.url), bytes);
    const id = String(res.body.upload_id);
    return { id, assetId: String(res.body.asset_id), row: await session(id) };
  }

  async function ingestStarted(assetId: string): Promise<void> {
    const description = await stack.temporal.workflow.getHandle(`ingest-${assetId}`).describe();
    assert.equal(description.type, 'ingestAsset');
  }

  it('single PUT through the presigned URL, then complete: 202, the asset row and its ingest workflow', async () => {
    const res = await start({ filename: 'Holiday clip.mp4', size_bytes: clip.length, sha256: sha256(clip).toUpperCase(), content_type: 'video/mp4', title: 'Holiday', code: 'HOL-1', priority: 20 });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    assert.equal(res.body.method, 'PUT');
    assert.equal(typeof res.body.url, 'string');
    assert.equal(res.body.parts, undefined);
    const id = String(res.body.upload_id);
    const assetId = String(res.body.asset_id);
    const expiresAt = Date.parse(String(res.body.expires_at));
    assert.ok(Math.abs(expiresAt - (Date.now() + 2 * 3600_000)) < 60_000, 'expires after ASSET_UPLOAD_EXPIRY_HOURS');
    assert.equal(res.headers.get('location'), `/api/v1/assets/uploads/${id}`);

    const view = await call(base, 'GET', `/api/v1/assets/uploads/${id}`, { token: alice.access });
    assert.equal(view.status, 200);
    assert.equal(view.body.status, 'pending');
    assert.equal(view.body.sha256, sha256(clip));
    assert.equal(view.body.multipart, false);

    // Nothing uploaded yet: 409 UPLOAD_INCOMPLETE, and the session stays usable.
    const early = await complete(id);
    assert.equal(early.status, 409, JSON.stringify(early.body));
    assert.equal(errorOf(early.body).code, 'UPLOAD_INCOMPLETE');
    assert.equal((await session(id)).status, 'pending');

    await put(String(res.body.url), clip);
    const done = await complete(id);
    assert.equal(done.status, 202, JSON.stringify(done.body));
    assert.deepEqual(done.body, { asset_id: assetId, status: 'pending' });
    assert.equal(done.headers.get('location'), `/api/v1/assets/${assetId}`);

    const asset = await stack.orm.em.fork().findOneOrFail(Asset, { id: assetId, tenantId: alice.tenantId });
    assert.equal(asset.sha256, sha256(clip));
    assert.equal(asset.sizeBytes, clip.length);
    assert.equal(asset.type, 'video');
    assert.equal(asset.title, 'Holiday');
    assert.equal(asset.code, 'HOL-1');
    assert.equal(asset.priority, 20);
    assert.equal(asset.originalFilename, 'Holiday clip.mp4');
    assert.equal(asset.contentType, 'video/mp4');
    assert.equal(asset.createdBy, alice.userId);
    const row = await session(id);
    assert.equal(asset.originalKey, row.storageKey);
    assert.match(row.storageKey, new RegExp(`^${alice.tenantId}/\\d{4}/\\d{2}/${assetId}/original/original\\.mp4$`));
    assert.equal(sha256(await readAll(await stack.storage.get('originals', row.storageKey))), sha256(clip));
    await ingestStarted(assetId);

    const after = await call(base, 'GET', `/api/v1/assets/uploads/${id}`, { token: alice.access });
    assert.equal(after.body.status, 'completed');
    assert.ok(after.body.completed_at);
  });

  it('complete twice answers the same asset, never a second one', async () => {
    const bytes = mp4Like(200_000);
    const { id, assetId } = await uploaded(bytes);
    const first = await complete(id);
    assert.equal(first.status, 202, JSON.stringify(first.body));
    const second = await complete(id);
    assert.equal(second.status, 202, JSON.stringify(second.body));
    assert.equal(second.body.asset_id, assetId);
    assert.equal(await stack.orm.em.fork().count(Asset, { tenantId: alice.tenantId, sha256: sha256(bytes) }), 1);
    // A completed upload is no longer abortable: its bytes are the asset's original.
    const del = await call(base, 'DELETE', `/api/v1/assets/uploads/${id}`, { token: alice.access });
    assert.equal(del.status, 409);
    assert.equal(errorOf(del.body).code, 'UPLOAD_COMPLETED');
    assert.ok(await stack.storage.stat('originals', (await session(id)).storageKey));
  });

  it('concurrent completes of one session make one asset', async () => {
    const bytes = mp4Like(300_000);
    const { id, assetId } = await uploaded(bytes);
    const answers = await Promise.all([complete(id), complete(id), complete(id)]);
    for (const a of answers) {
      assert.equal(a.status, 202, JSON.stringify(a.body));
      assert.equal(a.body.asset_id, assetId);
    }
    assert.equal(await stack.orm.em.fork().count(Asset, { tenantId: alice.tenantId, sha256: sha256(bytes) }), 1);
    assert.ok(await stack.storage.stat('originals', (await session(id)).storageKey));
  });

  it('multipart over 64 MiB: part URLs PUT with plain fetch in any order, then complete', async () => {
    const bytes = mp4Like(70_000_000);
    const res = await start({ filename: 'long take.mov', size_bytes: bytes.length, content_type: 'video/quicktime' });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    assert.equal(res.body.url, undefined);
    assert.equal(res.body.part_size, 64 * MiB);
    const parts = res.body.parts as Part[];
    assert.deepEqual(parts.map((p) => [p.part_number, p.size_bytes]), [[1, 64 * MiB], [2, bytes.length - 64 * MiB]]);
    const id = String(res.body.upload_id);
    const assetId = String(res.body.asset_id);
    const view = await call(base, 'GET', `/api/v1/assets/uploads/${id}`, { token: alice.access });
    assert.equal(view.body.multipart, true);
    assert.equal(view.body.part_count, 2);

    await put(parts[1]!.url, bytes.subarray(64 * MiB));
    const missing = await complete(id);
    assert.equal(missing.status, 409, JSON.stringify(missing.body));
    assert.equal(errorOf(missing.body).code, 'UPLOAD_INCOMPLETE');
    assert.deepEqual(errorOf(missing.body).details?.missing_parts, [1]);

    await put(parts[0]!.url, bytes.subarray(0, 64 * MiB));
    const done = await complete(id);
    assert.equal(done.status, 202, JSON.stringify(done.body));
    assert.equal(done.body.asset_id, assetId);
    const asset = await stack.orm.em.fork().findOneOrFail(Asset, { id: assetId, tenantId: alice.tenantId });
    assert.equal(asset.sha256, sha256(bytes));
    assert.equal(asset.sizeBytes, bytes.length);
    assert.equal(asset.contentType, 'video/quicktime');
    const stored = await stack.storage.stat('originals', (await session(id)).storageKey);
    assert.equal(stored?.size, bytes.length);
    await ingestStarted(assetId);
  });

  it('a size mismatch is 422 UPLOAD_MISMATCH, and the object is gone', async () => {
    const bytes = mp4Like(100_000);
    const { id, row } = await uploaded(bytes.subarray(0, 99_990), { size_bytes: bytes.length });
    const res = await complete(id);
    assert.equal(res.status, 422, JSON.stringify(res.body));
    assert.equal(errorOf(res.body).code, 'UPLOAD_MISMATCH');
    assert.deepEqual(errorOf(res.body).details, { field: 'size_bytes', expected: 100_000, actual: 99_990 });
    assert.equal(await stack.storage.stat('originals', row.storageKey), null);
    assert.equal((await session(id)).status, 'aborted');
    assert.equal(await stack.orm.em.fork().count(Asset, { id: row.assetId }), 0);
    const again = await complete(id);
    assert.equal(again.status, 410);
    assert.equal(errorOf(again.body).code, 'UPLOAD_ABORTED');
  });

  it('a SHA-256 mismatch is 422 UPLOAD_MISMATCH, and the object is gone', async () => {
    const bytes = mp4Like(120_000);
    const declared = sha256(Buffer.from('something else'));
    const { id, row } = await uploaded(bytes, { sha256: declared });
    const res = await complete(id);
    assert.equal(res.status, 422, JSON.stringify(res.body));
    assert.equal(errorOf(res.body).code, 'UPLOAD_MISMATCH');
    assert.deepEqual(errorOf(res.body).details, { field: 'sha256', expected: declared, actual: sha256(bytes) });
    assert.equal(await stack.storage.stat('originals', row.storageKey), null);
    assert.equal((await session(id)).status, 'aborted');
  });

  it('content the tenant has is 409 DUPLICATE_ASSET with the existing id, unless allow_duplicate', async () => {
    const bytes = mp4Like(150_000);
    const existing = await insertTestAsset(stack.orm, { tenantId: alice.tenantId, createdBy: alice.userId, sha256: sha256(bytes) });

    const refused = await start({ filename: 'again.mp4', size_bytes: bytes.length, sha256: sha256(bytes) });
    assert.equal(refused.status, 409, JSON.stringify(refused.body));
    assert.equal(errorOf(refused.body).code, 'DUPLICATE_ASSET');
    assert.equal(errorOf(refused.body).details?.existing_asset_id, existing);

    // Another tenant may have the same content.
    const elsewhere = await uploaded(bytes, { sha256: sha256(bytes) }, bob.access);
    assert.equal((await complete(elsewhere.id, bob.access)).status, 202);

    // Undeclared at start, found at complete: refused then, and the upload removed.
    const late = await uploaded(bytes);
    const lateRes = await complete(late.id);
    assert.equal(lateRes.status, 409, JSON.stringify(lateRes.body));
    assert.equal(errorOf(lateRes.body).code, 'DUPLICATE_ASSET');
    assert.equal(errorOf(lateRes.body).details?.existing_asset_id, existing);
    assert.equal(await stack.storage.stat('originals', late.row.storageKey), null);
    assert.equal((await session(late.id)).status, 'aborted');

    const allowed = await uploaded(bytes, { sha256: sha256(bytes), allow_duplicate: true });
    const ok = await complete(allowed.id);
    assert.equal(ok.status, 202, JSON.stringify(ok.body));
    assert.notEqual(ok.body.asset_id, existing);
    assert.equal(await stack.orm.em.fork().count(Asset, { tenantId: alice.tenantId, sha256: sha256(bytes) }), 2);
  });

  it("another tenant's or another user's upload is 404", async () => {
    const { id, row } = await uploaded(mp4Like(50_000));
    const colleague = await createUser(base, alice, 'editor');
    for (const token of [bob.access, colleague.access]) {
      assert.equal((await call(base, 'GET', `/api/v1/assets/uploads/${id}`, { token })).status, 404);
      assert.equal((await complete(id, token)).status, 404);
      assert.equal((await call(base, 'DELETE', `/api/v1/assets/uploads/${id}`, { token })).status, 404);
    }
    assert.equal((await call(base, 'GET', '/api/v1/assets/uploads/not-a-uuid', { token: alice.access })).status, 404);
    assert.equal((await session(id)).status, 'pending');
    assert.ok(await stack.storage.stat('originals', row.storageKey) === null, 'not completed: no object yet');
  });

  it('an expired session is swept by the activity, and complete answers 410 UPLOAD_EXPIRED', async () => {
    const { id, row } = await uploaded(mp4Like(80_000));
    const activities = createAssetUploadActivities({ orm: stack.orm, storage: stack.storage });
    // Not yet due (and within the grace after expiry): untouched.
    await activities.abortExpiredAssetUploads({ now: new Date(row.expiresAt.getTime() + 60_000).toISOString() });
    assert.equal((await session(id)).status, 'pending');

    const now = new Date(row.expiresAt.getTime() + 24 * 3600_000).toISOString();
    const { aborted } = await activities.abortExpiredAssetUploads({ now });
    assert.ok(aborted >= 1);
    assert.equal((await session(id)).status, 'expired');
    // The multipart upload is gone: its URL stores nothing any more.
    const parts = await fetch(await stack.storage.presignUploadPart('originals', row.storageKey, row.multipartUploadId!, 1, 60), { method: 'PUT', body: Buffer.from('late') });
    assert.equal(parts.status, 404);
    await parts.arrayBuffer();
    assert.equal(await stack.storage.stat('originals', row.storageKey), null);

    const res = await complete(id);
    assert.equal(res.status, 410, JSON.stringify(res.body));
    assert.equal(errorOf(res.body).code, 'UPLOAD_EXPIRED');
    assert.equal((await call(base, 'GET', `/api/v1/assets/uploads/${id}`, { token: alice.access })).body.status, 'expired');
    // Idempotent: a second sweep leaves it as it is.
    await activities.abortExpiredAssetUploads({ now });
    assert.equal((await session(id)).status, 'expired');
  });

  it('the sweep leaves alone a session whose asset exists, marking it completed', async () => {
    const { id, row } = await uploaded(mp4Like(60_000));
    await stack.orm.em.fork().insert(Asset, {
      id: row.assetId, partitionDate: row.createdAt.toISOString().slice(0, 10), tenantId: alice.tenantId, title: 't', type: 'video', status: 'pending',
      originalFilename: 'clip.mp4', originalKey: row.storageKey, sizeBytes: 60_000, sha256: sha256(randomBytes(8)), createdBy: alice.userId, createdAt: row.createdAt, updatedAt: row.createdAt,
    });
    const activities = createAssetUploadActivities({ orm: stack.orm, storage: stack.storage });
    await activities.abortExpiredAssetUploads({ now: new Date(row.expiresAt.getTime() + 24 * 3600_000).toISOString() });
    assert.equal((await session(id)).status, 'completed');
  });

  it('DELETE aborts a pending upload: 204, its bytes gone, complete then 410', async () => {
    const bytes = mp4Like(2 * MiB);
    const res = await start({ filename: 'big.mkv', size_bytes: 70 * MiB });
    assert.equal(res.status, 201);
    const id = String(res.body.upload_id);
    await put((res.body.parts as Part[])[0]!.url, Buffer.concat([bytes, randomBytes(62 * MiB)]));
    const del = await call(base, 'DELETE', `/api/v1/assets/uploads/${id}`, { token: alice.access });
    assert.equal(del.status, 204);
    assert.equal((await call(base, 'DELETE', `/api/v1/assets/uploads/${id}`, { token: alice.access })).status, 204);
    const row = await session(id);
    assert.equal(row.status, 'aborted');
    const late = await fetch((res.body.parts as Part[])[1]!.url, { method: 'PUT', body: Buffer.from('x') });
    assert.equal(late.status, 404);
    await late.arrayBuffer();
    assert.equal(await stack.storage.stat('originals', row.storageKey), null);
    const after = await complete(id);
    assert.equal(after.status, 410);
    assert.equal(errorOf(after.body).code, 'UPLOAD_ABORTED');
  });

  it('content that is not what its name says is refused at complete, and removed', async () => {
    const { id, row } = await uploaded(png, { filename: 'clip.mp4' });
    const res = await complete(id);
    assert.equal(res.status, 422, JSON.stringify(res.body));
    assert.equal(errorOf(res.body).code, 'INVALID_MEDIA');
    assert.equal(await stack.storage.stat('originals', row.storageKey), null);
    assert.equal((await session(id)).status, 'aborted');

    const image = await uploaded(png, { filename: 'still.png', content_type: 'image/png' });
    const ok = await complete(image.id);
    assert.equal(ok.status, 202, JSON.stringify(ok.body));
    assert.equal((await stack.orm.em.fork().findOneOrFail(Asset, { id: image.assetId })).type, 'image');
  });

  it('too large is 413, a refused extension 415, bad fields 422; nothing is started', async () => {
    const before = await stack.orm.em.fork().count(AssetUpload, { tenantId: alice.tenantId });
    const big = await start({ filename: 'huge.mp4', size_bytes: 100 * MiB + 1 });
    assert.equal(big.status, 413);
    assert.equal(errorOf(big.body).code, 'PAYLOAD_TOO_LARGE');
    assert.equal((await start({ filename: 'edge.mp4', size_bytes: 100 * MiB })).status, 201);

    for (const filename of ['setup.exe', 'playlist.m3u8', 'noextension']) {
      const res = await start({ filename, size_bytes: 1000 });
      assert.equal(res.status, 415, filename);
      assert.equal(errorOf(res.body).code, 'UNSUPPORTED_FORMAT');
    }
    for (const body of [
      { filename: 'a.mp4' },
      { filename: 'a.mp4', size_bytes: 0 },
      { filename: 'a.mp4', size_bytes: 10, sha256: 'abc' },
      { filename: 'a.mp4', size_bytes: 10, priority: 1001 },
      { filename: 'a.mp4', size_bytes: 10, status: 'completed' },
    ]) {
      const res = await start(body);
      assert.equal(res.status, 422, JSON.stringify(body));
      assert.equal(errorOf(res.body).code, 'VALIDATION_FAILED');
    }
    assert.equal((await call(base, 'POST', '/api/v1/assets/uploads', { body: { filename: 'a.mp4', size_bytes: 10 } })).status, 401);
    assert.equal(await stack.orm.em.fork().count(AssetUpload, { tenantId: alice.tenantId }), before + 1);
  });

  it('the routes are in the OpenAPI document', async () => {
    const doc = (await (await fetch(`${base}/openapi.json`)).json()) as { paths: Record<string, Record<string, { responses: Record<string, unknown> }>> };
    assert.ok(doc.paths['/api/v1/assets/uploads']?.post?.responses['201']);
    assert.ok(doc.paths['/api/v1/assets/uploads/{id}']?.get?.responses['200']);
    assert.ok(doc.paths['/api/v1/assets/uploads/{id}']?.delete?.responses['204']);
    assert.ok(doc.paths['/api/v1/assets/uploads/{id}/complete']?.post?.responses['202']);
  });
});
