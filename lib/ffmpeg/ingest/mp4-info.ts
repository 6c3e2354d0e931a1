/**
 * What the renderers need to know of an MP4 / fMP4 init segment they wrote themselves (the video
 * track is mapped first): the video track's size (`tkhd`) and its RFC 6381 codec string from the
 * `avcC` box, for the HLS master playlist. Pure; reads only the bytes given (the `moov` at the
 * front of a `+faststart` file or an init segment).
 */

function findBox(bytes: Buffer, type: string, from = 0): number {
  // A box header is a 32-bit size then the 4-char type; return the offset of the size.
  let at = bytes.indexOf(type, from + 4, 'latin1');
  while (at >= 4) {
    const size = bytes.readUInt32BE(at - 4);
    if (size >= 8 && at - 4 + size <= bytes.length) return at - 4;
    at = bytes.indexOf(type, at + 1, 'latin1');
  }
  return -1;
}

/** The first track header with a non-zero size (the video track): display width and height. */
export function mp4VideoSize(bytes: Buffer): { width: number; height: number } | null {
  let at = findBox(bytes, 'tkhd');
  while (at >= 0) {
    const version = bytes[at + 8];
    const widthAt = at + (version === 1 ? 96 : 84);
    if (widthAt + 8 <= bytes.length) {
      const width = Math.floor(bytes.readUInt32BE(widthAt) / 65536);
      const height = Math.floor(bytes.readUInt32BE(widthAt + 4) / 65536);
      if (width > 0 && height > 0) return { width, height };
    }
    at = findBox(bytes, 'tkhd', at + 8);
  }
  return null;
}

/** `avc1.PPCCLL` (profile, constraint flags, level from the `avcC` box); null without one. */
export function mp4AvcCodec(bytes: Buffer): string | null {
  const at = findBox(bytes, 'avcC');
  if (at < 0 || at + 12 > bytes.length || bytes[at + 8] !== 1) return null;
  const hex = (b: number) => b.toString(16).padStart(2, '0');
  return `avc1.${hex(bytes[at + 9]!)}${hex(bytes[at + 10]!)}${hex(bytes[at + 11]!)}`;
}

/** True when the `moov` box comes before the first `mdat` box (playback can start before the whole file is read). */
export function moovBeforeMdat(bytes: Buffer): boolean | null {
  // Walk top-level boxes.
  let at = 0;
  while (at + 8 <= bytes.length) {
    let size = bytes.readUInt32BE(at);
    const type = bytes.toString('latin1', at + 4, at + 8);
    if (type === 'moov') return true;
    if (type === 'mdat') return false;
    if (size === 1 && at + 16 <= bytes.length) size = Number(bytes.readBigUInt64BE(at + 8));
    if (size < 8) return null;
    at += size;
  }
  return null;
}
