/**
 * The pure parts of frame extraction: ffmpeg arguments, progress parsing, failure classification
 * from real ffmpeg 5.1 stderr, the JPEG stream splitter and the STORED ZIP writer.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import {
  classifyFfmpegFailure,
  extractFramesArgs,
  frameEntryName,
  percentDone,
  progressLineReader,
  skipsNonRefFramesFor,
} from '../../lib/ffmpeg/extract-frames.ts';
import { JpegSplitter, JpegStreamError } from '../../lib/ffmpeg/jpeg-splitter.ts';
import { dosDateTime, StoredZipWriter } from '../../lib/zip/stored-zip.ts';
import { readZip } from '../support/zip.ts';

const run = promisify(execFile);

describe('extractFramesArgs', () => {
  const args = extractFramesArgs({ inputPath: '/tmp/job/original', demuxer: 'mp4' });
  const at = (flag: string) => args.indexOf(flag);

  it('builds the whole command line', () => {
    assert.deepEqual(args, [
      '-nostdin', '-hide_banner', '-nostats', '-v', 'error',
      '-progress', 'pipe:3', '-stats_period', '0.5',
      '-protocol_whitelist', 'file',
      '-f', 'mp4', '-i', 'file:/tmp/job/original',
      '-map', '0:v:0', '-vf', 'fps=1', '-c:v', 'mjpeg',
      '-f', 'image2pipe', 'pipe:1',
    ]);
  });

  it('restricts input protocols to file and forces the probed demuxer, both before -i', () => {
    assert.equal(args[at('-protocol_whitelist') + 1], 'file');
    assert.ok(at('-protocol_whitelist') < at('-i'));
    assert.equal(args[at('-i') - 2], '-f');
    assert.equal(args[at('-i') - 1], 'mp4');
    assert.equal(args[at('-i') + 1], 'file:/tmp/job/original');
  });

  it('takes the first video stream, one frame per second, as mjpeg into image2pipe on stdout', () => {
    assert.equal(args[at('-map') + 1], '0:v:0');
    assert.equal(args[at('-vf') + 1], 'fps=1');
    assert.equal(args[at('-c:v') + 1], 'mjpeg');
    assert.deepEqual(args.slice(-3), ['-f', 'image2pipe', 'pipe:1']);
    assert.ok(!args.includes('-q:v'), 'no -q:v: the encoder defaults, as the baseline frames/%05d.jpg');
  });

  it('reports progress on fd 3 twice a second', () => {
    assert.equal(args[at('-progress') + 1], 'pipe:3');
    assert.equal(args[at('-stats_period') + 1], '0.5');
    assert.equal(extractFramesArgs({ inputPath: 'x', demuxer: 'mp4', progressFd: 4 })[at('-progress') + 1], 'pipe:4');
  });

  it('puts -skip_frame noref on the decoder (before -i) only when asked', () => {
    assert.ok(!args.includes('-skip_frame'));
    const fast = extractFramesArgs({ inputPath: 'x', demuxer: 'mp4', skipNonRefFrames: true });
    const i = fast.indexOf('-skip_frame');
    assert.equal(fast[i + 1], 'noref');
    assert.ok(i >= 0 && i < fast.indexOf('-i'));
    assert.ok(!fast.some((a) => /skip_loop_filter|skip_idct/.test(a)), 'never degrades the picture');
  });

  it('passes another fps and a fixed quality through', () => {
    const other = extractFramesArgs({ inputPath: 'x', demuxer: 'matroska', fps: 2, quality: 3 });
    assert.equal(other[other.indexOf('-vf') + 1], 'fps=2');
    assert.equal(other[other.indexOf('-q:v') + 1], '3');
    assert.ok(other.indexOf('-q:v') > other.indexOf('-c:v'));
  });

  it('keeps a path that starts with a dash or names a protocol a plain file', () => {
    const odd = extractFramesArgs({ inputPath: '-y', demuxer: 'mp4' });
    assert.equal(odd[odd.indexOf('-i') + 1], 'file:-y');
    const url = extractFramesArgs({ inputPath: 'http://example.com/x.mp4', demuxer: 'mp4' });
    assert.equal(url[url.indexOf('-i') + 1], 'file:http://example.com/x.mp4');
  });

  it('refuses playlist/concat demuxers, odd demuxer strings, bad fps and quality', () => {
    for (const demuxer of ['hls', 'concat', 'image2', 'lavfi', 'mp4,hls', '-i', '', 'MP4 ']) {
      assert.throws(() => extractFramesArgs({ inputPath: 'x', demuxer }), RangeError, demuxer);
    }
    for (const fps of [0, -1, Number.NaN, Number.POSITIVE_INFINITY, 1000]) {
      assert.throws(() => extractFramesArgs({ inputPath: 'x', demuxer: 'mp4', fps }), RangeError, String(fps));
    }
    for (const quality of [0, 1, 32, 2.5]) {
      assert.throws(() => extractFramesArgs({ inputPath: 'x', demuxer: 'mp4', quality }), RangeError, String(quality));
    }
    assert.throws(() => extractFramesArgs({ inputPath: '', demuxer: 'mp4' }), RangeError);
  });
});

describe('skipsNonRefFramesFor', () => {
  it('skips non-reference frames for H.264 only', () => {
    assert.equal(skipsNonRefFramesFor('h264'), true);
    assert.equal(skipsNonRefFramesFor('H264'), true);
    for (const codec of ['hevc', 'mpeg4', 'mpeg2video', 'vp9', 'av1', 'wmv3', '', null, undefined]) {
      assert.equal(skipsNonRefFramesFor(codec), false, String(codec));
    }
  });
});

describe('frameEntryName', () => {
  it('numbers from 1 with five digits', () => {
    assert.equal(frameEntryName(1), 'frame_00001.jpg');
    assert.equal(frameEntryName(600), 'frame_00600.jpg');
    assert.equal(frameEntryName(99_999), 'frame_99999.jpg');
    assert.equal(frameEntryName(100_000), 'frame_100000.jpg');
  });
});

describe('progress', () => {
  it('computes percent from the output time against the duration', () => {
    assert.equal(percentDone(0, 5000), 0);
    assert.equal(percentDone(1_000_000, 5000), 20);
    assert.equal(percentDone(2_512_345, 5000), 50.2);
    assert.equal(percentDone(6_000_000, 5000), 100);
    assert.equal(percentDone(1_000_000, null), 0);
    assert.equal(percentDone(1_000_000, 0), 0);
    assert.equal(percentDone(Number.NaN, 5000), 0);
  });

  it('reads -progress blocks (out_time_us, N/A before the first frame, progress=end)', () => {
    const read = progressLineReader();
    const blocks = [
      'frame=0', 'fps=0.00', 'stream_0_0_q=0.0', 'bitrate=N/A', 'total_size=0', 'out_time_us=N/A', 'out_time_ms=N/A',
      'out_time=N/A', 'dup_frames=0', 'drop_frames=0', 'speed=N/A', 'progress=continue',
      'frame=1', 'bitrate=  86.2kbits/s', 'out_time_us=1000000', 'out_time_ms=1000000', 'out_time=00:00:01.000000', 'speed=  72x', 'progress=continue',
      'frame=5', 'out_time_us=5000000', 'out_time_ms=5000000', 'progress=end',
    ].map(read).filter((b) => b !== null);
    assert.deepEqual(blocks, [
      { outTimeUs: 0, end: false },
      { outTimeUs: 1_000_000, end: false },
      { outTimeUs: 5_000_000, end: true },
    ]);
  });

  it('never goes backwards', () => {
    const read = progressLineReader();
    read('out_time_us=3000000');
    read('out_time_us=2000000');
    assert.deepEqual(read('progress=continue'), { outTimeUs: 3_000_000, end: false });
  });
});

describe('classifyFfmpegFailure (stderr of ffmpeg 5.1)', () => {
  it('a text file: INVALID_MEDIA, not retryable, no temp path in the message', () => {
    const err = classifyFfmpegFailure('file:/tmp/moviola-frames/j1/original: Invalid data found when processing input\n')!;
    assert.equal(err.code, 'INVALID_MEDIA');
    assert.equal(err.retryable, false);
    assert.match(err.message, /Invalid data found when processing input/);
    assert.doesNotMatch(err.message, /moviola-frames/);
  });

  it('an MP4 cut before its moov: INVALID_MEDIA', () => {
    const err = classifyFfmpegFailure('[mov,mp4,m4a,3gp,3g2,mj2 @ 0x557b3e969140] moov atom not found\nfile:/t/c30.mp4: Invalid data found when processing input\n')!;
    assert.equal(err.code, 'INVALID_MEDIA');
    assert.match(err.message, /moov atom not found/);
    assert.doesNotMatch(err.message, /0x557b/);
  });

  it('an unknown codec: UNSUPPORTED_CODEC, not retryable', () => {
    const err = classifyFfmpegFailure('Decoder (codec none) not found for input stream #0:0\n')!;
    assert.equal(err.code, 'UNSUPPORTED_CODEC');
    assert.equal(err.retryable, false);
  });

  it('no video stream: INVALID_MEDIA', () => {
    const err = classifyFfmpegFailure("Stream map '0:v:0' matches no streams.\nTo ignore this, add a trailing '?' to the map.\n")!;
    assert.equal(err.code, 'INVALID_MEDIA');
    assert.equal(err.message, 'The file has no video stream');
  });

  it('anything else: PROCESSING_ERROR, retryable, with the stderr tail', () => {
    const err = classifyFfmpegFailure('Error initializing output stream 0:0 -- Cannot allocate memory\n')!;
    assert.equal(err.code, 'PROCESSING_ERROR');
    assert.equal(err.retryable, true);
    assert.match(err.stderrTail, /Cannot allocate memory/);
    assert.equal(classifyFfmpegFailure('')!.code, 'PROCESSING_ERROR');
  });

  it('after a clean exit, only truncation counts', () => {
    const faststartCut = [
      '[NULL @ 0x55b5e4f85780] Invalid NAL unit size (868 > 859).',
      '[mov,mp4,m4a,3gp,3g2,mj2 @ 0x55b5e4f7c140] stream 0, offset 0x10508: partial file',
      'Error while decoding stream #0:0: Invalid data found when processing input',
    ].join('\n');
    const err = classifyFfmpegFailure(faststartCut, { truncatedOnly: true })!;
    assert.equal(err.code, 'INVALID_MEDIA');
    assert.match(err.message, /truncated \(stream 0, offset 0x10508: partial file\)/);
    assert.equal(classifyFfmpegFailure('[matroska,webm @ 0x5574c877f8c0] File ended prematurely', { truncatedOnly: true })!.code, 'INVALID_MEDIA');
    assert.equal(classifyFfmpegFailure('[h264 @ 0x1] concealing 12 DC, 12 AC, 12 MV errors in P frame', { truncatedOnly: true }), null);
    assert.equal(classifyFfmpegFailure('', { truncatedOnly: true }), null);
  });
});

// ---------------------------------------------------------------------------------------------
// JPEG stream splitter

const seg = (code: number, payload: Buffer) => {
  const head = Buffer.alloc(4);
  head.writeUInt16BE(0xff00 | code, 0);
  head.writeUInt16BE(payload.length + 2, 2);
  return Buffer.concat([head, payload]);
};
const SOI = Buffer.from([0xff, 0xd8]);
const EOI = Buffer.from([0xff, 0xd9]);

/** A structurally valid JPEG with every trap the splitter must walk over. */
function trickyJpeg(seed: number): Buffer {
  const thumbnail = Buffer.concat([SOI, seg(0xdb, Buffer.alloc(65, seed)), Buffer.from([0xff, 0xda, 0, 2, 1, 2, 3]), EOI]);
  return Buffer.concat([
    SOI,
    seg(0xe0, Buffer.from('JFIF\0\x01\x02', 'latin1')),
    seg(0xe1, Buffer.concat([Buffer.from('Exif\0\0', 'latin1'), thumbnail, EOI, Buffer.from([0xff, 0xd9, 0xff])])), // EXIF with a thumbnail and stray EOIs
    seg(0xfe, Buffer.from([0xff, 0xd9, 0xff, 0xd8])), // a comment holding marker bytes
    seg(0xdb, Buffer.alloc(67, seed)),
    seg(0xc2, Buffer.alloc(15, 1)), // progressive SOF
    seg(0xda, Buffer.alloc(10, 2)),
    Buffer.from([seed, 0x12, 0xff, 0x00, 0x34, 0xff, 0xd0, 0x56, 0xff, 0x00, 0xff, 0xd7, 0x78]), // stuffing and restart markers
    seg(0xc4, Buffer.alloc(20, 3)), // tables between scans
    Buffer.from([0xff, 0xff]), // fill bytes before a marker
    seg(0xda, Buffer.alloc(8, 4)),
    Buffer.from([0x9a, 0xbc, 0xff, 0x00, seed]),
    Buffer.from([0xff, 0xff]), // fill bytes before EOI
    EOI,
  ]);
}

describe('JpegSplitter', () => {
  const images = [trickyJpeg(1), trickyJpeg(2), Buffer.concat([SOI, seg(0xda, Buffer.alloc(4)), Buffer.from([1, 2, 3]), EOI]), trickyJpeg(3)];
  const stream = Buffer.concat(images);

  function split(chunkSizes: (i: number) => number): Buffer[] {
    const splitter = new JpegSplitter();
    const out: Buffer[] = [];
    for (let pos = 0, i = 0; pos < stream.length; i++) {
      const size = Math.max(1, chunkSizes(i));
      out.push(...splitter.push(stream.subarray(pos, pos + size)));
      pos += size;
    }
    splitter.end();
    return out;
  }

  it('splits whole images, in one chunk, byte by byte, and in uneven chunks', () => {
    for (const sizes of [() => stream.length, () => 1, (i: number) => [7, 1, 2, 300, 3, 64][i % 6]!, (i: number) => (i * 37) % 101]) {
      const out = split(sizes);
      assert.equal(out.length, images.length);
      out.forEach((image, i) => assert.ok(image.equals(images[i]!), `image ${i}`));
    }
  });

  it('reports whether an image is partly read, and refuses to end inside one', () => {
    const splitter = new JpegSplitter();
    assert.equal(splitter.idle, true);
    splitter.push(stream.subarray(0, 50));
    assert.equal(splitter.idle, false);
    assert.throws(() => splitter.end(), JpegStreamError);
  });

  it('refuses bytes that are not a JPEG stream', () => {
    assert.throws(() => new JpegSplitter().push(Buffer.from('hello')), /expected the start of a JPEG image/);
    assert.throws(() => new JpegSplitter().push(Buffer.from([0xff, 0xd8, 0x00])), /expected a marker/);
    assert.throws(() => new JpegSplitter().push(Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x01])), /segment length 1/);
    assert.throws(() => new JpegSplitter().push(Buffer.concat([images[0]!, Buffer.from('x')])), /at byte \d+/);
  });

  it('caps the size of one image', () => {
    const splitter = new JpegSplitter({ maxImageBytes: 100 });
    assert.throws(() => splitter.push(Buffer.concat([SOI, seg(0xe0, Buffer.alloc(200))])), /exceeds 100 bytes/);
  });
});

// ---------------------------------------------------------------------------------------------
// STORED ZIP writer, read back by a minimal central-directory reader (and by unzip when present)

async function hasUnzip(): Promise<boolean> {
  try {
    await run('unzip', ['-v']);
    return true;
  } catch {
    return false;
  }
}

describe('StoredZipWriter', () => {
  const files = [
    { name: 'frame_00001.jpg', data: trickyJpeg(1) },
    { name: 'frame_00002.jpg', data: Buffer.alloc(0) },
    { name: 'frame_00003.jpg', data: Buffer.from('x'.repeat(70_000)) },
  ];

  function build(zip64: 'auto' | 'always'): { zip: Buffer; writer: StoredZipWriter } {
    const writer = new StoredZipWriter({ mtime: new Date(2024, 4, 17, 13, 45, 30), zip64 });
    const chunks: Buffer[] = [];
    for (const f of files) chunks.push(...writer.addEntry(f.name, f.data));
    chunks.push(writer.finish());
    return { zip: Buffer.concat(chunks), writer };
  }

  for (const mode of ['auto', 'always'] as const) {
    it(`writes stored entries in order that read back byte for byte (zip64: ${mode})`, async () => {
      const { zip, writer } = build(mode);
      assert.equal(writer.size, zip.length);
      assert.equal(writer.entryCount, 3);
      const read = readZip(zip);
      assert.equal(read.zip64, mode === 'always');
      assert.deepEqual(read.entries.map((e) => e.name), files.map((f) => f.name));
      read.entries.forEach((e, i) => {
        assert.equal(e.method, 0, 'STORED');
        assert.ok(e.data.equals(files[i]!.data));
      });
      if (await hasUnzip()) {
        const dir = await mkdtemp(join(tmpdir(), 'moviola-zip-'));
        try {
          await writeFile(join(dir, 'a.zip'), zip);
          const { stdout } = await run('unzip', ['-t', join(dir, 'a.zip')]);
          assert.match(stdout, /No errors detected/);
          const listing = await run('unzip', ['-Z1', join(dir, 'a.zip')]);
          assert.deepEqual(listing.stdout.trim().split('\n'), files.map((f) => f.name));
        } finally {
          await rm(dir, { recursive: true, force: true });
        }
      }
    });
  }

  it('writes a valid empty archive', () => {
    const writer = new StoredZipWriter();
    const zip = writer.finish();
    assert.equal(zip.length, 22);
    assert.deepEqual(readZip(zip).entries, []);
  });

  it('refuses duplicate, unsafe and late entries', () => {
    const writer = new StoredZipWriter();
    writer.addEntry('a.jpg', Buffer.alloc(1));
    assert.throws(() => writer.addEntry('a.jpg', Buffer.alloc(1)), /duplicate/);
    for (const name of ['../x', '/abs', 'a/../b', 'sp ace', 'ção', '']) assert.throws(() => writer.addEntry(name, Buffer.alloc(1)), /invalid/, name);
    writer.finish();
    assert.throws(() => writer.addEntry('b.jpg', Buffer.alloc(1)), /finished/);
    assert.throws(() => writer.finish(), /finished/);
  });

  it('encodes DOS date and time', () => {
    const { time, date } = dosDateTime(new Date(2024, 4, 17, 13, 45, 31));
    assert.equal(date, ((2024 - 1980) << 9) | (5 << 5) | 17);
    assert.equal(time, (13 << 11) | (45 << 5) | 15);
    assert.deepEqual(dosDateTime(new Date(1970, 0, 1)), { time: 0, date: 33 });
  });
});
