/**
 * Demuxers accepted on untrusted uploads. Playlists (hls, dash) and concat scripts are never
 * accepted: they make ffmpeg open other files or URLs named inside them, whatever the protocol
 * whitelist says. The first probe runs with `-format_whitelist` so such demuxers are not even tried;
 * every later run forces the detected demuxer with `-f`.
 */

/** Audio/video containers (ffmpeg demuxer names). */
export const MEDIA_DEMUXERS = [
  'mov', 'mp4', 'm4a', '3gp', '3g2', 'mj2',
  'matroska', 'webm',
  'avi', 'flv', 'asf', 'mpegts', 'mpeg',
  'mp3', 'wav', 'ogg', 'flac', 'aac', 'w64',
] as const;

/** Video containers of the frames service (.mp4 .avi .mov .mkv .wmv .flv .webm). */
export const VIDEO_DEMUXERS = ['mov', 'mp4', 'm4a', '3gp', '3g2', 'mj2', 'matroska', 'webm', 'avi', 'flv', 'asf'] as const;

/** File extensions the frames service accepts (checked before upload, then the content is probed). */
export const VIDEO_EXTENSIONS = ['.mp4', '.avi', '.mov', '.mkv', '.wmv', '.flv', '.webm'] as const;

/** Single-image demuxers (never `image2`, which expands patterns into other file names). */
export const IMAGE_DEMUXERS = ['png_pipe', 'jpeg_pipe', 'webp_pipe', 'gif', 'bmp_pipe', 'tiff_pipe'] as const;

export const FORBIDDEN_DEMUXERS = ['hls', 'dash', 'concat', 'ffconcat', 'image2', 'tty', 'lavfi'] as const;

/**
 * Picks the demuxer name to force with `-f` from ffprobe's `format_name` (e.g. "mov,mp4,m4a,3gp,3g2,mj2"),
 * or null when no name is in the allowed list.
 */
export function demuxerFor(formatName: string, allowed: readonly string[] = MEDIA_DEMUXERS): string | null {
  const names = formatName.split(',').map((n) => n.trim());
  if (names.some((n) => (FORBIDDEN_DEMUXERS as readonly string[]).includes(n))) return null;
  return names.find((n) => allowed.includes(n)) ?? null;
}
