/**
 * Learning centers feeding suggestions, on the real stack: music feedback "mais energia" goes
 * through the API, the lexicon and the music's and artist's center workflows into the projection,
 * and suggestClipsForJob (the activity, on a fixed video analysis) then ranks the loud, still
 * window above the moving, quiet one the baseline preferred, and records the center versions used.
 * An experimental version serves only experimental jobs; ordinary ones keep the last stable one.
 */
import '../support/quiet-runtime.ts';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { createSuggestClipsActivities } from '../../activities/analysis/suggest-clips-for-job.ts';
import type { Suggestion } from '../../lib/clips/contract.ts';
import { call, registerTenant, type Session } from '../support/accounts.ts';
import { createArtist, insertClipJobRow, insertMusicRow } from '../support/catalogue-rows.ts';
import { eventually, startTestStack, type TestStack } from '../support/stack.ts';
import { analysis } from '../support/video-analysis.ts';

type Body = Record<string, unknown>;

describe('learning centers in suggestions (real stack)', { timeout: 180_000 }, () => {
  let stack: TestStack;
  let alice: Session;
  let artistId: string;
  let musicId: string;
  let analysisId: string;

  before(async () => {
    stack = await startTestStack({ name: 'learning-suggestions', heavyWorker: false, env: { OPENAI_API_KEY: '' } });
    alice = await registerTenant(stack.baseUrl);
    artistId = await createArtist(stack.baseUrl, alice);
    musicId = await insertMusicRow(stack.orm.em.fork(), alice, artistId);
    // 30 s: the first half moves a lot and is quiet, the second is loud and still.
    const fixed = analysis({ durationMs: 30_000, motion: (s) => (s < 15 ? 0.8 : 0.1), energy: (s) => (s < 15 ? 0.1 : 0.7) });
    analysisId = randomUUID();
    await stack.orm.em.fork().getConnection().execute(
      'insert into video_analysis (id, tenant_id, sha256, analyzer_version, duration_ms, analysis) values (?, ?, ?, ?, ?, ?)',
      [analysisId, alice.tenantId, 'e'.repeat(64), fixed.analyzerVersion, fixed.durationMs, JSON.stringify(fixed)],
    );
  });
  after(async () => {
    await stack?.stop();
  });

  const api = (method: string, path: string, body?: unknown) => call(stack.baseUrl, method, path, { token: alice.access, ...(body === undefined ? {} : { body }) });

  /** Suggestions for a new job of the track, without music sync (the analysis has no beats to sync to). */
  async function suggest(experimental = false): Promise<Suggestion[]> {
    const clipJobId = await insertClipJobRow(stack.orm.em.fork(), alice, artistId, musicId, { experimental, minLengthMs: 10_000, maxLengthMs: 10_000 });
    const { suggestClipsForJob } = createSuggestClipsActivities({ orm: stack.orm, baselineWeights: stack.config.clips.baselineWeights });
    const out = await suggestClipsForJob({ tenantId: alice.tenantId, clipJobId, analysisId, music: null, minLengthMs: 10_000, maxLengthMs: 10_000 });
    const stored = (await stack.orm.em.fork().getConnection().execute('select weights_version from video_clip_models where clip_job_id = ? order by index', [clipJobId])) as Array<{ weights_version: unknown }>;
    assert.deepEqual(stored.map((r) => r.weights_version), out.map((s) => s.weightsVersion), 'each stored suggestion records the versions used');
    return out;
  }

  async function centerUntil(id: string, what: string, done: (c: Body) => boolean): Promise<Body> {
    return eventually(async () => {
      const res = await api('GET', `/api/v1/learning-centers/${id}`);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      return done(res.body) ? res.body : undefined;
    }, { timeoutMs: 60_000, what: `center ${id}: ${what}` });
  }

  it('"mais energia" on the track moves the best clip from the moving half to the loud half', async () => {
    const before = await suggest();
    assert.ok(before[0]!.endMs <= 15_000, `baseline best clip ${before[0]!.startMs}–${before[0]!.endMs} should be in the moving half`);
    assert.deepEqual(before[0]!.weightsVersion, { global: stack.config.clips.baselineWeights.version });

    const sent = await api('POST', `/api/v1/feedback/music/${musicId}`, { text: 'Ficou bom, mas quero mais energia', rating: 4 });
    assert.equal(sent.status, 202, JSON.stringify(sent.body));
    const centers = sent.body.centers as Array<{ scope: string; center_id: string; delivered: boolean }>;
    assert.deepEqual(centers.map((c) => [c.scope, c.delivered]), [[`music-${musicId}`, true], [`artist-${artistId}`, true]]);
    const music = await centerUntil(centers[0]!.center_id, 'feedback applied', (c) => c.feedback_applied === 1 && c.version === 2);
    const artist = await centerUntil(centers[1]!.center_id, 'feedback applied', (c) => c.feedback_applied === 1 && c.version === 2);
    assert.ok((music.weights as Record<string, number>).energy! > (music.baseline_weights as Record<string, number>).energy!);

    const after = await suggest();
    assert.ok(after[0]!.startMs >= 15_000, `after "mais energia" the best clip ${after[0]!.startMs}–${after[0]!.endMs} should be in the loud half`);
    assert.ok(after[0]!.subscores.energy > before[0]!.subscores.energy);
    assert.deepEqual(after[0]!.weightsVersion, {
      global: stack.config.clips.baselineWeights.version, artist: `center:${artist.id}@v2`, music: `center:${music.id}@v2`,
    });
  });

  it('an experimental version is used only by experimental jobs; ordinary jobs keep the last stable one', async () => {
    const listed = await api('GET', `/api/v1/learning-centers?scope=music-${musicId}`);
    assert.equal(listed.status, 200, JSON.stringify(listed.body));
    const music = (listed.body.items as Body[])[0]!;
    assert.equal((await api('PUT', `/api/v1/learning-centers/${music.id}/label`, { label: 'experimental' })).status, 200);
    const edited = await api('PUT', `/api/v1/learning-centers/${music.id}`, { weights: { energy: 0 }, reason: 'try a clip without the energy term' });
    assert.equal(edited.status, 200, JSON.stringify(edited.body));
    assert.equal(edited.body.version, 3);
    assert.equal(edited.body.stable_version, 2);

    const ordinary = await suggest(false);
    assert.equal(ordinary[0]!.weightsVersion.music, `center:${music.id}@v2`);
    assert.ok(ordinary[0]!.startMs >= 15_000, 'the stable version (more energy) still serves ordinary jobs');

    const trial = await suggest(true);
    assert.equal(trial[0]!.weightsVersion.music, `center:${music.id}@v3`);
    assert.ok(trial[0]!.endMs <= 15_000, `without the energy term the moving half wins again (${trial[0]!.startMs}–${trial[0]!.endMs})`);
  });
});
