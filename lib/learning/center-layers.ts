/**
 * Which weights of the learning centers a clip job's suggestions use (issue 9), as layers for
 * combineWeightLayers (lib/clips/weights.ts). Read from the `learning_centers` projection, which
 * each center's workflow keeps fresh after every change (saveLearningCenter), so suggesting never
 * waits on a workflow query.
 *
 * - The global center's weights replace the global baseline; an artist or music center adds its
 *   difference from its own baseline (`offsets`), so each learns on top of its parent.
 * - A center labelled `experimental` serves its current version only to jobs created with
 *   `experimental: true`; other jobs get its last stable version, or nothing from it when it never
 *   had one. A paused center serves the version it had when paused (feedback waits; only an
 *   operator's edit or revert changes it).
 * - Archived centers are not read.
 * The layer's version names the center and version used, e.g. `center:<uuid>@v7`, and is what
 * video_clip_models.weights_version records.
 *
 * Pure, no Node APIs.
 */
import { SUBSCORES, type Subscore, type Weights } from '../clips/contract.ts';
import type { WeightLayer } from '../clips/weights.ts';
import type { CenterLabel, CenterScopeKind } from './contract.ts';

export interface CenterRow {
  id: string;
  scopeKind: CenterScopeKind;
  label: CenterLabel;
  version: number;
  weights: Weights;
  baselineWeights: Weights;
  stableVersion: number | null;
  stableWeights: Weights | null;
}

const LAYER_OF: Record<CenterScopeKind, WeightLayer['name']> = { global: 'global', artist: 'artist', music: 'music' };

export function layersFromCenters(centers: readonly CenterRow[], options: { experimental: boolean }): WeightLayer[] {
  const layers: WeightLayer[] = [];
  for (const center of centers) {
    const served = center.label === 'experimental' && !options.experimental
      ? center.stableVersion !== null && center.stableWeights ? { version: center.stableVersion, weights: center.stableWeights } : null
      : { version: center.version, weights: center.weights };
    if (!served) continue;
    const version = `center:${center.id}@v${served.version}`;
    if (center.scopeKind === 'global') {
      layers.push({ name: 'global', version, weights: served.weights });
      continue;
    }
    const offsets: Partial<Record<Subscore, number>> = {};
    for (const key of SUBSCORES) {
      const diff = served.weights[key] - center.baselineWeights[key];
      if (diff !== 0) offsets[key] = diff;
    }
    layers.push({ name: LAYER_OF[center.scopeKind], version, weights: {}, offsets });
  }
  return layers;
}
