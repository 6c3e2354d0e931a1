/**
 * The pure parts of the clip renderer (lib/ffmpeg/clips/render-clip.ts), tested by their
 * arguments: inputs opened safely with the cut as input options, the 9:16 crop whose x follows
 * the keyframes (evaluated here as a function of t) and stays inside the frame, sizes never
 * upscaled, the audio mix for every combination of performance audio and music (offsets positive
 * and negative), fades, exact length, the two loudnorm passes, codecs and faststart, and the
 * loudnorm JSON parser. Also the pure parts of the motion centre (lib/video/motion-centre.ts) and
 * the window options of sampleFramesArgs.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  clipFilterGraph,
  clipGeometry,
  cropXExpression,
  measureLoudnessArgs,
  parseLoudnormMeasurement,
  renderClipArgs,
  type ClipRenderPlan,
  type LoudnormMeasurement,
} from '../../lib/ffmpeg/clips/render-clip.ts';
import { sampleFramesArgs } from '../../lib/video/frames.ts';
import { bucketCentres, motionCentroid, smoothCentres } from '../../lib/video/motion-centre.ts';

function plan(more: Partial<ClipRenderPlan> = {}): ClipRenderPlan {
  return {
    source: { path: '/tmp/job/original', demuxer: 'mov', hasAudio: true, width: 1920, height: 1080 },
    startMs: 2000,
    endMs: 6000,
    vertical: null,
    music: null,
    output: { path: '/tmp/job/clip.mp4' },
    ...more,
  };
}

const MUSIC = { path: '/tmp/job/track', demuxer: 'mp3' };
const MEASURED: LoudnormMeasurement = { inputI: -23.4, inputTp: -6.1, inputLra: 4.2, inputThresh: -33.6, targetOffset: 0.3 };

/** The option values between the previous `-i` (or the start) and the `-i` of input `index`. */
function inputOptions(args: readonly string[], index: number): string[] {
  const inputs = args.flatMap((a, i) => (a === '-i' ? [i] : []));
  const at = inputs[index];
  assert.ok(at !== undefined, `no input ${index}`);
  const from = index === 0 ? 0 : inputs[index - 1]! + 2;
  return args.slice(from, at);
}

function after(args: readonly string[], flag: string): string {
  const i = args.lastIndexOf(flag);
  assert.ok(i >= 0, `no ${flag}`);
  return args[i + 1]!;
}

/** Every `-i` preceded by `-protocol_whitelist file` and the forced demuxer immediately before it, reading a `file:` path. */
function assertSafeInputs(args: readonly string[], demuxers: readonly string[]): void {
  assert.equal(args[0], '-nostdin');
  const inputs = args.flatMap((a, i) => (a === '-i' ? [i] : []));
  assert.equal(inputs.length, demuxers.length);
  inputs.forEach((at, n) => {
    const before = inputOptions(args, n);
    const wl = before.indexOf('-protocol_whitelist');
    assert.ok(wl >= 0, `input ${n} has no -protocol_whitelist`);
    assert.equal(before[wl + 1], 'file');
    assert.deepEqual(before.slice(-2), ['-f', demuxers[n]]);
    assert.match(args[at + 1]!, /^file:\//);
  });
}

function graphOf(args: readonly string[]): string {
  return after(args, '-filter_complex');
}

/** The crop of a graph: its size, its x expression as a JS function of t, and y. */
function cropOf(graph: string): { w: number; h: number; x: (t: number) => number; y: number; expr: string } {
  const m = /crop=w=(\d+):h=(\d+):x='([^']+)':y=(\d+)/.exec(graph);
  assert.ok(m, `no crop in ${graph}`);
  const expr = m[3]!;
  // Only numbers, t, arithmetic and clip(): safe to evaluate as JavaScript.
  const js = expr.replace(/clip\(/g, 'C(');
  assert.match(js, /^[0-9.+\-*/(),Ct]+$/, `unexpected tokens in ${expr}`);
  const C = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));
  const f = new Function('t', 'C', `return ${js};`) as (t: number, c: typeof C) => number;
  return { w: Number(m[1]), h: Number(m[2]), x: (t) => f(t, C), y: Number(m[4]), expr };
}

describe('renderClipArgs: inputs, cut, codecs', () => {
  it('opens the source safely with the accurate cut as input options, and ends with exactly the clip length', () => {
    const args = renderClipArgs(plan(), MEASURED);
    assertSafeInputs(args, ['mov']);
    const source = inputOptions(args, 0);
    assert.deepEqual(source.slice(source.indexOf('-ss'), source.indexOf('-ss') + 4), ['-ss', '2.000', '-t', '4.000']);
    assert.ok(source.indexOf('-ss') < source.indexOf('-f'));
    // -t also on the output (after the last input), -shortest not relied upon.
    const out = args.slice(args.lastIndexOf('-i') + 2);
    assert.equal(after(out, '-t'), '4.000');
    assert.ok(!args.includes('-shortest'));
    assert.equal(args.at(-1), 'file:/tmp/job/clip.mp4');
  });

  it('H.264 veryfast crf 20 yuv420p, AAC 192k 48 kHz stereo, +faststart MP4', () => {
    const args = renderClipArgs(plan(), MEASURED);
    assert.equal(after(args, '-c:v'), 'libx264');
    assert.equal(after(args, '-preset'), 'veryfast');
    assert.equal(after(args, '-crf'), '20');
    assert.equal(after(args, '-pix_fmt'), 'yuv420p');
    assert.equal(after(args, '-c:a'), 'aac');
    assert.equal(after(args, '-b:a'), '192k');
    assert.equal(after(args, '-ar'), '48000');
    assert.equal(after(args, '-ac'), '2');
    assert.equal(after(args, '-movflags'), '+faststart');
    assert.equal(after(args, '-f'), 'mp4');
    assert.deepEqual(args.filter((a, i) => args[i - 1] === '-map'), ['[v]', '[a]']);
  });

  it('rejects a bad cut, a forbidden demuxer and music that starts after the clip', () => {
    assert.throws(() => renderClipArgs(plan({ startMs: 5000, endMs: 5000 }), null), RangeError);
    assert.throws(() => renderClipArgs(plan({ startMs: -1 }), null), RangeError);
    assert.throws(() => renderClipArgs(plan({ music: { path: '/tmp/x', demuxer: 'concat', trackStartMs: 0 } }), null), RangeError);
    assert.throws(() => renderClipArgs(plan({ source: { ...plan().source, demuxer: 'hls' } }), null), RangeError);
    assert.throws(() => renderClipArgs(plan({ music: { ...MUSIC, trackStartMs: -4000 } }), null), /after the clip's end/);
  });
});

describe('clipGeometry and the video chain', () => {
  it('landscape: short side ≤ maxHeight, even, never upscaled; no crop', () => {
    assert.deepEqual(clipGeometry(plan()), { crop: null, width: 1920, height: 1080 });
    assert.deepEqual(clipGeometry(plan({ source: { ...plan().source, width: 3840, height: 2160 } })), { crop: null, width: 1920, height: 1080 });
    assert.deepEqual(clipGeometry(plan({ output: { path: '/tmp/o.mp4', maxHeight: 720 } })), { crop: null, width: 1280, height: 720 });
    assert.deepEqual(clipGeometry(plan({ source: { ...plan().source, width: 641, height: 361 } })), { crop: null, width: 640, height: 360 });
    const graph = clipFilterGraph(plan());
    assert.ok(!graph.includes('crop='));
    assert.match(graph, /^\[0:v:0\]scale=1920:1080,setsar=1,/);
  });

  it('vertical: the tallest 9:16 window, 1080×1920 when the source allows, never taller than the source', () => {
    const v = { keyframes: [] };
    assert.deepEqual(clipGeometry(plan({ vertical: v })), { crop: { width: 608, height: 1080, y: 0 }, width: 608, height: 1080 });
    assert.deepEqual(clipGeometry(plan({ vertical: v, source: { ...plan().source, width: 3840, height: 2160 } })), { crop: { width: 1216, height: 2160, y: 0 }, width: 1080, height: 1920 });
    assert.deepEqual(clipGeometry(plan({ vertical: v, source: { ...plan().source, width: 1080, height: 1920 } })), { crop: { width: 1080, height: 1920, y: 0 }, width: 1080, height: 1920 });
    // Narrower than 9:16: the whole width, centred vertically.
    assert.deepEqual(clipGeometry(plan({ vertical: v, source: { ...plan().source, width: 400, height: 1000 } })), { crop: { width: 400, height: 712, y: 144 }, width: 400, height: 712 });
    for (const g of [clipGeometry(plan({ vertical: v })), clipGeometry(plan({ vertical: v, source: { ...plan().source, width: 640, height: 360 } }))]) {
      assert.ok(Math.abs(g.width / g.height - 9 / 16) < 0.01, `${g.width}×${g.height} is not 9:16`);
      assert.equal(g.width % 2, 0);
      assert.equal(g.height % 2, 0);
    }
  });

  it('the crop x follows the keyframes linearly in t, holds before the first and after the last', () => {
    const keyframes = [{ timeMs: 500, centerX: 0.3 }, { timeMs: 1500, centerX: 0.7 }, { timeMs: 2500, centerX: 0.5 }];
    const crop = cropOf(clipFilterGraph(plan({ vertical: { keyframes } })));
    assert.deepEqual([crop.w, crop.h, crop.y], [608, 1080, 0]);
    const left = (c: number) => c * 1920 - 304;
    const near = (a: number, b: number) => assert.ok(Math.abs(a - b) <= 0.6, `${a} ≠ ${b}`);
    near(crop.x(0), left(0.3));
    near(crop.x(0.5), left(0.3));
    near(crop.x(1.0), left(0.5));
    near(crop.x(1.5), left(0.7));
    near(crop.x(2.0), left(0.6));
    near(crop.x(2.5), left(0.5));
    near(crop.x(3.9), left(0.5));
  });

  it('the crop x is clamped inside the frame, whatever the keyframes say', () => {
    const keyframes = [{ timeMs: 0, centerX: 0 }, { timeMs: 1000, centerX: 1 }, { timeMs: 2000, centerX: 0.95 }, { timeMs: 3000, centerX: -0.5 }];
    const crop = cropOf(clipFilterGraph(plan({ vertical: { keyframes } })));
    const maxX = 1920 - crop.w;
    assert.match(crop.expr, new RegExp(`^clip\\(.*,0,${maxX}\\)$`));
    assert.equal(crop.x(0), 0);
    assert.equal(crop.x(1), maxX);
    for (let t = 0; t <= 4; t += 0.04) {
      const x = crop.x(t);
      assert.ok(x >= 0 && x <= maxX, `x(${t}) = ${x} outside [0, ${maxX}]`);
    }
    assert.equal(crop.x(3.5), 0);
  });

  it('keyframes out of order or repeated are sorted and deduplicated; none at all: the centre', () => {
    const shuffled = cropOf(clipFilterGraph(plan({ vertical: { keyframes: [{ timeMs: 2000, centerX: 0.8 }, { timeMs: 0, centerX: 0.2 }, { timeMs: 0, centerX: 0.9 }] } })));
    assert.ok(Math.abs(shuffled.x(0) - (0.2 * 1920 - 304)) < 0.6);
    assert.ok(Math.abs(shuffled.x(2) - (0.8 * 1920 - 304)) < 0.6);
    assert.equal(cropXExpression([], 1920, 608), '656');
    assert.throws(() => cropXExpression([], 600, 608), RangeError);
  });

  it('video fades in and out, padded to the clip length; fadeMs 0: no fade; long fades capped at half the clip', () => {
    const graph = clipFilterGraph(plan());
    assert.match(graph, /tpad=stop_mode=clone:stop_duration=4\.000/);
    assert.match(graph, /fade=t=in:st=0:d=0\.250,fade=t=out:st=3\.750:d=0\.250,format=yuv420p\[v\]/);
    assert.match(graph, /afade=t=in:st=0:d=0\.250,afade=t=out:st=3\.750:d=0\.250/);
    const none = clipFilterGraph(plan({ fadeMs: 0 }));
    assert.ok(!/fade=/.test(none), none);
    assert.match(clipFilterGraph(plan({ fadeMs: 10_000 })), /fade=t=out:st=2\.000:d=2\.000/);
  });
});

describe('the audio mix', () => {
  it('performance + music (track already playing): the track opened at -ss trackStart, the performance ducked 12 dB, mixed without normalising', () => {
    const args = renderClipArgs(plan({ music: { ...MUSIC, trackStartMs: 1500 } }), MEASURED);
    assertSafeInputs(args, ['mov', 'mp3']);
    const music = inputOptions(args, 1);
    assert.deepEqual(music.slice(music.indexOf('-ss'), music.indexOf('-ss') + 4), ['-ss', '1.500', '-t', '4.000']);
    const graph = graphOf(args);
    assert.match(graph, /\[0:a:0\][^;]*volume=-12dB\[perf\]/);
    assert.match(graph, /\[1:a:0\][^;]*\[music\]/);
    assert.ok(!graph.includes('adelay'));
    assert.match(graph, /\[perf\]\[music\]amix=inputs=2:duration=longest:dropout_transition=0:normalize=0/);
  });

  it('a track that starts inside the clip is delayed (adelay), not seeked', () => {
    const args = renderClipArgs(plan({ music: { ...MUSIC, trackStartMs: -1500 } }), MEASURED);
    const music = inputOptions(args, 1);
    assert.ok(!music.includes('-ss'), 'no seek on a track that starts later');
    assert.equal(after(music, '-t'), '2.500');
    assert.match(graphOf(args), /\[1:a:0\][^;]*adelay=delays=1500:all=1\[music\]/);
  });

  it('no performance audio: the music alone at full level', () => {
    const graph = graphOf(renderClipArgs(plan({ source: { ...plan().source, hasAudio: false }, music: { ...MUSIC, trackStartMs: 0 } }), MEASURED));
    assert.ok(!graph.includes('[0:a'), graph);
    assert.ok(!graph.includes('volume='), graph);
    assert.ok(!graph.includes('amix'), graph);
    assert.match(graph, /\[1:a:0\]aformat=[^,]*,apad=/);
  });

  it('no music: the performance alone, one input, not ducked', () => {
    const args = renderClipArgs(plan(), MEASURED);
    assertSafeInputs(args, ['mov']);
    const graph = graphOf(args);
    assert.match(graph, /\[0:a:0\]aformat=[^,]*,apad=/);
    assert.ok(!graph.includes('volume='));
    assert.ok(!graph.includes('amix'));
    assert.ok(!graph.includes('[1:'));
  });

  it('neither: a generated silent stereo track, nothing to measure, no loudnorm', () => {
    const silent = plan({ source: { ...plan().source, hasAudio: false } });
    const graph = graphOf(renderClipArgs(silent, null));
    assert.match(graph, /anullsrc=r=48000:cl=stereo/);
    assert.ok(!graph.includes('loudnorm'));
    assert.ok(!graph.includes('[0:a'));
    assert.throws(() => measureLoudnessArgs(silent), RangeError);
  });

  it('the audio is exactly the clip length in samples, 48 kHz stereo at the end', () => {
    const graph = clipFilterGraph(plan({ startMs: 1000, endMs: 3500 }));
    assert.match(graph, /apad=whole_len=120000,atrim=end_sample=120000,asetpts=N\/SR\/TB/);
    assert.match(graph, /aformat=sample_fmts=fltp:sample_rates=48000:channel_layouts=stereo\[a\]$/);
  });
});

describe('loudness: the two passes', () => {
  it('pass 1 measures the same audio graph ending in loudnorm print_format=json, writes nothing, logs at info', () => {
    const p = plan({ music: { ...MUSIC, trackStartMs: 500 } });
    const args = measureLoudnessArgs(p);
    assertSafeInputs(args, ['mov', 'mp3']);
    assert.deepEqual(args.slice(-3), ['-f', 'null', '-']);
    assert.equal(after(args, '-v'), 'info');
    assert.deepEqual(args.filter((a, i) => args[i - 1] === '-map'), ['[a]']);
    assert.ok(args.includes('-vn'));
    const graph = graphOf(args);
    assert.match(graph, /,loudnorm=I=-14:TP=-1:LRA=11:print_format=json\[a\]$/);
    assert.ok(!graph.includes('[v]'));
    // The same mix as pass 2, up to the loudnorm.
    const pass2 = graphOf(renderClipArgs(p, MEASURED));
    assert.ok(pass2.includes(graph.slice(0, graph.indexOf(',loudnorm'))), 'pass 1 and pass 2 mix differently');
    // Inputs identical in both passes.
    assert.deepEqual(inputOptions(args, 1), inputOptions(renderClipArgs(p, MEASURED), 1));
  });

  it('a custom target is used in both passes', () => {
    const p = plan({ loudness: { integratedLufs: -16, truePeakDb: -1.5, lra: 7 } });
    assert.match(graphOf(measureLoudnessArgs(p)), /loudnorm=I=-16:TP=-1\.5:LRA=7:print_format=json/);
    assert.match(graphOf(renderClipArgs(p, MEASURED)), /loudnorm=I=-16:TP=-1\.5:LRA=7:measured_I=/);
    assert.throws(() => measureLoudnessArgs(plan({ loudness: { integratedLufs: -14, truePeakDb: 3, lra: 11 } })), RangeError);
  });

  it('pass 2 feeds the measurements to linear loudnorm, limits peaks 0.5 dB under the true-peak target, then resamples to 48 kHz', () => {
    const graph = graphOf(renderClipArgs(plan(), MEASURED));
    assert.match(
      graph,
      /loudnorm=I=-14:TP=-1:LRA=11:measured_I=-23\.4:measured_TP=-6\.1:measured_LRA=4\.2:measured_thresh=-33\.6:offset=0\.3:linear=true:print_format=none,alimiter=limit=0\.8414:[^,]*level=false:latency=true,aresample=48000,aformat=/,
    );
  });

  it('pass 2 without a usable measurement (none, or silence at -inf) has no loudnorm', () => {
    assert.ok(!graphOf(renderClipArgs(plan(), null)).includes('loudnorm'));
    const silence = { inputI: -Infinity, inputTp: -Infinity, inputLra: 0, inputThresh: -Infinity, targetOffset: Infinity };
    assert.ok(!graphOf(renderClipArgs(plan(), silence)).includes('loudnorm'));
  });
});

describe('parseLoudnormMeasurement', () => {
  const stderr = [
    "Input #0, mov,mp4,m4a,3gp,3g2,mj2, from 'file:/tmp/job/original':",
    '  Duration: 00:00:08.00, start: 0.000000, bitrate: 412 kb/s',
    '[Parsed_loudnorm_7 @ 0x5581e7d0a440] ',
    '{',
    '\t"input_i" : "-27.61",',
    '\t"input_tp" : "-4.47",',
    '\t"input_lra" : "18.06",',
    '\t"input_thresh" : "-39.20",',
    '\t"output_i" : "-16.58",',
    '\t"output_tp" : "-1.50",',
    '\t"output_lra" : "14.78",',
    '\t"output_thresh" : "-27.71",',
    '\t"normalization_type" : "dynamic",',
    '\t"target_offset" : "0.58"',
    '}',
    'size=N/A time=00:00:04.00 bitrate=N/A speed= 120x',
  ].join('\n');

  it('reads the JSON block loudnorm prints among other messages', () => {
    assert.deepEqual(parseLoudnormMeasurement(stderr), { inputI: -27.61, inputTp: -4.47, inputLra: 18.06, inputThresh: -39.2, targetOffset: 0.58 });
  });

  it('takes the last block when there are several, and reads -inf (silence) as -Infinity', () => {
    const silent = stderr.replace('"-27.61"', '"-inf"').replace('"-4.47"', '"-inf"');
    const both = `${stderr}\n${silent}`;
    const m = parseLoudnormMeasurement(both);
    assert.equal(m.inputI, -Infinity);
    assert.equal(m.inputTp, -Infinity);
    assert.equal(m.inputLra, 18.06);
  });

  it('throws a clear error when no measurement was printed or a value is missing', () => {
    assert.throws(() => parseLoudnormMeasurement('Input #0, mov …\nsize=N/A time=00:00:04.00'), /loudnorm printed no JSON measurement/);
    assert.throws(() => parseLoudnormMeasurement(''), /no JSON measurement/);
    assert.throws(() => parseLoudnormMeasurement(stderr.replace('\t"target_offset" : "0.58"', '\t"target_offset" : "n/a"')), /target_offset/);
  });
});

describe('motion centre (pure parts)', () => {
  const W = 16;
  const H = 8;
  const plane = (f: (x: number, y: number) => number) => {
    const p = new Float32Array(W * H);
    for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) p[y * W + x] = f(x, y);
    return p;
  };

  it('motionCentroid: the horizontal centroid of the change; null when nothing or everything moves', () => {
    const still = plane(() => 20);
    const right = plane((x, y) => (x >= 12 && y < 4 ? 220 : 20));
    const c = motionCentroid(still, right, W, H);
    assert.ok(c !== null && c > 0.75 && c < 0.95, `centroid ${c}`);
    const left = plane((x, y) => (x < 2 && y >= 4 ? 220 : 20));
    assert.ok(motionCentroid(still, left, W, H)! < 0.15);
    assert.equal(motionCentroid(still, plane(() => 24), W, H), null, 'changes under the noise floor');
    assert.equal(motionCentroid(still, plane(() => 200), W, H), null, 'a global change (cut, flash)');
  });

  it('bucketCentres: one median per 500 ms, gaps hold the previous value, no motion at all gives 0.5', () => {
    // 10 fps: samples 0–4 in span 0, 5–9 in span 1, 10–14 in span 2.
    const centres = [null, 0.6, 0.7, 0.9, 0.65, null, null, null, null, null, 0.2, 0.3, 0.25, null, null];
    const spans = bucketCentres(centres, 10, 1500);
    assert.equal(spans.length, 3);
    [0.675, 0.675, 0.25].forEach((v, i) => assert.ok(Math.abs(spans[i]! - v) < 1e-9, `${spans}`));
    assert.deepEqual(bucketCentres([null, null, 0.8], 10, 1500), [0.8, 0.8, 0.8]);
    assert.deepEqual(bucketCentres([null, null, null], 10, 1000), [0.5, 0.5]);
  });

  it('smoothCentres: keeps a steady centre, averages out a one-keyframe outlier, limits the pan speed, stays in [0, 1]', () => {
    assert.deepEqual(smoothCentres([]), []);
    for (const v of smoothCentres([0.7, 0.7, 0.7, 0.7])) assert.ok(Math.abs(v - 0.7) < 1e-9);
    const outlier = smoothCentres([0.5, 0.5, 0.5, 0.5, 1, 0.5, 0.5, 0.5, 0.5]);
    assert.ok(Math.max(...outlier) < 0.65, `outlier kept: ${outlier}`);
    const jump = smoothCentres([0.1, 0.1, 0.1, 0.1, 0.1, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9]);
    for (let i = 1; i < jump.length; i++) assert.ok(Math.abs(jump[i]! - jump[i - 1]!) <= 0.25 * 0.5 + 1e-9, `pan too fast at ${i}: ${jump}`);
    assert.ok(jump[0]! < 0.2 && jump.at(-1)! > 0.8, `does not reach the targets: ${jump}`);
    // Symmetric: the move is centred on the jump, not lagging behind it.
    assert.ok(Math.abs(jump[4]! + jump[5]! - 1) < 0.05, `lagging: ${jump}`);
    for (const v of smoothCentres([-1, 2, 0.5, Number.NaN])) assert.ok(v >= 0 && v <= 1);
    assert.deepEqual(smoothCentres([0.1, 0.9, 0.3]), smoothCentres([0.1, 0.9, 0.3]), 'deterministic');
  });

  it('sampleFramesArgs: a window adds -ss/-t as input options; without one the arguments are unchanged', () => {
    const plain = sampleFramesArgs('/tmp/in.mp4', 'mov');
    assert.ok(!plain.includes('-ss') && !plain.includes('-t'));
    const windowed = sampleFramesArgs('/tmp/in.mp4', 'mov', { startMs: 1500, durationMs: 4000 });
    const i = windowed.indexOf('-i');
    const ss = windowed.indexOf('-ss');
    assert.ok(ss >= 0 && ss < i);
    assert.deepEqual(windowed.slice(ss, ss + 4), ['-ss', '1.500', '-t', '4.000']);
    assert.deepEqual(windowed.filter((a) => a !== '-ss' && a !== '1.500' && a !== '-t' && a !== '4.000'), plain);
    assert.throws(() => sampleFramesArgs('/tmp/in.mp4', 'mov', { durationMs: 0 }), RangeError);
  });
});
