/**
 * The heavy encode of a video asset: the proxies (proxy_480, proxy_720: H.264 + AAC MP4 with the
 * index at the front) and the HLS VOD ladder (fMP4 segments of 4 s, 360p / 720p / 1080p at or
 * below the source), from ONE decode:
 *
 *   command 1: decode once → `split` → one `scale` per output → one x264 encode per output
 *              (proxy_480, proxy_720, and every HLS rung not shared with a proxy);
 *   command 2: when both proxy_720 and the 720p rung are wanted, the 720p rung IS proxy_720:
 *              proxy_720 is encoded with a keyframe forced every 4 s, then remuxed (`-c copy`)
 *              into HLS fMP4 — the most expensive encode is done once for both.
 *
 * Sizes are by the SHORT side of the picture (the height of a landscape video, the width of a
 * portrait one), so rotated phone video gets the same ladder. Nothing is ever upscaled and every
 * size is even. Keyframes are forced every 4 s (`-force_key_frames expr:gte(t,n_forced*4)`) in
 * every HLS encode, so segment boundaries fall exactly every 4 s in every rung.
 *
 * HLS files are flat in one directory: `master.m3u8`, `<rung>.m3u8`, `<rung>_init.mp4`,
 * `<rung>_00001.m4s` …; playlists name files by bare relative filename. The master playlist is
 * written here (BANDWIDTH = the peak segment bitrate measured, CODECS from the init segments).
 *
 * x264 settings are those of a plain command (`-preset veryfast -crf 23`, a bitrate cap per rung),
 * so that a benchmark against separate commands compares the pipeline, not the encoder settings.
 */
import { mkdir, open, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { mp4AvcCodec, mp4VideoSize } from './mp4-info.ts';
import {
  assertRenderable,
  displaySize,
  globalArgs,
  inputArgs,
  monotonicProgress,
  outputArg,
  progressSpan,
  RenderError,
  runFfmpeg,
  type FfmpegRunOptions,
  type SourceMedia,
} from './run-ffmpeg.ts';

export const KEYFRAME_INTERVAL_S = 4;
export const HLS_SEGMENT_S = 4;
export const X264_PRESET = 'veryfast';
export const X264_CRF = 23;
export const MASTER_PLAYLIST = 'master.m3u8';

export type ProxyName = 'proxy_480' | 'proxy_720';

/** One HLS rung: name (`360p`), short side, video bitrate cap and audio bitrate (kb/s). */
export interface HlsRung {
  name: string;
  height: number;
  videoKbps: number;
  audioKbps: number;
}

/** The full ladder; rungs above the source are dropped. */
export const HLS_RUNGS: readonly HlsRung[] = [
  { name: '360p', height: 360, videoKbps: 800, audioKbps: 96 },
  { name: '720p', height: 720, videoKbps: 2500, audioKbps: 128 },
  { name: '1080p', height: 1080, videoKbps: 4500, audioKbps: 128 },
];

/** Encoder settings of each proxy (proxy_720 equals the 720p rung, as it may be shared with it). */
export const PROXY_SETTINGS: Readonly<Record<ProxyName, { videoKbps: number; audioKbps: number; profile: 'main' | 'high' }>> = {
  proxy_480: { videoKbps: 1200, audioKbps: 128, profile: 'main' },
  proxy_720: { videoKbps: 2500, audioKbps: 128, profile: 'high' },
};

function evenDown(n: number): number {
  return Math.max(2, Math.floor(n / 2) * 2);
}

function checkSide(sourceHeight: number): void {
  if (!Number.isFinite(sourceHeight) || sourceHeight < 2) throw new RangeError(`source size must be ≥ 2, got ${sourceHeight}`);
}

/**
 * The proxies for a source whose short side is `sourceHeight`: proxy_480 at min(480, source);
 * proxy_720 at min(720, source) only when the source is above 480. Even, never upscaled. Pure.
 */
export function proxyPlan(sourceHeight: number): Array<{ name: ProxyName; height: number }> {
  checkSide(sourceHeight);
  const plan: Array<{ name: ProxyName; height: number }> = [{ name: 'proxy_480', height: evenDown(Math.min(480, sourceHeight)) }];
  if (sourceHeight > 480) plan.push({ name: 'proxy_720', height: evenDown(Math.min(720, sourceHeight)) });
  return plan;
}

/**
 * The HLS rungs at or below a source whose short side is `sourceHeight` (360p / 720p / 1080p); a
 * source below 360 gets one rung at its own (even) size, its bitrate cap scaled down. Pure.
 */
export function hlsLadder(sourceHeight: number): HlsRung[] {
  checkSide(sourceHeight);
  const rungs = HLS_RUNGS.filter((r) => r.height <= sourceHeight).map((r) => ({ ...r }));
  if (rungs.length > 0) return rungs;
  const height = evenDown(sourceHeight);
  return [{ name: `${height}p`, height, videoKbps: Math.max(200, Math.round((800 * height) / 360)), audioKbps: 96 }];
}

/** The output size for a target short side: aspect kept, even, never above the source. Pure. */
export function scaledSize(display: { width: number; height: number }, shortSide: number): { width: number; height: number } {
  const portrait = display.height > display.width;
  const sourceShort = portrait ? display.width : display.height;
  const sourceLong = portrait ? display.height : display.width;
  const short = evenDown(Math.min(shortSide, sourceShort));
  const long = evenDown(Math.round((sourceLong * short) / sourceShort / 2) * 2);
  return portrait ? { width: short, height: long } : { width: long, height: short };
}

/**
 * The filter giving short side `shortSide` whatever the orientation after autorotation, the other
 * side from the display aspect (`dar`, so anamorphic sources come out right), even, square pixels. Pure.
 */
export function scaleFilter(shortSide: number): string {
  const s = shortSide;
  return `scale=w='if(gte(dar,1),round(${s}*dar/2)*2,${s})':h='if(gte(dar,1),${s},round(${s}/dar/2)*2)',setsar=1`;
}

/** A keyframe forced every `intervalS` seconds of output time. Pure. */
export function keyframeArgs(intervalS = KEYFRAME_INTERVAL_S): string[] {
  return ['-force_key_frames', `expr:gte(t,n_forced*${intervalS})`];
}

/** x264 + AAC settings of one encode (the same a plain command would use). Pure. */
export function encoderArgs(o: { videoKbps: number; audioKbps: number; profile: 'main' | 'high'; keyframes: boolean; audio: boolean }): string[] {
  return [
    '-c:v', 'libx264', '-preset', X264_PRESET, '-crf', String(X264_CRF),
    '-maxrate', `${o.videoKbps}k`, '-bufsize', `${o.videoKbps * 2}k`,
    '-profile:v', o.profile, '-pix_fmt', 'yuv420p',
    ...(o.keyframes ? keyframeArgs() : []),
    ...(o.audio ? ['-c:a', 'aac', '-b:a', `${o.audioKbps}k`, '-ac', '2'] : []),
  ];
}

/** `%` in a directory used inside an ffmpeg filename pattern. */
function patternSafe(dir: string): string {
  return dir.replace(/%/g, '%%');
}

/** The HLS fMP4 VOD muxer writing `<name>.m3u8`, `<name>_init.mp4` and `<name>_NNNNN.m4s` flat in `dir`. Pure. */
export function hlsOutputArgs(dir: string, name: string): string[] {
  if (!/^[A-Za-z0-9_-]+$/.test(name)) throw new RangeError(`bad rung name ${JSON.stringify(name)}`);
  return [
    '-f', 'hls',
    '-hls_time', String(HLS_SEGMENT_S),
    '-hls_playlist_type', 'vod',
    '-hls_segment_type', 'fmp4',
    '-hls_flags', 'independent_segments',
    '-start_number', '1',
    '-hls_fmp4_init_filename', `${name}_init.mp4`,
    '-hls_segment_filename', outputArg(join(patternSafe(dir), `${name}_%05d.m4s`)),
    outputArg(join(dir, `${name}.m3u8`)),
  ];
}

export interface PlannedProxy {
  name: ProxyName;
  path: string;
  /** Target short side. */
  height: number;
  /** Expected size (null when the source size is unknown); the rendered size is read from the file. */
  expected: { width: number; height: number } | null;
}

export interface PlannedVariant extends HlsRung {
  playlist: string;
  expected: { width: number; height: number } | null;
  /** 'proxy_720' when the rung is remuxed from that proxy instead of encoded. */
  sharedWith: ProxyName | null;
}

export interface VideoRenditionPlan {
  /** ffmpeg commands, run in order. */
  commands: string[][];
  /** Share of the overall progress of each command (sums to 1). */
  weights: number[];
  proxies: PlannedProxy[];
  hls: null | { dir: string; master: string; variants: PlannedVariant[] };
}

/**
 * The commands for the wanted renditions (see the module comment). Proxies go to
 * `<outDir>/<name>.mp4`, HLS files flat into `<outDir>/hls/`. Pure.
 */
export function buildVideoRenditionArgs(source: SourceMedia, outDir: string, want: { proxies: boolean; hls: boolean }): VideoRenditionPlan {
  if (!source.width || !source.height) throw new RangeError('the source video size is unknown');
  const short = Math.min(source.width, source.height);
  const display = displaySize(source);
  const expect = (side: number) => (display ? scaledSize(display, side) : null);
  const audio = source.hasAudio;

  const proxies: PlannedProxy[] = want.proxies
    ? proxyPlan(short).map((p) => ({ ...p, path: join(outDir, `${p.name}.mp4`), expected: expect(p.height) }))
    : [];
  const proxy720 = proxies.find((p) => p.name === 'proxy_720');
  const hlsDir = join(outDir, 'hls');
  const variants: PlannedVariant[] = want.hls
    ? hlsLadder(short).map((r) => ({
        ...r,
        playlist: `${r.name}.m3u8`,
        expected: expect(r.height),
        sharedWith: proxy720 && proxy720.height === r.height && r.name === '720p' ? ('proxy_720' as const) : null,
      }))
    : [];

  type Encode = { side: number; args: string[] };
  const encodes: Encode[] = [];
  for (const p of proxies) {
    const settings = PROXY_SETTINGS[p.name];
    const shared = variants.some((v) => v.sharedWith === p.name);
    encodes.push({
      side: p.height,
      args: [
        ...encoderArgs({ ...settings, keyframes: shared, audio }),
        '-movflags', '+faststart',
        '-f', 'mp4',
        outputArg(p.path),
      ],
    });
  }
  for (const v of variants) {
    if (v.sharedWith) continue;
    encodes.push({
      side: v.height,
      args: [...encoderArgs({ ...v, profile: v.height >= 720 ? 'high' : 'main', keyframes: true, audio }), ...hlsOutputArgs(hlsDir, v.name)],
    });
  }

  const commands: string[][] = [];
  if (encodes.length > 0) {
    const n = encodes.length;
    const graph =
      (n > 1 ? `[0:v:0]split=${n}${encodes.map((_, i) => `[in${i}]`).join('')};` : '') +
      encodes.map((e, i) => `${n > 1 ? `[in${i}]` : '[0:v:0]'}${scaleFilter(e.side)},format=yuv420p[v${i}]`).join(';');
    commands.push([
      ...globalArgs(),
      ...inputArgs(source),
      '-filter_complex', graph,
      ...encodes.flatMap((e, i) => ['-map', `[v${i}]`, ...(audio ? ['-map', '0:a:0'] : []), ...e.args]),
    ]);
  }
  for (const v of variants) {
    if (!v.sharedWith) continue;
    const from = proxies.find((p) => p.name === v.sharedWith)!;
    commands.push([
      ...globalArgs(),
      ...inputArgs({ path: from.path, demuxer: 'mov' }),
      '-map', '0:v:0', ...(audio ? ['-map', '0:a:0'] : []),
      '-c', 'copy',
      ...hlsOutputArgs(hlsDir, v.name),
    ]);
  }
  const weights = commands.length === 2 ? [0.92, 0.08] : commands.map(() => 1 / commands.length);
  return {
    commands,
    weights,
    proxies,
    hls: want.hls ? { dir: hlsDir, master: MASTER_PLAYLIST, variants } : null,
  };
}

/** A bare relative filename as used in playlists (no directory, no scheme, no `..`). */
function isBareName(name: string): boolean {
  return /^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name) && !name.includes('..');
}

export interface MasterVariant {
  playlist: string;
  /** Peak bits/s (BANDWIDTH). */
  bandwidth: number;
  averageBandwidth?: number;
  width: number;
  height: number;
  /** RFC 6381 codecs, e.g. `avc1.64001f,mp4a.40.2`. */
  codecs?: string;
  frameRate?: number | null;
}

/** The HLS master playlist over `variants`, lowest bandwidth first. Pure. */
export function masterPlaylist(variants: readonly MasterVariant[]): string {
  if (variants.length === 0) throw new RangeError('no variants');
  const lines = ['#EXTM3U', '#EXT-X-VERSION:7', '#EXT-X-INDEPENDENT-SEGMENTS'];
  for (const v of [...variants].sort((a, b) => a.bandwidth - b.bandwidth)) {
    if (!isBareName(v.playlist)) throw new RangeError(`playlist must be a bare filename, got ${JSON.stringify(v.playlist)}`);
    const attrs = [`BANDWIDTH=${Math.ceil(v.bandwidth)}`];
    if (v.averageBandwidth) attrs.push(`AVERAGE-BANDWIDTH=${Math.ceil(v.averageBandwidth)}`);
    attrs.push(`RESOLUTION=${v.width}x${v.height}`);
    if (v.codecs) attrs.push(`CODECS="${v.codecs}"`);
    if (v.frameRate && v.frameRate > 0) attrs.push(`FRAME-RATE=${v.frameRate.toFixed(3)}`);
    lines.push(`#EXT-X-STREAM-INF:${attrs.join(',')}`, v.playlist);
  }
  return `${lines.join('\n')}\n`;
}

/** The init segment and segments (with their EXTINF durations) of a media playlist. Pure. */
export function parseMediaPlaylist(text: string): { init: string | null; segments: Array<{ uri: string; durationS: number }> } {
  let init: string | null = null;
  let duration: number | null = null;
  const segments: Array<{ uri: string; durationS: number }> = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line) continue;
    const map = /^#EXT-X-MAP:.*URI="([^"]+)"/.exec(line);
    if (map) init = map[1]!;
    const inf = /^#EXTINF:([\d.]+)/.exec(line);
    if (inf) duration = Number(inf[1]);
    if (!line.startsWith('#')) {
      segments.push({ uri: line, durationS: duration ?? 0 });
      duration = null;
    }
  }
  return { init, segments };
}

async function readHead(path: string, bytes: number): Promise<Buffer> {
  const handle = await open(path, 'r');
  try {
    const buffer = Buffer.alloc(bytes);
    const { bytesRead } = await handle.read(buffer, 0, bytes, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

export interface RenderedProxy {
  name: ProxyName;
  path: string;
  width: number;
  height: number;
  /** Overall bits/s (file size over duration). */
  bitrate: number;
  sizeBytes: number;
}

export interface RenderedHls {
  /** The directory holding every HLS file (no subdirectories). */
  dir: string;
  /** The master playlist's filename in `dir`. */
  master: string;
  /** Every filename in `dir` to upload, master included. */
  files: string[];
  variants: Array<{ name: string; playlist: string; width: number; height: number; bandwidth: number }>;
}

/**
 * Renders the wanted proxies and HLS ladder of `source` into `outDir` (see the module comment);
 * one overall percent through `onProgress`. Rejects with RenderError.
 */
export async function renderVideoRenditions(
  source: SourceMedia,
  outDir: string,
  want: { proxies: boolean; hls: boolean },
  options: FfmpegRunOptions,
): Promise<{ proxies: RenderedProxy[]; hls: RenderedHls | null }> {
  assertRenderable(source);
  if (!source.hasVideo) throw new RenderError('INVALID_MEDIA', 'The file has no video stream', { retryable: false });
  if (!source.width || !source.height) throw new RenderError('INVALID_MEDIA', 'The video size is unknown', { retryable: false });
  const plan = buildVideoRenditionArgs(source, outDir, want);
  await mkdir(outDir, { recursive: true });
  if (plan.hls) await mkdir(plan.hls.dir, { recursive: true });

  const report = monotonicProgress(options.onProgress, 0);
  let done = 0;
  let outTimeUs = 0;
  for (const [i, args] of plan.commands.entries()) {
    const share = plan.weights[i]! * 99;
    const run = await runFfmpeg(args, source.durationMs, { ...options, onProgress: progressSpan(report, done, done + share) });
    if (i === 0) outTimeUs = run.outTimeUs;
    done += share;
  }
  const durationMs = source.durationMs && source.durationMs > 0 ? source.durationMs : outTimeUs / 1000;

  const proxies: RenderedProxy[] = [];
  for (const p of plan.proxies) {
    const sizeBytes = (await stat(p.path).catch(() => null))?.size ?? 0;
    const size = sizeBytes > 0 ? mp4VideoSize(await readHead(p.path, 4 * 1024 * 1024)) : null;
    if (!size) throw new RenderError('INVALID_MEDIA', `No video could be decoded for ${p.name}`, { retryable: false });
    const bitrate = durationMs > 0 ? Math.round((sizeBytes * 8 * 1000) / durationMs) : 0;
    proxies.push({ name: p.name, path: p.path, ...size, bitrate, sizeBytes });
  }

  let hls: RenderedHls | null = null;
  if (plan.hls) {
    const { dir, master } = plan.hls;
    const files: string[] = [master];
    const variants: RenderedHls['variants'] = [];
    const masterVariants: MasterVariant[] = [];
    for (const v of plan.hls.variants) {
      const text = await readFile(join(dir, v.playlist), 'utf8').catch(() => '');
      const { init, segments } = parseMediaPlaylist(text);
      if (!init || segments.length === 0) throw new RenderError('INVALID_MEDIA', `No video could be decoded for the ${v.name} rung`, { retryable: false });
      const names = [init, ...segments.map((s) => s.uri)];
      if (!names.every(isBareName)) throw new RenderError('PROCESSING_ERROR', `${v.playlist} names a file outside its directory`);
      let peak = 0;
      let totalBytes = 0;
      let totalS = 0;
      for (const s of segments) {
        const bytes = (await stat(join(dir, s.uri))).size;
        totalBytes += bytes;
        totalS += s.durationS;
        // A final sliver of a segment says little about the peak.
        if (s.durationS >= 1 || segments.length === 1) peak = Math.max(peak, s.durationS > 0 ? (bytes * 8) / s.durationS : 0);
      }
      const initBytes = await readFile(join(dir, init));
      const size = mp4VideoSize(initBytes) ?? v.expected;
      if (!size) throw new RenderError('PROCESSING_ERROR', `${init} has no video track header`);
      const avc = mp4AvcCodec(initBytes);
      const average = totalS > 0 ? (totalBytes * 8) / totalS : peak;
      const bandwidth = Math.ceil(Math.max(peak, average));
      files.push(v.playlist, ...names);
      variants.push({ name: v.name, playlist: v.playlist, ...size, bandwidth });
      masterVariants.push({
        playlist: v.playlist,
        bandwidth,
        averageBandwidth: Math.ceil(average),
        ...size,
        codecs: avc ? [avc, ...(source.hasAudio ? ['mp4a.40.2'] : [])].join(',') : undefined,
        frameRate: source.fps,
      });
    }
    await writeFile(join(dir, master), masterPlaylist(masterVariants));
    hls = { dir, master, files: [...new Set(files)], variants };
  }
  report(100);
  return { proxies, hls };
}
