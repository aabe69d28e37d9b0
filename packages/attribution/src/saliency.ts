import type * as tf from '@tensorflow/tfjs-core';
import type { VisionModel } from '@cnnviz/core';
import type { BatchOptions } from './batching.js';
import { batchedGradient, maxAbsOverChannels } from './gradient.js';
import { prepareImages } from './input.js';
import { makeResult, type AttributionOf } from './result.js';
import { resolveTarget, type TargetOptions } from './target.js';

export interface SaliencyOptions extends TargetOptions, BatchOptions {}

/**
 * Vanilla gradient saliency (Simonyan et al. 2014): `raw` = d target / d image in pixel space
 * (`[H,W,C]`, preprocessing included); `map` = max over channels of |raw| `[H,W]`. A batch
 * `[N,H,W,C]` gives `raw` `[N,H,W,C]` and `map` `[N,H,W]`.
 *
 * @example const s = await saliency(model, cat, { target: 281 }); ...; s.dispose();
 */
export async function saliency<I extends tf.Tensor3D | tf.Tensor4D>(
  model: VisionModel,
  image: I,
  options: SaliencyOptions,
): Promise<AttributionOf<I>> {
  const input = await prepareImages(model, image);
  try {
    const target = resolveTarget(model, options, input.n, input.h, input.w);
    const { grad, values } = await batchedGradient(model, input.x, target, options ?? {}, 'saliency');
    values.dispose();
    return makeResult(input.batched, maxAbsOverChannels(grad), grad, false);
  } finally {
    input.dispose();
  }
}
