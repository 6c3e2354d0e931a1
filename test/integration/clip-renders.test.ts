/**
 * Clip renders (issue 8) on the real stack: the heavy queue's one-slot rule across 4 concurrent
 * jobs (read from the workflow histories: no two heavy activities overlap, each job's variants in
 * index order); downloads of renders that are not done (409) or do not exist (404), and another
 * tenant's job (404); cancel during a render (ffmpeg killed, the variant `cancelled`, no object
 * left); the heavy worker SIGKILLed mid-render (retried after the heartbeat timeout, done, one
 * object per variant, no temp dir left); ffmpeg failing on one variant (retried 3 times, `failed`,
 * the job `done (partial)`) and on every variant (`failed` RENDER_FAILED); a variant failing the
 * A/V sync check (rendered twice, `failed_sync` with the measured deviation, its object deleted
 * after CLIP_INTERMEDIATE_RETENTION_HOURS — 10.8 s on this stack — while the done one stays).
 *
 * Faults are injected at the activity boundary (startTestStack's wrapActivities), keyed by tenant,
 * so each test's jobs get only their own: `hold` keeps variant 0 waiting (heartbeating) until the
 * test releases it; `fail` runs the real renderClipVariant with an impossible plan (a 9:16 crop of
 * a 3840×2160 picture on the 320×180 video), so ffmpeg itself fails on that variant; `desync`
 * lets the real render finish, then stores a stream-copy remux of it whose audio starts 300 ms
 * late, so the real checkClipRender measures the desync and fails it.
 */
import '../support/quiet-runtime.ts';
import assert from 'node:assert/strict';
import { execFile, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { Context } from '@temporalio/activity';
import { defaultPayloadConverter } from '@temporalio/common';
import { tsToMs } from '@temporalio/common/lib/time.js';
import type { Activities } from '../../activities/index.ts';
import type { RenderClipVariantInput } from '../../activities/media/render-clip-variant.ts';
import { probeRender, RENDER_SYNC_TOLERANCE_MS, streamDeviationMs } from '../../lib/clips/check-render.ts';
import { call, registerTenant, type Session } from '../support/accounts.ts';
import { makeLongVideo, makePerformance } from '../support/clips.ts';
import { ffmpegProcessesWith } from '../support/processes.ts';
import { alive, filesUnder, processesMatching, startHeavyWorkerProcess } from '../support/heavy-worker-process.ts';
import { heavyRuns as heavyRunsOf, type HeavyRun } from '../support/heavy-runs.ts';
import { EventType } from '../support/history.ts';
import { tempDir } from '../support/media.ts';
import { eventually, startTestStack, type TestStack } from '../support/stack.ts';

type Body = Record<string, unknown>;
const TERMINAL = ['done', 'failed', 'cancelled'];
const HEAVY_ACTIVITIES = ['analyzeVideoOriginal', 'syncClipMusic', 'renderClipVariant', 'checkClipRender'];
/** The rendering activities' retry policy in workflows/clip-job.ts: 3 attempts, 10 s then 20 s apart. */
const RENDER_ACTIVITY_ATTEMPTS = 3;
const RENDER_RETRY_BACKOFF_MS = 10_000 + 20_000;
/** How late the `desync` fault puts a render's audio (ms): far beyond the check's 40 ms tolerance. */
const DESYNC_MS = 300;
/** CLIP_INTERMEDIATE_RETENTION_HOURS of the main stack: 10.8 s, so a failed variant's object is deleted within the test. */
const RETENTION_HOURS = 0.003;
const RETENTION_MS = RETENTION_HOURS * 3_600_000;
const FFMPEG = process.env.FFMPEG_PATH ?? 'ffmpeg';
const run = promisify(execFile);
const ENV = {
  OPENAI_API_KEY: '',
  RATE_LIMIT_REQUESTS_PER_USER: '100000',
  RATE_LIMIT_UPLOADS_PER_USER_PER_MINUTE: '1000',
  RATE_LIMIT_CLIP_JOBS_PER_USER_PER_MINUTE: '1000',
  RATE_LIMIT_DOWNLOADS_PER_USER_PER_MINUTE: '1000',
};

interface User {
  session: Session;
  artistId: string;
}

/** What a tenant's renderClipVariant calls get (see the file comment). */
interface Fault {
  hold?: { released: boolean };
  fail?: 'all' | number[];
  /** These variants' renders are stored with their audio DESYNC_MS late (every render of them). */
  desync?: number[];
}

describe('clip renders on the real stack', { timeout: 900_000 }, () => {
  let stack: TestStack;
  let base: string;
  let dir: string;
  let workRoot: string;
  const faults = new Map<string, Fault>();
  const media = {} as { shows: string[]; long: string };

  /** renderClipVariant with the tenant's fault, if any; everything else unchanged. */
  function withFaults(activities: Activities): Activities {
    const real = activities.renderClipVariant;
    return {
      ...activities,
      async renderClipVariant(input: RenderClipVariantInput) {
        const fault = faults.get(input.tenantId);
        if (fault?.hold && input.index === 0) {
          const ctx = Context.current();
          while (!fault.hold.released) {
            ctx.heartbeat({ percent: 0 });
            await ctx.sleep(200);
          }
        }
        if (fault?.fail === 'all' || fault?.fail?.includes(input.index)) {
          // A 9:16 crop 1216 px wide of a picture that is really 320 px wide: ffmpeg's crop filter refuses it.
          return real({ ...input, vertical: true, video: { ...input.video, width: 3840, height: 2160 } });
        }
        const rendered = await real(input);
        if (fault?.desync?.includes(input.index)) return { ...rendered, sizeBytes: await delayAudio(rendered.storageKey, input.index) };
        return rendered;
      },
    };
  }

  /**
   * Replaces the stored render by a remux of it (stream copy) whose audio starts DESYNC_MS late,
   * so the real checkClipRender measures the desync. Returns the new object's size.
   */
  async function delayAudio(key: string, index: number): Promise<number> {
    const original = join(dir, `desync-${index}-${basename(key)}`);
    const delayed = join(dir, `desync-${index}-delayed-${basename(key)}`);
    try {
      await stack.storage.getToFile('exports', key, original);
      await run(FFMPEG, [
        '-v', 'error', '-y', '-i', original, '-itsoffset', String(DESYNC_MS / 1000), '-i', original,
        '-map', '0:v:0', '-map', '1:a:0', '-c', 'copy', '-movflags', '+faststart', delayed,
      ]);
      return (await stack.storage.put('exports', key, await readFile(delayed), { contentType: 'video/mp4' })).size;
    } finally {
      await rm(original, { force: true });
      await rm(delayed, { force: true });
    }
  }

  before(async () => {
    dir = await tempDir('moviola-clip-renders-');
    workRoot = await tempDir('moviola-clip-renders-work-');
    const made = Promise.all([
      ...[20, 21, 22, 23].map((seconds) => makePerformance(dir, `show-${seconds}.mp4`, { seconds })),
      // 60 s of 1280×720 (a 2 s segment repeated): each 20–30 s variant takes several seconds to render.
      makeLongVideo(dir, 'long-720p.mp4', { seconds: 60, size: '1280x720' }),
    ]);
    stack = await startTestStack({ name: 'clip-renders', env: { ...ENV, CLIP_INTERMEDIATE_RETENTION_HOURS: String(RETENTION_HOURS) }, workDir: workRoot, wrapActivities: withFaults });
    base = stack.baseUrl;
    const files = await made;
    media.shows = files.slice(0, 4);
    media.long = files[4]!;
  });
  after(async () => {
    for (const fault of faults.values()) if (fault.hold) fault.hold.released = true;
    await stack?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
    if (workRoot) await rm(workRoot, { recursive: true, force: true });
  });

  // -------------------------------------------------------------------------------------------
  // Helpers

  async function newUser(baseUrl = base): Promise<User> {
    const session = await registerTenant(baseUrl);
    const artist = await call(baseUrl, 'POST', '/api/v1/artists', { token: session.access, body: { name: 'Banda Teste' } });
    assert.equal(artist.status, 201, JSON.stringify(artist.body));
    return { session, artistId: String(artist.body.id) };
  }

  const errorOf = (body: Body) => body.error as { code: string; message: string };

  async function createJob(user: User, path: string, fields: Record<string, string>, baseUrl = base): Promise<string> {
    const form = new FormData();
    form.append('artist_id', user.artistId);
    for (const [k, v] of Object.entries(fields)) form.append(k, v);
    form.append('video', new Blob([await readFile(path)]), basename(path));
    const res = await fetch(`${baseUrl}/api/v1/clip-jobs`, { method: 'POST', body: form, headers: { authorization: `Bearer ${user.session.access}` } });
    const body = (await res.json()) as Body;
    assert.equal(res.status, 202, JSON.stringify(body));
    return String(body.clip_job_id);
  }

  async function getJob(user: User, id: string, baseUrl = base): Promise<Body> {
    const res = await call(baseUrl, 'GET', `/api/v1/clip-jobs/${id}`, { token: user.session.access });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body;
  }

  async function finished(user: User, id: string, timeoutMs: number, baseUrl = base): Promise<Body> {
    return eventually(async () => {
      const job = await getJob(user, id, baseUrl);
      return TERMINAL.includes(String(job.status)) ? job : undefined;
    }, { timeoutMs, what: `clip job ${id} finished` });
  }

  /** The job as GET shows it once variant `index` renders with progress > 0 (fails if it ends first). */
  async function renderingWithProgress(user: User, id: string, options: { timeoutMs: number; baseUrl?: string; needle?: string }): Promise<Body> {
    return eventually(async () => {
      const job = await getJob(user, id, options.baseUrl);
      assert.ok(!TERMINAL.includes(String(job.status)), `the job ended ${String(job.status)} before its render could be caught: ${JSON.stringify(job)}`);
      const rendering = job.rendering as Body;
      const busy = job.status === 'rendering' && rendering.rendering_variant !== null && Number(rendering.variant_progress) > 0;
      if (!busy) return undefined;
      // ffmpeg of the render is running (not the motion-centre pass or the upload).
      return (await ffmpegProcessesWith(options.needle ?? id)).length > 0 ? job : undefined;
    }, { timeoutMs: options.timeoutMs, what: `clip job ${id} rendering with progress` });
  }

  const download = (user: User, id: string, index: number, baseUrl = base) =>
    call(baseUrl, 'GET', `/api/v1/clip-jobs/${id}/renders/${index}/download`, { token: user.session.access });

  async function renderObjects(s: TestStack, tenantId: string, id: string): Promise<string[]> {
    const keys: string[] = [];
    for await (const o of s.storage.list('exports', `${tenantId}/clips/${id}/renders/`)) keys.push(o.key);
    return keys.sort();
  }

  const variantKey = (tenantId: string, id: string, index: number) => `${tenantId}/clips/${id}/renders/variant-${index}.mp4`;


  /** The activities of a workflow's history scheduled on the heavy task queue, with their times. */
  const heavyRuns = (s: TestStack, workflowId: string) => heavyRunsOf(s.temporal, s.config.temporal.heavyTaskQueue, workflowId);

  // -------------------------------------------------------------------------------------------

  it('one slot: 4 jobs at once never run two heavy activities at the same time, and each renders its variants in index order', async (t) => {
    const user = await newUser();
    const ids = await Promise.all(media.shows.map((path) => createJob(user, path, { min_length_s: '5', max_length_s: '8' })));
    const jobs = await Promise.all(ids.map((id) => finished(user, id, 240_000)));
    for (const job of jobs) {
      assert.equal(job.status, 'done', JSON.stringify(job.error));
      assert.equal(job.stage, 'done');
      assert.deepEqual((job.renders as Body[]).map((r) => [r.index, r.status]), [[0, 'done'], [1, 'done']], JSON.stringify(job.renders));
      assert.deepEqual(job.rendering, { rendering_variant: null, completed_variants: 2, variant_progress: 100 });
    }

    const runs: HeavyRun[] = [];
    for (const id of ids) runs.push(...await heavyRuns(stack, `clip-${id}`), ...await heavyRuns(stack, `analyze-video-${id}`));
    const count = (name: string) => runs.filter((r) => r.name === name).length;
    assert.deepEqual(HEAVY_ACTIVITIES.map(count), [4, 0, 8, 8], 'every analysis, render and check of the 4 jobs ran on the heavy queue');
    for (const r of runs) {
      assert.equal(r.closed, 'completed', `${r.workflowId} ${r.name}: ${r.failure ?? ''}`);
      assert.ok(r.endMs > r.startMs, `${r.workflowId} ${r.name} lasted ${r.endMs - r.startMs} ms: the history's start time is its real start`);
    }
    // No two intervals overlap (touching is fine): sorted by start, each starts once all before it ended.
    const sorted = [...runs].sort((a, b) => a.startMs - b.startMs || a.endMs - b.endMs);
    let busyUntil = -Infinity;
    let last: HeavyRun | null = null;
    for (const r of sorted) {
      assert.ok(r.startMs >= busyUntil, `${r.workflowId} ${r.name}${r.index === null ? '' : ` #${r.index}`} started ${busyUntil - r.startMs} ms before ${last?.workflowId} ${last?.name} ended`);
      busyUntil = Math.max(busyUntil, r.endMs);
      last = r;
    }
    // Each job: variant 0 rendered (and checked) before variant 1 starts.
    for (const id of ids) {
      const renders = runs.filter((r) => r.workflowId === `clip-${id}` && r.name === 'renderClipVariant');
      assert.deepEqual(renders.map((r) => r.index), [0, 1], `${id}: renders scheduled in index order`);
      assert.ok(renders[0]!.endMs <= renders[1]!.startMs, `${id}: variant 0 ended before variant 1 started`);
      const checks = runs.filter((r) => r.workflowId === `clip-${id}` && r.name === 'checkClipRender');
      assert.deepEqual(checks.map((r) => r.index), [0, 1]);
      assert.ok(renders[0]!.endMs <= checks[0]!.startMs && checks[0]!.endMs <= renders[1]!.startMs, `${id}: render 0, check 0, then render 1`);
    }
    const first = Math.min(...runs.map((r) => r.startMs));
    const gaps = sorted.slice(1).map((r, i) => r.startMs - sorted[i]!.endMs);
    t.diagnostic(`${runs.length} heavy activities over ${((busyUntil - first) / 1000).toFixed(1)} s; busy ${(runs.reduce((s, r) => s + r.endMs - r.startMs, 0) / 1000).toFixed(1)} s; smallest gap between two ${Math.min(...gaps)} ms`);
    t.diagnostic(`order: ${sorted.map((r) => `${ids.indexOf(r.workflowId.replace(/^(clip|analyze-video)-/, ''))}:${r.name.replace(/ClipVariant|ClipRender|VideoOriginal/, '')}${r.index ?? ''}`).join(' ')}`);
  });

  it("download: 409 RENDER_NOT_READY while a variant renders or before it starts, 404 for a variant the job lacks; another tenant's job is 404 on GET and download", async () => {
    const user = await newUser();
    const stranger = await newUser();
    const hold = { released: false };
    faults.set(user.session.tenantId, { hold });
    try {
      const id = await createJob(user, media.shows[0]!, { min_length_s: '5', max_length_s: '8' });
      const rendering = await eventually(async () => {
        const job = await getJob(user, id);
        assert.ok(!TERMINAL.includes(String(job.status)), JSON.stringify(job));
        const renders = job.renders as Body[];
        return job.status === 'rendering' && renders[0]?.status === 'rendering' ? job : undefined;
      }, { timeoutMs: 60_000, what: 'variant 0 rendering' });
      assert.equal((rendering.suggestions as Body[]).length, 2);
      assert.deepEqual((rendering.rendering as Body).rendering_variant, 0);

      for (const index of [0, 1]) {
        const res = await download(user, id, index);
        assert.equal(res.status, 409, `variant ${index}: ${JSON.stringify(res.body)}`);
        assert.equal(errorOf(res.body).code, 'RENDER_NOT_READY');
      }
      assert.match(errorOf((await download(user, id, 0)).body).message, /rendering/);
      const missing = await download(user, id, 2);
      assert.equal(missing.status, 404, JSON.stringify(missing.body));
      assert.equal(errorOf(missing.body).code, 'NOT_FOUND');
      for (const res of [await call(base, 'GET', `/api/v1/clip-jobs/${id}`, { token: stranger.session.access }), await download(stranger, id, 0)]) {
        assert.equal(res.status, 404, JSON.stringify(res.body));
        assert.equal(errorOf(res.body).code, 'NOT_FOUND');
      }

      hold.released = true;
      const job = await finished(user, id, 120_000);
      assert.equal(job.status, 'done', JSON.stringify(job.error));
      // Now rendered: the owner gets a URL that serves the MP4; the stranger still gets 404.
      const ready = await download(user, id, 0);
      assert.equal(ready.status, 200, JSON.stringify(ready.body));
      const mp4 = await fetch(String(ready.body.download_url));
      assert.equal(mp4.status, 200);
      assert.ok((await mp4.arrayBuffer()).byteLength > 10_000);
      assert.equal((await download(user, id, 2)).status, 404);
      const stolen = await download(stranger, id, 0);
      assert.equal(stolen.status, 404, JSON.stringify(stolen.body));
      assert.equal(errorOf(stolen.body).code, 'NOT_FOUND');
    } finally {
      hold.released = true;
    }
  });

  it('cancel during a render: 202, the job ends cancelled, the variant cancelled, its ffmpeg gone, no object or temp dir left', async (t) => {
    const user = await newUser();
    const id = await createJob(user, media.long, { min_length_s: '20', max_length_s: '30' });
    const running = await renderingWithProgress(user, id, { timeoutMs: 120_000 });
    const rendering = running.rendering as Body;
    const variant = Number(rendering.rendering_variant);
    const ffmpeg = await ffmpegProcessesWith(id);
    assert.ok(ffmpeg.length > 0);

    const cancelledAt = Date.now();
    const cancel = await call(base, 'POST', `/api/v1/clip-jobs/${id}/cancel`, { token: user.session.access });
    assert.equal(cancel.status, 202, JSON.stringify(cancel.body));
    const job = await finished(user, id, 60_000);
    const latencyMs = Date.now() - cancelledAt;
    assert.equal(job.status, 'cancelled', JSON.stringify(job));
    assert.equal(job.stage, 'cancelled');
    assert.equal(job.error, null);
    const renders = job.renders as Body[];
    assert.equal(renders.find((r) => r.index === variant)?.status, 'cancelled', JSON.stringify(renders));
    assert.ok(renders.every((r) => r.index === variant || r.status === 'done'), `only the variant in flight was interrupted: ${JSON.stringify(renders)}`);
    assert.deepEqual(await ffmpegProcessesWith(id), [], 'no ffmpeg of the job is left');
    const done = renders.filter((r) => r.status === 'done').map((r) => variantKey(user.session.tenantId, id, Number(r.index)));
    assert.deepEqual(await renderObjects(stack, user.session.tenantId, id), done.sort(), 'objects only for variants that are done');
    assert.equal((await download(user, id, variant)).status, 409);
    assert.equal(existsSync(join(workRoot, 'moviola-ingest', id)), false, 'the render temp dir is removed');
    assert.equal(existsSync(join(workRoot, 'moviola-clips', id)), false, 'the check temp dir is removed');
    const described = await stack.temporal.workflow.getHandle(`clip-${id}`).describe();
    assert.equal(described.status.name, 'CANCELLED');
    const runs = await heavyRuns(stack, `clip-${id}`);
    const cancelledRender = runs.find((r) => r.name === 'renderClipVariant' && r.index === variant);
    assert.equal(cancelledRender?.closed, 'cancelled', JSON.stringify(runs));
    t.diagnostic(`cancelled variant ${variant} at ${String(rendering.variant_progress)} %; the job was cancelled ${latencyMs} ms after the request`);
  });

  // These two wait most of their time on Temporal's timers (the heartbeat timeout of the killed
  // render, the retry back-off of the failing ones) on separate heavy slots: run side by side.
  describe('failures that wait on timeouts', { concurrency: true }, () => {
    it('heavy worker SIGKILLed mid-render: a new worker renders the variant again after the heartbeat timeout, the job ends done, one object per variant, no temp dir left', async (t) => {
      const killRoot = await tempDir('moviola-clip-renders-heavy-');
      const workers: ChildProcess[] = [];
      let other: TestStack | undefined;
      const stopWorker = (child: ChildProcess) => {
        if (child.exitCode === null && child.signalCode === null) process.kill(child.pid!, 'SIGKILL');
      };
      try {
        other = await startTestStack({ name: 'clip-renders-kill', env: ENV, heavyWorker: false });
        const kill = other;
        const user = await newUser(kill.baseUrl);
        workers.push(startHeavyWorkerProcess(kill, killRoot));
        const id = await createJob(user, media.long, { min_length_s: '20', max_length_s: '30' }, kill.baseUrl);
        const workspace = join(killRoot, 'moviola-ingest', id);
        const running = await renderingWithProgress(user, id, { timeoutMs: 150_000, baseUrl: kill.baseUrl, needle: workspace });
        const variant = Number((running.rendering as Body).rendering_variant);
        const ffmpegPids = processesMatching(workspace);
        assert.ok(ffmpegPids.length > 0);

        const exited = new Promise((resolve) => workers[0]!.once('exit', resolve));
        const killedAt = Date.now();
        process.kill(workers[0]!.pid!, 'SIGKILL');
        await exited;
        await eventually(async () => (ffmpegPids.some(alive) ? undefined : true), { timeoutMs: 5_000, what: "the killed worker's ffmpeg to be gone" });
        workers.push(startHeavyWorkerProcess(kill, killRoot));

        const job = await finished(user, id, 240_000, kill.baseUrl);
        const finishedAt = Date.now();
        assert.equal(job.status, 'done', JSON.stringify(job.error));
        assert.equal(job.stage, 'done');
        const renders = job.renders as Body[];
        const suggestions = job.suggestions as Body[];
        assert.ok(suggestions.length >= 2);
        assert.deepEqual(renders.map((r) => [r.index, r.status]), suggestions.map((s) => [s.index, 'done']), JSON.stringify(renders));
        assert.deepEqual(await renderObjects(kill, user.session.tenantId, id), suggestions.map((s) => variantKey(user.session.tenantId, id, Number(s.index))), 'exactly one object per variant');

        // The killed render was retried (not rescheduled) as attempt 2 of the same activity.
        const runs = await heavyRuns(kill, `clip-${id}`);
        const killed = runs.filter((r) => r.name === 'renderClipVariant' && r.index === variant);
        assert.equal(killed.length, 1, 'one render activity for the killed variant (retried, not rescheduled)');
        assert.equal(killed[0]!.attempt, 2, JSON.stringify(killed[0]));
        assert.ok(killed[0]!.startMs >= killedAt, 'attempt 2 started after the kill');
        assert.ok(runs.filter((r) => r.name === 'renderClipVariant' && r.index !== variant).every((r) => r.attempt === 1));

        // Nothing of the job left in the worker's work dir, and no ffmpeg of it runs.
        assert.deepEqual(filesUnder(killRoot).filter((f) => f.includes(id)), [], 'no temp file of the job left');
        assert.equal(existsSync(workspace), false, 'no render workspace of the job left');
        assert.equal(existsSync(join(killRoot, 'moviola-clips', id)), false, 'no check workspace of the job left');
        assert.deepEqual(await ffmpegProcessesWith(id), []);
        t.diagnostic(`killed variant ${variant} at ${String((running.rendering as Body).variant_progress)} %; attempt 2 started ${((killed[0]!.startMs - killedAt) / 1000).toFixed(1)} s after the kill (heartbeat timeout 60 s + retry interval 10 s); the job was done ${((finishedAt - killedAt) / 1000).toFixed(1)} s after the kill`);
      } finally {
        for (const w of workers) stopWorker(w);
        for (const pid of processesMatching(killRoot)) process.kill(pid, 'SIGKILL');
        await other?.stop();
        await rm(killRoot, { recursive: true, force: true });
      }
    });

    it('ffmpeg fails on one variant: retried 3 times, then failed with the reason, the others done, the job done (partial); failing on every variant: the job failed RENDER_FAILED', async (t) => {
      const partialUser = await newUser();
      const failedUser = await newUser();
      faults.set(partialUser.session.tenantId, { fail: [1] });
      faults.set(failedUser.session.tenantId, { fail: 'all' });
      // Both at once: one job's retry back-off leaves the heavy slot to the other.
      const [partialId, failedId] = await Promise.all([
        createJob(partialUser, media.shows[1]!, { min_length_s: '5', max_length_s: '8' }),
        createJob(failedUser, media.shows[2]!, { min_length_s: '5', max_length_s: '8' }),
      ]);
      const [partial, failed] = await Promise.all([finished(partialUser, partialId, 240_000), finished(failedUser, failedId, 240_000)]);

      // One variant failed.
      assert.equal(partial.status, 'done', JSON.stringify(partial.error));
      assert.equal(partial.stage, 'done (partial)');
      assert.equal(partial.progress, 100);
      assert.equal(partial.error, null);
      const renders = partial.renders as Body[];
      assert.deepEqual(renders.map((r) => [r.index, r.status]), [[0, 'done'], [1, 'failed']], JSON.stringify(renders));
      const reason = renders[1]!.error as { code: string; message: string } | null;
      assert.ok(reason, JSON.stringify(renders[1]));
      assert.match(reason.message, /ffmpeg failed/, JSON.stringify(reason));
      assert.equal(reason.code, 'PROCESSING_ERROR', JSON.stringify(reason));
      assert.equal(renders[1]!.attempts, 1, 'a failed render is not rendered again by the workflow (only its activity is retried)');
      assert.equal(renders[1]!.size_bytes, null);
      assert.equal(renders[0]!.error, null);
      const blocked = await download(partialUser, partialId, 1);
      assert.equal(blocked.status, 409, JSON.stringify(blocked.body));
      assert.equal(errorOf(blocked.body).code, 'RENDER_NOT_READY');
      assert.match(errorOf(blocked.body).message, /failed/);
      assert.equal((await download(partialUser, partialId, 0)).status, 200);
      assert.deepEqual(await renderObjects(stack, partialUser.session.tenantId, partialId), [variantKey(partialUser.session.tenantId, partialId, 0)]);

      const runs = await heavyRuns(stack, `clip-${partialId}`);
      const variantRuns = (index: number) => runs.filter((r) => r.name === 'renderClipVariant' && r.index === index);
      assert.equal(variantRuns(1).length, 1, 'one render activity for variant 1');
      const retried = variantRuns(1)[0]!;
      assert.equal(retried.closed, 'failed');
      assert.equal(retried.attempt, RENDER_ACTIVITY_ATTEMPTS, `the failing render ran ${retried.attempt} times`);
      assert.match(String(retried.failure), /ffmpeg failed/);
      assert.ok(retried.startMs - retried.scheduledMs >= RENDER_RETRY_BACKOFF_MS - 1_000, `the last attempt started ${retried.startMs - retried.scheduledMs} ms after scheduling: the retries waited their back-off`);
      assert.deepEqual(variantRuns(0).map((r) => [r.closed, r.attempt]), [['completed', 1]]);
      assert.equal(runs.filter((r) => r.name === 'checkClipRender').length, 1, 'only the rendered variant is checked');

      // Every variant failed.
      assert.equal(failed.status, 'failed', JSON.stringify(failed));
      assert.equal(failed.stage, 'failed');
      assert.equal(errorOf(failed).code, 'RENDER_FAILED', JSON.stringify(failed.error));
      assert.match(errorOf(failed).message, /#0 failed.*#1 failed/);
      const failedRenders = failed.renders as Body[];
      assert.deepEqual(failedRenders.map((r) => [r.index, r.status, (r.error as Body | null)?.code]), [[0, 'failed', 'PROCESSING_ERROR'], [1, 'failed', 'PROCESSING_ERROR']], JSON.stringify(failedRenders));
      assert.deepEqual(await renderObjects(stack, failedUser.session.tenantId, failedId), []);
      const failedRuns = (await heavyRuns(stack, `clip-${failedId}`)).filter((r) => r.name === 'renderClipVariant');
      assert.deepEqual(failedRuns.map((r) => [r.index, r.closed, r.attempt]), [[0, 'failed', 3], [1, 'failed', 3]]);
      const described = await stack.temporal.workflow.getHandle(`clip-${failedId}`).describe();
      assert.equal(described.status.name, 'FAILED');
      t.diagnostic(`variant 1 failed after ${((retried.endMs - retried.scheduledMs) / 1000).toFixed(1)} s (3 attempts); reason: ${reason.code} ${reason.message}`);
    });

    it('A/V sync check fails on one variant: rendered twice, then failed_sync with the measured deviation, the other done, the job done (partial); its object deleted after the retention, the done one kept', async (t) => {
      const user = await newUser();
      const tenantId = user.session.tenantId;
      faults.set(tenantId, { desync: [0] });
      const id = await createJob(user, media.shows[3]!, { min_length_s: '5', max_length_s: '8' });
      const job = await finished(user, id, 240_000);
      const doneSeenAt = Date.now();
      // Right after done: both objects are still there (the failed_sync one until the retention).
      const objectsAtDone = await renderObjects(stack, tenantId, id);

      assert.equal(job.status, 'done', JSON.stringify(job.error));
      assert.equal(job.stage, 'done (partial)');
      assert.equal(job.progress, 100);
      assert.equal(job.error, null);
      const renders = job.renders as Body[];
      assert.deepEqual(renders.map((r) => [r.index, r.status, r.attempts]), [[0, 'failed_sync', 2], [1, 'done', 1]], JSON.stringify(renders));
      const failedSync = renders[0]!;
      const deviation = Number(failedSync.sync_deviation_ms);
      assert.ok(deviation > RENDER_SYNC_TOLERANCE_MS, `the reported deviation ${String(failedSync.sync_deviation_ms)} ms is beyond the tolerance`);
      assert.ok(Math.abs(deviation - DESYNC_MS) <= 50, `the reported deviation ${deviation} ms is the ${DESYNC_MS} ms the audio was moved by`);
      const reason = failedSync.error as { code: string; message: string } | null;
      assert.equal(reason?.code, 'SYNC_CHECK_FAILED', JSON.stringify(failedSync));
      assert.match(reason.message, /out of sync beyond 40 ms: audio and video start \d+(\.\d+)? ms apart/);
      assert.ok(Number(renders[1]!.sync_deviation_ms) <= RENDER_SYNC_TOLERANCE_MS, JSON.stringify(renders[1]));
      assert.equal(renders[1]!.error, null);
      const blocked = await download(user, id, 0);
      assert.equal(blocked.status, 409, JSON.stringify(blocked.body));
      assert.match(errorOf(blocked.body).message, /failed_sync/);
      assert.equal((await download(user, id, 1)).status, 200);

      assert.deepEqual(objectsAtDone, [variantKey(tenantId, id, 0), variantKey(tenantId, id, 1)], 'the failed_sync render is kept until the retention');
      // The reported deviation is what the stored second render measures: streams apart, and longer than the cut.
      const stored = join(dir, `stored-${id}.mp4`);
      try {
        await stack.storage.getToFile('exports', variantKey(tenantId, id, 0), stored);
        const { streams } = await probeRender(stored, { ffprobePath: process.env.FFPROBE_PATH ?? 'ffprobe', timeoutMs: 30_000 });
        const suggestion = (job.suggestions as Body[])[0]!;
        const lengthDelta = Math.abs(streams.formatDurationMs - (Number(suggestion.end_ms) - Number(suggestion.start_ms)));
        const measured = Math.max(streamDeviationMs(streams), lengthDelta);
        assert.ok(Math.abs(measured - deviation) <= 0.11, `reported ${deviation} ms, measured on the stored render ${measured} ms`);
      } finally {
        await rm(stored, { force: true });
      }

      // Rendered twice and checked twice, one activity each time (not activity retries), then variant 1.
      const runs = await heavyRuns(stack, `clip-${id}`);
      assert.deepEqual(
        runs.filter((r) => r.name !== 'analyzeVideoOriginal').map((r) => [r.name, r.index, r.attempt, r.closed]),
        [
          ['renderClipVariant', 0, 1, 'completed'], ['checkClipRender', 0, 1, 'completed'],
          ['renderClipVariant', 0, 1, 'completed'], ['checkClipRender', 0, 1, 'completed'],
          ['renderClipVariant', 1, 1, 'completed'], ['checkClipRender', 1, 1, 'completed'],
        ],
      );

      // The workflow waits the retention, deletes the failed_sync object only, and completes.
      const handle = stack.temporal.workflow.getHandle(`clip-${id}`);
      await handle.result();
      const completedAt = Date.now();
      assert.equal((await handle.describe()).status.name, 'COMPLETED');
      assert.deepEqual(await renderObjects(stack, tenantId, id), [variantKey(tenantId, id, 1)], 'only the done render is left');
      assert.equal((await download(user, id, 1)).status, 200);
      const later = await getJob(user, id);
      assert.deepEqual((later.renders as Body[]).map((r) => [r.index, r.status, r.sync_deviation_ms]), [[0, 'failed_sync', deviation], [1, 'done', renders[1]!.sync_deviation_ms]], 'the metadata stays');

      const events = (await handle.fetchHistory()).events ?? [];
      const timer = events.find((e) => e.eventType === EventType.EVENT_TYPE_TIMER_STARTED);
      const fired = events.find((e) => e.eventType === EventType.EVENT_TYPE_TIMER_FIRED);
      assert.ok(timer && fired, 'a durable timer started and fired');
      assert.equal(tsToMs(timer.timerStartedEventAttributes?.startToFireTimeout), RETENTION_MS);
      const deletion = events.find((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'deleteObjects');
      assert.ok(deletion && Number(deletion.eventId) > Number(fired.eventId), 'deleteObjects scheduled after the timer fired');
      assert.deepEqual(
        defaultPayloadConverter.fromPayload(deletion.activityTaskScheduledEventAttributes!.input!.payloads![0]!),
        { objects: [{ bucket: 'exports', key: variantKey(tenantId, id, 0) }] },
      );
      assert.ok(tsToMs(deletion.eventTime) - tsToMs(timer.eventTime) >= RETENTION_MS, 'deleted no sooner than the retention');
      t.diagnostic(`variant 0 failed_sync at ${deviation} ms (${reason.message}); the workflow completed ${((completedAt - doneSeenAt) / 1000).toFixed(1)} s after the job was seen done (retention ${RETENTION_MS / 1000} s)`);
    });
  });
});
