/**
 * The one worker factory: a Worker on a task queue with the activities of createActivities(deps),
 * and the workflows (pre-built bundle in production, source path in development and tests).
 */
import { fileURLToPath } from 'node:url';
import { NativeConnection, Worker } from '@temporalio/worker';
import type { Activities } from '../activities/index.ts';

export const WORKFLOWS_PATH = fileURLToPath(new URL('../workflows/index.ts', import.meta.url));

export interface WorkerSpec {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  /** createActivities(deps), or a subset (the AI worker registers only its provider calls). */
  activities: Activities | Record<string, (...args: never[]) => Promise<unknown>>;
  /** Poll workflow tasks too (main worker). */
  withWorkflows: boolean;
  /** Path of a bundle built by `npm run build`; empty = bundle workflows/ at start. */
  workflowBundlePath?: string;
  maxConcurrentActivityTaskExecutions?: number;
  /** Server-side rate limit of the whole task queue, across all its workers (the AI provider's rate). */
  maxTaskQueueActivitiesPerSecond?: number;
  shutdownGraceTimeMs: number;
  identity?: string;
}

export function createWorker(spec: WorkerSpec): Promise<Worker> {
  const workflows = !spec.withWorkflows
    ? {}
    : spec.workflowBundlePath
      ? { workflowBundle: { codePath: spec.workflowBundlePath } }
      : { workflowsPath: WORKFLOWS_PATH };
  return Worker.create({
    connection: spec.connection,
    namespace: spec.namespace,
    taskQueue: spec.taskQueue,
    activities: spec.activities,
    ...workflows,
    ...(spec.maxConcurrentActivityTaskExecutions ? { maxConcurrentActivityTaskExecutions: spec.maxConcurrentActivityTaskExecutions } : {}),
    ...(spec.maxTaskQueueActivitiesPerSecond ? { maxTaskQueueActivitiesPerSecond: spec.maxTaskQueueActivitiesPerSecond } : {}),
    shutdownGraceTime: spec.shutdownGraceTimeMs,
    // Heartbeats carry cancellations back to activities: at most 2 s between them (instead of 0.8 ×
    // the heartbeat timeout) means a cancelled job's ffmpeg is killed within a couple of seconds.
    maxHeartbeatThrottleInterval: '2 seconds',
    ...(spec.identity ? { identity: spec.identity } : {}),
  });
}
