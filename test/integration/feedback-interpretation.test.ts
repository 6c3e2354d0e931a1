/**
 * Feedback interpretation (issue 9) on the real stack: interpretFeedbackWithAi through the real
 * `openai` client against a local OpenAI-compatible server (test/support/fake-openai.ts, chat
 * completions with structured output), with real PostgreSQL — the interpretation stored once on the
 * feedback row and shared, the ai_usage row of every answered call, the failure types Temporal sees;
 * interpretFeedbackWithLexicon; confirmMusicGenre growing a genre profile once per feedback.
 */
import '../support/quiet-runtime.ts';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { after, afterEach, before, describe, it } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { createInterpretFeedbackActivities } from '../../activities/learning/interpret-feedback.ts';
import { AiUsage, type IAiUsage } from '../../entities/index.ts';
import { ANALYZER_VERSION } from '../../lib/audio/analysis.ts';
import { loadConfig, type AiConfig } from '../../lib/config.ts';
import type { FeedbackInterpretation, FeedbackRef } from '../../lib/learning/contract.ts';
import { FEEDBACK_SCHEMA_NAME } from '../../lib/learning/ai-interpretation.ts';
import { createLogger } from '../../lib/logger.ts';
import { call, registerTenant, type Session } from '../support/accounts.ts';
import { chatCompletion, startFakeOpenAi, type FakeOpenAi } from '../support/fake-openai.ts';
import { startTestStack, type TestStack } from '../support/stack.ts';

const KEY = 'sk-test-moviola-feedback';
const logger = createLogger({ level: process.env.LOG_LEVEL ?? 'silent', name: 'test-feedback' });
/** The mock activity environment logs every failed activity at WARN; these tests fail them on purpose. */
const quiet = new DefaultLogger('ERROR');
/** Genres made by this file (random letters: a new profile each run), removed at the end. */
const genres: string[] = [];
const newGenre = () => {
  const g = `zzfeedback${[...randomBytes(6)].map((b) => String.fromCharCode(97 + (b % 26))).join('')}`;
  genres.push(g);
  return g;
};
/** A feature vector far from every real track's (unit-norm) embedding, so the test profile never wins an inference. */
const vector = (base: number) => Array.from({ length: 50 }, (_, i) => base + i);

describe('feedback interpretation', () => {
  let stack: TestStack;
  let fake: FakeOpenAi;
  let admin: Session;
  let artistId: string;

  before(async () => {
    stack = await startTestStack({ name: 'feedback-interpretation', heavyWorker: false, env: { RATE_LIMIT_REQUESTS_PER_USER: '100000' } });
    fake = await startFakeOpenAi({ expectedKey: KEY });
    admin = await registerTenant(stack.baseUrl);
    const artist = await call(stack.baseUrl, 'POST', '/api/v1/artists', { token: admin.access, body: { name: 'Cantora' } });
    assert.equal(artist.status, 201, JSON.stringify(artist.body));
    artistId = String(artist.body.id);
  });
  after(async () => {
    if (stack && genres.length > 0) {
      await stack.orm.em.getConnection().execute(`delete from global_genre_profiles where genre in (${genres.map(() => '?').join(', ')})`, genres);
    }
    await fake?.close();
    await stack?.stop();
  });
  afterEach(() => fake.reset());

  function aiConfig(env: Record<string, string> = {}): AiConfig {
    return loadConfig({
      ...process.env, OPENAI_API_KEY: KEY, OPENAI_BASE_URL: fake.baseUrl, OPENAI_TIMEOUT_MS: '10000', OPENAI_FEEDBACK_MODEL: 'gpt-4o-mini',
      OPENAI_FEEDBACK_USD_PER_1K_INPUT_TOKENS: '0.15', OPENAI_FEEDBACK_USD_PER_1K_OUTPUT_TOKENS: '0.6', ...env,
    }).ai;
  }
  const activities = (ai: AiConfig = aiConfig()) => createInterpretFeedbackActivities({ orm: stack.orm, ai, logger });
  const withAi = (ref: FeedbackRef, ai: AiConfig = aiConfig(), attempt = 1): Promise<FeedbackInterpretation> =>
    new MockActivityEnvironment({ attempt }, { logger: quiet }).run(activities(ai).interpretFeedbackWithAi, ref);

  const sql = <T>(query: string, params: unknown[] = []) => stack.orm.em.fork().getConnection().execute(query, params) as Promise<T[]>;

  /** A music row; with `embedding`, an analysis (of ANALYZER_VERSION) holding it. */
  async function insertMusic(options: { embedding?: number[]; declaredGenre?: string | null; silent?: boolean } = {}): Promise<string> {
    const id = randomUUID();
    const sha = randomBytes(32).toString('hex');
    let analysisId: string | null = null;
    if (options.embedding) {
      analysisId = randomUUID();
      await sql(
        `insert into music_analysis (id, tenant_id, sha256, analyzer_version, duration_ms, sample_rate, loudness_lufs, features)
         values (?, ?, ?, ?, 30000, 22050, ?, '{}'::jsonb)`,
        [analysisId, admin.tenantId, sha, ANALYZER_VERSION, options.silent ? null : -14],
      );
      await sql('insert into music_embeddings (analysis_id, tenant_id, dimensions, embedding) values (?, ?, ?, ?::double precision[])',
        [analysisId, admin.tenantId, options.embedding.length, `{${options.embedding.join(',')}}`]);
    }
    await sql(
      `insert into music_assets (id, tenant_id, artist_id, title, declared_genre, original_filename, size_bytes, sha256, storage_key, duration_ms, status, analysis_id, created_by)
       values (?, ?, ?, 'Faixa', ?, 'faixa.wav', 1000, ?, ?, 30000, ?, ?, ?)`,
      [id, admin.tenantId, artistId, options.declaredGenre ?? null, sha, `${admin.tenantId}/music/${id}/faixa.wav`, analysisId ? 'done' : 'queued', analysisId, admin.userId],
    );
    return id;
  }

  async function musicFeedback(text: string, musicId?: string, rating: number | null = 3): Promise<FeedbackRef & { musicId: string }> {
    const music = musicId ?? await insertMusic();
    const id = randomUUID();
    await sql('insert into music_feedback (id, tenant_id, music_id, artist_id, rating, text, created_by) values (?, ?, ?, ?, ?, ?, ?)',
      [id, admin.tenantId, music, artistId, rating, text, admin.userId]);
    return { tenantId: admin.tenantId, kind: 'music', feedbackId: id, musicId: music };
  }

  async function artistFeedback(text: string): Promise<FeedbackRef> {
    const id = randomUUID();
    await sql('insert into artist_feedback (id, tenant_id, artist_id, rating, text, created_by) values (?, ?, ?, null, ?, ?)',
      [id, admin.tenantId, artistId, text, admin.userId]);
    return { tenantId: admin.tenantId, kind: 'artist', feedbackId: id };
  }

  async function stored(ref: FeedbackRef): Promise<Record<string, unknown> | null> {
    const rows = await sql<{ interpretation: Record<string, unknown> | null }>(`select interpretation from ${ref.kind}_feedback where id = ?`, [ref.feedbackId]);
    return rows[0]!.interpretation;
  }

  const usageOf = (musicId: string): Promise<IAiUsage[]> => stack.orm.em.fork().find(AiUsage, { musicId }, { orderBy: { createdAt: 'asc', id: 'asc' } });

  async function failure(promise: Promise<unknown>): Promise<ApplicationFailure> {
    try {
      await promise;
    } catch (err) {
      assert.ok(err instanceof ApplicationFailure, `expected an ApplicationFailure, got ${String(err)}`);
      return err;
    }
    assert.fail('expected the activity to fail');
  }

  const structured = (value: unknown, usage?: { prompt_tokens: number; completion_tokens: number }) => ({ kind: 'ok' as const, body: chatCompletion(JSON.stringify(value), usage) });

  it('AI: a structured answer is validated, stored on the row and recorded in ai_usage with its tokens; a second call reuses it', async () => {
    const ref = await musicFeedback('Não quero mais energia, e corte antes. É um samba!', undefined, 2);
    fake.script(structured({
      deltas: [
        { subscore: 'energy', delta: -0.05, reason: '"não quero mais energia"' },
        { subscore: 'hook', delta: 0.3, reason: '"corte antes"' },
        { subscore: 'hook', delta: 0.02, reason: 'again' },
      ],
      confirmed_genre: 'Samba',
      summary: 'Less energy, an earlier start; the track is a samba.',
    }, { prompt_tokens: 412, completion_tokens: 63 }));

    const expected: FeedbackInterpretation = {
      source: 'ai',
      deltas: [
        { subscore: 'hook', delta: 0.1, reason: '"corte antes"; again' },
        { subscore: 'energy', delta: -0.05, reason: '"não quero mais energia"' },
      ],
      confirmedGenre: 'samba',
      summary: 'Less energy, an earlier start; the track is a samba.',
    };
    assert.deepEqual(await withAi(ref), expected);
    assert.deepEqual(await stored(ref), expected);

    // The request: the configured model and key, strict json_schema structured output, the text as data.
    assert.equal(fake.requests.length, 1);
    const request = fake.requests[0]!;
    assert.equal(request.path, '/v1/chat/completions');
    assert.equal(request.headers.authorization, `Bearer ${KEY}`);
    const body = request.json as { model: string; messages: Array<{ role: string; content: string }>; response_format: { type: string; json_schema: { name: string; strict: boolean; schema: { properties: Record<string, unknown> } } } };
    assert.equal(body.model, 'gpt-4o-mini');
    assert.equal(body.response_format.type, 'json_schema');
    assert.equal(body.response_format.json_schema.name, FEEDBACK_SCHEMA_NAME);
    assert.equal(body.response_format.json_schema.strict, true);
    assert.deepEqual(Object.keys(body.response_format.json_schema.schema.properties).sort(), ['confirmed_genre', 'deltas', 'summary']);
    assert.match(body.messages.at(-1)!.content, /Rating: 2\/5[\s\S]*Não quero mais energia, e corte antes\. É um samba!/);

    const usage = await usageOf(ref.musicId);
    assert.equal(usage.length, 1);
    const row = usage[0]!;
    assert.deepEqual(
      [row.tenantId, row.userId, row.operation, row.model, row.status, row.httpStatus, row.inputTokens, row.outputTokens, row.requestId],
      [admin.tenantId, admin.userId, 'interpret-feedback', 'gpt-4o-mini', 'ok', 200, 412, 63, request.requestId],
    );
    assert.ok(row.provider.startsWith('openai-compatible:127.0.0.1'));
    assert.equal(Number(row.costUsd), Math.round((0.412 * 0.15 + 0.063 * 0.6) * 1e6) / 1e6);

    // Stored: the next call — another center, a retry, even the lexicon activity — gets the same one, with no provider call.
    assert.deepEqual(await withAi(ref), expected);
    assert.deepEqual(await activities().interpretFeedbackWithLexicon(ref), expected);
    assert.deepEqual(await withAi(ref, aiConfig({ OPENAI_API_KEY: '' })), expected, 'a stored interpretation needs no provider');
    assert.equal(fake.requests.length, 1);
    assert.equal((await usageOf(ref.musicId)).length, 1);
  });

  it('AI: artist feedback is recorded without a music', async () => {
    const ref = await artistFeedback('more motion please');
    fake.script(structured({ deltas: [{ subscore: 'motion', delta: 0.05, reason: '"more motion"' }], confirmed_genre: null, summary: 'More motion.' }));
    const before = await sql<{ n: string }>("select count(*) as n from ai_usage where tenant_id = ? and operation = 'interpret-feedback' and music_id is null", [admin.tenantId]);
    const result = await withAi(ref);
    assert.deepEqual(result.deltas, [{ subscore: 'motion', delta: 0.05, reason: '"more motion"' }]);
    assert.match(String((fake.requests[0]!.json as { messages: Array<{ content: string }> }).messages[1]!.content), /about an artist/);
    const afterRows = await sql<{ n: string }>("select count(*) as n from ai_usage where tenant_id = ? and operation = 'interpret-feedback' and music_id is null", [admin.tenantId]);
    assert.equal(Number(afterRows[0]!.n), Number(before[0]!.n) + 1);
  });

  it('AI: a refused key (401) is PROVIDER_AUTH, not retried; the call is recorded; nothing is stored', async () => {
    const ref = await musicFeedback('mais energia');
    const err = await failure(withAi(ref, aiConfig({ OPENAI_API_KEY: 'sk-wrong' })));
    assert.equal(err.type, 'PROVIDER_AUTH');
    assert.equal(err.nonRetryable, true);
    assert.equal(fake.requests[0]!.answered, 'unauthorized');
    assert.equal(await stored(ref), null);
    const usage = await usageOf(ref.musicId);
    assert.deepEqual(usage.map((u) => [u.status, u.httpStatus, Number(u.costUsd)]), [['error', 401, 0]]);
    assert.match(String(usage[0]!.error), /^PROVIDER_AUTH: /);
  });

  it('AI: invalid JSON, or an answer that breaks the schema, is INVALID_RESPONSE, not retried; the call is recorded', async () => {
    const broken = await musicFeedback('mais energia');
    fake.script({ kind: 'invalid-json' });
    const err = await failure(withAi(broken));
    assert.equal(err.type, 'INVALID_RESPONSE');
    assert.equal(err.nonRetryable, true);
    assert.equal(await stored(broken), null);
    assert.deepEqual((await usageOf(broken.musicId)).map((u) => [u.status, u.httpStatus]), [['error', 200]]);

    const unknown = await musicFeedback('mais energia');
    fake.script(structured({ deltas: [{ subscore: 'loudness', delta: 0.05, reason: 'r' }], confirmed_genre: null, summary: 's' }, { prompt_tokens: 100, completion_tokens: 20 }));
    const err2 = await failure(withAi(unknown, aiConfig(), 2));
    assert.equal(err2.type, 'INVALID_RESPONSE');
    assert.equal(err2.nonRetryable, true);
    assert.match(err2.message, /unknown sub-score "loudness"/);
    const usage = await usageOf(unknown.musicId);
    assert.deepEqual(usage.map((u) => [u.status, u.httpStatus, u.inputTokens, u.outputTokens]), [['error', 200, 100, 20]], 'the tokens were used all the same');
    assert.ok(Number(usage[0]!.costUsd) > 0);

    const content = await musicFeedback('mais energia');
    fake.script({ kind: 'ok', body: chatCompletion('this is not JSON') });
    assert.equal((await failure(withAi(content))).type, 'INVALID_RESPONSE');
  });

  it('AI: a rate limit is retryable after Retry-After (nextRetryDelay); a 500 retryable', async () => {
    const ref = await musicFeedback('mais energia');
    fake.script(
      { kind: 'status', status: 429, headers: { 'retry-after': '2' }, body: { error: { message: 'slow down', type: 'rate_limit' } } },
      { kind: 'status', status: 500 },
    );
    const limited = await failure(withAi(ref));
    assert.equal(limited.type, 'PROVIDER_RATE_LIMITED');
    assert.equal(limited.nonRetryable, false);
    assert.equal(limited.nextRetryDelay, 2000);
    const failed = await failure(withAi(ref, aiConfig(), 2));
    assert.equal(failed.type, 'PROVIDER_ERROR');
    assert.equal(failed.nonRetryable, false);
    fake.script(structured({ deltas: [{ subscore: 'energy', delta: 0.05, reason: '"mais energia"' }], confirmed_genre: null, summary: 'More energy.' }));
    assert.equal((await withAi(ref, aiConfig(), 3)).source, 'ai');
    assert.deepEqual((await usageOf(ref.musicId)).map((u) => [u.status, u.httpStatus]), [['error', 429], ['error', 500], ['ok', 200]]);
  });

  it('AI: without an API key it is PROVIDER_UNAVAILABLE, not retried, and nothing is called', async () => {
    const ref = await musicFeedback('mais energia');
    const err = await failure(withAi(ref, aiConfig({ OPENAI_API_KEY: '' })));
    assert.equal(err.type, 'PROVIDER_UNAVAILABLE');
    assert.equal(err.nonRetryable, true);
    assert.equal(fake.requests.length, 0);
    assert.equal(await stored(ref), null);
  });

  it('a missing feedback, or one of another tenant, is FEEDBACK_MISSING (not retried)', async () => {
    const other = await registerTenant(stack.baseUrl);
    const ref = await musicFeedback('mais energia');
    for (const bad of [{ ...ref, feedbackId: randomUUID() }, { ...ref, tenantId: other.tenantId }, { ...ref, kind: 'artist' as const }]) {
      for (const run of [() => withAi(bad), () => activities().interpretFeedbackWithLexicon(bad)]) {
        const err = await failure(run());
        assert.equal(err.type, 'FEEDBACK_MISSING');
        assert.equal(err.nonRetryable, true);
      }
    }
    assert.equal(fake.requests.length, 0);
  });

  it('lexicon: stores its interpretation once; concurrent calls agree; the AI activity then reuses it', async () => {
    const ref = await musicFeedback('Não quero mais energia; mais movimento. Gênero: forró');
    const { interpretFeedbackWithLexicon } = activities();
    const results = await Promise.all(Array.from({ length: 6 }, () => interpretFeedbackWithLexicon(ref)));
    const expected: FeedbackInterpretation = {
      source: 'lexicon',
      deltas: [
        { subscore: 'energy', delta: -0.05, reason: 'lexicon: "Não quero mais energia" (negated)' },
        { subscore: 'motion', delta: 0.05, reason: 'lexicon: "mais movimento"' },
      ],
      confirmedGenre: 'forro',
      summary: 'Lexicon: energy -0.05, motion +0.05; confirms genre "forro".',
    };
    for (const r of results) assert.deepEqual(r, expected);
    assert.deepEqual(await stored(ref), expected);
    assert.deepEqual(await withAi(ref), expected);
    assert.equal(fake.requests.length, 0);

    const artist = await artistFeedback('adorei');
    assert.deepEqual(await interpretFeedbackWithLexicon(artist), { source: 'lexicon', deltas: [], confirmedGenre: null, summary: 'Lexicon: nothing recognised in the feedback.' });
  });

  it('confirmMusicGenre: adds the track to the genre profile once per feedback (running mean and variance); creates a new genre', async () => {
    const genre = newGenre();
    const { interpretFeedbackWithLexicon, confirmMusicGenre } = activities();
    const profile = async () => (await sql<{ analyzer_version: string; feature_mean: number[]; feature_variance: number[]; sample_count: number; source: string }>(
      'select analyzer_version, feature_mean, feature_variance, sample_count, source from global_genre_profiles where genre = ?', [genre]))[0];

    // A new genre: the profile starts with this track.
    const first = await musicFeedback(`gênero: ${genre}`, await insertMusic({ embedding: vector(100) }));
    const interpretation = await interpretFeedbackWithLexicon(first);
    assert.equal(interpretation.confirmedGenre, genre);
    const input = { tenantId: admin.tenantId, musicId: first.musicId, genre, feedbackId: first.feedbackId };
    assert.deepEqual(await confirmMusicGenre(input), { updated: true });
    assert.deepEqual(await confirmMusicGenre(input), { updated: false }, 'the same feedback again changes nothing');
    let p = (await profile())!;
    assert.deepEqual([p.analyzer_version, p.sample_count, p.source], [ANALYZER_VERSION, 1, 'feedback']);
    assert.deepEqual(p.feature_mean.map(Number), vector(100));
    assert.ok(p.feature_variance.every((v) => Number(v) === 0));

    // The interpretation keeps its shape for the activities (the marker is not part of it).
    assert.deepEqual(await interpretFeedbackWithLexicon(first), interpretation);
    assert.equal((await stored(first))!.genreApplied !== undefined, true);
    const declared = await sql<{ declared_genre: string | null }>('select declared_genre from music_assets where id = ?', [first.musicId]);
    assert.equal(declared[0]!.declared_genre, genre, 'a track without a declared genre gets the confirmed one');

    // A second track, the genre spelled differently, two confirmations racing: one sample more.
    const second = await musicFeedback(`Genre: ${genre.toUpperCase()}`, await insertMusic({ embedding: vector(110), declaredGenre: 'pagode' }));
    await interpretFeedbackWithLexicon(second);
    const raced = await Promise.all([1, 2, 3].map(() => confirmMusicGenre({ tenantId: admin.tenantId, musicId: second.musicId, genre: genre.toUpperCase(), feedbackId: second.feedbackId })));
    assert.deepEqual(raced.map((r) => r.updated).sort(), [false, false, true]);
    p = (await profile())!;
    assert.equal(p.sample_count, 2);
    assert.deepEqual(p.feature_mean.map(Number), vector(105));
    assert.ok(p.feature_variance.every((v) => Math.abs(Number(v) - 25) < 1e-9), 'population variance of {x, x + 10}');
    const kept = await sql<{ declared_genre: string | null }>('select declared_genre from music_assets where id = ?', [second.musicId]);
    assert.equal(kept[0]!.declared_genre, 'pagode', 'a declared genre is never overwritten');
  });

  it('confirmMusicGenre: a track without an analysis, or silent, adds nothing (once); bad input is refused', async () => {
    const genre = newGenre();
    const { interpretFeedbackWithLexicon, confirmMusicGenre } = activities();
    for (const musicId of [await insertMusic(), await insertMusic({ embedding: vector(0), silent: true })]) {
      const ref = await musicFeedback(`genre: ${genre}`, musicId);
      await interpretFeedbackWithLexicon(ref);
      const input = { tenantId: admin.tenantId, musicId, genre, feedbackId: ref.feedbackId };
      assert.deepEqual(await confirmMusicGenre(input), { updated: false });
      assert.deepEqual(await confirmMusicGenre(input), { updated: false });
      assert.ok((await stored(ref))!.genreApplied);
    }
    assert.equal((await sql('select 1 from global_genre_profiles where genre = ?', [genre])).length, 0);

    const ref = await musicFeedback('mais energia', await insertMusic({ embedding: vector(100) }));
    const input = { tenantId: admin.tenantId, musicId: ref.musicId, genre, feedbackId: ref.feedbackId };
    assert.equal((await failure(confirmMusicGenre(input))).type, 'FEEDBACK_NOT_INTERPRETED');
    assert.equal((await failure(confirmMusicGenre({ ...input, genre: '!!' }))).type, 'INVALID_GENRE');
    assert.equal((await failure(confirmMusicGenre({ ...input, musicId: await insertMusic() }))).type, 'FEEDBACK_MISSING');
    assert.equal((await failure(confirmMusicGenre({ ...input, feedbackId: randomUUID() }))).type, 'FEEDBACK_MISSING');
  });
});
