import * as tf from '@tensorflow/tfjs-core';
import { randomNormal, type Rng } from '@cnnviz/core';
import type { ImageParam } from './types.js';

export interface PixelParamOptions {
  /** Standard deviation of the Gaussian noise around mid-grey the image starts from. Default 0.01. */
  sd?: number;
  /** Start from this pixel batch (0..1) instead of noise; copied, not taken over. */
  init?: tf.Tensor4D;
}

/**
 * The plain parameterisation of the lecture's gradient ascent: the variable is the pixel batch
 * minus mid-grey, so L2 decay, blur and clipping act around grey rather than around black.
 * `image()` does not clip (that would stop the gradient); callers project with `clip()`.
 */
export interface PixelParam extends ImageParam {
  /** The variable `[N,H,W,C]`: pixels minus 0.5. */
  readonly offset: tf.Variable<tf.Rank.R4>;
  /** Projects the variable back into the valid range -0.5..0.5 (pixels 0..1). */
  clip(): void;
}

/** A pixel-space image parameter of `shape` `[N,H,W,C]`. */
export function pixelParam(
  shape: [number, number, number, number],
  rng: Rng,
  opts: PixelParamOptions = {},
): PixelParam {
  const start = tf.tidy(() =>
    opts.init
      ? tf.sub(tf.cast(opts.init, 'float32'), 0.5)
      : tf.reshape(randomNormal(shape, rng, 0, opts.sd ?? 0.01), shape),
  ) as tf.Tensor4D;
  const offset = tf.variable(start, true);
  start.dispose();
  return {
    offset,
    variables: [offset],
    image: () => tf.tidy(() => tf.add(offset, 0.5)) as tf.Tensor4D,
    render: (value) => tf.tidy(() => tf.add(value, 0.5)) as tf.Tensor4D,
    clip: () => {
      const clipped = tf.clipByValue(offset, -0.5, 0.5);
      offset.assign(clipped);
      clipped.dispose();
    },
    dispose: () => offset.dispose(),
  };
}
