import * as tf from '@tensorflow/tfjs-core';
import type { VisionModel } from '@cnnviz/core';
import { classActivationMap, type CamExtra, type CamOptions } from './cam.js';
import type { AttributionOf } from './result.js';

export type GradCamPlusPlusOptions = CamOptions;

/** Guards the denominator of the Grad-CAM++ coefficients, as the pytorch-grad-cam reference does. */
const EPS = 1e-6;

/**
 * Grad-CAM++ (Chattopadhyay et al. 2018), with the closed-form coefficients of the common
 * reference implementation (pytorch-grad-cam): with g = d target / d A,
 * a_kij = g² / (2g² + sum_ab A_kab · g³ + eps) (0 where g = 0), weight_k = sum_ij a_kij · ReLU(g);
 * `raw` = `map` = ReLU(sum_k weight_k A_k) at the layer's resolution `[h,w]` (`[N,h,w]` for batches).
 */
export async function gradCamPlusPlus<I extends tf.Tensor3D | tf.Tensor4D>(
  model: VisionModel,
  image: I,
  options: GradCamPlusPlusOptions,
): Promise<AttributionOf<I, CamExtra>> {
  return classActivationMap(
    model,
    image,
    options,
    (activation, grad) => {
      const g2 = tf.square(grad);
      const g3 = tf.mul(g2, grad);
      const sumA = tf.sum(activation, [1, 2], true);
      const a = tf.div(g2, tf.add(tf.add(tf.mul(g2, 2), tf.mul(sumA, g3)), EPS));
      const aij = tf.where(tf.notEqual(grad, 0), a, tf.zerosLike(a));
      return tf.sum(tf.mul(aij, tf.relu(grad)), [1, 2]);
    },
    'gradCamPlusPlus',
  );
}
