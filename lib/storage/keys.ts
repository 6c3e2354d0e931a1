/**
 * Deterministic storage keys: the same inputs always give the same key, so a retried activity
 * overwrites its own output instead of leaving a second copy.
 */
import { assertSafeKey } from './types.ts';

export const MAX_FILENAME_LENGTH = 200;
/** Keeps every segment within a filesystem's NAME_MAX (255 bytes), with room for a `.json` sidecar. */
export const MAX_FILENAME_BYTES = 240;

// C0 controls, DEL, C1 controls, and Unicode bidi overrides that disguise extensions.
const UNSAFE_CHARS = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

/**
 * A filename safe to use as the last segment of a key: the basename only (after either kind of
 * path separator), control characters removed, at most 200 characters (and 240 UTF-8 bytes) with
 * the extension kept, and `file` when nothing usable is left (empty, `.`, `..`).
 */
export function sanitizeFilename(name: string): string {
  const base = name.split(/[/\\]/).pop() ?? '';
  const clean = base.replace(UNSAFE_CHARS, '').normalize('NFC').trim();
  if (clean === '' || /^\.+$/.test(clean)) return 'file';
  if (fits(clean, MAX_FILENAME_LENGTH, MAX_FILENAME_BYTES)) return clean;
  const dot = clean.lastIndexOf('.');
  const ext = dot > 0 && clean.length - dot <= 16 ? clean.slice(dot) : '';
  const stem = clean.slice(0, clean.length - ext.length);
  return truncate(stem, MAX_FILENAME_LENGTH - [...ext].length, MAX_FILENAME_BYTES - Buffer.byteLength(ext)) + ext;
}

function fits(text: string, maxChars: number, maxBytes: number): boolean {
  return [...text].length <= maxChars && Buffer.byteLength(text, 'utf8') <= maxBytes;
}

/** The longest prefix of whole code points within both limits. */
function truncate(text: string, maxChars: number, maxBytes: number): string {
  let out = '';
  let chars = 0;
  let bytes = 0;
  for (const ch of text) {
    const size = Buffer.byteLength(ch, 'utf8');
    if (chars + 1 > maxChars || bytes + size > maxBytes) break;
    out += ch;
    chars += 1;
    bytes += size;
  }
  return out;
}

/** Tenant ids, asset ids and purposes become key segments: they must be a single safe segment. */
function segment(what: string, value: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/.test(value)) {
    throw new TypeError(`${what} is not usable in a storage key: ${JSON.stringify(value)}`);
  }
  return value;
}

function checked(key: string): string {
  assertSafeKey(key);
  return key;
}

/** `{tenant}/probe/{probeId}/{filename}` in the uploads bucket. */
export function probeUploadKey(tenantId: string, probeId: string, filename: string): string {
  return checked(`${segment('tenantId', tenantId)}/probe/${segment('probeId', probeId)}/${sanitizeFilename(filename)}`);
}

export interface AssetKeyInput {
  tenantId: string;
  /** Usually the asset's creation time; the year and month come from it in UTC. */
  date: Date;
  assetId: string;
  /** What the object is for, e.g. `original`, `proxy-720p`, `thumbnail`. */
  purpose: string;
  filename: string;
}

/** `{tenant}/{yyyy}/{mm}/{assetId}/{purpose}/{filename}`, year and month in UTC. */
export function assetKey(input: AssetKeyInput): string {
  if (Number.isNaN(input.date.getTime())) throw new TypeError('date is invalid');
  const yyyy = String(input.date.getUTCFullYear()).padStart(4, '0');
  const mm = String(input.date.getUTCMonth() + 1).padStart(2, '0');
  return checked(
    [
      segment('tenantId', input.tenantId),
      yyyy,
      mm,
      segment('assetId', input.assetId),
      segment('purpose', input.purpose),
      sanitizeFilename(input.filename),
    ].join('/'),
  );
}

/** The prefix under which every object of one asset lives (for deletePrefix / list). */
export function assetPrefix(input: Omit<AssetKeyInput, 'purpose' | 'filename'>): string {
  return assetKey({ ...input, purpose: 'x', filename: 'x' }).slice(0, -'x/x'.length);
}

/** `{tenant}/frames/{jobId}/original{.ext}` in the uploads bucket: a generated name, never the client's. */
export function framesOriginalKey(tenantId: string, jobId: string, extension: string): string {
  if (!/^\.[a-z0-9]{1,8}$/.test(extension)) throw new TypeError(`extension is not usable in a storage key: ${JSON.stringify(extension)}`);
  return checked(`${segment('tenantId', tenantId)}/frames/${segment('jobId', jobId)}/original${extension}`);
}

/** `{tenant}/frames/{jobId}/frames.zip` in the exports bucket. */
export function framesZipKey(tenantId: string, jobId: string): string {
  return checked(`${segment('tenantId', tenantId)}/frames/${segment('jobId', jobId)}/frames.zip`);
}

/** `{tenant}/music/{musicId}/original{.ext}` in the originals bucket: a generated name, never the client's. */
export function musicOriginalKey(tenantId: string, musicId: string, extension: string): string {
  if (!/^\.[a-z0-9]{1,8}$/.test(extension)) throw new TypeError(`extension is not usable in a storage key: ${JSON.stringify(extension)}`);
  return checked(`${segment('tenantId', tenantId)}/music/${segment('musicId', musicId)}/original${extension}`);
}

/** `{tenant}/music/{musicId}/speech.mp3` in the proxies bucket: the small mono copy sent for transcription. */
export function musicSpeechKey(tenantId: string, musicId: string): string {
  return checked(`${segment('tenantId', tenantId)}/music/${segment('musicId', musicId)}/speech.mp3`);
}

/** `{tenant}/clips/{clipJobId}/video{.ext}` in the originals bucket: a video uploaded with a clip job (generated name). */
export function clipVideoKey(tenantId: string, clipJobId: string, extension: string): string {
  if (!/^\.[a-z0-9]{1,8}$/.test(extension)) throw new TypeError(`extension is not usable in a storage key: ${JSON.stringify(extension)}`);
  return checked(`${segment('tenantId', tenantId)}/clips/${segment('clipJobId', clipJobId)}/video${extension}`);
}

/** `{tenant}/clips/{clipJobId}/renders/variant-{index}.mp4` in the exports bucket: one object per variant, a re-render overwrites it. */
export function clipRenderKey(tenantId: string, clipJobId: string, index: number): string {
  if (!Number.isInteger(index) || index < 0 || index > 99) throw new TypeError(`variant index out of range: ${index}`);
  return checked(`${segment('tenantId', tenantId)}/clips/${segment('clipJobId', clipJobId)}/renders/variant-${index}.mp4`);
}
