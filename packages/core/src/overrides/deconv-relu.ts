import * as tf from '@tensorflow/tfjs-core';
import type { GradientOverride } from '../overrides.js';

/**
 * Deconvnet backward ReLU (Zeiler & Fergus 2014): the reconstruction passes through a ReLU of
 * its own and ignores which units were active forward: `dx = (dy > 0) * dy`.
 */
export const deconvRelu: tf.GradFunc = (dy) => ({ x: () => tf.relu(dy as tf.Tensor) });

/** Deconvnet overrides for the ReLU-like kernels (`Relu`, `Relu6`, `LeakyRelu`, `Elu`). */
export const deconvOverrides: Record<string, GradientOverride> = {
  Relu: deconvRelu,
  Relu6: deconvRelu,
  LeakyRelu: deconvRelu,
  Elu: deconvRelu,
};
