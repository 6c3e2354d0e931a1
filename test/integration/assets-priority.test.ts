/**
 * Priority orders queued ingests, on the real stack: the single heavy slot is kept busy by a long
 * encode while three more video ingests queue their heavy encodes in the order priority 500, 300,
 * 10 (priority keys 5, 5, 1). When the slot frees, the priority-10 encode starts first, ahead of
 * the two queued before it; those two (same key) follow in the order they were queued.
 *
 * Start times come from the workflow histories (ActivityTaskStarted of encodeAssetVideoRenditions).
 * The Temporal server (≥ 1.31: matching.useNewMatcher on by default) orders each task queue
 * PARTITION by priority key; a queue has 4 partitions by default and a poll is served by one of them,
 * so the order across the queue is best-effort. The test stack's dev server runs with one partition
 * per queue (matching.numTaskqueueReadPartitions / WritePartitions = 1), which makes it strict; the
 * test checks that first. With matching.useNewMatcher=false the encodes start in FIFO order
 * (500, 300, 10) and the test fails.
 */
import '../support/quiet-runtime.ts';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import type { temporal } from '@temporalio/proto';
import { temporalPriorityKey } from '../../lib/assets/catalogue.ts';
import { call, registerTenant, type Session } from '../support/accounts.ts';
import { makeTestClip, tempDir } from '../support/media.ts';
import { eventually, startTestStack, type TestStack } from '../support/stack.ts';

type Body = Record<string, unknown>;
type HistoryEvent = temporal.api.history.v1.IHistoryEvent;
const ENCODE = 'encodeAssetVideoRenditions';

const millis = (e: HistoryEvent | undefined): number => {
  const t = e?.eventTime;
  assert.ok(t, 'event has a time');
  return Number(t.seconds) * 1000 + Math.floor((t.nanos ?? 0) / 1e6);
};

describe('priority orders queued ingests', { timeout: 200_000 }, () => {
  let stack: TestStack;
  let alice: Session;
  let dir: string;

  before(async () => {
    // One heavy worker with its single slot (the default of the test stack), as in production.
    stack = await startTestStack({ name: 'assets-priority', env: { RATE_LIMIT_REQUESTS_PER_USER: '100000', RATE_LIMIT_UPLOADS_PER_USER_PER_MINUTE: '1000' } });
    alice = await registerTenant(stack.baseUrl);
    dir = await tempDir();
  });
  after(async () => {
    await stack?.stop();
  });

  async function upload(path: string, name: string, priority: number): Promise<string> {
    const form = new FormData();
    form.append('title', name);
    form.append('priority', String(priority));
    form.append('file', new Blob([await readFile(path)]), name);
    const res = await fetch(`${stack.baseUrl}/api/v1/assets`, { method: 'POST', body: form, headers: { authorization: `Bearer ${alice.access}` } });
    const body = (await res.json()) as Body;
    assert.equal(res.status, 202, JSON.stringify(body));
    assert.equal(body.priority, priority);
    return String(body.id);
  }

  /** The ingest's pending encode activity, once the workflow has scheduled it. */
  async function pendingEncode(id: string) {
    const { raw } = await stack.temporal.workflow.getHandle(`ingest-${id}`).describe();
    return (raw.pendingActivities ?? []).find((a) => a.activityType?.name === ENCODE);
  }

  async function encodeEvents(id: string) {
    const events = (await stack.temporal.workflow.getHandle(`ingest-${id}`).fetchHistory()).events ?? [];
    const scheduled = events.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === ENCODE);
    assert.equal(scheduled.length, 1, `${id}: one encode`);
    const scheduledId = Number(scheduled[0]!.eventId);
    return {
      workflowPriorityKey: events[0]?.workflowExecutionStartedEventAttributes?.priority?.priorityKey ?? null,
      scheduled: scheduled[0]!,
      started: events.find((e) => Number(e.activityTaskStartedEventAttributes?.scheduledEventId) === scheduledId),
      completed: events.find((e) => Number(e.activityTaskCompletedEventAttributes?.scheduledEventId) === scheduledId),
    };
  }

  it('starts the priority-10 encode before the priority-500 and -300 encodes queued ahead of it', async () => {
    assert.deepEqual([500, 300, 10].map(temporalPriorityKey), [5, 5, 1]);
    const { activityTaskQueuePartitions } = await stack.temporal.workflowService.listTaskQueuePartitions({
      namespace: stack.config.temporal.namespace,
      taskQueue: { name: stack.config.temporal.heavyTaskQueue },
    });
    // Priority is ordered within a partition only: across the dev server's default 4 partitions
    // a poll takes the head of whichever partition it reaches (priority-10 first in about half the runs).
    assert.equal(activityTaskQueuePartitions?.length, 1, 'the heavy queue must have ONE partition for a strict priority order: start the dev server with '
      + '--dynamic-config-value matching.numTaskqueueReadPartitions=1 --dynamic-config-value matching.numTaskqueueWritePartitions=1 (scripts/stack/temporal.ts)');
    const long = await makeTestClip(dir, 'long.mp4', { seconds: 30, size: '1280x720' });

    // The heavy slot is busy with a long encode.
    const blocker = await upload(long, 'blocker.mp4', 100);
    await eventually(async () => {
      const encode = await pendingEncode(blocker);
      return encode && Number(encode.attempt) >= 1 && encode.lastStartedTime ? true : undefined;
    }, { timeoutMs: 60_000, what: 'the blocker\'s encode to start' });

    // Three ingests queue their encodes behind it, one after the other: 500, then 300, then 10.
    const queued: Array<{ priority: number; id: string }> = [];
    for (const [i, priority] of [500, 300, 10].entries()) {
      const clip = await makeTestClip(dir, `p${priority}.mp4`, { seconds: 2 + i }); // distinct files: no duplicate
      const id = await upload(clip, `p${priority}.mp4`, priority);
      await eventually(async () => ((await pendingEncode(id)) ? true : undefined), { timeoutMs: 60_000, what: `the priority-${priority} encode to be scheduled` });
      queued.push({ priority, id });
    }
    const blockerEncode = await pendingEncode(blocker);
    assert.ok(blockerEncode?.lastStartedTime, 'the blocker still holds the heavy slot while the others queue');

    for (const { id } of [{ id: blocker }, ...queued]) {
      const done = await eventually(async () => {
        const body = (await call(stack.baseUrl, 'GET', `/api/v1/assets/${id}`, { token: alice.access })).body;
        return body.status === 'available' || body.status === 'failed' ? body : undefined;
      }, { timeoutMs: 120_000, what: `asset ${id} to settle` });
      assert.equal(done.status, 'available', JSON.stringify(done.error));
    }

    const first = await encodeEvents(blocker);
    const runs = await Promise.all(queued.map(async (q) => ({ ...q, ...(await encodeEvents(q.id)) })));
    const blockerDone = millis(first.completed);
    for (const run of runs) {
      assert.equal(run.workflowPriorityKey, temporalPriorityKey(run.priority), `priority ${run.priority}: the workflow's priority key`);
      assert.ok(millis(run.scheduled) < blockerDone, `priority ${run.priority}: queued while the slot was busy`);
      assert.equal(run.started?.activityTaskStartedEventAttributes?.attempt, 1);
    }
    // Scheduled in upload order…
    const byScheduled = [...runs].sort((a, b) => millis(a.scheduled) - millis(b.scheduled)).map((r) => r.priority);
    assert.deepEqual(byScheduled, [500, 300, 10]);
    // …started in priority order: 10 first; 500 and 300 (same key) in the order they were queued.
    const byStarted = [...runs].sort((a, b) => millis(a.started) - millis(b.started)).map((r) => r.priority);
    assert.deepEqual(byStarted, [10, 500, 300], `encode start order ${JSON.stringify(runs.map((r) => [r.priority, millis(r.started) - blockerDone]))}`);
    assert.ok(millis(runs.find((r) => r.priority === 10)!.started) >= blockerDone, 'the priority-10 encode waited for the slot');
  });
});
