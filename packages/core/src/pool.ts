import * as tf from '@tensorflow/tfjs-core';

/** How a spatial activation `[N, ..., C]` becomes one vector per image. */
export type FeaturePooling = 'avg' | 'max' | 'none';

/**
 * One row per image: global average or max over every axis between batch and channels (rank 3
 * sequences, rank 4 images, ...), or `none` to flatten. A rank-2 activation is returned as it is.
 */
export function poolSpatial(act: tf.Tensor, pooling: FeaturePooling): tf.Tensor2D {
  if (act.rank === 2) return act as tf.Tensor2D;
  if (pooling === 'none') return tf.reshape(act, [act.shape[0], -1]);
  const axes = Array.from({ length: act.rank - 2 }, (_, i) => i + 1);
  return (pooling === 'avg' ? tf.mean(act, axes) : tf.max(act, axes)) as tf.Tensor2D;
}
