/**
 * The weights of suggestClips' sub-scores and where they come from (issue 7).
 *
 * Learning layers, from the largest to the smallest: global → genre profile → artist → music.
 * Each may be absent. A layer's weight for a sub-score is shrunk toward the value its parent
 * layers produced, in proportion to how much evidence it has:
 *
 *     w = (n · w_layer + k · w_parent) / (n + k)        n = the layer's samples, k = SHRINKAGE_SAMPLES
 *
 * so a music layer learned from 3 feedbacks moves the artist's weights only a little, one learned
 * from 300 almost replaces them. A layer without `samples` (set by hand, e.g. an operator's
 * experiment) is taken as it is; a sub-score the layer does not mention inherits the parent's.
 * A layer may instead give `offsets`, added to the parent's weights (floored at 0): that is how the
 * learning centers (issue 9) apply — the global center's weights replace the baseline below (or the
 * override of config, validated by `loadBaselineWeights`); an artist or music center adds what it
 * learned (its weights minus the baseline it was created with) on top of its parent.
 *
 * Weights are ≥ 0. `frozen_penalty` is the one subtracted: its weight is the size of the penalty
 * per unit of black/frozen fraction, so it is ≥ 0 too; it does not count in the normalizing sum.
 *
 * Pure, no Node APIs (a workflow may import it).
 */
import { SUBSCORES, type Subscore, type Weights, type WeightsVersion } from './contract.ts';

export const GLOBAL_BASELINE_VERSION = 'global-baseline-1';

/**
 * The baseline, before any feedback. Short-form clips live or die on their first seconds, so the
 * hook weighs most (0.25); energy and motion (0.15 each) say the moment is alive; cuts on beats and
 * music fit (0.15 each) reward clips that will feel edited to the music; visual variety (0.15)
 * keeps one static shot from winning on sound alone. The penalty (0.5) makes a clip half black or
 * frozen lose a quarter of the positive range: those stretches are what viewers skip.
 * The positive weights sum to 1, so a score reads directly as a weighted mean.
 */
export const GLOBAL_BASELINE_WEIGHTS: Readonly<Weights> = Object.freeze({
  hook: 0.25,
  energy: 0.15,
  motion: 0.15,
  cuts_on_beats: 0.15,
  music_fit: 0.15,
  visual_variety: 0.15,
  frozen_penalty: 0.5,
});

/** The pseudo-count k of the shrinkage: a layer with k samples lands halfway to its parent. */
export const SHRINKAGE_SAMPLES = 20;

export const LAYER_ORDER = ['global', 'genre', 'artist', 'music'] as const;
export type LayerName = (typeof LAYER_ORDER)[number];

export interface WeightLayer {
  name: LayerName;
  version: string;
  weights: Partial<Weights>;
  /** How many feedback samples the layer learned from; absent = taken as it is. */
  samples?: number;
  /**
   * Added to the parent's weight (floored at 0) instead of replacing it: what a learning center
   * learned, as its difference from the baseline it was created with (an artist or music center).
   * Applied after `weights`; a layer may give either or both.
   */
  offsets?: Partial<Record<Subscore, number>>;
}

export class WeightsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WeightsError';
  }
}

/** Throws WeightsError naming the first bad sub-score; `partial` allows missing sub-scores. */
export function validateWeights(value: unknown, partial: boolean, what = 'weights'): Partial<Weights> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new WeightsError(`${what} must be an object of sub-score weights`);
  const record = value as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    if (!(SUBSCORES as readonly string[]).includes(key)) throw new WeightsError(`${what}: unknown sub-score ${JSON.stringify(key)} (known: ${SUBSCORES.join(', ')})`);
  }
  const out: Partial<Weights> = {};
  for (const key of SUBSCORES) {
    const w = record[key];
    if (w === undefined) {
      if (!partial) throw new WeightsError(`${what}: missing the weight of ${key}`);
      continue;
    }
    if (typeof w !== 'number' || !Number.isFinite(w)) throw new WeightsError(`${what}: the weight of ${key} must be a finite number, got ${JSON.stringify(w)}`);
    if (w < 0) {
      throw new WeightsError(
        key === 'frozen_penalty'
          ? `${what}: frozen_penalty is the size of a penalty (subtracted) and must be ≥ 0, got ${w}`
          : `${what}: the weight of ${key} must be ≥ 0, got ${w}`,
      );
    }
    out[key] = w;
  }
  return out;
}

function requirePositive(weights: Weights, what: string): void {
  if (positiveSum(weights) <= 0) throw new WeightsError(`${what}: at least one sub-score other than frozen_penalty needs a weight > 0`);
}

/** The sum of the additive weights (every sub-score but frozen_penalty). */
export function positiveSum(weights: Weights, exclude: readonly Subscore[] = []): number {
  let sum = 0;
  for (const key of SUBSCORES) if (key !== 'frozen_penalty' && !exclude.includes(key)) sum += weights[key];
  return sum;
}

/**
 * The global baseline: GLOBAL_BASELINE_WEIGHTS, or `json` when config sets one — either a full
 * object of the seven weights, or `{ "version": "…", "weights": { … } }`. Without a version the
 * override is named `global-config-<hash of its canonical form>`, so that suggestions say which
 * weights made them. Throws WeightsError on anything invalid.
 */
export function loadBaselineWeights(json?: string): { weights: Weights; version: string } {
  if (json === undefined || json.trim() === '') return { weights: { ...GLOBAL_BASELINE_WEIGHTS }, version: GLOBAL_BASELINE_VERSION };
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch (err) {
    throw new WeightsError(`baseline weights are not valid JSON: ${(err as Error).message}`);
  }
  let version: string | null = null;
  let body = parsed;
  if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) && 'weights' in parsed) {
    const wrapper = parsed as Record<string, unknown>;
    const extra = Object.keys(wrapper).filter((k) => k !== 'weights' && k !== 'version');
    if (extra.length > 0) throw new WeightsError(`baseline weights: unknown field ${JSON.stringify(extra[0])} (expected "version" and "weights")`);
    if (wrapper.version !== undefined) {
      if (typeof wrapper.version !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/.test(wrapper.version)) {
        throw new WeightsError('baseline weights: version must be 1–64 characters of letters, digits, ".", "_", ":" or "-"');
      }
      version = wrapper.version;
    }
    body = wrapper.weights;
  }
  const weights = validateWeights(body, false, 'baseline weights') as Weights;
  requirePositive(weights, 'baseline weights');
  return { weights, version: version ?? `global-config-${fnv1a(SUBSCORES.map((k) => `${k}=${weights[k]}`).join(','))}` };
}

/**
 * The weights for one suggestion run: the layers applied from the largest to the smallest (see the
 * module comment). Layers may come in any order, at most one of each name; without a global layer
 * the baseline is the global one. The version lists every layer used.
 */
export function combineWeightLayers(layers: readonly WeightLayer[]): { weights: Weights; version: WeightsVersion } {
  const byName = new Map<LayerName, WeightLayer>();
  for (const layer of layers) {
    if (!(LAYER_ORDER as readonly string[]).includes(layer.name)) throw new WeightsError(`unknown learning layer ${JSON.stringify(layer.name)}`);
    if (byName.has(layer.name)) throw new WeightsError(`the ${layer.name} layer is given twice`);
    if (typeof layer.version !== 'string' || layer.version === '') throw new WeightsError(`the ${layer.name} layer has no version`);
    if (layer.samples !== undefined && !(Number.isFinite(layer.samples) && layer.samples >= 0)) {
      throw new WeightsError(`the ${layer.name} layer's samples must be a finite number ≥ 0, got ${layer.samples}`);
    }
    byName.set(layer.name, layer);
  }
  const version: WeightsVersion = {};
  const global = byName.get('global');
  let weights: Weights;
  if (global) {
    const own = validateWeights(global.weights, true, 'the global layer');
    weights = { ...GLOBAL_BASELINE_WEIGHTS, ...own };
    version.global = global.version;
  } else {
    weights = { ...GLOBAL_BASELINE_WEIGHTS };
    version.global = GLOBAL_BASELINE_VERSION;
  }
  for (const name of LAYER_ORDER) {
    if (name === 'global') continue;
    const layer = byName.get(name);
    if (!layer) continue;
    const own = validateWeights(layer.weights, true, `the ${name} layer`);
    const offsets = validateOffsets(layer.offsets ?? {}, `the ${name} layer`);
    const n = layer.samples;
    const next = { ...weights };
    for (const key of SUBSCORES) {
      const w = own[key];
      if (w !== undefined) next[key] = n === undefined ? w : (n * w + SHRINKAGE_SAMPLES * weights[key]) / (n + SHRINKAGE_SAMPLES);
      const offset = offsets[key];
      if (offset !== undefined) next[key] = Math.max(0, next[key] + offset);
    }
    weights = next;
    version[name] = layer.version;
  }
  requirePositive(weights, 'combined weights');
  return { weights, version };
}

function validateOffsets(value: unknown, what: string): Partial<Record<Subscore, number>> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new WeightsError(`${what}: offsets must be an object of sub-score offsets`);
  const out: Partial<Record<Subscore, number>> = {};
  for (const [key, offset] of Object.entries(value as Record<string, unknown>)) {
    if (!(SUBSCORES as readonly string[]).includes(key)) throw new WeightsError(`${what}: unknown sub-score ${JSON.stringify(key)} in offsets`);
    if (typeof offset !== 'number' || !Number.isFinite(offset)) throw new WeightsError(`${what}: the offset of ${key} must be a finite number`);
    out[key as Subscore] = offset;
  }
  return out;
}

/** 32-bit FNV-1a as 8 hex digits (a stable name for a config override, not a security hash). */
function fnv1a(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0).toString(16).padStart(8, '0');
}
