/**
 * Novelty-based segmentation (Foote 2000): the track is cut into half-second blocks (frame
 * features averaged per block: MFCC 1–12, chroma and RMS level, each z-scored over the track),
 * their cosine self-similarity matrix is scanned along its diagonal with a Gaussian-tapered
 * checkerboard kernel, and the novelty peaks become boundaries, strongest first, never closer than
 * the minimum section length to each other or to either end.
 *
 * Half-second blocks rather than beats: they exist whatever the rhythm analysis found (no tempo,
 * rubato, silence) and a boundary is still placed to within ±0.25 s.
 */
import type { Section } from './analysis.ts';
import { CHROMA_BINS, type FrameFeatures } from './features.ts';

export interface SectionOptions {
  /** Block length (default 500 ms). */
  blockMs?: number;
  /** Half-width of the checkerboard kernel (default 8 s). */
  kernelMs?: number;
  /** Minimum section length (default 8 s): also the minimum distance of a boundary from either end. */
  minSectionMs?: number;
  /**
   * Minimum novelty of a boundary: (weighted mean similarity within the two halves) − (mean across
   * them), in [−2, 2]. Default 0.05: two unrelated halves score ~0.5–1, a steady texture ~0.
   */
  minNovelty?: number;
  /** A boundary's novelty must also reach mean + this × std of the track's novelty curve (default 1). */
  relativeThreshold?: number;
}

const MFCC_FROM = 1;
const MFCC_TO = 13;

/** Contiguous sections covering [0, durationMs): one section when there is no clear boundary. */
export function detectSections(features: FrameFeatures, durationMs: number, options: SectionOptions = {}): Section[] {
  const blockMs = options.blockMs ?? 500;
  const kernelMs = options.kernelMs ?? 8000;
  const minSectionMs = options.minSectionMs ?? 8000;
  const minNovelty = options.minNovelty ?? 0.05;
  const relativeThreshold = options.relativeThreshold ?? 1;
  const total = Math.max(0, Math.round(durationMs));
  if (total === 0) return [];
  if (total < 2 * minSectionMs) return [{ startMs: 0, endMs: total }];

  const vectors = blockVectors(features, blockMs, total);
  const novelty = checkerboardNovelty(vectors.data, vectors.blocks, vectors.dims, Math.max(2, Math.round(kernelMs / blockMs)));

  // Local maxima (±2 blocks) above the floor and standing out of this track's novelty (mean + k·std),
  // strongest first; keep those far enough from the ends and each other.
  let s1 = 0, s2 = 0;
  for (let i = 0; i < vectors.blocks; i++) {
    s1 += novelty[i];
    s2 += novelty[i] * novelty[i];
  }
  const mean = s1 / vectors.blocks;
  const std = Math.sqrt(Math.max(0, s2 / vectors.blocks - mean * mean));
  const threshold = Math.max(minNovelty, mean + relativeThreshold * std);
  const candidates: number[] = [];
  for (let i = 1; i < vectors.blocks; i++) {
    const v = novelty[i];
    if (!(v >= threshold)) continue;
    let isPeak = true;
    for (let j = Math.max(1, i - 2); j <= Math.min(vectors.blocks - 1, i + 2) && isPeak; j++) {
      if (novelty[j] > v || (novelty[j] === v && j < i)) isPeak = false;
    }
    if (isPeak) candidates.push(i);
  }
  candidates.sort((a, b) => novelty[b] - novelty[a] || a - b);
  const accepted: number[] = [];
  for (const i of candidates) {
    const t = i * blockMs;
    if (t < minSectionMs || total - t < minSectionMs) continue;
    if (accepted.some((a) => Math.abs(a - t) < minSectionMs)) continue;
    accepted.push(t);
  }
  accepted.sort((a, b) => a - b);
  const sections: Section[] = [];
  let start = 0;
  for (const t of accepted) {
    sections.push({ startMs: start, endMs: t });
    start = t;
  }
  sections.push({ startMs: start, endMs: total });
  return sections;
}

/** Block-averaged, per-dimension z-scored, L2-normalized feature vectors (blocks × dims). */
function blockVectors(features: FrameFeatures, blockMs: number, totalMs: number): { data: Float64Array; blocks: number; dims: number } {
  const { frames, hop, sampleRate, nMfcc, mfcc, chroma, rms } = features;
  const blocks = Math.max(1, Math.ceil(totalMs / blockMs));
  const nM = Math.min(MFCC_TO, nMfcc) - MFCC_FROM;
  // MFCC, chroma, and the RMS level counted twice (a louder chorus is a section cue worth 2 dims).
  const dims = nM + CHROMA_BINS + 2;
  const data = new Float64Array(blocks * dims);
  const counts = new Float64Array(blocks);
  for (let t = 0; t < frames; t++) {
    const b = Math.min(blocks - 1, Math.floor((t * hop * 1000) / sampleRate / blockMs));
    const row = b * dims;
    for (let k = 0; k < nM; k++) data[row + k] += mfcc[t * nMfcc + MFCC_FROM + k];
    for (let c = 0; c < CHROMA_BINS; c++) data[row + nM + c] += chroma[t * CHROMA_BINS + c];
    const db = 20 * Math.log10(Math.max(1e-5, rms[t]));
    data[row + nM + CHROMA_BINS] += db;
    data[row + nM + CHROMA_BINS + 1] += db;
    counts[b]++;
  }
  for (let b = 0; b < blocks; b++) {
    if (counts[b] > 0) for (let d = 0; d < dims; d++) data[b * dims + d] /= counts[b];
  }
  // Z-score each dimension over the blocks (a constant dimension becomes 0).
  for (let d = 0; d < dims; d++) {
    let s1 = 0, s2 = 0;
    for (let b = 0; b < blocks; b++) {
      const v = data[b * dims + d];
      s1 += v;
      s2 += v * v;
    }
    const mean = s1 / blocks;
    const std = Math.sqrt(Math.max(0, s2 / blocks - mean * mean));
    for (let b = 0; b < blocks; b++) data[b * dims + d] = std > 1e-9 ? (data[b * dims + d] - mean) / std : 0;
  }
  for (let b = 0; b < blocks; b++) {
    let sq = 0;
    for (let d = 0; d < dims; d++) sq += data[b * dims + d] ** 2;
    const norm = Math.sqrt(sq);
    if (norm > 0) for (let d = 0; d < dims; d++) data[b * dims + d] /= norm;
  }
  return { data, blocks, dims };
}

/**
 * Novelty of a boundary before block i: Gaussian-weighted mean cosine similarity of pairs on the
 * same side (both in [i−L, i) or both in [i, i+L)) minus that of pairs across, over the pairs inside
 * the track; 0 where a side is empty.
 */
function checkerboardNovelty(data: Float64Array, blocks: number, dims: number, halfWidth: number): Float64Array {
  // Cosine similarity matrix (blocks is ~360 for a 3-minute track: 130 k entries).
  const sim = new Float64Array(blocks * blocks);
  for (let i = 0; i < blocks; i++) {
    for (let j = i; j < blocks; j++) {
      let dot = 0;
      for (let d = 0; d < dims; d++) dot += data[i * dims + d] * data[j * dims + d];
      sim[i * blocks + j] = dot;
      sim[j * blocks + i] = dot;
    }
  }
  const L = halfWidth;
  const sigma = L / 2;
  const g = new Float64Array(2 * L);
  for (let a = -L; a < L; a++) g[a + L] = Math.exp(-(((a + 0.5) / sigma) ** 2) / 2);
  const novelty = new Float64Array(blocks);
  for (let i = 1; i < blocks; i++) {
    let same = 0, sameW = 0, cross = 0, crossW = 0;
    const aFrom = Math.max(-L, -i);
    const aTo = Math.min(L, blocks - i);
    for (let a = aFrom; a < aTo; a++) {
      const row = (i + a) * blocks + i;
      const ga = g[a + L];
      for (let b = aFrom; b < aTo; b++) {
        if (a === b) continue;
        const w = ga * g[b + L];
        const s = sim[row + b];
        if ((a < 0) === (b < 0)) {
          same += w * s;
          sameW += w;
        } else {
          cross += w * s;
          crossW += w;
        }
      }
    }
    novelty[i] = sameW > 0 && crossW > 0 ? same / sameW - cross / crossW : 0;
  }
  return novelty;
}
