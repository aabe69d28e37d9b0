import * as tf from '@tensorflow/tfjs-core';
import type { GradientOverride } from '../overrides.js';

// Guided backprop (Springenberg et al. 2015): at every ReLU-like unit only positive gradient
// flows back, through units that were active: dx = (dy > 0) * (x > 0) * dy. Written as "the
// kernel's own backward applied to relu(dy)" so ReLU6's and leaky ReLU's masks stay exact.

/** Guided gradient for the `Relu` kernel: `(dy > 0) * (x > 0) * dy`. */
export const guidedRelu: tf.GradFunc = (dy, saved) => {
  const [x] = saved;
  return { x: () => tf.mul(tf.relu(dy as tf.Tensor), tf.step(x)) };
};

/** Guided gradient for `Relu6` (GraphModels' ReLU6): `(dy > 0) * (0 < x <= 6) * dy`. */
export const guidedRelu6: tf.GradFunc = (dy, saved) => {
  const [x] = saved;
  return {
    x: () => tf.mul(tf.relu(dy as tf.Tensor), tf.mul(tf.step(x), tf.cast(tf.lessEqual(x, 6), 'float32'))),
  };
};

/** Guided gradient for `LeakyRelu`: `(dy > 0) * (x > 0 ? 1 : alpha) * dy`. */
export const guidedLeakyRelu: tf.GradFunc = (dy, saved, attrs) => {
  const [x] = saved;
  const alpha = (attrs as { alpha?: number }).alpha ?? 0.2;
  return {
    x: () =>
      tf.mul(tf.relu(dy as tf.Tensor), tf.where(tf.greater(x, 0), tf.onesLike(x), tf.fill(x.shape, alpha))),
  };
};

/** Guided gradient for `Elu` (saved tensor is the output y): `(dy > 0) * (y > 0 ? 1 : y + 1) * dy`. */
export const guidedElu: tf.GradFunc = (dy, saved) => {
  const [y] = saved;
  return {
    x: () => tf.mul(tf.relu(dy as tf.Tensor), tf.where(tf.greater(y, 0), tf.onesLike(y), tf.add(y, 1))),
  };
};

/**
 * Guided-backprop overrides for every ReLU-like kernel cnnviz meets. tfjs-layers' `ReLU(max_value=6)`
 * (MobileNetV2) runs `Relu` then `ClipByValue(0, 6)`; the clip's ordinary gradient followed by
 * guided `Relu` already gives guided ReLU6, so `ClipByValue` (also used for pixel clipping) is
 * left alone.
 */
export const guidedOverrides: Record<string, GradientOverride> = {
  Relu: guidedRelu,
  Relu6: guidedRelu6,
  LeakyRelu: guidedLeakyRelu,
  Elu: guidedElu,
};
