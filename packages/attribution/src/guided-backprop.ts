import type * as tf from '@tensorflow/tfjs-core';
import {
  check,
  deconvOverrides,
  guidedOverrides,
  withGradientOverrides,
  type VisionModel,
} from '@cnnviz/core';
import type { BatchOptions } from './batching.js';
import { batchedGradient, maxAbsOverChannels } from './gradient.js';
import { prepareImages } from './input.js';
import { makeResult, type AttributionOf } from './result.js';
import { resolveTarget, type TargetOptions } from './target.js';

export interface GuidedBackpropOptions extends TargetOptions, BatchOptions {
  /**
   * How every ReLU passes the gradient back. 'guided' (default, Springenberg et al. 2015):
   * `(grad > 0) * (input > 0) * grad`. 'deconvnet' (Zeiler & Fergus 2014): `(grad > 0) * grad`,
   * the reconstruction ignores which units were active on the way forward; max-pooling still
   * routes through its forward switches and convolutions through their transposed filters, as
   * in the paper.
   */
  rule?: 'guided' | 'deconvnet';
}

/**
 * Guided backpropagation (Springenberg et al. 2015): the pixel gradient of the target with every
 * ReLU's backward pass replaced by `(grad > 0) * (input > 0) * grad` (core's scoped
 * `guidedOverrides`, so it works on any model). The target may be a class or any objective, e.g.
 * `neuron('conv5', 17)` for one unit of an intermediate layer. `{ rule: 'deconvnet' }` gives the
 * deconvnet reconstruction (Zeiler & Fergus 2014) instead. `raw` `[H,W,C]`; `map` = max over
 * channels of |raw| `[H,W]`; batches give `[N,H,W,C]` / `[N,H,W]`.
 */
export async function guidedBackprop<I extends tf.Tensor3D | tf.Tensor4D>(
  model: VisionModel,
  image: I,
  options: GuidedBackpropOptions,
): Promise<AttributionOf<I>> {
  const rule = options?.rule ?? 'guided';
  check(
    rule === 'guided' || rule === 'deconvnet',
    'BAD_OPTION',
    () => `rule must be 'guided' or 'deconvnet', got ${String(rule)}`,
  );
  const overrides = rule === 'guided' ? guidedOverrides : deconvOverrides;
  const input = await prepareImages(model, image);
  try {
    const target = resolveTarget(model, options, input.n, input.h, input.w);
    const { grad, values } = await batchedGradient(
      model,
      input.x,
      target,
      options ?? {},
      'guidedBackprop',
      (fn) => withGradientOverrides(overrides, fn),
    );
    values.dispose();
    return makeResult(input.batched, maxAbsOverChannels(grad), grad, false);
  } finally {
    input.dispose();
  }
}
