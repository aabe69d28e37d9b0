import * as tf from '@tensorflow/tfjs-core';
import { check, gramMatrix } from '@cnnviz/core';

/** Gram matrices `[N,C,C]` of a batch of feature maps `[N,H,W,C]` (core's `gramMatrix` per item). */
export function batchGram(act: tf.Tensor): tf.Tensor3D {
  return tf.tidy(() => {
    const a4 = (act.rank === 4 ? act : tf.reshape(act, [act.shape[0], 1, 1, -1])) as tf.Tensor4D;
    // Slices, not tf.split: the SplitV gradient of a one-way split fails in TF.js 4.22.
    const n = a4.shape[0];
    const grams = Array.from({ length: n }, (_, i) =>
      gramMatrix(tf.slice(a4, [i, 0, 0, 0], [1, -1, -1, -1])),
    );
    return (n === 1 ? tf.expandDims(grams[0], 0) : tf.stack(grams)) as tf.Tensor3D;
  });
}

/**
 * Style (texture) loss of each batch item, `[N]`: sum over layers of `weight_l` times the squared
 * distance between the item's Gram matrix and the target Gram, relative to the target's squared
 * norm. The relative form makes layers of very different activation scale (early vs late
 * MobileNetV2 blocks) count as their weights say, and makes a value of 1 mean "as far as a
 * blank image". Zero exactly when the Grams match, e.g. for the style image itself.
 */
export function styleLoss(acts: tf.Tensor[], targets: tf.Tensor2D[], weights: number[]): tf.Tensor1D {
  return tf.tidy(() => {
    const terms = acts.map((a, l) => {
      const g = batchGram(a);
      const t = targets[l];
      const dist = tf.sum(tf.square(tf.sub(g, t)), [1, 2]);
      return tf.mul(tf.div(dist, tf.add(tf.sum(tf.square(t)), 1e-12)), weights[l]);
    });
    return tf.addN(terms) as tf.Tensor1D;
  });
}

/**
 * Content (feature reconstruction) loss per item, `[N]`: squared distance to the target features
 * relative to the target's squared norm (a target batch of one is compared with every item).
 */
export function contentLoss(act: tf.Tensor, target: tf.Tensor): tf.Tensor1D {
  return tf.tidy(() => {
    const n = act.shape[0];
    const d = tf.sum(tf.square(tf.reshape(tf.sub(act, target), [n, -1])), 1);
    const norm = tf.sum(tf.square(tf.reshape(target, [target.shape[0], -1])), 1);
    return tf.div(d, tf.add(norm, 1e-12)) as tf.Tensor1D;
  });
}

/**
 * Total-variation prior per item, `[N]`: mean squared difference of vertically and horizontally
 * neighbouring pixels (the smooth "beta = 2" TV of Mahendran & Vedaldi); penalises noise.
 */
export function tvLoss(img: tf.Tensor4D): tf.Tensor1D {
  return tf.tidy(() => {
    const [n, h, w, c] = img.shape;
    const dy = tf.sub(
      tf.slice(img, [0, 1, 0, 0], [n, h - 1, w, c]),
      tf.slice(img, [0, 0, 0, 0], [n, h - 1, w, c]),
    );
    const dx = tf.sub(
      tf.slice(img, [0, 0, 1, 0], [n, h, w - 1, c]),
      tf.slice(img, [0, 0, 0, 0], [n, h, w - 1, c]),
    );
    const my = h > 1 ? tf.mean(tf.reshape(tf.square(dy), [n, -1]), 1) : tf.zeros([n]);
    const mx = w > 1 ? tf.mean(tf.reshape(tf.square(dx), [n, -1]), 1) : tf.zeros([n]);
    return tf.add(my, mx) as tf.Tensor1D;
  });
}

/**
 * Checks per-layer (or per-style) weights: one finite, non-negative number each with a positive
 * sum; defaults to equal weights summing to 1.
 */
export function checkWeights(count: number, weights: unknown, name: string): number[] {
  if (weights === undefined) return Array.from({ length: count }, () => 1 / count);
  check(
    Array.isArray(weights) && weights.length === count,
    'BAD_OPTION',
    () => `${name} must be an array of ${count} numbers (one per entry), got ${JSON.stringify(weights)}`,
  );
  check(
    weights.every((w) => typeof w === 'number' && Number.isFinite(w) && w >= 0),
    'BAD_OPTION',
    () => `${name} must be finite non-negative numbers, got ${JSON.stringify(weights)}`,
  );
  const sum = (weights as number[]).reduce((a, b) => a + b, 0);
  check(
    sum > 0,
    'BAD_OPTION',
    () => `${name} must sum to a positive number, got ${JSON.stringify(weights)} (sum ${sum})`,
  );
  return weights as number[];
}
