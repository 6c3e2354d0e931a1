/**
 * Clip jobs (issue 7) on the real stack, the bad-input table row by row, and a few more:
 * a video shorter than min_length_s (422, nothing kept), a video without audio (audio sub-scores 0,
 * said in the reasons), invalid lengths (422 before any lookup), another tenant's track, artist,
 * video asset and job (404), a single-colour video and a still (suggested, low scores), cancel
 * during the analysis (cancelled, ffmpeg gone, a second cancel 409), the missing or doubled video,
 * a PNG sent as a video, a track not yet analysed, an image or unready asset, the per-user creation
 * limit, a job from an ingested asset, and the SSE stream until its final `status` event.
 *
 * Every test that creates jobs has a user of its own: the stack runs with
 * RATE_LIMIT_CLIP_JOBS_PER_USER_PER_MINUTE = 6.
 */
import '../support/quiet-runtime.ts';
import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { MusicAsset } from '../../entities/index.ts';
import { call, registerTenant, type Session } from '../support/accounts.ts';
import { insertTestAsset } from '../support/assets.ts';
import { makeClickTrackWav, makeColourVideo, makeLongVideo, makePerformance, makeStillVideo } from '../support/clips.ts';
import { ffmpegProcessesWith } from '../support/processes.ts';
import { makePng, makeTestClip, tempDir } from '../support/media.ts';
import { eventually, startTestStack, type TestStack } from '../support/stack.ts';

type Body = Record<string, unknown>;
const CLIP_JOBS_PER_MINUTE = 6;
const TERMINAL = ['done', 'failed', 'cancelled'];

interface User {
  session: Session;
  artistId: string;
}

describe('clip jobs: bad input on the real stack', { timeout: 600_000 }, () => {
  let stack: TestStack;
  let base: string;
  let dir: string;
  const media = {} as { short: string; mute: string; performance: string; colour: string; still: string; long: string; click: string; png: string };

  before(async () => {
    dir = await tempDir('moviola-clips-bad-');
    const made = Promise.all([
      makeTestClip(dir, 'short.mp4', { seconds: 3 }),
      makePerformance(dir, 'mute.mp4', { seconds: 20, audio: false }),
      makePerformance(dir, 'performance.mp4', { seconds: 20 }),
      makeColourVideo(dir, 'colour.mp4', { seconds: 20, colour: 'blue' }),
      makeStillVideo(dir, 'still.mp4', { seconds: 20 }),
      // 6 min of 4K at crf 51: ~32 MB whose analysis takes ~2 min here, far longer than a cancel needs
      // to reach it (with the activity's next heartbeat: the SDK sends them at most every 0.8 × the
      // 30 s heartbeat timeout, so ~24 s after the analysis starts).
      makeLongVideo(dir, 'long.mp4', { seconds: 360, size: '3840x2160', crf: 51 }),
      makeClickTrackWav(dir, 'click.wav', { seconds: 4 }),
      makePng(dir, 'picture.png'),
    ]);
    stack = await startTestStack({
      name: 'clips-bad',
      env: {
        OPENAI_API_KEY: '',
        RATE_LIMIT_REQUESTS_PER_USER: '100000',
        RATE_LIMIT_UPLOADS_PER_USER_PER_MINUTE: '1000',
        RATE_LIMIT_CLIP_JOBS_PER_USER_PER_MINUTE: String(CLIP_JOBS_PER_MINUTE),
      },
    });
    base = stack.baseUrl;
    [media.short, media.mute, media.performance, media.colour, media.still, media.long, media.click, media.png] = await made;
  });
  after(async () => {
    await stack?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  // -------------------------------------------------------------------------------------------
  // Helpers

  /** A fresh tenant (so a fresh user: its own clip-job budget) with an artist. */
  async function newUser(): Promise<User> {
    const session = await registerTenant(base);
    const artist = await call(base, 'POST', '/api/v1/artists', { token: session.access, body: { name: 'Banda Teste' } });
    assert.equal(artist.status, 201, JSON.stringify(artist.body));
    return { session, artistId: String(artist.body.id) };
  }

  const errorOf = (body: Body) => body.error as { code: string; message: string; details?: unknown };

  async function postJson(user: User, body: Body) {
    return call(base, 'POST', '/api/v1/clip-jobs', { token: user.session.access, body });
  }

  async function postMultipart(user: User, fields: Record<string, string>, file?: { path: string; name: string }) {
    const form = new FormData();
    for (const [k, v] of Object.entries(fields)) form.append(k, v);
    if (file) form.append('video', new Blob([await readFile(file.path)]), file.name);
    const res = await fetch(`${base}/api/v1/clip-jobs`, { method: 'POST', body: form, headers: { authorization: `Bearer ${user.session.access}` } });
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: (text ? JSON.parse(text) : {}) as Body };
  }

  /** Uploads `path` with the job and expects 202 queued; returns the job id. */
  async function createFromUpload(user: User, path: string, fields: Record<string, string> = {}): Promise<string> {
    const res = await postMultipart(user, { artist_id: user.artistId, ...fields }, { path, name: basename(path) });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    assert.deepEqual(res.body, { clip_job_id: res.body.clip_job_id, status: 'queued' });
    return String(res.body.clip_job_id);
  }

  async function getJob(user: User, id: string): Promise<Body> {
    const res = await call(base, 'GET', `/api/v1/clip-jobs/${id}`, { token: user.session.access });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body;
  }

  async function finished(user: User, id: string, timeoutMs = 90_000): Promise<Body> {
    return eventually(async () => {
      const job = await getJob(user, id);
      return TERMINAL.includes(String(job.status)) ? job : undefined;
    }, { timeoutMs, what: `clip job ${id} finished` });
  }

  /** The tenant's clip jobs and job videos in the database, and its objects in the originals bucket. */
  async function kept(tenantId: string): Promise<{ jobs: number; ingests: number; objects: string[] }> {
    const connection = stack.orm.em.getConnection();
    const count = async (table: string) =>
      ((await connection.execute(`select count(*)::int as n from ${table} where tenant_id = ?`, [tenantId])) as Array<{ n: number }>)[0]!.n;
    const objects: string[] = [];
    for await (const o of stack.storage.list('originals', `${tenantId}/`)) objects.push(o.key);
    return { jobs: await count('clip_jobs'), ingests: await count('video_ingests'), objects };
  }

  async function assertNothingKept(tenantId: string) {
    assert.deepEqual(await kept(tenantId), { jobs: 0, ingests: 0, objects: [] });
  }

  /** A video in the originals bucket and an asset row whose ingest has read its metadata (what clipVideoFromAsset needs). */
  async function insertReadyVideoAsset(user: User, path: string, meta: { durationMs: number; width: number; height: number; hasAudio: boolean }): Promise<{ id: string; key: string; sha256: string }> {
    const bytes = await readFile(path);
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const key = `${user.session.tenantId}/assets/${randomUUID()}/original.mp4`;
    await stack.storage.put('originals', key, bytes, { contentType: 'video/mp4', size: bytes.length });
    const id = await insertTestAsset(stack.orm, {
      tenantId: user.session.tenantId,
      createdBy: user.session.userId,
      type: 'video',
      status: 'available',
      sha256,
      durationMs: meta.durationMs,
      originalKey: key,
      originalFilename: basename(path),
      sizeBytes: bytes.length,
      width: meta.width,
      height: meta.height,
      videoCodec: 'h264',
      // ffprobe names an MP4's demuxer "mov,mp4,m4a,3gp,3g2,mj2"; lib/ffmpeg/formats.ts demuxerFor picks "mov".
      technicalMetadata: { demuxer: 'mov', has_audio: meta.hasAudio, has_video: true },
    });
    return { id, key, sha256 };
  }


  function checkTwoSuggestions(job: Body, minMs: number, maxMs: number): Body[] {
    assert.equal(job.status, 'done', JSON.stringify(job.error));
    assert.equal(job.error, null);
    const suggestions = job.suggestions as Body[];
    assert.equal(suggestions.length, 2, JSON.stringify(suggestions));
    assert.deepEqual(suggestions.map((s) => s.index), [0, 1]);
    for (const s of suggestions) {
      const length = Number(s.end_ms) - Number(s.start_ms);
      assert.ok(length >= minMs && length <= maxMs, `length ${length} ms`);
      assert.ok(Number(s.score) >= 0 && Number(s.score) <= 100, `score ${String(s.score)}`);
      assert.ok((s.reasons as string[]).length > 0);
    }
    return suggestions;
  }

  // -------------------------------------------------------------------------------------------
  // The table

  it('a video shorter than min_length_s: 422 VIDEO_TOO_SHORT, and nothing is kept (no job row, the upload deleted)', async () => {
    const user = await newUser();
    const res = await postMultipart(user, { artist_id: user.artistId, min_length_s: '5', max_length_s: '10' }, { path: media.short, name: 'short.mp4' });
    assert.equal(res.status, 422, JSON.stringify(res.body));
    const error = errorOf(res.body);
    assert.equal(error.code, 'VIDEO_TOO_SHORT');
    const details = error.details as { duration_ms: number; min_length_s: number };
    assert.ok(Math.abs(details.duration_ms - 3000) <= 100, `duration ${details.duration_ms} ms`);
    assert.equal(details.min_length_s, 5);
    await assertNothingKept(user.session.tenantId);
  });

  it('a video without audio: accepted, done, every suggestion with hook and energy 0 and a reason saying there is no audio', async () => {
    const user = await newUser();
    const id = await createFromUpload(user, media.mute, { min_length_s: '5', max_length_s: '10' });
    const job = await finished(user, id);
    const suggestions = checkTwoSuggestions(job, 5_000, 10_000);
    for (const s of suggestions) {
      const sub = s.subscores as Record<string, number>;
      assert.equal(sub.hook, 0, JSON.stringify(sub));
      assert.equal(sub.energy, 0, JSON.stringify(sub));
      assert.ok((s.reasons as string[]).some((r) => /no audio/.test(r)), JSON.stringify(s.reasons));
    }
    const ingest = (await stack.orm.em.getConnection().execute('select has_audio from video_ingests where clip_job_id = ?', [id])) as Array<{ has_audio: boolean }>;
    assert.deepEqual(ingest, [{ has_audio: false }]);
  });

  for (const [name, lengths, path] of [
    ['min_length_s > max_length_s', { min_length_s: 30, max_length_s: 20 }, 'min_length_s'],
    ['a negative length', { min_length_s: -5 }, 'min_length_s'],
    ['a length over 600 s', { min_length_s: 15, max_length_s: 601 }, 'max_length_s'],
  ] as const) {
    it(`${name}: 422 VALIDATION_FAILED naming ${path}, before the (unknown) asset is looked up`, async () => {
      const user = await newUser();
      const res = await postJson(user, { video_asset_id: randomUUID(), artist_id: user.artistId, ...lengths });
      assert.equal(res.status, 422, JSON.stringify(res.body));
      const error = errorOf(res.body);
      assert.equal(error.code, 'VALIDATION_FAILED');
      assert.ok((error.details as Array<{ path: string }>).some((d) => d.path === path), JSON.stringify(error.details));
      assert.equal((await kept(user.session.tenantId)).jobs, 0);
    });
  }

  it("another tenant's music_id, artist_id or video_asset_id: 404 NOT_FOUND each; its job: 404 on GET, cancel and events", async () => {
    const other = await newUser();
    const form = new FormData();
    form.append('artist_id', other.artistId);
    form.append('file', new Blob([await readFile(media.click)]), 'click.wav');
    const upload = await fetch(`${base}/api/v1/music`, { method: 'POST', body: form, headers: { authorization: `Bearer ${other.session.access}` } });
    const uploaded = (await upload.json()) as Body;
    assert.equal(upload.status, 202, JSON.stringify(uploaded));
    const otherMusicId = String(uploaded.music_id);
    const otherAsset = await insertReadyVideoAsset(other, media.performance, { durationMs: 20_000, width: 320, height: 180, hasAudio: true });
    const otherJobId = await createFromUpload(other, media.performance, { min_length_s: '5', max_length_s: '10' });

    const user = await newUser();
    const own = await insertReadyVideoAsset(user, media.performance, { durationMs: 20_000, width: 320, height: 180, hasAudio: true });
    const cases: Array<[string, Body, RegExp]> = [
      ['music', { video_asset_id: own.id, artist_id: user.artistId, music_id: otherMusicId }, /music/i],
      ['artist', { video_asset_id: own.id, artist_id: other.artistId }, /artist/i],
      ['video asset', { video_asset_id: otherAsset.id, artist_id: user.artistId }, /asset/i],
    ];
    for (const [what, body, message] of cases) {
      const res = await postJson(user, body);
      assert.equal(res.status, 404, `${what}: ${JSON.stringify(res.body)}`);
      assert.equal(errorOf(res.body).code, 'NOT_FOUND', what);
      assert.match(errorOf(res.body).message, message, what);
    }
    assert.equal((await kept(user.session.tenantId)).jobs, 0);

    for (const [method, path] of [['GET', ''], ['POST', '/cancel'], ['GET', '/events']] as const) {
      const res = await call(base, method, `/api/v1/clip-jobs/${otherJobId}${path}`, { token: user.session.access });
      assert.equal(res.status, 404, `${method} ${path}: ${JSON.stringify(res.body)}`);
      assert.equal(errorOf(res.body).code, 'NOT_FOUND');
    }
    const list = await call(base, 'GET', '/api/v1/clip-jobs', { token: user.session.access });
    assert.deepEqual(list.body.items, []);
    // Its own tenant still sees it, not cancelled by the stranger's request.
    const job = await finished(other, otherJobId);
    assert.equal(job.status, 'done', JSON.stringify(job.error));
  });

  it('a single-colour video: done with 2 suggestions, low scores (no motion, cuts or variety), no crash', async (t) => {
    const user = await newUser();
    const id = await createFromUpload(user, media.colour, { min_length_s: '5', max_length_s: '10' });
    const suggestions = checkTwoSuggestions(await finished(user, id), 5_000, 10_000);
    t.diagnostic(`scores ${suggestions.map((s) => String(s.score)).join(', ')}`);
    for (const s of suggestions) {
      const sub = s.subscores as Record<string, number>;
      assert.equal(sub.motion, 0, JSON.stringify(sub));
      assert.equal(sub.cuts_on_beats, 0, JSON.stringify(sub));
      assert.equal(sub.visual_variety, 0, JSON.stringify(sub));
      assert.ok(sub.frozen_penalty > 0.5, `frozen ${sub.frozen_penalty}`);
      assert.ok(Number(s.score) < 30, `score ${String(s.score)}`);
    }
  });

  it('a still image sequence (one PNG held 20 s, no audio): done with 2 suggestions, low scores, no crash', async (t) => {
    const user = await newUser();
    const id = await createFromUpload(user, media.still, { min_length_s: '5', max_length_s: '10' });
    const suggestions = checkTwoSuggestions(await finished(user, id), 5_000, 10_000);
    t.diagnostic(`scores ${suggestions.map((s) => String(s.score)).join(', ')}`);
    for (const s of suggestions) {
      const sub = s.subscores as Record<string, number>;
      assert.ok(sub.motion < 0.01, `motion ${sub.motion}: only the encoder's flicker`);
      assert.equal(sub.hook, 0, JSON.stringify(sub));
      assert.equal(sub.energy, 0, JSON.stringify(sub));
      assert.equal(sub.visual_variety, 0, JSON.stringify(sub));
      assert.ok(sub.frozen_penalty > 0.5, `frozen ${sub.frozen_penalty}`);
      assert.ok(Number(s.score) < 30, `score ${String(s.score)}`);
    }
  });

  it('cancel during the analysis: 202, the job ends cancelled, no ffmpeg of the job remains, a second cancel is 409 JOB_FINISHED', async (t) => {
    const user = await newUser();
    const id = await createFromUpload(user, media.long);
    const running = await eventually(async () => {
      const job = await getJob(user, id);
      assert.ok(!TERMINAL.includes(String(job.status)), `the job ended ${String(job.status)} before it could be cancelled`);
      return job.status === 'analyzing' && job.stage === 'analyzing video' && Number(job.progress) > 0 ? job : undefined;
    }, { timeoutMs: 90_000, what: 'the analysis under way' });
    assert.ok(Number(running.progress) < 80, `progress ${String(running.progress)}`);
    assert.ok((await ffmpegProcessesWith(id)).length > 0, 'the analysis runs ffmpeg on the downloaded video');

    const cancelledAt = Date.now();
    const cancel = await call(base, 'POST', `/api/v1/clip-jobs/${id}/cancel`, { token: user.session.access });
    assert.equal(cancel.status, 202, JSON.stringify(cancel.body));
    assert.equal(cancel.body.clip_job_id, id);

    const job = await finished(user, id, 60_000);
    const latencyMs = Date.now() - cancelledAt;
    assert.equal(job.status, 'cancelled', JSON.stringify(job));
    assert.equal(job.stage, 'cancelled');
    assert.equal(job.error, null);
    assert.notEqual(job.completed_at, null);
    assert.deepEqual(job.suggestions, []);
    assert.deepEqual(await ffmpegProcessesWith(id), [], 'no ffmpeg of the job is left');
    assert.equal(existsSync(join(tmpdir(), 'moviola-ingest', id)), false, 'the temp dir of the analysis is removed');
    // ffmpeg was stopped, not waited for: no analysis of the video was stored.
    const analyses = (await stack.orm.em.getConnection().execute('select count(*)::int as n from video_analysis where tenant_id = ?', [user.session.tenantId])) as Array<{ n: number }>;
    assert.equal(analyses[0]!.n, 0, `the analysis ran to its end (cancelled after ${latencyMs} ms)`);
    t.diagnostic(`cancelled at ${String(running.progress)} %; the job was cancelled ${latencyMs} ms after the request`);
    const described = await stack.temporal.workflow.getHandle(`clip-${id}`).describe();
    assert.equal(described.status.name, 'CANCELLED');

    const again = await call(base, 'POST', `/api/v1/clip-jobs/${id}/cancel`, { token: user.session.access });
    assert.equal(again.status, 409, JSON.stringify(again.body));
    assert.equal(errorOf(again.body).code, 'JOB_FINISHED');
  });

  // -------------------------------------------------------------------------------------------
  // More rows

  it('no video at all: 400 VIDEO_REQUIRED; both a file and video_asset_id: 422, the file not kept', async () => {
    const user = await newUser();
    const none = await postJson(user, { artist_id: user.artistId });
    assert.equal(none.status, 400, JSON.stringify(none.body));
    assert.equal(errorOf(none.body).code, 'VIDEO_REQUIRED');
    const noneMultipart = await postMultipart(user, { artist_id: user.artistId });
    assert.equal(noneMultipart.status, 400, JSON.stringify(noneMultipart.body));
    assert.equal(errorOf(noneMultipart.body).code, 'VIDEO_REQUIRED');

    const asset = await insertReadyVideoAsset(user, media.performance, { durationMs: 20_000, width: 320, height: 180, hasAudio: true });
    const both = await postMultipart(user, { artist_id: user.artistId, video_asset_id: asset.id }, { path: media.performance, name: 'show.mp4' });
    assert.equal(both.status, 422, JSON.stringify(both.body));
    assert.equal(errorOf(both.body).code, 'VALIDATION_FAILED');
    const left = await kept(user.session.tenantId);
    assert.equal(left.jobs, 0);
    assert.equal(left.ingests, 0);
    assert.deepEqual(left.objects, [asset.key], 'only the asset’s own original is in storage');
  });

  it('a PNG sent as the video: 422 INVALID_MEDIA when named clip.mp4, 415 UNSUPPORTED_FORMAT when named .png; nothing kept', async () => {
    const user = await newUser();
    const disguised = await postMultipart(user, { artist_id: user.artistId }, { path: media.png, name: 'clip.mp4' });
    assert.equal(disguised.status, 422, JSON.stringify(disguised.body));
    assert.equal(errorOf(disguised.body).code, 'INVALID_MEDIA');
    const png = await postMultipart(user, { artist_id: user.artistId }, { path: media.png, name: 'picture.png' });
    assert.equal(png.status, 415, JSON.stringify(png.body));
    assert.equal(errorOf(png.body).code, 'UNSUPPORTED_FORMAT');
    await assertNothingKept(user.session.tenantId);
  });

  it('a track not analysed yet: 409 MUSIC_NOT_ANALYZED', async () => {
    const user = await newUser();
    const asset = await insertReadyVideoAsset(user, media.performance, { durationMs: 20_000, width: 320, height: 180, hasAudio: true });
    const musicId = randomUUID();
    const now = new Date();
    await stack.orm.em.fork().insert(MusicAsset, {
      id: musicId, tenantId: user.session.tenantId, artistId: user.artistId, title: 'Not yet', declaredGenre: null,
      originalFilename: 'track.wav', contentType: 'audio/wav', sizeBytes: 1000, sha256: 'a'.repeat(64),
      storageKey: `${user.session.tenantId}/music/${musicId}/original.wav`, durationMs: null, status: 'queued', analysisId: null,
      errorCode: null, errorMessage: null, createdBy: user.session.userId, createdAt: now, updatedAt: now, deletedAt: null,
    });
    const res = await postJson(user, { video_asset_id: asset.id, artist_id: user.artistId, music_id: musicId, min_length_s: 5, max_length_s: 10 });
    assert.equal(res.status, 409, JSON.stringify(res.body));
    assert.equal(errorOf(res.body).code, 'MUSIC_NOT_ANALYZED');
    assert.match(errorOf(res.body).message, /queued/);
    assert.equal((await kept(user.session.tenantId)).jobs, 0);
  });

  it('video_asset_id of an image: 422 NOT_A_VIDEO; of a video whose metadata is not read yet: 409 ASSET_NOT_READY', async () => {
    const user = await newUser();
    const image = await insertTestAsset(stack.orm, { tenantId: user.session.tenantId, createdBy: user.session.userId, type: 'image', durationMs: null });
    const notAVideo = await postJson(user, { video_asset_id: image, artist_id: user.artistId });
    assert.equal(notAVideo.status, 422, JSON.stringify(notAVideo.body));
    assert.equal(errorOf(notAVideo.body).code, 'NOT_A_VIDEO');

    const unready = await insertTestAsset(stack.orm, { tenantId: user.session.tenantId, createdBy: user.session.userId, type: 'video', status: 'processing' });
    const notReady = await postJson(user, { video_asset_id: unready, artist_id: user.artistId });
    assert.equal(notReady.status, 409, JSON.stringify(notReady.body));
    assert.equal(errorOf(notReady.body).code, 'ASSET_NOT_READY');
    assert.equal((await kept(user.session.tenantId)).jobs, 0);
  });

  it(`the creation limit: the ${CLIP_JOBS_PER_MINUTE + 1}th request of a user within a minute is 429 RATE_LIMITED (counted before validation)`, async () => {
    const user = await newUser();
    for (let i = 0; i < CLIP_JOBS_PER_MINUTE; i++) {
      const res = await postJson(user, {});
      assert.equal(res.status, 422, `request ${i + 1}: ${JSON.stringify(res.body)}`);
      assert.equal(errorOf(res.body).code, 'VALIDATION_FAILED');
    }
    const limited = await postJson(user, {});
    assert.equal(limited.status, 429, JSON.stringify(limited.body));
    assert.equal(errorOf(limited.body).code, 'RATE_LIMITED');
    assert.ok(Number(limited.headers.get('retry-after')) >= 1);
    // Another user is not affected.
    const other = await newUser();
    const res = await postJson(other, {});
    assert.equal(res.status, 422);
  });

  it('a job from an ingested video asset (JSON body): done with 2 suggestions, video_asset_id in the job', async () => {
    const user = await newUser();
    const asset = await insertReadyVideoAsset(user, media.performance, { durationMs: 20_000, width: 320, height: 180, hasAudio: true });
    const res = await postJson(user, { video_asset_id: asset.id, artist_id: user.artistId, min_length_s: 5, max_length_s: 10 });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    assert.equal(res.headers.get('location'), `/api/v1/clip-jobs/${String(res.body.clip_job_id)}`);
    const id = String(res.body.clip_job_id);
    const job = await finished(user, id);
    checkTwoSuggestions(job, 5_000, 10_000);
    assert.equal(job.video_asset_id, asset.id);
    assert.equal(job.artist_id, user.artistId);
    assert.equal(job.music_id, null);
    const ingest = (await stack.orm.em.getConnection().execute(
      'select source, asset_id, storage_key, sha256, demuxer, has_audio, analysis_id from video_ingests where clip_job_id = ?', [id],
    )) as Array<Body>;
    assert.equal(ingest.length, 1);
    assert.deepEqual({ ...ingest[0], analysis_id: typeof ingest[0]!.analysis_id }, {
      source: 'asset', asset_id: asset.id, storage_key: asset.key, sha256: asset.sha256, demuxer: 'mov', has_audio: true, analysis_id: 'string',
    });
    // The asset's original is the asset's: the job does not delete it.
    assert.notEqual(await stack.storage.stat('originals', asset.key), null);
  });

  it('the SSE stream of a job ends with a final `status` event whose job is done', async () => {
    const user = await newUser();
    const id = await createFromUpload(user, media.performance, { min_length_s: '5', max_length_s: '10' });
    const res = await fetch(`${base}/api/v1/clip-jobs/${id}/events`, { headers: { authorization: `Bearer ${user.session.access}` }, signal: AbortSignal.timeout(90_000) });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = '';
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      text += value;
    }
    const events = text.split('\n\n').filter((block) => block.trim() !== '' && !block.startsWith(':')).map((block) => {
      const fields = Object.fromEntries(block.split('\n').map((line) => [line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 1).trim()]));
      return { event: fields.event, id: fields.id, data: JSON.parse(fields.data ?? 'null') as Body };
    });
    assert.ok(events.length >= 2, `${events.length} events: ${text}`);
    assert.ok(events.every((e) => e.event === 'status' && e.data.clip_job_id === id), text);
    const last = events.at(-1)!;
    assert.equal(last.data.status, 'done', JSON.stringify(last.data));
    assert.equal((last.data.suggestions as Body[]).length, 2);
    assert.ok(events.slice(0, -1).every((e) => e.data.status !== 'done'), 'done only once, at the end');
  });
});
