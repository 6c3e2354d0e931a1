/**
 * Asset ingest end to end on the real stack: upload through the API → ingestAsset (validate,
 * metadata, then the renditions of each type on the main and heavy workers) → available; every
 * rendition fetched through its presigned URL with a plain HTTP client and checked with ffprobe;
 * the HLS master played end to end by ffmpeg with no extra headers; scene markers; SSE progress;
 * reprocess of chosen steps (renditions replaced, never duplicated).
 */
import '../support/quiet-runtime.ts';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { AssetMarker, AssetRendition } from '../../entities/index.ts';
import { call, registerTenant, type Session } from '../support/accounts.ts';
import { makePng, tempDir } from '../support/media.ts';
import { eventually, startTestStack, type TestStack } from '../support/stack.ts';

type Body = Record<string, unknown>;
const run = promisify(execFile);
const FFMPEG = process.env.FFMPEG_PATH ?? 'ffmpeg';
const FFPROBE = process.env.FFPROBE_PATH ?? 'ffprobe';

/** 1 s black, then 3 s of testsrc2, then 4 s of SMPTE bars: two hard cuts, 1280×720, with a tone. */
async function makeCutClip(dir: string): Promise<string> {
  const path = join(dir, 'cuts.mp4');
  await run(FFMPEG, [
    '-v', 'error', '-y',
    '-f', 'lavfi', '-i', 'color=c=black:s=1280x720:r=25:d=1',
    '-f', 'lavfi', '-i', 'testsrc2=s=1280x720:r=25:d=3',
    '-f', 'lavfi', '-i', 'smptebars=s=1280x720:r=25:d=4',
    '-f', 'lavfi', '-i', 'sine=frequency=330:sample_rate=48000:d=8',
    '-filter_complex', '[0:v][1:v][2:v]concat=n=3:v=1:a=0,format=yuv420p[v]',
    '-map', '[v]', '-map', '3:a', '-c:v', 'libx264', '-preset', 'ultrafast', '-c:a', 'aac', '-movflags', '+faststart', path,
  ]);
  return path;
}

async function ffprobe(target: string): Promise<{ format: Body; streams: Body[] }> {
  const { stdout } = await run(FFPROBE, ['-v', 'error', '-show_format', '-show_streams', '-of', 'json', target]);
  return JSON.parse(stdout) as { format: Body; streams: Body[] };
}

describe('asset ingest on the real stack', { timeout: 420_000 }, () => {
  let stack: TestStack;
  let base: string;
  let alice: Session;
  let dir: string;

  before(async () => {
    stack = await startTestStack({ name: 'assets-ingest', env: { RATE_LIMIT_REQUESTS_PER_USER: '100000', RATE_LIMIT_UPLOADS_PER_USER_PER_MINUTE: '1000', RATE_LIMIT_DOWNLOADS_PER_USER_PER_MINUTE: '1000' } });
    base = stack.baseUrl;
    alice = await registerTenant(base);
    dir = await tempDir();
  });
  after(async () => {
    await stack?.stop();
  });

  async function upload(path: string, name: string, fields: Record<string, string> = {}) {
    const form = new FormData();
    for (const [k, v] of Object.entries(fields)) form.append(k, v);
    form.append('file', new Blob([await readFile(path)]), name);
    const res = await fetch(`${base}/api/v1/assets`, { method: 'POST', body: form, headers: { authorization: `Bearer ${alice.access}` } });
    return { status: res.status, body: (await res.json()) as Body };
  }

  async function settled(id: string, timeoutMs = 180_000): Promise<Body> {
    return eventually(async () => {
      const res = await call(base, 'GET', `/api/v1/assets/${id}`, { token: alice.access });
      assert.equal(res.status, 200);
      return ['available', 'failed'].includes(String(res.body.status)) ? res.body : undefined;
    }, { timeoutMs, what: `asset ${id} to settle` });
  }

  async function fetchRendition(id: string, purpose: string, ext: string): Promise<string> {
    const res = await call(base, 'GET', `/api/v1/assets/${id}/download?purpose=${purpose}`, { token: alice.access });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const file = await fetch(String(res.body.download_url));
    assert.equal(file.status, 200);
    const path = join(dir, `${id}-${purpose}${ext}`);
    await writeFile(path, Buffer.from(await file.arrayBuffer()));
    return path;
  }

  async function recordHistory(workflowId: string, name: string) {
    const target = process.env.MOVIOLA_RECORD_HISTORIES;
    if (!target) return;
    await mkdir(target, { recursive: true });
    const history = await stack.temporal.workflow.getHandle(workflowId).fetchHistory();
    await writeFile(join(target, `${name}.json`), historyToJSON(history));
  }

  it('ingests a video: poster, sprite, 480p/720p proxies, HLS ladder, scene markers; progress over SSE', async () => {
    const clip = await makeCutClip(dir);
    const accepted = await upload(clip, 'Show de abertura.mp4', { title: 'Abertura', code: 'SHOW-01', priority: '10' });
    assert.equal(accepted.status, 202, JSON.stringify(accepted.body));
    const id = String(accepted.body.id);
    assert.equal(accepted.body.status, 'pending');
    assert.equal(accepted.body.type, 'video');
    assert.equal(accepted.body.sha256, (await run('sha256sum', [clip])).stdout.slice(0, 64));

    // Server-sent events until the asset settles.
    const events = await fetch(`${base}/api/v1/assets/${id}/events`, { headers: { authorization: `Bearer ${alice.access}` } });
    assert.equal(events.status, 200);
    assert.match(events.headers.get('content-type') ?? '', /text\/event-stream/);
    const stream = await events.text();
    const snapshots = [...stream.matchAll(/^data: (.*)$/gm)].map((m) => JSON.parse(m[1]!) as Body);
    assert.ok(snapshots.length >= 2, 'several snapshots');
    assert.equal(snapshots.at(-1)!.status, 'available', JSON.stringify(snapshots.at(-1)));

    const asset = await settled(id);
    assert.equal(asset.status, 'available', JSON.stringify(asset.error));
    assert.equal(asset.progress, 100);
    assert.equal(asset.width, 1280);
    assert.equal(asset.height, 720);
    assert.ok(Math.abs(Number(asset.duration_ms) - 8000) < 200, String(asset.duration_ms));
    assert.equal(asset.video_codec, 'h264');
    assert.equal(asset.audio_codec, 'aac');
    const steps = asset.steps as Body[];
    assert.deepEqual(steps.map((s) => s.step), ['validate', 'metadata', 'poster', 'sprite', 'proxy', 'hls', 'scenes']);
    for (const step of steps) {
      assert.equal(step.status, 'done', JSON.stringify(step));
      assert.equal(typeof step.duration_ms, 'number');
    }
    const names = (asset.renditions as Body[]).map((r) => r.name).sort();
    assert.deepEqual(names, ['hls', 'poster', 'proxy_480', 'proxy_720', 'sprite']);

    // Proxies: H.264/AAC, faststart, never upscaled.
    for (const [purpose, height] of [['proxy_480', 480], ['proxy_720', 720]] as const) {
      const path = await fetchRendition(id, purpose, '.mp4');
      const probe = await ffprobe(path);
      const video = probe.streams.find((s) => s.codec_type === 'video')!;
      assert.equal(video.codec_name, 'h264');
      assert.equal(video.height, height);
      assert.equal(probe.streams.find((s) => s.codec_type === 'audio')?.codec_name, 'aac');
      const bytes = await readFile(path);
      assert.ok(bytes.indexOf('moov') < bytes.indexOf('mdat'), `${purpose}: moov before mdat (faststart)`);
    }

    // Poster: a JPEG of a real frame — not the black first second.
    const poster = await fetchRendition(id, 'poster', '.jpg');
    const { stdout: gray } = await run(FFMPEG, ['-v', 'error', '-i', poster, '-vf', 'scale=64:36,format=gray', '-f', 'rawvideo', '-'], { encoding: 'buffer' }) as unknown as { stdout: Buffer };
    const mean = gray.reduce((sum, v) => sum + v, 0) / gray.length;
    assert.ok(mean > 40, `poster mean luma ${mean.toFixed(1)}: not black`);
    const sprite = await ffprobe(await fetchRendition(id, 'sprite', '.jpg'));
    assert.equal(sprite.streams[0]!.codec_name, 'mjpeg');

    // HLS: the signed master plays end to end in ffmpeg, with no header; variants at or below the source.
    const hls = await call(base, 'GET', `/api/v1/assets/${id}/hls`, { token: alice.access });
    assert.equal(hls.status, 200);
    // The URL is built on PUBLIC_URL; this test's API listens on an ephemeral port.
    const signed = new URL(String(hls.body.url));
    assert.equal(signed.origin, stack.config.api.publicUrl);
    hls.body.url = `${base}${signed.pathname}${signed.search}`;
    const master = await (await fetch(String(hls.body.url))).text();
    assert.match(master, /#EXTM3U/);
    assert.doesNotMatch(master, /1080/);
    assert.equal((master.match(/#EXT-X-STREAM-INF/g) ?? []).length, 2, master);
    await run(FFMPEG, ['-v', 'error', '-i', String(hls.body.url), '-map', '0:v:0', '-f', 'null', '-']);
    const played = await ffprobe(String(hls.body.url));
    assert.ok(Math.abs(Number(played.format.duration) - 8) < 0.5, `HLS duration ${played.format.duration}`);
    const variantUrl = new URL(master.split('\n').find((l) => l.includes('.m3u8?'))!, String(hls.body.url)).toString();
    const variant = await (await fetch(variantUrl)).text();
    assert.match(variant, /#EXT-X-MAP:URI="http/);
    const durations = [...variant.matchAll(/#EXTINF:([\d.]+)/g)].map((m) => Number(m[1]));
    assert.ok(durations.slice(0, -1).every((d) => Math.abs(d - 4) < 0.5), `segments of ~4 s: ${durations}`);
    const tampered = new URL(String(hls.body.url));
    tampered.searchParams.set('token', 'x'.repeat(43));
    assert.equal((await fetch(tampered)).status, 403);

    // Scene markers: the two hard cuts.
    const markers = await stack.orm.em.fork().find(AssetMarker, { assetId: id, type: 'scene' }, { orderBy: { timecodeInMs: 'asc' } });
    assert.ok(markers.length >= 3, `scene markers: ${markers.length}`);
    assert.equal(markers[0]!.timecodeInMs, 0);
    assert.ok(markers.some((m) => Math.abs(m.timecodeInMs - 1000) < 200), 'a cut near 1 s');
    assert.ok(markers.some((m) => Math.abs(m.timecodeInMs - 4000) < 200), 'a cut near 4 s');
    await recordHistory(`ingest-${id}`, 'ingestAsset-video-available');

    // Reprocess proxy + hls: the renditions are replaced, never duplicated.
    const before = await stack.orm.em.fork().find(AssetRendition, { assetId: id });
    const again = await call(base, 'POST', `/api/v1/assets/${id}/reprocess`, { token: alice.access, body: { steps: ['proxy', 'hls'] } });
    assert.equal(again.status, 202, JSON.stringify(again.body));
    await stack.temporal.workflow.getHandle(`ingest-${id}`).result();
    const after = await settled(id);
    assert.equal(after.status, 'available');
    const rows = await stack.orm.em.fork().find(AssetRendition, { assetId: id });
    assert.equal(rows.length, before.length);
    const proxyStep = (after.steps as Body[]).find((s) => s.step === 'proxy')!;
    assert.equal(proxyStep.attempts, 2);
    assert.equal((after.steps as Body[]).find((s) => s.step === 'poster')!.attempts, 1, 'poster not re-run');
    const wrong = await call(base, 'POST', `/api/v1/assets/${id}/reprocess`, { token: alice.access, body: { steps: ['waveform'] } });
    assert.equal(wrong.status, 422);
    assert.equal((wrong.body.error as Body).code, 'STEP_NOT_APPLICABLE');
  });

  it('ingests audio (AAC proxy, waveform), images (thumbnails, never upscaled) and documents', async () => {
    const wav = join(dir, 'tone.wav');
    await run(FFMPEG, ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'sine=frequency=220:sample_rate=44100:d=3', wav]);
    const big = join(dir, 'wide.png');
    await run(FFMPEG, ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=1600x900', '-frames:v', '1', big]);
    const small = await makePng(dir, 'small.png');
    const pdf = join(dir, 'brief.pdf');
    await writeFile(pdf, '%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n');

    const ids: Record<string, string> = {};
    for (const [key, path, name] of [['audio', wav, 'tone.wav'], ['big', big, 'wide.png'], ['small', small, 'small.png'], ['doc', pdf, 'brief.pdf']] as const) {
      const res = await upload(path, name);
      assert.equal(res.status, 202, `${name}: ${JSON.stringify(res.body)}`);
      ids[key] = String(res.body.id);
    }

    const audio = await settled(ids.audio!);
    assert.equal(audio.status, 'available', JSON.stringify(audio.error));
    assert.equal(audio.type, 'audio');
    assert.deepEqual((audio.renditions as Body[]).map((r) => r.name).sort(), ['audio_proxy', 'waveform']);
    const proxy = await ffprobe(await fetchRendition(ids.audio!, 'audio_proxy', '.m4a'));
    assert.equal(proxy.streams[0]!.codec_name, 'aac');
    assert.ok(Math.abs(Number(proxy.format.duration) - 3) < 0.2);
    const waveform = await ffprobe(await fetchRendition(ids.audio!, 'waveform', '.png'));
    assert.equal(waveform.streams[0]!.codec_name, 'png');

    const wide = await settled(ids.big!);
    assert.equal(wide.status, 'available', JSON.stringify(wide.error));
    assert.equal(wide.width, 1600);
    assert.equal(wide.height, 900);
    const dims = (wide.renditions as Body[]).map((r) => [r.name, r.width, r.height]).sort();
    assert.deepEqual(dims, [['thumbnail_1024', 1024, 576], ['thumbnail_256', 256, 144]]);
    const thumb = await ffprobe(await fetchRendition(ids.big!, 'thumbnail_256', '.jpg'));
    assert.equal(thumb.streams[0]!.width, 256);

    const tiny = await settled(ids.small!);
    assert.equal(tiny.status, 'available', JSON.stringify(tiny.error));
    for (const r of tiny.renditions as Body[]) assert.deepEqual([r.width, r.height], [64, 64], `${r.name} not upscaled`);

    const doc = await settled(ids.doc!);
    assert.equal(doc.status, 'available', JSON.stringify(doc.error));
    assert.equal(doc.type, 'document');
    assert.deepEqual(doc.renditions, []);
    assert.deepEqual((doc.steps as Body[]).map((s) => [s.step, s.status]), [['validate', 'done'], ['metadata', 'done']]);
    await recordHistory(`ingest-${ids.audio}`, 'ingestAsset-audio-available');
  });
});
