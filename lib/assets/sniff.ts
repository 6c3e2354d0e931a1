/**
 * What an uploaded file is, from its first bytes and its name, before anything decodes it.
 *
 * - The extension must be one the catalogue accepts (else 415 UNSUPPORTED_FORMAT).
 * - The content's magic bytes must agree with the extension's family: a PNG or a text file named
 *   `.mp4` is 422 INVALID_MEDIA. Playlists (HLS, DASH) and ffmpeg concat scripts are refused
 *   whatever their name: they make ffmpeg open files named inside them.
 * - Images: width and height are read from the header (PNG IHDR, JPEG SOFn, GIF, WebP, BMP, TIFF
 *   IFD0) and an image over the pixel limit is 422 IMAGE_TOO_LARGE, before any decoder sees it.
 *
 * Audio vs video of a media container is settled later by ffprobe (`type` here is a guess from the extension).
 */
import { extname } from 'node:path';
import type { AssetType } from './catalogue.ts';

/** How many leading bytes `sniffAsset` needs (JPEG headers may carry large EXIF blocks before SOF). */
export const SNIFF_BYTES = 256 * 1024;

export type AssetFamily = 'media' | 'image' | 'document';

export const ASSET_EXTENSIONS: Record<string, { family: AssetFamily; type: AssetType }> = {
  ...Object.fromEntries(['.mp4', '.m4v', '.mov', '.mkv', '.webm', '.avi', '.wmv', '.flv', '.mpg', '.mpeg', '.ts', '.mts', '.3gp'].map((e) => [e, { family: 'media', type: 'video' }])),
  ...Object.fromEntries(['.mp3', '.wav', '.m4a', '.aac', '.flac', '.ogg', '.oga', '.opus', '.wma'].map((e) => [e, { family: 'media', type: 'audio' }])),
  ...Object.fromEntries(['.jpg', '.jpeg', '.png', '.gif', '.webp', '.bmp', '.tif', '.tiff'].map((e) => [e, { family: 'image', type: 'image' }])),
  ...Object.fromEntries(['.pdf', '.txt', '.md', '.csv', '.docx', '.xlsx', '.pptx', '.odt', '.ods', '.odp'].map((e) => [e, { family: 'document', type: 'document' }])),
};

export type SniffResult =
  | { ok: true; family: AssetFamily; type: AssetType; format: string; image?: { width: number; height: number } }
  | { ok: false; status: 415 | 422; code: 'UNSUPPORTED_FORMAT' | 'INVALID_MEDIA' | 'IMAGE_TOO_LARGE'; message: string };

interface Detected {
  family: AssetFamily | 'playlist' | 'unknown';
  format: string;
  image?: { width: number; height: number } | null;
}

const ascii = (b: Buffer, start: number, end: number) => b.subarray(start, end).toString('latin1');

export function sniffAsset(head: Buffer, filename: string, limits: { maxImagePixels: number }): SniffResult {
  const extension = extname(filename).toLowerCase();
  const expected = ASSET_EXTENSIONS[extension];
  if (!expected) {
    return { ok: false, status: 415, code: 'UNSUPPORTED_FORMAT', message: `Files named ${extension || '(no extension)'} are not accepted; accepted: ${Object.keys(ASSET_EXTENSIONS).join(' ')}` };
  }
  const found = detect(head);
  if (found.family === 'playlist') {
    return { ok: false, status: 422, code: 'INVALID_MEDIA', message: `The file is a ${found.format}, which may reference other files; only media containers, images and documents are accepted` };
  }
  if (found.family !== expected.family) {
    const what = found.family === 'unknown' ? 'not a recognised format' : `a ${found.format} ${found.family === 'media' ? 'media file' : found.family}`;
    return { ok: false, status: 422, code: 'INVALID_MEDIA', message: `The content is ${what}, but the name says ${expected.type} (${extension})` };
  }
  if (found.family === 'image') {
    if (!found.image) return { ok: false, status: 422, code: 'INVALID_MEDIA', message: `The ${found.format} header is unreadable or truncated` };
    const { width, height } = found.image;
    if (width < 1 || height < 1) return { ok: false, status: 422, code: 'INVALID_MEDIA', message: `The ${found.format} header declares ${width}×${height} pixels` };
    if (width * height > limits.maxImagePixels) {
      return { ok: false, status: 422, code: 'IMAGE_TOO_LARGE', message: `The image is ${width}×${height} = ${width * height} pixels; the limit is ${limits.maxImagePixels}` };
    }
    return { ok: true, family: 'image', type: 'image', format: found.format, image: found.image };
  }
  return { ok: true, family: found.family, type: expected.type, format: found.format };
}

function detect(b: Buffer): Detected {
  if (b.length >= 8 && b.readUInt32BE(0) === 0x89504e47) return { family: 'image', format: 'png', image: pngSize(b) };
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return { family: 'image', format: 'jpeg', image: jpegSize(b) };
  if (ascii(b, 0, 6) === 'GIF87a' || ascii(b, 0, 6) === 'GIF89a') return { family: 'image', format: 'gif', image: b.length >= 10 ? { width: b.readUInt16LE(6), height: b.readUInt16LE(8) } : null };
  if (ascii(b, 0, 4) === 'RIFF' && ascii(b, 8, 12) === 'WEBP') return { family: 'image', format: 'webp', image: webpSize(b) };
  if (ascii(b, 0, 4) === 'RIFF' && ascii(b, 8, 12) === 'WAVE') return { family: 'media', format: 'wav' };
  if (ascii(b, 0, 4) === 'RIFF' && ascii(b, 8, 12) === 'AVI ') return { family: 'media', format: 'avi' };
  if (ascii(b, 0, 2) === 'BM' && b.length >= 26) return { family: 'image', format: 'bmp', image: { width: Math.abs(b.readInt32LE(18)), height: Math.abs(b.readInt32LE(22)) } };
  if (ascii(b, 0, 4) === 'II*\u0000' || ascii(b, 0, 4) === 'MM\u0000*') return { family: 'image', format: 'tiff', image: tiffSize(b) };
  if (ascii(b, 0, 5) === '%PDF-') return { family: 'document', format: 'pdf' };
  if (b.length >= 4 && b.readUInt32BE(0) === 0x504b0304) return { family: 'document', format: 'zip' };
  if (ascii(b, 4, 8) === 'ftyp') return { family: 'media', format: 'mp4' };
  if (b.length >= 4 && b.readUInt32BE(0) === 0x1a45dfa3) return { family: 'media', format: 'matroska' };
  if (ascii(b, 0, 4) === 'OggS') return { family: 'media', format: 'ogg' };
  if (ascii(b, 0, 4) === 'fLaC') return { family: 'media', format: 'flac' };
  if (ascii(b, 0, 3) === 'ID3') return { family: 'media', format: 'mp3' };
  if (ascii(b, 0, 3) === 'FLV') return { family: 'media', format: 'flv' };
  if (b.length >= 4 && b.readUInt32BE(0) === 0x3026b275) return { family: 'media', format: 'asf' };
  if (b.length >= 4 && b.readUInt32BE(0) === 0x000001ba) return { family: 'media', format: 'mpeg' };
  if (b.length >= 189 && b[0] === 0x47 && b[188] === 0x47) return { family: 'media', format: 'mpegts' };
  if (b.length >= 2 && b[0] === 0xff && (b[1]! & 0xe0) === 0xe0) return { family: 'media', format: (b[1]! & 0x06) === 0 ? 'aac' : 'mp3' };
  if (ascii(b, 4, 8) === 'moov' || ascii(b, 4, 8) === 'mdat' || ascii(b, 4, 8) === 'wide' || ascii(b, 4, 8) === 'free') return { family: 'media', format: 'mov' };
  return detectText(b);
}

/** Text: a document, unless it is a playlist, a manifest or a concat script. */
function detectText(b: Buffer): Detected {
  if (b.includes(0)) return { family: 'unknown', format: 'binary' };
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(b.subarray(0, Math.min(b.length, 64 * 1024)));
  } catch {
    // A multi-byte character cut at the end of the sample is fine; anything else is not UTF-8 text.
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(b.subarray(0, Math.max(0, Math.min(b.length, 64 * 1024) - 3)));
    } catch {
      return { family: 'unknown', format: 'binary' };
    }
  }
  const start = text.replace(/^\uFEFF/, '').trimStart();
  if (/^#EXTM3U/i.test(start) || /^#EXT-X-/im.test(text)) return { family: 'playlist', format: 'HLS playlist' };
  if (/^ffconcat\b/i.test(start) || /^file\s+(['"][^'"\n]+['"]|\S+)[ \t]*$/m.test(text)) return { family: 'playlist', format: 'concat script' };
  if (/<MPD[\s>]/i.test(text)) return { family: 'playlist', format: 'DASH manifest' };
  if (/^\[playlist\]/i.test(start) || /<smil[\s>]/i.test(text) || /^<\?xml[^>]*>\s*<(playlist|asx)/i.test(start)) return { family: 'playlist', format: 'playlist' };
  return { family: 'document', format: 'text' };
}

function pngSize(b: Buffer): { width: number; height: number } | null {
  if (b.length < 24 || ascii(b, 12, 16) !== 'IHDR') return null;
  return { width: b.readUInt32BE(16), height: b.readUInt32BE(20) };
}

function jpegSize(b: Buffer): { width: number; height: number } | null {
  let i = 2;
  while (i + 4 <= b.length) {
    if (b[i] !== 0xff) return null;
    const marker = b[i + 1]!;
    if (marker === 0xff) { i += 1; continue; }
    if (marker === 0xd8 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) { i += 2; continue; }
    const length = b.readUInt16BE(i + 2);
    // SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC).
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      if (i + 9 > b.length) return null;
      return { height: b.readUInt16BE(i + 5), width: b.readUInt16BE(i + 7) };
    }
    if (marker === 0xd9 || marker === 0xda) return null;
    i += 2 + length;
  }
  return null;
}

function webpSize(b: Buffer): { width: number; height: number } | null {
  const chunk = ascii(b, 12, 16);
  if (chunk === 'VP8X' && b.length >= 30) return { width: 1 + b.readUIntLE(24, 3), height: 1 + b.readUIntLE(27, 3) };
  if (chunk === 'VP8 ' && b.length >= 30) return { width: b.readUInt16LE(26) & 0x3fff, height: b.readUInt16LE(28) & 0x3fff };
  if (chunk === 'VP8L' && b.length >= 25) {
    const bits = b.readUInt32LE(21);
    return { width: 1 + (bits & 0x3fff), height: 1 + ((bits >>> 14) & 0x3fff) };
  }
  return null;
}

function tiffSize(b: Buffer): { width: number; height: number } | null {
  if (b.length < 8) return null;
  const le = b[0] === 0x49;
  const u16 = (o: number) => (le ? b.readUInt16LE(o) : b.readUInt16BE(o));
  const u32 = (o: number) => (le ? b.readUInt32LE(o) : b.readUInt32BE(o));
  const ifd = u32(4);
  if (ifd + 2 > b.length) return null;
  const count = u16(ifd);
  let width: number | null = null;
  let height: number | null = null;
  for (let n = 0; n < count; n++) {
    const entry = ifd + 2 + n * 12;
    if (entry + 12 > b.length) return null;
    const tag = u16(entry);
    const type = u16(entry + 2);
    const value = type === 3 ? u16(entry + 8) : u32(entry + 8);
    if (tag === 256) width = value;
    if (tag === 257) height = value;
  }
  return width !== null && height !== null ? { width, height } : null;
}
