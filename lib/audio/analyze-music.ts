/**
 * The whole local music analysis of mono PCM: one STFT shared by the rhythm analysis and the
 * frame features, then loudness (from the PCM), sections, impacts and the embedding. Pure,
 * deterministic, synchronous; never throws on digital silence, very short or empty input.
 */
import { ANALYZER_VERSION, type MusicAnalysisResult } from './analysis.ts';
import { buildEmbedding } from './embedding.ts';
import { computeFrameFeatures, summarizeFeatures } from './features.ts';
import { detectImpacts } from './impacts.ts';
import { analyzeLoudness } from './loudness.ts';
import { analyzeRhythm } from './rhythm.ts';
import { detectSections } from './sections.ts';
import { stft } from './spectrogram.ts';

export function analyzeMusicPcm(pcm: Float32Array, sampleRate: number): MusicAnalysisResult {
  if (!Number.isFinite(sampleRate) || sampleRate <= 0) throw new RangeError(`sampleRate must be positive, got ${sampleRate}`);
  const samples = sanitize(pcm);
  const durationMs = Math.round((samples.length * 1000) / sampleRate);
  const spec = stft(samples, sampleRate);
  const rhythm = analyzeRhythm(samples, sampleRate, spec);
  const features = computeFrameFeatures(samples, spec);
  return {
    analyzerVersion: ANALYZER_VERSION,
    durationMs,
    sampleRate,
    rhythm,
    loudness: analyzeLoudness(samples, sampleRate),
    sections: detectSections(features, durationMs),
    impacts: detectImpacts(features),
    embedding: buildEmbedding(summarizeFeatures(features), rhythm),
  };
}

/** NaN / ±Infinity samples (a broken decoder) become 0 — copied only when there is one. */
function sanitize(pcm: Float32Array): Float32Array {
  for (let i = 0; i < pcm.length; i++) {
    if (!Number.isFinite(pcm[i])) {
      const out = new Float32Array(pcm.length);
      for (let j = 0; j < pcm.length; j++) out[j] = Number.isFinite(pcm[j]) ? pcm[j] : 0;
      return out;
    }
  }
  return pcm;
}
