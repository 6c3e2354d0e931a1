import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { demuxerFor } from '../../lib/ffmpeg/formats.ts';
import { normalizeProbe, parseFrameRate } from '../../lib/ffmpeg/metadata.ts';
import { detectFormatArgs, readStreamsArgs } from '../../lib/ffmpeg/probe.ts';

describe('ffprobe argument builders', () => {
  it('detects the format with only the file protocol and allowed demuxers', () => {
    const args = detectFormatArgs('/tmp/x/input', ['mov', 'matroska']);
    assert.deepEqual(args.slice(args.indexOf('-protocol_whitelist'), args.indexOf('-protocol_whitelist') + 2), ['-protocol_whitelist', 'file']);
    assert.deepEqual(args.slice(args.indexOf('-format_whitelist'), args.indexOf('-format_whitelist') + 2), ['-format_whitelist', 'mov,matroska']);
    assert.equal(args.at(-1), 'file:/tmp/x/input');
  });

  it('forces the detected demuxer when reading streams', () => {
    const args = readStreamsArgs('/tmp/x/input', 'mov');
    assert.deepEqual(args.slice(args.indexOf('-f'), args.indexOf('-f') + 2), ['-f', 'mov']);
    assert.ok(args.includes('-show_streams'));
    assert.equal(args.at(-1), 'file:/tmp/x/input');
  });
});

describe('demuxerFor', () => {
  it('picks an allowed name from a format list', () => {
    assert.equal(demuxerFor('mov,mp4,m4a,3gp,3g2,mj2'), 'mov');
    assert.equal(demuxerFor('matroska,webm'), 'matroska');
  });
  it('refuses playlists, concat scripts and unknown containers', () => {
    for (const name of ['hls', 'dash', 'concat', 'ffconcat', 'image2', 'png_pipe', 'tty', '']) {
      assert.equal(demuxerFor(name), null, name);
    }
  });
});

describe('normalizeProbe', () => {
  it('keeps container, duration, bitrate and per-stream fields', () => {
    const result = normalizeProbe({
      format: { format_name: 'mov,mp4,m4a,3gp,3g2,mj2', duration: '2.000000', bit_rate: '352296' },
      streams: [
        { codec_type: 'video', codec_name: 'h264', width: 320, height: 240, avg_frame_rate: '25/1', r_frame_rate: '25/1' },
        { codec_type: 'audio', codec_name: 'aac', sample_rate: '48000', channels: 2 },
      ],
    });
    assert.deepEqual(result, {
      container: 'mov',
      duration_ms: 2000,
      bitrate: 352296,
      streams: [
        { type: 'video', codec: 'h264', width: 320, height: 240, fps: 25, sample_rate: null, channels: null },
        { type: 'audio', codec: 'aac', width: null, height: null, fps: null, sample_rate: 48000, channels: 2 },
      ],
    });
  });

  it('falls back to stream durations and tolerates N/A', () => {
    const result = normalizeProbe({
      format: { format_name: 'matroska,webm', bit_rate: 'N/A' },
      streams: [{ codec_type: 'audio', codec_name: 'opus', duration: '3.5', sample_rate: '48000', channels: 1 }],
    });
    assert.equal(result.duration_ms, 3500);
    assert.equal(result.bitrate, null);
    assert.equal(result.container, 'matroska');
  });

  it('parses frame rates', () => {
    assert.equal(parseFrameRate('30000/1001'), 29.97);
    assert.equal(parseFrameRate('0/0'), null);
    assert.equal(parseFrameRate('abc'), null);
    assert.equal(parseFrameRate(undefined), null);
  });
});
