/**
 * Music analysis on the real stack: artists, upload → inspectMusic → analyzeMusic on the heavy
 * worker → done with tempo, beats, loudness, sections and genre; the cache (the same audio again
 * runs no analysis activity); every bad-input row of the issue that the API answers; similar tracks.
 * Transcription with a provider is in music-transcription.test.ts.
 */
import '../support/quiet-runtime.ts';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { after, before, describe, it } from 'node:test';
import { createMusicDbActivities } from '../../activities/db/music.ts';
import { ANALYZER_VERSION } from '../../lib/audio/analysis.ts';
import { EventType } from '../support/history.ts';
import { call, registerTenant, type Session } from '../support/accounts.ts';
import { makePng, tempDir } from '../support/media.ts';
import { eventually, startTestStack, type TestStack } from '../support/stack.ts';

type Body = Record<string, unknown>;
const run = promisify(execFile);
const FFMPEG = process.env.FFMPEG_PATH ?? 'ffmpeg';

/** A click every 60/bpm s (10 ms of 1 kHz), with a louder click on each bar's first beat. */
async function clickTrack(dir: string, name: string, bpm: number, seconds: number, extra: string[] = []): Promise<string> {
  const period = 60 / bpm;
  const path = join(dir, name);
  const expr = `if(lt(mod(t,${period}),0.012),(0.4+0.5*lt(mod(t,${4 * period}),0.012))*sin(2*PI*1000*t),0)`;
  await run(FFMPEG, ['-v', 'error', '-y', '-f', 'lavfi', '-i', `aevalsrc=exprs='${expr}':s=44100:d=${seconds}`, ...extra, path]);
  return path;
}

describe('music analysis on the real stack', { timeout: 420_000 }, () => {
  let stack: TestStack;
  let base: string;
  let alice: Session;
  let bob: Session;
  let dir: string;
  let artistId: string;

  before(async () => {
    stack = await startTestStack({
      name: 'music',
      env: { MUSIC_MAX_UPLOAD_MB: '2', MUSIC_MAX_DURATION_MINUTES: '1', OPENAI_API_KEY: '', RATE_LIMIT_REQUESTS_PER_USER: '100000', RATE_LIMIT_UPLOADS_PER_USER_PER_MINUTE: '1000' },
    });
    base = stack.baseUrl;
    alice = await registerTenant(base);
    bob = await registerTenant(base);
    dir = await tempDir();
  });
  after(async () => {
    await stack?.stop();
  });

  async function upload(path: string, name: string, fields: Record<string, string>, token = alice.access) {
    const form = new FormData();
    for (const [k, v] of Object.entries(fields)) form.append(k, v);
    form.append('file', new Blob([await readFile(path)]), name);
    const res = await fetch(`${base}/api/v1/music`, { method: 'POST', body: form, headers: { authorization: `Bearer ${token}` } });
    return { status: res.status, body: (await res.json()) as Body };
  }

  /** With MOVIOLA_RECORD_HISTORIES=<dir>, keeps the workflow's history for test/replay/histories. */
  async function recordHistory(workflowId: string, name: string) {
    const target = process.env.MOVIOLA_RECORD_HISTORIES;
    if (!target) return;
    await mkdir(target, { recursive: true });
    await writeFile(join(target, `${name}.json`), historyToJSON(await stack.temporal.workflow.getHandle(workflowId).fetchHistory()));
  }

  async function analysed(id: string): Promise<Body> {
    return eventually(async () => {
      const res = await call(base, 'GET', `/api/v1/music/${id}`, { token: alice.access });
      assert.equal(res.status, 200);
      return ['done', 'failed'].includes(String(res.body.status)) ? res.body : undefined;
    }, { timeoutMs: 120_000, what: `music ${id} analysed` });
  }

  it('manages artists, tenant-scoped', async () => {
    const created = await call(base, 'POST', '/api/v1/artists', { token: alice.access, body: { name: 'Trio Nordeste', genres: ['  Forró ', 'forró', 'Baião'] } });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    artistId = String(created.body.id);
    assert.deepEqual(created.body.genres, ['forró', 'baião']);
    const patched = await call(base, 'PATCH', `/api/v1/artists/${artistId}`, { token: alice.access, body: { name: 'Trio Nordeste Novo' } });
    assert.equal(patched.body.name, 'Trio Nordeste Novo');
    assert.equal((await call(base, 'GET', '/api/v1/artists', { token: alice.access })).body.items instanceof Array, true);
    for (const [method, path] of [['GET', `/api/v1/artists/${artistId}`], ['PATCH', `/api/v1/artists/${artistId}`], ['DELETE', `/api/v1/artists/${artistId}`]] as const) {
      const res = await call(base, method, path, { token: bob.access, ...(method === 'PATCH' ? { body: { name: 'x' } } : {}) });
      assert.equal(res.status, 404, `${method} ${path}`);
    }
    const bad = await call(base, 'POST', '/api/v1/artists', { token: alice.access, body: { name: '   ' } });
    assert.equal(bad.status, 422);
    const gone = await call(base, 'POST', '/api/v1/artists', { token: alice.access, body: { name: 'Temporário' } });
    assert.equal((await call(base, 'DELETE', `/api/v1/artists/${String(gone.body.id)}`, { token: alice.access })).status, 204);
    assert.equal((await call(base, 'GET', `/api/v1/artists/${String(gone.body.id)}`, { token: alice.access })).status, 404);
  });

  it('analyses a track: tempo, beats, downbeats, loudness, sections, genre; transcription unavailable without a provider', async () => {
    const track = await clickTrack(dir, 'clicks-120.wav', 120, 20);
    const res = await upload(track, 'clicks-120.wav', { artist_id: artistId, title: 'Cliques', declared_genre: '  Forró   Pé-de-Serra ' });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    assert.deepEqual(Object.keys(res.body).sort(), ['music_id', 'status']);
    assert.equal(res.body.status, 'queued');
    const music = await analysed(String(res.body.music_id));
    assert.equal(music.status, 'done', JSON.stringify(music.error));
    const analysis = music.analysis as Body;
    const tempo = Number(analysis.tempo_bpm);
    assert.ok([120, 60, 240].some((t) => Math.abs(tempo - t) / t < 0.04), `tempo ${tempo}`);
    const beats = analysis.beats_ms as number[];
    assert.ok(beats.length >= 18, `beats: ${beats.length}`);
    assert.ok(beats.every((b, i) => i === 0 || b > beats[i - 1]!), 'beats ascending');
    assert.ok((analysis.downbeats_ms as number[]).length >= 3);
    assert.equal(typeof analysis.loudness_lufs, 'number');
    assert.ok((analysis.sections as Body[]).length >= 1);
    assert.deepEqual((analysis.genre as Body).declared, 'forró pé-de-serra');
    // Inferred against the seeded reference profiles, whatever was declared.
    assert.ok(['samba', 'rock', 'electronic', 'ballad', 'hip-hop', 'forró'].includes(String((analysis.genre as Body).inferred)), JSON.stringify(analysis.genre));
    const score = Number((analysis.genre as Body).score);
    assert.ok(score > 0 && score <= 1, `score ${score}`);
    assert.equal((analysis.transcription as Body).status, 'unavailable');
    assert.equal((analysis.transcription as Body).text, null);
    assert.ok(Math.abs(Number(music.duration_ms) - 20_000) < 100);
    await recordHistory(`music-${String(res.body.music_id)}`, 'analyzeMusic-done-no-provider');
    await recordHistory(`inspect-music-${String(res.body.music_id)}`, 'inspectMusic-ok');
  });

  it('reuses the cached analysis for the same audio: no analysis activity runs', async () => {
    const track = join(dir, 'clicks-120.wav');
    const again = await upload(track, 'same-audio.wav', { artist_id: artistId });
    assert.equal(again.status, 202);
    const id = String(again.body.music_id);
    const music = await analysed(id);
    assert.equal(music.status, 'done');
    const first = (await call(base, 'GET', '/api/v1/music?limit=5', { token: alice.access })).body.items as Body[];
    assert.ok(first.length >= 2);
    const history = await stack.temporal.workflow.getHandle(`music-${id}`).fetchHistory();
    const scheduled = (history.events ?? [])
      .filter((e) => e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED)
      .map((e) => e.activityTaskScheduledEventAttributes?.activityType?.name);
    assert.ok(scheduled.includes('findCachedMusicAnalysis'));
    assert.ok(!scheduled.includes('analyzeMusicAudio'), `activities: ${scheduled.join(', ')}`);
    await recordHistory(`music-${id}`, 'analyzeMusic-cached');
    // The cache key carries the analyzer version: another version finds nothing, so it recomputes.
    const db = createMusicDbActivities({ orm: stack.orm });
    const key = { tenantId: alice.tenantId, sha256: String(music.sha256) };
    assert.notEqual(await db.findCachedMusicAnalysis({ ...key, analyzerVersion: ANALYZER_VERSION }), null);
    assert.equal(await db.findCachedMusicAnalysis({ ...key, analyzerVersion: `${ANALYZER_VERSION}-next` }), null);
    const original = first.find((m) => m.music_id !== id && m.sha256 === music.sha256)!;
    const originalView = (await call(base, 'GET', `/api/v1/music/${String(original.music_id)}`, { token: alice.access })).body;
    assert.deepEqual((music.analysis as Body).beats_ms, (originalView.analysis as Body).beats_ms);
  });

  it('refuses bad uploads with their codes and keeps nothing', async () => {
    const text = join(dir, 'notes.mp3');
    await run('sh', ['-c', `echo "not audio at all" > ${text}`]);
    const png = await makePng(dir, 'cover.png');
    const silentVideo = join(dir, 'silent-video.mp4');
    await run(FFMPEG, ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=160x120:rate=10:d=3', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', silentVideo]);
    const short = await clickTrack(dir, 'short.wav', 120, 1);
    const long = await clickTrack(dir, 'long.m4a', 120, 70, ['-c:a', 'aac', '-b:a', '48k']);
    const big = await clickTrack(dir, 'big.wav', 120, 30);
    const cases: Array<[string, string, Record<string, string>, number, string]> = [
      [text, 'notes.mp3', { artist_id: artistId }, 422, 'INVALID_MEDIA'],
      [png, 'cover.mp3', { artist_id: artistId }, 422, 'INVALID_MEDIA'],
      [silentVideo, 'silent-video.mp4', { artist_id: artistId }, 422, 'NO_AUDIO_STREAM'],
      [short, 'short.wav', { artist_id: artistId }, 422, 'AUDIO_TOO_SHORT'],
      [long, 'long.m4a', { artist_id: artistId }, 422, 'AUDIO_TOO_LONG'],
      [big, 'big.wav', { artist_id: artistId }, 413, 'PAYLOAD_TOO_LARGE'],
      [short, 'short.exe', { artist_id: artistId }, 415, 'UNSUPPORTED_FORMAT'],
      [short, 'short.wav', {}, 422, 'VALIDATION_FAILED'],
    ];
    for (const [path, name, fields, status, code] of cases) {
      const res = await upload(path, name, fields);
      assert.equal(res.status, status, `${name}: ${JSON.stringify(res.body)}`);
      assert.equal((res.body.error as Body).code, code, name);
    }
    const foreignArtist = await call(base, 'POST', '/api/v1/artists', { token: bob.access, body: { name: 'De outro tenant' } });
    const foreign = await upload(short.replace('short', 'short'), 'short.wav', { artist_id: String(foreignArtist.body.id) });
    assert.equal(foreign.status, 404);
    const stored: string[] = [];
    for await (const o of stack.storage.list('originals', `${alice.tenantId}/music/`)) stored.push(o.key);
    assert.equal(stored.length, 2, `only the two accepted tracks are stored: ${stored.join(', ')}`);
  });

  it('analyses digital silence without a tempo and says why; resampled input of other rates and channel counts', async () => {
    const silence = join(dir, 'silence.wav');
    await run(FFMPEG, ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'anullsrc=r=44100:cl=mono', '-t', '5', silence]);
    const quiet = await upload(silence, 'silence.wav', { artist_id: artistId, declared_genre: 'Gênero Inventado' });
    assert.equal(quiet.status, 202);
    const six = await clickTrack(dir, 'six-96k.flac', 100, 12, ['-af', 'aresample=96000,pan=5.1|c0=c0|c1=c0|c2=c0|c3=c0|c4=c0|c5=c0', '-c:a', 'flac']);
    const sixUp = await upload(six, 'six-96k.flac', { artist_id: artistId, declared_genre: 'Xote Psicodélico' });
    assert.equal(sixUp.status, 202, JSON.stringify(sixUp.body));

    const silent = await analysed(String(quiet.body.music_id));
    assert.equal(silent.status, 'done', JSON.stringify(silent.error));
    const a = silent.analysis as Body;
    assert.equal(a.tempo_bpm, null);
    assert.equal(typeof a.tempo_reason, 'string');
    assert.deepEqual(a.beats_ms, []);
    assert.equal((a.genre as Body).declared, 'gênero inventado');
    assert.equal((a.genre as Body).inferred, null, 'silence has no genre to infer');

    const surround = await analysed(String(sixUp.body.music_id));
    assert.equal(surround.status, 'done', JSON.stringify(surround.error));
    const tempo = Number((surround.analysis as Body).tempo_bpm);
    assert.ok([100, 50, 200].some((t) => Math.abs(tempo - t) / t < 0.04), `tempo ${tempo}`);
    const genre = (surround.analysis as Body).genre as Body;
    assert.equal(genre.declared, 'xote psicodélico', 'an unknown genre is kept as normalized free text');
    assert.notEqual(genre.inferred, null, 'and a genre is still inferred');
  });

  it('finds similar tracks in the tenant by embedding', async () => {
    const list = (await call(base, 'GET', '/api/v1/music?status=done&limit=50', { token: alice.access })).body.items as Body[];
    const some = list.find((m) => m.title === 'Cliques')!;
    const similar = await call(base, 'GET', `/api/v1/music/${String(some.music_id)}/similar`, { token: alice.access });
    assert.equal(similar.status, 200, JSON.stringify(similar.body));
    const items = similar.body.items as Body[];
    assert.ok(items.length >= 1);
    assert.ok(items.every((i) => i.music_id !== some.music_id && Number(i.similarity) <= 1.0001 && Number(i.similarity) >= -1.0001));
    const sims = items.map((i) => Number(i.similarity));
    assert.deepEqual(sims, [...sims].sort((x, y) => y - x));
    assert.equal((await call(base, 'GET', `/api/v1/music/${String(some.music_id)}/similar`, { token: bob.access })).status, 404);
  });
});
