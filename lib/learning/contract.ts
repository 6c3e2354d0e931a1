/**
 * The learning-centers contract (issue 9): what a center is, what feedback carries to it and what
 * its interpretation produces. Pure types, constants and validators shared by the `learningCenter`
 * workflow, its activities and the API (no Node APIs: a workflow imports it).
 *
 * A center (one per tenant and scope: `global`, `artist-<id>`, `music-<id>`) holds the suggestion
 * weights of lib/clips/weights.ts. The global center's weights replace the global baseline; an
 * artist or music center is the baseline plus what it learned, and suggestions add its difference
 * from its own baseline on top of its parent's weights (global → artist → music), so a music center
 * that learned "more energy" raises energy whatever the artist's center says about the rest.
 */
import { SUBSCORES, type Subscore, type Weights } from '../clips/contract.ts';

export type CenterScopeKind = 'global' | 'artist' | 'music';
export type CenterStatus = 'active' | 'paused';
export const CENTER_LABELS = ['stable', 'experimental'] as const;
export type CenterLabel = (typeof CENTER_LABELS)[number];

export type ParsedScope = { kind: 'global' } | { kind: 'artist'; artistId: string } | { kind: 'music'; musicId: string };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** `global`, `artist-<uuid>` or `music-<uuid>` (lower-case), else null. */
export function parseScope(scope: unknown): ParsedScope | null {
  if (typeof scope !== 'string') return null;
  if (scope === 'global') return { kind: 'global' };
  const m = /^(artist|music)-(.+)$/.exec(scope);
  if (!m || !UUID.test(m[2]!)) return null;
  return m[1] === 'artist' ? { kind: 'artist', artistId: m[2]! } : { kind: 'music', musicId: m[2]! };
}

export function scopeOf(parsed: ParsedScope): string {
  return parsed.kind === 'global' ? 'global' : parsed.kind === 'artist' ? `artist-${parsed.artistId}` : `music-${parsed.musicId}`;
}

/** The workflow id of a center: a business key, so a second start of the same center is refused. */
export function learningCenterWorkflowId(tenantId: string, scope: string): string {
  return `learning-center-${tenantId}-${scope}`;
}

/** Feedback text limits (characters). */
export const FEEDBACK_TEXT_MAX = 5_000;
/** A rating is an integer 1–5. */
export const RATING_MIN = 1;
export const RATING_MAX = 5;
/** The largest change one feedback may make to one weight (AI deltas are clamped to it). */
export const MAX_FEEDBACK_DELTA = 0.1;
/** The step the lexicon applies for one phrase ("more energy" → energy + 0.05). */
export const LEXICON_STEP = 0.05;
/** Versions a center keeps in its workflow state (the baseline and the last stable one always stay); all are in the database. */
export const CENTER_HISTORY_IN_STATE = 200;

/** One change to one sub-score's weight, and why. */
export interface WeightDelta {
  subscore: Subscore;
  delta: number;
  reason: string;
}

/** What a feedback text means for the weights: produced once per feedback and stored on its row. */
export interface FeedbackInterpretation {
  source: 'ai' | 'lexicon';
  deltas: WeightDelta[];
  /** A genre the feedback confirms for the music (e.g. "é um samba", "genre: rock"), lower-case; null when none. */
  confirmedGenre: string | null;
  /** A one-line summary for people reading the learning events. */
  summary: string;
}

/** Which stored feedback an activity works on. */
export interface FeedbackRef {
  tenantId: string;
  kind: 'music' | 'artist';
  feedbackId: string;
}

/** The signal `feedback`: a stored feedback row, by reference (its text stays in the database). */
export interface FeedbackEvent {
  feedbackId: string;
  kind: 'music' | 'artist';
  tenantId: string;
  musicId: string | null;
  artistId: string;
  clipJobId: string | null;
  variant: number | null;
  rating: number | null;
  authorId: string;
  /** How to interpret the text: `ai` when a provider was configured when the feedback arrived. */
  interpretWith: 'ai' | 'lexicon';
  /** ISO time the API stored it. */
  receivedAt: string;
}

export type VersionSource = 'baseline' | 'feedback' | 'edit' | 'revert';

export interface CenterVersion {
  version: number;
  weights: Weights;
  /** The label of the center when this version was made (experimental versions are not served to ordinary jobs). */
  label: CenterLabel;
  source: VersionSource;
  /** A user id, or `feedback:<id>` for a learned version. */
  author: string;
  reason: string;
  /** ISO time (workflow time). */
  createdAt: string;
  /** For a revert: the version restored. */
  revertedTo?: number;
}

/** What the `current` query and every update answer. */
export interface CenterCurrent {
  centerId: string;
  tenantId: string;
  scope: string;
  status: CenterStatus;
  label: CenterLabel;
  version: number;
  weights: Weights;
  baselineVersion: number;
  /** The weights the center was created with (an artist or music center adds its difference from them to its parent's). */
  baselineWeights: Weights;
  /** The newest version made while the center was stable (served to non-experimental jobs); null if none. */
  stableVersion: number | null;
  stableWeights: Weights | null;
  /** Feedback events applied, and waiting (kept while paused, applied in order on resume). */
  feedbackApplied: number;
  feedbackPending: number;
  /** Confirmed genres of the center's music and how often each was confirmed. */
  genreConfirmations: Record<string, number>;
  archived: boolean;
  /** Bumped by every change of state: projection writes carry it, so an older write never overwrites a newer one. */
  revision: number;
}

/** Update arguments. */
export interface EditWeightsRequest {
  /** Some or all of the seven weights; the others keep their current value. */
  weights: Partial<Weights>;
  reason: string;
  author: string;
}
export interface SetLabelRequest {
  label: CenterLabel;
  author: string;
}
export interface RevertRequest {
  to: number | 'baseline';
  reason?: string;
  author: string;
}
export interface ArchiveRequest {
  author: string;
}

/** Why an update was rejected: the ApplicationFailure type the API maps to 422 / 409. */
export const CENTER_REJECTIONS = {
  UNKNOWN_VERSION: 422,
  INVALID_WEIGHTS: 422,
  INVALID_LABEL: 422,
  INVALID_REASON: 422,
  ALREADY_PAUSED: 409,
  ALREADY_ACTIVE: 409,
  CENTER_ARCHIVED: 409,
} as const;
export type CenterRejection = keyof typeof CENTER_REJECTIONS;

/** Weights with every sub-score (a `Partial<Weights>` merged over `base`). */
export function mergeWeights(base: Weights, partial: Partial<Weights>): Weights {
  const out = { ...base };
  for (const key of SUBSCORES) if (partial[key] !== undefined) out[key] = partial[key]!;
  return out;
}
