/**
 * Where the track goes in a rendered clip (issue 8): the track time heard at the clip's t = 0.
 *
 * - Sync found: the track sits where it sits in the performance — clip t = 0 is video time
 *   `startMs`, so the track time is `startMs − offsetMs` (negative: the track starts that much into
 *   the clip).
 * - Not found: the track starts on a downbeat lined up with the clip's first impact: the first
 *   downbeat (else beat, else the track's start) at or after the impact's clip time `i` is heard at
 *   `i`, so the track time at t = 0 is `downbeat − i` — never negative, so the clip opens with music.
 *   Without an impact in the clip, the track's first downbeat is heard at t = 0.
 *
 * Pure and deterministic.
 */
import type { MusicSync } from './contract.ts';

export interface ClipTrackPlacement {
  /** The track time heard at clip t = 0 (ms). */
  trackStartMs: number;
  synced: boolean;
  reason: string;
}

export function placeTrackInClip(input: {
  startMs: number;
  endMs: number;
  sync: Pick<MusicSync, 'found' | 'offsetMs'>;
  downbeatsMs: readonly number[];
  beatsMs: readonly number[];
  /** Impact times of the video (ms, video time). */
  impactsMs: readonly number[];
}): ClipTrackPlacement {
  const { startMs, endMs, sync } = input;
  if (sync.found && sync.offsetMs !== null && Number.isFinite(sync.offsetMs)) {
    const trackStartMs = Math.round(startMs - sync.offsetMs);
    return { trackStartMs, synced: true, reason: `the track at its synced position (track ${(trackStartMs / 1000).toFixed(2)} s at the clip's start)` };
  }
  const firstImpact = [...input.impactsMs].filter((t) => t >= startMs && t < endMs).sort((a, b) => a - b)[0];
  const impactInClip = firstImpact === undefined ? 0 : Math.round(firstImpact - startMs);
  const grid = sortedFinite(input.downbeatsMs.length > 0 ? input.downbeatsMs : input.beatsMs);
  const anchor = grid.find((d) => d >= impactInClip) ?? grid[0] ?? 0;
  const trackStartMs = Math.max(0, Math.round(anchor - impactInClip));
  const heardAt = Math.round(anchor - trackStartMs);
  const what = input.downbeatsMs.length > 0 ? 'a downbeat' : grid.length > 0 ? 'a beat' : "the track's start";
  return {
    trackStartMs,
    synced: false,
    reason: firstImpact === undefined
      ? `music not synced: the track starts on ${what} at the clip's start (no impact in the clip)`
      : heardAt === impactInClip
        ? `music not synced: ${what} of the track lands on the clip's first impact at ${(heardAt / 1000).toFixed(2)} s`
        : `music not synced: the track plays from its start (it has no ${what === "the track's start" ? 'beat' : what.slice(2)} late enough to meet the impact at ${(impactInClip / 1000).toFixed(2)} s)`,
  };
}

function sortedFinite(values: readonly number[]): number[] {
  return values.filter((v) => Number.isFinite(v)).slice().sort((a, b) => a - b);
}
