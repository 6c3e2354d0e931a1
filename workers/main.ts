/** Main worker: every workflow and the light activities, on task queue `moviola`. */
import { runWorkerProcess } from './run-worker-process.ts';

await runWorkerProcess({ name: 'worker-main', queue: (config) => config.temporal.taskQueue, withWorkflows: true });
