/**
 * extractFramesToZip with the real ffmpeg on tiny generated clips: the frames are the baseline's
 * (`ffmpeg -i clip -vf fps=1 dir/%05d.jpg`), the ZIP opens with `unzip`, progress, the error
 * classification on bad files, abort/timeout/consumer failure kill ffmpeg, backpressure, and the
 * ZIP streamed into the fs storage driver (nothing stored when extraction fails).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { extractFramesArgs, extractFramesToZip, FramesError, type ExtractFramesOptions } from '../../lib/ffmpeg/extract-frames.ts';
import { FsStorageDriver } from '../../lib/storage/index.ts';

const run = promisify(execFile);
const FFMPEG = process.env.FFMPEG_PATH ?? 'ffmpeg';
const FFPROBE = process.env.FFPROBE_PATH ?? 'ffprobe';

let dir: string;
let clip: string; // 5 s, 320×240, 25 fps, H.264 (libx264 defaults: B-frames with pyramid) + AAC
let longClip: string; // 30 s, 640×360: enough JPEG bytes at fps=5 to fill every buffer

async function ffmpeg(args: string[]): Promise<void> {
  await run(FFMPEG, ['-v', 'error', '-y', ...args], { maxBuffer: 64 * 1024 * 1024 });
}

async function makeClip(path: string, seconds: number, size: string, extra: string[] = []): Promise<string> {
  await ffmpeg([
    '-f', 'lavfi', '-i', `testsrc2=size=${size}:rate=25`,
    '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
    '-t', String(seconds), '-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-ac', '1', '-shortest', ...extra, path,
  ]);
  return path;
}

function options(inputPath: string, more: Partial<ExtractFramesOptions> = {}): ExtractFramesOptions {
  return { ffmpegPath: FFMPEG, inputPath, demuxer: 'mp4', durationMs: 5000, timeoutMs: 60_000, ...more };
}

/** Runs an extraction into a file; resolves with the result or rejects with the ZIP stream's error. */
async function extractToFile(zipPath: string, o: ExtractFramesOptions) {
  const { zip, result } = extractFramesToZip(o);
  await pipeline(zip, createWriteStream(zipPath));
  return result;
}

async function unzipNames(zipPath: string): Promise<string[]> {
  const { stdout } = await run('unzip', ['-Z1', zipPath]);
  return stdout.trim().split('\n');
}

async function unzipEntry(zipPath: string, name: string): Promise<Buffer> {
  const { stdout } = await run('unzip', ['-p', zipPath, name], { encoding: 'buffer', maxBuffer: 64 * 1024 * 1024 });
  return stdout;
}

/** The baseline of the issue: frame files by ffmpeg's image2 muxer. */
async function baselineFrames(input: string): Promise<Buffer[]> {
  const out = await mkdtemp(join(dir, 'baseline-'));
  await run(FFMPEG, ['-v', 'error', '-i', input, '-vf', 'fps=1', join(out, '%05d.jpg')]);
  const names = (await readdir(out)).sort();
  return Promise.all(names.map((n) => readFile(join(out, n))));
}

/**
 * Which source frame (index in decode order of the full stream) each fps=1 output frame is, for
 * the decoder options of `args`: the pictures are identified by the MD5 of a small downscale.
 */
async function sourceFrameIndexes(input: string, decoderArgs: string[]): Promise<number[]> {
  const md5s = async (args: string[]) => {
    const { stdout } = await run(FFMPEG, ['-v', 'error', ...args, '-f', 'framemd5', '-'], { maxBuffer: 64 * 1024 * 1024 });
    return stdout.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => l.split(',').at(-1)!.trim());
  };
  const all = await md5s(['-i', input, '-map', '0:v:0', '-vf', 'scale=64:48:flags=area']);
  const picked = await md5s([...decoderArgs, '-i', input, '-map', '0:v:0', '-vf', 'fps=1,scale=64:48:flags=area']);
  return picked.map((md5, k) => {
    // The candidate nearest the expected position (identical pictures can repeat in a clip).
    const candidates = all.flatMap((m, i) => (m === md5 ? [i] : []));
    assert.ok(candidates.length > 0, `output frame ${k} matches no source frame`);
    return candidates.reduce((best, i) => (Math.abs(i - 25 * k) < Math.abs(best - 25 * k) ? i : best));
  });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitGone(pid: number, ms = 3000): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (!isAlive(pid)) return true;
    await sleep(20);
  }
  return !isAlive(pid);
}

async function until(what: string, check: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

describe('extractFramesToZip with the real ffmpeg', () => {
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'moviola-frames-test-'));
    try {
      await run('unzip', ['-v']);
    } catch {
      throw new Error('these tests read ZIPs with unzip: apt-get install -y unzip');
    }
    [clip, longClip] = await Promise.all([
      makeClip(join(dir, 'clip.mp4'), 5, '320x240'),
      makeClip(join(dir, 'long.mp4'), 30, '640x360', ['-preset', 'ultrafast']),
    ]);
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes the baseline frames, byte for byte, as frame_00001.jpg… in a ZIP that unzip opens', async () => {
    const zipPath = join(dir, 'exact.zip');
    const progress: Array<{ percent: number; frames: number }> = [];
    const result = await extractToFile(zipPath, options(clip, { exactFrames: true, onProgress: (p) => progress.push(p) }));
    const baseline = await baselineFrames(clip);

    assert.equal(baseline.length, 5, 'the baseline gives one frame per second of a 5 s clip');
    assert.equal(result.frameCount, baseline.length);
    assert.equal(result.zipBytes, (await stat(zipPath)).size);
    assert.deepEqual(result.warnings, []);
    assert.deepEqual(await unzipNames(zipPath), ['frame_00001.jpg', 'frame_00002.jpg', 'frame_00003.jpg', 'frame_00004.jpg', 'frame_00005.jpg']);
    assert.match((await run('unzip', ['-v', zipPath])).stdout, /\bStored\b/);
    assert.doesNotMatch((await run('unzip', ['-v', zipPath])).stdout, /Defl/);

    for (const [i, name] of (await unzipNames(zipPath)).entries()) {
      const jpeg = await unzipEntry(zipPath, name);
      assert.ok(jpeg.equals(baseline[i]!), `${name} equals the baseline's ${String(i + 1).padStart(5, '0')}.jpg`);
      assert.deepEqual([...jpeg.subarray(0, 2)], [0xff, 0xd8]);
      assert.deepEqual([...jpeg.subarray(-2)], [0xff, 0xd9]);
      const path = join(dir, `probe-${name}`);
      await writeFile(path, jpeg);
      const { stdout } = await run(FFPROBE, ['-v', 'error', '-show_entries', 'stream=codec_name,width,height', '-of', 'csv=p=0', path]);
      assert.equal(stdout.trim(), 'mjpeg,320,240');
    }

    assert.ok(progress.length >= 1);
    assert.deepEqual(progress.at(-1), { percent: 100, frames: 5 });
    for (let i = 1; i < progress.length; i++) {
      assert.ok(progress[i]!.percent >= progress[i - 1]!.percent, 'percent never decreases');
      assert.ok(progress[i]!.frames >= progress[i - 1]!.frames, 'frames never decrease');
    }
    assert.equal(progress.filter((p) => p.percent === 100).length, 1, '100 only once, at the end');
  });

  it('counts the same frames as the baseline when the duration is not a whole number of seconds', async () => {
    const odd = await makeClip(join(dir, 'odd.mp4'), 3.5, '160x120');
    const result = await extractToFile(join(dir, 'odd.zip'), options(odd, { durationMs: 3500 }));
    assert.equal(result.frameCount, (await baselineFrames(odd)).length);
  });

  it('skips non-reference H.264 frames: same count, each frame the baseline source frame or the one before', async () => {
    const zipPath = join(dir, 'fast.zip');
    const result = await extractToFile(zipPath, options(clip, { videoCodec: 'h264' }));
    assert.equal(result.frameCount, 5);
    const decoderArgs = extractFramesArgs({ inputPath: clip, demuxer: 'mp4', skipNonRefFrames: true });
    const skip = decoderArgs.slice(decoderArgs.indexOf('-skip_frame'), decoderArgs.indexOf('-skip_frame') + 2);
    assert.deepEqual(skip, ['-skip_frame', 'noref']);
    const baseline = await sourceFrameIndexes(clip, []);
    const ours = await sourceFrameIndexes(clip, skip);
    assert.equal(ours.length, baseline.length);
    ours.forEach((index, k) => assert.ok(index === baseline[k] || index === baseline[k]! - 1, `frame ${k + 1}: source ${index} vs baseline ${baseline[k]}`));
    for (const name of await unzipNames(zipPath)) {
      const jpeg = await unzipEntry(zipPath, name);
      assert.deepEqual([...jpeg.subarray(0, 2), ...jpeg.subarray(-2)], [0xff, 0xd8, 0xff, 0xd9]);
    }
  });

  describe('bad input', () => {
    async function failure(path: string, o: Partial<ExtractFramesOptions> = {}): Promise<{ streamError: unknown; resultError: unknown; zipPath: string }> {
      const zipPath = join(dir, `bad-${Math.random().toString(36).slice(2)}.zip`);
      const { zip, result } = extractFramesToZip(options(path, o));
      const streamError = await pipeline(zip, createWriteStream(zipPath)).then(() => null, (err: unknown) => err);
      const resultError = await result.then(() => null, (err: unknown) => err);
      return { streamError, resultError, zipPath };
    }

    function assertFramesError(err: unknown, code: FramesError['code']): asserts err is FramesError {
      assert.ok(err instanceof FramesError, `expected a FramesError, got ${String(err)}`);
      assert.equal(err.code, code, err.message);
      assert.equal(err.retryable, code === 'PROCESSING_ERROR');
    }

    it('a text file: INVALID_MEDIA, not retryable; the ZIP stream errors and the result rejects', async () => {
      const text = join(dir, 'notes.mp4');
      await writeFile(text, 'this is not a video\n'.repeat(100));
      const { streamError, resultError } = await failure(text);
      assertFramesError(streamError, 'INVALID_MEDIA');
      assert.equal(resultError, streamError);
      assert.doesNotMatch(streamError.message, new RegExp(dir));
    });

    it('an MP4 cut to its first 30 % (moov at the end): INVALID_MEDIA', async () => {
      const whole = await readFile(clip);
      const cut = join(dir, 'cut.mp4');
      await writeFile(cut, whole.subarray(0, Math.floor(whole.length * 0.3)));
      const { streamError } = await failure(cut);
      assertFramesError(streamError, 'INVALID_MEDIA');
      assert.match(streamError.message, /moov atom not found/);
    });

    it('a faststart MP4 cut to its first 30 % (probes, decodes a little): INVALID_MEDIA, truncated', async () => {
      const faststart = await makeClip(join(dir, 'faststart.mp4'), 5, '320x240', ['-movflags', '+faststart']);
      const whole = await readFile(faststart);
      const cut = join(dir, 'cut-faststart.mp4');
      await writeFile(cut, whole.subarray(0, Math.floor(whole.length * 0.3)));
      const { streamError } = await failure(cut);
      assertFramesError(streamError, 'INVALID_MEDIA');
      assert.match(streamError.message, /truncated/);
    });

    it('a video stream no decoder knows: UNSUPPORTED_CODEC', async () => {
      const avi = join(dir, 'clip.avi');
      await ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=160x120:rate=25', '-t', '2', '-c:v', 'mpeg4', '-vtag', 'FMP4', avi]);
      const bytes = await readFile(avi);
      const patched = Buffer.from(bytes.toString('latin1').replaceAll('FMP4', 'QQQQ'), 'latin1');
      const unknown = join(dir, 'unknown.avi');
      await writeFile(unknown, patched);
      const { streamError } = await failure(unknown, { demuxer: 'avi', durationMs: 2000 });
      assertFramesError(streamError, 'UNSUPPORTED_CODEC');
    });

    it('audio only: INVALID_MEDIA, no video stream', async () => {
      const audio = join(dir, 'audio.mp4');
      await ffmpeg(['-f', 'lavfi', '-i', 'sine', '-t', '1', '-c:a', 'aac', audio]);
      const { streamError } = await failure(audio);
      assertFramesError(streamError, 'INVALID_MEDIA');
      assert.equal(streamError.message, 'The file has no video stream');
    });

    it('ffmpeg missing: a retryable PROCESSING_ERROR', async () => {
      const { streamError } = await failure(clip, { ffmpegPath: join(dir, 'no-such-ffmpeg') });
      assertFramesError(streamError, 'PROCESSING_ERROR');
    });
  });

  describe('stopping ffmpeg', () => {
    const heavy = (more: Partial<ExtractFramesOptions> = {}) => options(longClip, { durationMs: 30_000, fps: 5, quality: 2, ...more });

    it('abort: ffmpeg is SIGKILLed at once, the ZIP stream errors with an AbortError, the result rejects', async () => {
      const controller = new AbortController();
      let frames = 0;
      const { zip, result, pid } = extractFramesToZip(heavy({ signal: controller.signal, onProgress: (p) => (frames = p.frames) }));
      assert.ok(pid);
      const streamError = new Promise<Error>((resolve) => zip.once('error', resolve));
      zip.pause(); // nobody reads: ffmpeg stays mid-way
      await until('the first frames', () => frames > 0 || zip.readableLength > 0);
      assert.ok(isAlive(pid), 'ffmpeg is still running when aborted');
      controller.abort();
      assert.ok(await waitGone(pid), 'ffmpeg process is gone');
      assert.equal((await streamError).name, 'AbortError');
      await assert.rejects(result, { name: 'AbortError' });
      assert.equal(zip.readableEnded, false);
    });

    it('an already aborted signal: ffmpeg is not started, the ZIP errors', async () => {
      const { zip, result, pid } = extractFramesToZip(heavy({ signal: AbortSignal.abort() }));
      assert.equal(pid, undefined);
      await sleep(10); // a listener attached late still gets the error
      await assert.rejects(pipeline(zip, new Writable({ write: (_c, _e, cb) => cb() })), { name: 'AbortError' });
      await assert.rejects(result, { name: 'AbortError' });
    });

    it('timeout: ffmpeg is killed and the ZIP errors with a retryable PROCESSING_ERROR', async () => {
      const { zip, result, pid } = extractFramesToZip(heavy({ timeoutMs: 300 }));
      zip.pause();
      const err = await new Promise<Error>((resolve) => zip.once('error', resolve));
      assert.ok(err instanceof FramesError);
      assert.equal(err.code, 'PROCESSING_ERROR');
      assert.equal(err.retryable, true);
      assert.match(err.message, /did not finish within 300 ms/);
      assert.ok(await waitGone(pid!));
      await assert.rejects(result, FramesError);
    });

    it('the consumer gives up (upload failed): ffmpeg is killed and the result rejects', async () => {
      const { zip, result, pid } = extractFramesToZip(heavy());
      await new Promise((resolve) => zip.once('readable', resolve));
      zip.destroy(new Error('upload failed'));
      await assert.rejects(result, /upload failed/);
      assert.ok(await waitGone(pid!));
    });

    it('a slow consumer pauses ffmpeg: nothing piles up, and every frame arrives once it reads again', async () => {
      let frames = 0;
      const { zip, result, pid } = extractFramesToZip(heavy({ onProgress: (p) => (frames = p.frames) }));
      zip.pause();
      await until('ffmpeg to start writing', () => zip.readableLength > 0);
      await sleep(1000);
      const first = { frames, buffered: zip.readableLength };
      await sleep(1000);
      assert.equal(frames, first.frames, 'no new frames while nobody reads');
      assert.ok(frames < 150, `ffmpeg was held back (${frames} of 150 frames)`);
      assert.ok(first.buffered < 1024 * 1024, `bounded buffering: ${first.buffered} bytes`);
      assert.ok(isAlive(pid!), 'ffmpeg is waiting, not finished');
      let bytes = 0;
      await pipeline(zip, new Writable({ write: (chunk: Buffer, _e, cb) => ((bytes += chunk.length), cb()) }));
      const done = await result;
      assert.equal(done.frameCount, 150);
      assert.equal(done.zipBytes, bytes);
    });
  });

  describe('into storage (fs driver)', () => {
    let storage: FsStorageDriver;
    before(async () => {
      const root = join(dir, 'storage');
      await mkdir(root);
      storage = new FsStorageDriver({
        driver: 'fs',
        bucketPrefix: 'frames-test',
        fsRoot: root,
        signingSecret: 'x'.repeat(32),
        publicUrl: 'http://127.0.0.1:1',
        s3: { endpoint: '', publicEndpoint: '', region: 'us-east-1', accessKey: '', secretKey: '' },
      });
      await storage.ensureBuckets();
    });

    it('stores a complete ZIP', async () => {
      const { zip, result } = extractFramesToZip(options(clip));
      const [info, done] = await Promise.all([storage.put('exports', 'jobs/ok/frames.zip', zip, { contentType: 'application/zip' }), result]);
      assert.equal(info.size, done.zipBytes);
      const local = join(dir, 'stored.zip');
      await storage.getToFile('exports', 'jobs/ok/frames.zip', local);
      assert.equal((await unzipNames(local)).length, 5);
    });

    it('stores nothing when extraction fails', async () => {
      const text = join(dir, 'notes2.mp4');
      await writeFile(text, 'not a video');
      const { zip, result } = extractFramesToZip(options(text));
      const [put, extracted] = await Promise.allSettled([storage.put('exports', 'jobs/bad/frames.zip', zip), result]);
      assert.equal(put.status, 'rejected');
      assert.equal(extracted.status, 'rejected');
      assert.equal(await storage.stat('exports', 'jobs/bad/frames.zip'), null);
    });
  });
});
