import * as tf from '@tensorflow/tfjs-core';
import { check, checkImage, checkNumber } from '../validate.js';
import { applyColormap, type ColormapName, type ColormapOptions } from './colormap.js';

export interface OverlayOptions extends ColormapOptions {
  /** Weight of the heatmap colour: 0 shows the image only, 1 the heatmap only. Default 0.5. */
  alpha?: number;
  /** Default 'jet', the Grad-CAM paper's look. */
  colormap?: ColormapName;
}

/**
 * Blends a coloured heatmap over an image `[H,W,3]` (or `[H,W,1]`, shown as grey). The map is
 * resized bilinearly to the image first, so a 7x7 Grad-CAM map lines up with a 224x224 image.
 * Returns `[H,W,3]` in 0..1.
 */
export function overlayHeatmap(
  image: tf.Tensor3D,
  map2d: tf.Tensor2D,
  options: OverlayOptions = {},
): tf.Tensor3D {
  checkImage(image, { batch: false });
  const c = image.shape[2];
  check(
    c === 1 || c === 3,
    'BAD_IMAGE',
    `image must have 1 or 3 channels, got shape [${image.shape.join(',')}]`,
  );
  check(
    map2d instanceof tf.Tensor && !map2d.isDisposed && map2d.rank === 2,
    'BAD_IMAGE',
    () =>
      `map must be a live tf.Tensor2D [H,W], got ${map2d instanceof tf.Tensor ? `shape [${map2d.shape.join(',')}]` : typeof map2d}`,
  );
  const { alpha = 0.5, colormap = 'jet', ...cmOptions } = options;
  checkNumber(alpha, 'alpha', { min: 0, max: 1 });
  const [h, w] = image.shape;
  return tf.tidy(() => {
    const m = tf.cast(map2d, 'float32');
    const sized =
      m.shape[0] === h && m.shape[1] === w
        ? m
        : tf.squeeze(tf.image.resizeBilinear(tf.expandDims(m, 2) as tf.Tensor3D, [h, w], false, true), [2]);
    const colour = applyColormap(sized as tf.Tensor2D, colormap, cmOptions);
    const base = tf.clipByValue(
      c === 1 ? tf.tile(tf.cast(image, 'float32'), [1, 1, 3]) : tf.cast(image, 'float32'),
      0,
      1,
    );
    return tf.add(tf.mul(base, 1 - alpha), tf.mul(colour, alpha)) as tf.Tensor3D;
  });
}
