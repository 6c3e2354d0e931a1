/**
 * Clip jobs on the real stack: a performance video (generated shots with hard cuts; sound = noise,
 * a tone and a rendered track at a known offset) uploaded with a track → clipJob → child
 * analyzeVideo on the heavy worker → syncClipMusic → suggestClipsForJob → done, with 3 suggestions
 * snapped to the track's beats and the offset found; the same video again with a track it does not
 * contain (analysis from the cache, offset null, low-confidence reason); without music, 2
 * suggestions within the requested lengths.
 */
import '../support/quiet-runtime.ts';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { SUBSCORES } from '../../lib/clips/contract.ts';
import { GLOBAL_BASELINE_VERSION } from '../../lib/clips/weights.ts';
import { clipJobStateQuery, type ClipJobState } from '../../workflows/clip-job.ts';
import { call, registerTenant, type Session } from '../support/accounts.ts';
import { makePerformance, makeReferenceTrackWav } from '../support/clips.ts';
import { EventType } from '../support/history.ts';
import { tempDir } from '../support/media.ts';
import { eventually, startTestStack, type TestStack } from '../support/stack.ts';

type Body = Record<string, unknown>;
const OFFSET_S = 7.5;
const run = promisify(execFile);
const FFPROBE = process.env.FFPROBE_PATH ?? 'ffprobe';

describe('clip jobs on the real stack', { timeout: 600_000 }, () => {
  let stack: TestStack;
  let base: string;
  let alice: Session;
  let dir: string;
  let artistId: string;
  let rockId: string;
  let sambaId: string;
  let rockBeats: number[];
  let performance: string;

  before(async () => {
    stack = await startTestStack({
      name: 'clips',
      env: { OPENAI_API_KEY: '', RATE_LIMIT_REQUESTS_PER_USER: '100000', RATE_LIMIT_UPLOADS_PER_USER_PER_MINUTE: '1000', RATE_LIMIT_CLIP_JOBS_PER_USER_PER_MINUTE: '1000' },
    });
    base = stack.baseUrl;
    alice = await registerTenant(base);
    dir = await tempDir('moviola-clips-');
    const artist = await call(base, 'POST', '/api/v1/artists', { token: alice.access, body: { name: 'Banda Teste' } });
    assert.equal(artist.status, 201);
    artistId = String(artist.body.id);
    const [rock, samba] = await Promise.all([
      makeReferenceTrackWav(dir, { genre: 'rock', id: 'rock-501', seed: 501, seconds: 24 }),
      makeReferenceTrackWav(dir, { genre: 'samba', id: 'samba-777', seed: 777, seconds: 24 }),
    ]);
    performance = await makePerformance(dir, 'show.mp4', { seconds: 48, track: { wav: rock.wav, offsetS: OFFSET_S } });
    rockId = await uploadMusic(rock.wav, 'rock.wav');
    sambaId = await uploadMusic(samba.wav, 'samba.wav');
    const music = await analysed(rockId);
    rockBeats = (music.analysis as Body).beats_ms as number[];
    await analysed(sambaId);
  });
  after(async () => {
    await stack?.stop();
  });

  async function uploadMusic(path: string, name: string): Promise<string> {
    const form = new FormData();
    form.append('artist_id', artistId);
    form.append('file', new Blob([await readFile(path)]), name);
    const res = await fetch(`${base}/api/v1/music`, { method: 'POST', body: form, headers: { authorization: `Bearer ${alice.access}` } });
    const body = (await res.json()) as Body;
    assert.equal(res.status, 202, JSON.stringify(body));
    return String(body.music_id);
  }

  async function analysed(id: string): Promise<Body> {
    const music = await eventually(async () => {
      const res = await call(base, 'GET', `/api/v1/music/${id}`, { token: alice.access });
      return ['done', 'failed'].includes(String(res.body.status)) ? res.body : undefined;
    }, { timeoutMs: 120_000, what: `music ${id} analysed` });
    assert.equal(music.status, 'done', JSON.stringify(music.error));
    return music;
  }

  async function createJob(path: string, fields: Record<string, string>): Promise<string> {
    const form = new FormData();
    form.append('artist_id', artistId);
    for (const [k, v] of Object.entries(fields)) form.append(k, v);
    form.append('video', new Blob([await readFile(path)]), 'show.mp4');
    const res = await fetch(`${base}/api/v1/clip-jobs`, { method: 'POST', body: form, headers: { authorization: `Bearer ${alice.access}` } });
    const body = (await res.json()) as Body;
    assert.equal(res.status, 202, JSON.stringify(body));
    assert.deepEqual(body, { clip_job_id: body.clip_job_id, status: 'queued' });
    return String(body.clip_job_id);
  }

  async function finished(id: string): Promise<Body> {
    return eventually(async () => {
      const res = await call(base, 'GET', `/api/v1/clip-jobs/${id}`, { token: alice.access });
      assert.equal(res.status, 200);
      return ['done', 'failed', 'cancelled'].includes(String(res.body.status)) ? res.body : undefined;
    }, { timeoutMs: 180_000, what: `clip job ${id} finished` });
  }

  async function recordHistory(workflowId: string, name: string) {
    const target = process.env.MOVIOLA_RECORD_HISTORIES;
    if (!target) return;
    await mkdir(target, { recursive: true });
    await writeFile(join(target, `${name}.json`), historyToJSON(await stack.temporal.workflow.getHandle(workflowId).fetchHistory()));
  }

  function checkVariants(suggestions: Body[], count: number, minMs: number, maxMs: number) {
    assert.equal(suggestions.length, count);
    assert.deepEqual(suggestions.map((s) => s.index), Array.from({ length: count }, (_, i) => i));
    for (const s of suggestions) {
      const length = Number(s.end_ms) - Number(s.start_ms);
      assert.ok(length >= minMs && length <= maxMs, `length ${length}`);
      assert.ok(Number(s.score) >= 0 && Number(s.score) <= 100);
      assert.deepEqual(Object.keys(s.subscores as Body).sort(), [...SUBSCORES].sort());
      assert.ok((s.reasons as string[]).length > 0);
      assert.deepEqual(s.weights_version, { global: GLOBAL_BASELINE_VERSION });
    }
    for (let i = 0; i < count; i++) {
      for (let j = i + 1; j < count; j++) {
        const [a, b] = [suggestions[i]!, suggestions[j]!];
        assert.ok(Math.abs(Number(a.start_ms) - Number(b.start_ms)) >= 5_000, 'starts ≥ 5 s apart');
        const overlap = Math.min(Number(a.end_ms), Number(b.end_ms)) - Math.max(Number(a.start_ms), Number(b.start_ms));
        const shorter = Math.min(Number(a.end_ms) - Number(a.start_ms), Number(b.end_ms) - Number(b.start_ms));
        assert.ok(overlap <= shorter * 0.5, 'overlap ≤ 50 %');
      }
    }
  }

  it('finds the track in the video and suggests 3 clips cut on its beats', async () => {
    const id = await createJob(performance, { music_id: rockId, min_length_s: '8', max_length_s: '15', vertical: 'true' });
    const job = await finished(id);
    assert.equal(job.status, 'done', JSON.stringify(job.error));
    assert.equal(job.progress, 100);
    assert.equal(job.stage, 'done');
    const sync = job.music_sync as Body;
    assert.equal(sync.found, true, String(sync.reason));
    assert.ok(Math.abs(Number(sync.offset_ms) - OFFSET_S * 1000) <= 50, `offset ${String(sync.offset_ms)} ms, true ${OFFSET_S * 1000}`);
    const suggestions = job.suggestions as Body[];
    checkVariants(suggestions, 3, 8_000, 15_000);
    const videoBeats = rockBeats.map((b) => b + Number(sync.offset_ms));
    for (const s of suggestions) {
      assert.equal(s.music_offset_ms, sync.offset_ms);
      for (const edge of [Number(s.start_ms), Number(s.end_ms)]) {
        assert.ok(videoBeats.some((b) => Math.abs(b - edge) <= 1), `${edge} ms is on a beat`);
      }
    }
    // Rendered one after another: each variant's MP4 matches its cut, at -14 LUFS, A/V in sync, 9:16.
    const renders = job.renders as Body[];
    assert.deepEqual(renders.map((r) => [r.index, r.status]), [[0, 'done'], [1, 'done'], [2, 'done']], JSON.stringify(renders));
    assert.deepEqual(job.rendering, { rendering_variant: null, completed_variants: 3, variant_progress: 100 });
    for (const [i, r] of renders.entries()) {
      const s = suggestions[i]!;
      assert.ok(Math.abs(Number(r.duration_ms) - (Number(s.end_ms) - Number(s.start_ms))) <= 40, `duration ${String(r.duration_ms)}`);
      assert.ok(Math.abs(Number(r.loudness_lufs) + 14) <= 1, `loudness ${String(r.loudness_lufs)}`);
      assert.ok(Number(r.true_peak_db) <= -1 + 0.05, `true peak ${String(r.true_peak_db)}`);
      assert.ok(Number(r.sync_deviation_ms) <= 40, `sync deviation ${String(r.sync_deviation_ms)}`);
      assert.ok(Number(r.size_bytes) > 10_000);
    }
    const download = await call(base, 'GET', `/api/v1/clip-jobs/${id}/renders/0/download`, { token: alice.access });
    assert.equal(download.status, 200, JSON.stringify(download.body));
    const mp4 = join(dir, 'variant-0.mp4');
    await writeFile(mp4, Buffer.from(await (await fetch(String(download.body.download_url))).arrayBuffer()));
    const probed = JSON.parse((await run(FFPROBE, ['-v', 'error', '-show_streams', '-of', 'json', mp4])).stdout) as { streams: Array<{ codec_name: string; width?: number; height?: number }> };
    assert.deepEqual(probed.streams.map((st) => st.codec_name).sort(), ['aac', 'h264']);
    const picture = probed.streams.find((st) => st.codec_name === 'h264')!;
    assert.ok(Math.abs(picture.width! / picture.height! - 9 / 16) < 0.02, `${picture.width}x${picture.height} is 9:16`);
    assert.equal((await call(base, 'GET', `/api/v1/clip-jobs/${id}/renders/7/download`, { token: alice.access })).status, 404);
    const objects: string[] = [];
    for await (const o of stack.storage.list('exports', `${alice.tenantId}/clips/${id}/renders/`)) objects.push(o.key);
    assert.deepEqual(objects.sort(), [0, 1, 2].map((i) => `${alice.tenantId}/clips/${id}/renders/variant-${i}.mp4`), 'exactly one object per variant');

    const state = await stack.temporal.workflow.getHandle<() => Promise<ClipJobState>>(`clip-${id}`).query(clipJobStateQuery);
    assert.equal(state.status, 'done');
    assert.equal(state.cachedAnalysis, false);
    assert.equal(state.suggestions, 3);
    assert.deepEqual(state.renders.map((r) => r.attempts), [1, 1, 1]);
    const rows = await stack.orm.em.getConnection().execute('select count(*)::int as n from video_clip_models where clip_job_id = ?', [id]);
    assert.equal((rows[0] as { n: number }).n, 3);
    const described = await stack.temporal.workflow.getHandle(`clip-${id}`).describe();
    assert.equal(described.searchAttributes.JobKind?.[0], 'clip');
    assert.equal(described.searchAttributes.Stage?.[0], 'done');
    await recordHistory(`clip-${id}`, 'clipJob-rendered-with-music');
    await recordHistory(`analyze-video-${id}`, 'analyzeVideo-analysed');
  });

  it('uses the cached analysis of the same video; a track the video does not hold gives null offsets and a low-confidence reason', async () => {
    const id = await createJob(performance, { music_id: sambaId, min_length_s: '8', max_length_s: '15' });
    const job = await finished(id);
    assert.equal(job.status, 'done', JSON.stringify(job.error));
    const sync = job.music_sync as Body;
    assert.equal(sync.found, false);
    assert.equal(sync.offset_ms, null);
    assert.match(String(sync.reason), /low confidence/);
    const suggestions = job.suggestions as Body[];
    checkVariants(suggestions, 3, 8_000, 15_000);
    for (const s of suggestions) {
      assert.equal(s.music_offset_ms, null);
      assert.ok((s.reasons as string[]).some((r) => /low confidence/.test(r)), JSON.stringify(s.reasons));
    }
    const history = await stack.temporal.workflow.getHandle(`analyze-video-${id}`).fetchHistory();
    const scheduled = (history.events ?? []).filter((e) => e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED).map((e) => e.activityTaskScheduledEventAttributes?.activityType?.name);
    assert.deepEqual(scheduled, ['findCachedVideoAnalysis'], 'no analysis ran: the cache answered');
    await recordHistory(`clip-${id}`, 'clipJob-rendered-music-not-found');
    await recordHistory(`analyze-video-${id}`, 'analyzeVideo-cached');
  });

  it('without music suggests 2 clips within the requested lengths, best first', async () => {
    const id = await createJob(performance, { min_length_s: '10', max_length_s: '20' });
    const job = await finished(id);
    assert.equal(job.status, 'done', JSON.stringify(job.error));
    assert.equal(job.music_sync, null);
    const suggestions = job.suggestions as Body[];
    checkVariants(suggestions, 2, 10_000, 20_000);
    assert.ok(Number(suggestions[0]!.score) >= Number(suggestions[1]!.score));
    const list = await call(base, 'GET', '/api/v1/clip-jobs?limit=2', { token: alice.access });
    assert.equal(list.status, 200);
    assert.equal((list.body.items as Body[])[0]!.clip_job_id, id);
    assert.equal(typeof list.body.next_cursor, 'string');
    await recordHistory(`clip-${id}`, 'clipJob-rendered-without-music');
  });
});
