/** Keyword normalization and validation, marker range checks and the cursors of both lists (pure functions). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  characterCount, checkedKeyword, cleanKeyword, decodeKeywordCursor, encodeKeywordCursor, keywordProblem, MAX_KEYWORD_LENGTH, normalizeKeyword,
} from '../../lib/assets/keywords.ts';
import { assertMarkerRange, decodeMarkerCursor, encodeMarkerCursor, markerTimeline } from '../../lib/assets/markers.ts';
import { AppError } from '../../lib/errors.ts';

function codeOf(fn: () => unknown): { status: number; code: string } | null {
  try {
    fn();
    return null;
  } catch (err) {
    assert.ok(err instanceof AppError, `expected an AppError, got ${String(err)}`);
    return { status: err.status, code: err.code };
  }
}

describe('normalizeKeyword', () => {
  it('trims, lower-cases and collapses inner white space', () => {
    assert.equal(normalizeKeyword('  Rio   de  JANEIRO '), 'rio de janeiro');
    assert.equal(normalizeKeyword('\tPraia\n\nde\u00a0Copacabana\u3000'), 'praia de copacabana');
  });

  it('gives NFD and NFC spellings one normalized form (NFC)', () => {
    const nfd = 'Cafe\u0301';
    const nfc = 'Caf\u00e9';
    assert.notEqual(nfd, nfc);
    assert.equal(normalizeKeyword(nfd), 'caf\u00e9');
    assert.equal(normalizeKeyword(nfd), normalizeKeyword(nfc));
    assert.equal(normalizeKeyword('SÃO PAULO'), normalizeKeyword('sa\u0303o paulo'));
  });

  it('is idempotent and locale-independent', () => {
    for (const k of ['  Rio   de  JANEIRO ', 'İstanbul', 'ÅNGSTRÖM', 'Straße', '東京 タワー']) {
      assert.equal(normalizeKeyword(normalizeKeyword(k)), normalizeKeyword(k));
    }
    assert.equal(normalizeKeyword('TITLE'), 'title');
  });

  it('keeps the case of the shown keyword but cleans its spacing and form', () => {
    assert.equal(cleanKeyword('  Rio   de  JANEIRO '), 'Rio de JANEIRO');
    assert.equal(cleanKeyword('Cafe\u0301'), 'Caf\u00e9');
    assert.deepEqual(checkedKeyword(' São  Paulo '), { keyword: 'São Paulo', normalized: 'são paulo' });
  });
});

describe('keywordProblem', () => {
  it('accepts ordinary keywords, up to 100 characters (code points)', () => {
    assert.equal(keywordProblem('beach'), null);
    assert.equal(keywordProblem('x'.repeat(MAX_KEYWORD_LENGTH)), null);
    assert.equal(keywordProblem(`  ${'x'.repeat(MAX_KEYWORD_LENGTH)}  `), null, 'white space around does not count');
    assert.equal(keywordProblem('🎬'.repeat(MAX_KEYWORD_LENGTH)), null, 'an emoji is one character');
    assert.equal(characterCount('🎬'), 1);
  });

  it('refuses empty, white-space-only, too long and control characters', () => {
    assert.match(keywordProblem('') ?? '', /empty/);
    assert.match(keywordProblem('   \t\n ') ?? '', /white space/);
    assert.match(keywordProblem('x'.repeat(MAX_KEYWORD_LENGTH + 1)) ?? '', /at most 100/);
    assert.match(keywordProblem('a\u0000b') ?? '', /control/);
    assert.match(keywordProblem('a\u001bb') ?? '', /control/);
  });

  it('counts the length after NFC: 100 NFD letters with accents are 100 characters', () => {
    assert.equal(keywordProblem('e\u0301'.repeat(MAX_KEYWORD_LENGTH)), null);
  });
});

describe('keyword cursor', () => {
  it('round-trips and refuses garbage', () => {
    const c = { rank: 1 as const, normalized: 'rio de janeiro' };
    assert.deepEqual(decodeKeywordCursor(encodeKeywordCursor(c)), c);
    assert.equal(decodeKeywordCursor('not-a-cursor'), null);
    assert.equal(decodeKeywordCursor(Buffer.from('[2,"x"]').toString('base64url')), null);
    assert.equal(decodeKeywordCursor(Buffer.from('[0,""]').toString('base64url')), null);
    assert.equal(decodeKeywordCursor(Buffer.from('{"rank":0}').toString('base64url')), null);
  });
});

describe('marker checks', () => {
  it('needs a time-based asset with a known duration', () => {
    assert.equal(markerTimeline({ type: 'video', status: 'available', durationMs: 10_000 }), 10_000);
    assert.equal(markerTimeline({ type: 'audio', status: 'processing', durationMs: 5_000 }), 5_000, 'known duration suffices');
    assert.deepEqual(codeOf(() => markerTimeline({ type: 'image', status: 'available', durationMs: null })), { status: 422, code: 'NOT_TIME_BASED' });
    assert.deepEqual(codeOf(() => markerTimeline({ type: 'document', status: 'pending', durationMs: null })), { status: 422, code: 'NOT_TIME_BASED' });
    for (const status of ['pending', 'ingesting', 'processing'] as const) {
      assert.deepEqual(codeOf(() => markerTimeline({ type: 'video', status, durationMs: null })), { status: 409, code: 'ASSET_NOT_READY' });
    }
    assert.deepEqual(codeOf(() => markerTimeline({ type: 'video', status: 'failed', durationMs: null })), { status: 409, code: 'DURATION_UNKNOWN' });
  });

  it('checks 0 ≤ in ≤ out ≤ duration', () => {
    assert.equal(codeOf(() => assertMarkerRange(0, 0, 10_000)), null);
    assert.equal(codeOf(() => assertMarkerRange(1_000, 10_000, 10_000)), null, 'ending exactly at the end');
    assert.equal(codeOf(() => assertMarkerRange(10_000, 10_000, 10_000)), null, 'a point at the end');
    assert.deepEqual(codeOf(() => assertMarkerRange(5_000, 4_999, 10_000)), { status: 422, code: 'INVALID_TIMECODES' });
    assert.deepEqual(codeOf(() => assertMarkerRange(-1, 10, 10_000)), { status: 422, code: 'INVALID_TIMECODES' });
    assert.deepEqual(codeOf(() => assertMarkerRange(0, 10_001, 10_000)), { status: 422, code: 'TIMECODE_BEYOND_DURATION' });
    assert.deepEqual(codeOf(() => assertMarkerRange(10_001, 10_002, 10_000)), { status: 422, code: 'TIMECODE_BEYOND_DURATION' });
  });

  it('round-trips its cursor and refuses garbage', () => {
    const c = { inMs: 1500, outMs: 2500, id: '0b7c1a3e-1d2f-4a5b-8c9d-0e1f2a3b4c5d' };
    assert.deepEqual(decodeMarkerCursor(encodeMarkerCursor(c)), c);
    assert.equal(decodeMarkerCursor('garbage'), null);
    assert.equal(decodeMarkerCursor(Buffer.from('[-1,2,"0b7c1a3e-1d2f-4a5b-8c9d-0e1f2a3b4c5d"]').toString('base64url')), null);
    assert.equal(decodeMarkerCursor(Buffer.from('[1,2,"x"]').toString('base64url')), null);
  });
});
