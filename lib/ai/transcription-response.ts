/**
 * A Whisper `verbose_json` answer → Moviola's transcription (pure; test/unit/transcription-response.test.ts).
 * Times become integer milliseconds clamped to the audio, texts are trimmed, empty segments
 * dropped. Nothing is invented: an answer without segments has none, one without `text` is a bad
 * response (ProviderBadResponseError), never an empty transcription.
 */
import { ProviderBadResponseError } from './provider-errors.ts';

export interface TranscriptSegment {
  startMs: number;
  endMs: number;
  text: string;
}

export interface Transcription {
  /** ISO-639-1 code when known (Whisper answers a language name, e.g. "portuguese" → "pt"), else the provider's word, or null. */
  language: string | null;
  text: string;
  segments: TranscriptSegment[];
}

/** What the provider says it billed, when it says so. */
export interface TranscriptionUsage {
  audioSeconds: number | null;
  inputTokens: number | null;
  outputTokens: number | null;
}

/** Whisper's names that differ from Intl's English display names (or are Whisper-only aliases). */
const WHISPER_ALIASES: Record<string, string> = {
  'castilian': 'es',
  'flemish': 'nl',
  'haitian': 'ht',
  'haitian creole': 'ht',
  'letzeburgesch': 'lb',
  'mandarin': 'zh',
  'moldavian': 'ro',
  'moldovan': 'ro',
  'myanmar': 'my',
  'nynorsk': 'nn',
  'norwegian': 'no',
  'panjabi': 'pa',
  'pushto': 'ps',
  'sinhalese': 'si',
  'valencian': 'ca',
  'cantonese': 'yue',
  'hawaiian': 'haw',
};

let namesToCodes: Map<string, string> | null = null;

/** English language name → ISO-639-1 code, from Intl (every two-letter code it names). */
function languageNames(): Map<string, string> {
  if (namesToCodes) return namesToCodes;
  const map = new Map<string, string>();
  const display = new Intl.DisplayNames(['en'], { type: 'language', fallback: 'none' });
  const letters = 'abcdefghijklmnopqrstuvwxyz';
  for (const a of letters) {
    for (const b of letters) {
      const code = a + b;
      let name: string | undefined;
      try {
        name = display.of(code);
      } catch {
        continue;
      }
      if (name && name.toLowerCase() !== code && !map.has(name.toLowerCase())) map.set(name.toLowerCase(), code);
    }
  }
  for (const [name, code] of Object.entries(WHISPER_ALIASES)) map.set(name, code);
  namesToCodes = map;
  return map;
}

/** "portuguese" / "Portuguese" / "pt" / "pt-BR" → "pt"; an unknown word is kept (lower-case); empty → null. */
export function languageCode(value: unknown): string | null {
  if (typeof value !== 'string') return null;
  const v = value.trim().toLowerCase();
  if (!v) return null;
  const tag = /^([a-z]{2,3})(?:[-_][a-z0-9]+)*$/.exec(v);
  if (tag && (tag[1]!.length === 2 || !languageNames().has(v))) return tag[1]!;
  return languageNames().get(v) ?? v;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const finite = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value);

/**
 * Maps the provider's verbose_json answer. `durationMs` (the audio's, from ffprobe) bounds the
 * segment times. Throws ProviderBadResponseError when the answer is not a transcription.
 */
export function parseVerboseTranscription(data: unknown, durationMs: number): Transcription {
  if (!isRecord(data)) {
    throw new ProviderBadResponseError(`expected a JSON object, got ${data === null ? 'null' : Array.isArray(data) ? 'an array' : typeof data}`);
  }
  if (typeof data.text !== 'string') throw new ProviderBadResponseError('the answer has no "text"');
  const rawSegments = data.segments ?? [];
  if (!Array.isArray(rawSegments)) throw new ProviderBadResponseError('"segments" is not an array');
  const bound = (ms: number) => Math.min(Math.max(0, ms), Math.max(0, durationMs));
  const segments: TranscriptSegment[] = [];
  for (const [i, s] of rawSegments.entries()) {
    if (!isRecord(s) || !finite(s.start) || !finite(s.end) || typeof s.text !== 'string') {
      throw new ProviderBadResponseError(`segment ${i} lacks a numeric start/end or a text`);
    }
    const text = s.text.trim();
    if (!text) continue;
    const startMs = bound(Math.round(s.start * 1000));
    const endMs = Math.max(startMs, bound(Math.round(s.end * 1000)));
    segments.push({ startMs, endMs, text });
  }
  segments.sort((a, b) => a.startMs - b.startMs || a.endMs - b.endMs);
  return { language: languageCode(data.language), text: data.text.trim(), segments };
}

/** The provider's own usage figures (`usage: {type:'duration', seconds}` or `{type:'tokens', input_tokens, output_tokens}`). */
export function transcriptionUsage(data: unknown): TranscriptionUsage {
  const usage = isRecord(data) && isRecord(data.usage) ? data.usage : null;
  const int = (v: unknown) => (finite(v) && v >= 0 ? Math.round(v) : null);
  return {
    audioSeconds: usage && finite(usage.seconds) && usage.seconds >= 0 ? usage.seconds : null,
    inputTokens: usage ? int(usage.input_tokens) : null,
    outputTokens: usage ? int(usage.output_tokens) : null,
  };
}
