import * as tf from '@tensorflow/tfjs-core';
import { check } from './validate.js';

function isLiveTensor(t: unknown): t is tf.Tensor {
  return (
    typeof t === 'object' &&
    t !== null &&
    'shape' in t &&
    'dtype' in t &&
    (t as tf.Tensor).isDisposed !== true
  );
}

/**
 * Gram matrix of a feature map (Gatys et al. 2015): `F^T F / (H*W)` with `F` the activations
 * `[1,H,W,C]` reshaped to `[H*W, C]`; entry (i, j) is the mean product of channels i and j.
 */
export function gramMatrix(act: tf.Tensor4D): tf.Tensor2D {
  check(isLiveTensor(act), 'BAD_INPUT', 'gramMatrix expects a live tf.Tensor [1,H,W,C]');
  check(
    act.rank === 4 && act.shape[0] === 1,
    'BAD_INPUT',
    `gramMatrix expects activations of shape [1,H,W,C] (batch of one), got [${act.shape.join(',')}]`,
  );
  const [, h, w, c] = act.shape;
  return tf.tidy(() => {
    const f = tf.reshape(act, [h * w, c]);
    return tf.div(tf.matMul(f, f, true, false), h * w) as tf.Tensor2D;
  });
}
