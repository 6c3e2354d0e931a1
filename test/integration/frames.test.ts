/**
 * Frames jobs end to end on the real stack: upload → inspectVideo → extractFrames on the heavy
 * worker → DONE → the ZIP through its presigned URL with a plain HTTP client → frames counted and
 * decoded; e-mails read from a real SMTP server on loopback; every bad-input row of the issue.
 */
import '../support/quiet-runtime.ts';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { Job, JobEvent } from '../../entities/index.ts';
import { call, createUser, registerTenant, type Session } from '../support/accounts.ts';
import { makePng, makeTestClip, makeUndecodableMp4, tempDir } from '../support/media.ts';
import { startSmtpServer, type TestSmtpServer } from '../support/smtp.ts';
import { eventually, startTestStack, type TestStack } from '../support/stack.ts';
import { readZip } from '../support/zip.ts';

type Body = Record<string, unknown>;
const run = promisify(execFile);

describe('frames jobs on the real stack', { timeout: 300_000 }, () => {
  let stack: TestStack;
  let smtp: TestSmtpServer;
  let base: string;
  let alice: Session;
  let dir: string;

  before(async () => {
    smtp = await startSmtpServer();
    stack = await startTestStack({
      name: 'frames',
      // The tests poll jobs several times a second: lift the per-user request and upload budgets.
      env: { SMTP_HOST: '127.0.0.1', SMTP_PORT: String(smtp.port), MAX_VIDEO_SIZE_MB: '1', RATE_LIMIT_UPLOADS_PER_USER_PER_MINUTE: '1000', RATE_LIMIT_REQUESTS_PER_USER: '100000' },
    });
    base = stack.baseUrl;
    alice = await registerTenant(base);
    dir = await tempDir();
  });
  after(async () => {
    await stack?.stop();
    await smtp?.stop();
  });

  async function upload(files: Array<{ path?: string; bytes?: Buffer; name: string }>, token = alice.access) {
    const form = new FormData();
    for (const file of files) form.append('file', new Blob([file.bytes ?? (await readFile(file.path!))]), file.name);
    const res = await fetch(`${base}/api/v1/videos/upload`, { method: 'POST', body: form, headers: { authorization: `Bearer ${token}` } });
    return { status: res.status, body: (await res.json()) as Body | Body[] };
  }

  async function waitFor(id: string, statuses: string[], token = alice.access): Promise<Body> {
    return eventually(async () => {
      const res = await call(base, 'GET', `/api/v1/videos/${id}`, { token });
      return statuses.includes(String(res.body.status)) ? res.body : undefined;
    }, { timeoutMs: 120_000, what: `job ${id} to reach ${statuses.join('/')}` });
  }

  async function objectCount(prefix: string): Promise<number> {
    let n = 0;
    for (const bucket of ['uploads', 'exports'] as const) for await (const _ of stack.storage.list(bucket, prefix)) n++;
    return n;
  }

  async function jobCount(): Promise<number> {
    return stack.orm.em.fork().count(Job, { tenantId: alice.tenantId });
  }

  it('turns each uploaded video into a ZIP of one JPEG per second, downloadable through a signed URL', async () => {
    const a = await makeTestClip(dir, 'a.mp4', { seconds: 3 });
    const b = await makeTestClip(dir, 'b.mkv', { seconds: 4 });
    const res = await upload([{ path: a, name: 'a.mp4' }, { path: b, name: 'b.mkv' }]);
    assert.equal(res.status, 202, JSON.stringify(res.body));
    const accepted = res.body as Array<{ job_id: string; status: string; filename: string }>;
    assert.deepEqual(accepted.map((j) => [j.status, j.filename]), [['QUEUED', 'a.mp4'], ['QUEUED', 'b.mkv']]);

    for (const [job, seconds] of [[accepted[0]!, 3], [accepted[1]!, 4]] as const) {
      const done = await waitFor(job.job_id, ['DONE', 'FAILED']);
      assert.equal(done.status, 'DONE', JSON.stringify(done.error));
      assert.equal(done.frame_count, seconds);
      assert.equal(done.progress, 100);
      assert.equal(done.download_available, true);
      assert.equal(done.error, null);
      const completed = Date.parse(String(done.completed_at));
      assert.equal(Date.parse(String(done.expires_at)) - completed, 7 * 86_400_000);

      const status = await call(base, 'GET', `/api/v1/jobs/${job.job_id}/status`, { token: alice.access });
      assert.deepEqual(status.body, { job_id: job.job_id, status: 'DONE', stage: 'done', progress: 100, frame_count: seconds });

      const link = await call(base, 'GET', `/api/v1/jobs/${job.job_id}/download`, { token: alice.access });
      assert.equal(link.status, 200);
      assert.equal(link.body.expires_in, 900);
      const zipRes = await fetch(String(link.body.download_url));
      assert.equal(zipRes.status, 200);
      assert.match(zipRes.headers.get('content-disposition') ?? '', /attachment; filename="frames\.zip"/);
      const { entries } = readZip(Buffer.from(await zipRes.arrayBuffer()));
      assert.deepEqual(entries.map((e) => e.name), Array.from({ length: seconds }, (_, i) => `frame_${String(i + 1).padStart(5, '0')}.jpg`));
      for (const entry of entries) {
        assert.equal(entry.method, 0, 'JPEGs are stored, not deflated');
        assert.ok(entry.data && entry.data[0] === 0xff && entry.data[1] === 0xd8 && entry.data.at(-2) === 0xff && entry.data.at(-1) === 0xd9);
      }
      // Decode one frame with ffprobe: a 320×240 JPEG.
      const framePath = join(dir, `${job.job_id}-frame.jpg`);
      await writeFile(framePath, entries[0]!.data!);
      const { stdout } = await run('ffprobe', ['-v', 'error', '-show_entries', 'stream=codec_name,width,height', '-of', 'csv=p=0', framePath]);
      assert.equal(stdout.trim(), 'mjpeg,320,240');

      const mail = await smtp.waitForMessage((m) => m.text?.includes(job.job_id) === true && /ready/i.test(m.subject ?? ''), 20_000);
      assert.deepEqual(mail.envelope.rcptTo, [alice.email]);

      const events = await stack.orm.em.fork().find(JobEvent, { jobId: job.job_id }, { orderBy: { createdAt: 'asc' } });
      assert.deepEqual(events.map((e) => e.newStatus), ['UPLOADED', 'QUEUED', 'PROCESSING', 'DONE']);
      assert.deepEqual(events.map((e) => e.oldStatus), [null, 'UPLOADED', 'QUEUED', 'PROCESSING']);
    }

    const list = await call(base, 'GET', '/api/v1/videos?status=DONE&limit=1', { token: alice.access });
    assert.equal((list.body.items as Body[]).length, 1);
    assert.equal((list.body.items as Body[])[0]!.job_id, accepted[1]!.job_id, 'newest first');
    const next = await call(base, 'GET', `/api/v1/videos?status=DONE&limit=1&cursor=${String(list.body.next_cursor)}`, { token: alice.access });
    assert.equal((next.body.items as Body[])[0]!.job_id, accepted[0]!.job_id);
  });

  it('streams status events until the job ends', async () => {
    const clip = await makeTestClip(dir, 'sse.mp4', { seconds: 2 });
    const [job] = (await upload([{ path: clip, name: 'sse.mp4' }])).body as Array<{ job_id: string }>;
    const res = await fetch(`${base}/api/v1/jobs/${job!.job_id}/events`, { headers: { authorization: `Bearer ${alice.access}` } });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /text\/event-stream/);
    const text = await res.text(); // the server ends the stream at a terminal status
    const statuses = [...text.matchAll(/^data: (.*)$/gm)].map((m) => (JSON.parse(m[1]!) as { status: string }).status);
    assert.equal(statuses.at(-1), 'DONE');
    assert.ok(statuses.length >= 2, statuses.join(','));
    assert.match(text, /^event: status$/m);
  });

  describe('bad input', () => {
    it('answers a zero-byte file 422 EMPTY_FILE; no job, nothing stored', async () => {
      const before = [await jobCount(), await objectCount(`${alice.tenantId}/frames/`)];
      const res = await upload([{ bytes: Buffer.alloc(0), name: 'empty.mp4' }]);
      assert.equal(res.status, 422);
      assert.equal((res.body as { error: { code: string } }).error.code, 'EMPTY_FILE');
      assert.deepEqual([await jobCount(), await objectCount(`${alice.tenantId}/frames/`)], before);
    });

    for (const kind of ['text', 'png']) {
      it(`answers a ${kind} file renamed .mp4 422 INVALID_MEDIA; no job, nothing stored`, async () => {
        const before = [await jobCount(), await objectCount(`${alice.tenantId}/frames/`)];
        const bytes = kind === 'text' ? Buffer.from('not a video\n'.repeat(100)) : await readFile(await makePng(dir));
        const res = await upload([{ bytes, name: 'holiday.mp4' }]);
        assert.equal(res.status, 422);
        assert.equal((res.body as { error: { code: string } }).error.code, 'INVALID_MEDIA');
        assert.deepEqual([await jobCount(), await objectCount(`${alice.tenantId}/frames/`)], before);
      });
    }

    it('refuses the whole request when one of several files is invalid', async () => {
      const before = [await jobCount(), await objectCount(`${alice.tenantId}/frames/`)];
      const good = await makeTestClip(dir, 'good.mp4');
      const res = await upload([{ path: good, name: 'good.mp4' }, { bytes: Buffer.from('nope'.repeat(100)), name: 'bad.mp4' }]);
      assert.equal(res.status, 422);
      assert.deepEqual([await jobCount(), await objectCount(`${alice.tenantId}/frames/`)], before);
    });

    it('answers an extension that is not allowed 415 UNSUPPORTED_FORMAT', async () => {
      const clip = await makeTestClip(dir, 'x.mp4');
      const res = await upload([{ path: clip, name: 'movie.txt' }]);
      assert.equal(res.status, 415);
      assert.equal((res.body as { error: { code: string } }).error.code, 'UNSUPPORTED_FORMAT');
    });

    it('answers a file over the limit 413; nothing stored', async () => {
      const before = [await jobCount(), await objectCount(`${alice.tenantId}/frames/`)];
      const res = await upload([{ bytes: Buffer.alloc(1024 * 1024 + 10, 7), name: 'big.mp4' }]);
      assert.equal(res.status, 413);
      assert.deepEqual([await jobCount(), await objectCount(`${alice.tenantId}/frames/`)], before);
    });

    it('fails an MP4 that probes but cannot be decoded with INVALID_MEDIA after one attempt, and e-mails it', async () => {
      const path = await makeUndecodableMp4(dir);
      const res = await upload([{ path, name: 'broken.mp4' }]);
      assert.equal(res.status, 202, JSON.stringify(res.body));
      const [job] = res.body as Array<{ job_id: string }>;
      const failed = await waitFor(job!.job_id, ['FAILED', 'DONE']);
      assert.equal(failed.status, 'FAILED');
      assert.equal((failed.error as { code: string }).code, 'INVALID_MEDIA');
      const history = await stack.temporal.workflow.getHandle(`frames-${job!.job_id}`).fetchHistory();
      const started = (history.events ?? []).filter((e) => e.activityTaskStartedEventAttributes && e.activityTaskStartedEventAttributes.attempt === 1);
      assert.ok(started.length >= 1);
      assert.ok((history.events ?? []).every((e) => (e.activityTaskStartedEventAttributes?.attempt ?? 1) === 1), 'no activity was retried');
      await smtp.waitForMessage((m) => m.text?.includes(job!.job_id) === true && /fail/i.test(m.subject ?? ''), 20_000);

      const early = await call(base, 'GET', `/api/v1/jobs/${job!.job_id}/download`, { token: alice.access });
      assert.equal(early.status, 409);
      assert.equal((early.body.error as { code: string }).code, 'JOB_NOT_READY');
    });

    it('keeps a hostile filename only as sanitized metadata, under a generated key', async () => {
      const clip = await makeTestClip(dir, 'hostile.mp4');
      const hostile = `../../etc/${'x'.repeat(300)}😀.mp4`;
      const res = await upload([{ path: clip, name: hostile }]);
      assert.equal(res.status, 202, JSON.stringify(res.body));
      const [job] = res.body as Array<{ job_id: string; filename: string }>;
      assert.ok(!job!.filename.includes('/') && !job!.filename.includes('..'));
      assert.ok([...job!.filename].length <= 200 && job!.filename.endsWith('.mp4'));
      const row = await stack.orm.em.fork().findOneOrFail(Job, { id: job!.job_id });
      assert.equal(row.originalKey, `${alice.tenantId}/frames/${job!.job_id}/original.mp4`);
      await waitFor(job!.job_id, ['DONE']);
    });

    it('answers another user\'s or another tenant\'s job 404', async () => {
      const [own] = (await call(base, 'GET', '/api/v1/videos?limit=1', { token: alice.access })).body.items as Array<{ job_id: string }>;
      const colleague = await createUser(base, alice, 'editor');
      const stranger = await registerTenant(base);
      for (const token of [colleague.access, stranger.access]) {
        for (const path of [`/api/v1/videos/${own!.job_id}`, `/api/v1/jobs/${own!.job_id}/status`, `/api/v1/jobs/${own!.job_id}/download`]) {
          assert.equal((await call(base, 'GET', path, { token })).status, 404, path);
        }
        assert.equal((await call(base, 'DELETE', `/api/v1/videos/${own!.job_id}`, { token })).status, 404);
      }
    });

    it('answers cancelling a DONE job 409 JOB_FINISHED, and a download after expiry 410 JOB_EXPIRED', async () => {
      const [done] = (await call(base, 'GET', '/api/v1/videos?status=DONE&limit=1', { token: alice.access })).body.items as Array<{ job_id: string }>;
      const cancel = await call(base, 'DELETE', `/api/v1/videos/${done!.job_id}`, { token: alice.access });
      assert.equal(cancel.status, 409);
      assert.equal((cancel.body.error as { code: string }).code, 'JOB_FINISHED');
      // The workflow's 7-day timer is tested on the time-skipping server; here the projection says EXPIRED.
      await stack.orm.em.fork().nativeUpdate(Job, { id: done!.job_id }, { status: 'EXPIRED' });
      const expired = await call(base, 'GET', `/api/v1/jobs/${done!.job_id}/download`, { token: alice.access });
      assert.equal(expired.status, 410);
      assert.equal((expired.body.error as { code: string }).code, 'JOB_EXPIRED');
    });

    it('answers the 11th download in a minute 429 with Retry-After', async () => {
      const downloader = await registerTenant(base);
      const clip = await makeTestClip(dir, 'dl.mp4');
      const [job] = (await upload([{ path: clip, name: 'dl.mp4' }], downloader.access)).body as Array<{ job_id: string }>;
      await waitFor(job!.job_id, ['DONE'], downloader.access);
      for (let i = 0; i < 10; i++) {
        assert.equal((await call(base, 'GET', `/api/v1/jobs/${job!.job_id}/download`, { token: downloader.access })).status, 200, `download ${i + 1}`);
      }
      const limited = await call(base, 'GET', `/api/v1/jobs/${job!.job_id}/download`, { token: downloader.access });
      assert.equal(limited.status, 429);
      assert.ok(Number(limited.headers.get('retry-after')) > 0);
    });
  });

  it('retries a FAILED job as a new run with the same id; other statuses answer 409', async () => {
    const path = await makeUndecodableMp4(dir);
    const [job] = (await upload([{ path, name: 'again.mp4' }])).body as Array<{ job_id: string }>;
    await waitFor(job!.job_id, ['FAILED']);
    const firstRun = (await stack.temporal.workflow.getHandle(`frames-${job!.job_id}`).describe()).runId;
    const retried = await call(base, 'POST', `/api/v1/jobs/${job!.job_id}/retry`, { token: alice.access });
    assert.equal(retried.status, 202, JSON.stringify(retried.body));
    assert.equal(retried.body.job_id, job!.job_id);
    const failedAgain = await waitFor(job!.job_id, ['FAILED']);
    assert.equal((failedAgain.error as { code: string }).code, 'INVALID_MEDIA');
    const secondRun = (await stack.temporal.workflow.getHandle(`frames-${job!.job_id}`).describe()).runId;
    assert.notEqual(secondRun, firstRun);
    const row = await stack.orm.em.fork().findOneOrFail(Job, { id: job!.job_id });
    assert.equal(row.runCount, 2);

    const [done] = (await call(base, 'GET', '/api/v1/videos?status=DONE&limit=1', { token: alice.access })).body.items as Array<{ job_id: string }>;
    const refused = await call(base, 'POST', `/api/v1/jobs/${done!.job_id}/retry`, { token: alice.access });
    assert.equal(refused.status, 409);
    assert.equal((refused.body.error as { code: string }).code, 'JOB_NOT_FAILED');
  });
});
