import * as tf from '@tensorflow/tfjs-core';
import {
  check,
  checkAborted,
  checkLayer,
  checkNumber,
  CnnvizError,
  createRng,
  randomNormal,
  type Rng,
  type VisionModel,
} from '@cnnviz/core';
import type { Progress } from './batching.js';
import { gradCam } from './grad-cam.js';
import { gradCamPlusPlus } from './grad-cam-plus-plus.js';
import { guidedBackprop } from './guided-backprop.js';
import { guidedGradCam } from './guided-grad-cam.js';
import { integratedGradients } from './integrated-gradients.js';
import { occlusion } from './occlusion.js';
import { saliency } from './saliency.js';
import { smoothGrad } from './smooth-grad.js';
import { spearman } from './spearman.js';
import type { TargetOptions } from './target.js';
import { readWeights } from './weights.js';

/** Any technique of this package, or your own with the same shape. */
export type Technique = (
  model: VisionModel,
  image: tf.Tensor3D,
  options: any,
) => Promise<{ map: tf.Tensor; dispose(): void }>;

/** The techniques `randomizationCheck` knows by name. */
export type TechniqueName =
  | 'saliency'
  | 'smoothGrad'
  | 'integratedGradients'
  | 'gradCam'
  | 'gradCamPlusPlus'
  | 'guidedBackprop'
  | 'guidedGradCam'
  | 'occlusion';

const TECHNIQUES: Record<TechniqueName, Technique> = {
  saliency,
  smoothGrad,
  integratedGradients,
  gradCam,
  gradCamPlusPlus,
  guidedBackprop,
  guidedGradCam,
  occlusion,
} as unknown as Record<TechniqueName, Technique>;

export interface RandomizationCheckOptions extends TargetOptions {
  /** Further options for the technique (steps, samples, layer, ...). */
  techniqueOptions?: Record<string, unknown>;
  /** Layers to randomise, in order. Default: every layer with weights, from the output down. */
  layers?: string[];
  /** 'cascading' (default) keeps earlier layers randomised; 'independent' randomises one layer at a time. */
  mode?: 'cascading' | 'independent';
  /** Compare |map| (default true, as Adebayo et al. report for saliency) or the signed map. */
  absolute?: boolean;
  seed?: number;
  signal?: AbortSignal;
  onProgress?: (p: Progress) => void;
}

export interface RandomizationStep {
  /** The layer randomised at this step (with all before it, in cascading mode). */
  layer: string;
  /** Spearman rank correlation between the original map and this step's map (NaN if one is constant). */
  spearman: number;
}

/**
 * Model parameter randomisation test (Adebayo et al. 2018, "Sanity Checks for Saliency Maps"):
 * re-initialise the weights layer by layer from the top, recompute the attribution, and compare it
 * with the original by rank correlation. A method that explains the model should decorrelate as
 * the weights go; one that stays correlated is showing the image, not the model. Kernels are
 * redrawn from a normal with their own standard deviation, 1-D weights (biases, batch-norm
 * statistics) shuffled so they stay valid. The model's weights are restored afterwards, also on
 * error or abort. Needs `model.getWeights` and `model.setWeights`.
 */
export async function randomizationCheck(
  model: VisionModel,
  image: tf.Tensor3D,
  technique: Technique | TechniqueName,
  options: RandomizationCheckOptions,
): Promise<RandomizationStep[]> {
  const opts = options ?? {};
  const run = typeof technique === 'string' ? TECHNIQUES[technique as TechniqueName] : technique;
  check(
    typeof run === 'function',
    'BAD_OPTION',
    `technique must be a function or one of ${Object.keys(TECHNIQUES).join(', ')}, got ${String(technique)}`,
  );
  if (typeof model.getWeights !== 'function' || typeof model.setWeights !== 'function') {
    throw new CnnvizError(
      'UNSUPPORTED_OP',
      'randomizationCheck needs a model with getWeights and setWeights',
    );
  }
  const { mode = 'cascading', absolute = true, seed = 0 } = opts;
  check(
    mode === 'cascading' || mode === 'independent',
    'BAD_OPTION',
    `mode must be 'cascading' or 'independent', got ${String(mode)}`,
  );
  checkNumber(seed, 'seed');
  const names = model.layers.map((l) => l.name);
  const layers = opts.layers ?? [...names].reverse().filter((l) => hasWeights(model, l));
  layers.forEach((l) => checkLayer(l, names));
  check(layers.length > 0, 'BAD_OPTION', 'the model has no layers with weights to randomise');

  const techniqueOptions = {
    ...opts.techniqueOptions,
    target: opts.target,
    objective: opts.objective,
    signal: opts.signal,
  };
  const mapOf = async (): Promise<Float32Array> => {
    const r = await run(model, image, techniqueOptions);
    try {
      const m = absolute ? tf.abs(r.map) : r.map.clone();
      const data = (await m.data()) as Float32Array;
      m.dispose();
      return data;
    } finally {
      r.dispose();
    }
  };

  const originals = new Map<string, tf.Tensor[]>();
  const rng = createRng(seed);
  try {
    const reference = await mapOf();
    const steps: RandomizationStep[] = [];
    for (const [i, layer] of layers.entries()) {
      checkAborted(opts.signal, 'randomizationCheck');
      if (mode === 'independent' && i > 0) restore(model, originals, layers[i - 1]);
      const { weights, release } = readWeights(model, layer);
      try {
        if (!originals.has(layer))
          originals.set(
            layer,
            weights.map((w) => w.clone()),
          );
        const random = weights.map((w) => randomized(w, rng));
        try {
          model.setWeights(layer, random);
        } finally {
          tf.dispose(random);
        }
      } finally {
        release();
      }
      steps.push({ layer, spearman: spearman(reference, await mapOf()) });
      opts.onProgress?.({ done: i + 1, total: layers.length });
    }
    return steps;
  } finally {
    for (const layer of [...originals.keys()]) restore(model, originals, layer);
  }
}

function hasWeights(model: VisionModel, layer: string): boolean {
  try {
    const { weights, release } = readWeights(model, layer);
    const any = weights.length > 0;
    release();
    return any;
  } catch {
    return false;
  }
}

function restore(model: VisionModel, originals: Map<string, tf.Tensor[]>, layer: string): void {
  const saved = originals.get(layer);
  if (!saved) return;
  model.setWeights!(layer, saved);
  tf.dispose(saved);
  originals.delete(layer);
}

/** A kernel redrawn at its own scale, or a 1-D weight vector shuffled. */
function randomized(w: tf.Tensor, rng: Rng): tf.Tensor {
  if (w.rank <= 1) {
    const values = w.dataSync().slice();
    for (let i = values.length - 1; i > 0; i--) {
      const j = Math.floor(rng() * (i + 1));
      [values[i], values[j]] = [values[j], values[i]];
    }
    return tf.tensor(values, w.shape, w.dtype);
  }
  const data = w.dataSync();
  let mean = 0;
  for (const v of data) mean += v;
  mean /= data.length;
  let variance = 0;
  for (const v of data) variance += (v - mean) ** 2;
  const fanIn = w.shape.slice(0, -1).reduce((a, b) => a * b, 1);
  const std = Math.sqrt(variance / data.length) || Math.sqrt(1 / fanIn);
  return randomNormal(w.shape, rng, 0, std);
}
