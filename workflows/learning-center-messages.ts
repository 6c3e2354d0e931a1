/**
 * The messages of the `learningCenter` entity workflow, shared by the workflow, the API and the
 * `temporal` CLI (the names are the ones to pass to `--name`):
 *
 *   signals  feedback(FeedbackEvent)  pause()  resume()
 *   updates  editWeights(EditWeightsRequest)  setLabel(SetLabelRequest)  revert(RevertRequest)  archive(ArchiveRequest)
 *            — each answers the new CenterCurrent, or is rejected with an ApplicationFailure whose
 *            type is one of CENTER_REJECTIONS (the API answers 422 or 409)
 *   queries  current() → CenterCurrent   history() → CenterVersion[] (the versions kept in the workflow)
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { Weights } from '../lib/clips/contract.ts';
import type {
  ArchiveRequest, CenterCurrent, CenterLabel, CenterVersion, EditWeightsRequest, FeedbackEvent, RevertRequest, SetLabelRequest,
} from '../lib/learning/contract.ts';

export const feedbackSignal = defineSignal<[FeedbackEvent]>('feedback');
export const pauseSignal = defineSignal('pause');
export const resumeSignal = defineSignal('resume');

export const editWeightsUpdate = defineUpdate<CenterCurrent, [EditWeightsRequest]>('editWeights');
export const setLabelUpdate = defineUpdate<CenterCurrent, [SetLabelRequest]>('setLabel');
export const revertUpdate = defineUpdate<CenterCurrent, [RevertRequest]>('revert');
export const archiveUpdate = defineUpdate<CenterCurrent, [ArchiveRequest]>('archive');

export const currentQuery = defineQuery<CenterCurrent>('current');
export const historyQuery = defineQuery<CenterVersion[]>('history');

export interface LearningCenterInput {
  /** The `learning_centers` row this workflow owns. */
  centerId: string;
  tenantId: string;
  /** `global`, `artist-<id>` or `music-<id>`. */
  scope: string;
  label: CenterLabel;
  /** User id of whoever created the center (`system` when feedback created it). */
  createdBy: string;
  /** The weights of version 1 (the baseline): config's global baseline when the center was created. */
  baselineWeights: Weights;
  /** Task queue of the AI provider's activities (interpretFeedbackWithAi). */
  aiTaskQueue: string;
  /** Test hook: continue-as-new after this many feedback events in one run (besides continueAsNewSuggested). */
  continueAsNewAfterEvents?: number;
  /** Set by continue-as-new: the whole state of the previous run. */
  carried?: CarriedCenterState;
}

/** Everything a run hands to the next one on continue-as-new. */
export interface CarriedCenterState {
  current: CenterCurrent;
  /** The versions kept in the workflow (CENTER_HISTORY_IN_STATE, plus the baseline and the last stable one). */
  history: CenterVersion[];
  /** Feedback received and not applied yet, in arrival order. */
  pending: FeedbackEvent[];
  /** Ids of the most recent feedback events seen (a re-sent signal is not applied twice). */
  recentFeedbackIds: string[];
}
