import * as tf from '@tensorflow/tfjs-core';
import { check } from '../validate.js';

/**
 * Min-max scales a tensor of any shape to 0..1 over all its values; a constant tensor maps to
 * zeros (not NaN). Used to display maps and gradients whose range is arbitrary.
 */
export function normalize01<T extends tf.Tensor>(t: T): T {
  check(t instanceof tf.Tensor && !t.isDisposed, 'BAD_INPUT', 'normalize01 expects a live tf.Tensor');
  return tf.tidy(() => {
    const x = tf.cast(t, 'float32');
    const lo = tf.min(x);
    const range = tf.sub(tf.max(x), lo);
    // Dividing by max(range, tiny) keeps constant input finite; the numerator is then 0.
    return tf.div(tf.sub(x, lo), tf.maximum(range, 1e-12)) as T;
  });
}
