import * as tf from '@tensorflow/tfjs-core';
import { randomNormal, type Rng } from '@cnnviz/core';
import type { ImageParam } from './types.js';

export interface PixelParamOptions {
  /** Standard deviation of the Gaussian noise around `centre` the image starts from. Default 0.01. */
  sd?: number;
  /** Start from this pixel batch (0..1) instead of noise; copied, not taken over. */
  init?: tf.Tensor4D;
  /**
   * The image the variable is measured from: a grey level or a pixel image `[H,W,C]` /
   * `[N,H,W,C]` (0..1). L2 decay, blur and clipping of the variable pull towards it. Default 0.5.
   */
  centre?: number | tf.Tensor;
}

/**
 * The plain parameterisation of the lecture's gradient ascent: the variable is the pixel batch
 * minus a centre image (mid-grey by default), so L2 decay, blur and clipping act around the
 * centre rather than around black. `image()` does not clip (that would stop the gradient);
 * callers project with `clip()`.
 */
export interface PixelParam extends ImageParam {
  /** The variable `[N,H,W,C]`: pixels minus the centre. */
  readonly offset: tf.Variable<tf.Rank.R4>;
  /** Projects the variable back so that pixels lie in 0..1. */
  clip(): void;
}

/** A pixel-space image parameter of `shape` `[N,H,W,C]`. */
export function pixelParam(
  shape: [number, number, number, number],
  rng: Rng,
  opts: PixelParamOptions = {},
): PixelParam {
  const centre = tf.tidy(() => {
    const c = opts.centre ?? 0.5;
    return typeof c === 'number' ? tf.scalar(c) : tf.cast(c.rank === 3 ? tf.expandDims(c, 0) : c, 'float32');
  });
  const start = tf.tidy(() =>
    opts.init
      ? tf.sub(tf.cast(opts.init, 'float32'), centre)
      : tf.reshape(randomNormal(shape, rng, 0, opts.sd ?? 0.01), shape),
  ) as tf.Tensor4D;
  const offset = tf.variable(start, true);
  start.dispose();
  const render = (value: tf.Tensor) => tf.tidy(() => tf.add(value, centre)) as tf.Tensor4D;
  return {
    offset,
    variables: [offset],
    image: () => render(offset),
    render,
    clip: () => {
      const clipped = tf.tidy(() => tf.sub(tf.clipByValue(tf.add(offset, centre), 0, 1), centre));
      offset.assign(clipped as tf.Tensor4D);
      clipped.dispose();
    },
    dispose: () => {
      offset.dispose();
      centre.dispose();
    },
  };
}
