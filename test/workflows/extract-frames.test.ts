/**
 * extractFrames on the time-skipping server with mocked activities: the state machine, the retry
 * backoff (30 s, 60 s, 120 s), non-retryable media errors, cancellation, e-mails that never fail
 * the job, and the 7-day expiry timer.
 */
import '../support/quiet-runtime.ts';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Context } from '@temporalio/activity';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import type { FramesDbActivities, RecordJobTransitionInput } from '../../activities/db/frames-jobs.ts';
import type { ExtractVideoFramesActivities } from '../../activities/media/extract-video-frames.ts';
import type { NotifyActivities } from '../../activities/notify/send-email.ts';
import type { StorageActivities } from '../../activities/storage/delete-objects.ts';
import { WORKFLOWS_PATH } from '../../workers/factory.ts';
import { extractFrames, framesJobStateQuery, type ExtractFramesInput } from '../../workflows/extract-frames.ts';
import { requireEnv } from '../support/env.ts';
import { startTimeSkipping } from '../support/temporal.ts';

type Fakes = FramesDbActivities & ExtractVideoFramesActivities & NotifyActivities & StorageActivities;

interface Recorder {
  transitions: RecordJobTransitionInput[];
  emails: string[];
  deleted: string[];
  extractAttemptsAt: number[];
}

const DAY_MS = 86_400_000;

describe('extractFrames workflow (time-skipping)', { timeout: 120_000 }, () => {
  let env: TestWorkflowEnvironment;
  before(async () => {
    env = await startTimeSkipping(requireEnv('TEMPORAL_TEST_SERVER_PATH'));
  });
  after(async () => {
    await env?.teardown();
  });

  function fakes(rec: Recorder, extract: (attempt: number) => Promise<{ frameCount: number; zipBytes: number }>, email: () => Promise<void> = async () => undefined): Fakes {
    let attempt = 0;
    return {
      async recordJobTransition(input) {
        rec.transitions.push(input);
        return { from: null, changed: true };
      },
      async extractVideoFrames() {
        attempt += 1;
        rec.extractAttemptsAt.push(await env.currentTimeMs());
        return extract(attempt);
      },
      async sendFramesEmail(input) {
        rec.emails.push(input.kind);
        await email();
        return { messageId: `<${input.jobId}@test>` };
      },
      async deleteObjects(input) {
        rec.deleted.push(...input.objects.map((o) => `${o.bucket}/${o.key}`));
        return input.objects.length;
      },
    };
  }

  function input(id: string): ExtractFramesInput {
    return {
      jobId: id, tenantId: 't1', ownerId: 'u1', owner: { email: 'u1@example.com', name: 'U1' }, filename: 'clip.mp4',
      originalKey: `t1/frames/${id}/original.mp4`, zipKey: `t1/frames/${id}/frames.zip`, demuxer: 'mov', durationMs: 10_000, videoCodec: 'h264',
      retentionDays: 7, appUrl: 'http://localhost:3000', heavyTaskQueue: `heavy-${id}`, extractTimeoutMinutes: 30,
    };
  }

  async function withWorkers<T>(id: string, activities: Fakes, fn: () => Promise<T>): Promise<T> {
    const main = await Worker.create({ connection: env.nativeConnection, taskQueue: `main-${id}`, workflowsPath: WORKFLOWS_PATH, activities });
    const heavy = await Worker.create({ connection: env.nativeConnection, taskQueue: `heavy-${id}`, activities, maxConcurrentActivityTaskExecutions: 1 });
    return heavy.runUntil(main.runUntil(fn()));
  }

  const newRecorder = (): Recorder => ({ transitions: [], emails: [], deleted: [], extractAttemptsAt: [] });
  const statuses = (rec: Recorder) => rec.transitions.map((t) => t.to);

  it('goes PROCESSING → DONE, e-mails the owner, and EXPIRES after 7 days deleting the ZIP and the original', async () => {
    const rec = newRecorder();
    await withWorkers('ok', fakes(rec, async () => ({ frameCount: 10, zipBytes: 1234 })), async () => {
      const handle = await env.client.workflow.start(extractFrames, { workflowId: 'frames-ok', taskQueue: 'main-ok', args: [input('ok')] });
      const startedAt = await env.currentTimeMs();
      // Six days on, the job is still DONE and its files are still there.
      await env.sleep(6 * DAY_MS);
      assert.equal((await handle.query(framesJobStateQuery)).status, 'DONE');
      assert.deepEqual(rec.deleted, []);
      const result = await handle.result();
      assert.equal(result.status, 'EXPIRED');
      assert.ok((await env.currentTimeMs()) - startedAt >= 7 * DAY_MS);
    });
    assert.deepEqual(statuses(rec), ['PROCESSING', 'DONE', 'EXPIRED']);
    const done = rec.transitions[1]!;
    assert.equal(done.frameCount, 10);
    assert.equal(done.zipBytes, 1234);
    assert.equal(new Date(done.expiresAt!).getTime() - new Date(done.completedAt!).getTime(), 7 * DAY_MS);
    assert.deepEqual(rec.emails, ['done']);
    assert.deepEqual(rec.deleted.sort(), ['exports/t1/frames/ok/frames.zip', 'uploads/t1/frames/ok/original.mp4']);
  });

  it('retries transient failures after 30 s, 60 s and 120 s, then succeeds', async () => {
    const rec = newRecorder();
    await withWorkers('backoff', fakes(rec, async (attempt) => {
      if (attempt < 4) throw new Error(`transient ${attempt}`);
      return { frameCount: 3, zipBytes: 10 };
    }), async () => {
      const handle = await env.client.workflow.start(extractFrames, { workflowId: 'frames-backoff', taskQueue: 'main-backoff', args: [input('backoff')] });
      await env.sleep(10 * 60_000);
      assert.equal((await handle.query(framesJobStateQuery)).status, 'DONE');
      await handle.terminate('test done');
    });
    const gaps = rec.extractAttemptsAt.slice(1).map((t, i) => Math.round((t - rec.extractAttemptsAt[i]!) / 1000));
    assert.equal(gaps.length, 3);
    for (const [gap, expected] of gaps.map((g, i) => [g, [30, 60, 120][i]!] as const)) {
      assert.ok(gap >= expected && gap < expected + 5, `gap ${gap}s, expected ${expected}s`);
    }
  });

  it('fails with PROCESSING_ERROR after the last attempt and e-mails the failure', async () => {
    const rec = newRecorder();
    await withWorkers('exhausted', fakes(rec, async () => {
      throw new Error('disk full');
    }), async () => {
      await assert.rejects(
        env.client.workflow.execute(extractFrames, { workflowId: 'frames-exhausted', taskQueue: 'main-exhausted', args: [input('exhausted')] }),
        (err: unknown) => err instanceof WorkflowFailedError && err.cause instanceof ApplicationFailure && err.cause.type === 'PROCESSING_ERROR',
      );
    });
    assert.equal(rec.extractAttemptsAt.length, 4);
    assert.deepEqual(statuses(rec), ['PROCESSING', 'FAILED']);
    assert.equal(rec.transitions[1]!.error?.code, 'PROCESSING_ERROR');
    assert.match(rec.transitions[1]!.error?.message ?? '', /disk full/);
    assert.deepEqual(rec.emails, ['failed']);
  });

  for (const code of ['INVALID_MEDIA', 'UNSUPPORTED_CODEC']) {
    it(`fails with ${code} after exactly one attempt`, async () => {
      const rec = newRecorder();
      const id = code.toLowerCase().replace('_', '-');
      await withWorkers(id, fakes(rec, async () => {
        throw ApplicationFailure.nonRetryable('cannot decode', code);
      }), async () => {
        await assert.rejects(env.client.workflow.execute(extractFrames, { workflowId: `frames-${id}`, taskQueue: `main-${id}`, args: [input(id)] }), WorkflowFailedError);
      });
      assert.equal(rec.extractAttemptsAt.length, 1);
      assert.equal(rec.transitions.at(-1)!.error?.code, code);
      assert.deepEqual(rec.emails, ['failed']);
    });
  }

  it('is CANCELLED when cancelled while extracting: the activity is cancelled and the partial ZIP removed', async () => {
    const rec = newRecorder();
    let activityCancelled = false;
    await withWorkers('cancel', fakes(rec, async () => {
      const ctx = Context.current();
      const beat = setInterval(() => ctx.heartbeat(), 200);
      try {
        await ctx.cancelled;
      } catch (err) {
        activityCancelled = true;
        throw err;
      } finally {
        clearInterval(beat);
      }
      return { frameCount: 0, zipBytes: 0 };
    }), async () => {
      const handle = await env.client.workflow.start(extractFrames, { workflowId: 'frames-cancel', taskQueue: 'main-cancel', args: [input('cancel')] });
      for (let i = 0; i < 50 && rec.extractAttemptsAt.length === 0; i++) await new Promise((r) => setTimeout(r, 100));
      await handle.cancel();
      await assert.rejects(handle.result(), WorkflowFailedError);
    });
    assert.equal(activityCancelled, true);
    assert.deepEqual(statuses(rec), ['PROCESSING', 'CANCELLED']);
    assert.deepEqual(rec.deleted, ['exports/t1/frames/cancel/frames.zip']);
    assert.deepEqual(rec.emails, []);
  });

  it('completes the job when every e-mail attempt fails', async () => {
    const rec = newRecorder();
    await withWorkers('smtp-down', fakes(rec, async () => ({ frameCount: 1, zipBytes: 1 }), async () => {
      throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
    }), async () => {
      const handle = await env.client.workflow.start(extractFrames, { workflowId: 'frames-smtp-down', taskQueue: 'main-smtp-down', args: [input('smtp-down')] });
      await env.sleep(60 * 60_000);
      assert.equal((await handle.query(framesJobStateQuery)).status, 'DONE');
      await handle.terminate('test done');
    });
    assert.deepEqual(statuses(rec), ['PROCESSING', 'DONE']);
    assert.equal(rec.emails.length, 5, 'the e-mail was retried up to its limit');
  });
});
