import * as tf from '@tensorflow/tfjs-core';

/**
 * A signed gradient image `[H,W,C]` as a picture: standardised, scaled to ±0.1 per standard deviation
 * around mid-grey and clipped (the classic deprocessing of guided-backprop images).
 */
export function gradientPicture(raw: tf.Tensor3D): tf.Tensor3D {
  return tf.tidy(() => {
    const { mean, variance } = tf.moments(raw);
    const std = tf.sqrt(variance);
    return tf.clipByValue(
      tf.add(tf.mul(tf.div(tf.sub(raw, mean), tf.add(std, 1e-8)), 0.15), 0.5),
      0,
      1,
    ) as tf.Tensor3D;
  });
}
