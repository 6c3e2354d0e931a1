/**
 * /api/v1/learning-centers on the real stack (the `learningCenter` workflow on the test worker):
 * create (201, a second live center of the scope 409 CENTER_EXISTS, scopes validated, another
 * tenant's artist or track 404), list with filters and cursor pagination, get (the running
 * workflow's state), edit weights, label, revert (to a version and to the baseline, exactly), pause
 * and resume, archive (the workflow completes, history stays readable, the scope takes a new center),
 * history pagination, a center whose workflow was terminated (restarted from its projection), and
 * every bad-input row: an unknown version (422 UNKNOWN_VERSION, state unchanged), weights with
 * unknown keys, negative or non-finite values (422), pause a paused / resume an active center (409),
 * another tenant's center, music or artist (404), a viewer editing (403). With Temporal unreachable:
 * reads answer from the projection, changes and feedback answer 503 and leave nothing behind.
 */
import '../support/quiet-runtime.ts';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import { createApp } from '../../api/app.ts';
import { loadConfig } from '../../lib/config.ts';
import { openOrm, type Orm } from '../../lib/db/orm.ts';
import { createLogger } from '../../lib/logger.ts';
import { createRateLimitBackend } from '../../lib/rate-limit/store.ts';
import { createStorage } from '../../lib/storage/index.ts';
import { learningCenterWorkflowId } from '../../lib/learning/contract.ts';
import { call, createUser, registerTenant, type Session } from '../support/accounts.ts';
import { createArtist, insertMusicRow } from '../support/catalogue-rows.ts';
import { eventually, startTestStack, type TestStack } from '../support/stack.ts';

type Body = Record<string, unknown>;
type Weights = Record<string, number>;
const CENTERS = '/api/v1/learning-centers';

describe('learning centers API on the real stack', { timeout: 300_000 }, () => {
  let stack: TestStack;
  let base: string;
  let alice: Session;
  let editor: Session;
  let viewer: Session;
  let plainUser: Session;
  let bob: Session;
  let baseline: Weights;

  before(async () => {
    stack = await startTestStack({ name: 'centers-api', heavyWorker: false, env: { OPENAI_API_KEY: '', RATE_LIMIT_REQUESTS_PER_USER: '100000' } });
    base = stack.baseUrl;
    baseline = { ...stack.config.clips.baselineWeights.weights };
    alice = await registerTenant(base);
    bob = await registerTenant(base);
    [editor, viewer, plainUser] = await Promise.all([createUser(base, alice, 'editor'), createUser(base, alice, 'viewer'), createUser(base, alice, 'user')]);
  });
  after(async () => {
    await stack?.stop();
  });

  // -------------------------------------------------------------------------------------------
  // Helpers

  const errorOf = (body: Body) => body.error as { code: string; message: string; details?: Record<string, unknown> };
  const api = (method: string, path: string, token: string, body?: unknown) => call(base, method, path, { token, ...(body === undefined ? {} : { body }) });

  /** Every route that changes a center, with a valid body. */
  const changeRoutes = (id: string): Array<readonly [string, string, unknown]> => [
    ['PUT', `${CENTERS}/${id}`, { weights: { energy: 0.3 }, reason: 'x' }],
    ['PUT', `${CENTERS}/${id}/label`, { label: 'experimental' }],
    ['POST', `${CENTERS}/${id}/revert`, { to: 'baseline' }],
    ['POST', `${CENTERS}/${id}/pause`, undefined],
    ['POST', `${CENTERS}/${id}/resume`, undefined],
    ['DELETE', `${CENTERS}/${id}`, undefined],
  ];

  async function create(session: Session, scope: string, label?: string): Promise<Body> {
    const res = await api('POST', CENTERS, session.access, { scope, ...(label ? { label } : {}) });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return res.body;
  }

  /** A new center of a new artist of alice's. */
  async function newCenter(label?: string): Promise<Body> {
    return create(alice, `artist-${await createArtist(base, alice)}`, label);
  }

  async function get(id: string, session = alice): Promise<Body> {
    const res = await api('GET', `${CENTERS}/${id}`, session.access);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body;
  }

  /** Waits until the workflow answers GET (its first save done). */
  async function running(id: string, session = alice): Promise<Body> {
    return eventually(async () => {
      const c = await get(id, session);
      return c.source === 'workflow' ? c : undefined;
    }, { timeoutMs: 30_000, what: `center ${id} running` });
  }

  async function history(id: string, session = alice, query = ''): Promise<{ items: Body[]; next_cursor: string | null }> {
    const res = await api('GET', `${CENTERS}/${id}/history${query}`, session.access);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body as { items: Body[]; next_cursor: string | null };
  }

  /** Stored versions, newest first (the workflow saves before an update answers). */
  const versionsOf = async (id: string) => (await history(id, alice, '?limit=100')).items.map((v) => v.version);

  async function editWeights(id: string, weights: unknown, session = alice, reason: unknown = 'by hand') {
    return api('PUT', `${CENTERS}/${id}`, session.access, { weights, reason });
  }

  /** PUT with a body written by hand (JSON.stringify cannot write 1e400). */
  async function putRaw(id: string, json: string) {
    const res = await fetch(`${base}${CENTERS}/${id}`, { method: 'PUT', body: json, headers: { 'content-type': 'application/json', authorization: `Bearer ${alice.access}` } });
    return { status: res.status, body: (await res.json()) as Body };
  }

  function assertRejected(res: { status: number; body: Body }, status: number, code: string) {
    assert.equal(res.status, status, JSON.stringify(res.body));
    assert.equal(errorOf(res.body).code, code, JSON.stringify(res.body));
    assert.equal(typeof errorOf(res.body).message, 'string');
  }

  /** The state that must not change when an update is refused. */
  async function snapshot(id: string) {
    const c = await get(id);
    return { version: c.version, weights: c.weights, label: c.label, status: c.status, versions: await versionsOf(id) };
  }

  // -------------------------------------------------------------------------------------------
  // Create, get, list

  it('POST creates a center at the baseline (201); its workflow answers GET; a second POST of the scope is 409 CENTER_EXISTS', async () => {
    const artistId = await createArtist(base, alice);
    const res = await api('POST', CENTERS, alice.access, { scope: `artist-${artistId}` });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const c = res.body;
    assert.equal(res.headers.get('location'), `${CENTERS}/${c.id}`);
    assert.equal(c.scope, `artist-${artistId}`);
    assert.equal(c.scope_kind, 'artist');
    assert.equal(c.artist_id, artistId);
    assert.equal(c.music_id, null);
    assert.equal(c.workflow_id, learningCenterWorkflowId(alice.tenantId, `artist-${artistId}`));
    assert.equal(c.status, 'active');
    assert.equal(c.label, 'stable');
    assert.equal(c.version, 1);
    assert.deepEqual(c.weights, baseline);
    assert.deepEqual(c.baseline_weights, baseline);
    assert.equal(c.created_by, alice.userId);
    assert.equal(c.feedback_applied, 0);

    const live = await running(String(c.id));
    assert.equal(live.version, 1);
    assert.deepEqual(live.weights, baseline);
    assert.equal(live.stable_version, 1);
    const h = await history(String(c.id));
    assert.deepEqual(h.items.map((v) => [v.version, v.source, v.author]), [[1, 'baseline', alice.userId]]);

    const again = await api('POST', CENTERS, editor.access, { scope: `artist-${artistId}`, label: 'experimental' });
    assertRejected(again, 409, 'CENTER_EXISTS');
    assert.equal(errorOf(again.body).details?.center_id, c.id);
  });

  it('global and music scopes; an experimental center has no stable version', async () => {
    const session = await registerTenant(base);
    const global = await create(session, 'global', 'experimental');
    assert.equal(global.scope_kind, 'global');
    assert.equal(global.label, 'experimental');
    const live = await eventually(async () => {
      const res = await api('GET', `${CENTERS}/${global.id}`, session.access);
      return res.body.source === 'workflow' ? res.body : undefined;
    }, { what: 'global center running' });
    assert.equal(live.stable_version, null);
    const musicId = await insertMusicRow(stack.orm.em.fork(), session, await createArtist(base, session));
    const music = await create(session, `music-${musicId}`);
    assert.equal(music.music_id, musicId);
    assert.equal(music.scope_kind, 'music');
  });

  it('POST with a scope that is not global, artist-<uuid> or music-<uuid>, or a bad label: 422', async () => {
    for (const scope of ['nope', 'artist-123', `ARTIST-${randomUUID()}`, `music-${randomUUID().toUpperCase()}`, 'global ', '', 42, null]) {
      assertRejected(await api('POST', CENTERS, alice.access, { scope }), 422, 'VALIDATION_FAILED');
    }
    assertRejected(await api('POST', CENTERS, alice.access, { scope: 'global', label: 'beta' }), 422, 'VALIDATION_FAILED');
    assertRejected(await api('POST', CENTERS, alice.access, { scope: 'global', extra: 1 }), 422, 'VALIDATION_FAILED');
  });

  it("POST for another tenant's artist or track, or one that does not exist: 404 and no center", async () => {
    const bobArtist = await createArtist(base, bob);
    const bobMusic = await insertMusicRow(stack.orm.em.fork(), bob, bobArtist);
    for (const scope of [`artist-${bobArtist}`, `music-${bobMusic}`, `artist-${randomUUID()}`, `music-${randomUUID()}`]) {
      assertRejected(await api('POST', CENTERS, alice.access, { scope }), 404, 'NOT_FOUND');
    }
    const rows = (await stack.orm.em.fork().getConnection().execute(
      'select count(*)::int as n from learning_centers where scope in (?, ?)', [`artist-${bobArtist}`, `music-${bobMusic}`],
    )) as Array<{ n: number }>;
    assert.equal(rows[0]!.n, 0);
  });

  it('GET lists the tenant\'s centers newest first with status, label, version and scope filters and cursor pagination', async () => {
    const session = await registerTenant(base);
    const artists = await Promise.all([createArtist(base, session), createArtist(base, session), createArtist(base, session)]);
    const made: Body[] = [];
    for (const [i, a] of artists.entries()) made.push(await create(session, `artist-${a}`, i === 1 ? 'experimental' : undefined));
    made.push(await create(session, 'global'));
    const ids = made.map((c) => c.id).reverse();

    const list = async (query: string) => {
      const res = await api('GET', `${CENTERS}${query}`, session.access);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      return res.body as { items: Body[]; next_cursor: string | null };
    };
    assert.deepEqual((await list('')).items.map((c) => c.id), ids);

    const seen: unknown[] = [];
    let cursor: string | null = null;
    do {
      const page: { items: Body[]; next_cursor: string | null } = await list(`?limit=3${cursor ? `&cursor=${cursor}` : ''}`);
      assert.ok(page.items.length <= 3);
      seen.push(...page.items.map((c) => c.id));
      cursor = page.next_cursor;
    } while (cursor);
    assert.deepEqual(seen, ids);

    assert.deepEqual((await list('?label=experimental')).items.map((c) => c.id), [made[1]!.id]);
    assert.deepEqual((await list('?scope_kind=global')).items.map((c) => c.id), [made[3]!.id]);
    assert.deepEqual((await list(`?scope=artist-${artists[0]}`)).items.map((c) => c.id), [made[0]!.id]);

    // A version filter and a status filter follow the workflow's saves.
    await running(String(made[0]!.id), session);
    await running(String(made[2]!.id), session);
    const edited = await api('PUT', `${CENTERS}/${made[0]!.id}`, session.access, { weights: { energy: 0.3 }, reason: 'more energy' });
    assert.equal(edited.status, 200, JSON.stringify(edited.body));
    assert.deepEqual((await list('?version=2')).items.map((c) => c.id), [made[0]!.id]);
    assert.equal((await list('?version=1')).items.length, 3);
    const paused = await api('POST', `${CENTERS}/${made[2]!.id}/pause`, session.access);
    assert.equal(paused.status, 200, JSON.stringify(paused.body));
    const pausedList = await eventually(async () => {
      const l = await list('?status=paused');
      return l.items.length === 1 ? l : undefined;
    }, { what: 'paused center in the projection' });
    assert.deepEqual(pausedList.items.map((c) => c.id), [made[2]!.id]);
    assert.equal((await list('?status=archived')).items.length, 0);

    // Another tenant sees none of them.
    const other = await api('GET', CENTERS, bob.access);
    assert.ok(!(other.body.items as Body[]).some((c) => ids.includes(c.id)));

    assertRejected(await api('GET', `${CENTERS}?cursor=garbage`, session.access), 422, 'INVALID_CURSOR');
    assertRejected(await api('GET', `${CENTERS}?status=deleted`, session.access), 422, 'VALIDATION_FAILED');
    assertRejected(await api('GET', `${CENTERS}?version=0`, session.access), 422, 'VALIDATION_FAILED');
  });

  // -------------------------------------------------------------------------------------------
  // Updates

  it('PUT edits some weights (the others keep theirs): a new version in the answer, GET and the history', async () => {
    const c = await newCenter();
    const id = String(c.id);
    await running(id);
    const res = await editWeights(id, { energy: 0.4, frozen_penalty: 0 }, editor, '  more energy, no penalty  ');
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.version, 2);
    assert.deepEqual(res.body.weights, { ...baseline, energy: 0.4, frozen_penalty: 0 });
    assert.equal(res.body.stable_version, 2);
    assert.deepEqual((await get(id)).weights, { ...baseline, energy: 0.4, frozen_penalty: 0 });
    const [latest] = (await history(id)).items;
    assert.equal(latest!.version, 2);
    assert.equal(latest!.source, 'edit');
    assert.equal(latest!.author, editor.userId);
    assert.equal(latest!.reason, 'more energy, no penalty');
    assert.deepEqual(latest!.weights, { ...baseline, energy: 0.4, frozen_penalty: 0 });
  });

  it('PUT weights with an unknown key: 422 INVALID_WEIGHTS, nothing changes', async () => {
    const id = String((await newCenter()).id);
    await running(id);
    const before = await snapshot(id);
    assertRejected(await editWeights(id, { energy: 0.2, charisma: 0.5 }), 422, 'INVALID_WEIGHTS');
    assert.match(errorOf((await editWeights(id, { charisma: 0.5 })).body).message, /charisma/);
    assert.deepEqual(await snapshot(id), before);
  });

  it('PUT negative weights: 422 INVALID_WEIGHTS, nothing changes', async () => {
    const id = String((await newCenter()).id);
    await running(id);
    const before = await snapshot(id);
    assertRejected(await editWeights(id, { energy: -0.1 }), 422, 'INVALID_WEIGHTS');
    assertRejected(await editWeights(id, { frozen_penalty: -1 }), 422, 'INVALID_WEIGHTS');
    assert.deepEqual(await snapshot(id), before);
  });

  it('PUT non-finite weights (1e400 parses as Infinity; "NaN", "Infinity" are strings, null is not a number): 422 INVALID_WEIGHTS, nothing changes', async () => {
    const id = String((await newCenter()).id);
    await running(id);
    const before = await snapshot(id);
    assert.equal(JSON.parse('1e400'), Infinity);
    assertRejected(await putRaw(id, '{"weights":{"energy":1e400},"reason":"huge"}'), 422, 'INVALID_WEIGHTS');
    assertRejected(await putRaw(id, '{"weights":{"energy":-1e400},"reason":"huge"}'), 422, 'INVALID_WEIGHTS');
    for (const value of ['NaN', 'Infinity', '0.3', null, true, [0.3]]) {
      assertRejected(await editWeights(id, { energy: value }), 422, 'INVALID_WEIGHTS');
    }
    assertRejected(await putRaw(id, '{"weights":{"energy":NaN},"reason":"x"}'), 400, 'INVALID_JSON');
    assert.deepEqual(await snapshot(id), before);
  });

  it('PUT without weights or reason (VALIDATION_FAILED), with no weight at all or no positive weight left (INVALID_WEIGHTS), a blank or long reason (INVALID_REASON): 422, nothing changes', async () => {
    const id = String((await newCenter()).id);
    await running(id);
    const before = await snapshot(id);
    assertRejected(await api('PUT', `${CENTERS}/${id}`, alice.access, { reason: 'x' }), 422, 'VALIDATION_FAILED');
    assertRejected(await editWeights(id, {}), 422, 'INVALID_WEIGHTS');
    assertRejected(await editWeights(id, [0.1]), 422, 'INVALID_WEIGHTS');
    // Checked by the workflow (it knows the current weights): every additive weight 0.
    assertRejected(await editWeights(id, { hook: 0, energy: 0, motion: 0, cuts_on_beats: 0, music_fit: 0, visual_variety: 0 }), 422, 'INVALID_WEIGHTS');
    assertRejected(await editWeights(id, { energy: 0.2 }, alice, '   '), 422, 'INVALID_REASON');
    assertRejected(await api('PUT', `${CENTERS}/${id}`, alice.access, { weights: { energy: 0.2 } }), 422, 'VALIDATION_FAILED');
    assertRejected(await api('PUT', `${CENTERS}/${id}`, alice.access, { weights: { energy: 0.2 }, reason: 'x', author: 'someone else' }), 422, 'VALIDATION_FAILED');
    assertRejected(await editWeights(id, { energy: 0.2 }, alice, 'x'.repeat(501)), 422, 'INVALID_REASON');
    assert.deepEqual(await snapshot(id), before);
  });

  it('PUT /label (stable ↔ experimental): experimental edits keep the stable version; a bad label is 422 INVALID_LABEL', async () => {
    const id = String((await newCenter()).id);
    await running(id);
    const exp = await api('PUT', `${CENTERS}/${id}/label`, alice.access, { label: 'experimental' });
    assert.equal(exp.status, 200, JSON.stringify(exp.body));
    assert.equal(exp.body.label, 'experimental');
    const edit = await editWeights(id, { motion: 0.3 });
    assert.equal(edit.status, 200, JSON.stringify(edit.body));
    assert.equal(edit.body.version, 2);
    assert.equal(edit.body.stable_version, 1);
    assert.deepEqual(edit.body.stable_weights, baseline);
    const [v2] = (await history(id)).items;
    assert.equal(v2!.label, 'experimental');
    const stable = await api('PUT', `${CENTERS}/${id}/label`, alice.access, { label: 'stable' });
    assert.equal(stable.status, 200, JSON.stringify(stable.body));
    assert.equal(stable.body.stable_version, 2);
    for (const label of ['beta', '', null, 3]) assertRejected(await api('PUT', `${CENTERS}/${id}/label`, alice.access, { label }), 422, 'INVALID_LABEL');
    assert.equal((await get(id)).label, 'stable');
  });

  it('revert to a version that does not exist: 422 UNKNOWN_VERSION, the update is rejected and the state unchanged', async () => {
    const id = String((await newCenter()).id);
    await running(id);
    assert.equal((await editWeights(id, { hook: 0.4 })).status, 200);
    const before = await snapshot(id);
    for (const to of [99, 3, 0, -1]) {
      assertRejected(await api('POST', `${CENTERS}/${id}/revert`, alice.access, { to }), 422, 'UNKNOWN_VERSION');
    }
    for (const to of ['latest', 1.5, null]) {
      assertRejected(await api('POST', `${CENTERS}/${id}/revert`, alice.access, { to }), 422, 'VALIDATION_FAILED');
    }
    assert.deepEqual(await snapshot(id), before);
  });

  it('revert to the baseline restores its weights exactly; revert to a version restores that one; both are new versions', async () => {
    const id = String((await newCenter()).id);
    await running(id);
    const v2 = await editWeights(id, { hook: 0.123456789, visual_variety: 0.0001 });
    assert.equal(v2.status, 200);
    assert.equal((await editWeights(id, { energy: 0.9 })).status, 200);
    const toBaseline = await api('POST', `${CENTERS}/${id}/revert`, editor.access, { to: 'baseline', reason: 'start over' });
    assert.equal(toBaseline.status, 200, JSON.stringify(toBaseline.body));
    assert.equal(toBaseline.body.version, 4);
    assert.deepEqual(toBaseline.body.weights, baseline);
    assert.deepEqual((await get(id)).weights, baseline);
    const toTwo = await api('POST', `${CENTERS}/${id}/revert`, alice.access, { to: 2 });
    assert.equal(toTwo.status, 200, JSON.stringify(toTwo.body));
    assert.equal(toTwo.body.version, 5);
    assert.deepEqual(toTwo.body.weights, v2.body.weights);
    const h = (await history(id)).items;
    assert.deepEqual(h.map((v) => [v.version, v.source, v.reverted_to]), [[5, 'revert', 2], [4, 'revert', 1], [3, 'edit', null], [2, 'edit', null], [1, 'baseline', null]]);
    assert.equal(h[1]!.reason, 'start over');
    assert.deepEqual(h[1]!.weights, baseline);
  });

  it('pause → 200 paused; pause again → 409 ALREADY_PAUSED; resume → 200 active; resume again → 409 ALREADY_ACTIVE', async () => {
    const id = String((await newCenter()).id);
    await running(id);
    assertRejected(await api('POST', `${CENTERS}/${id}/resume`, alice.access), 409, 'ALREADY_ACTIVE');
    const paused = await api('POST', `${CENTERS}/${id}/pause`, editor.access);
    assert.equal(paused.status, 200, JSON.stringify(paused.body));
    assert.equal(paused.body.status, 'paused');
    assert.equal((await get(id)).status, 'paused');
    assertRejected(await api('POST', `${CENTERS}/${id}/pause`, alice.access), 409, 'ALREADY_PAUSED');
    // Edits still work while paused.
    assert.equal((await editWeights(id, { music_fit: 0.2 })).status, 200);
    const resumed = await api('POST', `${CENTERS}/${id}/resume`, alice.access);
    assert.equal(resumed.status, 200, JSON.stringify(resumed.body));
    assert.equal(resumed.body.status, 'active');
    assertRejected(await api('POST', `${CENTERS}/${id}/resume`, alice.access), 409, 'ALREADY_ACTIVE');
    await eventually(async () => {
      const rows = (await stack.orm.em.fork().getConnection().execute('select status from learning_centers where id = ?', [id])) as Array<{ status: string }>;
      return rows[0]!.status === 'active' ? true : undefined;
    }, { what: 'projection active again' });
  });

  // -------------------------------------------------------------------------------------------
  // Archive

  it('DELETE archives: 200 archived, the workflow completes, GET and history still answer, every change is 409 CENTER_ARCHIVED, the scope takes a new center', async () => {
    const artistId = await createArtist(base, alice);
    const c = await create(alice, `artist-${artistId}`);
    const id = String(c.id);
    await running(id);
    assert.equal((await editWeights(id, { energy: 0.25 })).status, 200);
    const res = await api('DELETE', `${CENTERS}/${id}`, editor.access);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.status, 'archived');
    assert.ok(res.body.archived_at);
    const description = await stack.temporal.workflow.getHandle(String(c.workflow_id)).describe();
    assert.equal(description.status.name, 'COMPLETED');

    const got = await get(id);
    assert.equal(got.status, 'archived');
    assert.equal(got.source, 'projection');
    assert.equal(got.version, 2);
    assert.equal((got.weights as Weights).energy, 0.25);
    assert.deepEqual(await versionsOf(id), [2, 1]);

    for (const [method, path, body] of changeRoutes(id)) {
      assertRejected(await api(method, path, alice.access, body), 409, 'CENTER_ARCHIVED');
    }

    const archived = await api('GET', `${CENTERS}?status=archived`, alice.access);
    assert.ok((archived.body.items as Body[]).some((x) => x.id === id));
    const next = await create(alice, `artist-${artistId}`);
    assert.notEqual(next.id, id);
    const live = await running(String(next.id));
    assert.equal(live.version, 1);
    assert.deepEqual(live.weights, baseline);
    // The archived center still reads its own row and versions.
    assert.equal((await get(id)).status, 'archived');
    assert.deepEqual(await versionsOf(id), [2, 1]);
  });

  it('history is paginated newest first with an opaque cursor', async () => {
    const id = String((await newCenter()).id);
    await running(id);
    for (let i = 1; i <= 4; i++) assert.equal((await editWeights(id, { energy: i / 10 })).status, 200);
    const seen: unknown[] = [];
    let cursor: string | null = null;
    do {
      const page: { items: Body[]; next_cursor: string | null } = await history(id, viewer, `?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      seen.push(...page.items.map((v) => v.version));
      cursor = page.next_cursor;
    } while (cursor);
    assert.deepEqual(seen, [5, 4, 3, 2, 1]);
    assertRejected(await api('GET', `${CENTERS}/${id}/history?cursor=nope`, alice.access), 422, 'INVALID_CURSOR');
  });

  it('a live center whose workflow was terminated: GET answers from the projection, an edit restarts it with its state carried over', async () => {
    const c = await newCenter();
    const id = String(c.id);
    await running(id);
    assert.equal((await editWeights(id, { energy: 0.33 })).status, 200);
    await stack.temporal.workflow.getHandle(String(c.workflow_id)).terminate('test: the workflow is gone');
    const fromProjection = await get(id);
    assert.equal(fromProjection.source, 'projection');
    assert.equal(fromProjection.version, 2);
    const edit = await editWeights(id, { motion: 0.44 });
    assert.equal(edit.status, 200, JSON.stringify(edit.body));
    assert.equal(edit.body.version, 3);
    assert.deepEqual(edit.body.weights, { ...baseline, energy: 0.33, motion: 0.44 });
    const back = await api('POST', `${CENTERS}/${id}/revert`, alice.access, { to: 'baseline' });
    assert.equal(back.status, 200, JSON.stringify(back.body));
    assert.deepEqual(back.body.weights, baseline);
    assert.deepEqual(await versionsOf(id), [4, 3, 2, 1]);
  });

  // -------------------------------------------------------------------------------------------
  // Tenancy and roles

  it("another tenant's center is 404 for every route (and a malformed id too)", async () => {
    const id = String((await newCenter()).id);
    await running(id);
    const reads: Array<readonly [string, string, unknown]> = [['GET', `${CENTERS}/${id}`, undefined], ['GET', `${CENTERS}/${id}/history`, undefined]];
    for (const [method, path, body] of [...reads, ...changeRoutes(id)]) {
      assertRejected(await api(method, path, bob.access, body), 404, 'NOT_FOUND');
    }
    assertRejected(await api('GET', `${CENTERS}/not-a-uuid`, alice.access), 404, 'NOT_FOUND');
    assertRejected(await api('GET', `${CENTERS}/${randomUUID()}/history`, alice.access), 404, 'NOT_FOUND');
    const c = await get(id);
    assert.equal(c.version, 1);
    assert.equal(c.status, 'active');
  });

  it('a viewer (or a plain user) reads centers but editing is 403 FORBIDDEN; an editor edits', async () => {
    const c = await newCenter();
    const id = String(c.id);
    await running(id);
    for (const session of [viewer, plainUser]) {
      assert.equal((await api('GET', CENTERS, session.access)).status, 200);
      assert.equal((await api('GET', `${CENTERS}/${id}`, session.access)).status, 200);
      assert.equal((await api('GET', `${CENTERS}/${id}/history`, session.access)).status, 200);
      for (const [method, path, body] of [['POST', CENTERS, { scope: 'global' }] as const, ...changeRoutes(id)]) {
        assertRejected(await api(method, path, session.access, body), 403, 'FORBIDDEN');
      }
    }
    assert.equal((await get(id)).version, 1);
    assert.equal((await editWeights(id, { energy: 0.3 }, editor)).status, 200);
    assertRejected(await api('GET', CENTERS, ''), 401, 'UNAUTHENTICATED');
  });

  it('the OpenAPI document describes the routes', async () => {
    const res = await fetch(`${base}/openapi.json`);
    const doc = (await res.json()) as { paths: Record<string, Record<string, unknown>> };
    for (const [path, methods] of Object.entries({
      '/api/v1/learning-centers': ['get', 'post'],
      '/api/v1/learning-centers/{id}': ['get', 'put', 'delete'],
      '/api/v1/learning-centers/{id}/pause': ['post'],
      '/api/v1/learning-centers/{id}/resume': ['post'],
      '/api/v1/learning-centers/{id}/revert': ['post'],
      '/api/v1/learning-centers/{id}/label': ['put'],
      '/api/v1/learning-centers/{id}/history': ['get'],
      '/api/v1/feedback/music/{musicId}': ['post'],
      '/api/v1/feedback/artist': ['post'],
    })) {
      for (const method of methods) assert.ok(doc.paths[path]?.[method], `${method} ${path}`);
    }
  });
});

describe('learning centers and feedback with Temporal unreachable', { timeout: 120_000 }, () => {
  let orm: Orm;
  let base: string;
  let close: () => Promise<void>;

  before(async () => {
    // The real database, a closed port for Temporal.
    const config = loadConfig({ ...process.env, TEMPORAL_ADDRESS: '127.0.0.1:1', RATE_LIMIT_REQUESTS_PER_USER: '100000' });
    orm = await openOrm(config.database);
    const connection = Connection.lazy({ address: config.temporal.address });
    const logger = createLogger({ level: 'silent', name: 'test-centers-temporal-down' });
    const backend = createRateLimitBackend({ redisUrl: '', databaseUrl: config.database.url, logger });
    const app = createApp({ config, logger, orm, storage: createStorage(config.storage), temporal: new Client({ connection }), rateLimitBackend: backend });
    const server: Server = await new Promise((resolve) => {
      const s = app.koa.listen(0, '127.0.0.1', () => resolve(s));
    });
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    close = async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await Promise.allSettled([connection.close(), orm.close(), backend.close()]);
    };
  });
  after(async () => {
    await close?.();
  });

  const count = async (sql: string, params: unknown[]) => ((await orm.em.fork().getConnection().execute(sql, params)) as Array<{ n: number }>)[0]!.n;

  it('create and feedback answer 503 DEPENDENCY_UNAVAILABLE and keep nothing; GET answers the projection; changes answer 503', async () => {
    const session = await registerTenant(base);
    const artist = await call(base, 'POST', '/api/v1/artists', { token: session.access, body: { name: 'Offline' } });
    assert.equal(artist.status, 201, JSON.stringify(artist.body));
    const artistId = String(artist.body.id);

    const created = await call(base, 'POST', CENTERS, { token: session.access, body: { scope: `artist-${artistId}` } });
    assert.equal(created.status, 503, JSON.stringify(created.body));
    assert.equal((created.body.error as { code: string }).code, 'DEPENDENCY_UNAVAILABLE');
    assert.equal(created.headers.get('retry-after'), '5');
    assert.equal(await count('select count(*)::int as n from learning_centers where tenant_id = ?', [session.tenantId]), 0);

    const feedback = await call(base, 'POST', '/api/v1/feedback/artist', { token: session.access, body: { artist_id: artistId, text: 'more energy' } });
    assert.equal(feedback.status, 503, JSON.stringify(feedback.body));
    assert.equal((feedback.body.error as { code: string }).code, 'DEPENDENCY_UNAVAILABLE');
    assert.equal(await count('select count(*)::int as n from artist_feedback where tenant_id = ?', [session.tenantId]), 0);
    assert.equal(await count('select count(*)::int as n from learning_centers where tenant_id = ?', [session.tenantId]), 0);
    const musicId = await insertMusicRow(orm.em.fork(), session, artistId);
    const musicFeedback = await call(base, 'POST', `/api/v1/feedback/music/${musicId}`, { token: session.access, body: { text: 'more energy', rating: 3 } });
    assert.equal(musicFeedback.status, 503, JSON.stringify(musicFeedback.body));
    assert.equal(await count('select count(*)::int as n from music_feedback where tenant_id = ?', [session.tenantId]), 0);
    assert.equal(await count('select count(*)::int as n from learning_centers where tenant_id = ?', [session.tenantId]), 0);

    // A center whose row exists (its workflow unreachable): read from the projection; every change is 503.
    const id = randomUUID();
    const weights = JSON.stringify({ hook: 0.25, energy: 0.15, motion: 0.15, cuts_on_beats: 0.15, music_fit: 0.15, visual_variety: 0.15, frozen_penalty: 0.5 });
    await orm.em.fork().getConnection().execute(
      `insert into learning_centers (id, tenant_id, scope, scope_kind, artist_id, workflow_id, weights, baseline_weights, stable_version, stable_weights, revision)
       values (?, ?, ?, 'artist', ?, ?, ?, ?, 1, ?, 3)`,
      [id, session.tenantId, `artist-${artistId}`, artistId, learningCenterWorkflowId(session.tenantId, `artist-${artistId}`), weights, weights, weights],
    );
    const got = await call(base, 'GET', `${CENTERS}/${id}`, { token: session.access });
    assert.equal(got.status, 200, JSON.stringify(got.body));
    assert.equal(got.body.source, 'projection');
    assert.equal(got.body.version, 1);
    for (const [method, path, body] of [
      ['PUT', `${CENTERS}/${id}`, { weights: { energy: 0.3 }, reason: 'x' }],
      ['POST', `${CENTERS}/${id}/pause`, undefined],
    ] as const) {
      const res = await call(base, method, path, { token: session.access, ...(body ? { body } : {}) });
      assert.equal(res.status, 503, `${method} ${path}: ${JSON.stringify(res.body)}`);
      assert.equal((res.body.error as { code: string }).code, 'DEPENDENCY_UNAVAILABLE');
    }
    const again = await call(base, 'POST', '/api/v1/feedback/artist', { token: session.access, body: { artist_id: artistId, text: 'more energy' } });
    assert.equal(again.status, 503, JSON.stringify(again.body));
    assert.equal(await count('select count(*)::int as n from artist_feedback where tenant_id = ?', [session.tenantId]), 0);
    assert.equal(await count('select count(*)::int as n from learning_centers where tenant_id = ?', [session.tenantId]), 1);
  });
});
