/**
 * Hand-made video analyses for the suggestion tests: per-second series from functions, "looks"
 * (HSV histogram + pHash) that are far apart from each other.
 */
import { VIDEO_ANALYZER_VERSION, type VideoAnalysis } from '../../lib/clips/contract.ts';

const HSV_BINS = 8;

/** One look: a histogram peaked on bin `look % HSV_BINS` and a pHash far from the other looks'. */
export function look(id: number): { hsv: number[]; phash: string } {
  const hsv = new Array<number>(HSV_BINS).fill(0.02);
  hsv[id % HSV_BINS] = 1;
  const sum = hsv.reduce((a, b) => a + b, 0);
  // Looks 0…7: disjoint 8-bit blocks set, so any two differ by 16 bits.
  const hash = (0xffn << BigInt(8 * (id % 8))).toString(16).padStart(16, '0');
  return { hsv: hsv.map((x) => x / sum), phash: hash };
}

export interface AnalysisSpec {
  durationMs: number;
  motion?: (s: number) => number;
  energy?: (s: number) => number;
  look?: (s: number) => number;
  black?: (s: number) => boolean;
  frozen?: (s: number) => boolean;
  cutsMs?: number[];
  impacts?: Array<{ timeMs: number; strength: number }>;
  onsetPeaksMs?: number[];
  hasAudio?: boolean;
}

export function analysis(spec: AnalysisSpec): VideoAnalysis {
  const n = Math.ceil(spec.durationMs / 1000);
  const secs = Array.from({ length: n }, (_, i) => i);
  const hasAudio = spec.hasAudio ?? true;
  const looks = secs.map((s) => look(spec.look ? spec.look(s) : 0));
  return {
    analyzerVersion: VIDEO_ANALYZER_VERSION,
    durationMs: spec.durationMs,
    width: 640,
    height: 360,
    sampleFps: 4,
    cutsMs: spec.cutsMs ?? [],
    motion: secs.map((s) => (spec.motion ? spec.motion(s) : 0.2)),
    black: secs.map((s) => (spec.black ? spec.black(s) : false)),
    frozen: secs.map((s) => (spec.frozen ? spec.frozen(s) : false)),
    hsv: looks.map((l) => l.hsv),
    phash: looks.map((l) => l.phash),
    audio: {
      hasAudio,
      reason: hasAudio ? null : 'the file has no audio stream',
      energy: hasAudio ? secs.map((s) => (spec.energy ? spec.energy(s) : 0.5)) : [],
      onset: { frameRate: 43.066, values: [] },
      onsetPeaksMs: hasAudio ? (spec.onsetPeaksMs ?? []) : [],
    },
    impacts: spec.impacts ?? [],
  };
}

