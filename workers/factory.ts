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
  activities: Activities;
  /** Poll workflow tasks too (main worker). */
  withWorkflows: boolean;
  /** Path of a bundle built by `npm run build`; empty = bundle workflows/ at start. */
  workflowBundlePath?: string;
  maxConcurrentActivityTaskExecutions?: number;
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
    shutdownGraceTime: spec.shutdownGraceTimeMs,
    ...(spec.identity ? { identity: spec.identity } : {}),
  });
}
