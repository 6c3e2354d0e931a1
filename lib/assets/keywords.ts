/**
 * Keywords of assets: how a keyword is cleaned and normalized, and what makes one invalid (pure:
 * no I/O). The normalized form is what is unique per asset and what the tenant-wide search matches.
 */

/** Characters (code points, as PostgreSQL's varchar(100) counts them) of a keyword and of its normalized form. */
export const MAX_KEYWORD_LENGTH = 100;
export const MAX_CATEGORY_LENGTH = 64;
/** Keywords one asset may carry; one more is 409 KEYWORD_LIMIT_REACHED. */
export const MAX_KEYWORDS_PER_ASSET = 500;

/** Any run of Unicode white space (spaces, tabs, new lines, NBSP, ideographic space…). */
const WHITESPACE_RUN = /\s+/gu;
/** Control characters left after white space is collapsed (NUL, escapes…): never part of a keyword. */
const CONTROL = /\p{Cc}/u;

/** Code points, not UTF-16 units: "🎬" is one character. */
export function characterCount(text: string): number {
  let n = 0;
  for (const _ of text) n++;
  return n;
}

/** The keyword as shown: Unicode NFC, trimmed, inner white space collapsed to one space, case kept. */
export function cleanKeyword(raw: string): string {
  return raw.normalize('NFC').replace(WHITESPACE_RUN, ' ').trim();
}

/**
 * The keyword as compared: trimmed, inner white space collapsed, lower-case (locale-independent),
 * Unicode NFC. "  Rio   de  JANEIRO " → "rio de janeiro"; "e\u0301" (NFD) → "é" (NFC).
 */
export function normalizeKeyword(raw: string): string {
  // NFC again after lower-casing: a lower-case mapping may yield a sequence that composes differently.
  return cleanKeyword(raw).toLowerCase().normalize('NFC');
}

/** Why `raw` cannot be a keyword (a message for VALIDATION_FAILED details), or null when it can. */
export function keywordProblem(raw: string): string | null {
  const keyword = cleanKeyword(raw);
  if (keyword === '') return raw === '' ? 'must not be empty' : 'must not be only white space';
  if (CONTROL.test(keyword)) return 'must not contain control characters';
  if (characterCount(keyword) > MAX_KEYWORD_LENGTH || characterCount(normalizeKeyword(raw)) > MAX_KEYWORD_LENGTH) {
    return `must be at most ${MAX_KEYWORD_LENGTH} characters`;
  }
  return null;
}

export interface CheckedKeyword {
  keyword: string;
  normalized: string;
}

/** The cleaned and normalized forms of a valid keyword (call `keywordProblem` first). */
export function checkedKeyword(raw: string): CheckedKeyword {
  return { keyword: cleanKeyword(raw), normalized: normalizeKeyword(raw) };
}

/** A free-text field stored in PostgreSQL text columns: NUL is refused there, so it is refused here. */
export function hasNul(text: string): boolean {
  return text.includes('\u0000');
}

/**
 * Keyset cursor of the tenant-wide keyword search, ordered by (rank, normalized): rank 0 for
 * keywords starting with the query, 1 for those only containing it.
 */
export interface KeywordCursor {
  rank: 0 | 1;
  normalized: string;
}

export function encodeKeywordCursor(cursor: KeywordCursor): string {
  return Buffer.from(JSON.stringify([cursor.rank, cursor.normalized])).toString('base64url');
}

/** The cursor, or null when it is not one of ours. */
export function decodeKeywordCursor(text: string): KeywordCursor | null {
  try {
    const value: unknown = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
    if (!Array.isArray(value) || value.length !== 2) return null;
    const [rank, normalized] = value as unknown[];
    if ((rank !== 0 && rank !== 1) || typeof normalized !== 'string') return null;
    if (normalized === '' || characterCount(normalized) > MAX_KEYWORD_LENGTH || hasNul(normalized)) return null;
    return { rank, normalized };
  } catch {
    return null;
  }
}
