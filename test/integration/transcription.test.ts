/**
 * Whisper transcription through the real `openai` client against a local OpenAI-compatible server
 * (test/support/fake-openai.ts), with real PostgreSQL (ai_usage) and real storage: the request's
 * shape, the mapping of the answer, the failure each provider behaviour becomes for Temporal
 * (type, retryability, Retry-After as nextRetryDelay), the usage rows of every answered call; the AI
 * worker on its rate-limited task queue; and GET /api/v1/usage.
 */
import '../support/quiet-runtime.ts';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { after, afterEach, before, describe, it } from 'node:test';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import proto from '@temporalio/proto';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger, NativeConnection } from '@temporalio/worker';
import { createTranscriptionActivities, transcriptionAvailable, type TranscribeMusicInput, type Transcription } from '../../activities/ai/transcribe-music.ts';
import { AiUsage, type IAiUsage } from '../../entities/index.ts';
import { BAD_RESPONSE_MAX_ATTEMPTS } from '../../lib/ai/provider-errors.ts';
import { loadConfig, type AiConfig } from '../../lib/config.ts';
import { createLogger } from '../../lib/logger.ts';
import { createWorker } from '../../workers/factory.ts';
import { call, createUser, registerTenant, type Session } from '../support/accounts.ts';
import { startFakeOpenAi, type FakeOpenAi } from '../support/fake-openai.ts';
import { eventually, startTestStack, type TestStack } from '../support/stack.ts';

const KEY = 'sk-test-moviola-0123456789';
const logger = createLogger({ level: process.env.LOG_LEVEL ?? 'silent', name: 'test-transcription' });
/** The mock activity environment logs every failed activity at WARN; these tests fail them on purpose. */
const quiet = new DefaultLogger('ERROR');

describe('transcription through an OpenAI-compatible server', () => {
  let stack: TestStack;
  let fake: FakeOpenAi;
  let admin: Session;
  const audio = randomBytes(24_000);

  before(async () => {
    stack = await startTestStack({ name: 'transcription', heavyWorker: false, env: { RATE_LIMIT_REQUESTS_PER_USER: '100000' } });
    fake = await startFakeOpenAi({ expectedKey: KEY });
    admin = await registerTenant(stack.baseUrl);
  });
  after(async () => {
    await fake?.close();
    await stack?.stop();
  });
  afterEach(() => fake.reset());

  function aiConfig(env: Record<string, string> = {}): AiConfig {
    return loadConfig({ ...process.env, OPENAI_API_KEY: KEY, OPENAI_BASE_URL: fake.baseUrl, OPENAI_TRANSCRIPTION_MODEL: 'whisper-1', TRANSCRIPTION_LANGUAGE: 'auto', OPENAI_TIMEOUT_MS: '10000', OPENAI_TRANSCRIPTION_USD_PER_MINUTE: '0.006', ...env }).ai;
  }

  /** A speech copy in storage and the activity input for it. */
  async function speech(overrides: Partial<TranscribeMusicInput> = {}): Promise<TranscribeMusicInput> {
    const musicId = randomUUID();
    const storageKey = `${admin.tenantId}/music/${musicId}/speech.mp3`;
    await stack.storage.put('proxies', storageKey, audio, { contentType: 'audio/mpeg', size: audio.length });
    return { tenantId: admin.tenantId, userId: admin.userId, musicId, bucket: 'proxies', storageKey, durationMs: 3500, filename: 'speech.mp3', ...overrides };
  }

  async function transcribe(ai: AiConfig, input: TranscribeMusicInput, attempt = 1): Promise<Transcription> {
    const { transcribeMusic } = createTranscriptionActivities({ orm: stack.orm, storage: stack.storage, ai, logger });
    return new MockActivityEnvironment({ attempt }, { logger: quiet }).run(transcribeMusic, input);
  }

  async function failure(promise: Promise<unknown>): Promise<ApplicationFailure> {
    try {
      await promise;
    } catch (err) {
      assert.ok(err instanceof ApplicationFailure, `expected an ApplicationFailure, got ${String(err)}`);
      return err;
    }
    assert.fail('expected the activity to fail');
  }

  async function usageRows(musicId: string): Promise<IAiUsage[]> {
    return stack.orm.em.fork().find(AiUsage, { musicId }, { orderBy: { createdAt: 'asc', id: 'asc' } });
  }

  it('sends verbose_json with segment timestamps, the model, the key, no language on auto; maps the answer and records the call', async () => {
    const input = await speech();
    const result = await transcribe(aiConfig(), input);

    assert.deepEqual(result, {
      language: 'en',
      text: 'Hello there. General Kenobi.',
      segments: [
        { startMs: 0, endMs: 1480, text: 'Hello there.' },
        { startMs: 1520, endMs: 3500, text: 'General Kenobi.' },
      ],
    });

    assert.equal(fake.requests.length, 1);
    const request = fake.requests[0]!;
    assert.equal(request.method, 'POST');
    assert.equal(request.path, '/v1/audio/transcriptions');
    assert.equal(request.headers.authorization, `Bearer ${KEY}`);
    assert.match(String(request.headers['content-type']), /^multipart\/form-data; boundary=/);
    assert.equal(request.fields.model, 'whisper-1');
    assert.equal(request.fields.response_format, 'verbose_json');
    assert.deepEqual([request.fields['timestamp_granularities[]']].flat(), ['segment']);
    assert.equal(request.fields.language, undefined, 'language is omitted when the config says auto');
    assert.deepEqual(request.file && { field: request.file.field, filename: request.file.filename, mimeType: request.file.mimeType, size: request.file.size }, { field: 'file', filename: 'audio.mp3', mimeType: 'audio/mpeg', size: audio.length });

    const rows = await usageRows(input.musicId);
    assert.equal(rows.length, 1);
    const row = rows[0]!;
    assert.equal(row.tenantId, admin.tenantId);
    assert.equal(row.userId, admin.userId);
    assert.equal(row.musicId, input.musicId);
    assert.equal(row.operation, 'transcription');
    assert.equal(row.model, 'whisper-1');
    assert.match(row.provider, /^openai-compatible:127\.0\.0\.1:\d+$/);
    assert.equal(row.status, 'ok');
    assert.equal(row.httpStatus, 200);
    // The provider's billed seconds (usage.seconds = 4) win over the ffprobe duration (3.5 s).
    assert.equal(row.audioSeconds, 4);
    assert.equal(Number(row.costUsd), 0.0004);
    assert.equal(row.requestId, request.requestId);
    assert.equal(row.error, null);
  });

  it("sends the configured language (pt) and model; without the provider's usage, bills the audio's duration", async () => {
    fake.script({ kind: 'ok', body: { language: 'portuguese', duration: 3.5, text: 'Olá, tudo bem?', segments: [{ id: 0, start: 0.25, end: 2.0004, text: ' Olá, tudo bem? ' }] } });
    const input = await speech({ durationMs: 90_000 });
    const result = await transcribe(aiConfig({ TRANSCRIPTION_LANGUAGE: 'pt', OPENAI_TRANSCRIPTION_MODEL: 'whisper-large-v3' }), input);
    assert.deepEqual(result, { language: 'pt', text: 'Olá, tudo bem?', segments: [{ startMs: 250, endMs: 2000, text: 'Olá, tudo bem?' }] });
    assert.equal(fake.requests[0]!.fields.language, 'pt');
    assert.equal(fake.requests[0]!.fields.model, 'whisper-large-v3');
    const [row] = await usageRows(input.musicId);
    assert.equal(row!.model, 'whisper-large-v3');
    assert.equal(row!.audioSeconds, 90);
    assert.equal(Number(row!.costUsd), 0.009); // 1.5 min × 0.006
  });

  it('429 with Retry-After: 7 → retryable PROVIDER_RATE_LIMITED whose next retry waits 7 s; the answered call is recorded', async () => {
    fake.script({ kind: 'status', status: 429, headers: { 'retry-after': '7' }, body: { error: { message: 'Rate limit reached for whisper-1', type: 'requests', code: 'rate_limit_exceeded' } } });
    const input = await speech();
    const err = await failure(transcribe(aiConfig(), input));
    assert.equal(err.type, 'PROVIDER_RATE_LIMITED');
    assert.equal(err.nonRetryable, false);
    assert.equal(err.nextRetryDelay, 7000);
    assert.match(err.message, /429/);
    assert.match(err.message, /Rate limit reached/);
    assert.equal(fake.requests.length, 1, 'the client itself never retries');

    const [row, ...more] = await usageRows(input.musicId);
    assert.equal(more.length, 0);
    assert.equal(row!.status, 'error');
    assert.equal(row!.httpStatus, 429);
    assert.equal(Number(row!.costUsd), 0);
    assert.equal(row!.audioSeconds, 3.5);
    assert.equal(row!.requestId, fake.requests[0]!.requestId);
    assert.match(row!.error ?? '', /^PROVIDER_RATE_LIMITED: /);
  });

  it('500 → retryable PROVIDER_ERROR (the retry policy decides the delay); recorded', async () => {
    fake.script({ kind: 'status', status: 500 });
    const input = await speech();
    const err = await failure(transcribe(aiConfig(), input));
    assert.equal(err.type, 'PROVIDER_ERROR');
    assert.equal(err.nonRetryable, false);
    assert.equal(err.nextRetryDelay, undefined);
    const rows = await usageRows(input.musicId);
    assert.deepEqual(rows.map((r) => [r.status, r.httpStatus]), [['error', 500]]);
  });

  it('no answer within OPENAI_TIMEOUT_MS → retryable PROVIDER_TIMEOUT; nothing recorded (no answer, nothing billed)', async () => {
    fake.script({ kind: 'hang' });
    const input = await speech();
    const err = await failure(transcribe(aiConfig({ OPENAI_TIMEOUT_MS: '400' }), input));
    assert.equal(err.type, 'PROVIDER_TIMEOUT');
    assert.equal(err.nonRetryable, false);
    assert.equal(fake.requests.length, 1);
    assert.deepEqual(await usageRows(input.musicId), []);
  });

  it('cancelling the activity aborts the call: cancelled, not a provider failure, nothing recorded', async () => {
    fake.script({ kind: 'hang' });
    const input = await speech();
    const { transcribeMusic } = createTranscriptionActivities({ orm: stack.orm, storage: stack.storage, ai: aiConfig(), logger });
    const env = new MockActivityEnvironment({ attempt: 1 }, { logger: quiet });
    const running = env.run(transcribeMusic, input);
    const deadline = Date.now() + 5000;
    while (fake.requests.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.equal(fake.requests.length, 1, 'the request reached the provider');
    env.cancel();
    await assert.rejects(running, (err) => err instanceof CancelledFailure);
    assert.deepEqual(await usageRows(input.musicId), []);
  });

  it('invalid JSON → PROVIDER_BAD_RESPONSE, retried until the last allowed attempt; each answered call recorded', async () => {
    const input = await speech();
    fake.script({ kind: 'invalid-json' }, { kind: 'invalid-json' });
    const first = await failure(transcribe(aiConfig(), input, 1));
    assert.equal(first.type, 'PROVIDER_BAD_RESPONSE');
    assert.equal(first.nonRetryable, false);
    assert.match(first.message, /invalid JSON/);
    const last = await failure(transcribe(aiConfig(), input, BAD_RESPONSE_MAX_ATTEMPTS));
    assert.equal(last.type, 'PROVIDER_BAD_RESPONSE');
    assert.equal(last.nonRetryable, true);
    const rows = await usageRows(input.musicId);
    assert.deepEqual(rows.map((r) => [r.status, r.httpStatus, Number(r.costUsd)]), [['error', 200, 0], ['error', 200, 0]]);
  });

  it('an answer that is not a transcription (no text; HTML) → PROVIDER_BAD_RESPONSE', async () => {
    fake.script({ kind: 'ok', body: { segments: [] } }, { kind: 'raw', status: 200, contentType: 'text/html', body: '<html>proxy login</html>' });
    const input = await speech();
    for (const _ of [1, 2]) {
      const err = await failure(transcribe(aiConfig(), input));
      assert.equal(err.type, 'PROVIDER_BAD_RESPONSE');
    }
    assert.equal((await usageRows(input.musicId)).length, 2);
  });

  it('a refused key (401) → non-retryable PROVIDER_REJECTED; recorded', async () => {
    const input = await speech();
    const err = await failure(transcribe(aiConfig({ OPENAI_API_KEY: 'sk-wrong' }), input));
    assert.equal(err.type, 'PROVIDER_REJECTED');
    assert.equal(err.nonRetryable, true);
    assert.match(err.message, /401/);
    assert.equal(fake.requests[0]!.headers.authorization, 'Bearer sk-wrong');
    const rows = await usageRows(input.musicId);
    assert.deepEqual(rows.map((r) => [r.status, r.httpStatus]), [['error', 401]]);
  });

  it('429 then 500 then ok over three attempts: three rows, only the ok one costs', async () => {
    fake.script({ kind: 'status', status: 429, headers: { 'retry-after-ms': '1500' } }, { kind: 'status', status: 503 });
    const input = await speech();
    const rateLimited = await failure(transcribe(aiConfig(), input, 1));
    assert.equal(rateLimited.nextRetryDelay, 1500);
    assert.equal((await failure(transcribe(aiConfig(), input, 2))).type, 'PROVIDER_ERROR');
    const result = await transcribe(aiConfig(), input, 3);
    assert.equal(result.segments.length, 2);
    const rows = await usageRows(input.musicId);
    assert.deepEqual(rows.map((r) => [r.status, r.httpStatus, Number(r.costUsd)]), [['error', 429, 0], ['error', 503, 0], ['ok', 200, 0.0004]]);
  });

  it('an unreachable provider → retryable PROVIDER_ERROR; nothing recorded', async () => {
    const input = await speech();
    const err = await failure(transcribe(aiConfig({ OPENAI_BASE_URL: 'http://127.0.0.1:9/v1' }), input));
    assert.equal(err.type, 'PROVIDER_ERROR');
    assert.equal(err.nonRetryable, false);
    assert.deepEqual(await usageRows(input.musicId), []);
  });

  it('a missing audio object → non-retryable AUDIO_MISSING before any call', async () => {
    const input = { ...(await speech()), storageKey: `${admin.tenantId}/music/${randomUUID()}/speech.mp3` };
    const err = await failure(transcribe(aiConfig(), input));
    assert.equal(err.type, 'AUDIO_MISSING');
    assert.equal(err.nonRetryable, true);
    assert.equal(fake.requests.length, 0);
  });

  it('without a key: transcription unavailable, and the activity refuses (non-retryable) without calling anyone', async () => {
    const ai = aiConfig({ OPENAI_API_KEY: '' });
    assert.equal(transcriptionAvailable(ai), false);
    assert.equal(transcriptionAvailable(aiConfig()), true);
    const input = await speech();
    const err = await failure(transcribe(ai, input));
    assert.equal(err.type, 'PROVIDER_UNAVAILABLE');
    assert.equal(err.nonRetryable, true);
    assert.equal(fake.requests.length, 0);
    assert.deepEqual(await usageRows(input.musicId), []);
  });

  it('the AI worker polls its own task queue, which the server rate limits to AI_MAX_ACTIVITIES_PER_SECOND', async () => {
    const config = loadConfig({ ...process.env, AI_TASK_QUEUE: `moviola-test-ai-${process.pid}`, AI_MAX_ACTIVITIES_PER_SECOND: '2.5' });
    const connection = await NativeConnection.connect({ address: config.temporal.address });
    try {
      const worker = await createWorker({
        connection,
        namespace: config.temporal.namespace,
        taskQueue: config.ai.taskQueue,
        activities: createTranscriptionActivities({ orm: stack.orm, storage: stack.storage, ai: aiConfig(), logger }),
        withWorkflows: false,
        maxTaskQueueActivitiesPerSecond: config.ai.maxActivitiesPerSecond,
        shutdownGraceTimeMs: 500,
      });
      const running = worker.run();
      try {
        // The server's view of the queue: an activity poller carrying the rate limit.
        const poller = await eventually(async () => {
          const described = await stack.temporal.workflowService.describeTaskQueue({
            namespace: config.temporal.namespace,
            taskQueue: { name: config.ai.taskQueue },
            taskQueueType: proto.temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,
          });
          return described.pollers?.[0] ?? undefined;
        }, { what: 'an activity poller on the AI task queue' });
        assert.equal(poller.ratePerSecond, 2.5);
        const workflowPollers = await stack.temporal.workflowService.describeTaskQueue({
          namespace: config.temporal.namespace,
          taskQueue: { name: config.ai.taskQueue },
          taskQueueType: proto.temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
        });
        assert.deepEqual(workflowPollers.pollers ?? [], [], 'activities only: no workflow poller');
      } finally {
        worker.shutdown();
        await running;
      }
    } finally {
      await connection.close();
    }
  });

  describe('GET /api/v1/usage', () => {
    let tenant: Session;
    let editor: Session;
    let manager: Session;
    const musicA = randomUUID();
    const musicB = randomUUID();

    async function insertUsage(row: Partial<IAiUsage> & { tenantId: string; createdAt: Date }) {
      await stack.orm.em.fork().insert(AiUsage, {
        id: randomUUID(), userId: null, musicId: null, provider: 'openai', operation: 'transcription', model: 'whisper-1',
        status: 'ok', httpStatus: 200, inputTokens: null, outputTokens: null, audioSeconds: 60, costUsd: 0.006, requestId: null, error: null,
        ...row,
      });
    }

    before(async () => {
      tenant = await registerTenant(stack.baseUrl);
      editor = await createUser(stack.baseUrl, tenant, 'editor');
      manager = await createUser(stack.baseUrl, tenant, 'manager');
      const day = (d: number) => new Date(Date.UTC(2026, 0, d, 12));
      await insertUsage({ tenantId: tenant.tenantId, userId: tenant.userId, musicId: musicA, createdAt: day(10), audioSeconds: 120, costUsd: 0.012 });
      await insertUsage({ tenantId: tenant.tenantId, userId: tenant.userId, musicId: musicA, createdAt: day(11), status: 'error', httpStatus: 429, audioSeconds: 120, costUsd: 0 });
      await insertUsage({ tenantId: tenant.tenantId, userId: editor.userId, musicId: musicB, createdAt: day(12), audioSeconds: 30, costUsd: 0.003 });
      await insertUsage({ tenantId: tenant.tenantId, userId: editor.userId, musicId: musicB, createdAt: day(13), inputTokens: 100, outputTokens: 20, audioSeconds: null, costUsd: 0.0005 });
      await insertUsage({ tenantId: tenant.tenantId, userId: null, musicId: null, createdAt: day(14), audioSeconds: 10, costUsd: 0.001 });
      // Outside the range, and another tenant's: never counted.
      await insertUsage({ tenantId: tenant.tenantId, userId: tenant.userId, musicId: musicA, createdAt: day(20), costUsd: 5 });
      await insertUsage({ tenantId: admin.tenantId, userId: admin.userId, musicId: musicA, createdAt: day(12), costUsd: 7 });
    });

    const range = 'from=2026-01-01T00:00:00Z&to=2026-01-15T00:00:00Z';

    it('sums the whole tenant per user for an admin, most expensive first, with the exact total', async () => {
      const res = await call(stack.baseUrl, 'GET', `/api/v1/usage?${range}&group_by=user`, { token: tenant.access });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.equal(res.body.from, '2026-01-01T00:00:00.000Z');
      assert.equal(res.body.to, '2026-01-15T00:00:00.000Z');
      assert.equal(res.body.group_by, 'user');
      assert.equal(res.body.scope, 'tenant');
      assert.deepEqual(res.body.items, [
        { key: tenant.userId, calls: 2, ok_calls: 1, error_calls: 1, audio_seconds: 240, input_tokens: 0, output_tokens: 0, cost_usd: 0.012 },
        { key: editor.userId, calls: 2, ok_calls: 2, error_calls: 0, audio_seconds: 30, input_tokens: 100, output_tokens: 20, cost_usd: 0.0035 },
        { key: null, calls: 1, ok_calls: 1, error_calls: 0, audio_seconds: 10, input_tokens: 0, output_tokens: 0, cost_usd: 0.001 },
      ]);
      assert.deepEqual(res.body.total, { calls: 5, ok_calls: 4, error_calls: 1, audio_seconds: 280, input_tokens: 100, output_tokens: 20, cost_usd: 0.0165 });
    });

    it('groups per music', async () => {
      const res = await call(stack.baseUrl, 'GET', `/api/v1/usage?${range}&group_by=music`, { token: manager.access });
      assert.equal(res.status, 200);
      assert.equal(res.body.scope, 'tenant');
      const items = res.body.items as Array<{ key: string | null; calls: number; cost_usd: number }>;
      assert.deepEqual(items.map((i) => [i.key, i.calls, i.cost_usd]), [[musicA, 2, 0.012], [musicB, 2, 0.0035], [null, 1, 0.001]]);
    });

    it('shows other roles only their own calls', async () => {
      const res = await call(stack.baseUrl, 'GET', `/api/v1/usage?${range}&group_by=user`, { token: editor.access });
      assert.equal(res.status, 200);
      assert.equal(res.body.scope, 'own');
      assert.deepEqual((res.body.items as Array<{ key: string }>).map((i) => i.key), [editor.userId]);
      assert.equal((res.body.total as { calls: number }).calls, 2);
    });

    it('defaults to the last 30 days and to group_by=user', async () => {
      const res = await call(stack.baseUrl, 'GET', '/api/v1/usage', { token: tenant.access });
      assert.equal(res.status, 200);
      assert.equal(res.body.group_by, 'user');
      const span = Date.parse(String(res.body.to)) - Date.parse(String(res.body.from));
      assert.equal(span, 30 * 86_400_000);
      assert.ok(Math.abs(Date.parse(String(res.body.to)) - Date.now()) < 60_000);
      assert.deepEqual(res.body.total, { calls: 0, ok_calls: 0, error_calls: 0, audio_seconds: 0, input_tokens: 0, output_tokens: 0, cost_usd: 0 });
    });

    it('answers 422 to a reversed, empty, over-long or malformed range, and 401 without a token', async () => {
      for (const query of [
        'from=2026-01-15T00:00:00Z&to=2026-01-01T00:00:00Z',
        'from=2026-01-01T00:00:00Z&to=2026-01-01T00:00:00Z',
        'from=2025-01-01T00:00:00Z&to=2026-01-03T00:00:00Z',
      ]) {
        const res = await call(stack.baseUrl, 'GET', `/api/v1/usage?${query}`, { token: tenant.access });
        assert.equal(res.status, 422, query);
        assert.equal((res.body as { error: { code: string } }).error.code, 'INVALID_RANGE', query);
      }
      for (const query of ['from=yesterday', 'to=2026-01-01', 'group_by=model']) {
        const res = await call(stack.baseUrl, 'GET', `/api/v1/usage?${query}`, { token: tenant.access });
        assert.equal(res.status, 422, query);
        assert.equal((res.body as { error: { code: string } }).error.code, 'VALIDATION_FAILED', query);
      }
      assert.equal((await call(stack.baseUrl, 'GET', '/api/v1/usage')).status, 401);
    });

    it('is in the OpenAPI document', async () => {
      const res = await call(stack.baseUrl, 'GET', '/openapi.json');
      const paths = res.body.paths as Record<string, Record<string, { operationId: string }>>;
      assert.equal(paths['/api/v1/usage']?.get?.operationId, 'getAiUsage');
    });
  });
});
