import * as tf from '@tensorflow/tfjs-core';
import { check, resize } from '@cnnviz/core';

/**
 * Resizes a map `[h,w]` (or maps `[N,h,w]`) bilinearly to `[H,W]`, with half-pixel centres so a
 * layer-resolution Grad-CAM lines up with the image it explains.
 */
export function upsample<T extends tf.Tensor2D | tf.Tensor3D>(map: T, size: [number, number]): T {
  check(
    map instanceof tf.Tensor && !map.isDisposed && (map.rank === 2 || map.rank === 3),
    'BAD_INPUT',
    'map must be a live tf.Tensor [h,w] or [N,h,w]',
  );
  return tf.tidy(() => {
    const out = resize(tf.expandDims(map, -1) as tf.Tensor3D | tf.Tensor4D, size);
    return tf.squeeze(out, [out.rank - 1]) as T;
  });
}
