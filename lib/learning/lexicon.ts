/**
 * The feedback lexicon (issue 9): a deterministic Portuguese + English reading of a feedback text
 * into weight deltas, used when no AI provider is configured (and as the fallback). Pure, no Node
 * APIs. Every number it produces is LEXICON_STEP per phrase, summed per sub-score and clamped to
 * ±MAX_FEEDBACK_DELTA; each delta's reason quotes the phrases (as the user wrote them).
 *
 * Text is compared folded: NFC, split into word tokens (letters and digits, with inner `'`, `’`,
 * `&` and `-`: "don't" → "dont", "hip-hop", "r&b"), each token NFD with diacritics removed and
 * lower-cased ("Não" → "nao", "começar" → "comecar"). A phrase never spans a clause: `. , ; ! ?`,
 * `…`, parentheses, line breaks and the words "mas" / "but" / "porém" / "however" end one.
 *
 * Phrases come in four kinds, which is what a negation does to them:
 *
 * | kind      | examples                                              | negated                         |
 * | --------- | ----------------------------------------------------- | ------------------------------- |
 * | request   | "mais energia", "less energy", "calmer", "cut earlier" | the sign flips                  |
 * | aspect    | "gancho", "on the beat", "a música combina"            | kept (+): "não está no ritmo" and "music doesn't fit" complain the aspect is missing; flipped only when refused: "não quero cortes na batida", "doesn't need a hook" |
 * | complaint | "repetitivo", "slow start", "muito parado"             | cancelled: "não é repetitivo" denies the problem |
 * | defect    | "tela preta", "congelado", "frozen", "black screen"    | kept (+): "sem tela preta", "no black screens" ask to avoid them |
 *
 * **Negation rule.** A phrase is negated when a negation word ("não", "sem", "nem", "nunca",
 * "jamais", "no", "not", "don't", "doesn't", "isn't", "never", "without"…) stands before it in the
 * same clause with at most NEGATION_BRIDGE_TOKENS linking words in between ("quero", "want",
 * "precisa", "need", "é", "is", "de", "the", "mais", "more", "tenha", "have"…; any other word
 * breaks the link), or inside a phrase's gap ("a música não combina"). It is a *refusal* when a
 * linking word is a wish ("quero", "want", "precisa", "need", "mais", "more"): "não quero mais
 * energia", "I don't want more energy", "no more energy", "sem mais energia". Double negations
 * are not resolved.
 *
 * **Confirmed genre.** "gênero: rock", "genero é forró", "o gênero é samba", "genre: rock",
 * "genre is jazz" name any genre (up to three words, ending at the clause or a linking word such
 * as "e"/"and"/"mas"); the looser "é um samba", "isso é samba", "this is jazz", "it's a samba"
 * accept only a genre of KNOWN_GENRES (so "this is great" confirms nothing). "é" must carry its
 * accent (or be written "eh"): unaccented "e" is "and". A negated statement ("não é samba", "this
 * isn't jazz", "o gênero não é rock") confirms nothing. The genre is folded (lower-case, no
 * diacritics: "Forró" → "forro"), a few aliases are mapped ("eletrônica" → "electronic", "hip
 * hop" → "hip-hop"), and it must match GENRE_PATTERN.
 */
import { SUBSCORES, type Subscore } from '../clips/contract.ts';
import { LEXICON_STEP, MAX_FEEDBACK_DELTA, type FeedbackInterpretation, type WeightDelta } from './contract.ts';

/** A confirmed genre as stored: lower-case ASCII, 2–41 characters. */
export const GENRE_PATTERN = /^[a-z][a-z0-9 &-]{1,40}$/;
/** Linking words allowed between a negation word and the phrase it negates. */
export const NEGATION_BRIDGE_TOKENS = 3;
/** The most tokens a phrase's gap (`…`) may span ("a música do vídeo combina"). */
const GAP_TOKENS = 2;

type Kind = 'request' | 'aspect' | 'complaint' | 'defect';
type Effect = readonly [Subscore, 1 | -1];

interface Rule {
  /** Folded words; `…` is a gap of 0–GAP_TOKENS tokens. */
  words: string[];
  kind: Kind;
  effects: readonly Effect[];
}

function rules(kind: Kind, effects: readonly Effect[], phrases: string[]): Rule[] {
  return phrases.map((p) => ({ words: p.split(' '), kind, effects }));
}

const RULES: Rule[] = [
  ...rules('request', [['energy', 1]], [
    'mais energia', 'mais energetico', 'mais energetica', 'mais animado', 'mais animada', 'mais agitado', 'mais agitada',
    'mais intenso', 'mais intensa', 'mais empolgante',
    'more energy', 'more energetic', 'more upbeat', 'more intense', 'more intensity', 'more exciting', 'more lively', 'more hype',
  ]),
  ...rules('request', [['energy', -1]], [
    'menos energia', 'menos energetico', 'menos energetica', 'menos agitado', 'menos agitada', 'menos intenso', 'menos intensa',
    'less energy', 'less energetic', 'less intense', 'less hype',
  ]),
  ...rules('request', [['energy', -1], ['motion', -1]], [
    'mais calmo', 'mais calma', 'mais tranquilo', 'mais tranquila', 'mais suave',
    'calmer', 'more calm', 'more relaxed', 'more chill',
  ]),
  ...rules('request', [['hook', 1]], [
    'corte antes', 'cortar antes', 'corta antes', 'corte mais cedo', 'cortar mais cedo', 'corta mais cedo',
    'comecar antes', 'comece antes', 'comeca antes', 'comecar mais cedo', 'comece mais cedo', 'comeca mais cedo',
    'comeco mais forte', 'inicio mais forte',
    'cut earlier', 'cut sooner', 'start earlier', 'start sooner', 'starts sooner', 'stronger start', 'stronger opening',
  ]),
  ...rules('aspect', [['hook', 1]], ['gancho', 'ganchos', 'hook', 'hooks']),
  ...rules('complaint', [['hook', 1]], [
    'demora para comecar', 'demora a comecar', 'demora pra comecar', 'inicio lento', 'comeco lento', 'comeco fraco', 'inicio fraco',
    'slow start', 'weak start', 'weak opening', 'takes too long to start',
  ]),
  ...rules('request', [['motion', 1]], [
    'mais movimento', 'mais acao', 'mais dinamico', 'mais dinamica',
    'more movement', 'more motion', 'more action', 'more dynamic',
  ]),
  ...rules('request', [['motion', -1]], ['menos movimento', 'less movement', 'less motion']),
  ...rules('complaint', [['motion', 1]], ['muito parado', 'muito parada', 'too static']),
  ...rules('aspect', [['cuts_on_beats', 1]], [
    'no ritmo', 'cortes no ritmo', 'na batida', 'nas batidas', 'cortes na batida', 'cortes nas batidas', 'no tempo da musica',
    'on the beat', 'on beat', 'on the beats', 'cuts on the beat', 'cuts on beats', 'cuts on the beats', 'in time with the music',
  ]),
  ...rules('complaint', [['cuts_on_beats', 1]], ['fora do ritmo', 'fora da batida', 'fora do tempo', 'off beat', 'off the beat', 'offbeat']),
  ...rules('aspect', [['music_fit', 1]], [
    'musica … combina', 'musica … combinou', 'musica … encaixa', 'musica … encaixou', 'trilha … combina', 'trilha … combinou',
    'music … fits', 'music … fit', 'music … matches', 'music … suits', 'song … fits', 'song … matches',
  ]),
  ...rules('complaint', [['music_fit', 1]], ['fora de sincronia', 'dessincronizado', 'dessincronizada', 'out of sync']),
  ...rules('request', [['visual_variety', 1]], [
    'mais variedade', 'mais variado', 'mais variada', 'mais variacao', 'mais diversidade',
    'more variety', 'more varied', 'more variation', 'more diverse', 'more diversity',
  ]),
  ...rules('request', [['visual_variety', -1]], ['menos variedade', 'less variety', 'less variation']),
  ...rules('complaint', [['visual_variety', 1]], ['repetitivo', 'repetitiva', 'monotono', 'monotona', 'repetitive', 'monotonous']),
  ...rules('defect', [['frozen_penalty', 1]], [
    'tela preta', 'telas pretas', 'tela escura', 'quadro preto', 'quadros pretos', 'congelado', 'congelada', 'congelou', 'congela',
    'travado', 'travada', 'travou', 'trava',
    'black screen', 'black screens', 'black frame', 'black frames', 'frozen', 'freeze', 'freezes', 'freezing', 'stuck frame',
  ]),
].sort((a, b) => b.words.filter((w) => w !== '…').length - a.words.filter((w) => w !== '…').length);

const NEGATIONS = new Set([
  'nao', 'sem', 'nem', 'nunca', 'jamais', 'nada',
  'no', 'not', 'dont', 'doesnt', 'didnt', 'isnt', 'wasnt', 'arent', 'cant', 'cannot', 'wont', 'shouldnt', 'never', 'without',
]);
const WISHES = new Set(['quero', 'queria', 'queremos', 'quer', 'precisa', 'preciso', 'precisamos', 'precisava', 'want', 'wants', 'wanted', 'need', 'needs', 'needed', 'mais', 'more']);
const BRIDGES = new Set([
  ...WISHES,
  'de', 'da', 'do', 'que', 'ter', 'tenha', 'tem', 'tinha', 'esta', 'estava', 'ta', 'e', 'eh', 'foi', 'seja', 'ficar', 'fique', 'ficou',
  'muito', 'tao', 'tanto', 'o', 'a', 'os', 'as', 'um', 'uma', 'isso', 'isto', 'eu', 'acho', 'nos',
  'it', 'to', 'be', 'is', 'was', 'are', 'have', 'has', 'had', 'any', 'the', 'an', 'so', 'too', 'much', 'i', 'we', 'think', 'really',
  'does', 'did', 'should', 'there', 'with', 'very', 'you',
]);
const CLAUSE_WORDS = new Set(['mas', 'but', 'porem', 'however', 'entretanto', 'contudo']);

/** Genres the loose statements ("é um samba", "this is jazz") accept; folded. */
export const KNOWN_GENRES: readonly string[] = [
  'samba', 'pagode', 'forro', 'xote', 'baiao', 'sertanejo', 'sertanejo universitario', 'axe', 'frevo', 'maracatu', 'bossa nova', 'mpb',
  'funk', 'funk carioca', 'brega', 'tecnobrega', 'arrocha', 'piseiro', 'pisadinha', 'choro', 'rock', 'pop', 'pop rock', 'jazz', 'blues',
  'soul', 'r&b', 'reggae', 'reggaeton', 'hip-hop', 'rap', 'trap', 'electronic', 'house', 'techno', 'trance', 'edm', 'drum and bass',
  'dubstep', 'disco', 'metal', 'heavy metal', 'punk', 'grunge', 'indie', 'folk', 'country', 'gospel', 'classical', 'opera', 'ballad',
  'k-pop', 'lo-fi', 'salsa', 'tango', 'bolero', 'cumbia', 'merengue', 'bachata', 'kizomba', 'afrobeat', 'afrobeats', 'ska',
];
const GENRE_ALIASES: Record<string, string> = {
  eletronica: 'electronic', eletronico: 'electronic', 'musica eletronica': 'electronic', electronica: 'electronic',
  'hip hop': 'hip-hop', hiphop: 'hip-hop', kpop: 'k-pop', lofi: 'lo-fi', rnb: 'r&b', classica: 'classical', 'musica classica': 'classical',
};
const KNOWN_PHRASES: string[][] = [...KNOWN_GENRES, ...Object.keys(GENRE_ALIASES)].map((g) => g.split(' ')).sort((a, b) => b.length - a.length);
/** Words that end an explicitly named genre ("gênero: forró e eu gostei" → "forro"). */
const GENRE_STOP = new Set([
  'e', 'and', 'mas', 'but', 'com', 'with', 'que', 'that', 'muito', 'very', 'porque', 'because', 'por', 'for', 'eu', 'i', 'mais', 'more',
  'na', 'no', 'in', 'on', 'is', 'was', 'da', 'do', 'de', 'of',
]);
/** Words that are no genre ("the genre is wrong"). */
const NOT_GENRES = new Set([
  'errado', 'errada', 'incorreto', 'incorreta', 'wrong', 'incorrect', 'certo', 'certa', 'correto', 'correta', 'right', 'correct',
  'diferente', 'different', 'outro', 'outra', 'other', 'another', 'desconhecido', 'unknown', 'bom', 'boa', 'good', 'ruim', 'bad',
  'esse', 'essa', 'este', 'esta', 'this', 'that', 'isso', 'it', 'its', 'o', 'a', 'um', 'uma', 'an', 'the', 'qual', 'which', 'what',
]);
const ARTICLES = new Set(['um', 'uma', 'o', 'a', 'an']);

interface Token {
  /** Folded. */
  text: string;
  /** As written (NFC). */
  raw: string;
  start: number;
  end: number;
  clause: number;
  /** A ':' or '=' stands between the previous token and this one. */
  afterColon: boolean;
}

/** NFD, diacritics removed, lower case, apostrophes dropped ("Não" → "nao", "Don't" → "dont"). */
export function foldText(text: string): string {
  return text.normalize('NFD').replace(/\p{M}+/gu, '').toLowerCase().replace(/['’]/g, '');
}

const WORD = /[\p{L}\p{N}]+(?:['’&-][\p{L}\p{N}]+)*/gu;
const CLAUSE_PUNCTUATION = /[.,;!?…()\[\]\n\r]/;

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let clause = 0;
  let previousEnd = 0;
  for (const m of text.matchAll(WORD)) {
    const start = m.index;
    const between = text.slice(previousEnd, start);
    const folded = foldText(m[0]);
    if (tokens.length > 0 && (CLAUSE_PUNCTUATION.test(between) || CLAUSE_WORDS.has(folded))) clause++;
    tokens.push({ text: folded, raw: m[0], start, end: start + m[0].length, clause, afterColon: /[:=]/.test(between) });
    previousEnd = start + m[0].length;
  }
  return tokens;
}

interface Match {
  rule: Rule;
  start: number;
  /** One past the last token. */
  end: number;
  /** Tokens inside the rule's gap. */
  gap: number[];
}

/** The rule's words at token i, within one clause; null when they do not match. */
function matchAt(tokens: Token[], i: number, rule: Rule): Match | null {
  const clause = tokens[i]!.clause;
  let t = i;
  const gap: number[] = [];
  for (let w = 0; w < rule.words.length; w++) {
    const word = rule.words[w]!;
    if (word === '…') {
      const next = rule.words[w + 1]!;
      let skipped = 0;
      while (skipped < GAP_TOKENS && t < tokens.length && tokens[t]!.clause === clause && tokens[t]!.text !== next) {
        gap.push(t);
        t++;
        skipped++;
      }
      continue;
    }
    if (t >= tokens.length || tokens[t]!.clause !== clause || tokens[t]!.text !== word) return null;
    t++;
  }
  return { rule, start: i, end: t, gap };
}

function findMatches(tokens: Token[]): Match[] {
  const matches: Match[] = [];
  for (let i = 0; i < tokens.length;) {
    let found: Match | null = null;
    for (const rule of RULES) {
      found = matchAt(tokens, i, rule);
      if (found) break;
    }
    if (found) {
      matches.push(found);
      i = found.end;
    } else {
      i++;
    }
  }
  return matches;
}

interface Negation {
  /** The first token of the quoted text (the negation word, or the phrase when not negated). */
  from: number;
  negated: boolean;
  refusal: boolean;
}

function negationOf(tokens: Token[], match: Match, consumed: boolean[]): Negation {
  for (const g of match.gap) {
    if (NEGATIONS.has(tokens[g]!.text)) {
      return { from: match.start, negated: true, refusal: match.gap.some((x) => WISHES.has(tokens[x]!.text)) };
    }
  }
  const clause = tokens[match.start]!.clause;
  const bridged: string[] = [];
  for (let j = match.start - 1; j >= 0 && tokens[j]!.clause === clause && !consumed[j]; j--) {
    const word = tokens[j]!.text;
    if (NEGATIONS.has(word)) return { from: j, negated: true, refusal: bridged.some((b) => WISHES.has(b)) };
    if (!BRIDGES.has(word) || bridged.length >= NEGATION_BRIDGE_TOKENS) break;
    bridged.push(word);
  }
  return { from: match.start, negated: false, refusal: false };
}

/** +1 / −1 applied to the rule's effects, or 0 when the negation cancels the phrase. */
function direction(kind: Kind, negation: Negation): 1 | -1 | 0 {
  if (!negation.negated) return 1;
  switch (kind) {
    case 'request':
      return -1;
    case 'aspect':
      return negation.refusal ? -1 : 1;
    case 'complaint':
      return 0;
    case 'defect':
      return 1;
  }
}

const round6 = (x: number) => Math.round(x * 1e6) / 1e6;

/** Sums deltas per sub-score, clamps each sum to ±MAX_FEEDBACK_DELTA, drops zeros; SUBSCORES order, reasons joined. */
export function mergeDeltas(deltas: readonly WeightDelta[]): WeightDelta[] {
  const out: WeightDelta[] = [];
  for (const subscore of SUBSCORES) {
    const mine = deltas.filter((d) => d.subscore === subscore);
    if (mine.length === 0) continue;
    const sum = mine.reduce((s, d) => s + d.delta, 0);
    const delta = round6(Math.max(-MAX_FEEDBACK_DELTA, Math.min(MAX_FEEDBACK_DELTA, sum)));
    if (delta === 0) continue;
    const reasons = [...new Set(mine.map((d) => d.reason).filter((r) => r !== ''))];
    out.push({ subscore, delta, reason: reasons.join('; ').slice(0, 500) });
  }
  return out;
}

export function formatDelta(delta: number): string {
  return `${delta > 0 ? '+' : delta < 0 ? '-' : ''}${Math.abs(delta).toFixed(2)}`;
}

/** A genre as stored: folded, aliases mapped, one space between words; null when it does not match GENRE_PATTERN. */
export function normalizeConfirmedGenre(text: string | null | undefined): string | null {
  if (typeof text !== 'string') return null;
  const folded = foldText(text.normalize('NFC')).replace(/\s+/g, ' ').trim();
  const genre = GENRE_ALIASES[folded] ?? folded;
  return GENRE_PATTERN.test(genre) ? genre : null;
}

/** A known genre (longest first) starting at token i, within the clause: [genre, tokens used]. */
function knownGenreAt(tokens: Token[], i: number): [string, number] | null {
  const clause = tokens[i]?.clause;
  for (const words of KNOWN_PHRASES) {
    if (words.every((w, k) => tokens[i + k]?.text === w && tokens[i + k]!.clause === clause)) {
      const text = words.join(' ');
      return [GENRE_ALIASES[text] ?? text, words.length];
    }
  }
  return null;
}

const isPtCopula = (t: Token) => t.raw.toLowerCase() === 'é' || t.text === 'eh';
const isCopula = (t: Token) => isPtCopula(t) || t.text === 'is' || t.text === 'its' || t.text === 'seria';

/** The genre the text confirms (see the module comment), or null. */
export function detectConfirmedGenre(text: string): string | null {
  const tokens = tokenize(text.normalize('NFC'));
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    // Explicit: "gênero: rock", "genero é forró", "genre is jazz" (optionally "gênero musical").
    if (t.text === 'genero' || t.text === 'genre') {
      let k = i + 1;
      if (tokens[k]?.text === 'musical' && tokens[k]!.clause === t.clause) k++;
      let separated = tokens[k]?.afterColon === true;
      // An unaccented "e" may be "and" ("o gênero e o ritmo…"): then only a known genre counts.
      let knownOnly = false;
      if (tokens[k] && tokens[k]!.clause === t.clause && (isCopula(tokens[k]!) || tokens[k]!.text === 'e')) {
        knownOnly = !separated && !isCopula(tokens[k]!);
        separated = true;
        k++;
      }
      if (!separated) continue;
      while (tokens[k] && ARTICLES.has(tokens[k]!.text) && tokens[k]!.clause === t.clause) k++;
      const first = tokens[k];
      if (!first || first.clause !== t.clause || NEGATIONS.has(first.text)) continue;
      const known = knownGenreAt(tokens, k);
      if (known) return known[0];
      if (knownOnly) continue;
      const words: string[] = [];
      while (words.length < 3 && tokens[k + words.length] && tokens[k + words.length]!.clause === t.clause) {
        const w = tokens[k + words.length]!.text;
        if (GENRE_STOP.has(w) || NEGATIONS.has(w)) break;
        words.push(w);
      }
      if (words.length === 0 || NOT_GENRES.has(words[0]!)) continue;
      const genre = normalizeConfirmedGenre(words.join(' '));
      if (genre) return genre;
      continue;
    }
    // Loose: "é um samba", "isso é samba", "this is jazz", "it's a samba" — known genres only.
    if (isCopula(t) && t.text !== 'seria') {
      const before = tokens[i - 1];
      if (before && before.clause === t.clause && NEGATIONS.has(before.text)) continue;
      let k = i + 1;
      if (tokens[k] && ARTICLES.has(tokens[k]!.text) && tokens[k]!.clause === t.clause) k++;
      if (!tokens[k] || tokens[k]!.clause !== t.clause) continue;
      const known = knownGenreAt(tokens, k);
      if (known) return known[0];
    }
  }
  return null;
}

/** The lexicon's interpretation of a feedback text (pure, deterministic). */
export function interpretWithLexicon(text: string): FeedbackInterpretation {
  const source = text.normalize('NFC');
  const tokens = tokenize(source);
  const matches = findMatches(tokens);
  const consumed = new Array<boolean>(tokens.length).fill(false);
  for (const m of matches) for (let i = m.start; i < m.end; i++) consumed[i] = true;

  const raw: WeightDelta[] = [];
  const cancelled: string[] = [];
  for (const m of matches) {
    const negation = negationOf(tokens, m, consumed);
    const quote = `"${source.slice(tokens[negation.from]!.start, tokens[m.end - 1]!.end)}"`;
    const dir = direction(m.rule.kind, negation);
    if (dir === 0) {
      cancelled.push(quote);
      continue;
    }
    const flipped = negation.negated && m.rule.kind !== 'defect' && dir === -1;
    for (const [subscore, sign] of m.rule.effects) {
      raw.push({ subscore, delta: sign * dir * LEXICON_STEP, reason: `${quote}${flipped ? ' (negated)' : ''}` });
    }
  }
  const deltas = mergeDeltas(raw).map((d) => ({ ...d, reason: `lexicon: ${d.reason}` }));
  const confirmedGenre = detectConfirmedGenre(source);

  const parts: string[] = [];
  if (deltas.length > 0) parts.push(deltas.map((d) => `${d.subscore} ${formatDelta(d.delta)}`).join(', '));
  else if (matches.length > 0) parts.push('no weight change');
  if (confirmedGenre) parts.push(`confirms genre "${confirmedGenre}"`);
  let summary = parts.length > 0 ? `Lexicon: ${parts.join('; ')}` : 'Lexicon: nothing recognised in the feedback';
  if (cancelled.length > 0) summary += ` (ignored as negated: ${cancelled.join(', ')})`;
  return { source: 'lexicon', deltas, confirmedGenre, summary: `${summary.slice(0, 299)}.` };
}
