/** lib/ai/transcription-response.ts: Whisper verbose_json → segments in ms, language codes, usage; bad answers refused. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ProviderBadResponseError } from '../../lib/ai/provider-errors.ts';
import { languageCode, parseVerboseTranscription, transcriptionUsage } from '../../lib/ai/transcription-response.ts';

describe('parseVerboseTranscription', () => {
  it('maps seconds to integer ms, trims texts, drops empty segments, orders them', () => {
    const t = parseVerboseTranscription({
      task: 'transcribe',
      language: 'portuguese',
      duration: 4.2,
      text: '  Olá mundo. Tudo bem?  ',
      segments: [
        { id: 1, start: 1.9996, end: 4.2, text: ' Tudo bem?' },
        { id: 0, start: 0, end: 1.5004, text: ' Olá mundo. ' },
        { id: 2, start: 4.2, end: 4.2, text: '   ' },
      ],
    }, 4200);
    assert.deepEqual(t, {
      language: 'pt',
      text: 'Olá mundo. Tudo bem?',
      segments: [
        { startMs: 0, endMs: 1500, text: 'Olá mundo.' },
        { startMs: 2000, endMs: 4200, text: 'Tudo bem?' },
      ],
    });
  });

  it('clamps times to the audio and never lets a segment end before it starts', () => {
    const t = parseVerboseTranscription({ text: 'x', segments: [{ start: -0.2, end: 9.5, text: 'x' }, { start: 3, end: 2, text: 'y' }] }, 5000);
    assert.deepEqual(t.segments, [{ startMs: 0, endMs: 5000, text: 'x' }, { startMs: 3000, endMs: 3000, text: 'y' }]);
  });

  it('an answer without segments has none (nothing is invented); no language → null', () => {
    assert.deepEqual(parseVerboseTranscription({ text: 'hello' }, 1000), { language: null, text: 'hello', segments: [] });
  });

  it('refuses answers that are not a transcription', () => {
    for (const bad of [null, 'plain text', [1, 2], {}, { text: 3 }, { text: 'a', segments: 'no' }, { text: 'a', segments: [{ start: '0', end: 1, text: 'a' }] }, { text: 'a', segments: [{ start: 0, end: 1 }] }]) {
      assert.throws(() => parseVerboseTranscription(bad, 1000), ProviderBadResponseError, JSON.stringify(bad));
    }
  });
});

describe('languageCode', () => {
  it('turns Whisper language names and tags into ISO-639-1 codes', () => {
    assert.equal(languageCode('portuguese'), 'pt');
    assert.equal(languageCode('English'), 'en');
    assert.equal(languageCode('spanish'), 'es');
    assert.equal(languageCode('castilian'), 'es');
    assert.equal(languageCode('haitian creole'), 'ht');
    assert.equal(languageCode('myanmar'), 'my');
    assert.equal(languageCode('norwegian'), 'no');
    assert.equal(languageCode('pt'), 'pt');
    assert.equal(languageCode('pt-BR'), 'pt');
    assert.equal(languageCode('cantonese'), 'yue');
  });

  it('keeps an unknown word, and gives null for nothing', () => {
    assert.equal(languageCode('klingonese'), 'klingonese');
    assert.equal(languageCode(''), null);
    assert.equal(languageCode(undefined), null);
    assert.equal(languageCode(42), null);
  });
});

describe('transcriptionUsage', () => {
  it("reads the provider's billed seconds or tokens", () => {
    assert.deepEqual(transcriptionUsage({ usage: { type: 'duration', seconds: 12.5 } }), { audioSeconds: 12.5, inputTokens: null, outputTokens: null });
    assert.deepEqual(transcriptionUsage({ usage: { type: 'tokens', input_tokens: 120, output_tokens: 30, total_tokens: 150 } }), { audioSeconds: null, inputTokens: 120, outputTokens: 30 });
    assert.deepEqual(transcriptionUsage({ text: 'x' }), { audioSeconds: null, inputTokens: null, outputTokens: null });
    assert.deepEqual(transcriptionUsage({ usage: { seconds: -1, input_tokens: 'many' } }), { audioSeconds: null, inputTokens: null, outputTokens: null });
  });
});
