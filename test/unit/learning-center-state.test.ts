/**
 * The pure state of a learning center (lib/learning/center-state.ts): creation, feedback deltas
 * (clamping, flooring, the all-zero skip, per-sub-score sums), edits, labels and the stable version,
 * reverts (exact weights, UNKNOWN_VERSION leaving the state alone), history trimming and the
 * bounded recent-feedback ids.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Weights } from '../../lib/clips/contract.ts';
import { GLOBAL_BASELINE_WEIGHTS } from '../../lib/clips/weights.ts';
import {
  applyFeedback,
  archive,
  CenterRejectionError,
  copyCurrent,
  countGenreConfirmation,
  createCenter,
  editWeights,
  feedbackWeights,
  genreConfirmationFor,
  RecentIds,
  revert,
  setLabel,
  setStatus,
  trimHistory,
  validateArchive,
  validateEdit,
  type CenterState,
} from '../../lib/learning/center-state.ts';
import { CENTER_HISTORY_IN_STATE, MAX_FEEDBACK_DELTA, type CenterLabel, type CenterVersion, type FeedbackInterpretation, type WeightDelta } from '../../lib/learning/contract.ts';

const T = '2026-01-01T00:00:00.000Z';
const BASE: Weights = { ...GLOBAL_BASELINE_WEIGHTS };
const MUSIC = '11111111-1111-4111-8111-111111111111';

function center(label: CenterLabel = 'stable', weights: Weights = BASE): CenterState {
  return createCenter({ centerId: 'c1', tenantId: 't1', scope: 'global', label, createdBy: 'u1', baselineWeights: weights }, T).state;
}
const interp = (deltas: WeightDelta[], extra: Partial<FeedbackInterpretation> = {}): FeedbackInterpretation => ({
  source: 'lexicon', deltas, confirmedGenre: null, summary: 'test', ...extra,
});
function rejects(fn: () => unknown, type: string): void {
  assert.throws(fn, (err: unknown) => err instanceof CenterRejectionError && err.type === type);
}

describe('learning center state', () => {
  it('creates version 1, the baseline, at revision 1; stable only when created stable', () => {
    const s = center();
    assert.equal(s.current.version, 1);
    assert.equal(s.current.revision, 1);
    assert.deepEqual(s.current.weights, BASE);
    assert.deepEqual(s.current.baselineWeights, BASE);
    assert.equal(s.current.stableVersion, 1);
    assert.deepEqual(s.history.map((v) => [v.version, v.source, v.label]), [[1, 'baseline', 'stable']]);
    const e = center('experimental');
    assert.equal(e.current.stableVersion, null);
    assert.equal(e.current.stableWeights, null);
    assert.throws(() => center('stable', { ...BASE, hook: -1 }), CenterRejectionError);
  });

  it('clamps each sub-score to ±MAX_FEEDBACK_DELTA, sums repeated sub-scores, floors at 0, drops what does not move', () => {
    const w: Weights = { ...BASE, motion: 0.02 };
    const r = feedbackWeights(w, [
      { subscore: 'energy', delta: 0.5, reason: 'a' },
      { subscore: 'hook', delta: 0.05, reason: 'b' },
      { subscore: 'hook', delta: 0.04, reason: 'c' },
      { subscore: 'motion', delta: -0.1, reason: 'd' },
      { subscore: 'music_fit', delta: 0.03, reason: 'e' },
      { subscore: 'music_fit', delta: -0.03, reason: 'f' },
      { subscore: 'nope' as never, delta: 0.1, reason: 'g' },
    ]);
    assert.equal(r.skipped, false);
    assert.equal(r.weights.energy, 0.15 + MAX_FEEDBACK_DELTA);
    assert.equal(r.weights.hook, 0.34);
    assert.equal(r.weights.motion, 0);
    assert.equal(r.weights.music_fit, 0.15);
    assert.deepEqual(r.deltas, [
      { subscore: 'energy', delta: 0.1, reason: 'a' },
      { subscore: 'hook', delta: 0.09, reason: 'b; c' },
      { subscore: 'motion', delta: -0.02, reason: 'd' },
    ]);
    assert.deepEqual(w, { ...BASE, motion: 0.02 }, 'the input weights are not touched');
  });

  it('skips an adjustment that would leave no additive weight > 0, but counts the feedback', () => {
    const only: Weights = { hook: 0.05, energy: 0, motion: 0, cuts_on_beats: 0, music_fit: 0, visual_variety: 0, frozen_penalty: 0.5 };
    const s = center('stable', only);
    const a = applyFeedback(s, { feedbackId: 'f1' }, interp([{ subscore: 'hook', delta: -0.1, reason: 'less hook' }]), T);
    assert.equal(a.skipped, true);
    assert.equal(a.version, null);
    assert.equal(s.current.version, 1);
    assert.equal(s.current.feedbackApplied, 1);
    assert.deepEqual(s.current.weights, only);
  });

  it('makes a feedback version per effective change, none when nothing moves', () => {
    const s = center();
    const a = applyFeedback(s, { feedbackId: 'f1' }, interp([{ subscore: 'energy', delta: 0.05, reason: 'more energy' }], { summary: 'more energy' }), T);
    assert.equal(a.version?.version, 2);
    assert.equal(a.versionBefore, 1);
    assert.equal(a.version?.source, 'feedback');
    assert.equal(a.version?.author, 'feedback:f1');
    assert.equal(a.version?.reason, 'more energy');
    assert.equal(s.current.weights.energy, 0.2);
    assert.equal(s.current.stableVersion, 2, 'a version made while stable is the stable one');
    const none = applyFeedback(s, { feedbackId: 'f2' }, interp([]), T);
    assert.equal(none.version, null);
    assert.equal(s.current.version, 2);
    assert.equal(s.current.feedbackApplied, 2);
  });

  it('edits merge partial weights, need a reason and a positive sum', () => {
    const s = center();
    const v = editWeights(s, { weights: { hook: 0.4 }, reason: ' hooks matter ', author: 'u2' }, T);
    assert.equal(v.version, 2);
    assert.equal(v.source, 'edit');
    assert.equal(v.reason, 'hooks matter');
    assert.deepEqual(s.current.weights, { ...BASE, hook: 0.4 });
    const before = copyCurrent(s.current);
    rejects(() => editWeights(s, { weights: { hook: 0.4 }, reason: '', author: 'u2' }, T), 'INVALID_REASON');
    rejects(() => editWeights(s, { weights: { hook: 0.4 }, reason: 'x'.repeat(501), author: 'u2' }, T), 'INVALID_REASON');
    rejects(() => editWeights(s, { weights: { hook: -1 }, reason: 'r', author: 'u2' }, T), 'INVALID_WEIGHTS');
    rejects(() => editWeights(s, { weights: { bogus: 1 } as never, reason: 'r', author: 'u2' }, T), 'INVALID_WEIGHTS');
    rejects(() => editWeights(s, { weights: {}, reason: 'r', author: 'u2' }, T), 'INVALID_WEIGHTS');
    rejects(
      () => validateEdit(s, { weights: { hook: 0, energy: 0, motion: 0, cuts_on_beats: 0, music_fit: 0, visual_variety: 0 }, reason: 'r', author: 'u2' }),
      'INVALID_WEIGHTS',
    );
    assert.deepEqual(s.current, before, 'a rejected edit changes nothing');
  });

  it('labels: same label is a no-op; → stable makes the current version stable; experimental versions are not stable', () => {
    const s = center();
    assert.equal(setLabel(s, { label: 'stable', author: 'u' }), false);
    assert.equal(s.current.revision, 1);
    assert.equal(setLabel(s, { label: 'experimental', author: 'u' }), true);
    editWeights(s, { weights: { hook: 0.3 }, reason: 'try', author: 'u' }, T);
    assert.equal(s.history.at(-1)!.label, 'experimental');
    assert.equal(s.current.stableVersion, 1);
    assert.deepEqual(s.current.stableWeights, BASE);
    assert.equal(setLabel(s, { label: 'stable', author: 'u' }), true);
    assert.equal(s.current.stableVersion, 2);
    assert.deepEqual(s.current.stableWeights, { ...BASE, hook: 0.3 });
    assert.equal(s.current.version, 2, 'no version is made by a label');
    rejects(() => setLabel(s, { label: 'beta' as never, author: 'u' }), 'INVALID_LABEL');
  });

  it('reverts to a version and to the baseline with exactly their weights; UNKNOWN_VERSION changes nothing', () => {
    const s = center();
    editWeights(s, { weights: { hook: 0.123456789 }, reason: 'a', author: 'u' }, T);
    applyFeedback(s, { feedbackId: 'f' }, interp([{ subscore: 'energy', delta: 0.07, reason: 'x' }]), T);
    const v2 = s.history.find((v) => v.version === 2)!;
    const r = revert(s, { to: 2, author: 'u' }, T);
    assert.equal(r.version, 4);
    assert.equal(r.source, 'revert');
    assert.equal(r.revertedTo, 2);
    assert.deepStrictEqual(s.current.weights, v2.weights);
    const b = revert(s, { to: 'baseline', reason: 'start over', author: 'u' }, T);
    assert.equal(b.revertedTo, 1);
    assert.equal(b.reason, 'start over');
    assert.deepStrictEqual(s.current.weights, BASE);
    const before = structuredClone(s);
    for (const to of [99, 0, 1.5, -1, 'two' as never]) rejects(() => revert(s, { to, author: 'u' }, T), 'UNKNOWN_VERSION');
    assert.deepStrictEqual(s, before);
  });

  it('keeps the newest versions plus the baseline and the stable one; a trimmed version is UNKNOWN_VERSION', () => {
    const s = center();
    editWeights(s, { weights: { hook: 0.3 }, reason: 'stable one', author: 'u' }, T); // v2, stable
    setLabel(s, { label: 'experimental', author: 'u' });
    for (let i = 0; i < CENTER_HISTORY_IN_STATE + 20; i++) {
      applyFeedback(s, { feedbackId: `f${i}` }, interp([{ subscore: 'energy', delta: i % 2 === 0 ? 0.01 : -0.01, reason: 'x' }]), T);
    }
    const versions = s.history.map((v) => v.version);
    assert.equal(s.history.length, CENTER_HISTORY_IN_STATE + 2);
    assert.deepEqual(versions.slice(0, 2), [1, 2]);
    assert.equal(versions.at(-1), s.current.version);
    assert.deepEqual(versions.slice(2), Array.from({ length: CENTER_HISTORY_IN_STATE }, (_, i) => s.current.version - CENTER_HISTORY_IN_STATE + 1 + i));
    assert.throws(() => revert(s, { to: 3, author: 'u' }, T), (err: unknown) => err instanceof CenterRejectionError && err.type === 'UNKNOWN_VERSION' && /no longer kept/.test(err.message));
    revert(s, { to: 2, author: 'u' }, T);
    assert.equal(s.current.weights.hook, 0.3);
    const plain: CenterVersion[] = Array.from({ length: 5 }, (_, i) => ({ ...s.history[0]!, version: i + 1 }));
    assert.deepEqual(trimHistory(plain, { baselineVersion: 1, stableVersion: 2 }, 2).map((v) => v.version), [1, 2, 4, 5]);
  });

  it('pause/resume are no-ops in the same state; archive rejects a second time', () => {
    const s = center();
    assert.equal(setStatus(s, 'active'), false);
    assert.equal(setStatus(s, 'paused'), true);
    assert.equal(setStatus(s, 'paused'), false);
    assert.equal(setStatus(s, 'active'), true);
    archive(s);
    assert.equal(s.current.archived, true);
    rejects(() => validateArchive(s), 'CENTER_ARCHIVED');
    rejects(() => editWeights(s, { weights: { hook: 1 }, reason: 'r', author: 'u' }, T), 'CENTER_ARCHIVED');
    rejects(() => revert(s, { to: 1, author: 'u' }, T), 'CENTER_ARCHIVED');
    rejects(() => setLabel(s, { label: 'experimental', author: 'u' }), 'CENTER_ARCHIVED');
    assert.equal(setStatus(s, 'paused'), false);
  });

  it('confirms a genre only for music feedback on that music’s own center', () => {
    const i = interp([], { confirmedGenre: 'samba' });
    assert.deepEqual(genreConfirmationFor(`music-${MUSIC}`, { kind: 'music', musicId: MUSIC }, i), { musicId: MUSIC, genre: 'samba' });
    assert.equal(genreConfirmationFor('global', { kind: 'music', musicId: MUSIC }, i), null);
    assert.equal(genreConfirmationFor(`music-${MUSIC}`, { kind: 'artist', musicId: null }, i), null);
    assert.equal(genreConfirmationFor(`music-${MUSIC}`, { kind: 'music', musicId: MUSIC }, interp([])), null);
    const s = center();
    countGenreConfirmation(s, 'samba');
    countGenreConfirmation(s, 'samba');
    assert.deepEqual(s.current.genreConfirmations, { samba: 2 });
  });

  it('remembers a bounded number of feedback ids', () => {
    const r = new RecentIds([], 3);
    for (const id of ['a', 'b', 'c', 'a', 'd']) r.add(id);
    assert.deepEqual(r.toArray(), ['b', 'c', 'd']);
    assert.equal(r.has('a'), false);
    assert.equal(new RecentIds(['x', 'y', 'z', 'w'], 3).has('x'), false);
  });
});
