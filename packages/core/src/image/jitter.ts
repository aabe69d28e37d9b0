import * as tf from '@tensorflow/tfjs-core';
import { ROLL_KERNEL } from '../kernels/roll.js';
import type { Rng } from '../random.js';
import { check, checkImage, checkNumber } from '../validate.js';

/**
 * Rolls an image `[H,W,C]` or batch `[N,H,W,C]` by `dy` rows down and `dx` columns right with
 * wrap-around (numpy's `roll`); `roll(roll(x, dy, dx), -dy, -dx)` is `x`. Differentiable.
 */
export function roll<T extends tf.Tensor3D | tf.Tensor4D>(img: T, dy: number, dx: number): T {
  checkImage(img);
  checkNumber(dy, 'dy', { integer: true });
  checkNumber(dx, 'dx', { integer: true });
  const rowAxis = img.rank - 3;
  if (img.dtype === 'float32' && tf.getKernel(ROLL_KERNEL, tf.getBackend()) !== undefined) {
    // One copy each way instead of a split and a concat per axis (and their gradients).
    const shifts = img.shape.map((_, i) => (i === rowAxis ? dy : i === rowAxis + 1 ? dx : 0));
    const back = shifts.map((v) => -v);
    const rolled = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => ({
      value: tf.engine().runKernel(ROLL_KERNEL, { x: args[0] as tf.Tensor }, { shifts }) as tf.Tensor,
      gradFunc: (g: tf.Tensor) => tf.engine().runKernel(ROLL_KERNEL, { x: g }, { shifts: back }) as tf.Tensor,
    }));
    return rolled(img) as T;
  }
  return tf.tidy(() => {
    let x = img as tf.Tensor;
    for (const [shift, axis] of [
      [dy, rowAxis],
      [dx, rowAxis + 1],
    ]) {
      const size = x.shape[axis];
      const s = ((shift % size) + size) % size;
      if (s === 0) continue;
      const [head, tail] = tf.split(x, [size - s, s], axis);
      x = tf.concat([tail, head], axis);
    }
    return (x === img ? img.clone() : x) as T;
  });
}

/** A random shift `[dy, dx]`, each an integer drawn uniformly from [-maxShift, maxShift]. */
export function randomShift(maxShift: number, rng: Rng): [number, number] {
  checkNumber(maxShift, 'maxShift', { min: 0, integer: true });
  check(
    typeof rng === 'function',
    'BAD_OPTION',
    'rng must be a function returning numbers in [0, 1) (see createRng)',
  );
  const draw = () => Math.min(2 * maxShift, Math.floor(rng() * (2 * maxShift + 1))) - maxShift;
  const dy = draw();
  return [dy, draw()];
}

/**
 * Random roll by up to `maxShift` pixels each way (Lucid's jitter; CS231n class visualisation),
 * so synthesised images do not lock onto one pixel grid. Differentiable. To undo a jitter, draw
 * the shift with `randomShift` and call `roll` with it and its negation.
 */
export function jitter<T extends tf.Tensor3D | tf.Tensor4D>(img: T, maxShift: number, rng: Rng): T {
  checkImage(img);
  const [dy, dx] = randomShift(maxShift, rng);
  return roll(img, dy, dx);
}
