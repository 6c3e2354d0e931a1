/**
 * probeMedia through the whole real stack: API upload → storage → PostgreSQL projection →
 * Temporal workflow → ffprobe activity → GET answers the normalized metadata.
 */
import '../support/quiet-runtime.ts';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { EventType } from '../support/history.ts';
import { makeTestClip, tempDir } from '../support/media.ts';
import { eventually, startTestStack, type TestStack } from '../support/stack.ts';
import { call, registerTenant, type Session } from '../support/accounts.ts';
import { JobKindKey, OwnerIdKey, StageKey, TenantIdKey } from '../../lib/temporal/search-attributes.ts';

let session: Session;

async function upload(stack: TestStack, path: string, filename: string, token = session.access) {
  const form = new FormData();
  form.append('file', new Blob([await readFile(path)]), filename);
  const res = await fetch(`${stack.baseUrl}/api/v1/probe`, { method: 'POST', body: form, headers: { authorization: `Bearer ${token}` } });
  return { status: res.status, body: (await res.json()) as Record<string, unknown>, headers: res.headers };
}

async function waitForTerminal(stack: TestStack, id: string) {
  return eventually(async () => {
    const res = await fetch(`${stack.baseUrl}/api/v1/probe/${id}`, { headers: { authorization: `Bearer ${session.access}` } });
    const body = (await res.json()) as { status: string };
    return body.status === 'DONE' || body.status === 'FAILED' ? (body as Record<string, unknown>) : undefined;
  }, { what: `probe ${id} to finish`, timeoutMs: 60_000 });
}

/** How many times the probe activity was started in the workflow's history. */
async function probeAttempts(stack: TestStack, workflowId: string): Promise<number[]> {
  const history = await stack.temporal.workflow.getHandle(workflowId).fetchHistory();
  const scheduled = new Map<string, string>();
  const attempts: number[] = [];
  for (const event of history.events ?? []) {
    if (event.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED) {
      scheduled.set(String(event.eventId), event.activityTaskScheduledEventAttributes?.activityType?.name ?? '');
    }
    if (event.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED) {
      const attrs = event.activityTaskStartedEventAttributes!;
      if (scheduled.get(String(attrs.scheduledEventId)) === 'probeUploadedMedia') attempts.push(attrs.attempt ?? 0);
    }
  }
  return attempts;
}

describe('probeMedia on the real stack', () => {
  let stack: TestStack;
  let dir: string;

  before(async () => {
    stack = await startTestStack({ name: 'probe' });
    dir = await tempDir();
    session = await registerTenant(stack.baseUrl);
  });
  after(async () => {
    await stack?.stop();
  });

  it('probes a generated clip and answers its metadata field by field', async () => {
    const clip = await makeTestClip(dir);
    const accepted = await upload(stack, clip, 'clip.mp4');
    assert.equal(accepted.status, 202);
    assert.equal(accepted.body.status, 'QUEUED');
    const id = String(accepted.body.id);
    assert.equal(accepted.body.workflow_id, `probe-${id}`);
    assert.equal(accepted.headers.get('location'), `/api/v1/probe/${id}`);

    const job = await waitForTerminal(stack, id);
    assert.equal(job.status, 'DONE', JSON.stringify(job.error));
    assert.equal(job.error, null);
    assert.equal(job.filename, 'clip.mp4');
    const result = job.result as { container: string; duration_ms: number; bitrate: number; streams: Array<Record<string, unknown>> };
    assert.equal(result.container, 'mov');
    assert.ok(result.duration_ms >= 1950 && result.duration_ms <= 2100, `duration ${result.duration_ms}`);
    assert.ok(result.bitrate > 10_000, `bitrate ${result.bitrate}`);
    assert.equal(result.streams.length, 2);
    assert.deepEqual(result.streams[0], { type: 'video', codec: 'h264', width: 320, height: 240, fps: 25, sample_rate: null, channels: null });
    assert.deepEqual(result.streams[1], { type: 'audio', codec: 'aac', width: null, height: null, fps: null, sample_rate: 48000, channels: 1 });

    // The upload is kept, byte for byte, under its deterministic key.
    const stat = await stack.storage.stat('uploads', `${session.tenantId}/probe/${id}/clip.mp4`);
    assert.equal(stat?.size, (await readFile(clip)).length);

    // Search attributes make the job findable in the Web UI.
    const description = await stack.temporal.workflow.getHandle(`probe-${id}`).describe();
    assert.equal(description.typedSearchAttributes.get(TenantIdKey), session.tenantId);
    assert.equal(description.typedSearchAttributes.get(JobKindKey), 'probe');
    assert.equal(description.typedSearchAttributes.get(StageKey), 'done');
    assert.match(String((description.memo as Record<string, unknown>).summary), /clip\.mp4/);
    const listed = await eventually(async () => {
      const ids: string[] = [];
      for await (const wf of stack.temporal.workflow.list({ query: `TenantId = '${session.tenantId}' AND JobKind = 'probe'` })) ids.push(wf.workflowId);
      return ids.includes(`probe-${id}`) ? ids : undefined;
    }, { what: 'the workflow to be listed by TenantId' });
    assert.ok(listed.length >= 1);
  });

  it('fails a text file with INVALID_MEDIA after exactly one attempt', async () => {
    const path = join(dir, 'notes.txt');
    await writeFile(path, 'these are not the frames you are looking for\n'.repeat(50));
    const accepted = await upload(stack, path, 'notes.mp4');
    assert.equal(accepted.status, 202);
    const job = await waitForTerminal(stack, String(accepted.body.id));
    assert.equal(job.status, 'FAILED');
    assert.equal((job.error as { code: string }).code, 'INVALID_MEDIA');
    assert.equal(job.result, null);
    assert.deepEqual(await probeAttempts(stack, String(accepted.body.workflow_id)), [1]);
  });

  it('refuses an HLS playlist that points at a local file, even renamed .mp4', async () => {
    const segment = await makeTestClip(dir, 'segment.ts');
    const path = join(dir, 'evil.mp4');
    await writeFile(path, `#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2,\nfile://${segment}\n#EXT-X-ENDLIST\n`);
    const accepted = await upload(stack, path, 'evil.mp4');
    const job = await waitForTerminal(stack, String(accepted.body.id));
    assert.equal(job.status, 'FAILED');
    assert.equal((job.error as { code: string }).code, 'INVALID_MEDIA');
  });

  it('answers 404 for an unknown or malformed probe id', async () => {
    for (const id of ['00000000-0000-4000-8000-000000000000', 'not-a-uuid']) {
      const res = await call(stack.baseUrl, 'GET', `/api/v1/probe/${id}`, { token: session.access });
      assert.equal(res.status, 404);
      assert.equal((res.body.error as { code: string }).code, 'NOT_FOUND');
    }
  });

  it('requires a token, and answers another tenant\'s probe 404', async () => {
    const clip = await makeTestClip(dir, 'mine.mp4');
    const anonymous = await fetch(`${stack.baseUrl}/api/v1/probe`, { method: 'POST', body: new FormData() });
    assert.equal(anonymous.status, 401);
    assert.equal(((await anonymous.json()) as { error: { code: string } }).error.code, 'UNAUTHENTICATED');

    const accepted = await upload(stack, clip, 'mine.mp4');
    assert.equal(accepted.status, 202);
    assert.equal((await call(stack.baseUrl, 'GET', `/api/v1/probe/${String(accepted.body.id)}`)).status, 401);
    const other = await registerTenant(stack.baseUrl);
    const res = await call(stack.baseUrl, 'GET', `/api/v1/probe/${String(accepted.body.id)}`, { token: other.access });
    assert.equal(res.status, 404);
    const description = await stack.temporal.workflow.getHandle(String(accepted.body.workflow_id)).describe();
    assert.equal(description.typedSearchAttributes.get(OwnerIdKey), session.userId);
  });
});
