/**
 * The music analysis contract: what `analyzeMusicPcm` (lib/audio/analyze-music.ts) computes from
 * mono PCM decoded by ffmpeg. Pure types and constants, shared by the analysers, the activity that
 * runs them, the API and the genre profiles.
 */

/** Bump when any analyser changes its output: cached analyses of an older version are recomputed. */
export const ANALYZER_VERSION = 'audio-1';

/** Analysis sample rate (mono): every input is resampled to it by ffmpeg. */
export const ANALYSIS_SAMPLE_RATE = 22_050;

export interface RhythmAnalysis {
  /** null when there is no pulse to measure (silence, noise); `tempoReason` says why. */
  tempoBpm: number | null;
  /** 0–1. */
  tempoConfidence: number;
  tempoReason: string | null;
  beatsMs: number[];
  downbeatsMs: number[];
  /** How periodic the onset envelope is (0–1): an embedding feature. */
  pulseClarity: number;
}

export interface LoudnessAnalysis {
  /** EBU R128 integrated loudness (LUFS); null for digital silence. */
  integratedLufs: number | null;
  /** Momentary loudness (400 ms windows), one value per `stepMs`; -70 stands for silence. */
  momentary: { stepMs: number; lufs: number[] };
}

export interface Section {
  startMs: number;
  endMs: number;
}

/** Energy / onset peaks worth cutting on. */
export interface Impact {
  timeMs: number;
  /** Relative strength (z-score of the combined onset + energy jump). */
  strength: number;
}

export interface MusicAnalysisResult {
  analyzerVersion: string;
  durationMs: number;
  sampleRate: number;
  rhythm: RhythmAnalysis;
  loudness: LoudnessAnalysis;
  sections: Section[];
  impacts: Impact[];
  /** Fixed-length, L2-normalized; dimension names in EMBEDDING_FEATURES (lib/audio/embedding.ts). */
  embedding: number[];
}

export interface GenreProfile {
  genre: string;
  mean: number[];
  variance: number[];
  sampleCount: number;
}

export interface GenreGuess {
  /** The nearest profile's genre; null when there are no profiles. */
  inferred: string | null;
  /** Softmax probability of the inferred genre (0–1). */
  score: number | null;
  ranking: Array<{ genre: string; score: number }>;
}
