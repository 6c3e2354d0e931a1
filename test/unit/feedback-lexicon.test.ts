/** lib/learning/lexicon.ts: Portuguese and English phrases → weight deltas, negations, genres. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SUBSCORES, type Subscore } from '../../lib/clips/contract.ts';
import { LEXICON_STEP, MAX_FEEDBACK_DELTA } from '../../lib/learning/contract.ts';
import { detectConfirmedGenre, GENRE_PATTERN, interpretWithLexicon, KNOWN_GENRES, mergeDeltas, normalizeConfirmedGenre } from '../../lib/learning/lexicon.ts';

const S = LEXICON_STEP;
type Expected = Partial<Record<Subscore, number>>;

/** [text, deltas by sub-score] — an empty object: nothing changes. */
const CASES: Array<[string, Expected]> = [
  // Portuguese requests
  ['Quero mais energia', { energy: S }],
  ['MAIS ANIMADO!', { energy: S }],
  ['menos energia', { energy: -S }],
  ['podia ser mais calmo', { energy: -S, motion: -S }],
  ['corte antes', { hook: S }],
  ['dava pra cortar antes', { hook: S }],
  ['começar mais cedo', { hook: S }],
  ['falta gancho', { hook: S }],
  ['mais movimento', { motion: S }],
  ['cortes na batida', { cuts_on_beats: S }],
  ['ficou no ritmo', { cuts_on_beats: S }],
  ['a música combina', { music_fit: S }],
  ['mais variedade', { visual_variety: S }],
  ['tem tela preta no meio', { frozen_penalty: S }],
  ['a imagem ficou congelada', { frozen_penalty: S }],
  // English requests
  ['more energy please', { energy: S }],
  ['More energetic', { energy: S }],
  ['less energy', { energy: -S }],
  ['calmer', { energy: -S, motion: -S }],
  ['more calm', { energy: -S, motion: -S }],
  ['cut earlier', { hook: S }],
  ['start sooner', { hook: S }],
  ['needs a better hook', { hook: S }],
  ['more movement', { motion: S }],
  ['more motion', { motion: S }],
  ['cuts on the beat', { cuts_on_beats: S }],
  ['the music fits', { music_fit: S }],
  ['more variety', { visual_variety: S }],
  ['black screen at the end', { frozen_penalty: S }],
  ['the picture is frozen', { frozen_penalty: S }],
  // accents and case do not matter
  ['COMECAR MAIS CEDO', { hook: S }],
  ['Musica Combina', { music_fit: S }],
  // negations: requests flip
  ['não quero mais energia', { energy: -S }],
  ['nao quero mais energia', { energy: -S }],
  ['sem mais energia', { energy: -S }],
  ['nunca mais energia', { energy: -S }],
  ["I don't want more energy", { energy: -S }],
  ['I do not want more energy', { energy: -S }],
  ['not more energy', { energy: -S }],
  ['no more energy', { energy: -S }],
  ['não precisa de menos energia', { energy: S }],
  // negations: a complaint about a missing aspect keeps it; refusing the aspect flips it
  ['não está no ritmo', { cuts_on_beats: S }],
  ['a música não combina', { music_fit: S }],
  ["the music doesn't fit", { music_fit: S }],
  ['sem gancho', { hook: S }],
  ['não quero cortes na batida', { cuts_on_beats: -S }],
  ["it doesn't need a hook", { hook: -S }],
  // negations: a denied complaint is cancelled; defects stay defects
  ['não é repetitivo', {}],
  ["it's not repetitive", {}],
  ['repetitivo', { visual_variety: S }],
  ['sem tela preta', { frozen_penalty: S }],
  ['no black screens please', { frozen_penalty: S }],
  // the negation reaches a few linking words, not across other words or clauses
  ['não gostei do começo, mais energia', { energy: S }],
  ['não, mais energia', { energy: S }],
  ['não ficou bom mas quero mais energia', { energy: S }],
  ['corte no começo mais energia', { energy: S }],
  // several phrases, sums and clamps
  ['mais energia e mais movimento', { energy: S, motion: S }],
  ['mais energia, more energy, mais animado', { energy: MAX_FEEDBACK_DELTA }],
  ['mais energia, menos energia', {}],
  ['more energy, more motion, no black screens, cut earlier', { energy: S, motion: S, frozen_penalty: S, hook: S }],
  // nothing recognised
  ['gostei muito, ficou ótimo', {}],
  ['great job!', {}],
  ['', {}],
  ['energia', {}],
];

describe('interpretWithLexicon: the phrase table', () => {
  for (const [text, expected] of CASES) {
    it(JSON.stringify(text), () => {
      const result = interpretWithLexicon(text);
      assert.equal(result.source, 'lexicon');
      const got: Expected = {};
      for (const d of result.deltas) got[d.subscore] = d.delta;
      assert.deepEqual(got, expected, JSON.stringify(result));
      for (const d of result.deltas) {
        assert.ok(Math.abs(d.delta) <= MAX_FEEDBACK_DELTA);
        assert.match(d.reason, /^lexicon: "/, 'the reason quotes the phrase');
      }
      assert.deepEqual(result.deltas.map((d) => d.subscore), SUBSCORES.filter((s) => s in expected), 'SUBSCORES order, one delta per sub-score');
    });
  }
});

describe('interpretWithLexicon: reasons and summary', () => {
  it('quotes the phrase as written, with its negation', () => {
    assert.equal(interpretWithLexicon('Quero MAIS ENERGIA!').deltas[0]!.reason, 'lexicon: "MAIS ENERGIA"');
    assert.equal(interpretWithLexicon('Não quero mais energia.').deltas[0]!.reason, 'lexicon: "Não quero mais energia" (negated)');
    assert.equal(interpretWithLexicon('sem tela preta').deltas[0]!.reason, 'lexicon: "sem tela preta"');
    assert.equal(interpretWithLexicon('mais energia, more energy').deltas[0]!.reason, 'lexicon: "mais energia"; "more energy"');
  });

  it('summarizes in one English line', () => {
    assert.equal(interpretWithLexicon('mais energia e é um samba').summary, 'Lexicon: energy +0.05; confirms genre "samba".');
    assert.equal(interpretWithLexicon('mais calmo').summary, 'Lexicon: energy -0.05, motion -0.05.');
    assert.equal(interpretWithLexicon('não é repetitivo').summary, 'Lexicon: no weight change (ignored as negated: "não é repetitivo").');
  });

  it('says when nothing is recognised', () => {
    const r = interpretWithLexicon('Adorei o vídeo!');
    assert.deepEqual(r, { source: 'lexicon', deltas: [], confirmedGenre: null, summary: 'Lexicon: nothing recognised in the feedback.' });
  });

  it('is deterministic', () => {
    const text = 'Não quero mais energia, mas more motion; gênero: forró';
    assert.deepEqual(interpretWithLexicon(text), interpretWithLexicon(text));
  });
});

describe('confirmed genre', () => {
  const GENRES: Array<[string, string | null]> = [
    ['é um samba', 'samba'],
    ['Isso é samba!', 'samba'],
    ['é forró', 'forro'],
    ['gênero: rock', 'rock'],
    ['Gênero: Rock', 'rock'],
    ['genero é forró', 'forro'],
    ['o gênero é bossa nova, gostei', 'bossa nova'],
    ['gênero musical: pagode', 'pagode'],
    ['genre: rock', 'rock'],
    ['genre is jazz', 'jazz'],
    ['genre: vaporwave', 'vaporwave'],
    ['genre: dark ambient and more energy', 'dark ambient'],
    ['gênero: eletrônica', 'electronic'],
    ['gênero: hip hop', 'hip-hop'],
    ['this is jazz', 'jazz'],
    ["it's a samba", 'samba'],
    ['it is a samba', 'samba'],
    ['this is drum and bass', 'drum and bass'],
    // negated
    ['não é samba', null],
    ['isso não é um samba', null],
    ['o gênero não é rock', null],
    ["this isn't jazz", null],
    ["it's not a samba", null],
    ['genre: not rock', null],
    // the last statement that is not negated wins over a negated one
    ['não é rock, é pagode', 'pagode'],
    // no genre
    ['this is great', null],
    ['é um absurdo de bom', null],
    ['e um samba', null],
    ['rock e samba', null],
    ['the genre is wrong', null],
    ['the genre detection is off', null],
    ['o gênero e o ritmo estão bons', null],
    ['mais energia', null],
  ];
  for (const [text, genre] of GENRES) {
    it(`${JSON.stringify(text)} → ${genre}`, () => {
      assert.equal(detectConfirmedGenre(text), genre);
      assert.equal(interpretWithLexicon(text).confirmedGenre, genre);
      if (genre !== null) assert.match(genre, GENRE_PATTERN);
    });
  }

  it('every known genre matches the pattern and is confirmed by "é um …" / "this is …"', () => {
    for (const g of KNOWN_GENRES) {
      assert.match(g, GENRE_PATTERN);
      assert.equal(detectConfirmedGenre(`é ${g}`), g, g);
      assert.equal(detectConfirmedGenre(`genre: ${g}`), g, g);
    }
  });

  it('normalizeConfirmedGenre folds, maps aliases and validates', () => {
    assert.equal(normalizeConfirmedGenre('  Forró '), 'forro');
    assert.equal(normalizeConfirmedGenre('Hip  Hop'), 'hip-hop');
    assert.equal(normalizeConfirmedGenre('R&B'), 'r&b');
    assert.equal(normalizeConfirmedGenre('música popular brasileira'), 'musica popular brasileira');
    assert.equal(normalizeConfirmedGenre('r'), null);
    assert.equal(normalizeConfirmedGenre('R&B/Soul'), null);
    assert.equal(normalizeConfirmedGenre('80s'), null);
    assert.equal(normalizeConfirmedGenre('x'.repeat(42)), null);
    assert.equal(normalizeConfirmedGenre(null), null);
  });
});

describe('mergeDeltas', () => {
  it('sums per sub-score, clamps to ±MAX_FEEDBACK_DELTA, drops zeros, keeps SUBSCORES order', () => {
    assert.deepEqual(mergeDeltas([
      { subscore: 'motion', delta: 0.08, reason: 'a' },
      { subscore: 'energy', delta: -0.07, reason: 'b' },
      { subscore: 'motion', delta: 0.08, reason: 'c' },
      { subscore: 'energy', delta: -0.07, reason: 'b' },
      { subscore: 'hook', delta: 0.05, reason: 'd' },
      { subscore: 'hook', delta: -0.05, reason: 'e' },
    ]), [
      { subscore: 'energy', delta: -MAX_FEEDBACK_DELTA, reason: 'b' },
      { subscore: 'motion', delta: MAX_FEEDBACK_DELTA, reason: 'a; c' },
    ]);
  });
});
