/**
 * The render A/V sync check (issue 8), pure parts: the verdict, ffprobe JSON and packet lists,
 * the ebur128 Summary block, the envelope edge treatment and the tool arguments.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  judgeRender,
  loudnessArgs,
  packetsEndMs,
  parseEbur128Summary,
  parseRenderProbe,
  quietEdges,
  renderPacketsArgs,
  renderProbeArgs,
  RENDER_SYNC_TOLERANCE_MS,
  streamDeviationMs,
  type RenderStreams,
} from '../../lib/clips/check-render.ts';

const clean: RenderStreams = { videoStartMs: 0, audioStartMs: 0, videoDurationMs: 8000, audioDurationMs: 8000, formatDurationMs: 8000 };

describe('streamDeviationMs', () => {
  it('is the larger of the start and the duration differences', () => {
    assert.equal(streamDeviationMs(clean), 0);
    assert.equal(streamDeviationMs({ ...clean, audioStartMs: 178, audioDurationMs: 7829.333 }), 178);
    assert.equal(streamDeviationMs({ ...clean, audioDurationMs: 7700 }), 300);
    assert.equal(streamDeviationMs({ ...clean, videoStartMs: 21, videoDurationMs: 8000, audioDurationMs: 8021 }), 21);
    assert.equal(streamDeviationMs({ ...clean, audioStartMs: -30 }), 30);
  });
});

describe('judgeRender', () => {
  it('passes a clean render, with or without a measured music deviation', () => {
    assert.equal(RENDER_SYNC_TOLERANCE_MS, 40);
    const plain = judgeRender({ streams: clean, musicDeviationMs: undefined });
    assert.deepEqual({ ok: plain.ok, deviationMs: plain.deviationMs }, { ok: true, deviationMs: 0 });
    assert.match(plain.reason, /^A\/V sync ok within 40 ms \(streams: start Δ 0 ms, duration Δ 0 ms\)$/);
    assert.doesNotMatch(plain.reason, /music/);
    const music = judgeRender({ streams: clean, musicDeviationMs: 12.4 });
    assert.equal(music.ok, true);
    assert.equal(music.deviationMs, 12.4);
    assert.match(music.reason, /music: 12\.4 ms from the expected offset/);
  });

  it('fails on a late audio start, a short audio stream or misplaced music, naming each', () => {
    const late = judgeRender({ streams: { ...clean, audioStartMs: 200 }, musicDeviationMs: undefined });
    assert.equal(late.ok, false);
    assert.equal(late.deviationMs, 200);
    assert.match(late.reason, /^A\/V out of sync beyond 40 ms: audio and video start 200 ms apart \(/);

    const short = judgeRender({ streams: { ...clean, audioDurationMs: 7700 }, musicDeviationMs: 3 });
    assert.equal(short.ok, false);
    assert.equal(short.deviationMs, 300);
    assert.match(short.reason, /durations differ by 300 ms/);
    assert.doesNotMatch(short.reason, /music is/);

    const music = judgeRender({ streams: clean, musicDeviationMs: 75 });
    assert.equal(music.ok, false);
    assert.equal(music.deviationMs, 75);
    assert.match(music.reason, /the music is 75 ms off its expected offset/);

    const both = judgeRender({ streams: { ...clean, audioStartMs: 60 }, musicDeviationMs: 310 });
    assert.equal(both.deviationMs, 310);
    assert.match(both.reason, /start 60 ms apart; the music is 310 ms off/);
  });

  it('treats the tolerance as inclusive and configurable', () => {
    assert.equal(judgeRender({ streams: { ...clean, audioStartMs: 40 }, musicDeviationMs: 40 }).ok, true);
    assert.equal(judgeRender({ streams: { ...clean, audioStartMs: 40.1 }, musicDeviationMs: undefined }).ok, false);
    assert.equal(judgeRender({ streams: { ...clean, audioDurationMs: 7950 }, musicDeviationMs: undefined, toleranceMs: 60 }).ok, true);
    const strict = judgeRender({ streams: clean, musicDeviationMs: 25, toleranceMs: 20 });
    assert.equal(strict.ok, false);
    assert.match(strict.reason, /beyond 20 ms/);
  });

  it('fails when the music was synced but its position could not be measured, or a value is not a number', () => {
    const unverified = judgeRender({ streams: clean, musicDeviationMs: null });
    assert.equal(unverified.ok, false);
    assert.equal(unverified.deviationMs, 0);
    assert.match(unverified.reason, /^A\/V sync not verified: the music's position in the render could not be measured/);
    assert.equal(judgeRender({ streams: { ...clean, audioDurationMs: Number.NaN }, musicDeviationMs: undefined }).ok, false);
    assert.equal(judgeRender({ streams: clean, musicDeviationMs: Number.NaN }).ok, false);
  });
});

describe('parseRenderProbe and packetsEndMs', () => {
  it('reads the first video and audio stream of an MP4 probe', () => {
    const parsed = parseRenderProbe({
      format: { format_name: 'mov,mp4,m4a,3gp,3g2,mj2', duration: '8.008000', start_time: '0.000000' },
      streams: [
        { index: 0, codec_type: 'video', start_time: '0.000000', duration: '8.000000' },
        { index: 1, codec_type: 'audio', start_time: '0.178000', duration: '7.829333' },
        { index: 2, codec_type: 'audio', start_time: '0.000000', duration: '1.000000' },
      ],
    });
    assert.equal(parsed.formatName, 'mov,mp4,m4a,3gp,3g2,mj2');
    assert.equal(parsed.formatDurationMs, 8008);
    assert.deepEqual(parsed.video, { index: 0, startMs: 0, durationMs: 8000 });
    assert.deepEqual(parsed.audio, { index: 1, startMs: 178, durationMs: 7829.333 });
  });

  it('leaves missing durations (Matroska) to be counted, and a missing stream null', () => {
    const parsed = parseRenderProbe({
      format: { format_name: 'matroska,webm', duration: '8.021000' },
      streams: [{ index: 0, codec_type: 'audio', start_time: '0.000000' }, { index: 1, codec_type: 'video', start_time: '0.021000', duration: 'N/A' }],
    });
    assert.deepEqual(parsed.video, { index: 1, startMs: 21, durationMs: null });
    assert.deepEqual(parsed.audio, { index: 0, startMs: 0, durationMs: null });
    const videoOnly = parseRenderProbe({ streams: [{ codec_type: 'video', duration: '2.5' }] });
    assert.equal(videoOnly.audio, null);
    assert.deepEqual(videoOnly.video, { index: 0, startMs: null, durationMs: 2500 });
    assert.equal(videoOnly.formatDurationMs, null);
    assert.equal(parseRenderProbe({}).formatName, '');
  });

  it('takes the latest pts + duration of a packet list in decode order', () => {
    // B-frames: the last packet in decode order is not the last shown.
    const csv = ['0.000000,0.040000', '0.120000,0.040000', '0.040000,0.040000', '7.981000,0.040000', '7.901000,0.040000', ''].join('\n');
    assert.equal(packetsEndMs(csv), 8021);
    assert.equal(packetsEndMs('7.978000,0.021000\n8.000000,N/A\nN/A,0.021\n'), 8000);
    assert.equal(packetsEndMs(''), null);
    assert.equal(packetsEndMs('N/A,N/A\n'), null);
  });
});

const SUMMARY = `[Parsed_ebur128_0 @ 0x5636a79ea000] t: 7.9 TARGET:-23 LUFS    M: -14.0 S: -14.0     I: -14.1 LUFS       LRA:   0.0 LU  FTPK: -10.2 dBFS  TPK: -10.0 dBFS
size=N/A time=00:00:08.00 bitrate=N/A speed= 178x
video:0kB audio:750kB subtitle:0kB other streams:0kB global headers:0kB muxing overhead: unknown
[Parsed_ebur128_0 @ 0x5636a79ea000] Summary:

  Integrated loudness:
    I:         -14.1 LUFS
    Threshold: -24.1 LUFS

  Loudness range:
    LRA:         0.0 LU
    Threshold: -34.1 LUFS
    LRA low:   -14.1 LUFS
    LRA high:  -14.1 LUFS

  True peak:
    Peak:       -9.3 dBFS
`;

const SILENCE = `[Parsed_ebur128_0 @ 0x55caab2674c0] Summary:

  Integrated loudness:
    I:         -70.0 LUFS
    Threshold:   0.0 LUFS

  Loudness range:
    LRA:         0.0 LU
    Threshold:   0.0 LUFS
    LRA low:     0.0 LUFS
    LRA high:    0.0 LUFS

  True peak:
    Peak:       -inf dBFS
`;

describe('parseEbur128Summary', () => {
  it('reads the integrated loudness and true peak of the Summary block (not the per-frame lines)', () => {
    assert.deepEqual(parseEbur128Summary(SUMMARY), { integratedLufs: -14.1, truePeakDb: -9.3 });
    assert.deepEqual(parseEbur128Summary(SUMMARY.replace('-9.3 dBFS', '0.4 dBFS').replace('I:         -14.1', 'I:          -3.0')), { integratedLufs: -3, truePeakDb: 0.4 });
  });

  it('answers null for silence and when there is no Summary', () => {
    assert.deepEqual(parseEbur128Summary(SILENCE), { integratedLufs: null, truePeakDb: null });
    assert.deepEqual(parseEbur128Summary('[in#0] Error opening input file\n'), { integratedLufs: null, truePeakDb: null });
    // A Summary without a true peak section (ebur128 without peak=true).
    assert.deepEqual(parseEbur128Summary(SUMMARY.slice(0, SUMMARY.indexOf('  True peak:'))), { integratedLufs: -14.1, truePeakDb: null });
  });
});

describe('quietEdges', () => {
  it('replaces 150 ms at either end by the median and keeps the middle', () => {
    const rate = 22_050 / 512; // 7 frames in 150 ms
    const values = Float32Array.from({ length: 200 }, (_, i) => (i % 10 === 0 ? 5 : 1));
    values[0] = 40;
    values[199] = 30;
    const out = quietEdges(values, rate);
    assert.notEqual(out, values);
    assert.equal(values[0], 40, 'the input is not modified');
    for (let i = 0; i < 7; i++) {
      assert.equal(out[i], 1);
      assert.equal(out[199 - i], 1);
    }
    assert.deepEqual(Array.from(out.subarray(7, 193)), Array.from(values.subarray(7, 193)));
    const tiny = Float32Array.from([3, 1, 2]);
    assert.equal(quietEdges(tiny, rate), tiny);
  });
});

describe('tool arguments', () => {
  it('opens renders through the file protocol with media demuxers only', () => {
    const probe = renderProbeArgs('/tmp/a:b.mp4');
    assert.deepEqual(probe.slice(0, 4), ['-v', 'error', '-protocol_whitelist', 'file']);
    assert.equal(probe[4], '-format_whitelist');
    assert.ok(probe[5].split(',').includes('mov') && !probe[5].split(',').includes('hls'));
    assert.equal(probe.at(-1), 'file:/tmp/a:b.mp4');
    assert.deepEqual(renderPacketsArgs('/r.mkv', 'matroska', 1).slice(2), [
      '-protocol_whitelist', 'file', '-f', 'matroska', '-select_streams', '1',
      '-show_entries', 'packet=pts_time,duration_time', '-of', 'csv=p=0', 'file:/r.mkv',
    ]);
    const loud = loudnessArgs('/r.mp4', 'mov');
    assert.ok(loud.includes('ebur128=peak=true:framelog=verbose'));
    assert.deepEqual(loud.slice(loud.indexOf('-protocol_whitelist'), loud.indexOf('-map')), ['-protocol_whitelist', 'file', '-f', 'mov', '-i', 'file:/r.mp4']);
    assert.ok(loudnessArgs('/r.mp4').includes('-format_whitelist'));
    assert.throws(() => loudnessArgs('/r.m3u8', 'hls'), RangeError);
  });
});
