/**
 * Faults of frames jobs with the heavy worker in its own process: killed with SIGKILL mid-extraction
 * (the job completes after a new worker starts; exactly one ZIP; no temp files left), and a
 * PROCESSING job cancelled through the API (ffmpeg killed, partial output removed).
 */
import '../support/quiet-runtime.ts';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { call, registerTenant, type Session } from '../support/accounts.ts';
import { processesMatching, startHeavyWorkerProcess } from '../support/heavy-worker-process.ts';
import { makeTestClip, tempDir } from '../support/media.ts';
import { eventually, startTestStack, type TestStack } from '../support/stack.ts';

describe('frames jobs when the heavy worker dies or the job is cancelled', { timeout: 400_000 }, () => {
  let stack: TestStack;
  let alice: Session;
  let dir: string;
  let workRoot: string;
  let clip: string;
  const workers: ChildProcess[] = [];

  function startHeavyWorker(): ChildProcess {
    const child = startHeavyWorkerProcess(stack, workRoot);
    workers.push(child);
    return child;
  }

  before(async () => {
    workRoot = await tempDir('moviola-heavy-');
    // The test polls the job several times a second: lift the per-user request budget.
    stack = await startTestStack({ name: 'frames-kill', heavyWorker: false, env: { RATE_LIMIT_REQUESTS_PER_USER: '100000' } });
    alice = await registerTenant(stack.baseUrl);
    dir = await tempDir();
    clip = await makeTestClip(dir, 'long.mp4', { seconds: 90, size: '1280x720' });
  });
  after(async () => {
    for (const w of workers) if (w.exitCode === null) w.kill('SIGKILL');
    await stack?.stop();
  });

  async function uploadLongClip(): Promise<string> {
    const form = new FormData();
    form.append('file', new Blob([await readFile(clip)]), 'long.mp4');
    const res = await fetch(`${stack.baseUrl}/api/v1/videos/upload`, { method: 'POST', body: form, headers: { authorization: `Bearer ${alice.access}` } });
    assert.equal(res.status, 202);
    return ((await res.json()) as Array<{ job_id: string }>)[0]!.job_id;
  }

  const job = (id: string) => call(stack.baseUrl, 'GET', `/api/v1/videos/${id}`, { token: alice.access }).then((r) => r.body);
  const framesProcesses = (id: string) => processesMatching(join(workRoot, 'moviola-frames', id));

  it('completes after SIGKILL of the heavy worker mid-extraction: one ZIP, no temp files', async () => {
    const first = startHeavyWorker();
    const id = await uploadLongClip();
    await eventually(async () => {
      const body = await job(id);
      return body.status === 'PROCESSING' && Number(body.progress) > 0 ? body : undefined;
    }, { timeoutMs: 60_000, what: 'extraction to make progress' });
    first.kill('SIGKILL');
    await new Promise((resolve) => first.once('exit', resolve));

    startHeavyWorker();
    const done = await eventually(async () => {
      const body = await job(id);
      return body.status === 'DONE' || body.status === 'FAILED' ? body : undefined;
    }, { timeoutMs: 240_000, what: 'the job to finish on the new worker' });
    assert.equal(done.status, 'DONE', JSON.stringify(done.error));
    assert.equal(done.frame_count, 90);

    const zips: string[] = [];
    for await (const o of stack.storage.list('exports', `${alice.tenantId}/frames/${id}/`)) zips.push(o.key);
    assert.deepEqual(zips, [`${alice.tenantId}/frames/${id}/frames.zip`]);
    assert.equal(existsSync(join(workRoot, 'moviola-frames', id)), false, 'the killed attempt\'s temp dir is gone');
    const history = await stack.temporal.workflow.getHandle(`frames-${id}`).fetchHistory();
    const attempts = (history.events ?? []).map((e) => e.activityTaskStartedEventAttributes?.attempt).filter((a): a is number => typeof a === 'number' && a > 1);
    assert.ok(attempts.length >= 1, 'the extraction ran again');
  });

  it('cancels a PROCESSING job: ffmpeg killed, no ZIP, temp dir removed, CANCELLED', async () => {
    const id = await uploadLongClip();
    await eventually(async () => {
      const body = await job(id);
      return body.status === 'PROCESSING' && Number(body.progress) > 0 && framesProcesses(id).length > 0 ? body : undefined;
    }, { timeoutMs: 60_000, what: 'ffmpeg to run' });
    const res = await call(stack.baseUrl, 'DELETE', `/api/v1/videos/${id}`, { token: alice.access });
    assert.equal(res.status, 202);
    const cancelled = await eventually(async () => {
      const body = await job(id);
      return body.status === 'CANCELLED' ? body : undefined;
    }, { timeoutMs: 30_000, what: 'CANCELLED' });
    assert.equal(cancelled.download_available, false);
    assert.deepEqual(framesProcesses(id), [], 'ffmpeg is gone');
    assert.equal(existsSync(join(workRoot, 'moviola-frames', id)), false);
    const zips: string[] = [];
    for await (const o of stack.storage.list('exports', `${alice.tenantId}/frames/${id}/`)) zips.push(o.key);
    assert.deepEqual(zips, []);
    assert.deepEqual(readdirSync(join(workRoot, 'moviola-frames')), []);
  });
});
