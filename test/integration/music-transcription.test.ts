/**
 * Transcription inside analyzeMusic on the real stack, with a local OpenAI-compatible server and
 * the real `openai` client on the AI worker's own task queue: a transcript with timed segments;
 * a provider that keeps failing (429 with Retry-After, then 500s) is retried by Temporal, then only
 * the transcription is `failed` — the analysis is `done` — and every answered call is in ai_usage.
 */
import '../support/quiet-runtime.ts';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { NativeConnection, type Worker } from '@temporalio/worker';
import { createTranscriptionActivities } from '../../activities/ai/transcribe-music.ts';
import { AiUsage } from '../../entities/index.ts';
import { createLogger } from '../../lib/logger.ts';
import { createWorker } from '../../workers/factory.ts';
import { EventType } from '../support/history.ts';
import { call, registerTenant, type Session } from '../support/accounts.ts';
import { startFakeOpenAi, type FakeOpenAi } from '../support/fake-openai.ts';
import { tempDir } from '../support/media.ts';
import { eventually, startTestStack, type TestStack } from '../support/stack.ts';

type Body = Record<string, unknown>;
const run = promisify(execFile);
const FFMPEG = process.env.FFMPEG_PATH ?? 'ffmpeg';
const KEY = 'sk-test-moviola';

describe('transcription in analyzeMusic with an OpenAI-compatible provider', { timeout: 300_000 }, () => {
  let fake: FakeOpenAi;
  let stack: TestStack;
  let aiWorker: Worker;
  let aiRunning: Promise<void>;
  let connection: NativeConnection;
  let alice: Session;
  let artistId: string;
  let dir: string;

  before(async () => {
    fake = await startFakeOpenAi({ expectedKey: KEY });
    stack = await startTestStack({
      name: 'music-ai',
      env: {
        OPENAI_API_KEY: KEY, OPENAI_BASE_URL: fake.baseUrl, TRANSCRIPTION_LANGUAGE: 'pt', OPENAI_TIMEOUT_MS: '5000',
        AI_TASK_QUEUE: `moviola-test-music-ai-${process.pid}`, AI_MAX_ACTIVITIES_PER_SECOND: '20',
        RATE_LIMIT_REQUESTS_PER_USER: '100000', RATE_LIMIT_UPLOADS_PER_USER_PER_MINUTE: '1000',
      },
    });
    connection = await NativeConnection.connect({ address: stack.config.temporal.address });
    aiWorker = await createWorker({
      connection,
      namespace: stack.config.temporal.namespace,
      taskQueue: stack.config.ai.taskQueue,
      activities: createTranscriptionActivities({ orm: stack.orm, storage: stack.storage, ai: stack.config.ai, logger: createLogger({ level: 'warn', name: 'test-ai' }) }),
      withWorkflows: false,
      maxTaskQueueActivitiesPerSecond: stack.config.ai.maxActivitiesPerSecond,
      shutdownGraceTimeMs: 500,
    });
    aiRunning = aiWorker.run();
    alice = await registerTenant(stack.baseUrl);
    artistId = String((await call(stack.baseUrl, 'POST', '/api/v1/artists', { token: alice.access, body: { name: 'Cantora' } })).body.id);
    dir = await tempDir();
  });
  after(async () => {
    aiWorker?.shutdown();
    await aiRunning?.catch(() => undefined);
    await connection?.close();
    await stack?.stop();
    await fake?.close();
  });

  async function uploadTone(name: string, frequency: number): Promise<string> {
    const path = join(dir, name);
    await run(FFMPEG, ['-v', 'error', '-y', '-f', 'lavfi', '-i', `sine=frequency=${frequency}:sample_rate=44100:duration=4`, path]);
    const form = new FormData();
    form.append('artist_id', artistId);
    form.append('file', new Blob([await readFile(path)]), name);
    const res = await fetch(`${stack.baseUrl}/api/v1/music`, { method: 'POST', body: form, headers: { authorization: `Bearer ${alice.access}` } });
    const body = (await res.json()) as Body;
    assert.equal(res.status, 202, JSON.stringify(body));
    return String(body.music_id);
  }

  const settled = (id: string) => eventually(async () => {
    const res = await call(stack.baseUrl, 'GET', `/api/v1/music/${id}`, { token: alice.access });
    return ['done', 'failed'].includes(String(res.body.status)) ? res.body : undefined;
  }, { timeoutMs: 120_000, what: `music ${id}` });

  async function recordHistory(workflowId: string, name: string) {
    const target = process.env.MOVIOLA_RECORD_HISTORIES;
    if (!target) return;
    await mkdir(target, { recursive: true });
    await writeFile(join(target, `${name}.json`), historyToJSON(await stack.temporal.workflow.getHandle(workflowId).fetchHistory()));
  }

  it('transcribes through the provider: language, text and timed segments; the call is in ai_usage', async () => {
    fake.reset();
    const id = await uploadTone('voz.wav', 440);
    const music = await settled(id);
    assert.equal(music.status, 'done', JSON.stringify(music.error));
    const t = (music.analysis as Body).transcription as Body;
    assert.equal(t.status, 'done', JSON.stringify(t));
    assert.equal(t.text, 'Hello there. General Kenobi.');
    assert.deepEqual(t.segments, [{ start_ms: 0, end_ms: 1480, text: 'Hello there.' }, { start_ms: 1520, end_ms: 3500, text: 'General Kenobi.' }]);
    const request = fake.requests.at(-1)!;
    assert.equal(request.headers.authorization, `Bearer ${KEY}`);
    assert.equal(request.fields.language, 'pt');
    assert.equal(request.fields.response_format, 'verbose_json');
    assert.ok(request.file && request.file.size > 0 && request.file.size < 100_000, 'a small speech-ready copy, not the WAV');
    const usage = await stack.orm.em.fork().find(AiUsage, { musicId: id });
    assert.equal(usage.length, 1);
    assert.equal(usage[0]!.status, 'ok');
    assert.equal(usage[0]!.userId, alice.userId);
    assert.ok(Number(usage[0]!.costUsd) > 0);
    await recordHistory(`music-${id}`, 'analyzeMusic-transcribed');
  });

  it('a failing provider is retried (Retry-After honoured), then only the transcription fails', async () => {
    fake.reset();
    fake.script({ kind: 'status', status: 429, headers: { 'retry-after': '1' }, body: { error: { message: 'slow down', type: 'rate_limit' } } });
    fake.setDefault({ kind: 'status', status: 500, body: { error: { message: 'upstream exploded' } } });
    const id = await uploadTone('falha.wav', 660);
    const music = await settled(id);
    assert.equal(music.status, 'done', 'the analysis completes');
    const analysis = music.analysis as Body;
    assert.equal(typeof analysis.loudness_lufs, 'number');
    const t = analysis.transcription as Body;
    assert.equal(t.status, 'failed');
    assert.match(String(t.reason), /500|exploded|provider/i);
    assert.equal(t.text, null);
    assert.equal(fake.requests.length, 4, 'the first attempt and three retries');

    const history = await stack.temporal.workflow.getHandle(`music-${id}`).fetchHistory();
    const started = (history.events ?? []).filter((e) => e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED);
    assert.ok(started.some((e) => (e.activityTaskStartedEventAttributes?.attempt ?? 0) >= 4), 'retried by Temporal');
    const usage = await stack.orm.em.fork().find(AiUsage, { musicId: id }, { orderBy: { createdAt: 'asc' } });
    assert.deepEqual(usage.map((u) => [u.status, u.httpStatus]), [['error', 429], ['error', 500], ['error', 500], ['error', 500]]);
    assert.ok(usage.every((u) => Number(u.costUsd) === 0));
    await recordHistory(`music-${id}`, 'analyzeMusic-transcription-failed');

    const summed = await call(stack.baseUrl, 'GET', '/api/v1/usage?group_by=music', { token: alice.access });
    assert.equal(summed.status, 200, JSON.stringify(summed.body));
    const row = (summed.body.items as Body[]).find((i) => i.key === id)!;
    assert.equal(row.calls, 4);
    assert.equal(row.error_calls, 4);
    fake.setDefault({ kind: 'ok' });
  });
});
