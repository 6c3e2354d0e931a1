/** Normalized media metadata: what Moviola keeps of ffprobe's JSON. Pure, unit-tested. */

export interface StreamMetadata {
  type: 'video' | 'audio' | 'subtitle' | 'data' | 'attachment' | 'unknown';
  codec: string | null;
  width: number | null;
  height: number | null;
  fps: number | null;
  sample_rate: number | null;
  channels: number | null;
}

export interface MediaMetadata {
  container: string;
  duration_ms: number | null;
  bitrate: number | null;
  streams: StreamMetadata[];
}

/** The subset of `ffprobe -show_format -show_streams -of json` read here. */
export interface FfprobeJson {
  format?: { format_name?: string; duration?: string; bit_rate?: string };
  streams?: Array<{
    codec_type?: string;
    codec_name?: string;
    width?: number;
    height?: number;
    avg_frame_rate?: string;
    r_frame_rate?: string;
    sample_rate?: string;
    channels?: number;
    duration?: string;
  }>;
}

const STREAM_TYPES = new Set(['video', 'audio', 'subtitle', 'data', 'attachment']);

/** "30000/1001" → 29.97; "0/0" or garbage → null. Rounded to 3 decimals. */
export function parseFrameRate(rate: string | undefined): number | null {
  if (!rate) return null;
  const [num, den = '1'] = rate.split('/');
  const n = Number(num);
  const d = Number(den);
  if (!Number.isFinite(n) || !Number.isFinite(d) || n <= 0 || d <= 0) return null;
  return Math.round((n / d) * 1000) / 1000;
}

function toInt(value: string | number | undefined): number | null {
  if (value === undefined || value === '' || value === 'N/A') return null;
  const n = Number(value);
  return Number.isFinite(n) ? Math.round(n) : null;
}

function secondsToMs(value: string | undefined): number | null {
  const n = value === undefined ? NaN : Number(value);
  return Number.isFinite(n) && n >= 0 ? Math.round(n * 1000) : null;
}

export function normalizeProbe(json: FfprobeJson): MediaMetadata {
  const format = json.format ?? {};
  const streams = (json.streams ?? []).map((s): StreamMetadata => {
    const type = STREAM_TYPES.has(s.codec_type ?? '') ? (s.codec_type as StreamMetadata['type']) : 'unknown';
    const isVideo = type === 'video';
    const isAudio = type === 'audio';
    return {
      type,
      codec: s.codec_name ?? null,
      width: isVideo ? toInt(s.width) : null,
      height: isVideo ? toInt(s.height) : null,
      fps: isVideo ? (parseFrameRate(s.avg_frame_rate) ?? parseFrameRate(s.r_frame_rate)) : null,
      sample_rate: isAudio ? toInt(s.sample_rate) : null,
      channels: isAudio ? toInt(s.channels) : null,
    };
  });
  const streamDurations = (json.streams ?? []).map((s) => secondsToMs(s.duration)).filter((d): d is number => d !== null);
  return {
    container: (format.format_name ?? 'unknown').split(',')[0] ?? 'unknown',
    duration_ms: secondsToMs(format.duration) ?? (streamDurations.length ? Math.max(...streamDurations) : null),
    bitrate: toInt(format.bit_rate),
    streams,
  };
}
