/**
 * learningCenter (id `learning-center-<tenantId>-<scope>`): the entity workflow of one learning
 * center (issue 9). It lives as long as the center and owns its state; the messages are in
 * learning-center-messages.ts, the state changes in lib/learning/center-state.ts (pure).
 *
 *   feedback(event) ──► pending (arrival order, deduplicated by feedbackId over the last 1,000 ids)
 *                          │ while active, one at a time:
 *                          ▼
 *        interpretFeedbackWithAi [AI queue]  ──any final failure──►  interpretFeedbackWithLexicon
 *        (or the lexicon directly)                    │
 *                          ▼                          ▼
 *        deltas applied to the weights (clamped, floored at 0) → a `feedback` version when they move;
 *        a genre confirmed for this music center's own music → confirmMusicGenre (once)
 *
 *   editWeights / setLabel / revert / archive (updates, validated before they are accepted)
 *   pause / resume (signals; a no-op when the center already is in that state)
 *
 * Paused: feedback is kept in `pending` (counted in feedbackPending) and applied in arrival order
 * on resume; an interpretation that comes back after a pause is kept for the resume. Suggestions
 * keep using the projection, i.e. the version the center had. Edits, labels and reverts still work
 * while paused (they are an operator's decisions, not learning).
 *
 * Labels: a version's label is the center's label when it was made. The stable version (served to
 * ordinary jobs) is the newest version made while stable; switching experimental → stable makes
 * the current version the stable one without making a version; stable → experimental keeps the old
 * stable version served while experimental versions are tried.
 *
 * Persistence: the main loop is the only caller of saveLearningCenter. Every change of state bumps
 * `revision`; the loop saves the projection with the versions and learning events not saved yet
 * (the first save writes the baseline version). Updates answer once their change is saved, so a
 * read of the projection after an update sees it. The interpretations run in a second coroutine,
 * so an update never waits for an AI call.
 *
 * Archive: the update answers once saved, pending feedback is dropped, the workflow completes.
 * Continue-as-new when the server suggests it or after `continueAsNewAfterEvents` events in one
 * run: the feedback loop takes no new event and finishes the one in hand, handlers finish,
 * everything is saved, and the whole state (pending events and the recent feedback ids included)
 * is carried to the next run, so no event is lost or applied twice. Workflow time only.
 */
import {
  allHandlersFinished,
  ApplicationFailure,
  condition,
  isCancellation,
  log,
  makeContinueAsNewFunc,
  proxyActivities,
  setHandler,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { InterpretFeedbackActivities } from '../activities/learning/interpret-feedback.ts';
import type { LearningEventRecord, SaveLearningCenterActivities } from '../activities/learning/save-learning-center.ts';
import {
  applyFeedback,
  archive,
  CenterRejectionError,
  copyCurrent,
  copyVersion,
  countGenreConfirmation,
  createCenter,
  editWeights,
  genreConfirmationFor,
  RecentIds,
  revert,
  setLabel,
  setPending,
  setStatus,
  validateArchive,
  validateEdit,
  validateLabel,
  validateRevert,
  type CenterState,
} from '../lib/learning/center-state.ts';
import type { CenterCurrent, CenterVersion, FeedbackEvent, FeedbackInterpretation, FeedbackRef } from '../lib/learning/contract.ts';
import { JobKindKey, StageKey, StageSinceKey, TenantIdKey } from '../lib/temporal/search-attributes.ts';
import {
  archiveUpdate,
  currentQuery,
  editWeightsUpdate,
  feedbackSignal,
  historyQuery,
  pauseSignal,
  resumeSignal,
  revertUpdate,
  setLabelUpdate,
  type LearningCenterInput,
} from './learning-center-messages.ts';

/** AI failures no retry can fix: the lexicon takes over at once. */
export const AI_NON_RETRYABLE = ['PROVIDER_UNAVAILABLE', 'PROVIDER_REJECTED', 'PROVIDER_AUTH', 'INVALID_RESPONSE'];

export const AI_INTERPRET_RETRY = {
  initialInterval: '1 second',
  backoffCoefficient: 2,
  maximumInterval: '30 seconds',
  maximumAttempts: 4,
  nonRetryableErrorTypes: AI_NON_RETRYABLE,
} as const;

// The one writer: retried until the database takes it (an entity workflow must not fail on an outage).
const store = proxyActivities<SaveLearningCenterActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '1 minute' },
});
// The lexicon is the fallback of last resort: retried until it answers, unless it fails non-retryably.
const lexicon = proxyActivities<Pick<InterpretFeedbackActivities, 'interpretFeedbackWithLexicon'>>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', maximumInterval: '1 minute' },
});
const genres = proxyActivities<Pick<InterpretFeedbackActivities, 'confirmMusicGenre'>>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds', maximumAttempts: 10 },
});

const JOB_KIND = 'learning-center';

export async function learningCenter(input: LearningCenterInput): Promise<CenterCurrent> {
  const ai = proxyActivities<Pick<InterpretFeedbackActivities, 'interpretFeedbackWithAi'>>({
    taskQueue: input.aiTaskQueue,
    startToCloseTimeout: '2 minutes',
    // An AI worker that is down (nothing polls its queue) hands the feedback to the lexicon after this.
    scheduleToCloseTimeout: '10 minutes',
    retry: AI_INTERPRET_RETRY,
  });
  const now = () => new Date().toISOString(); // workflow time

  // ── state ────────────────────────────────────────────────────────────────────────────────────
  let state: CenterState;
  let unsavedVersions: CenterVersion[] = [];
  let unsavedEvents: LearningEventRecord[] = [];
  let savedRevision: number;
  let pending: FeedbackEvent[];
  let recent: RecentIds;
  if (input.carried) {
    const carried = input.carried;
    state = { current: copyCurrent(carried.current), history: carried.history.map(copyVersion) };
    pending = [...carried.pending];
    recent = new RecentIds(carried.recentFeedbackIds);
    savedRevision = carried.current.revision; // the previous run saved everything before it continued
  } else {
    try {
      const created = createCenter(
        { centerId: input.centerId, tenantId: input.tenantId, scope: input.scope, label: input.label, createdBy: input.createdBy, baselineWeights: input.baselineWeights },
        now(),
      );
      state = created.state;
      unsavedVersions.push(created.baseline);
    } catch (err) {
      if (err instanceof CenterRejectionError) throw ApplicationFailure.nonRetryable(err.message, err.type);
      throw err;
    }
    pending = [];
    recent = new RecentIds();
    savedRevision = 0; // the API's row
  }
  /** Interpretations that came back while the center was paused, for the resume. */
  const interpreted = new Map<string, FeedbackInterpretation>();
  let processedThisRun = 0;
  let stopping = false;
  const dirty = () => state.current.revision > savedRevision;
  const limit = input.continueAsNewAfterEvents;
  const continueAsNewDue = () => workflowInfo().continueAsNewSuggested || (limit !== undefined && limit > 0 && processedThisRun >= limit);

  // ── search attributes and memo ───────────────────────────────────────────────────────────────
  const stageOf = () => (state.current.archived ? 'archived' : state.current.status);
  function showStage(): void {
    const info = workflowInfo();
    const stage = stageOf();
    if (info.typedSearchAttributes.get(StageKey) !== stage) {
      upsertSearchAttributes([{ key: StageKey, value: stage }, { key: StageSinceKey, value: new Date() }]);
    }
    const summary = `Learning center ${state.current.scope}: ${stage}, ${state.current.label}`;
    if ((info.memo as Record<string, unknown> | undefined)?.summary !== summary) upsertMemo({ summary });
  }
  {
    const info = workflowInfo();
    if (info.typedSearchAttributes.get(TenantIdKey) !== input.tenantId || info.typedSearchAttributes.get(JobKindKey) !== JOB_KIND) {
      upsertSearchAttributes([{ key: TenantIdKey, value: input.tenantId }, { key: JobKindKey, value: JOB_KIND }]);
    }
    showStage();
  }

  // ── messages ─────────────────────────────────────────────────────────────────────────────────
  /** A CenterRejectionError becomes the ApplicationFailure the API maps to 422 / 409. */
  function rejecting<T>(fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      if (err instanceof CenterRejectionError) throw ApplicationFailure.create({ type: err.type, message: err.message, nonRetryable: true });
      throw err;
    }
  }
  /** The update's answer: the state its change made, once saved. */
  async function answerWhenSaved(): Promise<CenterCurrent> {
    const answer = copyCurrent(state.current);
    await condition(() => savedRevision >= answer.revision);
    return answer;
  }

  setHandler(currentQuery, () => copyCurrent(state.current));
  setHandler(historyQuery, () => state.history.map(copyVersion));

  setHandler(feedbackSignal, (event: FeedbackEvent) => {
    if (state.current.archived) {
      log.info('feedback for an archived center ignored', { feedbackId: event?.feedbackId });
      return;
    }
    if (typeof event !== 'object' || event === null || typeof event.feedbackId !== 'string' || event.feedbackId === '') {
      log.warn('feedback signal without a feedbackId ignored');
      return;
    }
    if (event.tenantId !== state.current.tenantId) {
      log.warn('feedback of another tenant ignored', { feedbackId: event.feedbackId });
      return;
    }
    if (recent.has(event.feedbackId)) return; // sent again: applied (or waiting) already
    recent.add(event.feedbackId);
    pending.push(event);
    setPending(state, pending.length);
  });
  setHandler(pauseSignal, () => {
    if (setStatus(state, 'paused')) showStage();
  });
  setHandler(resumeSignal, () => {
    if (setStatus(state, 'active')) showStage();
  });

  setHandler(
    editWeightsUpdate,
    async (req) => {
      unsavedVersions.push(rejecting(() => editWeights(state, req, now())));
      return answerWhenSaved();
    },
    { validator: (req) => void rejecting(() => validateEdit(state, req)) },
  );
  setHandler(
    setLabelUpdate,
    async (req) => {
      if (!rejecting(() => setLabel(state, req))) return copyCurrent(state.current); // already that label
      showStage();
      return answerWhenSaved();
    },
    { validator: (req) => void rejecting(() => validateLabel(state, req)) },
  );
  setHandler(
    revertUpdate,
    async (req) => {
      unsavedVersions.push(rejecting(() => revert(state, req, now())));
      return answerWhenSaved();
    },
    { validator: (req) => void rejecting(() => validateRevert(state, req)) },
  );
  setHandler(
    archiveUpdate,
    async (req) => {
      rejecting(() => archive(state));
      if (pending.length > 0) log.info('center archived with feedback pending: not applied', { pending: pending.length, author: req?.author });
      pending = [];
      setPending(state, 0);
      showStage();
      return answerWhenSaved();
    },
    { validator: (_req) => rejecting(() => validateArchive(state)) },
  );

  // ── the feedback loop ────────────────────────────────────────────────────────────────────────
  async function interpret(event: FeedbackEvent): Promise<FeedbackInterpretation> {
    const ref: FeedbackRef = { tenantId: event.tenantId, kind: event.kind, feedbackId: event.feedbackId };
    if (event.interpretWith === 'ai') {
      try {
        return await ai.interpretFeedbackWithAi(ref);
      } catch (err) {
        if (isCancellation(err)) throw err;
        log.warn('AI interpretation failed: the lexicon interprets the feedback', { feedbackId: event.feedbackId, error: errorMessage(err) });
      }
    }
    try {
      return await lexicon.interpretFeedbackWithLexicon(ref);
    } catch (err) {
      if (isCancellation(err)) throw err;
      // Only a non-retryable failure gets here (e.g. the feedback row is gone): nothing to learn from it.
      log.error('feedback could not be interpreted: counted, nothing learned', { feedbackId: event.feedbackId, error: errorMessage(err) });
      return { source: 'lexicon', deltas: [], confirmedGenre: null, summary: 'not interpreted' };
    }
  }

  async function processFeedback(): Promise<void> {
    for (;;) {
      // No new event once a continue-as-new is due: the next run takes it.
      await condition(() => stopping || state.current.archived || (state.current.status === 'active' && pending.length > 0 && !continueAsNewDue()));
      if (stopping || state.current.archived) return;
      const event = pending[0]!;
      const interpretation = interpreted.get(event.feedbackId) ?? (await interpret(event));
      if (state.current.archived) return;
      if (state.current.status !== 'active') {
        interpreted.set(event.feedbackId, interpretation); // paused meanwhile: applied on resume
        continue;
      }
      interpreted.delete(event.feedbackId);
      pending.shift();
      const applied = applyFeedback(state, event, interpretation, now());
      setPending(state, pending.length);
      processedThisRun += 1;
      if (applied.version) {
        unsavedVersions.push(applied.version);
        unsavedEvents.push({
          feedbackId: event.feedbackId, feedbackKind: event.kind, versionBefore: applied.versionBefore, versionAfter: applied.version.version,
          deltas: applied.deltas, source: interpretation.source, summary: interpretation.summary,
        });
      } else if (applied.skipped) {
        log.info('feedback adjustment skipped: it would leave no positive weight', { feedbackId: event.feedbackId });
      }
      const genre = genreConfirmationFor(state.current.scope, event, interpretation);
      if (genre) {
        countGenreConfirmation(state, genre.genre);
        try {
          await genres.confirmMusicGenre({ tenantId: event.tenantId, musicId: genre.musicId, genre: genre.genre, feedbackId: event.feedbackId });
        } catch (err) {
          if (isCancellation(err)) throw err;
          log.warn('genre confirmation not recorded', { feedbackId: event.feedbackId, genre: genre.genre, error: errorMessage(err) });
        }
      }
    }
  }

  // ── the main loop: the one writer ────────────────────────────────────────────────────────────
  async function save(): Promise<void> {
    const current = copyCurrent(state.current);
    const newVersions = unsavedVersions;
    const events = unsavedEvents;
    unsavedVersions = [];
    unsavedEvents = [];
    await store.saveLearningCenter({ current, newVersions, events });
    savedRevision = Math.max(savedRevision, current.revision);
  }

  let processorDone = false;
  const processor = processFeedback().finally(() => {
    processorDone = true;
  });

  for (;;) {
    await condition(() => dirty() || state.current.archived || continueAsNewDue() || processorDone);
    if (state.current.archived || continueAsNewDue() || processorDone) break;
    await save();
  }
  // Archived, or time to continue as new: let the event in hand finish, then save until quiet.
  stopping = true;
  for (;;) {
    if (dirty()) {
      await save();
      continue;
    }
    if (processorDone && allHandlersFinished()) break;
    await condition(() => dirty() || (processorDone && allHandlersFinished()));
  }
  await processor; // rethrows what stopped the loop, if it failed

  if (state.current.archived) return copyCurrent(state.current);

  const info = workflowInfo();
  const next = makeContinueAsNewFunc<typeof learningCenter>({
    typedSearchAttributes: info.typedSearchAttributes,
    ...(info.memo ? { memo: info.memo } : {}),
  });
  return next({
    ...input,
    carried: { current: copyCurrent(state.current), history: state.history.map(copyVersion), pending: [...pending], recentFeedbackIds: recent.toArray() },
  });
}

function errorMessage(err: unknown): string {
  const cause = (err as { cause?: unknown })?.cause;
  if (cause instanceof Error) return cause.message;
  return err instanceof Error ? err.message : String(err);
}
