import * as tf from '@tensorflow/tfjs-core';
import type { VisionModel } from '@cnnviz/core';
import { classActivationMap, type CamExtra, type CamOptions } from './cam.js';
import type { AttributionOf } from './result.js';

export type GradCamOptions = CamOptions;

/**
 * Grad-CAM (Selvaraju et al. 2017): `raw` = `map` = ReLU(sum_k alpha_k A_k) at the layer's
 * resolution `[h,w]`, with alpha_k = mean over positions of d target / d A_k. Not normalised (as
 * Captum's LayerGradCam); use `upsample: true`, `upsample()` or `overlay()` to see it at image
 * size. Batches `[N,H,W,C]` give `[N,h,w]`; `weights` holds the alphas `[K]` (`[N,K]`).
 */
export async function gradCam<I extends tf.Tensor3D | tf.Tensor4D>(
  model: VisionModel,
  image: I,
  options: GradCamOptions,
): Promise<AttributionOf<I, CamExtra>> {
  return classActivationMap(model, image, options, (_activation, grad) => tf.mean(grad, [1, 2]), 'gradCam');
}
