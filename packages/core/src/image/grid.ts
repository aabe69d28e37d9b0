import * as tf from '@tensorflow/tfjs-core';
import { check, checkImage, checkNumber } from '../validate.js';

export interface TileGridOptions {
  /** Columns; default ceil(sqrt(n)) (a near-square grid). */
  cols?: number;
  /** Pixels of border around and between tiles. Default 2. */
  pad?: number;
  /** Border value (and the value of empty cells). Default 1 (white). */
  padValue?: number;
}

/**
 * Lays out equally sized images `[H,W,C]` (an array, or a batch `[N,H,W,C]`) row by row in one
 * image, with a `pad`-pixel border around and between tiles; empty cells of the last row hold
 * `padValue`. Used for filter banks, feature maps and galleries.
 */
export function tileGrid(images: tf.Tensor3D[] | tf.Tensor4D, options: TileGridOptions = {}): tf.Tensor3D {
  const list: tf.Tensor3D[] = Array.isArray(images) ? images : [];
  if (Array.isArray(images)) {
    check(images.length > 0, 'BAD_IMAGE', 'tileGrid needs at least one image');
    images.forEach((im, i) => checkImage(im, { batch: false, name: `images[${i}]` }));
    const [h, w, c] = images[0].shape;
    images.forEach((im, i) =>
      check(
        im.shape[0] === h && im.shape[1] === w && im.shape[2] === c,
        'BAD_IMAGE',
        () =>
          `images must share one shape: images[0] is [${images[0].shape.join(',')}], images[${i}] is [${im.shape.join(',')}]`,
      ),
    );
  } else {
    checkImage(images, { name: 'images' });
    check(
      images.rank === 4,
      'BAD_IMAGE',
      `images must be an array of [H,W,C] or a batch [N,H,W,C], got shape [${images.shape.join(',')}]`,
    );
    check(images.shape[0] > 0, 'BAD_IMAGE', 'tileGrid needs at least one image');
  }
  const n = Array.isArray(images) ? images.length : images.shape[0];
  const { pad = 2, padValue = 1 } = options;
  const cols = options.cols ?? Math.ceil(Math.sqrt(n));
  checkNumber(cols, 'cols', { min: 1, integer: true });
  checkNumber(pad, 'pad', { min: 0, integer: true });
  checkNumber(padValue, 'padValue');
  const rows = Math.ceil(n / cols);
  return tf.tidy(() => {
    const tiles = Array.isArray(images)
      ? list.map((t) => tf.cast(t, 'float32'))
      : tf.unstack(tf.cast(images, 'float32'));
    const [h, w, c] = tiles[0].shape;
    const blank = tf.fill([h, w, c], padValue);
    const vbar = tf.fill([h, pad, c], padValue);
    const rowWidth = cols * w + (cols + 1) * pad;
    const hbar = tf.fill([pad, rowWidth, c], padValue);
    const rowImages: tf.Tensor[] = [hbar];
    for (let r = 0; r < rows; r++) {
      const parts: tf.Tensor[] = [vbar];
      for (let k = 0; k < cols; k++) {
        const i = r * cols + k;
        parts.push(i < n ? tiles[i] : blank, vbar);
      }
      rowImages.push(tf.concat(parts, 1), hbar);
    }
    return tf.concat(rowImages, 0) as tf.Tensor3D;
  });
}
