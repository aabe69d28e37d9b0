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

function invert3(m: number[][]): number[][] {
  const [[a, b, c], [d, e, f], [g, h, i]] = m;
  const A = e * i - f * h;
  const B = -(d * i - f * g);
  const C = d * h - e * g;
  const det = a * A + b * B + c * C;
  return [
    [A / det, -(b * i - c * h) / det, (b * f - c * e) / det],
    [B / det, (a * i - c * g) / det, -(a * f - c * d) / det],
    [C / det, -(a * h - b * g) / det, (a * e - b * d) / det],
  ];
}

/**
 * The inverse of `toValidRgb`: pixels in 0..1 (clamped to 0.001..0.999, where the sigmoid's
 * inverse is finite) back to decorrelated components. Used to start an optimisation from an image.
 */
export function fromValidRgb<T extends tf.Tensor>(img: T): T {
  return tf.tidy(() => {
    const p = tf.clipByValue(img, 1e-3, 1 - 1e-3);
    const logit = tf.log(tf.div(p, tf.sub(1, p)));
    const c = img.shape[img.rank - 1];
    if (c !== 3) return logit;
    const flat = tf.reshape(logit, [-1, 3]) as tf.Tensor2D;
    return tf.reshape(tf.matMul(flat, tf.tensor2d(invert3(decorrelationMatrix()))), img.shape);
  }) as T;
}
