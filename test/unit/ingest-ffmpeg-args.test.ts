/**
 * The pure parts of the ingest renderers (lib/ffmpeg/ingest): every command opens its inputs
 * safely, sizes are never upscaled, the HLS ladder and keyframe forcing, the poster choice, scene
 * parsing and merging, progress parsing, failure classification, and the header readers.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { audioProxyArgs, waveformArgs } from '../../lib/ffmpeg/ingest/audio-renditions.ts';
import { imageThumbnailArgs, thumbnailPath, thumbnailSize } from '../../lib/ffmpeg/ingest/image-renditions.ts';
import { jpegSize, pngSize } from '../../lib/ffmpeg/ingest/image-size.ts';
import { moovBeforeMdat, mp4AvcCodec, mp4VideoSize } from '../../lib/ffmpeg/ingest/mp4-info.ts';
import {
  BLACK_MEAN,
  candidatePath,
  choosePosterTime,
  FLAT_STDDEV,
  lumaStats,
  posterArgs,
  posterCandidateTimes,
  posterSampleArgs,
} from '../../lib/ffmpeg/ingest/poster.ts';
import {
  assertDemuxer,
  assertRenderable,
  displaySize,
  inputArgs,
  monotonicProgress,
  parseProgressLine,
  progressSpan,
  RenderError,
  renderFailure,
  runFfmpeg,
  type SourceMedia,
} from '../../lib/ffmpeg/ingest/run-ffmpeg.ts';
import { parseSceneCuts, sceneDetectArgs, scenesFromCuts } from '../../lib/ffmpeg/ingest/scenes.ts';
import { spriteArgs, spriteLayout } from '../../lib/ffmpeg/ingest/sprite.ts';
import {
  buildVideoRenditionArgs,
  hlsLadder,
  hlsOutputArgs,
  keyframeArgs,
  masterPlaylist,
  parseMediaPlaylist,
  proxyPlan,
  scaledSize,
} from '../../lib/ffmpeg/ingest/video-renditions.ts';

const video: SourceMedia = {
  path: '/tmp/job/original',
  demuxer: 'mov',
  durationMs: 60_000,
  width: 1920,
  height: 1080,
  fps: 25,
  hasAudio: true,
  hasVideo: true,
};
const image: SourceMedia = { path: '/tmp/job/original', demuxer: 'png_pipe', durationMs: null, width: 600, height: 300, fps: null, hasAudio: false, hasVideo: true };

/**
 * Every `-i` is preceded, since the previous `-i`, by `-protocol_whitelist file` and a forced
 * `-f <demuxer>`, and reads a `file:` path; the command starts with -nostdin -hide_banner.
 */
function assertSafeInputs(args: readonly string[], demuxers: readonly string[] = [video.demuxer]): void {
  assert.equal(args[0], '-nostdin');
  assert.ok(args.includes('-hide_banner'));
  const inputs = args.flatMap((a, i) => (a === '-i' ? [i] : []));
  assert.ok(inputs.length > 0, 'no input');
  let from = 0;
  for (const at of inputs) {
    const before = args.slice(from, at);
    const wl = before.lastIndexOf('-protocol_whitelist');
    assert.ok(wl >= 0, `no -protocol_whitelist before -i at ${at}`);
    assert.equal(before[wl + 1], 'file');
    const f = before.lastIndexOf('-f');
    assert.ok(f > wl, `no forced -f after the whitelist before -i at ${at}`);
    assert.ok(demuxers.includes(before[f + 1]!), `unexpected demuxer ${before[f + 1]}`);
    assert.equal(f + 2, before.length, '-f <demuxer> immediately precedes -i');
    assert.match(args[at + 1]!, /^file:\//);
    from = at + 2;
  }
}

describe('inputArgs and the demuxer guard', () => {
  it('opens the input with the file protocol only and the forced demuxer, input options between', () => {
    assert.deepEqual(inputArgs(video, ['-ss', '1.000']), ['-protocol_whitelist', 'file', '-ss', '1.000', '-f', 'mov', '-i', 'file:/tmp/job/original']);
  });

  it('refuses playlists, concat scripts, image2 patterns, lavfi and unknown names', () => {
    for (const demuxer of ['hls', 'dash', 'concat', 'ffconcat', 'image2', 'lavfi', 'tty', 'mov,mp4', '', 'nonsense']) {
      assert.throws(() => inputArgs({ path: '/x', demuxer }), RangeError, demuxer);
      assert.throws(() => assertRenderable({ path: '/x', demuxer }), (err: unknown) => err instanceof RenderError && err.code === 'INVALID_MEDIA' && !err.retryable);
    }
    for (const demuxer of ['mov', 'matroska', 'webm', 'png_pipe', 'jpeg_pipe', 'webp_pipe', 'gif', 'bmp_pipe', 'tiff_pipe']) assertDemuxer(demuxer);
  });

  it('display size swaps width and height for 90/270° rotation', () => {
    assert.deepEqual(displaySize(video), { width: 1920, height: 1080 });
    assert.deepEqual(displaySize({ ...video, rotation: 90 }), { width: 1080, height: 1920 });
    assert.deepEqual(displaySize({ ...video, rotation: -90 }), { width: 1080, height: 1920 });
    assert.deepEqual(displaySize({ ...video, rotation: 180 }), { width: 1920, height: 1080 });
    assert.equal(displaySize({ ...video, width: null }), null);
  });
});

describe('every builder opens its inputs safely', () => {
  const cases: Array<[string, string[], string[]?]> = [
    ['posterSampleArgs', posterSampleArgs(video, posterCandidateTimes(60_000), '/tmp/s')],
    ['posterArgs', posterArgs(video, 12_000, '/tmp/o/poster.jpg')],
    ['spriteArgs', spriteArgs(video, '/tmp/o/sprite.jpg', spriteLayout(60_000))],
    ['sceneDetectArgs', sceneDetectArgs(video)],
    ['audioProxyArgs', audioProxyArgs(video, '/tmp/o/audio.m4a')],
    ['waveformArgs', waveformArgs(video, '/tmp/o/waveform.png')],
    ['imageThumbnailArgs', imageThumbnailArgs(image, '/tmp/o'), ['png_pipe']],
    ['imageThumbnailArgs (size unknown)', imageThumbnailArgs({ ...image, width: null, height: null }, '/tmp/o'), ['png_pipe']],
    ...buildVideoRenditionArgs(video, '/tmp/o', { proxies: true, hls: true }).commands.map(
      (c, i): [string, string[], string[]] => [`video renditions command ${i}`, c, ['mov']],
    ),
  ];
  for (const [name, args, demuxers] of cases) {
    it(name, () => assertSafeInputs(args, demuxers));
  }

  it('the poster sampling run has one safely opened, seeked input per candidate', () => {
    const times = [3000, 30_000, 57_000];
    const args = posterSampleArgs(video, times, '/tmp/s');
    assert.equal(args.filter((a) => a === '-i').length, 3);
    assert.deepEqual(args.filter((_, i) => args[i - 1] === '-ss'), ['3.000', '30.000', '57.000']);
    assert.deepEqual(args.filter((a) => a.startsWith('file:/tmp/s/')), [0, 1, 2].map((i) => `file:${candidatePath('/tmp/s', i)}`));
  });
});

describe('posterCandidateTimes / lumaStats / choosePosterTime', () => {
  it('spreads candidates between 5 % and 95 %, ascending, never 0', () => {
    const times = posterCandidateTimes(100_000);
    assert.equal(times.length, 9);
    assert.equal(times[0], 5000);
    assert.equal(times.at(-1), 95_000);
    assert.deepEqual([...times].sort((a, b) => a - b), times);
    assert.deepEqual(posterCandidateTimes(10_000, 3), [500, 5000, 9500]);
    assert.deepEqual(posterCandidateTimes(10_000, 1), [5000]);
    assert.ok(posterCandidateTimes(3).every((t) => t > 0));
    assert.deepEqual(posterCandidateTimes(0), []);
    assert.deepEqual(posterCandidateTimes(Number.NaN), []);
  });

  it('measures mean and standard deviation', () => {
    assert.deepEqual(lumaStats(Buffer.from([16, 16, 16, 16])), { mean: 16, stddev: 0 });
    const s = lumaStats(Buffer.from([0, 255]));
    assert.equal(s.mean, 127.5);
    assert.equal(s.stddev, 127.5);
    assert.deepEqual(lumaStats(Buffer.alloc(0)), { mean: 0, stddev: 0 });
  });

  it('skips black and flat candidates, prefers the most detailed, never picks 0', () => {
    const black = { mean: 16, stddev: 1 };
    const dark = { mean: BLACK_MEAN - 1, stddev: 40 }; // e.g. a dim title on black
    const flat = { mean: 200, stddev: FLAT_STDDEV - 1 }; // blank white card, fade
    const detailed = { mean: 110, stddev: 60 };
    const some = { mean: 90, stddev: 30 };
    assert.equal(
      choosePosterTime([
        { timeMs: 0, mean: 120, stddev: 90 },
        { timeMs: 1000, ...black },
        { timeMs: 2000, ...dark },
        { timeMs: 3000, ...flat },
        { timeMs: 4000, ...some },
        { timeMs: 5000, ...detailed },
      ]),
      5000,
    );
    assert.equal(choosePosterTime([{ timeMs: 4000, ...some }, { timeMs: 9000, ...some }]), 4000, 'the earlier on a tie');
    assert.equal(choosePosterTime([{ timeMs: 1000, ...black }, { timeMs: 2000, ...flat }]), null);
    assert.equal(choosePosterTime([{ timeMs: 0, ...detailed }]), null);
    assert.equal(choosePosterTime([]), null);
  });

  it('writes the poster at the chosen time, at most 1280 wide, square pixels, one frame', () => {
    const args = posterArgs(video, 12_345, '/tmp/o/poster.jpg');
    assert.equal(args[args.indexOf('-ss') + 1], '12.345');
    assert.ok(args.indexOf('-ss') < args.indexOf('-i'), 'fast seek before -i');
    assert.match(args[args.indexOf('-vf') + 1]!, /^scale=w='min\(1280,round\(iw\*sar\)\)'/);
    assert.equal(args[args.indexOf('-frames:v') + 1], '1');
    assert.equal(args.at(-1), 'file:/tmp/o/poster.jpg');
  });
});

describe('spriteLayout / spriteArgs', () => {
  it('10×10 tiles of 160 px for long videos, fewer rows for short ones, at least 1 s apart', () => {
    assert.deepEqual(spriteLayout(600_000), { columns: 10, rows: 10, intervalMs: 6000, tileWidth: 160 });
    assert.deepEqual(spriteLayout(3_600_000), { columns: 10, rows: 10, intervalMs: 36_000, tileWidth: 160 });
    assert.deepEqual(spriteLayout(60_000), { columns: 10, rows: 6, intervalMs: 1000, tileWidth: 160 });
    assert.deepEqual(spriteLayout(8000), { columns: 8, rows: 1, intervalMs: 1000, tileWidth: 160 });
    const odd = spriteLayout(601_000);
    assert.ok(odd.columns * odd.rows <= 100 && odd.intervalMs * odd.columns * odd.rows >= 601_000);
    assert.deepEqual(spriteLayout(0), { columns: 1, rows: 1, intervalMs: 1000, tileWidth: 160 });
  });

  it('one frame per interval, scaled to the tile width, tiled, one JPEG', () => {
    const args = spriteArgs(video, '/tmp/o/sprite.jpg', spriteLayout(60_000));
    assert.equal(args[args.indexOf('-vf') + 1], "fps=1000/1000,scale=w=160:h='max(2,round(ow/dar/2)*2)':flags=area,setsar=1,tile=10x6");
    assert.equal(args[args.indexOf('-frames:v') + 1], '1');
  });
});

describe('proxyPlan / hlsLadder: never upscaled', () => {
  it('1080p source: both proxies, ladder 360/720/1080', () => {
    assert.deepEqual(proxyPlan(1080), [{ name: 'proxy_480', height: 480 }, { name: 'proxy_720', height: 720 }]);
    assert.deepEqual(hlsLadder(1080).map((r) => [r.name, r.height]), [['360p', 360], ['720p', 720], ['1080p', 1080]]);
    assert.deepEqual(hlsLadder(2160).map((r) => r.name), ['360p', '720p', '1080p']);
  });

  it('720p source: both proxies, ladder 360/720', () => {
    assert.deepEqual(proxyPlan(720), [{ name: 'proxy_480', height: 480 }, { name: 'proxy_720', height: 720 }]);
    assert.deepEqual(hlsLadder(720).map((r) => r.name), ['360p', '720p']);
  });

  it('between 480 and 720: proxy_720 at the source size', () => {
    assert.deepEqual(proxyPlan(600), [{ name: 'proxy_480', height: 480 }, { name: 'proxy_720', height: 600 }]);
    assert.deepEqual(hlsLadder(600).map((r) => r.name), ['360p']);
  });

  it('360p source: no 720 proxy, proxy_480 at 360, ladder only 360', () => {
    assert.deepEqual(proxyPlan(360), [{ name: 'proxy_480', height: 360 }]);
    assert.deepEqual(proxyPlan(480), [{ name: 'proxy_480', height: 480 }]);
    assert.deepEqual(hlsLadder(360).map((r) => r.name), ['360p']);
  });

  it('below 360: one rung at the source size (even), bitrate scaled down', () => {
    const [rung, ...rest] = hlsLadder(241);
    assert.equal(rest.length, 0);
    assert.equal(rung!.name, '240p');
    assert.equal(rung!.height, 240);
    assert.ok(rung!.videoKbps < hlsLadder(360)[0]!.videoKbps);
    assert.deepEqual(proxyPlan(241), [{ name: 'proxy_480', height: 240 }]);
  });

  it('scaledSize keeps the aspect, even, by the short side, never above the source', () => {
    assert.deepEqual(scaledSize({ width: 1280, height: 720 }, 480), { width: 854, height: 480 });
    assert.deepEqual(scaledSize({ width: 1920, height: 1080 }, 720), { width: 1280, height: 720 });
    assert.deepEqual(scaledSize({ width: 1080, height: 1920 }, 720), { width: 720, height: 1280 });
    assert.deepEqual(scaledSize({ width: 640, height: 360 }, 720), { width: 640, height: 360 });
    assert.deepEqual(scaledSize({ width: 321, height: 241 }, 480), { width: 320, height: 240 });
  });
});

describe('buildVideoRenditionArgs', () => {
  const plan = buildVideoRenditionArgs(video, '/out', { proxies: true, hls: true });
  const [main, remux] = plan.commands;

  it('one decode: a single input split into one scale per encode, and the 720p rung remuxed from proxy_720', () => {
    assert.equal(plan.commands.length, 2);
    assert.equal(main!.filter((a) => a === '-i').length, 1);
    const graph = main![main!.indexOf('-filter_complex') + 1]!;
    // proxy_480, proxy_720 (shared with 720p), 360p, 1080p
    assert.match(graph, /^\[0:v:0\]split=4\[in0\]\[in1\]\[in2\]\[in3\];/);
    assert.equal(main!.filter((a) => a === 'libx264').length, 4, 'the 720p encode is not repeated');
    assert.equal(main!.filter((a) => a === 'aac').length, 4);
    assert.deepEqual(plan.proxies.map((p) => [p.name, p.path, p.height]), [['proxy_480', '/out/proxy_480.mp4', 480], ['proxy_720', '/out/proxy_720.mp4', 720]]);
    assert.deepEqual(plan.proxies.map((p) => p.expected), [{ width: 854, height: 480 }, { width: 1280, height: 720 }]);
    assert.deepEqual(plan.hls!.variants.map((v) => [v.name, v.sharedWith]), [['360p', null], ['720p', 'proxy_720'], ['1080p', null]]);
    assert.deepEqual(remux!.slice(remux!.indexOf('-i'), remux!.indexOf('-i') + 2), ['-i', 'file:/out/proxy_720.mp4']);
    assert.deepEqual(remux!.slice(remux!.indexOf('-c'), remux!.indexOf('-c') + 2), ['-c', 'copy']);
    assert.ok(!remux!.includes('libx264'));
    assert.equal(plan.weights.reduce((a, b) => a + b, 0), 1);
  });

  it('MP4 proxies: H.264 yuv420p main/high + AAC, +faststart, a bitrate cap', () => {
    const at = main!.indexOf('file:/out/proxy_480.mp4');
    const proxy480 = main!.slice(main!.indexOf('[v0]') - 1, at + 1); // from its -map to its output
    for (const [flag, value] of [['-c:v', 'libx264'], ['-preset', 'veryfast'], ['-crf', '23'], ['-pix_fmt', 'yuv420p'], ['-profile:v', 'main'], ['-c:a', 'aac'], ['-movflags', '+faststart'], ['-f', 'mp4']]) {
      assert.equal(proxy480[proxy480.indexOf(flag!) + 1], value, flag);
    }
    assert.ok(proxy480.includes('-maxrate') && proxy480.includes('-bufsize'));
    assert.ok(!proxy480.includes('-force_key_frames'), 'proxy_480 is not an HLS rung');
  });

  it('forces a keyframe every 4 s in every HLS encode, proxy_720 included (it becomes the 720p rung)', () => {
    assert.deepEqual(keyframeArgs(), ['-force_key_frames', 'expr:gte(t,n_forced*4)']);
    const forced = main!.flatMap((a, i) => (a === '-force_key_frames' ? [main![i + 1]] : []));
    assert.deepEqual(forced, ['expr:gte(t,n_forced*4)', 'expr:gte(t,n_forced*4)', 'expr:gte(t,n_forced*4)']);
    const at = main!.indexOf('file:/out/proxy_720.mp4');
    const before = main!.slice(main!.lastIndexOf('-c:v', at), at);
    assert.ok(before.includes('-force_key_frames'));
    assert.equal(before[before.indexOf('-profile:v') + 1], 'high');
  });

  it('HLS: fMP4 VOD with 4 s segments, files flat in one directory, bare names', () => {
    assert.deepEqual(hlsOutputArgs('/out/hls', '360p'), [
      '-f', 'hls', '-hls_time', '4', '-hls_playlist_type', 'vod', '-hls_segment_type', 'fmp4',
      '-hls_flags', 'independent_segments', '-start_number', '1',
      '-hls_fmp4_init_filename', '360p_init.mp4',
      '-hls_segment_filename', 'file:/out/hls/360p_%05d.m4s',
      'file:/out/hls/360p.m3u8',
    ]);
    assert.equal(hlsOutputArgs('/out/50%/hls', '720p').at(-2), 'file:/out/50%%/hls/720p_%05d.m4s', '% in the directory is escaped in the pattern');
    assert.throws(() => hlsOutputArgs('/out', '../x'), RangeError);
    assert.equal(plan.hls!.dir, '/out/hls');
    assert.equal(plan.hls!.master, 'master.m3u8');
  });

  it('360p source: one proxy, one rung, a single command, nothing above the source', () => {
    const small = buildVideoRenditionArgs({ ...video, width: 640, height: 360 }, '/out', { proxies: true, hls: true });
    assert.equal(small.commands.length, 1);
    assert.deepEqual(small.proxies.map((p) => [p.name, p.height]), [['proxy_480', 360]]);
    assert.deepEqual(small.hls!.variants.map((v) => v.name), ['360p']);
    const graph = small.commands[0]![small.commands[0]!.indexOf('-filter_complex') + 1]!;
    assert.doesNotMatch(graph, /720|480/);
  });

  it('portrait sources are sized by their short side', () => {
    const portrait = buildVideoRenditionArgs({ ...video, width: 1080, height: 1920 }, '/out', { proxies: true, hls: false });
    assert.deepEqual(portrait.proxies.map((p) => p.expected), [{ width: 480, height: 854 }, { width: 720, height: 1280 }]);
    const rotated = buildVideoRenditionArgs({ ...video, rotation: 90 }, '/out', { proxies: true, hls: false });
    assert.deepEqual(rotated.proxies.map((p) => p.expected), [{ width: 480, height: 854 }, { width: 720, height: 1280 }]);
  });

  it('proxies only: no HLS output, no forced keyframes; HLS only: the 720p rung is encoded directly', () => {
    const proxies = buildVideoRenditionArgs(video, '/out', { proxies: true, hls: false });
    assert.equal(proxies.commands.length, 1);
    assert.equal(proxies.hls, null);
    assert.ok(!proxies.commands[0]!.includes('-force_key_frames'));
    assert.ok(!proxies.commands[0]!.includes('hls'));
    const hls = buildVideoRenditionArgs(video, '/out', { proxies: false, hls: true });
    assert.equal(hls.commands.length, 1);
    assert.equal(hls.commands[0]!.filter((a) => a === 'libx264').length, 3);
    assert.equal(hls.proxies.length, 0);
    assert.equal(buildVideoRenditionArgs(video, '/out', { proxies: false, hls: false }).commands.length, 0);
  });

  it('no audio: no audio map, no AAC', () => {
    const silent = buildVideoRenditionArgs({ ...video, hasAudio: false }, '/out', { proxies: true, hls: true });
    for (const c of silent.commands) {
      assert.ok(!c.includes('0:a:0'));
      assert.ok(!c.includes('aac'));
    }
  });
});

describe('masterPlaylist / parseMediaPlaylist', () => {
  it('lists the variants by bandwidth with resolution and codecs, relative bare filenames', () => {
    const text = masterPlaylist([
      { playlist: '720p.m3u8', bandwidth: 2_800_000.4, averageBandwidth: 2_000_000, width: 1280, height: 720, codecs: 'avc1.64001f,mp4a.40.2', frameRate: 25 },
      { playlist: '360p.m3u8', bandwidth: 900_000, width: 640, height: 360 },
    ]);
    assert.equal(
      text,
      [
        '#EXTM3U',
        '#EXT-X-VERSION:7',
        '#EXT-X-INDEPENDENT-SEGMENTS',
        '#EXT-X-STREAM-INF:BANDWIDTH=900000,RESOLUTION=640x360',
        '360p.m3u8',
        '#EXT-X-STREAM-INF:BANDWIDTH=2800001,AVERAGE-BANDWIDTH=2000000,RESOLUTION=1280x720,CODECS="avc1.64001f,mp4a.40.2",FRAME-RATE=25.000',
        '720p.m3u8',
        '',
      ].join('\n'),
    );
    for (const playlist of ['hls/360p.m3u8', '../360p.m3u8', 'http://x/360p.m3u8', '/abs.m3u8']) {
      assert.throws(() => masterPlaylist([{ playlist, bandwidth: 1, width: 2, height: 2 }]), RangeError, playlist);
    }
    assert.throws(() => masterPlaylist([]), RangeError);
  });

  it('reads the init segment and the segments with their durations', () => {
    const parsed = parseMediaPlaylist(
      '#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-TARGETDURATION:4\n#EXT-X-MEDIA-SEQUENCE:1\n#EXT-X-PLAYLIST-TYPE:VOD\n#EXT-X-INDEPENDENT-SEGMENTS\n' +
        '#EXT-X-MAP:URI="360p_init.mp4"\n#EXTINF:4.000000,\n360p_00001.m4s\n#EXTINF:2.040000,\n360p_00002.m4s\n#EXT-X-ENDLIST\n',
    );
    assert.deepEqual(parsed, { init: '360p_init.mp4', segments: [{ uri: '360p_00001.m4s', durationS: 4 }, { uri: '360p_00002.m4s', durationS: 2.04 }] });
  });
});

describe('scenes', () => {
  it('scales down, runs scdet passing only cut frames, prints their metadata on stdout, encodes nothing', () => {
    const args = sceneDetectArgs(video);
    assert.equal(args[args.indexOf('-vf') + 1], 'scale=160:-2:flags=fast_bilinear,scdet=threshold=10:sc_pass=1,metadata=mode=print:file=-');
    assert.deepEqual(args.slice(-3), ['-f', 'null', '-']);
    assert.throws(() => sceneDetectArgs(video, 0), RangeError);
  });

  it('parses scdet output (ffmpeg 5.1) into ascending, deduplicated ms', () => {
    const out = [
      'frame:1    pts:51200   pts_time:4',
      'lavfi.scd.mafd=31.805',
      'lavfi.scd.score=30.854',
      'lavfi.scd.time=4',
      'frame:0    pts:25600   pts_time:1.96',
      'lavfi.scd.mafd=21.669',
      'lavfi.scd.score=21.669',
      'lavfi.scd.time=1.96',
      'lavfi.scd.time=1.9605',
      'lavfi.scd.time=0',
      '',
    ].join('\n');
    assert.deepEqual(parseSceneCuts(out), [1960, 4000]);
  });

  it('falls back to frame headers for other detectors printed the same way (select=gt(scene,x))', () => {
    const out = 'frame:0    pts:3072    pts_time:0.12\nlavfi.scene_score=0.51\nframe:1    pts:65536   pts_time:2.56\nlavfi.scene_score=0.9\n';
    assert.deepEqual(parseSceneCuts(out), [120, 2560]);
    assert.deepEqual(parseSceneCuts(''), []);
  });

  it('turns cuts into contiguous scenes covering the duration, merging tiny ones', () => {
    assert.deepEqual(scenesFromCuts([2000, 4000], 6000), [{ inMs: 0, outMs: 2000 }, { inMs: 2000, outMs: 4000 }, { inMs: 4000, outMs: 6000 }]);
    assert.deepEqual(scenesFromCuts([], 6000), [{ inMs: 0, outMs: 6000 }]);
    // 2000 and 2300 too close: 2300 dropped; 500 too close to 0; 5800 too close to the end.
    assert.deepEqual(scenesFromCuts([4000, 2300, 500, 2000, 5800], 6000), [{ inMs: 0, outMs: 2000 }, { inMs: 2000, outMs: 4000 }, { inMs: 4000, outMs: 6000 }]);
    assert.deepEqual(scenesFromCuts([100, 200, 300], 6000, 1000), [{ inMs: 0, outMs: 6000 }]);
    assert.deepEqual(scenesFromCuts([2000], 0), []);
    const scenes = scenesFromCuts([1500, 2600, 2700, 9000, 9100, 12_000], 12_500, 1000);
    assert.equal(scenes[0]!.inMs, 0);
    assert.equal(scenes.at(-1)!.outMs, 12_500);
    for (let i = 1; i < scenes.length; i++) assert.equal(scenes[i]!.inMs, scenes[i - 1]!.outMs);
    assert.ok(scenes.every((s) => s.outMs - s.inMs >= 1000));
  });
});

describe('audio and image builders', () => {
  it('audio proxy: first audio stream, AAC 128k stereo, +faststart', () => {
    const args = audioProxyArgs(video, '/o/audio.m4a');
    assert.deepEqual(args.slice(args.indexOf('-map')), ['-map', '0:a:0', '-vn', '-sn', '-dn', '-c:a', 'aac', '-b:a', '128k', '-ac', '2', '-movflags', '+faststart', '-f', 'mp4', 'file:/o/audio.m4a']);
  });

  it('waveform: showwavespic at 1800×280, one PNG', () => {
    const args = waveformArgs(video, '/o/waveform.png');
    assert.match(args[args.indexOf('-filter_complex') + 1]!, /^\[0:a:0\]aformat=channel_layouts=mono,showwavespic=s=1800x280:/);
    assert.deepEqual(args.slice(-9), ['-frames:v', '1', '-c:v', 'png', '-update', '1', '-f', 'image2', 'file:/o/waveform.png']);
  });

  it('thumbnailSize fits the box, keeps the aspect, never upscales', () => {
    assert.deepEqual(thumbnailSize(4000, 3000, 1024), { width: 1024, height: 768 });
    assert.deepEqual(thumbnailSize(3000, 4000, 256), { width: 192, height: 256 });
    assert.deepEqual(thumbnailSize(600, 300, 1024), { width: 600, height: 300 });
    assert.deepEqual(thumbnailSize(600, 300, 256), { width: 256, height: 128 });
    assert.deepEqual(thumbnailSize(10_000, 3, 256), { width: 256, height: 1 });
    assert.throws(() => thumbnailSize(0, 10, 256), RangeError);
  });

  it('image thumbnails: one decode split in two, flattened on white, one JPEG per size', () => {
    const args = imageThumbnailArgs(image, '/o');
    const graph = args[args.indexOf('-filter_complex') + 1]!;
    assert.match(graph, /^\[0:v:0\]split=2\[s0\]\[s1\];/);
    assert.match(graph, /\[s0\]scale=256:128:.*color=c=white:s=256x128.*overlay/);
    assert.match(graph, /\[s1\]scale=600:300:/);
    assert.deepEqual(args.filter((a) => a.startsWith('file:/o/')), [`file:${thumbnailPath('/o', 'thumbnail_256')}`, `file:${thumbnailPath('/o', 'thumbnail_1024')}`]);
    const unknown = imageThumbnailArgs({ ...image, width: null, height: null }, '/o');
    assert.match(unknown[unknown.indexOf('-filter_complex') + 1]!, /scale=w='min\(iw,256\)':h='min\(ih,256\)':force_original_aspect_ratio=decrease/);
  });
});

describe('progress', () => {
  it('parses -progress lines: out_time_us / out_time_ms in µs, N/A and negatives ignored, block ends', () => {
    assert.deepEqual(parseProgressLine('out_time_us=1500000'), { outTimeUs: 1_500_000 });
    assert.deepEqual(parseProgressLine('out_time_ms=1500000'), { outTimeUs: 1_500_000 });
    assert.equal(parseProgressLine('out_time_us=N/A'), null);
    assert.equal(parseProgressLine('out_time_us=-9223372036854775807'), null);
    assert.equal(parseProgressLine('out_time=00:00:01.500000'), null);
    assert.equal(parseProgressLine('frame=12'), null);
    assert.equal(parseProgressLine('garbage'), null);
    assert.deepEqual(parseProgressLine('progress=continue'), { progress: 'continue' });
    assert.deepEqual(parseProgressLine('progress=end'), { progress: 'end' });
  });

  it('reports monotonic, clamped, throttled percents; 100 always passes', () => {
    const seen: number[] = [];
    const report = monotonicProgress((p) => seen.push(p), 0);
    for (const p of [10, 5, 10, 33.33, -1, 120]) report(p);
    assert.deepEqual(seen, [10, 33.3, 100]);
    const throttled: number[] = [];
    const slow = monotonicProgress((p) => throttled.push(p), 60_000);
    for (const p of [1, 2, 3, 100]) slow(p);
    assert.deepEqual(throttled, [1, 100]);
  });

  it('maps a step onto its span of the overall percent', () => {
    const seen: number[] = [];
    const span = progressSpan((p) => seen.push(p), 60, 100);
    span(0);
    span(50);
    span(100);
    span(200);
    assert.deepEqual(seen, [60, 80, 100, 100]);
  });
});

describe('renderFailure', () => {
  const exit = { exitCode: 1, signal: null, timedOut: false, aborted: false, stderrTail: '' };

  it('an undecodable input is INVALID_MEDIA, not retryable', () => {
    const err = renderFailure({ ...exit, stderrTail: '[mov,mp4,m4a,3gp,3g2,mj2 @ 0x5569] stream 0, offset 0xcfb: partial file\nError while decoding stream #0:1: Invalid data found when processing input\n' }, 1000)!;
    assert.equal(err.code, 'INVALID_MEDIA');
    assert.equal(err.retryable, false);
    assert.equal(renderFailure({ ...exit, stderrTail: "Stream map '0:a:0' matches no streams.\n" }, 1000)!.code, 'INVALID_MEDIA');
    assert.equal(renderFailure({ ...exit, stderrTail: "Stream specifier ':a:0' in filtergraph description [0:a:0]aformat matches no streams.\n" }, 1000)!.code, 'INVALID_MEDIA');
    assert.equal(renderFailure({ ...exit, stderrTail: 'Decoder (codec none) not found for input stream #0:0\n' }, 1000)!.code, 'INVALID_MEDIA');
  });

  it('anything else, a timeout or a kill is PROCESSING_ERROR, retryable; output-side errors win over input warnings', () => {
    const other = renderFailure({ ...exit, stderrTail: 'Error initializing output stream 0:0 -- something\n' }, 1000)!;
    assert.equal(other.code, 'PROCESSING_ERROR');
    assert.equal(other.retryable, true);
    assert.equal(renderFailure({ ...exit, timedOut: true, exitCode: null }, 1000)!.code, 'PROCESSING_ERROR');
    assert.equal(renderFailure({ ...exit, exitCode: null, signal: 'SIGKILL' }, 1000)!.code, 'PROCESSING_ERROR');
    const disk = renderFailure({ ...exit, stderrTail: 'Error while decoding stream #0:0: Invalid data found when processing input\nav_interleaved_write_frame(): No space left on device\n' }, 1000)!;
    assert.equal(disk.code, 'PROCESSING_ERROR');
  });

  it('cancellation is CANCELLED, not retryable; exit 0 after a truncated read is INVALID_MEDIA; a clean exit is null', () => {
    const cancelled = renderFailure({ ...exit, aborted: true, exitCode: null, signal: 'SIGKILL' }, 1000)!;
    assert.equal(cancelled.code, 'CANCELLED');
    assert.equal(cancelled.retryable, false);
    assert.equal(renderFailure({ ...exit, exitCode: 0, stderrTail: '[mov @ 0x1] stream 1, offset 0x30: partial file\n' }, 1000)!.code, 'INVALID_MEDIA');
    assert.equal(renderFailure({ ...exit, exitCode: 0 }, 1000), null);
  });

  it('runFfmpeg rejects at once with CANCELLED when the signal has already fired', async () => {
    const controller = new AbortController();
    controller.abort();
    await assert.rejects(runFfmpeg(['-version'], null, { ffmpegPath: '/nonexistent/ffmpeg', timeoutMs: 1000, signal: controller.signal }), (err: unknown) => err instanceof RenderError && err.code === 'CANCELLED');
  });

  it('runFfmpeg: a missing ffmpeg is PROCESSING_ERROR', async () => {
    await assert.rejects(runFfmpeg(['-version'], null, { ffmpegPath: '/nonexistent/ffmpeg', timeoutMs: 1000 }), (err: unknown) => err instanceof RenderError && err.code === 'PROCESSING_ERROR');
  });
});

describe('header readers', () => {
  it('jpegSize reads the SOF marker; pngSize the IHDR', () => {
    const sof = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x04, 0x00, 0x00, 0xff, 0xc0, 0x00, 0x11, 0x08, 0x01, 0x68, 0x02, 0x80, 0x03]);
    assert.deepEqual(jpegSize(sof), { width: 640, height: 360 });
    assert.equal(jpegSize(Buffer.from('not a jpeg')), null);
    const png = Buffer.alloc(24);
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]).copy(png);
    png.write('IHDR', 12, 'latin1');
    png.writeUInt32BE(1800, 16);
    png.writeUInt32BE(280, 20);
    assert.deepEqual(pngSize(png), { width: 1800, height: 280 });
    assert.equal(pngSize(Buffer.alloc(24)), null);
  });

  it('mp4 readers: tkhd size (v0), avcC codec string, moov before mdat', () => {
    const box = (type: string, body: Buffer) => {
      const head = Buffer.alloc(8);
      head.writeUInt32BE(8 + body.length, 0);
      head.write(type, 4, 'latin1');
      return Buffer.concat([head, body]);
    };
    const tkhd = Buffer.alloc(84); // version 0: width/height at 76/80 of the body (84/88 of the box)
    tkhd.writeUInt32BE(1280 * 65536, 76);
    tkhd.writeUInt32BE(720 * 65536, 80);
    const avcC = Buffer.from([1, 0x64, 0x00, 0x1f, 0xff]);
    const moov = box('moov', Buffer.concat([box('trak', box('tkhd', tkhd)), box('avcC', avcC)]));
    const file = Buffer.concat([box('ftyp', Buffer.from('isom')), moov, box('mdat', Buffer.alloc(16))]);
    assert.deepEqual(mp4VideoSize(file), { width: 1280, height: 720 });
    assert.equal(mp4AvcCodec(file), 'avc1.64001f');
    assert.equal(moovBeforeMdat(file), true);
    assert.equal(moovBeforeMdat(Buffer.concat([box('ftyp', Buffer.from('isom')), box('mdat', Buffer.alloc(16)), moov])), false);
  });
});
