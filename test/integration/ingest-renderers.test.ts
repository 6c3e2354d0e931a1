/**
 * The ingest renderers (lib/ffmpeg/ingest) with the real ffmpeg on tiny generated clips, each
 * output checked with ffprobe: the poster is not black, the sprite's layout, proxies (codec,
 * profile, size, index before the media data), the HLS ladder (flat files, bare names, 4 s
 * segments, the master plays end to end), scene cuts, the audio proxy and waveform, image
 * thumbnails; a cancelled render kills ffmpeg; an undecodable file is INVALID_MEDIA.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { renderAudioProxy, renderWaveform } from '../../lib/ffmpeg/ingest/audio-renditions.ts';
import { renderImageThumbnails } from '../../lib/ffmpeg/ingest/image-renditions.ts';
import { moovBeforeMdat } from '../../lib/ffmpeg/ingest/mp4-info.ts';
import { renderPoster } from '../../lib/ffmpeg/ingest/poster.ts';
import { RenderError, type FfmpegRunOptions, type SourceMedia } from '../../lib/ffmpeg/ingest/run-ffmpeg.ts';
import { detectScenes, scenesFromCuts } from '../../lib/ffmpeg/ingest/scenes.ts';
import { renderSprite } from '../../lib/ffmpeg/ingest/sprite.ts';
import { parseMediaPlaylist, renderVideoRenditions } from '../../lib/ffmpeg/ingest/video-renditions.ts';
import { makeRotatedClip, makeSegmentedClip, makeSizedPng, makeUndecodableMp4, meanLuma, tempDir } from '../support/media.ts';

const run = promisify(execFile);
const FFMPEG = process.env.FFMPEG_PATH ?? 'ffmpeg';
const FFPROBE = process.env.FFPROBE_PATH ?? 'ffprobe';

interface ProbedStream {
  codec_type: string;
  codec_name: string;
  profile?: string;
  width?: number;
  height?: number;
  pix_fmt?: string;
  channels?: number;
}

async function ffprobe(path: string, extra: string[] = []): Promise<{ streams: ProbedStream[]; format: { duration?: string; format_name: string } }> {
  const { stdout } = await run(FFPROBE, ['-v', 'error', ...extra, '-show_streams', '-show_format', '-of', 'json', path]);
  return JSON.parse(stdout);
}

function streamOf(probe: { streams: ProbedStream[] }, type: 'video' | 'audio'): ProbedStream {
  const s = probe.streams.find((x) => x.codec_type === type);
  assert.ok(s, `no ${type} stream`);
  return s;
}

async function keyframeTimes(path: string): Promise<number[]> {
  const { stdout } = await run(FFPROBE, ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'packet=pts_time,flags', '-of', 'csv=p=0', path]);
  return stdout.trim().split('\n').filter((l) => l.includes('K')).map((l) => Math.round(Number(l.split(',')[0]) * 1000));
}

let dir: string;
let main: SourceMedia; // 8 s 1280×720 25 fps: 2 s black, then testsrc2; sine AAC
let cuts: SourceMedia; // 6 s 320×180: red 2 s | testsrc2 2 s | blue 2 s, no audio
let small: SourceMedia; // 3 s 320×240 with audio
let rotated: SourceMedia; // 2 s 320×240 coded, displayed portrait (display matrix: rotation -90)

function options(more: Partial<FfmpegRunOptions> = {}): FfmpegRunOptions {
  return { ffmpegPath: FFMPEG, timeoutMs: 120_000, ...more };
}

function video(path: string, width: number, height: number, durationMs: number, hasAudio: boolean, more: Partial<SourceMedia> = {}): SourceMedia {
  return { path, demuxer: 'mov', durationMs, width, height, fps: 25, hasAudio, hasVideo: true, ...more };
}

before(async () => {
  dir = await tempDir('moviola-ingest-');
  const [mainPath, cutsPath, smallPath, rotatedPath] = await Promise.all([
    makeSegmentedClip(dir, 'main.mp4', [{ source: 'color=c=black', seconds: 2 }, { source: 'testsrc2', seconds: 6 }], { size: '1280x720' }),
    makeSegmentedClip(dir, 'cuts.mp4', [{ source: 'color=c=red', seconds: 2 }, { source: 'testsrc2', seconds: 2 }, { source: 'color=c=blue', seconds: 2 }], { size: '320x180', audio: false }),
    makeSegmentedClip(dir, 'small.mp4', [{ source: 'testsrc2', seconds: 3 }], { size: '320x240' }),
    makeRotatedClip(dir, 'rotated.mp4'),
  ]);
  main = video(mainPath, 1280, 720, 8000, true);
  cuts = video(cutsPath, 320, 180, 6000, false);
  small = video(smallPath, 320, 240, 3000, true);
  rotated = video(rotatedPath, 320, 240, 2000, false, { rotation: -90 });
});

after(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('renderPoster', () => {
  it('picks a detailed frame after the black opening, 1280×720 JPEG, not black', async () => {
    const out = join(dir, 'poster.jpg');
    const percents: number[] = [];
    const poster = await renderPoster(main, out, options({ onProgress: (p) => percents.push(p) }));
    assert.ok(poster.timeMs >= 2000, `poster at ${poster.timeMs} ms is in the black opening`);
    assert.ok(poster.timeMs < 8000);
    assert.deepEqual([poster.width, poster.height], [1280, 720]);
    const probe = await ffprobe(out);
    assert.equal(streamOf(probe, 'video').codec_name, 'mjpeg');
    assert.deepEqual([streamOf(probe, 'video').width, streamOf(probe, 'video').height], [1280, 720]);
    assert.ok((await meanLuma(out)) > 40, 'the poster is not black');
    assert.equal(percents.at(-1), 100);
  });

  it('never upscales a small source', async () => {
    const out = join(dir, 'poster-small.jpg');
    const poster = await renderPoster(small, out, options());
    assert.deepEqual([poster.width, poster.height], [320, 240]);
    assert.ok(poster.timeMs > 0);
  });
});

describe('renderSprite', () => {
  it('one tile per second for a short clip, 160 px tiles', async () => {
    const out = join(dir, 'sprite.jpg');
    const sprite = await renderSprite(main, out, options());
    assert.deepEqual(sprite, { columns: 8, rows: 1, intervalMs: 1000, tileWidth: 160, tileHeight: 90, width: 1280, height: 90 });
    const v = streamOf(await ffprobe(out), 'video');
    assert.deepEqual([v.codec_name, v.width, v.height], ['mjpeg', 1280, 90]);
  });
});

describe('renderVideoRenditions', () => {
  it('720p source: both proxies and HLS 360p + 720p (720p shared with proxy_720), all checked with ffprobe', async () => {
    const out = join(dir, 'renditions');
    const percents: number[] = [];
    const result = await renderVideoRenditions(main, out, { proxies: true, hls: true }, options({ onProgress: (p) => percents.push(p) }));

    // Proxies
    assert.deepEqual(result.proxies.map((p) => [p.name, p.width, p.height]), [['proxy_480', 854, 480], ['proxy_720', 1280, 720]]);
    for (const [i, proxy] of result.proxies.entries()) {
      const probe = await ffprobe(proxy.path);
      const v = streamOf(probe, 'video');
      const a = streamOf(probe, 'audio');
      assert.equal(v.codec_name, 'h264');
      assert.equal(v.pix_fmt, 'yuv420p');
      assert.equal(v.profile, i === 0 ? 'Main' : 'High');
      assert.deepEqual([v.width, v.height], [proxy.width, proxy.height]);
      assert.equal(a.codec_name, 'aac');
      assert.equal(a.channels, 2);
      assert.ok(Math.abs(Number(probe.format.duration) - 8) < 0.2, `duration ${probe.format.duration}`);
      assert.equal(moovBeforeMdat(await readFile(proxy.path)), true, `${proxy.name} is not +faststart`);
      assert.equal(proxy.sizeBytes, (await stat(proxy.path)).size);
      assert.ok(proxy.bitrate > 0 && Math.abs(proxy.bitrate - (proxy.sizeBytes * 8) / 8) < 1);
    }
    // Forced every 4 s (x264 may add one at a scene cut, here at 2 s where the black opening ends).
    const keyframes = await keyframeTimes(result.proxies[1]!.path);
    assert.ok(keyframes.includes(0) && keyframes.includes(4000), `proxy_720 keyframes at ${keyframes.join(', ')} ms`);

    // HLS
    const hls = result.hls!;
    assert.equal(hls.master, 'master.m3u8');
    assert.deepEqual(hls.variants.map((v) => [v.name, v.playlist, v.width, v.height]), [['360p', '360p.m3u8', 640, 360], ['720p', '720p.m3u8', 1280, 720]]);
    assert.ok(hls.variants[0]!.bandwidth < hls.variants[1]!.bandwidth);
    const entries = await readdir(hls.dir, { withFileTypes: true });
    assert.ok(entries.every((e) => e.isFile()), 'no subdirectory');
    assert.deepEqual(entries.map((e) => e.name).sort(), [...hls.files].sort(), 'files lists every file, and only them');
    assert.ok(hls.files.includes('master.m3u8'));
    assert.ok(hls.files.some((f) => /^360p_00001\.m4s$/.test(f)) && hls.files.includes('720p_init.mp4'));

    const master = await readFile(join(hls.dir, hls.master), 'utf8');
    assert.match(master, /RESOLUTION=640x360,CODECS="avc1\.[0-9a-f]{6},mp4a\.40\.2"/);
    assert.match(master, /RESOLUTION=1280x720,CODECS="avc1\.64[0-9a-f]{4},mp4a\.40\.2"/);
    for (const variant of hls.variants) {
      const text = await readFile(join(hls.dir, variant.playlist), 'utf8');
      for (const line of text.split('\n')) assert.doesNotMatch(line.replace(/^#EXT-X-MAP:URI=/, ''), /\//, 'bare relative names only');
      const { init, segments } = parseMediaPlaylist(text);
      assert.equal(init, `${variant.name}_init.mp4`);
      assert.equal(segments.length, 2);
      for (const s of segments) assert.ok(Math.abs(s.durationS - 4) < 0.05, `${variant.name} segment of ${s.durationS} s`);
      const v = streamOf(await ffprobe(join(hls.dir, variant.playlist), ['-protocol_whitelist', 'file']), 'video');
      assert.deepEqual([v.codec_name, v.width, v.height], ['h264', variant.width, variant.height]);
    }
    // The whole ladder plays end to end with only the file protocol.
    const played = await run(FFMPEG, ['-v', 'error', '-protocol_whitelist', 'file', '-i', join(hls.dir, hls.master), '-map', '0', '-f', 'null', '-']);
    assert.equal(played.stderr, '');

    assert.equal(percents.at(-1), 100);
    assert.deepEqual([...percents].sort((a, b) => a - b), percents, 'progress never decreases');
    assert.ok(percents.length >= 3, `progress reported along the way: ${percents.join(' ')}`);
  });

  it('a source below 360: one proxy and one rung at its own size, nothing upscaled', async () => {
    const result = await renderVideoRenditions(small, join(dir, 'small'), { proxies: true, hls: true }, options());
    assert.deepEqual(result.proxies.map((p) => [p.name, p.width, p.height]), [['proxy_480', 320, 240]]);
    assert.deepEqual(result.hls!.variants.map((v) => [v.name, v.width, v.height]), [['240p', 320, 240]]);
    const segments = parseMediaPlaylist(await readFile(join(result.hls!.dir, '240p.m3u8'), 'utf8')).segments;
    assert.deepEqual(segments.map((s) => Math.round(s.durationS)), [3]);
    await run(FFMPEG, ['-v', 'error', '-protocol_whitelist', 'file', '-i', join(result.hls!.dir, 'master.m3u8'), '-f', 'null', '-']);
  });

  it('a rotated (portrait) source is sized by its short side and comes out upright', async () => {
    const result = await renderVideoRenditions(rotated, join(dir, 'rotated'), { proxies: true, hls: false }, options());
    assert.equal(result.hls, null);
    assert.deepEqual(result.proxies.map((p) => [p.name, p.width, p.height]), [['proxy_480', 240, 320]]);
    const v = streamOf(await ffprobe(result.proxies[0]!.path), 'video');
    assert.deepEqual([v.width, v.height], [240, 320]);
  });

  it('a cancelled render kills ffmpeg promptly and rejects with CANCELLED', async () => {
    const out = join(dir, 'cancelled');
    const controller = new AbortController();
    let abortedAt = 0;
    const rendering = renderVideoRenditions(main, out, { proxies: true, hls: true }, options({
      signal: controller.signal,
      onProgress: (p) => {
        if (p > 0 && !abortedAt) {
          abortedAt = Date.now();
          controller.abort();
        }
      },
    }));
    await assert.rejects(rendering, (err: unknown) => err instanceof RenderError && err.code === 'CANCELLED' && !err.retryable);
    assert.ok(abortedAt > 0, 'aborted while ffmpeg was running');
    assert.ok(Date.now() - abortedAt < 2000, `took ${Date.now() - abortedAt} ms to stop`);
    const { stdout } = await run('ps', ['-eo', 'args']);
    assert.ok(!stdout.split('\n').some((line) => line.includes(out)), 'no ffmpeg left writing into the output directory');
  });

  it('an undecodable file is INVALID_MEDIA, not retryable', async () => {
    const path = await makeUndecodableMp4(await mkdtemp(join(dir, 'bad-')));
    const bad = video(path, 320, 240, 3000, true);
    const invalid = (err: unknown) => err instanceof RenderError && err.code === 'INVALID_MEDIA' && !err.retryable;
    await assert.rejects(renderVideoRenditions(bad, join(dir, 'bad-out'), { proxies: true, hls: true }, options()), invalid);
    await assert.rejects(renderPoster(bad, join(dir, 'bad-poster.jpg'), options()), invalid);
    await assert.rejects(detectScenes(bad, options()), invalid);
  });

  it('a render that runs past its time limit is PROCESSING_ERROR, retryable', async () => {
    await assert.rejects(
      renderVideoRenditions(main, join(dir, 'slow'), { proxies: true, hls: false }, options({ timeoutMs: 300 })),
      (err: unknown) => err instanceof RenderError && err.code === 'PROCESSING_ERROR' && err.retryable,
    );
  });
});

describe('detectScenes', () => {
  it('finds the hard cuts between colour sources', async () => {
    const found = await detectScenes(cuts, options());
    assert.equal(found.length, 2, `cuts: ${found.join(', ')}`);
    assert.ok(Math.abs(found[0]! - 2000) <= 40 && Math.abs(found[1]! - 4000) <= 40, `cuts: ${found.join(', ')}`);
    assert.deepEqual(scenesFromCuts(found, 6000).length, 3);
  });

  it('a single shot has no cut', async () => {
    assert.deepEqual(await detectScenes(small, options()), []);
  });
});

describe('audio renditions', () => {
  it('renderAudioProxy: AAC stereo M4A, +faststart, about 128 kb/s', async () => {
    const out = join(dir, 'audio.m4a');
    const result = await renderAudioProxy(main, out, options());
    const probe = await ffprobe(out);
    assert.equal(probe.streams.length, 1);
    const a = streamOf(probe, 'audio');
    assert.deepEqual([a.codec_name, a.channels], ['aac', 2]);
    assert.equal(moovBeforeMdat(await readFile(out)), true);
    assert.equal(result.sizeBytes, (await stat(out)).size);
    assert.ok(Math.abs(result.durationMs - 8000) < 100, `duration ${result.durationMs}`);
    assert.ok(result.bitrate > 64_000 && result.bitrate < 200_000, `bitrate ${result.bitrate}`);
  });

  it('renderWaveform: one 1800×280 PNG', async () => {
    const out = join(dir, 'waveform.png');
    assert.deepEqual(await renderWaveform(main, out, options()), { width: 1800, height: 280 });
    const v = streamOf(await ffprobe(out), 'video');
    assert.deepEqual([v.codec_name, v.width, v.height], ['png', 1800, 280]);
  });

  it('a video without audio is INVALID_MEDIA for both', async () => {
    await assert.rejects(renderAudioProxy(cuts, join(dir, 'none.m4a'), options()), (err: unknown) => err instanceof RenderError && err.code === 'INVALID_MEDIA');
    await assert.rejects(renderWaveform({ ...cuts, hasAudio: true }, join(dir, 'none.png'), options()), (err: unknown) => err instanceof RenderError && err.code === 'INVALID_MEDIA');
  });
});

describe('renderImageThumbnails', () => {
  it('fits 256 and 1024 boxes, never upscales, JPEG', async () => {
    const png = await makeSizedPng(dir, 'wide.png', { size: '600x300' });
    const out = await mkdtemp(join(dir, 'thumbs-'));
    const source: SourceMedia = { path: png, demuxer: 'png_pipe', durationMs: null, width: 600, height: 300, fps: null, hasAudio: false, hasVideo: true };
    const thumbs = await renderImageThumbnails(source, out, options());
    assert.deepEqual(thumbs.map((t) => [t.name, t.width, t.height]), [['thumbnail_256', 256, 128], ['thumbnail_1024', 600, 300]]);
    for (const t of thumbs) {
      const v = streamOf(await ffprobe(t.path), 'video');
      assert.deepEqual([v.codec_name, v.width, v.height], ['mjpeg', t.width, t.height]);
      assert.equal(t.sizeBytes, (await stat(t.path)).size);
    }
    // Size unknown to the caller: fitted by ffmpeg, read back from the JPEG.
    const unknown = await renderImageThumbnails({ ...source, width: null, height: null }, await mkdtemp(join(dir, 'thumbs-')), options());
    assert.deepEqual(unknown.map((t) => [t.width, t.height]), [[256, 128], [600, 300]]);
  });

  it('flattens transparency on white', async () => {
    const png = await makeSizedPng(dir, 'clear.png', { size: '300x300', transparent: true });
    const source: SourceMedia = { path: png, demuxer: 'png_pipe', durationMs: null, width: 300, height: 300, fps: null, hasAudio: false, hasVideo: true };
    const [thumb] = await renderImageThumbnails(source, await mkdtemp(join(dir, 'thumbs-')), options());
    assert.ok((await meanLuma(thumb!.path)) > 240, 'transparent areas are white');
  });
});
