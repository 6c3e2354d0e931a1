/**
 * The state of one learning center and every change that can be made to it (issue 9): pure
 * functions the `learningCenter` workflow calls from its handlers and its feedback loop, tested on
 * their own in test/unit/learning-center-state.test.ts. No Temporal and no Node APIs.
 *
 * Every function that changes the state bumps `current.revision` (the projection only accepts a
 * newer revision) and, when it makes a version, appends it to `history` and returns it so the
 * workflow can hand it to saveLearningCenter. Versions are immutable once made.
 *
 * Rules:
 * - A version's `label` is the center's label when the version was made.
 * - `stableVersion` is the version served to ordinary (non-experimental) jobs: every version made
 *   while the center is stable becomes it; switching experimental → stable makes the *current*
 *   version the stable one (no version is made); switching stable → experimental keeps the old
 *   stable version served while the new experimental versions are tried.
 * - Feedback deltas: the deltas of one interpretation are summed per sub-score, the sum clamped to
 *   ±MAX_FEEDBACK_DELTA, added to the weight and floored at 0 (weights rounded to 1e-9 so that
 *   float noise does not accumulate). The recorded delta is the change actually made; sub-scores
 *   that did not move are dropped. No change at all → no version. A change that would leave every
 *   additive weight at 0 is skipped whole (the feedback still counts as applied).
 * - History: the newest CENTER_HISTORY_IN_STATE versions, plus the baseline and the stable version
 *   whatever their age; a revert to a version no longer kept is UNKNOWN_VERSION (the version is
 *   still in learning_center_versions).
 */
import { SUBSCORES, type Subscore, type Weights } from '../clips/contract.ts';
import { positiveSum, validateWeights, WeightsError } from '../clips/weights.ts';
import {
  CENTER_HISTORY_IN_STATE,
  CENTER_LABELS,
  MAX_FEEDBACK_DELTA,
  mergeWeights,
  type CenterCurrent,
  type CenterLabel,
  type CenterRejection,
  type CenterStatus,
  type CenterVersion,
  type EditWeightsRequest,
  type FeedbackEvent,
  type FeedbackInterpretation,
  type RevertRequest,
  type SetLabelRequest,
  type WeightDelta,
} from './contract.ts';

/** The longest reason an edit or a revert may carry (characters). */
export const REASON_MAX = 500;

/** A center keeps the ids of this many most recent feedback events: a re-sent one is ignored. */
export const RECENT_FEEDBACK_IDS = 1_000;

/** An update refused: `type` is the ApplicationFailure type the workflow rejects it with. */
export class CenterRejectionError extends Error {
  readonly type: CenterRejection;
  constructor(type: CenterRejection, message: string) {
    super(message);
    this.name = 'CenterRejectionError';
    this.type = type;
  }
}

export interface CenterState {
  current: CenterCurrent;
  /** The versions kept, oldest first. */
  history: CenterVersion[];
}

export interface NewCenter {
  centerId: string;
  tenantId: string;
  scope: string;
  label: CenterLabel;
  createdBy: string;
  baselineWeights: Weights;
}

const round = (x: number): number => Math.round(x * 1e9) / 1e9;
const copyWeights = (w: Weights): Weights => ({ ...w });

function touch(state: CenterState): void {
  state.current.revision += 1;
}

/** A deep copy (the query and update answers never alias the live state). */
export function copyCurrent(current: CenterCurrent): CenterCurrent {
  return {
    ...current,
    weights: copyWeights(current.weights),
    baselineWeights: copyWeights(current.baselineWeights),
    stableWeights: current.stableWeights ? copyWeights(current.stableWeights) : null,
    genreConfirmations: { ...current.genreConfirmations },
  };
}

export function copyVersion(version: CenterVersion): CenterVersion {
  return { ...version, weights: copyWeights(version.weights) };
}

/** A new center at version 1, the baseline (revision 1: the API's row is at revision 0). Throws INVALID_WEIGHTS. */
export function createCenter(init: NewCenter, createdAt: string): { state: CenterState; baseline: CenterVersion } {
  let weights: Weights;
  try {
    weights = validateWeights(init.baselineWeights, false, 'baseline weights') as Weights;
  } catch (err) {
    throw new CenterRejectionError('INVALID_WEIGHTS', (err as Error).message);
  }
  if (!(positiveSum(weights) > 0)) throw new CenterRejectionError('INVALID_WEIGHTS', 'baseline weights: at least one sub-score other than frozen_penalty needs a weight > 0');
  if (!(CENTER_LABELS as readonly string[]).includes(init.label)) throw new CenterRejectionError('INVALID_LABEL', `label must be one of ${CENTER_LABELS.join(', ')}`);
  const baseline: CenterVersion = {
    version: 1, weights: copyWeights(weights), label: init.label, source: 'baseline', author: init.createdBy, reason: 'baseline', createdAt,
  };
  const current: CenterCurrent = {
    centerId: init.centerId,
    tenantId: init.tenantId,
    scope: init.scope,
    status: 'active',
    label: init.label,
    version: 1,
    weights: copyWeights(weights),
    baselineVersion: 1,
    baselineWeights: copyWeights(weights),
    stableVersion: init.label === 'stable' ? 1 : null,
    stableWeights: init.label === 'stable' ? copyWeights(weights) : null,
    feedbackApplied: 0,
    feedbackPending: 0,
    genreConfirmations: {},
    archived: false,
    revision: 1,
  };
  return { state: { current, history: [copyVersion(baseline)] }, baseline };
}

/** The versions kept: the newest `limit`, plus the baseline and the stable one (oldest first). */
export function trimHistory(history: CenterVersion[], keep: { baselineVersion: number; stableVersion: number | null }, limit = CENTER_HISTORY_IN_STATE): CenterVersion[] {
  if (history.length <= limit) return history;
  const newest = new Set(history.slice(-limit).map((v) => v.version));
  return history.filter((v) => newest.has(v.version) || v.version === keep.baselineVersion || v.version === keep.stableVersion);
}

/** Makes the next version from the current state (label, stable pointer, history, revision). */
function addVersion(state: CenterState, made: Omit<CenterVersion, 'version' | 'label'>): CenterVersion {
  const c = state.current;
  const version: CenterVersion = { version: c.version + 1, label: c.label, ...made, weights: copyWeights(made.weights) };
  c.version = version.version;
  c.weights = copyWeights(version.weights);
  if (version.label === 'stable') {
    c.stableVersion = version.version;
    c.stableWeights = copyWeights(version.weights);
  }
  state.history.push(version);
  state.history = trimHistory(state.history, c);
  touch(state);
  return copyVersion(version);
}

/**
 * What one interpretation does to `weights` (see the module comment). `skipped` when the change
 * would leave no additive weight > 0; `deltas` empty when nothing moves.
 */
export function feedbackWeights(weights: Weights, deltas: readonly WeightDelta[]): { weights: Weights; deltas: WeightDelta[]; skipped: boolean } {
  const sums = new Map<Subscore, { delta: number; reasons: string[] }>();
  for (const d of deltas) {
    if (!(SUBSCORES as readonly string[]).includes(d.subscore) || typeof d.delta !== 'number' || !Number.isFinite(d.delta)) continue;
    const sum = sums.get(d.subscore) ?? { delta: 0, reasons: [] };
    sum.delta += d.delta;
    if (typeof d.reason === 'string' && d.reason !== '') sum.reasons.push(d.reason);
    sums.set(d.subscore, sum);
  }
  const next = copyWeights(weights);
  const applied: WeightDelta[] = [];
  for (const [subscore, sum] of sums) {
    const delta = Math.max(-MAX_FEEDBACK_DELTA, Math.min(MAX_FEEDBACK_DELTA, sum.delta));
    const value = round(Math.max(0, weights[subscore] + delta));
    const moved = round(value - weights[subscore]);
    if (moved === 0) continue;
    next[subscore] = value;
    applied.push({ subscore, delta: moved, reason: sum.reasons.join('; ') });
  }
  if (applied.length === 0) return { weights: copyWeights(weights), deltas: [], skipped: false };
  if (!(positiveSum(next) > 0)) return { weights: copyWeights(weights), deltas: [], skipped: true };
  return { weights: next, deltas: applied, skipped: false };
}

export interface AppliedFeedback {
  /** The version the feedback made; null when it changed nothing (or was skipped). */
  version: CenterVersion | null;
  versionBefore: number;
  deltas: WeightDelta[];
  skipped: boolean;
}

/** Applies one interpreted feedback event: counts it, and makes a `feedback` version when weights move. */
export function applyFeedback(state: CenterState, event: Pick<FeedbackEvent, 'feedbackId'>, interpretation: FeedbackInterpretation, createdAt: string): AppliedFeedback {
  const versionBefore = state.current.version;
  const result = feedbackWeights(state.current.weights, interpretation.deltas);
  state.current.feedbackApplied += 1;
  if (result.deltas.length === 0) {
    touch(state);
    return { version: null, versionBefore, deltas: [], skipped: result.skipped };
  }
  const version = addVersion(state, {
    weights: result.weights,
    source: 'feedback',
    author: `feedback:${event.feedbackId}`,
    reason: interpretation.summary || 'feedback',
    createdAt,
  });
  return { version, versionBefore, deltas: result.deltas, skipped: false };
}

/** The music whose genre an interpreted feedback confirms, when this center is that music's; else null. */
export function genreConfirmationFor(scope: string, event: Pick<FeedbackEvent, 'kind' | 'musicId'>, interpretation: FeedbackInterpretation): { musicId: string; genre: string } | null {
  const genre = interpretation.confirmedGenre;
  if (!genre || event.kind !== 'music' || !event.musicId || scope !== `music-${event.musicId}`) return null;
  return { musicId: event.musicId, genre };
}

export function countGenreConfirmation(state: CenterState, genre: string): void {
  state.current.genreConfirmations[genre] = (state.current.genreConfirmations[genre] ?? 0) + 1;
  touch(state);
}

function checkOpen(state: CenterState): void {
  if (state.current.archived) throw new CenterRejectionError('CENTER_ARCHIVED', `the center ${state.current.scope} is archived`);
}

function checkReason(reason: unknown, required: boolean): string | undefined {
  if (reason === undefined && !required) return undefined;
  if (typeof reason !== 'string' || reason.trim() === '') throw new CenterRejectionError('INVALID_REASON', 'a reason is required (1–500 characters)');
  const trimmed = reason.trim();
  if (trimmed.length > REASON_MAX) throw new CenterRejectionError('INVALID_REASON', `the reason is ${trimmed.length} characters long; at most ${REASON_MAX} are allowed`);
  return trimmed;
}

const authorOf = (author: unknown): string => (typeof author === 'string' && author.trim() !== '' ? author.trim() : 'unknown');

/** The weights an edit would make; throws CENTER_ARCHIVED, INVALID_REASON or INVALID_WEIGHTS. */
export function validateEdit(state: CenterState, req: EditWeightsRequest): { weights: Weights; reason: string } {
  checkOpen(state);
  if (typeof req !== 'object' || req === null) throw new CenterRejectionError('INVALID_WEIGHTS', 'the edit must be an object with weights and a reason');
  const reason = checkReason(req.reason, true)!;
  let partial: Partial<Weights>;
  try {
    partial = validateWeights(req.weights, true);
  } catch (err) {
    if (err instanceof WeightsError) throw new CenterRejectionError('INVALID_WEIGHTS', err.message);
    throw err;
  }
  if (Object.keys(partial).length === 0) throw new CenterRejectionError('INVALID_WEIGHTS', 'weights: give at least one sub-score weight');
  const weights = mergeWeights(state.current.weights, partial);
  if (!(positiveSum(weights) > 0)) throw new CenterRejectionError('INVALID_WEIGHTS', 'weights: at least one sub-score other than frozen_penalty needs a weight > 0');
  return { weights, reason };
}

/** editWeights: a new `edit` version with the partial weights merged over the current ones. */
export function editWeights(state: CenterState, req: EditWeightsRequest, createdAt: string): CenterVersion {
  const { weights, reason } = validateEdit(state, req);
  return addVersion(state, { weights, source: 'edit', author: authorOf(req.author), reason, createdAt });
}

/** Throws CENTER_ARCHIVED or INVALID_LABEL. */
export function validateLabel(state: CenterState, req: SetLabelRequest): CenterLabel {
  checkOpen(state);
  const label = (req as { label?: unknown } | null)?.label;
  if (typeof label !== 'string' || !(CENTER_LABELS as readonly string[]).includes(label)) {
    throw new CenterRejectionError('INVALID_LABEL', `label must be one of ${CENTER_LABELS.join(', ')}, got ${JSON.stringify(label ?? null)}`);
  }
  return label as CenterLabel;
}

/** setLabel: false (nothing changed) for the center's own label; → stable makes the current version the stable one. */
export function setLabel(state: CenterState, req: SetLabelRequest): boolean {
  const label = validateLabel(state, req);
  const c = state.current;
  if (label === c.label) return false;
  c.label = label;
  if (label === 'stable') {
    c.stableVersion = c.version;
    c.stableWeights = copyWeights(c.weights);
    state.history = trimHistory(state.history, c);
  }
  touch(state);
  return true;
}

/** The version a revert restores, and its reason; throws CENTER_ARCHIVED, INVALID_REASON or UNKNOWN_VERSION. */
export function validateRevert(state: CenterState, req: RevertRequest): { target: CenterVersion; reason: string | undefined } {
  checkOpen(state);
  const to = (req as { to?: unknown } | null)?.to;
  const reason = checkReason((req as { reason?: unknown } | null)?.reason, false);
  const c = state.current;
  const number = to === 'baseline' ? c.baselineVersion : to;
  if (typeof number !== 'number' || !Number.isInteger(number) || number < 1 || number > c.version) {
    throw new CenterRejectionError('UNKNOWN_VERSION', `no version ${JSON.stringify(to ?? null)}: versions go from 1 to ${c.version} (or "baseline")`);
  }
  const target = state.history.find((v) => v.version === number);
  if (!target) {
    throw new CenterRejectionError(
      'UNKNOWN_VERSION',
      `version ${number} is no longer kept by the center (it keeps the baseline, the stable version and the last ${CENTER_HISTORY_IN_STATE} versions); `
        + 'its weights are still in the version history, and an edit can set them again',
    );
  }
  return { target, reason };
}

/** revert: a new `revert` version whose weights are exactly the target's. */
export function revert(state: CenterState, req: RevertRequest, createdAt: string): CenterVersion {
  const { target, reason } = validateRevert(state, req);
  return addVersion(state, {
    weights: copyWeights(target.weights),
    source: 'revert',
    author: authorOf(req.author),
    reason: reason ?? (target.version === state.current.baselineVersion ? 'revert to the baseline' : `revert to version ${target.version}`),
    createdAt,
    revertedTo: target.version,
  });
}

/** pause / resume: false when the center is already in that state (or archived). */
export function setStatus(state: CenterState, status: CenterStatus): boolean {
  if (state.current.archived || state.current.status === status) return false;
  state.current.status = status;
  touch(state);
  return true;
}

/** Throws CENTER_ARCHIVED when the center already is. */
export function validateArchive(state: CenterState): void {
  checkOpen(state);
}

/** archive: throws CENTER_ARCHIVED when it already is. */
export function archive(state: CenterState): void {
  checkOpen(state);
  state.current.archived = true;
  touch(state);
}

/** Records the number of feedback events waiting (a state change when it differs). */
export function setPending(state: CenterState, pending: number): void {
  if (state.current.feedbackPending === pending) return;
  state.current.feedbackPending = pending;
  touch(state);
}

/** The ids of the most recent feedback events, bounded (oldest dropped first). */
export class RecentIds {
  private readonly order: string[];
  private readonly set: Set<string>;
  private readonly limit: number;
  constructor(ids: readonly string[] = [], limit = RECENT_FEEDBACK_IDS) {
    this.limit = limit;
    this.order = ids.slice(-limit);
    this.set = new Set(this.order);
  }
  has(id: string): boolean {
    return this.set.has(id);
  }
  add(id: string): void {
    if (this.set.has(id)) return;
    this.order.push(id);
    this.set.add(id);
    while (this.order.length > this.limit) this.set.delete(this.order.shift()!);
  }
  toArray(): string[] {
    return [...this.order];
  }
}
