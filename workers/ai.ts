/**
 * AI worker: the calls to paid AI providers (Whisper transcription, feedback interpretation:
 * createAiActivities), activities only, on task queue `moviola-ai` (AI_TASK_QUEUE). The queue is
 * rate limited server-side to AI_MAX_ACTIVITIES_PER_SECOND across all its workers
 * (`maxTaskQueueActivitiesPerSecond`): the provider's rate, whatever the number of AI workers.
 * Retries are Temporal's (the client never retries), so each one is in the workflow history and
 * goes through the same limit.
 */
import { createAiActivities } from '../activities/index.ts';
import { runWorkerProcess } from './run-worker-process.ts';

await runWorkerProcess({
  name: 'worker-ai',
  queue: (config) => config.ai.taskQueue,
  withWorkflows: false,
  maxTaskQueueActivitiesPerSecond: (config) => config.ai.maxActivitiesPerSecond,
  activities: ({ config, orm, storage, logger }) => createAiActivities({ orm, storage, ai: config.ai, logger }),
});
