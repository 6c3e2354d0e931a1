/**
 * The A/V sync check of a rendered clip (issue 8): "stream start times and durations agree within
 * 40 ms; when music sync was used, the rendered audio cross-correlated against the source track at
 * the expected offset within 40 ms".
 *
 * - readRenderStreams: ffprobe (`file` protocol only, media demuxers only) → the first video and
 *   first audio stream's start time and duration, and the container's duration. A stream without a
 *   duration of its own (Matroska/WebM) is measured from its packets: the latest pts + duration,
 *   minus its start time.
 * - streamDeviationMs: max(|video start − audio start|, |video duration − audio duration|).
 * - measureLoudness: ffmpeg's `ebur128=peak=true` over the first audio stream, the Summary block
 *   parsed (integrated LUFS, true peak dBFS; null for silence or when absent).
 * - musicDeviationMs: the render's audio and the stretch of the source track it should hold
 *   (± MUSIC_CHECK_MARGIN_MS around it; silence where the track has not started or has ended) are decoded to mono PCM (decodePcm), turned into onset
 *   envelopes (onsetStrength(stft(pcm))) and cross-correlated (syncMusic). The peak gives the track
 *   time heard at the render's t=0 (the video stream's start; an audio stream starting later or
 *   earlier shifts what is heard); the answer is its distance from the expected track time, or null
 *   with a reason when the correlation peak is not confident.
 * - judgeRender: pure verdict from the two measures against the tolerance (RENDER_SYNC_TOLERANCE_MS).
 *
 * Failures of the tools reject with RenderError (CANCELLED on abort, PROCESSING_ERROR when a
 * render cannot be read: renders are our own output, so an unreadable one is not the upload's fault).
 */
import { decodePcm } from '../audio/pcm.ts';
import { onsetStrength } from '../audio/onset.ts';
import { stft } from '../audio/spectrogram.ts';
import { demuxerFor, MEDIA_DEMUXERS } from '../ffmpeg/formats.ts';
import { inputArgs, RenderError } from '../ffmpeg/ingest/run-ffmpeg.ts';
import { runTool, ToolNotFoundError, type RunToolResult } from '../ffmpeg/run-tool.ts';
import { syncMusic, type OnsetSeries } from './music-sync.ts';

/** The A/V sync tolerance of a render (ms). */
export const RENDER_SYNC_TOLERANCE_MS = 40;
/**
 * Positions within this distance of the expected one are searched (ms); the track is decoded over
 * the render's stretch ± this much. Not 2 s: loop-based tracks repeat bar for bar, and a bar
 * (1.97 s at 122 BPM, 2.4 s at 100 BPM) inside the search range could win — at ± 2 s, 3 of 96 measures
 * on eight reference tracks came out one bar off (electronic-42, forró-12, samba-5). At ± 1 s only tempos
 * above 240 BPM have a bar inside the range; beat-long shifts are inside, and the whitened
 * correlation (music-sync.ts) is what keeps them below the true peak.
 */
export const MUSIC_CHECK_MARGIN_MS = 1000;
/**
 * The correlation peak's z-score from which the music check trusts its measure. Lower than music
 * sync's SYNC_FOUND_Z (7, which searches a whole video for a whole track): here only ±
 * MUSIC_CHECK_MARGIN_MS is searched (~80 alternative positions), over a render that may be only a
 * few seconds long (which lowers every z). Calibration (8 reference tracks of 6 genres, 6–10 s AAC
 * clips holding the track at gain 0.7 over pink noise at 0.25, 6 positions each, incl. the track
 * starting 1.5 s into the clip): the true position z = 3.7–13.5 (3 of 48 below 5, all 6 s clips
 * of a samba and an electronic track: "not verified"), every measure within 20 ms; the wrong
 * track z ≤ 4.5 in 46 of 48 cases, the two above 5 measured 645 and 839 ms off (failing anyway).
 */
export const MUSIC_CHECK_FOUND_Z = 5;
/** The shortest overlap syncMusic may use between a short render and the track excerpt (s). */
export const MUSIC_CHECK_MIN_OVERLAP_S = 2;
/** Onset frames this close to either end of an envelope are replaced by its median (ms): an abrupt cut reads as an onset. */
export const MUSIC_CHECK_EDGE_MS = 150;

export interface RenderStreams {
  videoStartMs: number;
  audioStartMs: number;
  videoDurationMs: number;
  audioDurationMs: number;
  formatDurationMs: number;
}

/** What ffprobe says of a render: its streams and the demuxer that read it. */
export interface RenderProbe {
  /** The demuxer to force when reading the render again (e.g. "mov" for MP4). */
  demuxer: string;
  streams: RenderStreams;
}

export interface ToolOptions {
  timeoutMs: number;
  /** Aborting kills the tool at once; the promise rejects with RenderError CANCELLED. */
  signal?: AbortSignal;
}

export interface ProbeRenderOptions extends ToolOptions {
  ffprobePath: string;
}

/** The subset of `ffprobe -show_streams -show_format -of json` read here. */
export interface RenderProbeJson {
  format?: { format_name?: string; duration?: string; start_time?: string };
  streams?: Array<{ index?: number; codec_type?: string; start_time?: string; duration?: string }>;
}

/** One stream as parsed from the probe JSON: durations may be missing (to be counted from packets). */
export interface ParsedRenderProbe {
  formatName: string;
  formatDurationMs: number | null;
  video: { index: number; startMs: number | null; durationMs: number | null } | null;
  audio: { index: number; startMs: number | null; durationMs: number | null } | null;
}

function secondsToMs(value: string | undefined): number | null {
  if (value === undefined || value === '' || value === 'N/A') return null;
  const n = Number(value);
  return Number.isFinite(n) ? Math.round(n * 1_000_000) / 1000 : null;
}

/** The first video and first audio stream of ffprobe's JSON (pure). */
export function parseRenderProbe(json: RenderProbeJson): ParsedRenderProbe {
  const streams = json.streams ?? [];
  const pick = (type: 'video' | 'audio') => {
    const at = streams.findIndex((s) => s.codec_type === type);
    if (at < 0) return null;
    const s = streams[at];
    const duration = secondsToMs(s.duration);
    return { index: s.index ?? at, startMs: secondsToMs(s.start_time), durationMs: duration !== null && duration >= 0 ? duration : null };
  };
  const formatDuration = secondsToMs(json.format?.duration);
  return {
    formatName: json.format?.format_name ?? '',
    formatDurationMs: formatDuration !== null && formatDuration >= 0 ? formatDuration : null,
    video: pick('video'),
    audio: pick('audio'),
  };
}

/**
 * The end of a stream from `-show_entries packet=pts_time,duration_time -of csv=p=0` lines: the
 * latest pts + duration (ms), null when no packet has a pts (pure). Packets come in decode order,
 * so the latest end is not always the last line's.
 */
export function packetsEndMs(csv: string): number | null {
  let end: number | null = null;
  for (const line of csv.split(/\r?\n/)) {
    const [pts, duration] = line.split(',');
    const p = secondsToMs(pts?.trim());
    if (p === null) continue;
    const d = secondsToMs(duration?.trim()) ?? 0;
    const e = p + Math.max(0, d);
    if (end === null || e > end) end = e;
  }
  return end;
}

/** The ffprobe arguments that read a render's streams and container (pure). */
export function renderProbeArgs(path: string): string[] {
  return [
    '-v', 'error',
    '-protocol_whitelist', 'file',
    '-format_whitelist', MEDIA_DEMUXERS.join(','),
    '-show_streams', '-show_format',
    '-of', 'json',
    `file:${path}`,
  ];
}

/** The ffprobe arguments that list one stream's packets as "pts_time,duration_time" lines (pure). */
export function renderPacketsArgs(path: string, demuxer: string, streamIndex: number): string[] {
  return [
    '-v', 'error',
    '-protocol_whitelist', 'file',
    '-f', demuxer,
    '-select_streams', String(streamIndex),
    '-show_entries', 'packet=pts_time,duration_time',
    '-of', 'csv=p=0',
    `file:${path}`,
  ];
}

async function runChecked(tool: 'ffprobe' | 'ffmpeg', command: string, args: string[], options: ToolOptions, maxOutputBytes?: number): Promise<RunToolResult> {
  if (options.signal?.aborted) throw new RenderError('CANCELLED', 'The render check was cancelled', { retryable: false });
  let result: RunToolResult;
  try {
    result = await runTool(command, args, { timeoutMs: options.timeoutMs, signal: options.signal, maxOutputBytes });
  } catch (err) {
    throw new RenderError('PROCESSING_ERROR', err instanceof ToolNotFoundError ? err.message : `${tool} could not be started`, { cause: err });
  }
  if (result.aborted) throw new RenderError('CANCELLED', 'The render check was cancelled', { retryable: false });
  if (result.timedOut) throw new RenderError('PROCESSING_ERROR', `${tool} did not finish within ${options.timeoutMs} ms`);
  if (result.exitCode !== 0) {
    const tail = result.stderr.trim().split('\n').slice(-5).join('\n');
    const last = tail.split('\n').pop() ?? '';
    throw new RenderError('PROCESSING_ERROR', `${tool} could not read the render (${last.replace(/^.*?: /, '').slice(0, 200) || `exit ${result.exitCode}`})`, { stderrTail: tail });
  }
  return result;
}

/** ffprobe on a render: its demuxer and streams (packets counted for a stream without a duration). */
export async function probeRender(path: string, options: ProbeRenderOptions): Promise<RenderProbe> {
  const result = await runChecked('ffprobe', options.ffprobePath, renderProbeArgs(path), options);
  let json: RenderProbeJson;
  try {
    json = JSON.parse(result.stdout) as RenderProbeJson;
  } catch {
    throw new RenderError('PROCESSING_ERROR', 'ffprobe printed no readable JSON for the render');
  }
  const parsed = parseRenderProbe(json);
  const demuxer = demuxerFor(parsed.formatName);
  if (!demuxer) throw new RenderError('PROCESSING_ERROR', `The render's container ${JSON.stringify(parsed.formatName)} is not a media container`);
  const streams = [parsed.video, parsed.audio];
  if (!parsed.video) throw new RenderError('PROCESSING_ERROR', 'The render has no video stream');
  if (!parsed.audio) throw new RenderError('PROCESSING_ERROR', 'The render has no audio stream');
  for (const stream of streams) {
    if (!stream || stream.durationMs !== null) continue;
    const packets = await runChecked('ffprobe', options.ffprobePath, renderPacketsArgs(path, demuxer, stream.index), options, 64 * 1024 * 1024);
    const end = packetsEndMs(packets.stdout);
    if (end !== null) stream.durationMs = Math.round((end - (stream.startMs ?? 0)) * 1000) / 1000;
  }
  const video = parsed.video;
  const audio = parsed.audio;
  if (video.durationMs === null || audio.durationMs === null) {
    throw new RenderError('PROCESSING_ERROR', `The render's ${video.durationMs === null ? 'video' : 'audio'} stream has no measurable duration`);
  }
  return {
    demuxer,
    streams: {
      videoStartMs: video.startMs ?? 0,
      audioStartMs: audio.startMs ?? 0,
      videoDurationMs: video.durationMs,
      audioDurationMs: audio.durationMs,
      formatDurationMs: parsed.formatDurationMs ?? Math.max(video.durationMs, audio.durationMs),
    },
  };
}

/** The start times and durations of a render's first video and audio streams. See probeRender. */
export async function readRenderStreams(path: string, options: ProbeRenderOptions): Promise<RenderStreams> {
  return (await probeRender(path, options)).streams;
}

/** max(|video start − audio start|, |video duration − audio duration|) in ms (pure). */
export function streamDeviationMs(streams: RenderStreams): number {
  return Math.max(Math.abs(streams.videoStartMs - streams.audioStartMs), Math.abs(streams.videoDurationMs - streams.audioDurationMs));
}

// ---------------------------------------------------------------------------------------------
// Loudness

export interface Loudness {
  /** Integrated loudness (LUFS); null for silence (ebur128's −70.0) or when not measured. */
  integratedLufs: number | null;
  /** True peak (dBFS); null for silence (−inf) or when not measured. */
  truePeakDb: number | null;
}

/** The Summary block of ffmpeg's `ebur128` filter in stderr → integrated loudness and true peak (pure). */
export function parseEbur128Summary(stderr: string): Loudness {
  const at = stderr.lastIndexOf('Summary:');
  if (at < 0) return { integratedLufs: null, truePeakDb: null };
  const summary = stderr.slice(at);
  const integrated = /Integrated loudness:\s*\n\s*I:\s*(-?(?:\d+(?:\.\d+)?|inf))\s*LUFS/.exec(summary);
  const peak = /True peak:\s*\n\s*Peak:\s*(-?(?:\d+(?:\.\d+)?|inf))\s*dBFS/.exec(summary);
  const number = (m: RegExpExecArray | null): number | null => {
    if (!m) return null;
    const n = Number(m[1]);
    return Number.isFinite(n) ? n : null;
  };
  const lufs = number(integrated);
  return { integratedLufs: lufs !== null && lufs > -70 ? lufs : null, truePeakDb: number(peak) };
}

/** The ffmpeg arguments of measureLoudness (pure). Without a demuxer, only the media demuxers may open the file. */
export function loudnessArgs(path: string, demuxer?: string): string[] {
  const input = demuxer
    ? inputArgs({ path, demuxer })
    : ['-protocol_whitelist', 'file', '-format_whitelist', MEDIA_DEMUXERS.join(','), '-i', `file:${path}`];
  return [
    '-nostdin', '-hide_banner', '-nostats', '-v', 'info',
    ...input,
    '-map', '0:a:0', '-vn', '-sn', '-dn',
    '-af', 'ebur128=peak=true:framelog=verbose',
    '-f', 'null', '-',
  ];
}

/** EBU R128 integrated loudness and true peak of a file's first audio stream (ffmpeg `ebur128`). */
export async function measureLoudness(path: string, options: ToolOptions & { ffmpegPath: string; demuxer?: string }): Promise<Loudness> {
  const result = await runChecked('ffmpeg', options.ffmpegPath, loudnessArgs(path, options.demuxer), options);
  return parseEbur128Summary(result.stderr);
}

// ---------------------------------------------------------------------------------------------
// Music

export interface MusicCheckTrack {
  path: string;
  /** The demuxer the track's probe detected (forced with `-f`). */
  demuxer: string;
  /** The track time heard at the render's t=0 (ms). */
  expectedTrackStartMs: number;
}

export interface MusicCheckOptions extends ToolOptions {
  ffmpegPath: string;
  ffprobePath: string;
  /** The render's probe when already read (skips ffprobe). */
  render?: RenderProbe;
  /** Default MUSIC_CHECK_FOUND_Z. */
  foundZ?: number;
  /** Default MUSIC_CHECK_MARGIN_MS. */
  marginMs?: number;
}

export interface MusicCheck {
  /** |measured − expected| track time at the render's t=0 (ms); null when the correlation is not confident. */
  deviationMs: number | null;
  /** The correlation peak's z-score. */
  confidence: number;
  reason: string;
}

/** An onset envelope with its first and last MUSIC_CHECK_EDGE_MS replaced by its median (a cut is not an onset). */
export function quietEdges(values: Float32Array, frameRate: number): Float32Array {
  const n = values.length;
  const edge = Math.ceil((MUSIC_CHECK_EDGE_MS / 1000) * frameRate);
  if (n <= 2 * edge) return values;
  const sorted = Float32Array.from(values).sort();
  const median = sorted[n >> 1];
  const out = Float32Array.from(values);
  for (let i = 0; i < edge; i++) {
    out[i] = median;
    out[n - 1 - i] = median;
  }
  return out;
}

function onsets(samples: Float32Array, sampleRate: number): OnsetSeries {
  const env = onsetStrength(stft(samples, sampleRate));
  return { frameRate: env.frameRate, values: quietEdges(env.values, env.frameRate) };
}

/**
 * How far the music heard in the render is from where it should be: the track time heard at the
 * render's t=0, measured by cross-correlating onset envelopes, against `track.expectedTrackStartMs`.
 *
 * The track is decoded over the stretch the render should hold ± `marginMs` (silence standing for
 * the time before the track starts or after it ends), and syncMusic must overlap the whole render
 * with that excerpt: only positions within ± marginMs of the expected one are searched. A sync
 * error larger than the margin is not measured as such: it reads as a deviation near the margin or
 * as "not verified".
 */
export async function musicDeviationMs(renderPath: string, track: MusicCheckTrack, options: MusicCheckOptions): Promise<MusicCheck> {
  const expected = track.expectedTrackStartMs;
  if (!Number.isFinite(expected)) throw new RangeError(`expectedTrackStartMs must be finite, got ${expected}`);
  const margin = options.marginMs ?? MUSIC_CHECK_MARGIN_MS;
  if (!(margin > 0) || !Number.isFinite(margin)) throw new RangeError(`marginMs must be positive, got ${margin}`);
  const foundZ = options.foundZ ?? MUSIC_CHECK_FOUND_Z;
  const render = options.render ?? (await probeRender(renderPath, options));
  const { streams } = render;
  // PCM t=0 is the audio stream's first sample, heard (audio start − video start) into the render.
  const audioLeadMs = streams.audioStartMs - streams.videoStartMs;
  const renderAudio = await decodePcm(renderPath, { ffmpegPath: options.ffmpegPath, demuxer: render.demuxer, timeoutMs: options.timeoutMs, signal: options.signal });
  const sampleRate = renderAudio.sampleRate;
  const notVerified = (why: string, confidence = 0): MusicCheck => ({ deviationMs: null, confidence, reason: `music not verified in the render: ${why}` });

  // The excerpt: track samples [first, first + length), zeros where the track has none.
  const first = Math.round(((expected + audioLeadMs - margin) / 1000) * sampleRate);
  const length = renderAudio.samples.length + 2 * Math.round((margin / 1000) * sampleRate);
  const last = first + length;
  if (last <= 0) return notVerified('the track is not expected to be heard in it (it would start after the render ends)');
  const decoded = await decodePcm(track.path, {
    ffmpegPath: options.ffmpegPath,
    demuxer: track.demuxer,
    sampleRate,
    timeoutMs: options.timeoutMs,
    signal: options.signal,
    maxDurationMs: Math.ceil((last / sampleRate) * 1000),
  });
  if (decoded.samples.length <= first) {
    return notVerified(`the track is not expected to be heard in it (the track, ${(decoded.durationMs / 1000).toFixed(2)} s, ends before the render starts)`);
  }
  const excerpt = new Float32Array(length);
  const from = Math.max(0, first);
  excerpt.set(decoded.samples.subarray(from, Math.min(decoded.samples.length, last)), from - first);

  const sync = syncMusic(onsets(renderAudio.samples, sampleRate), onsets(excerpt, sampleRate), {
    foundZ,
    minOverlapS: MUSIC_CHECK_MIN_OVERLAP_S,
    minOverlapFraction: 1,
  });
  if (!sync.found || sync.offsetMs === null) {
    return notVerified(sync.reason.replaceAll("the video's audio", "the render's audio").replaceAll('into the video', 'into the render'), sync.confidence);
  }
  // The excerpt's t=0 (track time first / sampleRate) sits sync.offsetMs into the render's audio.
  const measuredMs = (first / sampleRate) * 1000 - sync.offsetMs - audioLeadMs;
  const deviation = Math.round(Math.abs(measuredMs - expected) * 10) / 10;
  return {
    deviationMs: deviation,
    confidence: sync.confidence,
    reason: `music heard from ${(measuredMs / 1000).toFixed(3)} s into the track at the render's start, expected ${(expected / 1000).toFixed(3)} s: ${deviation} ms off (correlation peak z = ${sync.confidence.toFixed(1)} ≥ ${foundZ})`,
  };
}

// ---------------------------------------------------------------------------------------------
// Verdict

export interface RenderJudgement {
  ok: boolean;
  /** The larger of the stream and music deviations that were measured (ms). */
  deviationMs: number;
  reason: string;
}

/**
 * The A/V sync verdict (pure). `musicDeviationMs`: undefined when the render has no synced music
 * (only the streams are judged); null when music sync was used but the check could not measure
 * it — not ok, since the music's position is then unverified.
 */
export function judgeRender(input: { streams: RenderStreams; musicDeviationMs: number | null | undefined; toleranceMs?: number }): RenderJudgement {
  const tolerance = input.toleranceMs ?? RENDER_SYNC_TOLERANCE_MS;
  const s = input.streams;
  const startDelta = Math.abs(s.videoStartMs - s.audioStartMs);
  const durationDelta = Math.abs(s.videoDurationMs - s.audioDurationMs);
  const streamDeviation = streamDeviationMs(s);
  const ms = (x: number) => `${Math.round(x * 10) / 10} ms`;
  if (!Number.isFinite(streamDeviation)) {
    return { ok: false, deviationMs: Number.POSITIVE_INFINITY, reason: 'A/V sync not verified: the stream times are not numbers' };
  }
  const streamText = `streams: start Δ ${ms(startDelta)}, duration Δ ${ms(durationDelta)}`;
  const music = input.musicDeviationMs;
  if (music === null) {
    return { ok: false, deviationMs: streamDeviation, reason: `A/V sync not verified: the music's position in the render could not be measured (${streamText})` };
  }
  const musicMeasured = music !== undefined;
  if (musicMeasured && !Number.isFinite(music)) {
    return { ok: false, deviationMs: Number.POSITIVE_INFINITY, reason: `A/V sync not verified: the music deviation is not a number (${streamText})` };
  }
  const musicText = musicMeasured ? `; music: ${ms(music)} from the expected offset` : '';
  const deviation = Math.max(streamDeviation, musicMeasured ? Math.abs(music) : 0);
  const ok = deviation <= tolerance;
  const failures: string[] = [];
  if (startDelta > tolerance) failures.push(`audio and video start ${ms(startDelta)} apart`);
  if (durationDelta > tolerance) failures.push(`audio and video durations differ by ${ms(durationDelta)}`);
  if (musicMeasured && Math.abs(music) > tolerance) failures.push(`the music is ${ms(Math.abs(music))} off its expected offset`);
  const reason = ok
    ? `A/V sync ok within ${tolerance} ms (${streamText}${musicText})`
    : `A/V out of sync beyond ${tolerance} ms: ${failures.join('; ')} (${streamText}${musicText})`;
  return { ok, deviationMs: Math.round(deviation * 10) / 10, reason };
}
