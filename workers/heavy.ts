/**
 * Heavy worker: renders and transcodes on task queue `moviola-heavy`, ONE activity at a time.
 * Capacity grows by running more heavy workers, never by raising this slot count.
 */
import { runWorkerProcess } from './run-worker-process.ts';

await runWorkerProcess({
  name: 'worker-heavy',
  queue: (config) => config.temporal.heavyTaskQueue,
  withWorkflows: false,
  maxConcurrentActivityTaskExecutions: 1,
});
