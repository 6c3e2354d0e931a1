/**
 * learningCenter on the time-skipping server with mocked activities (issue 9): feedback applied in
 * arrival order and deduplicated, pause/resume with pending feedback, edits, labels and the stable
 * version, reverts (exact weights) and UNKNOWN_VERSION, the AI → lexicon fallback, genre
 * confirmations, archive, two isolated centers, and 1,000 feedback events across continue-as-new
 * runs applied exactly once.
 *
 * One main worker and one AI worker serve every test; the mocked activities find each test's fake by
 * the workflow id in their activity info.
 */
import '../support/quiet-runtime.ts';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Context } from '@temporalio/activity';
import { WorkflowUpdateFailedError, WorkflowUpdateStage, type WorkflowHandle, type WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import type { InterpretFeedbackActivities } from '../../activities/learning/interpret-feedback.ts';
import type { SaveLearningCenterInput } from '../../activities/learning/save-learning-center.ts';
import type { Subscore, Weights } from '../../lib/clips/contract.ts';
import { GLOBAL_BASELINE_WEIGHTS } from '../../lib/clips/weights.ts';
import {
  learningCenterWorkflowId,
  type CenterCurrent,
  type CenterRejection,
  type FeedbackEvent,
  type FeedbackInterpretation,
  type FeedbackRef,
} from '../../lib/learning/contract.ts';
import { JobKindKey, StageKey, TenantIdKey } from '../../lib/temporal/search-attributes.ts';
import { WORKFLOWS_PATH } from '../../workers/factory.ts';
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
} from '../../workflows/learning-center-messages.ts';
import { learningCenter } from '../../workflows/learning-center.ts';
import { requireEnv } from '../support/env.ts';
import { startTimeSkipping } from '../support/temporal.ts';

const MAIN_QUEUE = 'learning-main';
const AI_QUEUE = 'learning-ai';
const BASE: Weights = { ...GLOBAL_BASELINE_WEIGHTS };
const ARTIST = '22222222-2222-4222-8222-222222222222';
const MUSIC = '33333333-3333-4333-8333-333333333333';
const OTHER_MUSIC = '44444444-4444-4444-8444-444444444444';

interface Call {
  fn: 'ai' | 'lexicon';
  feedbackId: string;
  runId: string;
  attempt: number;
}

/** One test's mocked activities and what they saw. */
class Fake {
  calls: Call[] = [];
  saves: SaveLearningCenterInput[] = [];
  genres: Array<{ musicId: string; genre: string; feedbackId: string }> = [];
  /** While set, saveLearningCenter waits for it. */
  saveGate: Promise<void> | null = null;
  interpret: (ref: FeedbackRef) => FeedbackInterpretation = (ref) => interpretation(ref.feedbackId, 'energy', 0.01);
  ai: (ref: FeedbackRef, attempt: number) => Promise<FeedbackInterpretation> = async (ref) => ({ ...this.interpret(ref), source: 'ai' });
  lexiconDelayMs: (ref: FeedbackRef) => number = () => 0;

  lexiconCalls(): string[] {
    return this.calls.filter((c) => c.fn === 'lexicon').map((c) => c.feedbackId);
  }
  savedEvents() {
    return this.saves.flatMap((s) => s.events);
  }
  savedVersions() {
    return this.saves.flatMap((s) => s.newVersions);
  }
  lastSaved(): CenterCurrent {
    return this.saves.at(-1)!.current;
  }
}

function interpretation(feedbackId: string, subscore: Subscore, delta: number, extra: Partial<FeedbackInterpretation> = {}): FeedbackInterpretation {
  return { source: 'lexicon', deltas: [{ subscore, delta, reason: `${feedbackId}: ${subscore} ${delta > 0 ? '+' : ''}${delta}` }], confirmedGenre: null, summary: `summary of ${feedbackId}`, ...extra };
}

const fakes = new Map<string, Fake>();
function fakeOf(): { fake: Fake; info: { runId: string; attempt: number } } {
  const info = Context.current().info;
  const workflowId = info.workflowExecution?.workflowId ?? '';
  const fake = fakes.get(workflowId);
  if (!fake) throw ApplicationFailure.nonRetryable(`no fake for ${workflowId}`);
  return { fake, info: { runId: info.workflowExecution?.runId ?? '', attempt: info.attempt } };
}

type MainActivities = Pick<InterpretFeedbackActivities, 'interpretFeedbackWithLexicon' | 'confirmMusicGenre'> & {
  saveLearningCenter(input: SaveLearningCenterInput): Promise<{ projectionUpdated: boolean }>;
};
const mainActivities: MainActivities = {
  async saveLearningCenter(input) {
    const { fake } = fakeOf();
    if (fake.saveGate) await fake.saveGate;
    fake.saves.push(structuredClone(input));
    return { projectionUpdated: true };
  },
  async interpretFeedbackWithLexicon(ref) {
    const { fake, info } = fakeOf();
    fake.calls.push({ fn: 'lexicon', feedbackId: ref.feedbackId, runId: info.runId, attempt: info.attempt });
    const delay = fake.lexiconDelayMs(ref);
    if (delay > 0) await new Promise((r) => setTimeout(r, delay));
    return fake.interpret(ref);
  },
  async confirmMusicGenre(input) {
    fakeOf().fake.genres.push({ musicId: input.musicId, genre: input.genre, feedbackId: input.feedbackId });
    return { updated: true };
  },
};
const aiActivities: Pick<InterpretFeedbackActivities, 'interpretFeedbackWithAi'> = {
  async interpretFeedbackWithAi(ref) {
    const { fake, info } = fakeOf();
    fake.calls.push({ fn: 'ai', feedbackId: ref.feedbackId, runId: info.runId, attempt: info.attempt });
    return fake.ai(ref, info.attempt);
  },
};

function event(tenantId: string, feedbackId: string, extra: Partial<FeedbackEvent> = {}): FeedbackEvent {
  return {
    feedbackId, kind: 'artist', tenantId, musicId: null, artistId: ARTIST, clipJobId: null, variant: null, rating: 4, authorId: 'u1',
    interpretWith: 'lexicon', receivedAt: '2026-01-01T00:00:00.000Z', ...extra,
  };
}

async function until<T>(read: () => Promise<T>, ok: (value: T) => boolean, what: string, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (ok(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(value).slice(0, 500)}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function rejectsWith(promise: Promise<unknown>, type: CenterRejection): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof WorkflowUpdateFailedError, `expected an update failure, got ${String(err)}`);
    assert.ok(err.cause instanceof ApplicationFailure, `expected an ApplicationFailure, got ${String(err.cause)}`);
    assert.equal(err.cause.type, type);
    assert.ok(err.cause.message.length > 0);
    return true;
  });
}

describe('learningCenter workflow (time-skipping)', { timeout: 180_000 }, () => {
  let env: TestWorkflowEnvironment;
  let running: Promise<unknown>;
  let workers: Worker[] = [];
  const handles: WorkflowHandle[] = [];

  before(async () => {
    env = await startTimeSkipping(requireEnv('TEMPORAL_TEST_SERVER_PATH'));
    const bundle: WorkflowBundleWithSourceMap = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: quietBundleLogger });
    workers = [
      await Worker.create({ connection: env.nativeConnection, taskQueue: MAIN_QUEUE, workflowBundle: bundle, activities: mainActivities, maxCachedWorkflows: 50 }),
      await Worker.create({ connection: env.nativeConnection, taskQueue: AI_QUEUE, activities: aiActivities }),
    ];
    running = Promise.all(workers.map((w) => w.run()));
  });
  after(async () => {
    for (const handle of handles) await handle.terminate('test done').catch(() => undefined);
    for (const w of workers) w.shutdown();
    await running?.catch(() => undefined);
    await env?.teardown();
  });

  async function start(name: string, extra: Partial<LearningCenterInput> = {}): Promise<{ handle: WorkflowHandleWithFirstExecutionRunId<typeof learningCenter>; fake: Fake; tenantId: string }> {
    const tenantId = `tenant-${name}`;
    const input: LearningCenterInput = {
      centerId: `center-${name}`, tenantId, scope: 'global', label: 'stable', createdBy: 'u1', baselineWeights: { ...BASE }, aiTaskQueue: AI_QUEUE, ...extra,
    };
    const workflowId = learningCenterWorkflowId(tenantId, input.scope);
    const fake = new Fake();
    fakes.set(workflowId, fake);
    const handle = await env.client.workflow.start(learningCenter, { workflowId, taskQueue: MAIN_QUEUE, args: [input] });
    handles.push(handle);
    return { handle, fake, tenantId };
  }
  const current = (handle: WorkflowHandle<typeof learningCenter>) => handle.query(currentQuery);
  const applied = (handle: WorkflowHandle<typeof learningCenter>, n: number) =>
    until(() => current(handle), (c) => c.feedbackApplied >= n && c.feedbackPending === 0, `${n} feedback events applied`);
  /** Waits until the projection saved is the state the query shows. */
  async function settled(handle: WorkflowHandle<typeof learningCenter>, fake: Fake): Promise<CenterCurrent> {
    const now = await current(handle);
    await until(async () => fake.saves.at(-1)?.current.revision ?? 0, (r) => r >= now.revision, `revision ${now.revision} saved`);
    return now;
  }

  it('applies feedback in arrival order, once per feedbackId, and saves the baseline, the versions and the learning events', async () => {
    const { handle, fake, tenantId } = await start('ordering');
    const subscores: Subscore[] = ['hook', 'energy', 'motion', 'cuts_on_beats', 'music_fit'];
    fake.interpret = (ref) => {
      const i = Number(ref.feedbackId.slice(1));
      return interpretation(ref.feedbackId, subscores[i - 1]!, 0.01 * i);
    };
    // The first one is the slowest to interpret: the order is the arrival order, not the completion order.
    fake.lexiconDelayMs = (ref) => (ref.feedbackId === 'f1' ? 300 : 0);
    for (const id of ['f1', 'f2', 'f3', 'f4', 'f5']) await handle.signal(feedbackSignal, event(tenantId, id));
    await handle.signal(feedbackSignal, event(tenantId, 'f3')); // sent again
    await handle.signal(feedbackSignal, event('another-tenant', 'f9')); // not this center's tenant
    const c = await applied(handle, 5);
    await settled(handle, fake);

    assert.equal(c.version, 6);
    assert.equal(c.feedbackApplied, 5);
    assert.deepEqual(fake.lexiconCalls(), ['f1', 'f2', 'f3', 'f4', 'f5']);
    const history = await handle.query(historyQuery);
    assert.deepEqual(history.map((v) => [v.version, v.source, v.author]), [
      [1, 'baseline', 'u1'], [2, 'feedback', 'feedback:f1'], [3, 'feedback', 'feedback:f2'], [4, 'feedback', 'feedback:f3'], [5, 'feedback', 'feedback:f4'], [6, 'feedback', 'feedback:f5'],
    ]);
    const expected = { ...BASE, hook: 0.26, energy: 0.17, motion: 0.18, cuts_on_beats: 0.19, music_fit: 0.2 };
    assert.deepEqual(c.weights, expected);
    const events = fake.savedEvents();
    assert.deepEqual(events.map((e) => [e.feedbackId, e.versionBefore, e.versionAfter, e.deltas[0]!.subscore, e.deltas[0]!.delta]), [
      ['f1', 1, 2, 'hook', 0.01], ['f2', 2, 3, 'energy', 0.02], ['f3', 3, 4, 'motion', 0.03], ['f4', 4, 5, 'cuts_on_beats', 0.04], ['f5', 5, 6, 'music_fit', 0.05],
    ]);
    assert.deepEqual(events.map((e) => [e.source, e.summary, e.feedbackKind]).at(0), ['lexicon', 'summary of f1', 'artist']);
    assert.deepEqual(fake.saves[0]!.newVersions.map((v) => [v.version, v.source]).at(0), [1, 'baseline'], 'the first save carries the baseline');
    assert.deepEqual(fake.savedVersions().map((v) => v.version), [1, 2, 3, 4, 5, 6]);
    const revisions = fake.saves.map((s) => s.current.revision);
    assert.deepEqual(revisions, [...revisions].sort((a, b) => a - b), 'saves carry increasing revisions');
    assert.equal(new Set(revisions).size, revisions.length);
    assert.deepEqual(fake.lastSaved(), c);

    const described = await handle.describe();
    assert.equal(described.typedSearchAttributes.get(TenantIdKey), tenantId);
    assert.equal(described.typedSearchAttributes.get(JobKindKey), 'learning-center');
    assert.equal(described.typedSearchAttributes.get(StageKey), 'active');
    assert.equal(described.memo?.summary, 'Learning center global: active, stable');
  });

  it('keeps feedback pending while paused and applies it in order on resume; edits still work while paused', async () => {
    const { handle, fake, tenantId } = await start('pause');
    fake.interpret = (ref) => interpretation(ref.feedbackId, 'hook', ref.feedbackId === 'p2' ? -0.02 : 0.01);
    await handle.signal(pauseSignal);
    let c = await until(() => current(handle), (x) => x.status === 'paused', 'paused');
    const revision = c.revision;
    await handle.signal(pauseSignal); // already paused: nothing changes
    for (const id of ['p1', 'p2', 'p3']) await handle.signal(feedbackSignal, event(tenantId, id));
    c = await until(() => current(handle), (x) => x.feedbackPending === 3, '3 pending');
    assert.equal(c.revision, revision + 3, 'the second pause changed nothing');
    const edited = await handle.executeUpdate(editWeightsUpdate, { args: [{ weights: { motion: 0.3 }, reason: 'while paused', author: 'u2' }] });
    assert.equal(edited.version, 2);
    assert.equal(edited.status, 'paused');
    assert.equal(edited.feedbackPending, 3);
    await new Promise((r) => setTimeout(r, 300));
    c = await current(handle);
    assert.equal(c.feedbackApplied, 0);
    assert.equal(c.version, 2);
    assert.deepEqual(fake.calls, [], 'nothing is interpreted while paused');
    assert.equal((await settled(handle, fake)).feedbackPending, 3);
    assert.equal(fake.lastSaved().status, 'paused');
    assert.equal((await handle.describe()).typedSearchAttributes.get(StageKey), 'paused');

    await handle.signal(resumeSignal);
    await handle.signal(resumeSignal); // already active: a no-op
    c = await applied(handle, 3);
    assert.equal(c.status, 'active');
    assert.deepEqual(fake.lexiconCalls(), ['p1', 'p2', 'p3']);
    const history = await handle.query(historyQuery);
    assert.deepEqual(history.slice(2).map((v) => [v.version, v.author]), [[3, 'feedback:p1'], [4, 'feedback:p2'], [5, 'feedback:p3']]);
    assert.equal(c.weights.hook, 0.25);
    assert.equal(c.weights.motion, 0.3);
    await settled(handle, fake);
    assert.deepEqual(fake.savedEvents().map((e) => e.feedbackId), ['p1', 'p2', 'p3']);
    assert.equal((await handle.describe()).typedSearchAttributes.get(StageKey), 'active');
  });

  it('edits merge partial weights into a new version, answer once saved, and reject bad weights and reasons', async () => {
    const { handle, fake } = await start('edit');
    const answer = await handle.executeUpdate(editWeightsUpdate, { args: [{ weights: { hook: 0.35, energy: 0.05 }, reason: 'hooks first', author: 'u2' }] });
    assert.equal(answer.version, 2);
    assert.deepEqual(answer.weights, { ...BASE, hook: 0.35, energy: 0.05 });
    assert.ok(fake.saves.some((s) => s.current.revision >= answer.revision), 'the update answered after its change was saved');
    const saved = fake.savedVersions().find((v) => v.version === 2)!;
    assert.deepEqual([saved.source, saved.author, saved.reason, saved.label], ['edit', 'u2', 'hooks first', 'stable']);
    assert.equal(answer.stableVersion, 2);

    const before = await current(handle);
    await rejectsWith(handle.executeUpdate(editWeightsUpdate, { args: [{ weights: { hook: 0.2 }, reason: '  ', author: 'u2' }] }), 'INVALID_REASON');
    await rejectsWith(handle.executeUpdate(editWeightsUpdate, { args: [{ weights: { hook: 0.2 }, reason: 'x'.repeat(501), author: 'u2' }] }), 'INVALID_REASON');
    await rejectsWith(handle.executeUpdate(editWeightsUpdate, { args: [{ weights: { hook: -0.2 }, reason: 'r', author: 'u2' }] }), 'INVALID_WEIGHTS');
    await rejectsWith(
      handle.executeUpdate(editWeightsUpdate, { args: [{ weights: { hook: 0, energy: 0, motion: 0, cuts_on_beats: 0, music_fit: 0, visual_variety: 0 }, reason: 'r', author: 'u2' }] }),
      'INVALID_WEIGHTS',
    );
    assert.deepEqual(await current(handle), before, 'rejected edits change nothing');
  });

  it('labels: experimental versions are not stable; back to stable makes the current version stable; same label is a no-op', async () => {
    const { handle } = await start('label');
    let c = await handle.executeUpdate(setLabelUpdate, { args: [{ label: 'experimental', author: 'u2' }] });
    assert.equal(c.label, 'experimental');
    assert.equal(c.stableVersion, 1);
    const same = await handle.executeUpdate(setLabelUpdate, { args: [{ label: 'experimental', author: 'u2' }] });
    assert.equal(same.revision, c.revision);
    c = await handle.executeUpdate(editWeightsUpdate, { args: [{ weights: { hook: 0.4 }, reason: 'try more hook', author: 'u2' }] });
    assert.equal(c.version, 2);
    assert.equal(c.stableVersion, 1);
    assert.deepEqual(c.stableWeights, BASE);
    assert.equal((await handle.query(historyQuery)).at(-1)!.label, 'experimental');
    await rejectsWith(handle.executeUpdate(setLabelUpdate, { args: [{ label: 'beta' as never, author: 'u2' }] }), 'INVALID_LABEL');
    c = await handle.executeUpdate(setLabelUpdate, { args: [{ label: 'stable', author: 'u2' }] });
    assert.equal(c.label, 'stable');
    assert.equal(c.version, 2);
    assert.equal(c.stableVersion, 2);
    assert.deepEqual(c.stableWeights, { ...BASE, hook: 0.4 });
  });

  it('reverts to a version and to the baseline with exactly their weights; UNKNOWN_VERSION leaves the state unchanged', async () => {
    const { handle, fake, tenantId } = await start('revert');
    fake.interpret = (ref) => interpretation(ref.feedbackId, 'energy', 0.07);
    await handle.executeUpdate(editWeightsUpdate, { args: [{ weights: { hook: 0.123456789, visual_variety: 0.0333 }, reason: 'odd numbers', author: 'u2' }] });
    await handle.signal(feedbackSignal, event(tenantId, 'r1'));
    await applied(handle, 1);
    await handle.executeUpdate(editWeightsUpdate, { args: [{ weights: { motion: 0.01 }, reason: 'less motion', author: 'u2' }] });
    const history = await handle.query(historyQuery);
    assert.equal(history.length, 4);

    let c = await handle.executeUpdate(revertUpdate, { args: [{ to: 2, reason: 'back to the edit', author: 'u3' }] });
    assert.equal(c.version, 5);
    assert.deepStrictEqual(c.weights, history[1]!.weights);
    let made = (await handle.query(historyQuery)).at(-1)!;
    assert.deepEqual([made.source, made.revertedTo, made.author, made.reason], ['revert', 2, 'u3', 'back to the edit']);
    assert.deepStrictEqual(made.weights, history[1]!.weights);

    c = await handle.executeUpdate(revertUpdate, { args: [{ to: 'baseline', author: 'u3' }] });
    assert.equal(c.version, 6);
    assert.deepStrictEqual(c.weights, BASE);
    assert.deepStrictEqual(c.weights, c.baselineWeights);
    made = (await handle.query(historyQuery)).at(-1)!;
    assert.equal(made.revertedTo, 1);

    const beforeCurrent = await settled(handle, fake);
    const beforeHistory = await handle.query(historyQuery);
    const savesBefore = fake.saves.length;
    await rejectsWith(handle.executeUpdate(revertUpdate, { args: [{ to: 99, author: 'u3' }] }), 'UNKNOWN_VERSION');
    await rejectsWith(handle.executeUpdate(revertUpdate, { args: [{ to: 0, author: 'u3' }] }), 'UNKNOWN_VERSION');
    assert.deepStrictEqual(await current(handle), beforeCurrent);
    assert.deepStrictEqual(await handle.query(historyQuery), beforeHistory);
    assert.equal(fake.saves.length, savesBefore, 'a rejected revert saves nothing');
  });

  it('falls back to the lexicon when the AI fails (at once when non-retryable, after 4 attempts otherwise)', async () => {
    const { handle, fake, tenantId } = await start('ai');
    fake.ai = async (ref) => {
      if (ref.feedbackId === 'a-down') throw ApplicationFailure.nonRetryable('no provider configured', 'PROVIDER_UNAVAILABLE');
      if (ref.feedbackId === 'a-flaky') throw new Error('connection reset');
      return { ...interpretation(ref.feedbackId, 'hook', 0.02), source: 'ai', summary: 'the AI read it' };
    };
    await handle.signal(feedbackSignal, event(tenantId, 'a-ok', { interpretWith: 'ai' }));
    await handle.signal(feedbackSignal, event(tenantId, 'a-down', { interpretWith: 'ai' }));
    await handle.signal(feedbackSignal, event(tenantId, 'a-flaky', { interpretWith: 'ai' }));
    await handle.signal(feedbackSignal, event(tenantId, 'a-lex'));
    // The retries' backoff (1 s, 2 s, 4 s) is skipped by the test server's clock.
    let done = false;
    const skipping = (async () => {
      while (!done) await env.sleep(2_000);
    })();
    await applied(handle, 4).finally(() => {
      done = true;
    });
    await skipping;
    await settled(handle, fake);
    const calls = fake.calls.map((c) => `${c.fn}:${c.feedbackId}:${c.attempt}`);
    assert.deepEqual(calls, [
      'ai:a-ok:1', 'ai:a-down:1', 'lexicon:a-down:1', 'ai:a-flaky:1', 'ai:a-flaky:2', 'ai:a-flaky:3', 'ai:a-flaky:4', 'lexicon:a-flaky:1', 'lexicon:a-lex:1',
    ]);
    assert.deepEqual(fake.savedEvents().map((e) => [e.feedbackId, e.source]), [['a-ok', 'ai'], ['a-down', 'lexicon'], ['a-flaky', 'lexicon'], ['a-lex', 'lexicon']]);
  });

  it('confirms a genre once, only for feedback on this music center’s own music', async () => {
    const { handle, fake, tenantId } = await start('genre', { scope: `music-${MUSIC}` });
    fake.interpret = (ref) => ({ source: 'lexicon', deltas: [], confirmedGenre: 'samba', summary: 'é um samba' });
    await handle.signal(feedbackSignal, event(tenantId, 'g1', { kind: 'music', musicId: MUSIC }));
    await handle.signal(feedbackSignal, event(tenantId, 'g1', { kind: 'music', musicId: MUSIC })); // again
    await handle.signal(feedbackSignal, event(tenantId, 'g2', { kind: 'music', musicId: OTHER_MUSIC }));
    await handle.signal(feedbackSignal, event(tenantId, 'g3', { kind: 'artist' }));
    const c = await applied(handle, 3);
    assert.deepEqual(c.genreConfirmations, { samba: 1 });
    assert.equal(c.version, 1, 'no deltas, no version');
    assert.deepEqual(fake.genres, [{ musicId: MUSIC, genre: 'samba', feedbackId: 'g1' }]);
    assert.deepEqual(fake.savedEvents(), []);
  });

  it('archive answers once saved, rejects later updates with CENTER_ARCHIVED and completes the workflow', async () => {
    const { handle, fake, tenantId } = await start('archive');
    await handle.signal(feedbackSignal, event(tenantId, 'x1'));
    await applied(handle, 1);
    await settled(handle, fake);
    let open!: () => void;
    fake.saveGate = new Promise<void>((resolve) => {
      open = resolve;
    });
    const archiving = await handle.startUpdate(archiveUpdate, { args: [{ author: 'u2' }], waitForStage: WorkflowUpdateStage.ACCEPTED });
    await rejectsWith(handle.executeUpdate(editWeightsUpdate, { args: [{ weights: { hook: 0.3 }, reason: 'too late', author: 'u2' }] }), 'CENTER_ARCHIVED');
    await rejectsWith(handle.executeUpdate(archiveUpdate, { args: [{ author: 'u2' }] }), 'CENTER_ARCHIVED');
    await handle.signal(feedbackSignal, event(tenantId, 'x2')); // ignored
    open();
    fake.saveGate = null;
    const answer = await archiving.result();
    assert.equal(answer.archived, true);
    const result = await handle.result();
    assert.equal(result.archived, true);
    assert.equal(result.feedbackApplied, 1);
    assert.equal(fake.lastSaved().archived, true);
    assert.equal(fake.lastSaved().revision, result.revision);
    assert.deepEqual(fake.lexiconCalls(), ['x1']);
    assert.equal((await handle.describe()).status.name, 'COMPLETED');
  });

  it('keeps two centers isolated: feedback to one never changes the other', async () => {
    const a = await start('iso-a');
    const b = await start('iso-b', { scope: `artist-${ARTIST}` });
    const bBefore = await settled(b.handle, b.fake);
    for (let i = 0; i < 10; i++) await a.handle.signal(feedbackSignal, event(a.tenantId, `i${i}`));
    await a.handle.signal(pauseSignal);
    await a.handle.executeUpdate(editWeightsUpdate, { args: [{ weights: { hook: 0.5 }, reason: 'only a', author: 'u2' }] });
    const ca = await until(() => current(a.handle), (c) => c.feedbackApplied + c.feedbackPending === 10, 'a got its 10');
    assert.ok(ca.version > 1);
    assert.deepStrictEqual(await current(b.handle), bBefore);
    assert.deepEqual(await b.handle.query(historyQuery).then((h) => h.map((v) => v.version)), [1]);
    assert.deepEqual(b.fake.calls, []);
    assert.equal(b.fake.saves.length, 1, 'b saved only its creation');
    assert.ok(a.fake.saves.every((s) => s.current.centerId === 'center-iso-a'));
  });

  it('applies 1,000 feedback events exactly once across continue-as-new runs', { timeout: 170_000 }, async () => {
    const N = 1_000;
    const { handle, fake, tenantId } = await start('many', { continueAsNewAfterEvents: 100 });
    fake.interpret = (ref) => interpretation(ref.feedbackId, 'energy', Number(ref.feedbackId.slice(1)) % 2 === 0 ? 0.01 : -0.01);
    const ids = Array.from({ length: N }, (_, i) => `m${String(i).padStart(4, '0')}`);
    // In batches of 50, at most ~150 ahead of the interpretations, so that signals keep arriving
    // while runs continue as new (and pending events are carried over).
    for (let i = 0; i < N; i += 50) {
      await until(async () => fake.calls.length, (n) => n >= i - 100, `interpretations to reach ${i - 100}`);
      await Promise.all(ids.slice(i, i + 50).map((id) => handle.signal(feedbackSignal, event(tenantId, id))));
    }
    // Re-sent after the others: still applied once.
    await handle.signal(feedbackSignal, event(tenantId, ids[N - 1]!));
    // Waits on what the mocked save saw, not on queries: the Java test server's continue-as-new is not
    // atomic (sdk-java#1538), and a query polled while a run continues as new was seen to leave that
    // run's history without its ContinuedAsNew event (the chain then ends early for the client).
    await until(async () => fake.saves.at(-1)?.current, (x) => x !== undefined && x.feedbackApplied >= N && x.feedbackPending === 0, `${N} applied`, 150_000);
    const c = await settled(handle, fake);
    assert.equal(c.feedbackApplied, N);
    assert.equal(c.version, N + 1);

    const interpreted = fake.lexiconCalls();
    assert.equal(interpreted.length, N, 'each event interpreted once');
    assert.equal(new Set(interpreted).size, N);
    const events = fake.savedEvents();
    assert.equal(events.length, N, 'one learning event per feedback');
    assert.deepEqual(new Set(events.map((e) => e.feedbackId)), new Set(ids));
    for (let i = 1; i < events.length; i++) assert.equal(events[i]!.versionBefore, events[i - 1]!.versionAfter, 'events chain version to version');
    const versions = fake.savedVersions().map((v) => v.version);
    assert.deepEqual(versions, Array.from({ length: N + 1 }, (_, i) => i + 1), 'every version saved once, in order');
    const runs = new Set(fake.calls.map((x) => x.runId));
    assert.ok(runs.size >= 10, `interpreted in at least 10 runs (${runs.size})`);
    // The chain as the server recorded it: each run but the last ended in ContinuedAsNew.
    let continuedAsNew = 0;
    let runsSignalled = 0;
    for (let run: string | null | undefined = handle.firstExecutionRunId; run; ) {
      const history: { events?: Array<{ workflowExecutionSignaledEventAttributes?: unknown; workflowExecutionContinuedAsNewEventAttributes?: { newExecutionRunId?: string | null } | null }> | null } =
        await env.client.workflow.getHandle(handle.workflowId, run).fetchHistory();
      const events = history.events!;
      if (events.some((e) => e.workflowExecutionSignaledEventAttributes)) runsSignalled += 1;
      run = events.at(-1)!.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId;
      if (run) continuedAsNew += 1;
    }
    assert.ok(continuedAsNew >= 9, `continued as new at least 9 times (${continuedAsNew})`);
    assert.ok(runsSignalled >= 3, `feedback kept arriving across runs (${runsSignalled} runs were signalled)`);
    const history = await handle.query(historyQuery);
    assert.equal(history.length, 201, 'the newest 200 versions plus the baseline');
    assert.equal(history[0]!.version, 1);

    const done = await handle.executeUpdate(archiveUpdate, { args: [{ author: 'u1' }] });
    assert.equal(done.archived, true);
    assert.equal((await handle.result()).feedbackApplied, N);
  });
});

const quietBundleLogger = {
  log: () => undefined, trace: () => undefined, debug: () => undefined, info: () => undefined,
  warn: (message: string, meta?: unknown) => console.warn(message, meta ?? ''),
  error: (message: string, meta?: unknown) => console.error(message, meta ?? ''),
};
