import * as tf from '@tensorflow/tfjs-core';
import { applyColormap, tileGrid, type ColormapName } from '@cnnviz/core';

/** Grey `[H,W,1]` as RGB; RGB unchanged (a new tensor either way). */
export function rgb(img: tf.Tensor3D): tf.Tensor3D {
  return tf.tidy(() => (img.shape[2] === 1 ? tf.tile(img, [1, 1, 3]) : img.clone()));
}

/** `img` resized to `[size,size]` (nearest for enlargement of tiny images, bilinear otherwise). */
export function fit(img: tf.Tensor3D, size: number): tf.Tensor3D {
  return tf.tidy(() => {
    const [h, w] = img.shape;
    if (h === size && w === size) return img.clone();
    return h < size
      ? tf.image.resizeNearestNeighbor(img, [size, size])
      : tf.image.resizeBilinear(img, [size, size], false, true);
  });
}

/** A map `[h,w]` as a colour image `[size,size,3]` (bilinear to size; signed maps centred on white). */
export function heat(map: tf.Tensor2D, size: number, signed = false, colormap?: ColormapName): tf.Tensor3D {
  return tf.tidy(() => {
    const m = tf.squeeze(
      tf.image.resizeBilinear(tf.expandDims(map, 2) as tf.Tensor3D, [size, size], false, true),
      [2],
    ) as tf.Tensor2D;
    return applyColormap(m, colormap ?? (signed ? 'rdbu' : 'inferno'), { signed });
  });
}

/** A heat map blended over the image. */
export function overlayOn(img: tf.Tensor3D, map: tf.Tensor2D, size: number, alpha = 0.5): tf.Tensor3D {
  return tf.tidy(() => {
    const base = fit(rgb(img), size);
    return tf.add(tf.mul(base, 1 - alpha), tf.mul(heat(map, size, false, 'jet'), alpha)) as tf.Tensor3D;
  });
}

/** A signed gradient `[H,W,C]` as a picture: standardised around mid-grey. */
export function gradientPicture(raw: tf.Tensor3D): tf.Tensor3D {
  return tf.tidy(() => {
    const { mean, variance } = tf.moments(raw);
    return tf.clipByValue(
      tf.add(tf.mul(tf.div(tf.sub(raw, mean), tf.add(tf.sqrt(variance), 1e-8)), 0.15), 0.5),
      0,
      1,
    ) as tf.Tensor3D;
  });
}

/** Equally sized RGB tiles in a grid with white gutters; disposes the tiles. */
export function grid(tiles: tf.Tensor3D[], cols: number, pad = 3): tf.Tensor3D {
  const out = tileGrid(tiles, { cols, pad });
  tf.dispose(tiles);
  return out;
}

/** Any image as an RGB tile `[size,size,3]`. */
export function tile(img: tf.Tensor3D, size: number): tf.Tensor3D {
  return tf.tidy(() => fit(rgb(img), size));
}
