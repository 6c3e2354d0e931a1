/**
 * Runs an inspect* workflow (ffprobe on the uploaded object, on a worker) and waits for its answer,
 * so an upload route can refuse a file with 422 INVALID_MEDIA at once without running ffprobe itself.
 */
import { WorkflowFailedError, type Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { ProbedMedia } from '../../activities/media/probe-uploaded-media.ts';
import { withDependency } from '../../lib/dependencies.ts';
import { AppError } from '../../lib/errors.ts';

const INSPECT_DEADLINE_MS = 60_000;

export interface Inspection {
  workflowType: 'inspectVideo' | 'inspectMusic';
  workflowId: string;
  taskQueue: string;
  input: { tenantId: string; ownerId: string; storageKey: string; bucket?: 'uploads' | 'originals' };
  /** The sanitized file name, for messages. */
  filename: string;
}

export async function inspectUpload(temporal: Client, inspection: Inspection): Promise<ProbedMedia> {
  try {
    return await withDependency('temporal', () => temporal.withDeadline(Date.now() + INSPECT_DEADLINE_MS, () =>
      temporal.workflow.execute<(input: Inspection['input']) => Promise<ProbedMedia>>(inspection.workflowType, {
        workflowId: inspection.workflowId,
        taskQueue: inspection.taskQueue,
        args: [inspection.input],
        workflowExecutionTimeout: '2 minutes',
        staticSummary: `Inspect upload ${inspection.filename}`,
      }),
    ));
  } catch (err) {
    const cause = err instanceof WorkflowFailedError ? err.cause?.cause ?? err.cause : undefined;
    if (cause instanceof ApplicationFailure && (cause.type === 'INVALID_MEDIA' || cause.type === 'PROBE_TIMEOUT')) {
      throw new AppError(422, 'INVALID_MEDIA', `${inspection.filename}: ${cause.message}`, { details: { filename: inspection.filename } });
    }
    throw err;
  }
}
