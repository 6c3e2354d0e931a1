/**
 * Impacts: the moments worth cutting on — hits, drops, entries. Per STFT frame, two cues:
 *
 * - onset strength (mean positive log-mel change, FrameFeatures.onset);
 * - loudness jump: the mean RMS level (dB) of the next 250 ms minus that of the previous 250 ms,
 *   positive part (a drop or an entry is a jump even when its attack is soft).
 *
 * Each is z-scored over the track, their sum z-scored again; frames that are local maxima of that
 * combination, at least `minStrength`, not in a quiet passage, are impacts, the strongest first,
 * no two closer than `minSpacingMs`, at most one per `maxDensityMs` of track on average.
 */
import type { Impact } from './analysis.ts';
import { activeFrames, type FrameFeatures } from './features.ts';

export interface ImpactOptions {
  /** Default 1 s. */
  minSpacingMs?: number;
  /** Minimum z-score of the combined cue (default 1.5). */
  minStrength?: number;
  /** Cap on the count: duration / maxDensityMs (default 2 s), at least 1. */
  maxDensityMs?: number;
}

const JUMP_WINDOW_MS = 250;

export function detectImpacts(features: FrameFeatures, options: ImpactOptions = {}): Impact[] {
  const minSpacingMs = options.minSpacingMs ?? 1000;
  const minStrength = options.minStrength ?? 1.5;
  const maxDensityMs = options.maxDensityMs ?? 2000;
  const { frames, hop, sampleRate, onset, rms } = features;
  if (frames < 3) return [];
  const frameMs = (hop * 1000) / sampleRate;

  const active = activeFrames(features);
  const onsetCue = new Float64Array(frames);
  for (let t = 0; t < frames; t++) onsetCue[t] = onset[t];
  // Prefix sums of the level (dB, floored at −100) for the windowed means.
  const prefix = new Float64Array(frames + 1);
  for (let t = 0; t < frames; t++) prefix[t + 1] = prefix[t] + 20 * Math.log10(Math.max(1e-5, rms[t]));
  const w = Math.max(1, Math.round(JUMP_WINDOW_MS / frameMs));
  const jumpCue = new Float64Array(frames);
  for (let t = 1; t < frames; t++) {
    const a0 = Math.max(0, t - w);
    const b1 = Math.min(frames, t + w);
    const before = (prefix[t] - prefix[a0]) / (t - a0);
    const after = (prefix[b1] - prefix[t]) / (b1 - t);
    jumpCue[t] = Math.max(0, after - before);
  }
  const onsetVaries = zScore(onsetCue);
  const jumpVaries = zScore(jumpCue);
  if (!onsetVaries && !jumpVaries) return [];
  const combined = new Float64Array(frames);
  for (let t = 0; t < frames; t++) combined[t] = onsetCue[t] + jumpCue[t];
  if (!zScore(combined)) return [];

  const candidates: number[] = [];
  for (let t = 1; t < frames - 1; t++) {
    const v = combined[t];
    if (v < minStrength || !active[t]) continue;
    if (v >= combined[t - 1] && v > combined[t + 1]) candidates.push(t);
  }
  candidates.sort((a, b) => combined[b] - combined[a] || a - b);
  const cap = Math.max(1, Math.floor((frames * frameMs) / maxDensityMs));
  const minGap = minSpacingMs / frameMs;
  const chosen: number[] = [];
  for (const t of candidates) {
    if (chosen.length >= cap) break;
    if (chosen.some((c) => Math.abs(c - t) < minGap)) continue;
    chosen.push(t);
  }
  chosen.sort((a, b) => a - b);
  return chosen.map((t) => ({ timeMs: Math.round(t * frameMs), strength: Math.round(combined[t] * 100) / 100 }));
}

/** In-place z-score; false (and all zeros) when the series is empty or constant. */
export function zScore(x: Float64Array): boolean {
  const n = x.length;
  if (n === 0) return false;
  let s1 = 0, s2 = 0;
  for (let i = 0; i < n; i++) {
    s1 += x[i];
    s2 += x[i] * x[i];
  }
  const mean = s1 / n;
  const std = Math.sqrt(Math.max(0, s2 / n - mean * mean));
  if (!(std > 1e-9)) {
    x.fill(0);
    return false;
  }
  for (let i = 0; i < n; i++) x[i] = (x[i] - mean) / std;
  return true;
}
