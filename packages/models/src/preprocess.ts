import * as tf from '@tensorflow/tfjs-core';
import { check, checkImage, resize, type InputRange } from '@cnnviz/core';

/** Throws BAD_OPTION unless `range` is `[lo, hi]` (lo < hi) or `{ mean, std }` with positive stds. */
export function checkInputRange(range: unknown, channels: number): asserts range is InputRange {
  if (Array.isArray(range)) {
    check(
      range.length === 2 &&
        range.every((v) => typeof v === 'number' && Number.isFinite(v)) &&
        range[0] < range[1],
      'BAD_OPTION',
      `inputRange must be [low, high] with low < high (e.g. [0, 1], [-1, 1], [0, 255]), got ${JSON.stringify(range)}`,
    );
    return;
  }
  const r = range as { mean?: unknown; std?: unknown } | null;
  const okList = (v: unknown, positive: boolean) =>
    Array.isArray(v) &&
    (v.length === 1 || v.length === channels) &&
    v.every((n) => typeof n === 'number' && Number.isFinite(n) && (!positive || n > 0));
  check(
    typeof r === 'object' && r !== null && okList(r.mean, false) && okList(r.std, true),
    'BAD_OPTION',
    `inputRange must be [low, high] or { mean: number[], std: number[] } (1 or ${channels} values, std > 0, ` +
      `in 0..1 pixel units), got ${JSON.stringify(range)}`,
  );
}

/**
 * Builds `preprocess`: pixel images (0..1) → model input. Adds the batch axis, converts between gray
 * and RGB when the model wants the other, resizes when the model needs a fixed size, then maps 0..1
 * linearly to `range`. Every step is differentiable, so gradients w.r.t. pixels pass through it.
 */
export function makePreprocess(
  range: InputRange,
  inputShape: [number | null, number | null, number],
  fixedSize: boolean,
): (img: tf.Tensor3D | tf.Tensor4D) => tf.Tensor4D {
  const [h, w, c] = inputShape;
  return (img) => {
    checkImage(img, { name: 'image' });
    const inC = img.shape[img.rank - 1];
    check(
      inC === c || (c === 1 && inC === 3) || (c === 3 && inC === 1),
      'BAD_IMAGE',
      `image must have ${c} channel(s) (or ${c === 1 ? 3 : 1}, converted), got shape [${img.shape.join(',')}]`,
    );
    return tf.tidy(() => {
      let x = (img.rank === 3 ? tf.expandDims(img, 0) : img) as tf.Tensor4D;
      if (x.dtype !== 'float32') x = tf.cast(x, 'float32');
      if (inC === 3 && c === 1) {
        x = tf.sum(tf.mul(x, tf.tensor1d([0.299, 0.587, 0.114])), -1, true) as tf.Tensor4D;
      } else if (inC === 1 && c === 3) {
        x = tf.tile(x, [1, 1, 1, 3]);
      }
      if (fixedSize && h !== null && w !== null && (x.shape[1] !== h || x.shape[2] !== w)) {
        x = resize(x, [h, w]);
      }
      if (Array.isArray(range)) {
        const [lo, hi] = range;
        if (lo === 0 && hi === 1) return tf.clone(x);
        return tf.add(tf.mul(x, hi - lo), lo) as tf.Tensor4D;
      }
      return tf.div(tf.sub(x, tf.tensor1d(range.mean)), tf.tensor1d(range.std)) as tf.Tensor4D;
    });
  };
}
