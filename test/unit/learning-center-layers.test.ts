/**
 * Which learning-center weights a clip job's suggestions use (lib/learning/center-layers.ts) and
 * how an artist or music center's offsets stack on their parents (combineWeightLayers).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Weights } from '../../lib/clips/contract.ts';
import { suggestClips } from '../../lib/clips/suggest.ts';
import { combineWeightLayers, GLOBAL_BASELINE_WEIGHTS, WeightsError } from '../../lib/clips/weights.ts';
import { LEXICON_STEP } from '../../lib/learning/contract.ts';
import { layersFromCenters, type CenterRow } from '../../lib/learning/center-layers.ts';
import { analysis } from '../support/video-analysis.ts';

const BASE: Weights = { ...GLOBAL_BASELINE_WEIGHTS };

function center(overrides: Partial<CenterRow> & Pick<CenterRow, 'id' | 'scopeKind'>): CenterRow {
  return { label: 'stable', version: 1, weights: { ...BASE }, baselineWeights: { ...BASE }, stableVersion: 1, stableWeights: { ...BASE }, ...overrides };
}

describe('layersFromCenters', () => {
  it('serves an experimental center only to experimental jobs; others get its last stable version', () => {
    const experimental = center({
      id: 'a1', scopeKind: 'artist', label: 'experimental', version: 4, weights: { ...BASE, energy: 0.4 }, stableVersion: 2, stableWeights: { ...BASE, energy: 0.2 },
    });
    const [ordinary] = layersFromCenters([experimental], { experimental: false });
    assert.equal(ordinary!.version, 'center:a1@v2');
    assert.ok(Math.abs(ordinary!.offsets!.energy! - 0.05) < 1e-12);
    const [trial] = layersFromCenters([experimental], { experimental: true });
    assert.equal(trial!.version, 'center:a1@v4');
    assert.ok(Math.abs(trial!.offsets!.energy! - 0.25) < 1e-12);
  });

  it('skips an experimental center that never had a stable version, for ordinary jobs', () => {
    const fresh = center({ id: 'm1', scopeKind: 'music', label: 'experimental', stableVersion: null, stableWeights: null });
    assert.deepEqual(layersFromCenters([fresh], { experimental: false }), []);
    assert.equal(layersFromCenters([fresh], { experimental: true }).length, 1);
  });

  it('the global center replaces the baseline; artist and music centers add what they learned on top', () => {
    const layers = layersFromCenters([
      center({ id: 'g', scopeKind: 'global', version: 3, weights: { ...BASE, hook: 0.4 } }),
      center({ id: 'a', scopeKind: 'artist', version: 2, weights: { ...BASE, energy: BASE.energy + 0.1 } }),
      center({ id: 'm', scopeKind: 'music', version: 5, weights: { ...BASE, energy: BASE.energy + 0.05, motion: BASE.motion - 0.05 } }),
    ], { experimental: false });
    const { weights, version } = combineWeightLayers(layers);
    assert.equal(weights.hook, 0.4);
    assert.ok(Math.abs(weights.energy - (BASE.energy + 0.15)) < 1e-12, `energy ${weights.energy}`);
    assert.ok(Math.abs(weights.motion - (BASE.motion - 0.05)) < 1e-12);
    assert.equal(weights.visual_variety, BASE.visual_variety);
    assert.deepEqual(version, { global: 'center:g@v3', artist: 'center:a@v2', music: 'center:m@v5' });
  });

  it('offsets never take a weight below 0, and bad offsets are refused', () => {
    const { weights } = combineWeightLayers([{ name: 'music', version: 'x', weights: {}, offsets: { energy: -5 } }]);
    assert.equal(weights.energy, 0);
    assert.throws(() => combineWeightLayers([{ name: 'music', version: 'x', weights: {}, offsets: { tempo: 0.1 } as never }]), WeightsError);
    assert.throws(() => combineWeightLayers([{ name: 'music', version: 'x', weights: {}, offsets: { energy: Number.NaN } }]), WeightsError);
  });
});

describe('a music center that learned "more energy"', () => {
  // 30 s: the first half moves a lot and is quieter, the second is loud and still.
  const fixed = analysis({ durationMs: 30_000, motion: (s) => (s < 15 ? 0.8 : 0.1), energy: (s) => (s < 15 ? 0.1 : 0.7) });
  const run = (weights: Weights) => suggestClips({ analysis: fixed, music: null, minLengthMs: 10_000, maxLengthMs: 10_000, weights, weightsVersion: {} });

  it('puts the loud window first, where the baseline put the moving one first', () => {
    const before = run(combineWeightLayers([]).weights);
    assert.ok(before[0]!.endMs <= 15_000, `baseline best clip ${before[0]!.startMs}–${before[0]!.endMs} should be in the moving half`);
    const learned = layersFromCenters([center({ id: 'm', scopeKind: 'music', version: 2, weights: { ...BASE, energy: BASE.energy + LEXICON_STEP } })], { experimental: false });
    const after = run(combineWeightLayers(learned).weights);
    assert.ok(after[0]!.startMs >= 15_000, `after "more energy" the best clip ${after[0]!.startMs}–${after[0]!.endMs} should be in the loud half`);
    assert.ok(after[0]!.subscores.energy > before[0]!.subscores.energy);
  });
});
