/**
 * How the API talks to a center's entity workflow (`learningCenter`, id
 * `learning-center-<tenantId>-<scope>`): start it, signal feedback to it (starting it when missing),
 * query it, send it updates — and turn what Temporal answers into the API's errors:
 *
 * - an update rejected with an ApplicationFailure whose type is in CENTER_REJECTIONS → that status,
 *   the type as `code`, the failure's message;
 * - an archived center (its workflow completed) → 409 CENTER_ARCHIVED, before Temporal is asked when
 *   the projection already says so;
 * - Temporal unreachable or not answering in time → 503 DEPENDENCY_UNAVAILABLE;
 * - a live center whose workflow is gone (terminated by an operator, or never started because the
 *   API died between the row and the start) is started again from its projection (state carried
 *   over, so nothing learned is lost), then asked once more.
 */
import type { EntityManager } from '@mikro-orm/core';
import {
  QueryRejectedError, WorkflowClient, WorkflowUpdateFailedError, WorkflowUpdateRPCTimeoutOrCancelledError, type Client, type WorkflowHandle,
} from '@temporalio/client';
import { ApplicationFailure, WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError } from '@temporalio/common';
import type { Config } from '../../lib/config.ts';
import { dependencyUnavailable, AppError } from '../../lib/errors.ts';
import { withDependency } from '../../lib/dependencies.ts';
import { CENTER_HISTORY_IN_STATE, CENTER_REJECTIONS, type CenterCurrent, type FeedbackEvent } from '../../lib/learning/contract.ts';
import { JobKindKey, OwnerIdKey, TenantIdKey } from '../../lib/temporal/search-attributes.ts';
import { currentQuery, feedbackSignal, type CarriedCenterState, type LearningCenterInput } from '../../workflows/learning-center-messages.ts';
import { findTenantCenter, versionsForCarry, type CenterRow } from './center-rows.ts';

/** The workflow's signature (the workflow module itself is not imported by the API). */
type LearningCenterWorkflow = (input: LearningCenterInput) => Promise<unknown>;

export const LEARNING_CENTER_WORKFLOW = 'learningCenter';
export const CENTER_JOB_KIND = 'learning-center';
/** How long the API waits for Temporal on a start, signal or query (as the other routes' starts). */
const TEMPORAL_DEADLINE_MS = 5_000;
/** How long an update may take: it answers once the workflow has saved its change (an activity). */
export const UPDATE_DEADLINE_MS = 10_000;
/** How long GET waits for a center's `current` query before answering from the projection. */
const QUERY_DEADLINE_MS = 3_000;

export interface CenterDeps {
  config: Config;
  temporal: Client;
  em: () => EntityManager;
}

export interface RequestMeta {
  traceparent?: string;
  requestId?: string;
}

/**
 * Handles whose queries a closed workflow refuses (queryRejectCondition NOT_OPEN) instead of
 * answering from a replay of its history: the state of a completed or terminated center is its
 * projection, not its last run's memory. Same connection and namespace as the API's client.
 */
const centerClients = new WeakMap<Client, WorkflowClient>();
function centerHandle(temporal: Client, workflowId: string): WorkflowHandle {
  let client = centerClients.get(temporal);
  if (!client) {
    client = new WorkflowClient({
      connection: temporal.connection, namespace: temporal.options.namespace, dataConverter: temporal.options.dataConverter, queryRejectCondition: 'NOT_OPEN',
    });
    centerClients.set(temporal, client);
  }
  return client.getHandle(workflowId);
}

/** The workflow is not running (not found, or closed and refusing the query). */
const notRunning = (err: unknown) => err instanceof WorkflowNotFoundError || err instanceof QueryRejectedError;

export const centerArchived = (row: { id: string; scope: string }) =>
  new AppError(409, 'CENTER_ARCHIVED', `The learning center ${row.id} (${row.scope}) is archived; its history stays readable, nothing else can change it`);

/** Runs a Temporal call under the API's deadline; unreachable or too slow → 503. */
export function temporalCall<T>(temporal: Client, fn: () => Promise<T>, deadlineMs = TEMPORAL_DEADLINE_MS): Promise<T> {
  return withDependency('temporal', () => temporal.withDeadline(Date.now() + deadlineMs, fn)).catch((err: unknown) => {
    if (err instanceof WorkflowUpdateRPCTimeoutOrCancelledError) throw dependencyUnavailable('temporal', err);
    throw err;
  });
}

/** The input of a new center: version 1 is `baselineWeights`. */
export function freshInput(deps: CenterDeps, row: CenterRow, createdBy: string): LearningCenterInput {
  return {
    centerId: row.id,
    tenantId: row.tenant_id,
    scope: row.scope,
    label: row.label,
    createdBy,
    baselineWeights: row.baseline_weights ?? deps.config.clips.baselineWeights.weights,
    aiTaskQueue: deps.config.ai.taskQueue,
  };
}

/**
 * The input that restarts a live center whose workflow is gone: a fresh one when the workflow never
 * saved (revision 0), else its projection and stored versions carried over as continue-as-new would.
 */
async function restartInput(deps: CenterDeps, row: CenterRow): Promise<LearningCenterInput> {
  const input = freshInput(deps, row, row.created_by ?? 'system');
  if (row.revision === 0 || !row.weights || !row.baseline_weights) return input;
  const history = await versionsForCarry(deps.em(), row, CENTER_HISTORY_IN_STATE);
  const current: CenterCurrent = {
    centerId: row.id,
    tenantId: row.tenant_id,
    scope: row.scope,
    status: row.status === 'paused' ? 'paused' : 'active',
    label: row.label,
    version: row.version,
    weights: row.weights,
    baselineVersion: row.baseline_version,
    baselineWeights: row.baseline_weights,
    stableVersion: row.stable_version,
    stableWeights: row.stable_weights,
    feedbackApplied: row.feedback_applied,
    // Pending feedback was in the lost run's state only; it is not in the projection to carry.
    feedbackPending: 0,
    genreConfirmations: row.genre_confirmations ?? {},
    archived: false,
    revision: row.revision,
  };
  const carried: CarriedCenterState = { current, history, pending: [], recentFeedbackIds: [] };
  return { ...input, carried };
}

function startOptions(deps: CenterDeps, row: CenterRow, input: LearningCenterInput, meta: RequestMeta) {
  return {
    workflowId: row.workflow_id,
    taskQueue: deps.config.temporal.taskQueue,
    args: [input] as [LearningCenterInput],
    memo: { summary: `Learning center ${row.scope} (${row.id})`, traceparent: meta.traceparent, requestId: meta.requestId },
    staticSummary: `Learning center ${row.scope}`,
    typedSearchAttributes: [
      { key: TenantIdKey, value: row.tenant_id },
      { key: OwnerIdKey, value: input.createdBy },
      { key: JobKindKey, value: CENTER_JOB_KIND },
    ],
  };
}

/**
 * Starts the workflow of a center just inserted. The id may still belong to the run of an archived
 * center of the same scope that is finishing: that run is given a few seconds to complete; a run
 * still there afterwards is refused with 409 CENTER_BUSY.
 */
export async function startCenter(deps: CenterDeps, row: CenterRow, createdBy: string, meta: RequestMeta): Promise<void> {
  const options = { ...startOptions(deps, row, freshInput(deps, row, createdBy), meta), workflowIdReusePolicy: 'ALLOW_DUPLICATE' as const, workflowIdConflictPolicy: 'FAIL' as const };
  for (let attempt = 0; ; attempt++) {
    try {
      await temporalCall(deps.temporal, () => deps.temporal.workflow.start<LearningCenterWorkflow>(LEARNING_CENTER_WORKFLOW, options));
      return;
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError) || attempt >= 20) {
        if (err instanceof WorkflowExecutionAlreadyStartedError) {
          throw new AppError(409, 'CENTER_BUSY', `The previous learning center of ${row.scope} is still closing; retry in a moment`);
        }
        throw err;
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

export type Delivery = { delivered: true } | { delivered: false; reason: 'archived' };

/**
 * Signals feedback to a live center. A center that never saved is signalled with start (created on
 * its first feedback); one that has saved is signalled, and started again from its projection if its
 * workflow is gone. An archived run (completed) is never started again: `delivered: false`.
 */
export async function deliverFeedback(deps: CenterDeps, row: CenterRow, event: FeedbackEvent, meta: RequestMeta): Promise<Delivery> {
  if (row.revision > 0) {
    try {
      await temporalCall(deps.temporal, () => deps.temporal.workflow.getHandle(row.workflow_id).signal(feedbackSignal, event));
      return { delivered: true };
    } catch (err) {
      if (!notRunning(err)) throw err;
    }
  }
  const input = row.revision > 0 ? await restartInput(deps, row) : freshInput(deps, row, 'system');
  try {
    await temporalCall(deps.temporal, () => deps.temporal.workflow.signalWithStart<LearningCenterWorkflow, [FeedbackEvent]>(LEARNING_CENTER_WORKFLOW, {
      ...startOptions(deps, row, input, meta),
      // A completed run is an archived center: not revived. A failed or terminated one is restarted.
      workflowIdReusePolicy: 'ALLOW_DUPLICATE_FAILED_ONLY',
      signal: feedbackSignal,
      signalArgs: [event],
    }));
    return { delivered: true };
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) return { delivered: false, reason: 'archived' };
    throw err;
  }
}

/**
 * Runs `op` against the running workflow of a live center. A workflow not found is either an
 * archived center whose projection is behind (409 CENTER_ARCHIVED) or a live center whose workflow
 * is gone: that one is started again from its projection and `op` runs once more.
 */
export async function withRunningCenter<T>(
  deps: CenterDeps, row: CenterRow, meta: RequestMeta, op: (handle: WorkflowHandle) => Promise<T>, deadlineMs = TEMPORAL_DEADLINE_MS,
): Promise<T> {
  if (row.status === 'archived') throw centerArchived(row);
  try {
    return await temporalCall(deps.temporal, () => op(centerHandle(deps.temporal, row.workflow_id)), deadlineMs);
  } catch (err) {
    if (!notRunning(err)) throw mapCenterError(err, row);
  }
  const fresh = await findTenantCenter(deps.em(), row.tenant_id, row.id);
  if (fresh.status === 'archived') throw centerArchived(fresh);
  const input = await restartInput(deps, fresh);
  try {
    await temporalCall(deps.temporal, () => deps.temporal.workflow.start<LearningCenterWorkflow>(LEARNING_CENTER_WORKFLOW, {
      ...startOptions(deps, fresh, input, meta),
      workflowIdReusePolicy: 'ALLOW_DUPLICATE_FAILED_ONLY',
      workflowIdConflictPolicy: 'USE_EXISTING',
    }));
  } catch (err) {
    // The last run completed: the center was archived and its projection is not written yet.
    if (err instanceof WorkflowExecutionAlreadyStartedError) throw centerArchived(fresh);
    throw err;
  }
  try {
    return await temporalCall(deps.temporal, () => op(centerHandle(deps.temporal, fresh.workflow_id)), deadlineMs);
  } catch (err) {
    if (notRunning(err)) throw centerArchived(fresh);
    throw mapCenterError(err, fresh);
  }
}

/** An update's rejection → its CENTER_REJECTIONS status and type; anything else is left to the error handler. */
export function mapCenterError(err: unknown, row: { id: string; scope: string }): unknown {
  if (err instanceof WorkflowUpdateFailedError) {
    const cause = err.cause;
    if (cause instanceof ApplicationFailure && cause.type && Object.hasOwn(CENTER_REJECTIONS, cause.type)) {
      if (cause.type === 'CENTER_ARCHIVED') return centerArchived(row);
      return new AppError(CENTER_REJECTIONS[cause.type as keyof typeof CENTER_REJECTIONS], cause.type, cause.message || cause.type);
    }
  }
  return err;
}

/**
 * The running center's `current` state, or null when it cannot answer now (its workflow is closed
 * or missing, the query fails or times out): the caller then reads the projection. A workflow id
 * that now belongs to another center of the scope does not answer for this one.
 */
export async function queryCurrent(deps: CenterDeps, row: CenterRow, onError?: (err: unknown) => void): Promise<CenterCurrent | null> {
  if (row.status === 'archived') return null;
  try {
    const current = await temporalCall(deps.temporal, () => centerHandle(deps.temporal, row.workflow_id).query(currentQuery), QUERY_DEADLINE_MS);
    return current.centerId === row.id ? current : null;
  } catch (err) {
    if (!notRunning(err)) onError?.(err);
    return null;
  }
}
