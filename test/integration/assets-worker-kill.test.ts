/**
 * The asset ingest when the heavy worker dies mid-encode: the heavy worker runs in its own process,
 * is killed with SIGKILL while the proxies + HLS ladder are being encoded, and a new one is started.
 * The ingest completes on the new worker with every rendition exactly once, the HLS objects in
 * storage are exactly the files the playlists name (nothing left of the killed attempt), the master
 * plays in ffmpeg, and no temp file of the ingest is left in the heavy worker's work dir.
 *
 * The worker dies with its process group, as in its container (node is PID 1 there, so ffmpeg dies
 * with it). A SIGKILL of the node process alone leaves the running ffmpeg orphaned: it writes its
 * outputs to files, not to the worker, so it runs on to the end of its command.
 */
import '../support/quiet-runtime.ts';
import assert from 'node:assert/strict';
import { execFile, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { call, registerTenant, type Session } from '../support/accounts.ts';
import { AssetIngestStep } from '../../entities/index.ts';
import { assetKey } from '../../lib/storage/index.ts';
import { alive, filesUnder, processesMatching, startHeavyWorkerProcess } from '../support/heavy-worker-process.ts';
import { makeTestClip, tempDir } from '../support/media.ts';
import { eventually, startTestStack, type TestStack } from '../support/stack.ts';

type Body = Record<string, unknown>;
const run = promisify(execFile);
const FFMPEG = process.env.FFMPEG_PATH ?? 'ffmpeg';

/** SIGKILL to the worker process (its ffmpeg dies with it: parent-death signal). */
function killWorker(child: ChildProcess): void {
  try {
    process.kill(child.pid!, 'SIGKILL');
  } catch {
    // already gone
  }
}

describe('asset ingest when the heavy worker is killed mid-encode', { timeout: 240_000 }, () => {
  let stack: TestStack;
  let alice: Session;
  let dir: string;
  let workRoot: string;
  const workers: ChildProcess[] = [];

  function startHeavyWorker(): ChildProcess {
    const child = startHeavyWorkerProcess(stack, workRoot);
    workers.push(child);
    return child;
  }

  before(async () => {
    workRoot = await tempDir('moviola-heavy-');
    stack = await startTestStack({ name: 'assets-kill', heavyWorker: false, env: { RATE_LIMIT_REQUESTS_PER_USER: '100000', RATE_LIMIT_DOWNLOADS_PER_USER_PER_MINUTE: '1000' } });
    alice = await registerTenant(stack.baseUrl);
    dir = await tempDir();
  });
  after(async () => {
    for (const w of workers) if (w.exitCode === null && w.signalCode === null) killWorker(w);
    for (const pid of processesMatching(join(workRoot, 'moviola-ingest'))) process.kill(pid, 'SIGKILL');
    await stack?.stop();
  });

  const asset = (id: string) => call(stack.baseUrl, 'GET', `/api/v1/assets/${id}`, { token: alice.access }).then((r) => r.body);

  it('completes after SIGKILL of the heavy worker during the HLS encode: renditions once, no orphan segments, no temp files', async () => {
    const clip = await makeTestClip(dir, 'long.mp4', { seconds: 24, size: '1280x720' });
    const first = startHeavyWorker();
    const form = new FormData();
    form.append('title', 'Killed mid-encode');
    form.append('file', new Blob([await readFile(clip)]), 'long.mp4');
    const res = await fetch(`${stack.baseUrl}/api/v1/assets`, { method: 'POST', body: form, headers: { authorization: `Bearer ${alice.access}` } });
    assert.equal(res.status, 202);
    const id = String(((await res.json()) as Body).id);
    const workspace = join(workRoot, 'moviola-ingest', id);

    // The encode is under way: the proxy/hls rows are running with progress, and the child's ffmpeg runs.
    await eventually(async () => {
      const body = await asset(id);
      const encode = (body.steps as Body[] | undefined)?.filter((s) => s.step === 'proxy' || s.step === 'hls') ?? [];
      const busy = encode.length === 2 && encode.every((s) => s.status === 'running' && Number(s.progress) > 0);
      return busy && processesMatching(workspace).length > 0 ? true : undefined;
    }, { timeoutMs: 60_000, what: 'the heavy encode to make progress' });
    const ffmpegPids = processesMatching(workspace);
    assert.ok(ffmpegPids.length > 0);

    // Only the worker process is killed: its ffmpeg must die with it (parent-death signal), not
    // encode on into the paths the retried attempt uses.
    const exited = new Promise((resolve) => first.once('exit', resolve));
    process.kill(first.pid!, 'SIGKILL');
    await exited;
    await eventually(async () => (ffmpegPids.some(alive) ? undefined : true), { timeoutMs: 5_000, what: 'the killed worker\'s ffmpeg to be gone' });

    // What an attempt killed while uploading would leave: segments under the asset's hls/ prefix.
    const createdAt = new Date(String((await asset(id)).created_at));
    const hlsKey = (file: string) => assetKey({ tenantId: alice.tenantId, date: createdAt, assetId: id, purpose: 'hls', filename: file });
    for (const stale of ['360p_00099.m4s', 'stale.m3u8']) await stack.storage.put('proxies', hlsKey(stale), Buffer.from('left by a killed attempt'));

    startHeavyWorker();
    const done = await eventually(async () => {
      const body = await asset(id);
      return body.status === 'available' || body.status === 'failed' ? body : undefined;
    }, { timeoutMs: 150_000, what: 'the ingest to finish on the new worker' });
    assert.equal(done.status, 'available', JSON.stringify(done.error));

    // Exactly one row per rendition.
    const rows = await stack.orm.em.getConnection().execute<Array<{ name: string; storage_key: string; n: number }>>(
      'select name, min(storage_key) as storage_key, count(*)::int as n from asset_renditions where asset_id = ? group by name order by name',
      [id],
    );
    assert.deepEqual(rows.map((r) => [r.name, r.n]), [['hls', 1], ['poster', 1], ['proxy_480', 1], ['proxy_720', 1], ['sprite', 1]]);

    // The encode ran again: a second attempt of encodeAssetVideoRenditions in the workflow history.
    const history = await stack.temporal.workflow.getHandle(`ingest-${id}`).fetchHistory();
    const events = history.events ?? [];
    const encodeScheduled = events.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'encodeAssetVideoRenditions').map((e) => Number(e.eventId));
    assert.equal(encodeScheduled.length, 1, 'one encode activity (retried, not rescheduled)');
    const started = events.find((e) => Number(e.activityTaskStartedEventAttributes?.scheduledEventId) === encodeScheduled[0]);
    assert.ok(Number(started?.activityTaskStartedEventAttributes?.attempt) >= 2, `encode attempt ${started?.activityTaskStartedEventAttributes?.attempt}`);
    const stepRows = await stack.orm.em.fork().find(AssetIngestStep, { assetId: id, step: { $in: ['proxy', 'hls'] } }, { orderBy: { step: 'asc' } });
    assert.deepEqual(stepRows.map((r) => [r.step, r.status, r.progress, r.errorCode]), [['hls', 'done', 100, null], ['proxy', 'done', 100, null]]);

    // Storage: the hls/ prefix holds exactly the master, the variant playlists and the files they name.
    const masterKey = rows.find((r) => r.name === 'hls')!.storage_key;
    assert.equal(masterKey, hlsKey('master.m3u8'));
    const prefix = `${posix.dirname(masterKey)}/`;
    const stored: string[] = [];
    for await (const o of stack.storage.list('proxies', prefix)) stored.push(o.key.slice(prefix.length));
    const text = async (name: string) => {
      const chunks: Buffer[] = [];
      for await (const chunk of await stack.storage.get('proxies', prefix + name)) chunks.push(chunk as Buffer);
      return Buffer.concat(chunks).toString('utf8');
    };
    const uris = (playlist: string) => [
      ...playlist.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#')),
      ...[...playlist.matchAll(/URI="([^"]+)"/g)].map((m) => m[1]!),
    ];
    const master = await text(posix.basename(masterKey));
    const variants = uris(master);
    assert.ok(variants.length >= 2, master);
    const named = new Set([posix.basename(masterKey), ...variants]);
    for (const variant of variants) for (const file of uris(await text(variant))) named.add(file);
    assert.deepEqual(stored.sort(), [...named].sort(), 'no object of the killed attempt is left under the hls/ prefix');

    // The signed master plays end to end.
    const hls = await call(stack.baseUrl, 'GET', `/api/v1/assets/${id}/hls`, { token: alice.access });
    assert.equal(hls.status, 200, JSON.stringify(hls.body));
    const signed = new URL(String(hls.body.url));
    const url = `${stack.baseUrl}${signed.pathname}${signed.search}`; // PUBLIC_URL → this test's API port
    await run(FFMPEG, ['-v', 'error', '-i', url, '-f', 'null', '-']);

    // Nothing of the ingest is left in the heavy worker's work dir, not even the asset's directory,
    // and no ffmpeg of it runs.
    assert.deepEqual(filesUnder(workspace), [], 'no temp file of the ingest left');
    assert.equal(existsSync(workspace), false, 'no workspace of the ingest left');
    assert.deepEqual(processesMatching(workspace), []);
  });
});
