/**
 * Keywords and timecode markers of assets on the real stack: normalization and duplicates (also
 * racing), every bad-input row, limits, marker ordering and the generated duration_ms, roles,
 * tenant isolation, and the tenant-wide keyword search with its pagination.
 */
import '../support/quiet-runtime.ts';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Asset, AssetKeyword, AssetMarker } from '../../entities/index.ts';
import { call, createUser, registerTenant, type Session } from '../support/accounts.ts';
import { insertTestAsset, type TestAssetInput } from '../support/assets.ts';
import { startTestStack, type TestStack } from '../support/stack.ts';

type Body = Record<string, unknown>;
type Err = { error: { code: string; details?: unknown } };
const code = (body: Body) => (body as Err).error?.code;

describe('keywords and markers of assets', () => {
  let stack: TestStack;
  let base: string;
  let admin: Session;
  let other: Session;

  const asset = (session: Session, input: Partial<TestAssetInput> = {}) =>
    insertTestAsset(stack.orm, { tenantId: session.tenantId, createdBy: session.userId, ...input });
  const kw = (session: Session, assetId: string, body: unknown) =>
    call(base, 'POST', `/api/v1/assets/${assetId}/keywords`, { token: session.access, body });
  const mk = (session: Session, assetId: string, body: unknown) =>
    call(base, 'POST', `/api/v1/assets/${assetId}/markers`, { token: session.access, body });

  before(async () => {
    stack = await startTestStack({ name: 'asset-annotations', heavyWorker: false, env: { RATE_LIMIT_REQUESTS_PER_USER: '100000' } });
    base = stack.baseUrl;
    admin = await registerTenant(base);
    other = await registerTenant(base);
  });
  after(async () => {
    await stack?.stop();
  });

  describe('keywords', () => {
    it('adds, lists, changes and removes keywords, normalizing them', async () => {
      const id = await asset(admin);
      const rio = await kw(admin, id, { keyword: '  Rio   de  JANEIRO ', category: 'location', confidence: 0.875, source: 'ai' });
      assert.equal(rio.status, 201, JSON.stringify(rio.body));
      assert.equal(rio.body.keyword, 'Rio de JANEIRO');
      assert.equal(rio.body.normalized, 'rio de janeiro');
      assert.equal(rio.body.category, 'location');
      assert.equal(rio.body.confidence, 0.875);
      assert.equal(rio.body.source, 'ai');
      assert.equal(rio.body.asset_id, id);
      assert.equal(rio.body.created_by, admin.userId);
      assert.equal(rio.headers.get('location'), `/api/v1/assets/${id}/keywords/${String(rio.body.id)}`);

      const beach = await kw(admin, id, { keyword: 'Beach' });
      assert.equal(beach.status, 201);
      assert.equal(beach.body.source, 'manual', 'source defaults to manual');
      assert.equal(beach.body.confidence, null);
      assert.equal(beach.body.category, null);

      const list = await call(base, 'GET', `/api/v1/assets/${id}/keywords`, { token: admin.access });
      assert.equal(list.status, 200);
      assert.deepEqual((list.body.items as Body[]).map((k) => k.normalized), ['beach', 'rio de janeiro'], 'in normalized order');
      const ai = await call(base, 'GET', `/api/v1/assets/${id}/keywords?source=ai`, { token: admin.access });
      assert.deepEqual((ai.body.items as Body[]).map((k) => k.normalized), ['rio de janeiro']);

      const one = await call(base, 'GET', `/api/v1/assets/${id}/keywords/${String(beach.body.id)}`, { token: admin.access });
      assert.equal(one.status, 200);
      assert.equal(one.body.keyword, 'Beach');

      const patched = await call(base, 'PATCH', `/api/v1/assets/${id}/keywords/${String(beach.body.id)}`, {
        token: admin.access, body: { keyword: '  Praia  ', category: 'place', confidence: 1, source: 'import' },
      });
      assert.equal(patched.status, 200, JSON.stringify(patched.body));
      assert.equal(patched.body.keyword, 'Praia');
      assert.equal(patched.body.normalized, 'praia');
      assert.equal(patched.body.confidence, 1);
      assert.equal(patched.body.source, 'import');
      const cleared = await call(base, 'PATCH', `/api/v1/assets/${id}/keywords/${String(beach.body.id)}`, { token: admin.access, body: { category: null, confidence: null } });
      assert.equal(cleared.status, 200);
      assert.equal(cleared.body.category, null);
      assert.equal(cleared.body.confidence, null);
      assert.equal(cleared.body.keyword, 'Praia');

      const clash = await call(base, 'PATCH', `/api/v1/assets/${id}/keywords/${String(beach.body.id)}`, { token: admin.access, body: { keyword: 'RIO DE JANEIRO' } });
      assert.equal(clash.status, 409);
      assert.equal(code(clash.body), 'DUPLICATE_KEYWORD');
      const same = await call(base, 'PATCH', `/api/v1/assets/${id}/keywords/${String(rio.body.id)}`, { token: admin.access, body: { keyword: 'Rio de Janeiro' } });
      assert.equal(same.status, 200, 'renaming a keyword to another spelling of itself is fine');
      assert.equal(same.body.keyword, 'Rio de Janeiro');

      const del = await call(base, 'DELETE', `/api/v1/assets/${id}/keywords/${String(beach.body.id)}`, { token: admin.access });
      assert.equal(del.status, 204);
      assert.equal((await call(base, 'GET', `/api/v1/assets/${id}/keywords/${String(beach.body.id)}`, { token: admin.access })).status, 404);
      assert.equal((await call(base, 'DELETE', `/api/v1/assets/${id}/keywords/${String(beach.body.id)}`, { token: admin.access })).status, 404);
      // The same keyword on another asset is another keyword.
      assert.equal((await kw(admin, await asset(admin), { keyword: 'rio de janeiro' })).status, 201);
    });

    it('answers a duplicate after normalization 409 DUPLICATE_KEYWORD (case, spacing, NFD vs NFC)', async () => {
      const id = await asset(admin);
      const first = await kw(admin, id, { keyword: '  Rio   de  JANEIRO ' });
      assert.equal(first.status, 201);
      const dup = await kw(admin, id, { keyword: 'rio de janeiro' });
      assert.equal(dup.status, 409);
      assert.equal(code(dup.body), 'DUPLICATE_KEYWORD');
      assert.deepEqual((dup.body as Err).error.details, { normalized: 'rio de janeiro', keyword_id: first.body.id });

      const nfc = await kw(admin, id, { keyword: 'Caf\u00e9' });
      assert.equal(nfc.status, 201);
      assert.equal(nfc.body.normalized, 'caf\u00e9');
      const nfd = await kw(admin, id, { keyword: 'CAFE\u0301' });
      assert.equal(nfd.status, 409, 'NFD é is NFC é');
      assert.equal(code(nfd.body), 'DUPLICATE_KEYWORD');

      const nfdFirst = await kw(admin, id, { keyword: 'Sa\u0303o Paulo' });
      assert.equal(nfdFirst.status, 201);
      assert.equal(nfdFirst.body.keyword, 'S\u00e3o Paulo', 'stored in NFC');
    });

    it('lets exactly one of many concurrent duplicates in; the others are 409, never 500', async () => {
      const id = await asset(admin);
      const spellings = ['Samba', 'samba', ' SAMBA ', 'sAmBa', 'samba  ', 'Samba', 'SAMBA', 'samba', 'Samba ', ' samba'];
      const results = await Promise.all(spellings.map((keyword) => kw(admin, id, { keyword })));
      assert.deepEqual(results.map((r) => r.status).sort(), [201, ...Array(9).fill(409)]);
      for (const r of results.filter((x) => x.status === 409)) assert.equal(code(r.body), 'DUPLICATE_KEYWORD');
      const list = await call(base, 'GET', `/api/v1/assets/${id}/keywords`, { token: admin.access });
      assert.equal((list.body.items as Body[]).length, 1);
    });

    const badKeywords: Array<[string, unknown]> = [
      ['empty keyword', { keyword: '' }],
      ['white-space-only keyword', { keyword: ' \t\n\u00a0 ' }],
      ['keyword over 100 characters', { keyword: 'x'.repeat(101) }],
      ['keyword with a NUL', { keyword: 'a\u0000b' }],
      ['missing keyword', { category: 'x' }],
      ['keyword not a string', { keyword: 42 }],
      ['confidence below 0', { keyword: 'k', confidence: -0.01 }],
      ['confidence above 1', { keyword: 'k', confidence: 1.01 }],
      ['confidence not a number', { keyword: 'k', confidence: '0.5' }],
      ['unknown source', { keyword: 'k', source: 'robot' }],
      ['source detection (markers only)', { keyword: 'k', source: 'detection' }],
      ['category too long', { keyword: 'k', category: 'c'.repeat(65) }],
      ['unknown field', { keyword: 'k', normalized: 'other' }],
    ];
    for (const [name, body] of badKeywords) {
      it(`answers 422 VALIDATION_FAILED for a ${name}`, async () => {
        const id = await asset(admin);
        const res = await kw(admin, id, body);
        assert.equal(res.status, 422, JSON.stringify(res.body));
        assert.equal(code(res.body), 'VALIDATION_FAILED');
        const list = await call(base, 'GET', `/api/v1/assets/${id}/keywords`, { token: admin.access });
        assert.equal((list.body.items as Body[]).length, 0, 'nothing was stored');
      });
    }

    it('accepts exactly 100 characters and answers 422 for bad PATCH values', async () => {
      const id = await asset(admin);
      const max = await kw(admin, id, { keyword: `  ${'Y'.repeat(100)}  ` });
      assert.equal(max.status, 201);
      const path = `/api/v1/assets/${id}/keywords/${String(max.body.id)}`;
      for (const body of [{ keyword: '   ' }, { keyword: 'z'.repeat(101) }, { confidence: 2 }, { source: 'robot' }, {}, { id: randomUUID() }]) {
        const res = await call(base, 'PATCH', path, { token: admin.access, body });
        assert.equal(res.status, 422, JSON.stringify(body));
        assert.equal(code(res.body), 'VALIDATION_FAILED');
      }
    });

    it(`refuses a keyword past the per-asset limit with 409 KEYWORD_LIMIT_REACHED`, async () => {
      const id = await asset(admin);
      await stack.orm.em.fork().insertMany(AssetKeyword, Array.from({ length: 500 }, (_, i) => ({
        id: randomUUID(), tenantId: admin.tenantId, assetId: id, keyword: `k${i}`, normalized: `k${i}`, source: 'import' as const,
      })));
      const res = await kw(admin, id, { keyword: 'one too many' });
      assert.equal(res.status, 409);
      assert.equal(code(res.body), 'KEYWORD_LIMIT_REACHED');
      assert.deepEqual((res.body as Err).error.details, { limit: 500 });
      const list = await call(base, 'GET', `/api/v1/assets/${id}/keywords`, { token: admin.access });
      assert.equal((list.body.items as Body[]).length, 500, 'the list returns every keyword of the asset');
    });
  });

  describe('markers', () => {
    it('lists markers ordered by timecode_in_ms with duration_ms generated by the database', async () => {
      const id = await asset(admin, { durationMs: 60_000 });
      const specs = [
        { type: 'chapter', timecode_in_ms: 30_000, timecode_out_ms: 60_000, title: 'Second half' },
        { type: 'highlight', timecode_in_ms: 12_500, timecode_out_ms: 15_000, title: '  Goal  ', notes: 'top corner' },
        { type: 'chapter', timecode_in_ms: 0, timecode_out_ms: 30_000, title: 'First half', source: 'import' },
        { type: 'comment', timecode_in_ms: 12_500, notes: 'point marker' },
        { type: 'scene', timecode_in_ms: 45_000, timecode_out_ms: 45_040, source: 'ai' },
      ];
      const created: Body[] = [];
      for (const spec of specs) {
        const res = await mk(admin, id, spec);
        assert.equal(res.status, 201, JSON.stringify(res.body));
        assert.equal(res.headers.get('location'), `/api/v1/assets/${id}/markers/${String(res.body.id)}`);
        created.push(res.body);
      }
      assert.equal(created[1]!.title, 'Goal');
      assert.equal(created[1]!.duration_ms, 2_500);
      assert.equal(created[3]!.timecode_out_ms, 12_500, 'without out the marker is a point');
      assert.equal(created[3]!.duration_ms, 0);
      assert.equal(created[0]!.source, 'manual');
      assert.equal(created[2]!.source, 'import');

      const list = await call(base, 'GET', `/api/v1/assets/${id}/markers`, { token: admin.access });
      assert.equal(list.status, 200);
      const items = list.body.items as Body[];
      assert.deepEqual(items.map((m) => [m.timecode_in_ms, m.timecode_out_ms]), [[0, 30_000], [12_500, 12_500], [12_500, 15_000], [30_000, 60_000], [45_000, 45_040]]);
      assert.deepEqual(items.map((m) => m.duration_ms), [30_000, 0, 2_500, 30_000, 40]);
      assert.equal(list.body.next_cursor, null);

      // duration_ms is the database's: a generated column that cannot be written.
      const rows = await stack.orm.em.getConnection().execute('select timecode_in_ms, timecode_out_ms, duration_ms from asset_markers where asset_id = ? order by timecode_in_ms, timecode_out_ms', [id]);
      assert.deepEqual(rows.map((r: Body) => Number(r.duration_ms)), [30_000, 0, 2_500, 30_000, 40]);
      await assert.rejects(stack.orm.em.getConnection().execute('update asset_markers set duration_ms = 1 where asset_id = ?', [id]), /can only be updated to DEFAULT|generated/i);
      const [column] = await stack.orm.em.getConnection().execute("select is_generated, generation_expression from information_schema.columns where table_name = 'asset_markers' and column_name = 'duration_ms'");
      assert.equal(column.is_generated, 'ALWAYS');
      const sent = await mk(admin, id, { type: 'chapter', timecode_in_ms: 0, timecode_out_ms: 10, duration_ms: 999 });
      assert.equal(sent.status, 422, 'duration_ms is not a field a client sends');

      const chapters = await call(base, 'GET', `/api/v1/assets/${id}/markers?type=chapter`, { token: admin.access });
      assert.deepEqual((chapters.body.items as Body[]).map((m) => m.title), ['First half', 'Second half']);
      const badType = await call(base, 'GET', `/api/v1/assets/${id}/markers?type=bookmark`, { token: admin.access });
      assert.equal(badType.status, 422);

      // Pages of two, in the same order, no item twice.
      const seen: Body[] = [];
      let cursor: string | null = null;
      do {
        const page: { status: number; body: Body } = await call(base, 'GET', `/api/v1/assets/${id}/markers?limit=2${cursor ? `&cursor=${cursor}` : ''}`, { token: admin.access });
        assert.equal(page.status, 200);
        assert.ok((page.body.items as Body[]).length <= 2);
        seen.push(...(page.body.items as Body[]));
        cursor = page.body.next_cursor as string | null;
      } while (cursor);
      assert.deepEqual(seen.map((m) => m.id), items.map((m) => m.id));
      const garbled = await call(base, 'GET', `/api/v1/assets/${id}/markers?cursor=nonsense`, { token: admin.access });
      assert.equal(garbled.status, 422);
      assert.equal(code(garbled.body), 'INVALID_CURSOR');
    });

    const badMarkers: Array<[string, Body, string]> = [
      ['out before in', { type: 'segment', timecode_in_ms: 5_000, timecode_out_ms: 4_999 }, 'INVALID_TIMECODES'],
      ['negative in', { type: 'segment', timecode_in_ms: -1, timecode_out_ms: 100 }, 'VALIDATION_FAILED'],
      ['negative out', { type: 'segment', timecode_in_ms: 0, timecode_out_ms: -100 }, 'VALIDATION_FAILED'],
      ['out beyond the duration', { type: 'segment', timecode_in_ms: 9_000, timecode_out_ms: 10_001 }, 'TIMECODE_BEYOND_DURATION'],
      ['in beyond the duration', { type: 'comment', timecode_in_ms: 10_001 }, 'TIMECODE_BEYOND_DURATION'],
      ['fractional timecode', { type: 'segment', timecode_in_ms: 1.5, timecode_out_ms: 2 }, 'VALIDATION_FAILED'],
      ['unknown type', { type: 'bookmark', timecode_in_ms: 0, timecode_out_ms: 1 }, 'VALIDATION_FAILED'],
      ['missing type', { timecode_in_ms: 0, timecode_out_ms: 1 }, 'VALIDATION_FAILED'],
      ['missing timecode_in_ms', { type: 'chapter', timecode_out_ms: 1 }, 'VALIDATION_FAILED'],
      ['unknown source', { type: 'chapter', timecode_in_ms: 0, timecode_out_ms: 1, source: 'robot' }, 'VALIDATION_FAILED'],
      ['source detection (the ingest\'s)', { type: 'scene', timecode_in_ms: 0, timecode_out_ms: 1, source: 'detection' }, 'VALIDATION_FAILED'],
      ['title over 300 characters', { type: 'chapter', timecode_in_ms: 0, timecode_out_ms: 1, title: 't'.repeat(301) }, 'VALIDATION_FAILED'],
      ['notes with a NUL', { type: 'chapter', timecode_in_ms: 0, timecode_out_ms: 1, notes: 'a\u0000b' }, 'VALIDATION_FAILED'],
    ];
    for (const [name, body, expected] of badMarkers) {
      it(`answers 422 ${expected} for a marker with ${name}`, async () => {
        const id = await asset(admin, { durationMs: 10_000 });
        const res = await mk(admin, id, body);
        assert.equal(res.status, 422, JSON.stringify(res.body));
        assert.equal(code(res.body), expected);
        const list = await call(base, 'GET', `/api/v1/assets/${id}/markers`, { token: admin.access });
        assert.equal((list.body.items as Body[]).length, 0, 'nothing was stored');
      });
    }

    it('checks a PATCH with the merged values (in ≤ out ≤ duration)', async () => {
      const id = await asset(admin, { durationMs: 10_000 });
      const m = await mk(admin, id, { type: 'segment', timecode_in_ms: 1_000, timecode_out_ms: 2_000, title: 'Intro' });
      const path = `/api/v1/assets/${id}/markers/${String(m.body.id)}`;
      const inAfterOut = await call(base, 'PATCH', path, { token: admin.access, body: { timecode_in_ms: 3_000 } });
      assert.equal(inAfterOut.status, 422);
      assert.equal(code(inAfterOut.body), 'INVALID_TIMECODES');
      const outBeforeIn = await call(base, 'PATCH', path, { token: admin.access, body: { timecode_out_ms: 999 } });
      assert.equal(outBeforeIn.status, 422);
      assert.equal(code(outBeforeIn.body), 'INVALID_TIMECODES');
      const beyond = await call(base, 'PATCH', path, { token: admin.access, body: { timecode_out_ms: 10_001 } });
      assert.equal(beyond.status, 422);
      assert.equal(code(beyond.body), 'TIMECODE_BEYOND_DURATION');
      const negative = await call(base, 'PATCH', path, { token: admin.access, body: { timecode_in_ms: -5 } });
      assert.equal(negative.status, 422);
      const detection = await call(base, 'PATCH', path, { token: admin.access, body: { source: 'detection' } });
      assert.equal(detection.status, 422);
      const empty = await call(base, 'PATCH', path, { token: admin.access, body: {} });
      assert.equal(empty.status, 422);

      const unchanged = await call(base, 'GET', path, { token: admin.access });
      assert.equal(unchanged.body.timecode_in_ms, 1_000);
      assert.equal(unchanged.body.timecode_out_ms, 2_000);

      const moved = await call(base, 'PATCH', path, { token: admin.access, body: { timecode_in_ms: 1_500, type: 'highlight', title: null, notes: 'moved' } });
      assert.equal(moved.status, 200, JSON.stringify(moved.body));
      assert.equal(moved.body.timecode_in_ms, 1_500);
      assert.equal(moved.body.timecode_out_ms, 2_000);
      assert.equal(moved.body.duration_ms, 500);
      assert.equal(moved.body.type, 'highlight');
      assert.equal(moved.body.title, null);
      assert.equal(moved.body.notes, 'moved');
      const both = await call(base, 'PATCH', path, { token: admin.access, body: { timecode_in_ms: 9_000, timecode_out_ms: 10_000 } });
      assert.equal(both.status, 200, 'in and out moved together past the old out');
      assert.equal(both.body.duration_ms, 1_000);

      const del = await call(base, 'DELETE', path, { token: admin.access });
      assert.equal(del.status, 204);
      assert.equal((await call(base, 'GET', path, { token: admin.access })).status, 404);
      assert.equal((await call(base, 'PATCH', path, { token: admin.access, body: { title: 'x' } })).status, 404);
    });

    it('needs a time-based asset with a known duration', async () => {
      const image = await asset(admin, { type: 'image', durationMs: null });
      const res = await mk(admin, image, { type: 'comment', timecode_in_ms: 0 });
      assert.equal(res.status, 422);
      assert.equal(code(res.body), 'NOT_TIME_BASED');
      const doc = await asset(admin, { type: 'document', durationMs: null });
      assert.equal(code((await mk(admin, doc, { type: 'comment', timecode_in_ms: 0 })).body), 'NOT_TIME_BASED');
      for (const status of ['pending', 'ingesting', 'processing'] as const) {
        const pending = await asset(admin, { type: 'video', status, durationMs: null });
        const r = await mk(admin, pending, { type: 'chapter', timecode_in_ms: 0, timecode_out_ms: 1 });
        assert.equal(r.status, 409, status);
        assert.equal(code(r.body), 'ASSET_NOT_READY');
      }
      const failed = await asset(admin, { type: 'audio', status: 'failed', durationMs: null });
      const f = await mk(admin, failed, { type: 'chapter', timecode_in_ms: 0, timecode_out_ms: 1 });
      assert.equal(f.status, 409);
      assert.equal(code(f.body), 'DURATION_UNKNOWN');
      // Still processing, but the duration is known: markers are fine. Audio is time-based too.
      const processing = await asset(admin, { type: 'audio', status: 'processing', durationMs: 5_000 });
      assert.equal((await mk(admin, processing, { type: 'segment', timecode_in_ms: 0, timecode_out_ms: 5_000 })).status, 201);
      // Reading markers of an image is an empty list, not an error.
      const list = await call(base, 'GET', `/api/v1/assets/${image}/markers`, { token: admin.access });
      assert.equal(list.status, 200);
      assert.deepEqual(list.body.items, []);
    });

    it('refuses a marker past the per-asset limit with 409 MARKER_LIMIT_REACHED', async () => {
      const id = await asset(admin, { durationMs: 10_000_000 });
      await stack.orm.em.fork().insertMany(AssetMarker, Array.from({ length: 5000 }, (_, i) => ({
        id: randomUUID(), tenantId: admin.tenantId, assetId: id, type: 'scene' as const, timecodeInMs: i * 1000, timecodeOutMs: i * 1000 + 500, source: 'detection' as const,
      })));
      const res = await mk(admin, id, { type: 'chapter', timecode_in_ms: 0, timecode_out_ms: 1 });
      assert.equal(res.status, 409);
      assert.equal(code(res.body), 'MARKER_LIMIT_REACHED');
      // Detection markers are listed, filterable and paged.
      const page = await call(base, 'GET', `/api/v1/assets/${id}/markers?source=detection&limit=1000`, { token: admin.access });
      assert.equal((page.body.items as Body[]).length, 1000);
      assert.equal((page.body.items as Body[])[999]!.timecode_in_ms, 999_000);
      assert.equal(typeof page.body.next_cursor, 'string');
    });
  });

  describe('roles', () => {
    it('lets every user read, but only admin, manager and editor write', async () => {
      const id = await asset(admin);
      const k = await kw(admin, id, { keyword: 'roles' });
      const m = await mk(admin, id, { type: 'chapter', timecode_in_ms: 0, timecode_out_ms: 1_000 });
      for (const role of ['viewer', 'user']) {
        const s = await createUser(base, admin, role);
        assert.equal((await call(base, 'GET', `/api/v1/assets/${id}/keywords`, { token: s.access })).status, 200, role);
        assert.equal((await call(base, 'GET', `/api/v1/assets/${id}/markers`, { token: s.access })).status, 200, role);
        assert.equal((await call(base, 'GET', '/api/v1/keywords', { token: s.access })).status, 200, role);
        const writes = [
          await kw(s, id, { keyword: `by ${role}` }),
          await call(base, 'PATCH', `/api/v1/assets/${id}/keywords/${String(k.body.id)}`, { token: s.access, body: { category: 'x' } }),
          await call(base, 'DELETE', `/api/v1/assets/${id}/keywords/${String(k.body.id)}`, { token: s.access }),
          await mk(s, id, { type: 'comment', timecode_in_ms: 0 }),
          await call(base, 'PATCH', `/api/v1/assets/${id}/markers/${String(m.body.id)}`, { token: s.access, body: { title: 'x' } }),
          await call(base, 'DELETE', `/api/v1/assets/${id}/markers/${String(m.body.id)}`, { token: s.access }),
        ];
        for (const w of writes) {
          assert.equal(w.status, 403, role);
          assert.equal(code(w.body), 'FORBIDDEN');
        }
      }
      for (const role of ['editor', 'manager']) {
        const s = await createUser(base, admin, role);
        assert.equal((await kw(s, id, { keyword: `by ${role}` })).status, 201, role);
        assert.equal((await mk(s, id, { type: 'comment', timecode_in_ms: 10 })).status, 201, role);
      }
    });
  });

  describe('tenant isolation', () => {
    it("answers 404 for another tenant's asset, keyword and marker, and for a deleted asset", async () => {
      const mine = await asset(admin);
      const k = await kw(admin, mine, { keyword: 'secret' });
      const m = await mk(admin, mine, { type: 'chapter', timecode_in_ms: 0, timecode_out_ms: 1_000 });
      const kid = String(k.body.id);
      const mid = String(m.body.id);
      const theirs = await asset(other);
      const t = other.access;

      // Another tenant's asset.
      for (const [method, path, body] of [
        ['GET', `/api/v1/assets/${mine}/keywords`],
        ['POST', `/api/v1/assets/${mine}/keywords`, { keyword: 'intruder' }],
        ['GET', `/api/v1/assets/${mine}/keywords/${kid}`],
        ['PATCH', `/api/v1/assets/${mine}/keywords/${kid}`, { keyword: 'hacked' }],
        ['DELETE', `/api/v1/assets/${mine}/keywords/${kid}`],
        ['GET', `/api/v1/assets/${mine}/markers`],
        ['POST', `/api/v1/assets/${mine}/markers`, { type: 'comment', timecode_in_ms: 0 }],
        ['GET', `/api/v1/assets/${mine}/markers/${mid}`],
        ['PATCH', `/api/v1/assets/${mine}/markers/${mid}`, { title: 'hacked' }],
        ['DELETE', `/api/v1/assets/${mine}/markers/${mid}`],
        // Their own asset, my keyword and marker ids.
        ['GET', `/api/v1/assets/${theirs}/keywords/${kid}`],
        ['PATCH', `/api/v1/assets/${theirs}/keywords/${kid}`, { keyword: 'hacked' }],
        ['DELETE', `/api/v1/assets/${theirs}/keywords/${kid}`],
        ['GET', `/api/v1/assets/${theirs}/markers/${mid}`],
        ['PATCH', `/api/v1/assets/${theirs}/markers/${mid}`, { title: 'hacked' }],
        ['DELETE', `/api/v1/assets/${theirs}/markers/${mid}`],
      ] as Array<[string, string, unknown?]>) {
        const res = await call(base, method, path, { token: t, ...(body === undefined ? {} : { body }) });
        assert.equal(res.status, 404, `${method} ${path}`);
        assert.equal(code(res.body), 'NOT_FOUND');
      }
      const still = await call(base, 'GET', `/api/v1/assets/${mine}/keywords/${kid}`, { token: admin.access });
      assert.equal(still.body.keyword, 'secret');
      const stillMarker = await call(base, 'GET', `/api/v1/assets/${mine}/markers/${mid}`, { token: admin.access });
      assert.equal(stillMarker.body.title, null);

      // A keyword or marker of another asset of the same tenant, and ids that are not ids.
      const sibling = await asset(admin);
      for (const path of [`/api/v1/assets/${sibling}/keywords/${kid}`, `/api/v1/assets/${sibling}/markers/${mid}`,
        `/api/v1/assets/${mine}/keywords/not-a-uuid`, `/api/v1/assets/${mine}/markers/${randomUUID()}`, `/api/v1/assets/nope/keywords`]) {
        assert.equal((await call(base, 'GET', path, { token: admin.access })).status, 404, path);
      }

      // The other tenant's search does not see my keywords.
      const search = await call(base, 'GET', '/api/v1/keywords?q=secret', { token: t });
      assert.deepEqual(search.body.items, []);

      // A soft-deleted asset is gone for its own tenant too.
      await stack.orm.em.fork().nativeUpdate(Asset, { id: mine }, { deletedAt: new Date() });
      assert.equal((await call(base, 'GET', `/api/v1/assets/${mine}/keywords`, { token: admin.access })).status, 404);
      assert.equal((await kw(admin, mine, { keyword: 'late' })).status, 404);
      assert.equal((await call(base, 'GET', `/api/v1/assets/${mine}/markers/${mid}`, { token: admin.access })).status, 404);
    });
  });

  describe('GET /keywords', () => {
    it('searches the tenant\'s keywords with asset counts, prefix matches first, paged', async () => {
      const tenant = await registerTenant(base);
      const stranger = await registerTenant(base);
      const [a1, a2, a3, gone] = await Promise.all([asset(tenant), asset(tenant), asset(tenant), asset(tenant)]);
      const add = async (id: string, keyword: string, category?: string) => {
        const res = await kw(tenant, id, { keyword, ...(category ? { category } : {}) });
        assert.equal(res.status, 201, JSON.stringify(res.body));
      };
      await add(a1, 'Rio de Janeiro', 'location');
      await add(a2, '  RIO   de janeiro', 'city');
      await add(a3, 'Rio  de Janeiro');
      await add(a1, 'Rio Grande');
      await add(a2, 'Carnaval do Rio');
      await add(a3, 'Beach');
      await add(a1, 'Café');
      await add(a2, 'Cafe\u0301');
      await add(gone, 'Rio Negro');
      await add(gone, 'Beach');
      await stack.orm.em.fork().nativeUpdate(Asset, { id: gone }, { deletedAt: new Date() });
      // The same keywords elsewhere count for nobody here.
      await kw(stranger, await asset(stranger), { keyword: 'Rio de Janeiro' });

      const rio = await call(base, 'GET', '/api/v1/keywords?q=%20%20RIO%20', { token: tenant.access });
      assert.equal(rio.status, 200, JSON.stringify(rio.body));
      assert.deepEqual(rio.body.items, [
        { normalized: 'rio de janeiro', keyword: 'Rio de Janeiro', asset_count: 3, categories: ['city', 'location'] },
        { normalized: 'rio grande', keyword: 'Rio Grande', asset_count: 1, categories: [] },
        { normalized: 'carnaval do rio', keyword: 'Carnaval do Rio', asset_count: 1, categories: [] },
      ]);
      assert.equal(rio.body.next_cursor, null);

      const cafe = await call(base, 'GET', `/api/v1/keywords?q=${encodeURIComponent('CAFE\u0301')}`, { token: tenant.access });
      assert.deepEqual((cafe.body.items as Body[]).map((k) => [k.normalized, k.asset_count]), [['caf\u00e9', 2]]);
      const beach = await call(base, 'GET', '/api/v1/keywords?q=beach', { token: tenant.access });
      assert.deepEqual((beach.body.items as Body[]).map((k) => k.asset_count), [1], 'the deleted asset does not count');
      const percent = await call(base, 'GET', '/api/v1/keywords?q=%25', { token: tenant.access });
      assert.deepEqual(percent.body.items, [], 'a % is a character, not a wildcard');

      // Every keyword, in pages of two, none twice or missed.
      const all: string[] = [];
      let cursor: string | null = null;
      do {
        const page: { status: number; body: Body } = await call(base, 'GET', `/api/v1/keywords?limit=2${cursor ? `&cursor=${cursor}` : ''}`, { token: tenant.access });
        assert.equal(page.status, 200);
        assert.ok((page.body.items as Body[]).length <= 2);
        all.push(...(page.body.items as Body[]).map((k) => String(k.normalized)));
        cursor = page.body.next_cursor as string | null;
      } while (cursor);
      assert.deepEqual(all, ['beach', 'caf\u00e9', 'carnaval do rio', 'rio de janeiro', 'rio grande']);

      // Paging a search keeps the prefix matches first.
      const searched: string[] = [];
      cursor = null;
      do {
        const page: { status: number; body: Body } = await call(base, 'GET', `/api/v1/keywords?q=rio&limit=1${cursor ? `&cursor=${cursor}` : ''}`, { token: tenant.access });
        searched.push(...(page.body.items as Body[]).map((k) => String(k.normalized)));
        cursor = page.body.next_cursor as string | null;
      } while (cursor);
      assert.deepEqual(searched, ['rio de janeiro', 'rio grande', 'carnaval do rio']);

      const bad = await call(base, 'GET', '/api/v1/keywords?cursor=garbage', { token: tenant.access });
      assert.equal(bad.status, 422);
      assert.equal(code(bad.body), 'INVALID_CURSOR');
      assert.equal((await call(base, 'GET', '/api/v1/keywords?limit=0', { token: tenant.access })).status, 422);
      assert.equal((await call(base, 'GET', '/api/v1/keywords')).status, 401);
    });
  });
});
