/**
 * The clip-jobs contract (issue 7): what video analysis produces, what music sync finds and what
 * suggestClips returns. Pure types and constants, shared by the analysers, the activities, the
 * workflows and the API.
 */

/** Bump when the video analysers change their output: cached video analyses of an older version are recomputed. */
export const VIDEO_ANALYZER_VERSION = 'video-1';

/** Per-second series cover [i s, i+1 s); the last second may be partial. */
export interface VideoAnalysis {
  analyzerVersion: string;
  durationMs: number;
  width: number | null;
  height: number | null;
  /** Frames per second sampled for the visual analysis. */
  sampleFps: number;
  /** Hard scene cuts (ms), ascending. Fades and one-frame flashes are not cuts. */
  cutsMs: number[];
  /** Mean inter-frame motion energy per second, 0–1. */
  motion: number[];
  /** Per second: the picture is black (very dark) or frozen (no change) for most of that second. */
  black: boolean[];
  frozen: boolean[];
  /** Per-second visual embedding: a normalized HSV histogram, and a 64-bit perceptual hash (16 hex digits). */
  hsv: number[][];
  phash: string[];
  audio: {
    hasAudio: boolean;
    /** Why the audio sub-scores are 0 when there is no usable audio. */
    reason: string | null;
    /** RMS energy per second, 0–1 (relative to the loudest second). */
    energy: number[];
    /** Onset envelope of the performance's own sound (for music sync and hooks). */
    onset: { frameRate: number; values: number[] };
    onsetPeaksMs: number[];
  };
  /** Impact moments: z-scored onset + loudness jump + motion. */
  impacts: Array<{ timeMs: number; strength: number }>;
}

export interface MusicSync {
  /** Where the track's t=0 sits in the video (ms; may be negative when the video starts mid-track); null when not found. */
  offsetMs: number | null;
  /** The correlation peak's z-score. */
  confidence: number;
  found: boolean;
  reason: string;
}

/** The sub-scores of a suggestion (each 0–1 before weighting). */
export const SUBSCORES = ['hook', 'energy', 'motion', 'cuts_on_beats', 'music_fit', 'visual_variety', 'frozen_penalty'] as const;
export type Subscore = (typeof SUBSCORES)[number];
export type Weights = Record<Subscore, number>;

/** Which version of each learning layer the weights came from (absent layers are not listed). */
export type WeightsVersion = Partial<Record<'global' | 'genre' | 'artist' | 'music', string>>;

export interface ClipMusic {
  beatsMs: number[];
  downbeatsMs: number[];
  sync: MusicSync;
  /** The track's length (a clip with music lies inside the track when the sync is found). */
  durationMs: number;
}

export interface SuggestInput {
  analysis: VideoAnalysis;
  music: ClipMusic | null;
  minLengthMs: number;
  maxLengthMs: number;
  weights: Weights;
  weightsVersion: WeightsVersion;
}

export interface Suggestion {
  index: number;
  startMs: number;
  endMs: number;
  /** 0–100. */
  score: number;
  subscores: Record<Subscore, number>;
  reasons: string[];
  musicOffsetMs: number | null;
  weightsVersion: WeightsVersion;
}

/** 2 variants without music, 3 with; starts ≥ 5 s apart; overlap ≤ 50 %. */
export const VARIANTS_WITHOUT_MUSIC = 2;
export const VARIANTS_WITH_MUSIC = 3;
export const MIN_START_GAP_MS = 5_000;
export const MAX_OVERLAP = 0.5;
