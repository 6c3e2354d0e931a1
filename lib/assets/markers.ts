/**
 * Timecode markers of assets: the checks a marker's range must pass (pure: no I/O).
 * A marker lives on a time-based asset (video, audio) whose duration is known, and
 * 0 ≤ timecode_in_ms ≤ timecode_out_ms ≤ duration_ms (out = in is a point marker).
 */
import { AppError } from '../errors.ts';
import type { AssetStatus, AssetType } from './catalogue.ts';

/** Markers one asset may carry; one more is 409 MARKER_LIMIT_REACHED. */
export const MAX_MARKERS_PER_ASSET = 5000;
export const MAX_MARKER_TITLE_LENGTH = 300;
export const MAX_MARKER_NOTES_LENGTH = 10_000;
/** Sources a client may write; `detection` is the ingest's scene step's alone. */
export const API_MARKER_SOURCES = ['manual', 'ai', 'import'] as const;

const TIME_BASED: readonly AssetType[] = ['video', 'audio'];
const IN_PROGRESS: readonly AssetStatus[] = ['pending', 'ingesting', 'processing'];

export interface MarkedAsset {
  type: AssetType;
  status: AssetStatus;
  durationMs: number | null | undefined;
}

/**
 * The asset's duration in ms, or the answer when markers cannot be placed on it:
 * 422 NOT_TIME_BASED (image, document), 409 ASSET_NOT_READY (duration not yet known: the ingest
 * is pending/ingesting/processing), 409 DURATION_UNKNOWN (ingest ended without a duration).
 */
export function markerTimeline(asset: MarkedAsset): number {
  if (!TIME_BASED.includes(asset.type)) {
    throw new AppError(422, 'NOT_TIME_BASED', `A ${asset.type} asset has no timeline: markers need a video or audio asset`, { details: { type: asset.type } });
  }
  if (asset.durationMs === null || asset.durationMs === undefined) {
    if (IN_PROGRESS.includes(asset.status)) {
      throw new AppError(409, 'ASSET_NOT_READY', 'The asset\'s duration is not known yet (ingest in progress); retry when it is', { details: { status: asset.status } });
    }
    throw new AppError(409, 'DURATION_UNKNOWN', 'The asset has no known duration, so markers cannot be placed on it', { details: { status: asset.status } });
  }
  return asset.durationMs;
}

/** 422 INVALID_TIMECODES when out < in; 422 TIMECODE_BEYOND_DURATION when out (or in) passes the asset's end. */
export function assertMarkerRange(inMs: number, outMs: number, durationMs: number): void {
  const details = { timecode_in_ms: inMs, timecode_out_ms: outMs, duration_ms: durationMs };
  if (inMs < 0 || outMs < 0) throw new AppError(422, 'INVALID_TIMECODES', 'Timecodes must not be negative', { details });
  if (outMs < inMs) throw new AppError(422, 'INVALID_TIMECODES', 'timecode_out_ms must not be before timecode_in_ms', { details });
  if (outMs > durationMs) {
    throw new AppError(422, 'TIMECODE_BEYOND_DURATION', `The marker ends after the asset does (duration ${durationMs} ms)`, { details });
  }
}

/** Keyset cursor of an asset's markers, ordered by (timecode_in_ms, timecode_out_ms, id). */
export interface MarkerCursor {
  inMs: number;
  outMs: number;
  id: string;
}

export function encodeMarkerCursor(cursor: MarkerCursor): string {
  return Buffer.from(JSON.stringify([cursor.inMs, cursor.outMs, cursor.id])).toString('base64url');
}

/** The cursor, or null when it is not one of ours. */
export function decodeMarkerCursor(text: string): MarkerCursor | null {
  try {
    const value: unknown = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
    if (!Array.isArray(value) || value.length !== 3) return null;
    const [inMs, outMs, id] = value as unknown[];
    if (!Number.isSafeInteger(inMs) || !Number.isSafeInteger(outMs) || (inMs as number) < 0 || (outMs as number) < 0) return null;
    if (typeof id !== 'string' || !/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id)) return null;
    return { inMs: inMs as number, outMs: outMs as number, id };
  } catch {
    return null;
  }
}
