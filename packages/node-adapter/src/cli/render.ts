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

/** Equally sized copies of `images` (bilinear), so they can share a grid. */
export function sameSize(images: tf.Tensor3D[], size: [number, number]): tf.Tensor3D[] {
  return images.map((im) =>
    im.shape[0] === size[0] && im.shape[1] === size[1]
      ? im.clone()
      : tf.tidy(() => tf.image.resizeBilinear(im, size, false, true)),
  );
}
