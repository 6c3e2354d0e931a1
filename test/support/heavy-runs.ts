/**
 * The heavy activities of a workflow, read from its history: one row per activity scheduled on the
 * heavy task queue, with its last attempt's start (the history's ActivityTaskStarted event, which
 * for a retried activity is the last attempt's) and its close. Used by the clip-render tests (the
 * one-slot proof) and bench/render-queue.ts (concurrency and utilization of the heavy worker).
 */
import type { Client } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { tsToMs } from '@temporalio/common/lib/time.js';
import type { temporal } from '@temporalio/proto';
import { EventType } from './history.ts';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

/** One heavy activity of a workflow history: its last attempt's start and its close. */
export interface HeavyRun {
  workflowId: string;
  name: string;
  /** The `index` field of the activity's input (a variant), when it has one. */
  index: number | null;
  attempt: number;
  scheduledMs: number;
  startMs: number;
  endMs: number;
  closed: 'completed' | 'failed' | 'timed out' | 'cancelled';
  failure: string | null;
}

/**
 * The activities of `workflowId`'s history scheduled on `heavyTaskQueue`, in scheduling order.
 * Throws when one of them has not both started and closed (the workflow is still running it).
 */
export async function heavyRuns(client: Client, heavyTaskQueue: string, workflowId: string): Promise<HeavyRun[]> {
  const events: HistoryEvent[] = (await client.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
  const bySchedule = (id: number, pick: (e: HistoryEvent) => { scheduledEventId?: unknown } | null | undefined) =>
    events.find((e) => Number(pick(e)?.scheduledEventId) === id);
  const runs: HeavyRun[] = [];
  for (const e of events) {
    const scheduled = e.activityTaskScheduledEventAttributes;
    if (e.eventType !== EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED || !scheduled) continue;
    if (scheduled.taskQueue?.name !== heavyTaskQueue) continue;
    const id = Number(e.eventId);
    const name = String(scheduled.activityType?.name);
    const input = scheduled.input?.payloads?.[0] ? defaultPayloadConverter.fromPayload<{ index?: number }>(scheduled.input.payloads[0]) : {};
    const started = bySchedule(id, (x) => x.activityTaskStartedEventAttributes);
    const closes = [
      ['completed', bySchedule(id, (x) => x.activityTaskCompletedEventAttributes)],
      ['failed', bySchedule(id, (x) => x.activityTaskFailedEventAttributes)],
      ['timed out', bySchedule(id, (x) => x.activityTaskTimedOutEventAttributes)],
      ['cancelled', bySchedule(id, (x) => x.activityTaskCanceledEventAttributes)],
    ] as const;
    const close = closes.find(([, c]) => c !== undefined);
    if (!started || !close) throw new Error(`${workflowId}: ${name} #${id} has not ${started ? 'closed' : 'started'} yet`);
    const failure = close[1]!.activityTaskFailedEventAttributes?.failure;
    runs.push({
      workflowId, name, index: typeof input.index === 'number' ? input.index : null,
      attempt: Number(started.activityTaskStartedEventAttributes?.attempt),
      scheduledMs: tsToMs(e.eventTime), startMs: tsToMs(started.eventTime), endMs: tsToMs(close[1]!.eventTime),
      closed: close[0], failure: failure ? `${failure.message ?? ''} / ${failure.cause?.message ?? ''}` : null,
    });
  }
  return runs;
}
