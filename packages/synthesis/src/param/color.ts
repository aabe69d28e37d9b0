import * as tf from '@tensorflow/tfjs-core';

/**
 * Square root of the colour correlation matrix of ImageNet pixels (Lucid `optvis/param/color.py`),
 * rows = RGB, columns = decorrelated components. Optimising in the decorrelated space lets one
 * step move luminance and colour independently, which removes the high-frequency colour noise
 * of plain pixel ascent.
 */
const COLOR_CORRELATION_SVD_SQRT = [
  [0.26, 0.09, 0.02],
  [0.27, 0.0, -0.05],
  [0.27, -0.09, 0.03],
];

/** Lucid's matrix divided by its largest column norm, transposed for `flat [P,3] @ M`. */
function decorrelationMatrix(): number[][] {
  const m = COLOR_CORRELATION_SVD_SQRT;
  let maxNorm = 0;
  for (let j = 0; j < 3; j++) maxNorm = Math.max(maxNorm, Math.hypot(m[0][j], m[1][j], m[2][j]));
  return [0, 1, 2].map((j) => [0, 1, 2].map((i) => m[i][j] / maxNorm));
}

/**
 * Maps decorrelated colour components `[..., 3]` to RGB, then squashes with a sigmoid into 0..1
 * (Lucid `to_valid_rgb(t, decorrelate=True, sigmoid=True)`). Other channel counts (grayscale)
 * only get the sigmoid.
 */
export function toValidRgb<T extends tf.Tensor>(t: T): T {
  return tf.tidy(() => {
    const c = t.shape[t.rank - 1];
    if (c !== 3) return tf.sigmoid(t);
    const flat = tf.reshape(t, [-1, 3]) as tf.Tensor2D;
    const rgb = tf.matMul(flat, tf.tensor2d(decorrelationMatrix()));
    return tf.sigmoid(tf.reshape(rgb, t.shape));
  }) as T;
}
