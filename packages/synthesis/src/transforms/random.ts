import * as tf from '@tensorflow/tfjs-core';
import { jitter as coreJitter, type Rng } from '@cnnviz/core';
import { affineWarp } from './affine.js';

/**
 * A random, differentiable image transform applied before each forward pass (Lucid's
 * `optvis/transform.py`). Features that survive small shifts, zooms and turns are features of the
 * object, not of the pixel grid, so transforms act as a strong image prior.
 */
export type Transform = (x: tf.Tensor4D, rng: Rng) => tf.Tensor4D;

/** Constant border of `width` pixels (Lucid pads with grey so the border looks like background). */
export function pad(width: number, value = 0.5): Transform {
  return (x) =>
    tf.pad(
      x,
      [
        [0, 0],
        [width, width],
        [width, width],
        [0, 0],
      ],
      value,
    );
}

/** Random roll by up to `maxShift` pixels each way (core's `jitter`). */
export function jitter(maxShift: number): Transform {
  return (x, rng) => coreJitter(x, maxShift, rng);
}

/** Random zoom about the centre by one of `scales`, size kept. */
export function randomScale(scales: number[]): Transform {
  return (x, rng) => affineWarp(x, 0, scales[Math.floor(rng() * scales.length)], 0.5);
}

/** Random rotation about the centre by one of `degrees`, size kept. */
export function randomRotate(degrees: number[]): Transform {
  return (x, rng) => affineWarp(x, degrees[Math.floor(rng() * degrees.length)], 1, 0.5);
}

/**
 * Random rotation and zoom in one warp: one interpolation instead of two, so the image is not
 * blurred twice.
 */
export function randomAffine(degrees: number[], scales: number[]): Transform {
  return (x, rng) => {
    const d = degrees[Math.floor(rng() * degrees.length)];
    const s = scales[Math.floor(rng() * scales.length)];
    return affineWarp(x, d, s, 0.5);
  };
}

/** Applies `transforms` in order, freeing the intermediates. */
export function compose(transforms: Transform[]): Transform {
  return (x, rng) =>
    tf.tidy(() => {
      let y = x;
      for (const t of transforms) y = t(y, rng);
      return y === x ? x.clone() : y;
    });
}

/**
 * Lucid's `standard_transforms` — pad 12, jitter 8, scale 0.9..1.1, rotate -10..10°, jitter 4 —
 * with the pixel amounts scaled to the image (`size`/128, Lucid's images were 128 px) so a 28 px
 * image is not mostly border.
 */
export function standardTransforms(size = 128): Transform[] {
  const k = Math.min(1, size / 128);
  const px = (v: number) => Math.max(1, Math.round(v * k));
  const scales = Array.from({ length: 11 }, (_, i) => 1 + (i - 5) / 50);
  const degrees = [...Array.from({ length: 21 }, (_, i) => i - 10), 0, 0, 0, 0, 0];
  return [pad(px(12)), jitter(px(8)), randomAffine(degrees, scales), jitter(px(4))];
}
