/**
 * suggestClips (issue 7): the 2 (no music) or 3 (music) clip windows worth rendering, each with its
 * score, its sub-scores, the reasons in plain English and the weight versions used.
 *
 * Candidates
 *   Without music: starts every 0.5 s, lengths from min to max in steps of ≥ 1 s (max included).
 *   With music: start and end both on the track's beats placed in video time — shifted by the sync
 *   offset when the track was found, as if the track started at 0 when it was not (said in the
 *   reasons) — pairs of beats min–max apart (per start at most 31 ends, evenly spread, the shortest
 *   and the longest kept). When no two beats fit (no beats, or a track too short), the grid is used
 *   and the reasons say the clip is not snapped.
 *   Every window lies inside the video and has a length within [min, max] (integers, ms).
 *
 * Sub-scores (each 0–1)
 *   hook           strongest impact in the first 3 s of the clip, strength / 4 (an impact z-score
 *                  of 4 or more is a full hook); 0 without audio.
 *   energy         mean audio energy (per-second RMS relative to the loudest second); 0 without audio.
 *   motion         mean motion energy as the analyser reports it.
 *   cuts_on_beats  the fraction of the scene cuts strictly inside the clip that land within
 *                  ±100 ms of a beat (with music) or of an onset peak of the video's audio (without);
 *                  0 when the clip has no cut.
 *   music_fit      with music: min(1, z / 14) (the sync confidence, full at twice the "found"
 *                  threshold) × the fraction of the clip lying inside the track; 0 when the track
 *                  was not found. Without music it is 0 and NOT counted: its weight leaves the
 *                  normalizing sum, so clips without music are not marked down for it.
 *   visual_variety distinct looks among the clip's seconds, (looks − 1) / 3: one look → 0, four or
 *                  more → 1. Seconds share a look when their perceptual hashes are ≤ 12 bits apart
 *                  and their HSV histograms overlap ≥ 60 % (leader clustering over the whole
 *                  video, in time order).
 *   frozen_penalty the fraction of the clip's time that is black or frozen; subtracted.
 *
 * score = 100 × clamp((Σ w·s over the counted additive sub-scores − w_frozen · frozen_penalty)
 *                     / Σ w over the counted additive sub-scores, 0, 1), rounded to 0.1.
 *
 * Selection: candidates ranked by score (unrounded), then earlier start, then shorter length;
 * greedily the best ones such that every pair starts ≥ 5 s apart and overlaps by ≤ 50 % of the
 * shorter clip. When the greedy pass leaves fewer than required (a short video where the best clip
 * sits in the middle), a dynamic programme finds the best-scoring set of the required size among
 * the candidates (see bestSet); only when none exists (a video too short for that many clips ≥ 5 s
 * apart within the lengths) are fewer returned, and each suggestion then says why. The required
 * count wins over the single best clip: that clip is dropped when no full set can contain it. A video shorter than the minimum
 * length gets none (the API refuses it with 422 before this runs).
 *
 * Suggestions come best first, `index` 0, 1, 2. Pure and deterministic: no clock, no randomness.
 */
import {
  MAX_OVERLAP,
  MIN_START_GAP_MS,
  SUBSCORES,
  VARIANTS_WITH_MUSIC,
  VARIANTS_WITHOUT_MUSIC,
  type Subscore,
  type SuggestInput,
  type Suggestion,
  type VideoAnalysis,
  type Weights,
} from './contract.ts';
import { SYNC_FOUND_Z } from './music-sync.ts';
import { validateWeights } from './weights.ts';

/** Start step of the grid (no music, or music without usable beats). */
export const GRID_STEP_MS = 500;
/** The smallest length step of the grid; larger ranges use up to LENGTH_STEPS steps. */
export const MIN_LENGTH_STEP_MS = 1000;
export const LENGTH_STEPS = 30;
/** The hook looks at the first HOOK_WINDOW_MS of a clip. */
export const HOOK_WINDOW_MS = 3000;
/** An impact of this strength (z-score) or more is a full hook. */
export const HOOK_FULL_STRENGTH = 4;
/** A cut this close to a beat (or onset peak) lands on it. */
export const BEAT_TOLERANCE_MS = 100;
/** Distinct looks for a full visual-variety score. */
export const VARIETY_FULL_LOOKS = 4;
/** pHash bits that may differ within one look. */
export const LOOK_MAX_HAMMING = 12;
/** HSV histogram intersection needed within one look. */
export const LOOK_MIN_HSV_OVERLAP = 0.6;
/** The sync confidence giving a full music fit. */
export const MUSIC_FIT_FULL_Z = 2 * SYNC_FOUND_Z;
/** Up to this many candidates, the fallback set search considers every one of them. */
export const EXACT_SET_CANDIDATES = 3000;

interface Window {
  start: number;
  end: number;
  score: number;
  subscores: Record<Subscore, number>;
}

interface Context {
  analysis: VideoAnalysis;
  durationMs: number;
  hasAudio: boolean;
  energy: Cumulative | null;
  motion: Cumulative;
  stuck: Cumulative;
  looks: Int32Array;
  lookCount: number;
  impacts: Array<{ timeMs: number; strength: number }>;
  cuts: number[];
  /** Prefix count of the cuts that land on a reference time. */
  cutsOnRef: Int32Array;
  references: 'beats' | 'onsets' | null;
  musicFitFactor: number | null;
  track: { start: number; end: number } | null;
  weights: Weights;
  counted: Subscore[];
  denominator: number;
}

export function suggestClips(input: SuggestInput): Suggestion[] {
  const { analysis, music, minLengthMs, maxLengthMs } = input;
  if (!Number.isFinite(minLengthMs) || !Number.isFinite(maxLengthMs) || minLengthMs <= 0 || maxLengthMs < minLengthMs) {
    throw new RangeError(`lengths must satisfy 0 < min ≤ max, got ${minLengthMs}–${maxLengthMs} ms`);
  }
  const weights = validateWeights(input.weights, false, 'suggestClips weights') as Weights;
  const minL = Math.ceil(minLengthMs);
  const maxL = Math.floor(maxLengthMs);
  if (maxL < minL) throw new RangeError(`no whole-millisecond length lies within ${minLengthMs}–${maxLengthMs} ms`);
  const durationMs = Number.isFinite(analysis.durationMs) ? Math.floor(analysis.durationMs) : 0;
  const required = music ? VARIANTS_WITH_MUSIC : VARIANTS_WITHOUT_MUSIC;
  if (durationMs < minL) return [];

  const hasAudio = analysis.audio.hasAudio;
  const synced = music !== null && music.sync.found && music.sync.offsetMs !== null && Number.isFinite(music.sync.offsetMs);
  const offset = synced ? Math.round(music.sync.offsetMs as number) : 0;
  const beats = music ? videoBeats(music.beatsMs, offset, durationMs) : [];

  const references = music ? beats : hasAudio ? sortedFinite(analysis.audio.onsetPeaksMs) : [];
  const cuts = sortedFinite(analysis.cutsMs).filter((c) => c > 0 && c < durationMs);
  const cutsOnRef = new Int32Array(cuts.length + 1);
  for (let i = 0; i < cuts.length; i++) cutsOnRef[i + 1] = cutsOnRef[i] + (nearest(references, cuts[i]) <= BEAT_TOLERANCE_MS ? 1 : 0);
  const { looks, count: lookCount } = clusterLooks(analysis, Math.ceil(durationMs / 1000));
  const counted = SUBSCORES.filter((k) => k !== 'frozen_penalty' && !(k === 'music_fit' && !music));
  const ctx: Context = {
    analysis,
    durationMs,
    hasAudio,
    energy: hasAudio ? cumulative(analysis.audio.energy, durationMs) : null,
    motion: cumulative(analysis.motion, durationMs),
    stuck: cumulative(
      Array.from({ length: Math.ceil(durationMs / 1000) }, (_, i) => (analysis.black[i] === true || analysis.frozen[i] === true ? 1 : 0)),
      durationMs,
    ),
    looks,
    lookCount,
    impacts: analysis.impacts.filter((i) => Number.isFinite(i.timeMs) && Number.isFinite(i.strength)).slice().sort((a, b) => a.timeMs - b.timeMs || b.strength - a.strength),
    cuts,
    cutsOnRef,
    references: references.length === 0 ? null : music ? 'beats' : 'onsets',
    musicFitFactor: music ? (synced ? clamp01(music.sync.confidence / MUSIC_FIT_FULL_Z) : 0) : null,
    track: music ? { start: offset, end: offset + Math.max(0, music.durationMs) } : null,
    weights,
    counted,
    denominator: counted.reduce((sum, k) => sum + weights[k], 0),
  };

  let windows = music ? beatWindows(beats, minL, maxL) : [];
  const snapped = windows.length > 0;
  if (!snapped) windows = gridWindows(durationMs, minL, maxL);
  const scored = windows.map(([start, end]) => scoreWindow(ctx, start, end));
  scored.sort(byRank);

  let chosen = greedy(scored, required);
  if (chosen.length < required) {
    const best = bestSet(scored, required);
    if (best.length > chosen.length) chosen = best.sort(byRank);
  }

  // With music: first how the track was placed, then how the clips were cut on it.
  const placement: string[] = [];
  if (music) {
    placement.push(music.sync.reason);
    if (snapped && synced) placement.push("start and end on the track's beats");
    else if (snapped) placement.push("start and end on the track's beats as if the track started at 0 s (its position in the video is unknown)");
    else placement.push(`not snapped to beats: no two of the track's beats ${seconds(minL)}–${seconds(maxL)} apart lie inside the video`);
  }
  const shortfall =
    chosen.length < required
      ? `only ${chosen.length} of ${required} variants fit: the video (${seconds(durationMs)}) is too short for ${required} clips of ${seconds(minL)}–${seconds(maxL)}` +
        `${snapped ? " on the track's beats" : ''} whose starts are ≥ ${seconds(MIN_START_GAP_MS)} apart and that overlap by ≤ ${Math.round(MAX_OVERLAP * 100)} %`
      : null;
  return chosen.map((w, index) => ({
    index,
    startMs: w.start,
    endMs: w.end,
    score: Math.round(w.score * 10) / 10,
    subscores: roundSubscores(w.subscores),
    reasons: [...placement, ...explain(ctx, w), ...(shortfall ? [shortfall] : [])],
    musicOffsetMs: synced ? offset : null,
    weightsVersion: { ...input.weightsVersion },
  }));
}

// ---------------------------------------------------------------------------------------------
// Candidates

function gridWindows(durationMs: number, minL: number, maxL: number): Array<[number, number]> {
  const step = Math.max(MIN_LENGTH_STEP_MS, Math.ceil((maxL - minL) / LENGTH_STEPS));
  const lengths: number[] = [];
  for (let l = minL; l < maxL; l += step) lengths.push(l);
  lengths.push(maxL);
  const out: Array<[number, number]> = [];
  for (let start = 0; start + minL <= durationMs; start += GRID_STEP_MS) {
    for (const l of lengths) {
      if (start + l > durationMs) break;
      out.push([start, start + l]);
    }
  }
  return out;
}

function beatWindows(beats: readonly number[], minL: number, maxL: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  let j = 0;
  for (let i = 0; i < beats.length; i++) {
    const start = beats[i];
    while (j < beats.length && beats[j] - start < minL) j++;
    let k = j;
    while (k < beats.length && beats[k] - start <= maxL) k++;
    // Ends j … k − 1; at most LENGTH_STEPS + 1 of them, evenly spread, the shortest and longest kept.
    const count = k - j;
    if (count <= LENGTH_STEPS + 1) {
      for (let e = j; e < k; e++) out.push([start, beats[e]]);
    } else {
      let last = -1;
      for (let step = 0; step <= LENGTH_STEPS; step++) {
        const e = j + Math.round((step * (count - 1)) / LENGTH_STEPS);
        if (e !== last) out.push([start, beats[e]]);
        last = e;
      }
    }
  }
  return out;
}

/** The track's beats in video time (rounded to ms), inside [0, duration], ascending, distinct. */
function videoBeats(beatsMs: readonly number[], offset: number, durationMs: number): number[] {
  const out: number[] = [];
  for (const b of sortedFinite(beatsMs)) {
    const t = Math.round(b + offset);
    if (t < 0 || t > durationMs) continue;
    if (out.length === 0 || out[out.length - 1] !== t) out.push(t);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Scoring

function scoreWindow(ctx: Context, start: number, end: number): Window {
  const length = end - start;
  const subscores = {} as Record<Subscore, number>;
  subscores.hook = ctx.hasAudio ? clamp01(hookImpact(ctx, start, end).strength / HOOK_FULL_STRENGTH) : 0;
  subscores.energy = ctx.energy ? clamp01(ctx.energy.mean(start, end)) : 0;
  subscores.motion = clamp01(ctx.motion.mean(start, end));
  const { total, onRef } = cutsInside(ctx, start, end);
  subscores.cuts_on_beats = total > 0 ? onRef / total : 0;
  subscores.music_fit = ctx.track && ctx.musicFitFactor !== null ? ctx.musicFitFactor * (overlap(start, end, ctx.track.start, ctx.track.end) / length) : 0;
  subscores.visual_variety = clamp01((distinctLooks(ctx, start, end) - 1) / (VARIETY_FULL_LOOKS - 1));
  subscores.frozen_penalty = clamp01(ctx.stuck.mean(start, end));
  let sum = 0;
  for (const k of ctx.counted) sum += ctx.weights[k] * subscores[k];
  sum -= ctx.weights.frozen_penalty * subscores.frozen_penalty;
  const score = ctx.denominator > 0 ? 100 * clamp01(sum / ctx.denominator) : 0;
  return { start, end, score, subscores };
}

function hookImpact(ctx: Context, start: number, end: number): { strength: number; timeMs: number | null } {
  const limit = Math.min(start + HOOK_WINDOW_MS, end);
  let best = { strength: 0, timeMs: null as number | null };
  for (let i = lowerBound(ctx.impacts, start, (x) => x.timeMs); i < ctx.impacts.length && ctx.impacts[i].timeMs < limit; i++) {
    if (ctx.impacts[i].strength > best.strength) best = { strength: ctx.impacts[i].strength, timeMs: ctx.impacts[i].timeMs };
  }
  return best;
}

function cutsInside(ctx: Context, start: number, end: number): { total: number; onRef: number } {
  const a = upperBound(ctx.cuts, start);
  const b = lowerBound(ctx.cuts, end, (x) => x);
  if (b <= a) return { total: 0, onRef: 0 };
  return { total: b - a, onRef: ctx.cutsOnRef[b] - ctx.cutsOnRef[a] };
}

let stampBuffer = new Int32Array(0);
let stampCounter = 0;

function distinctLooks(ctx: Context, start: number, end: number): number {
  if (stampBuffer.length < ctx.lookCount) {
    stampBuffer = new Int32Array(ctx.lookCount);
    stampCounter = 0;
  }
  stampCounter++;
  if (stampCounter === 0x7fffffff) {
    stampBuffer.fill(0);
    stampCounter = 1;
  }
  let distinct = 0;
  const last = Math.min(ctx.looks.length, Math.ceil(end / 1000));
  for (let s = Math.floor(start / 1000); s < last; s++) {
    const look = ctx.looks[s];
    if (look < 0 || stampBuffer[look] === stampCounter) continue;
    stampBuffer[look] = stampCounter;
    distinct++;
  }
  return distinct;
}

/** Leader clustering of the seconds into looks (−1: no visual data for that second). */
function clusterLooks(analysis: VideoAnalysis, seconds: number): { looks: Int32Array; count: number } {
  const looks = new Int32Array(seconds).fill(-1);
  const leaders: Array<{ hsv: number[] | null; hash: bigint | null }> = [];
  for (let s = 0; s < seconds; s++) {
    const hsv = normalizedHistogram(analysis.hsv[s]);
    const hash = parseHash(analysis.phash[s]);
    if (!hsv && hash === null) continue;
    let found = -1;
    for (let c = 0; c < leaders.length && found < 0; c++) {
      const leader = leaders[c];
      let same = true;
      let compared = false;
      if (hash !== null && leader.hash !== null) {
        compared = true;
        if (popcount(hash ^ leader.hash) > LOOK_MAX_HAMMING) same = false;
      }
      if (same && hsv && leader.hsv && hsv.length === leader.hsv.length) {
        compared = true;
        let inter = 0;
        for (let i = 0; i < hsv.length; i++) inter += Math.min(hsv[i], leader.hsv[i]);
        if (inter < LOOK_MIN_HSV_OVERLAP) same = false;
      }
      if (same && compared) found = c;
    }
    if (found < 0) {
      found = leaders.length;
      leaders.push({ hsv, hash });
    }
    looks[s] = found;
  }
  return { looks, count: leaders.length };
}

function normalizedHistogram(h: readonly number[] | undefined): number[] | null {
  if (!Array.isArray(h) || h.length === 0) return null;
  let sum = 0;
  for (const x of h) if (Number.isFinite(x) && x > 0) sum += x;
  if (sum <= 0) return null;
  return h.map((x) => (Number.isFinite(x) && x > 0 ? x / sum : 0));
}

function parseHash(h: string | undefined): bigint | null {
  if (typeof h !== 'string' || !/^[0-9a-fA-F]{1,16}$/.test(h)) return null;
  return BigInt(`0x${h}`);
}

function popcount(x: bigint): number {
  let n = 0;
  while (x > 0n) {
    n += Number(x & 1n);
    x >>= 1n;
  }
  return n;
}

/** The running integral of a per-second series (value held over its second), for O(1) window means. */
interface Cumulative {
  mean(start: number, end: number): number;
}

function cumulative(series: readonly number[], durationMs: number): Cumulative {
  const n = Math.ceil(durationMs / 1000);
  const values = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const v = series[i];
    values[i] = typeof v === 'number' && Number.isFinite(v) ? v : 0;
  }
  const prefix = new Float64Array(n + 1);
  for (let i = 0; i < n; i++) prefix[i + 1] = prefix[i] + values[i];
  const at = (ms: number): number => {
    const i = Math.min(n, Math.floor(ms / 1000));
    return prefix[i] + (i < n ? (values[i] * (ms - i * 1000)) / 1000 : 0);
  };
  return { mean: (start, end) => (end > start ? (at(end) - at(start)) / ((end - start) / 1000) : 0) };
}

// ---------------------------------------------------------------------------------------------
// Selection

function byRank(a: Window, b: Window): number {
  return b.score - a.score || a.start - b.start || a.end - a.start - (b.end - b.start);
}

function compatible(a: Window, b: Window): boolean {
  if (Math.abs(a.start - b.start) < MIN_START_GAP_MS) return false;
  const inter = overlap(a.start, a.end, b.start, b.end);
  return inter <= MAX_OVERLAP * Math.min(a.end - a.start, b.end - b.start);
}

function greedy(ranked: readonly Window[], required: number): Window[] {
  const chosen: Window[] = [];
  for (const w of ranked) {
    if (chosen.length >= required) break;
    if (chosen.every((c) => compatible(c, w))) chosen.push(w);
  }
  return chosen;
}

/**
 * The best-scoring set of `required` windows, or the largest set that exists. In any valid set
 * sorted by start the ends are ordered too (a clip inside another overlaps it by 100 %), and with
 * both ends ordered, compatibility of consecutive clips implies it for every pair (the overlap of
 * the first and the third is no larger than one of the consecutive overlaps, relative to a clip no
 * longer). So a dynamic programme over chains ordered by start, each link compatible with the one
 * before, is exact — over every candidate when there are at most EXACT_SET_CANDIDATES of them
 * (short videos, where the greedy pass can fall short), else over the best and the shortest
 * window of every start. Deterministic (strict comparisons over a fixed order).
 */
function bestSet(ranked: readonly Window[], required: number): Window[] {
  let pool: Window[];
  if (ranked.length <= EXACT_SET_CANDIDATES) pool = ranked.slice();
  else {
    // Per start: its best window (the first in ranked order) and its shortest one.
    const perStart = new Map<number, { best: Window; shortest: Window }>();
    for (const w of ranked) {
      const entry = perStart.get(w.start);
      if (!entry) perStart.set(w.start, { best: w, shortest: w });
      else if (w.end - w.start < entry.shortest.end - entry.shortest.start) entry.shortest = w;
    }
    pool = [];
    for (const { best, shortest } of perStart.values()) {
      pool.push(best);
      if (shortest !== best) pool.push(shortest);
    }
  }
  pool.sort((a, b) => a.start - b.start || a.end - b.end || b.score - a.score);
  const n = pool.length;
  // total[m][i]: best total score of a chain of m + 1 windows ending at pool[i]; prev: back-pointers.
  const total: Float64Array[] = [];
  const prev: Int32Array[] = [];
  for (let m = 0; m < required; m++) {
    total.push(new Float64Array(n).fill(-Infinity));
    prev.push(new Int32Array(n).fill(-1));
  }
  for (let i = 0; i < n; i++) total[0][i] = pool[i].score;
  for (let m = 1; m < required; m++) {
    for (let i = 0; i < n; i++) {
      const w = pool[i];
      for (let p = 0; p < i && pool[p].start <= w.start - MIN_START_GAP_MS; p++) {
        const before = total[m - 1][p];
        if (before === -Infinity) continue;
        const q = pool[p];
        if (q.end > w.end || !compatible(q, w)) continue;
        if (before + w.score > total[m][i]) {
          total[m][i] = before + w.score;
          prev[m][i] = p;
        }
      }
    }
  }
  for (let m = required - 1; m >= 0; m--) {
    let bestI = -1;
    for (let i = 0; i < n; i++) if (total[m][i] !== -Infinity && (bestI < 0 || total[m][i] > total[m][bestI])) bestI = i;
    if (bestI < 0) continue;
    const chain: Window[] = [];
    for (let k = m, i = bestI; k >= 0; k--) {
      chain.push(pool[i]);
      i = prev[k][i];
    }
    return chain;
  }
  return [];
}

// ---------------------------------------------------------------------------------------------
// Reasons

function explain(ctx: Context, w: Window): string[] {
  const s = w.subscores;
  const reasons: string[] = [];
  if (!ctx.hasAudio) {
    const why = ctx.analysis.audio.reason;
    reasons.push(`no audio stream: energy and hook scores are 0${why ? ` (${why})` : ''}`);
  } else {
    const impact = hookImpact(ctx, w.start, w.end);
    if (impact.timeMs === null) reasons.push(`no impact in the first ${seconds(HOOK_WINDOW_MS)}: hook 0`);
    else reasons.push(`${level(s.hook, 'strong', 'moderate', 'weak')} hook: impact ${seconds(impact.timeMs - w.start)} into the clip (strength ${impact.strength.toFixed(1)})`);
    reasons.push(`${level(s.energy, 'high', 'moderate', 'low')} audio energy (${s.energy.toFixed(2)})`);
  }
  reasons.push(`${level(s.motion, 'lively', 'moderate', 'little', 0.3, 0.1)} motion (${s.motion.toFixed(2)})`);
  const { total, onRef } = cutsInside(ctx, w.start, w.end);
  if (total === 0) reasons.push('no scene cut inside the clip: cuts-on-beats 0');
  else if (ctx.references === null) reasons.push(`${total} ${total === 1 ? 'cut' : 'cuts'} but no ${ctx.track ? 'beats' : 'onset peaks'} to land on: cuts-on-beats 0`);
  else reasons.push(`${onRef} of ${total} ${total === 1 ? 'cut lands' : 'cuts land'} on ${ctx.references === 'beats' ? 'beats' : 'onset peaks of the audio'}`);
  if (!ctx.track) reasons.push('no music: music fit not counted');
  else if (ctx.musicFitFactor === 0 || ctx.musicFitFactor === null) reasons.push('music fit 0: the track was not found in the video');
  else {
    const inside = overlap(w.start, w.end, ctx.track.start, ctx.track.end) / (w.end - w.start);
    reasons.push(`music fit ${s.music_fit.toFixed(2)}: ${Math.round(inside * 100)} % of the clip inside the synced track`);
  }
  const looks = distinctLooks(ctx, w.start, w.end);
  reasons.push(looks === 0 ? 'no visual data: visual variety 0' : looks === 1 ? 'a single look: visual variety 0' : `${looks} distinct looks`);
  if (s.frozen_penalty > 0) {
    const stuckMs = s.frozen_penalty * (w.end - w.start);
    reasons.push(`${seconds(stuckMs)} of black or frozen picture (penalty ${(ctx.weights.frozen_penalty * s.frozen_penalty).toFixed(2)})`);
  }
  return reasons;
}

function level(x: number, high: string, mid: string, low: string, hi = 0.66, lo = 0.33): string {
  return x >= hi ? high : x >= lo ? mid : low;
}

// ---------------------------------------------------------------------------------------------
// Helpers

function seconds(ms: number): string {
  const s = ms / 1000;
  return `${Number.isInteger(s) ? s.toFixed(0) : s.toFixed(1)} s`;
}

function clamp01(x: number): number {
  return Number.isFinite(x) ? Math.min(1, Math.max(0, x)) : 0;
}

function overlap(a0: number, a1: number, b0: number, b1: number): number {
  return Math.max(0, Math.min(a1, b1) - Math.max(a0, b0));
}

function sortedFinite(xs: readonly number[]): number[] {
  return xs.filter((x) => Number.isFinite(x)).slice().sort((a, b) => a - b);
}

/** Distance from t to the nearest element of the sorted list (Infinity when empty). */
function nearest(sorted: readonly number[], t: number): number {
  const i = lowerBound(sorted, t, (x) => x);
  let d = Infinity;
  if (i < sorted.length) d = sorted[i] - t;
  if (i > 0) d = Math.min(d, t - sorted[i - 1]);
  return d;
}

function lowerBound<T>(xs: readonly T[], value: number, key: (x: T) => number): number {
  let lo = 0, hi = xs.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (key(xs[mid]) < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function upperBound(xs: readonly number[], value: number): number {
  let lo = 0, hi = xs.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (xs[mid] <= value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function roundSubscores(s: Record<Subscore, number>): Record<Subscore, number> {
  const out = {} as Record<Subscore, number>;
  for (const k of SUBSCORES) out[k] = Math.round(s[k] * 1000) / 1000;
  return out;
}
