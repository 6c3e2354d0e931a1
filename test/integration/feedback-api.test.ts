/**
 * Feedback on the real stack: POST /api/v1/feedback/music/{musicId} and /api/v1/feedback/artist
 * store the feedback and signal it to the centers of its scopes (music → the music's center and its
 * artist's; artist → the artist's), creating a missing center on its first feedback; the lexicon
 * ("more energy") moves the weights of every center it reaches; a paused center keeps the feedback
 * pending and applies it on resume; an archived center is not revived (`delivered: false`).
 * Bad input row by row: empty, blank or over-long text, ratings outside 1–5, variants, a clip job
 * of another tenant or another track, another tenant's music or artist (404). With an AI provider
 * configured the signal asks for the AI interpretation.
 */
import '../support/quiet-runtime.ts';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { FEEDBACK_TEXT_MAX, LEXICON_STEP, learningCenterWorkflowId } from '../../lib/learning/contract.ts';
import { call, createUser, registerTenant, type Session } from '../support/accounts.ts';
import { createArtist, insertClipJobRow, insertMusicRow } from '../support/catalogue-rows.ts';
import { eventually, startTestStack, type TestStack } from '../support/stack.ts';

type Body = Record<string, unknown>;
type Weights = Record<string, number>;
const CENTERS = '/api/v1/learning-centers';
const errorOf = (body: Body) => body.error as { code: string; message: string; details?: unknown };

function assertRejected(res: { status: number; body: Body }, status: number, code: string) {
  assert.equal(res.status, status, JSON.stringify(res.body));
  assert.equal(errorOf(res.body).code, code, JSON.stringify(res.body));
}

describe('feedback API on the real stack (lexicon)', { timeout: 300_000 }, () => {
  let stack: TestStack;
  let base: string;
  let alice: Session;
  let viewer: Session;
  let bob: Session;
  let baseline: Weights;

  before(async () => {
    stack = await startTestStack({ name: 'feedback-api', heavyWorker: false, env: { OPENAI_API_KEY: '', RATE_LIMIT_REQUESTS_PER_USER: '100000' } });
    base = stack.baseUrl;
    baseline = { ...stack.config.clips.baselineWeights.weights };
    alice = await registerTenant(base);
    bob = await registerTenant(base);
    viewer = await createUser(base, alice, 'viewer');
  });
  after(async () => {
    await stack?.stop();
  });

  const em = () => stack.orm.em.fork();
  const api = (method: string, path: string, token: string, body?: unknown) => call(base, method, path, { token, ...(body === undefined ? {} : { body }) });
  const musicFeedback = (musicId: string, body: unknown, session = alice) => api('POST', `/api/v1/feedback/music/${musicId}`, session.access, body);
  const artistFeedback = (body: unknown, session = alice) => api('POST', '/api/v1/feedback/artist', session.access, body);

  async function track(session = alice): Promise<{ artistId: string; musicId: string }> {
    const artistId = await createArtist(base, session);
    return { artistId, musicId: await insertMusicRow(em(), session, artistId) };
  }

  async function center(id: string, session = alice): Promise<Body> {
    const res = await api('GET', `${CENTERS}/${id}`, session.access);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body;
  }

  /** Polls the center until `done` holds. */
  async function until(id: string, what: string, done: (c: Body) => boolean, timeoutMs = 60_000): Promise<Body> {
    return eventually(async () => {
      const c = await center(id);
      return done(c) ? c : undefined;
    }, { timeoutMs, what: `center ${id}: ${what}` });
  }

  const centerOf = (body: Body, scope: string) => {
    const found = (body.centers as Body[]).find((c) => c.scope === scope);
    assert.ok(found, `no center ${scope} in ${JSON.stringify(body)}`);
    return found;
  };

  async function feedbackRow(kind: 'music' | 'artist', id: string): Promise<Record<string, unknown> | undefined> {
    const rows = (await em().getConnection().execute(`select * from ${kind}_feedback where id = ?`, [id])) as Array<Record<string, unknown>>;
    return rows[0];
  }

  // -------------------------------------------------------------------------------------------

  it('music feedback creates the music and artist centers on first use; "more energy" (lexicon) raises energy in both', async () => {
    const { artistId, musicId } = await track();
    const clipJobId = await insertClipJobRow(em(), alice, artistId, musicId);
    const res = await musicFeedback(musicId, { text: '  More energy, please!  ', rating: 4, clip_job_id: clipJobId, variant: 1 });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    assert.equal(res.body.kind, 'music');
    assert.equal(res.body.music_id, musicId);
    assert.equal(res.body.artist_id, artistId);
    assert.equal(res.body.interpret_with, 'lexicon');
    assert.deepEqual((res.body.centers as Body[]).map((c) => [c.scope, c.delivered, c.created]), [[`music-${musicId}`, true, true], [`artist-${artistId}`, true, true]]);

    const row = await feedbackRow('music', String(res.body.id));
    assert.ok(row);
    assert.equal(row.text, 'More energy, please!');
    assert.equal(row.rating, 4);
    assert.equal(row.clip_job_id, clipJobId);
    assert.equal(row.variant, 1);
    assert.equal(row.music_id, musicId);
    assert.equal(row.artist_id, artistId);
    assert.equal(row.created_by, alice.userId);

    for (const c of res.body.centers as Body[]) {
      const got = await until(String(c.center_id), 'feedback applied', (x) => x.feedback_applied === 1 && x.version === 2);
      assert.equal(got.created_by, null);
      assert.equal(got.label, 'stable');
      assert.equal(got.status, 'active');
      assert.equal(got.feedback_pending, 0);
      const weights = got.weights as Weights;
      assert.ok(Math.abs(weights.energy! - (baseline.energy! + LEXICON_STEP)) < 1e-9, JSON.stringify(weights));
      for (const key of Object.keys(baseline).filter((k) => k !== 'energy')) assert.equal(weights[key], baseline[key], key);
      const history = await api('GET', `${CENTERS}/${c.center_id}/history`, alice.access);
      const [v2, v1] = history.body.items as Body[];
      assert.equal(v2!.source, 'feedback');
      assert.equal(v2!.author, `feedback:${res.body.id}`);
      assert.equal(v1!.source, 'baseline');
      assert.equal(v1!.author, 'system');
    }
    const events = (await em().getConnection().execute(
      'select center_id, version_before, version_after, source from ai_learning_events where feedback_id = ? order by center_id', [res.body.id],
    )) as Array<Record<string, unknown>>;
    assert.equal(events.length, 2);
    for (const e of events) assert.deepEqual([e.version_before, e.version_after, e.source], [1, 2, 'lexicon']);

    // The next feedback reaches the same centers (not created again).
    const second = await musicFeedback(musicId, { text: 'more energy' });
    assert.equal(second.status, 202, JSON.stringify(second.body));
    assert.deepEqual((second.body.centers as Body[]).map((c) => [c.center_id, c.delivered, c.created]), (res.body.centers as Body[]).map((c) => [c.center_id, true, false]));
    const music = await until(String(centerOf(second.body, `music-${musicId}`).center_id), 'second feedback applied', (x) => x.feedback_applied === 2 && x.version === 3);
    assert.ok(Math.abs((music.weights as Weights).energy! - (baseline.energy! + 2 * LEXICON_STEP)) < 1e-9, JSON.stringify(music.weights));
  });

  it('artist feedback reaches the artist center only (created on first feedback); any role may give feedback', async () => {
    const { artistId, musicId } = await track();
    const res = await artistFeedback({ artist_id: artistId, text: 'more energy', rating: 5 }, viewer);
    assert.equal(res.status, 202, JSON.stringify(res.body));
    assert.equal(res.body.kind, 'artist');
    assert.equal(res.body.music_id, null);
    assert.deepEqual((res.body.centers as Body[]).map((c) => [c.scope, c.delivered, c.created]), [[`artist-${artistId}`, true, true]]);
    const row = await feedbackRow('artist', String(res.body.id));
    assert.equal(row?.rating, 5);
    assert.equal(row?.created_by, viewer.userId);
    await until(String((res.body.centers as Body[])[0]!.center_id), 'applied', (x) => x.feedback_applied === 1 && x.version === 2);
    const list = await api('GET', `${CENTERS}?scope=music-${musicId}`, alice.access);
    assert.deepEqual(list.body.items, []);
  });

  it('a center that already exists (created through the API) gets the feedback, and the workflow received interpretWith lexicon', async () => {
    const { artistId } = await track();
    const created = await api('POST', CENTERS, alice.access, { scope: `artist-${artistId}`, label: 'experimental' });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const res = await artistFeedback({ artist_id: artistId, text: 'more energy' });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    assert.deepEqual((res.body.centers as Body[]).map((c) => [c.center_id, c.delivered, c.created]), [[created.body.id, true, false]]);
    const applied = await until(String(created.body.id), 'applied', (x) => x.feedback_applied === 1);
    assert.equal(applied.label, 'experimental');
    const history = await stack.temporal.workflow.getHandle(learningCenterWorkflowId(alice.tenantId, `artist-${artistId}`)).fetchHistory();
    const signals = (history.events ?? []).filter((e) => e.workflowExecutionSignaledEventAttributes?.signalName === 'feedback');
    assert.equal(signals.length, 1);
    const payload = signals[0]!.workflowExecutionSignaledEventAttributes!.input!.payloads![0]!;
    const event = JSON.parse(Buffer.from(payload.data!).toString('utf8')) as Record<string, unknown>;
    assert.equal(event.feedbackId, res.body.id);
    assert.equal(event.interpretWith, 'lexicon');
    assert.equal(event.authorId, alice.userId);
    assert.equal(event.tenantId, alice.tenantId);
  });

  it('pause: feedback stays pending (nothing applied); resume: it is applied', async () => {
    const { artistId, musicId } = await track();
    const first = await musicFeedback(musicId, { text: 'more energy' });
    assert.equal(first.status, 202, JSON.stringify(first.body));
    const musicCenter = String(centerOf(first.body, `music-${musicId}`).center_id);
    const applied = await until(musicCenter, 'first applied', (x) => x.feedback_applied === 1 && x.version === 2);

    const paused = await api('POST', `${CENTERS}/${musicCenter}/pause`, alice.access);
    assert.equal(paused.status, 200, JSON.stringify(paused.body));
    const second = await musicFeedback(musicId, { text: 'more energy' });
    assert.equal(second.status, 202, JSON.stringify(second.body));
    assert.ok((second.body.centers as Body[]).every((c) => c.delivered === true));
    const pending = await until(musicCenter, 'pending', (x) => x.feedback_pending === 1);
    // The artist's center is active: it applies the same feedback meanwhile.
    await until(String(centerOf(second.body, `artist-${artistId}`).center_id), 'artist applied both', (x) => x.feedback_applied === 2 && x.version === 3);
    await new Promise((r) => setTimeout(r, 1_500));
    const still = await center(musicCenter);
    assert.equal(still.status, 'paused');
    assert.equal(still.feedback_pending, 1);
    assert.equal(still.feedback_applied, 1);
    assert.equal(still.version, applied.version);
    assert.deepEqual(still.weights, applied.weights);
    assert.equal(pending.version, 2);

    const resumed = await api('POST', `${CENTERS}/${musicCenter}/resume`, alice.access);
    assert.equal(resumed.status, 200, JSON.stringify(resumed.body));
    const after = await until(musicCenter, 'applied on resume', (x) => x.feedback_applied === 2 && x.feedback_pending === 0 && x.version === 3);
    assert.ok(Math.abs((after.weights as Weights).energy! - (baseline.energy! + 2 * LEXICON_STEP)) < 1e-9);
  });

  it('an archived center is not revived by feedback: delivered false there, the other center gets it, no new center', async () => {
    const { artistId, musicId } = await track();
    const first = await musicFeedback(musicId, { text: 'more energy' });
    assert.equal(first.status, 202, JSON.stringify(first.body));
    const artistCenter = String(centerOf(first.body, `artist-${artistId}`).center_id);
    await until(artistCenter, 'applied', (x) => x.feedback_applied === 1);
    const archived = await api('DELETE', `${CENTERS}/${artistCenter}`, alice.access);
    assert.equal(archived.status, 200, JSON.stringify(archived.body));

    const res = await musicFeedback(musicId, { text: 'more energy' });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    assert.deepEqual(centerOf(res.body, `artist-${artistId}`), { scope: `artist-${artistId}`, center_id: artistCenter, delivered: false, created: false, reason: 'archived' });
    assert.equal(centerOf(res.body, `music-${musicId}`).delivered, true);
    const onlyArtist = await artistFeedback({ artist_id: artistId, text: 'more energy' });
    assert.equal(onlyArtist.status, 202, JSON.stringify(onlyArtist.body));
    assert.deepEqual((onlyArtist.body.centers as Body[]).map((c) => [c.center_id, c.delivered, c.reason]), [[artistCenter, false, 'archived']]);
    assert.ok(await feedbackRow('artist', String(onlyArtist.body.id)), 'the feedback is stored anyway');

    const live = await api('GET', `${CENTERS}?scope=artist-${artistId}`, alice.access);
    assert.deepEqual((live.body.items as Body[]).map((c) => [c.id, c.status]), [[artistCenter, 'archived']]);
    const got = await center(artistCenter);
    assert.equal(got.feedback_applied, 1);
    const description = await stack.temporal.workflow.getHandle(learningCenterWorkflowId(alice.tenantId, `artist-${artistId}`)).describe();
    assert.equal(description.status.name, 'COMPLETED');
  });

  // -------------------------------------------------------------------------------------------
  // Bad input

  it('feedback text empty: 422 and nothing stored', async () => {
    const { artistId, musicId } = await track();
    assertRejected(await musicFeedback(musicId, { text: '' }), 422, 'VALIDATION_FAILED');
    assertRejected(await artistFeedback({ artist_id: artistId, text: '' }), 422, 'VALIDATION_FAILED');
    assertRejected(await musicFeedback(musicId, {}), 422, 'VALIDATION_FAILED');
    assertRejected(await musicFeedback(musicId, { text: 42 }), 422, 'VALIDATION_FAILED');
    await assertNothingStored(musicId, artistId);
  });

  it('feedback text only whitespace: 422 and nothing stored', async () => {
    const { artistId, musicId } = await track();
    assertRejected(await musicFeedback(musicId, { text: ' \n\t  ' }), 422, 'VALIDATION_FAILED');
    assertRejected(await artistFeedback({ artist_id: artistId, text: '   ' }), 422, 'VALIDATION_FAILED');
    await assertNothingStored(musicId, artistId);
  });

  it(`feedback text over ${FEEDBACK_TEXT_MAX} characters: 422 and nothing stored; exactly ${FEEDBACK_TEXT_MAX} (also in emoji) is accepted`, async () => {
    const { artistId, musicId } = await track();
    const res = await musicFeedback(musicId, { text: 'a'.repeat(FEEDBACK_TEXT_MAX + 1) });
    assertRejected(res, 422, 'VALIDATION_FAILED');
    assert.match(JSON.stringify(errorOf(res.body).details), /5000/);
    assertRejected(await artistFeedback({ artist_id: artistId, text: '🎵'.repeat(FEEDBACK_TEXT_MAX + 1) }), 422, 'VALIDATION_FAILED');
    await assertNothingStored(musicId, artistId);
    const ok = await artistFeedback({ artist_id: artistId, text: '🎵'.repeat(FEEDBACK_TEXT_MAX) });
    assert.equal(ok.status, 202, JSON.stringify(ok.body));
    const okMusic = await musicFeedback(musicId, { text: `  ${'a'.repeat(FEEDBACK_TEXT_MAX)}  ` });
    assert.equal(okMusic.status, 202, JSON.stringify(okMusic.body));
  });

  it('rating outside 1–5 (or not an integer): 422 and nothing stored; 1 and 5 are accepted', async () => {
    const { artistId, musicId } = await track();
    for (const rating of [0, 6, -1, 3.5, '3', true]) {
      assertRejected(await musicFeedback(musicId, { text: 'ok', rating }), 422, 'VALIDATION_FAILED');
      assertRejected(await artistFeedback({ artist_id: artistId, text: 'ok', rating }), 422, 'VALIDATION_FAILED');
    }
    await assertNothingStored(musicId, artistId);
    assert.equal((await musicFeedback(musicId, { text: 'ok', rating: 1 })).status, 202);
    assert.equal((await artistFeedback({ artist_id: artistId, text: 'ok', rating: 5 })).status, 202);
  });

  it('variant not an integer ≥ 0, or without its clip_job_id; unknown fields: 422', async () => {
    const { artistId, musicId } = await track();
    const clipJobId = await insertClipJobRow(em(), alice, artistId, musicId);
    for (const variant of [-1, 1.5, '1']) assertRejected(await musicFeedback(musicId, { text: 'ok', clip_job_id: clipJobId, variant }), 422, 'VALIDATION_FAILED');
    assertRejected(await musicFeedback(musicId, { text: 'ok', variant: 0 }), 422, 'VALIDATION_FAILED');
    assertRejected(await musicFeedback(musicId, { text: 'ok', clip_job_id: 'not-a-uuid' }), 422, 'VALIDATION_FAILED');
    assertRejected(await musicFeedback(musicId, { text: 'ok', weights: { energy: 1 } }), 422, 'VALIDATION_FAILED');
    assertRejected(await artistFeedback({ artist_id: artistId, text: 'ok', music_id: musicId }), 422, 'VALIDATION_FAILED');
    assertRejected(await artistFeedback({ artist_id: 'nope', text: 'ok' }), 422, 'VALIDATION_FAILED');
    await assertNothingStored(musicId, artistId);
    assert.equal((await musicFeedback(musicId, { text: 'ok', clip_job_id: clipJobId, variant: 0 })).status, 202);
  });

  it("a clip job of another tenant, of another track, or unknown: 404 and nothing stored", async () => {
    const { artistId, musicId } = await track();
    const otherMusic = await insertMusicRow(em(), alice, artistId);
    const otherTrackJob = await insertClipJobRow(em(), alice, artistId, otherMusic);
    const noTrackJob = await insertClipJobRow(em(), alice, artistId, null);
    const bobTrack = await track(bob);
    const bobJob = await insertClipJobRow(em(), bob, bobTrack.artistId, bobTrack.musicId);
    for (const clipJobId of [otherTrackJob, noTrackJob, bobJob, randomUUID()]) {
      assertRejected(await musicFeedback(musicId, { text: 'ok', clip_job_id: clipJobId }), 404, 'NOT_FOUND');
    }
    await assertNothingStored(musicId, artistId);
  });

  it("another tenant's music or artist (or one that does not exist, or deleted): 404 and nothing stored", async () => {
    const bobTrack = await track(bob);
    assertRejected(await musicFeedback(bobTrack.musicId, { text: 'more energy' }), 404, 'NOT_FOUND');
    assertRejected(await artistFeedback({ artist_id: bobTrack.artistId, text: 'more energy' }), 404, 'NOT_FOUND');
    assertRejected(await musicFeedback(randomUUID(), { text: 'more energy' }), 404, 'NOT_FOUND');
    assertRejected(await musicFeedback('not-a-uuid', { text: 'more energy' }), 404, 'NOT_FOUND');
    assertRejected(await artistFeedback({ artist_id: randomUUID(), text: 'more energy' }), 404, 'NOT_FOUND');
    await assertNothingStored(bobTrack.musicId, bobTrack.artistId);
    const mine = await track();
    assert.equal((await api('DELETE', `/api/v1/artists/${mine.artistId}`, alice.access)).status, 204);
    assertRejected(await artistFeedback({ artist_id: mine.artistId, text: 'more energy' }), 404, 'NOT_FOUND');
    const centers = (await em().getConnection().execute('select count(*)::int as n from learning_centers where tenant_id = ?', [bob.tenantId])) as Array<{ n: number }>;
    assert.equal(centers[0]!.n, 0);
    assertRejected(await call(base, 'POST', '/api/v1/feedback/artist', { body: { artist_id: mine.artistId, text: 'x' } }), 401, 'UNAUTHENTICATED');
  });

  async function assertNothingStored(musicId: string, artistId: string) {
    const count = async (sql: string, params: unknown[]) => ((await em().getConnection().execute(sql, params)) as Array<{ n: number }>)[0]!.n;
    assert.equal(await count('select count(*)::int as n from music_feedback where music_id = ?', [musicId]), 0);
    assert.equal(await count('select count(*)::int as n from artist_feedback where artist_id = ?', [artistId]), 0);
    assert.equal(await count('select count(*)::int as n from learning_centers where scope in (?, ?)', [`music-${musicId}`, `artist-${artistId}`]), 0);
  }
});

describe('feedback API with an AI provider configured', { timeout: 120_000 }, () => {
  let stack: TestStack;

  before(async () => {
    stack = await startTestStack({
      name: 'feedback-api-ai',
      heavyWorker: false,
      // Nothing polls this AI queue: the interpretation waits, which is all this test needs.
      env: { OPENAI_API_KEY: 'sk-test-feedback', OPENAI_BASE_URL: 'http://127.0.0.1:9/v1', AI_TASK_QUEUE: `moviola-test-feedback-ai-${process.pid}`, RATE_LIMIT_REQUESTS_PER_USER: '100000' },
    });
  });
  after(async () => {
    await stack?.stop();
  });

  it('the feedback is signalled with interpretWith ai (and stays pending until the AI queue answers)', async () => {
    const base = stack.baseUrl;
    const session = await registerTenant(base);
    const artistId = await createArtist(base, session);
    const res = await call(base, 'POST', '/api/v1/feedback/artist', { token: session.access, body: { artist_id: artistId, text: 'more energy' } });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    assert.equal(res.body.interpret_with, 'ai');
    const centerId = String((res.body.centers as Body[])[0]!.center_id);
    const pending = await eventually(async () => {
      const c = await call(base, 'GET', `${CENTERS}/${centerId}`, { token: session.access });
      return c.body.source === 'workflow' && c.body.feedback_pending === 1 ? c.body : undefined;
    }, { what: 'feedback pending' });
    assert.equal(pending.feedback_applied, 0);
    const history = await stack.temporal.workflow.getHandle(learningCenterWorkflowId(session.tenantId, `artist-${artistId}`)).fetchHistory();
    const signal = (history.events ?? []).find((e) => e.workflowExecutionSignaledEventAttributes?.signalName === 'feedback');
    const event = JSON.parse(Buffer.from(signal!.workflowExecutionSignaledEventAttributes!.input!.payloads![0]!.data!).toString('utf8')) as Record<string, unknown>;
    assert.equal(event.interpretWith, 'ai');
    await stack.temporal.workflow.getHandle(learningCenterWorkflowId(session.tenantId, `artist-${artistId}`)).terminate('test done');
  });
});
