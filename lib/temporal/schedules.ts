/**
 * The Temporal Schedules Moviola runs, created (or brought up to date) when the main worker
 * starts. `temporal schedule list` / the Web UI's Schedules page shows them.
 */
import { ScheduleAlreadyRunning, ScheduleOverlapPolicy, type Client, type ScheduleOptions } from '@temporalio/client';

export const ASSET_PARTITIONS_SCHEDULE_ID = 'asset-partitions';

export function assetPartitionsSchedule(taskQueue: string, scheduleId = ASSET_PARTITIONS_SCHEDULE_ID): ScheduleOptions {
  return {
    scheduleId,
    spec: { calendars: [{ hour: 3, minute: 15, comment: 'daily at 03:15 UTC' }] },
    action: {
      type: 'startWorkflow',
      workflowType: 'maintainAssetPartitions',
      workflowId: `${scheduleId}-run`,
      taskQueue,
      workflowExecutionTimeout: '1 hour',
    },
    policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 day' },
    state: { note: 'Creates the monthly partitions of assets ahead of time', triggerImmediately: true },
  };
}

export const ASSET_CLEANUP_SCHEDULE_ID = 'asset-cleanup';

export function assetCleanupSchedule(taskQueue: string, scheduleId = ASSET_CLEANUP_SCHEDULE_ID): ScheduleOptions {
  return {
    scheduleId,
    spec: { intervals: [{ every: '1 hour', offset: '7 minutes' }] },
    action: {
      type: 'startWorkflow',
      workflowType: 'cleanUpAssets',
      workflowId: `${scheduleId}-run`,
      taskQueue,
      workflowExecutionTimeout: '1 hour',
    },
    policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 hour' },
    state: { note: 'Purges deleted assets after their retention and aborts expired direct uploads', triggerImmediately: true },
  };
}

/**
 * Creates the schedule, or updates its spec and action when it already exists. A new schedule runs
 * at once (triggerImmediately); with `runNowIfExisting` an existing one is triggered too, so the
 * work it does is never older than the last start of the worker.
 */
export async function ensureSchedule(client: Client, options: ScheduleOptions, runNowIfExisting = false): Promise<'created' | 'updated'> {
  try {
    await client.schedule.create(options);
    return 'created';
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
    const handle = client.schedule.getHandle(options.scheduleId);
    await handle.update((previous) => ({ ...previous, spec: options.spec, action: options.action, policies: options.policies }));
    if (runNowIfExisting) await handle.trigger();
    return 'updated';
  }
}
