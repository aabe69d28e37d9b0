import * as tf from '@tensorflow/tfjs-core';
import { check, CnnvizError, type VisionModel } from '@cnnviz/core';

/**
 * A layer's weights and how to let go of them. Adapters may hand out their live variables (which
 * must not be disposed) or fresh copies (which must): the tensor count tells them apart.
 */
export function readWeights(model: VisionModel, layer: string): { weights: tf.Tensor[]; release(): void } {
  if (typeof model.getWeights !== 'function') {
    throw new CnnvizError(
      'UNSUPPORTED_OP',
      'this model does not expose its weights (VisionModel.getWeights is missing)',
    );
  }
  const before = tf.memory().numTensors;
  const weights = model.getWeights(layer) ?? [];
  check(Array.isArray(weights), 'UNSUPPORTED_OP', `getWeights("${layer}") must return an array of tensors`);
  const fresh = tf.memory().numTensors > before;
  return {
    weights,
    release() {
      if (fresh) tf.dispose(weights);
    },
  };
}
