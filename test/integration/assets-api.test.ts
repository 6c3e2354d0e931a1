/**
 * The asset API's bad-input table and tenancy on the real stack: every refused upload leaves
 * nothing in storage; read-only fields are never patched; another tenant's asset is 404 on every
 * route; list filters, sort and cursor; soft delete, then the cleanUpAssets purge of the objects.
 */
import '../support/quiet-runtime.ts';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { Asset, AssetIngestStep } from '../../entities/index.ts';
import type { cleanUpAssets } from '../../workflows/clean-up-assets.ts';
import { call, createUser, registerTenant, type Session } from '../support/accounts.ts';
import { makePng, makeTestClip, makeUndecodableMp4, tempDir } from '../support/media.ts';
import { eventually, startTestStack, type TestStack } from '../support/stack.ts';

type Body = Record<string, unknown>;

function pngHeader(width: number, height: number): Buffer {
  const b = Buffer.alloc(64);
  b.writeUInt32BE(0x89504e47, 0);
  b.writeUInt32BE(0x0d0a1a0a, 4);
  b.writeUInt32BE(13, 8);
  b.write('IHDR', 12, 'latin1');
  b.writeUInt32BE(width, 16);
  b.writeUInt32BE(height, 20);
  b.writeUInt8(8, 24);
  b.writeUInt8(2, 25);
  return b;
}

describe('asset API: bad input, tenancy, listing, delete and purge', { timeout: 300_000 }, () => {
  let stack: TestStack;
  let base: string;
  let alice: Session;
  let bob: Session;
  let dir: string;
  let clip: string;

  before(async () => {
    stack = await startTestStack({
      name: 'assets-api',
      env: { ASSET_MAX_UPLOAD_MB: '2', RATE_LIMIT_REQUESTS_PER_USER: '100000', RATE_LIMIT_UPLOADS_PER_USER_PER_MINUTE: '1000', RATE_LIMIT_DOWNLOADS_PER_USER_PER_MINUTE: '1000' },
    });
    base = stack.baseUrl;
    alice = await registerTenant(base);
    bob = await registerTenant(base);
    dir = await tempDir();
    clip = await makeTestClip(dir, 'clip.mp4', { seconds: 2 });
  });
  after(async () => {
    await stack?.stop();
  });

  async function upload(bytes: Buffer, name: string, fields: Record<string, string> = {}, token = alice.access) {
    const form = new FormData();
    for (const [k, v] of Object.entries(fields)) form.append(k, v);
    form.append('file', new Blob([bytes]), name);
    const res = await fetch(`${base}/api/v1/assets`, { method: 'POST', body: form, headers: { authorization: `Bearer ${token}` } });
    return { status: res.status, body: (await res.json()) as Body };
  }

  async function storedOriginals(tenantId: string): Promise<string[]> {
    const keys: string[] = [];
    for await (const o of stack.storage.list('originals', `${tenantId}/`)) keys.push(o.key);
    return keys;
  }

  async function settled(id: string, token = alice.access): Promise<Body> {
    return eventually(async () => {
      const res = await call(base, 'GET', `/api/v1/assets/${id}`, { token });
      return ['available', 'failed'].includes(String(res.body.status)) ? res.body : undefined;
    }, { timeoutMs: 120_000, what: `asset ${id} to settle` });
  }

  it('refuses bad uploads with a stable code and keeps nothing', async () => {
    const cases: Array<[Buffer, string, number, string]> = [
      [pngHeader(30_000, 30_000), 'bomb.png', 422, 'IMAGE_TOO_LARGE'],
      [Buffer.from('#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\nfile:///etc/passwd\n#EXT-X-ENDLIST\n'), 'movie.mp4', 422, 'INVALID_MEDIA'],
      [Buffer.from("ffconcat version 1.0\nfile '/etc/hostname'\n"), 'movie.mov', 422, 'INVALID_MEDIA'],
      [Buffer.from('<?xml version="1.0"?>\n<MPD xmlns="urn:mpeg:dash:schema:mpd:2011"><BaseURL>file:///etc/</BaseURL></MPD>\n'), 'movie.mp4', 422, 'INVALID_MEDIA'],
      [await readFile(await makePng(dir, 'real.png')), 'renamed.mp4', 422, 'INVALID_MEDIA'],
      [Buffer.from('just some text, not a video'), 'notes.mp4', 422, 'INVALID_MEDIA'],
      [Buffer.alloc(0), 'empty.mp4', 422, 'EMPTY_FILE'],
      [Buffer.from('MZ'), 'setup.exe', 415, 'UNSUPPORTED_FORMAT'],
      [randomBytes(3 * 1024 * 1024), 'huge.mp4', 413, 'PAYLOAD_TOO_LARGE'],
    ];
    for (const [bytes, name, status, code] of cases) {
      const res = await upload(bytes, name);
      assert.equal(res.status, status, `${name}: ${JSON.stringify(res.body)}`);
      assert.equal((res.body.error as Body).code, code, name);
    }
    const notMultipart = await call(base, 'POST', '/api/v1/assets', { token: alice.access, body: { title: 'x' } });
    assert.equal(notMultipart.status, 415);
    const badField = await upload(await readFile(clip), 'clip.mp4', { priority: '-5' });
    assert.equal(badField.status, 422);
    assert.deepEqual(await storedOriginals(alice.tenantId), [], 'nothing kept in storage');
    assert.equal(await stack.orm.em.fork().count(Asset, { tenantId: alice.tenantId }), 0, 'no asset row');
  });

  it('stores an upload under a generated key whatever its name; the name is kept only sanitized', async () => {
    const res = await upload(await readFile(await makeTestClip(dir, 'named.mp4', { seconds: 1 })), `../../${'x'.repeat(300)}/..\\évil\u202e 😀.mp4`, { allow_duplicate: 'true' });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    const name = String(res.body.original_filename);
    assert.ok(!name.includes('/') && !name.includes('\\') && !name.includes('\u202e'), name);
    assert.ok(name.endsWith('.mp4') && name.length <= 200, name);
    const row = await stack.orm.em.fork().findOneOrFail(Asset, { id: String(res.body.id) });
    assert.match(row.originalKey!, new RegExp(`^${alice.tenantId}/\\d{4}/\\d{2}/${row.id}/original/original\\.mp4$`));
    await settled(row.id);
  });

  it('a truncated MP4 that probes but cannot decode fails INVALID_MEDIA after one attempt', async () => {
    const res = await upload(await readFile(await makeUndecodableMp4(dir)), 'broken.mp4');
    assert.equal(res.status, 202, JSON.stringify(res.body));
    const asset = await settled(String(res.body.id));
    assert.equal(asset.status, 'failed');
    assert.equal((asset.error as Body).code, 'INVALID_MEDIA');
    const failed = (asset.steps as Body[]).filter((s) => s.status === 'failed');
    assert.ok(failed.length > 0);
    for (const step of failed) assert.equal(step.attempts, 1, `${step.step} tried once`);
    await stack.orm.em.fork().nativeUpdate(Asset, { id: String(res.body.id) }, { deletedAt: new Date() });
  });

  it('answers 409 DUPLICATE_ASSET for the same content unless allow_duplicate, and never patches read-only fields', async () => {
    const bytes = await readFile(clip);
    const storedBefore = (await storedOriginals(alice.tenantId)).length;
    const first = await upload(bytes, 'clip.mp4', { title: 'Primeiro', code: 'A-1' });
    assert.equal(first.status, 202, JSON.stringify(first.body));
    const id = String(first.body.id);
    const again = await upload(bytes, 'other-name.mp4');
    assert.equal(again.status, 409);
    assert.equal((again.body.error as Body).code, 'DUPLICATE_ASSET');
    assert.equal(((again.body.error as Body).details as Body).existing_asset_id, id);
    const allowed = await upload(bytes, 'copy.mp4', { allow_duplicate: 'true', title: 'Cópia' });
    assert.equal(allowed.status, 202);
    assert.equal((await storedOriginals(alice.tenantId)).length, storedBefore + 2, 'the refused duplicate left nothing');
    const otherTenant = await upload(bytes, 'clip.mp4', {}, bob.access);
    assert.equal(otherTenant.status, 202, 'duplicates are per tenant');

    for (const body of [{ status: 'available' }, { tenant_id: bob.tenantId }, { sha256: '0'.repeat(64) }, { size_bytes: 1 }, { title: 'ok', status: 'failed' }]) {
      const res = await call(base, 'PATCH', `/api/v1/assets/${id}`, { token: alice.access, body });
      assert.equal(res.status, 422, JSON.stringify(body));
    }
    const row = await stack.orm.em.fork().findOneOrFail(Asset, { id });
    assert.equal(row.tenantId, alice.tenantId);
    assert.equal(row.title, 'Primeiro');
    const patched = await call(base, 'PATCH', `/api/v1/assets/${id}`, { token: alice.access, body: { title: 'Novo título', priority: 5, code: null } });
    assert.equal(patched.status, 200);
    assert.equal(patched.body.title, 'Novo título');
    assert.equal(patched.body.priority, 5);
    assert.equal(patched.body.code, null);
    await settled(id);
    await settled(String(allowed.body.id));
  });

  it("answers 404 for another tenant's asset on every route", async () => {
    const list = await call(base, 'GET', '/api/v1/assets?limit=1', { token: alice.access });
    const id = String((list.body.items as Body[])[0]!.id);
    for (const [method, path, body] of [
      ['GET', `/api/v1/assets/${id}`],
      ['PATCH', `/api/v1/assets/${id}`, { title: 'mine now' }],
      ['DELETE', `/api/v1/assets/${id}`],
      ['GET', `/api/v1/assets/${id}/renditions`],
      ['GET', `/api/v1/assets/${id}/download?purpose=original`],
      ['GET', `/api/v1/assets/${id}/hls`],
      ['GET', `/api/v1/assets/${id}/events`],
      ['POST', `/api/v1/assets/${id}/reprocess`, { steps: ['poster'] }],
      ['GET', `/api/v1/assets/not-a-uuid`],
    ] as const) {
      const res = await call(base, method, path, { token: bob.access, ...(body ? { body } : {}) });
      assert.equal(res.status, 404, `${method} ${path}`);
    }
    const bobs = await call(base, 'GET', '/api/v1/assets', { token: bob.access });
    assert.ok((bobs.body.items as Body[]).every((a) => a.id !== id));
  });

  it('lists with filters, text search, sort and a cursor', async () => {
    const png = await upload(await readFile(await makePng(dir, 'logo.png')), 'logo.png', { title: 'Logotipo', code: 'LOGO-7' });
    assert.equal(png.status, 202);
    await settled(String(png.body.id));
    const images = await call(base, 'GET', '/api/v1/assets?type=image', { token: alice.access });
    assert.deepEqual((images.body.items as Body[]).map((a) => a.title), ['Logotipo']);
    const byCode = await call(base, 'GET', '/api/v1/assets?q=logo-7', { token: alice.access });
    assert.deepEqual((byCode.body.items as Body[]).map((a) => a.code), ['LOGO-7']);
    const percent = await call(base, 'GET', '/api/v1/assets?q=%25', { token: alice.access });
    assert.deepEqual(percent.body.items, [], '% is a literal, not a wildcard');
    const available = await call(base, 'GET', '/api/v1/assets?status=available&sort=title', { token: alice.access });
    const titles = (available.body.items as Body[]).map((a) => String(a.title));
    assert.deepEqual(titles, [...titles].sort());

    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { status: number; body: Body } = await call(base, 'GET', `/api/v1/assets?limit=1&sort=-created_at${cursor ? `&cursor=${cursor}` : ''}`, { token: alice.access });
      assert.equal(page.status, 200);
      seen.push(...(page.body.items as Body[]).map((a) => String(a.id)));
      cursor = page.body.next_cursor as string | null;
    } while (cursor);
    const all = await call(base, 'GET', '/api/v1/assets?limit=100', { token: alice.access });
    assert.deepEqual(seen, (all.body.items as Body[]).map((a) => a.id));
    assert.equal(new Set(seen).size, seen.length);
    const future = await call(base, 'GET', `/api/v1/assets?created_from=${encodeURIComponent(new Date(Date.now() + 3_600_000).toISOString())}`, { token: alice.access });
    assert.deepEqual(future.body.items, []);
    const badCursor = await call(base, 'GET', '/api/v1/assets?cursor=bm9wZQ', { token: alice.access });
    assert.equal(badCursor.status, 422);
    const download = await call(base, 'GET', `/api/v1/assets/${String(png.body.id)}/download?purpose=proxy_720`, { token: alice.access });
    assert.equal(download.status, 409);
    assert.equal((download.body.error as Body).code, 'RENDITION_NOT_READY');
  });

  it('soft-deletes (editors only), then the cleanUpAssets schedule workflow purges objects and rows after the retention', async () => {
    const res = await upload(await readFile(await makePng(dir, 'gone.png')), 'gone.png', { allow_duplicate: 'true' });
    assert.equal(res.status, 202);
    const id = String(res.body.id);
    await settled(id);
    const viewer = await createUser(base, alice, 'viewer');
    const forbidden = await call(base, 'DELETE', `/api/v1/assets/${id}`, { token: viewer.access });
    assert.equal(forbidden.status, 403);
    const row = await stack.orm.em.fork().findOneOrFail(Asset, { id });
    const prefix = `${alice.tenantId}/${row.createdAt.toISOString().slice(0, 4)}/${row.createdAt.toISOString().slice(5, 7)}/${id}/`;
    const objects = async () => {
      let n = 0;
      for (const bucket of ['originals', 'thumbnails', 'proxies'] as const) for await (const _ of stack.storage.list(bucket, prefix)) n++;
      return n;
    };
    assert.equal(await objects(), 3, 'original + two thumbnails');

    const deleted = await call(base, 'DELETE', `/api/v1/assets/${id}`, { token: alice.access });
    assert.equal(deleted.status, 204);
    assert.equal((await call(base, 'GET', `/api/v1/assets/${id}`, { token: alice.access })).status, 404);
    const afterDelete = await stack.orm.em.fork().findOneOrFail(Asset, { id });
    assert.ok(afterDelete.purgeAfter && afterDelete.purgeAfter.getTime() > Date.now() + 29 * 86_400_000, 'purged after ASSET_RETENTION_DAYS');

    const runCleanup = () => stack.temporal.workflow.execute<typeof cleanUpAssets>('cleanUpAssets', { workflowId: `asset-cleanup-test-${randomBytes(4).toString('hex')}`, taskQueue: stack.config.temporal.taskQueue });
    await runCleanup();
    assert.equal(await objects(), 3, 'kept during the retention');
    await stack.orm.em.fork().nativeUpdate(Asset, { id }, { purgeAfter: new Date(Date.now() - 1000) });
    const workflowId = `asset-cleanup-test-${randomBytes(4).toString('hex')}`;
    const result = await stack.temporal.workflow.execute<typeof cleanUpAssets>('cleanUpAssets', { workflowId, taskQueue: stack.config.temporal.taskQueue });
    assert.ok(result.purgedAssets >= 1);
    assert.equal(await objects(), 0, 'objects purged');
    assert.equal(await stack.orm.em.fork().count(Asset, { id }), 0);
    assert.equal(await stack.orm.em.fork().count(AssetIngestStep, { assetId: id }), 0);
    if (process.env.MOVIOLA_RECORD_HISTORIES) {
      await mkdir(process.env.MOVIOLA_RECORD_HISTORIES, { recursive: true });
      await writeFile(join(process.env.MOVIOLA_RECORD_HISTORIES, 'cleanUpAssets-purged.json'), historyToJSON(await stack.temporal.workflow.getHandle(workflowId).fetchHistory()));
    }
  });
});
