import * as tf from '@tensorflow/tfjs-core';
import { gramMatrix, type VisionModel } from '@cnnviz/core';
import { forwardPixels } from '../model-utils.js';
import { styleLoss } from './style.js';

/** Gram matrices `[C,C]` of one pixel image `[H,W,C]` at each of `layers` (the style/texture targets). */
export function gramTargets(model: VisionModel, image: tf.Tensor3D, layers: string[]): tf.Tensor2D[] {
  return tf.tidy(() => {
    const out = forwardPixels(model, tf.expandDims(tf.cast(image, 'float32'), 0) as tf.Tensor4D, layers, {
      logits: false,
    });
    return layers.map((l) => gramMatrix(out.activations[l] as tf.Tensor4D));
  });
}

/**
 * The style loss of `image` against a style image at `layers` (relative squared Gram distance,
 * weighted; see `styleLoss`) — 0 for the style image itself. A number, for checks and reports.
 */
export async function measureStyleLoss(
  model: VisionModel,
  image: tf.Tensor3D,
  style: tf.Tensor3D,
  layers: string[],
  weights: number[] = layers.map(() => 1 / layers.length),
): Promise<number> {
  const targets = gramTargets(model, style, layers);
  const loss = tf.tidy(() => {
    const out = forwardPixels(model, tf.expandDims(tf.cast(image, 'float32'), 0) as tf.Tensor4D, layers, {
      logits: false,
    });
    return styleLoss(
      layers.map((l) => out.activations[l]),
      targets,
      weights,
    );
  });
  tf.dispose(targets);
  const v = (await loss.data())[0];
  loss.dispose();
  return v;
}
