import * as tf from '@tensorflow/tfjs-core';
import { checkImage, checkNumber } from '../validate.js';

/** The normalised 1-D Gaussian kernel of `sigma`, radius ceil(3 sigma) (99.7 % of the mass). */
export function gaussianKernel1d(sigma: number): Float32Array {
  checkNumber(sigma, 'sigma', { min: 0, exclusiveMin: true });
  const radius = Math.max(1, Math.ceil(3 * sigma));
  const k = new Float32Array(2 * radius + 1);
  let sum = 0;
  for (let i = -radius; i <= radius; i++) {
    const v = Math.exp(-(i * i) / (2 * sigma * sigma));
    k[i + radius] = v;
    sum += v;
  }
  for (let i = 0; i < k.length; i++) k[i] /= sum;
  return k;
}

/** Pads `x` [B,H,W,1] by `r` along `axis` (1 or 2): mirror reflection if it fits, else edge values. */
function padAxis(x: tf.Tensor4D, r: number, axis: 1 | 2): tf.Tensor4D {
  const pads: Array<[number, number]> = [
    [0, 0],
    [0, 0],
    [0, 0],
    [0, 0],
  ];
  pads[axis] = [r, r];
  if (r < x.shape[axis]) return tf.mirrorPad(x, pads, 'reflect');
  // Reflection needs r < size; for tiny images repeat the edge pixels instead (no darkening).
  const n = x.shape[axis];
  const first = tf.slice(
    x,
    axis === 1 ? [0, 0, 0, 0] : [0, 0, 0, 0],
    axis === 1 ? [-1, 1, -1, -1] : [-1, -1, 1, -1],
  );
  const last = tf.slice(
    x,
    axis === 1 ? [0, n - 1, 0, 0] : [0, 0, n - 1, 0],
    axis === 1 ? [-1, 1, -1, -1] : [-1, -1, 1, -1],
  );
  const reps = axis === 1 ? [1, r, 1, 1] : [1, 1, r, 1];
  return tf.concat([tf.tile(first, reps), x, tf.tile(last, reps)], axis);
}

/**
 * Gaussian blur of an image `[H,W,C]` or batch `[N,H,W,C]`, separable (a vertical then a
 * horizontal pass) with reflected borders, so edges keep their brightness. Differentiable.
 * `sigma` 0 returns a copy. Channels are folded into the batch and run through a one-channel
 * conv2d rather than a depthwise conv, because every backend (WASM included) has the conv2d
 * input gradient.
 */
export function gaussianBlur<T extends tf.Tensor3D | tf.Tensor4D>(img: T, sigma: number): T {
  checkImage(img);
  checkNumber(sigma, 'sigma', { min: 0 });
  if (sigma === 0) return tf.tidy(() => tf.cast(img, 'float32').clone()) as T;
  const k = gaussianKernel1d(sigma);
  const r = (k.length - 1) / 2;
  return tf.tidy(() => {
    const x4 = tf.cast(img.rank === 3 ? tf.expandDims(img, 0) : img, 'float32') as tf.Tensor4D;
    const [n, h, w, c] = x4.shape;
    // [N,H,W,C] -> [N*C,H,W,1]: each channel becomes its own one-channel image.
    const planes = tf.reshape(tf.transpose(x4, [0, 3, 1, 2]), [n * c, h, w, 1]) as tf.Tensor4D;
    const kv = tf.tensor4d(k, [k.length, 1, 1, 1]);
    const kh = tf.tensor4d(k, [1, k.length, 1, 1]);
    const vert = tf.conv2d(padAxis(planes, r, 1), kv, 1, 'valid');
    const both = tf.conv2d(padAxis(vert, r, 2), kh, 1, 'valid');
    const out = tf.transpose(tf.reshape(both, [n, c, h, w]), [0, 2, 3, 1]);
    return (img.rank === 3 ? tf.squeeze(out, [0]) : out) as T;
  });
}
